//! The report's errors: a run directory that cannot be read, or a malformed side file.

use std::path::PathBuf;

/// Why a report could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A run directory could not be read.
    #[error(transparent)]
    Store(#[from] learnscope_store::StoreError),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A JSON or TOML side file (config, theory, verdict) is malformed.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An input is neither a run directory nor a `reproduce` output directory.
    #[error(
        "{path} is not a run directory (no manifest.json) nor a reproduce directory (no runs/)"
    )]
    NotARun {
        /// The input.
        path: PathBuf,
    },
    /// No runs were given.
    #[error("no runs to report")]
    NoRuns,
}

/// `Result` with a [`ReportError`].
pub type ReportResult<T> = Result<T, ReportError>;
