//! Deep linear networks f(x) = W_L ⋯ W₁ x (+ biases), the model of Saxe et al. (2014) and of
//! P1's exact dynamics with bias terms (SCIENCE.md §C.1, §P1.4).
//!
//! Initialisations:
//! - `Gaussian { std }`: every weight entry N(0, std²).
//! - `Orthogonal { gain }`: each W_l a scaled (semi-)orthogonal matrix.
//! - `Decoupled { u, v, strength }`: the decoupled, balanced initial condition of §C.1. Given the
//!   input and output singular vectors V (N₀ × r) and U (N_L × r) of Σyx, and random matrices
//!   R_l (N_l × r) with orthonormal columns,
//!   W₁ = R₁ A Vᵀ, W_l = R_l A R_{l−1}ᵀ, W_L = U A R_{L−1}ᵀ, with A = a·I and a = strength^{1/L},
//!   so W_L⋯W₁ = strength · U Vᵀ and every mode starts with u₀ = strength, balanced across layers.
//!   Under whitened inputs each mode then follows the sigmoid u(t) of §C.1 independently.
//!
//! Biases are zero-initialised (P1's setting); which layers have one is configurable.

use learnscope_core::{DType, RandomKey};
use learnscope_nn::layer::{Layer, Linear};
use learnscope_nn::{Activation, Backend, NnError, Tensor};

use crate::init;
use crate::model::ModelSpec;
use crate::network::Network;

/// How the weights of a deep linear network start.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeepLinearInit {
    /// Entries N(0, std²).
    Gaussian {
        /// Standard deviation of each entry.
        std: f64,
    },
    /// Scaled (semi-)orthogonal matrices.
    Orthogonal {
        /// Scale of each matrix.
        gain: f64,
    },
    /// Decoupled balanced modes along given singular vectors.
    Decoupled {
        /// Output singular vectors U, row-major `N_L × rank`.
        u: Vec<f64>,
        /// Input singular vectors V, row-major `N₀ × rank`.
        v: Vec<f64>,
        /// Number of modes r.
        rank: usize,
        /// Initial mode strength u₀ of the product.
        strength: f64,
    },
    /// `Decoupled` along the singular vectors of the training data's Σyx = E\[y xᵀ\] (or, with
    /// `centred`, of E\[(y − ȳ) xᵀ\]); the run plan computes them and passes `Decoupled`.
    DecoupledSvd {
        /// Initial mode strength u₀ of every mode.
        strength: f64,
        /// Decompose the centred-target Σyx; default: centred when the output layer has a bias
        /// (its shallow path learns ȳ), raw otherwise — the choice of the `modes` probe.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        centred: Option<bool>,
    },
}

/// Which layers of a deep linear network have a (zero-initialised) bias. TOML: `true` (every
/// layer), `false` (none), `"output"` (the last layer only: P1.4 (b)'s shallow path to the OCS),
/// `"hidden"` (every layer but the last), or one boolean per layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum BiasPlacement {
    /// Every layer (`true`) or none (`false`).
    All(bool),
    /// `"output"`, `"hidden"`, `"all"` or `"none"`.
    Named(BiasName),
    /// One entry per layer.
    Layers(Vec<bool>),
}

/// A named bias placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiasName {
    /// Last layer only.
    Output,
    /// Every layer but the last.
    Hidden,
    /// Every layer.
    All,
    /// No layer.
    None,
}

impl Default for BiasPlacement {
    fn default() -> Self {
        BiasPlacement::All(false)
    }
}

impl BiasPlacement {
    /// One flag per layer for a network with `layers` weight matrices.
    pub fn per_layer(&self, layers: usize) -> Result<Vec<bool>, NnError> {
        Ok(match self {
            BiasPlacement::All(b) => vec![*b; layers],
            BiasPlacement::Named(BiasName::All) => vec![true; layers],
            BiasPlacement::Named(BiasName::None) => vec![false; layers],
            BiasPlacement::Named(BiasName::Output) => {
                (0..layers).map(|i| i + 1 == layers).collect()
            }
            BiasPlacement::Named(BiasName::Hidden) => (0..layers).map(|i| i + 1 < layers).collect(),
            BiasPlacement::Layers(v) => {
                if v.len() != layers {
                    return Err(NnError::setting(
                        "model.bias",
                        format!("{v:?}"),
                        format!("one entry per layer ({layers})"),
                    ));
                }
                v.clone()
            }
        })
    }
}

/// A deep linear network's shape and initial condition.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeepLinearConfig {
    /// Layer widths N₀ (input), N₁, …, N_L (output); L = widths.len() − 1 weight matrices.
    pub widths: Vec<usize>,
    /// Whether each of the L layers has a bias (one entry per layer), zero-initialised.
    pub bias: Vec<bool>,
    /// The weight initialisation.
    pub init: DeepLinearInit,
    /// Element type.
    pub dtype: DType,
}

impl DeepLinearConfig {
    /// A network with the given widths, biases on every layer, and small Gaussian weights.
    pub fn new(widths: &[usize], bias: bool, init: DeepLinearInit, dtype: DType) -> Self {
        DeepLinearConfig {
            widths: widths.to_vec(),
            bias: vec![bias; widths.len().saturating_sub(1)],
            init,
            dtype,
        }
    }

    /// Checks the shape and the initial condition.
    pub fn validate(&self) -> Result<(), NnError> {
        let l = self.widths.len();
        if l < 2 || self.widths.contains(&0) {
            return Err(NnError::setting(
                "widths",
                format!("{:?}", self.widths),
                "at least two entries, all > 0",
            ));
        }
        if self.bias.len() != l - 1 {
            return Err(NnError::setting(
                "bias",
                format!("{:?}", self.bias),
                format!("one entry per layer ({})", l - 1),
            ));
        }
        match &self.init {
            DeepLinearInit::Gaussian { std } if !(*std >= 0.0 && std.is_finite()) => {
                Err(NnError::setting("init.std", std, ">= 0 and finite"))
            }
            DeepLinearInit::Orthogonal { gain } if !gain.is_finite() => {
                Err(NnError::setting("init.gain", gain, "finite"))
            }
            DeepLinearInit::Decoupled {
                u,
                v,
                rank,
                strength,
            } => {
                let (n0, nl) = (self.widths[0], self.widths[l - 1]);
                if u.len() != nl * rank || v.len() != n0 * rank {
                    return Err(NnError::setting(
                        "init.u/init.v",
                        format!("{} / {} values", u.len(), v.len()),
                        format!("u is {nl}x{rank}, v is {n0}x{rank}"),
                    ));
                }
                if self.widths[1..l - 1].iter().any(|&w| w < *rank) {
                    return Err(NnError::setting(
                        "widths",
                        format!("{:?}", self.widths),
                        format!("hidden widths >= rank {rank} for a decoupled init"),
                    ));
                }
                if !strength.is_finite() || *strength <= 0.0 {
                    return Err(NnError::setting(
                        "init.strength",
                        strength,
                        "finite and > 0",
                    ));
                }
                Ok(())
            }
            DeepLinearInit::DecoupledSvd { .. } => Err(NnError::setting(
                "init",
                "decoupled_svd",
                "resolved against the data first (the run plan does this)",
            )),
            _ => Ok(()),
        }
    }

    /// Initial weights, row-major `[N_{l+1}, N_l]` per layer.
    fn initial_weights(&self, key: RandomKey, path: &str) -> Vec<Vec<f64>> {
        let l = self.widths.len() - 1;
        let wkey = |i: usize| key.derive(&format!("init/{path}.{i}.weight"));
        match &self.init {
            DeepLinearInit::Gaussian { std } => (0..l)
                .map(|i| init::gaussian(wkey(i), self.widths[i + 1] * self.widths[i], *std))
                .collect(),
            DeepLinearInit::Orthogonal { gain } => (0..l)
                .map(|i| init::orthogonal(wkey(i), self.widths[i + 1], self.widths[i], *gain))
                .collect(),
            DeepLinearInit::Decoupled {
                u,
                v,
                rank,
                strength,
            } => {
                let r = *rank;
                let a = strength.powf(1.0 / l as f64);
                // R_l for hidden layers 1..l−1, each N_l × r with orthonormal columns.
                let rs: Vec<Vec<f64>> = (1..l)
                    .map(|h| init::orthonormal_columns(wkey(h - 1), self.widths[h], r))
                    .collect();
                (0..l)
                    .map(|i| {
                        let (left, lrows) = if i + 1 == l {
                            (u.clone(), self.widths[l])
                        } else {
                            (rs[i].clone(), self.widths[i + 1])
                        };
                        let (right, rrows) = if i == 0 {
                            (v.clone(), self.widths[0])
                        } else {
                            (rs[i - 1].clone(), self.widths[i])
                        };
                        let mut w = init::matmul(
                            &left,
                            &init::transpose(&right, rrows, r),
                            lrows,
                            r,
                            rrows,
                        );
                        w.iter_mut().for_each(|x| *x *= a);
                        w
                    })
                    .collect()
            }
            DeepLinearInit::DecoupledSvd { .. } => unreachable!("rejected by validate"),
        }
    }

    /// Builds the network (layers under the path `layers`).
    pub fn build<B: Backend>(&self, be: &B, key: RandomKey) -> Result<Network<B>, NnError> {
        self.validate()?;
        let path = "layers";
        let weights = self.initial_weights(key, path);
        let mut layers: Vec<Box<dyn Layer<B>>> = Vec::new();
        for (i, w) in weights.iter().enumerate() {
            let (out, inp) = (self.widths[i + 1], self.widths[i]);
            let weight = Tensor::from_f64(be, self.dtype, &[out, inp], w);
            let bias = self.bias[i].then(|| Tensor::zeros(be, self.dtype, &[out]));
            layers.push(Box::new(Linear::new(
                be,
                weight,
                bias,
                Activation::Identity,
            )?));
        }
        let spec = ModelSpec {
            name: format!(
                "deep_linear[{}]",
                self.widths
                    .iter()
                    .map(|w| w.to_string())
                    .collect::<Vec<_>>()
                    .join("-")
            ),
            input_shape: vec![self.widths[0]],
            outputs: *self.widths.last().expect("validated"),
            dtype: self.dtype,
        };
        Network::new(be, spec, path, layers)
    }
}
