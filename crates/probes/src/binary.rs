//! Binary-classification dynamics (P3, Tachet des Combes et al. 2018, arXiv:1809.06848;
//! gradient starvation, Pezeshki et al. 2021; SCIENCE.md §P3.3, §P3.4, §C.4).
//!
//! Every example has a label y ∈ {−1, +1} (class 1 ↦ +1, class 0 ↦ −1; a dense ±1 or 0/1 target
//! likewise) and a margin z = y·f(x), with f the single logit (or f₁ − f₀ for two logits).
//! Recorded at every due step, per split:
//! - `error` = fraction of examples with z ≤ 0, `margin_mean`, `margin_sd` (the logit spread:
//!   cross-entropy keeps pushing margins apart, the hinge stops them at 1), `margin_min`,
//!   `at_margin` = fraction with z ≥ z* (`margin`, default 1), and `ce_loss` = mean
//!   log(1 + e^{−z}) (the cross-entropy without any penalty, to compare penalised runs).
//!
//! With a [`FeatureDesign`] (the `binary_features` generator), on the training split, per
//! feature f (index f): `feature_margin` = mean z over the examples carrying f, and
//! `feature_response` c_f = mean over those examples of y·(f(x) − f(x − x_f)) with x_f the
//! feature's part of x (for a linear model c_f = w_f·r_f: the gradient-starvation plots of
//! §C.4 compare it with the same feature trained alone), and `feature_share` = c_f / Σ_g |c_g|.
//!
//! For networks with one hidden layer of dense units (`layers.0`, `layers.1`), per unit k
//! (index k): `unit_strength` u_k = v_k‖w_k‖ (v_k the unit's read-out, f₁ − f₀ for two logits),
//! and with a design `unit_alignment` = max_f cos(w_k, x̂_f) and `unit_feature` = that f; and
//! `dead_units` = the fraction of units whose pre-activation w_k·x + b_k ≤ 0 on every training
//! example (no gradient ever reaches them), `dead_clusters` = the number of features with no
//! unit active on any of their examples (P3.3's failed training: those examples are never
//! learned) and `any_dead_cluster` (0/1). Standard parameterisation (multipliers 1) is assumed for these.
//!
//! **Theory** (split `theory`): when the closed form of §P3.3 holds exactly — a design with one
//! noise-free feature per example on orthonormal directions, a single logit trained with BCE or
//! hinge, and either one bias-free linear layer (dz/dt = p r² g(z)) or one hidden ReLU layer
//! without biases whose units start aligned one-to-one with the features and balanced,
//! |v_k| = ‖w_k‖ (dz/dt = 2 p r z g(z), `model.init = aligned`) — `feature_margin` is also
//! recorded from [`LogitFlow`] started at the measured z₀ of each feature, and
//! `flow_error_rel` = max_f |z_f − z_f^flow| / |z_f^flow|. `closed_form_applies` (0/1) says
//! which. Flow time t = Σ η (×P for the `sum` reduction).
//!
//! **At the last step** (split `train`): `time_to_margin` per example (index = example; the
//! first observed step after which z ≥ z* holds at every later observation; NaN if not at the
//! end), `feature_time_to_margin` (the median over a feature's examples), and the exponent fits
//! of §P3.4: ln t against ln r (`norm_exponent`, when the features' frequencies are equal) and
//! against ln p (`frequency_exponent`, when their norms are equal) over features (over
//! examples and ‖x‖ without a design), each with `_lo`/`_hi` (95 % t-interval), and, where a
//! closed form exists for the loss, `_predicted` (the same least-squares slope through the
//! flow's times to z* from each feature's measured z₀: this model's prediction including the
//! log correction), `_other` (the other model's: shallow for a hidden-layer net and vice versa),
//! `_covers` (1 if the interval contains `_predicted`) and `_excludes_other` (1 if it does not
//! contain `_other`). Also `time_to_zero_error` (first observed step after which the training
//! error is 0), `failed` (1 if the final training error is above 0), and the shape of the
//! training-error curve: `steepest_drop_fraction` (fraction of the total drop done when the
//! isotonic fit falls fastest, in linear time; ≈ 0 for a curve that drops fastest at once,
//! ≈ ½ for a sigmoid), `steepest_drop_step`, and a logistic fit in log₁₀ step (`error_logistic_r2`,
//! `error_logistic_midpoint` in log₁₀ steps, `error_logistic_width` = 2 ln 3/|k| decades
//! between 25 % and 75 % of the drop) — reported, not judged.

use learnscope_core::{LrSchedule, ProbeSchedule};
use learnscope_data::{Dataset, FeatureDesign, Split};
use learnscope_nn::loss::{HostTargets, LossKind, Reduction};
use learnscope_nn::{Backend, NnError};
use learnscope_theory::binary::{BinaryLoss, BinaryModel, LogitFlow};
use learnscope_train::{Flow, Metric, Probe, ProbeNeeds, Recorder, StepCtx};

/// ±1 labels of a split's examples.
fn plus_minus_labels(targets: &HostTargets<'_>) -> Result<Vec<f64>, String> {
    match targets {
        HostTargets::Classes { labels, classes } if *classes <= 2 => Ok(labels
            .iter()
            .map(|&l| if l == 1 { 1.0 } else { -1.0 })
            .collect()),
        HostTargets::Dense { values, outputs: 1 } => Ok(values
            .iter()
            .map(|&v| if v > 0.5 { 1.0 } else { -1.0 })
            .collect()),
        other => Err(format!(
            "the `binary` probe needs a binary task (two classes or one target), the data have {} targets per example",
            other.width()
        )),
    }
}

/// The feature metadata the probe uses, copied from the data set's [`FeatureDesign`].
struct Features {
    norms: Vec<f64>,
    frequencies: Vec<f64>,
    directions: Vec<Vec<f64>>,
    /// Training examples carrying each feature, with the feature's coefficient in them.
    members: Vec<Vec<(usize, f64)>>,
    /// One feature per example, inputs exactly Σ coefficient·direction, directions orthonormal.
    exact_one_per_example: bool,
}

impl Features {
    fn from_design(design: &FeatureDesign, data: &dyn Dataset) -> Features {
        let k = design.features.len();
        let n = data.spec().train_len;
        let d = data.spec().input_size();
        let mut members = vec![Vec::new(); k];
        let mut one_each = true;
        let mut x = Vec::with_capacity(n * d);
        data.gather_inputs(Split::Train, &(0..n).collect::<Vec<_>>(), &mut x);
        let mut residual = 0.0f64;
        for i in 0..n {
            let m = design.members(Split::Train, i);
            one_each &= m.len() == 1;
            let mut rebuilt = vec![0.0; d];
            for &(f, c) in m {
                members[f].push((i, c));
                for (r, u) in rebuilt.iter_mut().zip(&design.features[f].direction) {
                    *r += c * u;
                }
            }
            for (r, v) in rebuilt.iter().zip(&x[i * d..(i + 1) * d]) {
                residual = residual.max((r - v).abs());
            }
        }
        let directions: Vec<Vec<f64>> = design
            .features
            .iter()
            .map(|f| f.direction.clone())
            .collect();
        let mut orthonormal = true;
        for a in 0..k {
            for b in 0..k {
                let dot: f64 = directions[a]
                    .iter()
                    .zip(&directions[b])
                    .map(|(u, v)| u * v)
                    .sum();
                let want = if a == b { 1.0 } else { 0.0 };
                orthonormal &= (dot - want).abs() < 1e-10;
            }
        }
        Features {
            norms: design.features.iter().map(|f| f.norm).collect(),
            frequencies: design.features.iter().map(|f| f.frequency).collect(),
            directions,
            members,
            exact_one_per_example: one_each && residual < 1e-12 && orthonormal,
        }
    }

    fn len(&self) -> usize {
        self.norms.len()
    }
}

/// Where the dense layers of a one- or two-layer network are among the parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Net {
    /// One dense layer: z = w·x (+ b).
    Shallow { w: usize, b: Option<usize> },
    /// One hidden layer: f = W₂ σ(W₁x + b₁) + b₂.
    OneHidden {
        w1: usize,
        b1: Option<usize>,
        w2: usize,
        b2: Option<usize>,
    },
    /// Anything else: no unit statistics, no closed form.
    Other,
}

impl Net {
    fn from_names(names: &[String]) -> Net {
        let find = |n: &str| names.iter().position(|x| x == n);
        let dense_only = names
            .iter()
            .all(|n| n.starts_with("layers.") && (n.ends_with(".weight") || n.ends_with(".bias")));
        if !dense_only {
            return Net::Other;
        }
        match (
            find("layers.0.weight"),
            find("layers.1.weight"),
            find("layers.2.weight"),
        ) {
            (Some(w), None, None) => Net::Shallow {
                w,
                b: find("layers.0.bias"),
            },
            (Some(w1), Some(w2), None) => Net::OneHidden {
                w1,
                b1: find("layers.0.bias"),
                w2,
                b2: find("layers.1.bias"),
            },
            _ => Net::Other,
        }
    }
}

/// What the closed form needs, fixed at the first observation.
#[derive(Debug, Clone, PartialEq)]
struct TheoryStart {
    /// The feature margins at the first observation.
    z0: Vec<f64>,
    /// The mean initial unit strength u₀ = mean_k |v_k|·‖w_k‖ (one hidden layer; else NaN).
    u0: f64,
    /// Whether the exact logit flow applies (module documentation).
    applies: bool,
}

/// The `binary` probe (module documentation).
pub struct BinaryProbe {
    name: String,
    schedule: ProbeSchedule,
    splits: Vec<Split>,
    margin: f64,
    labels: [Vec<f64>; 2],
    two_logits: bool,
    loss: Option<BinaryLoss>,
    model: Option<BinaryModel>,
    /// The model is an MLP with ReLU units (the two-layer closed form needs them).
    relu: bool,
    net: Net,
    features: Option<Features>,
    /// Host inputs of the training split (row-major), for pre-activations and responses.
    train_x: Vec<f64>,
    input_dim: usize,
    lr: LrSchedule,
    time_per_lr: f64,
    lr_sum: f64,
    lr_step: u64,
    start: Option<TheoryStart>,
    /// Per training example: the first observed step of its current run of z ≥ z*.
    reached: Vec<Option<u64>>,
    /// (step, training error) at every observation.
    error_curve: Vec<(u64, f64)>,
}

/// Settings of a [`BinaryProbe`].
pub struct BinarySetup {
    /// Splits evaluated in full.
    pub splits: Vec<Split>,
    /// The margin z* for `at_margin` and `time_to_margin`.
    pub margin: f64,
}

impl BinaryProbe {
    /// A probe for a binary task on `data` trained with `loss`; `param_names` and `model_name`
    /// say which parts of the module documentation apply.
    pub fn new(
        name: String,
        schedule: ProbeSchedule,
        setup: BinarySetup,
        ctx: &learnscope_train::plan::ProbeContext<'_>,
    ) -> Result<Self, String> {
        if !(setup.margin > 0.0 && setup.margin.is_finite()) {
            return Err(format!(
                "margin must be > 0 and finite, got {}",
                setup.margin
            ));
        }
        let data = ctx.data;
        let train = plus_minus_labels(&data.host_targets(Split::Train))?;
        let test = plus_minus_labels(&data.host_targets(Split::Test))?;
        let loss = match ctx.loss.kind {
            LossKind::Bce | LossKind::CrossEntropy => Some(BinaryLoss::CrossEntropy),
            LossKind::Hinge => Some(BinaryLoss::Hinge),
            _ => None,
        };
        let net = Net::from_names(ctx.param_names);
        let model = match net {
            Net::Shallow { .. } => Some(BinaryModel::Shallow),
            Net::OneHidden { .. } => Some(BinaryModel::TwoLayer),
            Net::Other => None,
        };
        let n = data.spec().train_len;
        let d = data.spec().input_size();
        let mut train_x = Vec::with_capacity(n * d);
        data.gather_inputs(Split::Train, &(0..n).collect::<Vec<_>>(), &mut train_x);
        let features = data
            .feature_design()
            .map(|f| Features::from_design(f, data));
        let time_per_lr = match ctx.loss.reduction {
            Reduction::Mean => 1.0,
            Reduction::Sum => n as f64,
        };
        Ok(BinaryProbe {
            name,
            schedule,
            splits: setup.splits,
            margin: setup.margin,
            two_logits: false,
            labels: [train, test],
            loss,
            model,
            relu: ctx.model_name.starts_with("mlp[") && ctx.model_name.ends_with("; relu]"),
            net,
            features,
            train_x,
            input_dim: d,
            lr: ctx.lr.clone(),
            time_per_lr,
            lr_sum: 0.0,
            lr_step: 0,
            start: None,
            reached: vec![None; n],
            error_curve: Vec::new(),
        })
    }

    /// Flow time at `step` (steps only increase within a run).
    fn time(&mut self, step: u64) -> f64 {
        while self.lr_step < step {
            self.lr_sum += self.lr.lr_at(self.lr_step);
            self.lr_step += 1;
        }
        self.lr_sum * self.time_per_lr
    }

    /// Margins y·f of a split from its logits (n × C, C = 1 or 2).
    fn margins(&mut self, split: Split, logits: &[f64]) -> Result<Vec<f64>, NnError> {
        let y = &self.labels[split_slot(split)];
        let c = if y.is_empty() {
            1
        } else {
            logits.len() / y.len()
        };
        self.two_logits = c == 2;
        match c {
            1 => Ok(logits.iter().zip(y).map(|(f, y)| y * f).collect()),
            2 => Ok(logits
                .chunks_exact(2)
                .zip(y)
                .map(|(f, y)| y * (f[1] - f[0]))
                .collect()),
            _ => Err(NnError::setting(
                "binary",
                format!("{c} outputs"),
                "one logit or two (a binary task)",
            )),
        }
    }

    fn split_records(&self, out: &mut dyn Recorder, split: &str, z: &[f64]) -> f64 {
        let n = z.len().max(1) as f64;
        let error = z.iter().filter(|&&v| v <= 0.0).count() as f64 / n;
        let mean = z.iter().sum::<f64>() / n;
        let sd = (z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let min = z.iter().cloned().fold(f64::INFINITY, f64::min);
        let at = z.iter().filter(|&&v| v >= self.margin).count() as f64 / n;
        // mean log(1 + e^{−z}), stably.
        let ce = z
            .iter()
            .map(|&v| (-v).max(0.0) + (-v.abs()).exp().ln_1p())
            .sum::<f64>()
            / n;
        let name = self.name.as_str();
        out.scalar(name, "error", split, error);
        out.scalar(name, "margin_mean", split, mean);
        out.scalar(name, "margin_sd", split, sd);
        out.scalar(name, "margin_min", split, min);
        out.scalar(name, "at_margin", split, at);
        out.scalar(name, "ce_loss", split, ce);
        error
    }

    /// Mean margin over each feature's examples.
    fn feature_margins(&self, z: &[f64]) -> Vec<f64> {
        let Some(f) = &self.features else {
            return Vec::new();
        };
        f.members
            .iter()
            .map(|m| {
                if m.is_empty() {
                    f64::NAN
                } else {
                    m.iter().map(|&(i, _)| z[i]).sum::<f64>() / m.len() as f64
                }
            })
            .collect()
    }

    /// c_f = mean over f's examples of y·(f(x) − f(x − x_f)).
    fn feature_responses<B: Backend>(
        &self,
        ctx: &StepCtx<'_, B>,
        z: &[f64],
    ) -> Result<Vec<f64>, NnError> {
        let Some(f) = &self.features else {
            return Ok(Vec::new());
        };
        let d = self.input_dim;
        let y = &self.labels[0];
        // Every (feature, carrier) input with the feature removed, in one forward pass.
        let carriers: usize = f.members.iter().map(Vec::len).sum();
        let mut x = Vec::with_capacity(carriers * d);
        for (k, members) in f.members.iter().enumerate() {
            for &(i, c) in members {
                x.extend(
                    self.train_x[i * d..(i + 1) * d]
                        .iter()
                        .zip(&f.directions[k])
                        .map(|(v, u)| v - c * u),
                );
            }
        }
        let logits = ctx.logits_at_theta(&x, 512)?;
        let without: Vec<f64> = if self.two_logits {
            logits.chunks_exact(2).map(|l| l[1] - l[0]).collect()
        } else {
            logits
        };
        let mut rows = without.iter();
        Ok(f.members
            .iter()
            .map(|members| {
                let total: f64 = members
                    .iter()
                    .zip(rows.by_ref())
                    .map(|(&(i, _), w)| z[i] - y[i] * w)
                    .sum();
                if members.is_empty() {
                    f64::NAN
                } else {
                    total / members.len() as f64
                }
            })
            .collect())
    }

    /// Unit statistics of a one-hidden-layer network (module documentation).
    fn unit_records<B: Backend>(&self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) {
        let Net::OneHidden { w1, b1, w2, .. } = self.net else {
            return;
        };
        let d = self.input_dim;
        let w1 = ctx.theta[w1].to_host_f64(ctx.be);
        let b1 = b1.map(|b| ctx.theta[b].to_host_f64(ctx.be));
        let w2 = ctx.theta[w2].to_host_f64(ctx.be);
        let h = w1.len() / d.max(1);
        if h == 0 || w2.len() % h != 0 {
            return;
        }
        let name = self.name.as_str();
        let readout = |k: usize| match w2.len() / h {
            2 => w2[h + k] - w2[k],
            _ => w2[k],
        };
        let n = self.labels[0].len();
        let active = |k: usize, i: usize| {
            let w = &w1[k * d..(k + 1) * d];
            let x = &self.train_x[i * d..(i + 1) * d];
            w.iter().zip(x).map(|(u, v)| u * v).sum::<f64>() + b1.as_ref().map_or(0.0, |b| b[k])
                > 0.0
        };
        for k in 0..h {
            let w = &w1[k * d..(k + 1) * d];
            let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
            record_index(out, name, "unit_strength", k, readout(k) * norm);
            if let Some(f) = &self.features {
                let (best, cos) = f
                    .directions
                    .iter()
                    .enumerate()
                    .map(|(j, u)| {
                        let dot: f64 = w.iter().zip(u).map(|(a, b)| a * b).sum();
                        (j, if norm > 0.0 { dot / norm } else { 0.0 })
                    })
                    .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
                record_index(out, name, "unit_alignment", k, cos);
                record_index(out, name, "unit_feature", k, best as f64);
            }
        }
        // Early exits: a live unit (feature) usually shows it on its first examples (units).
        let dead = (0..h).filter(|&k| !(0..n).any(|i| active(k, i))).count();
        out.scalar(name, "dead_units", "train", dead as f64 / h as f64);
        if let Some(f) = &self.features {
            let dead_clusters = f
                .members
                .iter()
                .filter(|m| !m.is_empty() && !m.iter().any(|&(i, _)| (0..h).any(|k| active(k, i))))
                .count();
            out.scalar(name, "dead_clusters", "train", dead_clusters as f64);
            let any = if dead_clusters > 0 { 1.0 } else { 0.0 };
            out.scalar(name, "any_dead_cluster", "train", any);
        }
    }

    /// mean_k |v_k|·‖w_k‖ of a one-hidden-layer network (NaN otherwise).
    fn mean_unit_strength<B: Backend>(&self, ctx: &StepCtx<'_, B>) -> f64 {
        let Net::OneHidden { w1, w2, .. } = self.net else {
            return f64::NAN;
        };
        let d = self.input_dim.max(1);
        let w1 = ctx.theta[w1].to_host_f64(ctx.be);
        let w2 = ctx.theta[w2].to_host_f64(ctx.be);
        let h = w1.len() / d;
        if h == 0 || w2.len() % h != 0 {
            return f64::NAN;
        }
        let c = w2.len() / h;
        let total: f64 = (0..h)
            .map(|k| {
                let v = if c == 2 { w2[h + k] - w2[k] } else { w2[k] };
                let norm = w1[k * d..(k + 1) * d]
                    .iter()
                    .map(|x| x * x)
                    .sum::<f64>()
                    .sqrt();
                v.abs() * norm
            })
            .sum();
        total / h as f64
    }

    /// Whether the exact logit flow applies at θ₀ (module documentation).
    fn closed_form_applies<B: Backend>(&self, ctx: &StepCtx<'_, B>) -> bool {
        let (Some(f), Some(_)) = (&self.features, self.loss) else {
            return false;
        };
        if !f.exact_one_per_example || self.two_logits {
            return false;
        }
        match self.net {
            Net::Shallow { b: None, .. } => true,
            Net::OneHidden {
                w1,
                b1: None,
                w2,
                b2: None,
            } if self.relu => {
                let d = self.input_dim;
                let w1 = ctx.theta[w1].to_host_f64(ctx.be);
                let w2 = ctx.theta[w2].to_host_f64(ctx.be);
                let h = w2.len();
                if h != f.len() || w1.len() != h * d {
                    return false;
                }
                // Unit k ↔ one feature, parallel with positive cosine, balanced, oriented.
                let mut covered = vec![false; f.len()];
                for k in 0..h {
                    let w = &w1[k * d..(k + 1) * d];
                    let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
                    let Some(j) = f.directions.iter().position(|u| {
                        let dot: f64 = w.iter().zip(u).map(|(a, b)| a * b).sum();
                        norm > 0.0 && dot / norm > 1.0 - 1e-12
                    }) else {
                        return false;
                    };
                    let y = f.members[j]
                        .first()
                        .map_or(0.0, |&(i, _)| self.labels[0][i]);
                    let balanced = (w2[k].abs() - norm).abs() <= 1e-12 * norm;
                    if covered[j] || !balanced || w2[k] * y <= 0.0 {
                        return false;
                    }
                    covered[j] = true;
                }
                true
            }
            _ => false,
        }
    }

    fn flow(&self, model: BinaryModel, feature: usize, z0: f64) -> Option<LogitFlow> {
        let f = self.features.as_ref()?;
        Some(LogitFlow {
            model,
            loss: self.loss?,
            p: f.frequencies[feature],
            r: f.norms[feature],
            z0,
        })
    }

    /// The records of the last step (module documentation).
    fn finish(&self, out: &mut dyn Recorder) {
        let name = self.name.as_str();
        let times: Vec<f64> = self
            .reached
            .iter()
            .map(|r| r.map_or(f64::NAN, |s| s as f64))
            .collect();
        for (i, t) in times.iter().enumerate() {
            record_index(out, name, "time_to_margin", i, *t);
        }
        match &self.features {
            Some(f) => {
                // Exponent fits over features with a time (their median example's).
                let mut per_feature = Vec::with_capacity(f.len());
                for (k, m) in f.members.iter().enumerate() {
                    let mut ts: Vec<f64> = m.iter().map(|&(i, _)| times[i]).collect();
                    let t = median_or_nan(&mut ts);
                    record_index(out, name, "feature_time_to_margin", k, t);
                    per_feature.push(t);
                }
                let kept: Vec<usize> = (0..f.len())
                    .filter(|&k| per_feature[k].is_finite() && per_feature[k] > 0.0)
                    .collect();
                let log_t: Vec<f64> = kept.iter().map(|&k| per_feature[k].ln()).collect();
                let log_r: Vec<f64> = kept.iter().map(|&k| f.norms[k].ln()).collect();
                let log_p: Vec<f64> = kept.iter().map(|&k| f.frequencies[k].ln()).collect();
                match (varies(&log_r), varies(&log_p)) {
                    (true, false) => {
                        self.exponent_records(out, Regressor::Norm, &kept, &log_r, &log_t)
                    }
                    (false, true) => {
                        self.exponent_records(out, Regressor::Frequency, &kept, &log_p, &log_t)
                    }
                    _ => {}
                }
            }
            None => {
                let d = self.input_dim;
                let kept: Vec<usize> = (0..times.len())
                    .filter(|&i| times[i].is_finite() && times[i] > 0.0)
                    .collect();
                let log_t: Vec<f64> = kept.iter().map(|&i| times[i].ln()).collect();
                let log_r: Vec<f64> = kept
                    .iter()
                    .map(|&i| {
                        let x = &self.train_x[i * d..(i + 1) * d];
                        x.iter().map(|v| v * v).sum::<f64>().sqrt().ln()
                    })
                    .collect();
                if varies(&log_r) {
                    self.exponent_records(out, Regressor::Norm, &[], &log_r, &log_t);
                }
            }
        }
        self.error_curve_records(out);
    }

    /// Time to zero error, failure, and the shape of the training-error curve.
    fn error_curve_records(&self, out: &mut dyn Recorder) {
        let name = self.name.as_str();
        let zero_from = zero_for_good(&self.error_curve);
        out.scalar(
            name,
            "time_to_zero_error",
            "train",
            zero_from.map_or(f64::NAN, |s| s as f64),
        );
        let last_error = self.error_curve.last().map_or(f64::NAN, |e| e.1);
        let failed = if last_error > 0.0 { 1.0 } else { 0.0 };
        out.scalar(name, "failed", "train", failed);
        let steps: Vec<f64> = self.error_curve.iter().map(|e| e.0 as f64).collect();
        let errors: Vec<f64> = self.error_curve.iter().map(|e| e.1).collect();
        let (fraction, at) = match learnscope_stats::steepest_drop(&steps, &errors) {
            Ok(s) => (s.fraction_before, s.time),
            Err(_) => (f64::NAN, f64::NAN),
        };
        out.scalar(name, "steepest_drop_fraction", "train", fraction);
        out.scalar(name, "steepest_drop_step", "train", at);
        let (lx, ly): (Vec<f64>, Vec<f64>) = self
            .error_curve
            .iter()
            .filter(|e| e.0 >= 1)
            .map(|e| ((e.0 as f64).log10(), e.1))
            .unzip();
        let (r2, mid, width) = match learnscope_stats::fit::fit_logistic(&lx, &ly) {
            Ok(fit) => {
                let mean = ly.iter().sum::<f64>() / ly.len() as f64;
                let tss: f64 = ly.iter().map(|v| (v - mean).powi(2)).sum();
                let rss: f64 = lx
                    .iter()
                    .zip(&ly)
                    .map(|(x, y)| (y - fit.predict(*x)).powi(2))
                    .sum();
                (
                    if tss > 0.0 { 1.0 - rss / tss } else { f64::NAN },
                    fit.midpoint.value,
                    2.0 * 3f64.ln() / fit.rate.value.abs(),
                )
            }
            Err(_) => (f64::NAN, f64::NAN, f64::NAN),
        };
        out.scalar(name, "error_logistic_r2", "train", r2);
        out.scalar(name, "error_logistic_midpoint", "train", mid);
        out.scalar(name, "error_logistic_width", "train", width);
    }

    /// The fit of ln t on `x` (features `kept`, or examples without a design) with its interval
    /// and, with a closed form, the two predictions through the same design points.
    fn exponent_records(
        &self,
        out: &mut dyn Recorder,
        regressor: Regressor,
        kept: &[usize],
        x: &[f64],
        log_t: &[f64],
    ) {
        let name = self.name.as_str();
        let key = regressor.key();
        let (value, lo, hi) = match learnscope_stats::fit::fit_linear(x, log_t) {
            Ok(f) => (f.slope.value, f.slope.ci95.0, f.slope.ci95.1),
            Err(_) => (f64::NAN, f64::NAN, f64::NAN),
        };
        out.scalar(name, key, "train", value);
        out.scalar(name, &format!("{key}_lo"), "train", lo);
        out.scalar(name, &format!("{key}_hi"), "train", hi);
        let (Some(model), Some(start), Some(_)) = (self.model, &self.start, &self.features) else {
            return;
        };
        if self.loss.is_none() || kept.is_empty() {
            return;
        }
        let other = match model {
            BinaryModel::Shallow => BinaryModel::TwoLayer,
            BinaryModel::TwoLayer => BinaryModel::Shallow,
        };
        let f = self.features.as_ref().expect("checked above");
        // z₀ per model: the measured initial margin for the shallow flow, u₀·r for the
        // two-layer one (P3.3's balanced units); without a hidden layer there is no u₀ and the
        // two-layer prediction is its u₀ → 0 limit, −1.
        let predict = |m: BinaryModel| -> f64 {
            if m == BinaryModel::TwoLayer && (start.u0.is_nan() || start.u0 <= 0.0) {
                return -1.0;
            }
            let log_t: Option<Vec<f64>> = kept
                .iter()
                .map(|&k| {
                    let z0 = match m {
                        BinaryModel::Shallow => start.z0[k],
                        BinaryModel::TwoLayer => start.u0 * f.norms[k],
                    };
                    let t = self.flow(m, k, z0)?.time_to(self.margin);
                    (t.is_finite() && t > 0.0).then(|| t.ln())
                })
                .collect();
            log_t
                .and_then(|lt| learnscope_stats::fit::fit_linear(x, &lt).ok())
                .map_or(f64::NAN, |f| f.slope.value)
        };
        let (predicted, other) = (predict(model), predict(other));
        let inside = |v: f64| lo <= v && v <= hi;
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        out.scalar(name, &format!("{key}_predicted"), "train", predicted);
        out.scalar(name, &format!("{key}_other"), "train", other);
        out.scalar(
            name,
            &format!("{key}_covers"),
            "train",
            flag(inside(predicted)),
        );
        out.scalar(
            name,
            &format!("{key}_excludes_other"),
            "train",
            flag(other.is_finite() && !inside(other)),
        );
    }
}

/// Which regressor an exponent fit uses.
#[derive(Debug, Clone, Copy)]
enum Regressor {
    /// ln r (input norm).
    Norm,
    /// ln p (feature frequency).
    Frequency,
}

impl Regressor {
    fn key(self) -> &'static str {
        match self {
            Regressor::Norm => "norm_exponent",
            Regressor::Frequency => "frequency_exponent",
        }
    }
}

/// Whether the values are not all equal.
fn varies(v: &[f64]) -> bool {
    let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
    max - min > 1e-9
}

fn split_slot(split: Split) -> usize {
    match split {
        Split::Train => 0,
        Split::Test => 1,
    }
}

fn record_index(out: &mut dyn Recorder, probe: &str, key: &str, index: usize, value: f64) {
    out.record(Metric {
        probe: probe.into(),
        key: key.into(),
        split: "train".into(),
        layer: None,
        index: Some(index as i64),
        index2: None,
        value,
    });
}

/// The median of the finite values, NaN if any value is not finite (a feature whose examples
/// did not all reach the margin has no time).
fn median_or_nan(v: &mut [f64]) -> f64 {
    if v.is_empty() || v.iter().any(|t| !t.is_finite()) {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// The first step of the final run of zero errors (None if the last value is not 0).
fn zero_for_good(curve: &[(u64, f64)]) -> Option<u64> {
    let mut start = None;
    for &(s, e) in curve {
        if e == 0.0 {
            start.get_or_insert(s);
        } else {
            start = None;
        }
    }
    start
}

impl<B: Backend> Probe<B> for BinaryProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn needs(&self) -> ProbeNeeds {
        let mut outputs = self.splits.clone();
        if !outputs.contains(&Split::Train) {
            outputs.insert(0, Split::Train);
        }
        ProbeNeeds {
            outputs,
            ..ProbeNeeds::default()
        }
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let t = self.time(ctx.step);
        let logits = |split: Split| {
            ctx.eval
                .get(&split)
                .and_then(|e| e.logits.clone())
                .ok_or_else(|| NnError::setting("binary", "split logits", "requested"))
        };
        let z = self.margins(Split::Train, &logits(Split::Train)?)?;
        for split in self.splits.clone() {
            if split == Split::Train {
                continue;
            }
            let zs = self.margins(split, &logits(split)?)?;
            self.split_records(out, split.name(), &zs);
        }
        let error = self.split_records(out, "train", &z);
        self.error_curve.push((ctx.step, error));
        for (r, &v) in self.reached.iter_mut().zip(&z) {
            if v >= self.margin {
                r.get_or_insert(ctx.step);
            } else {
                *r = None;
            }
        }
        let fm = self.feature_margins(&z);
        if self.start.is_none() {
            let applies = self.closed_form_applies(ctx);
            let u0 = self.mean_unit_strength(ctx);
            self.start = Some(TheoryStart {
                z0: fm.clone(),
                u0,
                applies,
            });
        }
        let name = self.name.clone();
        for (k, v) in fm.iter().enumerate() {
            record_index(out, &name, "feature_margin", k, *v);
        }
        let responses = self.feature_responses(ctx, &z)?;
        let total: f64 = responses.iter().map(|c| c.abs()).sum();
        for (k, c) in responses.iter().enumerate() {
            record_index(out, &name, "feature_response", k, *c);
            record_index(
                out,
                &name,
                "feature_share",
                k,
                if total > 0.0 { c / total } else { f64::NAN },
            );
        }
        self.unit_records(ctx, out);
        let start = self.start.clone().expect("set above");
        out.scalar(
            &name,
            "closed_form_applies",
            "train",
            if start.applies { 1.0 } else { 0.0 },
        );
        if start.applies {
            let model = self.model.expect("applies needs a model");
            let mut worst = 0.0f64;
            for (k, &z0) in start.z0.iter().enumerate() {
                let flow = self.flow(model, k, z0).expect("applies needs features");
                let zt = flow.z(t);
                out.record(Metric {
                    probe: name.clone(),
                    key: "feature_margin".into(),
                    split: "theory".into(),
                    layer: None,
                    index: Some(k as i64),
                    index2: None,
                    value: zt,
                });
                worst = worst.max((fm[k] - zt).abs() / zt.abs());
            }
            out.scalar(&name, "flow_error_rel", "train", worst);
        }
        if !ctx.updated {
            self.finish(out);
        }
        Ok(Flow::Continue)
    }
    fn state(&self) -> serde_json::Value {
        serde_json::json!({
            "start": self.start.as_ref().map(|s| serde_json::json!({
                "z0": s.z0.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "u0": s.u0.to_bits(),
                "applies": s.applies,
            })),
            "reached": self.reached,
            "error_curve": self.error_curve.iter().map(|(s, e)| (s, e.to_bits())).collect::<Vec<_>>(),
            "two_logits": self.two_logits,
        })
    }
    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            return Ok(());
        }
        let bad = |what: &str| format!("binary state: bad `{what}`");
        self.start = match state.get("start") {
            None | Some(serde_json::Value::Null) => None,
            Some(s) => Some(TheoryStart {
                z0: serde_json::from_value::<Vec<u64>>(s.get("z0").cloned().ok_or(bad("z0"))?)
                    .map_err(|_| bad("z0"))?
                    .into_iter()
                    .map(f64::from_bits)
                    .collect(),
                u0: f64::from_bits(s.get("u0").and_then(|u| u.as_u64()).ok_or(bad("u0"))?),
                applies: s
                    .get("applies")
                    .and_then(|a| a.as_bool())
                    .ok_or(bad("applies"))?,
            }),
        };
        let reached: Vec<Option<u64>> =
            serde_json::from_value(state.get("reached").cloned().ok_or(bad("reached"))?)
                .map_err(|_| bad("reached"))?;
        if reached.len() != self.reached.len() {
            return Err(bad("reached"));
        }
        self.reached = reached;
        let curve: Vec<(u64, u64)> = serde_json::from_value(
            state
                .get("error_curve")
                .cloned()
                .ok_or(bad("error_curve"))?,
        )
        .map_err(|_| bad("error_curve"))?;
        self.error_curve = curve
            .into_iter()
            .map(|(s, e)| (s, f64::from_bits(e)))
            .collect();
        self.two_logits = state
            .get("two_logits")
            .and_then(|v| v.as_bool())
            .ok_or(bad("two_logits"))?;
        Ok(())
    }
}
