//! The three learning phases of a per-layer reconstruction-loss curve (J. Schneider &
//! M. Prabhushankar, "Understanding and Leveraging the Learning Phases of Neural Networks",
//! AAAI 2024; SCIENCE.md §P4.4): (I) near-constant, (II) decrease, (III) increase.
//!
//! Rules on a curve `v_0, v_1, …` sampled at increasing steps (already smoothed, e.g. with
//! [`crate::smooth_log_time`]), with a drop threshold `τ ≥ 0` and a rise fraction `ρ`:
//! - phase I ends at the first evaluation `i ≥ 1` with `v_i < v_0 − τ` (none: no phase II);
//! - phase II ends at the (first) minimum of `v_j` over `j ≥` the end of phase I;
//! - phase III is present when the curve afterwards rises to `max_{j > min} v_j ≥ (1 + ρ)·v_min`
//!   (a relative rise, so the curve must be positive, as a loss is).
//!
//! Issue 9 fixes `τ = max(2 % · |v_0|, 3 × the across-seed sd of v_0)` and `ρ = 5 %`; the caller
//! computes `τ` (the across-seed part needs all seeds).

use crate::error::{check_finite, check_len, Result, StatsError};

/// Where the phases of one curve end (indices into the curve).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phases {
    /// The first index of phase II (the end of phase I), if the curve ever drops by `τ`.
    pub phase1_end: Option<usize>,
    /// The index of the minimum after phase I (the end of phase II), if phase I ends.
    pub phase2_end: Option<usize>,
    /// `max_{j > min} v_j / v_min − 1` (0 when the minimum is the last point; `None` without
    /// phase II).
    pub rise: Option<f64>,
    /// Whether phase III is present (`rise ≥ ρ`).
    pub phase3: bool,
}

impl Phases {
    /// Whether all three phases were found.
    pub fn all_found(&self) -> bool {
        self.phase1_end.is_some() && self.phase2_end.is_some() && self.phase3
    }
}

/// Segments `curve` with drop threshold `tau` (absolute, ≥ 0) and rise fraction `rho` (> 0).
pub fn learning_phases(curve: &[f64], tau: f64, rho: f64) -> Result<Phases> {
    const WHAT: &str = "learning_phases";
    check_len(WHAT, 2, curve.len())?;
    check_finite(WHAT, "curve", curve)?;
    for (field, value, ok) in [
        ("tau", tau, tau >= 0.0 && tau.is_finite()),
        ("rho", rho, rho > 0.0 && rho.is_finite()),
    ] {
        if !ok {
            return Err(StatsError::InvalidArgument {
                what: WHAT,
                field,
                value,
                rule: "finite, tau ≥ 0 and rho > 0",
            });
        }
    }
    let v0 = curve[0];
    let Some(p1) = (1..curve.len()).find(|&i| curve[i] < v0 - tau) else {
        return Ok(Phases {
            phase1_end: None,
            phase2_end: None,
            rise: None,
            phase3: false,
        });
    };
    let mut argmin = p1;
    for j in p1..curve.len() {
        if curve[j] < curve[argmin] {
            argmin = j;
        }
    }
    let vmin = curve[argmin];
    let after = curve[argmin + 1..]
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let rise = if after.is_finite() {
        after / vmin - 1.0
    } else {
        0.0
    };
    Ok(Phases {
        phase1_end: Some(p1),
        phase2_end: Some(argmin),
        rise: Some(rise),
        phase3: rise >= rho,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_drop_rise_curve_has_three_phases() {
        // The paper's logged run (SCIENCE.md §P4.5), RecLoss at iterations 0, 8, 32, 128, 256,
        // 1024, 2048, 8192, 65536: −2 % (phase I), minimum at 128 (−14 %), +33 % at the end.
        let v = [
            46.71, 45.62, 43.48, 40.32, 40.54, 41.12, 44.30, 54.74, 62.18,
        ];
        let p = learning_phases(&v, 0.02 * 46.71, 0.05).unwrap();
        // 45.62 is 2.3 % below 46.71: phase I ends at once on this coarse grid.
        assert_eq!(p.phase1_end, Some(1));
        assert_eq!(p.phase2_end, Some(3));
        assert!((p.rise.unwrap() - (62.18 / 40.32 - 1.0)).abs() < 1e-15);
        assert!(p.all_found());
        // A larger threshold moves the end of phase I to the first point below v0 − τ.
        let p = learning_phases(&v, 0.05 * 46.71, 0.05).unwrap();
        assert_eq!(p.phase1_end, Some(2));
    }

    #[test]
    fn missing_phases_are_reported_as_such() {
        // Never drops by τ: no phase II or III.
        let flat = [10.0, 9.95, 9.9, 9.92];
        let p = learning_phases(&flat, 0.2, 0.05).unwrap();
        assert_eq!(p.phase1_end, None);
        assert!(!p.all_found());
        // Drops, never rises again: phase III absent, rise 0 at a final minimum.
        let down = [10.0, 9.0, 8.0, 7.0];
        let p = learning_phases(&down, 0.2, 0.05).unwrap();
        assert_eq!((p.phase1_end, p.phase2_end), (Some(1), Some(3)));
        assert_eq!(p.rise, Some(0.0));
        assert!(!p.phase3);
        // A rise of 4 % is below ρ = 5 %; 6 % is above.
        let small = [10.0, 8.0, 8.32];
        assert!(!learning_phases(&small, 0.2, 0.05).unwrap().phase3);
        let big = [10.0, 8.0, 8.48];
        assert!(learning_phases(&big, 0.2, 0.05).unwrap().phase3);
        assert!(learning_phases(&[1.0], 0.0, 0.05).is_err());
        assert!(learning_phases(&big, -1.0, 0.05).is_err());
        assert!(learning_phases(&[1.0, f64::NAN], 0.0, 0.05).is_err());
    }
}
