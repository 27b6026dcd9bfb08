//! Errors of the vocabulary crate: every variant names the value that was rejected and the rule.

/// An invalid value in the core vocabulary (an unknown dtype name, a schedule that breaks a rule).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum CoreError {
    /// A dtype name that is not one of the supported ones.
    #[error("unknown dtype `{found}`; expected one of: {expected}")]
    UnknownDType {
        /// What was given.
        found: String,
        /// The accepted names, comma separated.
        expected: &'static str,
    },
    /// A schedule parameter (learning-rate or probe schedule) outside its allowed range.
    #[error("schedule: `{field}` = {value} breaks the rule `{rule}`")]
    InvalidSchedule {
        /// The parameter's name.
        field: &'static str,
        /// Its value.
        value: f64,
        /// The rule it breaks, e.g. `> 0`.
        rule: &'static str,
    },
}
