//! Errors of the statistics crate: every variant names the computation, the value that was
//! rejected and the rule it breaks, so a caller can report it without extra context.

/// A statistic that cannot be computed from the given input.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum StatsError {
    /// Fewer observations than the computation needs.
    #[error("{what}: needs at least {needed} usable values, got {got}")]
    TooFewPoints {
        /// The computation, e.g. `pearson`.
        what: &'static str,
        /// The minimum number of observations.
        needed: usize,
        /// The number supplied (after dropping what the computation drops).
        got: usize,
    },
    /// An observation that is NaN or infinite where only finite values are accepted.
    #[error("{what}: {field}[{index}] = {value} is not finite")]
    NonFinite {
        /// The computation.
        what: &'static str,
        /// Which input (`x`, `y`, `values`).
        field: &'static str,
        /// Position of the offending value.
        index: usize,
        /// The value itself.
        value: f64,
    },
    /// An observation outside the domain of the computation (e.g. `x ≤ 0` in a power-law fit).
    #[error("{what}: {field}[{index}] = {value} breaks the rule `{rule}`")]
    OutOfDomain {
        /// The computation.
        what: &'static str,
        /// Which input.
        field: &'static str,
        /// Position of the offending value.
        index: usize,
        /// The value itself.
        value: f64,
        /// The rule it breaks, e.g. `> 0`.
        rule: &'static str,
    },
    /// Paired inputs of different lengths.
    #[error("{what}: paired inputs differ in length ({left} and {right})")]
    LengthMismatch {
        /// The computation.
        what: &'static str,
        /// Length of the first input.
        left: usize,
        /// Length of the second input.
        right: usize,
    },
    /// A parameter (confidence level, bandwidth, window) outside its allowed range.
    #[error("{what}: `{field}` = {value} breaks the rule `{rule}`")]
    InvalidArgument {
        /// The computation.
        what: &'static str,
        /// The parameter's name.
        field: &'static str,
        /// Its value.
        value: f64,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// An input whose values are all equal where spread is needed (a correlation, a regression).
    #[error("{what}: `{field}` has zero variance (all values equal)")]
    ZeroVariance {
        /// The computation.
        what: &'static str,
        /// Which input is constant.
        field: &'static str,
    },
    /// A linear system (normal equations, the Gauss–Newton matrix JᵀJ) that is singular to
    /// working precision: some parameter is not identified by the data.
    #[error(
        "{what}: the normal equations are singular (parameter `{parameter}` is not identified)"
    )]
    Singular {
        /// The computation.
        what: &'static str,
        /// The parameter whose pivot vanished.
        parameter: &'static str,
    },
    /// An iterative fit that did not meet its convergence tests.
    #[error(
        "{what}: no convergence after {iterations} iterations (residual sum of squares {rss})"
    )]
    NoConvergence {
        /// The computation.
        what: &'static str,
        /// Iterations run.
        iterations: usize,
        /// The residual sum of squares at the last accepted point.
        rss: f64,
    },
    /// A decision rate with no trials in its class (a hit rate without target-present trials).
    #[error("{what}: no {class} trials, so the {rate} is undefined")]
    EmptyClass {
        /// The computation.
        what: &'static str,
        /// `target-present` or `target-absent`.
        class: &'static str,
        /// The rate that needs the class.
        rate: &'static str,
    },
    /// A rate of exactly 0 or 1 whose z-transform is infinite (choose a correction).
    #[error("{what}: {rate} = {value} has an infinite z-score; use the log-linear correction")]
    DegenerateRate {
        /// The computation.
        what: &'static str,
        /// `hit rate` or `false-alarm rate`.
        rate: &'static str,
        /// The rate.
        value: f64,
    },
    /// A combination of options this computation does not offer.
    #[error("{what}: {reason}")]
    Unsupported {
        /// The computation.
        what: &'static str,
        /// What is not offered and why.
        reason: &'static str,
    },
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, StatsError>;

/// Checks that every value is finite, naming the first one that is not.
pub(crate) fn check_finite(what: &'static str, field: &'static str, xs: &[f64]) -> Result<()> {
    match xs.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(index) => Err(StatsError::NonFinite {
            what,
            field,
            index,
            value: xs[index],
        }),
    }
}

/// Checks that two paired inputs have the same length.
pub(crate) fn check_same_len(what: &'static str, left: usize, right: usize) -> Result<()> {
    if left == right {
        Ok(())
    } else {
        Err(StatsError::LengthMismatch { what, left, right })
    }
}

/// Checks that there are at least `needed` observations.
pub(crate) fn check_len(what: &'static str, needed: usize, got: usize) -> Result<()> {
    if got >= needed {
        Ok(())
    } else {
        Err(StatsError::TooFewPoints { what, needed, got })
    }
}

/// Checks that a confidence level lies strictly between 0 and 1.
pub(crate) fn check_level(what: &'static str, level: f64) -> Result<()> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(StatsError::InvalidArgument {
            what,
            field: "level",
            value: level,
            rule: "0 < level < 1",
        })
    }
}
