//! `learnscope export`: two demo runs → one Parquet table with run and config columns, and
//! TensorBoard event files; bad inputs are errors that name the path.

use std::path::Path;

use learnscope_store::{masked_crc32c, read_export_parquet, RunReader};

use crate::common::{learnscope, scratch, text};

/// A quick demo run into `dir` with extra `--set`s.
fn demo(dir: &Path, sets: &[&str]) {
    let mut cmd = learnscope();
    cmd.args(["demo", "--out"])
        .arg(dir)
        .args(["--set", "steps=500"]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn two_demo_runs_to_parquet_and_tensorboard() {
    let root = scratch("export-two-runs");
    let (a, b) = (root.join("run-a"), root.join("run-b"));
    demo(&a, &[]);
    demo(&b, &["lr.base=0.05", "seed=1"]);
    let pq = root.join("all.parquet");
    let tb = root.join("tb");
    let out = learnscope()
        .arg("export")
        .args([&a, &b])
        .arg("--parquet")
        .arg(&pq)
        .arg("--tensorboard")
        .arg(&tb)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    let (ra, rb) = (RunReader::open(&a).unwrap(), RunReader::open(&b).unwrap());
    let (na, nb) = (ra.records().len(), rb.records().len());
    assert!(na > 0 && nb > 0);
    let t = read_export_parquet(&pq).unwrap();
    assert_eq!(t.records.len(), na + nb);
    assert_eq!(t.run.len(), na + nb);
    assert!(t.run[..na].iter().all(|r| r == "run-a"));
    assert!(t.run[na..].iter().all(|r| r == "run-b"));
    for (x, y) in ra.records().iter().chain(rb.records()).zip(&t.records) {
        assert!(x.identical(y), "{x:?} vs {y:?}");
    }
    let col = |name: &str| -> &Vec<Option<String>> {
        &t.config
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no column {name}: {:?}", t.config))
            .1
    };
    let some = |s: &str| Some(s.to_string());
    assert_eq!(col("lr.base")[0], some("0.1"));
    assert_eq!(col("lr.base")[na], some("0.05"));
    assert_eq!(col("seed")[0], some("0"));
    assert_eq!(col("seed")[na], some("1"));
    assert_eq!(col("data.kind")[0], some("hierarchy"));
    assert_eq!(col("model.hidden")[0], some("[16, 16]"));
    assert_eq!(col("steps")[na], some("500"));
    let probes = col("probes")[0].clone().unwrap();
    assert!(
        probes.starts_with("[{ ") && probes.contains("kind = \"loss\""),
        "{probes}"
    );

    for (name, reader) in [("run-a", &ra), ("run-b", &rb)] {
        let files: Vec<_> = std::fs::read_dir(tb.join(name))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let file_name = files[0].file_name().unwrap().to_str().unwrap().to_string();
        let secs = learnscope_store::rfc3339_unix_seconds(&reader.manifest.created_utc).unwrap();
        assert_eq!(file_name, format!("events.out.tfevents.{secs}.learnscope"));
        let bytes = std::fs::read(&files[0]).unwrap();
        // First record: the file-version event, framed with masked CRC32Cs.
        let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()),
            masked_crc32c(&bytes[..8])
        );
        let data = &bytes[12..12 + len];
        assert_eq!(
            u32::from_le_bytes(bytes[12 + len..16 + len].try_into().unwrap()),
            masked_crc32c(data)
        );
        assert_eq!(data[0], 0x09, "wall_time first");
        assert_eq!(
            f64::from_le_bytes(data[1..9].try_into().unwrap()),
            secs as f64
        );
        assert!(data.ends_with(b"brain.Event:2"));
        assert_eq!(
            bytes,
            learnscope_store::encode_event_file(secs as f64, reader.records())
        );
    }
}

#[test]
fn bad_inputs_are_named() {
    let root = scratch("export-bad-inputs");
    let missing = root.join("no-such-run");
    let out = learnscope()
        .arg("export")
        .arg(&missing)
        .arg("--parquet")
        .arg(root.join("x.parquet"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no-such-run"), "{}", text(&out));
    assert!(!root.join("x.parquet").exists());

    // A directory that is neither a run nor a reproduce output.
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = learnscope()
        .arg("export")
        .arg(&empty)
        .arg("--tensorboard")
        .arg(root.join("tb"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("empty"), "{}", text(&out));

    // No output format.
    let out = learnscope().arg("export").arg(&empty).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--parquet"), "{}", text(&out));
}

#[test]
fn reproduce_directory_is_expanded() {
    let root = scratch("export-reproduce-dir");
    let runs = root.join("repro").join("runs");
    demo(&runs.join("s0"), &[]);
    demo(&runs.join("s1"), &["seed=1"]);
    std::fs::create_dir_all(runs.join("not-a-run")).unwrap();
    let pq = root.join("r.parquet");
    let out = learnscope()
        .arg("export")
        .arg(root.join("repro"))
        .arg("--parquet")
        .arg(&pq)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let t = read_export_parquet(&pq).unwrap();
    let mut names = t.run.clone();
    names.dedup();
    assert_eq!(names, ["s0", "s1"]);
}

#[test]
fn run_writes_tensorboard_events_when_it_ends() {
    let root = scratch("run-tensorboard");
    let (run, tb) = (root.join("r"), root.join("tb"));
    let out = learnscope()
        .arg("run")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../experiments/demo.toml"
        ))
        .args(["--set", "steps=200", "--out"])
        .arg(&run)
        .arg("--tensorboard")
        .arg(&tb)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let reader = RunReader::open(&run).unwrap();
    let secs = learnscope_store::rfc3339_unix_seconds(&reader.manifest.created_utc).unwrap();
    let file = tb
        .join("r")
        .join(format!("events.out.tfevents.{secs}.learnscope"));
    // The same bytes as `learnscope export --tensorboard` of the finished run.
    assert_eq!(
        std::fs::read(&file).unwrap(),
        learnscope_store::encode_event_file(secs as f64, reader.records())
    );
    assert!(text(&out).contains("TensorBoard events"), "{}", text(&out));
}
