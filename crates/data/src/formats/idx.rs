//! IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST), raw or gzip-compressed.
//!
//! Layout (LeCun's format): bytes 0–1 are zero, byte 2 the element type (0x08 u8, 0x09 i8,
//! 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64), byte 3 the number of dimensions d; then d big-endian
//! u32 sizes; then the elements, big-endian, row-major. The header's element count is checked
//! against the payload before anything is allocated, so a header that claims more data than the
//! file holds (or more than 2³² elements) fails immediately.

use std::path::{Path, PathBuf};

use crate::formats::source::{read_maybe_gzip, SourceError, MAX_DECOMPRESSED_BYTES};

/// An IDX element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxType {
    /// 0x08.
    U8,
    /// 0x09.
    I8,
    /// 0x0B.
    I16,
    /// 0x0C.
    I32,
    /// 0x0D.
    F32,
    /// 0x0E.
    F64,
}

impl IdxType {
    /// From the type byte.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x08 => IdxType::U8,
            0x09 => IdxType::I8,
            0x0B => IdxType::I16,
            0x0C => IdxType::I32,
            0x0D => IdxType::F32,
            0x0E => IdxType::F64,
            _ => return None,
        })
    }

    /// The type byte.
    pub fn code(self) -> u8 {
        match self {
            IdxType::U8 => 0x08,
            IdxType::I8 => 0x09,
            IdxType::I16 => 0x0B,
            IdxType::I32 => 0x0C,
            IdxType::F32 => 0x0D,
            IdxType::F64 => 0x0E,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            IdxType::U8 | IdxType::I8 => 1,
            IdxType::I16 => 2,
            IdxType::I32 | IdxType::F32 => 4,
            IdxType::F64 => 8,
        }
    }
}

/// Why an IDX file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    /// The file could not be read or decompressed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Fewer bytes than the header needs.
    #[error("{path}: {found} bytes, an IDX header needs at least {expected} (offset 0)")]
    ShortHeader {
        /// The file.
        path: PathBuf,
        /// Bytes needed.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The first two bytes are not zero.
    #[error(
        "{path}: not an IDX file: magic bytes at offset 0 are {found:02x?}, expected [00, 00]"
    )]
    WrongMagic {
        /// The file.
        path: PathBuf,
        /// The bytes found.
        found: [u8; 2],
    },
    /// An unknown element-type byte.
    #[error("{path}: element type 0x{code:02x} at offset 2 is not one of 08, 09, 0b, 0c, 0d, 0e")]
    UnsupportedType {
        /// The file.
        path: PathBuf,
        /// The byte.
        code: u8,
    },
    /// Zero dimensions.
    #[error("{path}: header declares 0 dimensions (offset 3)")]
    NoDimensions {
        /// The file.
        path: PathBuf,
    },
    /// The element count overflows or exceeds 2³².
    #[error("{path}: dimensions {dims:?} claim more than 2^32 elements")]
    TooManyElements {
        /// The file.
        path: PathBuf,
        /// The declared dimensions.
        dims: Vec<u64>,
    },
    /// The payload size does not match the header.
    #[error("{path}: dimensions {dims:?} of {elem} need {expected} payload bytes from offset {offset}, found {found}")]
    PayloadSize {
        /// The file.
        path: PathBuf,
        /// The declared dimensions.
        dims: Vec<usize>,
        /// Element type.
        elem: &'static str,
        /// Where the payload starts.
        offset: usize,
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// Images and labels disagree.
    #[error("{images} has {n_images} images but {labels} has {n_labels} labels")]
    CountMismatch {
        /// Image file.
        images: PathBuf,
        /// Its count.
        n_images: usize,
        /// Label file.
        labels: PathBuf,
        /// Its count.
        n_labels: usize,
    },
    /// A label file that is not one-dimensional u8 (or a label out of range).
    #[error("{path}: {detail}")]
    BadLabels {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// A parsed IDX array.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// Element type in the file.
    pub elem: IdxType,
    /// Dimensions.
    pub dims: Vec<usize>,
    /// The values (exact: every IDX type fits in f64).
    pub values: Vec<f64>,
}

/// A checked IDX header: element type, dimensions and where the payload starts (its length
/// has been checked against the dimensions).
#[derive(Debug, Clone, PartialEq)]
pub struct IdxHeader {
    /// Element type in the file.
    pub elem: IdxType,
    /// Dimensions.
    pub dims: Vec<usize>,
    /// Byte offset of the payload.
    pub offset: usize,
}

/// Checks an IDX header against the byte count; `path` only names the source in errors.
pub fn parse_idx_header(bytes: &[u8], path: &Path) -> Result<IdxHeader, IdxError> {
    let p = || path.to_path_buf();
    if bytes.len() < 4 {
        return Err(IdxError::ShortHeader {
            path: p(),
            expected: 4,
            found: bytes.len(),
        });
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(IdxError::WrongMagic {
            path: p(),
            found: [bytes[0], bytes[1]],
        });
    }
    let elem = IdxType::from_code(bytes[2]).ok_or(IdxError::UnsupportedType {
        path: p(),
        code: bytes[2],
    })?;
    let ndim = bytes[3] as usize;
    if ndim == 0 {
        return Err(IdxError::NoDimensions { path: p() });
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(IdxError::ShortHeader {
            path: p(),
            expected: header,
            found: bytes.len(),
        });
    }
    let dims64: Vec<u64> = (0..ndim)
        .map(|i| {
            u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as u64
        })
        .collect();
    // The product of the non-zero dimensions is bounded too, so that per-example sizes (the
    // product of the trailing dimensions) cannot overflow when a leading dimension is 0.
    let nonzero = dims64
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&c| c <= 1 << 32);
    let count = nonzero
        .map(|c| if dims64.contains(&0) { 0 } else { c })
        .ok_or_else(|| IdxError::TooManyElements {
            path: p(),
            dims: dims64.clone(),
        })?;
    let expected = count * elem.size() as u64;
    let found = (bytes.len() - header) as u64;
    let dims: Vec<usize> = dims64.iter().map(|&d| d as usize).collect();
    if expected != found {
        return Err(IdxError::PayloadSize {
            path: p(),
            dims,
            elem: type_name(elem),
            offset: header,
            expected,
            found,
        });
    }
    Ok(IdxHeader {
        elem,
        dims,
        offset: header,
    })
}

/// Parses IDX bytes; `path` only names the source in errors.
pub fn parse_idx(bytes: &[u8], path: &Path) -> Result<IdxArray, IdxError> {
    let IdxHeader {
        elem,
        dims,
        offset: header,
    } = parse_idx_header(bytes, path)?;
    let values = decode_payload(elem, &bytes[header..]);
    Ok(IdxArray { elem, dims, values })
}

/// Big-endian payload bytes of `elem` as f64 (the length is a multiple of the element size).
fn decode_payload(elem: IdxType, payload: &[u8]) -> Vec<f64> {
    match elem {
        IdxType::U8 => payload.iter().map(|&b| b as f64).collect(),
        IdxType::I8 => payload.iter().map(|&b| b as i8 as f64).collect(),
        IdxType::I16 => payload
            .chunks_exact(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]) as f64)
            .collect(),
        IdxType::I32 => payload
            .chunks_exact(4)
            .map(|c| i32::from_be_bytes(c.try_into().expect("4")) as f64)
            .collect(),
        IdxType::F32 => payload
            .chunks_exact(4)
            .map(|c| f32::from_be_bytes(c.try_into().expect("4")) as f64)
            .collect(),
        IdxType::F64 => payload
            .chunks_exact(8)
            .map(|c| f64::from_be_bytes(c.try_into().expect("8")))
            .collect(),
    }
}

fn type_name(t: IdxType) -> &'static str {
    match t {
        IdxType::U8 => "u8",
        IdxType::I8 => "i8",
        IdxType::I16 => "i16",
        IdxType::I32 => "i32",
        IdxType::F32 => "f32",
        IdxType::F64 => "f64",
    }
}

/// Reads an IDX file (raw or `.gz`).
pub fn read_idx(path: &Path) -> Result<IdxArray, IdxError> {
    let bytes = read_maybe_gzip(path, MAX_DECOMPRESSED_BYTES)?;
    parse_idx(&bytes, path)
}

/// Encodes an array as IDX bytes (for fixtures and exports).
pub fn encode_idx(elem: IdxType, dims: &[usize], values: &[f64]) -> Vec<u8> {
    let mut out = vec![0, 0, elem.code(), dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    for &v in values {
        match elem {
            IdxType::U8 => out.push(v as u8),
            IdxType::I8 => out.push(v as i8 as u8),
            IdxType::I16 => out.extend_from_slice(&(v as i16).to_be_bytes()),
            IdxType::I32 => out.extend_from_slice(&(v as i32).to_be_bytes()),
            IdxType::F32 => out.extend_from_slice(&(v as f32).to_be_bytes()),
            IdxType::F64 => out.extend_from_slice(&v.to_be_bytes()),
        }
    }
    out
}

/// An IDX file's checked header and its bytes (header included), without conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxRaw {
    /// The header.
    pub header: IdxHeader,
    /// The whole decompressed file; the payload is `bytes[header.offset..]` (big-endian).
    pub bytes: Vec<u8>,
}

impl IdxRaw {
    /// The payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.bytes[self.header.offset..]
    }

    /// The payload as f64 values.
    pub fn values(&self) -> Vec<f64> {
        decode_payload(self.header.elem, self.payload())
    }

    /// The payload bytes with the header removed (for u8 files: the pixel values).
    pub fn into_payload(mut self) -> Vec<u8> {
        self.bytes.drain(..self.header.offset);
        self.bytes
    }
}

/// Reads an IDX file (raw or `.gz`) and checks its header, keeping the payload as bytes.
pub fn read_idx_raw(path: &Path) -> Result<IdxRaw, IdxError> {
    let bytes = read_maybe_gzip(path, MAX_DECOMPRESSED_BYTES)?;
    let header = parse_idx_header(&bytes, path)?;
    Ok(IdxRaw { header, bytes })
}

/// Labels `[n]` (u8) from an IDX label file whose images file (`images`, named in errors) holds
/// `n_images` examples; each label must be below `classes`.
pub fn read_idx_labels(
    labels: &Path,
    images: &Path,
    n_images: usize,
    classes: usize,
) -> Result<Vec<u32>, IdxError> {
    let y = read_idx_raw(labels)?;
    if y.header.dims.len() != 1 || y.header.elem != IdxType::U8 {
        return Err(IdxError::BadLabels {
            path: labels.to_path_buf(),
            detail: format!(
                "labels must be one-dimensional u8, found {} with dimensions {:?}",
                type_name(y.header.elem),
                y.header.dims
            ),
        });
    }
    if n_images != y.header.dims[0] {
        return Err(IdxError::CountMismatch {
            images: images.to_path_buf(),
            n_images,
            labels: labels.to_path_buf(),
            n_labels: y.header.dims[0],
        });
    }
    let offset = y.header.offset;
    if let Some((i, &l)) = y
        .payload()
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= classes)
    {
        return Err(IdxError::BadLabels {
            path: labels.to_path_buf(),
            detail: format!(
                "label {l} of example {i} (byte offset {}) is outside 0..{classes}",
                offset + i
            ),
        });
    }
    Ok(y.payload().iter().map(|&l| l as u32).collect())
}

/// Images `[n, …]` and labels `[n]` (u8) from an IDX pair, with counts and `classes` checked.
pub fn read_idx_pair(
    images: &Path,
    labels: &Path,
    classes: usize,
) -> Result<(IdxArray, Vec<u32>), IdxError> {
    let x = read_idx(images)?;
    let y = read_idx_labels(labels, images, x.dims[0], classes)?;
    Ok((x, y))
}
