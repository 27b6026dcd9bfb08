use learnscope_core::RandomKey;
use learnscope_stats::{moving_median, smooth_log_time};

/// A noisy sigmoid in log-time sampled densely at late steps (as a linear schedule would):
/// the log-time smoother reduces the error against the clean curve, and it weights decades
/// equally, so early (sparse) points are not swamped by the late (dense) ones.
#[test]
fn log_time_smoothing_denoises_without_swamping_early_steps() {
    let steps: Vec<f64> = (1..=5000).map(f64::from).collect();
    let clean: Vec<f64> = steps
        .iter()
        .map(|s| 1.0 / (1.0 + (-3.0 * (s.log10() - 2.0)).exp()))
        .collect();
    let noise = RandomKey::root(41).normals(steps.len());
    let noisy: Vec<f64> = clean
        .iter()
        .zip(&noise)
        .map(|(c, z)| c + 0.05 * z)
        .collect();
    let smooth = smooth_log_time(&steps, &noisy, 0.05).unwrap();
    let rms = |a: &[f64]| {
        (a.iter()
            .zip(&clean)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            / a.len() as f64)
            .sqrt()
    };
    assert!(
        rms(&smooth) < 0.5 * rms(&noisy),
        "{} vs {}",
        rms(&smooth),
        rms(&noisy)
    );
    // Step 10 (clean value 0.047) is estimated from its own decade, not from the thousands of
    // points near step 1000.
    assert!(
        (smooth[9] - clean[9]).abs() < 0.06,
        "{} vs {}",
        smooth[9],
        clean[9]
    );
}

#[test]
fn moving_median_removes_isolated_spikes() {
    let mut v: Vec<f64> = (0..50).map(|i| f64::from(i) * 0.1).collect();
    v[20] = 1e6;
    v[35] = f64::NAN;
    let m = moving_median(&v, 5).unwrap();
    assert!((m[20] - 2.0).abs() < 0.11);
    assert!(m[35].is_finite());
}
