//! Gradient checks for every layer and composition (f64, central differences; tolerance and its
//! derivation in `learnscope_nn::gradcheck`).

use learnscope_nn::layer::{Flatten, Linear, Pointwise, Residual, Sequential};
use learnscope_nn::{Activation, DType, Layer, ParamTree, RandomKey};

use crate::common::{be, check_layer, tensor};

const ACTS: [Activation; 5] = [
    Activation::Identity,
    Activation::Relu,
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Gelu,
];

fn linear(
    out: usize,
    inp: usize,
    bias: bool,
    act: Activation,
    key: RandomKey,
) -> Linear<learnscope_nn::CpuBackend> {
    let be = be();
    let w = tensor(&be, &[out, inp], key.derive("w"));
    let b = bias.then(|| tensor(&be, &[out], key.derive("b")));
    Linear::new(&be, w, b, act).unwrap()
}

#[test]
fn linear_with_every_activation_bias_and_multiplier() {
    for (i, act) in ACTS.into_iter().enumerate() {
        for bias in [false, true] {
            for mul in [(1.0, 1.0), (0.3, 2.0)] {
                let key = RandomKey::root(i as u64).derive(&format!("{bias}{mul:?}"));
                let mut l = linear(5, 7, bias, act, key).with_multipliers(mul.0, mul.1);
                l.set_path("lin");
                // ReLU: keep away from the kink by redrawing until no |z| < 1e-4 (the stencil
                // moves z by at most ~1e-6·‖x‖₁ ≈ 1e-5).
                check_layer(&mut l, &[6, 7], key);
            }
        }
    }
}

#[test]
fn pointwise_flatten_sequential_residual() {
    let be = be();
    let key = RandomKey::root(77);
    for act in [Activation::Tanh, Activation::Sigmoid, Activation::Gelu] {
        let mut p = Pointwise::new(&be, DType::F64, act);
        check_layer(&mut p, &[4, 3, 2], key);
    }
    let mut f = Flatten::new(&be, DType::F64);
    check_layer(&mut f, &[3, 2, 4], key);

    let mut seq = Sequential::new(vec![
        Box::new(Flatten::new(&be, DType::F64)),
        Box::new(linear(6, 8, true, Activation::Tanh, key.derive("l0"))),
        Box::new(linear(5, 6, true, Activation::Gelu, key.derive("l1"))),
        Box::new(Pointwise::new(&be, DType::F64, Activation::Sigmoid)),
        Box::new(linear(3, 5, false, Activation::Identity, key.derive("l2"))),
    ])
    .unwrap();
    seq.set_path("net");
    check_layer(&mut seq, &[4, 2, 4], key);
    assert_eq!(
        seq.param_names(),
        [
            "net.1.weight",
            "net.1.bias",
            "net.2.weight",
            "net.2.bias",
            "net.4.weight"
        ]
    );

    let body = Sequential::new(vec![
        Box::new(linear(6, 6, true, Activation::Tanh, key.derive("b0"))),
        Box::new(linear(6, 6, true, Activation::Identity, key.derive("b1"))),
    ])
    .unwrap();
    let mut res = Residual::new(&be, DType::F64, Box::new(body.clone()), None);
    res.set_path("block");
    check_layer(&mut res, &[5, 6], key);
    let proj = linear(6, 6, false, Activation::Identity, key.derive("p"));
    let mut res = Residual::new(&be, DType::F64, Box::new(body), Some(Box::new(proj)));
    res.set_path("block");
    check_layer(&mut res, &[5, 6], key);
    assert!(res
        .param_names()
        .contains(&"block.shortcut.weight".to_string()));
}

#[test]
fn taps_name_every_activation_and_gradient() {
    let be = be();
    let key = RandomKey::root(3);
    let mut seq = Sequential::new(vec![
        Box::new(linear(4, 3, true, Activation::Relu, key.derive("a"))),
        Box::new(linear(2, 4, true, Activation::Identity, key.derive("b"))),
    ])
    .unwrap();
    seq.set_path("layers");
    let x = tensor(&be, &[5, 3], key);
    seq.forward(
        &be,
        &x,
        &learnscope_nn::ForwardCtx::new(learnscope_nn::Mode::Eval, 0, key),
    );
    let mut names = Vec::new();
    seq.visit_taps(&mut |n, t| {
        assert_eq!(t.shape()[0], 5);
        names.push(n.to_string())
    });
    assert_eq!(
        names,
        [
            "layers.0.pre",
            "layers.0.out",
            "layers.1.pre",
            "layers.1.out",
            "layers.out"
        ]
    );
    // The relu output is max(0, pre).
    let mut pre = Vec::new();
    let mut out = Vec::new();
    seq.visit_taps(&mut |n, t| match n {
        "layers.0.pre" => pre = t.to_host_f64(&be),
        "layers.0.out" => out = t.to_host_f64(&be),
        _ => {}
    });
    for (p, o) in pre.iter().zip(&out) {
        assert_eq!(*o, p.max(0.0));
    }
    let dy = tensor(&be, &[5, 2], key.derive("dy"));
    seq.backward(&be, &x, &dy, false);
    let mut gnames = Vec::new();
    seq.visit_grad_taps(&dy, &mut |n, _| gnames.push(n.to_string()));
    assert_eq!(gnames, names);
}

/// ReLU keeps NaN (PyTorch's `relu(nan)` is NaN; `max(0, nan)` would hide it), on every path:
/// the activation itself, the backend's elementwise op and the fused bias + activation kernel,
/// so a NaN weight behind a ReLU reaches the loss and the run is reported `diverged`.
#[test]
fn relu_keeps_nan_on_every_path() {
    use learnscope_nn::{Backend, CpuBackend, Tensor};
    let be = CpuBackend::new(1);
    assert!(Activation::Relu.apply(f64::NAN).is_nan());
    assert!(Activation::Relu.apply(f32::NAN).is_nan());
    assert_eq!(Activation::Relu.apply(-0.5f64), 0.0);
    assert_eq!(Activation::Relu.apply(2.0f64), 2.0);
    for dtype in [DType::F64, DType::F32] {
        let z = Tensor::from_f64(&be, dtype, &[1, 4], &[f64::NAN, -1.0, 0.0, 2.0]);
        let mut y = Tensor::zeros(&be, dtype, &[1, 4]);
        be.act_forward(Activation::Relu, &z, &mut y);
        let v = y.to_host_f64(&be);
        assert!(v[0].is_nan(), "{dtype}: {v:?}");
        assert_eq!(&v[1..], &[0.0, 0.0, 2.0]);
        let mut zz = z.clone();
        let mut out = Tensor::zeros(&be, dtype, &[1, 4]);
        be.bias_act_forward(&mut zz, None, Activation::Relu, Some(&mut out));
        let v = out.to_host_f64(&be);
        assert!(v[0].is_nan(), "{dtype} fused: {v:?}");
        assert_eq!(&v[1..], &[0.0, 0.0, 2.0]);
    }
}
