//! Hierarchical category task (Saxe, McClelland & Ganguli 2019; P1, SCIENCE.md §P1.5).
//!
//! P = bᵈ items are the leaves of a balanced tree with branching b and depth d. Inputs are one-hot
//! item codes (optionally scaled by √P so that Σxx = XXᵀ/P = I, and optionally centred), or
//! random features: item i's input is a fixed Gaussian vector xᵢ ~ N(0, I/D) of length D, drawn
//! from the stream `hierarchy/inputs` of the key given to [`HierarchySpec::build_with_key`]
//! (optionally centred: x̄ = (1/P) Σᵢ xᵢ subtracted). Targets
//! have one binary unit per tree node, ordered by level: the root (optional; base rate 1), the b
//! level-1 nodes (base rate 1/b), …, the P leaves (base rate 1/P). Item i has the unit of level l
//! on for the node ⌊i / b^{d−l}⌋. Example: P = 8, b = 2 gives 1 + 2 + 4 + 8 = 15 outputs.

use learnscope_core::RandomKey;
use learnscope_nn::NnError;

use crate::dataset::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};
use crate::output_unit::OutputUnit;

/// How items are presented to the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HierarchyInputs {
    /// One-hot item codes (length P), scaled by √P with `scale_inputs`.
    #[default]
    OneHot,
    /// A fixed Gaussian vector N(0, I/`dim`) per item, drawn from a key.
    Random {
        /// Feature length D ≥ 1.
        dim: usize,
    },
}

/// The shape of a hierarchical task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HierarchySpec {
    /// Children per node, b ≥ 2.
    pub branching: usize,
    /// Levels below the root, d ≥ 1 (P = bᵈ items).
    pub depth: usize,
    /// Whether the root unit (on for every item) is an output.
    pub root: bool,
    /// Scale one-hot inputs by √P (whitened inputs: Σxx = I); one-hot inputs only.
    pub scale_inputs: bool,
    /// Subtract the mean input over items (one-hot: 1/P, or 1/√P when scaled).
    pub centre_inputs: bool,
    /// One-hot or random-feature inputs.
    pub inputs: HierarchyInputs,
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
            inputs: HierarchyInputs::OneHot,
        }
    }

    /// Input values per item: P for one-hot codes, D for random features.
    pub fn input_dim(&self) -> usize {
        match self.inputs {
            HierarchyInputs::OneHot => self.items(),
            HierarchyInputs::Random { dim } => dim,
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
        if let HierarchyInputs::Random { dim } = self.inputs {
            if dim == 0 || dim > 65_536 {
                return Err(NnError::setting(
                    "hierarchy.feature_dim",
                    dim,
                    "1 <= feature_dim <= 65536",
                ));
            }
            if self.scale_inputs {
                return Err(NnError::setting(
                    "hierarchy.scale_inputs",
                    true,
                    "false with random inputs (they already have E‖x‖² = 1)",
                ));
            }
        }
        Ok(())
    }

    /// Builds a task with one-hot inputs; random-feature inputs need a key
    /// ([`HierarchySpec::build_with_key`]).
    pub fn build(&self) -> Result<HierarchicalTask, NnError> {
        if let HierarchyInputs::Random { .. } = self.inputs {
            return Err(NnError::setting(
                "hierarchy.inputs",
                "random",
                "one_hot when no random key is given (use build_with_key)",
            ));
        }
        self.build_inner(None)
    }

    /// Builds the task; random-feature inputs are drawn from `key.derive("hierarchy/inputs")`
    /// (one-hot inputs ignore the key).
    pub fn build_with_key(&self, key: RandomKey) -> Result<HierarchicalTask, NnError> {
        self.build_inner(Some(key))
    }

    fn build_inner(&self, key: Option<RandomKey>) -> Result<HierarchicalTask, NnError> {
        self.validate()?;
        let (p, c) = (self.items(), self.outputs());
        let inputs = match (self.inputs, key) {
            (HierarchyInputs::OneHot, _) => {
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
                inputs
            }
            (HierarchyInputs::Random { dim }, Some(key)) => {
                let s = 1.0 / (dim as f64).sqrt();
                let mut x: Vec<f64> = key
                    .derive("hierarchy/inputs")
                    .normals(p * dim)
                    .into_iter()
                    .map(|z| s * z)
                    .collect();
                if self.centre_inputs {
                    for a in 0..dim {
                        let mean = (0..p).map(|i| x[i * dim + a]).sum::<f64>() / p as f64;
                        (0..p).for_each(|i| x[i * dim + a] -= mean);
                    }
                }
                x
            }
            (HierarchyInputs::Random { .. }, None) => unreachable!("checked in build"),
        };
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
        let mut units = Vec::with_capacity(c);
        if self.root {
            units.push(OutputUnit {
                level: 0,
                leaf: false,
                name: "root".into(),
            });
        }
        for l in 1..=self.depth {
            let leaf = l == self.depth;
            for node in 0..self.branching.pow(l as u32) {
                units.push(OutputUnit {
                    level: l,
                    leaf,
                    name: if leaf {
                        format!("leaf.{node}")
                    } else {
                        format!("l{l}.{node}")
                    },
                });
            }
        }
        Ok(HierarchicalTask {
            items: p,
            outputs: c,
            input_dim: self.input_dim(),
            inputs,
            units,
            targets,
            levels,
        })
    }
}

impl HierarchicalTask {
    /// The task as a data set whose train and test splits are both the P items (the task has
    /// no held-out items; "test" metrics equal "train" ones), with its output units.
    pub fn dataset(&self, name: &str) -> InMemoryDataset {
        let spec = DatasetSpec {
            name: name.to_string(),
            input_shape: vec![self.input_dim],
            target: TargetKind::Dense {
                outputs: self.outputs,
            },
            train_len: self.items,
            test_len: self.items,
        };
        let split = (self.inputs.clone(), TargetData::Dense(self.targets.clone()));
        InMemoryDataset::new(spec, split.clone(), split)
            .and_then(|ds| ds.with_output_units(self.units.clone()))
            .expect("sizes agree by construction")
    }
}

/// A built hierarchical task: row-major host arrays, one row per item.
#[derive(Debug, Clone, PartialEq)]
pub struct HierarchicalTask {
    /// P.
    pub items: usize,
    /// Output units.
    pub outputs: usize,
    /// Input values per item (P for one-hot codes, D for random features).
    pub input_dim: usize,
    /// Inputs, P × input_dim.
    pub inputs: Vec<f64>,
    /// Targets, P × outputs.
    pub targets: Vec<f64>,
    /// The tree level of each output unit (0 = root).
    pub levels: Vec<usize>,
    /// Each output unit's level, leaf flag and name (`root`, `l1.0`, …, `leaf.5`).
    pub units: Vec<OutputUnit>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;

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
            inputs: HierarchyInputs::OneHot,
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

    #[test]
    fn output_units_name_the_tree_levels() {
        let t = HierarchySpec::eight_items().build().unwrap();
        let names: Vec<&str> = t.units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(&names[..4], ["root", "l1.0", "l1.1", "l2.0"]);
        assert_eq!(names[14], "leaf.7");
        for (u, &l) in t.units.iter().zip(&t.levels) {
            assert_eq!(u.level, l);
            assert_eq!(u.leaf, l == 3);
        }
        let ds = t.dataset("h8");
        assert_eq!(ds.output_units().unwrap(), &t.units[..]);
    }

    #[test]
    fn random_inputs_are_seeded_gaussian_features() {
        let spec = HierarchySpec {
            inputs: HierarchyInputs::Random { dim: 4000 },
            ..HierarchySpec::eight_items()
        };
        assert!(spec.build().is_err(), "random inputs need a key");
        let key = RandomKey::root(5).derive("data");
        let a = spec.build_with_key(key).unwrap();
        assert_eq!(a, spec.build_with_key(key).unwrap());
        assert_ne!(
            a.inputs,
            spec.build_with_key(RandomKey::root(6)).unwrap().inputs
        );
        assert_eq!((a.input_dim, a.inputs.len()), (4000, 8 * 4000));
        assert_eq!(
            a.targets,
            HierarchySpec::eight_items().build().unwrap().targets
        );
        // ‖xᵢ‖² = (1/D) Σ z² ≈ 1 (sd √(2/D) ≈ 0.022); distinct items nearly orthogonal.
        for i in 0..8 {
            let row = &a.inputs[i * 4000..(i + 1) * 4000];
            let n2: f64 = row.iter().map(|v| v * v).sum();
            assert!((n2 - 1.0).abs() < 0.12, "item {i}: {n2}");
        }
        let dot: f64 = (0..4000).map(|k| a.inputs[k] * a.inputs[4000 + k]).sum();
        assert!(dot.abs() < 0.08, "{dot}");
        assert_eq!(a.dataset("r").spec().input_shape, vec![4000]);
        let c = HierarchySpec {
            centre_inputs: true,
            ..spec
        }
        .build_with_key(key)
        .unwrap();
        for k in 0..4000 {
            let mean: f64 = (0..8).map(|i| c.inputs[i * 4000 + k]).sum::<f64>() / 8.0;
            assert!(mean.abs() < 1e-12);
        }
        assert!(HierarchySpec {
            inputs: HierarchyInputs::Random { dim: 0 },
            ..spec
        }
        .build_with_key(key)
        .is_err());
    }
}
