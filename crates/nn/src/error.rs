//! Errors of the engine. Each variant names what was checked, what was expected and what was found.

use learnscope_core::DType;

/// A failed check in the engine: a wrong shape or dtype, invalid targets, a bad setting.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum NnError {
    /// A tensor whose shape does not fit where it is used.
    #[error("{what}: expected shape {expected:?}, found {found:?}")]
    ShapeMismatch {
        /// Which tensor (e.g. `input of layers.0`).
        what: String,
        /// The shape required (`usize::MAX` marks a free dimension such as the batch).
        expected: Vec<usize>,
        /// The shape given.
        found: Vec<usize>,
    },
    /// A tensor whose element type does not match the model's.
    #[error("{what}: expected dtype {expected}, found {found}")]
    DTypeMismatch {
        /// Which tensor.
        what: String,
        /// The model's dtype.
        expected: DType,
        /// The tensor's dtype.
        found: DType,
    },
    /// Targets that do not fit the loss (wrong count, a class index out of range, values that
    /// are not ±1 for a hinge loss).
    #[error("targets for loss `{loss}`: {detail}")]
    InvalidTargets {
        /// The loss name.
        loss: &'static str,
        /// What is wrong, with the offending index and value.
        detail: String,
    },
    /// A setting outside its allowed range.
    #[error("`{field}` = {value} breaks the rule `{rule}`")]
    InvalidSetting {
        /// The setting's name.
        field: String,
        /// Its value, printed.
        value: String,
        /// The rule it breaks.
        rule: String,
    },
    /// A matrix product whose operands do not fit (see [`crate::cpu::gemm`]).
    #[error(transparent)]
    Gemm(#[from] crate::cpu::gemm::GemmError),
}

impl NnError {
    /// Shorthand for [`NnError::InvalidSetting`].
    pub fn setting(
        field: impl Into<String>,
        value: impl ToString,
        rule: impl Into<String>,
    ) -> Self {
        NnError::InvalidSetting {
            field: field.into(),
            value: value.to_string(),
            rule: rule.into(),
        }
    }
}
