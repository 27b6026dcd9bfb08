//! Optimizers against scalar reference implementations of PyTorch's documented update rules,
//! and the learning-rate schedule plumbing.

use learnscope_nn::optim::{Optimizer, OptimizerConfig};
use learnscope_nn::param::{Param, ParamTree};
use learnscope_nn::{Backend, CpuBackend, DType, RandomKey, Tensor};

use crate::common::be;

struct One(Param<CpuBackend>);

impl ParamTree<CpuBackend> for One {
    fn visit_params(&self, f: &mut dyn FnMut(&Param<CpuBackend>)) {
        f(&self.0)
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<CpuBackend>)) {
        f(&mut self.0)
    }
}

/// Runs `steps` updates with gradient g(θ) = θ − target + noise_t, returns θ per step.
fn run(config: OptimizerConfig, steps: usize, dtype: DType) -> Vec<Vec<f64>> {
    let be = be();
    let key = RandomKey::root(5);
    let theta0 = key.derive("t").normals(6);
    let mut p = One(Param::new(
        &be,
        "w",
        Tensor::from_f64(&be, dtype, &[2, 3], &theta0),
    ));
    let mut opt = Optimizer::new(config).unwrap();
    let mut out = Vec::new();
    for s in 0..steps {
        let th = p.0.value.to_host_f64(&be);
        let g: Vec<f64> = th
            .iter()
            .enumerate()
            .map(|(i, t)| t - 1.0 + 0.1 * key.at(s as u64).normal_at(i as u64))
            .collect();
        p.0.grad = Tensor::from_f64(&be, dtype, &[2, 3], &g);
        opt.step(&be, &mut p, 0.05 * (1.0 + s as f64).recip());
        out.push(p.0.value.to_host_f64(&be));
    }
    out
}

fn reference(config: &OptimizerConfig, steps: usize) -> Vec<Vec<f64>> {
    let key = RandomKey::root(5);
    let mut th = key.derive("t").normals(6);
    let mut m = [0.0; 6];
    let mut v = [0.0; 6];
    let mut out = Vec::new();
    for s in 0..steps {
        let lr = 0.05 * (1.0 + s as f64).recip();
        for i in 0..6 {
            let g = th[i] - 1.0 + 0.1 * key.at(s as u64).normal_at(i as u64);
            match *config {
                OptimizerConfig::Sgd {
                    momentum,
                    dampening,
                    weight_decay,
                    nesterov,
                } => {
                    let d = g + weight_decay * th[i];
                    if momentum == 0.0 {
                        th[i] -= lr * d;
                    } else {
                        m[i] = if s == 0 {
                            d
                        } else {
                            momentum * m[i] + (1.0 - dampening) * d
                        };
                        let step = if nesterov { d + momentum * m[i] } else { m[i] };
                        th[i] -= lr * step;
                    }
                }
                OptimizerConfig::Adam {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                    decoupled,
                } => {
                    let g = if decoupled {
                        th[i] *= 1.0 - lr * weight_decay;
                        g
                    } else {
                        g + weight_decay * th[i]
                    };
                    m[i] = beta1 * m[i] + (1.0 - beta1) * g;
                    v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
                    let t = (s + 1) as i32;
                    let mhat = m[i] / (1.0 - beta1.powi(t));
                    let vhat = v[i] / (1.0 - beta2.powi(t));
                    th[i] -= lr * mhat / (vhat.sqrt() + eps);
                }
            }
        }
        out.push(th.clone());
    }
    out
}

#[test]
fn updates_follow_pytorch_rules() {
    let configs = [
        OptimizerConfig::sgd(),
        OptimizerConfig::Sgd {
            momentum: 0.9,
            dampening: 0.0,
            weight_decay: 1e-2,
            nesterov: false,
        },
        OptimizerConfig::Sgd {
            momentum: 0.9,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: true,
        },
        OptimizerConfig::Sgd {
            momentum: 0.5,
            dampening: 0.3,
            weight_decay: 0.0,
            nesterov: false,
        },
        OptimizerConfig::adam(),
        OptimizerConfig::Adam {
            beta1: 0.8,
            beta2: 0.99,
            eps: 1e-6,
            weight_decay: 0.1,
            decoupled: false,
        },
        OptimizerConfig::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.1,
            decoupled: true,
        },
    ];
    for c in &configs {
        let got = run(c.clone(), 25, DType::F64);
        let want = reference(c, 25);
        for (s, (g, w)) in got.iter().zip(&want).enumerate() {
            for (a, b) in g.iter().zip(w) {
                // Same operations in a different association (PyTorch's Adam divides m by the
                // bias correction at the end): agreement to a few ulps per step.
                assert!((a - b).abs() < 1e-12, "{c:?} step {s}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn state_is_named_for_checkpoints_and_restores() {
    let be = be();
    let mut p = One(Param::new(
        &be,
        "layers.0.weight",
        Tensor::zeros(&be, DType::F32, &[2]),
    ));
    let mut opt = Optimizer::new(OptimizerConfig::adam()).unwrap();
    p.0.grad = Tensor::from_f64(&be, DType::F32, &[2], &[1.0, -1.0]);
    opt.step(&be, &mut p, 0.1);
    let names: Vec<String> = opt.state_tensors().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "opt/layers.0.weight/exp_avg",
            "opt/layers.0.weight/exp_avg_sq"
        ]
    );
    let m = opt.state_tensors()[0].1.to_host_f64(&be);
    assert!((m[0] - 0.1).abs() < 1e-7 && (m[1] + 0.1).abs() < 1e-7);
    assert_eq!(be.name(), "cpu");
}

#[test]
fn invalid_settings_name_the_rule() {
    let e = Optimizer::<CpuBackend>::new(OptimizerConfig::Adam {
        beta1: 1.0,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        decoupled: false,
    })
    .err()
    .unwrap();
    assert!(
        e.to_string().contains("optimizer.beta1") && e.to_string().contains("0 <= beta < 1"),
        "{e}"
    );
    let e = Optimizer::<CpuBackend>::new(OptimizerConfig::Sgd {
        momentum: 0.0,
        dampening: 0.0,
        weight_decay: 0.0,
        nesterov: true,
    })
    .err()
    .unwrap();
    assert!(e.to_string().contains("nesterov"), "{e}");
}

#[test]
fn restored_state_continues_exactly_and_bad_state_is_refused() {
    // 10 Adam steps == 5 steps, state handed to a fresh optimizer, 5 more steps.
    let be = be();
    let grads: Vec<Vec<f64>> = (0..10)
        .map(|s| RandomKey::root(9).at(s).normals(2))
        .collect();
    let fresh = || {
        One(Param::new(
            &be,
            "w",
            Tensor::from_f64(&be, DType::F64, &[2], &[0.5, -0.5]),
        ))
    };
    let run = |p: &mut One, opt: &mut Optimizer<CpuBackend>, range: std::ops::Range<usize>| {
        for s in range {
            p.0.grad = Tensor::from_f64(&be, DType::F64, &[2], &grads[s]);
            opt.step(&be, p, 0.1);
        }
    };
    let (mut a, mut opt_a) = (fresh(), Optimizer::new(OptimizerConfig::adam()).unwrap());
    run(&mut a, &mut opt_a, 0..10);
    let (mut b, mut opt_b) = (fresh(), Optimizer::new(OptimizerConfig::adam()).unwrap());
    run(&mut b, &mut opt_b, 0..5);
    let saved: Vec<Tensor<CpuBackend>> = opt_b
        .state_tensors()
        .into_iter()
        .map(|(_, t)| t.clone())
        .collect();
    let mut opt_c = Optimizer::new(OptimizerConfig::adam()).unwrap();
    opt_c.restore(&b, 5, vec![saved.clone()]).unwrap();
    run(&mut b, &mut opt_c, 5..10);
    assert_eq!(a.0.value.to_host_f64(&be), b.0.value.to_host_f64(&be));

    let wrong = vec![vec![saved[0].clone(), Tensor::zeros(&be, DType::F64, &[3])]];
    let e = Optimizer::<CpuBackend>::new(OptimizerConfig::adam())
        .unwrap()
        .restore(&b, 5, wrong)
        .unwrap_err();
    assert!(e.to_string().contains("optimizer state of `w`"), "{e}");
    let e = Optimizer::<CpuBackend>::new(OptimizerConfig::adam())
        .unwrap()
        .restore(&b, 5, vec![])
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("optimizer state of w` = 0 breaks the rule `2 slots`"),
        "{e}"
    );
}
