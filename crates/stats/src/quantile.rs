//! Sample quantiles by linear interpolation between order statistics (Hyndman & Fan 1996,
//! definition 7, the default of R and NumPy): for sorted `x₀ ≤ … ≤ x_{n−1}` and `h = (n−1) p`,
//! `Q(p) = x_⌊h⌋ + (h − ⌊h⌋)(x_{⌊h⌋+1} − x_⌊h⌋)`.

use crate::error::{check_finite, check_len, Result, StatsError};

/// `Q(p)` of data that is already sorted ascending (NaN when empty; `p` is clamped to `[0, 1]`).
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 || p.is_nan() {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    if lo + 1 >= n {
        return sorted[n - 1];
    }
    let frac = h - lo as f64;
    sorted[lo] + frac * (sorted[lo + 1] - sorted[lo])
}

/// `Q(p)` of unsorted finite data (the data is copied and sorted).
pub fn quantile(values: &[f64], p: f64) -> Result<f64> {
    const WHAT: &str = "quantile";
    check_len(WHAT, 1, values.len())?;
    check_finite(WHAT, "values", values)?;
    if !(0.0..=1.0).contains(&p) {
        return Err(StatsError::InvalidArgument {
            what: WHAT,
            field: "p",
            value: p,
            rule: "0 ≤ p ≤ 1",
        });
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Ok(quantile_sorted(&sorted, p))
}

/// The median `Q(½)` of finite data.
pub fn median(values: &[f64]) -> Result<f64> {
    quantile(values, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_between_order_statistics() {
        let xs = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&xs, 0.0).unwrap(), 1.0);
        assert_eq!(quantile(&xs, 1.0).unwrap(), 4.0);
        assert_eq!(median(&xs).unwrap(), 2.5);
        // h = 3 · 0.25 = 0.75 → 1 + 0.75 · (2 − 1).
        assert_eq!(quantile(&xs, 0.25).unwrap(), 1.75);
        assert_eq!(median(&[5.0]).unwrap(), 5.0);
        assert!(median(&[]).is_err());
        assert!(median(&[1.0, f64::NAN]).is_err());
        assert!(quantile(&xs, 1.5).is_err());
    }
}
