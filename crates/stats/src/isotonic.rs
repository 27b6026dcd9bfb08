//! Isotonic (monotone) least-squares regression by the pool-adjacent-violators algorithm (PAVA;
//! Ayer et al. 1955; Barlow, Bartholomew, Bremner & Brunk, *Statistical Inference under Order
//! Restrictions*, 1972; de Leeuw, Hornik & Mair, "Isotone optimization in R", *J. Stat.
//! Softw.* 32(5), 2009).
//!
//! Given values `yᵢ` with weights `wᵢ > 0` (all 1 by default) in index order, the non-decreasing
//! fit is `ŷ = argmin Σ wᵢ (yᵢ − ŷᵢ)²` subject to `ŷ₁ ≤ ŷ₂ ≤ ⋯ ≤ ŷₙ`. PAVA scans left to right,
//! keeping a stack of blocks of pooled points, each fitted by its weighted mean
//! `Σ_B wᵢyᵢ / Σ_B wᵢ`; whenever the newest block's mean is below the one before it, the two
//! are pooled, repeatedly. Every point is pushed once and pooled at most once, so the fit takes
//! `O(n)` time. The non-increasing fit is the non-decreasing fit of `−y`, negated. The fit is
//! piecewise constant, and each constant is the weighted mean of the values it replaces (so the
//! weighted sum `Σ wᵢŷᵢ = Σ wᵢyᵢ` is preserved).

use serde::{Deserialize, Serialize};

use crate::error::{check_finite, check_same_len, Result, StatsError};

/// The direction of a monotone fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Monotone {
    /// `ŷ₁ ≤ ŷ₂ ≤ ⋯ ≤ ŷₙ` (e.g. accuracy over training).
    NonDecreasing,
    /// `ŷ₁ ≥ ŷ₂ ≥ ⋯ ≥ ŷₙ` (e.g. training error over training).
    NonIncreasing,
}

/// The weighted least-squares monotone fit of `values` (in index order) in the given
/// `direction`, by pool-adjacent-violators in `O(n)`.
///
/// `weights`, when given, must have the length of `values` and be finite and `> 0`; `None`
/// weighs every value 1. Values must be finite (a NaN or infinite value is an error naming its
/// index). An empty input has an empty fit.
pub fn isotonic_fit(
    values: &[f64],
    weights: Option<&[f64]>,
    direction: Monotone,
) -> Result<Vec<f64>> {
    const WHAT: &str = "isotonic_fit";
    check_finite(WHAT, "values", values)?;
    if let Some(w) = weights {
        check_same_len(WHAT, values.len(), w.len())?;
        check_finite(WHAT, "weights", w)?;
        if let Some(index) = w.iter().position(|&x| x <= 0.0) {
            return Err(StatsError::OutOfDomain {
                what: WHAT,
                field: "weights",
                index,
                value: w[index],
                rule: "> 0",
            });
        }
    }
    let sign = match direction {
        Monotone::NonDecreasing => 1.0,
        Monotone::NonIncreasing => -1.0,
    };
    // Blocks of pooled points: (weighted mean, total weight, number of points).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(values.len());
    for (i, &y) in values.iter().enumerate() {
        let w = weights.map_or(1.0, |w| w[i]);
        let (mut mean, mut weight, mut count) = (sign * y, w, 1usize);
        while let Some(&(prev_mean, prev_weight, prev_count)) = blocks.last() {
            if prev_mean <= mean {
                break;
            }
            blocks.pop();
            let total = prev_weight + weight;
            // Convex combination of the two means: stays between them (no overshoot).
            mean = prev_mean + (mean - prev_mean) * (weight / total);
            weight = total;
            count += prev_count;
        }
        blocks.push((mean, weight, count));
    }
    let mut fit = Vec::with_capacity(values.len());
    for (mean, _, count) in blocks {
        fit.extend(std::iter::repeat_n(sign * mean, count));
    }
    Ok(fit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close_all(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn pools_adjacent_violators_by_hand() {
        // 3 > 2 pools to 2.5; 4 > 3 pools to 3.5.
        let y = [1.0, 3.0, 2.0, 4.0, 3.0, 5.0];
        close_all(
            &isotonic_fit(&y, None, Monotone::NonDecreasing).unwrap(),
            &[1.0, 2.5, 2.5, 3.5, 3.5, 5.0],
        );
        // A cascade: [4, 5, 1] → 5 > 1 pools to 3, then 4 > 3 pools all three to 10/3.
        close_all(
            &isotonic_fit(&[4.0, 5.0, 1.0], None, Monotone::NonDecreasing).unwrap(),
            &[10.0 / 3.0; 3],
        );
        // Non-increasing: [5, 3, 4, 1] → 3 < 4 pools to 3.5.
        close_all(
            &isotonic_fit(&[5.0, 3.0, 4.0, 1.0], None, Monotone::NonIncreasing).unwrap(),
            &[5.0, 3.5, 3.5, 1.0],
        );
        // Already monotone data are their own fit.
        let sorted = [1.0, 1.0, 2.0, 7.0];
        close_all(
            &isotonic_fit(&sorted, None, Monotone::NonDecreasing).unwrap(),
            &sorted,
        );
        assert!(isotonic_fit(&[], None, Monotone::NonIncreasing)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn weights_pull_the_pooled_mean() {
        // Pool of 3 (w 1) and 2 (w 3): (3 + 6)/4 = 2.25.
        let fit = isotonic_fit(
            &[1.0, 3.0, 2.0],
            Some(&[1.0, 1.0, 3.0]),
            Monotone::NonDecreasing,
        )
        .unwrap();
        close_all(&fit, &[1.0, 2.25, 2.25]);
        // Integer weights equal repeated points.
        let repeated =
            isotonic_fit(&[1.0, 3.0, 2.0, 2.0, 2.0], None, Monotone::NonDecreasing).unwrap();
        close_all(&fit[1..], &repeated[1..3]);
    }

    #[test]
    fn fit_is_monotone_preserves_the_weighted_sum_and_beats_other_monotone_fits() {
        let y: Vec<f64> = (0..200)
            .map(|i| {
                let t = f64::from(i) / 20.0;
                (-t).exp() + 0.1 * (f64::from(i) * 12.9898).sin()
            })
            .collect();
        let w: Vec<f64> = (0..200).map(|i| 1.0 + f64::from(i % 7)).collect();
        let fit = isotonic_fit(&y, Some(&w), Monotone::NonIncreasing).unwrap();
        assert!(fit.windows(2).all(|p| p[0] >= p[1]));
        let sum = |v: &[f64]| v.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
        assert!((sum(&fit) - sum(&y)).abs() < 1e-9);
        let sse = |v: &[f64]| {
            v.iter()
                .zip(&y)
                .zip(&w)
                .map(|((a, b), c)| c * (a - b).powi(2))
                .sum::<f64>()
        };
        // Moving any maximal constant block up or down (keeping order) only adds error.
        let best = sse(&fit);
        for delta in [-1e-3, 1e-3] {
            let mut start = 0;
            while start < fit.len() {
                let end = (start..fit.len())
                    .find(|&j| fit[j] != fit[start])
                    .unwrap_or(fit.len());
                let mut moved = fit.clone();
                moved[start..end].iter_mut().for_each(|v| *v += delta);
                assert!(sse(&moved) >= best);
                start = end;
            }
        }
    }

    #[test]
    fn invalid_input_is_named() {
        let err = isotonic_fit(&[1.0, f64::NAN], None, Monotone::NonDecreasing).unwrap_err();
        assert!(matches!(
            err,
            StatsError::NonFinite {
                field: "values",
                index: 1,
                ..
            }
        ));
        let err =
            isotonic_fit(&[1.0, 2.0], Some(&[1.0, 0.0]), Monotone::NonDecreasing).unwrap_err();
        assert!(matches!(
            err,
            StatsError::OutOfDomain {
                field: "weights",
                index: 1,
                ..
            }
        ));
        assert!(matches!(
            isotonic_fit(&[1.0, 2.0], Some(&[1.0]), Monotone::NonDecreasing),
            Err(StatsError::LengthMismatch { .. })
        ));
    }
}
