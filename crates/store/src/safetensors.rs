//! The safetensors file format, written and read without the `safetensors` crate.
//!
//! Layout: an 8-byte little-endian `u64` N, then N bytes of UTF-8 JSON header, then the data
//! section. The header maps each tensor name to `{"dtype": "F32", "shape": [..],
//! "data_offsets": [begin, end]}` (offsets relative to the data section) and may hold
//! `"__metadata__": {string: string}`. We pad the header with spaces to a multiple of 8 so the
//! data section is 8-byte aligned (as the reference implementation does).
//!
//! Writing is deterministic: tensors are laid out and listed in name order, the header is
//! built by hand (no map whose order could depend on serde_json features), so equal inputs give
//! byte-identical files. Files are replaced atomically (temp file + rename).
//!
//! Reading validates what the reference reader does and reports the file, the tensor, and
//! expected against found: header length within the file, valid JSON, known dtypes, offsets in
//! range and ordered, byte count = product(shape) · dtype size, and tensors that tile the data
//! section exactly (no gaps, no overlaps, nothing after the last tensor).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic_with;
use crate::error::{StoreError, StoreResult};

/// The largest header the reader accepts (the reference implementation's limit).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

const METADATA_KEY: &str = "__metadata__";

/// Element type of a stored tensor, as named in safetensors headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StoredDType {
    /// Boolean, one byte.
    #[serde(rename = "BOOL")]
    Bool,
    /// Unsigned 8-bit.
    U8,
    /// Signed 8-bit.
    I8,
    /// Unsigned 16-bit.
    U16,
    /// Signed 16-bit.
    I16,
    /// IEEE binary16.
    F16,
    /// bfloat16.
    BF16,
    /// Unsigned 32-bit.
    U32,
    /// Signed 32-bit.
    I32,
    /// IEEE binary32.
    F32,
    /// Unsigned 64-bit.
    U64,
    /// Signed 64-bit.
    I64,
    /// IEEE binary64.
    F64,
}

impl StoredDType {
    /// Every supported dtype.
    pub const ALL: [StoredDType; 13] = [
        StoredDType::Bool,
        StoredDType::U8,
        StoredDType::I8,
        StoredDType::U16,
        StoredDType::I16,
        StoredDType::F16,
        StoredDType::BF16,
        StoredDType::U32,
        StoredDType::I32,
        StoredDType::F32,
        StoredDType::U64,
        StoredDType::I64,
        StoredDType::F64,
    ];

    /// Bytes per element.
    pub fn size_of(self) -> usize {
        match self {
            StoredDType::Bool | StoredDType::U8 | StoredDType::I8 => 1,
            StoredDType::U16 | StoredDType::I16 | StoredDType::F16 | StoredDType::BF16 => 2,
            StoredDType::U32 | StoredDType::I32 | StoredDType::F32 => 4,
            StoredDType::U64 | StoredDType::I64 | StoredDType::F64 => 8,
        }
    }

    /// The name used in safetensors headers (`F32`, `BOOL`, …).
    pub fn name(self) -> &'static str {
        match self {
            StoredDType::Bool => "BOOL",
            StoredDType::U8 => "U8",
            StoredDType::I8 => "I8",
            StoredDType::U16 => "U16",
            StoredDType::I16 => "I16",
            StoredDType::F16 => "F16",
            StoredDType::BF16 => "BF16",
            StoredDType::U32 => "U32",
            StoredDType::I32 => "I32",
            StoredDType::F32 => "F32",
            StoredDType::U64 => "U64",
            StoredDType::I64 => "I64",
            StoredDType::F64 => "F64",
        }
    }

    /// The dtype with header name `name`, if supported.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl std::fmt::Display for StoredDType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl From<learnscope_core::DType> for StoredDType {
    fn from(d: learnscope_core::DType) -> Self {
        match d {
            learnscope_core::DType::F32 => StoredDType::F32,
            learnscope_core::DType::F64 => StoredDType::F64,
        }
    }
}

/// One named tensor as stored: dtype, shape (row-major) and little-endian element bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    /// Unique name (e.g. `blocks.0.weight`, `opt/blocks.0.weight/m`).
    pub name: String,
    /// Element type.
    pub dtype: StoredDType,
    /// Dimensions, outermost first; `[]` is a scalar.
    pub shape: Vec<usize>,
    /// `product(shape) · dtype.size_of()` little-endian bytes.
    pub data: Vec<u8>,
}

macro_rules! entry_conversions {
    ($from:ident, $to:ident, $t:ty, $dtype:expr) => {
        /// An entry holding `values` (little-endian) with the given shape. The caller keeps
        /// `values.len() == product(shape)`; the writer checks it.
        pub fn $from(name: impl Into<String>, shape: Vec<usize>, values: &[$t]) -> Self {
            let mut data = Vec::with_capacity(values.len() * std::mem::size_of::<$t>());
            for v in values {
                data.extend_from_slice(&v.to_le_bytes());
            }
            TensorEntry {
                name: name.into(),
                dtype: $dtype,
                shape,
                data,
            }
        }

        /// The elements, if the dtype matches and the byte count is a whole number of them.
        pub fn $to(&self) -> Option<Vec<$t>> {
            const N: usize = std::mem::size_of::<$t>();
            let chunks = self.data.chunks_exact(N);
            if self.dtype != $dtype || !chunks.remainder().is_empty() {
                return None;
            }
            Some(
                chunks
                    .map(|c| {
                        let mut b = [0u8; N];
                        b.copy_from_slice(c);
                        <$t>::from_le_bytes(b)
                    })
                    .collect(),
            )
        }
    };
}

impl TensorEntry {
    entry_conversions!(from_f32, to_f32, f32, StoredDType::F32);
    entry_conversions!(from_f64, to_f64, f64, StoredDType::F64);
    entry_conversions!(from_i64, to_i64, i64, StoredDType::I64);
    entry_conversions!(from_u64, to_u64, u64, StoredDType::U64);
    entry_conversions!(from_i32, to_i32, i32, StoredDType::I32);
    entry_conversions!(from_u8, to_u8, u8, StoredDType::U8);

    /// Number of elements, `product(shape)` (1 for a scalar), or `None` on overflow.
    pub fn numel(&self) -> Option<usize> {
        numel(&self.shape)
    }
}

fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// A safetensors file's contents.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SafetensorsFile {
    /// The tensors, in data-section order (name order for files this crate wrote).
    pub entries: Vec<TensorEntry>,
    /// The `__metadata__` map (empty if absent).
    pub metadata: BTreeMap<String, String>,
}

/// Writes `entries` (any order; stored by name) and `metadata` to `path`, atomically.
/// Names must be unique, non-empty and not `__metadata__`; each entry's byte count must equal
/// `product(shape) · dtype size`.
pub fn write_safetensors(
    path: &Path,
    entries: &[TensorEntry],
    metadata: &BTreeMap<String, String>,
) -> StoreResult<()> {
    let (header, order) = build_header(path, entries, metadata)?;
    write_atomic_with(path, |w, tmp| {
        let io = |e| StoreError::io("write", tmp, e);
        w.write_all(&(header.len() as u64).to_le_bytes())
            .map_err(io)?;
        w.write_all(&header).map_err(io)?;
        for &i in &order {
            w.write_all(&entries[i].data).map_err(io)?;
        }
        Ok(())
    })
}

/// Encodes a safetensors file in memory (the exact bytes [`write_safetensors`] writes).
pub fn encode_safetensors(
    entries: &[TensorEntry],
    metadata: &BTreeMap<String, String>,
) -> StoreResult<Vec<u8>> {
    let (header, order) = build_header(Path::new("<memory>"), entries, metadata)?;
    let data_len: usize = order.iter().map(|&i| entries[i].data.len()).sum();
    let mut out = Vec::with_capacity(8 + header.len() + data_len);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    for &i in &order {
        out.extend_from_slice(&entries[i].data);
    }
    Ok(out)
}

/// Validates the entries and returns the padded header bytes and the entries' name order.
fn build_header(
    path: &Path,
    entries: &[TensorEntry],
    metadata: &BTreeMap<String, String>,
) -> StoreResult<(Vec<u8>, Vec<usize>)> {
    let bad = |e: &TensorEntry, what: &'static str, expected: String, found: String| {
        StoreError::InvalidTensorEntry {
            path: path.to_path_buf(),
            tensor: e.name.clone(),
            what,
            expected,
            found,
        }
    };
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| entries[a].name.cmp(&entries[b].name));
    for pair in order.windows(2) {
        let (a, b) = (&entries[pair[0]], &entries[pair[1]]);
        if a.name == b.name {
            return Err(bad(
                b,
                "name",
                "unique tensor names".into(),
                "the name twice".into(),
            ));
        }
    }

    // JSON string escaping of arbitrary names is serde_json's job; the structure is ours.
    let quote = |s: &str| serde_json::to_string(s);
    let enc = |source| StoreError::JsonEncode {
        path: path.to_path_buf(),
        source,
    };
    let mut h = String::from("{");
    let mut first = true;
    if !metadata.is_empty() {
        h.push_str(&quote(METADATA_KEY).map_err(enc)?);
        h.push_str(":{");
        for (i, (k, v)) in metadata.iter().enumerate() {
            if i > 0 {
                h.push(',');
            }
            h.push_str(&quote(k).map_err(enc)?);
            h.push(':');
            h.push_str(&quote(v).map_err(enc)?);
        }
        h.push('}');
        first = false;
    }
    let mut offset = 0usize;
    for &i in &order {
        let e = &entries[i];
        if e.name.is_empty() || e.name == METADATA_KEY {
            return Err(bad(
                e,
                "name",
                format!("a non-empty name other than `{METADATA_KEY}`"),
                format!("`{}`", e.name),
            ));
        }
        let n = e.numel().ok_or_else(|| {
            bad(
                e,
                "shape",
                "an element count that fits in usize".into(),
                format!("{:?}", e.shape),
            )
        })?;
        let bytes = n.checked_mul(e.dtype.size_of());
        if bytes != Some(e.data.len()) {
            return Err(bad(
                e,
                "byte count",
                format!(
                    "{n} elements x {} bytes ({}, shape {:?})",
                    e.dtype.size_of(),
                    e.dtype,
                    e.shape
                ),
                format!("{} bytes", e.data.len()),
            ));
        }
        if !first {
            h.push(',');
        }
        first = false;
        let end = offset + e.data.len();
        h.push_str(&quote(&e.name).map_err(enc)?);
        let shape: Vec<String> = e.shape.iter().map(usize::to_string).collect();
        h.push_str(&format!(
            ":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{offset},{end}]}}",
            e.dtype.name(),
            shape.join(",")
        ));
        offset = end;
    }
    h.push('}');
    let mut header = h.into_bytes();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    Ok((header, order))
}

/// Reads and validates a safetensors file.
pub fn read_safetensors(path: &Path) -> StoreResult<SafetensorsFile> {
    let file = File::open(path).map_err(|e| StoreError::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| StoreError::io("inspect", path, e))?
        .len();
    read_safetensors_from(BufReader::with_capacity(1 << 16, file), len, path)
}

/// Decodes and validates safetensors bytes held in memory (`path` names them in errors).
pub fn decode_safetensors(bytes: &[u8], path: &Path) -> StoreResult<SafetensorsFile> {
    read_safetensors_from(bytes, bytes.len() as u64, path)
}

/// Header entry of one tensor, as parsed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInfo {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: (u64, u64),
}

struct Info {
    name: String,
    dtype: StoredDType,
    shape: Vec<usize>,
    begin: u64,
    end: u64,
}

fn read_safetensors_from<R: Read>(
    mut r: R,
    file_len: u64,
    path: &Path,
) -> StoreResult<SafetensorsFile> {
    let header_err =
        |what: &'static str, expected: String, found: String| StoreError::InvalidSafetensors {
            path: path.to_path_buf(),
            tensor: None,
            what,
            expected,
            found,
        };
    let tensor_err = |name: &str, what: &'static str, expected: String, found: String| {
        StoreError::InvalidSafetensors {
            path: path.to_path_buf(),
            tensor: Some(name.to_string()),
            what,
            expected,
            found,
        }
    };
    let read_err = |e| StoreError::io("read", path, e);

    if file_len < 8 {
        return Err(header_err(
            "file size",
            "at least 8 bytes (the header length)".into(),
            format!("{file_len} bytes"),
        ));
    }
    let mut len_bytes = [0u8; 8];
    r.read_exact(&mut len_bytes).map_err(read_err)?;
    let header_len = u64::from_le_bytes(len_bytes);
    let room = file_len - 8;
    if header_len > room || header_len > MAX_HEADER_BYTES {
        return Err(header_err(
            "header length",
            format!(
                "at most {} bytes (file size {file_len} minus 8, limit {MAX_HEADER_BYTES})",
                room.min(MAX_HEADER_BYTES)
            ),
            format!("{header_len} bytes"),
        ));
    }
    // header_len <= MAX_HEADER_BYTES, so it fits in usize on every supported target.
    let mut header = vec![0u8; header_len as usize];
    r.read_exact(&mut header).map_err(read_err)?;
    if header.first() != Some(&b'{') {
        return Err(header_err(
            "header start",
            "a JSON object starting with `{`".into(),
            match header.first() {
                Some(b) => format!("byte 0x{b:02x}"),
                None => "an empty header".into(),
            },
        ));
    }
    let raw: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|source| StoreError::SafetensorsHeaderJson {
            path: path.to_path_buf(),
            source,
        })?;

    let data_len = room - header_len;
    let mut metadata = BTreeMap::new();
    let mut infos = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        if name == METADATA_KEY {
            metadata = serde_json::from_value(value).map_err(|e| {
                header_err(
                    "__metadata__",
                    "an object of string values".into(),
                    e.to_string(),
                )
            })?;
            continue;
        }
        let info: RawInfo = serde_json::from_value(value).map_err(|e| {
            tensor_err(
                &name,
                "header entry",
                "{\"dtype\", \"shape\", \"data_offsets\": [begin, end]}".into(),
                e.to_string(),
            )
        })?;
        let dtype = StoredDType::from_name(&info.dtype).ok_or_else(|| {
            let names: Vec<_> = StoredDType::ALL.iter().map(|d| d.name()).collect();
            tensor_err(
                &name,
                "dtype",
                format!("one of {}", names.join(", ")),
                format!("`{}`", info.dtype),
            )
        })?;
        let shape: Vec<usize> = info
            .shape
            .iter()
            .map(|&d| usize::try_from(d).ok())
            .collect::<Option<_>>()
            .ok_or_else(|| {
                tensor_err(
                    &name,
                    "shape",
                    "dimensions that fit in usize".into(),
                    format!("{:?}", info.shape),
                )
            })?;
        let (begin, end) = info.data_offsets;
        if begin > end || end > data_len {
            return Err(tensor_err(
                &name,
                "data_offsets",
                format!("begin <= end <= {data_len} (the data section's length)"),
                format!("[{begin}, {end}]"),
            ));
        }
        let expected_bytes = numel(&shape)
            .and_then(|n| n.checked_mul(dtype.size_of()))
            .and_then(|b| u64::try_from(b).ok());
        if expected_bytes != Some(end - begin) {
            return Err(tensor_err(
                &name,
                "byte count",
                match expected_bytes {
                    Some(b) => format!("{b} bytes for {dtype} with shape {shape:?}"),
                    None => format!("a representable size for shape {shape:?}"),
                },
                format!("{} bytes (data_offsets [{begin}, {end}])", end - begin),
            ));
        }
        infos.push(Info {
            name,
            dtype,
            shape,
            begin,
            end,
        });
    }

    // Tensors must tile the data section: sorted by offset, each starts where the last ended.
    infos.sort_by_key(|i| (i.begin, i.end));
    let mut cursor = 0u64;
    let mut previous: Option<&str> = None;
    for i in &infos {
        if i.begin != cursor {
            let after = previous.map_or_else(
                || "the start of the data section".to_string(),
                |p| format!("the end of tensor `{p}`"),
            );
            return Err(tensor_err(
                &i.name,
                if i.begin < cursor {
                    "overlapping data_offsets"
                } else {
                    "gap before data_offsets"
                },
                format!("begin = {cursor} ({after})"),
                format!("begin = {}", i.begin),
            ));
        }
        cursor = i.end;
        previous = Some(&i.name);
    }
    if cursor != data_len {
        return Err(header_err(
            "data section length",
            format!("{cursor} bytes (the end of the last tensor)"),
            format!("{data_len} bytes"),
        ));
    }

    let mut entries = Vec::with_capacity(infos.len());
    for i in infos {
        let n = usize::try_from(i.end - i.begin).map_err(|_| {
            tensor_err(
                &i.name,
                "size",
                "a size that fits in memory".into(),
                format!("{} bytes", i.end - i.begin),
            )
        })?;
        let mut data = vec![0u8; n];
        r.read_exact(&mut data).map_err(read_err)?;
        entries.push(TensorEntry {
            name: i.name,
            dtype: i.dtype,
            shape: i.shape,
            data,
        });
    }
    Ok(SafetensorsFile { entries, metadata })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<TensorEntry> {
        vec![
            TensorEntry::from_f32("b", vec![2], &[1.0, -2.5]),
            TensorEntry::from_f64("a.weight", vec![2, 3], &[0.0, -0.0, 1e-310, 4.0, 5.0, 6.0]),
            TensorEntry::from_i64("step", vec![], &[42]),
            TensorEntry::from_u8("empty", vec![0, 3], &[]),
        ]
    }

    #[test]
    fn header_layout() {
        let bytes = encode_safetensors(
            &[TensorEntry::from_f32("w", vec![1], &[1.0])],
            &BTreeMap::from([("k".to_string(), "v".to_string())]),
        )
        .unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
        assert_eq!(
            header.trim_end(),
            r#"{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        );
        assert_eq!(&bytes[8 + n..], &1.0f32.to_le_bytes());
    }

    #[test]
    fn round_trip_in_name_order() {
        let bytes = encode_safetensors(&sample(), &BTreeMap::new()).unwrap();
        let f = decode_safetensors(&bytes, Path::new("m")).unwrap();
        let mut want = sample();
        want.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(f.entries, want);
        assert!(f.metadata.is_empty());
        assert_eq!(
            f.entries[0].to_f64().unwrap()[1].to_bits(),
            (-0.0f64).to_bits()
        );
    }

    #[test]
    fn writer_rejects_inconsistent_entries() {
        let mut e = sample();
        e[0].data.pop();
        let err = encode_safetensors(&e, &BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("tensor `b`"), "{err}");
        let mut e = sample();
        e.push(TensorEntry::from_f32("b", vec![1], &[0.0]));
        let err = encode_safetensors(&e, &BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("unique"), "{err}");
        let e = vec![TensorEntry::from_f32(METADATA_KEY, vec![1], &[0.0])];
        assert!(encode_safetensors(&e, &BTreeMap::new()).is_err());
    }

    #[test]
    fn dtype_names_round_trip() {
        for d in StoredDType::ALL {
            assert_eq!(StoredDType::from_name(d.name()), Some(d));
            assert_eq!(
                serde_json::to_string(&d).unwrap(),
                format!("\"{}\"", d.name())
            );
        }
        assert_eq!(
            StoredDType::from(learnscope_core::DType::F32),
            StoredDType::F32
        );
    }
}
