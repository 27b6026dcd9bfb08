//! RunWriter / RunReader end to end: create, record, checkpoint, crash, resume, finish; the
//! resumed run's files equal an uninterrupted run's.

use std::fs;
use std::path::Path;

use learnscope_store::{
    read_metrics_parquet, Manifest, MetricRecord, RunReader, RunStatus, RunWriter, StoreError,
    TensorEntry, CONFIG_FILE, METRICS_FILE, METRICS_PARQUET_FILE, TIMINGS_FILE,
};

use crate::util::{assert_identical, TempDir};

const CONFIG: &str = "name = \"demo\"\nseed = 3\n";

fn records_at(step: u64) -> Vec<MetricRecord> {
    let v = if step == 7 {
        f64::NAN
    } else {
        1.0 / (step as f64 + 1.0)
    };
    vec![
        MetricRecord::new(step, (step / 4) as u32, "basics", "loss", "train", v),
        MetricRecord::new(step, (step / 4) as u32, "basics", "acc", "test", -0.0)
            .with_index(step as i64),
    ]
}

fn params(step: u64) -> Vec<TensorEntry> {
    vec![TensorEntry::from_f64(
        "w",
        vec![2],
        &[step as f64, -(step as f64)],
    )]
}

/// Trains steps `from..to`, checkpointing every 4 steps.
fn train(w: &mut RunWriter, from: u64, to: u64) {
    for step in from..to {
        for r in records_at(step) {
            w.record(&r).unwrap();
        }
        w.timing(step, "step", 0.001 * step as f64).unwrap();
        w.flush().unwrap();
        if step % 4 == 3 {
            w.checkpoint(step, &params(step), &serde_json::json!({"step": step}))
                .unwrap();
        }
    }
}

fn manifest() -> Manifest {
    let mut m = Manifest::new("demo", 3);
    m.isa = "avx2".into();
    m.threads = 1;
    m.backend = "cpu".into();
    m
}

#[test]
fn create_record_finish_read() {
    let dir = TempDir::new("run-basic");
    let run = dir.path().join("run");
    let mut w = RunWriter::create(&run, manifest(), CONFIG).unwrap();
    assert_eq!(
        Manifest::read(&run.join("manifest.json")).unwrap().status,
        RunStatus::Running
    );
    train(&mut w, 0, 10);
    let m = w.finish(RunStatus::Completed, None).unwrap();
    assert_eq!(m.status, RunStatus::Completed);
    assert!(m.finished_utc.is_some());

    let r = RunReader::open(&run).unwrap();
    assert_eq!(r.manifest, m);
    assert_eq!(r.config_toml, CONFIG);
    let want: Vec<MetricRecord> = (0..10).flat_map(records_at).collect();
    assert_identical(&want, r.records());
    assert!(!r.metrics.truncated_tail);
    assert_eq!(r.checkpoints, vec![3, 7]);
    assert_eq!(r.latest_checkpoint(), Some(7));
    let (t, s) = r.read_checkpoint(7).unwrap();
    assert_eq!(t, params(7));
    assert_eq!(s["step"], 7);
    assert_identical(&want, &r.read_parquet().unwrap());
    let timings = r.read_timings().unwrap();
    assert_eq!(timings.records.len(), 10);
    // Wall-clock never reaches the metrics stream.
    assert!(!fs::read_to_string(run.join(METRICS_FILE))
        .unwrap()
        .contains("seconds"));
}

#[test]
fn create_refuses_existing_run() {
    let dir = TempDir::new("run-exists");
    let run = dir.path().join("run");
    let w = RunWriter::create(&run, manifest(), CONFIG).unwrap();
    drop(w);
    let err = RunWriter::create(&run, manifest(), CONFIG).unwrap_err();
    assert!(matches!(err, StoreError::RunDirNotEmpty { .. }), "{err}");
}

#[test]
fn crash_then_resume_equals_uninterrupted() {
    let dir = TempDir::new("run-resume");
    // Reference: uninterrupted.
    let reference = dir.path().join("reference");
    let mut w = RunWriter::create(&reference, manifest(), CONFIG).unwrap();
    train(&mut w, 0, 12);
    w.finish(RunStatus::Completed, None).unwrap();

    // Crashed after step 9 (last checkpoint at 7), mid-way through writing a line.
    let crashed = dir.path().join("crashed");
    let mut w = RunWriter::create(&crashed, manifest(), CONFIG).unwrap();
    train(&mut w, 0, 10);
    drop(w);
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(crashed.join(METRICS_FILE))
        .unwrap();
    std::io::Write::write_all(&mut f, br#"{"step":10,"epoch":2,"pr"#).unwrap();
    drop(f);
    let r = RunReader::open(&crashed).unwrap();
    assert!(r.metrics.truncated_tail);
    assert_eq!(r.manifest.status, RunStatus::Running);
    let resume_at = r.latest_checkpoint().unwrap();
    assert_eq!(resume_at, 7);

    let mut w = RunWriter::resume(&crashed, resume_at).unwrap();
    assert_eq!(w.manifest().resumed_from, vec![7]);
    train(&mut w, resume_at + 1, 12);
    w.finish(RunStatus::Completed, None).unwrap();

    for file in [
        METRICS_FILE,
        CONFIG_FILE,
        METRICS_PARQUET_FILE,
        "checkpoints/step-00000011.safetensors",
        "checkpoints/step-00000011.state.json",
    ] {
        assert_eq!(
            fs::read(reference.join(file)).unwrap(),
            fs::read(crashed.join(file)).unwrap(),
            "{file} differs"
        );
    }
    // Timings were cut at the checkpoint too (values are wall-clock in real runs; here fixed).
    assert_eq!(
        fs::read(reference.join(TIMINGS_FILE)).unwrap(),
        fs::read(crashed.join(TIMINGS_FILE)).unwrap()
    );
    let m = RunReader::open(&crashed).unwrap().manifest;
    assert_eq!(m.status, RunStatus::Completed);
    assert_eq!(m.resumed_from, vec![7]);
}

#[test]
fn failed_run_records_error() {
    let dir = TempDir::new("run-failed");
    let run = dir.path().join("run");
    let mut w = RunWriter::create(&run, manifest(), CONFIG).unwrap();
    train(&mut w, 0, 2);
    w.update_manifest(|m| {
        m.extra.insert("probe_batch".into(), serde_json::json!(64));
    })
    .unwrap();
    w.finish(RunStatus::Failed, Some("data: bad file".into()))
        .unwrap();
    let r = RunReader::open(&run).unwrap();
    assert_eq!(r.manifest.status, RunStatus::Failed);
    assert_eq!(r.manifest.error.as_deref(), Some("data: bad file"));
    assert_eq!(r.manifest.extra["probe_batch"], 64);
    // Resuming a failed run clears the error and sets it running again.
    let w = RunWriter::resume(&run, 1).unwrap();
    assert_eq!(w.manifest().status, RunStatus::Running);
    assert!(w.manifest().error.is_none() && w.manifest().finished_utc.is_none());
    drop(w);
    let r = RunReader::open(&run).unwrap();
    assert!(r.records().iter().all(|x| x.step <= 1));
    // Parquet is stale until the next checkpoint or finish: it still has both steps.
    assert_eq!(
        read_metrics_parquet(&run.join(METRICS_PARQUET_FILE))
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn reader_on_missing_dir() {
    let err = RunReader::open(Path::new("/nonexistent/learnscope/run")).unwrap_err();
    assert!(matches!(err, StoreError::NotADirectory { .. }));
}

/// Writes a run with every value and dtype shape the Python cross-check
/// (`tests/python/check_run_dir.py`) must handle. With `LEARNSCOPE_STORE_SAMPLE_RUN=DIR` set,
/// the run is written to `DIR` (which must be missing or empty) and kept for the script;
/// otherwise to a temporary directory that is removed.
#[test]
fn sample_run_for_python_check() {
    let tmp = TempDir::new("run-sample");
    let run = match std::env::var_os("LEARNSCOPE_STORE_SAMPLE_RUN") {
        Some(d) => std::path::PathBuf::from(d),
        None => tmp.path().join("run"),
    };
    let mut w = RunWriter::create(&run, manifest(), CONFIG).unwrap();
    let mut step = 0;
    for (i, v) in crate::util::tricky_values().into_iter().enumerate() {
        step = i as u64 / 4;
        let mut r = MetricRecord::new(step, (step / 2) as u32, "basics", "loss", "train", v);
        if i % 2 == 0 {
            r = r.with_layer(format!("blocks.{i}"));
        }
        if i % 3 == 0 {
            r = r.with_index(if i == 0 { i64::MIN } else { i as i64 });
        }
        if i % 5 == 0 {
            r = r.with_index2(if i == 0 { i64::MAX } else { -(i as i64) });
        }
        w.record(&r).unwrap();
        w.flush().unwrap();
    }
    w.record(
        &MetricRecord::new(step, 9, "nc", "nc1/trace_ratio", "probe", 0.25)
            .with_layer("naïve \"quoted\" layer\n"),
    )
    .unwrap();
    let entries = vec![
        TensorEntry::from_f32(
            "blocks.0.weight",
            vec![2, 3, 1, 1],
            &[1.0, -0.0, f32::NAN, 4.0, 5.0, 6.0],
        ),
        TensorEntry::from_f64("blocks.0.bias", vec![2], &[1e-310, f64::INFINITY]),
        TensorEntry::from_i64("bn.num_batches_tracked", vec![], &[12]),
        TensorEntry::from_i32("labels", vec![3], &[1, -2, 3]),
        TensorEntry::from_u8("mask", vec![2, 2], &[0, 1, 1, 0]),
        TensorEntry::from_f32("empty", vec![0, 5], &[]),
        TensorEntry::from_f32("opt/blocks.0.weight/m", vec![6], &[0.5; 6]),
    ];
    w.checkpoint(
        step,
        &entries,
        &serde_json::json!({"step": step, "epoch": 1}),
    )
    .unwrap();
    w.finish(RunStatus::Completed, None).unwrap();
    let r = RunReader::open(&run).unwrap();
    assert_identical(r.records(), &r.read_parquet().unwrap());
    assert_eq!(r.checkpoints, vec![step]);
}
