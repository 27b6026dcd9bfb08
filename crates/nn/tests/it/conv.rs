//! Convolution: the im2col + GEMM forward pass against a direct (six-loop) convolution, im2col
//! and col2im as adjoints, and gradient checks of `Conv2d` on every code path (one example per
//! product, chunks of several examples, several weight-gradient groups, 1×1 windows).

use learnscope_nn::layer::{BatchNorm, Conv2d, Residual, Sequential};
use learnscope_nn::{
    Activation, Backend, CpuBackend, DType, ForwardCtx, Layer, Mode, ParamTree, RandomKey, Tensor,
    Window2d,
};

use crate::common::{be, check_layer, check_layer_at, tensor};

/// Direct convolution in f64: y[n,o,i,j] = b_o + Σ W[o,c,u,v]·x[n,c,i·s−p+u, j·s−p+v].
#[allow(clippy::too_many_arguments)]
fn naive_conv(
    x: &[f64],
    [n, c, h, w]: [usize; 4],
    wt: &[f64],
    o: usize,
    bias: Option<&[f64]>,
    win: &Window2d,
) -> (Vec<f64>, Vec<f64>, [usize; 4]) {
    let [kh, kw] = win.kernel;
    let (oh, ow) = win.output_hw(h, w).unwrap();
    let mut y = vec![0.0; n * o * oh * ow];
    let mut y_abs = vec![0.0; n * o * oh * ow];
    for e in 0..n {
        for oc in 0..o {
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = bias.map_or(0.0, |b| b[oc]);
                    let mut abs = acc.abs();
                    for ci in 0..c {
                        for u in 0..kh {
                            for v in 0..kw {
                                let ih = (i * win.stride[0] + u) as isize - win.padding[0] as isize;
                                let iw = (j * win.stride[1] + v) as isize - win.padding[1] as isize;
                                if ih < 0 || iw < 0 || ih >= h as isize || iw >= w as isize {
                                    continue;
                                }
                                let xv = x[((e * c + ci) * h + ih as usize) * w + iw as usize];
                                let t = wt[((oc * c + ci) * kh + u) * kw + v] * xv;
                                acc += t;
                                abs += t.abs();
                            }
                        }
                    }
                    y[((e * o + oc) * oh + i) * ow + j] = acc;
                    y_abs[((e * o + oc) * oh + i) * ow + j] = abs;
                }
            }
        }
    }
    (y, y_abs, [n, o, oh, ow])
}

/// (input NCHW, output channels, window) combinations covering every path of the CPU kernels.
fn cases() -> Vec<([usize; 4], usize, Window2d)> {
    let rect = Window2d {
        kernel: [2, 3],
        stride: [2, 1],
        padding: [1, 0],
    };
    vec![
        ([2, 3, 7, 7], 4, Window2d::square(3, 1, 1)),
        ([2, 3, 8, 6], 5, Window2d::square(3, 2, 1)),
        ([2, 2, 5, 5], 3, Window2d::square(1, 1, 0)), // pointwise: no im2col
        ([3, 2, 6, 7], 2, Window2d::square(1, 2, 0)), // strided 1×1 (ResNet shortcut)
        ([2, 1, 28, 28], 4, Window2d::square(5, 1, 2)),
        ([4, 3, 4, 4], 6, Window2d::square(3, 2, 1)), // P = 4: one chunk of 4 examples
        ([70, 2, 4, 4], 3, Window2d::square(3, 2, 1)), // P = 4: 3 chunks, 3 groups
        ([20, 2, 2, 2], 3, Window2d::square(3, 2, 1)), // P = 1 (VGG's last block)
        ([2, 2, 6, 5], 3, rect),
        ([1, 1, 2, 2], 2, Window2d::square(3, 1, 1)), // kernel larger than the input
        ([3, 2, 9, 9], 2, Window2d::square(3, 3, 0)),
        ([2, 2, 5, 5], 2, Window2d::square(2, 2, 1)),
        ([2, 1, 1, 1], 2, Window2d::square(5, 1, 2)), // 1×1 plane, kernel reads mostly padding
        ([2, 2, 1, 3], 2, Window2d::square(5, 1, 2)),
        ([2, 2, 3, 1], 3, Window2d::square(3, 1, 1)),
    ]
}

#[test]
fn forward_matches_direct_convolution() {
    for threads in [1, 2] {
        // Threshold 0 so the 2-thread backend takes the threaded paths even on tiny inputs.
        let be = CpuBackend::new(threads).with_parallel_flops(0.0);
        for (k, (shape, o, win)) in cases().into_iter().enumerate() {
            let key = RandomKey::root(k as u64);
            let c = shape[1];
            let x = key.derive("x").normals(shape.iter().product());
            let wt = key
                .derive("w")
                .normals(o * c * win.kernel[0] * win.kernel[1]);
            let b = key.derive("b").normals(o);
            for bias in [false, true] {
                let (want, want_abs, out_shape) =
                    naive_conv(&x, shape, &wt, o, bias.then_some(&b[..]), &win);
                for dtype in [DType::F64, DType::F32] {
                    let xt = Tensor::from_f64(&be, dtype, &shape, &x);
                    let wshape = [o, c, win.kernel[0], win.kernel[1]];
                    let w = Tensor::from_f64(&be, dtype, &wshape, &wt);
                    let bt = Tensor::from_f64(&be, dtype, &[o], &b);
                    let mut y = Tensor::zeros(&be, dtype, &out_shape);
                    be.conv2d_forward(
                        &xt,
                        &w,
                        bias.then_some(&bt),
                        &win,
                        &mut y,
                        Activation::Identity,
                        None,
                    );
                    let got = y.to_host_f64(&be);
                    // An output sums T = C·k_h·k_w + 1 terms: in any order the rounding error is
                    // at most T·ε·Σ|terms| (Higham, recursive summation), plus 2ε·Σ|terms| for
                    // rounding x and W to the dtype.
                    let terms = (c * win.kernel[0] * win.kernel[1] + 3) as f64;
                    let eps = if dtype == DType::F64 {
                        f64::EPSILON
                    } else {
                        f32::EPSILON as f64
                    };
                    for (i, ((g, e), a)) in got.iter().zip(&want).zip(&want_abs).enumerate() {
                        assert!(
                            (g - e).abs() <= terms * eps * a,
                            "case {k} {dtype} bias={bias} threads={threads} at {i}: {g} vs {e}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn im2col_and_col2im_are_adjoint() {
    // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for random x and c, on examples 1..n of the batch.
    let be = be();
    for (k, (shape, _, win)) in cases().into_iter().enumerate() {
        let [n, c, h, w] = shape;
        if n < 2 {
            continue;
        }
        let key = RandomKey::root(100 + k as u64);
        let (oh, ow) = win.output_hw(h, w).unwrap();
        let rows = c * win.kernel[0] * win.kernel[1];
        let count = n - 1;
        let x = tensor(&be, &shape, key.derive("x"));
        let cm = tensor(&be, &[rows, count * oh * ow], key.derive("c"));
        let mut cols = Tensor::zeros(&be, DType::F64, &[rows, count * oh * ow]);
        be.im2col(&x, &win, 1, &mut cols);
        let mut dx = tensor(&be, &shape, key.derive("dx0"));
        let before = dx.to_host_f64(&be);
        be.col2im(&cm, &win, 1, &mut dx);
        let lhs = be.dot(&cols, &cm);
        let dxh = dx.to_host_f64(&be);
        let per = c * h * w;
        // Example 0 is untouched by col2im of examples 1..n.
        assert_eq!(dxh[..per], before[..per], "case {k}");
        let xh = x.to_host_f64(&be);
        let rhs: f64 = xh[per..].iter().zip(&dxh[per..]).map(|(a, b)| a * b).sum();
        assert!(
            (lhs - rhs).abs() <= 1e-10 * lhs.abs().max(1.0),
            "case {k}: {lhs} vs {rhs}"
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn conv(
    o: usize,
    c: usize,
    k: usize,
    stride: usize,
    pad: usize,
    bias: bool,
    act: Activation,
    key: RandomKey,
) -> Conv2d<CpuBackend> {
    let be = be();
    let scale = 1.0 / ((c * k * k) as f64).sqrt();
    let w: Vec<f64> = key
        .derive("w")
        .normals(o * c * k * k)
        .iter()
        .map(|v| v * scale)
        .collect();
    let w = Tensor::from_f64(&be, DType::F64, &[o, c, k, k], &w);
    let b = bias.then(|| tensor(&be, &[o], key.derive("b")));
    Conv2d::new(&be, w, b, stride, pad, act).unwrap()
}

#[test]
fn conv2d_gradients_match_central_differences() {
    let acts = [Activation::Identity, Activation::Relu, Activation::Tanh];
    let configs: [([usize; 4], usize, usize, usize, usize); 7] = [
        ([3, 2, 5, 6], 4, 3, 1, 1),
        ([2, 3, 6, 6], 2, 3, 2, 1),
        ([2, 3, 5, 5], 3, 1, 1, 0),
        ([2, 3, 6, 5], 3, 1, 2, 0),
        ([12, 2, 3, 3], 3, 3, 2, 1), // P = 4: one chunk of 12
        ([70, 2, 3, 3], 2, 3, 2, 1), // 3 chunks, 3 weight groups
        ([2, 2, 4, 4], 3, 2, 2, 1),
    ];
    for (i, (shape, o, k, s, p)) in configs.into_iter().enumerate() {
        for (j, act) in acts.into_iter().enumerate() {
            let key = RandomKey::root(1000 + 10 * i as u64 + j as u64);
            let mut l = conv(o, shape[1], k, s, p, j != 1, act, key);
            l.set_path("conv");
            check_layer(&mut l, &shape, key);
        }
    }
}

#[test]
fn conv_and_batch_norm_compose_into_residual_blocks() {
    // A ResNet basic block with a downsampling shortcut (1×1 stride-2 conv + BN) and the ReLU
    // after the sum; checked in Eval mode (running statistics) and Train mode (batch statistics).
    let be = be();
    let key = RandomKey::root(55);
    let bn = |c: usize, act| -> Box<dyn Layer<CpuBackend>> {
        Box::new(BatchNorm::new(&be, DType::F64, c, act).unwrap())
    };
    let body = Sequential::named(vec![
        (
            "conv1",
            Box::new(conv(
                4,
                2,
                3,
                2,
                1,
                false,
                Activation::Identity,
                key.derive("c1"),
            )) as Box<dyn Layer<CpuBackend>>,
        ),
        ("bn1", bn(4, Activation::Relu)),
        (
            "conv2",
            Box::new(conv(
                4,
                4,
                3,
                1,
                1,
                false,
                Activation::Identity,
                key.derive("c2"),
            )),
        ),
        ("bn2", bn(4, Activation::Identity)),
    ])
    .unwrap();
    let short = Sequential::named(vec![
        (
            "conv",
            Box::new(conv(
                4,
                2,
                1,
                2,
                0,
                false,
                Activation::Identity,
                key.derive("s"),
            )) as Box<dyn Layer<CpuBackend>>,
        ),
        ("bn", bn(4, Activation::Identity)),
    ])
    .unwrap();
    let mut block = Residual::new(&be, DType::F64, Box::new(body), Some(Box::new(short)))
        .with_activation(Activation::Relu);
    block.set_path("blocks.1");
    assert_eq!(block.output_shape(&[2, 6, 6]).unwrap(), [4, 3, 3]);
    assert_eq!(
        block.param_names(),
        [
            "blocks.1.body.conv1.weight",
            "blocks.1.body.bn1.weight",
            "blocks.1.body.bn1.bias",
            "blocks.1.body.conv2.weight",
            "blocks.1.body.bn2.weight",
            "blocks.1.body.bn2.bias",
            "blocks.1.shortcut.conv.weight",
            "blocks.1.shortcut.bn.weight",
            "blocks.1.shortcut.bn.bias",
        ]
    );
    let mut bufs = Vec::new();
    block.visit_buffers(&mut |b| bufs.push(b.name.clone()));
    assert_eq!(bufs.len(), 6);
    assert!(bufs.contains(&"blocks.1.shortcut.bn.running_var".to_string()));
    check_layer(&mut block, &[3, 2, 6, 6], key);
    let x = tensor(&be, &[3, 2, 6, 6], key.derive("xt"));
    check_layer_at(&mut block, &x, ForwardCtx::new(Mode::Train, 0, key));
    let mut taps = Vec::new();
    block.visit_taps(&mut |n, _| taps.push(n.to_string()));
    assert!(
        taps.ends_with(&["blocks.1.pre".to_string(), "blocks.1.out".to_string()]),
        "{taps:?}"
    );
}
