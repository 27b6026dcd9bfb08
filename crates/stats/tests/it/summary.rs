use learnscope_core::RandomKey;
use learnscope_stats::{t_interval, SeedSummary};

#[test]
fn seed_summary_serialises_to_the_verdict_shape() {
    let s = SeedSummary::from_seeds(&[1.0, 2.0, 3.0, 4.0]).unwrap();
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["mean"], 2.5);
    assert_eq!(json["n"], 4);
    assert_eq!(json["per_seed"], serde_json::json!([1.0, 2.0, 3.0, 4.0]));
    let ci = json["ci95"].as_array().unwrap();
    assert_eq!(ci.len(), 2);
    assert!(ci[0].as_f64().unwrap() < 2.5 && ci[1].as_f64().unwrap() > 2.5);
    let back: SeedSummary = serde_json::from_value(json).unwrap();
    assert_eq!(back, s);
    let one = serde_json::to_value(SeedSummary::from_seeds(&[0.5]).unwrap()).unwrap();
    assert!(one["sd"].is_null() && one["ci95"].is_null());
    let back: SeedSummary = serde_json::from_value(one).unwrap();
    assert_eq!(back.sd, None);
}

#[test]
fn seed_summary_bootstrap_interval_is_deterministic() {
    let s = SeedSummary::from_seeds(&[0.9, 1.1, 1.0, 1.3, 0.8]).unwrap();
    let k = RandomKey::root(5).derive("verdict");
    let a = s.bootstrap_ci95(k, 2000).unwrap();
    assert_eq!(a, s.bootstrap_ci95(k, 2000).unwrap());
    let (lo, hi) = s.ci95.unwrap();
    // The bootstrap ignores the uncertainty of sd, so with 5 seeds it is narrower than t.
    assert!(a.0 > lo && a.1 < hi && a.0 < s.mean && a.1 > s.mean);
    assert_eq!(s.ci(0.95), s.ci95);
    assert!(SeedSummary::from_seeds(&[1.0])
        .unwrap()
        .bootstrap_ci95(k, 100)
        .is_err());
}

/// The t interval is exact for normal data: with n = 3 (2 degrees of freedom) its coverage
/// over 4000 simulated samples is 0.95 within 4 binomial standard errors (√(.95·.05/4000)
/// = 0.0034), where a normal-quantile interval would cover only about 0.80.
#[test]
fn t_interval_has_nominal_coverage_for_tiny_samples() {
    let key = RandomKey::root(11).derive("t coverage");
    let reps = 4000;
    let covered = (0..reps)
        .filter(|&r| {
            let xs: Vec<f64> = key
                .at(r)
                .normals(3)
                .iter()
                .map(|z| 10.0 + 2.0 * z)
                .collect();
            let (lo, hi) = t_interval(&xs, 0.95).unwrap();
            lo <= 10.0 && 10.0 <= hi
        })
        .count();
    let rate = covered as f64 / reps as f64;
    assert!((rate - 0.95).abs() < 4.0 * 0.0034, "coverage {rate}");
}
