//! The `Backend` trait: every arithmetic operation of the engine, and nothing else.
//!
//! Layers call these operations and never index host memory, so a GPU backend implements this
//! trait and every layer, loss and optimizer runs on it unchanged. Operations take tensors of one
//! dtype; mixing dtypes or passing mis-shaped tensors is a bug in the caller (layers validate user
//! input before it reaches a kernel) and panics with the shapes involved.
//!
//! Reductions (sums over the batch, losses, dot products) combine fixed-size chunks in index
//! order, so results never depend on the number of threads (DESIGN.md §6).

use learnscope_core::{DType, RandomKey};

use crate::loss::{LossKind, Reduction, Targets};
use crate::optim::{AdamHyper, SgdHyper};
use crate::{Activation, Tensor};

/// Whether a matrix operand of [`Backend::gemm`] is used as stored or transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transpose {
    /// Use the matrix as stored.
    No,
    /// Use its transpose.
    Yes,
}

/// The operations a compute backend provides.
pub trait Backend: Clone + Send + Sync + std::fmt::Debug + 'static {
    /// Memory holding the elements of one tensor (host vector, device buffer).
    type Storage: Clone + Send + Sync + std::fmt::Debug;

    /// A short name (`cpu`, `cuda`).
    fn name(&self) -> &'static str;
    /// Threads this backend uses for large operations.
    fn threads(&self) -> usize;
    /// The instruction-set path taken by the matrix kernels (`avx512`, `avx2`, `scalar`, …),
    /// recorded in run manifests.
    fn isa(&self) -> String;

    // ---- storage ----
    /// `len` zeros of type `dtype`.
    fn alloc_zeros(&self, dtype: DType, len: usize) -> Self::Storage;
    /// The dtype of a storage.
    fn storage_dtype(storage: &Self::Storage) -> DType;
    /// The element count of a storage.
    fn storage_len(storage: &Self::Storage) -> usize;
    /// Host f64 values converted to `dtype`.
    fn upload_f64(&self, dtype: DType, data: &[f64]) -> Self::Storage;
    /// The values as host f64.
    fn download_f64(&self, storage: &Self::Storage) -> Vec<f64>;

    // ---- elementwise and reductions ----
    /// `dst ← src` (same element count; shapes may differ).
    fn copy(&self, src: &Tensor<Self>, dst: &mut Tensor<Self>);
    /// `dst ← value` everywhere.
    fn fill(&self, dst: &mut Tensor<Self>, value: f64);
    /// `x ← a·x`.
    fn scale(&self, x: &mut Tensor<Self>, a: f64);
    /// `y ← y + a·x`.
    fn axpy(&self, a: f64, x: &Tensor<Self>, y: &mut Tensor<Self>);
    /// `out ← a + b`.
    fn add(&self, a: &Tensor<Self>, b: &Tensor<Self>, out: &mut Tensor<Self>);
    /// `out ← a ⊙ b`.
    fn mul(&self, a: &Tensor<Self>, b: &Tensor<Self>, out: &mut Tensor<Self>);
    /// Σ aᵢbᵢ, accumulated in f64 over fixed chunks.
    fn dot(&self, a: &Tensor<Self>, b: &Tensor<Self>) -> f64;
    /// For `x` read as `[rows, cols]`: `out[j] ← scale·Σᵢ x[i, j]` (`out` has `cols` elements).
    fn sum_rows(&self, x: &Tensor<Self>, scale: f64, out: &mut Tensor<Self>);

    // ---- matrix products ----
    /// `dst ← alpha·op(lhs)·op(rhs) + beta·dst` for 2-D operands (`beta = 0` never reads `dst`).
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
        dst: &mut Tensor<Self>,
        lhs: &Tensor<Self>,
        lhs_t: Transpose,
        rhs: &Tensor<Self>,
        rhs_t: Transpose,
        alpha: f64,
        beta: f64,
    );

    // ---- fused layer kernels ----
    /// Fused bias + activation: `z[i, j] ← z[i, j] + bias_scale·bias[j]` (when a bias is given),
    /// then `out ← σ(z)` (when `out` is given; the identity needs none).
    fn bias_act_forward(
        &self,
        z: &mut Tensor<Self>,
        bias: Option<(&Tensor<Self>, f64)>,
        act: Activation,
        out: Option<&mut Tensor<Self>>,
    );
    /// `y ← σ(x)` elementwise.
    fn act_forward(&self, act: Activation, x: &Tensor<Self>, y: &mut Tensor<Self>);
    /// `dz ← dy ⊙ σ'(z)`, with `y = σ(z)` the forward output.
    fn act_backward(
        &self,
        act: Activation,
        z: &Tensor<Self>,
        y: &Tensor<Self>,
        dy: &Tensor<Self>,
        dz: &mut Tensor<Self>,
    );

    // ---- losses ----
    /// The loss of `logits` `[batch, outputs]` against `targets` (already validated), and its
    /// gradient with respect to the logits written to `grad`.
    fn loss(
        &self,
        kind: &LossKind,
        reduction: Reduction,
        logits: &Tensor<Self>,
        targets: &Targets<'_, Self>,
        grad: &mut Tensor<Self>,
    ) -> f64;

    // ---- optimizer updates ----
    /// One SGD update of `param` from `grad` (PyTorch's `torch.optim.SGD` rule).
    fn sgd_update(
        &self,
        param: &mut Tensor<Self>,
        grad: &Tensor<Self>,
        momentum_buf: Option<&mut Tensor<Self>>,
        hyper: &SgdHyper,
    );
    /// One Adam/AdamW update (PyTorch's `torch.optim.Adam`/`AdamW` rule).
    fn adam_update(
        &self,
        param: &mut Tensor<Self>,
        grad: &Tensor<Self>,
        exp_avg: &mut Tensor<Self>,
        exp_avg_sq: &mut Tensor<Self>,
        hyper: &AdamHyper,
    );

    // ---- randomness ----
    /// Inverted-dropout mask: `mask[i] ← 1/keep` with probability `keep`, else 0, where the draw
    /// for element i is `key.uniform_at(i)`: a pure function of the key, on every backend.
    fn bernoulli_mask(&self, key: RandomKey, keep: f64, mask: &mut Tensor<Self>);
}
