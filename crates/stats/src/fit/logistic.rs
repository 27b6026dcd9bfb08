//! Logistic curve `y = L / (1 + exp(−k (x − x₀))) + b` (amplitude `L`, rate `k`, midpoint
//! `x₀`, offset `b`), fitted by Levenberg–Marquardt ([`crate::fit::fit_curve`]; standard errors
//! from `σ̂² (JᵀJ)⁻¹` at the optimum, intervals on `n − p` degrees of freedom).
//!
//! Gradient, with `s = σ(k(x−x₀))` and `s(1−s) = σ(z)σ(−z)` computed without cancellation:
//! `∂y/∂L = s`, `∂y/∂k = L s(1−s)(x−x₀)`, `∂y/∂x₀ = −L s(1−s) k`, `∂y/∂b = 1`.
//!
//! Start: `b₀` and `L₀` from the data's range, the direction of `k` from comparing the first
//! and last thirds (in `x` order), `x₀` the mean `x` of the points in the middle half of the
//! range, and `|k₀| = 2 ln 3 / w` where `w` is the `x`-span of those points (the 25 %–75 %
//! width of a logistic is `2 ln 3 / k`). LM is run from `k₀`, `k₀/3` and `3k₀`; the converged
//! fit with the smallest RSS is kept. The parametrisation has the symmetry
//! `(L, k, x₀, b) ≡ (−L, −k, x₀, b + L)`; with a free offset the result is reported with
//! `L > 0` (decreasing curves have `k < 0`).
//!
//! The offset can be fixed (e.g. `b = 0` for a sigmoid rising from zero, as in the Saxe et al.
//! mode-strength curves), leaving three parameters.

use serde::{Deserialize, Serialize};

use super::levenberg_marquardt::{fit_curve, CurveFit, CurveModel, LmOptions};
use super::Estimate;
use crate::error::{check_finite, check_len, check_same_len, Result, StatsError};
use crate::student_t::t_quantile;

/// The logistic model; parameters `[L, k, x₀, b]`, or `[L, k, x₀]` with a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LogisticModel {
    /// `Some(b)` fixes the offset at `b`.
    pub fixed_offset: Option<f64>,
}

/// `σ(z) = 1/(1 + e^{−z})` without overflow.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl CurveModel for LogisticModel {
    fn parameter_names(&self) -> &'static [&'static str] {
        if self.fixed_offset.is_some() {
            &["amplitude", "rate", "midpoint"]
        } else {
            &["amplitude", "rate", "midpoint", "offset"]
        }
    }

    fn eval(&self, x: f64, p: &[f64], gradient: &mut [f64]) -> f64 {
        let (l, k, x0) = (p[0], p[1], p[2]);
        let b = self.fixed_offset.unwrap_or_else(|| p[3]);
        let z = k * (x - x0);
        let s = sigmoid(z);
        let ds = s * sigmoid(-z);
        gradient[0] = s;
        gradient[1] = l * ds * (x - x0);
        gradient[2] = -l * ds * k;
        if self.fixed_offset.is_none() {
            gradient[3] = 1.0;
        }
        l * s + b
    }
}

/// Options of [`fit_logistic_with`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct LogisticOptions {
    /// `Some(b)` fixes the offset; `None` fits it.
    pub fixed_offset: Option<f64>,
    /// Iteration limits and tolerances.
    pub lm: LmOptions,
}

/// A fitted logistic curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticFit {
    /// Amplitude `L` (the rise from the lower to the upper asymptote).
    pub amplitude: Estimate,
    /// Rate `k` (per unit of `x`; negative for a falling curve).
    pub rate: Estimate,
    /// Midpoint `x₀`, where the curve is halfway.
    pub midpoint: Estimate,
    /// Offset `b` (the lower asymptote when `k > 0`); standard error 0 when fixed.
    pub offset: Estimate,
    /// The full least-squares result (covariance in the order `L, k, x₀[, b]`, RSS).
    pub fit: CurveFit,
}

impl LogisticFit {
    /// The fitted value at `x`.
    pub fn predict(&self, x: f64) -> f64 {
        self.amplitude.value * sigmoid(self.rate.value * (x - self.midpoint.value))
            + self.offset.value
    }
}

/// Fits `y = L / (1 + exp(−k (x − x₀))) + b` with all four parameters free (at least 5 points).
pub fn fit_logistic(x: &[f64], y: &[f64]) -> Result<LogisticFit> {
    fit_logistic_with(x, y, &LogisticOptions::default())
}

/// Fits the logistic curve with options (a fixed offset, iteration limits).
pub fn fit_logistic_with(x: &[f64], y: &[f64], options: &LogisticOptions) -> Result<LogisticFit> {
    const WHAT: &str = "fit_logistic";
    let model = LogisticModel {
        fixed_offset: options.fixed_offset,
    };
    let p = model.parameter_names().len();
    check_same_len(WHAT, x.len(), y.len())?;
    check_len(WHAT, p + 1, x.len())?;
    check_finite(WHAT, "x", x)?;
    check_finite(WHAT, "y", y)?;
    if let Some(b) = options.fixed_offset {
        check_finite(WHAT, "fixed_offset", &[b])?;
    }
    let start = initial_guess(WHAT, x, y, options.fixed_offset)?;
    let mut best: Option<CurveFit> = None;
    let mut last_err = None;
    for factor in [1.0, 1.0 / 3.0, 3.0] {
        let mut initial = start.clone();
        initial[1] *= factor;
        match fit_curve(WHAT, &model, x, y, &initial, &options.lm) {
            Ok(fit) => {
                if best.as_ref().is_none_or(|b| fit.rss < b.rss) {
                    best = Some(fit);
                }
            }
            Err(e) => last_err = Some(e),
        }
    }
    let Some(mut fit) = best else {
        return Err(last_err.unwrap_or(StatsError::NoConvergence {
            what: WHAT,
            iterations: 0,
            rss: f64::NAN,
        }));
    };
    if options.fixed_offset.is_none() && fit.params[0].value < 0.0 {
        flip_sign(&mut fit);
    }
    let offset = match options.fixed_offset {
        Some(b) => Estimate {
            value: b,
            se: 0.0,
            ci95: (b, b),
        },
        None => fit.params[3],
    };
    Ok(LogisticFit {
        amplitude: fit.params[0],
        rate: fit.params[1],
        midpoint: fit.params[2],
        offset,
        fit,
    })
}

/// Maps `(L, k, x₀, b)` to the equivalent `(−L, −k, x₀, b + L)`, covariance included
/// (`Cov' = T Cov Tᵀ`).
fn flip_sign(fit: &mut CurveFit) {
    let t = [
        [-1.0, 0.0, 0.0, 0.0],
        [0.0, -1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [1.0, 0.0, 0.0, 1.0],
    ];
    let c = &fit.covariance;
    let mut out = vec![0.0; 16];
    for i in 0..4 {
        for j in 0..4 {
            out[i * 4 + j] = (0..4)
                .flat_map(|a| (0..4).map(move |b| (a, b)))
                .map(|(a, b)| t[i][a] * c[a * 4 + b] * t[j][b])
                .sum();
        }
    }
    let v = fit.values();
    let values = [-v[0], -v[1], v[2], v[3] + v[0]];
    let tq = t_quantile(0.975, fit.dof as f64);
    fit.params = (0..4)
        .map(|j| Estimate::symmetric(values[j], out[j * 4 + j].max(0.0).sqrt(), tq))
        .collect();
    fit.covariance = out;
}

/// The data-driven starting point described in the module docs.
fn initial_guess(
    what: &'static str,
    x: &[f64],
    y: &[f64],
    fixed_offset: Option<f64>,
) -> Result<Vec<f64>> {
    let mut pairs: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (x_min, x_max) = (pairs[0].0, pairs[pairs.len() - 1].0);
    if x_min == x_max {
        return Err(StatsError::ZeroVariance { what, field: "x" });
    }
    let lo = y.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo == hi {
        return Err(StatsError::ZeroVariance { what, field: "y" });
    }
    let third = (pairs.len() / 3).max(1);
    let mean_y = |s: &[(f64, f64)]| s.iter().map(|p| p.1).sum::<f64>() / s.len() as f64;
    let first = mean_y(&pairs[..third]);
    let last = mean_y(&pairs[pairs.len() - third..]);
    let (amplitude, rising, offset) = match fixed_offset {
        None => (hi - lo, last >= first, lo),
        Some(b) => {
            let far = if (hi - b).abs() >= (lo - b).abs() {
                hi
            } else {
                lo
            };
            let amplitude = if far == b { hi - lo } else { far - b };
            // The end of the curve that is farther from b is the upper end of the sigmoid.
            (amplitude, (last - b).abs() >= (first - b).abs(), b)
        }
    };
    let (band_lo, band_hi) = {
        let (a, b) = (offset + 0.25 * amplitude, offset + 0.75 * amplitude);
        (a.min(b), a.max(b))
    };
    let band: Vec<f64> = pairs
        .iter()
        .filter(|p| p.1 >= band_lo && p.1 <= band_hi)
        .map(|p| p.0)
        .collect();
    let (midpoint, width) = if band.is_empty() {
        (0.5 * (x_min + x_max), 0.25 * (x_max - x_min))
    } else {
        let m = band.iter().sum::<f64>() / band.len() as f64;
        let w = band[band.len() - 1] - band[0];
        let w = if w > 1e-6 * (x_max - x_min) {
            w
        } else {
            0.25 * (x_max - x_min)
        };
        (m, w)
    };
    let rate = 2.0 * 3f64.ln() / width * if rising { 1.0 } else { -1.0 };
    let mut start = vec![amplitude, rate, midpoint];
    if fixed_offset.is_none() {
        start.push(offset);
    }
    Ok(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(l: f64, k: f64, x0: f64, b: f64, x: &[f64]) -> Vec<f64> {
        x.iter()
            .map(|x| l / (1.0 + (-k * (x - x0)).exp()) + b)
            .collect()
    }

    #[test]
    fn recovers_noiseless_rising_and_falling_curves() {
        let x: Vec<f64> = (0..60).map(|i| f64::from(i) * 0.25).collect();
        for (l, k, x0, b) in [
            (2.0, 1.3, 6.0, 0.5),
            (0.8, -2.5, 9.0, -1.0),
            (5.0, 0.4, 3.0, 10.0),
        ] {
            let y = curve(l, k, x0, b, &x);
            let f = fit_logistic(&x, &y).unwrap();
            for (got, want) in [
                (f.amplitude.value, l),
                (f.rate.value, k),
                (f.midpoint.value, x0),
                (f.offset.value, b),
            ] {
                assert!((got - want).abs() < 1e-8, "{l} {k} {x0} {b}: {f:?}");
            }
            assert!((f.predict(4.0) - curve(l, k, x0, b, &[4.0])[0]).abs() < 1e-10);
        }
    }

    #[test]
    fn fixed_offset_fits_three_parameters() {
        let x: Vec<f64> = (0..40).map(|i| f64::from(i) * 0.5).collect();
        let y = curve(3.0, 0.9, 8.0, 0.0, &x);
        let o = LogisticOptions {
            fixed_offset: Some(0.0),
            ..Default::default()
        };
        let f = fit_logistic_with(&x, &y, &o).unwrap();
        assert_eq!(f.fit.params.len(), 3);
        assert_eq!(f.offset.ci95, (0.0, 0.0));
        assert!((f.amplitude.value - 3.0).abs() < 1e-8);
        assert!((f.rate.value - 0.9).abs() < 1e-8);
        assert!((f.midpoint.value - 8.0).abs() < 1e-8);
    }

    #[test]
    fn flipping_keeps_the_curve_and_the_variances_consistent() {
        let mut fit = CurveFit {
            params: vec![
                Estimate::symmetric(-2.0, 0.1, 2.0),
                Estimate::symmetric(-1.0, 0.2, 2.0),
                Estimate::symmetric(5.0, 0.3, 2.0),
                Estimate::symmetric(3.0, 0.4, 2.0),
            ],
            covariance: vec![
                0.01, 0.0, 0.0, -0.02, //
                0.0, 0.04, 0.0, 0.0, //
                0.0, 0.0, 0.09, 0.0, //
                -0.02, 0.0, 0.0, 0.16,
            ],
            rss: 1.0,
            dof: 10,
            iterations: 1,
        };
        flip_sign(&mut fit);
        assert_eq!(fit.values(), vec![2.0, 1.0, 5.0, 1.0]);
        // Var(b + L) = 0.16 + 0.01 − 2·0.02 = 0.13.
        assert!((fit.covariance[15] - 0.13).abs() < 1e-15);
        assert!((fit.params[3].se - 0.13f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn rejects_degenerate_input() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!(matches!(
            fit_logistic(&x, &[1.0; 5]),
            Err(StatsError::ZeroVariance { field: "y", .. })
        ));
        assert!(matches!(
            fit_logistic(&x[..4], &[1.0, 2.0, 3.0, 4.0]),
            Err(StatsError::TooFewPoints { needed: 5, .. })
        ));
    }
}
