//! Linearly separable binary data: x ~ N(0, I_d) conditioned on |w*·x| ≥ margin for a random
//! unit vector w*, label 1 if w*·x > 0 else 0. Rejection sampling draws candidate i from the
//! counter stream, so the data set is a pure function of the seed.

use learnscope_core::RandomKey;
use learnscope_nn::NnError;

use crate::dataset::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};

/// A separable binary task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeparableSpec {
    /// Input dimension.
    pub dim: usize,
    /// Training examples.
    pub train: usize,
    /// Test examples.
    pub test: usize,
    /// Minimum |w*·x| (0 = no margin).
    pub margin: f64,
}

impl SeparableSpec {
    /// Generates the data set from `key`.
    pub fn build(&self, key: RandomKey) -> Result<InMemoryDataset, NnError> {
        if self.dim == 0 || self.train == 0 || !(self.margin >= 0.0 && self.margin < 3.0) {
            return Err(NnError::setting(
                "data",
                format!(
                    "dim {} train {} margin {}",
                    self.dim, self.train, self.margin
                ),
                "dim, train >= 1 and 0 <= margin < 3 (acceptance rate > 0.2%)",
            ));
        }
        let d = self.dim;
        let w = key.derive("data/teacher").normals(d);
        let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
        let w: Vec<f64> = w.iter().map(|v| v / norm).collect();
        let make = |n: usize, name: &str| {
            let k = key.derive(&format!("data/{name}/x"));
            let (mut x, mut y) = (Vec::with_capacity(n * d), Vec::with_capacity(n));
            let mut candidate = 0u64;
            while y.len() < n {
                let xi = k.at(candidate).normals(d);
                candidate += 1;
                let s: f64 = xi.iter().zip(&w).map(|(a, b)| a * b).sum();
                if s.abs() >= self.margin && s != 0.0 {
                    y.push(u32::from(s > 0.0));
                    x.extend(xi);
                }
            }
            (x, TargetData::Classes(y))
        };
        let spec = DatasetSpec {
            name: format!("separable[d={d}, margin={}]", self.margin),
            input_shape: vec![d],
            target: TargetKind::Classes { classes: 2 },
            train_len: self.train,
            test_len: self.test,
        };
        InMemoryDataset::new(spec, make(self.train, "train"), make(self.test, "test"))
    }
}
