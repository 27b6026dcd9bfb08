//! Gaussian mixture classification: K classes, class k has inputs x = μ_k + σ ⊙ z with
//! z ~ N(0, I_d), so class k is N(μ_k, diag(σ²)).
//!
//! The means have norm ‖μ_k‖ = `separation`; their directions are either K orthonormal vectors
//! (`orthogonal`, needs d ≥ K; pairwise distance separation·√2) or K independent uniformly random
//! directions (`random`: g_k ~ N(0, I_d), μ_k = separation · g_k/‖g_k‖). The classic setting of
//! neural-collapse and linear-probe experiments (SCIENCE.md §C.2); Bayes error is controlled by
//! separation/σ. Example i of a split has class i mod K (exactly n_per_class per class).
//!
//! Random streams (children of the key): `data/means`, `data/{train,test}/x`.

use learnscope_core::{host_linalg, RandomKey};
use learnscope_nn::NnError;
use serde::{Deserialize, Serialize};

use super::labels::interleaved;
use crate::dataset::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};

/// How the class means are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MeanLayout {
    /// K orthonormal directions (a random rotation of the first K axes), scaled by the separation.
    #[default]
    Orthogonal,
    /// K independent uniformly random directions, scaled by the separation.
    Random,
}

/// The noise standard deviation: one number (isotropic) or one per input dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NoiseStd {
    /// σ for every dimension.
    Isotropic(f64),
    /// σ_a for dimension a (length d).
    PerDimension(Vec<f64>),
}

impl Default for NoiseStd {
    fn default() -> Self {
        NoiseStd::Isotropic(1.0)
    }
}

/// A Gaussian-mixture classification task. TOML fields (all optional): `classes` (4), `dim`
/// (16), `train_per_class` (256), `test_per_class` (256), `means` (`"orthogonal"` | `"random"`,
/// default orthogonal), `separation` (3.0), `std` (1.0, or a list of d values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GaussianMixtureSpec {
    /// Number of classes K ≥ 2.
    pub classes: usize,
    /// Input dimension d ≥ 1.
    pub dim: usize,
    /// Training examples per class.
    pub train_per_class: usize,
    /// Test examples per class.
    pub test_per_class: usize,
    /// Placement of the means.
    pub means: MeanLayout,
    /// ‖μ_k‖ ≥ 0.
    pub separation: f64,
    /// Noise standard deviation.
    pub std: NoiseStd,
}

impl Default for GaussianMixtureSpec {
    fn default() -> Self {
        GaussianMixtureSpec {
            classes: 4,
            dim: 16,
            train_per_class: 256,
            test_per_class: 256,
            means: MeanLayout::Orthogonal,
            separation: 3.0,
            std: NoiseStd::default(),
        }
    }
}

impl GaussianMixtureSpec {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), NnError> {
        if self.classes < 2 {
            return Err(NnError::setting("data.classes", self.classes, ">= 2"));
        }
        if self.dim == 0 {
            return Err(NnError::setting("data.dim", self.dim, ">= 1"));
        }
        if self.train_per_class == 0 {
            return Err(NnError::setting(
                "data.train_per_class",
                self.train_per_class,
                ">= 1",
            ));
        }
        if self.means == MeanLayout::Orthogonal && self.dim < self.classes {
            return Err(NnError::setting(
                "data.dim",
                self.dim,
                format!(">= classes ({}) for orthogonal means", self.classes),
            ));
        }
        if !(self.separation.is_finite() && self.separation >= 0.0) {
            return Err(NnError::setting(
                "data.separation",
                self.separation,
                "finite and >= 0",
            ));
        }
        let std = self.stds();
        if std.len() != self.dim || std.iter().any(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(NnError::setting(
                "data.std",
                format!("{:?}", self.std),
                format!("one finite value >= 0, or {} of them", self.dim),
            ));
        }
        Ok(())
    }

    /// σ_a for each dimension.
    fn stds(&self) -> Vec<f64> {
        match &self.std {
            NoiseStd::Isotropic(s) => vec![*s; self.dim],
            NoiseStd::PerDimension(v) => v.clone(),
        }
    }

    /// The class means, row-major K × d (row k = μ_k).
    pub fn means(&self, key: RandomKey) -> Result<Vec<f64>, NnError> {
        self.validate()?;
        let (k, d) = (self.classes, self.dim);
        let key = key.derive("data/means");
        let mut mu = vec![0.0; k * d];
        match self.means {
            MeanLayout::Orthogonal => {
                // d × K with orthonormal columns; μ_k is column k.
                let q = host_linalg::orthonormal_columns(key, d, k);
                for c in 0..k {
                    for a in 0..d {
                        mu[c * d + a] = self.separation * q[a * k + c];
                    }
                }
            }
            MeanLayout::Random => {
                for c in 0..k {
                    let mut g = key.at(c as u64).normals(d);
                    // A zero draw has probability 0; guard anyway so the norm is never 0/0.
                    let norm = g
                        .iter()
                        .map(|v| v * v)
                        .sum::<f64>()
                        .sqrt()
                        .max(f64::MIN_POSITIVE);
                    g.iter_mut().for_each(|v| *v *= self.separation / norm);
                    mu[c * d..(c + 1) * d].copy_from_slice(&g);
                }
            }
        }
        Ok(mu)
    }

    /// Generates the data set from `key`.
    pub fn generate(&self, key: RandomKey) -> Result<InMemoryDataset, NnError> {
        let mu = self.means(key)?;
        let (k, d) = (self.classes, self.dim);
        let std = self.stds();
        let make = |n: usize, name: &str| {
            let y = interleaved(n, k);
            let z = key.derive(&format!("data/{name}/x")).normals(n * d);
            let mut x = vec![0.0; n * d];
            for (i, &c) in y.iter().enumerate() {
                for a in 0..d {
                    x[i * d + a] = mu[c as usize * d + a] + std[a] * z[i * d + a];
                }
            }
            (x, TargetData::Classes(y))
        };
        let (ntr, nte) = (k * self.train_per_class, k * self.test_per_class);
        let spec = DatasetSpec {
            name: format!("gaussian_mixture[k={k}, d={d}]"),
            input_shape: vec![d],
            target: TargetKind::Classes { classes: k },
            train_len: ntr,
            test_len: nte,
        };
        InMemoryDataset::new(spec, make(ntr, "train"), make(nte, "test"))
    }
}
