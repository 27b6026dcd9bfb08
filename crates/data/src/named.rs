//! Data sets read from files in their standard layouts.
//!
//! - IDX pairs (MNIST-style): images `[n, …]` of any IDX type and u8 labels, raw or gzip. Pixel
//!   values are multiplied by `scale` (default 1/255: u8 images land in [0, 1]).
//! - `fashion_mnist` and `mnist`: a directory holding `train-images-idx3-ubyte[.gz]`,
//!   `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`.
//!   Fashion-MNIST's default directory is `$LEARNSCOPE_DATA/fashion-mnist` when that variable is
//!   set, else `/usr/share/datasets/fashion-mnist` (Debian's `dataset-fashion-mnist`).
//! - `cifar10` and `cifar100` ([`CifarSpec`]): the binary distributions, a directory
//!   `cifar-10-batches-bin/` (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`) or
//!   `cifar-100-binary/` (`train.bin`, `test.bin`), given as that directory or its parent.
//!   Inputs `[3, 32, 32]` (CHW), bytes scaled by 1/255; CIFAR-100 uses fine or coarse labels.
//! - Arrays from `.npy` / `.npz` files ([`NpyDataSpec`]; `file.npz:member` names a member) and
//!   numeric CSV tables ([`CsvDataSpec`]), with class labels (checked to lie in `0..classes`,
//!   `classes` given or the largest label + 1) or dense real targets.
//!
//! `limit_train` / `limit_test` keep the first n examples of a split (for quick runs). Inputs
//! stored as bytes in the file stay bytes in memory ([`InputStorage::U8`]).

use std::path::{Path, PathBuf};

use crate::dataset::{DatasetSpec, InMemoryDataset, InputStorage, TargetData, TargetKind};
use crate::formats::cifar::{
    read_cifar, CifarBatch, CifarError, CifarKind, CIFAR_PIXELS, CIFAR_SHAPE,
};
use crate::formats::csv::{read_csv, CsvError, CsvLabel, CsvOptions};
use crate::formats::idx::{read_idx_labels, read_idx_raw, IdxError, IdxType};
use crate::formats::npy::{read_npy, NpyArray, NpyError, NpyValues};
use crate::formats::npz::{read_npz, read_npz_member, NpzError};

/// The four files of an MNIST-layout directory, preferring `.gz` when both exist.
pub fn mnist_layout_files(dir: &Path) -> Result<[PathBuf; 4], IdxError> {
    let names = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];
    let mut out: Vec<PathBuf> = Vec::new();
    for n in names {
        let gz = dir.join(format!("{n}.gz"));
        let raw = dir.join(n);
        out.push(if gz.is_file() { gz } else { raw });
    }
    Ok(out.try_into().expect("four names"))
}

/// The default Fashion-MNIST directory (see the module documentation).
pub fn default_fashion_mnist_dir() -> PathBuf {
    match std::env::var_os("LEARNSCOPE_DATA") {
        Some(root) => PathBuf::from(root).join("fashion-mnist"),
        None => PathBuf::from("/usr/share/datasets/fashion-mnist"),
    }
}

/// One split as read: per-example shape, inputs, labels.
type SplitArrays = (Vec<usize>, InputStorage, Vec<u32>);

/// An IDX data set.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxSpec {
    /// Name for manifests.
    pub name: String,
    /// Training images.
    pub train_images: PathBuf,
    /// Training labels.
    pub train_labels: PathBuf,
    /// Test images.
    pub test_images: PathBuf,
    /// Test labels.
    pub test_labels: PathBuf,
    /// Number of classes.
    pub classes: usize,
    /// Factor applied to every pixel.
    pub scale: f64,
    /// Keep at most this many training examples.
    pub limit_train: Option<usize>,
    /// Keep at most this many test examples.
    pub limit_test: Option<usize>,
}

impl IdxSpec {
    /// An MNIST-layout directory with 10 classes and 1/255 scaling.
    pub fn mnist_layout(name: &str, dir: &Path) -> Result<Self, IdxError> {
        let [a, b, c, d] = mnist_layout_files(dir)?;
        Ok(IdxSpec {
            name: name.to_string(),
            train_images: a,
            train_labels: b,
            test_images: c,
            test_labels: d,
            classes: 10,
            scale: 1.0 / 255.0,
            limit_train: None,
            limit_test: None,
        })
    }

    /// The files this data set reads.
    pub fn files(&self) -> Vec<PathBuf> {
        vec![
            self.train_images.clone(),
            self.train_labels.clone(),
            self.test_images.clone(),
            self.test_labels.clone(),
        ]
    }

    /// Reads the four files (train and test in parallel). u8 images are kept as bytes with
    /// `scale` applied when gathered; other element types are converted to f64 and scaled.
    pub fn load(&self) -> Result<InMemoryDataset, IdxError> {
        let split =
            |images: &Path, labels: &Path, limit: Option<usize>| -> Result<SplitArrays, IdxError> {
                let x = read_idx_raw(images)?;
                let dims = x.header.dims.clone();
                let mut y = read_idx_labels(labels, images, dims[0], self.classes)?;
                let n = limit.map_or(dims[0], |l| l.min(dims[0]));
                let per: usize = dims[1..].iter().product();
                y.truncate(n);
                let mut inputs = if x.header.elem == IdxType::U8 {
                    InputStorage::U8 {
                        bytes: x.into_payload(),
                        scale: self.scale,
                        offset: 0.0,
                    }
                } else {
                    InputStorage::F64(x.values().iter().map(|v| v * self.scale).collect())
                };
                inputs.truncate(n * per);
                Ok((dims[1..].to_vec(), inputs, y))
            };
        let (train, test) = std::thread::scope(|s| {
            let test = s.spawn(|| split(&self.test_images, &self.test_labels, self.limit_test));
            let train = split(&self.train_images, &self.train_labels, self.limit_train);
            (train, test.join())
        });
        let (shape, xtr, ytr) = train?;
        let (shape_te, xte, yte) = test.unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        if shape != shape_te {
            return Err(IdxError::BadLabels {
                path: self.test_images.clone(),
                detail: format!("test images are {shape_te:?}, training images {shape:?}"),
            });
        }
        let spec = DatasetSpec {
            name: self.name.clone(),
            input_shape: shape,
            target: TargetKind::Classes {
                classes: self.classes,
            },
            train_len: ytr.len(),
            test_len: yte.len(),
        };
        let ds = InMemoryDataset::from_storage(
            spec,
            (xtr, TargetData::Classes(ytr)),
            (xte, TargetData::Classes(yte)),
        )
        .expect("sizes and labels checked while reading");
        Ok(ds.with_files(self.files()))
    }
}

/// Why a data set could not be built from its files.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// An IDX file.
    #[error(transparent)]
    Idx(#[from] IdxError),
    /// A CIFAR file or directory.
    #[error(transparent)]
    Cifar(#[from] CifarError),
    /// A `.npy` file.
    #[error(transparent)]
    Npy(#[from] NpyError),
    /// A `.npz` archive.
    #[error(transparent)]
    Npz(#[from] NpzError),
    /// A CSV file.
    #[error(transparent)]
    Csv(#[from] CsvError),
    /// Inputs and targets of a split disagree in count.
    #[error("{inputs} has {n_inputs} examples but {targets} has {n_targets}")]
    CountMismatch {
        /// The inputs' source.
        inputs: String,
        /// Their count.
        n_inputs: usize,
        /// The targets' source.
        targets: String,
        /// Their count.
        n_targets: usize,
    },
    /// An array or table of the wrong shape.
    #[error("{source_name}: {detail}")]
    Shape {
        /// The source (file, `file.npz:member`).
        source_name: String,
        /// Expected versus found.
        detail: String,
    },
    /// A class label that is not an integer in range.
    #[error("{source_name}: label {found} at {location} is not {expected}")]
    Label {
        /// The source.
        source_name: String,
        /// `line 7`, `element 3`.
        location: String,
        /// The value.
        found: f64,
        /// What a label must be.
        expected: String,
    },
}

/// What the targets of a file data set are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileTargets {
    /// Integer class labels in `0..classes`; `None`: the largest label + 1.
    Classes {
        /// Number of classes.
        classes: Option<usize>,
    },
    /// Real targets (regression), one or more per example.
    Dense,
}

impl Default for FileTargets {
    fn default() -> Self {
        FileTargets::Classes { classes: None }
    }
}

/// Class labels of both splits from real values, each checked to be an integer in
/// `0..classes`; `what(split, i)` names (source, location) of label `i` in errors.
fn class_labels(
    train: &[f64],
    test: &[f64],
    classes: Option<usize>,
    what: impl Fn(usize, usize) -> (String, String),
) -> Result<(usize, Vec<u32>, Vec<u32>), LoadError> {
    let limit = classes.unwrap_or(1 << 24);
    let mut max = 0usize;
    let mut out = [
        Vec::with_capacity(train.len()),
        Vec::with_capacity(test.len()),
    ];
    for (s, values) in [train, test].into_iter().enumerate() {
        for (i, &v) in values.iter().enumerate() {
            if !(v >= 0.0 && v.fract() == 0.0 && v < limit as f64) {
                let (source_name, location) = what(s, i);
                return Err(LoadError::Label {
                    source_name,
                    location,
                    found: v,
                    expected: match classes {
                        Some(c) => format!("an integer in 0..{c}"),
                        None => format!("a non-negative integer below {limit}"),
                    },
                });
            }
            max = max.max(v as usize);
            out[s].push(v as u32);
        }
    }
    let [tr, te] = out;
    let classes = classes.unwrap_or(max + 1);
    Ok((classes, tr, te))
}

/// `file.npz:member` split into the archive and the member; other paths unchanged.
pub fn split_npz_member(source: &str) -> (PathBuf, Option<String>) {
    if let Some((file, member)) = source.rsplit_once(':') {
        if file.to_ascii_lowercase().ends_with(".npz") && !member.is_empty() {
            return (PathBuf::from(file), Some(member.to_string()));
        }
    }
    (PathBuf::from(source), None)
}

/// Reads an array from `path.npy` or `path.npz:member`.
pub fn read_array(source: &str) -> Result<NpyArray, LoadError> {
    match split_npz_member(source) {
        (path, Some(member)) => Ok(read_npz_member(&path, &member)?),
        (path, None) if source.to_ascii_lowercase().ends_with(".npz") => {
            let archive = read_npz(&path)?;
            let names: Vec<String> = archive
                .entries()
                .iter()
                .map(|e| e.array_name().to_string())
                .collect();
            match names.as_slice() {
                [only] => Ok(archive.array(only)?),
                _ => Err(LoadError::Shape {
                    source_name: source.to_string(),
                    detail: format!(
                        "an archive of {} members; name one as {source}:MEMBER (members: {})",
                        names.len(),
                        names.join(", ")
                    ),
                }),
            }
        }
        (path, None) => Ok(read_npy(&path)?),
    }
}

/// Inputs from an array: bytes stay bytes (scaled when gathered), f32 stays f32 when `scale`
/// is 1, everything else becomes scaled f64.
fn array_inputs(values: NpyValues, scale: f64) -> InputStorage {
    match values {
        NpyValues::U8(bytes) => InputStorage::U8 {
            bytes,
            scale,
            offset: 0.0,
        },
        NpyValues::F32(v) if scale == 1.0 => InputStorage::F32(v),
        NpyValues::F32(v) => InputStorage::F64(v.iter().map(|&x| x as f64 * scale).collect()),
        NpyValues::F64(v) if scale == 1.0 => InputStorage::F64(v),
        NpyValues::F64(v) => InputStorage::F64(v.iter().map(|&x| x * scale).collect()),
        NpyValues::I64(v) => InputStorage::F64(v.iter().map(|&x| x as f64 * scale).collect()),
    }
}

/// A data set from NumPy arrays: inputs `[n, …]` and targets `[n]` (classes) or `[n]` /
/// `[n, k]` (dense), for both splits. Each source is a `.npy` path or `file.npz:member`.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyDataSpec {
    /// Name for manifests.
    pub name: String,
    /// Training inputs.
    pub train_x: String,
    /// Training targets.
    pub train_y: String,
    /// Test inputs.
    pub test_x: String,
    /// Test targets.
    pub test_y: String,
    /// Class labels or dense targets.
    pub targets: FileTargets,
    /// Factor applied to every input value (e.g. 1/255 for u8 images).
    pub scale: f64,
    /// Keep at most this many training examples.
    pub limit_train: Option<usize>,
    /// Keep at most this many test examples.
    pub limit_test: Option<usize>,
}

impl NpyDataSpec {
    /// Class labels (classes from the data), scale 1, no limits.
    pub fn new(name: &str, train_x: &str, train_y: &str, test_x: &str, test_y: &str) -> Self {
        NpyDataSpec {
            name: name.to_string(),
            train_x: train_x.to_string(),
            train_y: train_y.to_string(),
            test_x: test_x.to_string(),
            test_y: test_y.to_string(),
            targets: FileTargets::default(),
            scale: 1.0,
            limit_train: None,
            limit_test: None,
        }
    }

    /// The distinct files read.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for s in [&self.train_x, &self.train_y, &self.test_x, &self.test_y] {
            let p = split_npz_member(s).0;
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// Reads the arrays and checks shapes, counts and labels.
    pub fn load(&self) -> Result<InMemoryDataset, LoadError> {
        type Split = (Vec<usize>, InputStorage, NpyArray);
        let split = |xs: &str, ys: &str, limit: Option<usize>| -> Result<Split, LoadError> {
            let x = read_array(xs)?;
            let y = read_array(ys)?;
            if x.shape.is_empty() {
                return Err(LoadError::Shape {
                    source_name: xs.to_string(),
                    detail: "a scalar, expected inputs [n, ...]".into(),
                });
            }
            let n = x.shape[0];
            let ny = y.shape.first().copied().unwrap_or(0);
            if y.shape.is_empty() || ny != n {
                return Err(LoadError::CountMismatch {
                    inputs: xs.to_string(),
                    n_inputs: n,
                    targets: ys.to_string(),
                    n_targets: ny,
                });
            }
            let keep = limit.map_or(n, |l| l.min(n));
            let mut shape = x.shape[1..].to_vec();
            if shape.is_empty() {
                shape.push(1);
            }
            let per: usize = shape.iter().product();
            let mut inputs = array_inputs(x.values, self.scale);
            inputs.truncate(keep * per);
            let mut y = y;
            let k = y.len() / n.max(1);
            y = NpyArray {
                values: truncate_values(y.values, keep * k),
                shape: {
                    let mut s = y.shape.clone();
                    s[0] = keep;
                    s
                },
                ..y
            };
            Ok((shape, inputs, y))
        };
        let (train, test) = std::thread::scope(|s| {
            let test = s.spawn(|| split(&self.test_x, &self.test_y, self.limit_test));
            let train = split(&self.train_x, &self.train_y, self.limit_train);
            (train, test.join())
        });
        let (shape, xtr, ytr) = train?;
        let (shape_te, xte, yte) = test.unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        let (n_train, n_test) = (ytr.shape[0], yte.shape[0]);
        if shape != shape_te {
            return Err(LoadError::Shape {
                source_name: self.test_x.clone(),
                detail: format!(
                    "test examples have shape {shape_te:?}, training examples {shape:?} ({})",
                    self.train_x
                ),
            });
        }
        let (target, ytr, yte) = match self.targets {
            FileTargets::Classes { classes } => {
                for (y, src) in [(&ytr, &self.train_y), (&yte, &self.test_y)] {
                    let ok = y.shape.len() == 1 || (y.shape.len() == 2 && y.shape[1] == 1);
                    if !ok {
                        return Err(LoadError::Shape {
                            source_name: src.clone(),
                            detail: format!(
                                "class labels must be [n] or [n, 1], found {:?}",
                                y.shape
                            ),
                        });
                    }
                }
                let what = |s: usize, i: usize| {
                    let src = if s == 0 { &self.train_y } else { &self.test_y };
                    (src.clone(), format!("element {i}"))
                };
                let (classes, tr, te) =
                    class_labels(&ytr.values.to_f64(), &yte.values.to_f64(), classes, what)?;
                (
                    TargetKind::Classes { classes },
                    TargetData::Classes(tr),
                    TargetData::Classes(te),
                )
            }
            FileTargets::Dense => {
                let outputs = |y: &NpyArray, src: &str| match y.shape.len() {
                    1 => Ok(1),
                    2 => Ok(y.shape[1]),
                    _ => Err(LoadError::Shape {
                        source_name: src.to_string(),
                        detail: format!("dense targets must be [n] or [n, k], found {:?}", y.shape),
                    }),
                };
                let k = outputs(&ytr, &self.train_y)?;
                let k_te = outputs(&yte, &self.test_y)?;
                if k != k_te {
                    return Err(LoadError::Shape {
                        source_name: self.test_y.clone(),
                        detail: format!("{k_te} targets per example, training has {k}"),
                    });
                }
                (
                    TargetKind::Dense { outputs: k },
                    TargetData::Dense(ytr.values.to_f64()),
                    TargetData::Dense(yte.values.to_f64()),
                )
            }
        };
        let spec = DatasetSpec {
            name: self.name.clone(),
            input_shape: shape,
            target,
            train_len: n_train,
            test_len: n_test,
        };
        let ds = InMemoryDataset::from_storage(spec, (xtr, ytr), (xte, yte))
            .expect("shapes, counts and labels checked while reading");
        Ok(ds.with_files(self.files()))
    }
}

fn truncate_values(v: NpyValues, n: usize) -> NpyValues {
    match v {
        NpyValues::U8(mut x) => {
            x.truncate(n);
            NpyValues::U8(x)
        }
        NpyValues::I64(mut x) => {
            x.truncate(n);
            NpyValues::I64(x)
        }
        NpyValues::F32(mut x) => {
            x.truncate(n);
            NpyValues::F32(x)
        }
        NpyValues::F64(mut x) => {
            x.truncate(n);
            NpyValues::F64(x)
        }
    }
}

/// A data set from two CSV tables (train and test) with the same columns.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvDataSpec {
    /// Name for manifests.
    pub name: String,
    /// Training table.
    pub train: PathBuf,
    /// Test table.
    pub test: PathBuf,
    /// The label (target) column; default the last.
    pub label: CsvLabel,
    /// Header row: `Some(true)`/`Some(false)`, or `None` to detect it.
    pub header: Option<bool>,
    /// Field separator.
    pub delimiter: u8,
    /// Class labels or dense (regression) targets.
    pub targets: FileTargets,
    /// Keep at most this many training rows.
    pub limit_train: Option<usize>,
    /// Keep at most this many test rows.
    pub limit_test: Option<usize>,
}

impl CsvDataSpec {
    /// Comma-separated, header detected, label in the last column, classes from the data.
    pub fn new(name: &str, train: &Path, test: &Path) -> Self {
        CsvDataSpec {
            name: name.to_string(),
            train: train.to_path_buf(),
            test: test.to_path_buf(),
            label: CsvLabel::Last,
            header: None,
            delimiter: b',',
            targets: FileTargets::default(),
            limit_train: None,
            limit_test: None,
        }
    }

    /// The parsing options.
    pub fn options(&self) -> CsvOptions {
        CsvOptions {
            header: self.header,
            label: self.label.clone(),
            delimiter: self.delimiter,
        }
    }

    /// Reads both tables and checks columns and labels.
    pub fn load(&self) -> Result<InMemoryDataset, LoadError> {
        let opts = self.options();
        let (train, test) = std::thread::scope(|s| {
            let test = s.spawn(|| read_csv(&self.test, &opts));
            (read_csv(&self.train, &opts), test.join())
        });
        let mut train = train?;
        let mut test = test.unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        if train.features != test.features {
            return Err(LoadError::Shape {
                source_name: self.test.display().to_string(),
                detail: format!(
                    "{} feature columns, {} has {}",
                    test.features,
                    self.train.display(),
                    train.features
                ),
            });
        }
        for (t, limit) in [(&mut train, self.limit_train), (&mut test, self.limit_test)] {
            if let Some(l) = limit {
                let keep = l.min(t.rows());
                t.x.truncate(keep * t.features);
                t.y.truncate(keep);
                t.lines.truncate(keep);
            }
        }
        let d = train.features;
        let (target, ytr, yte) = match self.targets {
            FileTargets::Classes { classes } => {
                let what = |s: usize, i: usize| {
                    let (t, p) = if s == 0 {
                        (&train, &self.train)
                    } else {
                        (&test, &self.test)
                    };
                    (
                        format!("{} (column {})", p.display(), t.label_name()),
                        format!("line {}", t.lines[i]),
                    )
                };
                let (classes, tr, te) = class_labels(&train.y, &test.y, classes, what)?;
                (
                    TargetKind::Classes { classes },
                    TargetData::Classes(tr),
                    TargetData::Classes(te),
                )
            }
            FileTargets::Dense => (
                TargetKind::Dense { outputs: 1 },
                TargetData::Dense(train.y.clone()),
                TargetData::Dense(test.y.clone()),
            ),
        };
        let spec = DatasetSpec {
            name: self.name.clone(),
            input_shape: vec![d],
            target,
            train_len: train.rows(),
            test_len: test.rows(),
        };
        let ds = InMemoryDataset::from_storage(
            spec,
            (InputStorage::F64(train.x), ytr),
            (InputStorage::F64(test.x), yte),
        )
        .expect("columns and labels checked while reading");
        Ok(ds.with_files(vec![self.train.clone(), self.test.clone()]))
    }
}

/// CIFAR-100 label granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CifarLabels {
    /// 100 fine classes.
    #[default]
    Fine,
    /// 20 coarse superclasses.
    Coarse,
}

/// A CIFAR-10 or CIFAR-100 binary directory.
#[derive(Debug, Clone, PartialEq)]
pub struct CifarSpec {
    /// Name for manifests (`cifar10`, `cifar100`).
    pub name: String,
    /// `cifar-10-batches-bin/` / `cifar-100-binary/` or its parent.
    pub dir: PathBuf,
    /// Which layout.
    pub kind: CifarKind,
    /// CIFAR-100: fine or coarse labels (ignored for CIFAR-10).
    pub labels: CifarLabels,
    /// Factor applied to every pixel (default 1/255).
    pub scale: f64,
    /// Keep at most this many training examples.
    pub limit_train: Option<usize>,
    /// Keep at most this many test examples.
    pub limit_test: Option<usize>,
}

impl CifarSpec {
    /// `cifar10` from a directory.
    pub fn cifar10(dir: &Path) -> Self {
        CifarSpec {
            name: "cifar10".into(),
            dir: dir.to_path_buf(),
            kind: CifarKind::Cifar10,
            labels: CifarLabels::Fine,
            scale: 1.0 / 255.0,
            limit_train: None,
            limit_test: None,
        }
    }

    /// `cifar100` from a directory, with fine or coarse labels.
    pub fn cifar100(dir: &Path, labels: CifarLabels) -> Self {
        CifarSpec {
            name: "cifar100".into(),
            kind: CifarKind::Cifar100,
            labels,
            ..Self::cifar10(dir)
        }
    }

    /// The standard inner directory name.
    pub fn inner_dir_name(kind: CifarKind) -> &'static str {
        match kind {
            CifarKind::Cifar10 => "cifar-10-batches-bin",
            CifarKind::Cifar100 => "cifar-100-binary",
        }
    }

    /// The standard file names: training batches, then the test batch.
    pub fn file_names(kind: CifarKind) -> (Vec<&'static str>, &'static str) {
        match kind {
            CifarKind::Cifar10 => (
                vec![
                    "data_batch_1.bin",
                    "data_batch_2.bin",
                    "data_batch_3.bin",
                    "data_batch_4.bin",
                    "data_batch_5.bin",
                ],
                "test_batch.bin",
            ),
            CifarKind::Cifar100 => (vec!["train.bin"], "test.bin"),
        }
    }

    /// The training files and the test file (`.gz` accepted), with the directory given as the
    /// data directory itself or its parent.
    pub fn files(&self) -> Result<(Vec<PathBuf>, PathBuf), CifarError> {
        let (train, test) = Self::file_names(self.kind);
        let inner = self.dir.join(Self::inner_dir_name(self.kind));
        let dir = if inner.is_dir() {
            inner
        } else {
            self.dir.clone()
        };
        let find = |name: &str| {
            let raw = dir.join(name);
            let gz = dir.join(format!("{name}.gz"));
            if raw.is_file() {
                Some(raw)
            } else if gz.is_file() {
                Some(gz)
            } else {
                None
            }
        };
        let mut missing = Vec::new();
        let mut found = Vec::new();
        for n in train.iter().chain([&test]) {
            match find(n) {
                Some(p) => found.push(p),
                None => missing.push(*n),
            }
        }
        if !missing.is_empty() {
            return Err(CifarError::Layout {
                dir: self.dir.clone(),
                kind: self.kind.name(),
                detail: format!(
                    "missing {} (looked in {}; expected {}/ or its parent)",
                    missing.join(", "),
                    dir.display(),
                    Self::inner_dir_name(self.kind)
                ),
            });
        }
        let test = found.pop().expect("test file found");
        Ok((found, test))
    }

    /// Reads the batches (in parallel) into a data set of `[3, 32, 32]` byte images.
    pub fn load(&self) -> Result<InMemoryDataset, CifarError> {
        let (train_files, test_file) = self.files()?;
        let kind = self.kind;
        let batches: Vec<Result<CifarBatch, CifarError>> = std::thread::scope(|s| {
            let handles: Vec<_> = train_files
                .iter()
                .chain([&test_file])
                .map(|f| s.spawn(move || read_cifar(f, kind)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut batches = batches.into_iter().collect::<Result<Vec<_>, _>>()?;
        let test = batches.pop().expect("test batch");
        let labels_of = |b: &CifarBatch| match (self.kind, self.labels) {
            (CifarKind::Cifar100, CifarLabels::Coarse) => b.coarse.clone(),
            _ => b.labels.clone(),
        };
        let classes = match (self.kind, self.labels) {
            (CifarKind::Cifar10, _) => 10,
            (CifarKind::Cifar100, CifarLabels::Fine) => 100,
            (CifarKind::Cifar100, CifarLabels::Coarse) => 20,
        };
        let n_train: usize = batches.iter().map(|b| b.len()).sum();
        let mut xtr = Vec::with_capacity(n_train * CIFAR_PIXELS);
        let mut ytr = Vec::with_capacity(n_train);
        for b in &batches {
            xtr.extend_from_slice(&b.pixels);
            ytr.extend(labels_of(b));
        }
        drop(batches);
        let mut yte = labels_of(&test);
        let mut xte = test.pixels;
        let keep_tr = self.limit_train.map_or(ytr.len(), |l| l.min(ytr.len()));
        let keep_te = self.limit_test.map_or(yte.len(), |l| l.min(yte.len()));
        ytr.truncate(keep_tr);
        xtr.truncate(keep_tr * CIFAR_PIXELS);
        yte.truncate(keep_te);
        xte.truncate(keep_te * CIFAR_PIXELS);
        let spec = DatasetSpec {
            name: self.name.clone(),
            input_shape: CIFAR_SHAPE.to_vec(),
            target: TargetKind::Classes { classes },
            train_len: keep_tr,
            test_len: keep_te,
        };
        let bytes = |b| InputStorage::U8 {
            bytes: b,
            scale: self.scale,
            offset: 0.0,
        };
        let ds = InMemoryDataset::from_storage(
            spec,
            (bytes(xtr), TargetData::Classes(ytr)),
            (bytes(xte), TargetData::Classes(yte)),
        )
        .expect("record sizes and labels checked while reading");
        let mut files = train_files;
        files.push(test_file);
        Ok(ds.with_files(files))
    }
}

/// A recognised data directory.
#[derive(Debug, Clone, PartialEq)]
pub enum DataDir {
    /// MNIST layout (MNIST, Fashion-MNIST, KMNIST): the four IDX files.
    MnistLayout,
    /// A CIFAR directory (the directory given or its standard inner directory).
    Cifar(CifarKind),
}

/// Which standard layout a directory holds, if any.
pub fn detect_data_dir(dir: &Path) -> Option<DataDir> {
    // Any one of the four files makes it an MNIST layout (a missing one is then named when
    // loading).
    if let Ok(files) = mnist_layout_files(dir) {
        if files.iter().any(|f| f.is_file()) {
            return Some(DataDir::MnistLayout);
        }
    }
    // The standard inner directory, or any one of the batch files (a missing one is then named
    // when loading).
    for kind in [CifarKind::Cifar10, CifarKind::Cifar100] {
        let (train, test) = CifarSpec::file_names(kind);
        let inner = dir.join(CifarSpec::inner_dir_name(kind));
        if inner.is_dir() {
            return Some(DataDir::Cifar(kind));
        }
        let any = train
            .iter()
            .chain([&test])
            .any(|n| dir.join(n).is_file() || dir.join(format!("{n}.gz")).is_file());
        if any {
            return Some(DataDir::Cifar(kind));
        }
    }
    None
}
