//! Errors of the run store. Every variant names the file it concerns and, where it applies, the
//! line, byte offset or tensor, and what was expected against what was found. Underlying errors
//! (IO, JSON, Parquet) are kept as the `source`, so `{:#}` in the binary prints the whole chain;
//! they are not repeated in the variant's own message.

use std::path::PathBuf;

/// Result alias of this crate.
pub type StoreResult<T> = Result<T, StoreError>;

/// Something went wrong reading or writing a run directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An operating-system call on a file or directory failed.
    #[error("cannot {op} `{}`", path.display())]
    Io {
        /// What was being done (`create`, `read`, `write`, `rename`, `sync`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A run name that cannot be part of a directory name.
    #[error("run name `{name}` is not usable in a directory name: {reason}")]
    InvalidRunName {
        /// The name as given.
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },

    /// `--out DIR` named a directory that already holds files (only `--resume` may write there).
    #[error("run directory `{}` exists and is not empty ({entries} entries); a run never writes into an existing run directory (use --resume to continue one)", path.display())]
    RunDirNotEmpty {
        /// The directory.
        path: PathBuf,
        /// How many entries it holds.
        entries: usize,
    },

    /// A path that should be a directory is something else.
    #[error("`{}` exists and is not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },

    /// Every candidate name `<base>`, `<base>-2`, ... up to `<base>-<tries>` was taken.
    #[error("no free run directory name: `{}` and its suffixes -2..-{tries} all exist", base.display())]
    RunDirExhausted {
        /// The unsuffixed candidate.
        base: PathBuf,
        /// The largest suffix tried.
        tries: u32,
    },

    /// A JSON document (manifest, checkpoint state) does not parse or does not match its schema.
    #[error("`{}`: invalid JSON at line {line}, column {column}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error inside the document.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },

    /// A value could not be encoded as JSON.
    #[error("`{}`: cannot encode JSON", path.display())]
    JsonEncode {
        /// The file being written.
        path: PathBuf,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },

    /// A complete line of a JSONL file is not a valid record. (An incomplete *last* line is
    /// tolerated as the trace of a crash mid-write and never reported.)
    #[error("`{}`: line {line} (byte offset {offset}) is not a valid record", path.display())]
    MalformedLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Byte offset of the start of the line.
        offset: u64,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },

    /// A JSONL file's steps go backwards; resuming relies on non-decreasing steps.
    #[error("`{}`: line {line} (byte offset {offset}) has step {found} after step {previous}; steps must not decrease", path.display())]
    UnsortedSteps {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Byte offset of the start of the line.
        offset: u64,
        /// The step of the preceding record.
        previous: u64,
        /// The smaller step found.
        found: u64,
    },

    /// A writer was handed a record whose step is smaller than the previous record's.
    #[error("`{}`: record for step {found} pushed after step {previous}; steps must not decrease", path.display())]
    StepDecreased {
        /// The file being written.
        path: PathBuf,
        /// The step of the preceding record.
        previous: u64,
        /// The smaller step pushed.
        found: u64,
    },

    /// A manifest written by a different, unsupported schema version.
    #[error("`{}`: manifest schema {found} is not supported (expected {expected})", path.display())]
    UnsupportedSchema {
        /// The manifest file.
        path: PathBuf,
        /// The schema this build reads.
        expected: u32,
        /// The schema in the file.
        found: u32,
    },

    /// A safetensors file that breaks the format.
    #[error("`{}`: {}: {what}: expected {expected}, found {found}", path.display(), .tensor.as_deref().map_or_else(|| "safetensors header".to_string(), |t| format!("tensor `{t}`")))]
    InvalidSafetensors {
        /// The file.
        path: PathBuf,
        /// The tensor concerned, or `None` for the header as a whole.
        tensor: Option<String>,
        /// The rule that failed.
        what: &'static str,
        /// What the rule requires.
        expected: String,
        /// What the file holds.
        found: String,
    },

    /// A safetensors header that is not a JSON object.
    #[error("`{}`: safetensors header is not valid JSON", path.display())]
    SafetensorsHeaderJson {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },

    /// A tensor handed to the safetensors writer is inconsistent.
    #[error("`{}`: cannot write tensor `{tensor}`: {what}: expected {expected}, found {found}", path.display())]
    InvalidTensorEntry {
        /// The file being written.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// The rule that failed.
        what: &'static str,
        /// What the rule requires.
        expected: String,
        /// What was given.
        found: String,
    },

    /// The Parquet library failed to write or read a file.
    #[error("`{}`: Parquet error", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The library's error.
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// A Parquet file whose schema or contents are not the metrics long table.
    #[error("`{}`: column `{column}`: expected {expected}, found {found}", path.display())]
    ParquetSchema {
        /// The file.
        path: PathBuf,
        /// The column concerned.
        column: String,
        /// What the metrics table requires.
        expected: String,
        /// What the file holds.
        found: String,
    },

    /// No complete checkpoint (both `.safetensors` and `.state.json`) exists for a step.
    #[error("run `{}` has no complete checkpoint for step {step} (available: {available:?})", run_dir.display())]
    CheckpointNotFound {
        /// The run directory.
        run_dir: PathBuf,
        /// The requested step.
        step: u64,
        /// The steps that do have complete checkpoints.
        available: Vec<u64>,
    },
}

impl StoreError {
    /// An [`StoreError::Io`] for `op` on `path`: an I/O failure of `op` on `path` (also for callers writing beside a run directory).
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// A [`StoreError::Json`] for a parse error in the document at `path`.
    pub(crate) fn json(path: impl Into<PathBuf>, source: serde_json::Error) -> Self {
        StoreError::Json {
            path: path.into(),
            line: source.line(),
            column: source.column(),
            source,
        }
    }

    /// A [`StoreError::Parquet`] for `path`.
    pub(crate) fn parquet(path: impl Into<PathBuf>, source: parquet::errors::ParquetError) -> Self {
        StoreError::Parquet {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_and_tensor() {
        let e = StoreError::InvalidSafetensors {
            path: "a/b.safetensors".into(),
            tensor: Some("w".into()),
            what: "byte count",
            expected: "16".into(),
            found: "12".into(),
        };
        let s = e.to_string();
        assert!(
            s.contains("a/b.safetensors") && s.contains("tensor `w`"),
            "{s}"
        );
        assert!(s.contains("expected 16, found 12"), "{s}");
        let e = StoreError::InvalidSafetensors {
            path: "x".into(),
            tensor: None,
            what: "header length",
            expected: "<= 10".into(),
            found: "99".into(),
        };
        assert!(e.to_string().contains("safetensors header"));
    }

    #[test]
    fn errors_are_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<StoreError>();
    }
}
