//! From optimiser steps to gradient-flow time (SCIENCE.md §1, DESIGN.md §6).
//!
//! With `L = (1/2P) Σ_μ ||y_μ − f(x_μ)||²` (`Reduction::Mean`), one full-batch gradient step
//! with rate η advances gradient flow `dθ/dt = −∇L` by `t = η`; with the sum over examples
//! (`Reduction::Sum`) the gradient is P times larger, so the step advances `t = η · P`.
//! All curve functions of this crate are in this flow time t (τ = 1).

use serde::{Deserialize, Serialize};

/// How the squared loss combines examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Reduction {
    /// ½ · mean over examples of the sum over outputs (the toolkit's `mse`).
    #[default]
    Mean,
    /// ½ · sum over examples of the sum over outputs (P2's formulas).
    Sum,
}

impl Reduction {
    /// The name used in configuration files (`mean` or `sum`).
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
        }
    }

    /// Flow time advanced per unit of learning rate: 1 for `Mean`, P for `Sum`.
    pub fn time_per_lr(self, examples: usize) -> f64 {
        match self {
            Reduction::Mean => 1.0,
            Reduction::Sum => examples as f64,
        }
    }
}

/// Flow time reached after steps whose learning rates sum to `lr_sum` (η · steps for a constant
/// rate): `t = lr_sum` for `Mean`, `t = lr_sum · examples` for `Sum`.
pub fn flow_time(lr_sum: f64, reduction: Reduction, examples: usize) -> f64 {
    lr_sum * reduction.time_per_lr(examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_reduction_scales_time_by_examples() {
        assert_eq!(flow_time(0.5, Reduction::Mean, 10), 0.5);
        assert_eq!(flow_time(0.5, Reduction::Sum, 10), 5.0);
    }

    #[test]
    fn serde_names_are_lowercase() {
        #[derive(Deserialize)]
        struct W {
            r: Reduction,
        }
        let w: W = serde_json_free("sum");
        assert_eq!(w.r, Reduction::Sum);
        fn serde_json_free(name: &str) -> W {
            // No JSON dependency here: go through serde's value-less deserializer for enums.
            use serde::de::value::{Error, StrDeserializer};
            use serde::de::IntoDeserializer;
            let d: StrDeserializer<'_, Error> = name.into_deserializer();
            W {
                r: Reduction::deserialize(d).unwrap(),
            }
        }
        assert_eq!(Reduction::Mean.name(), "mean");
    }
}
