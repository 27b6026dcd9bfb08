//! Data sets for learnscope (DESIGN.md §3).
//!
//! A [`Dataset`] holds a train and a test split on the host and gathers any set of examples into
//! a [`Batch`] on a backend; batches carry their example indices so per-example probes can
//! attribute results. The [`EpochSampler`] orders examples by a permutation that is a pure
//! function of (seed, epoch), so a resumed run needs no saved random state. Synthetic generators
//! ([`synthetic`]) build data sets from a seed; [`transform`]s (standardisation, PCA/ZCA,
//! subsets, label maps) turn one data set into another.

mod batch;
mod dataset;
mod feature_design;
pub mod formats;
pub mod named;
mod output_unit;
mod sampler;
pub mod synthetic;
pub mod transform;

pub use batch::{Batch, BatchTargets};
pub use dataset::{
    Dataset, DatasetSpec, InMemoryDataset, InMemoryParts, InputStorage, Split, TargetData,
    TargetKind,
};
pub use feature_design::{DesignFeature, FeatureDesign};
pub use output_unit::OutputUnit;
pub use sampler::EpochSampler;
pub use synthetic::binary_features::BinaryFeaturesSpec;
pub use synthetic::hierarchy::{HierarchicalTask, HierarchyInputs, HierarchySpec};
pub use transform::{apply_transforms, TransformConfig, TransformError};
