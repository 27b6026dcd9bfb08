//! Choosing and creating a run directory (DESIGN.md §5).
//!
//! Without `--out`, a run goes to `<root>/<yyyymmdd-hhmmss>-<name>-<hash8>/`: the UTC start time,
//! the run's name, and the first 8 hex digits of SHA-256 of the caller's hash input (normally the
//! resolved config), so runs sort by time and equal configs are recognisable. If that directory
//! exists, `-2`, `-3`, … is appended. The leaf is made with `create_dir` (never
//! `create_dir_all`), which fails if the directory already exists, so two processes racing for
//! the same name can never share a directory. With `--out DIR`, the directory must be new or
//! empty: a run never writes into an existing run directory (only `--resume` does).

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::error::{StoreError, StoreResult};
use crate::utc::UtcDateTime;

/// The largest `-N` suffix tried before giving up.
pub const MAX_RUN_DIR_SUFFIX: u32 = 10_000;

/// Lowercase hex of SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of a byte string.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// Checks that `name` can be one component of a directory name on every platform we write to.
pub fn validate_run_name(name: &str) -> StoreResult<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("`.` and `..` name directories that already exist")
    } else if name.len() > 200 {
        Some("it is longer than 200 bytes")
    } else if name.chars().any(|c| matches!(c, '/' | '\\')) {
        Some("it contains a path separator (`/` or `\\`)")
    } else if name.chars().any(char::is_control) {
        Some("it contains a control character")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StoreError::InvalidRunName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The unsuffixed directory name `<yyyymmdd-hhmmss>-<name>-<hash8>` for a run started at `now`.
pub fn run_dir_name(name: &str, hash_input: &str, now: SystemTime) -> StoreResult<String> {
    validate_run_name(name)?;
    let stamp = UtcDateTime::from_system_time(now).compact();
    let hash = sha256_hex(hash_input.as_bytes());
    Ok(format!("{stamp}-{name}-{}", &hash[..8]))
}

/// Creates a fresh run directory `<root>/<yyyymmdd-hhmmss>-<name>-<hash8>[-N]` and returns its
/// path. `root` is created if missing; the leaf is always new (suffix `-2`, `-3`, … on
/// collision), so concurrent runs never share one.
pub fn create_run_dir(
    root: &Path,
    name: &str,
    hash_input: &str,
    now: SystemTime,
) -> StoreResult<PathBuf> {
    let base = run_dir_name(name, hash_input, now)?;
    fs::create_dir_all(root).map_err(|e| StoreError::io("create directory", root, e))?;
    for n in 1..=MAX_RUN_DIR_SUFFIX {
        let candidate = if n == 1 {
            root.join(&base)
        } else {
            root.join(format!("{base}-{n}"))
        };
        match fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(StoreError::io("create directory", candidate, e)),
        }
    }
    Err(StoreError::RunDirExhausted {
        base: root.join(base),
        tries: MAX_RUN_DIR_SUFFIX,
    })
}

/// Prepares the exact directory `path` (`--out DIR`): creates it (and its parents) if missing;
/// accepts it if it exists and is empty; fails with [`StoreError::RunDirNotEmpty`] if it holds
/// anything, and [`StoreError::NotADirectory`] if it is a file.
pub fn create_exact_run_dir(path: &Path) -> StoreResult<PathBuf> {
    match fs::metadata(path) {
        Ok(meta) if !meta.is_dir() => {
            return Err(StoreError::NotADirectory {
                path: path.to_path_buf(),
            })
        }
        Ok(_) => {
            let entries = fs::read_dir(path)
                .map_err(|e| StoreError::io("list directory", path, e))?
                .count();
            if entries > 0 {
                return Err(StoreError::RunDirNotEmpty {
                    path: path.to_path_buf(),
                    entries,
                });
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            fs::create_dir_all(path).map_err(|e| StoreError::io("create directory", path, e))?;
        }
        Err(e) => return Err(StoreError::io("inspect", path, e)),
    }
    Ok(path.to_path_buf())
}

/// The file holding an ensemble's configuration (`members = N`) in its directory; the members'
/// run directories `member-0`, `member-1`, … sit beside it.
pub const ENSEMBLE_FILE: &str = "ensemble.toml";

/// The member run directories of the ensemble directory `dir`, in member order, or `None` when
/// `dir` is not an ensemble directory (has no [`ENSEMBLE_FILE`]).
pub fn ensemble_members(dir: &Path) -> StoreResult<Option<Vec<PathBuf>>> {
    if !dir.join(ENSEMBLE_FILE).is_file() {
        return Ok(None);
    }
    let mut members: Vec<(usize, PathBuf)> = fs::read_dir(dir)
        .map_err(|e| StoreError::io("list directory", dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let i = p
                .file_name()?
                .to_str()?
                .strip_prefix("member-")?
                .parse()
                .ok()?;
            Some((i, p))
        })
        .collect();
    members.sort();
    Ok(Some(members.into_iter().map(|(_, p)| p).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn name_layout() {
        let t = UNIX_EPOCH + Duration::from_secs(1_234_567_890);
        let n = run_dir_name("demo", "abc", t).unwrap();
        // sha256("abc") = ba7816bf...
        assert_eq!(n, "20090213-233130-demo-ba7816bf");
    }

    #[test]
    fn bad_names_rejected() {
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb"] {
            let e = validate_run_name(bad).unwrap_err();
            assert!(matches!(e, StoreError::InvalidRunName { .. }), "{bad:?}");
        }
        validate_run_name("mlp-mnist_v2.1 (quick)").unwrap();
    }

    #[test]
    fn hex_digits() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}
