//! Logit flows of binary classification with cross-entropy or hinge loss (SCIENCE.md §P3.3, a
//! reconstruction of Tachet des Combes et al. 2018, arXiv:1809.06848, "On the Learning Dynamics
//! of Deep Neural Networks"), gradient starvation (§C.4, Pezeshki et al. 2021,
//! arXiv:2011.09468) and the failed-training probability, in flow time t (τ = 1, i.e.
//! `t = η · steps` for full-batch mean-reduced losses; convert with [`crate::flow_time`]).
//!
//! Labels `y = ±1`; `z = y f(x)` is the margin contributed by one feature whose examples have
//! input norm `r` and which a fraction `p` of the training examples carry. `g(z) = −ℓ'(z)`:
//! cross-entropy `ℓ = ln(1 + e^{−z})`, `g = σ(−z)`; hinge `ℓ = max(0, 1 − z)`, `g = 1` for
//! `z < 1`, else 0.
//!
//! - **Two-layer balanced mode** (`w = a x̂`, `v = b`, `a = b`, `z = a b r`, `u = a b`):
//!   `da/dt = p g b r`, `db/dt = p g a r` ⇒ `dz/dt = 2 p r z g(z)`, `z₀ = u₀ r`.
//!   CE: `t(z) = [ln(z/z₀) + Ei(z) − Ei(z₀)] / (2 p r)` (the integral of `(1 + e^z)/z`);
//!   hinge: `z = z₀ e^{2 p r t}` until `z = 1` at `t = ln(1/z₀)/(2 p r)`, then constant.
//! - **Shallow** (`f = w x`): `dz/dt = p r² g(z)`. CE: `t(z) = [z − z₀ + e^z − e^{z₀}] / (p r²)`;
//!   hinge: `z = z₀ + p r² t` until 1.
//!
//! Times scale as `1/p` exactly in both models; the input-norm exponent of the time to a fixed
//! margin is exactly −2 for the shallow model (with `z₀` independent of `r`) and, for the
//! two-layer model with `z₀ = u₀ r`, `−1 − (1 + e^{z₀}) / [2 p r t(z*)]`, close to the
//! small-margin form `−1 − 1/ln(z*/z₀)` (see [`predicted_norm_exponent`]).
//!
//! The gradient-starvation model ([`StarvationModel`]) couples several features through the
//! shared margins of groups of examples; see its documentation for the equations.

mod ei;
mod failure;
mod logit_flow;
mod starvation;

use serde::{Deserialize, Serialize};

pub use ei::ei;
pub use failure::{cluster_dead_probability, failure_probability};
pub use logit_flow::{
    log_corrected_norm_exponent, predicted_frequency_exponent, predicted_norm_exponent, LogitFlow,
};
pub use starvation::{
    two_feature_groups, Group, Penalty, StarvationExperiment, StarvationModel, StarvationOutcome,
    StarvationRun,
};

/// `σ(−z) = 1 / (1 + e^z)` without overflow for either sign of `z`.
pub fn sigmoid_neg(z: f64) -> f64 {
    if z >= 0.0 {
        let e = (-z).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + z.exp())
    }
}

/// The cross-entropy `ln(1 + e^{−z})` without overflow or cancellation.
pub fn ce_loss(z: f64) -> f64 {
    (-z).max(0.0) + (-z.abs()).exp().ln_1p()
}

/// The loss of a binary classifier as a function of the margin `z = y f(x)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryLoss {
    /// `ℓ = ln(1 + e^{−z})`, `g = σ(−z)`: never stops, margins grow logarithmically.
    CrossEntropy,
    /// `ℓ = max(0, 1 − z)`, `g = 1` for `z < 1`, else 0: learning halts at the margin.
    Hinge,
}

impl BinaryLoss {
    /// `g(z) = −ℓ'(z)` (for the hinge the one-sided value at the kink: `g(1) = 0`).
    pub fn g(self, z: f64) -> f64 {
        match self {
            BinaryLoss::CrossEntropy => sigmoid_neg(z),
            BinaryLoss::Hinge => {
                if z.is_nan() {
                    f64::NAN
                } else if z < 1.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// `ℓ(z)`.
    pub fn loss(self, z: f64) -> f64 {
        match self {
            BinaryLoss::CrossEntropy => ce_loss(z),
            BinaryLoss::Hinge => (1.0 - z).max(0.0),
        }
    }
}

/// Which parameterisation carries the feature's margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryModel {
    /// `f = w x`: `dz/dt = p r² g(z)`.
    Shallow,
    /// Balanced two-layer mode `z = a b r`, `a = b`: `dz/dt = 2 p r z g(z)` (needs `z₀ > 0`).
    TwoLayer,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_snake_case() {
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        let d: StrDeserializer<'_, Error> = "cross_entropy".into_deserializer();
        assert_eq!(
            BinaryLoss::deserialize(d).unwrap(),
            BinaryLoss::CrossEntropy
        );
        let d: StrDeserializer<'_, Error> = "two_layer".into_deserializer();
        assert_eq!(BinaryModel::deserialize(d).unwrap(), BinaryModel::TwoLayer);
        let d: StrDeserializer<'_, Error> = "none".into_deserializer();
        assert_eq!(Penalty::deserialize(d).unwrap(), Penalty::None);
    }
}
