//! Sinusoid regression for spectral bias (Rahaman et al. 2019; SCIENCE.md §C.3):
//!
//! y(x) = Σ_k A_k sin(2π f_k x + φ_k) + σ ε,  x ∈ [0, 1),
//!
//! with the frequencies f_k and amplitudes A_k given and the phases either given or drawn
//! φ_k ~ U[0, 2π) (Rahaman's protocol: f_k ∈ {5, 10, …, 50}, equal amplitudes, random phases,
//! ~200 equispaced samples). Inputs are one real number (shape \[1\]), targets one real.
//!
//! Sampling: `grid` puts the n training inputs at x_i = i/n and the m test inputs half a step
//! off, at x_i = (i + ½)/m (a DFT of the network output on the training grid then measures the
//! learned frequency content exactly); `uniform` draws x ~ U[0, 1).
//!
//! Random streams (children of the key): `data/phases`, `data/{train,test}/x` (uniform only),
//! `data/{train,test}/noise`.

use learnscope_core::RandomKey;
use learnscope_nn::NnError;
use serde::{Deserialize, Serialize};

use crate::dataset::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};

/// Where the inputs lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SinusoidSampling {
    /// Train x_i = i/n, test x_i = (i + ½)/m.
    #[default]
    Grid,
    /// x ~ U[0, 1) in both splits.
    Uniform,
}

/// A sum-of-sinusoids regression task. TOML fields (all optional): `frequencies` (5, 10, …,
/// 50), `amplitudes` (all 1; else one per frequency), `phases` (drawn; else one per frequency,
/// radians), `train` (200), `test` (200), `sampling` (`"grid"` | `"uniform"`, default grid),
/// `noise_std` (0.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinusoidSpec {
    /// f_k (cycles per unit interval).
    pub frequencies: Vec<f64>,
    /// A_k (None: all 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amplitudes: Option<Vec<f64>>,
    /// φ_k in radians (None: drawn uniformly on [0, 2π) from the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phases: Option<Vec<f64>>,
    /// Training examples.
    pub train: usize,
    /// Test examples.
    pub test: usize,
    /// Grid or uniform inputs.
    pub sampling: SinusoidSampling,
    /// σ of Gaussian target noise.
    pub noise_std: f64,
}

impl Default for SinusoidSpec {
    fn default() -> Self {
        SinusoidSpec {
            frequencies: (1..=10).map(|k| 5.0 * k as f64).collect(),
            amplitudes: None,
            phases: None,
            train: 200,
            test: 200,
            sampling: SinusoidSampling::Grid,
            noise_std: 0.0,
        }
    }
}

impl SinusoidSpec {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), NnError> {
        let k = self.frequencies.len();
        if k == 0 || self.frequencies.iter().any(|f| !f.is_finite()) {
            return Err(NnError::setting(
                "data.frequencies",
                format!("{:?}", self.frequencies),
                "at least one finite frequency",
            ));
        }
        for (field, list) in [
            ("data.amplitudes", &self.amplitudes),
            ("data.phases", &self.phases),
        ] {
            if let Some(v) = list {
                if v.len() != k || v.iter().any(|a| !a.is_finite()) {
                    return Err(NnError::setting(
                        field,
                        format!("{v:?}"),
                        format!("{k} finite values (one per frequency)"),
                    ));
                }
            }
        }
        if self.train == 0 {
            return Err(NnError::setting("data.train", self.train, ">= 1"));
        }
        if !(self.noise_std.is_finite() && self.noise_std >= 0.0) {
            return Err(NnError::setting(
                "data.noise_std",
                self.noise_std,
                "finite and >= 0",
            ));
        }
        Ok(())
    }

    /// A_k.
    pub fn amplitudes(&self) -> Vec<f64> {
        self.amplitudes
            .clone()
            .unwrap_or_else(|| vec![1.0; self.frequencies.len()])
    }

    /// φ_k: the given phases, or U[0, 2π) draws from `key` (the same key as [`Self::generate`]).
    pub fn phases(&self, key: RandomKey) -> Result<Vec<f64>, NnError> {
        self.validate()?;
        Ok(self.phases.clone().unwrap_or_else(|| {
            key.derive("data/phases")
                .uniforms(self.frequencies.len(), 0.0, std::f64::consts::TAU)
        }))
    }

    /// The noiseless target y(x) = Σ_k A_k sin(2π f_k x + φ_k) for the given phases.
    pub fn evaluate(&self, phases: &[f64], x: f64) -> f64 {
        let amps = self.amplitudes();
        self.frequencies
            .iter()
            .zip(&amps)
            .zip(phases)
            .map(|((f, a), p)| a * (std::f64::consts::TAU * f * x + p).sin())
            .sum()
    }

    /// Generates the data set from `key`.
    pub fn generate(&self, key: RandomKey) -> Result<InMemoryDataset, NnError> {
        let phases = self.phases(key)?;
        let make = |n: usize, name: &str, offset: f64| {
            let x: Vec<f64> = match self.sampling {
                SinusoidSampling::Grid => (0..n).map(|i| (i as f64 + offset) / n as f64).collect(),
                SinusoidSampling::Uniform => {
                    key.derive(&format!("data/{name}/x")).uniforms(n, 0.0, 1.0)
                }
            };
            let noise = key.derive(&format!("data/{name}/noise")).normals(n);
            let y = x
                .iter()
                .zip(&noise)
                .map(|(&xi, e)| self.evaluate(&phases, xi) + self.noise_std * e)
                .collect();
            (x, TargetData::Dense(y))
        };
        let spec = DatasetSpec {
            name: format!("sinusoid[{} frequencies]", self.frequencies.len()),
            input_shape: vec![1],
            target: TargetKind::Dense { outputs: 1 },
            train_len: self.train,
            test_len: self.test,
        };
        InMemoryDataset::new(
            spec,
            make(self.train, "train", 0.0),
            make(self.test, "test", 0.5),
        )
    }
}
