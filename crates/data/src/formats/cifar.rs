//! CIFAR-10 and CIFAR-100 binary batches (`data_batch_1.bin` … `test_batch.bin`, `train.bin`,
//! `test.bin`), raw or gzip-compressed.
//!
//! Layout (Krizhevsky's "binary version"): a sequence of fixed-size records and nothing else.
//! A CIFAR-10 record is 1 label byte (0–9) then 3072 pixel bytes; a CIFAR-100 record is 1
//! coarse-label byte (0–19), 1 fine-label byte (0–99), then 3072 pixel bytes. The pixels are
//! channel-major (CHW): 1024 red, 1024 green, 1024 blue values of a 32×32 image, rows first.
//! The file length must be a positive multiple of the record size; every label is range-checked
//! and an error names the record and its byte offset.

use std::path::{Path, PathBuf};

use crate::formats::source::{read_maybe_gzip, SourceError, MAX_DECOMPRESSED_BYTES};

/// Pixel bytes per image (3 × 32 × 32).
pub const CIFAR_PIXELS: usize = 3 * 32 * 32;

/// Per-example input shape, CHW.
pub const CIFAR_SHAPE: [usize; 3] = [3, 32, 32];

/// Which CIFAR binary layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CifarKind {
    /// 1 label byte (10 classes) + 3072 pixels.
    Cifar10,
    /// 1 coarse (20 classes) + 1 fine (100 classes) label byte + 3072 pixels.
    Cifar100,
}

impl CifarKind {
    /// Bytes per record (3073 or 3074).
    pub fn record_size(self) -> usize {
        self.label_bytes() + CIFAR_PIXELS
    }

    /// Label bytes at the start of each record (1 or 2).
    pub fn label_bytes(self) -> usize {
        match self {
            CifarKind::Cifar10 => 1,
            CifarKind::Cifar100 => 2,
        }
    }

    /// `CIFAR-10` or `CIFAR-100`.
    pub fn name(self) -> &'static str {
        match self {
            CifarKind::Cifar10 => "CIFAR-10",
            CifarKind::Cifar100 => "CIFAR-100",
        }
    }

    /// The layout a file's name suggests (`data_batch_*`/`test_batch*` → CIFAR-10,
    /// `train.bin`/`test.bin` → CIFAR-100), if any.
    pub fn from_file_name(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        let name = name.strip_suffix(".gz").unwrap_or(name);
        if name.starts_with("data_batch_") || name.starts_with("test_batch") {
            Some(CifarKind::Cifar10)
        } else if name == "train.bin" || name == "test.bin" {
            Some(CifarKind::Cifar100)
        } else {
            None
        }
    }
}

/// Why a CIFAR batch file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum CifarError {
    /// The file could not be read or decompressed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Zero bytes.
    #[error("{path}: empty file, expected {kind} records of {record} bytes")]
    Empty {
        /// The file.
        path: PathBuf,
        /// The layout expected.
        kind: &'static str,
        /// Bytes per record.
        record: usize,
    },
    /// The length is not a multiple of the record size.
    #[error("{path}: {found} bytes is not a multiple of the {kind} record size {record} ({full} whole records, then {remainder} bytes from offset {offset})")]
    RecordSize {
        /// The file.
        path: PathBuf,
        /// The layout expected.
        kind: &'static str,
        /// Bytes per record.
        record: usize,
        /// File length.
        found: usize,
        /// Whole records.
        full: usize,
        /// Bytes left over.
        remainder: usize,
        /// Where the partial record starts.
        offset: usize,
    },
    /// A label byte outside its range.
    #[error(
        "{path}: {which} {found} of record {record} (byte offset {offset}) is outside 0..{limit}"
    )]
    LabelRange {
        /// The file.
        path: PathBuf,
        /// `label`, `coarse label` or `fine label`.
        which: &'static str,
        /// Record index (0-based).
        record: usize,
        /// Byte offset of the label.
        offset: usize,
        /// The byte found.
        found: u8,
        /// The number of classes.
        limit: u8,
    },
    /// A data set directory without the expected files.
    #[error("{dir}: not a {kind} directory: {detail}")]
    Layout {
        /// The directory.
        dir: PathBuf,
        /// The layout expected.
        kind: &'static str,
        /// What is missing.
        detail: String,
    },
}

/// The records of one batch file.
#[derive(Debug, Clone, PartialEq)]
pub struct CifarBatch {
    /// The layout.
    pub kind: CifarKind,
    /// Pixels, `n × 3072` (CHW per image).
    pub pixels: Vec<u8>,
    /// CIFAR-10 labels, or CIFAR-100 fine labels.
    pub labels: Vec<u32>,
    /// CIFAR-100 coarse labels (empty for CIFAR-10).
    pub coarse: Vec<u32>,
}

impl CifarBatch {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Parses a CIFAR batch; `path` only names the source in errors.
pub fn parse_cifar(bytes: &[u8], path: &Path, kind: CifarKind) -> Result<CifarBatch, CifarError> {
    let record = kind.record_size();
    if bytes.is_empty() {
        return Err(CifarError::Empty {
            path: path.to_path_buf(),
            kind: kind.name(),
            record,
        });
    }
    if bytes.len() % record != 0 {
        let full = bytes.len() / record;
        return Err(CifarError::RecordSize {
            path: path.to_path_buf(),
            kind: kind.name(),
            record,
            found: bytes.len(),
            full,
            remainder: bytes.len() % record,
            offset: full * record,
        });
    }
    let n = bytes.len() / record;
    let label_limits: &[(&'static str, u8)] = match kind {
        CifarKind::Cifar10 => &[("label", 10)],
        CifarKind::Cifar100 => &[("coarse label", 20), ("fine label", 100)],
    };
    for (r, rec) in bytes.chunks_exact(record).enumerate() {
        for (j, &(which, limit)) in label_limits.iter().enumerate() {
            if rec[j] >= limit {
                return Err(CifarError::LabelRange {
                    path: path.to_path_buf(),
                    which,
                    record: r,
                    offset: r * record + j,
                    found: rec[j],
                    limit,
                });
            }
        }
    }
    let mut pixels = Vec::with_capacity(n * CIFAR_PIXELS);
    let mut labels = Vec::with_capacity(n);
    let mut coarse = Vec::new();
    for rec in bytes.chunks_exact(record) {
        pixels.extend_from_slice(&rec[kind.label_bytes()..]);
        match kind {
            CifarKind::Cifar10 => labels.push(rec[0] as u32),
            CifarKind::Cifar100 => {
                coarse.push(rec[0] as u32);
                labels.push(rec[1] as u32);
            }
        }
    }
    Ok(CifarBatch {
        kind,
        pixels,
        labels,
        coarse,
    })
}

/// Reads a CIFAR batch file (raw or gzip).
pub fn read_cifar(path: &Path, kind: CifarKind) -> Result<CifarBatch, CifarError> {
    let bytes = read_maybe_gzip(path, MAX_DECOMPRESSED_BYTES)?;
    parse_cifar(&bytes, path, kind)
}

/// Encodes images and labels as a CIFAR batch (for fixtures): `pixels` is `n × 3072`, `coarse`
/// is used for CIFAR-100 only.
pub fn encode_cifar(kind: CifarKind, pixels: &[u8], labels: &[u32], coarse: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(labels.len() * kind.record_size());
    for (i, &l) in labels.iter().enumerate() {
        if kind == CifarKind::Cifar100 {
            out.push(coarse[i] as u8);
        }
        out.push(l as u8);
        out.extend_from_slice(&pixels[i * CIFAR_PIXELS..(i + 1) * CIFAR_PIXELS]);
    }
    out
}
