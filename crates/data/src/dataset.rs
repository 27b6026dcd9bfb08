//! The `Dataset` trait and the in-memory data set every generator and loader produces.

use learnscope_nn::loss::HostTargets;
use learnscope_nn::NnError;

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

/// A data set held in host memory (f64).
#[derive(Debug, Clone, PartialEq)]
pub struct InMemoryDataset {
    spec: DatasetSpec,
    train_x: Vec<f64>,
    train_y: TargetData,
    test_x: Vec<f64>,
    test_y: TargetData,
    files: Vec<std::path::PathBuf>,
}

impl InMemoryDataset {
    /// A data set from arrays; checks that sizes agree with the spec and labels are in range.
    pub fn new(
        spec: DatasetSpec,
        train: (Vec<f64>, TargetData),
        test: (Vec<f64>, TargetData),
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
        })
    }

    /// Records the files the data came from.
    pub fn with_files(mut self, files: Vec<std::path::PathBuf>) -> Self {
        self.files = files;
        self
    }
}

impl Dataset for InMemoryDataset {
    fn spec(&self) -> &DatasetSpec {
        &self.spec
    }

    fn gather_inputs(&self, split: Split, indices: &[usize], out: &mut Vec<f64>) {
        let d = self.spec.input_size();
        let x = match split {
            Split::Train => &self.train_x,
            Split::Test => &self.test_x,
        };
        for &i in indices {
            out.extend_from_slice(&x[i * d..(i + 1) * d]);
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
}
