//! Run directories: names never collide (-2, -3, …) and `--out` refuses a non-empty directory.

use std::fs;
use std::time::{Duration, UNIX_EPOCH};

use learnscope_store::{create_exact_run_dir, create_run_dir, StoreError};

use crate::util::TempDir;

#[test]
fn collisions_get_suffixes() {
    let root = TempDir::new("rundir");
    let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000); // 2023-11-14T22:13:20Z
    let a = create_run_dir(root.path(), "demo", "cfg", t).unwrap();
    let b = create_run_dir(root.path(), "demo", "cfg", t).unwrap();
    let c = create_run_dir(root.path(), "demo", "cfg", t).unwrap();
    let name = |p: &std::path::Path| p.file_name().unwrap().to_str().unwrap().to_string();
    let base = name(&a);
    assert!(base.starts_with("20231114-221320-demo-"), "{base}");
    assert_eq!(base.len(), "20231114-221320-demo-".len() + 8);
    assert_eq!(name(&b), format!("{base}-2"));
    assert_eq!(name(&c), format!("{base}-3"));
    // A different hash input gives a different name.
    let d = create_run_dir(root.path(), "demo", "other cfg", t).unwrap();
    assert_ne!(name(&d)[..base.len()], base);
    for p in [&a, &b, &c, &d] {
        assert!(p.is_dir());
    }
}

#[test]
fn concurrent_creation_never_shares() {
    let root = TempDir::new("rundir-race");
    let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let rootp = root.path().to_path_buf();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let r = rootp.clone();
            std::thread::spawn(move || create_run_dir(&r, "race", "x", t).unwrap())
        })
        .collect();
    let mut dirs: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    dirs.sort();
    dirs.dedup();
    assert_eq!(dirs.len(), 8);
}

#[test]
fn invalid_name_rejected() {
    let root = TempDir::new("rundir-name");
    let err = create_run_dir(root.path(), "../escape", "x", UNIX_EPOCH).unwrap_err();
    assert!(matches!(err, StoreError::InvalidRunName { .. }), "{err}");
}

#[test]
fn out_dir_rules() {
    let root = TempDir::new("rundir-out");
    // Missing: created, parents included.
    let fresh = root.path().join("a/b/run");
    assert_eq!(create_exact_run_dir(&fresh).unwrap(), fresh);
    assert!(fresh.is_dir());
    // Existing and empty: accepted.
    create_exact_run_dir(&fresh).unwrap();
    // Non-empty: refused.
    fs::write(fresh.join("manifest.json"), "{}").unwrap();
    let err = create_exact_run_dir(&fresh).unwrap_err();
    assert!(
        matches!(err, StoreError::RunDirNotEmpty { entries: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--resume"));
    // A file: refused.
    let file = root.path().join("file");
    fs::write(&file, "x").unwrap();
    assert!(matches!(
        create_exact_run_dir(&file),
        Err(StoreError::NotADirectory { .. })
    ));
}
