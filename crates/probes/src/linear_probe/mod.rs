//! Linear probes on a frozen representation, for the network's own task and for a transfer task
//! (P4: J. Schneider & M. Prabhushankar, "Understanding and Leveraging the Learning Phases of
//! Neural Networks", AAAI 2024, arXiv:2312.06887; protocol of the official code `LearnPhase`,
//! SCIENCE.md §P4.3 items 2 and 3). The paper's claim this serves: transfer accuracy from the
//! penultimate layer peaks well before the original task's best checkpoint, so pre-training for
//! transfer should stop early.
//!
//! **Representation.** At each due step t the probe runs the network at θ_t in `Mode::Probe`
//! ([`StepCtx::taps_at`], on a scratch copy, in chunks of 256 examples; batch norm uses the
//! live model's running statistics, as `actModel.eval()` in the paper's code) on
//! - the *fit set*: the first `fit_examples` (default 2000) examples of the training split, and
//! - the *evaluation set*: the first `eval_examples` (default 1000) of the test split
//!
//! (each clipped to its split's size), and reads the activation tap `tap` (default
//! `penultimate`, the input of the last layer: the paper's `layInd = -1`), flattened per example
//! to `φ_t(x) ∈ ℝᵈ`. Features are used raw, not standardised, as in the paper's code (so the
//! probe's step size acts on the representation's own scale; a representation that grows a lot
//! during training makes the fixed-η probe train faster or, at worst, diverge — recorded as NaN).
//! "First n" assumes the split is not stored sorted by class.
//!
//! **Probe.** For every task in `tasks` (default `["original", "transfer"]`) a fresh linear
//! softmax classifier `z = W φ_t(x) + b` is trained on the fit set's features with
//! cross-entropy by mini-batch SGD with momentum (PyTorch convention `v ← μv + g`,
//! `θ ← θ − η_e v`; defaults η = 0.01, μ = 0.9, batch 128, 20 epochs, η × 0.1 after epochs 9 and
//! 19 — the paper's `evOpt = ('S', 20, 0.01, 0)` and its decay rule; see [`softmax`]). Weights
//! and bias start from U(−1/√d, 1/√d) like `nn.Linear`; the initial draw (key
//! `root(seed).derive("probe/<name>").derive(<task>).derive("init")`) and the per-epoch
//! mini-batch orders (`… .derive("order").at(epoch)`) derive from the run seed and are the same at
//! every due step, so successive points differ only through θ_t, and the probe keeps no state:
//! a resumed run records exactly what an uninterrupted one does.
//!
//! **Tasks.**
//! - `original`: the data set's class labels (needs class targets).
//! - `transfer` (config `transfer`, see [`transfer`]): `colour_dominance` — `argmax_c Σ_{h,w}
//!   x_{c,h,w}` of the (normalised) input image, 3 classes, as in the paper's code; or
//!   `brightness_quantile` — which of `bins` (default 3) equal-count bins of the fit set's mean
//!   input value the example falls in, edges from the fit set. `auto` (the default) picks
//!   colour dominance for channels-first RGB inputs `[3, H, W]` and brightness quantiles
//!   otherwise (grey-scale images, vectors). The labels are computed once, at construction,
//!   from the inputs as the network sees them (after the data set's transforms).
//!
//! **Recorded** at every due step, layer = the tap, split `train` (fit set) and `test`
//! (evaluation set), for each task `<task>` ∈ {`original`, `transfer`}:
//! - `<task>/accuracy`: fraction of examples whose first arg-max logit is the label;
//! - `<task>/loss`: mean cross-entropy `−log p_y` of the trained probe;
//! - `<task>/majority`: the fraction of the most frequent label (the accuracy of a constant
//!   guess; the chance level against which, e.g., colour dominance — often 0.4–0.8 for natural
//!   images — has to be read). Does not depend on t.
//!
//! A probe whose weights become non-finite records NaN accuracy and loss.
//!
//! **Cost** per due step: one forward pass over `fit_examples + eval_examples` inputs, and per
//! task `epochs · n_fit · k · d` multiply–adds twice (logits and gradient); 2000 × 512-d features
//! with 10 classes for 20 epochs ≈ 4 · 10⁸ multiply–adds. Observed on a shared 2-core CPU
//! (512-wide MLP, 2000 + 1000 examples, 10 + 3 classes): ≈ 0.4 s per observation.

pub mod softmax;
pub mod transfer;

use learnscope_core::{ProbeSchedule, RandomKey};
use learnscope_data::{Dataset, Split};
use learnscope_models::TapRequest;
use learnscope_nn::loss::HostTargets;
use learnscope_nn::{Backend, NnError, Tensor};
use learnscope_train::{Flow, Probe, Recorder, StepCtx};

use softmax::{Sgd, Softmax};
use transfer::{BrightnessBins, TransferTask};

/// Examples per forward pass when extracting features.
const CHUNK: usize = 256;

/// A labelling a probe is trained for (config `tasks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeTask {
    /// The data set's class labels.
    Original,
    /// The transfer labelling (`transfer`).
    Transfer,
}

impl ProbeTask {
    /// The metric-key prefix.
    pub fn name(self) -> &'static str {
        match self {
            ProbeTask::Original => "original",
            ProbeTask::Transfer => "transfer",
        }
    }
}

/// Default `schedule`: steps 0, 2, 4, 8, … (the paper's evaluation points).
pub fn default_schedule() -> ProbeSchedule {
    ProbeSchedule::Geometric { base: 2, start: 2 }
}

/// Default `tap`: `penultimate`.
pub fn default_tap() -> String {
    "penultimate".into()
}

/// Default `tasks`: original and transfer.
pub fn default_tasks() -> Vec<ProbeTask> {
    vec![ProbeTask::Original, ProbeTask::Transfer]
}

/// Default `bins`: 3.
pub fn default_bins() -> usize {
    3
}

/// Default `fit_examples`: 2000.
pub fn default_fit_examples() -> usize {
    2000
}

/// Default `eval_examples`: 1000.
pub fn default_eval_examples() -> usize {
    1000
}

/// Default `epochs`: 20.
pub fn default_epochs() -> usize {
    20
}

/// Default `lr`: 0.01.
pub fn default_lr() -> f64 {
    0.01
}

/// Default `momentum`: 0.9.
pub fn default_momentum() -> f64 {
    0.9
}

/// Default `batch`: 128.
pub fn default_batch() -> usize {
    128
}

/// Default `lr_drops`: after epochs 9 and 19.
pub fn default_lr_drops() -> Vec<usize> {
    vec![9, 19]
}

/// The probe's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearProbeSetup {
    /// The activation tap read.
    pub tap: String,
    /// Tasks, in recording order.
    pub tasks: Vec<ProbeTask>,
    /// The transfer labelling (`auto` is resolved at construction).
    pub transfer: TransferTask,
    /// Bins of `brightness_quantile`.
    pub bins: usize,
    /// First n training examples to fit on.
    pub fit_examples: usize,
    /// First n test examples to evaluate on.
    pub eval_examples: usize,
    /// The probe's optimiser.
    pub sgd: Sgd,
}

impl Default for LinearProbeSetup {
    fn default() -> Self {
        LinearProbeSetup {
            tap: default_tap(),
            tasks: default_tasks(),
            transfer: TransferTask::Auto,
            bins: default_bins(),
            fit_examples: default_fit_examples(),
            eval_examples: default_eval_examples(),
            sgd: Sgd {
                epochs: default_epochs(),
                lr: default_lr(),
                momentum: default_momentum(),
                batch: default_batch(),
                lr_drops: default_lr_drops(),
            },
        }
    }
}

/// The labels of one task on the fit and evaluation sets.
#[derive(Debug, Clone)]
struct TaskLabels {
    task: ProbeTask,
    classes: usize,
    fit: Vec<u32>,
    eval: Vec<u32>,
}

/// Linear probes of a frozen tap for the original and a transfer task.
pub struct LinearProbe {
    name: String,
    schedule: ProbeSchedule,
    tap: String,
    sgd: Sgd,
    transfer: TransferTask,
    input_shape: Vec<usize>,
    fit_x: Vec<f64>,
    eval_x: Vec<f64>,
    tasks: Vec<TaskLabels>,
    key: RandomKey,
}

/// The fraction of the most frequent label.
fn majority(labels: &[u32], classes: usize) -> f64 {
    let mut counts = vec![0usize; classes.max(1)];
    for &y in labels {
        counts[y as usize] += 1;
    }
    counts.into_iter().max().unwrap_or(0) as f64 / labels.len() as f64
}

impl LinearProbe {
    /// A probe on `data`; `key` is the probe's stream (`probe/<name>` of the run's root).
    pub fn new(
        name: String,
        schedule: ProbeSchedule,
        setup: LinearProbeSetup,
        data: &dyn Dataset,
        key: RandomKey,
    ) -> Result<LinearProbe, String> {
        let sgd = setup.sgd;
        if setup.tasks.is_empty() {
            return Err("linear_probe.tasks: give at least one task".into());
        }
        for (i, t) in setup.tasks.iter().enumerate() {
            if setup.tasks[..i].contains(t) {
                return Err(format!("linear_probe.tasks: `{}` twice", t.name()));
            }
        }
        if setup.fit_examples == 0 || setup.eval_examples == 0 {
            return Err("linear_probe.fit_examples and eval_examples must be >= 1".into());
        }
        if sgd.epochs == 0 || sgd.batch == 0 {
            return Err("linear_probe.epochs and batch must be >= 1".into());
        }
        if !(sgd.lr.is_finite() && sgd.lr > 0.0) {
            return Err(format!(
                "linear_probe.lr: must be finite and > 0, got {}",
                sgd.lr
            ));
        }
        if !(0.0..1.0).contains(&sgd.momentum) {
            return Err(format!(
                "linear_probe.momentum: must be in [0, 1), got {}",
                sgd.momentum
            ));
        }
        let spec = data.spec();
        let input_shape = spec.input_shape.clone();
        let q = spec.input_size();
        let n_fit = setup.fit_examples.min(spec.len(Split::Train));
        let n_eval = setup.eval_examples.min(spec.len(Split::Test));
        if n_fit == 0 || n_eval == 0 || q == 0 {
            return Err("linear_probe: needs non-empty train and test splits with inputs".into());
        }
        let mut fit_x = Vec::with_capacity(n_fit * q);
        data.gather_inputs(Split::Train, &(0..n_fit).collect::<Vec<_>>(), &mut fit_x);
        let mut eval_x = Vec::with_capacity(n_eval * q);
        data.gather_inputs(Split::Test, &(0..n_eval).collect::<Vec<_>>(), &mut eval_x);
        let transfer = setup.transfer.resolve(&input_shape);
        let mut tasks = Vec::new();
        for &task in &setup.tasks {
            let labels = match task {
                ProbeTask::Original => {
                    let first = |split: Split, n: usize| {
                        match data.host_targets(split) {
                        HostTargets::Classes { labels, classes } => {
                            Ok((labels[..n].to_vec(), classes))
                        }
                        other => Err(format!(
                            "linear_probe: the `original` task needs class targets, the data have {} dense targets per example",
                            other.width()
                        )),
                    }
                    };
                    let (fit, classes) = first(Split::Train, n_fit)?;
                    let (eval, _) = first(Split::Test, n_eval)?;
                    TaskLabels {
                        task,
                        classes,
                        fit,
                        eval,
                    }
                }
                ProbeTask::Transfer => match transfer {
                    TransferTask::ColourDominance => TaskLabels {
                        task,
                        classes: 3,
                        fit: transfer::colour_dominance(&fit_x, &input_shape)
                            .map_err(|e| format!("linear_probe.transfer: {e}"))?,
                        eval: transfer::colour_dominance(&eval_x, &input_shape)
                            .map_err(|e| format!("linear_probe.transfer: {e}"))?,
                    },
                    _ => {
                        let bins = BrightnessBins::fit(&fit_x, q, setup.bins)
                            .map_err(|e| format!("linear_probe.bins: {e}"))?;
                        TaskLabels {
                            task,
                            classes: bins.bins(),
                            fit: bins.labels(&fit_x, q),
                            eval: bins.labels(&eval_x, q),
                        }
                    }
                },
            };
            tasks.push(labels);
        }
        Ok(LinearProbe {
            name,
            schedule,
            tap: setup.tap,
            sgd,
            transfer,
            input_shape,
            fit_x,
            eval_x,
            tasks,
            key,
        })
    }

    /// The transfer task in use (`auto` resolved).
    pub fn transfer(&self) -> TransferTask {
        self.transfer
    }

    /// The labels of `task` on the fit and evaluation sets, if the probe trains for it.
    pub fn labels(&self, task: ProbeTask) -> Option<(&[u32], &[u32])> {
        self.tasks
            .iter()
            .find(|t| t.task == task)
            .map(|t| (t.fit.as_slice(), t.eval.as_slice()))
    }

    fn error(&self, what: &str, value: impl ToString, rule: impl Into<String>) -> NnError {
        NnError::setting(format!("{}.{what}", self.name), value, rule)
    }

    /// The tap of the network at θ_t for the row-major inputs `x`, flattened per example; and
    /// the feature width d.
    fn features<B: Backend>(
        &self,
        ctx: &StepCtx<'_, B>,
        x: &[f64],
    ) -> Result<(Vec<f64>, usize), NnError> {
        let q: usize = self.input_shape.iter().product();
        let dtype = ctx.model.spec().dtype;
        let request = TapRequest::names([self.tap.as_str()]);
        let mut out = Vec::new();
        let mut width = None;
        for (c, chunk) in x.chunks(CHUNK * q).enumerate() {
            let m = chunk.len() / q;
            let mut shape = vec![m];
            shape.extend(&self.input_shape);
            let xt = Tensor::from_f64(ctx.be, dtype, &shape, chunk);
            let taps = ctx.taps_at(ctx.theta, &xt, &request)?;
            let t = taps.get(&self.tap).ok_or_else(|| {
                self.error(
                    "tap",
                    format!("`{}`", self.tap),
                    "returned by the forward pass",
                )
            })?;
            let values = t.to_host_f64(ctx.be);
            if t.shape().first() != Some(&m) || values.len() % m != 0 {
                return Err(self.error(
                    "tap",
                    format!("`{}` of shape {:?}", self.tap, t.shape()),
                    format!("one row per example ({m}) of chunk {c}"),
                ));
            }
            let d = values.len() / m;
            if *width.get_or_insert(d) != d {
                return Err(self.error("tap", d, "the same width for every chunk"));
            }
            out.extend(values);
        }
        Ok((out, width.unwrap_or(0)))
    }
}

impl<B: Backend> Probe<B> for LinearProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let available = ctx.model.tap_names();
        if !available.contains(&self.tap) {
            return Err(self.error(
                "tap",
                format!("`{}`", self.tap),
                format!("one of the model's taps: {}", available.join(", ")),
            ));
        }
        let (fit, d) = self.features(ctx, &self.fit_x)?;
        let (eval, _) = self.features(ctx, &self.eval_x)?;
        for t in &self.tasks {
            let task = t.task.name();
            let key = self.key.derive(task);
            let mut model = Softmax::uniform(t.classes, d, key.derive("init"));
            self.sgd
                .train(&mut model, &fit, &t.fit, key.derive("order"));
            let finite = model.is_finite();
            for (split, x, y) in [("train", &fit, &t.fit), ("test", &eval, &t.eval)] {
                let s = model.score(x, y);
                let (acc, loss) = if finite {
                    (s.accuracy, s.loss)
                } else {
                    (f64::NAN, f64::NAN)
                };
                let tap = self.tap.as_str();
                out.layer(&self.name, &format!("{task}/accuracy"), split, tap, acc);
                out.layer(&self.name, &format!("{task}/loss"), split, tap, loss);
                let base = majority(y, t.classes);
                out.layer(&self.name, &format!("{task}/majority"), split, tap, base);
            }
        }
        Ok(Flow::Continue)
    }
}
