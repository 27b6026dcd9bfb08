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
use crate::spatial::Window2d;
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
    /// For `src` read as `[rows, a]` and `dst` as `[rows, b]` (both 2-D-readable with the same
    /// number of rows): `dst[i, dst_col + j] ← src[i, src_col + j]` for `j < cols`; the other
    /// columns of `dst` are untouched. The logits of ensemble members live in column blocks of
    /// one `[batch, members·outputs]` tensor (`learnscope_models::Ensemble`).
    fn copy_columns(
        &self,
        src: &Tensor<Self>,
        src_col: usize,
        dst: &mut Tensor<Self>,
        dst_col: usize,
        cols: usize,
    );
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

    // ---- convolution (NCHW; geometry in `crate::spatial`) ----
    /// im2col of the examples `first .. first + n` of `x` `[N, C, H, W]` into `cols`
    /// `[C·k_h·k_w, n·OH·OW]` (n is read from the shape of `cols`); padding reads as 0.
    fn im2col(&self, x: &Tensor<Self>, win: &Window2d, first: usize, cols: &mut Tensor<Self>);
    /// col2im, the adjoint of [`Backend::im2col`]: the examples `first .. first + n` of `dx`
    /// `[N, C, H, W]` are overwritten with the scatter-add of `cols` (other examples untouched).
    fn col2im(&self, cols: &Tensor<Self>, win: &Window2d, first: usize, dx: &mut Tensor<Self>);
    /// `z[e] ← W · im2col(x[e]) + bias` for `x` `[N, C, H, W]`, `weight` `[O, C, k_h, k_w]`,
    /// `z` `[N, O, OH, OW]`; then `y ← act(z)` when `y` is given (fused, while `z` is in cache).
    #[allow(clippy::too_many_arguments)]
    fn conv2d_forward(
        &self,
        x: &Tensor<Self>,
        weight: &Tensor<Self>,
        bias: Option<&Tensor<Self>>,
        win: &Window2d,
        z: &mut Tensor<Self>,
        act: Activation,
        y: Option<&mut Tensor<Self>>,
    );
    /// dL/dx of a convolution: `dx[e] ← col2im(Wᵀ · dy[e])`.
    fn conv2d_backward_input(
        &self,
        dy: &Tensor<Self>,
        weight: &Tensor<Self>,
        win: &Window2d,
        dx: &mut Tensor<Self>,
    );
    /// dL/dW and dL/db of a convolution: `dw ← Σ_e dy[e] · im2col(x[e])ᵀ`,
    /// `db[o] ← Σ_{e,p} dy[e, o, p]`, summed over the batch in a fixed order (the result does
    /// not depend on the thread count).
    fn conv2d_backward_weight(
        &self,
        x: &Tensor<Self>,
        dy: &Tensor<Self>,
        win: &Window2d,
        dw: &mut Tensor<Self>,
        db: Option<&mut Tensor<Self>>,
    );

    // ---- pooling (NCHW) ----
    /// Max pooling with −∞ padding: `y` `[N, C, OH, OW]`, and in `argmax` (same shape) the
    /// position `h·W + w` inside the input plane of each maximum, stored as a float (exact below
    /// 2²⁴ positions per plane). Ties go to the first maximum in row-major window order; NaN wins.
    fn max_pool2d_forward(
        &self,
        x: &Tensor<Self>,
        win: &Window2d,
        y: &mut Tensor<Self>,
        argmax: &mut Tensor<Self>,
    );
    /// `dx ← 0`, then `dx[n, c, argmax] += dy[n, c, ·]` (windows may overlap).
    fn max_pool2d_backward(&self, dy: &Tensor<Self>, argmax: &Tensor<Self>, dx: &mut Tensor<Self>);
    /// Average pooling with zero padding counted in the divisor k_h·k_w (PyTorch's
    /// `count_include_pad = True`).
    fn avg_pool2d_forward(&self, x: &Tensor<Self>, win: &Window2d, y: &mut Tensor<Self>);
    /// The adjoint of [`Backend::avg_pool2d_forward`]: `dx` `[N, C, H, W]` is overwritten.
    fn avg_pool2d_backward(&self, dy: &Tensor<Self>, win: &Window2d, dx: &mut Tensor<Self>);
    /// `y[n, c] ← mean_{h,w} x[n, c, h, w]` (`y` has `N·C` elements).
    fn global_avg_pool_forward(&self, x: &Tensor<Self>, y: &mut Tensor<Self>);
    /// `dx[n, c, h, w] ← dy[n, c] / (H·W)`.
    fn global_avg_pool_backward(&self, dy: &Tensor<Self>, dx: &mut Tensor<Self>);

    // ---- batch normalisation (x read as [N, C, S], S = H·W or 1; C = mean.len()) ----
    /// Per-channel batch mean and biased variance over the N·S values of each channel,
    /// accumulated in f64 in a fixed order.
    fn batch_norm_stats(&self, x: &Tensor<Self>, mean: &mut Tensor<Self>, var: &mut Tensor<Self>);
    /// `z ← γ (x − μ) / √(σ² + ε) + β` per channel, then `y ← act(z)` when `y` is given.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_forward(
        &self,
        x: &Tensor<Self>,
        mean: &Tensor<Self>,
        var: &Tensor<Self>,
        eps: f64,
        gamma: &Tensor<Self>,
        beta: &Tensor<Self>,
        z: &mut Tensor<Self>,
        act: Activation,
        y: Option<&mut Tensor<Self>>,
    );
    /// Gradients of [`Backend::batch_norm_forward`] from `dz` = dL/dz: `dβ = Σ dz`,
    /// `dγ = Σ dz·x̂` with x̂ = (x − μ)/√(σ² + ε), and, when `dx` is given,
    /// `dx = γ/√(σ²+ε) · (dz − dβ/M − x̂·dγ/M)` (M = N·S) if μ, σ² were the batch's own
    /// statistics (`batch_stats`), else `dx = γ/√(σ²+ε) · dz` (fixed running statistics).
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_backward(
        &self,
        x: &Tensor<Self>,
        dz: &Tensor<Self>,
        mean: &Tensor<Self>,
        var: &Tensor<Self>,
        eps: f64,
        gamma: &Tensor<Self>,
        batch_stats: bool,
        dx: Option<&mut Tensor<Self>>,
        dgamma: &mut Tensor<Self>,
        dbeta: &mut Tensor<Self>,
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
