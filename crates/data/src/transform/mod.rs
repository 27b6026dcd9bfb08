//! Transforms of whole data sets (DESIGN.md §2, `learnscope-data`): input maps (standardisation,
//! flattening, PCA, ZCA whitening) fitted on the training split only, row selections (stratified
//! subsets, class selection) and label maps (hierarchical multi-hot targets, binary tasks,
//! shuffled labels, regression targets, ±1 targets). Each is deterministic, reads the data through
//! [`crate::Dataset::gather_inputs`] and returns a new [`crate::InMemoryDataset`]; a data config
//! lists them as [`TransformConfig`] tables applied in order by [`apply_transforms`].

mod binary;
mod config;
mod eigen;
mod error;
mod flatten;
mod hierarchical;
mod host;
mod pca;
mod plus_minus_one;
mod regression;
mod reshape;
mod select_classes;
mod shuffle_labels;
mod standardize;
mod subset;
mod zca;

pub use binary::{Binary, BinaryEncoding};
pub use config::{
    apply_transforms, apply_transforms_fitted, transform_host, TransformConfig, TransformFit,
};
pub use eigen::{moment_matrix, symmetric_eigen, EigenBasis, BLOCK_ROWS};
pub use error::{TransformError, TransformFailure};
pub use flatten::flatten;
pub use hierarchical::{ClassTree, Hierarchical, HierarchyFit, HierarchyUnit};
pub use host::HostData;
pub use pca::Pca;
pub use plus_minus_one::PlusMinusOne;
pub use regression::{Regression, RegressionEncoding};
pub use reshape::Reshape;
pub use select_classes::SelectClasses;
pub use shuffle_labels::{ShuffleLabels, ShuffledLabels};
pub use standardize::{Standardize, StandardizeFit, StandardizeMode};
pub use subset::{KeptExamples, Subset};
pub use zca::{Zca, ZcaFit};
