//! The transform list of a data config and the function that applies it.
//!
//! Transforms run in list order on a host copy of both splits ([`HostData`]); each is a pure
//! function of the data and of its own key `key.derive("transforms").at(index)`, so the result
//! is a deterministic function of (data, list, key). Statistics (standardisation, PCA, ZCA) are
//! always taken from the training split as it is at that point of the list.

use learnscope_core::RandomKey;
use serde::{Deserialize, Serialize};

use super::binary::Binary;
use super::eigen::EigenBasis;
use super::error::{TransformError, TransformFailure};
use super::flatten::flatten;
use super::hierarchical::{Hierarchical, HierarchyFit};
use super::host::HostData;
use super::pca::Pca;
use super::plus_minus_one::PlusMinusOne;
use super::regression::Regression;
use super::reshape::Reshape;
use super::select_classes::SelectClasses;
use super::shuffle_labels::{ShuffleLabels, ShuffledLabels};
use super::standardize::{Standardize, StandardizeFit};
use super::subset::{KeptExamples, Subset};
use super::zca::{Zca, ZcaFit};
use crate::dataset::InMemoryDataset;

/// One transform of a data config's list: a TOML table with `kind` and the transform's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TransformConfig {
    /// Standardisation from training statistics.
    Standardize(Standardize),
    /// Stratified subset.
    Subset(Subset),
    /// Keep some classes and relabel them 0..k.
    SelectClasses(SelectClasses),
    /// Flatten the input shape.
    Flatten {},
    /// Give the input another shape with the same number of values.
    Reshape(Reshape),
    /// Project on the top principal components.
    Pca(Pca),
    /// ZCA whitening.
    Zca(Zca),
    /// Hierarchical multi-hot targets.
    Hierarchical(Hierarchical),
    /// Positive classes against the rest.
    Binary(Binary),
    /// Replace a fraction of training labels by other classes.
    ShuffleLabels(ShuffleLabels),
    /// Class labels to real targets.
    Regression(Regression),
    /// 0/1 dense targets → ±1.
    PlusMinusOne(PlusMinusOne),
}

/// What a transform learned or did, for probes and reports.
#[derive(Debug, Clone, PartialEq)]
pub enum TransformFit {
    /// The transform has no fitted state.
    None,
    /// Standardisation statistics.
    Standardize(StandardizeFit),
    /// Original indices of the kept examples (subset, class selection).
    Kept(KeptExamples),
    /// PCA basis and eigenvalues.
    Pca(EigenBasis),
    /// ZCA basis, eigenvalues and whitening matrix.
    Zca(ZcaFit),
    /// The hierarchy's output units.
    Hierarchical(HierarchyFit),
    /// The replaced labels.
    ShuffleLabels(ShuffledLabels),
}

impl TransformConfig {
    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            TransformConfig::Standardize(_) => "standardize",
            TransformConfig::Subset(_) => "subset",
            TransformConfig::SelectClasses(_) => "select_classes",
            TransformConfig::Flatten {} => "flatten",
            TransformConfig::Reshape(_) => "reshape",
            TransformConfig::Pca(_) => "pca",
            TransformConfig::Zca(_) => "zca",
            TransformConfig::Hierarchical(_) => "hierarchical",
            TransformConfig::Binary(_) => "binary",
            TransformConfig::ShuffleLabels(_) => "shuffle_labels",
            TransformConfig::Regression(_) => "regression",
            TransformConfig::PlusMinusOne(_) => "plus_minus_one",
        }
    }

    /// Applies this transform with its own key.
    pub fn apply(
        &self,
        data: HostData,
        key: RandomKey,
    ) -> Result<(HostData, TransformFit), TransformFailure> {
        if data.spec.input_size() == 0 {
            return Err(TransformFailure::Unsupported {
                needs: "at least one input value per example",
                found: format!("input shape {:?}", data.spec.input_shape),
            });
        }
        let (mut data, fit) = match self {
            TransformConfig::Standardize(t) => t
                .apply(data)
                .map(|(d, f)| (d, TransformFit::Standardize(f)))?,
            TransformConfig::Subset(t) => t
                .apply(data, key)
                .map(|(d, f)| (d, TransformFit::Kept(f)))?,
            TransformConfig::SelectClasses(t) => {
                t.apply(data).map(|(d, f)| (d, TransformFit::Kept(f)))?
            }
            TransformConfig::Flatten {} => (flatten(data), TransformFit::None),
            TransformConfig::Reshape(t) => (t.apply(data)?, TransformFit::None),
            TransformConfig::Pca(t) => t.apply(data).map(|(d, f)| (d, TransformFit::Pca(f)))?,
            TransformConfig::Zca(t) => t.apply(data).map(|(d, f)| (d, TransformFit::Zca(f)))?,
            TransformConfig::Hierarchical(t) => t
                .apply(data)
                .map(|(d, f)| (d, TransformFit::Hierarchical(f)))?,
            TransformConfig::Binary(t) => (t.apply(data)?, TransformFit::None),
            TransformConfig::ShuffleLabels(t) => t
                .apply(data, key)
                .map(|(d, f)| (d, TransformFit::ShuffleLabels(f)))?,
            TransformConfig::Regression(t) => (t.apply(data)?, TransformFit::None),
            TransformConfig::PlusMinusOne(t) => (t.apply(data)?, TransformFit::None),
        };
        // Label maps other than `hierarchical` (which sets its own) make the old unit
        // metadata meaningless; input maps and row selections keep it.
        if matches!(
            self,
            TransformConfig::SelectClasses(_)
                | TransformConfig::Binary(_)
                | TransformConfig::ShuffleLabels(_)
                | TransformConfig::Regression(_)
        ) {
            data.output_units = None;
        }
        // Maps that change input values drop the planted-feature metadata (its directions and
        // coefficients describe the old inputs); row selections carry it along (`HostData::select`),
        // label maps and shape changes keep it.
        if matches!(
            self,
            TransformConfig::Standardize(_) | TransformConfig::Pca(_) | TransformConfig::Zca(_)
        ) {
            data.feature_design = None;
        }
        data.spec.name = format!("{}+{}", data.spec.name, self.kind());
        Ok((data, fit))
    }
}

/// Applies `list` in order to host data; returns the data and one fit per transform.
pub fn transform_host(
    mut data: HostData,
    list: &[TransformConfig],
    key: RandomKey,
) -> Result<(HostData, Vec<TransformFit>), TransformError> {
    let mut fits = Vec::with_capacity(list.len());
    for (index, t) in list.iter().enumerate() {
        let k = key.derive("transforms").at(index as u64);
        let (d, fit) = t.apply(data, k).map_err(|failure| TransformError {
            index,
            kind: t.kind(),
            failure,
        })?;
        data = d;
        fits.push(fit);
    }
    Ok((data, fits))
}

/// Applies `list` in order to `ds` (taken apart without copying; inputs keep their storage until
/// a transform changes their values); also returns what each transform fitted (PCA eigenvalues,
/// standardisation statistics, kept indices, replaced labels, hierarchy units). For a data set
/// that is not an [`InMemoryDataset`], use [`HostData::from_dataset`] and [`transform_host`].
pub fn apply_transforms_fitted(
    ds: InMemoryDataset,
    list: &[TransformConfig],
    key: RandomKey,
) -> Result<(InMemoryDataset, Vec<TransformFit>), TransformError> {
    let (data, fits) = transform_host(HostData::from_in_memory(ds), list, key)?;
    let ds = data.into_dataset().map_err(|e| TransformError {
        index: list.len().saturating_sub(1),
        kind: list.last().map_or("none", |t| t.kind()),
        failure: TransformFailure::Dataset(e),
    })?;
    Ok((ds, fits))
}

/// Applies `list` in order to `ds`.
pub fn apply_transforms(
    ds: InMemoryDataset,
    list: &[TransformConfig],
    key: RandomKey,
) -> Result<InMemoryDataset, TransformError> {
    apply_transforms_fitted(ds, list, key).map(|(ds, _)| ds)
}
