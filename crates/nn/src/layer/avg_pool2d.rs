//! 2-D average pooling (PyTorch's `nn.AvgPool2d` defaults: floor mode, zero padding counted):
//! y[n, c, i, j] = (1 / k_h k_w) Σ_{u,v} x[n, c, i·s_h − p_h + u, j·s_w − p_w + v] (0 outside the
//! input). It is linear; backward is its adjoint: each dy spreads dy / (k_h k_w) over its
//! window. Tap: `<path>.out`.

use super::max_pool2d::pooled_shape;
use super::{join_path, ForwardCtx, Layer};
use crate::param::{Param, ParamTree};
use crate::spatial::Window2d;
use crate::{Backend, NnError, Tensor};

/// Average pooling over k_h × k_w windows.
#[derive(Clone, Debug)]
pub struct AvgPool2d<B: Backend> {
    path: String,
    tap_out: String,
    win: Window2d,
    y: Tensor<B>,
    dx: Tensor<B>,
}

impl<B: Backend> AvgPool2d<B> {
    /// Square windows of size `kernel`, with `stride` and `padding` (padding ≤ kernel/2).
    pub fn new(
        be: &B,
        dtype: learnscope_core::DType,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self, NnError> {
        if kernel == 0 || stride == 0 || 2 * padding > kernel {
            return Err(NnError::setting(
                "avg_pool2d",
                format!("kernel {kernel} stride {stride} padding {padding}"),
                "kernel > 0, stride > 0, padding <= kernel / 2",
            ));
        }
        Ok(AvgPool2d {
            path: String::new(),
            tap_out: "out".into(),
            win: Window2d::square(kernel, stride, padding),
            y: Tensor::empty(be, dtype),
            dx: Tensor::empty(be, dtype),
        })
    }

    /// Kernel, stride and padding.
    pub fn window(&self) -> Window2d {
        self.win
    }
}

impl<B: Backend> ParamTree<B> for AvgPool2d<B> {
    fn visit_params(&self, _f: &mut dyn FnMut(&Param<B>)) {}
    fn visit_params_mut(&mut self, _f: &mut dyn FnMut(&mut Param<B>)) {}
}

impl<B: Backend> Layer<B> for AvgPool2d<B> {
    fn kind(&self) -> &'static str {
        "avg_pool2d"
    }
    fn set_path(&mut self, path: &str) {
        self.path = path.to_string();
        self.tap_out = join_path(path, "out");
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, NnError> {
        pooled_shape(&self.path, &self.win, input)
    }
    fn forward(&mut self, be: &B, x: &Tensor<B>, _ctx: &ForwardCtx) {
        let mut shape = vec![x.shape()[0]];
        shape.extend(pooled_shape(&self.path, &self.win, &x.shape()[1..]).expect("checked"));
        self.y.ensure(be, x.dtype(), &shape);
        be.avg_pool2d_forward(x, &self.win, &mut self.y);
    }
    fn output(&self) -> &Tensor<B> {
        &self.y
    }
    fn backward(&mut self, be: &B, x: &Tensor<B>, dy: &Tensor<B>, need_input_grad: bool) {
        if need_input_grad {
            self.dx.ensure(be, x.dtype(), x.shape());
            be.avg_pool2d_backward(dy, &self.win, &mut self.dx);
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
