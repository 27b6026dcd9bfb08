//! TensorBoard event files (`learnscope export --tensorboard`): a run's metrics as scalar
//! summaries, written without TensorFlow or a protobuf library.
//!
//! An event file is a sequence of TFRecords, each
//!
//! ```text
//! u64 LE  length of data
//! u32 LE  masked CRC32C of those 8 length bytes
//! data    one serialized `Event` protobuf
//! u32 LE  masked CRC32C of data
//! ```
//!
//! with CRC32C the Castagnoli CRC ([`crc32c`]) and mask(c) = ((c >> 15) | (c << 17)) +
//! 0xa282ead8 (wrapping). The protobufs are encoded by hand ([`encode_event`]):
//!
//! ```text
//! Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//! Summary { repeated Value value = 1; }
//! Value   { string tag = 1; float simple_value = 2; }
//! ```
//!
//! The first event carries only `wall_time` and `file_version = "brain.Event:2"`; then there is
//! one event per step with a summary holding one value per metric record of that step, tagged
//! `probe/key[/split][/layer][/index][/index2]` ([`scalar_tag`]; empty or absent parts left
//! out). Values are rounded to f32; non-finite values are written as they are (NaN, ±inf).
//!
//! **Wall time.** `metrics.jsonl` has no clock, so every event carries the run's start time
//! from the manifest (`created_utc`, whole seconds since the Unix epoch), or 0 when it cannot be
//! parsed. The file is `events.out.tfevents.<those seconds>.learnscope`, so exporting a run again
//! replaces its file rather than adding a second one.

use std::path::{Path, PathBuf};

use crate::atomic::write_atomic;
use crate::error::{StoreError, StoreResult};
use crate::record::MetricRecord;

/// `file_version` of the first event of every file.
pub const FILE_VERSION: &str = "brain.Event:2";

/// The CRC32C lookup table (reflected Castagnoli polynomial 0x82F63B78), built at compile time.
const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC32C (Castagnoli) of `data`, as used by TFRecord.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = CRC32C_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// TFRecord's masked CRC32C of `data`.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let c = crc32c(data);
    // ((c >> 15) | (c << 17)) + 0xa282ead8
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Appends one TFRecord holding `data` to `out`.
pub fn push_tfrecord(out: &mut Vec<u8>, data: &[u8]) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
}

/// Appends `v` as a protobuf base-128 varint.
fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-delimited field (wire type 2).
fn push_bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    push_varint(out, u64::from(field << 3 | 2));
    push_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// What an event carries besides its wall time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventBody<'a> {
    /// The first event of a file: `file_version`.
    FileVersion(&'a str),
    /// A step's scalars: `step` and a summary of (tag, value) pairs.
    Scalars {
        /// The training step.
        step: i64,
        /// The summary values.
        values: &'a [(String, f32)],
    },
}

/// One serialized `Event` protobuf.
pub fn encode_event(wall_time: f64, body: EventBody<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(1 << 3 | 1); // wall_time: field 1, 64-bit
    out.extend_from_slice(&wall_time.to_le_bytes());
    match body {
        EventBody::FileVersion(v) => push_bytes_field(&mut out, 3, v.as_bytes()),
        EventBody::Scalars { step, values } => {
            out.push(2 << 3); // step: field 2, varint (two's complement for negatives)
            push_varint(&mut out, step as u64);
            let mut summary = Vec::new();
            let mut value = Vec::new();
            for (tag, v) in values {
                value.clear();
                push_bytes_field(&mut value, 1, tag.as_bytes());
                value.push(2 << 3 | 5); // simple_value: field 2, 32-bit
                value.extend_from_slice(&v.to_le_bytes());
                push_bytes_field(&mut summary, 1, &value);
            }
            push_bytes_field(&mut out, 5, &summary);
        }
    }
    out
}

/// The TensorBoard tag of a record: `probe/key[/split][/layer][/index][/index2]`.
pub fn scalar_tag(r: &MetricRecord) -> String {
    let mut tag = format!("{}/{}", r.probe, r.key);
    if !r.split.is_empty() {
        tag.push('/');
        tag.push_str(&r.split);
    }
    if let Some(l) = r.layer.as_deref().filter(|l| !l.is_empty()) {
        tag.push('/');
        tag.push_str(l);
    }
    for i in [r.index, r.index2].into_iter().flatten() {
        tag.push('/');
        tag.push_str(&i.to_string());
    }
    tag
}

/// The whole event file for `records` (file-version event, then one event per run of equal
/// steps), every event stamped `wall_time`.
pub fn encode_event_file(wall_time: f64, records: &[MetricRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    push_tfrecord(
        &mut out,
        &encode_event(wall_time, EventBody::FileVersion(FILE_VERSION)),
    );
    for group in records.chunk_by(|a, b| a.step == b.step) {
        let values: Vec<(String, f32)> = group
            .iter()
            .map(|r| (scalar_tag(r), r.value as f32))
            .collect();
        let body = EventBody::Scalars {
            step: group[0].step as i64,
            values: &values,
        };
        push_tfrecord(&mut out, &encode_event(wall_time, body));
    }
    out
}

/// Seconds since the Unix epoch of an RFC 3339 UTC time as the manifest writes it
/// (`2024-05-01T12:34:56Z`); `None` for anything else.
pub fn rfc3339_unix_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = &s[from..to];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    // Howard Hinnant's days_from_civil (the inverse of utc.rs's civil_from_days).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec)
}

/// Writes `dir/events.out.tfevents.<start seconds>.learnscope` for one run (creating `dir`),
/// stamped with the run's start time `created_utc` (0 when it does not parse); returns the
/// file's path.
pub fn write_tensorboard_run(
    dir: &Path,
    created_utc: &str,
    records: &[MetricRecord],
) -> StoreResult<PathBuf> {
    let secs = rfc3339_unix_seconds(created_utc).unwrap_or(0);
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create directory", dir, e))?;
    let path = dir.join(format!("events.out.tfevents.{secs}.learnscope"));
    write_atomic(&path, &encode_event_file(secs as f64, records))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;
    use crate::utc::UtcDateTime;

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // RFC 3720 B.4: 32 bytes of zeros.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        // ((0xE3069283 >> 15) | (0xE3069283 << 17)) + 0xa282ead8, by hand.
        assert_eq!(masked_crc32c(b"123456789"), 0xC78A_B0E5);
    }

    #[test]
    fn varints() {
        let enc = |v: u64| {
            let mut o = Vec::new();
            push_varint(&mut o, v);
            o
        };
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(1), [0x01]);
        assert_eq!(enc(127), [0x7f]);
        assert_eq!(enc(128), [0x80, 0x01]);
        assert_eq!(enc(300), [0xac, 0x02]);
        assert_eq!(
            enc(u64::MAX),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
    }

    #[test]
    fn file_version_event_bytes() {
        let e = encode_event(1.0, EventBody::FileVersion(FILE_VERSION));
        let mut want = vec![0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]; // 1.0 as LE double
        want.extend_from_slice(&[0x1a, 13]);
        want.extend_from_slice(b"brain.Event:2");
        assert_eq!(e, want);
    }

    #[test]
    fn scalar_event_bytes() {
        let values = [("a/b".to_string(), 1.0f32)];
        let e = encode_event(
            0.0,
            EventBody::Scalars {
                step: 300,
                values: &values,
            },
        );
        let want = [
            0x09, 0, 0, 0, 0, 0, 0, 0, 0, // wall_time 0.0
            0x10, 0xac, 0x02, // step 300
            0x2a, 12, // summary, 12 bytes
            0x0a, 10, // value, 10 bytes
            0x0a, 3, b'a', b'/', b'b', // tag "a/b"
            0x15, 0x00, 0x00, 0x80, 0x3f, // simple_value 1.0f32
        ];
        assert_eq!(e, want);
    }

    #[test]
    fn tfrecord_framing() {
        let mut out = Vec::new();
        push_tfrecord(&mut out, b"xyz");
        assert_eq!(out.len(), 8 + 4 + 3 + 4);
        assert_eq!(&out[..8], &3u64.to_le_bytes());
        assert_eq!(
            &out[8..12],
            &masked_crc32c(&3u64.to_le_bytes()).to_le_bytes()
        );
        assert_eq!(&out[12..15], b"xyz");
        assert_eq!(&out[15..], &masked_crc32c(b"xyz").to_le_bytes());
    }

    #[test]
    fn tags_leave_out_absent_parts() {
        let r = MetricRecord::new(0, 0, "loss", "loss", "train", 1.0);
        assert_eq!(scalar_tag(&r), "loss/loss/train");
        let r = MetricRecord::new(0, 0, "sv", "s", "", 1.0)
            .with_layer("layers.1")
            .with_index(3)
            .with_index2(-2);
        assert_eq!(scalar_tag(&r), "sv/s/layers.1/3/-2");
        let r = MetricRecord::new(0, 0, "m", "k", "test", 1.0).with_index2(4);
        assert_eq!(scalar_tag(&r), "m/k/test/4");
    }

    #[test]
    fn one_event_per_step_and_non_finite_kept() {
        let recs = vec![
            MetricRecord::new(0, 0, "p", "a", "train", 1.0),
            MetricRecord::new(0, 0, "p", "b", "train", f64::NAN),
            MetricRecord::new(7, 0, "p", "a", "train", f64::NEG_INFINITY),
        ];
        let file = encode_event_file(5.0, &recs);
        // Split the framing back up and check every CRC.
        let mut events = Vec::new();
        let mut rest = &file[..];
        while !rest.is_empty() {
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
            let len_crc = u32::from_le_bytes(rest[8..12].try_into().unwrap());
            assert_eq!(len_crc, masked_crc32c(&rest[..8]));
            let data = &rest[12..12 + len];
            let crc = u32::from_le_bytes(rest[12 + len..16 + len].try_into().unwrap());
            assert_eq!(crc, masked_crc32c(data));
            events.push(data.to_vec());
            rest = &rest[16 + len..];
        }
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[0],
            encode_event(5.0, EventBody::FileVersion(FILE_VERSION))
        );
        let step0 = [
            ("p/a/train".to_string(), 1.0f32),
            ("p/b/train".to_string(), f32::NAN),
        ];
        let want = encode_event(
            5.0,
            EventBody::Scalars {
                step: 0,
                values: &step0,
            },
        );
        assert_eq!(events[1], want);
        assert!(events[2].ends_with(&f32::NEG_INFINITY.to_le_bytes()));
        assert!(events[2].windows(2).any(|w| w == [0x10, 7]));
    }

    #[test]
    fn rfc3339_round_trip() {
        for secs in [0, 1_234_567_890, 951_782_400, 4_107_542_400, 1_795_000_000] {
            let s = UtcDateTime::from_unix_seconds(secs).rfc3339();
            assert_eq!(rfc3339_unix_seconds(&s), Some(secs), "{s}");
        }
        for bad in [
            "",
            "2024-05-01",
            "2024-05-01T12:34:56+00:00",
            "2024-13-01T00:00:00Z",
        ] {
            assert_eq!(rfc3339_unix_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn writes_named_file() {
        let dir = TempDir::new("tb");
        let recs = [MetricRecord::new(1, 0, "p", "k", "train", 0.5)];
        let p =
            write_tensorboard_run(&dir.path().join("run"), "2009-02-13T23:31:30Z", &recs).unwrap();
        assert_eq!(
            p.file_name().unwrap().to_str().unwrap(),
            "events.out.tfevents.1234567890.learnscope"
        );
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes, encode_event_file(1_234_567_890.0, &recs));
        let p0 = write_tensorboard_run(&dir.path().join("run0"), "yesterday", &recs).unwrap();
        assert!(p0.ends_with("events.out.tfevents.0.learnscope"), "{p0:?}");
    }
}
