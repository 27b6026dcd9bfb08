//! Probe values against independent computations.

use learnscope_data::{Batch, Split};
use learnscope_models::TapRequest;
use learnscope_nn::loss::Loss;
use learnscope_nn::{CpuBackend, ForwardCtx, Mode, RandomKey, Tensor};
use learnscope_probes::build_probes;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::{build_data, build_model, build_parts};
use learnscope_train::{StopSignal, Trainer};

use crate::sink::MemorySink;

fn run(cfg: &RunConfig) -> MemorySink {
    let mut t = Trainer::new(
        build_parts(cfg, CpuBackend::new(1), |ctx| {
            build_probes(&cfg.probes, ctx)
        })
        .unwrap(),
    );
    let mut sink = MemorySink::default();
    t.run(&mut sink, &StopSignal::default()).unwrap();
    sink
}

#[test]
fn per_example_gradient_norms_match_one_example_backward_passes() {
    // μP MLP (weight and bias multipliers ≠ 1) on Gaussian-teacher data, batch of 6.
    let cfg = RunConfig::parse(
        r#"
name = "pe"
seed = 4
steps = 1
[data]
kind = "gaussian_teacher"
dim = 5
outputs = 3
train = 6
test = 2
[model]
kind = "mlp"
hidden = [7, 4]
activation = "tanh"
parameterization = { kind = "mu_p" }
[loss]
kind = "mse"
[optimizer]
kind = "sgd"
[lr]
base = 0.1
[training]
batch_size = 6
shuffle = false
[[probes]]
kind = "per_example"
schedule = { kind = "at", steps = [0] }
"#,
        &[],
    )
    .unwrap();
    let sink = run(&cfg);
    let be = CpuBackend::new(1);
    let data = build_data(&cfg).unwrap();
    let mut model = build_model(&cfg, &be, data.as_ref()).unwrap();
    let loss: Loss = cfg.loss.loss();
    let mut per = Vec::new();
    let mut grads = Vec::new();
    for i in 0..6 {
        let b = Batch::gather(&be, data.as_ref(), Split::Train, &[i], cfg.dtype);
        let logits = model
            .forward(
                &b.x,
                &ForwardCtx::new(Mode::Eval, 0, RandomKey::root(0)),
                &TapRequest::None,
            )
            .unwrap()
            .logits
            .clone();
        let mut dl = Tensor::zeros(&be, cfg.dtype, logits.shape());
        loss.forward_backward(&be, &logits, &b.targets(), &mut dl)
            .unwrap();
        model.backward(&dl, &TapRequest::None).unwrap();
        let mut g = Vec::new();
        model.visit_params(&mut |p| g.extend(p.grad.to_host_f64(&be)));
        per.push(g.iter().map(|x| x * x).sum::<f64>().sqrt());
        grads.push(g);
    }
    let recorded: Vec<f64> = sink
        .records
        .iter()
        .filter(|(step, _, m)| *step == 0 && m.key == "example_grad_norm")
        .map(|(_, _, m)| m.value)
        .collect();
    assert_eq!(recorded.len(), 6);
    for (r, p) in recorded.iter().zip(&per) {
        // Same sums in a different order: agreement to rounding (1e-12 relative).
        assert!((r - p).abs() <= 1e-12 * p.max(1.0), "{r} vs {p}");
    }
    // B_simple from the explicit per-example gradients.
    let n = grads[0].len();
    let mean: Vec<f64> = (0..n)
        .map(|j| grads.iter().map(|g| g[j]).sum::<f64>() / 6.0)
        .collect();
    let g2: f64 = mean.iter().map(|x| x * x).sum();
    let tr: f64 = grads
        .iter()
        .map(|g| {
            g.iter()
                .zip(&mean)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / 5.0;
    let b_simple = sink
        .records
        .iter()
        .find(|(step, _, m)| *step == 0 && m.key == "b_simple")
        .unwrap()
        .2
        .value;
    assert!(
        (b_simple - tr / g2).abs() <= 1e-9 * (tr / g2),
        "{b_simple} vs {}",
        tr / g2
    );
}

#[test]
fn sharpness_of_a_quadratic_loss_is_its_hessian_eigenvalue() {
    // One linear layer on whitened inputs (√P-scaled one-hot, Σxx = I) under MSE with mean
    // reduction: L = (1/2P)‖X Wᵀ − Y‖², Hessian = Σxx ⊗ I = I, so every eigenvalue is 1. The
    // loss is quadratic, so central differences are exact up to rounding (~1e-10 here).
    let cfg = RunConfig::parse(
        r#"
name = "quad"
steps = 3
[data]
kind = "hierarchy"
scale_inputs = true
[model]
kind = "deep_linear"
hidden = []
init = { kind = "gaussian", std = 0.1 }
[loss]
kind = "mse"
[optimizer]
kind = "sgd"
[lr]
base = 0.5
[[probes]]
kind = "sharpness"
schedule = { kind = "every", n = 1 }
iterations = 5
"#,
        &[],
    )
    .unwrap();
    let sink = run(&cfg);
    let eig: Vec<f64> = sink
        .records
        .iter()
        .filter(|(_, _, m)| m.key == "top_eigenvalue")
        .map(|(_, _, m)| m.value)
        .collect();
    assert_eq!(eig.len(), 4);
    for e in eig {
        assert!((e - 1.0).abs() < 1e-6, "{e}");
    }
    let two_over: f64 = sink
        .records
        .iter()
        .find(|(_, _, m)| m.key == "two_over_lr")
        .unwrap()
        .2
        .value;
    assert_eq!(two_over, 4.0);
}
