//! Ordinary least-squares line `y = a + b x` (e.g. Draper & Smith, *Applied Regression
//! Analysis*, 3rd ed., 1998, ch. 1–3).
//!
//! With centred sums `Sxx = Σ(xᵢ−x̄)²`, `Sxy = Σ(xᵢ−x̄)(yᵢ−ȳ)`: `b̂ = Sxy/Sxx`, `â = ȳ − b̂ x̄`,
//! `s² = RSS/(n−2)`, `se(b̂) = s/√Sxx`, `se(â) = s √(1/n + x̄²/Sxx)`, `Cov(â, b̂) = −x̄ s²/Sxx`;
//! intervals `± t_{0.975, n−2} se`. The mean response at `x` has standard error
//! `s √(1/n + (x−x̄)²/Sxx)`. `R² = 1 − RSS/Syy` (NaN when all `y` are equal).

use serde::{Deserialize, Serialize};

use super::Estimate;
use crate::error::{check_finite, check_len, check_same_len, Result, StatsError};
use crate::student_t::t_quantile;

/// A fitted straight line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearFit {
    /// The intercept `a`.
    pub intercept: Estimate,
    /// The slope `b`.
    pub slope: Estimate,
    /// `Cov(â, b̂)`.
    pub covariance_intercept_slope: f64,
    /// Coefficient of determination `R²`.
    pub r_squared: f64,
    /// Residual standard deviation `s`.
    pub residual_sd: f64,
    /// Number of points.
    pub n: usize,
    /// Mean of `x`.
    pub x_mean: f64,
    /// `Σ(xᵢ − x̄)²`.
    pub sxx: f64,
}

impl LinearFit {
    /// The fitted value `â + b̂ x`.
    pub fn predict(&self, x: f64) -> f64 {
        self.intercept.value + self.slope.value * x
    }

    /// The 95 % confidence interval of the mean response at `x`.
    pub fn mean_response_ci95(&self, x: f64) -> (f64, f64) {
        let n = self.n as f64;
        let se = self.residual_sd * (1.0 / n + (x - self.x_mean).powi(2) / self.sxx).sqrt();
        let half = t_quantile(0.975, n - 2.0) * se;
        let y = self.predict(x);
        (y - half, y + half)
    }
}

/// Fits `y = a + b x` to finite data (at least 3 points, `x` not constant).
pub fn fit_linear(x: &[f64], y: &[f64]) -> Result<LinearFit> {
    fit_linear_named("fit_linear", x, y)
}

pub(crate) fn fit_linear_named(what: &'static str, x: &[f64], y: &[f64]) -> Result<LinearFit> {
    check_same_len(what, x.len(), y.len())?;
    check_len(what, 3, x.len())?;
    check_finite(what, "x", x)?;
    check_finite(what, "y", y)?;
    let n = x.len();
    let (mx, my) = (crate::summary::mean(x), crate::summary::mean(y));
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if sxx == 0.0 {
        return Err(StatsError::ZeroVariance { what, field: "x" });
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let rss: f64 = x
        .iter()
        .zip(y)
        .map(|(a, b)| (b - intercept - slope * a).powi(2))
        .sum();
    let dof = (n - 2) as f64;
    let s2 = rss / dof;
    let tq = t_quantile(0.975, dof);
    let se_slope = (s2 / sxx).sqrt();
    let se_intercept = (s2 * (1.0 / n as f64 + mx * mx / sxx)).sqrt();
    Ok(LinearFit {
        intercept: Estimate::symmetric(intercept, se_intercept, tq),
        slope: Estimate::symmetric(slope, se_slope, tq),
        covariance_intercept_slope: -mx * s2 / sxx,
        r_squared: if syy > 0.0 { 1.0 - rss / syy } else { f64::NAN },
        residual_sd: s2.sqrt(),
        n,
        x_mean: mx,
        sxx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_line() {
        // x = 1..5, y = [2, 4, 5, 4, 5]: Sxx = 10, Sxy = 6 → b = 0.6, a = 4 − 1.8 = 2.2.
        // Fitted 2.8 3.4 4.0 4.6 5.2; residuals −.8 .6 1 −.6 −.2; RSS = .64+.36+1+.36+.04 = 2.4;
        // s² = 0.8, se(b) = √(0.08), se(a) = √(0.8 (1/5 + 9/10)) = √0.88; R² = 1 − 2.4/6 = 0.6.
        let f = fit_linear(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 5.0, 4.0, 5.0]).unwrap();
        assert!((f.slope.value - 0.6).abs() < 1e-15);
        assert!((f.intercept.value - 2.2).abs() < 1e-14);
        assert!((f.slope.se - 0.08f64.sqrt()).abs() < 1e-15);
        assert!((f.intercept.se - 0.88f64.sqrt()).abs() < 1e-14);
        assert!((f.r_squared - 0.6).abs() < 1e-14);
        let t = 3.182_446_305_283_71; // t_{0.975, 3}
        assert!((f.slope.ci95.1 - (0.6 + t * 0.08f64.sqrt())).abs() < 1e-12);
        let (lo, hi) = f.mean_response_ci95(3.0);
        assert!((hi - lo - 2.0 * t * (0.8f64 / 5.0).sqrt()).abs() < 1e-12);
        assert!(fit_linear(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_err());
        assert!(fit_linear(&[1.0, 2.0], &[1.0, 2.0]).is_err());
    }
}
