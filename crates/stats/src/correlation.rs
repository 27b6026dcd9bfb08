//! Correlation coefficients with Fisher-z confidence intervals and two-sided p-values.
//!
//! - **Pearson** `r = Σ(xᵢ−x̄)(yᵢ−ȳ) / √(Σ(xᵢ−x̄)² Σ(yᵢ−ȳ)²)`. Interval: `tanh(atanh r ± z_{(1+level)/2}
//!   / √(n−3))` (Fisher 1921). p-value: `t = r √((n−2)/(1−r²))` on `n−2` degrees of freedom
//!   (exact under bivariate normality).
//! - **Spearman** `ρ`: Pearson's `r` of the mid-ranks (ties averaged, see [`crate::average_ranks`]).
//!   Interval: Fisher z with the Bonett–Wright variance `(1 + ρ²/2)/(n−3)` (D. G. Bonett &
//!   T. A. Wright, "Sample size requirements for estimating Pearson, Kendall and Spearman
//!   correlations", *Psychometrika* 65:23–28, 2000), which corrects the too-narrow `1/(n−3)`.
//!   p-value: the same t approximation as Pearson's (Kendall & Gibbons 1990 §4.5).
//! - **Kendall** `τ_b = S / √((n₀−n₁)(n₀−n₂))` with `S = Σ_{i<j} sgn(xᵢ−xⱼ) sgn(yᵢ−yⱼ)`,
//!   `n₀ = n(n−1)/2` and `n₁`, `n₂` the pairs tied in `x`, `y` (Kendall 1945). Interval: Fisher z
//!   with variance `0.437/(n−4)` (Fieller, Hartley & Pearson 1957; recommended by Bonett &
//!   Wright 2000). p-value: normal approximation `S/√Var(S)` with the tie-corrected
//!   `Var(S) = [v₀ − Σt(t−1)(2t+5) − Σu(u−1)(2u+5)]/18 + Σt(t−1)(t−2) Σu(u−1)(u−2) /
//!   (9n(n−1)(n−2)) + Σt(t−1) Σu(u−1) / (2n(n−1))`, `v₀ = n(n−1)(2n+5)`, over tie groups
//!   `t` of `x` and `u` of `y` (Kendall & Gibbons 1990, eq. 4.4). `O(n²)` time.

use serde::{Deserialize, Serialize};

use crate::error::{check_finite, check_len, check_same_len, Result, StatsError};
use crate::normal::{normal_quantile, normal_sf};
use crate::rank::ranks_and_ties;
use crate::student_t::t_sf;

/// A correlation coefficient with its uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// The coefficient, in `[−1, 1]`.
    pub estimate: f64,
    /// Number of pairs.
    pub n: usize,
    /// The standard error of `atanh(estimate)` behind the interval; `None` when `n` is too
    /// small (Pearson and Spearman need 4 pairs, Kendall 5).
    pub z_se: Option<f64>,
    /// The 95 % Fisher-z interval; `None` when `z_se` is.
    pub ci95: Option<(f64, f64)>,
    /// Two-sided p-value for "no association".
    pub p_value: f64,
}

impl Correlation {
    fn new(estimate: f64, n: usize, z_se: Option<f64>, p_value: f64) -> Self {
        let mut c = Correlation {
            estimate,
            n,
            z_se,
            ci95: None,
            p_value,
        };
        c.ci95 = c.ci(0.95);
        c
    }

    /// The Fisher-z interval `tanh(atanh ρ̂ ± z_{(1+level)/2} · z_se)` at any level in `(0, 1)`.
    pub fn ci(&self, level: f64) -> Option<(f64, f64)> {
        let se = self.z_se?;
        if !(level > 0.0 && level < 1.0) {
            return None;
        }
        let z = self.estimate.atanh();
        let half = normal_quantile(0.5 + 0.5 * level) * se;
        Some(((z - half).tanh(), (z + half).tanh()))
    }
}

fn check_pairs(what: &'static str, x: &[f64], y: &[f64]) -> Result<()> {
    check_same_len(what, x.len(), y.len())?;
    check_len(what, 3, x.len())?;
    check_finite(what, "x", x)?;
    check_finite(what, "y", y)
}

/// Pearson's `r` of finite data (no checks on lengths).
fn pearson_r(what: &'static str, x: &[f64], y: &[f64]) -> Result<f64> {
    let (mx, my) = (crate::summary::mean(x), crate::summary::mean(y));
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    if sxx == 0.0 {
        return Err(StatsError::ZeroVariance { what, field: "x" });
    }
    if syy == 0.0 {
        return Err(StatsError::ZeroVariance { what, field: "y" });
    }
    Ok((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Two-sided p-value of `r` through `t = r√((n−2)/(1−r²))` on `n − 2` degrees of freedom.
fn t_test_p(r: f64, n: usize) -> f64 {
    let df = (n - 2) as f64;
    if r.abs() >= 1.0 {
        return 0.0;
    }
    let t = r.abs() * (df / (1.0 - r * r)).sqrt();
    (2.0 * t_sf(t, df)).min(1.0)
}

/// Pearson's product-moment correlation of paired finite data (at least 3 pairs).
pub fn pearson(x: &[f64], y: &[f64]) -> Result<Correlation> {
    const WHAT: &str = "pearson";
    check_pairs(WHAT, x, y)?;
    let r = pearson_r(WHAT, x, y)?;
    let n = x.len();
    let z_se = (n > 3).then(|| 1.0 / ((n - 3) as f64).sqrt());
    Ok(Correlation::new(r, n, z_se, t_test_p(r, n)))
}

/// Spearman's rank correlation of paired finite data (at least 3 pairs), ties averaged.
pub fn spearman(x: &[f64], y: &[f64]) -> Result<Correlation> {
    const WHAT: &str = "spearman";
    check_pairs(WHAT, x, y)?;
    let (rx, _) = ranks_and_ties(x);
    let (ry, _) = ranks_and_ties(y);
    let rho = pearson_r(WHAT, &rx, &ry)?;
    let n = x.len();
    let z_se = (n > 3).then(|| ((1.0 + 0.5 * rho * rho) / (n - 3) as f64).sqrt());
    Ok(Correlation::new(rho, n, z_se, t_test_p(rho, n)))
}

/// Kendall's `τ_b` of paired finite data (at least 3 pairs), ties handled as in `τ_b`.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Result<Correlation> {
    const WHAT: &str = "kendall_tau_b";
    check_pairs(WHAT, x, y)?;
    let n = x.len();
    let mut s = 0i64;
    let (mut tied_x, mut tied_y) = (0u64, 0u64);
    for i in 0..n {
        for j in i + 1..n {
            let sx = sign(x[i] - x[j]);
            let sy = sign(y[i] - y[j]);
            s += sx * sy;
            tied_x += u64::from(sx == 0);
            tied_y += u64::from(sy == 0);
        }
    }
    let n0 = (n * (n - 1) / 2) as u64;
    if tied_x == n0 {
        return Err(StatsError::ZeroVariance {
            what: WHAT,
            field: "x",
        });
    }
    if tied_y == n0 {
        return Err(StatsError::ZeroVariance {
            what: WHAT,
            field: "y",
        });
    }
    let tau =
        (s as f64 / (((n0 - tied_x) as f64) * ((n0 - tied_y) as f64)).sqrt()).clamp(-1.0, 1.0);
    let (_, tx) = ranks_and_ties(x);
    let (_, ty) = ranks_and_ties(y);
    let sums = |ties: &[usize]| {
        ties.iter().fold((0.0, 0.0, 0.0), |(a, b, c), &t| {
            let t = t as f64;
            (
                a + t * (t - 1.0) * (2.0 * t + 5.0),
                b + t * (t - 1.0) * (t - 2.0),
                c + t * (t - 1.0),
            )
        })
    };
    let ((ax, bx, cx), (ay, by, cy)) = (sums(&tx), sums(&ty));
    let nf = n as f64;
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ax - ay) / 18.0
        + bx * by / (9.0 * nf * (nf - 1.0) * (nf - 2.0))
        + cx * cy / (2.0 * nf * (nf - 1.0));
    let p_value = if var_s > 0.0 {
        (2.0 * normal_sf((s as f64).abs() / var_s.sqrt())).min(1.0)
    } else {
        1.0
    };
    let z_se = (n > 4).then(|| (0.437 / (n - 4) as f64).sqrt());
    Ok(Correlation::new(tau, n, z_se, p_value))
}

fn sign(d: f64) -> i64 {
    if d > 0.0 {
        1
    } else if d < 0.0 {
        -1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_of_a_hand_computed_data_set() {
        // x = 1..5, y = [2, 4, 5, 4, 5]: x̄ = 3, ȳ = 4; dx = −2 −1 0 1 2, dy = −2 0 1 0 1;
        // Sxy = 4 + 0 + 0 + 0 + 2 = 6, Sxx = 10, Syy = 4 + 0 + 1 + 0 + 1 = 6;
        // r = 6/√60 = 0.774596669241483.
        let c = pearson(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 5.0, 4.0, 5.0]).unwrap();
        assert!((c.estimate - 6.0 / 60f64.sqrt()).abs() < 1e-15);
        // Fisher z: atanh(0.7746) = 1.031718, se = 1/√2; 95 %: tanh(1.031718 ± 1.385929).
        let (lo, hi) = c.ci95.unwrap();
        let z = c.estimate.atanh();
        let half = 1.959_963_984_540_054 / 2f64.sqrt();
        assert!((lo - (z - half).tanh()).abs() < 1e-14 && (hi - (z + half).tanh()).abs() < 1e-14);
        assert!(lo < -0.3 && hi > 0.98);
        // r² = 0.6, so t = √(0.6·3/0.4) = √4.5 on 3 degrees of freedom.
        assert!((c.p_value - 2.0 * t_sf(4.5f64.sqrt(), 3.0)).abs() < 1e-14);
        assert!(c.p_value > 0.1 && c.p_value < 0.2);
    }

    #[test]
    fn perfect_and_degenerate_cases() {
        let c = pearson(&[1.0, 2.0, 3.0, 4.0], &[3.0, 5.0, 7.0, 9.0]).unwrap();
        assert!((c.estimate - 1.0).abs() < 1e-15);
        assert!(c.p_value < 1e-12);
        let (lo, hi) = c.ci95.unwrap();
        assert!(lo > 0.999_999 && hi <= 1.0);
        let three = pearson(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]).unwrap();
        assert_eq!(three.ci95, None);
        assert!(matches!(
            pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]),
            Err(StatsError::ZeroVariance { field: "x", .. })
        ));
        assert!(pearson(&[1.0, 2.0], &[1.0, 2.0]).is_err());
        assert!(pearson(&[1.0, 2.0, 3.0], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn spearman_with_ties() {
        // x = [1, 2, 2, 3, 4] → ranks [1, 2.5, 2.5, 4, 5];
        // y = [1, 3, 2, 2, 5] → ranks [1, 4, 2.5, 2.5, 5].
        // Both rank vectors have mean 3; dx = −2 −.5 −.5 1 2, dy = −2 1 −.5 −.5 2;
        // Sxy = 4 − .5 + .25 − .5 + 4 = 7.25; Sxx = Syy = 4 + .25 + .25 + 1 + 4 = 9.5;
        // ρ = 7.25/9.5 = 0.763157894736842.
        let c = spearman(&[1.0, 2.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 2.0, 5.0]).unwrap();
        assert!((c.estimate - 7.25 / 9.5).abs() < 1e-15);
        // Bonett–Wright: se = √((1 + ρ²/2)/2).
        let se = ((1.0 + 0.5 * c.estimate * c.estimate) / 2.0).sqrt();
        assert!((c.z_se.unwrap() - se).abs() < 1e-15);
        // Monotone transforms do not change ρ.
        let d = spearman(&[1.0, 2.0, 2.0, 3.0, 4.0], &[1.0, 27.0, 8.0, 8.0, 125.0]).unwrap();
        assert_eq!(c.estimate, d.estimate);
    }

    #[test]
    fn kendall_tau_b_with_ties() {
        // Same data. Pairs (i<j), sgn(dx)·sgn(dy):
        // (1,2) + (1,3) + (1,4) + (1,5) +, (2,3) 0 [x tie], (2,4) − , (2,5) +,
        // (3,4) 0 [y tie], (3,5) +, (4,5) + → S = 7 − 1 = 6; n₀ = 10, n₁ = 1, n₂ = 1;
        // τ_b = 6/√(9·9) = 2/3.
        let c = kendall_tau_b(&[1.0, 2.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 2.0, 5.0]).unwrap();
        assert!((c.estimate - 2.0 / 3.0).abs() < 1e-15);
        // Var(S) = (5·4·15 − 18 − 18)/18 + 0 + 2·2/(2·5·4) = 264/18 + 0.1.
        let var_s = 264.0 / 18.0 + 0.1;
        assert!((c.p_value - 2.0 * normal_sf(6.0 / f64::sqrt(var_s))).abs() < 1e-15);
        assert_eq!(c.z_se, Some(0.437f64.sqrt()));
        let perfect = kendall_tau_b(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(perfect.estimate, 1.0);
    }
}
