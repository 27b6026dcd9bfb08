//! Regression targets from class labels: `one_hot` (K dense outputs, 1 at the label, 0 elsewhere:
//! squared loss on one-hot codes) or `index` (one dense output equal to the class index as a
//! real number).

use serde::{Deserialize, Serialize};

use super::error::TransformFailure;
use super::host::HostData;
use crate::dataset::{Split, TargetData, TargetKind};

/// How a class becomes a real target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RegressionEncoding {
    /// K outputs, one-hot.
    #[default]
    OneHot,
    /// One output, the class index.
    Index,
}

/// Regression targets. TOML: `kind = "regression"`, `encoding` (`"one_hot"` | `"index"`,
/// default one_hot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Regression {
    /// The encoding.
    #[serde(default)]
    pub encoding: RegressionEncoding,
}

impl Regression {
    /// Rewrites the targets of both splits.
    pub fn apply(&self, mut data: HostData) -> Result<HostData, TransformFailure> {
        let k = data.require_classes()?;
        for split in [Split::Train, Split::Test] {
            let labels = data.labels(split).expect("class labels checked");
            let y = match self.encoding {
                RegressionEncoding::OneHot => {
                    let mut y = vec![0.0; labels.len() * k];
                    for (i, &c) in labels.iter().enumerate() {
                        y[i * k + c as usize] = 1.0;
                    }
                    y
                }
                RegressionEncoding::Index => labels.iter().map(|&c| c as f64).collect(),
            };
            *data.y_mut(split) = TargetData::Dense(y);
        }
        data.spec.target = TargetKind::Dense {
            outputs: match self.encoding {
                RegressionEncoding::OneHot => k,
                RegressionEncoding::Index => 1,
            },
        };
        Ok(data)
    }
}
