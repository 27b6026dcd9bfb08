//! What each output unit of a multi-label data set stands for: its level in a label hierarchy
//! (root 0, top-level groups 1, …), whether it is a leaf (a single class or item), and a name
//! for tables. Decision probes aggregate per-unit rates by level with it (SCIENCE.md §P1.3:
//! "aggregate per hierarchy level"); data sets without a hierarchy have none.

use serde::{Deserialize, Serialize};

/// One output unit of a hierarchical multi-label target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OutputUnit {
    /// Depth of the unit's node in the tree (root 0).
    pub level: usize,
    /// Whether the unit is a leaf (one class or one item).
    pub leaf: bool,
    /// A short name, e.g. `root`, `l1.0`, `leaf.5`, `{0,2,4,6}`.
    pub name: String,
}

impl OutputUnit {
    /// The group a unit is aggregated in: `leaf` for leaves, `level<l>` otherwise.
    pub fn group(&self) -> String {
        if self.leaf {
            "leaf".into()
        } else {
            format!("level{}", self.level)
        }
    }
}
