//! Axis scales and ticks. A [`Scale`] maps data values to the unit interval, linearly or in
//! log₁₀; [`nice_linear_ticks`] picks ticks at 1, 2 or 5 × 10ᵏ spacing, [`log_ticks`] at powers
//! of ten (with 2 and 5 in between when the axis spans less than two decades, and every k-th
//! decade when it spans many); [`format_tick`] writes short labels.

/// A data → unit-interval mapping for one axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// `(v − min) / (max − min)`.
    Linear {
        /// The value at the low end.
        min: f64,
        /// The value at the high end.
        max: f64,
    },
    /// `(log v − log min) / (log max − log min)`; both ends positive.
    Log {
        /// The value at the low end (positive).
        min: f64,
        /// The value at the high end (positive).
        max: f64,
    },
}

/// An axis label: `text`, with ` (log)` on a log scale.
pub fn axis_label(text: &str, log: bool) -> String {
    if log {
        format!("{text} (log)")
    } else {
        text.to_string()
    }
}

/// The smallest and largest finite value (`None` when there is none).
pub fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    (lo <= hi).then_some((lo, hi))
}

/// The log scale for `values` when every finite one is positive and they span more than two
/// decades (max/min > 100), the rule of every figure's y axis; `None` otherwise.
pub fn log_scale_for(values: impl IntoIterator<Item = f64>) -> Option<Scale> {
    finite_range(values)
        .filter(|&(lo, hi)| lo > 0.0 && hi / lo > 100.0)
        .map(|(lo, hi)| Scale::log_for(lo, hi))
}

/// A linear scale over the finite `values` (0 … 1 when there is none).
pub fn linear_scale_over(values: impl IntoIterator<Item = f64>) -> Scale {
    let (lo, hi) = finite_range(values).unwrap_or((0.0, 1.0));
    Scale::linear_for(lo, hi)
}

impl Scale {
    /// A linear scale covering `[lo, hi]` with 4 % padding on each side (a unit-wide or
    /// 10 %-wide range around a single value).
    pub fn linear_for(lo: f64, hi: f64) -> Scale {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else if lo == 0.0 {
            (-1.0, 1.0)
        } else {
            let d = lo.abs() * 0.1;
            (lo - d, lo + d)
        };
        let pad = (hi - lo) * 0.04;
        Scale::Linear {
            min: lo - pad,
            max: hi + pad,
        }
    }

    /// A log scale covering `[lo, hi]` (both positive) with 3 % padding in log space (half a
    /// decade either side of a single value).
    pub fn log_for(lo: f64, hi: f64) -> Scale {
        let (a, b) = (lo.log10(), hi.log10());
        let (a, b) = if b > a { (a, b) } else { (a - 0.5, a + 0.5) };
        let pad = (b - a) * 0.03;
        Scale::Log {
            min: 10f64.powf(a - pad),
            max: 10f64.powf(b + pad),
        }
    }

    /// Whether this is a log scale.
    pub fn is_log(&self) -> bool {
        matches!(self, Scale::Log { .. })
    }

    /// `v` mapped to `[0, 1]` (outside for values outside the range; NaN for `v ≤ 0` on a
    /// log scale).
    pub fn unit(&self, v: f64) -> f64 {
        match *self {
            Scale::Linear { min, max } => (v - min) / (max - min),
            Scale::Log { min, max } => {
                if v <= 0.0 {
                    f64::NAN
                } else {
                    (v.log10() - min.log10()) / (max.log10() - min.log10())
                }
            }
        }
    }

    /// The ticks inside the range, with labels.
    pub fn ticks(&self) -> Vec<(f64, String)> {
        match *self {
            Scale::Linear { min, max } => {
                let ticks = nice_linear_ticks(min, max, 5);
                let step = if ticks.len() > 1 {
                    ticks[1] - ticks[0]
                } else {
                    (max - min).abs()
                };
                ticks
                    .into_iter()
                    .map(|t| (t, format_tick(t, step)))
                    .collect()
            }
            Scale::Log { min, max } => log_ticks(min, max)
                .into_iter()
                .map(|t| (t, format_tick(t, t)))
                .collect(),
        }
    }
}

/// About `target` ticks inside `[min, max]`, spaced 1, 2 or 5 × 10ᵏ, at multiples of the
/// spacing. Empty for an empty or non-finite range.
pub fn nice_linear_ticks(min: f64, max: f64, target: usize) -> Vec<f64> {
    if !(min.is_finite() && max.is_finite()) || max <= min || target == 0 {
        return Vec::new();
    }
    let raw = (max - min) / target as f64;
    let mag = raw.log10().floor() as i32;
    let count =
        |step: f64| ((max / step + 1e-9).floor() - (min / step - 1e-9).ceil() + 1.0).max(0.0);
    // The 1, 2 or 5 × 10ᵏ spacing whose tick count is closest to the target (ties: wider).
    let mut step = 10f64.powi(mag);
    let mut best = f64::INFINITY;
    for k in mag - 1..=mag + 1 {
        for m in [1.0, 2.0, 5.0] {
            let s = m * 10f64.powi(k);
            let d = (count(s) - target as f64).abs();
            if d < best || (d == best && s > step) {
                best = d;
                step = s;
            }
        }
    }
    let first = (min / step - 1e-9).ceil() as i64;
    let last = (max / step + 1e-9).floor() as i64;
    (first..=last)
        .map(|i| {
            let t = i as f64 * step;
            // Clean up representation error (0.30000000000000004 → 0.3).
            let digits = (-step.log10().floor()).max(0.0) as i32 + 1;
            let f = 10f64.powi(digits);
            if f.is_finite() {
                (t * f).round() / f
            } else {
                t
            }
        })
        .collect()
}

/// Ticks for a log axis on `[min, max]` (both positive): the powers of ten inside, every k-th
/// when there are more than eight decades; with 2× and 5× ticks added when the axis spans at
/// most two decades.
pub fn log_ticks(min: f64, max: f64) -> Vec<f64> {
    if !(min > 0.0 && max > min && max.is_finite()) {
        return Vec::new();
    }
    let eps = 1e-9;
    let a = (min.log10() - eps).ceil() as i32;
    let b = (max.log10() + eps).floor() as i32;
    let decades = (max / min).log10();
    let every = ((b - a) / 8 + 1).max(1);
    let mut ticks = Vec::new();
    for k in a - 1..=b {
        let p = 10f64.powi(k);
        let mults: &[f64] = if decades <= 2.0 + eps {
            &[1.0, 2.0, 5.0]
        } else if (k - a).rem_euclid(every) == 0 {
            &[1.0]
        } else {
            &[]
        };
        for m in mults {
            let t = m * p;
            if t >= min * (1.0 - eps) && t <= max * (1.0 + eps) {
                ticks.push(t);
            }
        }
    }
    ticks
}

/// A short label for tick value `v` on an axis whose ticks are `step` apart: plain decimals
/// with just enough digits for `step` when `1e-3 ≤ |step|` and `|v| < 1e5`, else scientific
/// notation (`2e-5`, `1.5e6`).
pub fn format_tick(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let step = step.abs();
    if step >= 1e-3 && v.abs() < 1e5 && step < 1e5 {
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        // Keep a digit more when the rounded label would lose the value; no trailing zeros.
        let mut s = format!("{v:.decimals$}");
        if (s.parse::<f64>().unwrap_or(v) - v).abs() > step * 1e-6 {
            s = format!("{v:.*}", decimals + 1);
        }
        if s.contains('.') {
            s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        }
        s
    } else {
        let e = v.abs().log10().floor() as i32;
        let m = v / 10f64.powi(e);
        let m = (m * 100.0).round() / 100.0;
        if (m - m.round()).abs() < 1e-9 {
            format!("{}e{e}", m.round() as i64)
        } else {
            format!("{m}e{e}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_nice() {
        assert_eq!(
            nice_linear_ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        );
        assert_eq!(
            nice_linear_ticks(-0.03, 0.97, 5),
            vec![0.0, 0.2, 0.4, 0.6, 0.8]
        );
        assert_eq!(nice_linear_ticks(0.0, 1000.0, 4), vec![0.0, 500.0, 1000.0]);
        assert_eq!(
            nice_linear_ticks(0.1, 0.35, 5),
            vec![0.1, 0.15, 0.2, 0.25, 0.3, 0.35]
        );
        assert!(nice_linear_ticks(1.0, 1.0, 5).is_empty());
        assert!(nice_linear_ticks(f64::NAN, 1.0, 5).is_empty());
    }

    #[test]
    fn log_ticks_decades_and_subdivisions() {
        assert_eq!(log_ticks(1.0, 1e4), vec![1.0, 10.0, 100.0, 1e3, 1e4]);
        assert_eq!(
            log_ticks(1.0, 100.0),
            vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
        );
        let many = log_ticks(1e-10, 1e10);
        assert!(many.len() <= 11, "{many:?}");
        assert_eq!(many[0], 1e-10);
        assert!(log_ticks(0.0, 1.0).is_empty());
    }

    #[test]
    fn labels() {
        assert_eq!(format_tick(0.0, 0.2), "0");
        assert_eq!(format_tick(0.4, 0.2), "0.4");
        assert_eq!(format_tick(0.15, 0.05), "0.15");
        assert_eq!(format_tick(1000.0, 500.0), "1000");
        assert_eq!(format_tick(1e-5, 1e-5), "1e-5");
        assert_eq!(format_tick(1e6, 1e6), "1e6");
        assert_eq!(format_tick(1.5e6, 5e5), "1.5e6");
        assert_eq!(format_tick(0.001, 0.001), "0.001");
        assert_eq!(format_tick(-2.5, 0.5), "-2.5");
    }

    #[test]
    fn scales_map_to_unit() {
        let s = Scale::Linear {
            min: 0.0,
            max: 10.0,
        };
        assert_eq!(s.unit(5.0), 0.5);
        let l = Scale::Log {
            min: 1.0,
            max: 1000.0,
        };
        assert!((l.unit(10.0) - 1.0 / 3.0).abs() < 1e-12);
        assert!(l.unit(0.0).is_nan());
        let fit = Scale::log_for(1.0, 1000.0);
        assert!((fit.unit(1.0) - 0.03 / 1.06).abs() < 1e-12);
        assert!((fit.unit(1000.0) - 1.03 / 1.06).abs() < 1e-12);
        assert!(l.is_log() && !s.is_log());
        let one = Scale::log_for(10.0, 10.0);
        assert!((one.unit(10.0) - 0.5).abs() < 1e-12);
        let flat = Scale::linear_for(2.0, 2.0);
        assert!(flat.unit(2.0) > 0.0 && flat.unit(2.0) < 1.0);
    }
}
