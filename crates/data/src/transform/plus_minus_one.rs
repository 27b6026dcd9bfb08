//! ±1 targets from 0/1 targets: every dense target y ∈ {0, 1} becomes 2y − 1. With zero-mean
//! outputs at initialisation and the threshold at 0, a network then starts at chance on every
//! yes/no label, as people do (HUMAN-TASK.md §2.4: under 0/1 coding a near-zero output is a
//! "no" from the first step, so early true-negative rates say nothing about learning).
//! Output units (the hierarchy's nodes) keep their names and levels.

use serde::{Deserialize, Serialize};

use super::error::TransformFailure;
use super::host::HostData;
use crate::dataset::{Split, TargetData, TargetKind};

/// TOML: `kind = "plus_minus_one"` (no fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PlusMinusOne {}

impl PlusMinusOne {
    /// Rewrites the dense targets of both splits; any value other than 0 or 1 is an error
    /// naming the split, example and output.
    pub fn apply(&self, mut data: HostData) -> Result<HostData, TransformFailure> {
        let outputs = match data.spec.target {
            TargetKind::Dense { outputs } => outputs,
            TargetKind::Classes { .. } => {
                return Err(TransformFailure::Unsupported {
                    needs: "dense 0/1 targets (e.g. the hierarchy's, or after `regression`)",
                    found: "class labels".into(),
                })
            }
        };
        for split in [Split::Train, Split::Test] {
            let TargetData::Dense(y) = data.y_mut(split) else {
                continue;
            };
            for (i, v) in y.iter_mut().enumerate() {
                if *v != 0.0 && *v != 1.0 {
                    return Err(TransformFailure::Field {
                        field: "targets",
                        value: format!(
                            "{v} ({split:?} example {}, output {})",
                            i / outputs.max(1),
                            i % outputs.max(1)
                        ),
                        rule: "every target is 0 or 1".into(),
                    });
                }
                *v = 2.0 * *v - 1.0;
            }
        }
        Ok(data)
    }
}
