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

#[test]
fn singular_values_of_orthogonal_weights_are_one() {
    // Orthogonal init with gain 1: every σ = 1, so the effective rank and the stable rank both
    // equal min(rows, cols) at step 0.
    let cfg = RunConfig::parse(
        r#"
name = "svd"
steps = 2
[data]
kind = "hierarchy"
[model]
kind = "deep_linear"
hidden = [6]
init = { kind = "orthogonal", gain = 1.0 }
[loss]
kind = "mse"
[optimizer]
kind = "sgd"
[lr]
base = 0.1
[[probes]]
kind = "singular_values"
schedule = { kind = "at", steps = [0] }
top_k = 3
"#,
        &[],
    )
    .unwrap();
    let sink = run(&cfg);
    let at0 = |key: &str, layer: &str| -> Vec<f64> {
        sink.records
            .iter()
            .filter(|(s, _, m)| *s == 0 && m.key == key && m.layer.as_deref() == Some(layer))
            .map(|(_, _, m)| m.value)
            .collect()
    };
    for (layer, r) in [("layers.0.weight", 6.0), ("layers.1.weight", 6.0)] {
        let sv = at0("singular_value", layer);
        assert_eq!(sv.len(), 3);
        assert!(
            sv.iter().all(|s| (s - 1.0).abs() < 1e-12),
            "{layer}: {sv:?}"
        );
        assert!((at0("effective_rank", layer)[0] - r).abs() < 1e-9);
        assert!((at0("stable_rank", layer)[0] - r).abs() < 1e-9);
    }
}

/// A probe that asks for the probe batch's logits and checks them against a direct forward pass
/// at θ_t on a scratch copy.
struct ProbeBatchCheck {
    schedule: learnscope_core::ProbeSchedule,
    seen: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl learnscope_train::Probe<CpuBackend> for ProbeBatchCheck {
    fn name(&self) -> &str {
        "probe_batch_check"
    }
    fn schedule(&self) -> &learnscope_core::ProbeSchedule {
        &self.schedule
    }
    fn needs(&self) -> learnscope_train::ProbeNeeds {
        learnscope_train::ProbeNeeds {
            probe_taps: vec!["logits".into()],
            ..Default::default()
        }
    }
    fn observe(
        &mut self,
        ctx: &learnscope_train::StepCtx<'_, CpuBackend>,
        _out: &mut dyn learnscope_train::Recorder,
    ) -> Result<learnscope_train::Flow, learnscope_nn::NnError> {
        let pb = ctx.probe_batch.expect("probe batch");
        assert_eq!(
            pb.indices,
            (0..5).collect::<Vec<_>>(),
            "first 5 test examples"
        );
        let mut scratch = ctx.model.clone_model();
        let mut i = 0;
        scratch.visit_params_mut(&mut |p| {
            p.value = ctx.theta[i].clone();
            i += 1;
        });
        let direct = scratch
            .forward(
                &pb.x,
                &ForwardCtx::new(Mode::Probe, 0, RandomKey::root(0)),
                &TapRequest::None,
            )?
            .logits
            .to_host_f64(ctx.be);
        assert_eq!(ctx.probe_taps["logits"].to_host_f64(ctx.be), direct);
        self.seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(learnscope_train::Flow::Continue)
    }
}

#[test]
fn probe_batch_taps_come_from_a_shared_pass_at_theta_t() {
    let cfg = RunConfig::parse(
        r#"
name = "pb"
steps = 6
[data]
kind = "separable"
dim = 4
train = 12
test = 9
[model]
kind = "mlp"
hidden = [5]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
momentum = 0.9
[lr]
base = 0.1
[training]
batch_size = 4
probe_batch = { split = "test", size = 5 }
"#,
        &[],
    )
    .unwrap();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut t = Trainer::new(
        build_parts(&cfg, CpuBackend::new(1), |_| {
            let probe = ProbeBatchCheck {
                schedule: learnscope_core::ProbeSchedule::Every { n: 2 },
                seen: seen.clone(),
            };
            Ok(vec![
                Box::new(probe) as Box<dyn learnscope_train::Probe<CpuBackend>>
            ])
        })
        .unwrap(),
    );
    let mut sink = MemorySink::default();
    t.run(&mut sink, &StopSignal::default()).unwrap();
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 4); // steps 0, 2, 4, 6
}
