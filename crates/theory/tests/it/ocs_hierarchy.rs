//! The OCS on the balanced hierarchical task (SCIENCE.md §P1.4 c and the sanity table).

use learnscope_theory::linalg::Svd;
use learnscope_theory::saxe::balanced_mode;
use learnscope_theory::{decoupled_prediction, DeepLinearFlow, LinearPrediction, Moments, OcsPair};

/// P = 8 items of a binary tree of depth 3: optional root, 2 + 4 + 8 units.
fn tree(root: bool) -> (Vec<f64>, usize) {
    let k = 14 + usize::from(root);
    let mut y = Vec::new();
    for i in 0..8 {
        if root {
            y.push(1.0);
        }
        for (width, div) in [(2, 4), (4, 2), (8, 1)] {
            for node in 0..width {
                y.push(f64::from(u8::from(i / div == node)));
            }
        }
    }
    (y, k)
}

fn scaled_one_hot(p: usize) -> Vec<f64> {
    let mut x = vec![0.0; p * p];
    for i in 0..p {
        x[i * p + i] = (p as f64).sqrt();
    }
    x
}

#[test]
fn ocs_pair_is_exact_and_matches_the_sanity_table() {
    let (y, k) = tree(false);
    let o = OcsPair::from_targets(&y, 8, k).unwrap();
    assert!(o.is_exact(1e-13));
    assert!((o.s_ocs - 0.935).abs() < 1e-3);
    assert!((o.centred_top - 0.935).abs() < 1e-3);
    let (y, k) = tree(true);
    let o = OcsPair::from_targets(&y, 8, k).unwrap();
    assert!((o.s_ocs - 1.369).abs() < 1e-3);
    assert!(o.learned_first());
    // The OCS pair is a singular pair of the uncentred Σyx: its top singular value.
    let m = Moments::from_data(&scaled_one_hot(8), &y, 8, 8, k).unwrap();
    let svd = Svd::new(&m.sigma_yx, k, 8, 1e-12).unwrap();
    assert!((svd.s[0] - o.s_ocs).abs() < 1e-12);
    assert!(m.is_white_on(&svd.v, 1e-12));
}

#[test]
fn decoupled_no_bias_d_ocs_dips_then_rises_to_the_label_variance() {
    let (y, k) = tree(true);
    let m = Moments::from_data(&scaled_one_hot(8), &y, 8, 8, k).unwrap();
    let svd = Svd::new(&m.sigma_yx, k, 8, 1e-12).unwrap();
    let u0 = 1e-6;
    let d: Vec<f64> = (0..=400)
        .map(|i| {
            let t = 0.1 * i as f64;
            let u: Vec<f64> = svd.s.iter().map(|&s| balanced_mode(s, u0, t)).collect();
            let w = decoupled_prediction(&svd, &u).unwrap();
            LinearPrediction::evaluate(&m, &w, &vec![0.0; k])
                .unwrap()
                .d_ocs
        })
        .collect();
    let (imin, dmin) =
        d.iter().enumerate().fold(
            (0, f64::INFINITY),
            |b, (i, &v)| if v < b.1 { (i, v) } else { b },
        );
    assert!((d[0] - 1.875).abs() < 1e-5, "init {}", d[0]);
    assert!(
        dmin < 0.05 && imin > 0 && imin < 400,
        "min {dmin} at {imin}"
    );
    assert!((d[400] - m.label_variance()).abs() < 1e-6);
    assert!((m.label_variance() - 2.125).abs() < 1e-12);
}

#[test]
fn flow_with_output_bias_on_centred_inputs_reaches_the_ocs_first() {
    let (y, k) = tree(false);
    let p = 8;
    let mut x = scaled_one_hot(p);
    let shift = 1.0 / (p as f64).sqrt();
    for v in &mut x {
        *v -= shift;
    }
    let m = Moments::from_data(&x, &y, p, p, k).unwrap();
    let h = 8;
    // Small deterministic weights.
    let small = |len: usize, seed: usize| -> Vec<f64> {
        (0..len)
            .map(|i| 1e-3 * (((i * 7 + seed * 13) % 11) as f64 - 5.0) / 5.0)
            .collect()
    };
    let mut flow = DeepLinearFlow::new(
        m.clone(),
        vec![small(h * p, 1), small(k * h, 2)],
        vec![None, Some(vec![0.0; k])],
    )
    .unwrap();
    flow.integrate_to(4.0, 0.01).unwrap();
    let early = flow.prediction();
    assert!(early.d_ocs < 0.03, "d_ocs at t = 4: {}", early.d_ocs);
    flow.integrate_to(40.0, 0.01).unwrap();
    let late = flow.prediction();
    assert!(
        (late.d_ocs - m.label_variance()).abs() < 0.05,
        "{}",
        late.d_ocs
    );
}
