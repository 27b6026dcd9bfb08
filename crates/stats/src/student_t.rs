//! Student's t distribution with `ν > 0` degrees of freedom (real-valued, so Welch's
//! non-integer `ν` works; `ν = ∞` is the standard normal).
//!
//! - Density `f(t) = (1 + t²/ν)^{−(ν+1)/2} / (√ν B(ν/2, ½))`.
//! - Tail `P(T < −|t|) = ½ I_{ν/(ν+t²)}(ν/2, ½)` (DLMF 8.17; Abramowitz & Stegun 26.7.1),
//!   with `1 − x = t²/(ν+t²)` passed exactly so small `|t|` keeps precision.
//! - Quantile `t_p`: exact for `ν = 1` (`−cot(πp)`) and `ν = 2` (`(2p−1)/√(2p(1−p))`); for
//!   `ν > 10⁵` the Cornish–Fisher expansion in `1/ν` through `ν⁻⁴` (Abramowitz & Stegun
//!   26.7.5; truncation error below `1e-20` there); otherwise Newton's method on
//!   `ln P(T < −eᵘ) = ln p` in `u = ln|t|` (the log–log form is nearly linear in the heavy tail),
//!   safeguarded by bisection inside a bracket, to a relative step of `1e-14`. The upper half
//!   follows by symmetry.

use crate::normal::{normal_cdf, normal_quantile};
use crate::special::{beta_inc_pair, ln_beta};

/// The probability `P(T ≤ −|t|)` (one tail).
fn lower_tail_abs(t: f64, nu: f64) -> f64 {
    let t2 = t * t;
    if t2 == 0.0 {
        return 0.5;
    }
    // For huge t, ν/(ν+t²) ≈ ν/t² without overflow of t².
    let (x, y) = if t2.is_finite() {
        (nu / (nu + t2), t2 / (nu + t2))
    } else {
        (0.0, 1.0)
    };
    0.5 * beta_inc_pair(0.5 * nu, 0.5, x, y)
}

/// The density of Student's t with `nu` degrees of freedom at `t` (NaN for `nu ≤ 0`).
pub fn t_pdf(t: f64, nu: f64) -> f64 {
    if nu.is_nan() || nu <= 0.0 || t.is_nan() {
        return f64::NAN;
    }
    if nu == f64::INFINITY {
        return crate::normal::normal_pdf(t);
    }
    (-ln_beta(0.5 * nu, 0.5) - 0.5 * nu.ln() - 0.5 * (nu + 1.0) * (t * t / nu).ln_1p()).exp()
}

/// The distribution function `P(T ≤ t)` of Student's t with `nu` degrees of freedom.
pub fn t_cdf(t: f64, nu: f64) -> f64 {
    if nu.is_nan() || nu <= 0.0 || t.is_nan() {
        return f64::NAN;
    }
    if nu == f64::INFINITY {
        return normal_cdf(t);
    }
    let tail = lower_tail_abs(t, nu);
    if t < 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// The survival function `P(T > t)`, accurate in the upper tail.
pub fn t_sf(t: f64, nu: f64) -> f64 {
    t_cdf(-t, nu)
}

/// Cornish–Fisher expansion of the t quantile around the normal quantile `z` (A&S 26.7.5).
fn cornish_fisher(z: f64, nu: f64) -> f64 {
    let z2 = z * z;
    let g1 = z * (z2 + 1.0) / 4.0;
    let g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0;
    let g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0;
    let g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92_160.0;
    z + (g1 + (g2 + (g3 + g4 / nu) / nu) / nu) / nu
}

/// The quantile `t_p` of Student's t: `P(T ≤ t_p) = p`. Infinite at `p ∈ {0, 1}`, NaN for
/// `p ∉ [0, 1]` or `nu ≤ 0`. Relative accuracy about `1e-13`.
pub fn t_quantile(p: f64, nu: f64) -> f64 {
    if p.is_nan() || nu.is_nan() || nu <= 0.0 || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if nu == f64::INFINITY {
        return normal_quantile(p);
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        return -t_quantile(1.0 - p, nu);
    }
    if p == 0.5 {
        return 0.0;
    }
    if nu == 1.0 {
        return -1.0 / (std::f64::consts::PI * p).tan();
    }
    if nu == 2.0 {
        return (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
    }
    let z = normal_quantile(p);
    if nu > 1e5 {
        return cornish_fisher(z, nu);
    }
    -lower_tail_root(p, nu, z)
}

/// Solves `P(T ≤ −s) = p` for `s > 0` (`p < ½`), working in `u = ln s`.
fn lower_tail_root(p: f64, nu: f64, z: f64) -> f64 {
    let ln_p = p.ln();
    // h(u) = ln P(T ≤ −e^u) − ln p is decreasing in u.
    let h = |u: f64| -> (f64, f64) {
        let s = u.exp();
        let tail = lower_tail_abs(s, nu);
        let dh = -t_pdf(s, nu) * s / tail;
        (tail.ln() - ln_p, dh)
    };
    // Starting point: the larger of the normal quantile and the heavy-tail asymptote
    // P(T ≤ −s) ≈ ν^{ν/2 − 1} s^{−ν} / B(ν/2, ½) (the integral of the density's power-law tail).
    let ln_tail_scale = (0.5 * nu - 1.0) * nu.ln() - ln_beta(0.5 * nu, 0.5);
    let u_tail = (ln_tail_scale - ln_p) / nu;
    let mut u = (-z).ln().max(u_tail);
    if !u.is_finite() {
        u = (-z).ln();
    }
    // Bracket [lo, hi] with h(lo) > 0 > h(hi).
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut step = 1.0;
    for _ in 0..200 {
        let (hu, _) = h(u);
        if hu == 0.0 {
            return u.exp();
        }
        if hu > 0.0 {
            lo = u;
            if hi.is_finite() {
                break;
            }
            u += step;
        } else {
            hi = u;
            if lo.is_finite() {
                break;
            }
            u -= step;
        }
        step *= 2.0;
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return f64::NAN;
    }
    let mut u = 0.5 * (lo + hi);
    for _ in 0..200 {
        let (hu, dh) = h(u);
        if hu == 0.0 {
            break;
        }
        if hu > 0.0 {
            lo = u;
        } else {
            hi = u;
        }
        let newton = u - hu / dh;
        let next = if newton.is_finite() && newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        let done = (next - u).abs() <= 1e-14 * u.abs().max(1.0) || hi - lo <= 1e-15;
        u = next;
        if done {
            break;
        }
    }
    u.exp()
}

#[cfg(test)]
// Reference values are quoted with all the digits their source (mpmath) printed.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs(),
            "got {got:e}, want {want:e}"
        );
    }

    /// Table values t_{0.975, ν} (mpmath, 20 digits), checked to 1e-6 as the issue asks and
    /// in fact to 1e-12.
    #[test]
    fn t_quantile_matches_table_values() {
        let table = [
            (1.0, 12.706_204_736_174_704_647),
            (2.0, 4.302_652_729_749_463_852_3),
            (3.0, 3.182_446_305_283_709_592_7),
            (5.0, 2.570_581_835_636_315_514_7),
            (10.0, 2.228_138_851_986_274_748_4),
            (30.0, 2.042_272_456_301_238_31),
            (100.0, 1.983_971_518_523_552_286_6),
            (1000.0, 1.962_339_080_826_408_485),
            (1e5, 1.959_987_707_534_609_638_6),
            (f64::INFINITY, 1.959_963_984_540_054_235_5),
        ];
        for (nu, want) in table {
            let got = t_quantile(0.975, nu);
            assert!((got - want).abs() < 1e-6, "nu {nu}: {got} vs {want}");
            close(got, want, 1e-12);
            close(t_quantile(0.025, nu), -want, 1e-12);
        }
    }

    #[test]
    fn t_quantile_handles_tails_and_fractional_degrees_of_freedom() {
        close(t_quantile(0.995, 3.0), 5.840_909_309_733_357_260_7, 1e-12);
        close(t_quantile(0.9, 2.5), 1.730_250_928_807_176_589_6, 1e-12);
        close(t_quantile(1e-8, 4.0), -131.594_736_940_623_552_41, 1e-12);
        assert_eq!(t_quantile(0.5, 7.0), 0.0);
        assert!(t_quantile(0.5, 0.0).is_nan());
        for &nu in &[0.5, 1.0, 1.5, 3.0, 7.3, 50.0, 5000.0] {
            for &p in &[1e-12, 1e-4, 0.01, 0.2, 0.45, 0.4999] {
                let t = t_quantile(p, nu);
                close(t_cdf(t, nu), p, 1e-11);
            }
        }
    }

    #[test]
    fn cornish_fisher_is_exact_at_large_nu() {
        let z = normal_quantile(0.975);
        close(cornish_fisher(z, 1000.0), 1.962_339_080_826_408_485, 1e-14);
    }

    #[test]
    fn t_cdf_matches_reference_values() {
        close(t_cdf(2.0, 5.0), 0.949_030_260_585_070_821_88, 1e-13);
        close(t_cdf(-1.3, 7.5), 0.116_063_389_407_804_336_51, 1e-13);
        // ν = 1 is the Cauchy distribution: F(t) = ½ + atan(t)/π.
        close(
            t_cdf(3.0, 1.0),
            0.5 + 3f64.atan() / std::f64::consts::PI,
            1e-14,
        );
        assert_eq!(t_cdf(0.0, 3.0), 0.5);
        close(t_sf(40.0, 3.0), t_cdf(-40.0, 3.0), 1e-15);
        close(t_pdf(0.0, 1.0), 1.0 / std::f64::consts::PI, 1e-14);
    }
}
