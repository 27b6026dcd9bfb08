//! Epoch-based sampling: in epoch e the examples are visited in the order of
//! `key.derive("shuffle").at(e).permutation(n)` (or in index order without shuffling), cut into
//! batches of `batch_size` (the last one smaller unless `drop_last`). The order is a pure
//! function of (seed, epoch), so resuming at (epoch, position) needs no saved random state.

use learnscope_core::RandomKey;

/// The batches of every epoch.
#[derive(Debug, Clone)]
pub struct EpochSampler {
    n: usize,
    batch_size: usize,
    shuffle: bool,
    drop_last: bool,
    key: RandomKey,
    /// The permutation of the most recent epoch asked for (a cache: recomputing it per batch
    /// would cost O(n) per step).
    cached: Option<(u64, Vec<usize>)>,
}

impl EpochSampler {
    /// A sampler over `n` examples; `batch_size = 0` or ≥ n means full batch.
    pub fn new(
        n: usize,
        batch_size: usize,
        shuffle: bool,
        drop_last: bool,
        key: RandomKey,
    ) -> Self {
        let batch_size = if batch_size == 0 || batch_size > n {
            n
        } else {
            batch_size
        };
        EpochSampler {
            n,
            batch_size,
            shuffle,
            drop_last,
            key: key.derive("shuffle"),
            cached: None,
        }
    }

    /// Examples per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch (≥ 1 when n ≥ 1).
    pub fn batches_per_epoch(&self) -> usize {
        if self.batch_size == 0 {
            return 0;
        }
        if self.drop_last {
            self.n / self.batch_size
        } else {
            self.n.div_ceil(self.batch_size)
        }
    }

    /// The example indices of batch `position` of `epoch`.
    pub fn batch(&mut self, epoch: u64, position: usize) -> Vec<usize> {
        let start = position * self.batch_size;
        let end = (start + self.batch_size).min(self.n);
        if !self.shuffle {
            return (start..end).collect();
        }
        if self.cached.as_ref().map(|c| c.0) != Some(epoch) {
            self.cached = Some((epoch, self.key.at(epoch).permutation(self.n)));
        }
        let perm = &self.cached.as_ref().expect("just set").1;
        perm[start..end].to_vec()
    }

    /// (epoch, position in epoch, whether it ends the epoch) of optimisation step `step`.
    pub fn locate(&self, step: u64) -> (u64, usize, bool) {
        let per = self.batches_per_epoch().max(1) as u64;
        let (epoch, pos) = (step / per, (step % per) as usize);
        (epoch, pos, pos as u64 + 1 == per)
    }
}
