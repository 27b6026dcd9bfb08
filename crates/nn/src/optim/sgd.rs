//! SGD as in `torch.optim.SGD`: with g′ = g + λθ,
//! b₁ = g′ (first step), b_t = μ b_{t−1} + (1 − d) g′; the step is b_t, or g′ + μ b_t with
//! Nesterov; θ ← θ − η·step. Without momentum, θ ← θ − η g′.

/// The settings of one SGD update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdHyper {
    /// Learning rate η.
    pub lr: f64,
    /// Momentum μ.
    pub momentum: f64,
    /// Dampening d.
    pub dampening: f64,
    /// L2 coefficient λ.
    pub weight_decay: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Whether this is the first update (the buffer is initialised to g′, as PyTorch does).
    pub first_step: bool,
}
