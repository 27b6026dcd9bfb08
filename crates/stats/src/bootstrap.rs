//! Nonparametric bootstrap confidence intervals for any statistic (Efron 1979; Efron &
//! Tibshirani, *An Introduction to the Bootstrap*, 1993).
//!
//! Each of `B` resamples draws `n` indices uniformly with replacement; resample `r`, draw `j`
//! is `key.at(r).u64_at(j)` mapped to `[0, n)` by Lemire's multiply-shift, so an interval is a
//! pure function of (data, statistic, key, options) and never depends on thread count or call
//! order.
//!
//! - **Percentile** interval: the `(1−level)/2` and `(1+level)/2` sample quantiles (Hyndman–Fan
//!   type 7) of the `B` replicates `θ*_b` (E&T ch. 13).
//! - **BCa** (bias-corrected and accelerated, Efron 1987; E&T ch. 14): with bias correction
//!   `ẑ₀ = Φ⁻¹(#{θ*_b < θ̂} + ½#{θ*_b = θ̂}) / B)` and acceleration from the jackknife values
//!   `θ₍ᵢ₎` (statistic without observation `i`, mean `θ̄`):
//!   `â = Σ(θ̄ − θ₍ᵢ₎)³ / (6 (Σ(θ̄ − θ₍ᵢ₎)²)^{3/2})`, the endpoints are the replicate quantiles
//!   at `α' = Φ(ẑ₀ + (ẑ₀ + z_α)/(1 − â(ẑ₀ + z_α)))`. The proportion in `ẑ₀` is clamped to
//!   `[½/B, 1 − ½/B]` so a statistic that no resample falls below still gets a finite interval.
//! - **Paired** resampling keeps pairs `(xᵢ, yᵢ)` together (for correlations, paired
//!   differences); **two-sample** resampling draws each group independently (percentile only).
//!
//! Replicates where the statistic is not finite (a correlation of a constant resample) are
//! dropped and counted in [`BootstrapCi::non_finite`].

use learnscope_core::RandomKey;
use serde::{Deserialize, Serialize};

use crate::error::{check_finite, check_len, check_level, check_same_len, Result, StatsError};
use crate::normal::{normal_cdf, normal_quantile};
use crate::quantile::quantile_sorted;

/// How the interval is read off the replicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BootstrapMethod {
    /// Quantiles of the replicates.
    #[default]
    Percentile,
    /// Bias-corrected and accelerated quantiles (second-order accurate; costs `n` extra
    /// evaluations of the statistic for the jackknife).
    Bca,
}

/// Resample count, confidence level and method.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapOptions {
    /// Number of resamples `B` (at least 2; 2000 or more for 95 % intervals).
    pub resamples: usize,
    /// Coverage of the interval, in `(0, 1)`.
    pub level: f64,
    /// Percentile or BCa.
    pub method: BootstrapMethod,
}

impl Default for BootstrapOptions {
    /// 2000 resamples, 95 %, percentile.
    fn default() -> Self {
        BootstrapOptions {
            resamples: 2000,
            level: 0.95,
            method: BootstrapMethod::Percentile,
        }
    }
}

/// A bootstrap confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapCi {
    /// The statistic on the original data, `θ̂`.
    pub estimate: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
    /// The coverage asked for.
    pub level: f64,
    /// How the interval was formed.
    pub method: BootstrapMethod,
    /// Number of resamples drawn.
    pub resamples: usize,
    /// Bootstrap standard error: the sample standard deviation of the finite replicates.
    pub se: f64,
    /// Replicates dropped because the statistic was not finite on them.
    pub non_finite: usize,
}

/// Index `j` of resample `key`, uniform on `[0, n)`.
fn draw(key: RandomKey, j: usize, n: usize) -> usize {
    ((u128::from(key.u64_at(j as u64)) * n as u128) >> 64) as usize
}

fn validate(what: &'static str, options: &BootstrapOptions) -> Result<()> {
    check_level(what, options.level)?;
    if options.resamples < 2 {
        return Err(StatsError::InvalidArgument {
            what,
            field: "resamples",
            value: options.resamples as f64,
            rule: ">= 2",
        });
    }
    Ok(())
}

fn finite_estimate(what: &'static str, estimate: f64) -> Result<f64> {
    if estimate.is_finite() {
        Ok(estimate)
    } else {
        Err(StatsError::NonFinite {
            what,
            field: "statistic",
            index: 0,
            value: estimate,
        })
    }
}

/// Forms the interval from the replicates (and the jackknife values for BCa).
fn interval(
    what: &'static str,
    estimate: f64,
    replicates: Vec<f64>,
    jackknife: Option<&[f64]>,
    options: &BootstrapOptions,
) -> Result<BootstrapCi> {
    let resamples = replicates.len();
    let mut finite: Vec<f64> = replicates.into_iter().filter(|t| t.is_finite()).collect();
    let non_finite = resamples - finite.len();
    if finite.len() < 2 {
        return Err(StatsError::TooFewPoints {
            what,
            needed: 2,
            got: finite.len(),
        });
    }
    finite.sort_by(f64::total_cmp);
    let b = finite.len() as f64;
    let se = crate::summary::sd(&finite);
    let alpha_lo = 0.5 - 0.5 * options.level;
    let alpha_hi = 0.5 + 0.5 * options.level;
    let (p_lo, p_hi) = match options.method {
        BootstrapMethod::Percentile => (alpha_lo, alpha_hi),
        BootstrapMethod::Bca => {
            let jack = jackknife.unwrap_or(&[]);
            check_finite(what, "jackknife statistic", jack)?;
            let below = finite.iter().filter(|&&t| t < estimate).count() as f64;
            let equal = finite.iter().filter(|&&t| t == estimate).count() as f64;
            let prop = ((below + 0.5 * equal) / b).clamp(0.5 / b, 1.0 - 0.5 / b);
            let z0 = normal_quantile(prop);
            let jm = crate::summary::mean(jack);
            let (s2, s3) = jack.iter().fold((0.0, 0.0), |(s2, s3), t| {
                let d = jm - t;
                (s2 + d * d, s3 + d * d * d)
            });
            let a = if s2 > 0.0 {
                s3 / (6.0 * s2.powf(1.5))
            } else {
                0.0
            };
            let adjust = |alpha: f64| {
                let z = z0 + normal_quantile(alpha);
                let denominator = 1.0 - a * z;
                if denominator > 0.0 {
                    normal_cdf(z0 + z / denominator)
                } else {
                    // Past the pole of the acceleration correction: the end runs to the
                    // extreme replicate on its side.
                    if alpha < 0.5 {
                        0.0
                    } else {
                        1.0
                    }
                }
            };
            (adjust(alpha_lo), adjust(alpha_hi))
        }
    };
    Ok(BootstrapCi {
        estimate,
        lo: quantile_sorted(&finite, p_lo),
        hi: quantile_sorted(&finite, p_hi),
        level: options.level,
        method: options.method,
        resamples,
        se,
        non_finite,
    })
}

/// Bootstrap interval for a one-sample statistic of finite data.
pub fn bootstrap_ci<F>(
    data: &[f64],
    statistic: F,
    key: RandomKey,
    options: &BootstrapOptions,
) -> Result<BootstrapCi>
where
    F: Fn(&[f64]) -> f64,
{
    const WHAT: &str = "bootstrap";
    validate(WHAT, options)?;
    check_len(WHAT, 2, data.len())?;
    check_finite(WHAT, "data", data)?;
    let n = data.len();
    let estimate = finite_estimate(WHAT, statistic(data))?;
    let mut buf = vec![0.0; n];
    let replicates: Vec<f64> = (0..options.resamples)
        .map(|r| {
            let k = key.at(r as u64);
            for (j, slot) in buf.iter_mut().enumerate() {
                *slot = data[draw(k, j, n)];
            }
            statistic(&buf)
        })
        .collect();
    let jackknife = (options.method == BootstrapMethod::Bca).then(|| {
        let mut without = Vec::with_capacity(n - 1);
        (0..n)
            .map(|i| {
                without.clear();
                without.extend(data[..i].iter().chain(&data[i + 1..]));
                statistic(&without)
            })
            .collect::<Vec<f64>>()
    });
    interval(WHAT, estimate, replicates, jackknife.as_deref(), options)
}

/// Bootstrap interval for a statistic of paired data `(xᵢ, yᵢ)`, resampling pairs.
pub fn bootstrap_paired_ci<F>(
    x: &[f64],
    y: &[f64],
    statistic: F,
    key: RandomKey,
    options: &BootstrapOptions,
) -> Result<BootstrapCi>
where
    F: Fn(&[f64], &[f64]) -> f64,
{
    const WHAT: &str = "paired bootstrap";
    validate(WHAT, options)?;
    check_same_len(WHAT, x.len(), y.len())?;
    check_len(WHAT, 2, x.len())?;
    check_finite(WHAT, "x", x)?;
    check_finite(WHAT, "y", y)?;
    let n = x.len();
    let estimate = finite_estimate(WHAT, statistic(x, y))?;
    let (mut bx, mut by) = (vec![0.0; n], vec![0.0; n]);
    let replicates: Vec<f64> = (0..options.resamples)
        .map(|r| {
            let k = key.at(r as u64);
            for j in 0..n {
                let i = draw(k, j, n);
                bx[j] = x[i];
                by[j] = y[i];
            }
            statistic(&bx, &by)
        })
        .collect();
    let jackknife = (options.method == BootstrapMethod::Bca).then(|| {
        (0..n)
            .map(|i| {
                let jx: Vec<f64> = x[..i].iter().chain(&x[i + 1..]).copied().collect();
                let jy: Vec<f64> = y[..i].iter().chain(&y[i + 1..]).copied().collect();
                statistic(&jx, &jy)
            })
            .collect::<Vec<f64>>()
    });
    interval(WHAT, estimate, replicates, jackknife.as_deref(), options)
}

/// Bootstrap percentile interval for a statistic of two independent samples (e.g. a
/// difference of means), resampling each group within itself. BCa is not offered here
/// (its multi-sample acceleration needs per-group jackknife scaling).
pub fn bootstrap_two_sample_ci<F>(
    x: &[f64],
    y: &[f64],
    statistic: F,
    key: RandomKey,
    options: &BootstrapOptions,
) -> Result<BootstrapCi>
where
    F: Fn(&[f64], &[f64]) -> f64,
{
    const WHAT: &str = "two-sample bootstrap";
    validate(WHAT, options)?;
    if options.method != BootstrapMethod::Percentile {
        return Err(StatsError::Unsupported {
            what: WHAT,
            reason: "only the percentile method is offered for independent samples",
        });
    }
    check_len(WHAT, 2, x.len())?;
    check_len(WHAT, 2, y.len())?;
    check_finite(WHAT, "x", x)?;
    check_finite(WHAT, "y", y)?;
    let estimate = finite_estimate(WHAT, statistic(x, y))?;
    let (kx, ky) = (key.derive("x"), key.derive("y"));
    let (mut bx, mut by) = (vec![0.0; x.len()], vec![0.0; y.len()]);
    let replicates: Vec<f64> = (0..options.resamples)
        .map(|r| {
            let (rx, ry) = (kx.at(r as u64), ky.at(r as u64));
            for (j, slot) in bx.iter_mut().enumerate() {
                *slot = x[draw(rx, j, x.len())];
            }
            for (j, slot) in by.iter_mut().enumerate() {
                *slot = y[draw(ry, j, y.len())];
            }
            statistic(&bx, &by)
        })
        .collect();
    interval(WHAT, estimate, replicates, None, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::mean;

    #[test]
    fn resample_indices_are_in_range_and_cover_the_data() {
        let k = RandomKey::root(1);
        let mut seen = [false; 7];
        for j in 0..1000 {
            let i = draw(k, j, 7);
            assert!(i < 7);
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn constant_data_gives_a_point_interval() {
        let data = [3.0; 10];
        for method in [BootstrapMethod::Percentile, BootstrapMethod::Bca] {
            let o = BootstrapOptions {
                method,
                ..Default::default()
            };
            let ci = bootstrap_ci(&data, mean, RandomKey::root(2), &o).unwrap();
            assert_eq!((ci.lo, ci.estimate, ci.hi, ci.se), (3.0, 3.0, 3.0, 0.0));
        }
    }

    #[test]
    fn rejects_bad_options_and_data() {
        let k = RandomKey::root(0);
        let bad = BootstrapOptions {
            resamples: 1,
            ..Default::default()
        };
        assert!(bootstrap_ci(&[1.0, 2.0], mean, k, &bad).is_err());
        assert!(bootstrap_ci(&[1.0], mean, k, &Default::default()).is_err());
        assert!(bootstrap_ci(&[1.0, f64::NAN], mean, k, &Default::default()).is_err());
        let bca = BootstrapOptions {
            method: BootstrapMethod::Bca,
            ..Default::default()
        };
        let diff = |a: &[f64], b: &[f64]| mean(a) - mean(b);
        assert!(bootstrap_two_sample_ci(&[1.0, 2.0], &[1.0, 3.0], diff, k, &bca).is_err());
        assert!(bootstrap_paired_ci(&[1.0, 2.0], &[1.0], diff, k, &Default::default()).is_err());
    }
}
