//! Helpers shared by the engine tests.

use learnscope_nn::gradcheck::GradCheck;
use learnscope_nn::{CpuBackend, DType, ForwardCtx, Layer, Mode, RandomKey, Tensor};

pub fn be() -> CpuBackend {
    CpuBackend::new(1)
}

pub fn tensor(be: &CpuBackend, shape: &[usize], key: RandomKey) -> Tensor<CpuBackend> {
    let n = shape.iter().product();
    Tensor::from_f64(be, DType::F64, shape, &key.normals(n))
}

/// Gradient check of a layer for L = Σ r ⊙ layer(x) with respect to x and every parameter.
pub fn check_layer(layer: &mut dyn Layer<CpuBackend>, in_shape: &[usize], key: RandomKey) {
    let be = be();
    let ctx = ForwardCtx::new(Mode::Eval, 0, key);
    // Redraw x until no pre-activation is within 1e-4 of a kink (the stencil moves a
    // pre-activation by at most ~1e-6·‖x‖₁ ≈ 1e-5 here).
    let mut x = tensor(&be, in_shape, key.derive("x"));
    for attempt in 0..100u64 {
        x = tensor(&be, in_shape, key.derive("x").at(attempt));
        layer.forward(&be, &x, &ctx);
        let mut min_pre = f64::INFINITY;
        layer.visit_taps(&mut |n, t| {
            if n.ends_with("pre") {
                min_pre = t
                    .to_host_f64(&be)
                    .iter()
                    .fold(min_pre, |m, z| m.min(z.abs()));
            }
        });
        if min_pre > 1e-4 {
            break;
        }
    }
    check_layer_at(layer, &x, ctx);
}

/// Gradient check of a layer at input `x` in the pass described by `ctx` (e.g. `Mode::Train`
/// for batch statistics or a dropout mask, which are the same in every evaluation).
pub fn check_layer_at(layer: &mut dyn Layer<CpuBackend>, x: &Tensor<CpuBackend>, ctx: ForwardCtx) {
    let be = be();
    let in_shape = x.shape().to_vec();
    layer.forward(&be, x, &ctx);
    let out_shape = layer.output().shape().to_vec();
    let r = tensor(&be, &out_shape, ctx.key.derive("r"));
    layer.backward(&be, x, &r, true);
    let mut analytic = vec![layer.input_grad().to_host_f64(&be)];
    let mut values = vec![x.to_host_f64(&be)];
    let mut shapes = Vec::new();
    layer.visit_params(&mut |p| {
        analytic.push(p.grad.to_host_f64(&be));
        values.push(p.value.to_host_f64(&be));
        shapes.push(p.value.shape().to_vec());
    });
    let rh = r.to_host_f64(&be);
    let mut scratch = layer.clone_box();
    let loss = |vals: &[Vec<f64>]| {
        let mut i = 0;
        scratch.visit_params_mut(&mut |p| {
            i += 1;
            p.value = Tensor::from_f64(&be, DType::F64, &shapes[i - 1], &vals[i]);
        });
        let xin = Tensor::from_f64(&be, DType::F64, &in_shape, &vals[0]);
        scratch.forward(&be, &xin, &ctx);
        let y = scratch.output().to_host_f64(&be);
        y.iter().zip(&rh).map(|(a, b)| a * b).sum::<f64>()
    };
    let checked = GradCheck::default()
        .run(&values, &analytic, loss)
        .unwrap_or_else(|f| panic!("{} `{}`: {f:?}", layer.kind(), layer.path()));
    assert!(checked > 0);
}
