//! manifest.json: serde round trip, field names, atomic replacement.

use std::fs;

use learnscope_store::{sha256_file, Manifest, RunStatus, StoreError, MANIFEST_FILE};

use crate::util::TempDir;

fn full_manifest(dir: &std::path::Path) -> Manifest {
    let data = dir.join("data.bin");
    fs::write(&data, vec![7u8; 100_000]).unwrap();
    let mut m = Manifest::new("mlp-demo", 1234);
    m.isa = "avx2".into();
    m.threads = 2;
    m.backend = "cpu".into();
    m.git_commit = Some("abcdef0".into());
    m.git_dirty = Some(true);
    m.rustc_version = Some("rustc 1.95.0".into());
    m.data_files.push(sha256_file(&data).unwrap());
    m.reproduce = Some(serde_json::json!({"name": "saxe", "row_ids": ["S1", "S2"]}));
    m.resumed_from = vec![10, 20];
    m.extra.insert("note".into(), serde_json::json!({"x": 1}));
    m
}

#[test]
fn serde_round_trip_and_field_names() {
    let dir = TempDir::new("manifest-rt");
    let p = dir.path().join(MANIFEST_FILE);
    let m = full_manifest(dir.path());
    m.write_atomic(&p).unwrap();
    let back = Manifest::read(&p).unwrap();
    assert_eq!(back, m);
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    for k in [
        "schema",
        "version",
        "name",
        "seed",
        "status",
        "error",
        "created_utc",
        "finished_utc",
        "isa",
        "threads",
        "backend",
        "git_commit",
        "git_dirty",
        "rustc_version",
        "data_files",
        "reproduce",
        "resumed_from",
        "extra",
    ] {
        assert!(v.get(k).is_some(), "missing field {k}");
    }
    assert_eq!(v["schema"], 1);
    assert_eq!(v["status"], "running");
    assert_eq!(v["data_files"][0]["bytes"], 100_000);
    assert_eq!(v["data_files"][0]["sha256"].as_str().unwrap().len(), 64);
    let created = v["created_utc"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
}

#[test]
fn atomic_replace_leaves_no_tmp_and_never_a_prefix() {
    let dir = TempDir::new("manifest-atomic");
    let p = dir.path().join(MANIFEST_FILE);
    let mut m = full_manifest(dir.path());
    m.write_atomic(&p).unwrap();
    // A stale temp file from a crash is simply overwritten.
    fs::write(dir.path().join("manifest.json.tmp"), "{partial").unwrap();
    for status in [
        RunStatus::Completed,
        RunStatus::Diverged,
        RunStatus::Interrupted,
        RunStatus::Failed,
    ] {
        m.status = status;
        m.error = (status == RunStatus::Failed).then(|| "boom".to_string());
        m.write_atomic(&p).unwrap();
        assert_eq!(Manifest::read(&p).unwrap(), m);
        assert!(!dir.path().join("manifest.json.tmp").exists());
    }
}

#[test]
fn bad_manifests_are_named() {
    let dir = TempDir::new("manifest-bad");
    let p = dir.path().join(MANIFEST_FILE);
    fs::write(&p, "{\n  \"schema\": 1,\n  \"status\": \"exploded\"\n}").unwrap();
    let err = Manifest::read(&p).unwrap_err();
    assert!(matches!(err, StoreError::Json { line: 3, .. }), "{err:?}");
    assert!(err.to_string().contains(MANIFEST_FILE));
    let err = Manifest::read(&dir.path().join("missing.json")).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }));
}
