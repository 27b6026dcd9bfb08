//! Losses on logits `f ∈ R^{B×C}` with targets y, and their gradients ∂L/∂f.
//!
//! Convention (DESIGN.md §6): `Reduction::Mean` is the mean over examples of the per-example
//! loss summed over outputs, L = (1/B) Σᵢ ℓᵢ; `Reduction::Sum` is Σᵢ ℓᵢ (used by P2's formulas).
//! Per-example losses:
//! - `Mse`: ℓ = ½ Σⱼ (fⱼ − yⱼ)² — so full-batch GD at rate η is gradient flow with τ = 1/η
//!   (SCIENCE.md §1).
//! - `Bce` (with logits): ℓ = Σⱼ softplus(fⱼ) − yⱼfⱼ. PyTorch's `BCEWithLogitsLoss` averages over
//!   all B·C entries instead; the two agree when C = 1.
//! - `CrossEntropy`: ℓ = Σⱼ yⱼ (logsumexp(f) − fⱼ), y one-hot from a class label or a soft target.
//! - `SpectralDecouplingCe { λ }`: CE + (λ/2)‖f‖² (Pezeshki et al. 2021, SCIENCE.md §C.4).
//! - `SpectralDecouplingBce { λ }`: BCE + (λ/2)‖f‖², the same penalty on binary logits
//!   (with one output: log(1 + e^{−yf}) + (λ/2)f², y = ±1).
//! - `Hinge` (binary, y ∈ {−1, +1}): ℓ = Σⱼ max(0, 1 − yⱼfⱼ).
//! - `MulticlassHinge`: ℓ = (1/C) Σ_{j≠y} max(0, 1 − f_y + fⱼ) (PyTorch's `MultiMarginLoss`).
//!
//! Each loss also reports its optimal constant solution ([`ocs`]): the constant output that
//! minimises it over a data set's targets, which P1 shows networks learn first.

pub mod grouped;
pub mod ocs;

use crate::{Backend, NnError, Tensor};

pub use grouped::GroupedLoss;
pub use ocs::{HostTargets, OptimalConstant};

/// Which loss.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LossKind {
    /// Squared error, ½‖f − y‖².
    Mse,
    /// Binary cross-entropy on logits.
    Bce,
    /// Softmax cross-entropy.
    CrossEntropy,
    /// Cross-entropy plus (λ/2)‖f‖² on the logits.
    SpectralDecouplingCe {
        /// Penalty strength λ ≥ 0.
        lambda: f64,
    },
    /// Binary cross-entropy plus (λ/2)‖f‖² on the logits.
    SpectralDecouplingBce {
        /// Penalty strength λ ≥ 0.
        lambda: f64,
    },
    /// Binary hinge with ±1 targets.
    Hinge,
    /// Multiclass (Weston–Watkins, divided by C) hinge.
    MulticlassHinge,
}

impl LossKind {
    /// The loss's name in configs.
    pub fn name(&self) -> &'static str {
        match self {
            LossKind::Mse => "mse",
            LossKind::Bce => "bce",
            LossKind::CrossEntropy => "cross_entropy",
            LossKind::SpectralDecouplingCe { .. } => "spectral_decoupling_ce",
            LossKind::SpectralDecouplingBce { .. } => "spectral_decoupling_bce",
            LossKind::Hinge => "hinge",
            LossKind::MulticlassHinge => "multiclass_hinge",
        }
    }
}

/// How per-example losses are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduction {
    /// Mean over examples (sum over outputs).
    #[default]
    Mean,
    /// Sum over examples and outputs.
    Sum,
}

/// Targets of a batch, on the backend (dense) or as host class labels.
pub enum Targets<'a, B: Backend> {
    /// One row per example, same shape as the logits.
    Dense(&'a Tensor<B>),
    /// One class label per example.
    Classes(&'a [u32]),
}

/// A loss with its reduction.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Loss {
    /// Which loss.
    pub kind: LossKind,
    /// How examples are combined.
    pub reduction: Reduction,
}

impl Loss {
    /// A loss with mean reduction.
    pub fn mean(kind: LossKind) -> Self {
        Loss {
            kind,
            reduction: Reduction::Mean,
        }
    }

    /// Checks settings (λ ≥ 0 and finite).
    pub fn validate(&self) -> Result<(), NnError> {
        if let LossKind::SpectralDecouplingCe { lambda }
        | LossKind::SpectralDecouplingBce { lambda } = self.kind
        {
            if !(lambda >= 0.0 && lambda.is_finite()) {
                return Err(NnError::setting("loss.lambda", lambda, ">= 0 and finite"));
            }
        }
        Ok(())
    }

    /// Checks that `targets` fit `logits` for this loss: counts, class ranges, and for dense
    /// hinge targets that every value is ±1. Dense targets are read back to the host for the
    /// value check only for the hinge loss.
    pub fn check_targets<B: Backend>(
        &self,
        be: &B,
        logits: &Tensor<B>,
        targets: &Targets<'_, B>,
    ) -> Result<(), NnError> {
        let name = self.kind.name();
        let (b, c) = logits.as_matrix_dims();
        match targets {
            Targets::Dense(t) => {
                if t.shape() != logits.shape() {
                    return Err(NnError::InvalidTargets {
                        loss: name,
                        detail: format!(
                            "dense targets have shape {:?}, logits {:?}",
                            t.shape(),
                            logits.shape()
                        ),
                    });
                }
                if t.dtype() != logits.dtype() {
                    return Err(NnError::DTypeMismatch {
                        what: "targets".into(),
                        expected: logits.dtype(),
                        found: t.dtype(),
                    });
                }
                if self.kind == LossKind::MulticlassHinge {
                    return Err(NnError::InvalidTargets {
                        loss: name,
                        detail: "needs class labels, got dense targets".into(),
                    });
                }
                if self.kind == LossKind::Hinge {
                    if let Some((i, v)) = t
                        .to_host_f64(be)
                        .into_iter()
                        .enumerate()
                        .find(|(_, v)| *v != 1.0 && *v != -1.0)
                    {
                        return Err(NnError::InvalidTargets {
                            loss: name,
                            detail: format!(
                                "hinge targets must be -1 or +1; entry {i} (example {}, output {}) is {v}",
                                i / c.max(1),
                                i % c.max(1)
                            ),
                        });
                    }
                }
            }
            Targets::Classes(labels) => {
                if labels.len() != b {
                    return Err(NnError::InvalidTargets {
                        loss: name,
                        detail: format!("{} labels for a batch of {b}", labels.len()),
                    });
                }
                // With one output a label is the target value itself (0 or 1).
                let binary_one_logit = c == 1
                    && matches!(
                        self.kind,
                        LossKind::Hinge
                            | LossKind::Bce
                            | LossKind::SpectralDecouplingBce { .. }
                            | LossKind::Mse
                    );
                let classes = if binary_one_logit { 2 } else { c };
                if let Some((i, &l)) = labels
                    .iter()
                    .enumerate()
                    .find(|(_, &l)| l as usize >= classes)
                {
                    return Err(NnError::InvalidTargets {
                        loss: name,
                        detail: format!("label {l} of example {i} is outside 0..{classes}"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The loss of `logits` against `targets` and, in `grad`, its gradient ∂L/∂logits.
    pub fn forward_backward<B: Backend>(
        &self,
        be: &B,
        logits: &Tensor<B>,
        targets: &Targets<'_, B>,
        grad: &mut Tensor<B>,
    ) -> Result<f64, NnError> {
        self.check_targets(be, logits, targets)?;
        grad.ensure(be, logits.dtype(), logits.shape());
        Ok(be.loss(&self.kind, self.reduction, logits, targets, grad))
    }

    /// The loss only (the gradient is computed into a scratch tensor and dropped).
    pub fn value<B: Backend>(
        &self,
        be: &B,
        logits: &Tensor<B>,
        targets: &Targets<'_, B>,
    ) -> Result<f64, NnError> {
        let mut scratch = Tensor::zeros(be, logits.dtype(), logits.shape());
        self.forward_backward(be, logits, targets, &mut scratch)
    }
}
