//! Fully connected layer with an optional bias and a fused activation:
//! z = m_w · x Wᵀ + m_b · b, y = σ(z), with W ∈ R^{out×in} (PyTorch order).
//!
//! Backward, for a batch X ∈ R^{B×in} and upstream gradient dY:
//! dZ = dY ⊙ σ′(Z); dW = m_w · dZᵀ X; db = m_b · Σ_rows dZ; dX = m_w · dZ W.
//! The multipliers m_w, m_b implement NTK and μP parameterisations (a weight's effective value
//! is m·W while the optimizer updates W); both are 1 in the standard parameterisation.
//! Taps: `<path>.pre` = z, `<path>.out` = y (the same tensor when σ is the identity).

use learnscope_core::DType;

use super::{join_path, pre_activation_grad, shape_error, ForwardCtx, Layer};
use crate::param::{Param, ParamTree};
use crate::{Activation, Backend, NnError, Tensor, Transpose};

/// A dense layer `y = σ(m_w x Wᵀ + m_b b)`.
#[derive(Clone, Debug)]
pub struct Linear<B: Backend> {
    path: String,
    tap_pre: String,
    tap_out: String,
    act: Activation,
    weight_mul: f64,
    bias_mul: f64,
    weight: Param<B>,
    bias: Option<Param<B>>,
    z: Tensor<B>,
    y: Tensor<B>,
    dz: Tensor<B>,
    dx: Tensor<B>,
}

impl<B: Backend> Linear<B> {
    /// A layer from an initial weight `[out, in]` and optional bias `[out]`.
    pub fn new(
        be: &B,
        weight: Tensor<B>,
        bias: Option<Tensor<B>>,
        act: Activation,
    ) -> Result<Self, NnError> {
        if weight.shape().len() != 2 {
            return Err(NnError::ShapeMismatch {
                what: "linear weight".into(),
                expected: vec![usize::MAX, usize::MAX],
                found: weight.shape().to_vec(),
            });
        }
        let (out, dtype) = (weight.shape()[0], weight.dtype());
        if let Some(b) = &bias {
            if b.shape() != [out] || b.dtype() != dtype {
                return Err(NnError::ShapeMismatch {
                    what: format!("linear bias ({})", b.dtype()),
                    expected: vec![out],
                    found: b.shape().to_vec(),
                });
            }
        }
        let mut layer = Linear {
            path: String::new(),
            tap_pre: String::new(),
            tap_out: String::new(),
            act,
            weight_mul: 1.0,
            bias_mul: 1.0,
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

    /// Sets the weight and bias multipliers m_w, m_b.
    pub fn with_multipliers(mut self, weight_mul: f64, bias_mul: f64) -> Self {
        self.weight_mul = weight_mul;
        self.bias_mul = bias_mul;
        self.weight.multiplier = weight_mul;
        if let Some(b) = &mut self.bias {
            b.multiplier = bias_mul;
        }
        self
    }

    /// (out, in).
    pub fn dims(&self) -> (usize, usize) {
        (self.weight.value.shape()[0], self.weight.value.shape()[1])
    }

    /// The fused activation.
    pub fn activation(&self) -> Activation {
        self.act
    }

    /// The weight multiplier m_w.
    pub fn weight_multiplier(&self) -> f64 {
        self.weight_mul
    }

    fn dtype(&self) -> DType {
        self.weight.value.dtype()
    }
}

impl<B: Backend> ParamTree<B> for Linear<B> {
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

impl<B: Backend> Layer<B> for Linear<B> {
    fn kind(&self) -> &'static str {
        "linear"
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
        let (out, inp) = self.dims();
        if input != [inp] {
            return Err(shape_error(&self.path, &[inp], input));
        }
        Ok(vec![out])
    }

    fn forward(&mut self, be: &B, x: &Tensor<B>, _ctx: &ForwardCtx) {
        let (batch, _) = x.as_matrix_dims();
        let (out, _) = self.dims();
        let dtype = self.dtype();
        self.z.ensure(be, dtype, &[batch, out]);
        be.gemm(
            &mut self.z,
            x,
            Transpose::No,
            &self.weight.value,
            Transpose::Yes,
            self.weight_mul,
            0.0,
        );
        let bias = self.bias.as_ref().map(|b| (&b.value, self.bias_mul));
        if self.act == Activation::Identity {
            be.bias_act_forward(&mut self.z, bias, self.act, None);
        } else {
            self.y.ensure(be, dtype, &[batch, out]);
            be.bias_act_forward(&mut self.z, bias, self.act, Some(&mut self.y));
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
        let dtype = self.dtype();
        let dz: &Tensor<B> = if self.act == Activation::Identity {
            dy
        } else {
            self.dz.ensure(be, dtype, self.z.shape());
            be.act_backward(self.act, &self.z, &self.y, dy, &mut self.dz);
            &self.dz
        };
        be.gemm(
            &mut self.weight.grad,
            dz,
            Transpose::Yes,
            x,
            Transpose::No,
            self.weight_mul,
            0.0,
        );
        if let Some(b) = &mut self.bias {
            be.sum_rows(dz, self.bias_mul, &mut b.grad);
        }
        if need_input_grad {
            let (batch, _) = x.as_matrix_dims();
            let (_, inp) = self.dims();
            self.dx.ensure(be, dtype, &[batch, inp]);
            be.gemm(
                &mut self.dx,
                dz,
                Transpose::No,
                &self.weight.value,
                Transpose::No,
                self.weight_mul,
                0.0,
            );
            if x.shape().len() != 2 {
                self.dx.reshape(x.shape());
            }
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
