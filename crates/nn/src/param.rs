//! Parameters (trained, with a gradient) and buffers (state such as batch-norm running
//! statistics, never trained) are kept apart, each with its full tree-path name
//! (`layers.0.weight`), so checkpoints and probes address them the same way.

use crate::{Backend, Tensor};

/// A trained tensor and its gradient (same shape).
#[derive(Clone, Debug)]
pub struct Param<B: Backend> {
    /// Tree-path name, e.g. `layers.0.weight`.
    pub name: String,
    /// Current value.
    pub value: Tensor<B>,
    /// Gradient of the last backward pass (overwritten, never accumulated).
    pub grad: Tensor<B>,
    /// The factor the stored value is multiplied by in the forward pass (NTK/μP
    /// parameterisations; 1 in the standard one): the effective parameter is `multiplier·value`.
    pub multiplier: f64,
}

impl<B: Backend> Param<B> {
    /// A parameter with the given value and a zero gradient.
    pub fn new(be: &B, name: impl Into<String>, value: Tensor<B>) -> Self {
        let grad = Tensor::zeros(be, value.dtype(), value.shape());
        Param {
            name: name.into(),
            value,
            grad,
            multiplier: 1.0,
        }
    }
}

/// A state tensor that is not trained (e.g. a running mean).
#[derive(Clone, Debug)]
pub struct Buffer<B: Backend> {
    /// Tree-path name, e.g. `blocks.0.bn.running_mean`.
    pub name: String,
    /// Current value.
    pub value: Tensor<B>,
}

/// Anything owning parameters and buffers in a fixed order.
pub trait ParamTree<B: Backend> {
    /// Visits parameters in order.
    fn visit_params(&self, f: &mut dyn FnMut(&Param<B>));
    /// Visits parameters mutably, in the same order.
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<B>));
    /// Visits buffers in order.
    fn visit_buffers(&self, _f: &mut dyn FnMut(&Buffer<B>)) {}
    /// Visits buffers mutably, in the same order.
    fn visit_buffers_mut(&mut self, _f: &mut dyn FnMut(&mut Buffer<B>)) {}

    /// The parameter names, in order.
    fn param_names(&self) -> Vec<String> {
        let mut v = Vec::new();
        self.visit_params(&mut |p| v.push(p.name.clone()));
        v
    }

    /// The number of trained scalars.
    fn num_scalars(&self) -> usize {
        let mut n = 0;
        self.visit_params(&mut |p| n += p.value.len());
        n
    }
}
