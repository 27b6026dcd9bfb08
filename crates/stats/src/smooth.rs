//! Smoothing of learning curves.
//!
//! - **Log-time Gaussian kernel smoother** (Nadaraya 1964; Watson 1964 kernel regression in
//!   `ℓ = log₁₀ step`): `ŷ(s) = Σᵢ wᵢ yᵢ / Σᵢ wᵢ`, `wᵢ = exp(−½ ((ℓᵢ − log₁₀ s)/h)²)` with the
//!   bandwidth `h` in decades, so one bandwidth treats steps 10–100 and 10⁴–10⁵ alike (curves
//!   sampled on log-spaced schedules). Steps must be `≥ 1`; NaN values are skipped (they carry
//!   no weight); the kernel is truncated at `|Δℓ| > 8h`, where the weight is below `1.3e-14`
//!   of the peak. A point with no finite value within `8h` smooths to NaN.
//! - **Moving median** and **moving mean** over a centred window of `w` points (indices
//!   `i − ⌊(w−1)/2⌋ ..= i + ⌊w/2⌋`, truncated at the ends), skipping NaN. The moving median is
//!   the robust choice for spiky curves (Tukey 1977); the moving mean of width 10 is what P2
//!   uses to smooth accessibility scores (SCIENCE.md §P2).

use crate::error::{check_finite, check_same_len, Result, StatsError};
use crate::quantile::quantile_sorted;

const TRUNCATE_BANDWIDTHS: f64 = 8.0;

fn check_bandwidth(what: &'static str, h: f64) -> Result<()> {
    if h > 0.0 && h.is_finite() {
        Ok(())
    } else {
        Err(StatsError::InvalidArgument {
            what,
            field: "bandwidth_decades",
            value: h,
            rule: "finite and > 0",
        })
    }
}

fn log_steps(what: &'static str, field: &'static str, steps: &[f64]) -> Result<Vec<f64>> {
    check_finite(what, field, steps)?;
    if let Some(index) = steps.iter().position(|&s| s < 1.0) {
        return Err(StatsError::OutOfDomain {
            what,
            field,
            index,
            value: steps[index],
            rule: ">= 1",
        });
    }
    Ok(steps.iter().map(|s| s.log10()).collect())
}

/// Smooths `values` measured at `steps` with a Gaussian kernel of `bandwidth_decades` in
/// `log₁₀ step`, evaluated at the same steps. Steps need not be sorted.
pub fn smooth_log_time(steps: &[f64], values: &[f64], bandwidth_decades: f64) -> Result<Vec<f64>> {
    smooth_log_time_at(steps, values, steps, bandwidth_decades)
}

/// Like [`smooth_log_time`], evaluated at the steps `at` (each `≥ 1`).
pub fn smooth_log_time_at(
    steps: &[f64],
    values: &[f64],
    at: &[f64],
    bandwidth_decades: f64,
) -> Result<Vec<f64>> {
    const WHAT: &str = "smooth_log_time";
    check_same_len(WHAT, steps.len(), values.len())?;
    check_bandwidth(WHAT, bandwidth_decades)?;
    let ls = log_steps(WHAT, "steps", steps)?;
    let targets = log_steps(WHAT, "at", at)?;
    if let Some(index) = values.iter().position(|v| v.is_infinite()) {
        return Err(StatsError::NonFinite {
            what: WHAT,
            field: "values",
            index,
            value: values[index],
        });
    }
    // Non-NaN points sorted by log-step, so each evaluation only visits its window.
    let mut points: Vec<(f64, f64)> = ls
        .iter()
        .zip(values)
        .filter(|(_, v)| !v.is_nan())
        .map(|(&l, &v)| (l, v))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let reach = TRUNCATE_BANDWIDTHS * bandwidth_decades;
    let inv_h = 1.0 / bandwidth_decades;
    Ok(targets
        .iter()
        .map(|&l| {
            let start = points.partition_point(|p| p.0 < l - reach);
            let (mut sw, mut swy) = (0.0, 0.0);
            for &(li, yi) in points[start..].iter().take_while(|p| p.0 <= l + reach) {
                let u = (li - l) * inv_h;
                let w = (-0.5 * u * u).exp();
                sw += w;
                swy += w * yi;
            }
            if sw > 0.0 {
                swy / sw
            } else {
                f64::NAN
            }
        })
        .collect())
}

fn check_window(what: &'static str, window: usize) -> Result<()> {
    if window >= 1 {
        Ok(())
    } else {
        Err(StatsError::InvalidArgument {
            what,
            field: "window",
            value: 0.0,
            rule: ">= 1",
        })
    }
}

/// The index range of the centred window of `window` points around `i` in `0..n`.
fn window_range(i: usize, window: usize, n: usize) -> std::ops::Range<usize> {
    let before = (window - 1) / 2;
    let after = window / 2;
    i.saturating_sub(before)..(i + after + 1).min(n)
}

/// Median of the finite values in a centred window of `window` points (NaN skipped; NaN where
/// the window holds none). Infinite values are kept (a median tolerates them).
pub fn moving_median(values: &[f64], window: usize) -> Result<Vec<f64>> {
    check_window("moving_median", window)?;
    let n = values.len();
    let mut buf = Vec::with_capacity(window);
    Ok((0..n)
        .map(|i| {
            buf.clear();
            buf.extend(
                values[window_range(i, window, n)]
                    .iter()
                    .filter(|v| !v.is_nan()),
            );
            buf.sort_by(f64::total_cmp);
            quantile_sorted(&buf, 0.5)
        })
        .collect())
}

/// Mean of the non-NaN values in a centred window of `window` points (NaN where the window
/// holds none).
pub fn moving_mean(values: &[f64], window: usize) -> Result<Vec<f64>> {
    check_window("moving_mean", window)?;
    let n = values.len();
    Ok((0..n)
        .map(|i| {
            let (s, c) = values[window_range(i, window, n)]
                .iter()
                .filter(|v| !v.is_nan())
                .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
            if c > 0 {
                s / c as f64
            } else {
                f64::NAN
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_and_linear_in_log_time_curves_are_preserved() {
        let steps: Vec<f64> = (0..=40).map(|k| 10f64.powf(k as f64 / 10.0)).collect();
        let flat = vec![2.5; steps.len()];
        for v in smooth_log_time(&steps, &flat, 0.3).unwrap() {
            assert!((v - 2.5).abs() < 1e-14);
        }
        // A symmetric kernel on an evenly spaced log grid preserves a line in log-time
        // away from the edges.
        let line: Vec<f64> = steps.iter().map(|s| 3.0 * s.log10() - 1.0).collect();
        let sm = smooth_log_time(&steps, &line, 0.1).unwrap();
        for i in 10..=30 {
            assert!(
                (sm[i] - line[i]).abs() < 1e-12,
                "{i}: {} vs {}",
                sm[i],
                line[i]
            );
        }
    }

    #[test]
    fn hand_computed_three_point_kernel() {
        // Steps 1, 10, 100 (log 0, 1, 2), values 0, 1, 5, h = 1 decade, at step 10:
        // weights e^{-1/2}, 1, e^{-1/2} → (e^{-1/2}·0 + 1 + 5 e^{-1/2}) / (1 + 2 e^{-1/2}).
        let w = (-0.5f64).exp();
        let sm = smooth_log_time_at(&[1.0, 10.0, 100.0], &[0.0, 1.0, 5.0], &[10.0], 1.0).unwrap();
        assert!((sm[0] - (1.0 + 5.0 * w) / (1.0 + 2.0 * w)).abs() < 1e-15);
    }

    #[test]
    fn nan_values_are_skipped_and_bad_inputs_rejected() {
        let sm = smooth_log_time(&[1.0, 2.0, 4.0], &[1.0, f64::NAN, 3.0], 0.5).unwrap();
        assert!(sm.iter().all(|v| v.is_finite()));
        let none = smooth_log_time(&[1.0, 1e6], &[f64::NAN, 1.0], 0.1).unwrap();
        assert!(none[0].is_nan() && none[1] == 1.0);
        assert!(smooth_log_time(&[0.5, 2.0], &[1.0, 2.0], 0.5).is_err());
        assert!(smooth_log_time(&[1.0, 2.0], &[1.0, 2.0], 0.0).is_err());
        assert!(smooth_log_time(&[1.0, 2.0], &[1.0], 0.5).is_err());
        assert!(smooth_log_time(&[1.0, 2.0], &[1.0, f64::INFINITY], 0.5).is_err());
    }

    #[test]
    fn moving_median_and_mean() {
        let v = [1.0, 100.0, 3.0, f64::NAN, 5.0, 6.0];
        // Window 3: [1,100] [1,100,3] [100,3] [3,5] [5,6] [5,6] (NaN skipped).
        assert_eq!(
            moving_median(&v, 3).unwrap(),
            vec![50.5, 3.0, 51.5, 4.0, 5.5, 5.5]
        );
        assert_eq!(
            moving_mean(&v, 3).unwrap(),
            vec![50.5, 104.0 / 3.0, 51.5, 4.0, 5.5, 5.5]
        );
        assert_eq!(moving_median(&v, 1).unwrap()[1], 100.0);
        assert!(moving_median(&v, 1).unwrap()[3].is_nan());
        // Even window 4 around i = 2: indices 1..=4.
        assert_eq!(moving_mean(&[1.0, 2.0, 3.0, 4.0, 5.0], 4).unwrap()[2], 3.5);
        assert!(moving_median(&v, 0).is_err());
    }
}
