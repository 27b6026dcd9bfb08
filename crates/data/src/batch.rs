//! A batch on a backend: inputs, targets and the example indices they came from.

use learnscope_core::DType;
use learnscope_nn::loss::Targets;
use learnscope_nn::{Backend, Tensor};

use crate::dataset::{Dataset, Split, TargetData};

/// Targets of a batch.
pub enum BatchTargets<B: Backend> {
    /// Class labels (host; losses read them from the host).
    Classes(Vec<u32>),
    /// Dense targets on the backend.
    Dense(Tensor<B>),
}

/// Examples gathered for one step or one evaluation.
pub struct Batch<B: Backend> {
    /// The split they come from.
    pub split: Split,
    /// Example indices within the split, in batch order.
    pub indices: Vec<usize>,
    /// Inputs `[batch, input_shape…]`.
    pub x: Tensor<B>,
    /// Targets.
    pub y: BatchTargets<B>,
}

impl<B: Backend> Batch<B> {
    /// Gathers `indices` of `split` into a batch of element type `dtype`.
    pub fn gather(
        be: &B,
        data: &dyn Dataset,
        split: Split,
        indices: &[usize],
        dtype: DType,
    ) -> Self {
        let spec = data.spec();
        let mut xs = Vec::with_capacity(indices.len() * spec.input_size());
        data.gather_inputs(split, indices, &mut xs);
        let mut shape = vec![indices.len()];
        shape.extend(&spec.input_shape);
        let y = match data.targets(split) {
            TargetData::Classes(l) => {
                BatchTargets::Classes(indices.iter().map(|&i| l[i]).collect())
            }
            TargetData::Dense(v) => {
                let c = v.len() / spec.len(split).max(1);
                let mut ys = Vec::with_capacity(indices.len() * c);
                for &i in indices {
                    ys.extend_from_slice(&v[i * c..(i + 1) * c]);
                }
                BatchTargets::Dense(Tensor::from_f64(be, dtype, &[indices.len(), c], &ys))
            }
        };
        Batch {
            split,
            indices: indices.to_vec(),
            x: Tensor::from_f64(be, dtype, &shape, &xs),
            y,
        }
    }

    /// The targets as a loss reads them.
    pub fn targets(&self) -> Targets<'_, B> {
        match &self.y {
            BatchTargets::Classes(l) => Targets::Classes(l),
            BatchTargets::Dense(t) => Targets::Dense(t),
        }
    }

    /// Examples in the batch.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}
