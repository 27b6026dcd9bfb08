//! NumPy `.npz` archives: a zip file of `.npy` members (`np.savez` stores them,
//! `np.savez_compressed` deflates them).
//!
//! The zip structure is read here directly (no zip crate): the end-of-central-directory record
//! (and its zip64 form, which numpy's writer may produce), the central directory, each member's
//! local header; members are either stored (method 0) or deflated (method 8, decoded with
//! `flate2`), and their CRC-32 is verified. Every offset and size is checked against the file
//! before it is used. A member's declared size is checked against a cap before anything is
//! allocated, and decompression stops one byte past the declared size, so neither a lying
//! header nor a decompression bomb can exhaust memory. Member `x` is found as `x.npy` or `x`.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::formats::npy::{parse_npy, NpyArray, NpyError};
use crate::formats::source::{read_maybe_gzip, SourceError, MAX_DECOMPRESSED_BYTES};

const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;

/// Why an `.npz` archive or one of its members is unusable.
#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    /// The file could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// No end-of-central-directory record: not a zip archive (or truncated at the end).
    #[error("{path}: not a zip/npz archive: {detail}")]
    NotZip {
        /// The file.
        path: PathBuf,
        /// What was found.
        detail: String,
    },
    /// An inconsistent zip structure.
    #[error("{path}: corrupt zip structure at offset {offset}: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the bad record or field.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// A zip feature this reader does not handle (encryption, other compression methods,
    /// multi-disk archives).
    #[error("{path}: member {member}: unsupported zip feature: {detail}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The member (empty for the archive itself).
        member: String,
        /// Which feature.
        detail: String,
    },
    /// A member's declared size exceeds the cap.
    #[error("{path}: member {member} declares {declared} bytes uncompressed, more than the limit {limit} (a decompression bomb or the wrong file)")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The member.
        member: String,
        /// The declared size.
        declared: u64,
        /// The cap.
        limit: u64,
    },
    /// The data does not have the declared size.
    #[error("{path}: member {member} at offset {offset}: declared {expected} bytes uncompressed, {found}")]
    SizeMismatch {
        /// The file.
        path: PathBuf,
        /// The member.
        member: String,
        /// Where its data starts.
        offset: u64,
        /// The declared size.
        expected: u64,
        /// What the data holds (`found N bytes` or `found more`).
        found: String,
    },
    /// The CRC-32 does not match.
    #[error(
        "{path}: member {member}: CRC-32 {found:08x} does not match the declared {expected:08x}"
    )]
    Crc {
        /// The file.
        path: PathBuf,
        /// The member.
        member: String,
        /// Declared.
        expected: u32,
        /// Computed.
        found: u32,
    },
    /// A corrupt deflate stream.
    #[error("{path}: member {member}: corrupt deflate stream at offset {offset} after {decompressed} bytes: {source}")]
    Inflate {
        /// The file.
        path: PathBuf,
        /// The member.
        member: String,
        /// Where its compressed data starts.
        offset: u64,
        /// Bytes decompressed before the failure.
        decompressed: u64,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No member of that name.
    #[error("{path}: no member {member} (members: {})", available.join(", "))]
    MemberNotFound {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        member: String,
        /// The member names present.
        available: Vec<String>,
    },
    /// A member that is not a valid `.npy` array (its path reads `archive.npz:member`).
    #[error(transparent)]
    Npy(#[from] NpyError),
}

/// One member as described by the central directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpzEntry {
    /// Name in the archive (`x.npy`).
    pub name: String,
    /// 0 stored, 8 deflate.
    pub method: u16,
    /// General-purpose flags.
    pub flags: u16,
    /// Compressed size.
    pub compressed: u64,
    /// Uncompressed size.
    pub uncompressed: u64,
    /// CRC-32 of the uncompressed data.
    pub crc32: u32,
    /// Offset of the local header.
    pub local_offset: u64,
}

impl NpzEntry {
    /// The array name (`x` for `x.npy`).
    pub fn array_name(&self) -> &str {
        self.name.strip_suffix(".npy").unwrap_or(&self.name)
    }
}

/// A parsed archive: its bytes and central directory; members are decoded on demand.
#[derive(Debug, Clone)]
pub struct NpzArchive {
    path: PathBuf,
    bytes: Vec<u8>,
    entries: Vec<NpzEntry>,
    limit: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl NpzArchive {
    /// Parses the archive structure (not the members); `path` only names the source in errors.
    pub fn parse(bytes: Vec<u8>, path: &Path) -> Result<Self, NpzError> {
        let entries = central_directory(&bytes, path)?;
        Ok(NpzArchive {
            path: path.to_path_buf(),
            bytes,
            entries,
            limit: MAX_DECOMPRESSED_BYTES,
        })
    }

    /// Sets the cap on a member's uncompressed size (default [`MAX_DECOMPRESSED_BYTES`]).
    pub fn with_limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// The archive's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The members, in central-directory order.
    pub fn entries(&self) -> &[NpzEntry] {
        &self.entries
    }

    /// The entry named `member` (as `member.npy` or `member`).
    pub fn entry(&self, member: &str) -> Result<&NpzEntry, NpzError> {
        let with_ext = format!("{member}.npy");
        self.entries
            .iter()
            .find(|e| e.name == with_ext)
            .or_else(|| self.entries.iter().find(|e| e.name == member))
            .ok_or_else(|| NpzError::MemberNotFound {
                path: self.path.clone(),
                member: member.to_string(),
                available: self
                    .entries
                    .iter()
                    .map(|e| e.array_name().to_string())
                    .collect(),
            })
    }

    /// The uncompressed bytes of a member (CRC-checked).
    pub fn member_bytes(&self, member: &str) -> Result<Vec<u8>, NpzError> {
        let e = self.entry(member)?;
        extract(&self.bytes, &self.path, e, self.limit)
    }

    /// A member parsed as an array; errors name it `archive.npz:member.npy`.
    pub fn array(&self, member: &str) -> Result<NpyArray, NpzError> {
        let e = self.entry(member)?;
        let bytes = extract(&self.bytes, &self.path, e, self.limit)?;
        let label = PathBuf::from(format!("{}:{}", self.path.display(), e.name));
        Ok(parse_npy(&bytes, &label)?)
    }
}

/// Reads an `.npz` archive's structure.
pub fn read_npz(path: &Path) -> Result<NpzArchive, NpzError> {
    let bytes = read_maybe_gzip(path, MAX_DECOMPRESSED_BYTES)?;
    NpzArchive::parse(bytes, path)
}

/// Reads one array of an `.npz` archive.
pub fn read_npz_member(path: &Path, member: &str) -> Result<NpyArray, NpzError> {
    read_npz(path)?.array(member)
}

/// Finds the end-of-central-directory record and reads the central directory.
fn central_directory(b: &[u8], path: &Path) -> Result<Vec<NpzEntry>, NpzError> {
    let p = || path.to_path_buf();
    let corrupt = |offset: u64, detail: String| NpzError::Corrupt {
        path: p(),
        offset,
        detail,
    };
    if b.len() < 22 {
        return Err(NpzError::NotZip {
            path: p(),
            detail: format!(
                "{} bytes, a zip archive needs at least 22 (its end record)",
                b.len()
            ),
        });
    }
    // The end record is the last 22 bytes plus a comment of up to 65535 bytes.
    let lowest = b.len().saturating_sub(22 + 65535);
    let eocd = (lowest..=b.len() - 22)
        .rev()
        .find(|&i| u32_at(b, i) == EOCD_SIG && i + 22 + u16_at(b, i + 20) as usize <= b.len())
        .ok_or_else(|| NpzError::NotZip {
            path: p(),
            detail:
                "no end-of-central-directory record (signature 50 4b 05 06) in the last 65557 bytes"
                    .into(),
        })?;
    let disk = u16_at(b, eocd + 4);
    let cd_disk = u16_at(b, eocd + 6);
    let mut count = u16_at(b, eocd + 10) as u64;
    let mut cd_size = u32_at(b, eocd + 12) as u64;
    let mut cd_offset = u32_at(b, eocd + 16) as u64;
    let mut cd_end_limit = eocd as u64;
    if disk != 0 || cd_disk != 0 {
        return Err(NpzError::Unsupported {
            path: p(),
            member: String::new(),
            detail: format!("multi-disk archive (disk {disk}, directory on disk {cd_disk})"),
        });
    }
    let needs64 = count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF;
    if eocd >= 20 && u32_at(b, eocd - 20) == ZIP64_LOCATOR_SIG {
        let loc = eocd - 20;
        let rec = u64_at(b, loc + 8);
        if rec > loc as u64 || loc as u64 - rec < 56 {
            return Err(corrupt(
                loc as u64 + 8,
                format!("zip64 end record offset {rec} is not before its locator at {loc}"),
            ));
        }
        let r = rec as usize;
        if u32_at(b, r) != ZIP64_EOCD_SIG {
            return Err(corrupt(
                rec,
                format!(
                    "expected the zip64 end record signature 50 4b 06 06, found {:02x?}",
                    &b[r..r + 4]
                ),
            ));
        }
        count = u64_at(b, r + 32);
        cd_size = u64_at(b, r + 40);
        cd_offset = u64_at(b, r + 48);
        cd_end_limit = rec;
    } else if needs64 {
        return Err(corrupt(
            eocd as u64,
            "the end record defers to a zip64 record, but there is no zip64 locator".into(),
        ));
    }
    let cd_end = cd_offset
        .checked_add(cd_size)
        .filter(|&e| e <= cd_end_limit);
    let Some(cd_end) = cd_end else {
        return Err(corrupt(
            eocd as u64,
            format!("central directory at {cd_offset} of {cd_size} bytes extends past the end record at {cd_end_limit}"),
        ));
    };
    if count > cd_size / 46 {
        return Err(corrupt(
            eocd as u64,
            format!("{count} entries cannot fit in a central directory of {cd_size} bytes"),
        ));
    }
    let mut entries = Vec::with_capacity(count as usize);
    let mut at = cd_offset as usize;
    for k in 0..count {
        if at as u64 + 46 > cd_end {
            return Err(corrupt(
                at as u64,
                format!("central directory entry {k} runs past the directory's end {cd_end}"),
            ));
        }
        if u32_at(b, at) != CENTRAL_SIG {
            return Err(corrupt(
                at as u64,
                format!(
                    "entry {k}: expected the central header signature 50 4b 01 02, found {:02x?}",
                    &b[at..at + 4]
                ),
            ));
        }
        let flags = u16_at(b, at + 8);
        let method = u16_at(b, at + 10);
        let crc32 = u32_at(b, at + 16);
        let mut compressed = u32_at(b, at + 20) as u64;
        let mut uncompressed = u32_at(b, at + 24) as u64;
        let name_len = u16_at(b, at + 28) as usize;
        let extra_len = u16_at(b, at + 30) as usize;
        let comment_len = u16_at(b, at + 32) as usize;
        let mut local_offset = u32_at(b, at + 42) as u64;
        let next = at + 46 + name_len + extra_len + comment_len;
        if next as u64 > cd_end {
            return Err(corrupt(
                at as u64,
                format!("entry {k}: name, extra field and comment ({name_len} + {extra_len} + {comment_len} bytes) run past the directory's end {cd_end}"),
            ));
        }
        let name = String::from_utf8_lossy(&b[at + 46..at + 46 + name_len]).into_owned();
        // Zip64 extended information: the 64-bit values of the saturated 32-bit fields.
        let mut extra = &b[at + 46 + name_len..at + 46 + name_len + extra_len];
        while extra.len() >= 4 {
            let id = u16_at(extra, 0);
            let size = u16_at(extra, 2) as usize;
            let Some(data) = extra.get(4..4 + size) else {
                return Err(corrupt(
                    (at + 46 + name_len) as u64,
                    format!("entry {k} ({name}): extra field of {size} bytes runs past its block"),
                ));
            };
            if id == 1 {
                let mut fields = data.chunks_exact(8).map(|c| u64_at(c, 0));
                for slot in [&mut uncompressed, &mut compressed, &mut local_offset] {
                    if *slot == 0xFFFF_FFFF {
                        *slot = fields.next().ok_or_else(|| {
                            corrupt(
                                (at + 46 + name_len) as u64,
                                format!("entry {k} ({name}): zip64 extra field lacks a saturated size or offset"),
                            )
                        })?;
                    }
                }
            }
            extra = &extra[4 + size..];
        }
        entries.push(NpzEntry {
            name,
            method,
            flags,
            compressed,
            uncompressed,
            crc32,
            local_offset,
        });
        at = next;
    }
    Ok(entries)
}

/// The uncompressed, CRC-checked data of one member.
fn extract(b: &[u8], path: &Path, e: &NpzEntry, limit: u64) -> Result<Vec<u8>, NpzError> {
    let p = || path.to_path_buf();
    let m = || e.name.clone();
    let corrupt = |offset: u64, detail: String| NpzError::Corrupt {
        path: p(),
        offset,
        detail,
    };
    if e.flags & 1 != 0 {
        return Err(NpzError::Unsupported {
            path: p(),
            member: m(),
            detail: "encrypted member".into(),
        });
    }
    if e.method != 0 && e.method != 8 {
        return Err(NpzError::Unsupported {
            path: p(),
            member: m(),
            detail: format!(
                "compression method {} (only 0 stored and 8 deflate)",
                e.method
            ),
        });
    }
    if e.uncompressed > limit {
        return Err(NpzError::TooLarge {
            path: p(),
            member: m(),
            declared: e.uncompressed,
            limit,
        });
    }
    let lo = e.local_offset;
    if lo.checked_add(30).is_none_or(|end| end > b.len() as u64) {
        return Err(corrupt(
            lo,
            format!(
                "member {}: local header offset {lo} is past the file's end {}",
                e.name,
                b.len()
            ),
        ));
    }
    let l = lo as usize;
    if u32_at(b, l) != LOCAL_SIG {
        return Err(corrupt(
            lo,
            format!(
                "member {}: expected the local header signature 50 4b 03 04, found {:02x?}",
                e.name,
                &b[l..l + 4]
            ),
        ));
    }
    let start = l as u64 + 30 + u16_at(b, l + 26) as u64 + u16_at(b, l + 28) as u64;
    let end = start
        .checked_add(e.compressed)
        .filter(|&x| x <= b.len() as u64);
    let Some(end) = end else {
        return Err(corrupt(
            lo,
            format!(
                "member {}: {} compressed bytes from offset {start} run past the file's end {}",
                e.name,
                e.compressed,
                b.len()
            ),
        ));
    };
    let data = &b[start as usize..end as usize];
    let out = if e.method == 0 {
        if e.compressed != e.uncompressed {
            return Err(NpzError::SizeMismatch {
                path: p(),
                member: m(),
                offset: start,
                expected: e.uncompressed,
                found: format!("but the stored member has {} bytes", e.compressed),
            });
        }
        data.to_vec()
    } else {
        // Deflate expands at most ~1032:1, so a declared size beyond that is a lie; reserving
        // only what the data can produce keeps a lying header from reserving memory.
        let reserve = e.uncompressed.min(e.compressed.saturating_mul(1032) + 1024);
        let mut out = Vec::with_capacity(reserve as usize);
        let mut dec =
            flate2::read::DeflateDecoder::new(data).take(e.uncompressed.saturating_add(1));
        if let Err(source) = dec.read_to_end(&mut out) {
            return Err(NpzError::Inflate {
                path: p(),
                member: m(),
                offset: start,
                decompressed: out.len() as u64,
                source,
            });
        }
        if out.len() as u64 != e.uncompressed {
            return Err(NpzError::SizeMismatch {
                path: p(),
                member: m(),
                offset: start,
                expected: e.uncompressed,
                found: if out.len() as u64 > e.uncompressed {
                    "but the stream holds more".into()
                } else {
                    format!("but the stream holds {}", out.len())
                },
            });
        }
        out
    };
    let mut crc = flate2::Crc::new();
    crc.update(&out);
    if crc.sum() != e.crc32 {
        return Err(NpzError::Crc {
            path: p(),
            member: m(),
            expected: e.crc32,
            found: crc.sum(),
        });
    }
    Ok(out)
}

/// A zip archive of the given members (name, bytes), stored or deflated (for fixtures and
/// exports; numpy reads it with `np.load`).
pub fn encode_npz(members: &[(String, Vec<u8>)], deflate: bool) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in members {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let body = if deflate {
            let mut enc =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data).expect("write to a Vec");
            enc.finish().expect("write to a Vec")
        } else {
            data.clone()
        };
        let method: u16 = if deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        let mut common = Vec::new();
        common.extend_from_slice(&20u16.to_le_bytes()); // version needed
        common.extend_from_slice(&0u16.to_le_bytes()); // flags
        common.extend_from_slice(&method.to_le_bytes());
        common.extend_from_slice(&0u16.to_le_bytes()); // time
        common.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
        common.extend_from_slice(&crc.sum().to_le_bytes());
        common.extend_from_slice(&(body.len() as u32).to_le_bytes());
        common.extend_from_slice(&(data.len() as u32).to_le_bytes());
        common.extend_from_slice(&(name.len() as u16).to_le_bytes());
        common.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(&LOCAL_SIG.to_le_bytes());
        out.extend_from_slice(&common);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&body);
        central.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&common);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment length
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&EOCD_SIG.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}
