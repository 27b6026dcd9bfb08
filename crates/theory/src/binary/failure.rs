//! The failed-training probability of SCIENCE.md §P3.3: dead ReLU units at initialisation.

/// Probability that a feature cluster has no unit active on it at initialisation, when each of
/// `units` hidden units is active on the cluster independently with probability `q`:
/// `(1 − q)^H`. NaN unless `0 ≤ q ≤ 1`.
pub fn cluster_dead_probability(q: f64, units: usize) -> f64 {
    if !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    if units == 0 {
        return 1.0;
    }
    if q == 1.0 {
        return 0.0;
    }
    (units as f64 * (-q).ln_1p()).exp()
}

/// Probability of failed training (SCIENCE.md §P3.3): some feature cluster has no active unit at
/// initialisation, so no gradient ever reaches it (dead ReLUs) and its examples are never
/// learned: `1 − Π_f [1 − (1 − q_f)^H]`.
///
/// Assumptions: units are initialised independently, each unit's activity on cluster `f` is a
/// Bernoulli(`q_f`) event, clusters are independent (e.g. disjoint input directions with
/// independent signs of `w_kᵀx`), and a cluster with at least one active unit is learned.
/// NaN if any `q_f` is outside `[0, 1]`; 0 for no clusters.
pub fn failure_probability(activation_prob_per_cluster: &[f64], units: usize) -> f64 {
    let mut log_ok = 0.0;
    for &q in activation_prob_per_cluster {
        let dead = cluster_dead_probability(q, units);
        if dead.is_nan() {
            return f64::NAN;
        }
        log_ok += (-dead).ln_1p();
    }
    -log_ok.exp_m1()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn failed_training() {
        assert!((cluster_dead_probability(0.5, 3) - 0.125).abs() < 1e-15);
        assert_eq!(cluster_dead_probability(0.3, 0), 1.0);
        assert_eq!(cluster_dead_probability(1.0, 2), 0.0);
        assert!(cluster_dead_probability(1.5, 2).is_nan());
        assert!((failure_probability(&[0.5, 0.5], 1) - 0.75).abs() < 1e-15);
        assert!(
            (failure_probability(&[0.5, 0.25], 2) - (1.0 - 0.75 * (1.0 - 0.5625))).abs() < 1e-15
        );
        assert_eq!(failure_probability(&[], 4), 0.0);
        // Tiny probabilities keep their digits: ≈ 10 · 2^-60.
        let f = failure_probability(&[0.5; 10], 60);
        assert!(rel(f, 10.0 * 0.5f64.powi(60)) < 1e-10);
        assert!(failure_probability(&[0.5, -0.1], 3).is_nan());
    }
}
