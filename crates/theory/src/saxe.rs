//! Mode strengths of two-layer and one-layer linear networks under gradient flow on whitened
//! inputs (Saxe, McClelland & Ganguli 2014; SCIENCE.md §C.1), in flow time t (τ = 1).
//!
//! Two layers, decoupled balanced initialisation, mode `(s, u_α, v_α)` of `Σyx` with strength
//! `u = a·b`: `du/dt = 2u(s − u)`, solved by the sigmoid
//! `u(t) = s e^{2st} / (e^{2st} − 1 + s/u₀)`; one layer: `du/dt = s − u`,
//! `u(t) = s + (u₀ − s) e^{−t}`. The loss is
//! `L(t) = ½ Σ_α (s_α − u_α(t))² + ½ (E||y||² − Σ_α s_α²)`.
//! Convert optimiser steps to t with [`crate::flow_time`].

use crate::error::{non_negative, TheoryError};

/// The balanced two-layer mode strength `u(t)` for singular value `s ≥ 0` and initial strength
/// `u₀ ≥ 0` (NaN outside that domain).
///
/// Evaluated as `u = 1 / (e^{−2st}/u₀ + (1 − e^{−2st})/s)`, which never overflows, has no
/// cancellation, and tends continuously to the `s = 0` solution of `du/dt = −2u²`,
/// `u = u₀ / (1 + 2u₀t)`, whose second term is `2t`.
pub fn balanced_mode(s: f64, u0: f64, t: f64) -> f64 {
    if !(s >= 0.0 && u0 >= 0.0 && s.is_finite() && u0.is_finite()) || t.is_nan() {
        return f64::NAN;
    }
    if u0 == 0.0 {
        return 0.0;
    }
    let x = -2.0 * s * t;
    let growth = if s == 0.0 { 2.0 * t } else { -x.exp_m1() / s };
    1.0 / (x.exp() / u0 + growth)
}

/// [`balanced_mode`] for every singular value in `s` (same `u₀`).
pub fn balanced_modes(s: &[f64], u0: f64, t: f64) -> Vec<f64> {
    s.iter().map(|&sa| balanced_mode(sa, u0, t)).collect()
}

/// The one-layer (shallow) mode strength `u(t) = s + (u₀ − s) e^{−t}`: exponential, no plateau,
/// timescale independent of `s`.
pub fn shallow_mode(s: f64, u0: f64, t: f64) -> f64 {
    s + (u0 - s) * (-t).exp()
}

/// Time for a balanced two-layer mode to go from `u₀` to `u_f`:
/// `t = (1/2s) ln[u_f (s − u₀) / (u₀ (s − u_f))]` for `s > 0` (`u_f` between `u₀` and `s`,
/// `s` excluded), and `t = (1/u_f − 1/u₀)/2` for `s = 0` (`0 < u_f ≤ u₀`).
pub fn learning_time(s: f64, u0: f64, uf: f64) -> Result<f64, TheoryError> {
    const WHAT: &str = "saxe::learning_time";
    non_negative(WHAT, "s", s)?;
    non_negative(WHAT, "u0", u0)?;
    non_negative(WHAT, "uf", uf)?;
    if u0 == 0.0 {
        return Err(TheoryError::param(
            WHAT,
            "u0",
            u0,
            "> 0 (u = 0 is a fixed point)",
        ));
    }
    if uf == u0 {
        return Ok(0.0);
    }
    if s == 0.0 {
        if uf > u0 || uf == 0.0 {
            return Err(TheoryError::param(
                WHAT,
                "uf",
                uf,
                "0 < uf <= u0 when s = 0 (the mode decays)",
            ));
        }
        return Ok(0.5 * (1.0 / uf - 1.0 / u0));
    }
    let between = if u0 < s {
        uf > u0 && uf < s
    } else {
        uf < u0 && uf > s
    };
    if !between {
        return Err(TheoryError::param(
            WHAT,
            "uf",
            uf,
            "strictly between u0 and s, or equal to u0",
        ));
    }
    // Both ratios are positive on either side of s; splitting them avoids overflow.
    Ok(((uf / u0).ln() + ((s - u0) / (s - uf)).ln()) / (2.0 * s))
}

/// The first time a balanced two-layer mode reaches `s/2`: `(1/2s) ln((s − u₀)/u₀)`, or 0 when
/// `u₀ ≥ s/2`. Needs `s > 0` and `u₀ > 0`.
pub fn half_time(s: f64, u0: f64) -> Result<f64, TheoryError> {
    const WHAT: &str = "saxe::half_time";
    if !(s.is_finite() && s > 0.0) {
        return Err(TheoryError::param(WHAT, "s", s, "finite and > 0"));
    }
    if !(u0.is_finite() && u0 > 0.0) {
        return Err(TheoryError::param(WHAT, "u0", u0, "finite and > 0"));
    }
    if u0 >= 0.5 * s {
        return Ok(0.0);
    }
    Ok(((s - u0) / u0).ln() / (2.0 * s))
}

/// The squared loss of a decoupled network on whitened inputs:
/// `½ Σ_α (s_α − u_α)² + ½ (E||y||² − Σ_α s_α²)` (the second term is the part of the targets no
/// linear map of the inputs can fit).
pub fn loss(s: &[f64], u: &[f64], y_sq_mean: f64) -> f64 {
    let fit: f64 = s.iter().zip(u).map(|(a, b)| (a - b) * (a - b)).sum();
    let total: f64 = s.iter().map(|a| a * a).sum();
    0.5 * fit + 0.5 * (y_sq_mean - total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook form, for moderate t.
    fn naive(s: f64, u0: f64, t: f64) -> f64 {
        let e = (2.0 * s * t).exp();
        s * e / (e - 1.0 + s / u0)
    }

    #[test]
    fn matches_the_textbook_form() {
        for &(s, u0) in &[(3.0, 1e-3), (1.0, 0.5), (0.3, 1e-6), (2.0, 5.0)] {
            for &t in &[0.0, 0.1, 1.0, 4.0, 10.0] {
                let a = balanced_mode(s, u0, t);
                let b = naive(s, u0, t);
                assert!(
                    (a - b).abs() <= 1e-13 * b.abs().max(1.0),
                    "{s} {u0} {t}: {a} {b}"
                );
            }
        }
    }

    #[test]
    fn stable_at_large_time_and_edges() {
        assert_eq!(balanced_mode(3.0, 1e-3, 1e6), 3.0);
        assert_eq!(balanced_mode(3.0, 0.0, 5.0), 0.0);
        let z = balanced_mode(0.0, 0.5, 2.0);
        assert!((z - 0.5 / (1.0 + 2.0 * 0.5 * 2.0)).abs() < 1e-15);
        // Continuity at s → 0.
        let near = balanced_mode(1e-12, 0.5, 2.0);
        assert!((near - z).abs() < 1e-10);
        assert!(balanced_mode(-1.0, 0.1, 1.0).is_nan());
    }

    #[test]
    fn satisfies_the_ode() {
        let (s, u0) = (2.0, 1e-2);
        for &t in &[0.5, 1.0, 1.5, 2.5] {
            let h = 1e-5;
            let du = (balanced_mode(s, u0, t + h) - balanced_mode(s, u0, t - h)) / (2.0 * h);
            let u = balanced_mode(s, u0, t);
            assert!((du - 2.0 * u * (s - u)).abs() < 1e-7);
        }
    }

    #[test]
    fn learning_time_inverts_the_curve() {
        for &(s, u0, uf) in &[
            (3.0, 1e-3, 2.9),
            (1.0, 0.1, 0.5),
            (1.0, 3.0, 1.5),
            (0.0, 1.0, 0.2),
        ] {
            let t = learning_time(s, u0, uf).unwrap();
            assert!(
                (balanced_mode(s, u0, t) - uf).abs() < 1e-12,
                "{s} {u0} {uf}"
            );
        }
        let th = half_time(3.0, 1e-3).unwrap();
        assert!((balanced_mode(3.0, 1e-3, th) - 1.5).abs() < 1e-12);
        assert_eq!(half_time(1.0, 0.6).unwrap(), 0.0);
        assert!(learning_time(1.0, 0.1, 1.0).is_err());
        assert!(learning_time(1.0, 0.0, 0.5).is_err());
        assert!(half_time(0.0, 0.1).is_err());
    }

    #[test]
    fn shallow_and_loss() {
        assert_eq!(shallow_mode(2.0, 0.0, 0.0), 0.0);
        assert!((shallow_mode(2.0, 0.0, 50.0) - 2.0).abs() < 1e-15);
        let l = loss(&[3.0, 1.0], &[3.0, 0.0], 11.0);
        assert!((l - (0.5 + 0.5)).abs() < 1e-15);
    }
}
