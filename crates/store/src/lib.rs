//! The run directory (DESIGN.md §5): everything a run leaves on disk, and the only thing
//! reports are built from. Tensor-free: checkpoints arrive as plain (name, dtype, shape, bytes).
//!
//! ```text
//! RUN_DIR/manifest.json      what the run is and how it ended        (manifest.rs, atomic)
//! RUN_DIR/config.toml        the resolved plan                        (run.rs, atomic)
//! RUN_DIR/metrics.jsonl      deterministic metric stream, append-only (record.rs, jsonl.rs)
//! RUN_DIR/metrics.parquet    the same as a long table                 (parquet_export.rs)
//! RUN_DIR/timings.jsonl      wall-clock figures                       (timings.rs)
//! RUN_DIR/checkpoints/       step-NNNNNNNN.{safetensors,state.json}   (checkpoint.rs, safetensors.rs)
//! ```
//!
//! Exports of several runs for other tools: one Parquet table with run and config columns
//! (export.rs), TensorBoard event files (tensorboard.rs).
//!
//! [`create_run_dir`] picks a fresh `<yyyymmdd-hhmmss>-<name>-<hash8>` directory,
//! [`RunWriter`] writes a run, [`RunReader`] reads one back.

mod atomic;
mod checkpoint;
mod error;
mod export;
mod jsonl;
mod manifest;
mod parquet_export;
mod record;
mod run;
mod run_dir;
mod safetensors;
mod tensorboard;
mod timings;
mod utc;

#[cfg(test)]
mod test_util;

pub use atomic::write_file_atomic;
pub use checkpoint::{
    checkpoint_paths, latest_checkpoint, list_checkpoints, read_checkpoint, write_checkpoint,
    CHECKPOINTS_DIR,
};
pub use error::{StoreError, StoreResult};
pub use export::{
    config_column_name, read_export_parquet, write_export_parquet, ExportRun, ExportTable,
    RUN_COLUMN,
};
pub use jsonl::{
    encode_jsonl, read_jsonl, read_metrics, JsonlRead, JsonlRecord, JsonlWriter, MetricsRead,
    MetricsWriter, METRICS_FILE,
};
pub use manifest::{
    sha256_file, DataFileRecord, Manifest, RunStatus, MANIFEST_FILE, MANIFEST_SCHEMA,
};
pub use parquet_export::{
    read_metrics_parquet, write_metrics_parquet, METRICS_PARQUET_FILE, ROWS_PER_GROUP,
};
pub use record::{json_f64, MetricRecord};
pub use run::{RunReader, RunWriter, CONFIG_FILE};
pub use run_dir::{
    create_exact_run_dir, create_run_dir, ensemble_members, run_dir_name, sha256_hex,
    validate_run_name, ENSEMBLE_FILE, MAX_RUN_DIR_SUFFIX,
};
pub use safetensors::{
    decode_safetensors, encode_safetensors, read_safetensors, write_safetensors, SafetensorsFile,
    StoredDType, TensorEntry, MAX_HEADER_BYTES,
};
pub use tensorboard::{
    crc32c, encode_event, encode_event_file, masked_crc32c, push_tfrecord, rfc3339_unix_seconds,
    scalar_tag, write_tensorboard_run, EventBody, FILE_VERSION,
};
pub use timings::{read_timings, TimingRecord, TimingsWriter, TIMINGS_FILE};
pub use utc::{utc_now_rfc3339, UtcDateTime};
