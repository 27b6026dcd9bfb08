//! Two interleaving half circles ("two moons"), the 2-D demo of gradient starvation (Pezeshki et
//! al. 2021; SCIENCE.md §C.4). With t ~ U[0, π) and ε ~ N(0, σ² I₂):
//!
//! class 0: x = (cos t, sin t) + ε  (upper moon, centre (0, 0), radius 1),
//! class 1: x = (1 − cos t, ½ − sin t) + ε  (lower moon, centre (1, ½), radius 1).
//!
//! Example i of a split has class i mod 2 (exactly n_per_class of each). Noiseless class means
//! are (0, 2/π) and (1, ½ − 2/π). Random streams: `data/{train,test}/t`,
//! `data/{train,test}/noise`.

use learnscope_core::RandomKey;
use learnscope_nn::NnError;
use serde::{Deserialize, Serialize};

use super::labels::interleaved;
use crate::dataset::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};

/// A two-moons task. TOML fields (all optional): `train_per_class` (150), `test_per_class`
/// (150), `noise_std` (0.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwoMoonsSpec {
    /// Training examples per class.
    pub train_per_class: usize,
    /// Test examples per class.
    pub test_per_class: usize,
    /// σ of the isotropic Gaussian noise.
    pub noise_std: f64,
}

impl Default for TwoMoonsSpec {
    fn default() -> Self {
        TwoMoonsSpec {
            train_per_class: 150,
            test_per_class: 150,
            noise_std: 0.1,
        }
    }
}

impl TwoMoonsSpec {
    /// Generates the data set from `key`.
    pub fn generate(&self, key: RandomKey) -> Result<InMemoryDataset, NnError> {
        if self.train_per_class == 0 {
            return Err(NnError::setting(
                "data.train_per_class",
                self.train_per_class,
                ">= 1",
            ));
        }
        if !(self.noise_std.is_finite() && self.noise_std >= 0.0) {
            return Err(NnError::setting(
                "data.noise_std",
                self.noise_std,
                "finite and >= 0",
            ));
        }
        let make = |n: usize, name: &str| {
            let y = interleaved(n, 2);
            let t = key
                .derive(&format!("data/{name}/t"))
                .uniforms(n, 0.0, std::f64::consts::PI);
            let e = key.derive(&format!("data/{name}/noise")).normals(2 * n);
            let mut x = Vec::with_capacity(2 * n);
            for i in 0..n {
                let (c, s) = (t[i].cos(), t[i].sin());
                let (a, b) = if y[i] == 0 {
                    (c, s)
                } else {
                    (1.0 - c, 0.5 - s)
                };
                x.push(a + self.noise_std * e[2 * i]);
                x.push(b + self.noise_std * e[2 * i + 1]);
            }
            (x, TargetData::Classes(y))
        };
        let (ntr, nte) = (2 * self.train_per_class, 2 * self.test_per_class);
        let spec = DatasetSpec {
            name: format!("two_moons[noise={}]", self.noise_std),
            input_shape: vec![2],
            target: TargetKind::Classes { classes: 2 },
            train_len: ntr,
            test_len: nte,
        };
        InMemoryDataset::new(spec, make(ntr, "train"), make(nte, "test"))
    }
}
