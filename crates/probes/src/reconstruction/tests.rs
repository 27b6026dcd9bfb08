//! Unit tests of the ridge solvers, the cross-validation, the trained decoder and the
//! bookkeeping of the reconstruction probe.
//!
//! Tolerances: the random problems have `λ = 0.1 ·` the mean Gram eigenvalue, so the systems
//! solved have condition numbers ≲ 10⁴ (largest eigenvalue / λ); LU and Cholesky in f64 then
//! agree to ≲ 10⁴ · 1e-16 · (a few) ≈ 1e-11 relative, hence the bound 1e-10.

use super::ridge::{
    column_means, cross_validate, dual_normal_equations, fit, fit_relative, normal_equations,
    random_problem, relative_difference, ridge_identity_residual, Form,
};
use super::trained::{train, TrainSettings};
use super::*;

#[test]
fn primal_dual_and_normal_equations_agree() {
    for (seed, n, p, q) in [
        (1, 60, 20, 7),
        (2, 20, 60, 7),
        (3, 40, 40, 3),
        (4, 5, 200, 2),
    ] {
        let (a, x) = random_problem(seed, n, p, q);
        // λ relative to the mean Gram eigenvalue (module tolerance note).
        for rel in [1e-2, 1.0, 50.0] {
            let lambda = fit_relative(&a, &x, (n, p, q), rel).unwrap().1;
            let ne = normal_equations(&a, &x, (n, p, q), lambda)
                .unwrap()
                .stacked();
            let dne = dual_normal_equations(&a, &x, (n, p, q), lambda)
                .unwrap()
                .stacked();
            let primal = fit(&a, &x, (n, p, q), lambda, Some(Form::Primal))
                .unwrap()
                .stacked();
            let dual = fit(&a, &x, (n, p, q), lambda, Some(Form::Dual))
                .unwrap()
                .stacked();
            let auto = fit(&a, &x, (n, p, q), lambda, None).unwrap().stacked();
            for (what, v) in [("primal", &primal), ("dual", &dual), ("dual_ne", &dne)] {
                let r = relative_difference(v, &ne);
                assert!(r < 1e-10, "{what} n={n} p={p} λ={lambda}: {r:e}");
            }
            let want = if p <= n { &primal } else { &dual };
            assert_eq!(&auto, want, "auto form n={n} p={p}");
        }
    }
    for seed in 0..5 {
        let r = ridge_identity_residual(seed).unwrap();
        assert!(r < 1e-10, "seed {seed}: {r:e}");
    }
}

#[test]
fn the_identity_check_detects_a_wrong_solution() {
    // A decoder with the bias penalised (plain ridge on the uncentred features with a ones
    // column) differs from the unpenalised-bias reference: the comparison can fail.
    let (n, p, q) = (60, 20, 7);
    let (a, x) = random_problem(9, n, p, q);
    let lambda = 5.0;
    let ne = normal_equations(&a, &x, (n, p, q), lambda)
        .unwrap()
        .stacked();
    let mut aug = Vec::new();
    for row in a.chunks(p) {
        aug.extend_from_slice(row);
        aug.push(1.0);
    }
    // Penalised bias: ridge without centring on p + 1 features, then drop the constant column.
    let g = faer::Mat::<f64>::from_fn(p + 1, p + 1, |i, j| {
        (0..n)
            .map(|k| aug[k * (p + 1) + i] * aug[k * (p + 1) + j])
            .sum::<f64>()
            + if i == j { lambda } else { 0.0 }
    });
    let r = faer::Mat::<f64>::from_fn(p + 1, q, |i, j| {
        (0..n)
            .map(|k| aug[k * (p + 1) + i] * x[k * q + j])
            .sum::<f64>()
    });
    use faer::linalg::solvers::Solve;
    let sol = g.partial_piv_lu().solve(r.as_ref());
    let mut wrong = Vec::new();
    for i in 0..=p {
        wrong.extend((0..q).map(|j| sol[(i, j)]));
    }
    assert!(relative_difference(&wrong, &ne) > 1e-6);
}

#[test]
fn a_constant_offset_is_reconstructed_exactly() {
    let (n, p, q) = (50, 8, 4);
    let (a, x) = random_problem(11, n, p, q);
    let lambda = 3.0;
    // Constant targets: X̃ = 0, so D = 0 and b = c, at any λ.
    let c = [1.5, -2.0, 0.25, 7.0];
    let xc: Vec<f64> = (0..n * q).map(|k| c[k % q]).collect();
    let dec = fit(&a, &xc, (n, p, q), lambda, None).unwrap();
    assert!(dec.mse(&a, &xc) < 1e-28, "{}", dec.mse(&a, &xc));
    // Shifting the targets shifts only the bias (the bias is not penalised): the same D, and
    // the same residuals.
    let shifted: Vec<f64> = x.iter().enumerate().map(|(k, v)| v + c[k % q]).collect();
    let d0 = fit(&a, &x, (n, p, q), lambda, None).unwrap();
    let d1 = fit(&a, &shifted, (n, p, q), lambda, None).unwrap();
    let diff = relative_difference(
        d1.d.as_ref()
            .col(0)
            .iter()
            .copied()
            .collect::<Vec<_>>()
            .as_slice(),
        d0.d.as_ref()
            .col(0)
            .iter()
            .copied()
            .collect::<Vec<_>>()
            .as_slice(),
    );
    assert!(diff < 1e-12, "{diff:e}");
    for (j, cj) in c.iter().enumerate() {
        assert!((d1.bias[j] - d0.bias[j] - cj).abs() < 1e-12);
    }
    assert!((d1.mse(&a, &shifted) - d0.mse(&a, &x)).abs() < 1e-12 * d0.mse(&a, &x));
    // Same for the features: shifting A changes b only.
    let a_shift: Vec<f64> = a.iter().map(|v| v + 100.0).collect();
    let d2 = fit(&a_shift, &x, (n, p, q), lambda, None).unwrap();
    assert!(relative_difference(&d2.stacked()[..p * q], &d0.stacked()[..p * q]) < 1e-10);
}

#[test]
fn cross_validation_picks_small_lambda_for_signal_and_large_for_noise() {
    let (n, p, q) = (200, 10, 5);
    let grid = default_lambdas();
    // Noiseless affine relation: X = A W + c exactly.
    let key = RandomKey::root(3);
    let a = key.derive("a").normals(n * p);
    let w = key.derive("w").normals(p * q);
    let x: Vec<f64> = (0..n * q)
        .map(|k| {
            let (i, j) = (k / q, k % q);
            (0..p).map(|l| a[i * p + l] * w[l * q + j]).sum::<f64>() + j as f64
        })
        .collect();
    let cv = cross_validate(&a, &x, (n, p, q), &grid, 5).unwrap();
    assert_eq!(cv.chosen, 0, "{:?}", cv.mse);
    // The smallest λ reconstructs almost exactly; the largest barely beats the mean.
    assert!(cv.mse[0] < 1e-9 * cv.mse[grid.len() - 1], "{:?}", cv.mse);
    // Features independent of the targets: any fit is overfitting noise.
    // Any fit beyond the mean overfits, so the expected validation MSE falls with λ; on one
    // sample the heavy-shrinkage end (λ_rel ≥ 1, predictions within ~10 % of the mean) is flat
    // to sampling noise (~1e-4 relative here), so the choice must lie there and the least
    // shrunk fit must be clearly worse (its excess is ≈ p/n' ≈ 6 %).
    let noise = key.derive("noise").normals(n * q);
    let cv = cross_validate(&a, &noise, (n, p, q), &grid, 5).unwrap();
    assert!(grid[cv.chosen] >= 1.0, "{:?}", cv.mse);
    assert!(cv.mse[0] > cv.mse[cv.chosen] * 1.01, "{:?}", cv.mse);
    // Dual form (p > n' = 160): the same choices.
    let (p2, n2) = (300, 100);
    let a2 = key.derive("a2").normals(n2 * p2);
    let w2 = key.derive("w2").normals(p2 * q);
    let x2: Vec<f64> = (0..n2 * q)
        .map(|k| {
            let (i, j) = (k / q, k % q);
            (0..p2).map(|l| a2[i * p2 + l] * w2[l * q + j]).sum::<f64>() + j as f64
        })
        .collect();
    let noise2 = key.derive("noise2").normals(n2 * q);
    let cv = cross_validate(&a2, &noise2, (n2, p2, q), &grid, 5).unwrap();
    // With p ≫ n isotropic features a held-out row is nearly orthogonal to the training rows,
    // so every λ_rel ≥ 1 shrinks the (useless) fit to within sampling noise of the mean
    // predictor: the choice must be among the heavy-shrinkage end of the grid (≥ 1), and the
    // least-shrunk fits must be worse.
    assert!(grid[cv.chosen] >= 1.0, "{:?}", cv.mse);
    assert!(cv.mse[0] > cv.mse[cv.chosen] * 1.01, "{:?}", cv.mse);
    // p > n and X a linear function of A: the held-out examples are not in the span of the
    // training rows, so reconstruction is not exact, but the ridge still prefers less shrinkage
    // than the pure-noise case.
    let cv = cross_validate(&a2, &x2, (n2, p2, q), &grid, 5).unwrap();
    assert!(cv.chosen < grid.len() - 1, "{:?}", cv.mse);
}

#[test]
fn cross_validation_matches_direct_fits() {
    // The eigen-basis shortcut equals fitting each fold from scratch with `fit`.
    let (n, p, q) = (30, 6, 3);
    let (a, x) = random_problem(21, n, p, q);
    let grid = [1e-3, 1e-1, 10.0];
    for (n_, p_) in [(n, p), (12, 40)] {
        let (a, x) = if p_ == p {
            (a.clone(), x.clone())
        } else {
            random_problem(22, n_, p_, q)
        };
        let cv = cross_validate(&a, &x, (n_, p_, q), &grid, 3).unwrap();
        for (g, &rel) in grid.iter().enumerate() {
            let mut sse = 0.0;
            for f in 0..3 {
                let tr: Vec<usize> = (0..n_).filter(|i| i % 3 != f).collect();
                let va: Vec<usize> = (0..n_).filter(|i| i % 3 == f).collect();
                let pick = |m: &[f64], w: usize, rows: &[usize]| -> Vec<f64> {
                    rows.iter()
                        .flat_map(|&i| m[i * w..(i + 1) * w].to_vec())
                        .collect()
                };
                let (at, xt) = (pick(&a, p_, &tr), pick(&x, q, &tr));
                let (dec, _) = fit_relative(&at, &xt, (tr.len(), p_, q), rel).unwrap();
                let e = dec.squared_errors(&pick(&a, p_, &va), &pick(&x, q, &va));
                sse += e.iter().sum::<f64>();
            }
            let direct = sse / (n_ * q) as f64;
            assert!(
                (cv.mse[g] - direct).abs() < 1e-9 * direct,
                "n={n_} p={p_} λ_rel={rel}: {} vs {direct}",
                cv.mse[g]
            );
        }
    }
}

#[test]
fn paper_units_sum_batch_means() {
    // 300 examples, q = 2: batches of 128, 128, 44.
    let e: Vec<f64> = (0..300).map(|i| if i < 128 { 2.0 } else { 4.0 }).collect();
    let v = paper_units(&e, 2, 128);
    assert!((v - (1.0 + 2.0 + 2.0)).abs() < 1e-15, "{v}");
    // Equal errors: the number of batches times the per-element MSE.
    let v = paper_units(&[6.0; 1000], 3, 128);
    assert!((v - 8.0 * 2.0).abs() < 1e-12, "{v}");
}

#[test]
fn trained_decoder_approaches_the_least_squares_fit() {
    // A small well-conditioned problem: Adam with a larger step converges to the
    // least-squares decoder; its training MSE can only be above the minimum (up to the tiny
    // weight decay), and within 1 % after 400 epochs (Adam's steady-state jitter with lr 1e-2
    // on weights of size O(1) adds ~ (lr)² relative; the noise floor is 0.3² = 0.09).
    let (n, p, q) = (256, 5, 3);
    let (a, x) = random_problem(5, n, p, q);
    let exact = fit(&a, &x, (n, p, q), 0.0, None).unwrap();
    let best = exact.mse(&a, &x);
    let settings = TrainSettings {
        epochs: 400,
        lr: 1e-2,
        weight_decay: 0.0,
        batch: 64,
    };
    let dec = train(&a, &x, (n, p, q), &settings, RandomKey::root(1)).unwrap();
    let got = dec.mse(&a, &x);
    assert!(got >= best * (1.0 - 1e-12), "{got} < {best}");
    assert!(got <= best * 1.01, "{got} vs {best}");
    // After one epoch at the reference step size it is far from converged.
    let early = train(
        &a,
        &x,
        (n, p, q),
        &TrainSettings {
            epochs: 1,
            ..TrainSettings::default()
        },
        RandomKey::root(1),
    )
    .unwrap();
    assert!(early.mse(&a, &x) > 2.0 * best, "{}", early.mse(&a, &x));
    // Seeded: the same key gives the same decoder.
    let again = train(&a, &x, (n, p, q), &settings, RandomKey::root(1)).unwrap();
    assert_eq!(again.stacked(), dec.stacked());
    let _ = column_means(&a, n, p);
}

#[test]
fn default_taps_are_blocks_and_penultimate() {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // VGG-8-like: blocks container, flatten, head.
    let vgg = names(&[
        "input",
        "blocks.0.conv.out",
        "blocks.0.bn.out",
        "blocks.0.out",
        "blocks.1.conv.out",
        "blocks.1.bn.out",
        "blocks.1.out",
        "blocks.out",
        "flatten.out",
        "head.out",
        "out",
        "penultimate",
        "logits",
    ]);
    let got = default_reconstruction_taps(&vgg);
    assert_eq!(got, ["blocks.0.out", "blocks.1.out", "penultimate"]);
}

#[test]
fn config_defaults_and_validation() {
    let cfg: ReconstructionConfig = toml::from_str("").unwrap();
    assert_eq!(cfg.fit_examples, 2000);
    assert_eq!(cfg.eval_examples, 1000);
    assert_eq!(cfg.folds, 5);
    assert_eq!(cfg.lambdas.len(), 9);
    assert_eq!(cfg.decoder, DecoderKind::ClosedForm);
    assert_eq!(cfg.schedule, ProbeSchedule::Geometric { base: 2, start: 2 });
    let both: ReconstructionConfig = toml::from_str("decoder = \"both\"").unwrap();
    assert_eq!(both.decoder, DecoderKind::Both);
    assert!(toml::from_str::<ReconstructionConfig>("fold = 3").is_err());
}
