//! 2-D convolution (cross-correlation, as PyTorch's `nn.Conv2d`) with zero padding, an optional
//! bias and a fused activation, on NCHW activations:
//! z[n, o, i, j] = b_o + Σ_{c,u,v} W[o, c, u, v] · x[n, c, i·s_h − p_h + u, j·s_w − p_w + v],
//! y = σ(z), with W ∈ R^{O×C×k_h×k_w} (PyTorch order) and x read as 0 outside the input.
//!
//! Computed as Z_n = W · im2col(x_n) (W read as an O × C·k_h·k_w matrix; see
//! [`crate::spatial`]). Backward, with dZ = dY ⊙ σ′(Z):
//! dW = Σ_n dZ_n · im2col(x_n)ᵀ, db_o = Σ_{n,i,j} dZ[n, o, i, j], dx_n = col2im(Wᵀ · dZ_n).
//! Taps: `<path>.pre` = z, `<path>.out` = y (the same tensor when σ is the identity).

use learnscope_core::DType;

use super::{join_path, pre_activation_grad, shape_error, ForwardCtx, Layer};
use crate::param::{Param, ParamTree};
use crate::spatial::Window2d;
use crate::{Activation, Backend, NnError, Tensor};

/// A convolution `y = σ(conv(x, W) + b)`.
#[derive(Clone, Debug)]
pub struct Conv2d<B: Backend> {
    path: String,
    tap_pre: String,
    tap_out: String,
    act: Activation,
    win: Window2d,
    weight: Param<B>,
    bias: Option<Param<B>>,
    z: Tensor<B>,
    y: Tensor<B>,
    dz: Tensor<B>,
    dx: Tensor<B>,
}

impl<B: Backend> Conv2d<B> {
    /// A square-strided, square-padded convolution from an initial weight `[O, C, k_h, k_w]`
    /// and optional bias `[O]`.
    pub fn new(
        be: &B,
        weight: Tensor<B>,
        bias: Option<Tensor<B>>,
        stride: usize,
        padding: usize,
        act: Activation,
    ) -> Result<Self, NnError> {
        let kernel = match weight.shape() {
            &[_, _, kh, kw] => [kh, kw],
            _ => [0, 0],
        };
        let win = Window2d {
            kernel,
            stride: [stride, stride],
            padding: [padding, padding],
        };
        Self::with_window(be, weight, bias, win, act)
    }

    /// A convolution with any window; `win.kernel` must match the weight's last two dimensions.
    pub fn with_window(
        be: &B,
        weight: Tensor<B>,
        bias: Option<Tensor<B>>,
        win: Window2d,
        act: Activation,
    ) -> Result<Self, NnError> {
        let &[out, _, kh, kw] = weight.shape() else {
            return Err(NnError::ShapeMismatch {
                what: "conv2d weight [out, in, kh, kw]".into(),
                expected: vec![usize::MAX; 4],
                found: weight.shape().to_vec(),
            });
        };
        if win.kernel != [kh, kw] || kh == 0 || kw == 0 || win.stride.contains(&0) {
            return Err(NnError::setting(
                "conv2d window",
                format!("{win:?} for weight {:?}", weight.shape()),
                "kernel equal to the weight's last two dimensions, all > 0, stride > 0",
            ));
        }
        let dtype = weight.dtype();
        if let Some(b) = &bias {
            if b.shape() != [out] || b.dtype() != dtype {
                return Err(NnError::ShapeMismatch {
                    what: format!("conv2d bias ({})", b.dtype()),
                    expected: vec![out],
                    found: b.shape().to_vec(),
                });
            }
        }
        let mut layer = Conv2d {
            path: String::new(),
            tap_pre: String::new(),
            tap_out: String::new(),
            act,
            win,
            weight: Param::new(be, "weight", weight),
            bias: bias.map(|b| Param::new(be, "bias", b)),
            z: Tensor::empty(be, dtype),
            y: Tensor::empty(be, dtype),
            dz: Tensor::empty(be, dtype),
            dx: Tensor::empty(be, dtype),
        };
        layer.set_path("");
        Ok(layer)
    }

    /// (output channels, input channels).
    pub fn channels(&self) -> (usize, usize) {
        (self.weight.value.shape()[0], self.weight.value.shape()[1])
    }

    /// Kernel, stride and padding.
    pub fn window(&self) -> Window2d {
        self.win
    }

    /// The fused activation.
    pub fn activation(&self) -> Activation {
        self.act
    }

    fn dtype(&self) -> DType {
        self.weight.value.dtype()
    }
}

impl<B: Backend> ParamTree<B> for Conv2d<B> {
    fn visit_params(&self, f: &mut dyn FnMut(&Param<B>)) {
        f(&self.weight);
        if let Some(b) = &self.bias {
            f(b);
        }
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<B>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }
}

impl<B: Backend> Layer<B> for Conv2d<B> {
    fn kind(&self) -> &'static str {
        "conv2d"
    }

    fn set_path(&mut self, path: &str) {
        self.path = path.to_string();
        self.tap_pre = join_path(path, "pre");
        self.tap_out = join_path(path, "out");
        self.weight.name = join_path(path, "weight");
        if let Some(b) = &mut self.bias {
            b.name = join_path(path, "bias");
        }
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, NnError> {
        let (out, inp) = self.channels();
        let &[c, h, w] = input else {
            return Err(shape_error(
                &self.path,
                &[inp, usize::MAX, usize::MAX],
                input,
            ));
        };
        if c != inp {
            return Err(shape_error(&self.path, &[inp, h, w], input));
        }
        let (oh, ow) = self.win.check(&self.path, h, w)?;
        Ok(vec![out, oh, ow])
    }

    fn forward(&mut self, be: &B, x: &Tensor<B>, _ctx: &ForwardCtx) {
        let (out, _) = self.channels();
        let &[n, _, h, w] = x.shape() else {
            panic!("conv2d `{}`: input {:?} is not NCHW", self.path, x.shape())
        };
        let (oh, ow) = self
            .win
            .output_hw(h, w)
            .expect("input shape checked by output_shape");
        let dtype = self.dtype();
        self.z.ensure(be, dtype, &[n, out, oh, ow]);
        let y = if self.act == Activation::Identity {
            None
        } else {
            self.y.ensure(be, dtype, &[n, out, oh, ow]);
            Some(&mut self.y)
        };
        be.conv2d_forward(
            x,
            &self.weight.value,
            self.bias.as_ref().map(|b| &b.value),
            &self.win,
            &mut self.z,
            self.act,
            y,
        );
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
        be.conv2d_backward_weight(
            x,
            dz,
            &self.win,
            &mut self.weight.grad,
            self.bias.as_mut().map(|b| &mut b.grad),
        );
        if need_input_grad {
            self.dx.ensure(be, dtype, x.shape());
            be.conv2d_backward_input(dz, &self.weight.value, &self.win, &mut self.dx);
        }
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
