//! Thread-count invariance of the convolutional layers: a conv net's forward pass (train mode:
//! batch statistics, dropout), backward pass and running statistics, on 1 and 2 threads, are
//! compared bit for bit. Shapes make every scheduling path run: chunks in parallel (large
//! planes), threaded products (one chunk), and several weight-gradient groups.

use learnscope_nn::layer::{
    AvgPool2d, BatchNorm, Conv2d, Dropout, Flatten, GlobalAvgPool, Linear, MaxPool2d, Residual,
    Sequential,
};
use learnscope_nn::{
    Activation, CpuBackend, DType, ForwardCtx, Layer, Mode, ParamTree, RandomKey, Tensor,
};

#[allow(clippy::too_many_arguments)]
fn conv(
    be: &CpuBackend,
    dtype: DType,
    o: usize,
    c: usize,
    k: usize,
    s: usize,
    bias: bool,
    key: RandomKey,
) -> Box<dyn Layer<CpuBackend>> {
    let std = (2.0 / (c * k * k) as f64).sqrt();
    let w: Vec<f64> = key.normals(o * c * k * k).iter().map(|v| v * std).collect();
    let w = Tensor::from_f64(be, dtype, &[o, c, k, k], &w);
    let b = bias.then(|| Tensor::from_f64(be, dtype, &[o], &key.derive("b").normals(o)));
    Box::new(
        Conv2d::new(
            be,
            w,
            b,
            s,
            k / 2,
            if bias {
                Activation::Relu
            } else {
                Activation::Identity
            },
        )
        .unwrap(),
    )
}

fn net(be: &CpuBackend, dtype: DType) -> Sequential<CpuBackend> {
    let key = RandomKey::root(21);
    let bn = |c: usize, act| -> Box<dyn Layer<CpuBackend>> {
        Box::new(BatchNorm::new(be, dtype, c, act).unwrap())
    };
    let body = Sequential::new(vec![
        conv(be, dtype, 32, 16, 3, 2, false, key.derive("r1")),
        bn(32, Activation::Relu),
        conv(be, dtype, 32, 32, 3, 1, false, key.derive("r2")),
        bn(32, Activation::Identity),
    ])
    .unwrap();
    let short = Sequential::new(vec![
        conv(be, dtype, 32, 16, 1, 2, false, key.derive("s")),
        bn(32, Activation::Identity),
    ])
    .unwrap();
    let w = Tensor::from_f64(be, dtype, &[10, 64], &key.derive("head").normals(640));
    Sequential::new(vec![
        conv(be, dtype, 8, 3, 3, 1, true, key.derive("c0")), // 16×16 planes: chunks in parallel
        Box::new(MaxPool2d::new(be, dtype, 2, 2, 0).unwrap()),
        conv(be, dtype, 16, 8, 3, 1, false, key.derive("c1")),
        bn(16, Activation::Relu),
        Box::new(
            Residual::new(be, dtype, Box::new(body), Some(Box::new(short)))
                .with_activation(Activation::Relu),
        ),
        Box::new(AvgPool2d::new(be, dtype, 2, 2, 0).unwrap()),
        conv(be, dtype, 64, 32, 3, 2, false, key.derive("c2")), // 1×1 output: one chunk
        bn(64, Activation::Relu),
        Box::new(Dropout::new(be, dtype, 0.2).unwrap()),
        Box::new(GlobalAvgPool::new(be, dtype)),
        Box::new(Flatten::new(be, dtype)),
        Box::new(Linear::new(be, w, None, Activation::Identity).unwrap()),
    ])
    .unwrap()
}

fn pass(threads: usize, dtype: DType, parallel_flops: Option<f64>) -> Vec<u64> {
    let mut be = CpuBackend::new(threads);
    if let Some(f) = parallel_flops {
        be = be.with_parallel_flops(f);
    }
    pass_on(&be, dtype)
}

fn pass_on(be: &CpuBackend, dtype: DType) -> Vec<u64> {
    let be = be.clone();
    let mut n = net(&be, dtype);
    n.set_path("net");
    let key = RandomKey::root(5);
    let x = Tensor::from_f64(&be, dtype, &[64, 3, 16, 16], &key.normals(64 * 3 * 256));
    let dy = Tensor::from_f64(&be, dtype, &[64, 10], &key.derive("dy").normals(640));
    let mut out = Vec::new();
    for step in 0..2 {
        n.forward(&be, &x, &ForwardCtx::new(Mode::Train, step, key));
        n.backward(&be, &x, &dy, true);
        out.extend(n.output().to_host_f64(&be));
        n.visit_params(&mut |p| out.extend(p.grad.to_host_f64(&be)));
        out.extend(n.input_grad().to_host_f64(&be));
    }
    n.visit_buffers(&mut |b| out.extend(b.value.to_host_f64(&be)));
    n.forward(&be, &x, &ForwardCtx::new(Mode::Eval, 2, key));
    out.extend(n.output().to_host_f64(&be));
    out.into_iter().map(f64::to_bits).collect()
}

#[test]
fn conv_nets_agree_bitwise_on_one_and_two_threads() {
    for dtype in [DType::F32, DType::F64] {
        let one = pass(1, dtype, None);
        assert_eq!(one, pass(1, dtype, None), "{dtype}: repeated pass differs");
        for flops in [None, Some(0.0)] {
            let two = pass(2, dtype, flops);
            let differing = one.iter().zip(&two).filter(|(a, b)| a != b).count();
            println!(
                "{dtype} (parallel_flops {flops:?}): {differing} of {} values differ",
                one.len()
            );
            assert_eq!(differing, 0, "{dtype}: thread-count invariance broken");
        }
    }
}

#[test]
fn two_callers_sharing_one_backend_get_the_single_caller_result() {
    // Threads of the shared pool waiting inside a threaded product may run the other caller's
    // tasks; scratch buffers must not be shared between them (see `cpu::scratch`).
    let reference = pass(2, DType::F32, Some(0.0));
    let be = CpuBackend::new(2).with_parallel_flops(0.0);
    let results: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let be = be.clone();
                s.spawn(move || {
                    let mut out = Vec::new();
                    for _ in 0..3 {
                        out = pass_on(&be, DType::F32);
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    for r in results {
        assert!(r == reference, "a concurrent caller got a different result");
    }
}
