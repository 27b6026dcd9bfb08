//! Reading a data file that may be gzip-compressed (detected by its magic bytes 1f 8b), with a
//! cap on the decompressed size so a decompression bomb fails instead of exhausting memory.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Decompressed files larger than this are refused (4 GiB: larger than any data set the loaders
/// target; override per call).
pub const MAX_DECOMPRESSED_BYTES: u64 = 4 << 30;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The path is a directory.
    #[error("{path}: is a directory, expected a file")]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// An I/O error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A gzip stream that is truncated or corrupt.
    #[error("{path}: corrupt or truncated gzip stream after {decompressed} decompressed bytes: {source}")]
    Gzip {
        /// The path.
        path: PathBuf,
        /// Bytes decompressed before the failure.
        decompressed: u64,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The decompressed content exceeds the cap.
    #[error(
        "{path}: decompresses to more than {limit} bytes (a decompression bomb or the wrong file)"
    )]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// The cap.
        limit: u64,
    },
}

/// The file's bytes, gunzipped when it starts with the gzip magic, at most `limit` bytes.
pub fn read_maybe_gzip(path: &Path, limit: u64) -> Result<Vec<u8>, SourceError> {
    if path.is_dir() {
        return Err(SourceError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let io = |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    maybe_gunzip(raw, limit, path)
}

/// `raw` itself, or its gunzipped content (at most `limit` bytes) when it starts with the gzip
/// magic; `path` names the source in errors.
pub fn maybe_gunzip(raw: Vec<u8>, limit: u64, path: &Path) -> Result<Vec<u8>, SourceError> {
    if raw.len() < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
        return Ok(raw);
    }
    // The trailer's size field (mod 2^32, last member only) is a capacity hint, capped by the
    // limit and by deflate's largest ratio (1032:1) so a lying trailer cannot reserve much.
    let trailer = u32::from_le_bytes(
        raw[raw.len().saturating_sub(4)..]
            .try_into()
            .unwrap_or([0; 4]),
    );
    let hint = (trailer as u64)
        .min(limit)
        .min(raw.len() as u64 * 1032)
        .min(1 << 30);
    let mut out = Vec::with_capacity(hint as usize);
    let mut decoder = flate2::read::MultiGzDecoder::new(&raw[..]).take(limit + 1);
    match decoder.read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > limit => Err(SourceError::TooLarge {
            path: path.to_path_buf(),
            limit,
        }),
        Ok(_) => Ok(out),
        Err(source) => Err(SourceError::Gzip {
            path: path.to_path_buf(),
            decompressed: out.len() as u64,
            source,
        }),
    }
}
