//! Append-only JSON Lines files with a step order: `metrics.jsonl` (and `timings.jsonl`).
//!
//! Writing: one compact JSON object per line, `\n`-terminated, in push order; steps never
//! decrease (the writer refuses a record that would break this). The writer is buffered; the
//! trainer calls [`JsonlWriter::flush`] at every step that recorded something, so a crash leaves
//! a readable prefix, and [`JsonlWriter::sync`] before a checkpoint, so a checkpoint at step `s`
//! implies that every record through `s` is on disk.
//!
//! Reading: a complete (newline-terminated) line that does not parse is an error naming the
//! file, the 1-based line and the byte offset of its start. The *last* line may be incomplete — a
//! crash mid-write — and is then dropped and reported as `truncated_tail`. (A last line that
//! lacks only its newline but parses is kept.)
//!
//! Resuming from a checkpoint at step `s`: [`JsonlWriter::open_truncated`] keeps the byte prefix
//! of the lines with step ≤ `s` (steps are non-decreasing, so this is a prefix), cuts everything
//! after it including a partial last line, and appends from there; the resumed run then
//! rewrites steps > `s` exactly as an uninterrupted run would have.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{StoreError, StoreResult};
use crate::record::MetricRecord;

/// File name of the metrics stream inside a run directory.
pub const METRICS_FILE: &str = "metrics.jsonl";

/// A record type stored one per line in a step-ordered JSONL file.
pub trait JsonlRecord: Serialize + DeserializeOwned {
    /// The step the record belongs to (the file's sort key).
    fn step(&self) -> u64;
}

impl JsonlRecord for MetricRecord {
    fn step(&self) -> u64 {
        self.step
    }
}

/// What a tolerant read of a JSONL file found.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonlRead<T> {
    /// Every record of every complete line, in file order.
    pub records: Vec<T>,
    /// Whether the file ended in an incomplete line that was dropped (a crash mid-write).
    pub truncated_tail: bool,
}

/// The result of [`read_metrics`].
pub type MetricsRead = JsonlRead<MetricRecord>;

/// Appends step-ordered records to `metrics.jsonl`.
pub type MetricsWriter = JsonlWriter<MetricRecord>;

/// Buffered appender of step-ordered JSONL records (see the module docs).
#[derive(Debug)]
pub struct JsonlWriter<T> {
    path: PathBuf,
    out: BufWriter<File>,
    line: Vec<u8>,
    last_step: Option<u64>,
    _record: PhantomData<fn(&T)>,
}

impl<T: JsonlRecord> JsonlWriter<T> {
    /// Creates a new, empty file at `path`; fails if it exists (a run never writes into
    /// another run's stream).
    pub fn create(path: &Path) -> StoreResult<Self> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| StoreError::io("create", path, e))?;
        Ok(Self::from_file(path, file, None))
    }

    /// Opens `path` for resuming after a checkpoint at `keep_through_step`: keeps the complete
    /// lines with step ≤ `keep_through_step`, cuts the rest (a partial last line included) and
    /// appends from there. A missing file is created empty. Malformed lines in the kept part,
    /// and steps that go backwards, are errors; lines after the cut are discarded unread.
    pub fn open_truncated(path: &Path, keep_through_step: u64) -> StoreResult<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        let cut = find_cut::<T>(path, &file, keep_through_step)?;
        file.set_len(cut.keep_bytes)
            .map_err(|e| StoreError::io("truncate", path, e))?;
        file.seek(SeekFrom::End(0))
            .map_err(|e| StoreError::io("seek", path, e))?;
        if cut.needs_newline {
            file.write_all(b"\n")
                .map_err(|e| StoreError::io("write", path, e))?;
        }
        // Make the cut durable before new lines are appended after it.
        file.sync_all()
            .map_err(|e| StoreError::io("sync", path, e))?;
        Ok(Self::from_file(path, file, cut.last_step))
    }

    fn from_file(path: &Path, file: File, last_step: Option<u64>) -> Self {
        JsonlWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 16, file),
            line: Vec::with_capacity(256),
            last_step,
            _record: PhantomData,
        }
    }

    /// Appends one record (buffered). Fails if its step is smaller than the previous one's.
    pub fn push(&mut self, record: &T) -> StoreResult<()> {
        let step = record.step();
        if let Some(previous) = self.last_step {
            if step < previous {
                return Err(StoreError::StepDecreased {
                    path: self.path.clone(),
                    previous,
                    found: step,
                });
            }
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, record).map_err(|source| StoreError::JsonEncode {
            path: self.path.clone(),
            source,
        })?;
        self.line.push(b'\n');
        self.out
            .write_all(&self.line)
            .map_err(|e| StoreError::io("write", &self.path, e))?;
        self.last_step = Some(step);
        Ok(())
    }

    /// Hands buffered lines to the operating system (survives a crash of the process).
    pub fn flush(&mut self) -> StoreResult<()> {
        self.out
            .flush()
            .map_err(|e| StoreError::io("write", &self.path, e))
    }

    /// Flushes and fsyncs (survives a crash of the machine).
    pub fn sync(&mut self) -> StoreResult<()> {
        self.flush()?;
        self.out
            .get_ref()
            .sync_data()
            .map_err(|e| StoreError::io("sync", &self.path, e))
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The step of the last record written or kept, if any.
    pub fn last_step(&self) -> Option<u64> {
        self.last_step
    }
}

/// Encodes records exactly as [`JsonlWriter`] writes them (one `\n`-terminated line each).
pub fn encode_jsonl<T: JsonlRecord>(records: &[T]) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(records.len() * 128);
    for r in records {
        serde_json::to_writer(&mut out, r)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Reads `metrics.jsonl`, tolerating an incomplete last line (see the module docs).
pub fn read_metrics(path: &Path) -> StoreResult<MetricsRead> {
    read_jsonl(path)
}

/// Reads a step-ordered JSONL file, tolerating an incomplete last line.
pub fn read_jsonl<T: JsonlRecord>(path: &Path) -> StoreResult<JsonlRead<T>> {
    let file = File::open(path).map_err(|e| StoreError::io("open", path, e))?;
    let mut records = Vec::new();
    let mut truncated_tail = false;
    let mut previous: Option<u64> = None;
    for_each_line(path, BufReader::with_capacity(1 << 16, file), |l| {
        let record = match serde_json::from_slice::<T>(l.text) {
            Ok(r) => r,
            Err(_) if !l.terminated => {
                truncated_tail = true;
                return Ok(true);
            }
            Err(source) => return Err(l.malformed(path, source)),
        };
        let step = record.step();
        if let Some(p) = previous {
            if step < p {
                return Err(l.unsorted(path, p, step));
            }
        }
        previous = Some(step);
        records.push(record);
        Ok(true)
    })?;
    Ok(JsonlRead {
        records,
        truncated_tail,
    })
}

/// One line as the scanner sees it.
struct Line<'a> {
    /// The bytes without the terminating newline.
    text: &'a [u8],
    /// 1-based line number.
    number: usize,
    /// Byte offset of the line's first byte.
    offset: u64,
    /// Whether a `\n` ended it (false only for an incomplete last line).
    terminated: bool,
}

impl Line<'_> {
    fn malformed(&self, path: &Path, source: serde_json::Error) -> StoreError {
        StoreError::MalformedLine {
            path: path.to_path_buf(),
            line: self.number,
            offset: self.offset,
            source,
        }
    }

    fn unsorted(&self, path: &Path, previous: u64, found: u64) -> StoreError {
        StoreError::UnsortedSteps {
            path: path.to_path_buf(),
            line: self.number,
            offset: self.offset,
            previous,
            found,
        }
    }

    /// Offset just past the line, newline included.
    fn end(&self) -> u64 {
        self.offset + self.text.len() as u64 + u64::from(self.terminated)
    }
}

/// Calls `f` on each line in order until it returns `Ok(false)` or the input ends.
fn for_each_line<R: BufRead>(
    path: &Path,
    mut reader: R,
    mut f: impl FnMut(&Line<'_>) -> StoreResult<bool>,
) -> StoreResult<()> {
    let mut buf = Vec::with_capacity(256);
    let mut offset = 0u64;
    let mut number = 0usize;
    loop {
        buf.clear();
        let n = match reader.read_until(b'\n', &mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(StoreError::io("read", path, e)),
        };
        if n == 0 {
            return Ok(());
        }
        number += 1;
        let terminated = buf.last() == Some(&b'\n');
        let text = if terminated {
            &buf[..buf.len() - 1]
        } else {
            &buf[..]
        };
        let line = Line {
            text,
            number,
            offset,
            terminated,
        };
        if !f(&line)? {
            return Ok(());
        }
        offset += n as u64;
    }
}

/// Where [`JsonlWriter::open_truncated`] cuts a file.
struct Cut {
    keep_bytes: u64,
    last_step: Option<u64>,
    /// The kept prefix ends in a parseable last line without its `\n`.
    needs_newline: bool,
}

fn find_cut<T: JsonlRecord>(path: &Path, file: &File, keep_through_step: u64) -> StoreResult<Cut> {
    let mut cut = Cut {
        keep_bytes: 0,
        last_step: None,
        needs_newline: false,
    };
    for_each_line(path, BufReader::with_capacity(1 << 16, file), |l| {
        let record = match serde_json::from_slice::<T>(l.text) {
            Ok(r) => r,
            // An incomplete last line is cut.
            Err(_) if !l.terminated => return Ok(false),
            Err(source) => return Err(l.malformed(path, source)),
        };
        let step = record.step();
        if let Some(p) = cut.last_step {
            if step < p {
                return Err(l.unsorted(path, p, step));
            }
        }
        if step > keep_through_step {
            return Ok(false);
        }
        cut.keep_bytes = l.end();
        cut.last_step = Some(step);
        cut.needs_newline = !l.terminated;
        Ok(true)
    })?;
    Ok(cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    fn rec(step: u64, v: f64) -> MetricRecord {
        MetricRecord::new(step, 0, "basics", "loss", "train", v)
    }

    #[test]
    fn writer_bytes_equal_encoder_bytes() {
        let dir = TempDir::new("jsonl-bytes");
        let p = dir.path().join(METRICS_FILE);
        let recs = [rec(0, 1.0), rec(0, f64::NAN), rec(2, -0.0)];
        let mut w = MetricsWriter::create(&p).unwrap();
        for r in &recs {
            w.push(r).unwrap();
        }
        w.flush().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), encode_jsonl(&recs).unwrap());
        assert!(
            MetricsWriter::create(&p).is_err(),
            "create must not reuse a file"
        );
    }

    #[test]
    fn decreasing_step_refused() {
        let dir = TempDir::new("jsonl-order");
        let p = dir.path().join(METRICS_FILE);
        let mut w = MetricsWriter::create(&p).unwrap();
        w.push(&rec(5, 1.0)).unwrap();
        let e = w.push(&rec(4, 1.0)).unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::StepDecreased {
                    previous: 5,
                    found: 4,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn unterminated_but_complete_last_line_is_kept() {
        let dir = TempDir::new("jsonl-nonl");
        let p = dir.path().join(METRICS_FILE);
        let mut bytes = encode_jsonl(&[rec(1, 1.0), rec(2, 2.0)]).unwrap();
        bytes.pop();
        std::fs::write(&p, &bytes).unwrap();
        let r = read_metrics(&p).unwrap();
        assert_eq!(r.records.len(), 2);
        assert!(!r.truncated_tail);
        // Resuming keeps it and restores the newline before appending.
        let mut w = MetricsWriter::open_truncated(&p, 2).unwrap();
        assert_eq!(w.last_step(), Some(2));
        w.push(&rec(3, 3.0)).unwrap();
        w.flush().unwrap();
        assert_eq!(
            std::fs::read(&p).unwrap(),
            encode_jsonl(&[rec(1, 1.0), rec(2, 2.0), rec(3, 3.0)]).unwrap()
        );
    }

    #[test]
    fn open_truncated_on_missing_file_creates_it() {
        let dir = TempDir::new("jsonl-missing");
        let p = dir.path().join(METRICS_FILE);
        let mut w = MetricsWriter::open_truncated(&p, 10).unwrap();
        assert_eq!(w.last_step(), None);
        w.push(&rec(0, 1.0)).unwrap();
        w.flush().unwrap();
        assert_eq!(read_metrics(&p).unwrap().records.len(), 1);
    }
}
