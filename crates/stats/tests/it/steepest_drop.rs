use learnscope_core::RandomKey;
use learnscope_stats::{steepest_drop, steepest_drop_with, SteepestDropOptions};

fn grid() -> Vec<f64> {
    (0..201).map(|i| f64::from(i) / 20.0).collect()
}

/// `fraction_before` of 200 noisy copies (Gaussian noise of `sd`, 0.2 % of the total drop or
/// more), sorted.
fn fractions(clean: &[f64], sd: f64, seed: u64, options: &SteepestDropOptions) -> Vec<f64> {
    let t = grid();
    let mut out: Vec<f64> = (0..200)
        .map(|rep| {
            let z = RandomKey::root(seed)
                .derive("rep")
                .at(rep)
                .normals(clean.len());
            let noisy: Vec<f64> = clean.iter().zip(&z).map(|(c, e)| c + sd * e).collect();
            steepest_drop_with(&t, &noisy, options)
                .unwrap()
                .fraction_before
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

/// An exponential decay falls fastest at its start: with noise of 0.2 % of its drop the
/// steepest point stays within the first sample spacing or two (fraction < 0.05 in at least
/// 95 % of copies, never above 0.08); with 1 % noise the 90th percentile stays under P3's
/// 10 %.
#[test]
fn noisy_exponential_decay_has_almost_nothing_done_before_its_steepest_drop() {
    let clean: Vec<f64> = grid().iter().map(|t| (-t).exp()).collect();
    let d = steepest_drop(&grid(), &clean).unwrap();
    assert_eq!(d.fraction_before, 0.0);
    let f = fractions(&clean, 0.002, 7, &SteepestDropOptions::default());
    assert!(f[189] < 0.05 && f[199] < 0.08, "{f:?}");
    let f = fractions(&clean, 0.01, 8, &SteepestDropOptions::default());
    assert!(f[179] < 0.1, "{f:?}");
}

/// A logistic curve falls fastest at its inflection, half-way down. Its rate has a flat top, so
/// the argmax wanders with the noise: with 0.2 % noise the median error is under 0.05 and all
/// errors under 0.12 at the default half-width; a wider window (10 % of the span) tightens it.
#[test]
fn noisy_logistic_has_half_its_drop_done_before_its_steepest_drop() {
    let clean: Vec<f64> = grid()
        .iter()
        .map(|t| 1.0 / (1.0 + (t - 5.0).exp()))
        .collect();
    let err = |f: Vec<f64>| {
        let mut e: Vec<f64> = f.iter().map(|x| (x - 0.5).abs()).collect();
        e.sort_by(f64::total_cmp);
        e
    };
    let e = err(fractions(&clean, 0.002, 9, &SteepestDropOptions::default()));
    assert!(e[99] < 0.05 && e[199] < 0.12, "{e:?}");
    let wide = SteepestDropOptions {
        bandwidth_fraction: 0.1,
        bandwidth: None,
    };
    let e = err(fractions(&clean, 0.002, 10, &wide));
    assert!(e[179] < 0.05 && e[199] < 0.08, "{e:?}");
}
