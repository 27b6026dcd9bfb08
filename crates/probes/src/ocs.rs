//! The optimal-constant-solution phase (P1, Rubruck et al. 2024; SCIENCE.md §P1.3): how far the
//! network's responses are from the optimal constant solution c*, and how much they depend on
//! the input.
//!
//! Responses r(x) are the outputs in the space the loss compares with targets: the logits for
//! MSE and the hinge losses, σ(logits) for BCE, softmax(logits) for cross-entropy. The OCS in
//! that space is c* = E_train\[y\] for MSE, BCE (per-output base rate) and cross-entropy (class
//! prior), and the loss's own minimiser for the hinge losses (`learnscope_nn::loss::ocs`).
//! On a set D (the training split, the test split, and an out-of-distribution set):
//! - `d_ocs` = E_{x∈D} ‖r(x) − c*‖²,
//! - `input_sensitivity` V_x = E_{x∈D} ‖r(x) − E_D r‖² (0 for a constant network),
//! - `mean_output_error` = ‖E_D r − c*‖², so `d_ocs` = V_x + `mean_output_error` exactly,
//! - the normalisations `d_ocs_over_label_variance` = d_ocs / E_train‖y − ȳ‖² (1 at the end of
//!   perfect learning on the training set), `d_ocs_over_ocs_norm` = d_ocs / ‖c*‖² (1 at a
//!   zero-output start under MSE), `d_ocs_over_init` = d_ocs(t) / d_ocs(first observation), and
//!   `mean_output_error_rel` = mean_output_error / ‖c*‖².
//!
//! Expected shape (§P1.4): d_ocs falls towards 0 while the network learns c* (V_x ≈ 0), then rises
//! towards the label variance as input-specific modes are learned. The out-of-distribution set
//! (default: `examples` Gaussian inputs with the training set's per-feature mean and standard
//! deviation, drawn once from the probe's key) shows the OCS is input-independent: early on the
//! network answers c* even for noise. The `train` row also records `ocs_loss` = L(c*).

use learnscope_core::{ProbeSchedule, RandomKey};
use learnscope_data::{Dataset, Split};
use learnscope_nn::loss::{HostTargets, Loss};
use learnscope_nn::{Backend, NnError};
use learnscope_train::{Flow, Probe, ProbeNeeds, Recorder, StepCtx};

use crate::response::ResponseMap;

/// The out-of-distribution input set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OodConfig {
    /// No OOD set.
    None,
    /// Gaussian inputs with the training set's per-feature mean and standard deviation.
    Gaussian {
        /// How many (default 1000).
        #[serde(default = "default_ood_examples")]
        examples: usize,
    },
}

impl Default for OodConfig {
    fn default() -> Self {
        OodConfig::Gaussian {
            examples: default_ood_examples(),
        }
    }
}

fn default_ood_examples() -> usize {
    1000
}

/// The d_OCS summary of one set of responses (row-major `n × c`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OcsSummary {
    /// E‖r − c*‖².
    pub d_ocs: f64,
    /// E‖r − E r‖².
    pub input_sensitivity: f64,
    /// ‖E r − c*‖².
    pub mean_output_error: f64,
}

/// d_OCS, V_x and the mean-output error of responses `r` (row-major, rows of `ocs.len()`).
pub fn summarise(r: &[f64], ocs: &[f64]) -> OcsSummary {
    let c = ocs.len().max(1);
    let n = (r.len() / c).max(1) as f64;
    let mut mean = vec![0.0; c];
    for row in r.chunks_exact(c) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let sq = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>();
    let (mut d, mut v) = (0.0, 0.0);
    for row in r.chunks_exact(c) {
        d += sq(row, ocs);
        v += sq(row, &mean);
    }
    OcsSummary {
        d_ocs: d / n,
        input_sensitivity: v / n,
        mean_output_error: sq(&mean, ocs),
    }
}

/// d_OCS and input dependence of the responses on train, test and an OOD set.
pub struct OcsProbe {
    name: String,
    schedule: ProbeSchedule,
    map: ResponseMap,
    /// c* in response space.
    ocs: Vec<f64>,
    ocs_loss: f64,
    label_variance: f64,
    splits: Vec<Split>,
    /// OOD inputs, row-major.
    ood: Option<Vec<f64>>,
    /// d_ocs at the first observation, per set (train, test, ood).
    first: [Option<f64>; 3],
}

impl OcsProbe {
    /// A probe for `data` trained with `loss`; `key` draws the OOD set.
    pub fn new(
        name: String,
        schedule: ProbeSchedule,
        loss: &Loss,
        data: &dyn Dataset,
        splits: Vec<Split>,
        ood: OodConfig,
        key: RandomKey,
    ) -> Result<Self, NnError> {
        let targets = data.host_targets(Split::Train);
        let constant = loss.optimal_constant(&targets)?;
        let map = ResponseMap::for_loss(loss);
        let ocs = match map {
            ResponseMap::Identity => constant.output.clone(),
            ResponseMap::Sigmoid | ResponseMap::Softmax => targets.mean(),
        };
        let label_variance = label_variance(&targets, &targets.mean());
        let ood = match ood {
            OodConfig::None => None,
            OodConfig::Gaussian { examples } => {
                if examples == 0 {
                    return Err(NnError::setting("ocs.ood.examples", 0, ">= 1"));
                }
                Some(gaussian_like_train(data, examples, key))
            }
        };
        Ok(OcsProbe {
            name,
            schedule,
            map,
            ocs,
            ocs_loss: constant.loss,
            label_variance,
            splits,
            ood,
            first: [None; 3],
        })
    }

    /// c* in response space.
    pub fn ocs(&self) -> &[f64] {
        &self.ocs
    }

    fn record(&mut self, out: &mut dyn Recorder, slot: usize, split: &str, mut logits: Vec<f64>) {
        let c = self.ocs.len().max(1);
        logits
            .chunks_exact_mut(c)
            .for_each(|row| self.map.apply(row));
        let s = summarise(&logits, &self.ocs);
        let first = *self.first[slot].get_or_insert(s.d_ocs);
        let ocs_norm: f64 = self.ocs.iter().map(|v| v * v).sum();
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        let name = self.name.as_str();
        out.scalar(name, "d_ocs", split, s.d_ocs);
        out.scalar(name, "input_sensitivity", split, s.input_sensitivity);
        out.scalar(name, "mean_output_error", split, s.mean_output_error);
        out.scalar(
            name,
            "mean_output_error_rel",
            split,
            ratio(s.mean_output_error, ocs_norm),
        );
        out.scalar(
            name,
            "d_ocs_over_label_variance",
            split,
            ratio(s.d_ocs, self.label_variance),
        );
        out.scalar(name, "d_ocs_over_ocs_norm", split, ratio(s.d_ocs, ocs_norm));
        out.scalar(name, "d_ocs_over_init", split, ratio(s.d_ocs, first));
    }
}

/// E_train‖y − ȳ‖² with targets as the loss reads them (one-hot for labels).
fn label_variance(targets: &HostTargets<'_>, mean: &[f64]) -> f64 {
    let n = targets.n();
    (0..n)
        .map(|i| {
            targets
                .row(i)
                .iter()
                .zip(mean)
                .map(|(y, m)| (y - m).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / n.max(1) as f64
}

/// `examples` inputs, feature j drawn from N(mean_j, sd_j²) of the training inputs (two passes
/// over the training split in chunks, so the variance has no cancellation error).
fn gaussian_like_train(data: &dyn Dataset, examples: usize, key: RandomKey) -> Vec<f64> {
    let spec = data.spec();
    let (n, d) = (spec.train_len, spec.input_size());
    let for_each_row = |f: &mut dyn FnMut(&[f64])| {
        let mut buf = Vec::new();
        for start in (0..n).step_by(512) {
            let idx: Vec<usize> = (start..(start + 512).min(n)).collect();
            buf.clear();
            data.gather_inputs(Split::Train, &idx, &mut buf);
            buf.chunks_exact(d.max(1)).for_each(&mut *f);
        }
    };
    let nn = n.max(1) as f64;
    let mut mean = vec![0.0; d];
    for_each_row(&mut |row| mean.iter_mut().zip(row).for_each(|(m, v)| *m += v / nn));
    let mut var = vec![0.0; d];
    for_each_row(&mut |row| {
        var.iter_mut()
            .zip(row.iter().zip(&mean))
            .for_each(|(s, (v, m))| *s += (v - m).powi(2) / nn)
    });
    (0..examples * d)
        .map(|i| {
            let j = i % d;
            mean[j] + var[j].sqrt() * key.normal_at(i as u64)
        })
        .collect()
}

impl<B: Backend> Probe<B> for OcsProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn needs(&self) -> ProbeNeeds {
        ProbeNeeds {
            outputs: self.splits.clone(),
            ..ProbeNeeds::default()
        }
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        for split in self.splits.clone() {
            let logits = ctx
                .eval
                .get(&split)
                .and_then(|e| e.logits.clone())
                .ok_or_else(|| NnError::setting("ocs", "split logits", "requested"))?;
            let slot = match split {
                Split::Train => 0,
                Split::Test => 1,
            };
            self.record(out, slot, split.name(), logits);
        }
        if let Some(x) = &self.ood {
            let logits = ctx.logits_at_theta(x, 512)?;
            self.record(out, 2, "ood", logits);
        }
        out.scalar(&self.name, "ocs_loss", "train", self.ocs_loss);
        out.scalar(&self.name, "label_variance", "train", self.label_variance);
        Ok(Flow::Continue)
    }
    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "first": self.first.iter().map(|f| f.map(f64::to_bits)).collect::<Vec<_>>() })
    }
    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            return Ok(());
        }
        let first = state
            .get("first")
            .and_then(|f| f.as_array())
            .ok_or("ocs state: `first` missing")?;
        if first.len() != 3 {
            return Err("ocs state: `first` needs 3 entries".into());
        }
        for (slot, v) in self.first.iter_mut().zip(first) {
            *slot = if v.is_null() {
                None
            } else {
                Some(f64::from_bits(
                    v.as_u64().ok_or("ocs state: bad `first` entry")?,
                ))
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ood_inputs_have_the_training_moments() {
        // One-hot items of the 8-item tree: each feature has mean 1/8 and variance 7/64.
        let data = learnscope_data::HierarchySpec::eight_items()
            .build()
            .unwrap()
            .dataset("tree");
        let m = 20_000;
        let x = gaussian_like_train(&data, m, RandomKey::root(7));
        assert_eq!(x.len(), m * 8);
        let sd = (7.0f64 / 64.0).sqrt();
        for j in 0..8 {
            let col: Vec<f64> = x.iter().skip(j).step_by(8).copied().collect();
            let mean = col.iter().sum::<f64>() / m as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m as f64;
            // 5 standard errors: sd/√m for the mean, ≈ sd²·√(2/m) for the variance.
            assert!(
                (mean - 0.125).abs() < 5.0 * sd / (m as f64).sqrt(),
                "{j}: {mean}"
            );
            assert!(
                (var - sd * sd).abs() < 5.0 * sd * sd * (2.0 / m as f64).sqrt(),
                "{j}: {var}"
            );
        }
    }

    #[test]
    fn summary_splits_into_sensitivity_and_mean_error() {
        // Two rows around the mean (1, 2), c* = (0, 0).
        let r = [0.0, 2.0, 2.0, 2.0];
        let s = summarise(&r, &[0.0, 0.0]);
        assert_eq!(s.mean_output_error, 5.0);
        assert_eq!(s.input_sensitivity, 1.0);
        assert_eq!(s.d_ocs, (4.0 + 8.0) / 2.0);
        assert!((s.d_ocs - s.input_sensitivity - s.mean_output_error).abs() < 1e-15);
    }
}
