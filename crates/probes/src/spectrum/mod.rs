//! The forward feature map diagonalised (P5: Y. Nam, C. Mingard, S. H. Lee, S. Hayou &
//! A. A. Louis, "Visualising Feature Learning in Deep Neural Networks by Diagonalizing the
//! Forward Feature Map", arXiv:2410.04264; SCIENCE.md §P5.3, a reconstruction — the paper's
//! code is not public).
//!
//! At every due step the frozen network at θ_t maps fixed examples — the first
//! `train_examples` of the training split and the first `test_examples` of the test split — to
//! `Φ` = the tap `tap` (default `penultimate`: the read-out's input, post-activation),
//! flattened per example. In f64 ([`analysis`]): the uncentred second moment
//! `M = (1/n) ΦᵀΦ = Σ_k λ_k v_k v_kᵀ` and the covariance (`M − φ̄φ̄ᵀ`), each eigen-decomposed
//! (faer, sequential, sign-fixed vectors), eigenfunctions `ψ_k(x) = (φ(x) − m)·v_k/√λ_k`, and
//! their alignment `a_k = ‖⟨ψ_k, T⟩‖²` with the targets `T`. Under last-layer gradient descent
//! the residual along `ψ_k` decays as `(1 − ηλ_k)^t` ([`identity`]), so large-λ
//! eigenfunctions are the ones the read-out uses first.
//!
//! **Classification** (`C` classes, `T` one-hot). Recorded (split `train` unless said):
//! - `count95`: the label-alignment count on the uncentred moment (smallest `K` whose first `K`
//!   eigenfunctions carry 95 % of `Σ_k a_k`), and `count95_cov` on the covariance; `count95`
//!   with split `test`: the same count from the test examples' alignments
//!   `‖(1/m) Σ_x ψ_k(x) T(x)‖²` through the training eigenfunctions;
//! - `regime` (issue 10's rule, fixed before any run): 1 = minimal feature (MF,
//!   `count95 ∈ [C−1, C+1]`), 2 = extended feature (EF, `count95 ≥ 2C`), 0 = intermediate;
//!   `mf` (1/0) for MF, and `mf_cov` (1/0) for `count95_cov ∈ [C−2, C]` (centring removes the
//!   global mean, one of the C directions of a collapsed uncentred moment);
//! - `output_count95`: the same count with the network's outputs (logits) as `T` (report);
//! - `label_alignment` (index k < `top_k`): `a_k / Σ_j a_j`; `label_energy`: `Σ_k a_k` over
//!   `(1/n)‖T‖²_F`, the part of the labels a linear read-out of Φ can fit;
//! - `within_class` (index k < C + 1): the within-class share of the variance of `ψ_k` (0 when
//!   `ψ_k` is constant on every class, the MF picture of piecewise-constant eigenfunctions);
//!   with split `test`, `eigenfunction_norm` (index k < C + 1): `(1/m) Σ_x ψ_k(x)²`, which is
//!   1 on the training examples by construction.
//!
//! **Real targets** (a dense `T`, e.g. regression): the "kernel picture" of P5.2 on the
//! covariance with centred targets — the constant feature is handled by centring, otherwise
//! `ψ₁` is the mean direction and its alignment with uncentred targets is trivially high:
//! `count95_cov`, and `target_alignment_top` = `⟨ψ₁, y_c⟩² / ‖y_c‖²` (summed over outputs),
//! MF-like when it approaches 1. `regime` and `mf` are not recorded.
//!
//! Always: `eigenvalue` and `eigenvalue_cov` (index k < `top_k`), `trace`, `trace_cov`,
//! `participation_ratio`, `participation_ratio_cov` (`(Σλ)²/Σλ²`), `dominant_1e-2` and
//! `dominant_1e-3` (`N_τ = #{k : λ_k/λ₁ > τ}` on the uncentred moment), `rank` (eigenvalues
//! above `rcond · λ₁`), `features` (p). `N_τ` and the participation ratio are report values
//! only: for post-ReLU features the top eigenvector of the uncentred moment is the mean
//! direction, so they say little about how many features the read-out uses.
//!
//! **Scatter arrays** (`eigenfunctions = E > 0`): `eigenfunction` (index = example, index2 = k
//! < E) and `scatter_label` (index = example) for the first `scatter_examples` examples of
//! each split, for plots of `ψ_k` coloured by class.
//!
//! **Identity** (`identity_steps = S > 0`, classification or real targets): at the probe's
//! first observation, `S` steps of read-out gradient descent on the frozen training Φ (bias as
//! a constant feature, [`identity::gd_identity`]) against `(1 − ηλ_k)^t` per mode:
//! `gd_identity` (the largest relative error), `gd_identity_modes`, `gd_identity_eta`.
//! Recorded once per run (the done flag is checkpointed, so a resumed run does not repeat it).
//!
//! A Φ with non-finite values (a diverged run) records `count95` = NaN and nothing else at that
//! step. Cost per due step: the forward passes, `O(n p²)` for the moment, two `p × p`
//! symmetric eigen-decompositions and `O((n + m) p · rank)` for the alignments.

pub mod analysis;
pub mod identity;

use learnscope_core::ProbeSchedule;
use learnscope_data::{Dataset, Split, TargetData, TargetKind};
use learnscope_nn::{Backend, NnError};
use learnscope_train::{Flow, Metric, Probe, Recorder, StepCtx};

use crate::taps::host_activations;
use analysis::{
    alignment_count, centred_minimal, one_hot, spectra, within_class_fraction, Regime, Spectrum,
};

/// The `[[probes]]` table of `kind = "spectrum"` (see the module documentation).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpectrumConfig {
    /// Name (default `spectrum`).
    pub name: Option<String>,
    /// When (default: the end of every epoch).
    #[serde(default = "default_schedule")]
    pub schedule: ProbeSchedule,
    /// The feature map's tap (default `penultimate`).
    #[serde(default = "default_tap")]
    pub tap: String,
    /// The first n training examples (default 2048; clipped to the split).
    #[serde(default = "default_train_examples")]
    pub train_examples: usize,
    /// The first m test examples (default 1024; clipped; 0 for none).
    #[serde(default = "default_test_examples")]
    pub test_examples: usize,
    /// Eigenvalues and alignments recorded per step (default 32).
    #[serde(default = "default_top_k")]
    pub top_k: usize,
    /// Eigenfunctions recorded per example for scatter plots (default 0).
    #[serde(default)]
    pub eigenfunctions: usize,
    /// Examples per split in the scatter arrays (default 256).
    #[serde(default = "default_scatter_examples")]
    pub scatter_examples: usize,
    /// Steps of the read-out gradient-descent identity at the first observation (default 0:
    /// off).
    #[serde(default)]
    pub identity_steps: usize,
    /// Eigenvalues ≤ rcond · λ₁ have no eigenfunction (default 1e-10).
    #[serde(default = "default_rcond")]
    pub rcond: f64,
}

/// Default schedule: the end of every epoch.
pub fn default_schedule() -> ProbeSchedule {
    ProbeSchedule::EpochEnd
}
fn default_tap() -> String {
    "penultimate".into()
}
fn default_train_examples() -> usize {
    2048
}
fn default_test_examples() -> usize {
    1024
}
fn default_top_k() -> usize {
    32
}
fn default_scatter_examples() -> usize {
    256
}
/// Default rank cut-off (see [`analysis`]).
pub fn default_rcond() -> f64 {
    1e-10
}

/// What the targets of the chosen examples are.
#[derive(Debug, Clone)]
enum Targets {
    /// Class labels (train, test) and the class count.
    Classes {
        train: Vec<u32>,
        test: Vec<u32>,
        classes: usize,
    },
    /// Dense training targets, row-major, `outputs` per example.
    Dense { train: Vec<f64>, outputs: usize },
}

/// The feature-map spectrum probe (module documentation).
pub struct SpectrumProbe {
    name: String,
    schedule: ProbeSchedule,
    tap: String,
    top_k: usize,
    eigenfunctions: usize,
    scatter_examples: usize,
    identity_steps: usize,
    rcond: f64,
    train_x: Vec<f64>,
    test_x: Vec<f64>,
    n: usize,
    m: usize,
    targets: Targets,
    identity_done: bool,
}

/// The first `rows` targets of a split.
fn first_targets(data: &dyn Dataset, split: Split, rows: usize, width: usize) -> TargetData {
    match data.targets(split) {
        TargetData::Classes(l) => TargetData::Classes(l[..rows].to_vec()),
        TargetData::Dense(v) => TargetData::Dense(v[..rows * width].to_vec()),
    }
}

impl SpectrumProbe {
    /// The probe of `cfg` on `data`.
    pub fn new(cfg: SpectrumConfig, data: &dyn Dataset) -> Result<SpectrumProbe, String> {
        cfg.schedule
            .validate()
            .map_err(|e| format!("schedule: {e}"))?;
        if !(cfg.rcond.is_finite() && cfg.rcond > 0.0 && cfg.rcond < 1.0) {
            return Err(format!("rcond: must be in (0, 1), got {}", cfg.rcond));
        }
        if cfg.tap.is_empty() {
            return Err("tap: give a tap name (default `penultimate`)".into());
        }
        let spec = data.spec();
        let n = cfg.train_examples.min(spec.train_len);
        let m = cfg.test_examples.min(spec.test_len);
        if n < 2 {
            return Err(format!(
                "train_examples: {n} usable training examples, need at least 2"
            ));
        }
        let width = match spec.target {
            TargetKind::Classes { .. } => 1,
            TargetKind::Dense { outputs } => outputs,
        };
        let targets = match (
            spec.target,
            first_targets(data, Split::Train, n, width),
            first_targets(data, Split::Test, m, width),
        ) {
            (
                TargetKind::Classes { classes },
                TargetData::Classes(train),
                TargetData::Classes(test),
            ) => Targets::Classes {
                train,
                test,
                classes,
            },
            (TargetKind::Dense { outputs }, TargetData::Dense(train), TargetData::Dense(_)) => {
                Targets::Dense { train, outputs }
            }
            _ => return Err("the data set's targets do not match its declared kind".into()),
        };
        let q = spec.input_size();
        let mut train_x = Vec::with_capacity(n * q);
        data.gather_inputs(Split::Train, &(0..n).collect::<Vec<_>>(), &mut train_x);
        let mut test_x = Vec::with_capacity(m * q);
        data.gather_inputs(Split::Test, &(0..m).collect::<Vec<_>>(), &mut test_x);
        Ok(SpectrumProbe {
            name: cfg.name.unwrap_or_else(|| "spectrum".into()),
            schedule: cfg.schedule,
            tap: cfg.tap,
            top_k: cfg.top_k,
            eigenfunctions: cfg.eigenfunctions,
            scatter_examples: cfg.scatter_examples,
            identity_steps: cfg.identity_steps,
            rcond: cfg.rcond,
            train_x,
            test_x,
            n,
            m,
            targets,
            identity_done: false,
        })
    }

    fn put(
        &self,
        out: &mut dyn Recorder,
        key: &str,
        split: &str,
        index: Option<i64>,
        index2: Option<i64>,
        value: f64,
    ) {
        out.record(Metric {
            probe: self.name.clone(),
            key: key.into(),
            split: split.into(),
            layer: None,
            index,
            index2,
            value,
        });
    }

    /// `eigenvalue…`, `trace…`, `participation_ratio…` of one spectrum.
    fn record_spectrum(&self, out: &mut dyn Recorder, s: &Spectrum, suffix: &str) {
        for (k, l) in s.eigenvalues.iter().take(self.top_k).enumerate() {
            self.put(
                out,
                &format!("eigenvalue{suffix}"),
                "train",
                Some(k as i64),
                None,
                *l,
            );
        }
        out.scalar(&self.name, &format!("trace{suffix}"), "train", s.trace());
        out.scalar(
            &self.name,
            &format!("participation_ratio{suffix}"),
            "train",
            s.participation_ratio(),
        );
    }

    /// The scatter arrays of one split.
    fn record_scatter(
        &self,
        out: &mut dyn Recorder,
        s: &Spectrum,
        phi: &[f64],
        rows: usize,
        split: &str,
        labels: Option<&[u32]>,
    ) {
        let e = self.eigenfunctions;
        let rows = rows.min(self.scatter_examples);
        if e == 0 || rows == 0 {
            return;
        }
        let psi = s.eigenfunctions(phi, rows, e, self.rcond);
        for i in 0..rows {
            for k in 0..e {
                self.put(
                    out,
                    "eigenfunction",
                    split,
                    Some(i as i64),
                    Some(k as i64),
                    psi[i * e + k],
                );
            }
            if let Some(l) = labels {
                self.put(
                    out,
                    "scatter_label",
                    split,
                    Some(i as i64),
                    None,
                    l[i] as f64,
                );
            }
        }
    }

    /// The classification measurements.
    #[allow(clippy::too_many_arguments)]
    fn classification(
        &self,
        out: &mut dyn Recorder,
        (raw, cov): (&Spectrum, &Spectrum),
        phi: &[f64],
        phi_test: &[f64],
        logits: &[f64],
        (train, test, classes): (&[u32], &[u32], usize),
    ) {
        let n = self.n;
        let t = one_hot(train, classes);
        let a = raw.alignments(phi, n, &t, classes, self.rcond);
        let count = alignment_count(&a, 0.95);
        let total: f64 = a.iter().sum();
        out.scalar(
            &self.name,
            "count95",
            "train",
            count.map_or(f64::NAN, |c| c as f64),
        );
        if let Some(c) = count {
            let regime = Regime::of(c, classes);
            out.scalar(&self.name, "regime", "train", regime.code());
            out.scalar(
                &self.name,
                "mf",
                "train",
                f64::from(u8::from(regime == Regime::MinimalFeature)),
            );
        }
        for (k, v) in a.iter().take(self.top_k).enumerate() {
            self.put(
                out,
                "label_alignment",
                "train",
                Some(k as i64),
                None,
                v / total,
            );
        }
        // (1/n)‖T‖² = 1 for one-hot rows.
        out.scalar(&self.name, "label_energy", "train", total);
        let ac = cov.alignments(phi, n, &t, classes, self.rcond);
        let count_cov = alignment_count(&ac, 0.95);
        out.scalar(
            &self.name,
            "count95_cov",
            "train",
            count_cov.map_or(f64::NAN, |c| c as f64),
        );
        if let Some(c) = count_cov {
            out.scalar(
                &self.name,
                "mf_cov",
                "train",
                f64::from(u8::from(centred_minimal(c, classes))),
            );
        }
        let outputs = logits.len() / n;
        if outputs > 0 {
            let ao = raw.alignments(phi, n, logits, outputs, self.rcond);
            out.scalar(
                &self.name,
                "output_count95",
                "train",
                alignment_count(&ao, 0.95).map_or(f64::NAN, |c| c as f64),
            );
        }
        let shown = (classes + 1).min(raw.rank(self.rcond));
        let psi = raw.eigenfunctions(phi, n, shown, self.rcond);
        let within = within_class_fraction(&psi, n, shown, train, classes);
        for (k, v) in within.iter().enumerate() {
            self.put(out, "within_class", "train", Some(k as i64), None, *v);
        }
        if self.m > 0 {
            let tt = one_hot(test, classes);
            let at = raw.alignments(phi_test, self.m, &tt, classes, self.rcond);
            out.scalar(
                &self.name,
                "count95",
                "test",
                alignment_count(&at, 0.95).map_or(f64::NAN, |c| c as f64),
            );
            let psi_t = raw.eigenfunctions(phi_test, self.m, shown, self.rcond);
            for k in 0..shown {
                let norm = (0..self.m)
                    .map(|i| psi_t[i * shown + k].powi(2))
                    .sum::<f64>()
                    / self.m as f64;
                self.put(
                    out,
                    "eigenfunction_norm",
                    "test",
                    Some(k as i64),
                    None,
                    norm,
                );
            }
        }
    }

    /// The kernel picture for real targets (centred features and targets).
    fn regression(
        &self,
        out: &mut dyn Recorder,
        cov: &Spectrum,
        phi: &[f64],
        (train, outputs): (&[f64], usize),
    ) {
        let n = self.n;
        let mut centred = train.to_vec();
        for j in 0..outputs {
            let mean = (0..n).map(|i| train[i * outputs + j]).sum::<f64>() / n as f64;
            for i in 0..n {
                centred[i * outputs + j] -= mean;
            }
        }
        let energy = centred.iter().map(|v| v * v).sum::<f64>() / n as f64;
        let a = cov.alignments(phi, n, &centred, outputs, self.rcond);
        out.scalar(
            &self.name,
            "count95_cov",
            "train",
            alignment_count(&a, 0.95).map_or(f64::NAN, |c| c as f64),
        );
        let top = a.first().copied().unwrap_or(0.0);
        out.scalar(
            &self.name,
            "target_alignment_top",
            "train",
            if energy > 0.0 { top / energy } else { f64::NAN },
        );
    }
}

impl<B: Backend> Probe<B> for SpectrumProbe {
    fn name(&self) -> &str {
        &self.name
    }

    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }

    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let taps = [self.tap.clone(), "logits".to_string()];
        let train = host_activations(ctx, &self.name, &taps, &self.train_x, self.n, 256)?;
        let test = host_activations(ctx, &self.name, &taps, &self.test_x, self.m, 256)?;
        let (phi, p) = (&train[0].values, train[0].width);
        let phi_test = &test[0].values;
        let logits = &train[1].values;
        let finite = phi.iter().chain(phi_test).all(|v| v.is_finite());
        let spectra = if finite && p > 0 {
            spectra(phi, self.n, p).ok()
        } else {
            None
        };
        let Some((raw, cov)) = spectra else {
            out.scalar(&self.name, "count95", "train", f64::NAN);
            return Ok(Flow::Continue);
        };
        out.scalar(&self.name, "features", "train", p as f64);
        out.scalar(&self.name, "rank", "train", raw.rank(self.rcond) as f64);
        out.scalar(
            &self.name,
            "dominant_1e-2",
            "train",
            raw.count_above(1e-2) as f64,
        );
        out.scalar(
            &self.name,
            "dominant_1e-3",
            "train",
            raw.count_above(1e-3) as f64,
        );
        self.record_spectrum(out, &raw, "");
        self.record_spectrum(out, &cov, "_cov");
        let identity_targets = match &self.targets {
            Targets::Classes {
                train: labels,
                test,
                classes,
            } => {
                self.classification(
                    out,
                    (&raw, &cov),
                    phi,
                    phi_test,
                    logits,
                    (labels, test, *classes),
                );
                self.record_scatter(out, &raw, phi, self.n, "train", Some(labels));
                self.record_scatter(out, &raw, phi_test, self.m, "test", Some(test));
                (one_hot(labels, *classes), *classes)
            }
            Targets::Dense { train: y, outputs } => {
                self.regression(out, &cov, phi, (y, *outputs));
                self.record_scatter(out, &cov, phi, self.n, "train", None);
                self.record_scatter(out, &cov, phi_test, self.m, "test", None);
                (y.clone(), *outputs)
            }
        };
        if self.identity_steps > 0 && !self.identity_done {
            let (y, c) = identity_targets;
            let id = identity::gd_identity(phi, self.n, p, &y, c, self.identity_steps, self.rcond)
                .map_err(|e| NnError::setting(format!("{}.identity", self.name), "gd", e))?;
            out.scalar(&self.name, "gd_identity", "train", id.residual);
            out.scalar(&self.name, "gd_identity_modes", "train", id.modes as f64);
            out.scalar(&self.name, "gd_identity_eta", "train", id.eta);
            self.identity_done = true;
        }
        Ok(Flow::Continue)
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "identity_done": self.identity_done })
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        self.identity_done = state
            .get("identity_done")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
