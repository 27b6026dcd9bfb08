//! Batch normalisation: gradients in train mode (batch statistics) and eval mode (running
//! statistics), the running-statistics update against PyTorch's formula computed by hand, and
//! the mode semantics (eval uses the buffers, eval and probe passes never touch them).

use learnscope_nn::layer::BatchNorm;
use learnscope_nn::{
    Activation, CpuBackend, DType, ForwardCtx, Layer, Mode, ParamTree, RandomKey, Tensor,
};

use crate::common::{be, check_layer, check_layer_at, tensor};

fn buffers(l: &BatchNorm<CpuBackend>, be: &CpuBackend) -> Vec<(String, Vec<f64>)> {
    let mut v = Vec::new();
    l.visit_buffers(&mut |b| v.push((b.name.clone(), b.value.to_host_f64(be))));
    v
}

/// A layer with non-trivial γ, β and running statistics.
fn layer(be: &CpuBackend, c: usize, act: Activation, key: RandomKey) -> BatchNorm<CpuBackend> {
    let mut l = BatchNorm::new(be, DType::F64, c, act).unwrap();
    let mut i = 0;
    l.visit_params_mut(&mut |p| {
        let v: Vec<f64> = key.derive(&format!("p{i}")).normals(c);
        let v: Vec<f64> = if i == 0 {
            v.iter().map(|x| 1.0 + 0.3 * x).collect()
        } else {
            v
        };
        p.value = Tensor::from_f64(be, DType::F64, &[c], &v);
        i += 1;
    });
    l.visit_buffers_mut(&mut |b| {
        let v = key.derive(&b.name).normals(c);
        let v: Vec<f64> = if b.name.ends_with("var") {
            v.iter().map(|x| 0.5 + x * x).collect()
        } else {
            v
        };
        b.value = Tensor::from_f64(be, DType::F64, &[c], &v);
    });
    l
}

#[test]
fn gradients_match_central_differences_in_train_and_eval_modes() {
    let be = be();
    for (k, shape) in [
        vec![6, 4],
        vec![3, 4, 3, 5],
        vec![2, 3, 1, 1],
        vec![5, 2, 2, 3],
    ]
    .into_iter()
    .enumerate()
    {
        for act in [Activation::Identity, Activation::Relu, Activation::Tanh] {
            let key = RandomKey::root(k as u64).derive(act.name());
            let mut l = layer(&be, shape[1], act, key);
            l.set_path("bn");
            // Eval: check_layer redraws x until no `.pre` value is near the ReLU kink.
            check_layer(&mut l, &shape, key);
            // Train: the batch statistics depend on x, and the gradient accounts for it.
            let ctx = ForwardCtx::new(Mode::Train, 0, key);
            let mut x = tensor(&be, &shape, key.derive("x"));
            for attempt in 0..100 {
                x = tensor(&be, &shape, key.derive("x").at(attempt));
                l.forward(&be, &x, &ctx);
                let mut min = f64::INFINITY;
                l.visit_taps(&mut |n, t| {
                    if n.ends_with("pre") {
                        min = t.to_host_f64(&be).iter().fold(min, |m, v| m.min(v.abs()));
                    }
                });
                if min > 1e-4 {
                    break;
                }
            }
            check_layer_at(&mut l, &x, ctx);
        }
    }
}

#[test]
fn train_mode_normalises_with_batch_statistics_and_updates_buffers_like_pytorch() {
    let be = be();
    let (n, c, s) = (4usize, 3usize, 5usize);
    let key = RandomKey::root(3);
    let mut l = layer(&be, c, Activation::Identity, key);
    l.set_path("blocks.0.bn");
    let before = buffers(&l, &be);
    assert_eq!(before[0].0, "blocks.0.bn.running_mean");
    assert_eq!(before[1].0, "blocks.0.bn.running_var");
    let xs = key.derive("x").normals(n * c * s);
    let x = Tensor::from_f64(&be, DType::F64, &[n, c, 1, s], &xs);
    l.forward(&be, &x, &ForwardCtx::new(Mode::Train, 0, key));
    let (mut gamma, mut beta) = (Vec::new(), Vec::new());
    l.visit_params(&mut |p| {
        if p.name.ends_with("weight") {
            gamma = p.value.to_host_f64(&be);
        } else {
            beta = p.value.to_host_f64(&be);
        }
    });
    let y = l.output().to_host_f64(&be);
    let after = buffers(&l, &be);
    let m = (n * s) as f64;
    for ch in 0..c {
        let vals: Vec<f64> = (0..n)
            .flat_map(|e| xs[(e * c + ch) * s..(e * c + ch + 1) * s].to_vec())
            .collect();
        let mean = vals.iter().sum::<f64>() / m;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m;
        // torch.nn.BatchNorm2d: running = (1 − 0.1)·running + 0.1·stat, with the unbiased
        // variance (M/(M − 1)) in the running variance.
        let rm = 0.9 * before[0].1[ch] + 0.1 * mean;
        let rv = 0.9 * before[1].1[ch] + 0.1 * var * m / (m - 1.0);
        assert!((after[0].1[ch] - rm).abs() < 1e-14, "running mean {ch}");
        assert!((after[1].1[ch] - rv).abs() < 1e-14, "running var {ch}");
        for e in 0..n {
            for j in 0..s {
                let i = (e * c + ch) * s + j;
                let want = gamma[ch] * (xs[i] - mean) / (var + 1e-5).sqrt() + beta[ch];
                assert!((y[i] - want).abs() < 1e-13, "output {i}");
            }
        }
    }
}

#[test]
fn eval_and_probe_use_running_statistics_and_leave_buffers_unchanged() {
    let be = be();
    let (n, c) = (5usize, 4usize);
    let key = RandomKey::root(8);
    for mode in [Mode::Eval, Mode::Probe] {
        let mut l = layer(&be, c, Activation::Identity, key);
        let before = buffers(&l, &be);
        let xs = key.derive("x").normals(n * c);
        let x = Tensor::from_f64(&be, DType::F64, &[n, c], &xs);
        l.forward(&be, &x, &ForwardCtx::new(mode, 3, key));
        // A backward pass after an eval pass touches no buffer either.
        let dy = tensor(&be, &[n, c], key.derive("dy"));
        l.backward(&be, &x, &dy, true);
        let after = buffers(&l, &be);
        let bits = |v: &Vec<(String, Vec<f64>)>| -> Vec<u64> {
            v.iter()
                .flat_map(|(_, x)| x.iter().map(|f| f.to_bits()))
                .collect()
        };
        assert_eq!(bits(&before), bits(&after), "{mode:?} changed a buffer");
        let (rm, rv) = (&before[0].1, &before[1].1);
        let mut gb = Vec::new();
        l.visit_params(&mut |p| gb.push(p.value.to_host_f64(&be)));
        let y = l.output().to_host_f64(&be);
        let dx = l.input_grad().to_host_f64(&be);
        for (i, (&yv, &xv)) in y.iter().zip(&xs).enumerate() {
            let ch = i % c;
            let inv = 1.0 / (rv[ch] + 1e-5).sqrt();
            assert!((yv - (gb[0][ch] * (xv - rm[ch]) * inv + gb[1][ch])).abs() < 1e-13);
            // Fixed statistics: dx = γ·dy/√(σ² + ε).
            let dyv = dy.to_host_f64(&be)[i];
            assert!((dx[i] - gb[0][ch] * inv * dyv).abs() < 1e-13);
        }
    }
    // Train mode does change them.
    let mut l = layer(&be, c, Activation::Identity, key);
    let before = buffers(&l, &be);
    let x = tensor(&be, &[n, c], key.derive("x"));
    l.forward(&be, &x, &ForwardCtx::new(Mode::Train, 0, key));
    assert_ne!(before, buffers(&l, &be));
}

#[test]
fn train_mode_output_has_zero_mean_and_unit_variance_per_channel() {
    // With γ = 1, β = 0: per channel, mean 0 and biased variance σ²/(σ² + ε) ≈ 1.
    let be = CpuBackend::new(2);
    let (n, c, hw) = (16usize, 8usize, 64usize);
    let key = RandomKey::root(12);
    for dtype in [DType::F32, DType::F64] {
        let mut l = BatchNorm::new(&be, dtype, c, Activation::Identity).unwrap();
        let xs: Vec<f64> = key
            .normals(n * c * hw)
            .iter()
            .map(|v| 3.0 * v + 1.5)
            .collect();
        let x = Tensor::from_f64(&be, dtype, &[n, c, 8, 8], &xs);
        l.forward(&be, &x, &ForwardCtx::new(Mode::Train, 0, key));
        let y = l.output().to_host_f64(&be);
        for ch in 0..c {
            let v: Vec<f64> = (0..n)
                .flat_map(|e| y[(e * c + ch) * hw..(e * c + ch + 1) * hw].to_vec())
                .collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / v.len() as f64;
            let tol = if dtype == DType::F64 { 1e-12 } else { 1e-5 };
            assert!(mean.abs() < tol, "{dtype} channel {ch}: mean {mean}");
            assert!(
                (var - 1.0).abs() < 1e-5 + tol,
                "{dtype} channel {ch}: var {var}"
            );
        }
    }
}
