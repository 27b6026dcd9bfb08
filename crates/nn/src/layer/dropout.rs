//! Inverted dropout (Srivastava et al. 2014; PyTorch's `nn.Dropout`): in `Mode::Train`,
//! y = x ⊙ m with m_i = 1/(1 − p) with probability 1 − p and 0 otherwise, so E\[y\] = x; in
//! `Mode::Eval` and `Mode::Probe`, y = x. Backward: dx = dy ⊙ m (dy in eval).
//!
//! The mask is a pure function of the run's root key, the layer path and the step
//! (`dropout/<path>` under the root key, at counter `step`; DESIGN.md §6): element i keeps its
//! value iff `key.uniform_at(i) < 1 − p`. Repeating a step, resuming a run or running a probe
//! never changes a mask. Tap: `<path>.out`.

use super::{join_path, ForwardCtx, Layer, Mode};
use crate::param::{Param, ParamTree};
use crate::{Backend, NnError, Tensor};

/// Inverted dropout with drop probability p.
#[derive(Clone, Debug)]
pub struct Dropout<B: Backend> {
    path: String,
    tap_out: String,
    key_name: String,
    p: f64,
    masked: bool,
    mask: Tensor<B>,
    y: Tensor<B>,
    dx: Tensor<B>,
}

impl<B: Backend> Dropout<B> {
    /// Dropout with drop probability `p` ∈ [0, 1).
    pub fn new(be: &B, dtype: learnscope_core::DType, p: f64) -> Result<Self, NnError> {
        if !(0.0..1.0).contains(&p) {
            return Err(NnError::setting("dropout p", p, "0 <= p < 1"));
        }
        let mut d = Dropout {
            path: String::new(),
            tap_out: String::new(),
            key_name: String::new(),
            p,
            masked: false,
            mask: Tensor::empty(be, dtype),
            y: Tensor::empty(be, dtype),
            dx: Tensor::empty(be, dtype),
        };
        d.set_path("");
        Ok(d)
    }

    /// The drop probability.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// The mask of the last training pass (`1/(1 − p)` or 0 per element).
    pub fn mask(&self) -> &Tensor<B> {
        &self.mask
    }
}

impl<B: Backend> ParamTree<B> for Dropout<B> {
    fn visit_params(&self, _f: &mut dyn FnMut(&Param<B>)) {}
    fn visit_params_mut(&mut self, _f: &mut dyn FnMut(&mut Param<B>)) {}
}

impl<B: Backend> Layer<B> for Dropout<B> {
    fn kind(&self) -> &'static str {
        "dropout"
    }
    fn set_path(&mut self, path: &str) {
        self.path = path.to_string();
        self.tap_out = join_path(path, "out");
        self.key_name = format!("dropout/{path}");
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, NnError> {
        Ok(input.to_vec())
    }
    fn forward(&mut self, be: &B, x: &Tensor<B>, ctx: &ForwardCtx) {
        self.y.ensure(be, x.dtype(), x.shape());
        self.masked = ctx.mode == Mode::Train && self.p > 0.0;
        if self.masked {
            self.mask.ensure(be, x.dtype(), x.shape());
            let key = ctx.key.derive(&self.key_name).at(ctx.step);
            be.bernoulli_mask(key, 1.0 - self.p, &mut self.mask);
            be.mul(x, &self.mask, &mut self.y);
        } else {
            be.copy(x, &mut self.y);
        }
    }
    fn output(&self) -> &Tensor<B> {
        &self.y
    }
    fn backward(&mut self, be: &B, x: &Tensor<B>, dy: &Tensor<B>, need_input_grad: bool) {
        if need_input_grad {
            self.dx.ensure(be, x.dtype(), x.shape());
            if self.masked {
                be.mul(dy, &self.mask, &mut self.dx);
            } else {
                be.copy(dy, &mut self.dx);
            }
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
