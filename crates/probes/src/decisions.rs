//! Yes/no decision metrics of every output unit on whole splits (P1, SCIENCE.md §P1.3;
//! HUMAN-TASK.md §2.4): how often the network "rejects" a label that is absent, how often it
//! "detects" one that is present, and how strongly it leans towards "yes" on negatives.
//!
//! Each output unit j is a binary label `y_j(x)` (dense 0/1 or ±1 targets; class targets become
//! one-hot). Its response `r_j(x)` and threshold θ depend on the coding:
//! - `sigmoid`: `r = σ(f_j(x))`, θ = 0.5 (default for BCE);
//! - `zero_one`: `r = f_j(x)`, θ = 0.5 (default for MSE with 0/1 targets);
//! - `plus_minus`: `r = f_j(x)`, θ = 0 (default for hinge; ±1 targets, positive = +1);
//! - `softmax`: `r = softmax(f(x))_j`, θ = 0.5 (default for cross-entropy).
//!
//! `threshold` overrides θ. "Yes" means `r > θ` (strict), and per unit and split:
//! - `tnr` = #{y_j = 0, r_j ≤ θ} / #{y_j = 0} (correct-rejection rate);
//! - `tpr` = #{y_j = 1, r_j > θ} / #{y_j = 1} (hit rate);
//! - `fa` = E[r_j | y_j = 0] (false-alarm strength, graded);
//! - `tnr_graded` = E[1 − σ(β (r_j − θ)) | y_j = 0] (a noisy responder with slope β);
//! - `at_threshold` = #{r_j = θ} / N (responses tied with θ count as "no").
//!
//! Per-unit values carry `index = j`. When the data set names its output units
//! ([`learnscope_data::OutputUnit`]), the means of `tnr`, `tpr`, `fa`, `tnr_graded` over the
//! units of a tree level are recorded with `layer = "level<l>"` (internal levels) or `"leaf"`,
//! together with the level's arg-max `accuracy` when its units partition the examples (each
//! example positive in exactly one); otherwise all units form one group `layer = "all"`.
//! `threshold` (θ) and `coding/<name>` (= 1) are recorded at every observation, and so is the
//! TNR of the first observation (step 0, or the first due step), per unit and group, as
//! `tnr_step0` (kept in the probe state, so a resumed run still reports it): with 0/1 coding and
//! a near-zero initialisation every response starts below θ, so a high TNR there is set by the
//! coding, not learned (HUMAN-TASK.md §2.4; the report lists such labels). A split whose logits
//! are not all finite (a diverged run) is not scored; `non_finite_outputs` counts them instead.
//!
//! A unit whose training base rate equals θ (a 2-way split under θ = 0.5) has no preferred
//! constant answer; the probe refuses it unless `allow_ties = true`. The scoring itself is
//! [`learnscope_stats::threshold_scores`], shared with the human study.

use std::collections::BTreeMap;

use learnscope_core::ProbeSchedule;
use learnscope_data::{Dataset, Split};
use learnscope_nn::loss::{HostTargets, Loss, LossKind};
use learnscope_nn::{Backend, NnError};
use learnscope_stats::{partition_accuracy, threshold_scores};
use learnscope_train::{Flow, Metric, Probe, ProbeNeeds, Recorder, StepCtx};
use serde::{Deserialize, Serialize};

use crate::response::ResponseMap;

/// How logits become responses, and the default threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coding {
    /// `r = σ(logit)`, θ = 0.5.
    Sigmoid,
    /// `r = logit`, θ = 0.5 (0/1 targets).
    ZeroOne,
    /// `r = logit`, θ = 0 (±1 targets).
    PlusMinus,
    /// `r = softmax(logits)_j`, θ = 0.5.
    Softmax,
}

impl Coding {
    /// The name in configs and in the `coding/<name>` key.
    pub fn name(self) -> &'static str {
        match self {
            Coding::Sigmoid => "sigmoid",
            Coding::ZeroOne => "zero_one",
            Coding::PlusMinus => "plus_minus",
            Coding::Softmax => "softmax",
        }
    }

    /// θ unless overridden.
    pub fn default_threshold(self) -> f64 {
        match self {
            Coding::PlusMinus => 0.0,
            _ => 0.5,
        }
    }

    /// The coding that matches a training loss (`None` when there is no natural one).
    pub fn for_loss(kind: &LossKind) -> Option<Coding> {
        match kind {
            LossKind::Bce | LossKind::SpectralDecouplingBce { .. } => Some(Coding::Sigmoid),
            LossKind::Mse => Some(Coding::ZeroOne),
            LossKind::Hinge => Some(Coding::PlusMinus),
            LossKind::CrossEntropy | LossKind::SpectralDecouplingCe { .. } => Some(Coding::Softmax),
            LossKind::MulticlassHinge => None,
        }
    }

    /// The logits → responses map of this coding.
    pub fn map(self) -> ResponseMap {
        match self {
            Coding::ZeroOne | Coding::PlusMinus => ResponseMap::Identity,
            Coding::Sigmoid => ResponseMap::Sigmoid,
            Coding::Softmax => ResponseMap::Softmax,
        }
    }

    /// Responses of a row-major `n × outputs` logit table (finite logits).
    pub fn responses(self, logits: &[f64], outputs: usize) -> Vec<f64> {
        let mut r = logits.to_vec();
        self.map().apply_rows(&mut r, outputs);
        r
    }

    /// Whether a training base rate equal to θ is a tie (0/1-valued responses).
    fn ties_on_base_rate(self) -> bool {
        !matches!(self, Coding::PlusMinus)
    }
}

/// The settings of a [`DecisionsProbe`] (the registry's `decisions` table).
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionsSetup {
    /// Name.
    pub name: String,
    /// When.
    pub schedule: ProbeSchedule,
    /// Splits scored.
    pub splits: Vec<Split>,
    /// Response coding (`None`: from the loss).
    pub coding: Option<Coding>,
    /// θ (`None`: the coding's default).
    pub threshold: Option<f64>,
    /// Slope of the graded TNR.
    pub beta: f64,
    /// Accept units whose training base rate equals θ.
    pub allow_ties: bool,
}

/// Binary labels of a target table: row-major `n × units`, true where the label is present.
/// Dense targets must be 0/1 or ±1 (positive = 1); class targets become one-hot (one output:
/// label 1 is positive).
pub fn positive_table(t: &HostTargets<'_>) -> Result<(Vec<bool>, usize), String> {
    match *t {
        HostTargets::Dense { values, outputs } => {
            let (mut zero, mut minus) = (false, false);
            for (i, &v) in values.iter().enumerate() {
                if v == 0.0 {
                    zero = true;
                } else if v == -1.0 {
                    minus = true;
                } else if v != 1.0 {
                    return Err(format!(
                        "target {v} (example {}, unit {}) is neither 0/1 nor ±1",
                        i / outputs.max(1),
                        i % outputs.max(1)
                    ));
                }
            }
            if zero && minus {
                return Err("targets mix 0/1 and ±1 coding (values 0, 1 and -1)".into());
            }
            Ok((values.iter().map(|&v| v == 1.0).collect(), outputs))
        }
        HostTargets::Classes { labels, classes } => {
            if classes == 1 {
                return Ok((labels.iter().map(|&c| c == 1).collect(), 1));
            }
            let mut y = vec![false; labels.len() * classes];
            for (i, &c) in labels.iter().enumerate() {
                y[i * classes + c as usize] = true;
            }
            Ok((y, classes))
        }
    }
}

/// The TNR of the first observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Step0 {
    /// The step it was taken at.
    step: u64,
    /// Per split name: per-unit TNR and per-group mean TNR.
    splits: BTreeMap<String, TnrSnapshot>,
}

/// The TNR of one split: per unit (`None` without negatives) and per group (layer name, mean).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TnrSnapshot {
    /// Per output unit.
    pub units: Vec<Option<f64>>,
    /// Per group, in [`DecisionsProbe::groups`] order.
    pub groups: Vec<(String, Option<f64>)>,
}

/// TNR, hit rate, false-alarm strength and graded TNR of every output unit and tree level.
pub struct DecisionsProbe {
    name: String,
    schedule: ProbeSchedule,
    splits: Vec<Split>,
    coding: Coding,
    threshold: f64,
    beta: f64,
    units: usize,
    targets: BTreeMap<Split, Vec<bool>>,
    /// (layer name, member units), internal levels by depth, then `leaf` (or one `all`).
    groups: Vec<(String, Vec<usize>)>,
    step0: Option<Step0>,
}

fn mean_of(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let (mut s, mut n) = (0.0, 0usize);
    for v in values.flatten() {
        s += v;
        n += 1;
    }
    (n > 0).then(|| s / n as f64)
}

impl DecisionsProbe {
    /// The probe for `data` trained under `loss`; fails on targets that are not binary, on a
    /// loss without a default coding when none is given, on a non-finite θ or β ≤ 0, and on a
    /// unit whose training base rate equals θ unless `allow_ties`.
    pub fn new(setup: DecisionsSetup, data: &dyn Dataset, loss: &Loss) -> Result<Self, String> {
        let coding = match setup.coding.or_else(|| Coding::for_loss(&loss.kind)) {
            Some(c) => c,
            None => {
                return Err(format!(
                    "coding: no default for loss `{}`; set `coding` to one of \
                     `sigmoid`, `zero_one`, `plus_minus`, `softmax`",
                    loss.kind.name()
                ))
            }
        };
        let threshold = setup.threshold.unwrap_or(coding.default_threshold());
        if !threshold.is_finite() {
            return Err(format!("threshold: {threshold} must be finite"));
        }
        if !(setup.beta.is_finite() && setup.beta > 0.0) {
            return Err(format!("beta: {} must be finite and > 0", setup.beta));
        }
        if setup.splits.is_empty() {
            return Err("splits: name at least one of `train`, `test`".into());
        }
        let mut targets = BTreeMap::new();
        let mut units = 0;
        for split in [Split::Train, Split::Test] {
            let (y, u) = positive_table(&data.host_targets(split))
                .map_err(|e| format!("{} targets: {e}", split.name()))?;
            units = u;
            targets.insert(split, y);
        }
        let meta = data.output_units().filter(|m| m.len() == units);
        let name_of = |j: usize| match meta {
            Some(m) => format!("{j} (`{}`)", m[j].name),
            None => j.to_string(),
        };
        if coding.ties_on_base_rate() && !setup.allow_ties {
            let y = &targets[&Split::Train];
            let n = y.len() / units.max(1);
            for j in 0..units {
                let pos = (0..n).filter(|&i| y[i * units + j]).count();
                let rate = pos as f64 / n.max(1) as f64;
                if n > 0 && (rate - threshold).abs() < 1e-12 {
                    return Err(format!(
                        "unit {} has training base rate {rate} = threshold {threshold}: the \
                         optimal constant answer is a tie between yes and no, so its TNR at \
                         the OCS is undefined (SCIENCE.md §P1.3); set `allow_ties = true` to \
                         score it anyway, or another `threshold`",
                        name_of(j)
                    ));
                }
            }
        }
        let groups = match meta {
            Some(m) => {
                let mut by: BTreeMap<(bool, usize), Vec<usize>> = BTreeMap::new();
                for (j, u) in m.iter().enumerate() {
                    by.entry((u.leaf, if u.leaf { 0 } else { u.level }))
                        .or_default()
                        .push(j);
                }
                by.into_iter()
                    .map(|((leaf, level), members)| {
                        let layer = if leaf {
                            "leaf".to_string()
                        } else {
                            format!("level{level}")
                        };
                        (layer, members)
                    })
                    .collect()
            }
            None => vec![("all".to_string(), (0..units).collect())],
        };
        Ok(DecisionsProbe {
            name: setup.name,
            schedule: setup.schedule,
            splits: setup.splits,
            coding,
            threshold,
            beta: setup.beta,
            units,
            targets,
            groups,
            step0: None,
        })
    }

    /// θ.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The coding in use.
    pub fn coding(&self) -> Coding {
        self.coding
    }

    /// The aggregation groups: (layer name, member units).
    pub fn groups(&self) -> &[(String, Vec<usize>)] {
        &self.groups
    }

    fn metric(
        &self,
        key: &str,
        split: Split,
        layer: Option<&str>,
        index: Option<usize>,
        value: f64,
    ) -> Metric {
        Metric {
            probe: self.name.clone(),
            key: key.into(),
            split: split.name().into(),
            layer: layer.map(str::to_string),
            index: index.map(|j| j as i64),
            index2: None,
            value,
        }
    }

    /// Scores one split's logits (row-major `n × units`) and records them; returns the per-unit
    /// and per-group TNR.
    pub fn score(
        &self,
        split: Split,
        logits: &[f64],
        out: &mut dyn Recorder,
    ) -> Result<TnrSnapshot, NnError> {
        let y = &self.targets[&split];
        if logits.len() != y.len() {
            return Err(NnError::setting(
                format!("probe `{}`: {} logits", self.name, split.name()),
                logits.len(),
                format!("{} (examples × {} units)", y.len(), self.units),
            ));
        }
        let r = self.coding.responses(logits, self.units);
        let scores = threshold_scores(&r, y, self.units, self.threshold, self.beta)
            .map_err(|e| NnError::setting(format!("probe `{}`", self.name), e, "scorable"))?;
        for (j, s) in scores.iter().enumerate() {
            let values = [
                ("tnr", s.tnr()),
                ("tpr", s.tpr()),
                ("fa", s.false_alarm_strength),
                ("tnr_graded", s.tnr_graded),
                ("at_threshold", Some(s.at_threshold)),
            ];
            for (key, v) in values {
                if let Some(v) = v {
                    out.record(self.metric(key, split, None, Some(j), v));
                }
            }
        }
        let mut groups = Vec::with_capacity(self.groups.len());
        for (layer, members) in &self.groups {
            let m = |f: &dyn Fn(usize) -> Option<f64>| mean_of(members.iter().map(|&j| f(j)));
            let tnr = m(&|j| scores[j].tnr());
            let values = [
                ("tnr", tnr),
                ("tpr", m(&|j| scores[j].tpr())),
                ("fa", m(&|j| scores[j].false_alarm_strength)),
                ("tnr_graded", m(&|j| scores[j].tnr_graded)),
                (
                    "accuracy",
                    partition_accuracy(&r, y, self.units, members).map_err(|e| {
                        NnError::setting(format!("probe `{}`", self.name), e, "scorable")
                    })?,
                ),
            ];
            for (key, v) in values {
                if let Some(v) = v {
                    out.record(self.metric(key, split, Some(layer), None, v));
                }
            }
            groups.push((layer.clone(), tnr));
        }
        Ok(TnrSnapshot {
            units: scores.iter().map(|s| s.tnr()).collect(),
            groups,
        })
    }
}

impl<B: Backend> Probe<B> for DecisionsProbe {
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
        let mut first = BTreeMap::new();
        for &split in &self.splits {
            let ev = ctx.eval.get(&split).ok_or_else(|| {
                NnError::setting(
                    format!("probe `{}`", self.name),
                    format!("no {} evaluation", split.name()),
                    "the trainer evaluates the splits in ProbeNeeds::outputs",
                )
            })?;
            let logits = ev.logits.as_deref().ok_or_else(|| {
                NnError::setting(
                    format!("probe `{}`", self.name),
                    format!("no {} logits", split.name()),
                    "the trainer keeps the logits of ProbeNeeds::outputs",
                )
            })?;
            if ev.outputs != self.units {
                return Err(NnError::setting(
                    format!("probe `{}`: model outputs", self.name),
                    ev.outputs,
                    format!("{} (one per target unit)", self.units),
                ));
            }
            let bad = logits.iter().filter(|v| !v.is_finite()).count();
            if bad > 0 {
                // A diverged network is a result: say so instead of scoring it.
                out.record(self.metric("non_finite_outputs", split, None, None, bad as f64));
                continue;
            }
            let s = self.score(split, logits, out)?;
            first.insert(split.name().to_string(), s);
        }
        let main = *self.splits.first().expect("at least one split (checked)");
        out.record(self.metric("threshold", main, None, None, self.threshold));
        let key = format!("coding/{}", self.coding.name());
        out.record(self.metric(&key, main, None, None, 1.0));
        if self.step0.is_none() && !first.is_empty() {
            self.step0 = Some(Step0 {
                step: ctx.step,
                splits: first,
            });
        }
        if let Some(s0) = &self.step0 {
            for &split in &self.splits {
                let Some(s) = s0.splits.get(split.name()) else {
                    continue;
                };
                for (j, v) in s.units.iter().enumerate() {
                    if let Some(v) = v {
                        out.record(self.metric("tnr_step0", split, None, Some(j), *v));
                    }
                }
                for (layer, v) in &s.groups {
                    if let Some(v) = v {
                        out.record(self.metric("tnr_step0", split, Some(layer), None, *v));
                    }
                }
            }
        }
        Ok(Flow::Continue)
    }
    fn state(&self) -> serde_json::Value {
        match &self.step0 {
            Some(s) => serde_json::json!({ "step0": s }),
            None => serde_json::Value::Null,
        }
    }
    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            self.step0 = None;
            return Ok(());
        }
        let s = state
            .get("step0")
            .ok_or_else(|| format!("probe `{}`: state without `step0`", self.name))?;
        self.step0 = Some(
            serde_json::from_value(s.clone())
                .map_err(|e| format!("probe `{}`: state: {e}", self.name))?,
        );
        Ok(())
    }
}
