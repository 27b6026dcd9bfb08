//! Nonlinear teacher–student task: Gaussian inputs x ~ N(0, I_d) labelled by a random two-layer
//! teacher network
//!
//! f*(x) = W₂ φ(W₁ x + b₁),  (W₁)_{ja} ~ N(0, 1/d),  (b₁)_j ~ N(0, σ_b²),  (W₂)_{oj} ~ N(0, 1/h),
//!
//! with φ = tanh or ReLU and h hidden units, so pre-activations are O(1) and outputs O(1) for any
//! d and h (the standard teacher–student scaling of Gardner & Derrida 1989; Saad & Solla 1995).
//! Targets are either the regression values y = f*(x) + σ ε, ε ~ N(0, I_K), or the class
//! argmax_o y_o (K ≥ 2 classes; the noise then acts on the teacher's logits). The linear teacher
//! with a prescribed input spectrum is [`super::gaussian_teacher`]. Note: argmax classes of a
//! ReLU teacher are not balanced in general (E\[φ\] > 0 shifts each output by Σ_j (W₂)_{oj} E\[φ_j\]).
//!
//! Random streams (children of the key): `data/teacher/w1`, `data/teacher/b1`,
//! `data/teacher/w2`, `data/{train,test}/x`, `data/{train,test}/noise`.

use learnscope_core::RandomKey;
use learnscope_nn::NnError;
use serde::{Deserialize, Serialize};

use crate::dataset::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};

/// The teacher's hidden nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TeacherActivation {
    /// φ(z) = tanh z.
    #[default]
    Tanh,
    /// φ(z) = max(z, 0).
    Relu,
}

impl TeacherActivation {
    /// φ(z).
    pub fn apply(self, z: f64) -> f64 {
        match self {
            TeacherActivation::Tanh => z.tanh(),
            TeacherActivation::Relu => z.max(0.0),
        }
    }
}

/// What the targets are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TeacherTarget {
    /// Dense targets y = f*(x) + σ ε (K outputs).
    #[default]
    Regression,
    /// Class labels argmax_o (f*(x) + σ ε)_o (K ≥ 2 classes).
    Classes,
}

/// A nonlinear teacher–student task. TOML fields (all optional): `dim` (32), `hidden` (64),
/// `outputs` (1), `train` (1024), `test` (1024), `activation` (`"tanh"` | `"relu"`, default
/// tanh), `target` (`"regression"` | `"classes"`, default regression), `noise_std` (0.0),
/// `bias_std` (0.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NonlinearTeacherSpec {
    /// Input dimension d ≥ 1.
    pub dim: usize,
    /// Teacher hidden units h ≥ 1.
    pub hidden: usize,
    /// Teacher outputs K ≥ 1 (≥ 2 for class targets).
    pub outputs: usize,
    /// Training examples.
    pub train: usize,
    /// Test examples.
    pub test: usize,
    /// Hidden nonlinearity.
    pub activation: TeacherActivation,
    /// Regression or argmax classes.
    pub target: TeacherTarget,
    /// σ of the noise added to the teacher's outputs.
    pub noise_std: f64,
    /// σ_b of the teacher's hidden biases (0: no biases).
    pub bias_std: f64,
}

impl Default for NonlinearTeacherSpec {
    fn default() -> Self {
        NonlinearTeacherSpec {
            dim: 32,
            hidden: 64,
            outputs: 1,
            train: 1024,
            test: 1024,
            activation: TeacherActivation::Tanh,
            target: TeacherTarget::Regression,
            noise_std: 0.0,
            bias_std: 0.0,
        }
    }
}

/// The teacher's weights (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherNetwork {
    /// d.
    pub dim: usize,
    /// h.
    pub hidden: usize,
    /// K.
    pub outputs: usize,
    /// W₁, h × d.
    pub w1: Vec<f64>,
    /// b₁, h.
    pub b1: Vec<f64>,
    /// W₂, K × h.
    pub w2: Vec<f64>,
    /// φ.
    pub activation: TeacherActivation,
}

impl TeacherNetwork {
    /// f*(x) for one input of length d.
    pub fn forward(&self, x: &[f64]) -> Vec<f64> {
        let (d, h) = (self.dim, self.hidden);
        let hid: Vec<f64> = (0..h)
            .map(|j| {
                let z: f64 = (0..d).map(|a| self.w1[j * d + a] * x[a]).sum::<f64>() + self.b1[j];
                self.activation.apply(z)
            })
            .collect();
        (0..self.outputs)
            .map(|o| (0..h).map(|j| self.w2[o * h + j] * hid[j]).sum())
            .collect()
    }
}

impl NonlinearTeacherSpec {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), NnError> {
        for (field, v) in [
            ("data.dim", self.dim),
            ("data.hidden", self.hidden),
            ("data.outputs", self.outputs),
            ("data.train", self.train),
        ] {
            if v == 0 {
                return Err(NnError::setting(field, v, ">= 1"));
            }
        }
        if self.target == TeacherTarget::Classes && self.outputs < 2 {
            return Err(NnError::setting(
                "data.outputs",
                self.outputs,
                ">= 2 for class targets (one teacher output per class)",
            ));
        }
        for (field, v) in [
            ("data.noise_std", self.noise_std),
            ("data.bias_std", self.bias_std),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(NnError::setting(field, v, "finite and >= 0"));
            }
        }
        Ok(())
    }

    /// The teacher drawn from `key` (the same key as [`Self::generate`]).
    pub fn teacher(&self, key: RandomKey) -> Result<TeacherNetwork, NnError> {
        self.validate()?;
        let (d, h, k) = (self.dim, self.hidden, self.outputs);
        let scaled = |name: &str, n: usize, s: f64| -> Vec<f64> {
            key.derive(name)
                .normals(n)
                .into_iter()
                .map(|v| v * s)
                .collect()
        };
        Ok(TeacherNetwork {
            dim: d,
            hidden: h,
            outputs: k,
            w1: scaled("data/teacher/w1", h * d, 1.0 / (d as f64).sqrt()),
            b1: scaled("data/teacher/b1", h, self.bias_std),
            w2: scaled("data/teacher/w2", k * h, 1.0 / (h as f64).sqrt()),
            activation: self.activation,
        })
    }

    /// Generates the data set from `key`.
    pub fn generate(&self, key: RandomKey) -> Result<InMemoryDataset, NnError> {
        let teacher = self.teacher(key)?;
        let (d, k) = (self.dim, self.outputs);
        let make = |n: usize, name: &str| {
            let x = key.derive(&format!("data/{name}/x")).normals(n * d);
            let noise = key.derive(&format!("data/{name}/noise")).normals(n * k);
            let mut y = Vec::with_capacity(n * k);
            for i in 0..n {
                let f = teacher.forward(&x[i * d..(i + 1) * d]);
                y.extend(
                    f.iter()
                        .enumerate()
                        .map(|(o, v)| v + self.noise_std * noise[i * k + o]),
                );
            }
            let targets = match self.target {
                TeacherTarget::Regression => TargetData::Dense(y),
                TeacherTarget::Classes => TargetData::Classes(
                    y.chunks(k)
                        .map(|row| {
                            // First maximum wins on ties (ties have probability 0).
                            let mut best = 0;
                            for (o, &v) in row.iter().enumerate() {
                                if v > row[best] {
                                    best = o;
                                }
                            }
                            best as u32
                        })
                        .collect(),
                ),
            };
            (x, targets)
        };
        let act = match self.activation {
            TeacherActivation::Tanh => "tanh",
            TeacherActivation::Relu => "relu",
        };
        let spec = DatasetSpec {
            name: format!("nonlinear_teacher[d={d}, h={}, k={k}, {act}]", self.hidden),
            input_shape: vec![d],
            target: match self.target {
                TeacherTarget::Regression => TargetKind::Dense { outputs: k },
                TeacherTarget::Classes => TargetKind::Classes { classes: k },
            },
            train_len: self.train,
            test_len: self.test,
        };
        InMemoryDataset::new(spec, make(self.train, "train"), make(self.test, "test"))
    }
}
