//! Pooling layers: forward values against direct loops, argmax rules, and gradient checks
//! (max pooling on inputs without ties, so no window's maximum can switch inside a stencil).

use learnscope_nn::layer::{AvgPool2d, GlobalAvgPool, MaxPool2d};
use learnscope_nn::{Backend, DType, ForwardCtx, Layer, Mode, RandomKey, Tensor, Window2d};

use crate::common::{be, check_layer, check_layer_at};

/// Distinct values spaced 0.01 apart (a random permutation), far wider than the 1e-6 stencil.
fn distinct(shape: &[usize], key: RandomKey) -> Vec<f64> {
    let n: usize = shape.iter().product();
    key.permutation(n)
        .into_iter()
        .map(|i| (i as f64 - n as f64 / 2.0) * 0.01)
        .collect()
}

fn naive_pool(x: &[f64], [n, c, h, w]: [usize; 4], win: &Window2d, max: bool) -> Vec<f64> {
    let (oh, ow) = win.output_hw(h, w).unwrap();
    let mut y = Vec::new();
    for plane in 0..n * c {
        for i in 0..oh {
            for j in 0..ow {
                let mut vals = Vec::new();
                for u in 0..win.kernel[0] {
                    for v in 0..win.kernel[1] {
                        let ih = (i * win.stride[0] + u) as isize - win.padding[0] as isize;
                        let iw = (j * win.stride[1] + v) as isize - win.padding[1] as isize;
                        if ih >= 0 && iw >= 0 && (ih as usize) < h && (iw as usize) < w {
                            vals.push(x[(plane * h + ih as usize) * w + iw as usize]);
                        } else {
                            vals.push(if max { f64::NEG_INFINITY } else { 0.0 });
                        }
                    }
                }
                y.push(if max {
                    vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                } else {
                    vals.iter().sum::<f64>() / vals.len() as f64
                });
            }
        }
    }
    y
}

const CASES: [([usize; 4], usize, usize, usize); 6] = [
    ([2, 3, 6, 6], 2, 2, 0),
    ([2, 2, 7, 5], 2, 2, 0),
    ([1, 2, 7, 7], 3, 2, 1),
    ([2, 1, 5, 5], 3, 1, 1),
    ([3, 2, 4, 4], 2, 1, 1),
    ([2, 2, 28, 28], 2, 2, 0),
];

#[test]
fn max_and_average_pooling_match_direct_loops() {
    let be = be();
    for (k, (shape, kernel, stride, pad)) in CASES.into_iter().enumerate() {
        let key = RandomKey::root(k as u64);
        let x = key.normals(shape.iter().product());
        let xt = Tensor::from_f64(&be, DType::F64, &shape, &x);
        let ctx = ForwardCtx::new(Mode::Eval, 0, key);
        let win = Window2d::square(kernel, stride, pad);
        let mut mp = MaxPool2d::new(&be, DType::F64, kernel, stride, pad).unwrap();
        mp.forward(&be, &xt, &ctx);
        assert_eq!(
            mp.output().to_host_f64(&be),
            naive_pool(&x, shape, &win, true),
            "max case {k}"
        );
        let mut ap = AvgPool2d::new(&be, DType::F64, kernel, stride, pad).unwrap();
        ap.forward(&be, &xt, &ctx);
        for (g, e) in ap
            .output()
            .to_host_f64(&be)
            .iter()
            .zip(naive_pool(&x, shape, &win, false))
        {
            assert!((g - e).abs() < 1e-14, "avg case {k}: {g} vs {e}");
        }
    }
    assert!(MaxPool2d::<learnscope_nn::CpuBackend>::new(&be, DType::F64, 2, 2, 2).is_err());
    assert!(AvgPool2d::<learnscope_nn::CpuBackend>::new(&be, DType::F64, 2, 0, 0).is_err());
    let mp = MaxPool2d::<learnscope_nn::CpuBackend>::new(&be, DType::F64, 3, 1, 0).unwrap();
    assert!(mp.output_shape(&[1, 2, 2]).is_err());
}

#[test]
fn max_pool_sends_gradient_to_the_first_maximum() {
    // One 2×2 window holding a tie: the gradient goes to the first maximum in row-major order,
    // as in PyTorch's CPU kernel.
    let be = be();
    let x = Tensor::from_f64(&be, DType::F32, &[1, 1, 2, 2], &[1.0, 3.0, 3.0, -1.0]);
    let mut mp = MaxPool2d::new(&be, DType::F32, 2, 2, 0).unwrap();
    mp.forward(&be, &x, &ForwardCtx::new(Mode::Eval, 0, RandomKey::root(0)));
    assert_eq!(mp.output().to_host_f64(&be), [3.0]);
    let dy = Tensor::from_f64(&be, DType::F32, &[1, 1, 1, 1], &[2.5]);
    mp.backward(&be, &x, &dy, true);
    assert_eq!(mp.input_grad().to_host_f64(&be), [0.0, 2.5, 0.0, 0.0]);
}

#[test]
fn pooling_gradients_match_central_differences() {
    let be = be();
    for (k, (shape, kernel, stride, pad)) in CASES.into_iter().enumerate() {
        let key = RandomKey::root(50 + k as u64);
        let ctx = ForwardCtx::new(Mode::Eval, 0, key);
        let x = Tensor::from_f64(&be, DType::F64, &shape, &distinct(&shape, key));
        let mut mp = MaxPool2d::new(&be, DType::F64, kernel, stride, pad).unwrap();
        mp.set_path("pool");
        check_layer_at(&mut mp, &x, ctx);
        let mut ap = AvgPool2d::new(&be, DType::F64, kernel, stride, pad).unwrap();
        check_layer(&mut ap, &shape, key);
    }
    let mut g = GlobalAvgPool::new(&be, DType::F64);
    assert_eq!(g.output_shape(&[5, 3, 4]).unwrap(), [5]);
    check_layer(&mut g, &[3, 5, 3, 4], RandomKey::root(9));
    // Global average of a constant plane is the constant.
    let x = Tensor::from_f64(
        &be,
        DType::F32,
        &[1, 2, 3, 3],
        &[[0.5; 9], [-2.0; 9]].concat(),
    );
    g.forward(&be, &x, &ForwardCtx::new(Mode::Eval, 0, RandomKey::root(0)));
    assert_eq!(g.output().to_host_f64(&be), [0.5, -2.0]);
    assert_eq!(g.output().shape(), [1, 2]);
}

#[test]
fn pooling_agrees_across_thread_counts() {
    // Large enough (2·16·32·32 = 32k elements… ×4) to take the split path on 2 threads.
    let shape = [8, 16, 32, 32];
    let key = RandomKey::root(4);
    let mut outs = Vec::new();
    for threads in [1, 2] {
        let be = learnscope_nn::CpuBackend::new(threads);
        let x = Tensor::from_f64(
            &be,
            DType::F32,
            &shape,
            &key.normals(shape.iter().product()),
        );
        let ctx = ForwardCtx::new(Mode::Train, 0, key);
        let mut out = Vec::new();
        let layers: Vec<Box<dyn Layer<learnscope_nn::CpuBackend>>> = vec![
            Box::new(MaxPool2d::new(&be, DType::F32, 3, 2, 1).unwrap()),
            Box::new(AvgPool2d::new(&be, DType::F32, 2, 2, 0).unwrap()),
            Box::new(GlobalAvgPool::new(&be, DType::F32)),
        ];
        for mut l in layers {
            l.forward(&be, &x, &ctx);
            let y = l.output().clone();
            let dy = Tensor::from_f64(
                &be,
                DType::F32,
                y.shape(),
                &key.derive("dy").normals(y.len()),
            );
            l.backward(&be, &x, &dy, true);
            out.extend(y.to_host_f64(&be));
            out.extend(l.input_grad().to_host_f64(&be));
        }
        outs.push(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        assert_eq!(be.threads(), threads);
    }
    assert!(
        outs[0] == outs[1],
        "pooling differs between 1 and 2 threads"
    );
}
