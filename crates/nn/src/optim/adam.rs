//! Adam as in `torch.optim.Adam`/`AdamW`: g′ = g + λθ (Adam) or θ ← θ(1 − ηλ) (AdamW);
//! m ← β₁m + (1 − β₁)g′, v ← β₂v + (1 − β₂)g′²;
//! θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).

/// The settings of one Adam update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamHyper {
    /// Learning rate η.
    pub lr: f64,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Weight decay λ.
    pub weight_decay: f64,
    /// Decoupled (AdamW) weight decay.
    pub decoupled: bool,
    /// The 1-based step count t (for bias correction).
    pub step: u64,
}
