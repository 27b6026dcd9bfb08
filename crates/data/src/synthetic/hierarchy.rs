//! Hierarchical category task (Saxe, McClelland & Ganguli 2019; P1, SCIENCE.md §P1.5).
//!
//! P = bᵈ items are the leaves of a balanced tree with branching b and depth d. Inputs are one-hot
//! item codes (optionally scaled by √P so that Σxx = XXᵀ/P = I, and optionally centred). Targets
//! have one binary unit per tree node, ordered by level: the root (optional; base rate 1), the b
//! level-1 nodes (base rate 1/b), …, the P leaves (base rate 1/P). Item i has the unit of level l
//! on for the node ⌊i / b^{d−l}⌋. Example: P = 8, b = 2 gives 1 + 2 + 4 + 8 = 15 outputs.

use learnscope_nn::NnError;

use crate::dataset::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};

/// The shape of a hierarchical task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HierarchySpec {
    /// Children per node, b ≥ 2.
    pub branching: usize,
    /// Levels below the root, d ≥ 1 (P = bᵈ items).
    pub depth: usize,
    /// Whether the root unit (on for every item) is an output.
    pub root: bool,
    /// Scale one-hot inputs by √P (whitened inputs: Σxx = I).
    pub scale_inputs: bool,
    /// Subtract the mean input (1/P, or 1/√P when scaled) from every input entry.
    pub centre_inputs: bool,
}

impl HierarchySpec {
    /// The 8-item binary tree with a root unit and plain one-hot inputs.
    pub fn eight_items() -> Self {
        HierarchySpec {
            branching: 2,
            depth: 3,
            root: true,
            scale_inputs: false,
            centre_inputs: false,
        }
    }

    /// Number of items P = bᵈ.
    pub fn items(&self) -> usize {
        self.branching.pow(self.depth as u32)
    }

    /// Number of output units.
    pub fn outputs(&self) -> usize {
        let per_level: usize = (1..=self.depth).map(|l| self.branching.pow(l as u32)).sum();
        per_level + usize::from(self.root)
    }

    /// Checks b ≥ 2, d ≥ 1 and P ≤ 2¹⁶ (inputs are P × P).
    pub fn validate(&self) -> Result<(), NnError> {
        if self.branching < 2 {
            return Err(NnError::setting(
                "hierarchy.branching",
                self.branching,
                ">= 2",
            ));
        }
        if self.depth < 1 {
            return Err(NnError::setting("hierarchy.depth", self.depth, ">= 1"));
        }
        let items = (self.branching as f64).powi(self.depth as i32);
        if items > 65_536.0 {
            return Err(NnError::setting(
                "hierarchy",
                format!("branching {} depth {}", self.branching, self.depth),
                "at most 65536 items (branching^depth)",
            ));
        }
        Ok(())
    }

    /// Builds the task.
    pub fn build(&self) -> Result<HierarchicalTask, NnError> {
        self.validate()?;
        let (p, c) = (self.items(), self.outputs());
        let scale = if self.scale_inputs {
            (p as f64).sqrt()
        } else {
            1.0
        };
        let shift = if self.centre_inputs {
            scale / p as f64
        } else {
            0.0
        };
        let mut inputs = vec![-shift; p * p];
        for i in 0..p {
            inputs[i * p + i] += scale;
        }
        let mut targets = vec![0.0; p * c];
        let mut levels = Vec::with_capacity(c);
        if self.root {
            levels.push(0);
        }
        for l in 1..=self.depth {
            levels.extend(std::iter::repeat_n(l, self.branching.pow(l as u32)));
        }
        for i in 0..p {
            let row = &mut targets[i * c..(i + 1) * c];
            let mut offset = 0;
            if self.root {
                row[0] = 1.0;
                offset = 1;
            }
            for l in 1..=self.depth {
                let node = i / self.branching.pow((self.depth - l) as u32);
                row[offset + node] = 1.0;
                offset += self.branching.pow(l as u32);
            }
        }
        Ok(HierarchicalTask {
            items: p,
            outputs: c,
            inputs,
            targets,
            levels,
        })
    }
}

impl HierarchicalTask {
    /// The task as a data set whose train and test splits are both the P items (the task has
    /// no held-out items; "test" metrics equal "train" ones).
    pub fn dataset(&self, name: &str) -> InMemoryDataset {
        let spec = DatasetSpec {
            name: name.to_string(),
            input_shape: vec![self.items],
            target: TargetKind::Dense {
                outputs: self.outputs,
            },
            train_len: self.items,
            test_len: self.items,
        };
        let split = (self.inputs.clone(), TargetData::Dense(self.targets.clone()));
        InMemoryDataset::new(spec, split.clone(), split).expect("sizes agree by construction")
    }
}

/// A built hierarchical task: row-major host arrays, one row per item.
#[derive(Debug, Clone, PartialEq)]
pub struct HierarchicalTask {
    /// P.
    pub items: usize,
    /// Output units.
    pub outputs: usize,
    /// Inputs, P × P.
    pub inputs: Vec<f64>,
    /// Targets, P × outputs.
    pub targets: Vec<f64>,
    /// The tree level of each output unit (0 = root).
    pub levels: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_item_tree_has_the_documented_label_matrix() {
        let t = HierarchySpec::eight_items().build().unwrap();
        assert_eq!((t.items, t.outputs), (8, 15));
        // Item 5 (binary 101): root, level-1 node 1, level-2 node 2, leaf 5.
        let row: Vec<usize> = (0..15).filter(|&j| t.targets[5 * 15 + j] == 1.0).collect();
        assert_eq!(row, [0, 1 + 1, 3 + 2, 7 + 5]);
        // Base rates 1, 1/2, 1/4, 1/8 by level.
        for (j, &l) in t.levels.iter().enumerate() {
            let rate = (0..8).map(|i| t.targets[i * 15 + j]).sum::<f64>() / 8.0;
            assert_eq!(rate, 1.0 / 2f64.powi(l as i32), "unit {j}");
        }
    }

    #[test]
    fn scaled_inputs_are_white_and_centred_inputs_have_zero_mean() {
        let spec = HierarchySpec {
            branching: 3,
            depth: 2,
            root: false,
            scale_inputs: true,
            centre_inputs: false,
        };
        let t = spec.build().unwrap();
        assert_eq!(t.outputs, 3 + 9);
        // Σxx = XᵀX / P = I for one-hot inputs scaled by √P.
        for a in 0..9 {
            for b in 0..9 {
                let s: f64 = (0..9)
                    .map(|i| t.inputs[i * 9 + a] * t.inputs[i * 9 + b])
                    .sum::<f64>()
                    / 9.0;
                assert!((s - if a == b { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        let c = HierarchySpec {
            centre_inputs: true,
            ..spec
        }
        .build()
        .unwrap();
        for a in 0..9 {
            let mean: f64 = (0..9).map(|i| c.inputs[i * 9 + a]).sum::<f64>() / 9.0;
            assert!(mean.abs() < 1e-12);
        }
        assert!(HierarchySpec {
            branching: 1,
            ..spec
        }
        .build()
        .is_err());
    }
}
