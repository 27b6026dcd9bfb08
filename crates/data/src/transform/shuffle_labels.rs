//! Shuffled (corrupted) labels, the memorisation probe of Zhang et al. 2017 ("Understanding deep
//! learning requires rethinking generalization"): exactly m = round(`fraction` · n) training
//! examples, the first m of a seeded permutation, get a label drawn uniformly from the K − 1
//! OTHER classes, so every chosen label changes. Test labels are untouched.
//!
//! Random streams (children of the transform's key): `which` (the permutation), `label`.

use learnscope_core::RandomKey;
use serde::{Deserialize, Serialize};

use super::error::TransformFailure;
use super::host::HostData;
use crate::dataset::TargetData;

/// Label corruption. TOML: `kind = "shuffle_labels"`, `fraction` (required, in [0, 1]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShuffleLabels {
    /// Fraction of training labels replaced.
    pub fraction: f64,
}

/// Which labels were replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShuffledLabels {
    /// Training indices whose label changed, ascending.
    pub changed: Vec<usize>,
    /// Their original labels, in the same order.
    pub original: Vec<u32>,
}

impl ShuffleLabels {
    /// Corrupts the training labels.
    pub fn apply(
        &self,
        mut data: HostData,
        key: RandomKey,
    ) -> Result<(HostData, ShuffledLabels), TransformFailure> {
        let k = data.require_classes()?;
        if !(0.0..=1.0).contains(&self.fraction) {
            return Err(TransformFailure::field(
                "fraction",
                self.fraction,
                "0 <= fraction <= 1",
            ));
        }
        if k < 2 {
            return Err(TransformFailure::Unsupported {
                needs: "at least 2 classes",
                found: format!("{k} class"),
            });
        }
        let TargetData::Classes(labels) = &mut data.train_y else {
            unreachable!("class labels checked");
        };
        let n = labels.len();
        let m = (self.fraction * n as f64).round() as usize;
        let mut changed: Vec<usize> = key.derive("which").permutation(n)[..m].to_vec();
        changed.sort_unstable();
        let draw = key.derive("label");
        let mut original = Vec::with_capacity(m);
        for &i in &changed {
            let old = labels[i];
            original.push(old);
            // Uniform on the K − 1 other classes: r ∈ 0..K−1, skipping the old label.
            let r = ((draw.u64_at(i as u64) as u128 * (k as u128 - 1)) >> 64) as u32;
            labels[i] = if r < old { r } else { r + 1 };
        }
        Ok((data, ShuffledLabels { changed, original }))
    }
}
