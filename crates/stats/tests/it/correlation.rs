use learnscope_core::RandomKey;
use learnscope_stats::{kendall_tau_b, pearson, spearman};

/// Fisher-z intervals of Pearson's r on bivariate normal data (ρ = 0.5, n = 25) cover ρ at
/// 0.95 within 4 binomial standard errors over 1000 data sets (√(.95·.05/1000) = 0.0069);
/// Spearman's ρ_s with the Bonett–Wright variance covers the population Spearman correlation
/// `(6/π) asin(ρ/2) = 0.4826` at least at 0.93 (it is slightly conservative for normal data).
#[test]
fn fisher_intervals_have_nominal_coverage() {
    let key = RandomKey::root(21);
    let rho: f64 = 0.5;
    let rho_s = 6.0 / std::f64::consts::PI * (rho / 2.0).asin();
    let reps = 1000;
    let (mut cover_p, mut cover_s) = (0, 0);
    for r in 0..reps {
        let z1 = key.derive("a").at(r).normals(25);
        let z2 = key.derive("b").at(r).normals(25);
        let y: Vec<f64> = z1
            .iter()
            .zip(&z2)
            .map(|(a, b)| rho * a + (1.0 - rho * rho).sqrt() * b)
            .collect();
        let (lo, hi) = pearson(&z1, &y).unwrap().ci95.unwrap();
        cover_p += usize::from(lo <= rho && rho <= hi);
        let (lo, hi) = spearman(&z1, &y).unwrap().ci95.unwrap();
        cover_s += usize::from(lo <= rho_s && rho_s <= hi);
    }
    let (rp, rs) = (cover_p as f64 / reps as f64, cover_s as f64 / reps as f64);
    assert!((rp - 0.95).abs() < 4.0 * 0.0069, "pearson coverage {rp}");
    assert!(rs > 0.95 - 4.0 * 0.0069, "spearman coverage {rs}");
}

/// Under independence the p-values are uniform: about 5 % fall below 0.05 (4 binomial
/// standard errors over 1000 data sets).
#[test]
fn p_values_are_calibrated_under_the_null() {
    let key = RandomKey::root(22);
    let reps = 1000;
    let mut rejections = [0usize; 3];
    for r in 0..reps {
        let x = key.derive("x").at(r).normals(30);
        let y = key.derive("y").at(r).normals(30);
        let ps = [
            pearson(&x, &y).unwrap().p_value,
            spearman(&x, &y).unwrap().p_value,
            kendall_tau_b(&x, &y).unwrap().p_value,
        ];
        for (count, p) in rejections.iter_mut().zip(ps) {
            *count += usize::from(p < 0.05);
        }
    }
    for (name, count) in ["pearson", "spearman", "kendall"].iter().zip(rejections) {
        let rate = count as f64 / reps as f64;
        assert!((rate - 0.05).abs() < 4.0 * 0.0069, "{name}: {rate}");
    }
}

#[test]
fn rank_correlations_ignore_monotone_transforms_pearson_does_not() {
    let x: Vec<f64> = (1..=20).map(f64::from).collect();
    let y: Vec<f64> = x.iter().map(|v| v.powi(5)).collect();
    assert_eq!(spearman(&x, &y).unwrap().estimate, 1.0);
    assert_eq!(kendall_tau_b(&x, &y).unwrap().estimate, 1.0);
    assert!(pearson(&x, &y).unwrap().estimate < 0.9);
}
