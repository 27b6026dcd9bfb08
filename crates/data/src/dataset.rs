//! The `Dataset` trait and the in-memory data set every generator and loader produces.
//!
//! [`InMemoryDataset`] keeps each split's inputs in the most compact exact form the source
//! allows ([`InputStorage`]): bytes with an affine map (images: `value = scale·byte + offset`),
//! `f32`, or `f64`. Values are converted to `f64` when gathered, so the [`Dataset`] trait is the
//! same for every storage. A 60 000-image u8 data set takes 47 MB instead of 376 MB.

use std::borrow::Cow;

use learnscope_nn::loss::HostTargets;
use learnscope_nn::NnError;

use crate::feature_design::FeatureDesign;
use crate::output_unit::OutputUnit;

/// Which part of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    /// Training examples.
    Train,
    /// Held-out examples.
    Test,
}

impl Split {
    /// `train` or `test` (the `split` column of the metrics table).
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// What the targets are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// Class labels in `0..classes`.
    Classes {
        /// Number of classes.
        classes: usize,
    },
    /// A real vector per example.
    Dense {
        /// Its length.
        outputs: usize,
    },
}

/// A data set's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSpec {
    /// Name for manifests and reports.
    pub name: String,
    /// Per-example input shape.
    pub input_shape: Vec<usize>,
    /// Target kind.
    pub target: TargetKind,
    /// Training examples.
    pub train_len: usize,
    /// Test examples.
    pub test_len: usize,
}

impl DatasetSpec {
    /// Input values per example.
    pub fn input_size(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// Examples in a split.
    pub fn len(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train_len,
            Split::Test => self.test_len,
        }
    }
}

/// Targets of a whole split, on the host.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetData {
    /// One label per example.
    Classes(Vec<u32>),
    /// Row-major `n × outputs`.
    Dense(Vec<f64>),
}

/// A data set: two splits that can be gathered by example index.
pub trait Dataset: Send + Sync {
    /// Shape and sizes.
    fn spec(&self) -> &DatasetSpec;
    /// Appends the inputs of `indices` (row-major) to `out`.
    fn gather_inputs(&self, split: Split, indices: &[usize], out: &mut Vec<f64>);
    /// All targets of a split (for optimal-constant solutions and label statistics).
    fn targets(&self, split: Split) -> &TargetData;

    /// The files the data set was read from (their SHA-256 goes into the run manifest).
    fn source_files(&self) -> &[std::path::PathBuf] {
        &[]
    }

    /// What each output unit stands for (tree level, leaf, name), for data sets whose dense
    /// multi-label targets come from a hierarchy; `None` otherwise.
    fn output_units(&self) -> Option<&[OutputUnit]> {
        None
    }

    /// The features a synthetic generator planted and which examples carry them (for probes of
    /// feature learning); `None` for data without such ground truth.
    fn feature_design(&self) -> Option<&FeatureDesign> {
        None
    }

    /// The targets of a split as the loss module's OCS input.
    fn host_targets(&self, split: Split) -> HostTargets<'_> {
        match (self.targets(split), self.spec().target) {
            (TargetData::Classes(l), TargetKind::Classes { classes }) => {
                HostTargets::Classes { labels: l, classes }
            }
            (TargetData::Dense(v), TargetKind::Dense { outputs }) => {
                HostTargets::Dense { values: v, outputs }
            }
            (TargetData::Classes(l), TargetKind::Dense { outputs }) => HostTargets::Classes {
                labels: l,
                classes: outputs,
            },
            (TargetData::Dense(v), TargetKind::Classes { classes }) => HostTargets::Dense {
                values: v,
                outputs: classes,
            },
        }
    }
}

/// The inputs of one split, row-major `n × input_size`, in one of three element types.
#[derive(Debug, Clone, PartialEq)]
pub enum InputStorage {
    /// Bytes read through an affine map: value = `scale`·byte + `offset` (computed in f64).
    U8 {
        /// The bytes.
        bytes: Vec<u8>,
        /// Multiplier (e.g. 1/255).
        scale: f64,
        /// Added after scaling.
        offset: f64,
    },
    /// Single precision (widened exactly to f64 when gathered).
    F32(Vec<f32>),
    /// Double precision.
    F64(Vec<f64>),
}

impl InputStorage {
    /// Number of stored values.
    pub fn len(&self) -> usize {
        match self {
            InputStorage::U8 { bytes, .. } => bytes.len(),
            InputStorage::F32(v) => v.len(),
            InputStorage::F64(v) => v.len(),
        }
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `u8`, `f32` or `f64`.
    pub fn dtype_name(&self) -> &'static str {
        match self {
            InputStorage::U8 { .. } => "u8",
            InputStorage::F32(_) => "f32",
            InputStorage::F64(_) => "f64",
        }
    }

    /// Bytes held.
    pub fn bytes_held(&self) -> usize {
        match self {
            InputStorage::U8 { bytes, .. } => bytes.len(),
            InputStorage::F32(v) => 4 * v.len(),
            InputStorage::F64(v) => 8 * v.len(),
        }
    }

    /// Appends values `range` (as f64) to `out`.
    pub fn extend_f64(&self, range: std::ops::Range<usize>, out: &mut Vec<f64>) {
        match self {
            InputStorage::U8 {
                bytes,
                scale,
                offset,
            } => {
                let lut = byte_table(*scale, *offset);
                out.extend(bytes[range].iter().map(|&b| lut[b as usize]));
            }
            InputStorage::F32(v) => out.extend(v[range].iter().map(|&x| x as f64)),
            InputStorage::F64(v) => out.extend_from_slice(&v[range]),
        }
    }

    /// Every value as f64: borrowed for f64 storage, converted otherwise.
    pub fn to_f64(&self) -> Cow<'_, [f64]> {
        match self {
            InputStorage::F64(v) => Cow::Borrowed(v),
            other => {
                let mut out = Vec::with_capacity(other.len());
                other.extend_f64(0..other.len(), &mut out);
                Cow::Owned(out)
            }
        }
    }

    /// Keeps the first `n` values.
    pub fn truncate(&mut self, n: usize) {
        match self {
            InputStorage::U8 { bytes, .. } => bytes.truncate(n),
            InputStorage::F32(v) => v.truncate(n),
            InputStorage::F64(v) => v.truncate(n),
        }
    }
}

/// The f64 value of every byte under `scale`·byte + `offset`.
fn byte_table(scale: f64, offset: f64) -> [f64; 256] {
    let mut t = [0.0; 256];
    for (b, v) in t.iter_mut().enumerate() {
        *v = b as f64 * scale + offset;
    }
    t
}

impl From<Vec<f64>> for InputStorage {
    fn from(v: Vec<f64>) -> Self {
        InputStorage::F64(v)
    }
}

impl From<Vec<f32>> for InputStorage {
    fn from(v: Vec<f32>) -> Self {
        InputStorage::F32(v)
    }
}

/// A data set held in host memory (inputs in an [`InputStorage`], targets as [`TargetData`]).
#[derive(Debug, Clone, PartialEq)]
pub struct InMemoryDataset {
    spec: DatasetSpec,
    train_x: InputStorage,
    train_y: TargetData,
    test_x: InputStorage,
    test_y: TargetData,
    files: Vec<std::path::PathBuf>,
    units: Option<Vec<OutputUnit>>,
    design: Option<FeatureDesign>,
}

impl InMemoryDataset {
    /// A data set from f64 arrays; checks that sizes agree with the spec and labels are in range.
    pub fn new(
        spec: DatasetSpec,
        train: (Vec<f64>, TargetData),
        test: (Vec<f64>, TargetData),
    ) -> Result<Self, NnError> {
        Self::from_storage(
            spec,
            (InputStorage::F64(train.0), train.1),
            (InputStorage::F64(test.0), test.1),
        )
    }

    /// A data set from inputs in any storage; the same checks as [`InMemoryDataset::new`].
    pub fn from_storage(
        spec: DatasetSpec,
        train: (InputStorage, TargetData),
        test: (InputStorage, TargetData),
    ) -> Result<Self, NnError> {
        let d = spec.input_size();
        for (split, (x, y)) in [(Split::Train, &train), (Split::Test, &test)] {
            let n = spec.len(split);
            let what = |t: &str| format!("{} {} of data set `{}`", split.name(), t, spec.name);
            if x.len() != n * d {
                return Err(NnError::ShapeMismatch {
                    what: what("inputs"),
                    expected: vec![n, d],
                    found: vec![x.len() / d.max(1), d],
                });
            }
            match (y, spec.target) {
                (TargetData::Classes(l), TargetKind::Classes { classes }) => {
                    if l.len() != n {
                        return Err(NnError::ShapeMismatch {
                            what: what("labels"),
                            expected: vec![n],
                            found: vec![l.len()],
                        });
                    }
                    if let Some((i, &c)) =
                        l.iter().enumerate().find(|(_, &c)| c as usize >= classes)
                    {
                        return Err(NnError::InvalidTargets {
                            loss: "dataset",
                            detail: format!(
                                "{}: label {c} of example {i} is outside 0..{classes}",
                                what("labels")
                            ),
                        });
                    }
                }
                (TargetData::Dense(v), TargetKind::Dense { outputs }) => {
                    if v.len() != n * outputs {
                        return Err(NnError::ShapeMismatch {
                            what: what("targets"),
                            expected: vec![n, outputs],
                            found: vec![v.len() / outputs.max(1), outputs],
                        });
                    }
                }
                _ => {
                    return Err(NnError::setting(
                        what("targets"),
                        "mismatch",
                        "target data of the spec's kind",
                    ))
                }
            }
        }
        Ok(InMemoryDataset {
            spec,
            train_x: train.0,
            train_y: train.1,
            test_x: test.0,
            test_y: test.1,
            files: Vec::new(),
            units: None,
            design: None,
        })
    }

    /// Records the files the data came from.
    pub fn with_files(mut self, files: Vec<std::path::PathBuf>) -> Self {
        self.files = files;
        self
    }

    /// Records what each output unit stands for; there must be one unit per dense output.
    pub fn with_output_units(mut self, units: Vec<OutputUnit>) -> Result<Self, NnError> {
        match self.spec.target {
            TargetKind::Dense { outputs } if outputs == units.len() => {
                self.units = Some(units);
                Ok(self)
            }
            TargetKind::Dense { outputs } => Err(NnError::ShapeMismatch {
                what: format!("output units of data set `{}`", self.spec.name),
                expected: vec![outputs],
                found: vec![units.len()],
            }),
            TargetKind::Classes { .. } => Err(NnError::setting(
                format!("output units of data set `{}`", self.spec.name),
                "class targets",
                "dense targets (one unit per output)",
            )),
        }
    }

    /// Records the planted features; the design must match the input size and both splits'
    /// example counts ([`FeatureDesign::validate`]).
    pub fn with_feature_design(mut self, design: FeatureDesign) -> Result<Self, NnError> {
        design.validate(&self.spec)?;
        self.design = Some(design);
        Ok(self)
    }

    /// The stored inputs of a split.
    pub fn inputs(&self, split: Split) -> &InputStorage {
        match split {
            Split::Train => &self.train_x,
            Split::Test => &self.test_x,
        }
    }

    /// All inputs of a split as f64 (row-major `n × input_size`); borrowed when stored as f64.
    pub fn inputs_f64(&self, split: Split) -> Cow<'_, [f64]> {
        self.inputs(split).to_f64()
    }

    /// Spec, then (inputs, targets) of the train and test splits, and the source files.
    pub fn into_parts(self) -> InMemoryParts {
        InMemoryParts {
            spec: self.spec,
            train: (self.train_x, self.train_y),
            test: (self.test_x, self.test_y),
            files: self.files,
            output_units: self.units,
            feature_design: self.design,
        }
    }
}

/// An [`InMemoryDataset`] taken apart (to rebuild one with changed targets or inputs).
#[derive(Debug, Clone, PartialEq)]
pub struct InMemoryParts {
    /// Shape and sizes.
    pub spec: DatasetSpec,
    /// Training inputs and targets.
    pub train: (InputStorage, TargetData),
    /// Test inputs and targets.
    pub test: (InputStorage, TargetData),
    /// Source files.
    pub files: Vec<std::path::PathBuf>,
    /// What each output unit stands for, if known.
    pub output_units: Option<Vec<OutputUnit>>,
    /// The planted features, if known.
    pub feature_design: Option<FeatureDesign>,
}

impl Dataset for InMemoryDataset {
    fn spec(&self) -> &DatasetSpec {
        &self.spec
    }

    fn gather_inputs(&self, split: Split, indices: &[usize], out: &mut Vec<f64>) {
        let d = self.spec.input_size();
        out.reserve(indices.len() * d);
        match self.inputs(split) {
            InputStorage::U8 {
                bytes,
                scale,
                offset,
            } => {
                let lut = byte_table(*scale, *offset);
                for &i in indices {
                    out.extend(bytes[i * d..(i + 1) * d].iter().map(|&b| lut[b as usize]));
                }
            }
            InputStorage::F32(x) => {
                for &i in indices {
                    out.extend(x[i * d..(i + 1) * d].iter().map(|&v| v as f64));
                }
            }
            InputStorage::F64(x) => {
                for &i in indices {
                    out.extend_from_slice(&x[i * d..(i + 1) * d]);
                }
            }
        }
    }

    fn targets(&self, split: Split) -> &TargetData {
        match split {
            Split::Train => &self.train_y,
            Split::Test => &self.test_y,
        }
    }

    fn source_files(&self) -> &[std::path::PathBuf] {
        &self.files
    }

    fn output_units(&self) -> Option<&[OutputUnit]> {
        self.units.as_deref()
    }

    fn feature_design(&self) -> Option<&FeatureDesign> {
        self.design.as_ref()
    }
}
