//! Stratified subsets: keep, from every class c with n_c examples, either `per_class` examples or
//! round(`fraction` · n_c) of them, chosen uniformly at random without replacement (the first
//! ones of a seeded permutation of the class's examples). Kept examples stay in their original
//! order. The training split is always subsampled; the test split only with `test = true`.
//!
//! Random streams (children of the transform's key): `train/<c>`, `test/<c>`.

use learnscope_core::RandomKey;
use serde::{Deserialize, Serialize};

use super::error::TransformFailure;
use super::host::HostData;
use crate::dataset::Split;

/// A stratified subset. TOML: `kind = "subset"`, exactly one of `per_class` (an integer) and
/// `fraction` (in (0, 1]), and `test` (false: subsample the test split the same way too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subset {
    /// Examples to keep per class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_class: Option<usize>,
    /// Fraction of each class to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    /// Also subsample the test split.
    #[serde(default)]
    pub test: bool,
}

/// Which original examples a row-selecting transform kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeptExamples {
    /// Original training indices, in the new order.
    pub train: Vec<usize>,
    /// Original test indices, in the new order.
    pub test: Vec<usize>,
}

impl Subset {
    /// Subsamples the data set.
    pub fn apply(
        &self,
        mut data: HostData,
        key: RandomKey,
    ) -> Result<(HostData, KeptExamples), TransformFailure> {
        let classes = data.require_classes()?;
        match (self.per_class, self.fraction) {
            (Some(_), None) => {}
            (None, Some(f)) if f > 0.0 && f <= 1.0 => {}
            (None, Some(f)) => {
                return Err(TransformFailure::field("fraction", f, "0 < fraction <= 1"))
            }
            (p, f) => {
                return Err(TransformFailure::field(
                    "per_class",
                    (p, f),
                    "exactly one of `per_class` and `fraction`",
                ))
            }
        }
        let mut kept = KeptExamples::default();
        let splits: &[Split] = if self.test {
            &[Split::Train, Split::Test]
        } else {
            &[Split::Train]
        };
        for &split in splits {
            let labels = data.labels(split).expect("class labels checked");
            let mut members = vec![Vec::new(); classes];
            for (i, &c) in labels.iter().enumerate() {
                members[c as usize].push(i);
            }
            let mut keep = Vec::new();
            for (c, m) in members.iter().enumerate() {
                let take = match (self.per_class, self.fraction) {
                    (Some(p), _) => {
                        if p > m.len() {
                            return Err(TransformFailure::field(
                                "per_class",
                                p,
                                format!(
                                    "at most the {} {} examples of class {c}",
                                    m.len(),
                                    split.name()
                                ),
                            ));
                        }
                        p
                    }
                    (None, Some(f)) => (f * m.len() as f64).round() as usize,
                    (None, None) => unreachable!("checked above"),
                };
                let perm = key.derive(split.name()).at(c as u64).permutation(m.len());
                keep.extend(perm[..take].iter().map(|&j| m[j]));
            }
            keep.sort_unstable();
            data.select(split, &keep);
            match split {
                Split::Train => kept.train = keep,
                Split::Test => kept.test = keep,
            }
        }
        if !self.test {
            kept.test = (0..data.spec.test_len).collect();
        }
        Ok((data, kept))
    }
}
