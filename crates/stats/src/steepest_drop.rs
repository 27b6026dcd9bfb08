//! Where a decreasing curve (training error, loss) falls fastest, and how much of its total drop
//! is already done there: the statistic behind SCIENCE.md P3 ("in linear time, the steepest
//! drop of the error curve (monotone smoothing fit) comes after 10 % of the total drop").
//!
//! Given steps `t₀ < t₁ < ⋯ < t_{n−1}` (linear time) and values `eᵢ`:
//!
//! 1. **Monotone fit.** `ŷᵢ` is the non-increasing least-squares isotonic regression of `e`
//!    ([`crate::isotonic_fit`], pool-adjacent-violators; Barlow et al. 1972), and `ŷ(t)` its
//!    piecewise-linear interpolation between the `tᵢ` on `[t₀, t_{n−1}]`.
//! 2. **Windowed drop rate.** With the half-width `h` (default 2.5 % of the span
//!    `t_{n−1} − t₀`), the window of point `i` is `[aᵢ, bᵢ]`, `aᵢ = max(tᵢ − h, t₀)`,
//!    `bᵢ = min(tᵢ + h, t_{n−1})`, and its drop rate is the secant slope
//!    `rateᵢ = (ŷ(aᵢ) − ŷ(bᵢ)) / (bᵢ − aᵢ)` (`≥ 0`). Inside the curve this is the central
//!    difference `(ŷ(tᵢ − h) − ŷ(tᵢ + h)) / 2h`; within `h` of an end the window is cut at the
//!    end (a one-sided difference), so a curve that falls fastest at `t₀` (an exponential decay)
//!    has its steepest point at `t₀`, not at `t₀ + h`. Averaging over `2h` keeps a single jump of
//!    the piecewise-constant isotonic fit from being the steepest point.
//! 3. **Steepest point.** `i* = argmaxᵢ rateᵢ` (the first on ties); `time = t_{i*}`,
//!    `rate = rate_{i*}`, `total_drop = ŷ₀ − ŷ_{n−1}` and
//!    `fraction_before = (ŷ₀ − ŷ_{i*}) / total_drop`, the share of the total drop already done
//!    at the steepest point: about ½ at the inflection of a sigmoidal curve, 0 for a curve that
//!    falls fastest from the start.
//!
//! A curve with no drop (flat, or rising: its non-increasing fit is constant) has
//! `total_drop = 0`, every rate 0, `time = t₀` and `fraction_before = NaN`; it is not an error,
//! so callers can report it. All steps cost `O(n)`.
//!
//! Caveats. The argmax of a flat-topped rate wanders with noise: for a logistic of unit drop
//! sampled at 201 points over four of its scale lengths either side, Gaussian noise of 0.2 % of
//! the drop moves `fraction_before` by a median 0.025 and a 99th percentile 0.09 at the
//! default `h` (0.014 and 0.054 at `h` = 10 % of the span); at 1 % noise, 0.05 and 0.18 (0.03
//! and 0.11). Widen `h` for noisy curves. Isotonic fits also overshoot at the ends of noisy
//! data (a lone high first point keeps its value), and the one-sided windows there average over
//! half the width, so a first or last steepest point in noisy data deserves a look.

use serde::{Deserialize, Serialize};

use crate::error::{check_finite, check_len, check_same_len, Result, StatsError};
use crate::isotonic::{isotonic_fit, Monotone};

/// Options of [`steepest_drop_with`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SteepestDropOptions {
    /// The half-width `h` as a fraction of the span `t_{n−1} − t₀` (default 0.025, so the
    /// window `2h` is 5 % of the span); must be finite and `> 0`.
    pub bandwidth_fraction: f64,
    /// The half-width `h` in step units; overrides `bandwidth_fraction` when `Some` (finite,
    /// `> 0`).
    pub bandwidth: Option<f64>,
}

impl Default for SteepestDropOptions {
    /// `h` = 2.5 % of the span.
    fn default() -> Self {
        SteepestDropOptions {
            bandwidth_fraction: 0.025,
            bandwidth: None,
        }
    }
}

/// The steepest point of the monotone (non-increasing) fit of a curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SteepestDrop {
    /// The step `t_{i*}` whose window drops fastest.
    pub time: f64,
    /// Its index `i*` in the input.
    pub index: usize,
    /// The drop rate there, `(ŷ(a) − ŷ(b)) / (b − a)` (value units per step, `≥ 0`).
    pub rate: f64,
    /// `(ŷ₀ − ŷ(time)) / total_drop`: the share of the total drop done at the steepest point
    /// (NaN when `total_drop = 0`).
    pub fraction_before: f64,
    /// `ŷ₀ − ŷ_{n−1}` of the monotone fit (`≥ 0`).
    pub total_drop: f64,
    /// The half-width `h` used, in step units.
    pub bandwidth: f64,
}

/// [`steepest_drop_with`] with the default half-width (2.5 % of the span).
pub fn steepest_drop(steps: &[f64], values: &[f64]) -> Result<SteepestDrop> {
    steepest_drop_with(steps, values, &SteepestDropOptions::default())
}

/// The steepest drop of `values` at strictly increasing `steps` (at least 2 points, all finite);
/// see the module documentation for the definition.
pub fn steepest_drop_with(
    steps: &[f64],
    values: &[f64],
    options: &SteepestDropOptions,
) -> Result<SteepestDrop> {
    const WHAT: &str = "steepest_drop";
    check_same_len(WHAT, steps.len(), values.len())?;
    check_len(WHAT, 2, steps.len())?;
    check_finite(WHAT, "steps", steps)?;
    check_finite(WHAT, "values", values)?;
    if let Some(i) = steps.windows(2).position(|p| p[1] <= p[0]) {
        return Err(StatsError::OutOfDomain {
            what: WHAT,
            field: "steps",
            index: i + 1,
            value: steps[i + 1],
            rule: "strictly increasing",
        });
    }
    let n = steps.len();
    let (t0, t_end) = (steps[0], steps[n - 1]);
    let h = match options.bandwidth {
        Some(h) => check_positive(WHAT, "bandwidth", h)?,
        None => {
            check_positive(WHAT, "bandwidth_fraction", options.bandwidth_fraction)? * (t_end - t0)
        }
    };
    if !(h > 0.0 && h.is_finite()) {
        return Err(StatsError::InvalidArgument {
            what: WHAT,
            field: "bandwidth",
            value: h,
            rule: "finite and > 0 in step units",
        });
    }
    let fit = isotonic_fit(values, None, Monotone::NonIncreasing)?;
    let total_drop = fit[0] - fit[n - 1];
    // Window ends increase with i, so each interpolation cursor only moves forward: O(n).
    let mut lower = Interpolator::new(steps, &fit);
    let mut upper = Interpolator::new(steps, &fit);
    let (mut best, mut best_rate) = (0usize, f64::NEG_INFINITY);
    for (i, &t) in steps.iter().enumerate() {
        let a = (t - h).max(t0);
        let b = (t + h).min(t_end);
        let rate = (lower.at(a) - upper.at(b)) / (b - a);
        if rate > best_rate {
            best = i;
            best_rate = rate;
        }
    }
    let fraction_before = if total_drop > 0.0 {
        (fit[0] - fit[best]) / total_drop
    } else {
        f64::NAN
    };
    Ok(SteepestDrop {
        time: steps[best],
        index: best,
        rate: best_rate,
        fraction_before,
        total_drop,
        bandwidth: h,
    })
}

fn check_positive(what: &'static str, field: &'static str, value: f64) -> Result<f64> {
    if value > 0.0 && value.is_finite() {
        Ok(value)
    } else {
        Err(StatsError::InvalidArgument {
            what,
            field,
            value,
            rule: "finite and > 0",
        })
    }
}

/// Piecewise-linear interpolation through `(xᵢ, yᵢ)`, queried at non-decreasing points inside
/// `[x₀, x_{n−1}]`.
struct Interpolator<'a> {
    x: &'a [f64],
    y: &'a [f64],
    /// The left end of the current segment.
    segment: usize,
}

impl<'a> Interpolator<'a> {
    fn new(x: &'a [f64], y: &'a [f64]) -> Self {
        Interpolator { x, y, segment: 0 }
    }

    fn at(&mut self, t: f64) -> f64 {
        let last = self.x.len() - 1;
        while self.segment + 1 < last && self.x[self.segment + 1] < t {
            self.segment += 1;
        }
        let j = self.segment;
        let (x0, x1) = (self.x[j], self.x[j + 1]);
        let u = ((t - x0) / (x1 - x0)).clamp(0.0, 1.0);
        self.y[j] + u * (self.y[j + 1] - self.y[j])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use learnscope_core::RandomKey;

    fn grid(n: u32, end: f64) -> Vec<f64> {
        (0..n)
            .map(|i| end * f64::from(i) / f64::from(n - 1))
            .collect()
    }

    fn noisy(clean: &[f64], seed: u64, sd: f64) -> Vec<f64> {
        let z = RandomKey::root(seed).normals(clean.len());
        clean.iter().zip(&z).map(|(c, e)| c + sd * e).collect()
    }

    #[test]
    fn exponential_decay_falls_fastest_at_the_start() {
        let t = grid(201, 10.0);
        let e: Vec<f64> = t.iter().map(|t| (-t).exp()).collect();
        let d = steepest_drop(&t, &e).unwrap();
        assert!(d.fraction_before < 0.05, "{d:?}");
        assert_eq!(d.index, 0);
        assert!((d.total_drop - (1.0 - (-10.0f64).exp())).abs() < 1e-12);
        assert!((d.bandwidth - 0.25).abs() < 1e-12);
        // One-sided window at t₀: (1 − e^{−h})/h.
        assert!((d.rate - (1.0 - (-0.25f64).exp()) / 0.25).abs() < 1e-12);
        let d = steepest_drop(&t, &noisy(&e, 1, 0.002)).unwrap();
        assert!(d.fraction_before < 0.05, "{d:?}");
    }

    #[test]
    fn logistic_falls_fastest_at_half_its_drop() {
        let t = grid(201, 10.0);
        let e: Vec<f64> = t.iter().map(|t| 1.0 / (1.0 + (t - 5.0).exp())).collect();
        let d = steepest_drop(&t, &e).unwrap();
        assert!((d.fraction_before - 0.5).abs() < 0.05, "{d:?}");
        assert!((d.time - 5.0).abs() < 1e-12, "{d:?}");
        // Central difference of the (already monotone) curve at its inflection: ≈ slope ¼.
        assert!((d.rate - 0.25).abs() < 0.01, "{d:?}");
        let d = steepest_drop(&t, &noisy(&e, 2, 0.002)).unwrap();
        assert!((d.fraction_before - 0.5).abs() < 0.05, "{d:?}");
    }

    #[test]
    fn a_late_sigmoid_on_uneven_steps_with_an_absolute_bandwidth() {
        // Uneven steps, drop centred at 80 on 0..100.
        let t: Vec<f64> = (0..300)
            .map(|i| f64::from(i).powf(1.2) / 300f64.powf(0.2) / 2.99)
            .collect();
        let e: Vec<f64> = t
            .iter()
            .map(|t| 0.1 + 0.8 / (1.0 + ((t - 80.0) / 3.0).exp()))
            .collect();
        let d = steepest_drop_with(
            &t,
            &e,
            &SteepestDropOptions {
                bandwidth: Some(2.0),
                ..SteepestDropOptions::default()
            },
        )
        .unwrap();
        assert_eq!(d.bandwidth, 2.0);
        assert!((d.time - 80.0).abs() < 1.0, "{d:?}");
        assert!((d.fraction_before - 0.5).abs() < 0.05, "{d:?}");
    }

    #[test]
    fn flat_or_rising_curves_have_no_drop() {
        let t = grid(20, 1.0);
        let d = steepest_drop(&t, &[0.3; 20]).unwrap();
        assert_eq!(d.total_drop, 0.0);
        assert_eq!(d.rate, 0.0);
        assert_eq!(d.time, 0.0);
        assert!(d.fraction_before.is_nan());
        let rising: Vec<f64> = t.clone();
        let d = steepest_drop(&t, &rising).unwrap();
        assert!(d.total_drop.abs() < 1e-15 && d.fraction_before.is_nan());
    }

    #[test]
    fn invalid_input_is_rejected() {
        assert!(matches!(
            steepest_drop(&[0.0, 1.0, 1.0], &[3.0, 2.0, 1.0]),
            Err(StatsError::OutOfDomain { index: 2, .. })
        ));
        assert!(matches!(
            steepest_drop(&[0.0, 1.0], &[3.0, f64::NAN]),
            Err(StatsError::NonFinite {
                field: "values",
                index: 1,
                ..
            })
        ));
        assert!(matches!(
            steepest_drop(&[0.0], &[3.0]),
            Err(StatsError::TooFewPoints { .. })
        ));
        let zero = SteepestDropOptions {
            bandwidth_fraction: 0.0,
            bandwidth: None,
        };
        assert!(matches!(
            steepest_drop_with(&[0.0, 1.0], &[1.0, 0.0], &zero),
            Err(StatsError::InvalidArgument { .. })
        ));
    }
}
