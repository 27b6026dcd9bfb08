//! Reproduce presets: which runs a paper's verdict needs, at which size, and the rows that
//! decide it (`experiments/<paper>-verdict.toml`, DESIGN.md §4).
//!
//! A preset is TOML (unknown fields are errors):
//!
//! ```toml
//! name = "demo"                    # what `learnscope reproduce NAME` finds
//! description = "…"
//! config = "demo.toml"             # an experiments/*.toml, relative to this file …
//! # [run] …                        # … or the run configuration inline (one of the two)
//! set = ["probes=[…]"]             # --set overrides for every run
//!
//! [arms.small-lr]                  # further run variants (the arm `main` always exists)
//! set = ["lr.base=0.01"]
//! # config = "other.toml"          # an arm may start from its own experiment file
//! # sizes = ["quick", "full"]      # and run only at some sizes (its rows are left out elsewhere)
//! # user_data = true               # data users bring (CIFAR-10): left out, with a note, when absent
//!
//! [sizes.smoke]                    # --smoke (1 seed, ≤ 1 min, what CI runs)
//! seeds = [0]
//! set = ["steps=1000"]
//! [sizes.quick]                    # --quick (CPU-sized: minutes on 2 cores)
//! seeds = [0, 1, 2]
//! [sizes.full]                     # the default: the paper's protocol
//! seeds = [0, 1, 2, 3, 4]
//! expected_hours = 0.1             # printed before a full run starts
//!
//! [[verdict]]
//! id = "loss-monotone"             # unique; names nothing else
//! kind = "identity"                # identity | replication | report
//! claim = "…"                      # in words
//! source = "…"                     # paper, section, equation
//! arm = "main"                     # which runs it reads (default main)
//! metric = { probe = "loss", key = "batch_loss", split = "train", reduce = "monotone_increase" }
//! rule = "<="                      # <= < >= > within binomial95 (none for report rows)
//! target = 1e-12                   # a number, [lo, hi] for within, p in [0, 1] for binomial95
//! applies = "each_seed"            # "mean", or "ci95" (both ends of the mean's 95 % t-interval;
//!                                  # defaults: identity each_seed, else mean;
//!                                  # binomial95 ignores it)
//! reason = "…"                     # why this threshold: maths, or the paper with a margin
//! # Cross-arm rows (optional): the per-seed value becomes
//! #   metric(arm, S) / over.metric(over.arm, S) − Σ factor · minus.metric(…) / minus.over…
//! # over = { arm = "ce-alone", metric = { probe = "…", key = "…" } }
//! # minus = { arm = "sd", metric = { … }, over = { arm = "sd-alone", metric = { … } } }
//! # minus = [{ arm = "a", metric = { … }, factor = 0.5 }, { arm = "b", … }]   # several
//! # Across arms (instead of `arm`/`over`/`minus`): the metric of each arm's run with seed S,
//! # reduced to one number per seed:
//! # across = { arms = ["w256", "w512"], x = [256, 512], fit = "log_log_slope" }
//! #   (or fit = "max_relative_increase": max_i (v_{i+1} − v_i)/|v_i|, ≤ 0 when non-increasing)
//! ```
//!
//! `rule = "binomial95"` (see [`crate::verdict`]) counts events: each per-seed value must be 0
//! or 1, and the number k of ones over the n seeds must lie in the central 95 % acceptance
//! interval of Binomial(n, target).
//!
//! Cross-arm terms: `over` divides the row's metric by another arm's metric and `minus`
//! subtracts another term (itself optionally a ratio through its own `over`), all for the same
//! seed: runs are paired by seed, and a seed without a run in one of the arms is skipped with a
//! note (which fails the row, like a failed run). `plan` runs every arm a row reads, and a row is
//! left out at a size where any arm it reads does not run. In `verdict.json` the row's `metric`
//! then names every term with its arm: `p/k[train] last (arm ce) / p/k[train] last (arm
//! ce-alone) − (…)`.
//!
//! Every run is `config` + `set` + the arm's `set` + the size's `set` + `seed=S` + the
//! caller's extra overrides, in that order. A run is identified by `<arm>-seed<S>`.
//!
//! Metrics ([`MetricSpec`]) turn one run into one number. From the run directory: the
//! records with the given `probe`, `key` and optional `split`, `layer` and `index`, in step
//! order, reduced by [`Reduce`]: `first`, `last`, `at` (`step = N`), `min`, `max`, `mean`, or
//! `monotone_increase` = max over t of (x_{t+1} − x_t)⁺ / |x_0| (0 for a series that never
//! increases; the relative size of the worst step up), `at_argmin` (`argmin_of = {…}`),
//! `at_argmax` (`argmax_of = {…}`), `argmax_step` (the step of the first maximum),
//! `argmax_index` (its position among the records), or
//! `first_step_reaching` (`level = x`: the first step whose value is ≥ x) or `first_step_below`
//! (the first step whose value is ≤ x), or `at_first_above` (`first_above = { probe, key, …,
//! above = x }`: the value at the first step where that series exceeds x, e.g. NC1 when the
//! spectrum probe first reports the minimal-feature regime). An `ensembles` row reads a per-example metric from
//! every run of its arms instead ([`crate::ensembles`]). Or computed in process from the run's
//! resolved configuration without training ([`Computed`]): `gradcheck` = the largest
//! relative error of the analytic gradient of the training loss at initialisation against
//! central differences (see [`crate::reproduce::gradcheck_residual`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use learnscope_store::MetricRecord;
use learnscope_train::config::{apply_overrides, RunConfig};
use serde::{Deserialize, Serialize};

use crate::ensembles::Ensembles;
use crate::phases::PhaseRule;
use crate::verdict::{check_rule, Applies, RowKind, RowSpec, Rule, Target};

/// The presets built into the binary: (name, preset TOML, experiment files it may reference).
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "demo",
        include_str!("../../../experiments/demo-verdict.toml"),
    ),
    ("p1", include_str!("../../../experiments/p1-verdict.toml")),
    ("p2", include_str!("../../../experiments/p2-verdict.toml")),
    ("p3", include_str!("../../../experiments/p3-verdict.toml")),
    ("p4", include_str!("../../../experiments/p4-verdict.toml")),
    ("p5", include_str!("../../../experiments/p5-verdict.toml")),
];

/// Experiment files an embedded preset's `config` may name.
const EMBEDDED_CONFIGS: &[(&str, &str)] = &[
    ("demo.toml", crate::demo::DEMO_TOML),
    (
        "p1-dln.toml",
        include_str!("../../../experiments/p1-dln.toml"),
    ),
    (
        "p1-cnn.toml",
        include_str!("../../../experiments/p1-cnn.toml"),
    ),
    (
        "p2-linear.toml",
        include_str!("../../../experiments/p2-linear.toml"),
    ),
    (
        "p2-shuffled.toml",
        include_str!("../../../experiments/p2-shuffled.toml"),
    ),
    (
        "p2-projected.toml",
        include_str!("../../../experiments/p2-projected.toml"),
    ),
    (
        "p4-vgg8.toml",
        include_str!("../../../experiments/p4-vgg8.toml"),
    ),
    (
        "p2-order.toml",
        include_str!("../../../experiments/p2-order.toml"),
    ),
    (
        "p2-spectral.toml",
        include_str!("../../../experiments/p2-spectral.toml"),
    ),
    (
        "p3-modes.toml",
        include_str!("../../../experiments/p3-modes.toml"),
    ),
    (
        "p3-separable.toml",
        include_str!("../../../experiments/p3-separable.toml"),
    ),
    (
        "p3-features.toml",
        include_str!("../../../experiments/p3-features.toml"),
    ),
    (
        "p3-failure.toml",
        include_str!("../../../experiments/p3-failure.toml"),
    ),
    (
        "p3-starvation.toml",
        include_str!("../../../experiments/p3-starvation.toml"),
    ),
    (
        "p3-fashion-binary.toml",
        include_str!("../../../experiments/p3-fashion-binary.toml"),
    ),
    (
        "p5-cnn.toml",
        include_str!("../../../experiments/p5-cnn.toml"),
    ),
    (
        "p5-mlp.toml",
        include_str!("../../../experiments/p5-mlp.toml"),
    ),
    (
        "p5-mlp-cifar10.toml",
        include_str!("../../../experiments/p5-mlp-cifar10.toml"),
    ),
];

/// Why a preset cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// TOML or schema error.
    #[error("preset {what}: {why}")]
    Invalid {
        /// The preset (name or path).
        what: String,
        /// Why.
        why: String,
    },
    /// No such preset.
    #[error("no reproduce preset named `{name}` (known: {known}); or give a preset file path")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The embedded names.
        known: String,
    },
    /// A referenced file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The sizes of a preset (DESIGN.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// 1 seed, tiny, ≤ 1 min: what CI runs.
    Smoke,
    /// CPU-sized: minutes on 2 cores.
    Quick,
    /// The paper-sized protocol.
    Full,
}

impl Size {
    /// `smoke`, `quick` or `full`.
    pub fn name(self) -> &'static str {
        match self {
            Size::Smoke => "smoke",
            Size::Quick => "quick",
            Size::Full => "full",
        }
    }
}

/// One size of a preset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeSpec {
    /// The seeds (at least one).
    pub seeds: Vec<u64>,
    /// Overrides for this size (steps, data set sizes, …).
    #[serde(default)]
    pub set: Vec<String>,
    /// Expected wall-clock hours on the CPU (printed before the run starts).
    #[serde(default)]
    pub expected_hours: Option<f64>,
}

/// A run variant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmSpec {
    /// An experiment file (relative to the preset) that replaces the preset's configuration for
    /// this arm; the preset's `set` still applies.
    #[serde(default)]
    pub config: Option<String>,
    /// Overrides of this arm.
    #[serde(default)]
    pub set: Vec<String>,
    /// The sizes at which this arm runs (default: all); rows reading it are left out of the
    /// verdict at other sizes (e.g. a CNN arm too slow for `--smoke`).
    #[serde(default)]
    pub sizes: Option<Vec<Size>>,
    /// Seeds of this arm per size name (`{ quick = 20 }` = seeds 0..20, or a list), instead of
    /// the size's own (e.g. ≥ 20 seeds for a failure-rate cell). Cross-arm rows pair runs by
    /// seed, so arms read together should share their seeds.
    #[serde(default)]
    pub seeds: BTreeMap<String, SeedList>,
    /// Data the user brings (e.g. CIFAR-10 under `data.dir`): when a path the arm's data set
    /// reads is not there, the arm does not run and the rows reading it are left out, with the
    /// reason in the log and in `verdict.md`, instead of failing its runs.
    #[serde(default)]
    pub user_data: bool,
}

/// Seeds as a count (`20` = 0, 1, …, 19) or an explicit list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SeedList {
    /// Seeds 0..n.
    Count(u64),
    /// These seeds.
    List(Vec<u64>),
}

impl SeedList {
    /// The seeds.
    pub fn seeds(&self) -> Vec<u64> {
        match self {
            SeedList::Count(n) => (0..*n).collect(),
            SeedList::List(v) => v.clone(),
        }
    }
}

/// How a series of records becomes one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reduce {
    /// The first record.
    First,
    /// The last record.
    #[default]
    Last,
    /// The record at `step`.
    At,
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
    /// The mean of the values.
    Mean,
    /// max_t (x_{t+1} − x_t)⁺ / |x_0|: the worst step up, relative to the start.
    MonotoneIncrease,
    /// The value at the step where the `argmin_of` series is smallest (within the window).
    AtArgmin,
    /// The value at the step where the `argmax_of` series is largest (within the window; the
    /// first such step).
    AtArgmax,
    /// The step (as a number) of the series' first maximum.
    ArgmaxStep,
    /// The position (0, 1, 2, …) of the series' first maximum among its records: on a
    /// geometric schedule 0, 2, 4, 8, … a difference of 2 is a factor 4 in steps.
    ArgmaxIndex,
    /// The first step (as a number) whose value is ≥ `level` (e.g. steps to 100 % training
    /// accuracy); an error when no record reaches it.
    FirstStepReaching,
    /// The first step (as a number) whose value is ≤ `level` (e.g. steps until a per-frequency
    /// error falls below a threshold); an error when no record gets there.
    FirstStepBelow,
    /// The value at the first step where the `first_above` series exceeds its `above` (e.g. a
    /// metric when a regime is first reached); an error when it never does.
    AtFirstAbove,
}

/// Another series of the same run, named like a metric.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesRef {
    /// The `probe` column.
    pub probe: String,
    /// The `key` column.
    pub key: String,
    /// The `split` column (any when absent).
    #[serde(default)]
    pub split: Option<String>,
    /// The `layer` column (records without a layer when absent).
    #[serde(default)]
    pub layer: Option<String>,
    /// The `index` column (records without an index when absent).
    #[serde(default)]
    pub index: Option<i64>,
    /// For `before`: the window ends at the first step whose value exceeds this.
    #[serde(default)]
    pub above: Option<f64>,
}

impl SeriesRef {
    fn describe(&self) -> String {
        let mut s = format!("{}/{}", self.probe, self.key);
        if let Some(sp) = &self.split {
            s.push_str(&format!("[{sp}]"));
        }
        if let Some(l) = &self.layer {
            s.push_str(&format!(" layer {l}"));
        }
        if let Some(i) = self.index {
            s.push_str(&format!(" index {i}"));
        }
        s
    }

    /// The matching records as (step, value), in step order.
    fn records(&self, records: &[MetricRecord]) -> Vec<(u64, f64)> {
        let mut v: Vec<(u64, f64)> = records
            .iter()
            .filter(|r| r.probe == self.probe && r.key == self.key)
            .filter(|r| self.split.as_ref().is_none_or(|s| &r.split == s))
            .filter(|r| r.layer == self.layer && r.index == self.index)
            .map(|r| (r.step, r.value))
            .collect();
        v.sort_by_key(|x| x.0);
        v
    }

    /// [`SeriesRef::records`], which must be non-empty with one value per step (otherwise the
    /// selection is ambiguous, e.g. no `split` on a probe that records train and test).
    fn series(&self, records: &[MetricRecord]) -> Result<Vec<(u64, f64)>, String> {
        let v = self.records(records);
        if v.is_empty() {
            return Err(format!("no records for {}", self.describe()));
        }
        if let Some(w) = v.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(format!(
                "{} has several records at step {}; name the `split` (or layer, index)",
                self.describe(),
                w[0].0
            ));
        }
        Ok(v)
    }
}

/// Metrics computed in process from a run's configuration rather than read from its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Computed {
    /// The gradient check of the training loss at initialisation (f64 runs only).
    Gradcheck,
    /// The `reconstruction` probe's closed-form ridge decoder (primal and dual forms) against
    /// the explicit normal equations on seeded random problems: the largest relative
    /// difference ([`learnscope_probes::reconstruction::ridge::ridge_identity_residual`], keyed by
    /// the run's seed).
    RidgeIdentity,
}

/// How one run becomes one number.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    /// A computed metric (then `probe`, `key` and the rest are not used).
    #[serde(default)]
    pub computed: Option<Computed>,
    /// The `probe` column.
    #[serde(default)]
    pub probe: Option<String>,
    /// The `key` column.
    #[serde(default)]
    pub key: Option<String>,
    /// The `split` column (any when absent).
    #[serde(default)]
    pub split: Option<String>,
    /// The `layer` column (records without a layer when absent).
    #[serde(default)]
    pub layer: Option<String>,
    /// The `index` column (records without an index when absent).
    #[serde(default)]
    pub index: Option<i64>,
    /// The reduction of the series.
    #[serde(default)]
    pub reduce: Reduce,
    /// The step for `reduce = "at"`.
    #[serde(default)]
    pub step: Option<u64>,
    /// Only records at steps ≤ this.
    #[serde(default)]
    pub until_step: Option<u64>,
    /// Only records at steps before the first step at which this series exceeds its `above`
    /// (all steps if it never does).
    #[serde(default)]
    pub before: Option<SeriesRef>,
    /// The series whose smallest value (within the window) picks the step, for
    /// `reduce = "at_argmin"`.
    #[serde(default)]
    pub argmin_of: Option<SeriesRef>,
    /// The series whose largest value (within the window) picks the step, for
    /// `reduce = "at_argmax"`.
    #[serde(default)]
    pub argmax_of: Option<SeriesRef>,
    /// The level of `reduce = "first_step_reaching"` and `"first_step_below"`.
    #[serde(default)]
    pub level: Option<f64>,
    /// The series (with its `above`) whose first value above `above` picks the step, for
    /// `reduce = "at_first_above"`.
    #[serde(default)]
    pub first_above: Option<SeriesRef>,
}

impl MetricSpec {
    /// Checks that the fields fit together.
    pub fn validate(&self) -> Result<(), String> {
        if self.computed.is_some() {
            if self.probe.is_some() || self.key.is_some() {
                return Err("a computed metric takes no probe or key".into());
            }
            return Ok(());
        }
        if self.probe.is_none() || self.key.is_none() {
            return Err("needs `probe` and `key` (or `computed`)".into());
        }
        if let Some(b) = &self.before {
            if b.above.is_none_or(|a| !a.is_finite()) {
                return Err("`before` needs a finite `above`".into());
            }
        }
        if let Some(a) = &self.argmin_of {
            if a.above.is_some() {
                return Err("`argmin_of` takes no `above`".into());
            }
        }
        match (self.reduce, self.argmin_of.is_some()) {
            (Reduce::AtArgmin, false) => {
                return Err("`reduce = \"at_argmin\"` needs `argmin_of`".into())
            }
            (r, true) if r != Reduce::AtArgmin => {
                return Err("`argmin_of` is only used with `reduce = \"at_argmin\"`".into())
            }
            _ => {}
        }
        if self.argmax_of.as_ref().is_some_and(|a| a.above.is_some()) {
            return Err("`argmax_of` takes no `above`".into());
        }
        match (self.reduce, &self.first_above) {
            (Reduce::AtFirstAbove, None) => {
                return Err("`reduce = \"at_first_above\"` needs `first_above`".into())
            }
            (Reduce::AtFirstAbove, Some(f)) if f.above.is_none_or(|a| !a.is_finite()) => {
                return Err("`first_above` needs a finite `above`".into())
            }
            (r, Some(_)) if r != Reduce::AtFirstAbove => {
                return Err("`first_above` is only used with `reduce = \"at_first_above\"`".into())
            }
            _ => {}
        }
        match (self.reduce, self.argmax_of.is_some()) {
            (Reduce::AtArgmax, false) => {
                return Err("`reduce = \"at_argmax\"` needs `argmax_of`".into())
            }
            (r, true) if r != Reduce::AtArgmax => {
                return Err("`argmax_of` is only used with `reduce = \"at_argmax\"`".into())
            }
            _ => {}
        }
        let levelled = matches!(
            self.reduce,
            Reduce::FirstStepReaching | Reduce::FirstStepBelow
        );
        match (levelled, self.level) {
            (true, None) => {
                return Err(
                    "`reduce = \"first_step_reaching\"` / `\"first_step_below\"` needs `level`"
                        .into(),
                )
            }
            (false, Some(_)) => {
                return Err(
                    "`level` is only used with `reduce = \"first_step_reaching\"` or \
                            `\"first_step_below\"`"
                        .into(),
                )
            }
            _ => {}
        }
        match (self.reduce, self.step) {
            (Reduce::At, None) => Err("`reduce = \"at\"` needs `step`".into()),
            (Reduce::At, Some(_)) | (_, None) => Ok(()),
            (_, Some(_)) => Err("`step` is only used with `reduce = \"at\"`".into()),
        }
    }

    /// A short description, e.g. `loss/batch_loss[train] monotone_increase`.
    pub fn describe(&self) -> String {
        if let Some(c) = self.computed {
            return match c {
                Computed::Gradcheck => "gradcheck max relative error at init".into(),
                Computed::RidgeIdentity => {
                    "ridge decoder vs normal equations, max relative difference".into()
                }
            };
        }
        let s = self.selection().describe();
        let r = match self.reduce {
            Reduce::First => "first".to_string(),
            Reduce::Last => "last".to_string(),
            Reduce::At => format!("at step {}", self.step.unwrap_or(0)),
            Reduce::Min => "min".to_string(),
            Reduce::Max => "max".to_string(),
            Reduce::Mean => "mean".to_string(),
            Reduce::MonotoneIncrease => "monotone_increase".to_string(),
            Reduce::FirstStepReaching => {
                format!("first step reaching {}", self.level.unwrap_or(f64::NAN))
            }
            Reduce::FirstStepBelow => {
                format!("first step at or below {}", self.level.unwrap_or(f64::NAN))
            }
            Reduce::AtArgmin => format!(
                "at argmin of {}",
                self.argmin_of
                    .as_ref()
                    .map(SeriesRef::describe)
                    .unwrap_or_default()
            ),
            Reduce::AtArgmax => format!(
                "at argmax of {}",
                self.argmax_of
                    .as_ref()
                    .map(SeriesRef::describe)
                    .unwrap_or_default()
            ),
            Reduce::ArgmaxStep => "step of the maximum".into(),
            Reduce::ArgmaxIndex => "evaluation index of the maximum".into(),
            Reduce::AtFirstAbove => {
                let f = self.first_above.clone().unwrap_or_default();
                format!(
                    "at the first step where {} > {}",
                    f.describe(),
                    f.above.unwrap_or(f64::NAN)
                )
            }
        };
        let mut window = String::new();
        if let Some(u) = self.until_step {
            window.push_str(&format!(" over steps <= {u}"));
        }
        if let Some(b) = &self.before {
            window.push_str(&format!(
                " before {} > {}",
                b.describe(),
                b.above.unwrap_or(f64::NAN)
            ));
        }
        format!("{s} {r}{window}")
    }

    /// The records this metric reads (`probe`, `key`, `split`, `layer`, `index`).
    fn selection(&self) -> SeriesRef {
        SeriesRef {
            probe: self.probe.clone().unwrap_or_else(|| "?".into()),
            key: self.key.clone().unwrap_or_else(|| "?".into()),
            split: self.split.clone(),
            layer: self.layer.clone(),
            index: self.index,
            above: None,
        }
    }

    /// The series this metric reads from `records`, in step order.
    pub fn series(&self, records: &[MetricRecord]) -> Vec<(u64, f64)> {
        self.selection().records(records)
    }

    /// The last step inside the window (`until_step`, `before`); `None` = no limit.
    fn window_end(&self, records: &[MetricRecord]) -> Result<Option<WindowEnd>, String> {
        let mut end: Option<WindowEnd> = self.until_step.map(WindowEnd::Through);
        if let Some(b) = &self.before {
            let above = b.above.unwrap_or(f64::INFINITY);
            if let Some(&(step, _)) = b.series(records)?.iter().find(|x| x.1 > above) {
                let e = WindowEnd::Before(step);
                end = Some(match end {
                    Some(prev) if prev.contains_less(e) => prev,
                    _ => e,
                });
            }
        }
        Ok(end)
    }

    /// The number of a run from its records (an error names what was missing).
    pub fn from_records(&self, records: &[MetricRecord]) -> Result<f64, String> {
        let mut s = self.selection().series(records)?;
        let end = self.window_end(records)?;
        if let Some(e) = end {
            s.retain(|x| e.contains(x.0));
            if s.is_empty() {
                return Err(format!(
                    "no records inside the window of {}",
                    self.describe()
                ));
            }
        }
        let values = s.iter().map(|x| x.1);
        Ok(match self.reduce {
            Reduce::First => s[0].1,
            Reduce::Last => s[s.len() - 1].1,
            Reduce::At => {
                let step = self.step.unwrap_or(0);
                s.iter()
                    .find(|x| x.0 == step)
                    .ok_or_else(|| format!("no record at step {step} for {}", self.describe()))?
                    .1
            }
            Reduce::Min => values.fold(
                f64::INFINITY,
                |a, b| if b < a || b.is_nan() { b } else { a },
            ),
            Reduce::Max => values.fold(
                f64::NEG_INFINITY,
                |a, b| if b > a || b.is_nan() { b } else { a },
            ),
            Reduce::Mean => learnscope_stats::mean(&s.iter().map(|x| x.1).collect::<Vec<_>>()),
            Reduce::MonotoneIncrease => {
                monotone_increase(&s.iter().map(|x| x.1).collect::<Vec<_>>())
            }
            Reduce::FirstStepReaching => {
                let level = self.level.unwrap_or(f64::NAN);
                s.iter()
                    .find(|x| x.1 >= level)
                    .ok_or_else(|| format!("{} never reaches {level}", self.describe()))?
                    .0 as f64
            }
            Reduce::FirstStepBelow => {
                let level = self.level.unwrap_or(f64::NAN);
                s.iter()
                    .find(|x| x.1 <= level)
                    .ok_or_else(|| format!("{} never gets to {level}", self.describe()))?
                    .0 as f64
            }
            Reduce::ArgmaxStep => {
                first_extreme(&s, false)
                    .ok_or_else(|| format!("no values of {}", self.describe()))?
                    .0 as f64
            }
            Reduce::ArgmaxIndex => {
                let best = first_extreme(&s, false)
                    .ok_or_else(|| format!("no values of {}", self.describe()))?;
                s.iter().position(|x| x.0 == best.0).unwrap_or_default() as f64
            }
            Reduce::AtFirstAbove => {
                let of = self
                    .first_above
                    .as_ref()
                    .ok_or("`at_first_above` needs `first_above`")?;
                let above = of.above.unwrap_or(f64::INFINITY);
                let mut o = of.series(records)?;
                if let Some(e) = end {
                    o.retain(|x| e.contains(x.0));
                }
                let at = o.iter().find(|x| x.1 > above).ok_or_else(|| {
                    format!(
                        "{} never exceeds {above} (inside the window)",
                        of.describe()
                    )
                })?;
                s.iter()
                    .find(|x| x.0 == at.0)
                    .ok_or_else(|| {
                        format!(
                            "{} has no record at step {} (where {} first exceeds {above})",
                            self.describe(),
                            at.0,
                            of.describe()
                        )
                    })?
                    .1
            }
            Reduce::AtArgmin | Reduce::AtArgmax => {
                let smallest = self.reduce == Reduce::AtArgmin;
                let (of, which) = if smallest {
                    (self.argmin_of.as_ref(), "argmin")
                } else {
                    (self.argmax_of.as_ref(), "argmax")
                };
                let of = of.ok_or_else(|| format!("`at_{which}` needs `{which}_of`"))?;
                let mut o = of.series(records)?;
                if let Some(e) = end {
                    o.retain(|x| e.contains(x.0));
                }
                let best = first_extreme(&o, smallest)
                    .ok_or_else(|| format!("no values of {} inside the window", of.describe()))?;
                s.iter()
                    .find(|x| x.0 == best.0)
                    .ok_or_else(|| {
                        format!(
                            "{} has no record at step {} (the {which} of {})",
                            self.describe(),
                            best.0,
                            of.describe()
                        )
                    })?
                    .1
            }
        })
    }
}

/// The first (step, value) of the smallest (or largest) value of a series; NaN never wins.
fn first_extreme(series: &[(u64, f64)], smallest: bool) -> Option<(u64, f64)> {
    series
        .iter()
        .filter(|x| !x.1.is_nan())
        .fold(None::<(u64, f64)>, |b, &x| match b {
            Some(b) if (smallest && b.1 <= x.1) || (!smallest && b.1 >= x.1) => Some(b),
            _ => Some(x),
        })
}

/// Where a metric's window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WindowEnd {
    /// Steps ≤ this.
    Through(u64),
    /// Steps < this.
    Before(u64),
}

impl WindowEnd {
    fn contains(self, step: u64) -> bool {
        match self {
            WindowEnd::Through(s) => step <= s,
            WindowEnd::Before(s) => step < s,
        }
    }
    /// Whether `self` ends no later than `other`.
    fn contains_less(self, other: WindowEnd) -> bool {
        let last = |e: WindowEnd| match e {
            WindowEnd::Through(s) => Some(s),
            WindowEnd::Before(s) => s.checked_sub(1),
        };
        match (last(self), last(other)) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) => a <= b,
        }
    }
}

/// max_t (x_{t+1} − x_t)⁺ / |x_0|: 0 for a non-increasing series, NaN if any value is not
/// finite (a diverged run is not monotone) or the series is empty, +∞ if it rises from x_0 = 0.
pub fn monotone_increase(xs: &[f64]) -> f64 {
    if xs.iter().any(|x| !x.is_finite()) {
        return f64::NAN;
    }
    let Some(&x0) = xs.first() else {
        return f64::NAN;
    };
    let worst = xs
        .windows(2)
        .map(|w| (w[1] - w[0]).max(0.0))
        .fold(0.0, f64::max);
    if worst == 0.0 {
        0.0
    } else {
        worst / x0.abs()
    }
}

/// A metric read from the runs of another arm (`over`, `minus.over`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmMetric {
    /// The arm whose run (with the same seed) is read.
    pub arm: String,
    /// How that run becomes a number.
    pub metric: MetricSpec,
}

/// A term subtracted from a row's value (`minus`):
/// `factor · metric(arm) [/ over.metric(over.arm)]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinusTerm {
    /// The arm whose run (with the same seed) is read.
    pub arm: String,
    /// How that run becomes a number.
    pub metric: MetricSpec,
    /// An optional divisor, read from the run of its arm with the same seed.
    #[serde(default)]
    pub over: Option<ArmMetric>,
    /// A multiplier of the term (default 1).
    #[serde(default = "unit_factor")]
    pub factor: f64,
}

fn unit_factor() -> f64 {
    1.0
}

/// One subtracted term or several (`minus = { … }` or `minus = [{ … }, { … }]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MinusTerms {
    /// One term.
    One(Box<MinusTerm>),
    /// Several terms, all subtracted.
    Many(Vec<MinusTerm>),
}

impl MinusTerms {
    /// The terms in order.
    pub fn iter(&self) -> std::slice::Iter<'_, MinusTerm> {
        match self {
            MinusTerms::One(t) => std::slice::from_ref(t.as_ref()).iter(),
            MinusTerms::Many(v) => v.iter(),
        }
    }
}

/// A row read across several arms (`across`): the same metric from each arm's run with the same
/// seed, paired with a number `x` per arm, reduced by `fit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Across {
    /// The arms, in the order of `x`.
    pub arms: Vec<String>,
    /// One number per arm (e.g. the width).
    pub x: Vec<f64>,
    /// How the values become one number per seed.
    pub fit: AcrossFit,
}

/// How an `across` row reduces its per-arm values (v_i at x_i).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcrossFit {
    /// The least-squares slope of ln v against ln x (needs v, x > 0).
    LogLogSlope,
    /// max_i (v_{i+1} − v_i)/|v_i|: ≤ 0 exactly when v does not increase along the arms.
    MaxRelativeIncrease,
}

impl AcrossFit {
    /// The reduction of values `v` at `x` (an error names what is out of range).
    pub fn apply(self, x: &[f64], v: &[f64]) -> Result<f64, String> {
        match self {
            AcrossFit::LogLogSlope => {
                if let Some((xi, vi)) = x.iter().zip(v).find(|(x, v)| !(**x > 0.0 && **v > 0.0)) {
                    return Err(format!(
                        "log_log_slope needs x, v > 0; got x = {xi}, v = {vi}"
                    ));
                }
                let lx: Vec<f64> = x.iter().map(|a| a.ln()).collect();
                let lv: Vec<f64> = v.iter().map(|a| a.ln()).collect();
                let (mx, mv) = (
                    lx.iter().sum::<f64>() / lx.len() as f64,
                    lv.iter().sum::<f64>() / lv.len() as f64,
                );
                let sxy: f64 = lx.iter().zip(&lv).map(|(a, b)| (a - mx) * (b - mv)).sum();
                let sxx: f64 = lx.iter().map(|a| (a - mx).powi(2)).sum();
                Ok(sxy / sxx)
            }
            AcrossFit::MaxRelativeIncrease => Ok(v
                .windows(2)
                .map(|w| (w[1] - w[0]) / w[0].abs())
                .fold(f64::NEG_INFINITY, f64::max)),
        }
    }
}

/// A `[[verdict]]` entry as written in TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowToml {
    /// Unique id.
    pub id: String,
    /// identity, replication or report.
    pub kind: RowKind,
    /// The claim.
    pub claim: String,
    /// Where it comes from.
    pub source: String,
    /// Which runs (default `main`).
    #[serde(default = "main_arm")]
    pub arm: String,
    /// How a run becomes a number.
    pub metric: MetricSpec,
    /// Divides the value by a metric of another arm's run with the same seed.
    #[serde(default)]
    pub over: Option<ArmMetric>,
    /// Subtracts one term or several (each optionally a ratio, with a factor) computed from
    /// runs with the same seed.
    #[serde(default)]
    pub minus: Option<MinusTerms>,
    /// Reads `metric` from several arms and reduces the values (then `arm` is not used).
    #[serde(default)]
    pub across: Option<Across>,
    /// Reads the per-example `metric` from every run of its arms and computes an ensemble
    /// statistic (accessibility, LOC; [`crate::ensembles`]); then `arm` is not used.
    #[serde(default)]
    pub ensembles: Option<Ensembles>,
    /// Segments the `metric` curve of every seed of `arm` into learning phases (P4;
    /// [`crate::phases`]).
    #[serde(default)]
    pub phases: Option<PhaseRule>,
    /// The comparison.
    #[serde(default)]
    pub rule: Option<Rule>,
    /// The threshold or range.
    #[serde(default)]
    pub target: Option<Target>,
    /// Each seed or the mean (default: each seed for identity rows, else the mean).
    #[serde(default)]
    pub applies: Option<Applies>,
    /// Why this threshold.
    pub reason: String,
}

fn main_arm() -> String {
    MAIN_ARM.into()
}

/// The arm every preset has: the configuration with the preset's overrides only.
pub const MAIN_ARM: &str = "main";

impl RowToml {
    /// Every (arm, metric) the row reads: its own, then `over`, `minus`, `minus.over`.
    pub fn terms(&self) -> Vec<(&str, &MetricSpec)> {
        if let Some(e) = &self.ensembles {
            return e
                .arms
                .iter()
                .map(|arm| (arm.as_str(), &self.metric))
                .collect();
        }
        if let Some(a) = &self.across {
            return a
                .arms
                .iter()
                .map(|arm| (arm.as_str(), &self.metric))
                .collect();
        }
        let mut t = vec![(self.arm.as_str(), &self.metric)];
        if let Some(o) = &self.over {
            t.push((o.arm.as_str(), &o.metric));
        }
        for m in self.minus.iter().flat_map(MinusTerms::iter) {
            t.push((m.arm.as_str(), &m.metric));
            if let Some(o) = &m.over {
                t.push((o.arm.as_str(), &o.metric));
            }
        }
        t
    }

    /// The arms the row reads, its own first, each once.
    pub fn arms(&self) -> Vec<&str> {
        let mut arms: Vec<&str> = Vec::new();
        for (a, _) in self.terms() {
            if !arms.contains(&a) {
                arms.push(a);
            }
        }
        arms
    }

    /// The whole expression in words: the metric alone for a one-arm row, else every term
    /// with its arm, e.g. `a/b last (arm ce) / a/b last (arm ce-alone) − (…)`.
    pub fn describe(&self) -> String {
        if let Some(e) = &self.ensembles {
            return e.describe(&self.metric);
        }
        if let Some(p) = &self.phases {
            return p.describe(&self.metric);
        }
        if let Some(a) = &self.across {
            let pairs: Vec<String> = a
                .arms
                .iter()
                .zip(&a.x)
                .map(|(arm, x)| format!("{arm} (x = {})", crate::verdict::fmt_num(*x)))
                .collect();
            let what = match a.fit {
                AcrossFit::LogLogSlope => "slope of ln",
                AcrossFit::MaxRelativeIncrease => "max relative increase of",
            };
            return format!(
                "{what} {} across {}",
                self.metric.describe(),
                pairs.join(", ")
            );
        }
        if self.over.is_none() && self.minus.is_none() {
            return self.metric.describe();
        }
        let term = |arm: &str, m: &MetricSpec| format!("{} (arm {arm})", m.describe());
        let ratio = |arm: &str, m: &MetricSpec, over: &Option<ArmMetric>| match over {
            Some(o) => format!("{} / {}", term(arm, m), term(&o.arm, &o.metric)),
            None => term(arm, m),
        };
        let mut s = ratio(&self.arm, &self.metric, &self.over);
        for m in self.minus.iter().flat_map(MinusTerms::iter) {
            let sub = ratio(&m.arm, &m.metric, &m.over);
            let factor = if m.factor == 1.0 {
                String::new()
            } else {
                format!("{} · ", crate::verdict::fmt_num(m.factor))
            };
            if m.over.is_some() || !factor.is_empty() {
                s.push_str(&format!(" − {factor}({sub})"));
            } else {
                s.push_str(&format!(" − {sub}"));
            }
        }
        s
    }

    /// The row's definition for [`crate::verdict::VerdictRow::measure`].
    pub fn spec(&self) -> RowSpec {
        RowSpec {
            id: self.id.clone(),
            kind: self.kind,
            claim: self.claim.clone(),
            source: self.source.clone(),
            metric: self.describe(),
            rule: self.rule,
            target: self.target,
            reason: self.reason.clone(),
            applies: self.applies.unwrap_or(match self.kind {
                RowKind::Identity => Applies::EachSeed,
                _ => Applies::Mean,
            }),
        }
    }
}

/// A preset file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetToml {
    /// The name `reproduce` finds it by.
    pub name: String,
    /// What it reproduces.
    #[serde(default)]
    pub description: String,
    /// An experiment file, relative to the preset.
    #[serde(default)]
    pub config: Option<String>,
    /// The run configuration inline.
    #[serde(default)]
    pub run: Option<toml::Table>,
    /// Overrides for every run.
    #[serde(default)]
    pub set: Vec<String>,
    /// Run variants besides `main`.
    #[serde(default)]
    pub arms: BTreeMap<String, ArmSpec>,
    /// smoke, quick, full.
    pub sizes: BTreeMap<Size, SizeSpec>,
    /// The rows.
    pub verdict: Vec<RowToml>,
}

/// A parsed and checked preset with its run configuration text.
#[derive(Debug, Clone)]
pub struct Preset {
    /// The file's content.
    pub toml: PresetToml,
    /// The base run configuration (TOML text).
    pub config_text: String,
    /// Arms with their own `config`: (arm, TOML text).
    pub arm_configs: BTreeMap<String, String>,
}

/// One run a preset needs.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// `<arm>-seed<S>`: its directory under `OUT/runs/`.
    pub id: String,
    /// The arm.
    pub arm: String,
    /// The seed.
    pub seed: u64,
    /// The rows that read it.
    pub row_ids: Vec<String>,
    /// Its configuration (validated).
    pub config: RunConfig,
}

impl Preset {
    /// Parses preset TOML; `config` references are resolved by `read_config`.
    pub fn parse(
        what: &str,
        text: &str,
        read_config: impl Fn(&str) -> Result<String, PresetError>,
    ) -> Result<Self, PresetError> {
        let invalid = |why: String| PresetError::Invalid {
            what: what.to_string(),
            why,
        };
        let toml: PresetToml = toml::from_str(text)
            .map_err(|e: toml::de::Error| invalid(e.to_string().trim().into()))?;
        let config_text = match (&toml.config, &toml.run) {
            (Some(c), None) => read_config(c)?,
            (None, Some(t)) => toml::to_string(t).map_err(|e| invalid(e.to_string()))?,
            _ => return Err(invalid("give exactly one of `config` and `[run]`".into())),
        };
        for (size, s) in &toml.sizes {
            if s.seeds.is_empty() {
                return Err(invalid(format!("sizes.{}.seeds is empty", size.name())));
            }
            let mut seen = s.seeds.clone();
            seen.sort_unstable();
            if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
                return Err(invalid(format!(
                    "sizes.{}.seeds lists seed {} twice (each seed is one run directory)",
                    size.name(),
                    w[0]
                )));
            }
        }
        for size in [Size::Smoke, Size::Quick, Size::Full] {
            if !toml.sizes.contains_key(&size) {
                return Err(invalid(format!("missing [sizes.{}]", size.name())));
            }
        }
        for (name, arm) in &toml.arms {
            for (size, seeds) in &arm.seeds {
                if !["smoke", "quick", "full"].contains(&size.as_str()) {
                    return Err(invalid(format!(
                        "arms.{name}.seeds: `{size}` is not a size (smoke, quick, full)"
                    )));
                }
                let mut seen = seeds.seeds();
                seen.sort_unstable();
                let twice = seen.windows(2).any(|w| w[0] == w[1]);
                if seen.is_empty() || twice {
                    return Err(invalid(format!(
                        "arms.{name}.seeds.{size}: needs at least one seed, each once"
                    )));
                }
            }
        }
        if toml.verdict.is_empty() {
            return Err(invalid("no [[verdict]] rows".into()));
        }
        let mut ids = std::collections::BTreeSet::new();
        for r in &toml.verdict {
            let row = |why: String| invalid(format!("verdict row `{}`: {why}", r.id));
            if r.id.is_empty()
                || !r
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(row("id must be non-empty letters, digits, - _ .".into()));
            }
            if !ids.insert(r.id.clone()) {
                return Err(row("id appears twice".into()));
            }
            let known = |arm: &str| arm == MAIN_ARM || toml.arms.contains_key(arm);
            if !known(&r.arm) {
                return Err(row(format!("unknown arm `{}`", r.arm)));
            }
            if let Some(a) = &r.across {
                if r.over.is_some() || r.minus.is_some() {
                    return Err(row(
                        "`across` does not combine with `over` or `minus`".into()
                    ));
                }
                if a.arms.len() < 2 || a.arms.len() != a.x.len() {
                    return Err(row(format!(
                        "`across` needs at least two arms and one x per arm ({} arms, {} x)",
                        a.arms.len(),
                        a.x.len()
                    )));
                }
                if let Some(bad) = a.arms.iter().find(|arm| !known(arm)) {
                    return Err(row(format!("unknown arm `{bad}` in `across`")));
                }
                if a.x.iter().any(|x| !x.is_finite()) {
                    return Err(row("`across.x` must be finite".into()));
                }
            }
            if let Some(e) = &r.ensembles {
                if r.over.is_some() || r.minus.is_some() || r.across.is_some() {
                    return Err(row(
                        "`ensembles` does not combine with `over`, `minus` or `across`".into(),
                    ));
                }
                e.validate(known).map_err(row)?;
            }
            if let Some(p) = &r.phases {
                if r.over.is_some()
                    || r.minus.is_some()
                    || r.across.is_some()
                    || r.ensembles.is_some()
                {
                    return Err(row(
                        "`phases` does not combine with `over`, `minus`, `across` or `ensembles`"
                            .into(),
                    ));
                }
                p.validate().map_err(row)?;
            }
            r.metric.validate().map_err(row)?;
            let mut extra: Vec<(&str, &str, &MetricSpec)> = Vec::new();
            if let Some(o) = &r.over {
                extra.push(("over", &o.arm, &o.metric));
            }
            for m in r.minus.iter().flat_map(MinusTerms::iter) {
                if !m.factor.is_finite() {
                    return Err(row(format!("`minus.factor` {} is not finite", m.factor)));
                }
                extra.push(("minus", &m.arm, &m.metric));
                if let Some(o) = &m.over {
                    extra.push(("minus.over", &o.arm, &o.metric));
                }
            }
            for (field, arm, metric) in extra {
                if !known(arm) {
                    return Err(row(format!("unknown arm `{arm}` in `{field}`")));
                }
                metric
                    .validate()
                    .map_err(|e| row(format!("`{field}.metric`: {e}")))?;
            }
            check_rule(r.kind, r.rule, r.target).map_err(|e| row(e.to_string()))?;
        }
        for arm in toml.arms.keys() {
            if arm == MAIN_ARM
                || arm.is_empty()
                || !arm
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(invalid(format!(
                    "arm name `{arm}`: letters, digits, - _ . and not `main`"
                )));
            }
        }
        let mut arm_configs = BTreeMap::new();
        for (arm, a) in &toml.arms {
            if let Some(c) = &a.config {
                arm_configs.insert(arm.clone(), read_config(c)?);
            }
        }
        Ok(Preset {
            toml,
            config_text,
            arm_configs,
        })
    }

    /// Whether `arm` runs at `size`.
    pub fn arm_runs_at(&self, arm: &str, size: Size) -> bool {
        self.toml
            .arms
            .get(arm)
            .and_then(|a| a.sizes.as_ref())
            .is_none_or(|s| s.contains(&size))
    }

    /// An arm `row` reads that does not run at `size` (then the row is left out there).
    pub fn row_missing_arm<'a>(&self, row: &'a RowToml, size: Size) -> Option<&'a str> {
        row.arms().into_iter().find(|a| !self.arm_runs_at(a, size))
    }

    /// An embedded preset by name.
    pub fn embedded(name: &str) -> Result<Self, PresetError> {
        let Some((_, text)) = EMBEDDED.iter().find(|(n, _)| *n == name) else {
            return Err(PresetError::Unknown {
                name: name.to_string(),
                known: EMBEDDED
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        Preset::parse(name, text, |c| {
            EMBEDDED_CONFIGS
                .iter()
                .find(|(n, _)| *n == c)
                .map(|(_, t)| t.to_string())
                .ok_or_else(|| PresetError::Invalid {
                    what: name.to_string(),
                    why: format!("`config = {c:?}` is not an embedded experiment"),
                })
        })
    }

    /// A preset file; its `config` is read relative to the file's directory.
    pub fn from_file(path: &Path) -> Result<Self, PresetError> {
        let text = std::fs::read_to_string(path).map_err(|source| PresetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Preset::parse(&path.display().to_string(), &text, |c| {
            let p = dir.join(c);
            std::fs::read_to_string(&p).map_err(|source| PresetError::Io { path: p, source })
        })
    }

    /// A preset file if `name_or_path` ends in `.toml` or names an existing file, else an
    /// embedded preset.
    pub fn find(name_or_path: &str) -> Result<Self, PresetError> {
        let p = Path::new(name_or_path);
        if name_or_path.ends_with(".toml") || p.is_file() {
            Preset::from_file(p)
        } else {
            Preset::embedded(name_or_path)
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.toml.name
    }

    /// The size's settings.
    pub fn size(&self, size: Size) -> &SizeSpec {
        &self.toml.sizes[&size]
    }

    /// The runs of `size`, in (arm, seed) order, with `extra` overrides last. Every arm read by
    /// a row kept at this size (its own arm, `over`, `minus`) runs; arms no such row reads are
    /// not run; rows with only computed metrics still get their runs (the configuration is
    /// what they measure, and the run directory documents it).
    pub fn plan(&self, size: Size, extra: &[String]) -> Result<Vec<PlannedRun>, PresetError> {
        Ok(self.plan_available(size, extra)?.0)
    }

    /// [`Preset::plan`], and the arms left out because their user-brought data is missing
    /// (`user_data = true`; arm → the reason), whose rows are left out too.
    pub fn plan_available(
        &self,
        size: Size,
        extra: &[String],
    ) -> Result<(Vec<PlannedRun>, BTreeMap<String, String>), PresetError> {
        let invalid = |why: String| PresetError::Invalid {
            what: self.name().to_string(),
            why,
        };
        let parse = |text: &str, what: &str| -> Result<toml::Table, PresetError> {
            text.parse()
                .map_err(|e: toml::de::Error| invalid(format!("{what}: {}", e.to_string().trim())))
        };
        let main_base = parse(&self.config_text, "run configuration")?;
        let sz = self.size(size);
        let config = |arm: &str, seed: u64| -> Result<RunConfig, PresetError> {
            let mut doc = match self.arm_configs.get(arm) {
                Some(text) => parse(text, &format!("arm `{arm}` configuration"))?,
                None => main_base.clone(),
            };
            let mut sets = self.toml.set.clone();
            if let Some(a) = self.toml.arms.get(arm) {
                sets.extend(a.set.iter().cloned());
            }
            sets.extend(sz.set.iter().cloned());
            sets.push(format!("seed={seed}"));
            sets.extend(extra.iter().cloned());
            apply_overrides(&mut doc, &sets)
                .and_then(|_| {
                    let text = toml::to_string(&doc)
                        .map_err(|e| learnscope_train::TrainError::Config(e.to_string()))?;
                    RunConfig::parse(&text, &[])
                })
                .map_err(|e| invalid(format!("arm `{arm}`, seed {seed}: {e}")))
                .and_then(|c| {
                    if c.members.is_some() {
                        // Verdict rows read one run directory per (arm, seed).
                        return Err(invalid(format!(
                            "arm `{arm}`, seed {seed}: `members` (a batched ensemble) is not \
                             supported in reproduce presets; an arm's networks are its seeds"
                        )));
                    }
                    Ok(c)
                })
        };
        let seeds_of = |arm: &str| {
            self.toml
                .arms
                .get(arm)
                .and_then(|a| a.seeds.get(size.name()))
                .map_or_else(|| sz.seeds.clone(), SeedList::seeds)
        };
        let mut rows: Vec<&RowToml> = self
            .toml
            .verdict
            .iter()
            .filter(|r| self.row_missing_arm(r, size).is_none())
            .collect();
        let arms_of = |rows: &[&RowToml]| {
            let mut arms: Vec<&str> = rows.iter().flat_map(|r| r.arms()).collect();
            arms.sort();
            arms.dedup();
            arms.into_iter()
                .map(str::to_string)
                .collect::<Vec<String>>()
        };
        let mut unavailable = BTreeMap::new();
        for arm in arms_of(&rows) {
            if !self.toml.arms.get(&arm).is_some_and(|a| a.user_data) {
                continue;
            }
            let Some(&seed) = seeds_of(&arm).first() else {
                continue;
            };
            let c = config(&arm, seed)?;
            if let Some(p) = c
                .data
                .user_paths()
                .into_iter()
                .find(|p| !Path::new(p).exists())
            {
                unavailable.insert(
                    arm.clone(),
                    format!("its data `{p}` is not there (bring the files, or `--set` the path)"),
                );
            }
        }
        rows.retain(|r| !r.arms().iter().any(|a| unavailable.contains_key(*a)));
        let mut out = Vec::new();
        for arm in arms_of(&rows) {
            let row_ids: Vec<String> = rows
                .iter()
                .filter(|r| r.arms().contains(&arm.as_str()))
                .map(|r| r.id.clone())
                .collect();
            for seed in seeds_of(&arm) {
                out.push(PlannedRun {
                    id: format!("{arm}-seed{seed}"),
                    arm: arm.clone(),
                    seed,
                    row_ids: row_ids.clone(),
                    config: config(&arm, seed)?,
                });
            }
        }
        Ok((out, unavailable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotone_increase_is_the_worst_relative_step_up() {
        assert_eq!(monotone_increase(&[4.0, 3.0, 3.0, 1.0]), 0.0);
        assert_eq!(monotone_increase(&[4.0, 3.0, 3.5, 1.0, 2.0]), 0.25);
        assert!(monotone_increase(&[1.0, f64::NAN]).is_nan());
        assert!(monotone_increase(&[]).is_nan());
    }

    #[test]
    fn a_metric_matching_two_splits_is_ambiguous() {
        let rec = |step: u64, split: &str, value: f64| MetricRecord {
            step,
            epoch: 0,
            probe: "loss".into(),
            key: "loss".into(),
            split: split.into(),
            layer: None,
            index: None,
            index2: None,
            value,
        };
        let records = [
            rec(0, "train", 2.0),
            rec(0, "test", 3.0),
            rec(5, "train", 1.0),
        ];
        let mut m = MetricSpec {
            computed: None,
            probe: Some("loss".into()),
            key: Some("loss".into()),
            split: None,
            layer: None,
            index: None,
            reduce: Reduce::Last,
            step: None,
            ..MetricSpec::default()
        };
        let e = m.from_records(&records).unwrap_err();
        assert!(e.contains("several records at step 0"), "{e}");
        m.split = Some("train".into());
        assert_eq!(m.from_records(&records).unwrap(), 1.0);
    }

    #[test]
    fn windows_and_the_value_at_the_argmin_of_another_series() {
        let rec = |step: u64, key: &str, value: f64| MetricRecord {
            step,
            epoch: 0,
            probe: "p".into(),
            key: key.into(),
            split: "test".into(),
            layer: None,
            index: None,
            index2: None,
            value,
        };
        // d falls to its minimum at step 20, rises, and has a lower value at step 50, after the
        // accuracy crossed 0.2 at step 40.
        let mut records = Vec::new();
        for (step, d, acc, tnr) in [
            (0, 1.0, 0.1, 0.5),
            (10, 0.3, 0.1, 0.9),
            (20, 0.1, 0.15, 0.97),
            (30, 0.2, 0.18, 0.9),
            (40, 0.4, 0.25, 0.8),
            (50, 0.05, 0.9, 0.99),
        ] {
            records.push(rec(step, "d", d));
            records.push(rec(step, "acc", acc));
            records.push(rec(step, "tnr", tnr));
        }
        let series = |key: &str| SeriesRef {
            probe: "p".into(),
            key: key.into(),
            split: Some("test".into()),
            ..SeriesRef::default()
        };
        let before = SeriesRef {
            above: Some(0.2),
            ..series("acc")
        };
        let m = MetricSpec {
            probe: Some("p".into()),
            key: Some("d".into()),
            split: Some("test".into()),
            reduce: Reduce::Min,
            before: Some(before.clone()),
            ..MetricSpec::default()
        };
        m.validate().unwrap();
        assert_eq!(m.from_records(&records).unwrap(), 0.1);
        let at = MetricSpec {
            key: Some("tnr".into()),
            reduce: Reduce::AtArgmin,
            argmin_of: Some(series("d")),
            ..m.clone()
        };
        at.validate().unwrap();
        assert_eq!(at.from_records(&records).unwrap(), 0.97);
        // The mirror image: tnr where acc is largest (first maximum), and that step itself.
        let at_max = MetricSpec {
            key: Some("tnr".into()),
            reduce: Reduce::AtArgmax,
            argmax_of: Some(series("acc")),
            before: None,
            ..m.clone()
        };
        at_max.validate().unwrap();
        let acc = series("acc").series(&records).unwrap();
        let (best_step, _) =
            acc.iter()
                .copied()
                .fold((0, f64::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b });
        let tnr = series("tnr").series(&records).unwrap();
        let want = tnr.iter().find(|x| x.0 == best_step).unwrap().1;
        assert_eq!(at_max.from_records(&records).unwrap(), want);
        let argmax = MetricSpec {
            key: Some("acc".into()),
            reduce: Reduce::ArgmaxStep,
            before: None,
            ..m.clone()
        };
        argmax.validate().unwrap();
        assert_eq!(argmax.from_records(&records).unwrap(), best_step as f64);
        let index = MetricSpec {
            reduce: Reduce::ArgmaxIndex,
            ..argmax.clone()
        };
        let position = acc.iter().position(|x| x.0 == best_step).unwrap();
        assert_eq!(index.from_records(&records).unwrap(), position as f64);
        // tnr where acc first exceeds 0.16 (step 30: 0.9); no step exceeds 0.95 → an error.
        let first = MetricSpec {
            key: Some("tnr".into()),
            reduce: Reduce::AtFirstAbove,
            first_above: Some(SeriesRef {
                above: Some(0.16),
                ..series("acc")
            }),
            before: None,
            ..m.clone()
        };
        first.validate().unwrap();
        assert_eq!(first.from_records(&records).unwrap(), 0.9);
        assert!(first.describe().contains("> 0.16"));
        let never = MetricSpec {
            first_above: Some(SeriesRef {
                above: Some(0.95),
                ..series("acc")
            }),
            ..first.clone()
        };
        assert!(never
            .from_records(&records)
            .unwrap_err()
            .contains("never exceeds"));
        assert!(MetricSpec {
            first_above: Some(series("acc")),
            ..first.clone()
        }
        .validate()
        .is_err());
        assert!(MetricSpec {
            reduce: Reduce::Last,
            ..first.clone()
        }
        .validate()
        .is_err());
        assert!(MetricSpec {
            argmax_of: Some(series("acc")),
            ..m.clone()
        }
        .validate()
        .is_err());
        // Without the window the argmin is step 50.
        let open = MetricSpec {
            before: None,
            ..at.clone()
        };
        assert_eq!(open.from_records(&records).unwrap(), 0.99);
        // until_step cuts at 10 (inclusive) and combines with `before` (the earlier end wins).
        let until = MetricSpec {
            until_step: Some(10),
            ..m.clone()
        };
        assert_eq!(until.from_records(&records).unwrap(), 0.3);
        assert!(MetricSpec {
            reduce: Reduce::AtArgmin,
            ..m.clone()
        }
        .validate()
        .is_err());
        assert!(MetricSpec {
            before: Some(series("acc")),
            ..m
        }
        .validate()
        .is_err());
        assert!(m_describe_mentions_window(&at));
    }

    fn m_describe_mentions_window(m: &MetricSpec) -> bool {
        let d = m.describe();
        d.contains("at argmin of p/d[test]") && d.contains("before p/acc[test] > 0.2")
    }

    const INLINE: &str = r#"
name = "inline"
set = ["steps=5"]
[run]
name = "tiny"
steps = 10
[run.data]
kind = "hierarchy"
branching = 2
depth = 2
[run.model]
kind = "deep_linear"
hidden = [4]
init = { kind = "gaussian", std = 0.01 }
[run.loss]
kind = "mse"
[run.optimizer]
kind = "sgd"
[run.lr]
base = 0.1
[arms.slow]
set = ["lr.base=0.01"]
[sizes.smoke]
seeds = [3]
[sizes.quick]
seeds = [3, 4]
[sizes.full]
seeds = [3, 4, 5]
[[verdict]]
id = "a"
kind = "replication"
claim = "c"
source = "s"
arm = "slow"
metric = { probe = "loss", key = "batch_loss", reduce = "at", step = 2 }
rule = "within"
target = [0.0, 1.0]
applies = "each_seed"
reason = "r"
[[verdict]]
id = "b"
kind = "report"
claim = "c"
source = "s"
metric = { computed = "gradcheck" }
reason = "r"
"#;

    fn parse(text: &str) -> Result<Preset, PresetError> {
        Preset::parse("test", text, |_| Ok(String::new()))
    }

    #[test]
    fn inline_runs_arms_and_applies() {
        let p = parse(INLINE).unwrap();
        let plan = p.plan(Size::Quick, &[]).unwrap();
        let ids: Vec<&str> = plan.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["main-seed3", "main-seed4", "slow-seed3", "slow-seed4"]
        );
        assert_eq!(plan[2].config.lr.base, 0.01);
        assert_eq!((plan[0].config.steps, plan[0].config.seed), (5, 3));
        assert_eq!(plan[2].row_ids, ["a"]);
        assert_eq!(p.toml.verdict[0].spec().applies, Applies::EachSeed);
        assert_eq!(p.toml.verdict[0].spec().metric, "loss/batch_loss at step 2");
    }

    #[test]
    fn bad_presets_name_the_problem() {
        let cases = [
            (
                INLINE.replace("arm = \"slow\"", "arm = \"fast\""),
                "unknown arm `fast`",
            ),
            (
                INLINE.replace("target = [0.0, 1.0]", "target = 1.0"),
                "needs a range",
            ),
            (
                INLINE.replace("[sizes.full]\nseeds = [3, 4, 5]", ""),
                "missing [sizes.full]",
            ),
            (INLINE.replace("id = \"b\"", "id = \"a\""), "appears twice"),
            (INLINE.replace(", step = 2", ""), "needs `step`"),
            (
                INLINE.replace(
                    "reason = \"r\"\n[[verdict]]",
                    "reason = \"r\"\ntypo = 1\n[[verdict]]",
                ),
                "typo",
            ),
            (
                INLINE.replace("[run]", "config = \"x.toml\"\n[run]"),
                "exactly one",
            ),
            (
                INLINE.replace("seeds = [3, 4]", "seeds = [4, 3, 4]"),
                "lists seed 4 twice",
            ),
        ];
        for (text, want) in cases {
            let e = parse(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{e} (wanted {want})");
        }
    }

    /// INLINE with an arm `ref` that runs at quick and full only, and a cross-arm row `c`.
    fn cross() -> String {
        INLINE.replace(
            "[sizes.smoke]",
            r#"[arms.ref]
set = ["lr.base=0.02"]
sizes = ["quick", "full"]
[arms.unused]
[sizes.smoke]"#,
        ) + r#"
[[verdict]]
id = "c"
kind = "replication"
claim = "c"
source = "s"
metric = { probe = "loss", key = "batch_loss", reduce = "last" }
over = { arm = "slow", metric = { probe = "loss", key = "batch_loss", reduce = "first" } }
minus = { arm = "ref", metric = { probe = "acc", key = "acc" }, over = { arm = "slow", metric = { probe = "acc", key = "acc" } } }
rule = "binomial95"
target = 0.25
reason = "r"
"#
    }

    #[test]
    fn arms_with_missing_user_data_are_left_out_with_their_rows() {
        let text = INLINE.replace(
            "[arms.slow]\nset = [\"lr.base=0.01\"]",
            "[arms.slow]\nset = [\"lr.base=0.01\", 'data={ kind = \"cifar10\", dir = \"/no/such/cifar\" }']\nuser_data = true",
        );
        let p = parse(&text).unwrap();
        let (runs, unavailable) = p.plan_available(Size::Quick, &[]).unwrap();
        // Row `a` reads `slow` (left out); row `b` reads `main` and still runs.
        assert_eq!(
            runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["main-seed3", "main-seed4"]
        );
        assert!(
            unavailable["slow"].contains("/no/such/cifar"),
            "{unavailable:?}"
        );
        // With the data there (any existing path), the arm runs.
        let here = std::env::temp_dir().display().to_string();
        let p = parse(&text.replace("/no/such/cifar", &here)).unwrap();
        let (runs, unavailable) = p.plan_available(Size::Quick, &[]).unwrap();
        assert!(unavailable.is_empty());
        assert_eq!(runs.len(), 4);
    }

    #[test]
    fn cross_arm_rows_run_every_arm_they_read() {
        let p = parse(&cross()).unwrap();
        let c = &p.toml.verdict[2];
        assert_eq!(c.arms(), ["main", "slow", "ref"]);
        assert_eq!(c.terms().len(), 4);
        assert_eq!(
            c.spec().metric,
            "loss/batch_loss last (arm main) / loss/batch_loss first (arm slow) \
             − (acc/acc last (arm ref) / acc/acc last (arm slow))"
        );
        assert_eq!(c.spec().rule, Some(Rule::Binomial95));
        let quick = p.plan(Size::Quick, &[]).unwrap();
        let ids: Vec<&str> = quick.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "main-seed3",
                "main-seed4",
                "ref-seed3",
                "ref-seed4",
                "slow-seed3",
                "slow-seed4"
            ]
        );
        assert_eq!(quick[0].row_ids, ["b", "c"]);
        assert_eq!(quick[2].row_ids, ["c"]);
        assert_eq!(quick[2].config.lr.base, 0.02);
        assert_eq!(quick[4].row_ids, ["a", "c"]);
        // At smoke `ref` does not run: row `c` is left out, and so are its runs.
        assert_eq!(p.row_missing_arm(c, Size::Smoke), Some("ref"));
        assert_eq!(p.row_missing_arm(c, Size::Quick), None);
        let smoke = p.plan(Size::Smoke, &[]).unwrap();
        let ids: Vec<&str> = smoke.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["main-seed3", "slow-seed3"]);
        assert_eq!(smoke[0].row_ids, ["b"]);
        assert_eq!(smoke[1].row_ids, ["a"]);
        // A one-arm row describes its metric alone.
        assert_eq!(p.toml.verdict[1].arms(), ["main"]);
    }

    #[test]
    fn across_rows_read_every_listed_arm_and_reduce_per_seed() {
        let text = INLINE.to_string()
            + r#"
[[verdict]]
id = "w"
kind = "replication"
claim = "c"
source = "s"
metric = { probe = "loss", key = "batch_loss", reduce = "last" }
across = { arms = ["slow", "main"], x = [256, 1024], fit = "log_log_slope" }
rule = "within"
target = [-0.75, -0.25]
reason = "r"
"#;
        let p = parse(&text).unwrap();
        let w = p.toml.verdict.last().unwrap();
        assert_eq!(w.arms(), ["slow", "main"]);
        assert_eq!(
            w.spec().metric,
            "slope of ln loss/batch_loss last across slow (x = 256), main (x = 1024)"
        );
        // e ∝ width^(−½): slope −½; a non-increasing series has max relative increase ≤ 0.
        let fit = w.across.as_ref().unwrap().fit;
        let slope = fit
            .apply(&[256.0, 1024.0, 4096.0], &[0.04, 0.02, 0.01])
            .unwrap();
        assert!((slope + 0.5).abs() < 1e-12, "{slope}");
        assert!(fit.apply(&[1.0, 2.0], &[0.0, 1.0]).is_err());
        let up = AcrossFit::MaxRelativeIncrease.apply(&[1.0, 2.0, 3.0], &[4.0, 2.0, 3.0]);
        assert_eq!(up.unwrap(), 0.5);
        // Errors name the row: unknown arm, mismatched x, combined with `over`.
        for (bad, why) in [
            (
                r#"arms = ["slow", "gone"]"#,
                "unknown arm `gone` in `across`",
            ),
            (r#"arms = ["slow"]"#, "at least two arms"),
        ] {
            let t = text.replace(r#"arms = ["slow", "main"]"#, bad);
            let e = parse(&t).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
        let t = text.replace(
            "across = {",
            "over = { arm = \"slow\", metric = { probe = \"loss\", key = \"batch_loss\" } }\nacross = {",
        );
        let e = parse(&t).unwrap_err().to_string();
        assert!(e.contains("does not combine"), "{e}");
    }

    #[test]
    fn bad_cross_arm_rows_and_binomial_targets_name_the_problem() {
        let text = cross();
        let cases = [
            (
                text.replace("over = { arm = \"slow\"", "over = { arm = \"fast\""),
                "verdict row `c`: unknown arm `fast` in `over`",
            ),
            (
                text.replace("minus = { arm = \"ref\"", "minus = { arm = \"nope\""),
                "verdict row `c`: unknown arm `nope` in `minus`",
            ),
            (
                text.replace(
                    "over = { arm = \"slow\", metric = { probe = \"acc\"",
                    "over = { arm = \"gone\", metric = { probe = \"acc\"",
                ),
                "unknown arm `gone` in `minus.over`",
            ),
            (
                text.replace("reduce = \"first\" } }", "reduce = \"at\" } }"),
                "`over.metric`: `reduce = \"at\"` needs `step`",
            ),
            (
                text.replace(
                    "over = { arm = \"slow\", metric",
                    "over = { arms = \"slow\", metric",
                ),
                "arms",
            ),
            (
                text.replace("target = 0.25", "target = 1.25"),
                "probability in [0, 1]",
            ),
            (
                text.replace("target = 0.25", "target = [0.1, 0.2]"),
                "rule `binomial95` needs one probability",
            ),
        ];
        for (t, want) in cases {
            assert_ne!(t, text, "{want}: the replacement did nothing");
            let e = parse(&t).unwrap_err().to_string();
            assert!(e.contains(want), "{e} (wanted {want})");
        }
    }

    #[test]
    fn the_demo_preset_plans_its_runs() {
        let p = Preset::embedded("demo").unwrap();
        let smoke = p.plan(Size::Smoke, &[]).unwrap();
        assert_eq!(smoke.len(), p.size(Size::Smoke).seeds.len());
        assert!(smoke.iter().all(|r| r.id.starts_with("main-seed")));
        let quick = p.plan(Size::Quick, &["lr.base=0.02".into()]).unwrap();
        assert!(quick.len() >= 3);
        assert!(quick.iter().all(|r| r.config.lr.base == 0.02));
        assert_eq!(quick[1].config.seed, p.size(Size::Quick).seeds[1]);
        assert!(Preset::embedded("nope").is_err());
    }
}
