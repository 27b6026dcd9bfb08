//! Flattens each example to a vector: `[B, d₁, …, d_k] → [B, d₁⋯d_k]` (row-major order, as
//! `torch.flatten(x, 1)`). Tap: `<path>.out`.

use super::{join_path, ForwardCtx, Layer};
use crate::param::{Param, ParamTree};
use crate::{Backend, NnError, Tensor};

/// `[B, …] → [B, product]`.
#[derive(Clone, Debug)]
pub struct Flatten<B: Backend> {
    path: String,
    tap_out: String,
    y: Tensor<B>,
    dx: Tensor<B>,
}

impl<B: Backend> Flatten<B> {
    /// A flatten layer of the given dtype.
    pub fn new(be: &B, dtype: learnscope_core::DType) -> Self {
        Flatten {
            path: String::new(),
            tap_out: "out".into(),
            y: Tensor::empty(be, dtype),
            dx: Tensor::empty(be, dtype),
        }
    }
}

impl<B: Backend> ParamTree<B> for Flatten<B> {
    fn visit_params(&self, _f: &mut dyn FnMut(&Param<B>)) {}
    fn visit_params_mut(&mut self, _f: &mut dyn FnMut(&mut Param<B>)) {}
}

impl<B: Backend> Layer<B> for Flatten<B> {
    fn kind(&self) -> &'static str {
        "flatten"
    }
    fn set_path(&mut self, path: &str) {
        self.path = path.to_string();
        self.tap_out = join_path(path, "out");
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, NnError> {
        Ok(vec![input.iter().product()])
    }
    fn forward(&mut self, be: &B, x: &Tensor<B>, _ctx: &ForwardCtx) {
        let (rows, cols) = x.as_matrix_dims();
        self.y.ensure(be, x.dtype(), &[rows, cols]);
        be.copy(x, &mut self.y);
    }
    fn output(&self) -> &Tensor<B> {
        &self.y
    }
    fn backward(&mut self, be: &B, x: &Tensor<B>, dy: &Tensor<B>, need_input_grad: bool) {
        if need_input_grad {
            self.dx.ensure(be, x.dtype(), x.shape());
            be.copy(dy, &mut self.dx);
        }
    }
    fn input_grad(&self) -> &Tensor<B> {
        &self.dx
    }
    fn visit_taps(&self, f: &mut dyn FnMut(&str, &Tensor<B>)) {
        f(&self.tap_out, &self.y);
    }
    fn visit_grad_taps(&self, dy: &Tensor<B>, f: &mut dyn FnMut(&str, &Tensor<B>)) {
        f(&self.tap_out, dy);
    }
    fn clone_box(&self) -> Box<dyn Layer<B>> {
        Box::new(self.clone())
    }
}
