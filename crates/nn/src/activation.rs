//! Pointwise activations σ and their derivatives, used by fused bias+activation kernels.
//!
//! GELU is the exact form x·Φ(x) (Hendrycks & Gimpel 2016; PyTorch's default), with
//! σ'(x) = Φ(x) + x·φ(x). tanh and sigmoid derivatives are computed from the output
//! (1 − y², y(1 − y)), ReLU's from the pre-activation (1 if z > 0, else 0, as in PyTorch).

use crate::Element;

/// A pointwise nonlinearity.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// σ(z) = z.
    #[default]
    Identity,
    /// σ(z) = max(0, z).
    Relu,
    /// σ(z) = tanh z.
    Tanh,
    /// σ(z) = 1 / (1 + e^{−z}).
    Sigmoid,
    /// σ(z) = z·Φ(z), Φ the standard normal CDF.
    Gelu,
}

impl Activation {
    /// The name used in configs.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Gelu => "gelu",
        }
    }

    /// Whether the function has a kink (gradient checks keep pre-activations away from it).
    pub fn has_kink(self) -> bool {
        matches!(self, Activation::Relu)
    }

    /// σ(z).
    #[inline(always)]
    pub fn apply<T: Element>(self, z: T) -> T {
        match self {
            Activation::Identity => z,
            // NaN fails `z <= 0` and passes (PyTorch's relu(nan) = nan), so a NaN weight
            // reaches the loss and the run is seen to diverge.
            Activation::Relu => {
                if z <= T::zero() {
                    T::zero()
                } else {
                    z
                }
            }
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => T::one() / (T::one() + (-z).exp()),
            Activation::Gelu => {
                let half = T::from_f64(0.5);
                z * half * (T::one() + (z * T::from_f64(std::f64::consts::FRAC_1_SQRT_2)).erf())
            }
        }
    }

    /// σ'(z), given both the pre-activation z and the output y = σ(z).
    #[inline(always)]
    pub fn derivative<T: Element>(self, z: T, y: T) -> T {
        match self {
            Activation::Identity => T::one(),
            Activation::Relu => {
                if z > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::Tanh => T::one() - y * y,
            Activation::Sigmoid => y * (T::one() - y),
            Activation::Gelu => {
                let half = T::from_f64(0.5);
                let cdf =
                    half * (T::one() + (z * T::from_f64(std::f64::consts::FRAC_1_SQRT_2)).erf());
                let pdf = T::from_f64(1.0 / (2.0 * std::f64::consts::PI).sqrt())
                    * (-(z * z) * half).exp();
                cdf + z * pdf
            }
        }
    }
}

impl std::str::FromStr for Activation {
    type Err = crate::NnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "identity" | "linear" => Activation::Identity,
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "gelu" => Activation::Gelu,
            other => {
                return Err(crate::NnError::setting(
                    "activation",
                    other,
                    "one of identity, relu, tanh, sigmoid, gelu",
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_central_differences() {
        // f64, h = 1e-6: truncation O(h²)·|σ'''| ≈ 1e-12, rounding ε/h ≈ 2e-10 → 1e-8 is safe.
        let h = 1e-6;
        for act in [
            Activation::Identity,
            Activation::Relu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Gelu,
        ] {
            for &z in &[-2.5f64, -0.7, 0.3, 1.1, 3.0] {
                let fd = (act.apply(z + h) - act.apply(z - h)) / (2.0 * h);
                let an = act.derivative(z, act.apply(z));
                assert!((fd - an).abs() < 1e-8, "{act:?} at {z}: fd {fd} vs {an}");
            }
        }
        assert!((Activation::Gelu.apply(1.0f64) - 0.841_344_746_068_543).abs() < 1e-12);
    }
}
