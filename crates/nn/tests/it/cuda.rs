//! The CUDA backend (feature `cuda`): the error on a machine without the driver, and, when a
//! device is present, every `Backend` operation and the layers against `CpuBackend`. (The
//! kernel sources are checked without the feature, in `cuda_kernels.rs`.)
//!
//! Tolerances, relative to the largest magnitude in the reference result:
//! - f64: 1e-10. Elementwise kernels follow the CPU's arithmetic (no FMA contraction), so they
//!   differ at most by the device's `exp`/`tanh`/`erf` (≤ 2 ulp); products and channel sums are
//!   added in a different order, which for the k ≤ 300 terms here costs at most k·ε ≈ 7e-14.
//! - f32: 1e-4. The same reordering bound is k·ε = 300 · 1.2e-7 ≈ 3.6e-5 (the CPU's f32 `gemm`
//!   and cuBLAS both accumulate in f32), plus a few ulp from the device's transcendental
//!   functions; 1e-4 leaves a factor ~3 of margin and is still ~100× below any real bug's error.
//!
//! Tests that need a device print `skipped: no CUDA device (<reason>)` and return when
//! `CudaBackend::new(0)` fails, so the suite passes on machines without one.

use learnscope_nn::cuda::{CudaBackend, CudaError};
use learnscope_nn::layer::{
    AvgPool2d, BatchNorm, Conv2d, Dropout, GlobalAvgPool, Linear, MaxPool2d, Sequential,
};
use learnscope_nn::loss::{LossKind, Reduction, Targets};
use learnscope_nn::optim::{AdamHyper, SgdHyper};
use learnscope_nn::{
    Activation, Backend, CpuBackend, DType, ForwardCtx, Layer, Mode, ParamTree, RandomKey, Tensor,
    Transpose, Window2d,
};

const ACTS: [Activation; 5] = [
    Activation::Identity,
    Activation::Relu,
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Gelu,
];

#[test]
fn new_never_panics_and_names_what_is_missing() {
    match CudaBackend::new(0) {
        Ok(be) => println!("a CUDA device is present: {be:?}"),
        Err(e) => {
            let msg = e.to_string();
            println!("CudaBackend::new(0): {msg}");
            assert!(!msg.is_empty());
            if let CudaError::MissingLibrary { library, .. } = &e {
                assert!(
                    msg.contains(library) && msg.contains("install"),
                    "the error names the library and what to install: {msg}"
                );
                assert!(
                    ["libcuda.so.1", "libcublas", "libnvrtc"]
                        .iter()
                        .any(|l| library.contains(l)),
                    "{library}"
                );
            }
        }
    }
    // A device that cannot exist is an error too, never a panic.
    assert!(CudaBackend::new(1 << 20).is_err());
}

// ---- conformance with the CPU backend (needs a device) ----

fn device() -> Option<CudaBackend> {
    match CudaBackend::new(0) {
        Ok(be) => Some(be),
        Err(e) => {
            println!("skipped: no CUDA device ({e})");
            None
        }
    }
}

fn tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::F64 => 1e-10,
        DType::F32 => 1e-4,
    }
}

/// A CPU tensor and its copy on the device.
struct Pair {
    cpu: Tensor<CpuBackend>,
    gpu: Tensor<CudaBackend>,
}

struct Harness {
    cpu: CpuBackend,
    gpu: CudaBackend,
    dtype: DType,
    key: RandomKey,
    checks: usize,
}

impl Harness {
    fn pair(&self, shape: &[usize], data: &[f64]) -> Pair {
        Pair {
            cpu: Tensor::from_f64(&self.cpu, self.dtype, shape, data),
            gpu: Tensor::from_f64(&self.gpu, self.dtype, shape, data),
        }
    }

    fn normal(&self, name: &str, shape: &[usize]) -> Pair {
        let n = shape.iter().product();
        self.pair(shape, &self.key.derive(name).normals(n))
    }

    /// A pair filled with values no result has (so an op that must overwrite is seen to).
    fn dirty(&self, shape: &[usize]) -> Pair {
        let n = shape.iter().product();
        self.pair(shape, &self.key.derive("dirty").uniforms(n, 5.0, 9.0))
    }

    fn check(&mut self, what: &str, p: &Pair) {
        let a = p.cpu.to_host_f64(&self.cpu);
        let b = p.gpu.to_host_f64(&self.gpu);
        self.check_values(what, &a, &b);
    }

    fn check_values(&mut self, what: &str, a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
        let tol = tolerance(self.dtype);
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            let ok = (x.is_nan() && y.is_nan()) || (x - y).abs() <= tol * scale;
            assert!(
                ok,
                "{what} ({}): element {i}: cpu {x} vs cuda {y} (tolerance {tol} × {scale})",
                self.dtype
            );
        }
        self.checks += 1;
    }

    fn check_scalar(&mut self, what: &str, a: f64, b: f64) {
        self.check_values(what, &[a], &[b]);
    }
}

fn harnesses() -> Vec<Harness> {
    let Some(gpu) = device() else { return vec![] };
    [DType::F64, DType::F32]
        .into_iter()
        .map(|dtype| Harness {
            cpu: CpuBackend::new(1),
            gpu: gpu.clone(),
            dtype,
            key: RandomKey::root(2024),
            checks: 0,
        })
        .collect()
}

fn elementwise_and_reductions(h: &mut Harness) {
    let shape = [37, 129];
    let x = h.normal("x", &shape);
    let mut y = h.normal("y", &shape);
    let mut out = h.dirty(&shape);

    let mut f = h.dirty(&shape);
    h.cpu.fill(&mut f.cpu, 0.375);
    h.gpu.fill(&mut f.gpu, 0.375);
    h.check("fill", &f);
    let mut c = h.dirty(&shape);
    h.cpu.copy(&x.cpu, &mut c.cpu);
    h.gpu.copy(&x.gpu, &mut c.gpu);
    h.check("copy", &c);
    // A column block into the middle of a wider matrix (ensemble logits); the rest untouched.
    let mut wide = h.dirty(&[37, 300]);
    h.cpu.copy_columns(&x.cpu, 5, &mut wide.cpu, 140, 100);
    h.gpu.copy_columns(&x.gpu, 5, &mut wide.gpu, 140, 100);
    h.check("copy_columns", &wide);
    h.cpu.scale(&mut c.cpu, -1.7);
    h.gpu.scale(&mut c.gpu, -1.7);
    h.check("scale", &c);
    h.cpu.axpy(0.3, &x.cpu, &mut y.cpu);
    h.gpu.axpy(0.3, &x.gpu, &mut y.gpu);
    h.check("axpy", &y);
    h.cpu.add(&x.cpu, &y.cpu, &mut out.cpu);
    h.gpu.add(&x.gpu, &y.gpu, &mut out.gpu);
    h.check("add", &out);
    h.cpu.mul(&x.cpu, &y.cpu, &mut out.cpu);
    h.gpu.mul(&x.gpu, &y.gpu, &mut out.gpu);
    h.check("mul", &out);
    for n in [1usize, 4095, 4096, 4097, 20_000] {
        let a = h.normal(&format!("da{n}"), &[n]);
        let b = h.normal(&format!("db{n}"), &[n]);
        let (dc, dg) = (h.cpu.dot(&a.cpu, &b.cpu), h.gpu.dot(&a.gpu, &b.gpu));
        // A dot product is relative to Σ|aᵢbᵢ|, not to its (cancelling) value.
        let mag = h.cpu.dot(&a.cpu, &a.cpu).sqrt() * h.cpu.dot(&b.cpu, &b.cpu).sqrt();
        assert!(
            (dc - dg).abs() <= tolerance(h.dtype) * mag,
            "dot {n}: {dc} vs {dg}"
        );
        h.checks += 1;
    }
    for scale in [1.0, 0.25] {
        let mut s = h.dirty(&[129]);
        h.cpu.sum_rows(&x.cpu, scale, &mut s.cpu);
        h.gpu.sum_rows(&x.gpu, scale, &mut s.gpu);
        h.check("sum_rows", &s);
    }
}

fn products(h: &mut Harness) {
    let (m, k, n) = (33, 70, 45);
    for (lt, rt) in [
        (Transpose::No, Transpose::No),
        (Transpose::Yes, Transpose::No),
        (Transpose::No, Transpose::Yes),
        (Transpose::Yes, Transpose::Yes),
    ] {
        let ls = if lt == Transpose::Yes { [k, m] } else { [m, k] };
        let rs = if rt == Transpose::Yes { [n, k] } else { [k, n] };
        let l = h.normal("l", &ls);
        let r = h.normal("r", &rs);
        for (alpha, beta) in [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.3)] {
            let mut d = h.normal("d", &[m, n]);
            h.cpu.gemm(&mut d.cpu, &l.cpu, lt, &r.cpu, rt, alpha, beta);
            h.gpu.gemm(&mut d.gpu, &l.gpu, lt, &r.gpu, rt, alpha, beta);
            h.check(&format!("gemm {lt:?} {rt:?} α={alpha} β={beta}"), &d);
        }
    }
}

fn activations(h: &mut Harness) {
    let shape = [17, 23];
    for act in ACTS {
        for bias in [false, true] {
            for with_out in [false, true] {
                let mut z = h.normal("z", &shape);
                let b = h.normal("b", &[23]);
                let mut o = h.dirty(&shape);
                h.cpu.bias_act_forward(
                    &mut z.cpu,
                    bias.then_some((&b.cpu, 0.7)),
                    act,
                    with_out.then_some(&mut o.cpu),
                );
                h.gpu.bias_act_forward(
                    &mut z.gpu,
                    bias.then_some((&b.gpu, 0.7)),
                    act,
                    with_out.then_some(&mut o.gpu),
                );
                h.check(&format!("bias_act z {act:?} {bias}"), &z);
                if with_out {
                    h.check(&format!("bias_act out {act:?} {bias}"), &o);
                }
            }
        }
        let z = h.normal("z", &shape);
        let mut y = h.dirty(&shape);
        h.cpu.act_forward(act, &z.cpu, &mut y.cpu);
        h.gpu.act_forward(act, &z.gpu, &mut y.gpu);
        h.check(&format!("act_forward {act:?}"), &y);
        let dy = h.normal("dy", &shape);
        let mut dz = h.dirty(&shape);
        h.cpu
            .act_backward(act, &z.cpu, &y.cpu, &dy.cpu, &mut dz.cpu);
        h.gpu
            .act_backward(act, &z.gpu, &y.gpu, &dy.gpu, &mut dz.gpu);
        h.check(&format!("act_backward {act:?}"), &dz);
    }
}

fn windows() -> Vec<(Window2d, [usize; 4])> {
    vec![
        (Window2d::square(3, 1, 1), [3, 4, 9, 8]),
        (Window2d::square(3, 2, 1), [2, 3, 11, 10]),
        (Window2d::square(2, 2, 0), [2, 5, 8, 8]),
        (Window2d::square(1, 1, 0), [3, 6, 5, 5]),
        (
            Window2d {
                kernel: [2, 3],
                stride: [1, 2],
                padding: [1, 0],
            },
            [2, 2, 6, 9],
        ),
    ]
}

fn convolutions(h: &mut Harness) {
    for (wi, (win, [n, c, hh, ww])) in windows().into_iter().enumerate() {
        let (oh, ow) = win.output_hw(hh, ww).unwrap();
        let x = h.normal(&format!("x{wi}"), &[n, c, hh, ww]);
        let ckk = win.col_rows(c);
        let p = oh * ow;
        // im2col / col2im of examples 1..n.
        let mut cols = h.dirty(&[ckk, (n - 1) * p]);
        h.cpu.im2col(&x.cpu, &win, 1, &mut cols.cpu);
        h.gpu.im2col(&x.gpu, &win, 1, &mut cols.gpu);
        h.check(&format!("im2col {win:?}"), &cols);
        let mut dx = h.normal("dx0", &[n, c, hh, ww]);
        h.cpu.col2im(&cols.cpu, &win, 1, &mut dx.cpu);
        h.gpu.col2im(&cols.gpu, &win, 1, &mut dx.gpu);
        h.check(&format!("col2im {win:?}"), &dx);

        let o = 5;
        let w = h.normal("w", &[o, c, win.kernel[0], win.kernel[1]]);
        let b = h.normal("b", &[o]);
        for (bias, act) in [(false, Activation::Identity), (true, Activation::Relu)] {
            let mut z = h.dirty(&[n, o, oh, ow]);
            let mut y = h.dirty(&[n, o, oh, ow]);
            let with_y = act != Activation::Identity;
            h.cpu.conv2d_forward(
                &x.cpu,
                &w.cpu,
                bias.then_some(&b.cpu),
                &win,
                &mut z.cpu,
                act,
                with_y.then_some(&mut y.cpu),
            );
            h.gpu.conv2d_forward(
                &x.gpu,
                &w.gpu,
                bias.then_some(&b.gpu),
                &win,
                &mut z.gpu,
                act,
                with_y.then_some(&mut y.gpu),
            );
            h.check(&format!("conv2d_forward z {win:?} {bias}"), &z);
            if with_y {
                h.check(&format!("conv2d_forward y {win:?}"), &y);
            }
        }
        let dy = h.normal("dy", &[n, o, oh, ow]);
        let mut dxc = h.dirty(&[n, c, hh, ww]);
        h.cpu
            .conv2d_backward_input(&dy.cpu, &w.cpu, &win, &mut dxc.cpu);
        h.gpu
            .conv2d_backward_input(&dy.gpu, &w.gpu, &win, &mut dxc.gpu);
        h.check(&format!("conv2d_backward_input {win:?}"), &dxc);
        let mut dw = h.dirty(&[o, c, win.kernel[0], win.kernel[1]]);
        let mut db = h.dirty(&[o]);
        h.cpu
            .conv2d_backward_weight(&x.cpu, &dy.cpu, &win, &mut dw.cpu, Some(&mut db.cpu));
        h.gpu
            .conv2d_backward_weight(&x.gpu, &dy.gpu, &win, &mut dw.gpu, Some(&mut db.gpu));
        h.check(&format!("conv2d_backward_weight dw {win:?}"), &dw);
        h.check(&format!("conv2d_backward_weight db {win:?}"), &db);
    }
}

fn pooling(h: &mut Harness) {
    for (win, [n, c, hh, ww]) in windows() {
        if 2 * win.padding[0] > win.kernel[0] || 2 * win.padding[1] > win.kernel[1] {
            continue;
        }
        let (oh, ow) = win.output_hw(hh, ww).unwrap();
        let x = h.normal("px", &[n, c, hh, ww]);
        let mut y = h.dirty(&[n, c, oh, ow]);
        let mut arg = h.dirty(&[n, c, oh, ow]);
        h.cpu
            .max_pool2d_forward(&x.cpu, &win, &mut y.cpu, &mut arg.cpu);
        h.gpu
            .max_pool2d_forward(&x.gpu, &win, &mut y.gpu, &mut arg.gpu);
        h.check(&format!("max_pool2d_forward y {win:?}"), &y);
        assert_eq!(
            arg.cpu.to_host_f64(&h.cpu),
            arg.gpu.to_host_f64(&h.gpu),
            "max-pool argmax {win:?}"
        );
        let dy = h.normal("pdy", &[n, c, oh, ow]);
        let mut dx = h.dirty(&[n, c, hh, ww]);
        h.cpu.max_pool2d_backward(&dy.cpu, &arg.cpu, &mut dx.cpu);
        h.gpu.max_pool2d_backward(&dy.gpu, &arg.gpu, &mut dx.gpu);
        h.check(&format!("max_pool2d_backward {win:?}"), &dx);
        let mut ya = h.dirty(&[n, c, oh, ow]);
        h.cpu.avg_pool2d_forward(&x.cpu, &win, &mut ya.cpu);
        h.gpu.avg_pool2d_forward(&x.gpu, &win, &mut ya.gpu);
        h.check(&format!("avg_pool2d_forward {win:?}"), &ya);
        let mut dxa = h.dirty(&[n, c, hh, ww]);
        h.cpu.avg_pool2d_backward(&dy.cpu, &win, &mut dxa.cpu);
        h.gpu.avg_pool2d_backward(&dy.gpu, &win, &mut dxa.gpu);
        h.check(&format!("avg_pool2d_backward {win:?}"), &dxa);
        let mut g = h.dirty(&[n, c]);
        h.cpu.global_avg_pool_forward(&x.cpu, &mut g.cpu);
        h.gpu.global_avg_pool_forward(&x.gpu, &mut g.gpu);
        h.check("global_avg_pool_forward", &g);
        let gdy = h.normal("gdy", &[n, c]);
        let mut gdx = h.dirty(&[n, c, hh, ww]);
        h.cpu.global_avg_pool_backward(&gdy.cpu, &mut gdx.cpu);
        h.gpu.global_avg_pool_backward(&gdy.gpu, &mut gdx.gpu);
        h.check("global_avg_pool_backward", &gdx);
    }
    // Ties go to the first maximum in both backends.
    let x = h.pair(&[1, 1, 2, 2], &[1.0, 1.0, 1.0, 0.0]);
    let win = Window2d::square(2, 2, 0);
    let mut y = h.dirty(&[1, 1, 1, 1]);
    let mut arg = h.dirty(&[1, 1, 1, 1]);
    h.gpu
        .max_pool2d_forward(&x.gpu, &win, &mut y.gpu, &mut arg.gpu);
    assert_eq!(arg.gpu.to_host_f64(&h.gpu), [0.0]);
}

fn batch_norm(h: &mut Harness) {
    for shape in [vec![6, 5, 4, 3], vec![9, 7]] {
        let c = shape[1];
        let x = h.normal("bx", &shape);
        let mut mean = h.dirty(&[c]);
        let mut var = h.dirty(&[c]);
        h.cpu.batch_norm_stats(&x.cpu, &mut mean.cpu, &mut var.cpu);
        h.gpu.batch_norm_stats(&x.gpu, &mut mean.gpu, &mut var.gpu);
        h.check("batch_norm_stats mean", &mean);
        h.check("batch_norm_stats var", &var);
        let gamma = h.normal("g", &[c]);
        let beta = h.normal("be", &[c]);
        for act in [Activation::Identity, Activation::Relu] {
            let mut z = h.dirty(&shape);
            let mut y = h.dirty(&shape);
            let with_y = act != Activation::Identity;
            h.cpu.batch_norm_forward(
                &x.cpu,
                &mean.cpu,
                &var.cpu,
                1e-5,
                &gamma.cpu,
                &beta.cpu,
                &mut z.cpu,
                act,
                with_y.then_some(&mut y.cpu),
            );
            h.gpu.batch_norm_forward(
                &x.gpu,
                &mean.gpu,
                &var.gpu,
                1e-5,
                &gamma.gpu,
                &beta.gpu,
                &mut z.gpu,
                act,
                with_y.then_some(&mut y.gpu),
            );
            h.check("batch_norm_forward z", &z);
            if with_y {
                h.check("batch_norm_forward y", &y);
            }
        }
        let dz = h.normal("bdz", &shape);
        for batch_stats in [true, false] {
            for with_dx in [true, false] {
                let mut dx = h.dirty(&shape);
                let mut dg = h.dirty(&[c]);
                let mut db = h.dirty(&[c]);
                h.cpu.batch_norm_backward(
                    &x.cpu,
                    &dz.cpu,
                    &mean.cpu,
                    &var.cpu,
                    1e-5,
                    &gamma.cpu,
                    batch_stats,
                    with_dx.then_some(&mut dx.cpu),
                    &mut dg.cpu,
                    &mut db.cpu,
                );
                h.gpu.batch_norm_backward(
                    &x.gpu,
                    &dz.gpu,
                    &mean.gpu,
                    &var.gpu,
                    1e-5,
                    &gamma.gpu,
                    batch_stats,
                    with_dx.then_some(&mut dx.gpu),
                    &mut dg.gpu,
                    &mut db.gpu,
                );
                h.check("batch_norm_backward dgamma", &dg);
                h.check("batch_norm_backward dbeta", &db);
                if with_dx {
                    // dx subtracts near-equal terms (dz − dβ/M − x̂·dγ/M): compare to dz's scale.
                    h.check(&format!("batch_norm_backward dx {batch_stats}"), &dx);
                }
            }
        }
    }
}

/// A loss, its logits, and dense targets or class labels.
type LossCase<'a> = (LossKind, &'a Pair, Option<&'a Pair>, Option<&'a [u32]>);

fn losses(h: &mut Harness) {
    let (b, c) = (13, 6);
    let logits = h.normal("logits", &[b, c]);
    let labels: Vec<u32> = (0..b as u32).map(|i| (i * 7 + 3) % c as u32).collect();
    let binary: Vec<u32> = (0..b as u32).map(|i| i % 2).collect();
    let soft = {
        let raw = h.key.derive("soft").uniforms(b * c, 0.0, 1.0);
        let mut v = raw.clone();
        for i in 0..b {
            let s: f64 = raw[i * c..(i + 1) * c].iter().sum();
            for j in 0..c {
                v[i * c + j] = raw[i * c + j] / s;
            }
        }
        h.pair(&[b, c], &v)
    };
    let signs: Vec<f64> = (0..b * c)
        .map(|i| if i % 3 == 0 { -1.0 } else { 1.0 })
        .collect();
    let signs = h.pair(&[b, c], &signs);
    let dense = h.normal("dense", &[b, c]);
    let logit1 = h.normal("logit1", &[b, 1]);
    for reduction in [Reduction::Mean, Reduction::Sum] {
        let cases: Vec<LossCase<'_>> = vec![
            (LossKind::Mse, &logits, Some(&dense), None),
            (LossKind::Mse, &logits, None, Some(&labels)),
            (LossKind::Bce, &logits, Some(&soft), None),
            (LossKind::Bce, &logit1, None, Some(&binary)),
            (LossKind::CrossEntropy, &logits, None, Some(&labels)),
            (LossKind::CrossEntropy, &logits, Some(&soft), None),
            (
                LossKind::SpectralDecouplingCe { lambda: 0.3 },
                &logits,
                None,
                Some(&labels),
            ),
            (
                LossKind::SpectralDecouplingBce { lambda: 0.2 },
                &logit1,
                None,
                Some(&binary),
            ),
            (LossKind::Hinge, &logits, Some(&signs), None),
            (LossKind::Hinge, &logit1, None, Some(&binary)),
            (LossKind::MulticlassHinge, &logits, None, Some(&labels)),
        ];
        for (kind, f, dense_t, classes) in cases {
            let shape = f.cpu.shape().to_vec();
            let mut g = h.dirty(&shape);
            let (tc, tg) = match (dense_t, classes) {
                (Some(t), _) => (Targets::Dense(&t.cpu), Targets::Dense(&t.gpu)),
                (None, Some(l)) => (Targets::Classes(l), Targets::Classes(l)),
                _ => unreachable!(),
            };
            let lc = h.cpu.loss(&kind, reduction, &f.cpu, &tc, &mut g.cpu);
            let lg = h.gpu.loss(&kind, reduction, &f.gpu, &tg, &mut g.gpu);
            h.check_scalar(&format!("loss {kind:?} {reduction:?}"), lc, lg);
            h.check(&format!("loss grad {kind:?} {reduction:?}"), &g);
        }
    }
}

fn optimizers(h: &mut Harness) {
    let shape = [41, 17];
    let g = h.normal("grad", &shape);
    for (momentum, nesterov, first_step) in [
        (0.0, false, true),
        (0.9, false, true),
        (0.9, false, false),
        (0.9, true, false),
    ] {
        let mut p = h.normal("p", &shape);
        let mut buf = h.normal("buf", &shape);
        let hyper = SgdHyper {
            lr: 0.05,
            momentum,
            dampening: 0.1,
            weight_decay: 1e-3,
            nesterov,
            first_step,
        };
        let with_buf = momentum > 0.0;
        h.cpu
            .sgd_update(&mut p.cpu, &g.cpu, with_buf.then_some(&mut buf.cpu), &hyper);
        h.gpu
            .sgd_update(&mut p.gpu, &g.gpu, with_buf.then_some(&mut buf.gpu), &hyper);
        h.check(&format!("sgd param {hyper:?}"), &p);
        if with_buf {
            h.check(&format!("sgd buffer {hyper:?}"), &buf);
        }
    }
    for decoupled in [false, true] {
        let mut p = h.normal("ap", &shape);
        let mut m = h.normal("am", &shape);
        let sq: Vec<f64> = h.key.derive("av").uniforms(41 * 17, 0.0, 2.0);
        let mut v = h.pair(&shape, &sq);
        let hyper = AdamHyper {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            decoupled,
            step: 3,
        };
        h.cpu
            .adam_update(&mut p.cpu, &g.cpu, &mut m.cpu, &mut v.cpu, &hyper);
        h.gpu
            .adam_update(&mut p.gpu, &g.gpu, &mut m.gpu, &mut v.gpu, &hyper);
        h.check(&format!("adam param {decoupled}"), &p);
        h.check(&format!("adam m {decoupled}"), &m);
        h.check(&format!("adam v {decoupled}"), &v);
    }
}

fn randomness(h: &mut Harness) {
    let key = h.key.derive("dropout/net.2").at(5);
    for keep in [0.5, 0.9] {
        let mut m = h.dirty(&[1000, 33]);
        h.cpu.bernoulli_mask(key, keep, &mut m.cpu);
        h.gpu.bernoulli_mask(key, keep, &mut m.gpu);
        assert_eq!(
            m.cpu.to_host_f64(&h.cpu),
            m.gpu.to_host_f64(&h.gpu),
            "dropout masks differ (keep {keep})"
        );
        h.checks += 1;
    }
}

fn storage(h: &mut Harness) {
    let data: Vec<f64> = (0..10).map(|i| i as f64 * 0.25 - 1.0).collect();
    let t = Tensor::from_f64(&h.gpu, h.dtype, &[2, 5], &data);
    assert_eq!(t.to_host_f64(&h.gpu), data);
    let e = Tensor::<CudaBackend>::empty(&h.gpu, h.dtype);
    assert!(e.is_empty() && e.to_host_f64(&h.gpu).is_empty());
    let c = t.clone();
    assert_eq!(
        c.to_host_f64(&h.gpu),
        data,
        "clone copies the device memory"
    );
}

#[test]
fn every_backend_op_agrees_with_the_cpu_backend() {
    for mut h in harnesses() {
        storage(&mut h);
        elementwise_and_reductions(&mut h);
        products(&mut h);
        activations(&mut h);
        convolutions(&mut h);
        pooling(&mut h);
        batch_norm(&mut h);
        losses(&mut h);
        optimizers(&mut h);
        randomness(&mut h);
        println!("{}: {} checks agree", h.dtype, h.checks);
    }
}

// ---- layers (needs a device) ----

/// Runs `make(be)` on both backends with the same input: forward (train mode), backward with
/// the same output gradient, then compares outputs, input gradients and parameter gradients.
fn compare_layer<F>(h: &mut Harness, what: &str, in_shape: &[usize], make: F)
where
    F: Fn(
        &dyn Fn(&str, &[usize]) -> Vec<f64>,
    ) -> (Box<dyn Layer<CpuBackend>>, Box<dyn Layer<CudaBackend>>),
{
    let key = h.key.derive(what);
    let draw = |name: &str, shape: &[usize]| key.derive(name).normals(shape.iter().product());
    let (mut lc, mut lg) = make(&draw);
    let x = h.pair(in_shape, &draw("x", in_shape));
    let ctx = ForwardCtx::new(Mode::Train, 3, key);
    lc.forward(&h.cpu, &x.cpu, &ctx);
    lg.forward(&h.gpu, &x.gpu, &ctx);
    let yc = lc.output().to_host_f64(&h.cpu);
    let yg = lg.output().to_host_f64(&h.gpu);
    h.check_values(&format!("{what} forward"), &yc, &yg);
    let out_shape = lc.output().shape().to_vec();
    let dy = h.pair(&out_shape, &draw("dy", &out_shape));
    lc.backward(&h.cpu, &x.cpu, &dy.cpu, true);
    lg.backward(&h.gpu, &x.gpu, &dy.gpu, true);
    let (dc, dg) = (
        lc.input_grad().to_host_f64(&h.cpu),
        lg.input_grad().to_host_f64(&h.gpu),
    );
    h.check_values(&format!("{what} input gradient"), &dc, &dg);
    let mut gc = Vec::new();
    lc.visit_params(&mut |p| gc.push((p.name.clone(), p.grad.to_host_f64(&h.cpu))));
    let mut gg = Vec::new();
    lg.visit_params(&mut |p| gg.push((p.name.clone(), p.grad.to_host_f64(&h.gpu))));
    assert_eq!(gc.len(), gg.len());
    for ((name, a), (_, b)) in gc.iter().zip(&gg) {
        h.check_values(&format!("{what} gradient of {name}"), a, b);
    }
}

#[test]
fn layers_agree_with_the_cpu_backend() {
    for mut h in harnesses() {
        let (cpu, gpu, dt) = (h.cpu.clone(), h.gpu.clone(), h.dtype);
        compare_layer(&mut h, "linear", &[8, 12], |d| {
            let (w, b) = (d("w", &[7, 12]), d("b", &[7]));
            (
                Box::new(
                    Linear::new(
                        &cpu,
                        Tensor::from_f64(&cpu, dt, &[7, 12], &w),
                        Some(Tensor::from_f64(&cpu, dt, &[7], &b)),
                        Activation::Tanh,
                    )
                    .unwrap(),
                ),
                Box::new(
                    Linear::new(
                        &gpu,
                        Tensor::from_f64(&gpu, dt, &[7, 12], &w),
                        Some(Tensor::from_f64(&gpu, dt, &[7], &b)),
                        Activation::Tanh,
                    )
                    .unwrap(),
                ),
            )
        });
        compare_layer(&mut h, "conv2d", &[4, 3, 9, 9], |d| {
            let (w, b) = (d("w", &[6, 3, 3, 3]), d("b", &[6]));
            (
                Box::new(
                    Conv2d::new(
                        &cpu,
                        Tensor::from_f64(&cpu, dt, &[6, 3, 3, 3], &w),
                        Some(Tensor::from_f64(&cpu, dt, &[6], &b)),
                        2,
                        1,
                        Activation::Relu,
                    )
                    .unwrap(),
                ),
                Box::new(
                    Conv2d::new(
                        &gpu,
                        Tensor::from_f64(&gpu, dt, &[6, 3, 3, 3], &w),
                        Some(Tensor::from_f64(&gpu, dt, &[6], &b)),
                        2,
                        1,
                        Activation::Relu,
                    )
                    .unwrap(),
                ),
            )
        });
        compare_layer(&mut h, "max_pool2d", &[3, 4, 8, 8], |_| {
            (
                Box::new(MaxPool2d::new(&cpu, dt, 3, 2, 1).unwrap()),
                Box::new(MaxPool2d::new(&gpu, dt, 3, 2, 1).unwrap()),
            )
        });
        compare_layer(&mut h, "avg_pool2d", &[3, 4, 8, 8], |_| {
            (
                Box::new(AvgPool2d::new(&cpu, dt, 2, 2, 0).unwrap()),
                Box::new(AvgPool2d::new(&gpu, dt, 2, 2, 0).unwrap()),
            )
        });
        compare_layer(&mut h, "global_avg_pool", &[3, 4, 5, 5], |_| {
            (
                Box::new(GlobalAvgPool::new(&cpu, dt)),
                Box::new(GlobalAvgPool::new(&gpu, dt)),
            )
        });
        compare_layer(&mut h, "batch_norm", &[8, 5, 4, 4], |_| {
            (
                Box::new(BatchNorm::new(&cpu, dt, 5, Activation::Relu).unwrap()),
                Box::new(BatchNorm::new(&gpu, dt, 5, Activation::Relu).unwrap()),
            )
        });
        compare_layer(&mut h, "dropout", &[16, 40], |_| {
            (
                Box::new(Dropout::new(&cpu, dt, 0.3).unwrap()),
                Box::new(Dropout::new(&gpu, dt, 0.3).unwrap()),
            )
        });
        mlp_step(&mut h);
        println!("{}: {} layer checks agree", h.dtype, h.checks);
    }
}

/// One SGD step of a small MLP with cross-entropy on both backends: loss, gradients and the
/// updated parameters agree.
fn mlp_step(h: &mut Harness) {
    fn mlp<B: Backend>(be: &B, dt: DType, p: &[Vec<f64>]) -> Sequential<B> {
        let t = |shape: &[usize], v: &Vec<f64>| Tensor::from_f64(be, dt, shape, v);
        let mut s = Sequential::new(vec![
            Box::new(
                Linear::new(
                    be,
                    t(&[16, 10], &p[0]),
                    Some(t(&[16], &p[1])),
                    Activation::Relu,
                )
                .unwrap(),
            ),
            Box::new(
                Linear::new(
                    be,
                    t(&[4, 16], &p[2]),
                    Some(t(&[4], &p[3])),
                    Activation::Identity,
                )
                .unwrap(),
            ),
        ])
        .unwrap();
        s.set_path("mlp");
        s
    }
    let key = h.key.derive("mlp");
    let shapes: [&[usize]; 4] = [&[16, 10], &[16], &[4, 16], &[4]];
    let init: Vec<Vec<f64>> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            key.derive(&i.to_string())
                .normals(s.iter().product())
                .iter()
                .map(|v| v * 0.3)
                .collect()
        })
        .collect();
    let mut nc = mlp(&h.cpu, h.dtype, &init);
    let mut ng = mlp(&h.gpu, h.dtype, &init);
    let x = h.pair(&[32, 10], &key.derive("x").normals(320));
    let labels: Vec<u32> = (0..32).map(|i| i % 4).collect();
    let ctx = ForwardCtx::new(Mode::Train, 0, key);
    nc.forward(&h.cpu, &x.cpu, &ctx);
    ng.forward(&h.gpu, &x.gpu, &ctx);
    let mut g = h.dirty(&[32, 4]);
    let kind = LossKind::CrossEntropy;
    let lc = h.cpu.loss(
        &kind,
        Reduction::Mean,
        nc.output(),
        &Targets::Classes(&labels),
        &mut g.cpu,
    );
    let lg = h.gpu.loss(
        &kind,
        Reduction::Mean,
        ng.output(),
        &Targets::Classes(&labels),
        &mut g.gpu,
    );
    h.check_scalar("mlp loss", lc, lg);
    nc.backward(&h.cpu, &x.cpu, &g.cpu, false);
    ng.backward(&h.gpu, &x.gpu, &g.gpu, false);
    let hyper = SgdHyper {
        lr: 0.1,
        momentum: 0.0,
        dampening: 0.0,
        weight_decay: 0.0,
        nesterov: false,
        first_step: true,
    };
    let cpu = h.cpu.clone();
    nc.visit_params_mut(&mut |p| cpu.sgd_update(&mut p.value, &p.grad, None, &hyper));
    let gpu = h.gpu.clone();
    ng.visit_params_mut(&mut |p| gpu.sgd_update(&mut p.value, &p.grad, None, &hyper));
    let mut pc = Vec::new();
    nc.visit_params(&mut |p| pc.push(p.value.to_host_f64(&h.cpu)));
    let mut pg = Vec::new();
    ng.visit_params(&mut |p| pg.push(p.value.to_host_f64(&h.gpu)));
    for (i, (a, b)) in pc.iter().zip(&pg).enumerate() {
        h.check_values(&format!("mlp parameter {i} after one step"), a, b);
    }
}
