//! Descriptive summaries and the per-seed summary of a measured quantity.
//!
//! - Mean `x̄ = Σxᵢ/n`, refined once by `x̄ += Σ(xᵢ − x̄)/n` (corrected two-pass, Chan, Golub
//!   & LeVeque 1983), so large offsets do not cost precision.
//! - Sample variance `s² = (Σ(xᵢ − x̄)² − (Σ(xᵢ − x̄))²/n) / (n − 1)` (same source), sample
//!   standard deviation `s`, standard error of the mean `s/√n`.
//! - Student-t interval for the mean: `x̄ ± t_{(1+level)/2, n−1} · s/√n` (Student 1908), with the
//!   t quantile from [`crate::t_quantile`].
//! - [`SeedSummary`] is what verdict rows record for a metric measured over seeds:
//!   `{mean, sd, n, ci95: [lo, hi], per_seed}` (DESIGN.md §4). With one seed the spread and the
//!   interval are undefined and are `None` (JSON `null`), never a made-up zero.

use learnscope_core::RandomKey;
use serde::{Deserialize, Serialize};

use crate::bootstrap::{bootstrap_ci, BootstrapMethod, BootstrapOptions};
use crate::error::{check_finite, check_len, check_level, Result};
use crate::student_t::t_quantile;

/// The arithmetic mean (NaN for no values).
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let m = values.iter().sum::<f64>() / n;
    m + values.iter().map(|x| x - m).sum::<f64>() / n
}

/// The sample variance with the `n − 1` denominator (NaN for fewer than two values).
pub fn variance(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return f64::NAN;
    }
    let m = mean(values);
    let (ss, s) = values.iter().fold((0.0, 0.0), |(ss, s), x| {
        let d = x - m;
        (ss + d * d, s + d)
    });
    ((ss - s * s / n as f64) / (n - 1) as f64).max(0.0)
}

/// The sample standard deviation `√(s²)` (NaN for fewer than two values).
pub fn sd(values: &[f64]) -> f64 {
    variance(values).sqrt()
}

/// The standard error of the mean `s/√n` (NaN for fewer than two values).
pub fn sem(values: &[f64]) -> f64 {
    sd(values) / (values.len() as f64).sqrt()
}

/// The Student-t confidence interval `x̄ ± t_{(1+level)/2, n−1} s/√n` for the mean of finite
/// values (needs two or more).
pub fn t_interval(values: &[f64], level: f64) -> Result<(f64, f64)> {
    const WHAT: &str = "t_interval";
    check_level(WHAT, level)?;
    check_len(WHAT, 2, values.len())?;
    check_finite(WHAT, "values", values)?;
    let half = t_quantile(0.5 + 0.5 * level, (values.len() - 1) as f64) * sem(values);
    let m = mean(values);
    Ok((m - half, m + half))
}

/// A metric measured once per seed, summarised as in a verdict row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedSummary {
    /// The mean over seeds.
    pub mean: f64,
    /// The sample standard deviation over seeds (`n − 1`); `None` with one seed.
    pub sd: Option<f64>,
    /// The number of seeds.
    pub n: usize,
    /// The 95 % Student-t interval for the mean; `None` with one seed.
    pub ci95: Option<(f64, f64)>,
    /// The per-seed values, in seed order.
    pub per_seed: Vec<f64>,
}

impl SeedSummary {
    /// Summarises finite per-seed values (at least one).
    pub fn from_seeds(per_seed: &[f64]) -> Result<Self> {
        const WHAT: &str = "seed summary";
        check_len(WHAT, 1, per_seed.len())?;
        check_finite(WHAT, "per_seed", per_seed)?;
        let n = per_seed.len();
        let (sd, ci95) = if n >= 2 {
            (Some(sd(per_seed)), Some(t_interval(per_seed, 0.95)?))
        } else {
            (None, None)
        };
        Ok(SeedSummary {
            mean: mean(per_seed),
            sd,
            n,
            ci95,
            per_seed: per_seed.to_vec(),
        })
    }

    /// The standard error of the mean `sd/√n`; `None` with one seed.
    pub fn sem(&self) -> Option<f64> {
        self.sd.map(|s| s / (self.n as f64).sqrt())
    }

    /// The Student-t interval for the mean at any level; `None` with one seed or a level
    /// outside `(0, 1)`.
    pub fn ci(&self, level: f64) -> Option<(f64, f64)> {
        t_interval(&self.per_seed, level).ok()
    }

    /// The 95 % bootstrap percentile interval for the mean (`resamples` resamples drawn from
    /// `key`), an alternative to [`SeedSummary::ci95`] that does not assume normality. Needs
    /// two or more seeds; with few seeds it is narrower than the t interval (it ignores the
    /// uncertainty of `sd`).
    pub fn bootstrap_ci95(&self, key: RandomKey, resamples: usize) -> Result<(f64, f64)> {
        check_len("seed summary bootstrap", 2, self.n)?;
        let options = BootstrapOptions {
            resamples,
            level: 0.95,
            method: BootstrapMethod::Percentile,
        };
        let ci = bootstrap_ci(&self.per_seed, mean, key, &options)?;
        Ok((ci.lo, ci.hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sd_of_one_to_four_are_exact() {
        // mean = 10/4 = 2.5; deviations ±1.5, ±0.5 → Σd² = 5, s² = 5/3.
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(mean(&xs), 2.5);
        assert_eq!(variance(&xs), 5.0 / 3.0);
        assert_eq!(sd(&xs), (5.0f64 / 3.0).sqrt());
        assert_eq!(sem(&xs), (5.0f64 / 3.0).sqrt() / 2.0);
        assert!(mean(&[]).is_nan() && sd(&[1.0]).is_nan());
    }

    #[test]
    fn large_offsets_keep_precision() {
        let xs = [1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0, 1e9 + 4.0];
        assert_eq!(mean(&xs), 1e9 + 2.5);
        assert!((variance(&xs) - 5.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn t_interval_of_one_to_four() {
        // t_{0.975,3} = 3.182446305283710, sem = √(5/3)/2 = 0.645497224367903.
        let (lo, hi) = t_interval(&[1.0, 2.0, 3.0, 4.0], 0.95).unwrap();
        let half = 3.182_446_305_283_71 * 0.645_497_224_367_903;
        assert!((lo - (2.5 - half)).abs() < 1e-12 && (hi - (2.5 + half)).abs() < 1e-12);
        assert!(t_interval(&[1.0], 0.95).is_err());
        assert!(t_interval(&[1.0, 2.0], 1.0).is_err());
    }

    #[test]
    fn one_seed_has_no_spread() {
        let s = SeedSummary::from_seeds(&[0.7]).unwrap();
        assert_eq!((s.mean, s.sd, s.n, s.ci95), (0.7, None, 1, None));
        assert!(SeedSummary::from_seeds(&[]).is_err());
        assert!(SeedSummary::from_seeds(&[1.0, f64::INFINITY]).is_err());
    }
}
