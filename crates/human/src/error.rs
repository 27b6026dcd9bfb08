//! The one error type of the crate, [`HumanError`].
//!
//! Structured so that a researcher can act on it without reading code: a configuration error
//! names the file and the key (and the line where the TOML parser knows it), a database error
//! names the database file and what was being done, an export error names the output path.

use std::path::PathBuf;

/// Everything that can go wrong in learnscope-human outside an HTTP request (request errors are
/// `api::ApiError`, answered as JSON with a 4xx status).
#[derive(Debug, thiserror::Error)]
pub enum HumanError {
    /// The study configuration could not be read.
    #[error("cannot read study configuration {path}: {source}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The study configuration is malformed or invalid.
    #[error("{source_name}: key `{key}`{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Config {
        /// The file (or `<demo>`, `<text>`).
        source_name: String,
        /// The key path, e.g. `protocol.max_gap_hours`.
        key: String,
        /// The 1-based line, where known.
        line: Option<usize>,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A secret the config names is not set in the environment.
    #[error("environment variable {var} (named by study.{key}) is not set; set it, or run with --dev for a throwaway value")]
    MissingSecret {
        /// The variable.
        var: String,
        /// The config key naming it.
        key: &'static str,
    },
    /// `--dev` was asked for on an address other than loopback.
    #[error("--dev enables test hooks and is refused on a non-loopback address ({addr})")]
    DevNotLoopback {
        /// The bind address.
        addr: std::net::IpAddr,
    },
    /// The database already holds this study under a different configuration.
    #[error("database {db} holds study `{study}` with a different configuration (sha256 {stored}, now {now}); use a new database or the original config")]
    ConfigChanged {
        /// The database.
        db: PathBuf,
        /// The study id.
        study: String,
        /// The stored config hash.
        stored: String,
        /// The new config hash.
        now: String,
    },
    /// A database operation failed.
    #[error("database {db}: {what}: {source}")]
    Db {
        /// The database file.
        db: PathBuf,
        /// What was being done.
        what: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A study id that the database does not hold.
    #[error("database {db} has no study `{study}`")]
    UnknownStudy {
        /// The database file.
        db: PathBuf,
        /// The id.
        study: String,
    },
    /// Writing an export failed.
    #[error("export to {path}: {message}")]
    Export {
        /// The output path.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// Binding or serving the socket failed.
    #[error("server on {addr}: {source}")]
    Io {
        /// The address or resource.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database writer thread is gone (it stopped after a fatal error).
    #[error("the database writer has stopped: {0}")]
    WriterGone(String),
    /// The analysis refused the response table.
    #[error("analysis: {0}")]
    Analysis(#[from] learnscope_stats::StatsError),
}

/// Shorthand.
pub type Result<T, E = HumanError> = std::result::Result<T, E>;

impl HumanError {
    /// A configuration error on `key` of `source_name`.
    pub(crate) fn config(
        source_name: &str,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        HumanError::Config {
            source_name: source_name.to_string(),
            key: key.into(),
            line: None,
            message: message.into(),
        }
    }
}
