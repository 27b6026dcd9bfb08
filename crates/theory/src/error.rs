//! Errors of the theory crate: every variant names the quantity, the offending field, its value
//! and the rule it breaks.

/// An invalid argument to a closed form (a negative singular value, mismatched sizes, a target
/// a curve never reaches).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum TheoryError {
    /// A scalar parameter outside its domain.
    #[error("{what}: `{field}` = {value} breaks the rule `{rule}`")]
    InvalidParameter {
        /// The quantity being computed, e.g. `saxe::learning_time`.
        what: &'static str,
        /// The parameter's name.
        field: &'static str,
        /// Its value.
        value: f64,
        /// The rule it breaks, e.g. `>= 0`.
        rule: &'static str,
    },
    /// An array whose length does not match the sizes it must agree with.
    #[error("{what}: `{field}` has length {value} but the rule is `{rule}`")]
    BadShape {
        /// The quantity being computed.
        what: &'static str,
        /// The array's name.
        field: &'static str,
        /// Its length.
        value: usize,
        /// The expected length, e.g. `examples * inputs = 12`.
        rule: String,
    },
}

impl TheoryError {
    /// Shorthand for [`TheoryError::InvalidParameter`].
    pub fn param(what: &'static str, field: &'static str, value: f64, rule: &'static str) -> Self {
        TheoryError::InvalidParameter {
            what,
            field,
            value,
            rule,
        }
    }

    /// Checks `len == expected`, otherwise a [`TheoryError::BadShape`].
    pub fn check_len(
        what: &'static str,
        field: &'static str,
        len: usize,
        expected: usize,
        rule: &str,
    ) -> Result<(), Self> {
        if len == expected {
            Ok(())
        } else {
            Err(TheoryError::BadShape {
                what,
                field,
                value: len,
                rule: format!("{rule} = {expected}"),
            })
        }
    }
}

/// Checks that `value` is finite and `>= 0`.
pub(crate) fn non_negative(
    what: &'static str,
    field: &'static str,
    value: f64,
) -> Result<f64, TheoryError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(TheoryError::param(what, field, value, "finite and >= 0"))
    }
}
