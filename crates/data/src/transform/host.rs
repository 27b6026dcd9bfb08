//! Both splits of a data set on the host: what every transform reads and writes.
//!
//! Inputs stay in their stored form ([`InputStorage`]: bytes, f32 or f64) until a transform
//! changes their values (standardisation, PCA, ZCA turn them into f64), so label maps and row
//! selections on a byte-stored image data set keep it compact. [`HostData::from_in_memory`]
//! takes an [`InMemoryDataset`] apart without copying; [`HostData::from_dataset`] reads any
//! [`Dataset`] through [`Dataset::gather_inputs`] (as f64).

use std::path::PathBuf;

use learnscope_nn::NnError;

use super::error::TransformFailure;
use crate::dataset::{
    Dataset, DatasetSpec, InMemoryDataset, InputStorage, Split, TargetData, TargetKind,
};
use crate::feature_design::FeatureDesign;
use crate::output_unit::OutputUnit;

/// A whole data set on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostData {
    /// Shape and sizes (kept consistent with the arrays by every transform).
    pub spec: DatasetSpec,
    /// Training inputs, row-major `train_len × input_size`.
    pub train_x: InputStorage,
    /// Training targets.
    pub train_y: TargetData,
    /// Test inputs, row-major `test_len × input_size`.
    pub test_x: InputStorage,
    /// Test targets.
    pub test_y: TargetData,
    /// The files the data came from (kept for the run manifest).
    pub files: Vec<PathBuf>,
    /// What each output unit stands for (hierarchical targets). Input maps and row selections
    /// keep it; label maps replace it (`hierarchical`) or drop it.
    pub output_units: Option<Vec<OutputUnit>>,
    /// The planted features (synthetic data). Row selections keep it (selecting the same
    /// examples); maps that change input values or the input size (`standardize`, `pca`,
    /// `zca`) drop it, label maps and shape changes (`flatten`, `reshape`) keep it.
    pub feature_design: Option<FeatureDesign>,
}

fn select_rows<T: Copy>(v: &[T], d: usize, keep: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(keep.len() * d);
    for &i in keep {
        out.extend_from_slice(&v[i * d..(i + 1) * d]);
    }
    out
}

impl HostData {
    /// Copies both splits of any data set (inputs as f64).
    pub fn from_dataset(ds: &dyn Dataset) -> Self {
        let spec = ds.spec().clone();
        let inputs = |split: Split| {
            let n = spec.len(split);
            let mut v = Vec::with_capacity(n * spec.input_size());
            ds.gather_inputs(split, &(0..n).collect::<Vec<_>>(), &mut v);
            InputStorage::F64(v)
        };
        HostData {
            train_x: inputs(Split::Train),
            test_x: inputs(Split::Test),
            train_y: ds.targets(Split::Train).clone(),
            test_y: ds.targets(Split::Test).clone(),
            files: ds.source_files().to_vec(),
            output_units: ds.output_units().map(<[OutputUnit]>::to_vec),
            feature_design: ds.feature_design().cloned(),
            spec,
        }
    }

    /// Takes an in-memory data set apart (no copy; the input storage is kept).
    pub fn from_in_memory(ds: InMemoryDataset) -> Self {
        let p = ds.into_parts();
        HostData {
            spec: p.spec,
            train_x: p.train.0,
            train_y: p.train.1,
            test_x: p.test.0,
            test_y: p.test.1,
            files: p.files,
            output_units: p.output_units,
            feature_design: p.feature_design,
        }
    }

    /// The in-memory data set (checks sizes and labels again).
    pub fn into_dataset(self) -> Result<InMemoryDataset, NnError> {
        let ds = InMemoryDataset::from_storage(
            self.spec,
            (self.train_x, self.train_y),
            (self.test_x, self.test_y),
        )?
        .with_files(self.files);
        let ds = match self.output_units {
            Some(units) => ds.with_output_units(units)?,
            None => ds,
        };
        match self.feature_design {
            Some(design) => ds.with_feature_design(design),
            None => Ok(ds),
        }
    }

    /// Stored inputs of a split.
    pub fn x(&self, split: Split) -> &InputStorage {
        match split {
            Split::Train => &self.train_x,
            Split::Test => &self.test_x,
        }
    }

    /// The inputs of a split as a mutable f64 array, converting the storage to f64 first if it
    /// is not (the values are unchanged; only their type widens).
    pub fn x_f64_mut(&mut self, split: Split) -> &mut Vec<f64> {
        let x = match split {
            Split::Train => &mut self.train_x,
            Split::Test => &mut self.test_x,
        };
        if !matches!(x, InputStorage::F64(_)) {
            *x = InputStorage::F64(x.to_f64().into_owned());
        }
        match x {
            InputStorage::F64(v) => v,
            _ => unreachable!("converted to f64 above"),
        }
    }

    /// Targets of a split.
    pub fn y(&self, split: Split) -> &TargetData {
        match split {
            Split::Train => &self.train_y,
            Split::Test => &self.test_y,
        }
    }

    /// Targets of a split, mutably (keep them consistent with `spec.target`).
    pub fn y_mut(&mut self, split: Split) -> &mut TargetData {
        match split {
            Split::Train => &mut self.train_y,
            Split::Test => &mut self.test_y,
        }
    }

    /// The number of classes, if the targets are class labels.
    pub fn classes(&self) -> Option<usize> {
        match (self.spec.target, &self.train_y, &self.test_y) {
            (TargetKind::Classes { classes }, TargetData::Classes(_), TargetData::Classes(_)) => {
                Some(classes)
            }
            _ => None,
        }
    }

    /// The number of classes, or a failure saying that the transform needs class labels.
    pub fn require_classes(&self) -> Result<usize, TransformFailure> {
        self.classes().ok_or_else(|| TransformFailure::Unsupported {
            needs: "class labels",
            found: format!("targets {:?}", self.spec.target),
        })
    }

    /// Labels of a split (None for dense targets).
    pub fn labels(&self, split: Split) -> Option<&[u32]> {
        match self.y(split) {
            TargetData::Classes(l) => Some(l),
            TargetData::Dense(_) => None,
        }
    }

    /// Keeps the examples `keep` (in that order) of a split, in the split's storage.
    pub fn select(&mut self, split: Split, keep: &[usize]) {
        let d = self.spec.input_size();
        let k = match self.spec.target {
            TargetKind::Dense { outputs } => outputs,
            TargetKind::Classes { classes } => classes,
        };
        let (x, y, len) = match split {
            Split::Train => (
                &mut self.train_x,
                &mut self.train_y,
                &mut self.spec.train_len,
            ),
            Split::Test => (&mut self.test_x, &mut self.test_y, &mut self.spec.test_len),
        };
        *x = match x {
            InputStorage::U8 {
                bytes,
                scale,
                offset,
            } => InputStorage::U8 {
                bytes: select_rows(bytes, d, keep),
                scale: *scale,
                offset: *offset,
            },
            InputStorage::F32(v) => InputStorage::F32(select_rows(v, d, keep)),
            InputStorage::F64(v) => InputStorage::F64(select_rows(v, d, keep)),
        };
        *y = match y {
            TargetData::Classes(l) => TargetData::Classes(keep.iter().map(|&i| l[i]).collect()),
            TargetData::Dense(v) => TargetData::Dense(select_rows(v, k, keep)),
        };
        *len = keep.len();
        if let Some(design) = &mut self.feature_design {
            design.select(split, keep);
        }
    }
}
