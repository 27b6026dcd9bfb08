//! The exponential integral Ei, which the two-layer cross-entropy flow's closed form needs.

/// Euler's constant γ.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// The exponential integral `Ei(x) = −PV∫_{−x}^{∞} e^{−s}/s ds` for `x > 0` (`−∞` at 0, NaN for
/// negative or NaN `x`, `+∞` once the value overflows, near `x ≈ 716`).
///
/// For `x ≤ 40` the convergent series `γ + ln x + Σ_{k≥1} x^k / (k · k!)` (all terms positive,
/// so the sum is accurate to a few ulps); for `x > 40` the asymptotic series
/// `e^x/x · Σ_k k!/x^k`, truncated at its smallest term (below `7e-17` relative for `x > 40`).
/// The relative error is about `1e-15` except near the zero of Ei at `x ≈ 0.3725`, where only
/// the absolute error (a few `1e-16`) is guaranteed.
pub fn ei(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x == f64::INFINITY {
        return f64::INFINITY;
    }
    if x <= 40.0 {
        let mut term = 1.0; // x^k / k!
        let mut sum = 0.0;
        for k in 1..500 {
            let kf = k as f64;
            term *= x / kf;
            let add = term / kf;
            sum += add;
            if add <= 1e-17 * sum {
                break;
            }
        }
        EULER_GAMMA + x.ln() + sum
    } else {
        let mut term = 1.0; // k! / x^k
        let mut sum = 1.0;
        for k in 1..200 {
            let next = term * k as f64 / x;
            if next >= term || next < 1e-17 {
                break;
            }
            term = next;
            sum += term;
        }
        // e^x / x without overflowing before the product does.
        (x - x.ln()).exp() * sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn ei_known_values() {
        assert!(rel(ei(1.0), 1.895_117_816_355_936_8) < 1e-14, "{}", ei(1.0));
        assert!(
            rel(ei(0.1), -1.622_812_813_969_276_6) < 1e-14,
            "{}",
            ei(0.1)
        );
        assert!(
            rel(ei(10.0), 2_492.228_976_241_877_7) < 1e-14,
            "{}",
            ei(10.0)
        );
        // Continuity across the series / asymptotic switch, and Ei'(x) = e^x / x.
        let d = 1e-9;
        let jump = (ei(40.0 + d) - ei(40.0)) / (d * 40f64.exp() / 40.0);
        assert!((jump - 1.0).abs() < 1e-5, "{jump}");
        for &x in &[0.5, 3.0, 39.0, 41.0, 100.0, 600.0] {
            let h = 1e-6 * x;
            let num = (ei(x + h) - ei(x - h)) / (2.0 * h);
            assert!(rel(num, x.exp() / x) < 1e-6, "{x}");
        }
        assert_eq!(ei(0.0), f64::NEG_INFINITY);
        assert!(ei(-1.0).is_nan());
        assert_eq!(ei(800.0), f64::INFINITY);
    }
}
