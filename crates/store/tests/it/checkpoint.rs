//! Checkpoints: layout, listing ignores half-written checkpoints, round trip.

use std::fs;

use learnscope_store::{
    checkpoint_paths, latest_checkpoint, list_checkpoints, read_checkpoint, write_checkpoint,
    StoreError, TensorEntry,
};

use crate::util::TempDir;

fn tensors(step: u64) -> Vec<TensorEntry> {
    vec![
        TensorEntry::from_f32("w", vec![2, 2], &[step as f32, 1.0, 2.0, 3.0]),
        TensorEntry::from_f32("opt/w/m", vec![2, 2], &[0.0; 4]),
    ]
}

fn state(step: u64) -> serde_json::Value {
    serde_json::json!({"step": step, "epoch": step / 10, "position": 3, "lr": {"kind": "cosine", "t": 0.5}})
}

#[test]
fn write_list_read() {
    let dir = TempDir::new("ck");
    assert_eq!(list_checkpoints(dir.path()).unwrap(), Vec::<u64>::new());
    assert_eq!(latest_checkpoint(dir.path()).unwrap(), None);
    for step in [100, 5, 123_456_789, 0] {
        write_checkpoint(dir.path(), step, &tensors(step), &state(step)).unwrap();
    }
    assert_eq!(
        list_checkpoints(dir.path()).unwrap(),
        vec![0, 5, 100, 123_456_789]
    );
    assert_eq!(latest_checkpoint(dir.path()).unwrap(), Some(123_456_789));
    assert!(dir
        .path()
        .join("checkpoints/step-00000005.safetensors")
        .is_file());
    assert!(dir
        .path()
        .join("checkpoints/step-00000005.state.json")
        .is_file());
    assert!(dir
        .path()
        .join("checkpoints/step-123456789.safetensors")
        .is_file());
    let (t, s) = read_checkpoint(dir.path(), 100).unwrap();
    let mut want = tensors(100);
    want.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(t, want);
    assert_eq!(s, state(100));
}

#[test]
fn deterministic_bytes() {
    let a = TempDir::new("ck-det-a");
    let b = TempDir::new("ck-det-b");
    write_checkpoint(a.path(), 7, &tensors(7), &state(7)).unwrap();
    write_checkpoint(b.path(), 7, &tensors(7), &state(7)).unwrap();
    let (ta, sa) = checkpoint_paths(a.path(), 7);
    let (tb, sb) = checkpoint_paths(b.path(), 7);
    assert_eq!(fs::read(ta).unwrap(), fs::read(tb).unwrap());
    assert_eq!(fs::read(sa).unwrap(), fs::read(sb).unwrap());
}

#[test]
fn half_written_checkpoints_are_ignored() {
    let dir = TempDir::new("ck-half");
    write_checkpoint(dir.path(), 10, &tensors(10), &state(10)).unwrap();
    write_checkpoint(dir.path(), 20, &tensors(20), &state(20)).unwrap();
    let ck = dir.path().join("checkpoints");
    // Crash after the tensors, before the state.
    let (t30, _) = checkpoint_paths(dir.path(), 30);
    fs::copy(ck.join("step-00000020.safetensors"), &t30).unwrap();
    // Crash during the tensors' temp file.
    fs::write(ck.join("step-00000040.safetensors.tmp"), b"partial").unwrap();
    // A state without tensors, and unrelated files.
    fs::write(ck.join("step-00000050.state.json"), b"{}").unwrap();
    fs::write(ck.join("step-60.safetensors"), b"").unwrap();
    fs::write(ck.join("step-60.state.json"), b"{}").unwrap();
    fs::write(ck.join("notes.txt"), b"").unwrap();
    assert_eq!(list_checkpoints(dir.path()).unwrap(), vec![10, 20]);
    assert_eq!(latest_checkpoint(dir.path()).unwrap(), Some(20));
    let err = read_checkpoint(dir.path(), 30).unwrap_err();
    match &err {
        StoreError::CheckpointNotFound {
            step, available, ..
        } => {
            assert_eq!(*step, 30);
            assert_eq!(available, &vec![10, 20]);
        }
        other => panic!("{other:?}"),
    }
    // Rewriting step 30 completes it.
    write_checkpoint(dir.path(), 30, &tensors(30), &state(30)).unwrap();
    assert_eq!(list_checkpoints(dir.path()).unwrap(), vec![10, 20, 30]);
    assert_eq!(read_checkpoint(dir.path(), 30).unwrap().1, state(30));
}

#[test]
fn corrupt_checkpoint_is_an_error() {
    let dir = TempDir::new("ck-corrupt");
    write_checkpoint(dir.path(), 1, &tensors(1), &state(1)).unwrap();
    let (t, s) = checkpoint_paths(dir.path(), 1);
    let bytes = fs::read(&t).unwrap();
    fs::write(&t, &bytes[..bytes.len() - 2]).unwrap();
    assert!(matches!(
        read_checkpoint(dir.path(), 1),
        Err(StoreError::InvalidSafetensors { .. })
    ));
    fs::write(&t, &bytes).unwrap();
    fs::write(&s, b"{\"step\": ").unwrap();
    assert!(matches!(
        read_checkpoint(dir.path(), 1),
        Err(StoreError::Json { .. })
    ));
}
