//! The moment-based flow of deep linear networks against the per-mode closed forms.

use learnscope_theory::{saxe, DeepLinearFlow, DeepModeCurve, Moments};

/// Whitened inputs and `Σyx = diag(s)`, built directly as moments.
fn diagonal_task(s: &[f64]) -> Moments {
    let n = s.len();
    let mut sigma_xx = vec![0.0; n * n];
    let mut sigma_yx = vec![0.0; n * n];
    for i in 0..n {
        sigma_xx[i * n + i] = 1.0;
        sigma_yx[i * n + i] = s[i];
    }
    Moments {
        inputs: n,
        outputs: n,
        examples: n,
        sigma_xx,
        sigma_yx,
        x_mean: vec![0.0; n],
        y_mean: vec![0.0; n],
        y_sq_mean: s.iter().map(|v| v * v).sum(),
    }
}

#[test]
fn decoupled_balanced_flow_follows_the_mode_curves() {
    let s = [2.0, 1.0, 0.5];
    let u0: f64 = 1e-2;
    for layers in [2usize, 3] {
        let a0 = u0.powf(1.0 / layers as f64);
        let mut w = vec![0.0; 9];
        for i in 0..3 {
            w[i * 3 + i] = a0;
        }
        let mut flow =
            DeepLinearFlow::new(diagonal_task(&s), vec![w; layers], vec![None; layers]).unwrap();
        let mut curves: Vec<DeepModeCurve> = s
            .iter()
            .map(|&sa| DeepModeCurve::new(sa, u0, layers).unwrap())
            .collect();
        let mut worst = 0.0f64;
        for k in 1..=40 {
            let t = 0.25 * k as f64;
            flow.integrate_to(t, 2e-3).unwrap();
            let (eff, _) = flow.effective();
            let u: Vec<f64> = curves.iter_mut().map(|c| c.at(t)).collect();
            for i in 0..3 {
                worst = worst.max((eff[i * 3 + i] - u[i]).abs());
            }
            if layers == 2 {
                let l = saxe::loss(&s, &u, s.iter().map(|v| v * v).sum());
                assert!((flow.loss() - l).abs() < 1e-8);
            }
        }
        assert!(worst < 1e-8, "layers = {layers}: {worst}");
    }
}
