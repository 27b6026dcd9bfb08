//! Class selection: keep the examples whose label is in `classes` (both splits) and relabel
//! `classes[j]` → j, so a K-class data set becomes a k-class one with labels 0..k in the order
//! the list gives.

use serde::{Deserialize, Serialize};

use super::error::TransformFailure;
use super::host::HostData;
use super::subset::KeptExamples;
use crate::dataset::{Split, TargetData, TargetKind};

/// Class selection. TOML: `kind = "select_classes"`, `classes` (required, distinct labels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectClasses {
    /// The classes kept; `classes[j]` becomes class j.
    pub classes: Vec<u32>,
}

impl SelectClasses {
    /// Keeps and relabels.
    pub fn apply(&self, mut data: HostData) -> Result<(HostData, KeptExamples), TransformFailure> {
        let k = data.require_classes()?;
        let mut new_label = vec![None; k];
        for (j, &c) in self.classes.iter().enumerate() {
            match new_label.get_mut(c as usize) {
                None => {
                    return Err(TransformFailure::field(
                        "classes",
                        &self.classes,
                        format!("labels in 0..{k}"),
                    ))
                }
                Some(Some(_)) => {
                    return Err(TransformFailure::field(
                        "classes",
                        &self.classes,
                        format!("distinct labels ({c} repeats)"),
                    ))
                }
                Some(slot) => *slot = Some(j as u32),
            }
        }
        if self.classes.is_empty() {
            return Err(TransformFailure::field(
                "classes",
                &self.classes,
                "at least one class",
            ));
        }
        let mut kept = KeptExamples::default();
        for split in [Split::Train, Split::Test] {
            let labels = data.labels(split).expect("class labels checked");
            let keep: Vec<usize> = (0..labels.len())
                .filter(|&i| new_label[labels[i] as usize].is_some())
                .collect();
            data.select(split, &keep);
            if let TargetData::Classes(l) = data.y_mut(split) {
                l.iter_mut()
                    .for_each(|c| *c = new_label[*c as usize].expect("kept"));
            }
            match split {
                Split::Train => kept.train = keep,
                Split::Test => kept.test = keep,
            }
        }
        data.spec.target = TargetKind::Classes {
            classes: self.classes.len(),
        };
        Ok((data, kept))
    }
}
