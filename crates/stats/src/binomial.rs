//! The binomial distribution `K ~ Bin(n, p)`: exact probabilities, the central acceptance
//! interval of counts for a predicted probability, and confidence intervals for an observed
//! proportion.
//!
//! - `P(K = k) = C(n, k) pᵏ (1−p)ⁿ⁻ᵏ`, computed in logs with
//!   `ln C(n, k) = −ln(n+1) − ln B(k+1, n−k+1)` ([`crate::special::ln_beta`]).
//! - `P(K ≤ k) = I_{1−p}(n−k, k+1)` and `P(K > k) = I_p(k+1, n−k)` for `0 ≤ k < n`, with the
//!   regularized incomplete beta function ([`crate::special::beta_inc_pair`]; DLMF 8.17.5), so
//!   each tail is exact without summing terms. Accuracy is that of `ln B`: relative error
//!   about `1e-15 · ln Γ(n)` (under `4e-11` at `n = 5000`).
//! - **Acceptance interval** of level `1 − α` for a predicted `p`: the counts `[lo, hi]` with
//!   `lo` the largest count such that `P(K < lo) ≤ α/2` and `hi` the smallest such that
//!   `P(K > hi) ≤ α/2` (equal-tailed; each tail outside holds at most `α/2`, so the interval
//!   covers at least `1 − α`). An observed count in `[lo, hi]` is "within the 95 % binomial
//!   interval" of `p`. Found by bisection over `k`, `O(log n)` tail evaluations.
//! - **Clopper–Pearson** interval for `p` from `k` successes in `n` (Clopper & Pearson,
//!   *Biometrika* 26, 1934): `lo` solves `P(K ≥ k | lo) = α/2`, i.e. `I_lo(k, n−k+1) = α/2`
//!   (`lo = 0` when `k = 0`), and `hi` solves `P(K ≤ k | hi) = α/2`, i.e.
//!   `I_hi(k+1, n−k) = 1 − α/2` (`hi = 1` when `k = n`). Beta quantiles by bisection on `x` to
//!   a relative width of `4ε`. Conservative: coverage `≥ 1 − α` for every `p`.
//! - **Wilson** score interval (Wilson, *JASA* 22, 1927; Agresti & Coull, *Am. Stat.* 52, 1998):
//!   with `p̂ = k/n` and `z = Φ⁻¹(1 − α/2)`,
//!   `(p̂ + z²/2n ± z √(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)`, clamped to `[0, 1]`.
//!
//! Probabilities `p` must lie in `[0, 1]` (`p = 0` and `p = 1` are the point masses at 0 and
//! `n`); levels in `(0, 1)`; intervals for a proportion need `n ≥ 1` and `k ≤ n`.

use crate::error::{check_level, Result, StatsError};
use crate::normal::normal_quantile;
use crate::special::{beta_inc_pair, ln_beta};

fn check_probability(what: &'static str, p: f64) -> Result<()> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(StatsError::InvalidArgument {
            what,
            field: "p",
            value: p,
            rule: "0 <= p <= 1",
        })
    }
}

fn check_count(what: &'static str, k: u64, n: u64) -> Result<()> {
    if n == 0 {
        return Err(StatsError::TooFewPoints {
            what,
            needed: 1,
            got: 0,
        });
    }
    if k > n {
        return Err(StatsError::InvalidArgument {
            what,
            field: "k",
            value: k as f64,
            rule: "k <= n",
        });
    }
    Ok(())
}

/// `P(K = k)` for `K ~ Bin(n, p)` (0 when `k > n`).
pub fn binomial_pmf(k: u64, n: u64, p: f64) -> Result<f64> {
    check_probability("binomial_pmf", p)?;
    if k > n {
        return Ok(0.0);
    }
    if p == 0.0 {
        return Ok(if k == 0 { 1.0 } else { 0.0 });
    }
    if p == 1.0 {
        return Ok(if k == n { 1.0 } else { 0.0 });
    }
    let (kf, nf) = (k as f64, n as f64);
    let ln_choose = -(nf + 1.0).ln() - ln_beta(kf + 1.0, nf - kf + 1.0);
    Ok((ln_choose + kf * p.ln() + (nf - kf) * (-p).ln_1p()).exp())
}

/// `P(K ≤ k)` for `K ~ Bin(n, p)` (1 when `k ≥ n`).
pub fn binomial_cdf(k: u64, n: u64, p: f64) -> Result<f64> {
    check_probability("binomial_cdf", p)?;
    Ok(cdf(k, n, p))
}

/// `P(K > k) = 1 − P(K ≤ k)` for `K ~ Bin(n, p)`, computed directly (accurate in the upper
/// tail; 0 when `k ≥ n`).
pub fn binomial_sf(k: u64, n: u64, p: f64) -> Result<f64> {
    check_probability("binomial_sf", p)?;
    Ok(sf(k, n, p))
}

fn cdf(k: u64, n: u64, p: f64) -> f64 {
    if k >= n || p == 0.0 {
        1.0
    } else if p == 1.0 {
        0.0
    } else {
        beta_inc_pair((n - k) as f64, k as f64 + 1.0, 1.0 - p, p)
    }
}

fn sf(k: u64, n: u64, p: f64) -> f64 {
    if k >= n || p == 0.0 {
        0.0
    } else if p == 1.0 {
        1.0
    } else {
        beta_inc_pair(k as f64 + 1.0, (n - k) as f64, p, 1.0 - p)
    }
}

/// The smallest `k` in `0..=n` with `pred(k)`, for a `pred` false then true along `k`
/// (`pred(n)` must hold).
fn first_count(n: u64, pred: impl Fn(u64) -> bool) -> u64 {
    let (mut lo, mut hi) = (0u64, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// The central acceptance interval `(lo, hi)` of counts for `K ~ Bin(n, p)` at `level`: `lo`
/// the largest count with `P(K < lo) ≤ (1−level)/2`, `hi` the smallest with
/// `P(K > hi) ≤ (1−level)/2`. An observed count `k` with `lo ≤ k ≤ hi` is consistent with `p`.
pub fn binomial_acceptance_interval(n: u64, p: f64, level: f64) -> Result<(u64, u64)> {
    const WHAT: &str = "binomial_acceptance_interval";
    check_probability(WHAT, p)?;
    check_level(WHAT, level)?;
    let tail = (1.0 - level) / 2.0;
    // P(K < lo) = cdf(lo − 1) ≤ tail  ⇔  lo ≤ the first k with cdf(k) > tail.
    let lo = first_count(n, |k| cdf(k, n, p) > tail);
    let hi = first_count(n, |k| sf(k, n, p) <= tail);
    Ok((lo, hi))
}

/// The `x` in `[0, 1]` with `I_x(a, b) = target`, by bisection (`I_x` increases in `x`).
fn beta_quantile(a: f64, b: f64, target: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..2200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi || hi - lo <= 4.0 * f64::EPSILON * hi {
            break;
        }
        if beta_inc_pair(a, b, mid, 1.0 - mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The Clopper–Pearson ("exact") interval `(lo, hi)` for a binomial proportion from `k`
/// successes in `n ≥ 1` trials at `level`.
pub fn clopper_pearson(k: u64, n: u64, level: f64) -> Result<(f64, f64)> {
    const WHAT: &str = "clopper_pearson";
    check_count(WHAT, k, n)?;
    check_level(WHAT, level)?;
    let alpha = 1.0 - level;
    let (kf, nf) = (k as f64, n as f64);
    let lo = if k == 0 {
        0.0
    } else {
        beta_quantile(kf, nf - kf + 1.0, alpha / 2.0)
    };
    let hi = if k == n {
        1.0
    } else {
        beta_quantile(kf + 1.0, nf - kf, 1.0 - alpha / 2.0)
    };
    Ok((lo, hi))
}

/// The Wilson score interval `(lo, hi)` for a binomial proportion from `k` successes in
/// `n ≥ 1` trials at `level`.
pub fn wilson_interval(k: u64, n: u64, level: f64) -> Result<(f64, f64)> {
    const WHAT: &str = "wilson_interval";
    check_count(WHAT, k, n)?;
    check_level(WHAT, level)?;
    let z = normal_quantile(1.0 - (1.0 - level) / 2.0);
    let nf = n as f64;
    let phat = k as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (phat + z2 / (2.0 * nf)) / denom;
    let half = z / denom * (phat * (1.0 - phat) / nf + z2 / (4.0 * nf * nf)).sqrt();
    // At k = 0 and k = n one end is exactly 0 or 1 (the formula gives it up to rounding).
    let lo = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if k == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol, "got {got}, want {want}");
    }

    #[test]
    fn probabilities_match_exact_fractions() {
        // n = 20, p = ½: C(20, 5) = 15504, Σ_{k≤5} C(20, k) = 21700, Σ_{k≤6} = 60460.
        let two20 = 1_048_576.0;
        close(binomial_pmf(5, 20, 0.5).unwrap(), 15504.0 / two20, 1e-16);
        close(binomial_cdf(5, 20, 0.5).unwrap(), 21700.0 / two20, 1e-16);
        close(binomial_cdf(6, 20, 0.5).unwrap(), 60460.0 / two20, 1e-15);
        close(binomial_sf(14, 20, 0.5).unwrap(), 21700.0 / two20, 1e-16);
        // Bin(10, 0.3): P(K = 3) = 120 · 0.3³ · 0.7⁷.
        close(
            binomial_pmf(3, 10, 0.3).unwrap(),
            120.0 * 0.027 * 0.7f64.powi(7),
            1e-15,
        );
        // Sums of the pmf agree with the cdf, for a large n too.
        for (n, p) in [(10u64, 0.3), (1000, 0.013), (5000, 0.5)] {
            let mut acc = 0.0;
            for k in 0..=n {
                acc += binomial_pmf(k, n, p).unwrap();
                let c = binomial_cdf(k, n, p).unwrap();
                // Both carry the rounding of ln B(k+1, n−k+1) (absolute ~1e-15 · ln Γ(n)).
                assert!((acc - c).abs() < 1e-10, "n {n} p {p} k {k}: {acc} vs {c}");
                let s = binomial_sf(k, n, p).unwrap();
                assert!((c + s - 1.0).abs() < 1e-12);
            }
            assert!((acc - 1.0).abs() < 1e-10);
        }
        assert_eq!(binomial_pmf(21, 20, 0.5).unwrap(), 0.0);
        assert_eq!(binomial_cdf(21, 20, 0.5).unwrap(), 1.0);
    }

    #[test]
    fn degenerate_probabilities_are_point_masses() {
        assert_eq!(binomial_pmf(0, 7, 0.0).unwrap(), 1.0);
        assert_eq!(binomial_pmf(1, 7, 0.0).unwrap(), 0.0);
        assert_eq!(binomial_pmf(7, 7, 1.0).unwrap(), 1.0);
        assert_eq!(binomial_pmf(6, 7, 1.0).unwrap(), 0.0);
        assert_eq!(binomial_cdf(0, 7, 0.0).unwrap(), 1.0);
        assert_eq!(binomial_cdf(6, 7, 1.0).unwrap(), 0.0);
        assert_eq!(binomial_sf(6, 7, 1.0).unwrap(), 1.0);
        assert_eq!(binomial_acceptance_interval(7, 0.0, 0.95).unwrap(), (0, 0));
        assert_eq!(binomial_acceptance_interval(7, 1.0, 0.95).unwrap(), (7, 7));
        assert!(binomial_pmf(1, 7, 1.5).is_err());
        assert!(binomial_cdf(1, 7, f64::NAN).is_err());
    }

    #[test]
    fn acceptance_interval_is_the_tightest_equal_tailed_one() {
        assert_eq!(
            binomial_acceptance_interval(20, 0.5, 0.95).unwrap(),
            (6, 14)
        );
        for (n, p, level) in [
            (20u64, 0.5, 0.95),
            (1000, 0.3, 0.95),
            (37, 0.9, 0.9),
            (50, 0.02, 0.99),
        ] {
            let (lo, hi) = binomial_acceptance_interval(n, p, level).unwrap();
            let tail = (1.0 - level) / 2.0;
            let below = |c: u64| (0..c).map(|k| binomial_pmf(k, n, p).unwrap()).sum::<f64>();
            let above = |c: u64| {
                (c + 1..=n)
                    .map(|k| binomial_pmf(k, n, p).unwrap())
                    .sum::<f64>()
            };
            assert!(
                below(lo) <= tail + 1e-12 && below(lo + 1) > tail,
                "n {n} p {p}"
            );
            assert!(above(hi) <= tail + 1e-12, "n {n} p {p}");
            assert!(hi == 0 || above(hi - 1) > tail, "n {n} p {p}");
        }
        assert!(binomial_acceptance_interval(20, 0.5, 1.0).is_err());
    }

    #[test]
    fn clopper_pearson_matches_reference_values() {
        let (lo, hi) = clopper_pearson(5, 20, 0.95).unwrap();
        close(lo, 0.0866, 5e-5);
        close(hi, 0.4910, 5e-5);
        // The endpoints solve their tail equations.
        close(binomial_sf(4, 20, lo).unwrap(), 0.025, 1e-13);
        close(binomial_cdf(5, 20, hi).unwrap(), 0.025, 1e-13);
        // k = 0 and k = n have closed forms: 1 − (α/2)^{1/n} and (α/2)^{1/n}.
        let edge = 0.025f64.powf(1.0 / 20.0);
        let (lo, hi) = clopper_pearson(0, 20, 0.95).unwrap();
        assert_eq!(lo, 0.0);
        close(hi, 1.0 - edge, 1e-14);
        let (lo, hi) = clopper_pearson(20, 20, 0.95).unwrap();
        close(lo, edge, 1e-14);
        assert_eq!(hi, 1.0);
        // A small lower end keeps its relative precision: k = 1, n = 10⁶ → ≈ 2.5317807984e-8.
        let (lo, _) = clopper_pearson(1, 1_000_000, 0.95).unwrap();
        let want = -((-0.025f64).ln_1p() / 1e6).exp_m1(); // 1 − (1 − α/2)^{1/n}
        close(lo / want, 1.0, 1e-10);
        assert!(clopper_pearson(21, 20, 0.95).is_err());
        assert!(clopper_pearson(0, 0, 0.95).is_err());
    }

    #[test]
    fn wilson_matches_reference_values() {
        let (lo, hi) = wilson_interval(5, 20, 0.95).unwrap();
        close(lo, 0.1119, 5e-5);
        close(hi, 0.4687, 5e-5);
        let (lo, hi) = wilson_interval(0, 20, 0.95).unwrap();
        assert_eq!(lo, 0.0);
        // z²/(n + z²) at k = 0.
        let z2 = 1.959_963_984_540_054f64.powi(2);
        close(hi, z2 / (20.0 + z2), 1e-15);
        let (lo, hi) = wilson_interval(20, 20, 0.95).unwrap();
        close(lo, 20.0 / (20.0 + z2), 1e-15);
        assert_eq!(hi, 1.0);
        assert!(wilson_interval(3, 2, 0.95).is_err());
        assert!(wilson_interval(1, 2, 0.0).is_err());
    }
}
