//! Checkpoints: `RUN_DIR/checkpoints/step-NNNNNNNN.safetensors` (parameters, buffers, optimizer
//! slots — whatever named tensors the trainer hands over) plus `step-NNNNNNNN.state.json` (the
//! trainer's JSON state: step, epoch, position in epoch, schedule state). `NNNNNNNN` is the step,
//! zero-padded to 8 digits (more digits once a step passes 99 999 999).
//!
//! The tensors are written first and the state last, each atomically, so a checkpoint counts
//! only when both files exist: a crash between the two leaves a safetensors file without state,
//! which listing ignores and the next write of that step replaces.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::atomic::write_atomic;
use crate::error::{StoreError, StoreResult};
use crate::safetensors::{read_safetensors, write_safetensors, TensorEntry};

/// Directory of checkpoints inside a run directory.
pub const CHECKPOINTS_DIR: &str = "checkpoints";

const TENSORS_SUFFIX: &str = ".safetensors";
const STATE_SUFFIX: &str = ".state.json";

/// The two files of the checkpoint at `step`: (tensors, state).
pub fn checkpoint_paths(run_dir: &Path, step: u64) -> (PathBuf, PathBuf) {
    let dir = run_dir.join(CHECKPOINTS_DIR);
    (
        dir.join(format!("step-{step:08}{TENSORS_SUFFIX}")),
        dir.join(format!("step-{step:08}{STATE_SUFFIX}")),
    )
}

/// Writes the checkpoint at `step`: tensors (stored in name order, with metadata
/// `{"step": "<step>"}`), then `state` as pretty JSON. Replaces an existing checkpoint of that
/// step; its state file is removed first so that a crash cannot pair new tensors with old state.
pub fn write_checkpoint(
    run_dir: &Path,
    step: u64,
    entries: &[TensorEntry],
    state: &serde_json::Value,
) -> StoreResult<()> {
    let dir = run_dir.join(CHECKPOINTS_DIR);
    fs::create_dir_all(&dir).map_err(|e| StoreError::io("create directory", &dir, e))?;
    let (tensors, state_path) = checkpoint_paths(run_dir, step);
    let mut state_bytes =
        serde_json::to_vec_pretty(state).map_err(|source| StoreError::JsonEncode {
            path: state_path.clone(),
            source,
        })?;
    state_bytes.push(b'\n');
    match fs::remove_file(&state_path) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(StoreError::io("remove", &state_path, e)),
    }
    let metadata = BTreeMap::from([("step".to_string(), step.to_string())]);
    write_safetensors(&tensors, entries, &metadata)?;
    write_atomic(&state_path, &state_bytes)
}

/// Steps of the complete checkpoints (both files present), ascending. A run without a
/// `checkpoints/` directory has none.
pub fn list_checkpoints(run_dir: &Path) -> StoreResult<Vec<u64>> {
    let dir = run_dir.join(CHECKPOINTS_DIR);
    let listing = match fs::read_dir(&dir) {
        Ok(l) => l,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("list directory", &dir, e)),
    };
    let mut tensors = Vec::new();
    let mut states = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| StoreError::io("list directory", &dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(step) = parse_step(name, TENSORS_SUFFIX) {
            tensors.push(step);
        } else if let Some(step) = parse_step(name, STATE_SUFFIX) {
            states.push(step);
        }
    }
    states.sort_unstable();
    let mut steps: Vec<u64> = tensors
        .into_iter()
        .filter(|s| states.binary_search(s).is_ok())
        .collect();
    steps.sort_unstable();
    Ok(steps)
}

/// The step of the newest complete checkpoint, if any.
pub fn latest_checkpoint(run_dir: &Path) -> StoreResult<Option<u64>> {
    Ok(list_checkpoints(run_dir)?.last().copied())
}

/// Reads the complete checkpoint at `step`: its tensors (in file order) and its state.
pub fn read_checkpoint(
    run_dir: &Path,
    step: u64,
) -> StoreResult<(Vec<TensorEntry>, serde_json::Value)> {
    let (tensors, state_path) = checkpoint_paths(run_dir, step);
    if !(tensors.is_file() && state_path.is_file()) {
        return Err(StoreError::CheckpointNotFound {
            run_dir: run_dir.to_path_buf(),
            step,
            available: list_checkpoints(run_dir)?,
        });
    }
    let file = read_safetensors(&tensors)?;
    let bytes = fs::read(&state_path).map_err(|e| StoreError::io("read", &state_path, e))?;
    let state = serde_json::from_slice(&bytes).map_err(|e| StoreError::json(&state_path, e))?;
    Ok((file.entries, state))
}

/// The step in `step-NNNNNNNN<suffix>`, only for the canonical spelling (8+ digits, no extra
/// leading zeros), so that two names can never denote the same step.
fn parse_step(name: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix("step-")?.strip_suffix(suffix)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step: u64 = digits.parse().ok()?;
    (format!("{step:08}") == digits).then_some(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let (t, s) = checkpoint_paths(Path::new("r"), 42);
        assert_eq!(t, Path::new("r/checkpoints/step-00000042.safetensors"));
        assert_eq!(s, Path::new("r/checkpoints/step-00000042.state.json"));
        assert_eq!(
            parse_step("step-00000042.safetensors", TENSORS_SUFFIX),
            Some(42)
        );
        assert_eq!(
            parse_step("step-123456789.state.json", STATE_SUFFIX),
            Some(123_456_789)
        );
        assert_eq!(parse_step("step-42.safetensors", TENSORS_SUFFIX), None);
        assert_eq!(
            parse_step("step-000000042.safetensors", TENSORS_SUFFIX),
            None
        );
        assert_eq!(
            parse_step("step-00000042.safetensors.tmp", TENSORS_SUFFIX),
            None
        );
        assert_eq!(
            parse_step("step-+0000042.safetensors", TENSORS_SUFFIX),
            None
        );
    }
}
