use learnscope_core::RandomKey;
use learnscope_stats::{normal_pdf, normal_quantile, Correction, DecisionCounts};

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
