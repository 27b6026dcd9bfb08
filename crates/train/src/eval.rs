//! Full-split evaluation in `Mode::Probe`: loss (the training loss's definition and reduction)
//! and, for class targets, accuracy (argmax, or logit > 0 with one output); on request also the
//! network outputs (logits) of every example, for probes that score responses (P1's `ocs` and
//! `decisions`). Batches of at most
//! `chunk` examples; per-example losses are summed in example order, so the result does not
//! depend on the chunk size beyond rounding of the per-chunk sums.

use learnscope_core::{DType, RandomKey};
use learnscope_data::{Batch, BatchTargets, Dataset, Split};
use learnscope_models::{Model, TapRequest};
use learnscope_nn::loss::{Loss, Reduction};
use learnscope_nn::{Backend, ForwardCtx, Mode, NnError, Tensor};

/// Loss and accuracy of a whole split.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSummary {
    /// Examples.
    pub n: usize,
    /// Loss under the training loss's reduction.
    pub loss: f64,
    /// Fraction correct (class targets only).
    pub accuracy: Option<f64>,
    /// Output units per example.
    pub outputs: usize,
    /// The logits of every example in split order, row-major `n × outputs` (only when a due
    /// probe asked for them through `ProbeNeeds::outputs`).
    pub logits: Option<Vec<f64>>,
}

/// Evaluates `model` on all of `split`.
#[allow(clippy::too_many_arguments)]
pub fn evaluate<B: Backend>(
    model: &mut dyn Model<B>,
    data: &dyn Dataset,
    split: Split,
    loss: &Loss,
    dtype: DType,
    chunk: usize,
    step: u64,
    keep_logits: bool,
) -> Result<EvalSummary, NnError> {
    let be = model.backend().clone();
    let n = data.spec().len(split);
    let sum_loss = Loss {
        kind: loss.kind,
        reduction: Reduction::Sum,
    };
    let (mut total, mut correct, mut classes) = (0.0, 0usize, false);
    let mut kept: Vec<f64> = Vec::new();
    let mut outputs = 0;
    let ctx = ForwardCtx::new(Mode::Probe, step, RandomKey::root(0));
    let mut grad = Tensor::empty(&be, dtype);
    let mut start = 0;
    while start < n {
        let idx: Vec<usize> = (start..(start + chunk.max(1)).min(n)).collect();
        start += idx.len();
        let batch = Batch::gather(&be, data, split, &idx, dtype);
        let logits = model.forward(&batch.x, &ctx, &TapRequest::None)?.logits;
        total += sum_loss.forward_backward(&be, logits, &batch.targets(), &mut grad)?;
        outputs = logits.as_matrix_dims().1;
        if keep_logits {
            kept.extend(logits.to_host_f64(&be));
        }
        if let BatchTargets::Classes(labels) = &batch.y {
            classes = true;
            let f = logits.to_host_f64(&be);
            let c = logits.as_matrix_dims().1;
            for (i, &y) in labels.iter().enumerate() {
                let row = &f[i * c..(i + 1) * c];
                let pred = if c == 1 {
                    u32::from(row[0] > 0.0)
                } else {
                    let mut best = 0;
                    for j in 1..c {
                        if row[j] > row[best] {
                            best = j;
                        }
                    }
                    best as u32
                };
                correct += usize::from(pred == y);
            }
        }
    }
    let loss_value = match loss.reduction {
        Reduction::Mean => total / n.max(1) as f64,
        Reduction::Sum => total,
    };
    Ok(EvalSummary {
        n,
        loss: loss_value,
        accuracy: classes.then(|| correct as f64 / n.max(1) as f64),
        outputs,
        logits: keep_logits.then_some(kept),
    })
}
