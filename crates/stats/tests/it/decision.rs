use learnscope_core::RandomKey;
use learnscope_stats::{
    normal_pdf, normal_quantile, partition_accuracy, threshold_scores, Correction, DecisionCounts,
    StatsError,
};

/// An equal-variance Gaussian observer (noise ~ N(0,1), signal ~ N(d′,1), "yes" above
/// `λ = d′/2 + c`) with d′ = 1.5, c = 0.3 over 20 000 trials of each class: the estimates
/// recover d′ and c within 4 standard errors, with
/// `Var(d̂′) ≈ H(1−H)/(N φ(z_H)²) + F(1−F)/(N φ(z_F)²)` (Gourevitch & Galanter 1967) and
/// `Var(ĉ) = Var(d̂′)/4`.
#[test]
fn simulated_observer_recovers_sensitivity_and_bias() {
    let (d, c, n) = (1.5, 0.3, 20_000usize);
    let lambda = d / 2.0 + c;
    let key = RandomKey::root(31);
    let signal = key.derive("signal").normals(n);
    let noise = key.derive("noise").normals(n);
    let counts = DecisionCounts::from_pairs(
        signal
            .iter()
            .map(|z| (true, d + z > lambda))
            .chain(noise.iter().map(|z| (false, *z > lambda))),
    );
    let h = counts.hit_rate().unwrap();
    let f = counts.false_alarm_rate().unwrap();
    let var = |p: f64| p * (1.0 - p) / (n as f64 * normal_pdf(normal_quantile(p)).powi(2));
    let se_d = (var(h) + var(f)).sqrt();
    for correction in [Correction::None, Correction::LogLinear] {
        let d_hat = counts.d_prime(correction).unwrap();
        let c_hat = counts.criterion(correction).unwrap();
        assert!(
            (d_hat - d).abs() < 4.0 * se_d,
            "{correction:?}: d′ {d_hat} ± {se_d}"
        );
        assert!(
            (c_hat - c).abs() < 4.0 * se_d / 2.0,
            "{correction:?}: c {c_hat}"
        );
    }
    assert_eq!(counts.true_negative_rate().unwrap(), 1.0 - f);
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A 4-example, 2-unit response table scored by hand at θ = 0.5, β = 10.
#[test]
fn threshold_scores_of_a_hand_computed_table() {
    let r = [0.9, 0.2, 0.5, 0.7, 0.1, 0.6, 0.7, 0.4];
    let y = [true, false, false, true, false, false, false, true];
    let s = threshold_scores(&r, &y, 2, 0.5, 10.0).unwrap();
    // Unit 0: one positive (0.9, a hit); negatives 0.5 (a tie: "no"), 0.1 ("no"), 0.7 ("yes").
    assert_eq!(s[0].tnr(), Some(2.0 / 3.0));
    assert_eq!(s[0].tpr(), Some(1.0));
    assert_eq!(s[0].base_rate(), Some(0.25));
    assert!((s[0].false_alarm_strength.unwrap() - 1.3 / 3.0).abs() < 1e-15);
    let g0 = (0.5 + sigmoid(4.0) + sigmoid(-2.0)) / 3.0;
    assert!((s[0].tnr_graded.unwrap() - g0).abs() < 1e-15);
    assert_eq!(s[0].at_threshold, 0.25);
    // Unit 1: positives 0.7 (hit), 0.4 (miss); negatives 0.2 ("no"), 0.6 ("yes").
    assert_eq!(s[1].tnr(), Some(0.5));
    assert_eq!(s[1].tpr(), Some(0.5));
    assert!((s[1].false_alarm_strength.unwrap() - 0.4).abs() < 1e-15);
    let g1 = (sigmoid(3.0) + sigmoid(-1.0)) / 2.0;
    assert!((s[1].tnr_graded.unwrap() - g1).abs() < 1e-15);
    assert_eq!(s[1].at_threshold, 0.0);
    // ±1 coding: θ = 0.
    let s = threshold_scores(&[-1.0, 0.0, 0.3], &[false, false, true], 1, 0.0, 10.0).unwrap();
    assert_eq!((s[0].tnr(), s[0].tpr()), (Some(1.0), Some(1.0)));
    assert_eq!(s[0].false_alarm_strength, Some(-0.5));
    assert!((s[0].at_threshold - 1.0 / 3.0).abs() < 1e-15);
    // A unit without negatives has no TNR.
    let s = threshold_scores(&[0.1, 0.9], &[true, true], 1, 0.5, 10.0).unwrap();
    assert_eq!((s[0].tnr(), s[0].false_alarm_strength), (None, None));
    assert_eq!(s[0].tpr(), Some(0.5));
    // Bad input is named.
    assert!(matches!(
        threshold_scores(&[f64::NAN], &[true], 1, 0.5, 10.0),
        Err(StatsError::NonFinite { index: 0, .. })
    ));
    assert!(matches!(
        threshold_scores(&[0.1, 0.2], &[true], 1, 0.5, 10.0),
        Err(StatsError::LengthMismatch { .. })
    ));
    assert!(threshold_scores(&[0.1], &[true], 1, 0.5, 0.0).is_err());
}

#[test]
fn partition_accuracy_needs_one_positive_per_example() {
    let r = [0.9, 0.2, 0.5, 0.7, 0.7, 0.4];
    let one_hot = [true, false, false, true, false, true];
    // Arg-max: unit 0 (right), unit 1 (right), unit 0 (wrong).
    assert_eq!(
        partition_accuracy(&r, &one_hot, 2, &[0, 1]).unwrap(),
        Some(2.0 / 3.0)
    );
    // Unit 0 alone does not cover examples 1 and 2.
    assert_eq!(partition_accuracy(&r, &one_hot, 2, &[0]).unwrap(), None);
    let two = [true, true, false, true, false, true];
    assert_eq!(partition_accuracy(&r, &two, 2, &[0, 1]).unwrap(), None);
    assert!(partition_accuracy(&r, &one_hot, 2, &[2]).is_err());
}
