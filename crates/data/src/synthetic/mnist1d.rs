//! MNIST-1D-style sequences (after Greydanus 2020, "Scaling down deep learning", arXiv:2011.14439):
//! ten fixed 1-D template patterns, each example a randomly placed, stretched, sheared and noisy
//! copy of its class's template on a zero-padded canvas of length L (40).
//!
//! What is implemented (the templates and the exact order of operations are learnscope's own,
//! not a transcription of the original generator; the default magnitudes follow the original's
//! published defaults as remembered \[M\]: length 40, scale 0.4, shear 0.75, correlated noise
//! 0.25, iid noise 0.02, 4000 train / 1000 test examples):
//!
//! 1. Template: T_c ∈ R¹² ([`MNIST1D_TEMPLATES`]), read as the piecewise-linear function
//!    τ_c(u) on u ∈ [0, 1] through (j/11, T_c\[j\]), and τ_c(u) = 0 outside [0, 1] (zero padding).
//! 2. Stretch: window width w = w₀ · s with s ~ U[1 − `scale`, 1 + `scale`], w₀ = `pattern_width`.
//! 3. Shift: window centre c = (L − 1)/2 + δ with δ ~ U[−`max_shift`, `max_shift`]; start
//!    a = c − w/2. Signal v(t) = τ_c((t − a)/w) for t = 0..L−1 (parts outside the canvas are
//!    cut off).
//! 4. Shear: v(t) += η (2t/(L − 1) − 1) with η ~ U[−`shear`, `shear`] (a random linear ramp).
//! 5. Correlated noise: v(t) += σ_c Σ_k g_k z_{t+k}, z iid N(0, 1), g_k ∝ exp(−k²/(2ρ²)) for
//!    |k| ≤ ⌈3ρ⌉ normalised to Σ g_k² = 1 (unit marginal variance; lag-ℓ correlation
//!    Σ_k g_k g_{k+ℓ} ≈ exp(−ℓ²/(4ρ²))), σ_c = `corr_noise_std`, ρ = `corr_noise_width`
//!    (ρ = 0: white noise).
//! 6. iid noise: v(t) += σ_w ε_t, σ_w = `iid_noise_std`.
//!
//! Example i of a split has class i mod 10. Inputs have shape \[L\] (one channel). Each example
//! draws from its own stream `data/{train,test}`.at(i): draws 0, 1, 2 are s, δ, η; children
//! `corr` and `iid` hold the noise, so the noise of an example does not depend on the jitter
//! settings (switching noise off changes nothing else).

use learnscope_core::RandomKey;
use learnscope_nn::NnError;
use serde::{Deserialize, Serialize};

use super::labels::interleaved;
use crate::dataset::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};

/// Samples per template.
pub const TEMPLATE_LEN: usize = 12;

/// The ten class templates (learnscope's own): plateau, spike, rising ramp, falling ramp, two
/// peaks, trough, one sine period, down-up step, three peaks, zigzag.
pub const MNIST1D_TEMPLATES: [[f64; TEMPLATE_LEN]; 10] = [
    [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.0],
    [0.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0],
    [0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0],
    [
        0.0, -0.5, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -0.5, 0.0,
    ],
    [
        0.0, 0.5406, 0.9096, 0.9898, 0.7557, 0.2817, -0.2817, -0.7557, -0.9898, -0.9096, -0.5406,
        0.0,
    ],
    [
        0.0, 0.0, 0.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0,
    ],
    [0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    [
        0.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 0.0,
    ],
];

/// An MNIST-1D-style task. TOML fields (all optional): `train` (4000), `test` (1000), `length`
/// (40), `pattern_width` (24.0), `scale` (0.4), `max_shift` (8.0), `shear` (0.75),
/// `corr_noise_std` (0.25), `corr_noise_width` (2.0), `iid_noise_std` (0.02).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mnist1dSpec {
    /// Training examples.
    pub train: usize,
    /// Test examples.
    pub test: usize,
    /// Sequence length L ≥ 2.
    pub length: usize,
    /// Nominal window width w₀ (samples) over which the 12-point template is spread.
    pub pattern_width: f64,
    /// Stretch jitter: s ~ U[1 − scale, 1 + scale], 0 ≤ scale < 1.
    pub scale: f64,
    /// Shift jitter δ ~ U[−max_shift, max_shift] (samples).
    pub max_shift: f64,
    /// Shear jitter η ~ U[−shear, shear].
    pub shear: f64,
    /// σ_c of the correlated noise.
    pub corr_noise_std: f64,
    /// ρ: width (std, in samples) of the Gaussian smoothing kernel of the correlated noise.
    pub corr_noise_width: f64,
    /// σ_w of the iid noise.
    pub iid_noise_std: f64,
}

impl Default for Mnist1dSpec {
    fn default() -> Self {
        Mnist1dSpec {
            train: 4000,
            test: 1000,
            length: 40,
            pattern_width: 24.0,
            scale: 0.4,
            max_shift: 8.0,
            shear: 0.75,
            corr_noise_std: 0.25,
            corr_noise_width: 2.0,
            iid_noise_std: 0.02,
        }
    }
}

/// The smoothing kernel g_{−r..=r} of the correlated noise (r = ⌈3ρ⌉, Σ g² = 1); `[1]` for ρ = 0.
pub fn correlated_noise_kernel(width: f64) -> Vec<f64> {
    if width <= 0.0 {
        return vec![1.0];
    }
    let r = (3.0 * width).ceil() as i64;
    let g: Vec<f64> = (-r..=r)
        .map(|k| (-(k * k) as f64 / (2.0 * width * width)).exp())
        .collect();
    let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    g.into_iter().map(|v| v / norm).collect()
}

/// τ(u): the template as a piecewise-linear function on [0, 1], zero outside.
fn template_at(t: &[f64; TEMPLATE_LEN], u: f64) -> f64 {
    if !(0.0..=1.0).contains(&u) {
        return 0.0;
    }
    let p = u * (TEMPLATE_LEN - 1) as f64;
    let j = (p.floor() as usize).min(TEMPLATE_LEN - 2);
    let f = p - j as f64;
    t[j] * (1.0 - f) + t[j + 1] * f
}

impl Mnist1dSpec {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), NnError> {
        if self.train == 0 {
            return Err(NnError::setting("data.train", self.train, ">= 1"));
        }
        if self.length < 2 {
            return Err(NnError::setting("data.length", self.length, ">= 2"));
        }
        if !(self.pattern_width.is_finite() && self.pattern_width > 0.0) {
            return Err(NnError::setting(
                "data.pattern_width",
                self.pattern_width,
                "finite and > 0",
            ));
        }
        if !(0.0..1.0).contains(&self.scale) {
            return Err(NnError::setting("data.scale", self.scale, "0 <= scale < 1"));
        }
        for (field, v) in [
            ("data.max_shift", self.max_shift),
            ("data.shear", self.shear),
            ("data.corr_noise_std", self.corr_noise_std),
            ("data.iid_noise_std", self.iid_noise_std),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(NnError::setting(field, v, "finite and >= 0"));
            }
        }
        if !(self.corr_noise_width.is_finite() && (0.0..=1000.0).contains(&self.corr_noise_width)) {
            return Err(NnError::setting(
                "data.corr_noise_width",
                self.corr_noise_width,
                "0 <= width <= 1000",
            ));
        }
        Ok(())
    }

    /// Example `i` of a split from its stream `k` (class i mod 10), appended to `out`.
    fn example(&self, class: usize, k: RandomKey, kernel: &[f64], out: &mut Vec<f64>) {
        let l = self.length;
        let s = 1.0 + self.scale * (2.0 * k.uniform_at(0) - 1.0);
        let shift = self.max_shift * (2.0 * k.uniform_at(1) - 1.0);
        let eta = self.shear * (2.0 * k.uniform_at(2) - 1.0);
        let w = self.pattern_width * s;
        let a = (l - 1) as f64 / 2.0 + shift - w / 2.0;
        let r = kernel.len() / 2;
        let z = k.derive("corr").normals(l + 2 * r);
        let e = k.derive("iid").normals(l);
        let template = &MNIST1D_TEMPLATES[class];
        for t in 0..l {
            let tf = t as f64;
            let ramp = 2.0 * tf / (l - 1) as f64 - 1.0;
            let corr: f64 = kernel
                .iter()
                .zip(&z[t..t + 2 * r + 1])
                .map(|(g, z)| g * z)
                .sum();
            out.push(
                template_at(template, (tf - a) / w)
                    + eta * ramp
                    + self.corr_noise_std * corr
                    + self.iid_noise_std * e[t],
            );
        }
    }

    /// Generates the data set from `key`.
    pub fn generate(&self, key: RandomKey) -> Result<InMemoryDataset, NnError> {
        self.validate()?;
        let kernel = correlated_noise_kernel(self.corr_noise_width);
        let make = |n: usize, name: &str| {
            let y = interleaved(n, 10);
            let k = key.derive(&format!("data/{name}"));
            let mut x = Vec::with_capacity(n * self.length);
            for (i, &c) in y.iter().enumerate() {
                self.example(c as usize, k.at(i as u64), &kernel, &mut x);
            }
            (x, TargetData::Classes(y))
        };
        let spec = DatasetSpec {
            name: format!("mnist1d[L={}]", self.length),
            input_shape: vec![self.length],
            target: TargetKind::Classes { classes: 10 },
            train_len: self.train,
            test_len: self.test,
        };
        InMemoryDataset::new(spec, make(self.train, "train"), make(self.test, "test"))
    }
}
