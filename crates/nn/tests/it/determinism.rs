//! Determinism: the same inputs give bit-identical outputs and gradients, and the result with
//! 1 and 2 threads is compared (and, on this engine, identical: the gemm crate splits work over
//! output tiles, never over the reduction dimension, and our reductions use fixed chunks).

use learnscope_nn::layer::{Linear, Sequential};
use learnscope_nn::{
    Activation, CpuBackend, DType, ForwardCtx, Layer, Mode, ParamTree, RandomKey, Tensor,
};

/// Forward + backward of a 784-256-256-10 MLP on a batch of 128 (products well above the
/// threading threshold); returns the output and all gradients as bit patterns.
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
