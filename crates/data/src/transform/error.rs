//! Errors of the transforms: which transform of the list (its index and kind) failed and why,
//! naming the field and the rule it breaks.

use learnscope_nn::NnError;

/// Why a transform failed (without its position in the list).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum TransformFailure {
    /// A field of the transform breaks a rule.
    #[error("`{field}` = {value} breaks the rule `{rule}`")]
    Field {
        /// The field's name (as in the config).
        field: &'static str,
        /// Its value, printed.
        value: String,
        /// The rule it breaks.
        rule: String,
    },
    /// The transform does not apply to this data (e.g. a label map on dense targets).
    #[error("needs {needs}, but the data set has {found}")]
    Unsupported {
        /// What the transform needs.
        needs: &'static str,
        /// What it found.
        found: String,
    },
    /// The eigendecomposition of the second-moment matrix failed.
    #[error("eigendecomposition of the {dim}×{dim} {moment} matrix failed: {detail}")]
    Eigen {
        /// d.
        dim: usize,
        /// `covariance` or `second-moment`.
        moment: &'static str,
        /// faer's error.
        detail: String,
    },
    /// The transformed arrays failed the data set's own checks (a bug in a transform).
    #[error("the transformed data set is inconsistent: {0}")]
    Dataset(NnError),
}

impl TransformFailure {
    /// Shorthand for [`TransformFailure::Field`].
    pub fn field(
        field: &'static str,
        value: impl std::fmt::Debug,
        rule: impl Into<String>,
    ) -> Self {
        TransformFailure::Field {
            field,
            value: format!("{value:?}"),
            rule: rule.into(),
        }
    }
}

/// A failed transform: its index in the list, its kind and the failure.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("transforms[{index}] (kind `{kind}`): {failure}")]
pub struct TransformError {
    /// Position in the transform list (0-based).
    pub index: usize,
    /// The transform's `kind`.
    pub kind: &'static str,
    /// What went wrong.
    pub failure: TransformFailure,
}
