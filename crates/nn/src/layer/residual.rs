//! A residual block y = body(x) + shortcut(x), the shortcut being the identity or a layer
//! (a projection). Backward: dx = dbody/dx·dy + dshortcut/dx·dy (dy itself for the identity).
//! Children: `<path>.body`, `<path>.shortcut`; tap `<path>.out`.

use super::{join_path, ForwardCtx, Layer};
use crate::param::{Buffer, Param, ParamTree};
use crate::{Backend, NnError, Tensor};

/// `y = body(x) + shortcut(x)`.
#[derive(Clone, Debug)]
pub struct Residual<B: Backend> {
    path: String,
    tap_out: String,
    body: Box<dyn Layer<B>>,
    shortcut: Option<Box<dyn Layer<B>>>,
    y: Tensor<B>,
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
            tap_out: String::new(),
            body,
            shortcut,
            y: Tensor::empty(be, dtype),
            dx: Tensor::empty(be, dtype),
        };
        r.set_path("");
        r
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
        self.y.ensure(be, x.dtype(), body_out.shape());
        match &mut self.shortcut {
            Some(s) => {
                s.forward(be, x, ctx);
                be.add(self.body.output(), s.output(), &mut self.y);
            }
            None => be.add(self.body.output(), x, &mut self.y),
        }
    }

    fn output(&self) -> &Tensor<B> {
        &self.y
    }

    fn backward(&mut self, be: &B, x: &Tensor<B>, dy: &Tensor<B>, need_input_grad: bool) {
        self.body.backward(be, x, dy, need_input_grad);
        if let Some(s) = &mut self.shortcut {
            s.backward(be, x, dy, need_input_grad);
        }
        if need_input_grad {
            self.dx.ensure(be, x.dtype(), x.shape());
            let other = match &self.shortcut {
                Some(s) => s.input_grad(),
                None => dy,
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
        f(&self.tap_out, &self.y);
    }

    fn visit_grad_taps(&self, dy: &Tensor<B>, f: &mut dyn FnMut(&str, &Tensor<B>)) {
        self.body.visit_grad_taps(dy, f);
        if let Some(s) = &self.shortcut {
            s.visit_grad_taps(dy, f);
        }
        f(&self.tap_out, dy);
    }

    fn clone_box(&self) -> Box<dyn Layer<B>> {
        Box::new(self.clone())
    }
}
