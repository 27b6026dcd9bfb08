//! How the linear read-out (`head`) starts, after the model's own initialisation.
//!
//! P1's CNN protocol (SCIENCE.md §P1.6, issue "zero-logit init") starts from logits ≈ 0, so that
//! with sigmoid outputs every response starts near the decision threshold 0.5 (chance) rather
//! than wherever a random head puts it: `scaled` multiplies the head's weights by `gain` and
//! zeroes its bias, so logits are `gain` times the default ones and input-dependent (their sign
//! still varies across inputs, which keeps the step-0 true-negative rate near 0.5 instead of
//! pre-setting it; HUMAN-TASK.md §2.4). `zero` sets weights and bias to 0: every logit is
//! exactly 0 and every response exactly at the threshold (the tie case the `decisions` probe
//! reports).

use learnscope_nn::{Backend, NnError, Tensor};

use crate::model::Model;

/// The head's initial condition.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HeadInit {
    /// The model's default initialisation.
    #[default]
    Default,
    /// Default weights times `gain`, zero bias.
    Scaled {
        /// Multiplier of the default weights (finite, ≥ 0).
        gain: f64,
    },
    /// Zero weights and bias.
    Zero,
}

impl HeadInit {
    /// Checks `gain`.
    pub fn validate(&self) -> Result<(), NnError> {
        match self {
            HeadInit::Scaled { gain } if !(gain.is_finite() && *gain >= 0.0) => {
                Err(NnError::setting("head_init.gain", gain, "finite and >= 0"))
            }
            _ => Ok(()),
        }
    }

    /// Applies to the parameters named `head.weight` and `head.bias` of `model`.
    pub fn apply<B: Backend>(&self, model: &mut dyn Model<B>) -> Result<(), NnError> {
        self.validate()?;
        let scale = match self {
            HeadInit::Default => return Ok(()),
            HeadInit::Scaled { gain } => *gain,
            HeadInit::Zero => 0.0,
        };
        let mut found = false;
        let be = model.backend().clone();
        model.visit_params_mut(&mut |p| {
            let is_weight = p.name == "head.weight" || p.name.ends_with(".head.weight");
            let is_bias = p.name == "head.bias" || p.name.ends_with(".head.bias");
            if is_weight || is_bias {
                found |= is_weight;
                let mut v = p.value.to_host_f64(&be);
                let s = if is_weight { scale } else { 0.0 };
                v.iter_mut().for_each(|x| *x *= s);
                p.value = Tensor::from_f64(&be, p.value.dtype(), p.value.shape(), &v);
            }
        });
        if !found {
            return Err(NnError::setting(
                "head_init",
                "a model without a `head` layer",
                "a model whose read-out is named `head`",
            ));
        }
        Ok(())
    }
}
