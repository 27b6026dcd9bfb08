//! Curve fits with standard errors and 95 % confidence intervals: straight lines (ordinary
//! least squares), power laws (log–log least squares, or nonlinear with an offset), logistic
//! curves (Levenberg–Marquardt), and any [`CurveModel`] through [`fit_curve`].

mod dense;
mod levenberg_marquardt;
mod linear;
mod logistic;
mod power_law;

use serde::{Deserialize, Serialize};

pub use levenberg_marquardt::{fit_curve, CurveFit, CurveModel, LmOptions};
pub use linear::{fit_linear, LinearFit};
pub use logistic::{fit_logistic, fit_logistic_with, LogisticFit, LogisticModel, LogisticOptions};
pub use power_law::{
    fit_power_law, fit_power_law_offset, PowerLawFit, PowerLawOffsetFit, PowerLawOffsetModel,
};

/// A fitted parameter: value, standard error and 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// Its standard error.
    pub se: f64,
    /// The 95 % confidence interval `(lo, hi)`.
    pub ci95: (f64, f64),
}

impl Estimate {
    /// `value ± quantile · se`.
    pub(crate) fn symmetric(value: f64, se: f64, quantile: f64) -> Self {
        Estimate {
            value,
            se,
            ci95: (value - quantile * se, value + quantile * se),
        }
    }

    /// Whether `x` lies in the 95 % interval (ends included).
    pub fn covers(&self, x: f64) -> bool {
        self.ci95.0 <= x && x <= self.ci95.1
    }
}
