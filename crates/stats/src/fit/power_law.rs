//! Power laws `y = a x^b`, and `y = a x^b + c` with an offset (a loss floor, a ceiling).
//!
//! - Without offset: ordinary least squares of `ln y = ln a + b ln x` (the standard log–log
//!   fit; errors assumed multiplicative). The exponent's interval is the slope's; the
//!   prefactor's interval is `exp` of the intercept's interval (so it is asymmetric) and its
//!   standard error the delta-method `â · se(ln â)`. Needs `x > 0`, `y > 0`.
//! - With offset: Levenberg–Marquardt on `y = a x^b + c` (additive errors, see
//!   [`crate::fit::fit_curve`]), started from log–log fits of `y − c₀` with `c₀` just below the
//!   smallest `y` (curves approaching the floor from above, `a > 0`) and of `c₀ − y` with `c₀`
//!   just above the largest `y` (approach from below, `a < 0`); the start with the smaller
//!   residual sum of squares wins. Needs `x > 0`.

use serde::{Deserialize, Serialize};

use super::levenberg_marquardt::{fit_curve, CurveFit, CurveModel, LmOptions};
use super::linear::{fit_linear_named, LinearFit};
use super::Estimate;
use crate::error::{check_finite, check_len, check_same_len, Result, StatsError};

/// A log–log power-law fit `y = a x^b`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerLawFit {
    /// The prefactor `a` (interval: `exp` of the log-intercept's interval).
    pub prefactor: Estimate,
    /// The exponent `b`.
    pub exponent: Estimate,
    /// The underlying straight-line fit of `ln y` on `ln x`.
    pub log_fit: LinearFit,
}

impl PowerLawFit {
    /// The fitted value `â x^b̂`.
    pub fn predict(&self, x: f64) -> f64 {
        self.prefactor.value * x.powf(self.exponent.value)
    }
}

fn check_positive(what: &'static str, field: &'static str, xs: &[f64]) -> Result<()> {
    match xs.iter().position(|&v| v <= 0.0) {
        None => Ok(()),
        Some(index) => Err(StatsError::OutOfDomain {
            what,
            field,
            index,
            value: xs[index],
            rule: "> 0",
        }),
    }
}

/// Fits `y = a x^b` by least squares in log–log space (at least 3 points, `x, y > 0`).
pub fn fit_power_law(x: &[f64], y: &[f64]) -> Result<PowerLawFit> {
    const WHAT: &str = "fit_power_law";
    check_same_len(WHAT, x.len(), y.len())?;
    check_finite(WHAT, "x", x)?;
    check_finite(WHAT, "y", y)?;
    check_positive(WHAT, "x", x)?;
    check_positive(WHAT, "y", y)?;
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let log_fit = fit_linear_named(WHAT, &lx, &ly)?;
    let ln_a = log_fit.intercept;
    let a = ln_a.value.exp();
    Ok(PowerLawFit {
        prefactor: Estimate {
            value: a,
            se: a * ln_a.se,
            ci95: (ln_a.ci95.0.exp(), ln_a.ci95.1.exp()),
        },
        exponent: log_fit.slope,
        log_fit,
    })
}

/// The model `y = a x^b + c`, parameters `[a, b, c]`, for `x > 0`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PowerLawOffsetModel;

impl CurveModel for PowerLawOffsetModel {
    fn parameter_names(&self) -> &'static [&'static str] {
        &["prefactor", "exponent", "offset"]
    }

    fn eval(&self, x: f64, p: &[f64], gradient: &mut [f64]) -> f64 {
        let xb = x.powf(p[1]);
        gradient[0] = xb;
        gradient[1] = p[0] * xb * x.ln();
        gradient[2] = 1.0;
        p[0] * xb + p[2]
    }
}

/// A nonlinear power-law fit with offset `y = a x^b + c`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerLawOffsetFit {
    /// The prefactor `a`.
    pub prefactor: Estimate,
    /// The exponent `b`.
    pub exponent: Estimate,
    /// The offset `c` (the asymptote when `b < 0`).
    pub offset: Estimate,
    /// The full least-squares result (covariance, RSS).
    pub fit: CurveFit,
}

impl PowerLawOffsetFit {
    /// The fitted value `â x^b̂ + ĉ`.
    pub fn predict(&self, x: f64) -> f64 {
        self.prefactor.value * x.powf(self.exponent.value) + self.offset.value
    }
}

/// Fits `y = a x^b + c` (at least 4 points, `x > 0`).
pub fn fit_power_law_offset(x: &[f64], y: &[f64]) -> Result<PowerLawOffsetFit> {
    const WHAT: &str = "fit_power_law_offset";
    check_same_len(WHAT, x.len(), y.len())?;
    check_len(WHAT, 4, x.len())?;
    check_finite(WHAT, "x", x)?;
    check_finite(WHAT, "y", y)?;
    check_positive(WHAT, "x", x)?;
    let lo = y.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if hi == lo {
        return Err(StatsError::ZeroVariance {
            what: WHAT,
            field: "y",
        });
    }
    let margin = 0.01 * (hi - lo);
    let mut best: Option<CurveFit> = None;
    let mut last_err = None;
    for (c0, sign) in [(lo - margin, 1.0), (hi + margin, -1.0)] {
        let shifted: Vec<f64> = y.iter().map(|v| sign * (v - c0)).collect();
        let Ok(start) = fit_power_law(x, &shifted) else {
            continue;
        };
        let initial = [sign * start.prefactor.value, start.exponent.value, c0];
        match fit_curve(
            WHAT,
            &PowerLawOffsetModel,
            x,
            y,
            &initial,
            &LmOptions::default(),
        ) {
            Ok(fit) => {
                if best.as_ref().is_none_or(|b| fit.rss < b.rss) {
                    best = Some(fit);
                }
            }
            Err(e) => last_err = Some(e),
        }
    }
    let fit = match (best, last_err) {
        (Some(fit), _) => fit,
        (None, Some(e)) => return Err(e),
        (None, None) => {
            return Err(StatsError::ZeroVariance {
                what: WHAT,
                field: "x",
            })
        }
    };
    Ok(PowerLawOffsetFit {
        prefactor: fit.params[0],
        exponent: fit.params[1],
        offset: fit.params[2],
        fit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_power_law_is_recovered() {
        let x: Vec<f64> = (1..=30).map(|i| f64::from(i) * 3.0).collect();
        let y: Vec<f64> = x.iter().map(|x| 3.0 * x.powf(-0.7)).collect();
        let f = fit_power_law(&x, &y).unwrap();
        assert!((f.prefactor.value - 3.0).abs() < 1e-12);
        assert!((f.exponent.value + 0.7).abs() < 1e-13);
        assert!(f.exponent.se < 1e-12);
        assert!((f.predict(10.0) - 3.0 * 10f64.powf(-0.7)).abs() < 1e-12);
        assert!(matches!(
            fit_power_law(&[1.0, 2.0, 3.0], &[1.0, 0.0, 2.0]),
            Err(StatsError::OutOfDomain {
                field: "y",
                index: 1,
                ..
            })
        ));
    }

    #[test]
    fn power_law_with_offset_is_recovered_from_both_sides() {
        let x: Vec<f64> = (0..40).map(|i| 10f64.powf(f64::from(i) / 10.0)).collect();
        for (a, b, c) in [(2.0, -0.5, 0.3), (-1.5, -0.8, 0.9), (0.5, 0.4, -2.0)] {
            let y: Vec<f64> = x.iter().map(|x| a * x.powf(b) + c).collect();
            let f = fit_power_law_offset(&x, &y).unwrap();
            assert!((f.prefactor.value - a).abs() < 1e-8, "{a} {b} {c}: {f:?}");
            assert!((f.exponent.value - b).abs() < 1e-8, "{a} {b} {c}: {f:?}");
            assert!((f.offset.value - c).abs() < 1e-8, "{a} {b} {c}: {f:?}");
        }
    }
}
