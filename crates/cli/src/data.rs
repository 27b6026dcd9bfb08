//! `learnscope data inspect PATH`: what a data file or directory holds (format, element type,
//! shapes, value range, class counts), or the precise reason it is unusable (exit 2).
//!
//! Files: IDX, CIFAR-10/100 binary batches, NPY, NPZ (every member), CSV — raw or gzip; the
//! format is detected from the name and the first bytes (`--format` overrides). Directories:
//! the MNIST layout (MNIST, Fashion-MNIST) and CIFAR-10/100 binary layouts are loaded as data
//! sets and summarised per split.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Result};
use learnscope_data::formats::cifar::{parse_cifar, CifarKind, CIFAR_SHAPE};
use learnscope_data::formats::csv::{parse_csv, CsvLabel, CsvOptions};
use learnscope_data::formats::detect::{detect_format, FileFormat};
use learnscope_data::formats::idx::parse_idx;
use learnscope_data::formats::npy::{
    parse_npy, parse_npy_header, NpyArray, NpyDtype, NpyHeader, NpyValues,
};
use learnscope_data::formats::npz::NpzArchive;
use learnscope_data::formats::{read_maybe_gzip, MAX_DECOMPRESSED_BYTES};
use learnscope_data::named::{detect_data_dir, CifarLabels, CifarSpec, DataDir, IdxSpec};
use learnscope_data::{Dataset, InMemoryDataset, InputStorage, Split, TargetData};

/// `learnscope data …`.
#[derive(clap::Subcommand, Debug)]
pub enum DataCommand {
    /// Describe a data file or directory, or say why it cannot be used.
    Inspect {
        /// The file (IDX, CIFAR .bin, .npy, .npz, .csv; raw or .gz) or directory (MNIST or
        /// CIFAR layout).
        path: PathBuf,
        /// The format, instead of detecting it: idx, cifar10, cifar100, npy, npz, csv.
        #[arg(long)]
        format: Option<String>,
        /// CSV: the label column, a header name or a 0-based index (default: the last).
        #[arg(long)]
        label: Option<String>,
        /// CSV: the field separator (default `,`; tab for `.tsv`).
        #[arg(long)]
        delimiter: Option<char>,
    },
}

/// Runs `learnscope data`.
pub fn run(cmd: &DataCommand) -> Result<i32> {
    match cmd {
        DataCommand::Inspect {
            path,
            format,
            label,
            delimiter,
        } => {
            if path.is_dir() {
                return inspect_dir(path);
            }
            let bytes = read_maybe_gzip(path, MAX_DECOMPRESSED_BYTES)?;
            let fmt = match format.as_deref() {
                None => detect_format(path, &bytes).ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: unrecognised format ({} bytes starting {:02x?}); expected IDX, CIFAR \
                         binary, NPY, NPZ or CSV (or name one with --format)",
                        path.display(),
                        bytes.len(),
                        &bytes[..bytes.len().min(8)]
                    )
                })?,
                Some("idx") => FileFormat::Idx,
                Some("cifar10") => FileFormat::Cifar(CifarKind::Cifar10),
                Some("cifar100") => FileFormat::Cifar(CifarKind::Cifar100),
                Some("npy") => FileFormat::Npy,
                Some("npz") => FileFormat::Npz,
                Some("csv") => FileFormat::Csv { delimiter: b',' },
                Some(other) => {
                    bail!("--format {other}: expected one of idx, cifar10, cifar100, npy, npz, csv")
                }
            };
            match fmt {
                FileFormat::Idx => inspect_idx(path, &bytes),
                FileFormat::Cifar(kind) => inspect_cifar(path, &bytes, kind),
                FileFormat::Npy => inspect_npy(path, &bytes),
                FileFormat::Npz => inspect_npz(path, bytes),
                FileFormat::Csv { delimiter: d } => {
                    let label = match label.as_deref() {
                        None => CsvLabel::Last,
                        Some(l) => l
                            .parse::<usize>()
                            .map_or_else(|_| CsvLabel::Name(l.to_string()), CsvLabel::Index),
                    };
                    let delimiter = match delimiter {
                        Some(c) if c.is_ascii() => *c as u8,
                        Some(c) => bail!("--delimiter {c:?}: must be one ASCII character"),
                        None => d,
                    };
                    let opts = CsvOptions {
                        header: None,
                        label,
                        delimiter,
                    };
                    inspect_csv(path, &bytes, &opts)
                }
            }
        }
    }
}

/// `N in [lo, hi]`, plus counts of NaN and infinite values.
fn range(values: impl Iterator<Item = f64>) -> String {
    let (mut n, mut nan, mut inf) = (0usize, 0usize, 0usize);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        n += 1;
        if v.is_nan() {
            nan += 1;
        } else if v.is_infinite() {
            inf += 1;
        } else {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let mut s = if n == 0 {
        "0 values".to_string()
    } else if n == nan + inf {
        format!("{n} (no finite values)")
    } else {
        format!("{n} in [{lo}, {hi}]")
    };
    if nan > 0 {
        s.push_str(&format!(", {nan} NaN"));
    }
    if inf > 0 {
        s.push_str(&format!(", {inf} infinite"));
    }
    s
}

/// `0:16 1:16 …` when every value is a small non-negative integer.
fn label_counts(values: impl Iterator<Item = f64>) -> Option<String> {
    let mut counts = BTreeMap::new();
    for v in values {
        if !(v.fract() == 0.0 && (0.0..1e6).contains(&v)) {
            return None;
        }
        *counts.entry(v as u64).or_insert(0usize) += 1;
    }
    (!counts.is_empty()).then(|| {
        counts
            .iter()
            .map(|(k, n)| format!("{k}:{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn inspect_idx(path: &Path, bytes: &[u8]) -> Result<i32> {
    let a = parse_idx(bytes, path)?;
    println!(
        "{}: IDX, element type {:?}, shape {:?}",
        path.display(),
        a.elem,
        a.dims
    );
    println!("values: {}", range(a.values.iter().copied()));
    if a.dims.len() == 1 {
        if let Some(c) = label_counts(a.values.iter().copied()) {
            println!("label counts: {c}");
        }
    }
    Ok(0)
}

fn inspect_cifar(path: &Path, bytes: &[u8], kind: CifarKind) -> Result<i32> {
    let b = parse_cifar(bytes, path, kind)?;
    println!(
        "{}: {} binary, {} images of shape {:?} (u8, CHW), records of {} bytes",
        path.display(),
        kind.name(),
        b.len(),
        CIFAR_SHAPE,
        kind.record_size()
    );
    println!("pixels: {}", range(b.pixels.iter().map(|&p| p as f64)));
    let counts = |l: &[u32]| label_counts(l.iter().map(|&v| v as f64)).unwrap_or_default();
    match kind {
        CifarKind::Cifar10 => println!("label counts: {}", counts(&b.labels)),
        CifarKind::Cifar100 => {
            println!("coarse label counts: {}", counts(&b.coarse));
            println!("fine label counts: {}", counts(&b.labels));
        }
    }
    Ok(0)
}

/// `<f4 (f32)`, `|u1 (u8)`, `>i8 (i64)`.
fn dtype_text(h: &NpyHeader) -> String {
    let order = match (h.dtype.size(), h.big_endian) {
        (1, _) => '|',
        (_, true) => '>',
        _ => '<',
    };
    format!("{order}{} ({})", h.dtype.code(), dtype_kind(h.dtype))
}

fn dtype_kind(t: NpyDtype) -> &'static str {
    match t {
        NpyDtype::Bool => "bool",
        NpyDtype::U8 => "u8",
        NpyDtype::I8 => "i8",
        NpyDtype::I16 => "i16",
        NpyDtype::U16 => "u16",
        NpyDtype::I32 => "i32",
        NpyDtype::U32 => "u32",
        NpyDtype::I64 => "i64",
        NpyDtype::F32 => "f32",
        NpyDtype::F64 => "f64",
    }
}

fn values_iter(a: &NpyArray) -> Box<dyn Iterator<Item = f64> + '_> {
    match &a.values {
        NpyValues::U8(v) => Box::new(v.iter().map(|&x| x as f64)),
        NpyValues::I64(v) => Box::new(v.iter().map(|&x| x as f64)),
        NpyValues::F32(v) => Box::new(v.iter().map(|&x| x as f64)),
        NpyValues::F64(v) => Box::new(v.iter().copied()),
    }
}

/// One line describing an array (after its header), and its label counts if 1-D integer.
fn describe_array(a: &NpyArray) -> (String, Option<String>) {
    let line = format!("values: {}", range(values_iter(a)));
    let labels = (a.dtype.is_integer() && (a.shape.len() == 1 || a.shape == [a.len(), 1]))
        .then(|| label_counts(values_iter(a)))
        .flatten();
    (line, labels)
}

fn inspect_npy(path: &Path, bytes: &[u8]) -> Result<i32> {
    let h = parse_npy_header(bytes, path)?;
    let a = parse_npy(bytes, path)?;
    println!(
        "{}: NPY {}.{}, dtype {}, shape {:?}, {}",
        path.display(),
        h.version.0,
        h.version.1,
        dtype_text(&h),
        h.shape,
        if h.fortran_order {
            "Fortran order (one-dimensional)"
        } else {
            "C order"
        }
    );
    let (line, labels) = describe_array(&a);
    println!("{line}");
    if let Some(c) = labels {
        println!("label counts: {c}");
    }
    Ok(0)
}

fn inspect_npz(path: &Path, bytes: Vec<u8>) -> Result<i32> {
    let z = NpzArchive::parse(bytes, path)?;
    println!("{}: NPZ, {} members", path.display(), z.entries().len());
    let mut first_error = None;
    for e in z.entries() {
        let how = match e.method {
            0 => format!("stored, {} bytes", e.uncompressed),
            8 => format!("deflate, {} → {} bytes", e.compressed, e.uncompressed),
            m => format!("method {m}"),
        };
        let result = z.array(&e.name).and_then(|a| {
            let bytes = z.member_bytes(&e.name)?;
            let label = PathBuf::from(format!("{}:{}", path.display(), e.name));
            Ok((parse_npy_header(&bytes, &label)?, a))
        });
        match result {
            Ok((h, a)) => {
                let (line, labels) = describe_array(&a);
                println!(
                    "  {}: dtype {}, shape {:?}, {how}; {line}",
                    e.array_name(),
                    dtype_text(&h),
                    h.shape
                );
                if let Some(c) = labels {
                    println!("    label counts: {c}");
                }
            }
            Err(err) => {
                println!("  {}: unusable: {err}", e.array_name());
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(0),
    }
}

fn inspect_csv(path: &Path, bytes: &[u8], opts: &CsvOptions) -> Result<i32> {
    let t = parse_csv(bytes, path, opts)?;
    let header = match &t.header {
        Some(h) => format!("header {h:?}"),
        None => "no header".into(),
    };
    println!(
        "{}: CSV, {header}, {} rows × {} columns: {} features, label column {:?} (column {})",
        path.display(),
        t.rows(),
        t.features + 1,
        t.features,
        t.label_name(),
        t.label_column + 1
    );
    println!("features: {}", range(t.x.iter().copied()));
    match label_counts(t.y.iter().copied()) {
        Some(c) => println!("label counts: {c}"),
        None => println!("labels (real-valued): {}", range(t.y.iter().copied())),
    }
    Ok(0)
}

/// The value range of stored inputs, without converting them all.
fn storage_range(s: &InputStorage) -> String {
    match s {
        InputStorage::U8 {
            bytes,
            scale,
            offset,
        } => {
            let lo = bytes.iter().min().copied().unwrap_or(0) as f64 * scale + offset;
            let hi = bytes.iter().max().copied().unwrap_or(0) as f64 * scale + offset;
            let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
            format!(
                "{} bytes in [{lo}, {hi}] (byte × {scale} + {offset})",
                bytes.len()
            )
        }
        InputStorage::F32(v) => range(v.iter().map(|&x| x as f64)),
        InputStorage::F64(v) => range(v.iter().copied()),
    }
}

fn summarise(ds: &InMemoryDataset, secs: f64) {
    let spec = ds.spec();
    for split in [Split::Train, Split::Test] {
        let x = ds.inputs(split);
        println!(
            "{}: {} examples of shape {:?}, stored as {} ({} MB)",
            split.name(),
            spec.len(split),
            spec.input_shape,
            x.dtype_name(),
            x.bytes_held() / 1_000_000
        );
        println!("  inputs: {}", storage_range(x));
        if let TargetData::Classes(l) = ds.targets(split) {
            let c = label_counts(l.iter().map(|&v| v as f64)).unwrap_or_default();
            println!("  label counts: {c}");
        }
    }
    println!("loaded in {secs:.2} s");
}

fn inspect_dir(dir: &Path) -> Result<i32> {
    let t = Instant::now();
    match detect_data_dir(dir) {
        Some(DataDir::MnistLayout) => {
            let mut spec = IdxSpec::mnist_layout("mnist-layout", dir)?;
            // Accept any byte label here; the counts show how many classes there are.
            spec.classes = 256;
            let ds = spec.load()?;
            println!(
                "{}: MNIST-layout directory (IDX; MNIST, Fashion-MNIST, KMNIST)",
                dir.display()
            );
            summarise(&ds, t.elapsed().as_secs_f64());
        }
        Some(DataDir::Cifar(kind)) => {
            let spec = match kind {
                CifarKind::Cifar10 => CifarSpec::cifar10(dir),
                CifarKind::Cifar100 => CifarSpec::cifar100(dir, CifarLabels::Fine),
            };
            let ds = spec.load()?;
            println!("{}: {} binary directory", dir.display(), kind.name());
            if kind == CifarKind::Cifar100 {
                println!("(fine labels; the coarse labels are in the same files)");
            }
            summarise(&ds, t.elapsed().as_secs_f64());
        }
        None => {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            let shown = names.len().min(10);
            bail!(
                "{}: not a recognised data directory: expected the MNIST layout \
                 (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], \
                 t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]), \
                 cifar-10-batches-bin/ (data_batch_1..5.bin, test_batch.bin) or \
                 cifar-100-binary/ (train.bin, test.bin); found {} entries{}{}",
                dir.display(),
                names.len(),
                if shown > 0 { ": " } else { "" },
                names[..shown].join(", ") + if names.len() > shown { ", …" } else { "" }
            );
        }
    }
    Ok(0)
}
