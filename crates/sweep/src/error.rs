//! What can go wrong in a sweep, with the file, row or key it concerns.

use std::path::PathBuf;

/// A sweep error.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The `[sweep]` table is malformed.
    #[error("[sweep] {key}: {why}")]
    Spec {
        /// The key of the `[sweep]` table (`seeds`, `zip[1]`, `lr.base`, ...).
        key: String,
        /// What is wrong.
        why: String,
    },
    /// An expanded configuration does not validate.
    #[error("sweep row {index} ({overrides}): {why}")]
    Row {
        /// The row.
        index: usize,
        /// Its axis values, `key=value, ...`.
        overrides: String,
        /// The configuration error.
        why: String,
    },
    /// A plan file that cannot be read.
    #[error("{path}:{line}: {why}")]
    Plan {
        /// The plan file.
        path: PathBuf,
        /// The 1-based line (0: the file as a whole).
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// A run directory that holds a different configuration than its plan row.
    #[error(
        "{dir} holds a different configuration (sha256 {found}) than plan row {index} \
         (sha256 {expected}); the plan changed under it: move that directory away or plan into a new sweep directory"
    )]
    Stale {
        /// The run directory.
        dir: PathBuf,
        /// The row.
        index: usize,
        /// SHA-256 of the plan row's configuration.
        expected: String,
        /// SHA-256 of the run directory's `config.toml`.
        found: String,
    },
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A run failed to start or to resume.
    #[error("plan row {index} ({dir}): {why}")]
    Run {
        /// The row.
        index: usize,
        /// Its run directory.
        dir: PathBuf,
        /// The error.
        why: String,
    },
    /// Anything else, said in words.
    #[error("{0}")]
    Other(String),
}

impl SweepError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SweepError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with [`SweepError`].
pub type SweepResult<T> = Result<T, SweepError>;
