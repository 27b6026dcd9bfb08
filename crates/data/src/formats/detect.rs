//! Which format a data file is in, from its name and its (decompressed) first bytes.

use std::path::Path;

use crate::formats::cifar::CifarKind;
use crate::formats::idx::IdxType;
use crate::formats::npy::NPY_MAGIC;

/// A data file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// An IDX array.
    Idx,
    /// A CIFAR binary batch.
    Cifar(CifarKind),
    /// A `.npy` array.
    Npy,
    /// A `.npz` archive.
    Npz,
    /// A numeric CSV table (`delimiter` guessed from the extension: tab for `.tsv`).
    Csv {
        /// Field separator.
        delimiter: u8,
    },
}

impl FileFormat {
    /// A short name (`IDX`, `CIFAR-10 binary`, …).
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Idx => "IDX",
            FileFormat::Cifar(CifarKind::Cifar10) => "CIFAR-10 binary",
            FileFormat::Cifar(CifarKind::Cifar100) => "CIFAR-100 binary",
            FileFormat::Npy => "NPY",
            FileFormat::Npz => "NPZ",
            FileFormat::Csv { .. } => "CSV",
        }
    }
}

/// The format of a file named `path` whose decompressed content is `bytes`, or `None` when
/// neither its name nor its content is recognised. The name wins when it is explicit (so a
/// damaged file gets the parser that explains what is wrong with it); otherwise the magic bytes
/// decide, and text without NUL bytes is taken for CSV.
pub fn detect_format(path: &Path, bytes: &[u8]) -> Option<FileFormat> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "npy" => return Some(FileFormat::Npy),
        "npz" => return Some(FileFormat::Npz),
        "csv" | "txt" => return Some(FileFormat::Csv { delimiter: b',' }),
        "tsv" => return Some(FileFormat::Csv { delimiter: b'\t' }),
        _ => {}
    }
    if name.contains("-ubyte") || ext == "idx" {
        return Some(FileFormat::Idx);
    }
    if let Some(kind) = CifarKind::from_file_name(Path::new(name)) {
        return Some(FileFormat::Cifar(kind));
    }
    if bytes.starts_with(NPY_MAGIC) {
        return Some(FileFormat::Npy);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Some(FileFormat::Npz);
    }
    if ext == "bin" {
        let kind = if bytes.len() % CifarKind::Cifar100.record_size() == 0
            && bytes.len() % CifarKind::Cifar10.record_size() != 0
        {
            CifarKind::Cifar100
        } else {
            CifarKind::Cifar10
        };
        return Some(FileFormat::Cifar(kind));
    }
    if bytes.len() >= 4
        && bytes[0] == 0
        && bytes[1] == 0
        && IdxType::from_code(bytes[2]).is_some()
        && bytes[3] > 0
    {
        return Some(FileFormat::Idx);
    }
    let head = &bytes[..bytes.len().min(4096)];
    if !head.is_empty() && !head.contains(&0) && utf8_prefix(head, head.len() < bytes.len()) {
        return Some(FileFormat::Csv { delimiter: b',' });
    }
    None
}

/// True when `head` is UTF-8, allowing a character cut at its end when `cut`.
fn utf8_prefix(head: &[u8], cut: bool) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => cut && e.error_len().is_none(),
    }
}
