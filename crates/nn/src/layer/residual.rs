//! A residual block z = body(x) + shortcut(x), y = σ(z), the shortcut being the identity or a
//! layer (a projection, e.g. a strided 1×1 convolution and batch norm), σ an optional activation
//! after the sum (the ReLU of a ResNet basic block). Backward: dz = dy ⊙ σ′(z),
//! dx = dbody/dx·dz + dshortcut/dx·dz (dz itself for the identity). Shapes may have any rank.
//! Children: `<path>.body`, `<path>.shortcut`; taps `<path>.pre` = z (with an activation) and
//! `<path>.out` = y.

use super::{join_path, pre_activation_grad, ForwardCtx, Layer};
use crate::param::{Buffer, Param, ParamTree};
use crate::{Activation, Backend, NnError, Tensor};

/// `y = σ(body(x) + shortcut(x))`.
#[derive(Clone, Debug)]
pub struct Residual<B: Backend> {
    path: String,
    tap_pre: String,
    tap_out: String,
    act: Activation,
    body: Box<dyn Layer<B>>,
    shortcut: Option<Box<dyn Layer<B>>>,
    z: Tensor<B>,
    y: Tensor<B>,
    dz: Tensor<B>,
    dx: Tensor<B>,
}

impl<B: Backend> Residual<B> {
    /// A residual block; `shortcut = None` is the identity.
    pub fn new(
        be: &B,
        dtype: learnscope_core::DType,
        body: Box<dyn Layer<B>>,
        shortcut: Option<Box<dyn Layer<B>>>,
    ) -> Self {
        let mut r = Residual {
            path: String::new(),
            tap_pre: String::new(),
            tap_out: String::new(),
            act: Activation::Identity,
            body,
            shortcut,
            z: Tensor::empty(be, dtype),
            y: Tensor::empty(be, dtype),
            dz: Tensor::empty(be, dtype),
            dx: Tensor::empty(be, dtype),
        };
        r.set_path("");
        r
    }

    /// Applies σ after the sum.
    pub fn with_activation(mut self, act: Activation) -> Self {
        self.act = act;
        self
    }

    /// The activation after the sum.
    pub fn activation(&self) -> Activation {
        self.act
    }
}

impl<B: Backend> ParamTree<B> for Residual<B> {
    fn visit_params(&self, f: &mut dyn FnMut(&Param<B>)) {
        self.body.visit_params(f);
        if let Some(s) = &self.shortcut {
            s.visit_params(f);
        }
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<B>)) {
        self.body.visit_params_mut(f);
        if let Some(s) = &mut self.shortcut {
            s.visit_params_mut(f);
        }
    }
    fn visit_buffers(&self, f: &mut dyn FnMut(&Buffer<B>)) {
        self.body.visit_buffers(f);
        if let Some(s) = &self.shortcut {
            s.visit_buffers(f);
        }
    }
    fn visit_buffers_mut(&mut self, f: &mut dyn FnMut(&mut Buffer<B>)) {
        self.body.visit_buffers_mut(f);
        if let Some(s) = &mut self.shortcut {
            s.visit_buffers_mut(f);
        }
    }
}

impl<B: Backend> Layer<B> for Residual<B> {
    fn kind(&self) -> &'static str {
        "residual"
    }

    fn set_path(&mut self, path: &str) {
        self.path = path.to_string();
        self.tap_pre = join_path(path, "pre");
        self.tap_out = join_path(path, "out");
        self.body.set_path(&join_path(path, "body"));
        if let Some(s) = &mut self.shortcut {
            s.set_path(&join_path(path, "shortcut"));
        }
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, NnError> {
        let body = self.body.output_shape(input)?;
        let short = match &self.shortcut {
            Some(s) => s.output_shape(input)?,
            None => input.to_vec(),
        };
        if body != short {
            return Err(NnError::ShapeMismatch {
                what: format!("shortcut of residual `{}`", self.path),
                expected: body,
                found: short,
            });
        }
        Ok(body)
    }

    fn forward(&mut self, be: &B, x: &Tensor<B>, ctx: &ForwardCtx) {
        self.body.forward(be, x, ctx);
        let body_out = self.body.output();
        self.z.ensure(be, x.dtype(), body_out.shape());
        match &mut self.shortcut {
            Some(s) => {
                s.forward(be, x, ctx);
                be.add(self.body.output(), s.output(), &mut self.z);
            }
            None => be.add(self.body.output(), x, &mut self.z),
        }
        if self.act != Activation::Identity {
            self.y.ensure(be, x.dtype(), self.z.shape());
            be.act_forward(self.act, &self.z, &mut self.y);
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
        let dz: &Tensor<B> = if self.act == Activation::Identity {
            dy
        } else {
            self.dz.ensure(be, x.dtype(), self.z.shape());
            be.act_backward(self.act, &self.z, &self.y, dy, &mut self.dz);
            &self.dz
        };
        self.body.backward(be, x, dz, need_input_grad);
        if let Some(s) = &mut self.shortcut {
            s.backward(be, x, dz, need_input_grad);
        }
        if need_input_grad {
            self.dx.ensure(be, x.dtype(), x.shape());
            let other = match &self.shortcut {
                Some(s) => s.input_grad(),
                None => dz,
            };
            be.add(self.body.input_grad(), other, &mut self.dx);
        }
    }

    fn input_grad(&self) -> &Tensor<B> {
        &self.dx
    }

    fn visit_taps(&self, f: &mut dyn FnMut(&str, &Tensor<B>)) {
        self.body.visit_taps(f);
        if let Some(s) = &self.shortcut {
            s.visit_taps(f);
        }
        if self.act != Activation::Identity {
            f(&self.tap_pre, &self.z);
        }
        f(&self.tap_out, self.output());
    }

    fn visit_grad_taps(&self, dy: &Tensor<B>, f: &mut dyn FnMut(&str, &Tensor<B>)) {
        let dz = pre_activation_grad(self.act, dy, &self.dz);
        self.body.visit_grad_taps(dz, f);
        if let Some(s) = &self.shortcut {
            s.visit_grad_taps(dz, f);
        }
        if self.act != Activation::Identity {
            f(&self.tap_pre, dz);
        }
        f(&self.tap_out, dy);
    }

    fn clone_box(&self) -> Box<dyn Layer<B>> {
        Box::new(self.clone())
    }
}
