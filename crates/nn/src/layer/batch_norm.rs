//! Batch normalisation (Ioffe & Szegedy 2015) over `[N, C]` or `[N, C, H, W]` activations, with
//! an affine transform and a fused activation, following PyTorch's `BatchNorm1d/2d`:
//!
//! z = γ_c (x − μ_c) / √(σ²_c + ε) + β_c,  y = σ(z),
//!
//! where, for a channel c and M = N·H·W values of it in the batch,
//! - `Mode::Train`: μ_c, σ²_c are the batch mean and *biased* variance (1/M), and the buffers
//!   update as r_μ ← (1 − m)·r_μ + m·μ_c, r_σ² ← (1 − m)·r_σ² + m·σ²_c·M/(M − 1) (the unbiased
//!   variance; PyTorch's rule, momentum m = 0.1, ε = 1e-5 by default);
//! - `Mode::Eval` and `Mode::Probe`: μ_c, σ²_c are the running buffers, which are not touched.
//!
//! Backward with dZ = dY ⊙ σ′(Z) and x̂ = (x − μ)/√(σ² + ε): dβ_c = Σ dz, dγ_c = Σ dz·x̂, and
//! dx = γ/√(σ²+ε) · (dz − dβ_c/M − x̂·dγ_c/M) after a train pass (μ, σ² depend on x), or
//! dx = γ/√(σ²+ε) · dz after an eval pass (fixed statistics).
//!
//! Parameters `<path>.weight` (γ, init 1) and `<path>.bias` (β, init 0); buffers
//! `<path>.running_mean` (init 0) and `<path>.running_var` (init 1). Taps: `<path>.pre` = z,
//! `<path>.out` = y (the same tensor when σ is the identity).

use learnscope_core::DType;

use super::{join_path, pre_activation_grad, shape_error, ForwardCtx, Layer, Mode};
use crate::param::{Buffer, Param, ParamTree};
use crate::{Activation, Backend, NnError, Tensor};

/// PyTorch's default momentum of the running statistics.
pub const DEFAULT_MOMENTUM: f64 = 0.1;
/// PyTorch's default ε.
pub const DEFAULT_EPS: f64 = 1e-5;

/// Batch normalisation with an affine transform and optional fused activation.
#[derive(Clone, Debug)]
pub struct BatchNorm<B: Backend> {
    path: String,
    tap_pre: String,
    tap_out: String,
    act: Activation,
    eps: f64,
    momentum: f64,
    weight: Param<B>,
    bias: Param<B>,
    running_mean: Buffer<B>,
    running_var: Buffer<B>,
    mean: Tensor<B>,
    var: Tensor<B>,
    /// Whether the last forward pass normalised with the batch's own statistics.
    batch_stats: bool,
    z: Tensor<B>,
    y: Tensor<B>,
    dz: Tensor<B>,
    dx: Tensor<B>,
}

impl<B: Backend> BatchNorm<B> {
    /// A layer over `channels` channels with PyTorch's initial values (γ = 1, β = 0, running
    /// mean 0 and variance 1), momentum 0.1 and ε = 1e-5.
    pub fn new(be: &B, dtype: DType, channels: usize, act: Activation) -> Result<Self, NnError> {
        if channels == 0 {
            return Err(NnError::setting("batch_norm channels", 0, "> 0"));
        }
        let ones = Tensor::from_f64(be, dtype, &[channels], &vec![1.0; channels]);
        let zeros = Tensor::zeros(be, dtype, &[channels]);
        let mut layer = BatchNorm {
            path: String::new(),
            tap_pre: String::new(),
            tap_out: String::new(),
            act,
            eps: DEFAULT_EPS,
            momentum: DEFAULT_MOMENTUM,
            weight: Param::new(be, "weight", ones.clone()),
            bias: Param::new(be, "bias", zeros.clone()),
            running_mean: Buffer {
                name: "running_mean".into(),
                value: zeros.clone(),
            },
            running_var: Buffer {
                name: "running_var".into(),
                value: ones,
            },
            mean: zeros.clone(),
            var: zeros,
            batch_stats: false,
            z: Tensor::empty(be, dtype),
            y: Tensor::empty(be, dtype),
            dz: Tensor::empty(be, dtype),
            dx: Tensor::empty(be, dtype),
        };
        layer.set_path("");
        Ok(layer)
    }

    /// Sets the momentum m of the running statistics (0 < m ≤ 1) and ε (> 0).
    pub fn with_momentum_eps(mut self, momentum: f64, eps: f64) -> Result<Self, NnError> {
        if !(momentum > 0.0 && momentum <= 1.0) {
            return Err(NnError::setting(
                "batch_norm momentum",
                momentum,
                "0 < m <= 1",
            ));
        }
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(NnError::setting("batch_norm eps", eps, "finite and > 0"));
        }
        self.momentum = momentum;
        self.eps = eps;
        Ok(self)
    }

    /// The number of channels.
    pub fn channels(&self) -> usize {
        self.weight.value.len()
    }

    /// The fused activation.
    pub fn activation(&self) -> Activation {
        self.act
    }

    fn dtype(&self) -> DType {
        self.weight.value.dtype()
    }
}

impl<B: Backend> ParamTree<B> for BatchNorm<B> {
    fn visit_params(&self, f: &mut dyn FnMut(&Param<B>)) {
        f(&self.weight);
        f(&self.bias);
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<B>)) {
        f(&mut self.weight);
        f(&mut self.bias);
    }
    fn visit_buffers(&self, f: &mut dyn FnMut(&Buffer<B>)) {
        f(&self.running_mean);
        f(&self.running_var);
    }
    fn visit_buffers_mut(&mut self, f: &mut dyn FnMut(&mut Buffer<B>)) {
        f(&mut self.running_mean);
        f(&mut self.running_var);
    }
}

impl<B: Backend> Layer<B> for BatchNorm<B> {
    fn kind(&self) -> &'static str {
        "batch_norm"
    }

    fn set_path(&mut self, path: &str) {
        self.path = path.to_string();
        self.tap_pre = join_path(path, "pre");
        self.tap_out = join_path(path, "out");
        self.weight.name = join_path(path, "weight");
        self.bias.name = join_path(path, "bias");
        self.running_mean.name = join_path(path, "running_mean");
        self.running_var.name = join_path(path, "running_var");
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, NnError> {
        let c = self.channels();
        match input {
            [ch] | [ch, _, _] if *ch == c => Ok(input.to_vec()),
            _ => Err(shape_error(&self.path, &[c, usize::MAX, usize::MAX], input)),
        }
    }

    fn forward(&mut self, be: &B, x: &Tensor<B>, ctx: &ForwardCtx) {
        let dtype = self.dtype();
        self.z.ensure(be, dtype, x.shape());
        let y = if self.act == Activation::Identity {
            None
        } else {
            self.y.ensure(be, dtype, x.shape());
            Some(&mut self.y)
        };
        self.batch_stats = ctx.mode == Mode::Train;
        let (mean, var) = if self.batch_stats {
            be.batch_norm_stats(x, &mut self.mean, &mut self.var);
            (&self.mean, &self.var)
        } else {
            (&self.running_mean.value, &self.running_var.value)
        };
        be.batch_norm_forward(
            x,
            mean,
            var,
            self.eps,
            &self.weight.value,
            &self.bias.value,
            &mut self.z,
            self.act,
            y,
        );
        if self.batch_stats {
            let m = self.momentum;
            let count = x.len() / self.channels();
            let unbias = if count > 1 {
                count as f64 / (count - 1) as f64
            } else {
                1.0
            };
            be.scale(&mut self.running_mean.value, 1.0 - m);
            be.axpy(m, &self.mean, &mut self.running_mean.value);
            be.scale(&mut self.running_var.value, 1.0 - m);
            be.axpy(m * unbias, &self.var, &mut self.running_var.value);
        }
    }

    fn output(&self) -> &Tensor<B> {
        if self.act == Activation::Identity {
            &self.z
        } else {
            &self.y
        }
    }

    fn backward(&mut self, be: &B, x: &Tensor<B>, dy: &Tensor<B>, need_input_grad: bool) {
        let dtype = self.dtype();
        let dz: &Tensor<B> = if self.act == Activation::Identity {
            dy
        } else {
            self.dz.ensure(be, dtype, self.z.shape());
            be.act_backward(self.act, &self.z, &self.y, dy, &mut self.dz);
            &self.dz
        };
        let (mean, var) = if self.batch_stats {
            (&self.mean, &self.var)
        } else {
            (&self.running_mean.value, &self.running_var.value)
        };
        let dx = if need_input_grad {
            self.dx.ensure(be, dtype, x.shape());
            Some(&mut self.dx)
        } else {
            None
        };
        be.batch_norm_backward(
            x,
            dz,
            mean,
            var,
            self.eps,
            &self.weight.value,
            self.batch_stats,
            dx,
            &mut self.weight.grad,
            &mut self.bias.grad,
        );
    }

    fn input_grad(&self) -> &Tensor<B> {
        &self.dx
    }

    fn visit_taps(&self, f: &mut dyn FnMut(&str, &Tensor<B>)) {
        f(&self.tap_pre, &self.z);
        f(&self.tap_out, self.output());
    }

    fn visit_grad_taps(&self, dy: &Tensor<B>, f: &mut dyn FnMut(&str, &Tensor<B>)) {
        let dz = pre_activation_grad(self.act, dy, &self.dz);
        f(&self.tap_pre, dz);
        f(&self.tap_out, dy);
    }

    fn clone_box(&self) -> Box<dyn Layer<B>> {
        Box::new(self.clone())
    }
}
