//! [`RunWriter`] and [`RunReader`]: the run directory as one object (DESIGN.md §5).
//!
//! Writing a run: [`RunWriter::create`] claims an empty directory and writes `manifest.json`
//! (status `running`), `config.toml` (the resolved plan) and empty `metrics.jsonl` /
//! `timings.jsonl`; the trainer then calls [`RunWriter::record`] for each metric,
//! [`RunWriter::flush`] at every step that recorded something, [`RunWriter::checkpoint`] at
//! checkpoint steps (which also refreshes `metrics.parquet`), and finally
//! [`RunWriter::finish`] with the outcome. [`RunWriter::resume`] reopens a run at a checkpoint:
//! it cuts the streams back to that step so the continued run appends exactly what an
//! uninterrupted one would have written.
//!
//! Reading a run: [`RunReader::open`] loads the manifest, config text, metrics (tolerating a
//! truncated last line) and the list of complete checkpoints. Reports are built only from this.

use std::path::{Path, PathBuf};

use crate::atomic::write_atomic;
use crate::checkpoint::{list_checkpoints, read_checkpoint, write_checkpoint};
use crate::error::{StoreError, StoreResult};
use crate::jsonl::{read_metrics, JsonlRead, MetricsRead, MetricsWriter, METRICS_FILE};
use crate::manifest::{Manifest, RunStatus, MANIFEST_FILE};
use crate::parquet_export::{read_metrics_parquet, write_metrics_parquet, METRICS_PARQUET_FILE};
use crate::record::MetricRecord;
use crate::run_dir::create_exact_run_dir;
use crate::safetensors::TensorEntry;
use crate::timings::{read_timings, TimingRecord, TimingsWriter, TIMINGS_FILE};
use crate::utc::utc_now_rfc3339;

/// File name of the resolved config inside a run directory.
pub const CONFIG_FILE: &str = "config.toml";

/// Writes one run directory.
#[derive(Debug)]
pub struct RunWriter {
    dir: PathBuf,
    manifest: Manifest,
    metrics: MetricsWriter,
    timings: TimingsWriter,
}

impl RunWriter {
    /// Starts a run in `dir`, which must be missing or empty (see
    /// [`create_exact_run_dir`](crate::create_exact_run_dir)). The manifest is written with
    /// status `running` and no end time, whatever `manifest` says about them.
    pub fn create(dir: &Path, mut manifest: Manifest, config_toml: &str) -> StoreResult<Self> {
        create_exact_run_dir(dir)?;
        // Claim the directory first: `create_new` fails if another writer got here.
        let metrics = MetricsWriter::create(&dir.join(METRICS_FILE))?;
        let timings = TimingsWriter::create(&dir.join(TIMINGS_FILE))?;
        write_atomic(&dir.join(CONFIG_FILE), config_toml.as_bytes())?;
        manifest.status = RunStatus::Running;
        manifest.finished_utc = None;
        manifest.write_atomic(&dir.join(MANIFEST_FILE))?;
        Ok(RunWriter {
            dir: dir.to_path_buf(),
            manifest,
            metrics,
            timings,
        })
    }

    /// Reopens the run in `dir` to continue after the checkpoint at `keep_through_step`:
    /// metrics and timings keep only their lines with step ≤ `keep_through_step`; the manifest
    /// goes back to `running` (no end time, no error) and records the step in `resumed_from`.
    /// Checkpoints after that step are left in place; the continued run rewrites them.
    pub fn resume(dir: &Path, keep_through_step: u64) -> StoreResult<Self> {
        let manifest_path = dir.join(MANIFEST_FILE);
        let mut manifest = Manifest::read(&manifest_path)?;
        let metrics = MetricsWriter::open_truncated(&dir.join(METRICS_FILE), keep_through_step)?;
        let timings = TimingsWriter::open_truncated(&dir.join(TIMINGS_FILE), keep_through_step)?;
        manifest.status = RunStatus::Running;
        manifest.error = None;
        manifest.finished_utc = None;
        manifest.resumed_from.push(keep_through_step);
        manifest.write_atomic(&manifest_path)?;
        Ok(RunWriter {
            dir: dir.to_path_buf(),
            manifest,
            metrics,
            timings,
        })
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest as last written.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Changes the manifest and rewrites it atomically (e.g. to add data-file hashes or
    /// `extra` entries after the run started).
    pub fn update_manifest(&mut self, change: impl FnOnce(&mut Manifest)) -> StoreResult<()> {
        change(&mut self.manifest);
        self.manifest.write_atomic(&self.dir.join(MANIFEST_FILE))
    }

    /// Appends a metric (buffered). Steps must not decrease.
    pub fn record(&mut self, record: &MetricRecord) -> StoreResult<()> {
        self.metrics.push(record)
    }

    /// Hands buffered metrics and timings to the operating system; call at every step that
    /// recorded something, so a crash leaves a readable prefix.
    pub fn flush(&mut self) -> StoreResult<()> {
        self.metrics.flush()?;
        self.timings.flush()
    }

    /// Appends a wall-clock timing (buffered, flushed with [`RunWriter::flush`]).
    pub fn timing(&mut self, step: u64, key: &str, seconds: f64) -> StoreResult<()> {
        self.timings.push(&TimingRecord::new(step, key, seconds))
    }

    /// Writes the checkpoint at `step` after making every metric recorded so far durable, then
    /// refreshes `metrics.parquet`.
    pub fn checkpoint(
        &mut self,
        step: u64,
        entries: &[TensorEntry],
        state: &serde_json::Value,
    ) -> StoreResult<()> {
        self.metrics.sync()?;
        self.timings.sync()?;
        write_checkpoint(&self.dir, step, entries, state)?;
        self.write_parquet()
    }

    /// Rebuilds `metrics.parquet` from `metrics.jsonl` (after flushing it).
    pub fn write_parquet(&mut self) -> StoreResult<()> {
        self.metrics.sync()?;
        let read = read_metrics(self.metrics.path())?;
        write_metrics_parquet(&self.dir.join(METRICS_PARQUET_FILE), &read.records)
    }

    /// Ends the run: syncs the streams, writes `metrics.parquet`, and sets the manifest's
    /// status, error and end time (atomically). Returns the final manifest.
    pub fn finish(mut self, status: RunStatus, error: Option<String>) -> StoreResult<Manifest> {
        self.timings.sync()?;
        self.write_parquet()?;
        self.manifest.status = status;
        self.manifest.error = error;
        self.manifest.finished_utc = Some(utc_now_rfc3339());
        self.manifest.write_atomic(&self.dir.join(MANIFEST_FILE))?;
        Ok(self.manifest)
    }
}

/// Everything a report needs from a run directory, read once.
#[derive(Debug, Clone)]
pub struct RunReader {
    /// The run directory.
    pub dir: PathBuf,
    /// `manifest.json`.
    pub manifest: Manifest,
    /// `config.toml`, as text.
    pub config_toml: String,
    /// `metrics.jsonl` (a truncated last line is dropped and flagged).
    pub metrics: MetricsRead,
    /// Steps of the complete checkpoints, ascending.
    pub checkpoints: Vec<u64>,
}

impl RunReader {
    /// Reads the run directory `dir`.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        if !dir.is_dir() {
            return Err(StoreError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        let manifest = Manifest::read(&dir.join(MANIFEST_FILE))?;
        let config_path = dir.join(CONFIG_FILE);
        let config_toml = std::fs::read_to_string(&config_path)
            .map_err(|e| StoreError::io("read", &config_path, e))?;
        let metrics = read_metrics(&dir.join(METRICS_FILE))?;
        let checkpoints = list_checkpoints(dir)?;
        Ok(RunReader {
            dir: dir.to_path_buf(),
            manifest,
            config_toml,
            metrics,
            checkpoints,
        })
    }

    /// The metric records.
    pub fn records(&self) -> &[MetricRecord] {
        &self.metrics.records
    }

    /// The newest complete checkpoint's step, if any.
    pub fn latest_checkpoint(&self) -> Option<u64> {
        self.checkpoints.last().copied()
    }

    /// Reads the checkpoint at `step`: tensors and trainer state.
    pub fn read_checkpoint(&self, step: u64) -> StoreResult<(Vec<TensorEntry>, serde_json::Value)> {
        read_checkpoint(&self.dir, step)
    }

    /// Reads `timings.jsonl` (tolerating a truncated last line).
    pub fn read_timings(&self) -> StoreResult<JsonlRead<TimingRecord>> {
        read_timings(&self.dir.join(TIMINGS_FILE))
    }

    /// Reads `metrics.parquet` back into records.
    pub fn read_parquet(&self) -> StoreResult<Vec<MetricRecord>> {
        read_metrics_parquet(&self.dir.join(METRICS_PARQUET_FILE))
    }
}
