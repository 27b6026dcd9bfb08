//! The output bias of a linear network with centred inputs (`x̄ = 0`) and no hidden bias
//! (Rubruck, Bauer, Saxe & Summerfield 2024; SCIENCE.md §P1.4 b), in flow time t (τ = 1).
//!
//! Its gradient `ȳ − W x̄ − b = ȳ − b` does not involve the weights, so
//! `b(t) = ȳ + (b(0) − ȳ) e^{−t}`: the optimal constant solution is reached exponentially with
//! time constant τ, independent of the weight initialisation and with no plateau.

use crate::error::TheoryError;

/// One component: `ȳ + (b₀ − ȳ) e^{−t}`.
pub fn output_bias_scalar(y_mean: f64, b0: f64, t: f64) -> f64 {
    y_mean + (b0 - y_mean) * (-t).exp()
}

/// The output bias vector `b(t) = ȳ + (b(0) − ȳ) e^{−t}`.
pub fn output_bias(y_mean: &[f64], b0: &[f64], t: f64) -> Result<Vec<f64>, TheoryError> {
    TheoryError::check_len(
        "bias::output_bias",
        "b0",
        b0.len(),
        y_mean.len(),
        "len(y_mean)",
    )?;
    Ok(y_mean
        .iter()
        .zip(b0)
        .map(|(&y, &b)| output_bias_scalar(y, b, t))
        .collect())
}

/// The squared distance `||b(t) − ȳ||² = ||b(0) − ȳ||² e^{−2t}` of the bias from the OCS.
pub fn bias_distance_sq(y_mean: &[f64], b0: &[f64], t: f64) -> f64 {
    let d0: f64 = y_mean.iter().zip(b0).map(|(y, b)| (b - y) * (b - y)).sum();
    d0 * (-2.0 * t).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_approach_to_the_mean() {
        let b = output_bias(&[0.5, 1.0], &[0.0, 0.0], 1.0).unwrap();
        let e = (-1.0f64).exp();
        assert!((b[0] - 0.5 * (1.0 - e)).abs() < 1e-15);
        assert!((b[1] - (1.0 - e)).abs() < 1e-15);
        assert!((bias_distance_sq(&[0.5, 1.0], &[0.0, 0.0], 1.0) - 1.25 * e * e).abs() < 1e-15);
        assert!(output_bias(&[1.0], &[0.0, 0.0], 1.0).is_err());
    }
}
