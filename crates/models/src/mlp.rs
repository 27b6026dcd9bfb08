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
//!
//! Initialisations ([`MlpInit`], standard parameterisation only for the non-default ones):
//! - `gaussian { gain, bias }`: w ~ N(0, gain²/fan_in) on every layer, hidden biases all equal to
//!   `bias` (a negative value switches ReLU units off at init), read-out bias 0 — the axes of
//!   P3's failed-training map (SCIENCE.md §P3.3).
//! - `aligned { strength, signs }`: one hidden layer as wide as the input, W₁ = √u₀·I and
//!   W₂ = √u₀·signs, biases 0 — hidden unit k reads input coordinate k with the balanced initial
//!   mode strength u₀ = a·b (a = b = √u₀), the independent-mode model of SCIENCE.md §P3.3 when
//!   each coordinate carries one feature. `signs` (±1 per input coordinate) orient each unit's
//!   read-out so that its initial margin is positive; the trainer fills them from the sign of
//!   E[y·x_k] when the configuration leaves them empty. Without a hidden layer, w = u₀·signs:
//!   the shallow model of §P3.3 with the same initial margin z₀ = u₀·r.

use learnscope_core::{DType, RandomKey};
use learnscope_nn::layer::{Layer, Linear};
use learnscope_nn::{Activation, Backend, NnError, Tensor};

use crate::deep_linear::BiasPlacement;
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

/// How an MLP's weights start (module documentation).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum MlpInit {
    /// The parameterisation's own initialisation.
    #[default]
    Default,
    /// w ~ N(0, gain²/fan_in), hidden biases = `bias`, read-out bias 0.
    Gaussian {
        /// The gain (1 = variance 1/fan_in).
        #[serde(default = "one")]
        gain: f64,
        /// The value of every hidden bias.
        #[serde(default)]
        bias: f64,
    },
    /// One hidden unit per input coordinate, balanced with strength u₀.
    Aligned {
        /// The initial mode strength u₀ = a·b > 0.
        strength: f64,
        /// ±1 per input coordinate (empty: filled from the data by the trainer).
        #[serde(default)]
        signs: Vec<f64>,
    },
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
    /// Which layers have a bias (`true`, `false`, `"hidden"`, `"output"`, or one flag per
    /// layer).
    pub bias: BiasPlacement,
    /// Parameterisation.
    #[serde(default)]
    pub parameterization: Parameterization,
    /// Initialisation.
    #[serde(default)]
    pub init: MlpInit,
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
        if self.init != MlpInit::Default && self.parameterization != Parameterization::Standard {
            return Err(NnError::setting(
                "model.init",
                format!("{:?}", self.init),
                "the default initialisation with a non-standard parameterisation",
            ));
        }
        match &self.init {
            MlpInit::Default => {}
            MlpInit::Gaussian { gain, bias } => {
                if !(gain.is_finite() && *gain >= 0.0 && bias.is_finite()) {
                    return Err(NnError::setting(
                        "model.init",
                        format!("gain {gain}, bias {bias}"),
                        "gain ≥ 0 and a finite bias",
                    ));
                }
            }
            MlpInit::Aligned { strength, signs } => {
                if !(self.hidden.is_empty() || self.hidden == [self.input]) || self.outputs != 1 {
                    return Err(NnError::setting(
                        "model.init = aligned",
                        format!(
                            "input {} hidden {:?} outputs {}",
                            self.input, self.hidden, self.outputs
                        ),
                        "no hidden layer, or one as wide as the input, and one output",
                    ));
                }
                if !(strength.is_finite() && *strength > 0.0) {
                    return Err(NnError::setting(
                        "model.init.strength",
                        strength,
                        "> 0 and finite",
                    ));
                }
                if signs.len() != self.input || signs.iter().any(|s| s.abs() != 1.0) {
                    return Err(NnError::setting(
                        "model.init.signs",
                        format!("{signs:?}"),
                        format!("{} values, each +1 or -1", self.input),
                    ));
                }
            }
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
        let biases = self.bias.per_layer(l)?;
        let path = "layers";
        let mut layers: Vec<Box<dyn Layer<B>>> = Vec::new();
        for i in 0..l {
            let (fan_in, fan_out) = (widths[i], widths[i + 1]);
            let wkey = key.derive(&format!("init/{path}.{i}.weight"));
            let bkey = key.derive(&format!("init/{path}.{i}.bias"));
            let n_w = fan_in * fan_out;
            let (w, b, wm, bm) = match (&self.init, self.parameterization) {
                (MlpInit::Gaussian { gain, bias }, _) => {
                    let hidden_bias = if i + 1 == l { 0.0 } else { *bias };
                    (
                        init::gaussian(wkey, n_w, gain / (fan_in as f64).sqrt()),
                        vec![hidden_bias; fan_out],
                        1.0,
                        1.0,
                    )
                }
                (MlpInit::Aligned { strength, signs }, _) => {
                    let a = strength.sqrt();
                    let w = if l == 1 {
                        signs.iter().map(|s| strength * s).collect()
                    } else if i == 0 {
                        (0..n_w)
                            .map(|k| if k / fan_in == k % fan_in { a } else { 0.0 })
                            .collect()
                    } else {
                        signs.iter().map(|s| a * s).collect()
                    };
                    (w, vec![0.0; fan_out], 1.0, 1.0)
                }
                (MlpInit::Default, p) => match p {
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
                },
            };
            let act = if i + 1 == l {
                Activation::Identity
            } else {
                self.activation
            };
            let weight = Tensor::from_f64(be, self.dtype, &[fan_out, fan_in], &w);
            let bias = biases[i].then(|| Tensor::from_f64(be, self.dtype, &[fan_out], &b));
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

#[cfg(test)]
mod tests {
    use super::*;
    use learnscope_nn::{CpuBackend, ParamTree};

    fn params(cfg: &MlpConfig) -> Vec<(String, Vec<f64>)> {
        let be = CpuBackend::new(1);
        let net = cfg.build(&be, RandomKey::root(3)).unwrap();
        let mut out = Vec::new();
        net.visit_params(&mut |p| out.push((p.name.clone(), p.value.to_host_f64(&be))));
        out
    }

    fn config(hidden: Vec<usize>, bias: BiasPlacement, init: MlpInit) -> MlpConfig {
        MlpConfig {
            input: 3,
            hidden,
            outputs: 1,
            activation: Activation::Relu,
            bias,
            parameterization: Parameterization::Standard,
            init,
            dtype: DType::F64,
        }
    }

    #[test]
    fn aligned_units_read_one_coordinate_each_and_are_balanced() {
        let signs = vec![1.0, -1.0, 1.0];
        let init = MlpInit::Aligned {
            strength: 4e-2,
            signs: signs.clone(),
        };
        let p = params(&config(vec![3], BiasPlacement::All(false), init.clone()));
        let a = 0.2; // √u₀
        assert_eq!(p[0].1, vec![a, 0.0, 0.0, 0.0, a, 0.0, 0.0, 0.0, a]);
        assert_eq!(p[1].1, vec![a, -a, a]);
        // Without a hidden layer the single layer starts at u₀·signs (z₀ = u₀·r).
        let p = params(&config(vec![], BiasPlacement::All(false), init));
        assert_eq!(p[0].1, vec![4e-2, -4e-2, 4e-2]);
        // Wrong shapes or signs are refused.
        let bad = MlpInit::Aligned {
            strength: 1.0,
            signs: vec![1.0, 0.5, 1.0],
        };
        assert!(config(vec![3], BiasPlacement::All(false), bad)
            .validate()
            .is_err());
        let wide = MlpInit::Aligned {
            strength: 1.0,
            signs,
        };
        assert!(config(vec![4], BiasPlacement::All(false), wide)
            .validate()
            .is_err());
    }

    #[test]
    fn gaussian_init_sets_hidden_biases_and_scales_weights_by_fan_in() {
        let init = MlpInit::Gaussian {
            gain: 2.0,
            bias: -0.3,
        };
        let cfg = MlpConfig {
            input: 400,
            ..config(
                vec![50],
                BiasPlacement::Named(crate::BiasName::Hidden),
                init,
            )
        };
        let p = params(&cfg);
        let names: Vec<&str> = p.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            names,
            ["layers.0.weight", "layers.0.bias", "layers.1.weight"]
        );
        assert!(p[1].1.iter().all(|&b| b == -0.3));
        // 20 000 draws of N(0, 4/400): the sample sd is within 3 % of 0.1 (its standard error
        // is 0.1/√40000 = 0.5 %).
        let w = &p[0].1;
        let sd = (w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64).sqrt();
        assert!((sd - 0.1).abs() < 0.003, "{sd}");
    }
}
