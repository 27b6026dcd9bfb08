//! Multi-layer perceptrons: x → σ(W₁x + b₁) → … → W_L h + b_L (linear read-out).
//!
//! Parameterisations (weights w as stored and trained; the layer computes m·w x + m_b·b):
//! - `Standard`: PyTorch's `nn.Linear` default, w, b ~ U(−1/√fan_in, 1/√fan_in), m = 1.
//! - `Ntk` (Jacot et al. 2018): w, b ~ N(0, 1), m = σ_w/√fan_in, m_b = β.
//! - `MuP`: the maximal-update parameterisation for SGD (Yang & Hu 2021, abc-form with
//!   a₁ = −½, a_hidden = 0, a_out = ½, b = ½, c = 0), written with fan-in normalisation of the
//!   input: input layer w ~ N(0, 1/n), m = √(n/d); hidden layers w ~ N(0, 1/fan_in), m = 1;
//!   read-out w ~ N(0, 1/n), m = 1/√n. Biases are weights from a constant input, hence
//!   "input-like": multiplier √fan_out on the input and hidden layers (1 on the read-out), all
//!   starting at 0. Here d is the input dimension and n the width the layer maps to (input) or
//!   from (read-out).

use learnscope_core::{DType, RandomKey};
use learnscope_nn::layer::{Layer, Linear};
use learnscope_nn::{Activation, Backend, NnError, Tensor};

use crate::init;
use crate::model::ModelSpec;
use crate::network::Network;

/// How weights are scaled at initialisation and in the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Parameterization {
    /// PyTorch's default.
    #[default]
    Standard,
    /// Neural-tangent parameterisation.
    Ntk {
        /// σ_w.
        #[serde(default = "one")]
        weight_scale: f64,
        /// β, the bias multiplier.
        #[serde(default = "one")]
        bias_scale: f64,
    },
    /// Maximal-update parameterisation (SGD).
    MuP,
}

fn one() -> f64 {
    1.0
}

/// An MLP's shape.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    /// Input dimension d.
    pub input: usize,
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Number of outputs.
    pub outputs: usize,
    /// Hidden activation.
    pub activation: Activation,
    /// Biases on every layer.
    pub bias: bool,
    /// Parameterisation.
    #[serde(default)]
    pub parameterization: Parameterization,
    /// Element type.
    pub dtype: DType,
}

impl MlpConfig {
    /// Checks the shape.
    pub fn validate(&self) -> Result<(), NnError> {
        if self.input == 0 || self.outputs == 0 || self.hidden.contains(&0) {
            return Err(NnError::setting(
                "mlp",
                format!(
                    "input {} hidden {:?} outputs {}",
                    self.input, self.hidden, self.outputs
                ),
                "all sizes > 0",
            ));
        }
        Ok(())
    }

    /// Builds the network (layers under the path `layers`; layer i is `layers.i`).
    pub fn build<B: Backend>(&self, be: &B, key: RandomKey) -> Result<Network<B>, NnError> {
        self.validate()?;
        let mut widths = vec![self.input];
        widths.extend(&self.hidden);
        widths.push(self.outputs);
        let l = widths.len() - 1;
        let path = "layers";
        let mut layers: Vec<Box<dyn Layer<B>>> = Vec::new();
        for i in 0..l {
            let (fan_in, fan_out) = (widths[i], widths[i + 1]);
            let wkey = key.derive(&format!("init/{path}.{i}.weight"));
            let bkey = key.derive(&format!("init/{path}.{i}.bias"));
            let n_w = fan_in * fan_out;
            let (w, b, wm, bm) = match self.parameterization {
                Parameterization::Standard => {
                    let bound = 1.0 / (fan_in as f64).sqrt();
                    (
                        init::uniform(wkey, n_w, bound),
                        init::uniform(bkey, fan_out, bound),
                        1.0,
                        1.0,
                    )
                }
                Parameterization::Ntk {
                    weight_scale,
                    bias_scale,
                } => (
                    init::gaussian(wkey, n_w, 1.0),
                    init::gaussian(bkey, fan_out, 1.0),
                    weight_scale / (fan_in as f64).sqrt(),
                    bias_scale,
                ),
                Parameterization::MuP => {
                    let zeros = vec![0.0; fan_out];
                    if i == 0 && l > 1 {
                        let n = fan_out as f64;
                        let m = (n / fan_in as f64).sqrt();
                        (
                            init::gaussian(wkey, n_w, (1.0 / n).sqrt()),
                            zeros,
                            m,
                            n.sqrt(),
                        )
                    } else if i + 1 == l && l > 1 {
                        let n = fan_in as f64;
                        (
                            init::gaussian(wkey, n_w, (1.0 / n).sqrt()),
                            zeros,
                            1.0 / n.sqrt(),
                            1.0,
                        )
                    } else {
                        let s = (1.0 / fan_in as f64).sqrt();
                        let bias_mul = (fan_out as f64).sqrt();
                        (init::gaussian(wkey, n_w, s), zeros, 1.0, bias_mul)
                    }
                }
            };
            let act = if i + 1 == l {
                Activation::Identity
            } else {
                self.activation
            };
            let weight = Tensor::from_f64(be, self.dtype, &[fan_out, fan_in], &w);
            let bias = self
                .bias
                .then(|| Tensor::from_f64(be, self.dtype, &[fan_out], &b));
            layers.push(Box::new(
                Linear::new(be, weight, bias, act)?.with_multipliers(wm, bm),
            ));
        }
        let spec = ModelSpec {
            name: format!(
                "mlp[{}; {}]",
                widths
                    .iter()
                    .map(|w| w.to_string())
                    .collect::<Vec<_>>()
                    .join("-"),
                self.activation.name()
            ),
            input_shape: vec![self.input],
            outputs: self.outputs,
            dtype: self.dtype,
        };
        Network::new(be, spec, path, layers)
    }
}
