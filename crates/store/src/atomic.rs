//! Atomic file replacement: write `<file>.tmp`, fsync it, rename it over `<file>`, fsync the
//! directory. A reader (or a crash) therefore sees either the old file or the new one, never a
//! prefix — the rule DESIGN.md §5 sets for the manifest, and this crate applies to every file
//! that is rewritten rather than appended (config, checkpoints, Parquet export).

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{StoreError, StoreResult};

/// The temporary sibling used while `path` is being replaced: `path` with `.tmp` appended.
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Replaces `path` atomically with what `fill` writes into the (buffered) temporary file.
///
/// On any failure the temporary file is removed (best effort) and `path` is left untouched.
pub(crate) fn write_atomic_with<F>(path: &Path, fill: F) -> StoreResult<()>
where
    F: FnOnce(&mut BufWriter<File>, &Path) -> StoreResult<()>,
{
    let tmp = tmp_path(path);
    let result = write_tmp(&tmp, fill).and_then(|()| {
        fs::rename(&tmp, path).map_err(|e| StoreError::io("rename temporary file onto", path, e))
    });
    if result.is_err() {
        // The error being returned matters more than a leftover temporary file.
        let _ = fs::remove_file(&tmp);
        return result;
    }
    sync_parent_dir(path)
}

/// Replaces `path` atomically with `bytes` (temp file, fsync, rename, fsync directory); for
/// small files that are rewritten whole, such as `config.toml`.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> StoreResult<()> {
    write_atomic(path, bytes)
}

/// Replaces `path` atomically with `bytes`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> StoreResult<()> {
    write_atomic_with(path, |w, tmp| {
        w.write_all(bytes)
            .map_err(|e| StoreError::io("write", tmp, e))
    })
}

fn write_tmp<F>(tmp: &Path, fill: F) -> StoreResult<()>
where
    F: FnOnce(&mut BufWriter<File>, &Path) -> StoreResult<()>,
{
    let file = File::create(tmp).map_err(|e| StoreError::io("create", tmp, e))?;
    let mut w = BufWriter::new(file);
    fill(&mut w, tmp)?;
    let file = w
        .into_inner()
        .map_err(|e| StoreError::io("write", tmp, e.into_error()))?;
    file.sync_all().map_err(|e| StoreError::io("sync", tmp, e))
}

/// Makes a rename or creation inside `path`'s directory durable (on Unix, by fsyncing the
/// directory; elsewhere renames are durable once the call returns or cannot be forced).
pub(crate) fn sync_parent_dir(path: &Path) -> StoreResult<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    sync_dir(parent)
}

/// Fsyncs a directory so that entries created or renamed in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> StoreResult<()> {
    #[cfg(unix)]
    {
        let d = File::open(dir).map_err(|e| StoreError::io("open directory", dir, e))?;
        d.sync_all()
            .map_err(|e| StoreError::io("sync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmp_path_appends_suffix() {
        assert_eq!(
            tmp_path(Path::new("a/manifest.json")),
            PathBuf::from("a/manifest.json.tmp")
        );
    }

    #[test]
    fn failed_fill_leaves_old_file_and_no_tmp() {
        let dir = crate::test_util::TempDir::new("atomic");
        let p = dir.path().join("f.txt");
        write_atomic(&p, b"old").unwrap();
        let err = write_atomic_with(&p, |w, _| {
            w.write_all(b"partial").unwrap();
            Err(StoreError::NotADirectory { path: "x".into() })
        })
        .unwrap_err();
        assert!(matches!(err, StoreError::NotADirectory { .. }));
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert!(!tmp_path(&p).exists());
        write_atomic(&p, b"new").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
    }
}
