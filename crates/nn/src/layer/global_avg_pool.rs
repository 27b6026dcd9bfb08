//! Global average pooling: `[N, C, H, W] → [N, C]`, y[n, c] = (1/HW) Σ_{i,j} x[n, c, i, j]
//! (`nn.AdaptiveAvgPool2d(1)` followed by `flatten(1)`). Backward:
//! dx[n, c, i, j] = dy[n, c] / HW. Tap: `<path>.out`.

use super::{join_path, shape_error, ForwardCtx, Layer};
use crate::param::{Param, ParamTree};
use crate::{Backend, NnError, Tensor};

/// Mean over each channel's plane.
#[derive(Clone, Debug)]
pub struct GlobalAvgPool<B: Backend> {
    path: String,
    tap_out: String,
    y: Tensor<B>,
    dx: Tensor<B>,
}

impl<B: Backend> GlobalAvgPool<B> {
    /// A global average pool of the given dtype.
    pub fn new(be: &B, dtype: learnscope_core::DType) -> Self {
        GlobalAvgPool {
            path: String::new(),
            tap_out: "out".into(),
            y: Tensor::empty(be, dtype),
            dx: Tensor::empty(be, dtype),
        }
    }
}

impl<B: Backend> ParamTree<B> for GlobalAvgPool<B> {
    fn visit_params(&self, _f: &mut dyn FnMut(&Param<B>)) {}
    fn visit_params_mut(&mut self, _f: &mut dyn FnMut(&mut Param<B>)) {}
}

impl<B: Backend> Layer<B> for GlobalAvgPool<B> {
    fn kind(&self) -> &'static str {
        "global_avg_pool"
    }
    fn set_path(&mut self, path: &str) {
        self.path = path.to_string();
        self.tap_out = join_path(path, "out");
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, NnError> {
        match input {
            &[c, h, w] if h > 0 && w > 0 => Ok(vec![c]),
            _ => Err(shape_error(&self.path, &[usize::MAX; 3], input)),
        }
    }
    fn forward(&mut self, be: &B, x: &Tensor<B>, _ctx: &ForwardCtx) {
        self.y.ensure(be, x.dtype(), &x.shape()[..2]);
        be.global_avg_pool_forward(x, &mut self.y);
    }
    fn output(&self) -> &Tensor<B> {
        &self.y
    }
    fn backward(&mut self, be: &B, x: &Tensor<B>, dy: &Tensor<B>, need_input_grad: bool) {
        if need_input_grad {
            self.dx.ensure(be, x.dtype(), x.shape());
            be.global_avg_pool_backward(dy, &mut self.dx);
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
