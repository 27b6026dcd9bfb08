//! The benchmark workloads, shared by the criterion benches and the `step-rate` binary that the
//! PyTorch comparison (`benches/pytorch/compare.py`) runs in interleaved rounds.
//!
//! A step is what a training loop does per batch: forward, loss and dL/dlogits, backward, SGD.
//! Each workload has an exact PyTorch twin in `benches/pytorch/compare.py` (same shapes,
//! dtype, loss and reduction).

use learnscope_data::HierarchySpec;
use learnscope_models::{
    CnnConfig, DeepLinearConfig, DeepLinearInit, MlpConfig, Model, Network, Parameterization,
    TapRequest, VggConfig,
};
use learnscope_nn::loss::{Loss, LossKind, Targets};
use learnscope_nn::optim::{Optimizer, OptimizerConfig};
use learnscope_nn::{
    Activation, Backend, CpuBackend, DType, ForwardCtx, Mode, RandomKey, Tensor, Transpose,
};

/// Targets of a workload.
pub enum WorkloadTargets {
    /// Class labels (cross-entropy).
    Classes(Vec<u32>),
    /// Dense targets (MSE).
    Dense(Tensor<CpuBackend>),
}

/// A model, a fixed batch, a loss and an optimizer.
pub struct Workload {
    /// Name as used on the command line.
    pub name: &'static str,
    /// The backend.
    pub be: CpuBackend,
    /// The network.
    pub model: Network<CpuBackend>,
    x: Tensor<CpuBackend>,
    targets: WorkloadTargets,
    loss: Loss,
    opt: Optimizer<CpuBackend>,
    grad: Tensor<CpuBackend>,
    lr: f64,
    step: u64,
}

impl Workload {
    /// One training step; returns the loss.
    pub fn step(&mut self) -> f64 {
        let ctx = ForwardCtx::new(Mode::Train, self.step, RandomKey::root(0));
        let fwd = self
            .model
            .forward(&self.x, &ctx, &TapRequest::None)
            .expect("shapes fixed");
        let targets = match &self.targets {
            WorkloadTargets::Classes(l) => Targets::Classes(l),
            WorkloadTargets::Dense(t) => Targets::Dense(t),
        };
        let loss = self
            .loss
            .forward_backward(&self.be, fwd.logits, &targets, &mut self.grad)
            .expect("targets fixed");
        self.model
            .backward(&self.grad, &TapRequest::None)
            .expect("after forward");
        self.opt.step(&self.be, &mut self.model, self.lr);
        self.step += 1;
        loss
    }

    /// The matrix products of one step, as (m, n, k, lhs transposed, rhs transposed) on
    /// `[rows, cols]` row-major operands (MLP and deep-linear workloads: every layer is Linear;
    /// meaningless for the convolutional workloads).
    pub fn gemm_shapes(&self) -> Vec<(usize, usize, usize, Transpose, Transpose)> {
        let batch = self.x.shape()[0];
        let mut dims = Vec::new();
        self.model.visit_params(&mut |p| {
            if p.value.shape().len() == 2 {
                dims.push((p.value.shape()[0], p.value.shape()[1]));
            }
        });
        let mut shapes = Vec::new();
        for (i, &(out, inp)) in dims.iter().enumerate() {
            shapes.push((batch, out, inp, Transpose::No, Transpose::Yes)); // z = x Wᵀ
            shapes.push((out, inp, batch, Transpose::Yes, Transpose::No)); // dW = dzᵀ x
            if i > 0 {
                shapes.push((batch, inp, out, Transpose::No, Transpose::No)); // dx = dz W
            }
        }
        shapes
    }
}

use learnscope_nn::ParamTree;

fn dense(be: &CpuBackend, dtype: DType, shape: &[usize], key: RandomKey) -> Tensor<CpuBackend> {
    Tensor::from_f64(be, dtype, shape, &key.normals(shape.iter().product()))
}

/// (a) MLP 784-512-512-10, ReLU, f32, batch 128, cross-entropy, SGD lr 0.01.
pub fn mlp(threads: usize) -> Workload {
    let be = CpuBackend::new(threads);
    let key = RandomKey::root(1);
    let cfg = MlpConfig {
        input: 784,
        hidden: vec![512, 512],
        outputs: 10,
        activation: Activation::Relu,
        bias: learnscope_models::BiasPlacement::All(true),
        parameterization: Parameterization::Standard,
        init: Default::default(),
        dtype: DType::F32,
    };
    let model = cfg.build(&be, key).expect("valid config");
    let x = dense(&be, DType::F32, &[128, 784], key.derive("x"));
    let labels = (0..128)
        .map(|i| (key.derive("y").u64_at(i) % 10) as u32)
        .collect();
    workload(
        "mlp",
        be,
        model,
        x,
        WorkloadTargets::Classes(labels),
        LossKind::CrossEntropy,
        0.01,
        DType::F32,
    )
}

/// (b) Deep linear 8-16-16-15 with biases on the 8-item hierarchy, f64, full batch, MSE, GD.
pub fn hierarchy(threads: usize) -> Workload {
    let be = CpuBackend::new(threads);
    let key = RandomKey::root(2);
    let cfg = DeepLinearConfig::new(
        &[8, 16, 16, 15],
        true,
        DeepLinearInit::Gaussian { std: 0.01 },
        DType::F64,
    );
    let model = cfg.build(&be, key).expect("valid config");
    let task = HierarchySpec::eight_items().build().expect("valid spec");
    let x = Tensor::from_f64(&be, DType::F64, &[8, 8], &task.inputs);
    let y = Tensor::from_f64(&be, DType::F64, &[8, 15], &task.targets);
    workload(
        "hierarchy",
        be,
        model,
        x,
        WorkloadTargets::Dense(y),
        LossKind::Mse,
        0.01,
        DType::F64,
    )
}

/// (c) Deep linear net with 4 weight matrices 256×256 (no bias), f64, batch 128, MSE, SGD.
pub fn deep_linear_256(threads: usize) -> Workload {
    let be = CpuBackend::new(threads);
    let key = RandomKey::root(3);
    let cfg = DeepLinearConfig::new(
        &[256; 5],
        false,
        DeepLinearInit::Gaussian { std: 1.0 / 16.0 },
        DType::F64,
    );
    let model = cfg.build(&be, key).expect("valid config");
    let x = dense(&be, DType::F64, &[128, 256], key.derive("x"));
    let y = dense(&be, DType::F64, &[128, 256], key.derive("y"));
    workload(
        "deep_linear_256",
        be,
        model,
        x,
        WorkloadTargets::Dense(y),
        LossKind::Mse,
        0.01,
        DType::F64,
    )
}

/// Class labels in 0..10 for a batch of `n`.
fn labels(key: RandomKey, n: u64) -> Vec<u32> {
    (0..n).map(|i| (key.u64_at(i) % 10) as u32).collect()
}

/// (d) The small CNN (`CnnConfig::small`: conv 3×3 1→32, ReLU, max-pool 2, conv 3×3 32→64,
/// ReLU, max-pool 2, dense 3136→128 ReLU, →10) on 1×28×28 images, f32, batch 128,
/// cross-entropy, SGD lr 0.01.
pub fn small_cnn(threads: usize) -> Workload {
    let be = CpuBackend::new(threads);
    let key = RandomKey::root(4);
    let model = CnnConfig::small()
        .build(&be, DType::F32, &[1, 28, 28], 10, key)
        .expect("valid config");
    let x = dense(&be, DType::F32, &[128, 1, 28, 28], key.derive("x"));
    let y = WorkloadTargets::Classes(labels(key.derive("y"), 128));
    workload(
        "small_cnn",
        be,
        model,
        x,
        y,
        LossKind::CrossEntropy,
        0.01,
        DType::F32,
    )
}

/// (e) VGG-8 of P4 (five Conv3×3 stride 2 → BN → ReLU blocks, 3→32→…→512, Linear 512→10) on
/// 3×32×32 images, f32, batch 128, cross-entropy, SGD lr 0.01, training mode (batch statistics).
pub fn vgg8(threads: usize) -> Workload {
    let be = CpuBackend::new(threads);
    let key = RandomKey::root(5);
    let model = VggConfig::v8()
        .build(&be, DType::F32, &[3, 32, 32], 10, key)
        .expect("valid config");
    let x = dense(&be, DType::F32, &[128, 3, 32, 32], key.derive("x"));
    let y = WorkloadTargets::Classes(labels(key.derive("y"), 128));
    workload(
        "vgg8",
        be,
        model,
        x,
        y,
        LossKind::CrossEntropy,
        0.01,
        DType::F32,
    )
}

#[allow(clippy::too_many_arguments)]
fn workload(
    name: &'static str,
    be: CpuBackend,
    model: Network<CpuBackend>,
    x: Tensor<CpuBackend>,
    targets: WorkloadTargets,
    kind: LossKind,
    lr: f64,
    dtype: DType,
) -> Workload {
    let grad = Tensor::zeros(&be, dtype, &[x.shape()[0], model.spec().outputs]);
    Workload {
        name,
        be,
        model,
        x,
        targets,
        loss: Loss::mean(kind),
        opt: Optimizer::new(OptimizerConfig::sgd()).expect("valid"),
        grad,
        lr,
        step: 0,
    }
}

/// All workloads by name.
pub fn by_name(name: &str, threads: usize) -> Option<Workload> {
    match name {
        "mlp" => Some(mlp(threads)),
        "hierarchy" => Some(hierarchy(threads)),
        "deep_linear_256" => Some(deep_linear_256(threads)),
        "small_cnn" => Some(small_cnn(threads)),
        "vgg8" => Some(vgg8(threads)),
        _ => None,
    }
}

/// Times each of `w`'s matrix products alone (same shapes, dtype and threads), in seconds per
/// step: the numerator of the GEMM efficiency Σ t(gemm alone) / t(step).
pub fn gemm_alone_seconds(w: &Workload, dtype: DType, min_seconds: f64) -> f64 {
    let be = &w.be;
    let mut total = 0.0;
    for (m, n, k, ta, tb) in w.gemm_shapes() {
        let a_shape = if ta == Transpose::Yes { [k, m] } else { [m, k] };
        let b_shape = if tb == Transpose::Yes { [n, k] } else { [k, n] };
        let a = Tensor::zeros(be, dtype, &a_shape);
        let b = Tensor::zeros(be, dtype, &b_shape);
        let mut c = Tensor::zeros(be, dtype, &[m, n]);
        total += time_per_call(min_seconds, || be.gemm(&mut c, &a, ta, &b, tb, 1.0, 0.0));
    }
    total
}

/// Mean seconds per call of `f`, after a warm-up, over at least `min_seconds`.
pub fn time_per_call(min_seconds: f64, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let start = std::time::Instant::now();
    let mut n = 0u64;
    loop {
        f();
        n += 1;
        let el = start.elapsed().as_secs_f64();
        if el >= min_seconds {
            return el / n as f64;
        }
    }
}

/// The spectrum probe's host workload without the forward pass (issue 10's speed target):
/// `n × p` post-ReLU-like features (rectified standard normals plus a per-unit offset, so the
/// uncentred moment has the large mean direction of real ReLU features) and `classes` balanced
/// labels, from a fixed seed.
pub fn spectrum_features(n: usize, p: usize, classes: usize) -> (Vec<f64>, Vec<u32>) {
    let key = RandomKey::root(10);
    let z = key.derive("features").normals(n * p);
    let offsets = key.derive("offsets").uniforms(p, 0.0, 0.5);
    let phi = z
        .iter()
        .enumerate()
        .map(|(i, v)| (v + offsets[i % p]).max(0.0))
        .collect();
    let labels = (0..n).map(|i| (i % classes) as u32).collect();
    (phi, labels)
}
