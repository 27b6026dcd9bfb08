//! Gaussian inputs with a prescribed covariance spectrum and a linear teacher (P2's setting,
//! SCIENCE.md §P2): x = R diag(√λ) z with z ~ N(0, I), R a random rotation (or I), so
//! Σxx = R diag(λ) Rᵀ; targets y = W* x + σ ε with W* ~ N(0, 1/d) entries.

use learnscope_core::{host_linalg, RandomKey};
use learnscope_nn::NnError;

use crate::dataset::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};

/// The eigenvalues of the input covariance.
#[derive(Debug, Clone, PartialEq)]
pub enum Spectrum {
    /// λᵢ = scale · i^{−α}, i = 1..=d.
    PowerLaw {
        /// Decay exponent α ≥ 0.
        alpha: f64,
        /// λ₁.
        scale: f64,
    },
    /// The d eigenvalues, each ≥ 0.
    Explicit(Vec<f64>),
}

/// A Gaussian teacher–student task.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianTeacherSpec {
    /// Input dimension d.
    pub dim: usize,
    /// Teacher outputs.
    pub outputs: usize,
    /// Training examples.
    pub train: usize,
    /// Test examples.
    pub test: usize,
    /// Covariance spectrum.
    pub spectrum: Spectrum,
    /// Rotate the eigenbasis randomly (false: axis-aligned).
    pub rotate: bool,
    /// Label noise σ.
    pub noise_std: f64,
    /// The teacher's scale c: T ~ N(0, c²/d) entrywise (1 by default). A small c puts the
    /// target W_opt close to the small initial map, so a deep linear net reaches it while its
    /// layers barely move (P2's Theorem 2 regime).
    pub teacher_scale: f64,
}

impl GaussianTeacherSpec {
    /// The eigenvalues λ₁..λ_d.
    pub fn eigenvalues(&self) -> Result<Vec<f64>, NnError> {
        let l = match &self.spectrum {
            Spectrum::PowerLaw { alpha, scale } => (1..=self.dim)
                .map(|i| scale * (i as f64).powf(-alpha))
                .collect(),
            Spectrum::Explicit(v) => v.clone(),
        };
        if l.len() != self.dim || l.iter().any(|x| !(x.is_finite() && *x >= 0.0)) {
            return Err(NnError::setting(
                "data.spectrum",
                format!("{l:?}"),
                format!("{} finite eigenvalues >= 0", self.dim),
            ));
        }
        Ok(l)
    }

    /// Generates the data set from `key` (streams `data/rotation`, `data/teacher`,
    /// `data/train/x`, `data/test/x`, `data/*/noise`).
    pub fn build(&self, key: RandomKey) -> Result<InMemoryDataset, NnError> {
        if self.dim == 0 || self.outputs == 0 || self.train == 0 {
            return Err(NnError::setting(
                "data",
                "gaussian_teacher",
                "dim, outputs, train >= 1",
            ));
        }
        let lam = self.eigenvalues()?;
        let d = self.dim;
        let rot = if self.rotate {
            host_linalg::orthonormal_columns(key.derive("data/rotation"), d, d)
        } else {
            (0..d * d)
                .map(|i| if i % (d + 1) == 0 { 1.0 } else { 0.0 })
                .collect()
        };
        let teacher: Vec<f64> = key
            .derive("data/teacher")
            .normals(self.outputs * d)
            .into_iter()
            .map(|w| self.teacher_scale * w / (d as f64).sqrt())
            .collect();
        let make = |n: usize, name: &str| {
            let z = key.derive(&format!("data/{name}/x")).normals(n * d);
            let mut x = vec![0.0; n * d];
            for i in 0..n {
                for a in 0..d {
                    // x_a = Σ_b R_ab √λ_b z_b
                    x[i * d + a] = (0..d)
                        .map(|b| rot[a * d + b] * lam[b].sqrt() * z[i * d + b])
                        .sum();
                }
            }
            let noise = key
                .derive(&format!("data/{name}/noise"))
                .normals(n * self.outputs);
            let mut y = vec![0.0; n * self.outputs];
            for i in 0..n {
                for o in 0..self.outputs {
                    let wx: f64 = (0..d).map(|a| teacher[o * d + a] * x[i * d + a]).sum();
                    y[i * self.outputs + o] = wx + self.noise_std * noise[i * self.outputs + o];
                }
            }
            (x, TargetData::Dense(y))
        };
        let spec = DatasetSpec {
            name: format!("gaussian_teacher[d={d}, k={}]", self.outputs),
            input_shape: vec![d],
            target: TargetKind::Dense {
                outputs: self.outputs,
            },
            train_len: self.train,
            test_len: self.test,
        };
        InMemoryDataset::new(spec, make(self.train, "train"), make(self.test, "test"))
    }
}
