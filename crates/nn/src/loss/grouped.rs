//! The loss of an ensemble of N networks trained as one model: the logits of member i are the
//! column block `[i·C, (i+1)·C)` of one `[batch, N·C]` tensor, and
//!
//! L = Σᵢ Lᵢ,  Lᵢ = the member's own loss (with its reduction) on its block.
//!
//! Members share no parameters, so ∂L/∂θᵢ = ∂Lᵢ/∂θᵢ: each member's gradient is its solo
//! gradient. The block's loss and gradient are computed by the same kernel, on a tensor of the
//! same shape and values as a solo run's logits, so they are bit-identical to the solo run's.
//! The per-member values are returned (not only their sum): a member whose loss is not finite
//! has diverged and is frozen by the trainer, while the others train on.

use crate::loss::{Loss, Targets};
use crate::{Backend, NnError, Tensor};

/// Σᵢ of a loss over the column blocks of `members` networks.
#[derive(Debug)]
pub struct GroupedLoss<B: Backend> {
    /// Each member's loss.
    pub inner: Loss,
    /// Number of members N.
    pub members: usize,
    block: Option<Tensor<B>>,
    grad: Option<Tensor<B>>,
}

impl<B: Backend> GroupedLoss<B> {
    /// The sum of `inner` over `members` column blocks.
    pub fn new(inner: Loss, members: usize) -> Self {
        GroupedLoss {
            inner,
            members,
            block: None,
            grad: None,
        }
    }

    /// Each member's loss on its block of `logits` (`[batch, members·C]`), with the gradient of
    /// L = Σᵢ Lᵢ written to `grad` (the same shape as `logits`).
    pub fn forward_backward(
        &mut self,
        be: &B,
        logits: &Tensor<B>,
        targets: &Targets<'_, B>,
        grad: &mut Tensor<B>,
    ) -> Result<Vec<f64>, NnError> {
        let (rows, cols) = logits.as_matrix_dims();
        if self.members == 0 || cols % self.members != 0 {
            return Err(NnError::setting(
                "grouped loss",
                format!("{cols} logits per example"),
                format!("a multiple of the {} members", self.members),
            ));
        }
        let c = cols / self.members;
        let dtype = logits.dtype();
        let block = self.block.get_or_insert_with(|| Tensor::empty(be, dtype));
        let g = self.grad.get_or_insert_with(|| Tensor::empty(be, dtype));
        block.ensure(be, dtype, &[rows, c]);
        grad.ensure(be, dtype, logits.shape());
        let mut losses = Vec::with_capacity(self.members);
        for i in 0..self.members {
            be.copy_columns(logits, i * c, block, 0, c);
            losses.push(self.inner.forward_backward(be, block, targets, g)?);
            be.copy_columns(g, 0, grad, i * c, c);
        }
        Ok(losses)
    }
}
