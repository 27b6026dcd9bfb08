//! 2-D max pooling (PyTorch's `nn.MaxPool2d`, floor mode, −∞ padding):
//! y[n, c, i, j] = max_{u,v} x[n, c, i·s_h − p_h + u, j·s_w − p_w + v] over the window inside the
//! input. The forward pass keeps the position of each maximum (ties: the first in row-major
//! window order), and backward routes dy there: dx[n, c, argmax(n, c, i, j)] += dy[n, c, i, j]
//! (overlapping windows add). The derivative is that of the selected element, exact away from
//! ties. Tap: `<path>.out`.

use super::{join_path, shape_error, ForwardCtx, Layer};
use crate::param::{Param, ParamTree};
use crate::spatial::Window2d;
use crate::{Backend, NnError, Tensor};

/// Max pooling over k_h × k_w windows.
#[derive(Clone, Debug)]
pub struct MaxPool2d<B: Backend> {
    path: String,
    tap_out: String,
    win: Window2d,
    y: Tensor<B>,
    argmax: Tensor<B>,
    dx: Tensor<B>,
}

impl<B: Backend> MaxPool2d<B> {
    /// Square windows of size `kernel`, with `stride` and `padding` (PyTorch's rule:
    /// padding ≤ kernel/2, so no window lies entirely in the padding).
    pub fn new(
        be: &B,
        dtype: learnscope_core::DType,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self, NnError> {
        let win = Window2d::square(kernel, stride, padding);
        if kernel == 0 || stride == 0 || 2 * padding > kernel {
            return Err(NnError::setting(
                "max_pool2d",
                format!("kernel {kernel} stride {stride} padding {padding}"),
                "kernel > 0, stride > 0, padding <= kernel / 2",
            ));
        }
        Ok(MaxPool2d {
            path: String::new(),
            tap_out: "out".into(),
            win,
            y: Tensor::empty(be, dtype),
            argmax: Tensor::empty(be, dtype),
            dx: Tensor::empty(be, dtype),
        })
    }

    /// Kernel, stride and padding.
    pub fn window(&self) -> Window2d {
        self.win
    }
}

impl<B: Backend> ParamTree<B> for MaxPool2d<B> {
    fn visit_params(&self, _f: &mut dyn FnMut(&Param<B>)) {}
    fn visit_params_mut(&mut self, _f: &mut dyn FnMut(&mut Param<B>)) {}
}

/// The `[C, OH, OW]` output of a pooling window over `[C, H, W]`.
pub(super) fn pooled_shape(
    path: &str,
    win: &Window2d,
    input: &[usize],
) -> Result<Vec<usize>, NnError> {
    let &[c, h, w] = input else {
        return Err(shape_error(path, &[usize::MAX; 3], input));
    };
    let (oh, ow) = win.check(path, h, w)?;
    Ok(vec![c, oh, ow])
}

impl<B: Backend> Layer<B> for MaxPool2d<B> {
    fn kind(&self) -> &'static str {
        "max_pool2d"
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
        self.argmax.ensure(be, x.dtype(), &shape);
        be.max_pool2d_forward(x, &self.win, &mut self.y, &mut self.argmax);
    }
    fn output(&self) -> &Tensor<B> {
        &self.y
    }
    fn backward(&mut self, be: &B, x: &Tensor<B>, dy: &Tensor<B>, need_input_grad: bool) {
        if need_input_grad {
            self.dx.ensure(be, x.dtype(), x.shape());
            be.max_pool2d_backward(dy, &self.argmax, &mut self.dx);
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
