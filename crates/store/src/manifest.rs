//! `manifest.json`: what a run is and how it ended (DESIGN.md §5). It records the schema
//! version, the program version, seed, status, the machine facts the determinism contract
//! depends on (CPU feature level `isa`, thread count, backend), provenance (git commit, rustc),
//! hashes of the data files read, and the steps the run was resumed from.
//!
//! The manifest is the only file in a run directory that changes meaning over the run's life
//! (status `running` → `completed`/...), so it is always replaced atomically: written to
//! `manifest.json.tmp`, fsynced, renamed over `manifest.json`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::atomic::write_atomic;
use crate::error::{StoreError, StoreResult};
use crate::run_dir::hex;
use crate::utc::utc_now_rfc3339;

/// The manifest schema this crate writes and reads.
pub const MANIFEST_SCHEMA: u32 = 1;

/// File name of the manifest inside a run directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// How a run stands or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Started and not (yet) finished — also what a crashed run is left at.
    Running,
    /// Trained to the end.
    Completed,
    /// Stopped because the loss or parameters became non-finite (a result, not a crash).
    Diverged,
    /// Stopped on a signal after writing a checkpoint; resumable.
    Interrupted,
    /// Stopped by an error (see `error`).
    Failed,
}

impl RunStatus {
    /// The lowercase name as written in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Diverged => "diverged",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A data file the run read, identified by content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFileRecord {
    /// The path as the run was given it.
    pub path: String,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// File size in bytes.
    pub bytes: u64,
}

/// The contents of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest schema version ([`MANIFEST_SCHEMA`]).
    pub schema: u32,
    /// learnscope version that wrote the run.
    pub version: String,
    /// The run's name (from the config).
    pub name: String,
    /// Root seed of every counter-based random draw.
    pub seed: u64,
    /// How the run stands or ended.
    pub status: RunStatus,
    /// The error that stopped a `failed` run (one line of cause chain).
    pub error: Option<String>,
    /// Start time, RFC 3339 UTC.
    pub created_utc: String,
    /// End time, RFC 3339 UTC; `None` while running.
    pub finished_utc: Option<String>,
    /// CPU feature level the kernels ran at (e.g. `avx512`, `avx2`).
    pub isa: String,
    /// Worker thread count (part of the determinism contract).
    pub threads: usize,
    /// Compute backend (e.g. `cpu`).
    pub backend: String,
    /// Git commit of the source tree, when known.
    pub git_commit: Option<String>,
    /// Whether the source tree had uncommitted changes, when known.
    pub git_dirty: Option<bool>,
    /// `rustc --version` of the compiler, when known.
    pub rustc_version: Option<String>,
    /// Data files read, with their hashes.
    pub data_files: Vec<DataFileRecord>,
    /// For runs made by `reproduce`: `{name, row_ids}`.
    pub reproduce: Option<serde_json::Value>,
    /// Checkpoint steps this run was resumed from, in order.
    pub resumed_from: Vec<u64>,
    /// Anything else worth keeping (free-form, sorted by key).
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Manifest {
    /// A manifest for a run starting now: status `running`, this crate's version, no machine
    /// facts yet (`isa`, `threads`, `backend` are for the caller to fill in).
    pub fn new(name: impl Into<String>, seed: u64) -> Self {
        Manifest {
            schema: MANIFEST_SCHEMA,
            version: env!("CARGO_PKG_VERSION").to_string(),
            name: name.into(),
            seed,
            status: RunStatus::Running,
            error: None,
            created_utc: utc_now_rfc3339(),
            finished_utc: None,
            isa: String::new(),
            threads: 0,
            backend: String::new(),
            git_commit: None,
            git_dirty: None,
            rustc_version: None,
            data_files: Vec::new(),
            reproduce: None,
            resumed_from: Vec::new(),
            extra: BTreeMap::new(),
        }
    }

    /// The manifest as pretty-printed JSON with a trailing newline.
    pub fn to_json_bytes(&self, path: &Path) -> StoreResult<Vec<u8>> {
        let mut bytes =
            serde_json::to_vec_pretty(self).map_err(|source| StoreError::JsonEncode {
                path: path.to_path_buf(),
                source,
            })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Replaces the file at `path` atomically (temp file, fsync, rename, fsync directory).
    pub fn write_atomic(&self, path: &Path) -> StoreResult<()> {
        let bytes = self.to_json_bytes(path)?;
        write_atomic(path, &bytes)
    }

    /// Reads a manifest, checking its schema version first so that a newer schema is reported
    /// as such rather than as an unknown field.
    pub fn read(path: &Path) -> StoreResult<Self> {
        let bytes = std::fs::read(path).map_err(|e| StoreError::io("read", path, e))?;
        Self::from_json_bytes(&bytes, path)
    }

    /// Parses manifest JSON (`path` is only used in errors).
    pub fn from_json_bytes(bytes: &[u8], path: &Path) -> StoreResult<Self> {
        #[derive(Deserialize)]
        struct SchemaOnly {
            schema: u32,
        }
        let probe: SchemaOnly =
            serde_json::from_slice(bytes).map_err(|e| StoreError::json(path, e))?;
        if probe.schema != MANIFEST_SCHEMA {
            return Err(StoreError::UnsupportedSchema {
                path: path.to_path_buf(),
                expected: MANIFEST_SCHEMA,
                found: probe.schema,
            });
        }
        serde_json::from_slice(bytes).map_err(|e| StoreError::json(path, e))
    }
}

/// Hashes a data file (streaming) into a [`DataFileRecord`]; `path` is recorded as given.
pub fn sha256_file(path: &Path) -> StoreResult<DataFileRecord> {
    let file = File::open(path).map_err(|e| StoreError::io("open", path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StoreError::io("read", path, e)),
        };
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(DataFileRecord {
        path: path.to_string_lossy().into_owned(),
        sha256: hex(&hasher.finalize()),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    #[test]
    fn status_names_are_lowercase() {
        for (s, n) in [
            (RunStatus::Running, "\"running\""),
            (RunStatus::Completed, "\"completed\""),
            (RunStatus::Diverged, "\"diverged\""),
            (RunStatus::Interrupted, "\"interrupted\""),
            (RunStatus::Failed, "\"failed\""),
        ] {
            assert_eq!(serde_json::to_string(&s).unwrap(), n);
            assert_eq!(format!("\"{s}\""), n);
        }
    }

    #[test]
    fn sha256_of_known_content() {
        let dir = TempDir::new("sha");
        let p = dir.path().join("abc.bin");
        std::fs::write(&p, b"abc").unwrap();
        let r = sha256_file(&p).unwrap();
        assert_eq!(
            r.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(r.bytes, 3);
        let e = sha256_file(&dir.path().join("missing")).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }

    #[test]
    fn other_schema_is_named() {
        let m = Manifest::new("x", 1);
        let mut v = serde_json::to_value(&m).unwrap();
        v["schema"] = 2.into();
        v["future_field"] = true.into();
        let bytes = serde_json::to_vec(&v).unwrap();
        let e = Manifest::from_json_bytes(&bytes, Path::new("m.json")).unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::UnsupportedSchema {
                    expected: 1,
                    found: 2,
                    ..
                }
            ),
            "{e}"
        );
    }
}
