//! Numeric CSV tables: feature columns and one label (or target) column, raw or gzip.
//!
//! Records are separated by `\n` or `\r\n`; fields by a delimiter (default `,`). A field may be
//! double-quoted (`"…"`, with `""` for a quote, newlines allowed inside); spaces around a field
//! are ignored. Blank lines are skipped. The first record is a header when asked, or — when
//! [`CsvOptions::header`] is `None` — when any of its cells is not a number. Every other cell
//! must be a finite number. Errors name the file, the line (1-based, where the record starts)
//! and the column (1-based, with its header name when there is one).

use std::path::{Path, PathBuf};

use crate::formats::source::{read_maybe_gzip, SourceError, MAX_DECOMPRESSED_BYTES};

/// Which column holds the labels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CsvLabel {
    /// The last column (the default).
    #[default]
    Last,
    /// A 0-based column index.
    Index(usize),
    /// A header name (requires a header).
    Name(String),
}

/// How to read a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// `Some(true)`: the first record is a header; `Some(false)`: it is data; `None`: a header
    /// when any of its cells is not a number.
    pub header: Option<bool>,
    /// The label column.
    pub label: CsvLabel,
    /// Field separator (`,`, `;`, `\t`, …).
    pub delimiter: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: None,
            label: CsvLabel::Last,
            delimiter: b',',
        }
    }
}

/// Why a CSV file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The file could not be read or decompressed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// No records (or only a header).
    #[error("{path}: {detail}")]
    Empty {
        /// The file.
        path: PathBuf,
        /// `empty file` or `a header but no data rows`.
        detail: &'static str,
    },
    /// A record with a different number of fields than the first.
    #[error(
        "{path}: line {row} has {found} columns, expected {expected} (as in line {first_row})"
    )]
    Ragged {
        /// The file.
        path: PathBuf,
        /// Line where the record starts (1-based).
        row: usize,
        /// Fields expected.
        expected: usize,
        /// Fields found.
        found: usize,
        /// The line the expected count comes from.
        first_row: usize,
    },
    /// A cell that is not a finite number.
    #[error("{path}: line {row}, column {column}{}: {text:?} is not a finite number", name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
    NonNumeric {
        /// The file.
        path: PathBuf,
        /// Line where the record starts (1-based).
        row: usize,
        /// Column (1-based).
        column: usize,
        /// The column's header name.
        name: Option<String>,
        /// The cell as written (truncated to 64 characters).
        text: String,
    },
    /// An unterminated quoted field.
    #[error("{path}: line {row}: a quoted field opened at byte offset {offset} is never closed")]
    Unterminated {
        /// The file.
        path: PathBuf,
        /// Line where the record starts.
        row: usize,
        /// Offset of the opening quote.
        offset: usize,
    },
    /// Text after a closing quote.
    #[error(
        "{path}: line {row}: unexpected {found:?} after a closing quote at byte offset {offset}"
    )]
    AfterQuote {
        /// The file.
        path: PathBuf,
        /// Line where the record starts.
        row: usize,
        /// Offset of the unexpected byte.
        offset: usize,
        /// The character.
        found: char,
    },
    /// The label column does not exist.
    #[error("{path}: label column {wanted}: {detail}")]
    LabelColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        wanted: String,
        /// Why it cannot be used.
        detail: String,
    },
}

/// A parsed table.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    /// Header names (all columns), if the file has a header.
    pub header: Option<Vec<String>>,
    /// Index of the label column among all columns.
    pub label_column: usize,
    /// Feature columns per row (all columns but the label).
    pub features: usize,
    /// Rows, row-major `rows × features`.
    pub x: Vec<f64>,
    /// The label column.
    pub y: Vec<f64>,
    /// The line (1-based) each row starts on, for error messages about labels.
    pub lines: Vec<usize>,
}

impl CsvTable {
    /// Number of data rows.
    pub fn rows(&self) -> usize {
        self.y.len()
    }

    /// Name of the label column (`column N` without a header).
    pub fn label_name(&self) -> String {
        match &self.header {
            Some(h) => h[self.label_column].clone(),
            None => format!("column {}", self.label_column + 1),
        }
    }
}

/// One record: the line it starts on and its fields (unquoted; unquoted fields trimmed).
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// Where the scanner is within a field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field.
    Start,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside a quoted field opened at this offset.
    Quoted(usize),
    /// After a quoted field's closing quote.
    AfterQuote,
}

/// Splits `bytes` into records (see the module documentation for the dialect).
fn records(bytes: &[u8], path: &Path, delim: u8) -> Result<Vec<Record>, CsvError> {
    let mut out = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field: Vec<u8> = Vec::new();
    let mut quoted = false;
    let (mut line, mut start_line) = (1, 1);
    let mut state = State::Start;
    let mut i = 0;
    let take = |field: &mut Vec<u8>, quoted: bool| {
        let s = String::from_utf8_lossy(field);
        let s = if quoted {
            s.into_owned()
        } else {
            s.trim().to_string()
        };
        field.clear();
        s
    };
    loop {
        let c = bytes.get(i).copied();
        if let State::Quoted(open) = state {
            match c {
                None => {
                    return Err(CsvError::Unterminated {
                        path: path.to_path_buf(),
                        row: start_line,
                        offset: open,
                    })
                }
                Some(b'"') if bytes.get(i + 1) == Some(&b'"') => {
                    field.push(b'"');
                    i += 2;
                }
                Some(b'"') => {
                    state = State::AfterQuote;
                    i += 1;
                }
                Some(b) => {
                    if b == b'\n' {
                        line += 1;
                    }
                    field.push(b);
                    i += 1;
                }
            }
            continue;
        }
        match c {
            None | Some(b'\n') | Some(b'\r') => {
                let blank =
                    fields.is_empty() && !quoted && field.iter().all(|b| b.is_ascii_whitespace());
                if blank {
                    field.clear();
                } else {
                    fields.push(take(&mut field, quoted));
                    out.push(Record {
                        line: start_line,
                        fields: std::mem::take(&mut fields),
                    });
                }
                if c.is_none() {
                    return Ok(out);
                }
                let (l, step) = end_of_line(bytes, i);
                line += l;
                i += step;
                start_line = line;
                state = State::Start;
                quoted = false;
            }
            Some(d) if d == delim => {
                fields.push(take(&mut field, quoted));
                state = State::Start;
                quoted = false;
                i += 1;
            }
            Some(b'"')
                if state == State::Start
                    || (state == State::Unquoted
                        && field.iter().all(|b| b.is_ascii_whitespace())) =>
            {
                field.clear();
                quoted = true;
                state = State::Quoted(i);
                i += 1;
            }
            Some(b) if state == State::AfterQuote => {
                if b == b' ' || b == b'\t' {
                    i += 1;
                } else {
                    return Err(CsvError::AfterQuote {
                        path: path.to_path_buf(),
                        row: start_line,
                        offset: i,
                        found: b as char,
                    });
                }
            }
            Some(b) => {
                field.push(b);
                state = State::Unquoted;
                i += 1;
            }
        }
    }
}

/// Lines advanced and bytes consumed by the line ending at `i` (`\n`, `\r\n` or `\r`), or
/// (0, 0) at the end of the input.
fn end_of_line(bytes: &[u8], i: usize) -> (usize, usize) {
    match bytes.get(i) {
        Some(b'\r') if bytes.get(i + 1) == Some(&b'\n') => (1, 2),
        Some(b'\r') | Some(b'\n') => (1, 1),
        _ => (0, 0),
    }
}

fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn clip(s: &str) -> String {
    if s.chars().count() > 64 {
        let mut t: String = s.chars().take(61).collect();
        t.push_str("...");
        t
    } else {
        s.to_string()
    }
}

/// Parses CSV bytes; `path` only names the source in errors.
pub fn parse_csv(bytes: &[u8], path: &Path, opts: &CsvOptions) -> Result<CsvTable, CsvError> {
    let p = || path.to_path_buf();
    let recs = records(bytes, path, opts.delimiter)?;
    let Some(first) = recs.first() else {
        return Err(CsvError::Empty {
            path: p(),
            detail: "empty file, expected rows of numbers",
        });
    };
    let columns = first.fields.len();
    let has_header = opts
        .header
        // A header is a first row with a field that does not parse as a number at all (a `nan`
        // cell is a number, rejected later with its line and column, not a header).
        .unwrap_or_else(|| {
            first
                .fields
                .iter()
                .any(|f| f.trim().parse::<f64>().is_err())
        });
    for r in &recs[1..] {
        if r.fields.len() != columns {
            return Err(CsvError::Ragged {
                path: p(),
                row: r.line,
                expected: columns,
                found: r.fields.len(),
                first_row: first.line,
            });
        }
    }
    let header = has_header.then(|| first.fields.clone());
    let data = if has_header { &recs[1..] } else { &recs[..] };
    if data.is_empty() {
        return Err(CsvError::Empty {
            path: p(),
            detail: "a header but no data rows",
        });
    }
    let label_column = match &opts.label {
        CsvLabel::Last => columns - 1,
        CsvLabel::Index(i) if *i < columns => *i,
        CsvLabel::Index(i) => {
            return Err(CsvError::LabelColumn {
                path: p(),
                wanted: format!("index {i}"),
                detail: format!("the file has {columns} columns (0-based indices 0..{columns})"),
            })
        }
        CsvLabel::Name(n) => match &header {
            Some(h) => h
                .iter()
                .position(|c| c == n)
                .ok_or_else(|| CsvError::LabelColumn {
                    path: p(),
                    wanted: format!("{n:?}"),
                    detail: format!("no such header; columns are {h:?}"),
                })?,
            None => {
                return Err(CsvError::LabelColumn {
                    path: p(),
                    wanted: format!("{n:?}"),
                    detail: "the file has no header row".into(),
                })
            }
        },
    };
    let features = columns - 1;
    let mut x = Vec::with_capacity(data.len() * features);
    let mut y = Vec::with_capacity(data.len());
    let mut lines = Vec::with_capacity(data.len());
    for r in data {
        for (j, f) in r.fields.iter().enumerate() {
            let v = number(f).ok_or_else(|| CsvError::NonNumeric {
                path: p(),
                row: r.line,
                column: j + 1,
                name: header.as_ref().map(|h| h[j].clone()),
                text: clip(f),
            })?;
            if j == label_column {
                y.push(v);
            } else {
                x.push(v);
            }
        }
        lines.push(r.line);
    }
    Ok(CsvTable {
        header,
        label_column,
        features,
        x,
        y,
        lines,
    })
}

/// Reads a CSV file (raw or gzip).
pub fn read_csv(path: &Path, opts: &CsvOptions) -> Result<CsvTable, CsvError> {
    let bytes = read_maybe_gzip(path, MAX_DECOMPRESSED_BYTES)?;
    parse_csv(&bytes, path, opts)
}
