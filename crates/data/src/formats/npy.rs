//! NumPy `.npy` arrays (format versions 1.0, 2.0 and 3.0), raw or gzip-compressed.
//!
//! Layout: the magic `\x93NUMPY`, a major and a minor version byte, the header length (u16
//! little-endian in version 1, u32 in versions 2 and 3), then the header: a Python dict literal
//! such as `{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }` (ASCII, or
//! UTF-8 in version 3), padded with spaces and a newline; then the elements.
//!
//! Supported element types: `b1` (bool), `u1`, `i1`, `i2`, `u2`, `i4`, `u4`, `i8`, `f4`, `f8`,
//! little-endian (`<`, `|`, `=`) or big-endian (`>`, converted while reading). Structured and
//! object dtypes are refused. `fortran_order: True` is accepted only when at most one dimension
//! exceeds 1 (then the element order is the same). The header's element count is checked
//! against the payload length before anything is allocated; trailing bytes are an error too.

use std::path::{Path, PathBuf};

use crate::formats::source::{read_maybe_gzip, SourceError, MAX_DECOMPRESSED_BYTES};

/// The NPY magic string.
pub const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Element types read from `.npy` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NpyDtype {
    /// `b1`: one byte, 0 or 1 (read as u8).
    Bool,
    /// `u1`.
    U8,
    /// `i1`.
    I8,
    /// `i2`.
    I16,
    /// `u2`.
    U16,
    /// `i4`.
    I32,
    /// `u4`.
    U32,
    /// `i8`.
    I64,
    /// `f4`.
    F32,
    /// `f8`.
    F64,
}

impl NpyDtype {
    /// From a type code without its byte-order character (`f4`, `u1`, …).
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "b1" => NpyDtype::Bool,
            "u1" => NpyDtype::U8,
            "i1" => NpyDtype::I8,
            "i2" => NpyDtype::I16,
            "u2" => NpyDtype::U16,
            "i4" => NpyDtype::I32,
            "u4" => NpyDtype::U32,
            "i8" => NpyDtype::I64,
            "f4" => NpyDtype::F32,
            "f8" => NpyDtype::F64,
            _ => return None,
        })
    }

    /// The type code (`f4`, …).
    pub fn code(self) -> &'static str {
        match self {
            NpyDtype::Bool => "b1",
            NpyDtype::U8 => "u1",
            NpyDtype::I8 => "i1",
            NpyDtype::I16 => "i2",
            NpyDtype::U16 => "u2",
            NpyDtype::I32 => "i4",
            NpyDtype::U32 => "u4",
            NpyDtype::I64 => "i8",
            NpyDtype::F32 => "f4",
            NpyDtype::F64 => "f8",
        }
    }

    /// The little-endian descriptor numpy writes (`<f4`, `|u1`, …).
    pub fn descr(self) -> String {
        let order = if self.size() == 1 { '|' } else { '<' };
        format!("{order}{}", self.code())
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            NpyDtype::Bool | NpyDtype::U8 | NpyDtype::I8 => 1,
            NpyDtype::I16 | NpyDtype::U16 => 2,
            NpyDtype::I32 | NpyDtype::U32 | NpyDtype::F32 => 4,
            NpyDtype::I64 | NpyDtype::F64 => 8,
        }
    }

    /// True for the integer and bool types.
    pub fn is_integer(self) -> bool {
        !matches!(self, NpyDtype::F32 | NpyDtype::F64)
    }
}

/// Why a `.npy` file (or an `.npz` member) is unusable.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The file could not be read or decompressed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The first six bytes are not `\x93NUMPY`.
    #[error("{path}: not an NPY file: magic at offset 0 is {found:02x?}, expected 93 4e 55 4d 50 59 (\\x93NUMPY)")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The bytes found (up to six).
        found: Vec<u8>,
    },
    /// Fewer bytes than the preamble or header needs.
    #[error("{path}: truncated {what}: needs {expected} bytes from offset 0, file has {found}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// A format version other than 1.0, 2.0 or 3.0.
    #[error("{path}: NPY format version {major}.{minor} at offset 6, expected 1.0, 2.0 or 3.0")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// The header dict cannot be parsed or lacks a key.
    #[error("{path}: bad NPY header at offset {offset}: {detail}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// Byte offset of the problem.
        offset: usize,
        /// What is wrong.
        detail: String,
    },
    /// A dtype this reader does not handle.
    #[error("{path}: unsupported dtype {descr} (supported: b1 u1 i1 i2 u2 i4 u4 i8 f4 f8, little- or big-endian, not structured)")]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The descriptor as written.
        descr: String,
    },
    /// A Fortran-ordered array with more than one non-trivial dimension.
    #[error("{path}: fortran_order is True for shape {shape:?}; only C-ordered arrays (or trivially one-dimensional ones) are supported")]
    FortranOrder {
        /// The file.
        path: PathBuf,
        /// The shape.
        shape: Vec<usize>,
    },
    /// The element count overflows.
    #[error("{path}: shape {shape:?} has too many elements")]
    TooManyElements {
        /// The file.
        path: PathBuf,
        /// The declared shape.
        shape: Vec<u64>,
    },
    /// An element its dtype does not allow (a bool byte other than 0 or 1).
    #[error("{path}: element {index} at offset {offset} is {found}, expected {expected}")]
    BadElement {
        /// The file.
        path: PathBuf,
        /// Element index.
        index: usize,
        /// Its byte offset.
        offset: usize,
        /// What was found.
        found: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// The payload length does not match the header.
    #[error("{path}: shape {shape:?} of {descr} needs {expected} payload bytes from offset {offset}, found {found}")]
    PayloadSize {
        /// The file.
        path: PathBuf,
        /// The declared shape.
        shape: Vec<usize>,
        /// The descriptor.
        descr: String,
        /// Where the payload starts.
        offset: usize,
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
}

/// A checked NPY header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Format version (major, minor).
    pub version: (u8, u8),
    /// Element type.
    pub dtype: NpyDtype,
    /// True when the file is big-endian.
    pub big_endian: bool,
    /// As declared (only trivially one-dimensional arrays may say True).
    pub fortran_order: bool,
    /// Dimensions (empty for a scalar).
    pub shape: Vec<usize>,
    /// Byte offset of the payload.
    pub offset: usize,
}

/// The elements of an array, widened to one of four types.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyValues {
    /// `u1` and `b1`.
    U8(Vec<u8>),
    /// Every other integer type.
    I64(Vec<i64>),
    /// `f4`.
    F32(Vec<f32>),
    /// `f8`.
    F64(Vec<f64>),
}

impl NpyValues {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            NpyValues::U8(v) => v.len(),
            NpyValues::I64(v) => v.len(),
            NpyValues::F32(v) => v.len(),
            NpyValues::F64(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` as f64 (i64 beyond 2^53 rounds).
    pub fn get_f64(&self, i: usize) -> f64 {
        match self {
            NpyValues::U8(v) => v[i] as f64,
            NpyValues::I64(v) => v[i] as f64,
            NpyValues::F32(v) => v[i] as f64,
            NpyValues::F64(v) => v[i],
        }
    }

    /// Every element as f64.
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            NpyValues::U8(v) => v.iter().map(|&x| x as f64).collect(),
            NpyValues::I64(v) => v.iter().map(|&x| x as f64).collect(),
            NpyValues::F32(v) => v.iter().map(|&x| x as f64).collect(),
            NpyValues::F64(v) => v.clone(),
        }
    }
}

/// A parsed array.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Element type in the file.
    pub dtype: NpyDtype,
    /// Dimensions (empty for a scalar).
    pub shape: Vec<usize>,
    /// The elements in C order.
    pub values: NpyValues,
}

impl NpyArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A value of the header's Python literal.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Bool(bool),
    Int(u64),
    Seq(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
    None,
}

/// A recursive-descent parser of the Python literals numpy writes (dicts, tuples, lists,
/// strings without escapes, non-negative integers, True/False/None), depth-limited.
struct LitParser<'a> {
    s: &'a [u8],
    pos: usize,
    base: usize,
}

const MAX_DEPTH: usize = 16;

impl LitParser<'_> {
    fn err(&self, detail: impl Into<String>) -> (usize, String) {
        (self.base + self.pos, detail.into())
    }

    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), (usize, String)> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(format!(
                "expected `{}`, found {}",
                c as char,
                self.describe_here()
            )))
        }
    }

    fn describe_here(&self) -> String {
        match self.s.get(self.pos) {
            None => "the end of the header".into(),
            Some(&b) if b.is_ascii_graphic() => format!("`{}`", b as char),
            Some(&b) => format!("byte 0x{b:02x}"),
        }
    }

    /// Items up to `close`, separated by commas, a trailing comma allowed.
    fn items(
        &mut self,
        close: u8,
        depth: usize,
        mut item: impl FnMut(&mut Self, usize) -> Result<(), (usize, String)>,
    ) -> Result<(), (usize, String)> {
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(());
            }
            item(self, depth + 1)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => {
                    return Err(self.err(format!(
                        "expected `,` or `{}`, found {}",
                        close as char,
                        self.describe_here()
                    )))
                }
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Lit, (usize, String)> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let mut pairs = Vec::new();
                self.items(b'}', depth, |p, d| {
                    let k = p.value(d)?;
                    p.expect(b':')?;
                    let v = p.value(d)?;
                    pairs.push((k, v));
                    Ok(())
                })?;
                Ok(Lit::Dict(pairs))
            }
            Some(open @ (b'(' | b'[')) => {
                self.pos += 1;
                let close = if open == b'(' { b')' } else { b']' };
                let mut items = Vec::new();
                self.items(close, depth, |p, d| {
                    items.push(p.value(d)?);
                    Ok(())
                })?;
                Ok(Lit::Seq(items))
            }
            Some(q @ (b'\'' | b'"')) => {
                self.pos += 1;
                let start = self.pos;
                while self.pos < self.s.len() && self.s[self.pos] != q {
                    if self.s[self.pos] == b'\\' {
                        return Err(self.err("escapes in strings are not supported"));
                    }
                    self.pos += 1;
                }
                if self.pos >= self.s.len() {
                    return Err(self.err("unterminated string"));
                }
                let text = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
                self.pos += 1;
                Ok(Lit::Str(text))
            }
            Some(b'0'..=b'9') => {
                let start = self.pos;
                while self.pos < self.s.len() && self.s[self.pos].is_ascii_digit() {
                    self.pos += 1;
                }
                let digits = std::str::from_utf8(&self.s[start..self.pos]).expect("ASCII digits");
                let n = digits.parse::<u64>().map_err(|_| {
                    (
                        self.base + start,
                        format!("integer {digits} does not fit in 64 bits"),
                    )
                })?;
                // Python 2 numpy wrote long integers as `3L`.
                if self.s.get(self.pos) == Some(&b'L') {
                    self.pos += 1;
                }
                Ok(Lit::Int(n))
            }
            Some(b'-') => Err(self.err("negative number")),
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self.pos < self.s.len() && self.s[self.pos].is_ascii_alphanumeric() {
                    self.pos += 1;
                }
                match &self.s[start..self.pos] {
                    b"True" => Ok(Lit::Bool(true)),
                    b"False" => Ok(Lit::Bool(false)),
                    b"None" => Ok(Lit::None),
                    w => Err((
                        self.base + start,
                        format!("unexpected word `{}`", String::from_utf8_lossy(w)),
                    )),
                }
            }
            _ => Err(self.err(format!("expected a value, found {}", self.describe_here()))),
        }
    }
}

/// Checks an NPY preamble and header against the byte count; `path` only names the source.
pub fn parse_npy_header(bytes: &[u8], path: &Path) -> Result<NpyHeader, NpyError> {
    let p = || path.to_path_buf();
    let n = bytes.len() as u64;
    if bytes.len() < 6 || &bytes[..6] != NPY_MAGIC {
        if bytes.len() >= 6 || !NPY_MAGIC.starts_with(bytes) {
            return Err(NpyError::BadMagic {
                path: p(),
                found: bytes[..bytes.len().min(6)].to_vec(),
            });
        }
        return Err(NpyError::Truncated {
            path: p(),
            what: "magic",
            expected: 6,
            found: n,
        });
    }
    if bytes.len() < 8 {
        return Err(NpyError::Truncated {
            path: p(),
            what: "version",
            expected: 8,
            found: n,
        });
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let len_bytes = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => {
            return Err(NpyError::UnsupportedVersion {
                path: p(),
                major,
                minor,
            })
        }
    };
    let start = 8 + len_bytes;
    if bytes.len() < start {
        return Err(NpyError::Truncated {
            path: p(),
            what: "header length",
            expected: start as u64,
            found: n,
        });
    }
    let hlen = if len_bytes == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as u64
    } else {
        u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as u64
    };
    let end = start as u64 + hlen;
    if n < end {
        return Err(NpyError::Truncated {
            path: p(),
            what: "header",
            expected: end,
            found: n,
        });
    }
    let end = end as usize;
    let text = &bytes[start..end];
    if major < 3 && !text.is_ascii() {
        let i = text.iter().position(|b| !b.is_ascii()).unwrap_or(0);
        return Err(NpyError::BadHeader {
            path: p(),
            offset: start + i,
            detail: format!("non-ASCII byte in a version {major} header"),
        });
    }
    if std::str::from_utf8(text).is_err() {
        return Err(NpyError::BadHeader {
            path: p(),
            offset: start,
            detail: "header is not UTF-8".into(),
        });
    }
    let bad = |(offset, detail): (usize, String)| NpyError::BadHeader {
        path: p(),
        offset,
        detail,
    };
    let mut parser = LitParser {
        s: text,
        pos: 0,
        base: start,
    };
    let lit = parser.value(0).map_err(bad)?;
    if parser.peek().is_some() {
        return Err(bad(parser.err(format!(
            "unexpected {} after the header dict",
            parser.describe_here()
        ))));
    }
    let Lit::Dict(pairs) = lit else {
        return Err(bad((start, "the header is not a dict".into())));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (k, v) in pairs {
        let slot = match &k {
            Lit::Str(s) if s == "descr" => &mut descr,
            Lit::Str(s) if s == "fortran_order" => &mut fortran,
            Lit::Str(s) if s == "shape" => &mut shape,
            other => {
                return Err(bad((
                    start,
                    format!("unexpected key {other:?}; expected descr, fortran_order, shape"),
                )))
            }
        };
        if slot.replace(v).is_some() {
            return Err(bad((start, format!("duplicate key {k:?}"))));
        }
    }
    let missing = |key: &str| bad((start, format!("missing key '{key}'")));
    let descr = match descr.ok_or_else(|| missing("descr"))? {
        Lit::Str(s) => s,
        other => {
            return Err(NpyError::UnsupportedDtype {
                path: p(),
                descr: format!("{other:?}"),
            })
        }
    };
    let fortran_order = match fortran.ok_or_else(|| missing("fortran_order"))? {
        Lit::Bool(b) => b,
        other => {
            return Err(bad((
                start,
                format!("fortran_order is {other:?}, expected True or False"),
            )))
        }
    };
    let shape64: Vec<u64> = match shape.ok_or_else(|| missing("shape"))? {
        Lit::Seq(items) => items
            .into_iter()
            .map(|d| match d {
                Lit::Int(v) => Ok(v),
                other => Err(bad((
                    start,
                    format!("shape entry {other:?} is not a non-negative integer"),
                ))),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(bad((
                start,
                format!("shape is {other:?}, expected a tuple"),
            )))
        }
    };
    let unsupported = || NpyError::UnsupportedDtype {
        path: p(),
        descr: descr.clone(),
    };
    let (order, code) = match descr.as_bytes().first() {
        Some(b'<' | b'>' | b'|' | b'=') => (descr.as_bytes()[0], &descr[1..]),
        _ => (b'|', descr.as_str()),
    };
    let dtype = NpyDtype::from_code(code).ok_or_else(unsupported)?;
    let big_endian = order == b'>' && dtype.size() > 1;
    if order == b'|' && dtype.size() > 1 {
        return Err(unsupported());
    }
    // Bounded over the non-zero dimensions, so that per-example sizes (products of trailing
    // dimensions) cannot overflow when a leading dimension is 0.
    let count = shape64
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .and_then(|c| c.checked_mul(dtype.size() as u64))
        .filter(|&b| b <= 1 << 48)
        .map(|b| if shape64.contains(&0) { 0 } else { b })
        .ok_or_else(|| NpyError::TooManyElements {
            path: p(),
            shape: shape64.clone(),
        })?;
    let shape: Vec<usize> = shape64.iter().map(|&d| d as usize).collect();
    if fortran_order && shape.iter().filter(|&&d| d > 1).count() > 1 {
        return Err(NpyError::FortranOrder { path: p(), shape });
    }
    let found = n - end as u64;
    if count != found {
        return Err(NpyError::PayloadSize {
            path: p(),
            shape,
            descr,
            offset: end,
            expected: count,
            found,
        });
    }
    Ok(NpyHeader {
        version: (major, minor),
        dtype,
        big_endian,
        fortran_order,
        shape,
        offset: end,
    })
}

fn decode<const N: usize, T>(
    payload: &[u8],
    big: bool,
    le: fn([u8; N]) -> T,
    be: fn([u8; N]) -> T,
) -> Vec<T> {
    let f = if big { be } else { le };
    payload
        .chunks_exact(N)
        .map(|c| f(c.try_into().expect("chunk size")))
        .collect()
}

/// Parses `.npy` bytes; `path` only names the source in errors.
pub fn parse_npy(bytes: &[u8], path: &Path) -> Result<NpyArray, NpyError> {
    let h = parse_npy_header(bytes, path)?;
    let payload = &bytes[h.offset..];
    let big = h.big_endian;
    let widen = |v: Vec<i64>| NpyValues::I64(v);
    let values = match h.dtype {
        NpyDtype::U8 => NpyValues::U8(payload.to_vec()),
        NpyDtype::Bool => {
            if let Some(i) = payload.iter().position(|&b| b > 1) {
                return Err(NpyError::BadElement {
                    path: path.to_path_buf(),
                    index: i,
                    offset: h.offset + i,
                    found: payload[i].to_string(),
                    expected: "a bool (0 or 1)",
                });
            }
            NpyValues::U8(payload.to_vec())
        }
        NpyDtype::I8 => widen(payload.iter().map(|&b| b as i8 as i64).collect()),
        NpyDtype::I16 => widen(
            decode(payload, big, i16::from_le_bytes, i16::from_be_bytes)
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        NpyDtype::U16 => widen(
            decode(payload, big, u16::from_le_bytes, u16::from_be_bytes)
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        NpyDtype::I32 => widen(
            decode(payload, big, i32::from_le_bytes, i32::from_be_bytes)
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        NpyDtype::U32 => widen(
            decode(payload, big, u32::from_le_bytes, u32::from_be_bytes)
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        NpyDtype::I64 => widen(decode(payload, big, i64::from_le_bytes, i64::from_be_bytes)),
        NpyDtype::F32 => {
            NpyValues::F32(decode(payload, big, f32::from_le_bytes, f32::from_be_bytes))
        }
        NpyDtype::F64 => {
            NpyValues::F64(decode(payload, big, f64::from_le_bytes, f64::from_be_bytes))
        }
    };
    Ok(NpyArray {
        dtype: h.dtype,
        shape: h.shape,
        values,
    })
}

/// Reads a `.npy` file (raw or gzip).
pub fn read_npy(path: &Path) -> Result<NpyArray, NpyError> {
    let bytes = read_maybe_gzip(path, MAX_DECOMPRESSED_BYTES)?;
    parse_npy(&bytes, path)
}

/// NPY bytes from parts, exactly as given (for fixtures, including malformed ones): version
/// `major`.0, the header dict built from `descr`, `fortran_order` and `shape`, padded so the
/// payload starts at a multiple of 64, then `payload`.
pub fn encode_npy_raw(
    major: u8,
    descr: &str,
    fortran_order: bool,
    shape: &[usize],
    payload: &[u8],
) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let fortran = if fortran_order { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}");
    let pre = if major == 1 { 10 } else { 12 };
    let total = (pre + header.len() + 1).div_ceil(64) * 64;
    header.push_str(&" ".repeat(total - pre - header.len() - 1));
    header.push('\n');
    let mut out = NPY_MAGIC.to_vec();
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// An array as version 1.0 little-endian C-order NPY bytes (2.0 if the header needs it).
pub fn encode_npy(a: &NpyArray) -> Vec<u8> {
    let mut payload = Vec::with_capacity(a.len() * a.dtype.size());
    for i in 0..a.len() {
        let v = &a.values;
        match (a.dtype, v) {
            (NpyDtype::U8 | NpyDtype::Bool, NpyValues::U8(x)) => payload.push(x[i]),
            (NpyDtype::I8, NpyValues::I64(x)) => payload.push(x[i] as i8 as u8),
            (NpyDtype::I16, NpyValues::I64(x)) => {
                payload.extend_from_slice(&(x[i] as i16).to_le_bytes())
            }
            (NpyDtype::U16, NpyValues::I64(x)) => {
                payload.extend_from_slice(&(x[i] as u16).to_le_bytes())
            }
            (NpyDtype::I32, NpyValues::I64(x)) => {
                payload.extend_from_slice(&(x[i] as i32).to_le_bytes())
            }
            (NpyDtype::U32, NpyValues::I64(x)) => {
                payload.extend_from_slice(&(x[i] as u32).to_le_bytes())
            }
            (NpyDtype::I64, NpyValues::I64(x)) => payload.extend_from_slice(&x[i].to_le_bytes()),
            (NpyDtype::F32, _) => payload.extend_from_slice(&(v.get_f64(i) as f32).to_le_bytes()),
            (NpyDtype::F64, _) => payload.extend_from_slice(&v.get_f64(i).to_le_bytes()),
            (t, _) => {
                // Values of another variant: go through f64.
                let x = v.get_f64(i);
                let b = x as i64;
                payload.extend_from_slice(&b.to_le_bytes()[..t.size()]);
            }
        }
    }
    let bytes = encode_npy_raw(1, &a.dtype.descr(), false, &a.shape, &payload);
    if bytes.len() - payload.len() - 10 > u16::MAX as usize {
        encode_npy_raw(2, &a.dtype.descr(), false, &a.shape, &payload)
    } else {
        bytes
    }
}
