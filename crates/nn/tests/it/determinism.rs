//! Determinism: the same inputs give bit-identical outputs and gradients, and the result with
//! 1 and 2 threads is compared (and, on this engine, identical: the gemm crate splits work over
//! output tiles, never over the reduction dimension, and our reductions use fixed chunks).

use learnscope_nn::layer::{Linear, Sequential};
use learnscope_nn::optim::{Optimizer, OptimizerConfig};
use learnscope_nn::{
    Activation, CpuBackend, DType, ForwardCtx, Layer, Mode, ParamTree, RandomKey, Tensor,
};

/// Forward + backward of a 784-256-256-10 MLP on a batch of 128 (products well above the
/// threading threshold) and optimizer updates; returns outputs, gradients and updated
/// parameters as bit patterns.
fn pass(threads: usize, dtype: DType) -> Vec<u64> {
    let be = CpuBackend::new(threads);
    let key = RandomKey::root(42);
    let dims = [784, 256, 256, 10];
    let mut layers: Vec<Box<dyn Layer<CpuBackend>>> = Vec::new();
    for i in 0..3 {
        let w = Tensor::from_f64(
            &be,
            dtype,
            &[dims[i + 1], dims[i]],
            &key.derive(&format!("w{i}"))
                .normals(dims[i] * dims[i + 1])
                .iter()
                .map(|x| x / (dims[i] as f64).sqrt())
                .collect::<Vec<_>>(),
        );
        let b = Tensor::from_f64(
            &be,
            dtype,
            &[dims[i + 1]],
            &key.derive(&format!("b{i}")).normals(dims[i + 1]),
        );
        let act = if i == 2 {
            Activation::Identity
        } else {
            Activation::Relu
        };
        layers.push(Box::new(Linear::new(&be, w, Some(b), act).unwrap()));
    }
    let mut net = Sequential::new(layers).unwrap();
    let x = Tensor::from_f64(&be, dtype, &[128, 784], &key.derive("x").normals(128 * 784));
    let dy = Tensor::from_f64(&be, dtype, &[128, 10], &key.derive("dy").normals(1280));
    net.forward(&be, &x, &ForwardCtx::new(Mode::Train, 0, key));
    net.backward(&be, &x, &dy, true);
    let mut out: Vec<f64> = net.output().to_host_f64(&be);
    net.visit_params(&mut |p| out.extend(p.grad.to_host_f64(&be)));
    out.extend(net.input_grad().to_host_f64(&be));
    // Two optimizer updates (the second reads the momentum/moment buffers); layers of 200 k
    // weights take the split path on 2 threads.
    for cfg in [
        OptimizerConfig::Sgd {
            momentum: 0.9,
            dampening: 0.0,
            weight_decay: 1e-4,
            nesterov: true,
        },
        OptimizerConfig::adam(),
    ] {
        let mut opt = Optimizer::new(cfg).unwrap();
        opt.step(&be, &mut net, 0.01);
        opt.step(&be, &mut net, 0.01);
        net.visit_params(&mut |p| out.extend(p.value.to_host_f64(&be)));
    }
    out.into_iter().map(f64::to_bits).collect()
}

#[test]
fn repeated_passes_are_bit_identical() {
    for dtype in [DType::F32, DType::F64] {
        assert_eq!(pass(1, dtype), pass(1, dtype));
        assert_eq!(pass(2, dtype), pass(2, dtype));
    }
}

#[test]
fn one_and_two_threads_agree_bitwise() {
    for dtype in [DType::F32, DType::F64] {
        let (a, b) = (pass(1, dtype), pass(2, dtype));
        let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        println!(
            "{dtype}: {differing} of {} values differ between 1 and 2 threads",
            a.len()
        );
        assert_eq!(differing, 0, "{dtype}: thread-count invariance broken");
    }
}

#[test]
fn dropout_masks_are_pure_functions_of_the_key() {
    use learnscope_nn::Backend;
    let be = CpuBackend::new(1);
    let key = RandomKey::root(7).derive("dropout/layers.1").at(12);
    let mut a = Tensor::zeros(&be, DType::F32, &[100, 100]);
    let mut b = Tensor::zeros(&be, DType::F32, &[100, 100]);
    be.bernoulli_mask(key, 0.8, &mut a);
    be.bernoulli_mask(key, 0.8, &mut b);
    let (a, b) = (a.to_host_f64(&be), b.to_host_f64(&be));
    assert_eq!(a, b);
    // Entries are 0 or 1/keep; the kept fraction of 10⁴ Bernoulli(0.8) draws has standard
    // deviation √(0.8·0.2/10⁴) = 0.004, so 5σ = 0.02.
    assert!(a.iter().all(|&m| m == 0.0 || (m - 1.25).abs() < 1e-6));
    let kept = a.iter().filter(|&&m| m > 0.0).count() as f64 / a.len() as f64;
    assert!((kept - 0.8).abs() < 0.02, "kept {kept}");
    let mut c = Tensor::zeros(&be, DType::F32, &[100, 100]);
    be.bernoulli_mask(
        RandomKey::root(7).derive("dropout/layers.1").at(13),
        0.8,
        &mut c,
    );
    assert_ne!(a, c.to_host_f64(&be), "the next step draws a new mask");
}
