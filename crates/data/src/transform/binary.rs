//! Binary tasks: a set of positive classes against the rest. A class-labelled data set becomes a
//! two-way task with target +1/1/class 1 for the positive classes and −1/0/class 0 for the
//! others, in one of three encodings: `classes` (labels 0/1, two classes: cross-entropy),
//! `plus_minus_one` (one dense output ±1: hinge or squared loss) or `zero_one` (one dense output
//! 0/1: binary cross-entropy or squared loss).

use serde::{Deserialize, Serialize};

use super::error::TransformFailure;
use super::host::HostData;
use crate::dataset::{Split, TargetData, TargetKind};

/// How the binary target is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BinaryEncoding {
    /// Class labels 1 (positive) and 0.
    #[default]
    Classes,
    /// One dense output, +1 or −1.
    PlusMinusOne,
    /// One dense output, 1 or 0.
    ZeroOne,
}

/// A binary task. TOML: `kind = "binary"`, `positive` (required: the positive classes),
/// `encoding` (`"classes"` | `"plus_minus_one"` | `"zero_one"`, default classes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binary {
    /// The positive classes.
    pub positive: Vec<u32>,
    /// The target encoding.
    #[serde(default)]
    pub encoding: BinaryEncoding,
}

impl Binary {
    /// Relabels both splits.
    pub fn apply(&self, mut data: HostData) -> Result<HostData, TransformFailure> {
        let k = data.require_classes()?;
        let mut pos = vec![false; k];
        for &c in &self.positive {
            match pos.get_mut(c as usize) {
                Some(p) => *p = true,
                None => {
                    return Err(TransformFailure::field(
                        "positive",
                        &self.positive,
                        format!("labels in 0..{k}"),
                    ))
                }
            }
        }
        let n_pos = pos.iter().filter(|&&p| p).count();
        if n_pos == 0 || n_pos == k {
            return Err(TransformFailure::field(
                "positive",
                &self.positive,
                format!("at least one positive and one negative class among 0..{k}"),
            ));
        }
        for split in [Split::Train, Split::Test] {
            let labels = data.labels(split).expect("class labels checked");
            let is_pos = labels.iter().map(|&c| pos[c as usize]);
            let y = match self.encoding {
                BinaryEncoding::Classes => TargetData::Classes(is_pos.map(u32::from).collect()),
                BinaryEncoding::PlusMinusOne => {
                    TargetData::Dense(is_pos.map(|p| if p { 1.0 } else { -1.0 }).collect())
                }
                BinaryEncoding::ZeroOne => {
                    TargetData::Dense(is_pos.map(|p| if p { 1.0 } else { 0.0 }).collect())
                }
            };
            *data.y_mut(split) = y;
        }
        data.spec.target = match self.encoding {
            BinaryEncoding::Classes => TargetKind::Classes { classes: 2 },
            _ => TargetKind::Dense { outputs: 1 },
        };
        Ok(data)
    }
}
