//! Layers with explicit forward and backward passes, composed into trees.
//!
//! Contract of a [`Layer`]:
//! - `forward(x)` computes the output into the layer's own workspace and caches what `backward`
//!   needs (pre-activations). The caller keeps `x` alive and passes it again to `backward`, so
//!   no layer copies its input.
//! - `backward(x, dy)` writes the parameter gradients into each [`Param`](crate::Param)'s `grad` (overwriting)
//!   and, when asked, the input gradient dL/dx into a workspace read by [`Layer::input_grad`].
//! - Activations and gradients are readable after the pass by tree path ([`Layer::visit_taps`],
//!   [`Layer::visit_grad_taps`]), so probes see every quantity without extra passes.
//! - A `Mode::Probe` pass overwrites the cached activations, so the trainer runs it after the
//!   training step's backward; it changes no parameter or buffer.
//!
//! Layout: batch first, row-major (`[batch, features]`; images NCHW, `[batch, channels, height,
//! width]`, as in PyTorch). Weights are stored in PyTorch order (`Linear`: `[out, in]`,
//! `Conv2d`: `[out, in, k_h, k_w]`), so checkpoints load into PyTorch as they are.

mod avg_pool2d;
pub mod batch_norm;
mod conv2d;
mod dropout;
mod flatten;
mod global_avg_pool;
mod linear;
mod max_pool2d;
mod pointwise;
mod residual;
mod sequential;

pub use avg_pool2d::AvgPool2d;
pub use batch_norm::BatchNorm;
pub use conv2d::Conv2d;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use global_avg_pool::GlobalAvgPool;
pub use linear::Linear;
pub use max_pool2d::MaxPool2d;
pub use pointwise::Pointwise;
pub use residual::Residual;
pub use sequential::Sequential;

use learnscope_core::RandomKey;

use crate::param::ParamTree;
use crate::{Activation, Backend, NnError, Tensor};

/// What a forward pass is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Training: batch-norm updates running statistics, dropout draws masks.
    Train,
    /// Evaluation: running statistics, no dropout.
    Eval,
    /// Like `Eval`, for probes: guaranteed to touch no parameter or buffer.
    Probe,
}

/// Per-pass context: the mode and the random key stochastic layers derive their draws from
/// (`dropout/<path>/<step>` under the run's root key).
#[derive(Debug, Clone, Copy)]
pub struct ForwardCtx {
    /// The pass's mode.
    pub mode: Mode,
    /// The optimisation step this pass belongs to.
    pub step: u64,
    /// The run's root key.
    pub key: RandomKey,
}

impl ForwardCtx {
    /// A context for `mode` at `step` with the given root key.
    pub fn new(mode: Mode, step: u64, key: RandomKey) -> Self {
        ForwardCtx { mode, step, key }
    }
}

/// A differentiable building block. See the module documentation for the contract.
pub trait Layer<B: Backend>: ParamTree<B> + Send + Sync + std::fmt::Debug {
    /// The layer type (`linear`, `relu`, `sequential`, …).
    fn kind(&self) -> &'static str;
    /// Assigns this layer's tree path; names of parameters and taps derive from it.
    fn set_path(&mut self, path: &str);
    /// The tree path.
    fn path(&self) -> &str;
    /// The per-example output shape for a per-example input shape, or why the input does not fit.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, NnError>;
    /// Forward pass on a batch `x`.
    fn forward(&mut self, be: &B, x: &Tensor<B>, ctx: &ForwardCtx);
    /// The output of the last forward pass.
    fn output(&self) -> &Tensor<B>;
    /// Backward pass: `x` is the input of the last forward pass, `dy` = dL/d(output).
    fn backward(&mut self, be: &B, x: &Tensor<B>, dy: &Tensor<B>, need_input_grad: bool);
    /// dL/dx of the last backward pass that asked for it.
    fn input_grad(&self) -> &Tensor<B>;
    /// Visits `(tap name, activation)` pairs of the last forward pass.
    fn visit_taps(&self, f: &mut dyn FnMut(&str, &Tensor<B>));
    /// Visits `(tap name, gradient)` pairs of the last backward pass; `dy` is the gradient that
    /// pass received for this layer's output.
    fn visit_grad_taps(&self, dy: &Tensor<B>, f: &mut dyn FnMut(&str, &Tensor<B>));
    /// A deep copy (parameters, buffers and workspaces).
    fn clone_box(&self) -> Box<dyn Layer<B>>;
}

impl<B: Backend> Clone for Box<dyn Layer<B>> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// `prefix.name`, or `name` when the prefix is empty.
pub(crate) fn join_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The error for an input whose per-example shape is not what a layer takes.
pub(crate) fn shape_error(path: &str, expected: &[usize], found: &[usize]) -> NnError {
    NnError::ShapeMismatch {
        what: format!(
            "input of `{}`",
            if path.is_empty() { "<root>" } else { path }
        ),
        expected: expected.to_vec(),
        found: found.to_vec(),
    }
}

/// dL/dz of a layer with a fused activation `y = σ(z)`: `dy` itself for the identity (the
/// backward pass skips the activation then), else the `dz` workspace the backward pass filled.
pub(crate) fn pre_activation_grad<'a, B: Backend>(
    act: Activation,
    dy: &'a Tensor<B>,
    dz: &'a Tensor<B>,
) -> &'a Tensor<B> {
    if act == Activation::Identity {
        dy
    } else {
        dz
    }
}
