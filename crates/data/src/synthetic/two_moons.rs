//! Two interleaving half circles ("two moons"), the 2-D demo of gradient starvation (Pezeshki et
//! al. 2021; SCIENCE.md §C.4). With t ~ U[0, π) and ε ~ N(0, σ² I₂):
//!
//! class 0: x = (cos t, sin t) + ε  (upper moon, centre (0, 0), radius 1),
//! class 1: x = (1 − cos t, ½ − sin t − s) + ε  (lower moon, centre (1, ½ − s), radius 1).
//!
//! `s` is `separation` (default 0, the classic interleaved layout). At s > ½ the noiseless moons
//! are linearly separable: the upper moon has x₂ ∈ [0, 1], the lower one x₂ ∈ [−½ − s, ½ − s],
//! so the line x₂ = (½ − s)/2 separates them with margin (s − ½)/2 (s = 1: the "offset 1.0"
//! separable moons of the gradient-starvation demo, SCIENCE.md §C.4, margin ¼).
//!
//! Example i of a split has class i mod 2 (exactly n_per_class of each). Noiseless class means
//! are (0, 2/π) and (1, ½ − s − 2/π). Random streams: `data/{train,test}/t`,
//! `data/{train,test}/noise`.

use learnscope_core::RandomKey;
use learnscope_nn::NnError;
use serde::{Deserialize, Serialize};

use super::labels::interleaved;
use crate::dataset::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};

/// A two-moons task. TOML fields (all optional): `train_per_class` (150), `test_per_class`
/// (150), `noise_std` (0.1), `separation` (0: downward shift of the lower moon; 1.0 makes the
/// noiseless moons linearly separable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwoMoonsSpec {
    /// Training examples per class.
    pub train_per_class: usize,
    /// Test examples per class.
    pub test_per_class: usize,
    /// σ of the isotropic Gaussian noise.
    pub noise_std: f64,
    /// Downward shift of the lower moon (class 1); 0 = the classic layout. Left out of the
    /// serialised config when 0, so existing configs resolve to the same text.
    #[serde(skip_serializing_if = "is_zero")]
    pub separation: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl Default for TwoMoonsSpec {
    fn default() -> Self {
        TwoMoonsSpec {
            train_per_class: 150,
            test_per_class: 150,
            noise_std: 0.1,
            separation: 0.0,
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
        if !self.separation.is_finite() {
            return Err(NnError::setting(
                "data.separation",
                self.separation,
                "finite",
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
                    (1.0 - c, 0.5 - s - self.separation)
                };
                x.push(a + self.noise_std * e[2 * i]);
                x.push(b + self.noise_std * e[2 * i + 1]);
            }
            (x, TargetData::Classes(y))
        };
        let (ntr, nte) = (2 * self.train_per_class, 2 * self.test_per_class);
        let spec = DatasetSpec {
            name: if self.separation == 0.0 {
                format!("two_moons[noise={}]", self.noise_std)
            } else {
                format!(
                    "two_moons[noise={}, separation={}]",
                    self.noise_std, self.separation
                )
            },
            input_shape: vec![2],
            target: TargetKind::Classes { classes: 2 },
            train_len: ntr,
            test_len: nte,
        };
        InMemoryDataset::new(spec, make(ntr, "train"), make(nte, "test"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Dataset, Split};

    #[test]
    fn separation_one_is_linearly_separable_and_zero_is_the_classic_layout() {
        let key = RandomKey::root(3);
        let spec = TwoMoonsSpec {
            noise_std: 0.0,
            separation: 1.0,
            ..TwoMoonsSpec::default()
        };
        let ds = spec.generate(key).unwrap();
        for split in [Split::Train, Split::Test] {
            let x = ds.inputs_f64(split);
            let TargetData::Classes(y) = ds.targets(split) else {
                unreachable!()
            };
            // The line x₂ = −¼ separates the classes with margin ¼.
            for (p, &c) in x.chunks(2).zip(y) {
                let side = p[1] + 0.25;
                if c == 0 {
                    assert!(side >= 0.25 - 1e-12, "{p:?}");
                } else {
                    assert!(side <= -0.25 + 1e-12, "{p:?}");
                }
            }
        }
        // At separation 0 (the default) the moons interleave: no horizontal line separates them,
        // and the data equal those of the spec without the field.
        let classic = TwoMoonsSpec {
            noise_std: 0.0,
            ..TwoMoonsSpec::default()
        };
        let a = classic.generate(key).unwrap();
        let x = a.inputs_f64(Split::Train);
        let TargetData::Classes(y) = a.targets(Split::Train) else {
            unreachable!()
        };
        let min0 = x
            .chunks(2)
            .zip(y)
            .filter(|(_, &c)| c == 0)
            .map(|(p, _)| p[1]);
        let max1 = x
            .chunks(2)
            .zip(y)
            .filter(|(_, &c)| c == 1)
            .map(|(p, _)| p[1]);
        assert!(min0.fold(f64::INFINITY, f64::min) < max1.fold(f64::NEG_INFINITY, f64::max));
        let text = toml::to_string(&TwoMoonsSpec::default()).unwrap();
        assert!(!text.contains("separation"), "{text}");
        let back: TwoMoonsSpec = toml::from_str("noise_std = 0.1").unwrap();
        assert_eq!(back, TwoMoonsSpec::default());
    }
}
