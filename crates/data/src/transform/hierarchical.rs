//! Hierarchical multi-hot targets from a class tree (Saxe, McClelland & Ganguli 2019; P1's
//! hierarchical category task, SCIENCE.md §P1): the classes are the leaves of a tree given as a
//! nested grouping, e.g. `[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]` (depth 3), and every node is an
//! output unit that is on (1) for the classes below it and off (0) otherwise. A class's target
//! is the multi-hot vector of the groups containing it (its ancestors) and, with `leaves`, its
//! own unit.
//!
//! Unit order: the root (only with `root = true`; on for every class), then the groups level by
//! level in breadth-first order (level 1 = the top-level groups, left to right), then, with
//! `leaves = true`, one unit per class in class-index order. For the tree above with `root` and
//! `leaves` this is 1 + 2 + 4 + 8 = 15 units, the layout of
//! [`crate::synthetic::hierarchy::HierarchySpec`]. Trees may be unbalanced; every class
//! 0..K must appear exactly once. Targets become dense with one output per unit.

use serde::{Deserialize, Serialize};

use super::error::TransformFailure;
use super::host::HostData;
use crate::dataset::{Split, TargetData, TargetKind};
use crate::output_unit::OutputUnit;

/// A node of a class tree: a class, or a group of subtrees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassTree {
    /// A leaf: one class label.
    Class(u32),
    /// An internal node.
    Group(Vec<ClassTree>),
}

impl ClassTree {
    fn collect_classes(&self, out: &mut Vec<u32>) {
        match self {
            ClassTree::Class(c) => out.push(*c),
            ClassTree::Group(g) => g.iter().for_each(|t| t.collect_classes(out)),
        }
    }
}

fn yes() -> bool {
    true
}

/// Hierarchical multi-hot targets. TOML: `kind = "hierarchical"`, `groups` (required: the
/// top-level groups as nested arrays of class labels), `root` (false), `leaves` (true).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hierarchical {
    /// The children of the root.
    pub groups: Vec<ClassTree>,
    /// Include the root unit (on for every class).
    #[serde(default)]
    pub root: bool,
    /// Include one unit per class.
    #[serde(default = "yes")]
    pub leaves: bool,
}

/// One output unit of a hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HierarchyUnit {
    /// Depth in the tree (root 0, top-level groups 1, …; a class leaf is one below its group).
    pub level: usize,
    /// The classes for which the unit is on, ascending.
    pub classes: Vec<u32>,
    /// Whether the unit is a single class's own (leaf) unit.
    pub leaf: bool,
}

impl HierarchyUnit {
    /// The unit as data-set metadata: a leaf is named by its class (`3`), a group by the set
    /// of its classes (`{0,2,4,6}`).
    pub fn output_unit(&self) -> OutputUnit {
        let name = if self.leaf && self.classes.len() == 1 {
            self.classes[0].to_string()
        } else {
            let c: Vec<String> = self.classes.iter().map(u32::to_string).collect();
            format!("{{{}}}", c.join(","))
        };
        OutputUnit {
            level: self.level,
            leaf: self.leaf,
            name,
        }
    }
}

/// The units of a built hierarchy, in output order.
#[derive(Debug, Clone, PartialEq)]
pub struct HierarchyFit {
    /// Output units.
    pub units: Vec<HierarchyUnit>,
    /// Row-major K × units: the target of each class.
    pub targets: Vec<f64>,
}

impl Hierarchical {
    /// The units and per-class targets for `classes` classes.
    pub fn build(&self, classes: usize) -> Result<HierarchyFit, TransformFailure> {
        let mut all = Vec::new();
        self.groups.iter().for_each(|t| t.collect_classes(&mut all));
        let mut seen = vec![0usize; classes];
        for &c in &all {
            match seen.get_mut(c as usize) {
                Some(s) => *s += 1,
                None => {
                    return Err(TransformFailure::field(
                        "groups",
                        &self.groups,
                        format!("class labels in 0..{classes} (found {c})"),
                    ))
                }
            }
        }
        if let Some(c) = seen.iter().position(|&s| s != 1) {
            return Err(TransformFailure::field(
                "groups",
                &self.groups,
                format!(
                    "every class 0..{classes} exactly once (class {c} appears {} times)",
                    seen[c]
                ),
            ));
        }
        let mut units = Vec::new();
        if self.root {
            let mut c = all.clone();
            c.sort_unstable();
            units.push(HierarchyUnit {
                level: 0,
                classes: c,
                leaf: false,
            });
        }
        let mut leaf_level = vec![0usize; classes];
        // Breadth-first over the groups.
        let mut frontier: Vec<&ClassTree> = self.groups.iter().collect();
        let mut level = 1;
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for node in frontier {
                match node {
                    ClassTree::Class(c) => leaf_level[*c as usize] = level,
                    ClassTree::Group(children) => {
                        let mut c = Vec::new();
                        node.collect_classes(&mut c);
                        c.sort_unstable();
                        units.push(HierarchyUnit {
                            level,
                            classes: c,
                            leaf: false,
                        });
                        next.extend(children.iter());
                    }
                }
            }
            frontier = next;
            level += 1;
        }
        if self.leaves {
            for (c, &l) in leaf_level.iter().enumerate() {
                units.push(HierarchyUnit {
                    level: l,
                    classes: vec![c as u32],
                    leaf: true,
                });
            }
        }
        if units.is_empty() {
            return Err(TransformFailure::field(
                "groups",
                &self.groups,
                "at least one output unit (a group, `root` or `leaves`)",
            ));
        }
        let u = units.len();
        let mut targets = vec![0.0; classes * u];
        for (j, unit) in units.iter().enumerate() {
            for &c in &unit.classes {
                targets[c as usize * u + j] = 1.0;
            }
        }
        Ok(HierarchyFit { units, targets })
    }

    /// Replaces class labels by the multi-hot targets of their classes (both splits).
    pub fn apply(&self, mut data: HostData) -> Result<(HostData, HierarchyFit), TransformFailure> {
        let k = data.require_classes()?;
        let fit = self.build(k)?;
        let u = fit.units.len();
        for split in [Split::Train, Split::Test] {
            let labels = data.labels(split).expect("class labels checked");
            let mut y = Vec::with_capacity(labels.len() * u);
            for &c in labels {
                y.extend_from_slice(&fit.targets[c as usize * u..(c as usize + 1) * u]);
            }
            *data.y_mut(split) = TargetData::Dense(y);
        }
        data.spec.target = TargetKind::Dense { outputs: u };
        data.output_units = Some(fit.units.iter().map(HierarchyUnit::output_unit).collect());
        Ok((data, fit))
    }
}
