use learnscope_core::RandomKey;
use learnscope_stats::{
    bootstrap_ci, bootstrap_paired_ci, bootstrap_two_sample_ci, mean, pearson, BootstrapMethod,
    BootstrapOptions,
};

fn options(resamples: usize, method: BootstrapMethod) -> BootstrapOptions {
    BootstrapOptions {
        resamples,
        level: 0.95,
        method,
    }
}

/// Percentile interval of the mean of n = 100 normal values: it covers the true mean, and its
/// width is `2 · 1.96 · σ̂/√n` (σ̂ the plug-in sd, what the bootstrap resamples) up to the
/// Monte-Carlo error of two 2.5 % quantiles from B = 4000 replicates: each has standard error
/// `√(p(1−p)/B)/φ(z_p) · σ̂/√n ≈ 0.042 σ̂/√n`, so the width is within `4 · √2 · 0.042 ≈ 0.24`
/// of `σ̂/√n` (plus a small skewness term of the sample).
#[test]
fn bootstrap_mean_interval_matches_the_normal_theory_width() {
    let n = 100;
    let data: Vec<f64> = RandomKey::root(3)
        .derive("data")
        .normals(n)
        .iter()
        .map(|z| 5.0 + 2.0 * z)
        .collect();
    let ci = bootstrap_ci(
        &data,
        mean,
        RandomKey::root(3).derive("boot"),
        &options(4000, BootstrapMethod::Percentile),
    )
    .unwrap();
    assert!(ci.lo < 5.0 && 5.0 < ci.hi, "{ci:?}");
    let m = mean(&data);
    let plug_in_sd = (data.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64).sqrt();
    let scale = plug_in_sd / (n as f64).sqrt();
    let width = ci.hi - ci.lo;
    assert!(
        (width - 2.0 * 1.959_964 * scale).abs() < 0.24 * scale,
        "width {width}, scale {scale}"
    );
    // The bootstrap standard error estimates σ̂/√n; its relative MC error is √(1/(2B)) ≈ 1.1 %.
    assert!((ci.se / scale - 1.0).abs() < 0.05, "{} vs {scale}", ci.se);
    assert_eq!(ci.non_finite, 0);
    assert_eq!(ci.estimate, m);
}

#[test]
fn same_key_same_interval_other_key_other_interval() {
    let data: Vec<f64> = RandomKey::root(4).normals(40);
    let k = RandomKey::root(4).derive("boot");
    for method in [BootstrapMethod::Percentile, BootstrapMethod::Bca] {
        let a = bootstrap_ci(&data, mean, k, &options(1000, method)).unwrap();
        let b = bootstrap_ci(&data, mean, k, &options(1000, method)).unwrap();
        assert_eq!(a, b);
        let c = bootstrap_ci(&data, mean, k.derive("other"), &options(1000, method)).unwrap();
        assert_ne!((a.lo, a.hi), (c.lo, c.hi));
    }
}

/// For a mean, BCa and percentile agree to first order; on right-skewed data (exponential)
/// BCa moves both ends to the right (Efron & Tibshirani 1993, ch. 14). Coverage of both over
/// 300 simulated normal data sets is 0.95 within 4 binomial standard errors
/// (√(.95·.05/300) = 0.0126) plus the known undercoverage of bootstrap intervals at n = 30
/// (about 1–2 points).
#[test]
fn bca_shifts_towards_the_long_tail_and_both_methods_cover() {
    let key = RandomKey::root(6);
    let skewed: Vec<f64> = (0..60)
        .map(|i| -key.derive("exp").uniform_open0_at(i).ln())
        .collect();
    let k = key.derive("boot");
    let p = bootstrap_ci(
        &skewed,
        mean,
        k,
        &options(4000, BootstrapMethod::Percentile),
    )
    .unwrap();
    let b = bootstrap_ci(&skewed, mean, k, &options(4000, BootstrapMethod::Bca)).unwrap();
    assert!(b.lo > p.lo && b.hi > p.hi, "percentile {p:?} bca {b:?}");

    for method in [BootstrapMethod::Percentile, BootstrapMethod::Bca] {
        let reps = 300;
        let covered = (0..reps)
            .filter(|&r| {
                let xs = key.derive("cover").at(r).normals(30);
                let ci =
                    bootstrap_ci(&xs, mean, key.derive("cb").at(r), &options(500, method)).unwrap();
                ci.lo <= 0.0 && 0.0 <= ci.hi
            })
            .count();
        let rate = covered as f64 / reps as f64;
        assert!(
            rate > 0.95 - 0.02 - 4.0 * 0.0126 && rate <= 1.0,
            "{method:?}: {rate}"
        );
    }
}

/// Paired resampling of a correlation (ρ = 0.6, n = 200) covers ρ and has about the width of
/// the Fisher-z interval (both estimate the same sampling spread; within 25 %).
#[test]
fn paired_bootstrap_of_a_correlation() {
    let key = RandomKey::root(8);
    let n = 200;
    let z1 = key.derive("z1").normals(n);
    let z2 = key.derive("z2").normals(n);
    let rho: f64 = 0.6;
    let x = z1.clone();
    let y: Vec<f64> = z1
        .iter()
        .zip(&z2)
        .map(|(a, b)| rho * a + (1.0 - rho * rho).sqrt() * b)
        .collect();
    let r = |a: &[f64], b: &[f64]| pearson(a, b).map(|c| c.estimate).unwrap_or(f64::NAN);
    let ci = bootstrap_paired_ci(
        &x,
        &y,
        r,
        key.derive("boot"),
        &options(2000, BootstrapMethod::Bca),
    )
    .unwrap();
    assert!(ci.lo < rho && rho < ci.hi, "{ci:?}");
    let (flo, fhi) = pearson(&x, &y).unwrap().ci95.unwrap();
    let ratio = (ci.hi - ci.lo) / (fhi - flo);
    assert!(
        (ratio - 1.0).abs() < 0.25,
        "bootstrap/fisher width ratio {ratio}"
    );
    // Unpaired resampling destroys the association: the interval then straddles zero.
    let broken = bootstrap_two_sample_ci(
        &x,
        &y,
        r,
        key.derive("boot"),
        &options(500, BootstrapMethod::Percentile),
    )
    .unwrap();
    assert!(broken.lo < 0.0 && broken.hi > 0.0, "{broken:?}");
}

#[test]
fn two_sample_difference_of_means() {
    let key = RandomKey::root(9);
    let x: Vec<f64> = key
        .derive("x")
        .normals(80)
        .iter()
        .map(|z| 1.0 + z)
        .collect();
    let y: Vec<f64> = key
        .derive("y")
        .normals(120)
        .iter()
        .map(|z| 0.2 + 0.5 * z)
        .collect();
    let diff = |a: &[f64], b: &[f64]| mean(a) - mean(b);
    let ci = bootstrap_two_sample_ci(
        &x,
        &y,
        diff,
        key.derive("boot"),
        &options(3000, BootstrapMethod::Percentile),
    )
    .unwrap();
    assert!(ci.lo < 0.8 && 0.8 < ci.hi, "{ci:?}");
    // Normal theory: se = √(1/80 + 0.25/120) = 0.1208; 95 % width ≈ 0.47 (±25 %).
    let width = ci.hi - ci.lo;
    assert!(
        (width / (2.0 * 1.96 * 0.1208) - 1.0).abs() < 0.25,
        "width {width}"
    );
}
