//! A standalone pointwise activation y = σ(x), dx = dy ⊙ σ′(x). (Dense layers fuse theirs;
//! this one follows convolutions, pooling and residual sums.) Tap: `<path>.out`.

use super::{join_path, ForwardCtx, Layer};
use crate::param::{Param, ParamTree};
use crate::{Activation, Backend, NnError, Tensor};

/// y = σ(x) elementwise.
#[derive(Clone, Debug)]
pub struct Pointwise<B: Backend> {
    path: String,
    tap_out: String,
    act: Activation,
    y: Tensor<B>,
    dx: Tensor<B>,
}

impl<B: Backend> Pointwise<B> {
    /// An activation layer of the given dtype.
    pub fn new(be: &B, dtype: learnscope_core::DType, act: Activation) -> Self {
        Pointwise {
            path: String::new(),
            tap_out: "out".into(),
            act,
            y: Tensor::empty(be, dtype),
            dx: Tensor::empty(be, dtype),
        }
    }
}

impl<B: Backend> ParamTree<B> for Pointwise<B> {
    fn visit_params(&self, _f: &mut dyn FnMut(&Param<B>)) {}
    fn visit_params_mut(&mut self, _f: &mut dyn FnMut(&mut Param<B>)) {}
}

impl<B: Backend> Layer<B> for Pointwise<B> {
    fn kind(&self) -> &'static str {
        self.act.name()
    }
    fn set_path(&mut self, path: &str) {
        self.path = path.to_string();
        self.tap_out = join_path(path, "out");
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, NnError> {
        Ok(input.to_vec())
    }
    fn forward(&mut self, be: &B, x: &Tensor<B>, _ctx: &ForwardCtx) {
        self.y.ensure(be, x.dtype(), x.shape());
        be.act_forward(self.act, x, &mut self.y);
    }
    fn output(&self) -> &Tensor<B> {
        &self.y
    }
    fn backward(&mut self, be: &B, x: &Tensor<B>, dy: &Tensor<B>, need_input_grad: bool) {
        if need_input_grad {
            self.dx.ensure(be, x.dtype(), x.shape());
            be.act_backward(self.act, x, &self.y, dy, &mut self.dx);
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
