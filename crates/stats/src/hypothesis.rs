//! Location tests used on per-agent indices and per-seed metrics (HUMAN-TASK.md §4.5:
//! "one-sample t / Wilcoxon on indices against 0").
//!
//! - **One-sample t** (Student 1908): `t = (x̄ − μ₀)/(s/√n)` on `n − 1` degrees of freedom;
//!   the paired test is the one-sample test on the differences.
//! - **Welch's t** for two independent samples with unequal variances (Welch 1947):
//!   `t = (x̄ − ȳ)/√(s²ₓ/nₓ + s²ᵧ/nᵧ)`, degrees of freedom
//!   `ν = (s²ₓ/nₓ + s²ᵧ/nᵧ)² / ((s²ₓ/nₓ)²/(nₓ−1) + (s²ᵧ/nᵧ)²/(nᵧ−1))` (Satterthwaite 1946).
//! - **Wilcoxon signed-rank** (Wilcoxon 1945): differences `dᵢ = xᵢ − μ₀`, zeros dropped,
//!   `W⁺` = sum of the mid-ranks of `|dᵢ|` over positive `dᵢ`. Without ties and with at most
//!   50 non-zero differences the p-value is exact (the null distribution of `W⁺` counts the
//!   subsets of `{1..n}` with each sum, by dynamic programming); otherwise the normal
//!   approximation with mean `n(n+1)/4`, tie-corrected variance
//!   `n(n+1)(2n+1)/24 − Σ(t³ − t)/48` and a continuity correction of ½ (Lehmann,
//!   *Nonparametrics*, 1975, §3.2).
//!
//! All p-values are two-sided: `2 · min(P(≤ observed), P(≥ observed))`, capped at 1.

use serde::{Deserialize, Serialize};

use crate::error::{check_finite, check_len, Result, StatsError};
use crate::normal::normal_cdf;
use crate::rank::ranks_and_ties;
use crate::student_t::{t_quantile, t_sf};
use crate::summary::{mean, variance};

/// The result of a t test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TTest {
    /// The estimated effect: `x̄ − μ₀` (one-sample), mean difference (paired), `x̄ − ȳ` (Welch).
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// The t statistic `estimate / se`.
    pub t: f64,
    /// Degrees of freedom (non-integer for Welch).
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// 95 % confidence interval of the effect.
    pub ci95: (f64, f64),
}

fn t_test(estimate: f64, se: f64, df: f64) -> TTest {
    let t = estimate / se;
    let p_value = if se == 0.0 {
        if estimate == 0.0 {
            1.0
        } else {
            0.0
        }
    } else {
        (2.0 * t_sf(t.abs(), df)).min(1.0)
    };
    let half = t_quantile(0.975, df) * se;
    TTest {
        estimate,
        se,
        t,
        df,
        p_value,
        ci95: (estimate - half, estimate + half),
    }
}

/// One-sample t test of `mean = mu0` on finite values (at least 2).
pub fn one_sample_t_test(values: &[f64], mu0: f64) -> Result<TTest> {
    const WHAT: &str = "one_sample_t_test";
    check_len(WHAT, 2, values.len())?;
    check_finite(WHAT, "values", values)?;
    let n = values.len() as f64;
    Ok(t_test(
        mean(values) - mu0,
        (variance(values) / n).sqrt(),
        n - 1.0,
    ))
}

/// Paired t test of `mean(x − y) = 0`.
pub fn paired_t_test(x: &[f64], y: &[f64]) -> Result<TTest> {
    crate::error::check_same_len("paired_t_test", x.len(), y.len())?;
    let d: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    one_sample_t_test(&d, 0.0)
}

/// Welch's unequal-variance t test of `mean(x) = mean(y)` (each sample at least 2 values).
pub fn welch_t_test(x: &[f64], y: &[f64]) -> Result<TTest> {
    const WHAT: &str = "welch_t_test";
    check_len(WHAT, 2, x.len())?;
    check_len(WHAT, 2, y.len())?;
    check_finite(WHAT, "x", x)?;
    check_finite(WHAT, "y", y)?;
    let (nx, ny) = (x.len() as f64, y.len() as f64);
    let (vx, vy) = (variance(x) / nx, variance(y) / ny);
    let se2 = vx + vy;
    let df = if se2 > 0.0 {
        se2 * se2 / (vx * vx / (nx - 1.0) + vy * vy / (ny - 1.0))
    } else {
        nx + ny - 2.0
    };
    Ok(t_test(mean(x) - mean(y), se2.sqrt(), df))
}

/// The result of a Wilcoxon signed-rank test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WilcoxonTest {
    /// Sum of the ranks of the positive differences.
    pub w_plus: f64,
    /// Number of non-zero differences (the effective sample size).
    pub n: usize,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Whether the p-value is exact (no ties, `n ≤ 50`) rather than the normal approximation.
    pub exact: bool,
}

/// Wilcoxon signed-rank test of "symmetric about `mu0`" on finite values.
pub fn wilcoxon_signed_rank(values: &[f64], mu0: f64) -> Result<WilcoxonTest> {
    const WHAT: &str = "wilcoxon_signed_rank";
    check_finite(WHAT, "values", values)?;
    let d: Vec<f64> = values
        .iter()
        .map(|v| v - mu0)
        .filter(|&d| d != 0.0)
        .collect();
    let n = d.len();
    if n == 0 {
        return Err(StatsError::TooFewPoints {
            what: WHAT,
            needed: 1,
            got: 0,
        });
    }
    let abs: Vec<f64> = d.iter().map(|v| v.abs()).collect();
    let (ranks, ties) = ranks_and_ties(&abs);
    let w_plus: f64 = ranks
        .iter()
        .zip(&d)
        .filter(|(_, &d)| d > 0.0)
        .map(|(r, _)| r)
        .sum();
    let has_ties = ties.iter().any(|&t| t > 1);
    let nf = n as f64;
    if !has_ties && n <= 50 {
        let dist = signed_rank_distribution(n);
        let total = 2f64.powi(n as i32);
        let w = w_plus.round() as usize;
        let below: f64 = dist[..=w].iter().sum::<f64>() / total;
        let above: f64 = dist[w..].iter().sum::<f64>() / total;
        return Ok(WilcoxonTest {
            w_plus,
            n,
            p_value: (2.0 * below.min(above)).min(1.0),
            exact: true,
        });
    }
    let mu = nf * (nf + 1.0) / 4.0;
    let tie_term: f64 = ties.iter().map(|&t| (t * t * t - t) as f64).sum::<f64>() / 48.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term;
    let p_value = if var > 0.0 {
        let dev = ((w_plus - mu).abs() - 0.5).max(0.0);
        (2.0 * normal_cdf(-dev / var.sqrt())).min(1.0)
    } else {
        1.0
    };
    Ok(WilcoxonTest {
        w_plus,
        n,
        p_value,
        exact: false,
    })
}

/// `counts[s]` = number of subsets of `{1, …, n}` whose sum is `s` (exact in f64 for n ≤ 50).
fn signed_rank_distribution(n: usize) -> Vec<f64> {
    let max = n * (n + 1) / 2;
    let mut counts = vec![0.0; max + 1];
    counts[0] = 1.0;
    for k in 1..=n {
        for s in (k..=max).rev() {
            counts[s] += counts[s - k];
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_t_of_one_to_four() {
        // mean 2.5, se = √(5/3)/2, t = 3.8729833462074169, p = 0.030466291662170991 (mpmath).
        let r = one_sample_t_test(&[1.0, 2.0, 3.0, 4.0], 0.0).unwrap();
        assert!((r.t - 3.872_983_346_207_417).abs() < 1e-13);
        assert_eq!(r.df, 3.0);
        assert!((r.p_value - 0.030_466_291_662_170_99).abs() < 1e-12);
        let same = paired_t_test(&[2.0, 4.0, 6.0, 8.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((same.t - r.t).abs() < 1e-13);
    }

    #[test]
    fn welch_degrees_of_freedom() {
        // x: mean 2.5, s² = 5/3; y = 2, 4, …, 10: mean 6, s² = 10.
        // se² = 5/12 + 2 = 29/12; ν = (29/12)² / ((5/12)²/3 + 2²/4) = 5.52115...
        let r = welch_t_test(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 6.0, 8.0, 10.0]).unwrap();
        let se2 = 29.0 / 12.0;
        let df = se2 * se2 / ((5.0f64 / 12.0).powi(2) / 3.0 + 1.0);
        assert!((r.df - df).abs() < 1e-12);
        assert!((r.t + 3.5 / se2.sqrt()).abs() < 1e-13);
        assert!((r.p_value - 2.0 * t_sf(3.5 / se2.sqrt(), df)).abs() < 1e-14);
    }

    #[test]
    fn wilcoxon_exact_small_sample() {
        // All five differences positive: W⁺ = 15, P(W⁺ = 15) = 1/32, two-sided p = 1/16.
        let r = wilcoxon_signed_rank(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.0).unwrap();
        assert_eq!((r.w_plus, r.n, r.exact), (15.0, 5, true));
        assert_eq!(r.p_value, 0.0625);
        // Differences −1, 2, 3 (zero dropped): W⁺ = 2 + 3 = 5 of max 6;
        // subsets of {1,2,3} with sum ≥ 5: {2,3}, {1,2,3} → P = 2/8, p = 0.5.
        let r = wilcoxon_signed_rank(&[-1.0, 0.0, 2.0, 3.0], 0.0).unwrap();
        assert_eq!((r.w_plus, r.n, r.p_value), (5.0, 3, 0.5));
        assert!(wilcoxon_signed_rank(&[0.0, 0.0], 0.0).is_err());
    }

    #[test]
    fn wilcoxon_normal_approximation_tracks_the_exact_distribution() {
        let xs: Vec<f64> = (1..=30)
            .map(|i| f64::from(i) * if i % 3 == 0 { -1.0 } else { 1.0 })
            .collect();
        let exact = wilcoxon_signed_rank(&xs, 0.0).unwrap();
        assert!(exact.exact);
        // The same data with one tie forces the approximation.
        let mut tied = xs.clone();
        tied[0] = 2.0;
        let approx = wilcoxon_signed_rank(&tied, 0.0).unwrap();
        assert!(!approx.exact);
        assert!(
            (exact.p_value - approx.p_value).abs() < 0.01,
            "{exact:?} {approx:?}"
        );
        assert_eq!(
            signed_rank_distribution(3),
            vec![1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0]
        );
    }
}
