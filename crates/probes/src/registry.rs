//! Probe configuration: a `[[probes]]` table → a probe. Every kind is a variant with
//! `deny_unknown_fields`; `name` defaults to the kind, `schedule` to 10 log-spaced steps per
//! decade.

use learnscope_core::ProbeSchedule;
use learnscope_data::Split;
use learnscope_nn::Backend;
use learnscope_train::plan::ProbeContext;
use learnscope_train::Probe;

use crate::basics::{LossProbe, LrProbe, NormsProbe};
use crate::decisions::{Coding, DecisionsProbe, DecisionsSetup};
use crate::ocs::OcsProbe;
use crate::per_example::PerExampleProbe;
use crate::sharpness::SharpnessProbe;
use crate::singular_values::SingularValuesProbe;

/// The probes a config can name.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProbeConfig {
    /// Loss and accuracy.
    Loss {
        /// Name (default `loss`).
        name: Option<String>,
        /// When (default 10 per decade).
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// Splits evaluated in full (default `["train", "test"]`).
        #[serde(default = "default_splits")]
        splits: Vec<SplitName>,
    },
    /// The logits of every example of whole splits (small splits: P1's items).
    Outputs {
        /// Name (default `outputs`).
        name: Option<String>,
        /// When (default 10 per decade).
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// Splits (default `["train"]`).
        #[serde(default = "default_train_split")]
        splits: Vec<SplitName>,
    },
    /// Parameter, gradient and update norms.
    Norms {
        /// Name (default `norms`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
    },
    /// Per-example gradient norms and the gradient noise scale B_simple.
    PerExample {
        /// Name (default `per_example`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
    },
    /// Top Hessian eigenvalue by power iteration.
    Sharpness {
        /// Name (default `sharpness`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// Power iterations (default 20).
        #[serde(default = "default_iterations")]
        iterations: usize,
    },
    /// Distance of the responses from the optimal constant solution, and how much they depend
    /// on the input, on train, test and an out-of-distribution set (P1).
    Ocs {
        /// Name (default `ocs`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// Splits evaluated in full (default `["train", "test"]`).
        #[serde(default = "default_splits")]
        splits: Vec<SplitName>,
        /// The out-of-distribution set (default `{ kind = "gaussian", examples = 1000 }`;
        /// `{ kind = "none" }` for none).
        #[serde(default)]
        ood: crate::ocs::OodConfig,
    },
    /// TNR, hit rate, false-alarm strength and graded TNR of every output unit and tree level
    /// on whole splits (P1; see [`crate::decisions`]).
    Decisions {
        /// Name (default `decisions`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// Splits scored (default `["train", "test"]`).
        #[serde(default = "default_splits")]
        splits: Vec<SplitName>,
        /// `sigmoid` | `zero_one` | `plus_minus` | `softmax` (default from the loss).
        coding: Option<Coding>,
        /// θ (default: 0.5, or 0 for `plus_minus`).
        threshold: Option<f64>,
        /// Slope of the graded TNR (default 10).
        #[serde(default = "default_beta")]
        beta: f64,
        /// Score units whose training base rate equals θ (default false: an error).
        #[serde(default)]
        allow_ties: bool,
    },
    /// Mode strengths of a deep linear network against closed-form theory and the integrated
    /// gradient flow (P1, Saxe et al.).
    Modes {
        /// Name (default `modes`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// Modes of the centred or raw Σyx (default `auto`: centred with an output bias).
        #[serde(default)]
        target: crate::modes::ModeTarget,
        /// RK4 step of the gradient-flow prediction in flow time (default 0.01; 0 = off).
        #[serde(default = "default_flow_dt")]
        flow_dt: f64,
    },
    /// Singular values, effective and stable rank of every weight matrix.
    SingularValues {
        /// Name (default `singular_values`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// How many of the largest singular values to record (default 10).
        #[serde(default = "default_top_k")]
        top_k: usize,
    },
    /// The principal-components bias of linear networks: the compact map's distance to the
    /// least-squares map per principal component, against eq. (4) of P2, and the gradient-scale
    /// matrices (see [`crate::pc_bias`]).
    PcBias {
        /// Name (default `pc_bias`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// Directions with `d_j < rcond · d₁` are dropped (default 1e-8).
        #[serde(default = "crate::pc_bias::default_rcond")]
        rcond: f64,
    },
    /// Binary-classification dynamics: error and margin curves, time to margin and its
    /// exponents, feature responses, unit strengths and dead units, the logit flows of P3
    /// (see [`crate::binary`]).
    Binary {
        /// Name (default `binary`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// Splits evaluated in full (default `["train", "test"]`).
        #[serde(default = "default_splits")]
        splits: Vec<SplitName>,
        /// The margin z* of `at_margin` and `time_to_margin` (default 1).
        #[serde(default = "default_margin")]
        margin: f64,
    },
    /// Accuracy on the evaluation split's inputs projected onto the first P principal
    /// components of the training inputs (P2; see [`crate::projected`]).
    Projected {
        /// Name (default `projected`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// Numbers of components P (default `[1, 10, 100]`; clipped to the input size).
        #[serde(default = "crate::projected::default_dims")]
        dims: Vec<usize>,
        /// PCA of the centred inputs, projection x̄ + U_P U_Pᵀ(x − x̄) (default true);
        /// false: uncentred second moment, U_P U_Pᵀ x.
        #[serde(default = "crate::projected::default_centred")]
        centred: bool,
        /// The split whose inputs are projected (default `test`).
        #[serde(default = "crate::projected::default_split")]
        split: SplitName,
    },
    /// Per-example correctness (accessibility and LOC across an ensemble's runs).
    Correctness {
        /// Name (default `correctness`).
        name: Option<String>,
        /// When (default: the end of every epoch).
        #[serde(default = "default_epoch_end")]
        schedule: ProbeSchedule,
        /// The split (default `test`).
        #[serde(default = "crate::projected::default_split")]
        split: SplitName,
    },
    /// Spectral bias (Rahaman et al. 2019): the network output's DFT on the training grid
    /// against the target's, per frequency (see [`crate::spectral_bias`]).
    SpectralBias {
        /// Name (default `spectral_bias`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// Integer frequencies k (cycles per unit) to track (default: every k where the
        /// target's DFT is above 1e-6 of its maximum).
        #[serde(default)]
        frequencies: Option<Vec<usize>>,
        /// The spec_err level of `first_below` (default 0.5).
        #[serde(default = "crate::spectral_bias::default_threshold")]
        threshold: f64,
    },
    /// Linear CKA between taps of the probe batch and of each tap with itself at θ₀
    /// (Kornblith et al. 2019; see [`crate::cka`]).
    Cka {
        /// Name (default `cka`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// Tap names, in order (default: `input`, the `.out` tap of every top-level layer but
        /// the read-out, `logits`).
        taps: Option<Vec<String>>,
    },
    /// The critical principal component of every example of a split: the smallest number P of
    /// leading training PCs onto which the example can be projected and still be classified
    /// correctly, from there on, by a ridge least-squares classifier fitted once on the raw
    /// training data (P2; see [`crate::critical_pc`]).
    CriticalPc {
        /// Name (default `critical_pc`).
        name: Option<String>,
        /// When (recorded once, at the first due step).
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// λ = ridge · (mean eigenvalue of the training covariance) (default 1e-3).
        #[serde(default = "crate::critical_pc::default_ridge")]
        ridge: f64,
        /// P values to score (default: every P in 1..=q; clipped to q).
        grid: Option<Vec<usize>>,
        /// The split whose examples are scored (default `test`).
        #[serde(default = "crate::critical_pc::default_split")]
        split: SplitName,
    },
    /// k-nearest-neighbour label agreement of the probe batch in raw and penultimate space
    /// (P2's discriminability; see [`crate::discriminability`]).
    Discriminability {
        /// Name (default `discriminability`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
        /// Neighbours (default 10; not given by the paper).
        #[serde(default = "crate::discriminability::default_k")]
        k: usize,
    },
    /// Linear softmax probes on a frozen tap for the original task and a transfer task, trained
    /// by SGD with momentum at every due step (P4, Schneider & Prabhushankar 2024; see
    /// [`crate::linear_probe`]).
    LinearProbe {
        /// Name (default `linear_probe`).
        name: Option<String>,
        /// When (default steps 0, 2, 4, 8, …).
        #[serde(default = "crate::linear_probe::default_schedule")]
        schedule: ProbeSchedule,
        /// The activation tap (default `penultimate`).
        #[serde(default = "crate::linear_probe::default_tap")]
        tap: String,
        /// `original` and/or `transfer` (default both).
        #[serde(default = "crate::linear_probe::default_tasks")]
        tasks: Vec<crate::linear_probe::ProbeTask>,
        /// `auto` (default) | `colour_dominance` | `brightness_quantile`.
        #[serde(default)]
        transfer: crate::linear_probe::transfer::TransferTask,
        /// Bins of `brightness_quantile` (default 3).
        #[serde(default = "crate::linear_probe::default_bins")]
        bins: usize,
        /// First n training examples the probes are fitted on (default 2000).
        #[serde(default = "crate::linear_probe::default_fit_examples")]
        fit_examples: usize,
        /// First n test examples they are evaluated on (default 1000).
        #[serde(default = "crate::linear_probe::default_eval_examples")]
        eval_examples: usize,
        /// Epochs (default 20).
        #[serde(default = "crate::linear_probe::default_epochs")]
        epochs: usize,
        /// Learning rate (default 0.01).
        #[serde(default = "crate::linear_probe::default_lr")]
        lr: f64,
        /// Momentum (default 0.9).
        #[serde(default = "crate::linear_probe::default_momentum")]
        momentum: f64,
        /// Mini-batch size (default 128).
        #[serde(default = "crate::linear_probe::default_batch")]
        batch: usize,
        /// Epochs after which the learning rate is multiplied by 0.1 (default `[9, 19]`).
        #[serde(default = "crate::linear_probe::default_lr_drops")]
        lr_drops: Vec<usize>,
    },
    /// Input reconstruction from every tap by a ridge (and optionally an Adam-trained) linear
    /// decoder (P4, Schneider & Prabhushankar 2024; see [`crate::reconstruction`]).
    Reconstruction(crate::reconstruction::ReconstructionConfig),
    /// The feature map's eigen-decomposition, label-alignment counts and the MF/EF regime
    /// (P5, Nam et al. 2024; see [`crate::spectrum`]).
    Spectrum(crate::spectrum::SpectrumConfig),
    /// Neural-collapse metrics NC1–NC4 of the penultimate features (Papyan et al. 2020; see
    /// [`crate::collapse`]).
    Collapse(crate::collapse::CollapseConfig),
    /// Learning rate.
    Lr {
        /// Name (default `lr`).
        name: Option<String>,
        /// When.
        #[serde(default = "default_schedule")]
        schedule: ProbeSchedule,
    },
}

/// A split name in configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitName {
    /// `train`.
    Train,
    /// `test`.
    Test,
}

impl From<SplitName> for Split {
    fn from(s: SplitName) -> Split {
        match s {
            SplitName::Train => Split::Train,
            SplitName::Test => Split::Test,
        }
    }
}

fn default_schedule() -> ProbeSchedule {
    ProbeSchedule::LogDecade { k: 10 }
}

fn default_epoch_end() -> ProbeSchedule {
    ProbeSchedule::EpochEnd
}

fn default_flow_dt() -> f64 {
    0.01
}

fn default_top_k() -> usize {
    10
}

fn default_beta() -> f64 {
    10.0
}

fn default_iterations() -> usize {
    20
}

fn default_margin() -> f64 {
    1.0
}

fn default_train_split() -> Vec<SplitName> {
    vec![SplitName::Train]
}

fn default_splits() -> Vec<SplitName> {
    vec![SplitName::Train, SplitName::Test]
}

/// Builds every probe of a run configuration.
pub fn build_probes<B: Backend>(
    tables: &[toml::Table],
    ctx: &ProbeContext<'_>,
) -> Result<Vec<Box<dyn Probe<B>>>, String> {
    tables
        .iter()
        .enumerate()
        .map(|(i, t)| build_probe(t, i, ctx))
        .collect()
}

/// Builds the probe a `[[probes]]` table describes; `index` is its position (for messages),
/// `ctx` what the run's model, data and loss look like.
pub fn build_probe<B: Backend>(
    table: &toml::Table,
    index: usize,
    ctx: &ProbeContext<'_>,
) -> Result<Box<dyn Probe<B>>, String> {
    let cfg: ProbeConfig = toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e: toml::de::Error| format!("probes[{index}]: {}", e.to_string().trim()))?;
    let check = |s: &ProbeSchedule| {
        s.validate()
            .map_err(|e| format!("probes[{index}].schedule: {e}"))
    };
    Ok(match cfg {
        ProbeConfig::Loss {
            name,
            schedule,
            splits,
        } => {
            check(&schedule)?;
            Box::new(LossProbe {
                name: name.unwrap_or_else(|| "loss".into()),
                schedule,
                splits: splits.into_iter().map(Split::from).collect(),
            })
        }
        ProbeConfig::Outputs {
            name,
            schedule,
            splits,
        } => {
            check(&schedule)?;
            Box::new(crate::outputs::OutputsProbe {
                name: name.unwrap_or_else(|| "outputs".into()),
                schedule,
                splits: splits.into_iter().map(Split::from).collect(),
            })
        }
        ProbeConfig::Norms { name, schedule } => {
            check(&schedule)?;
            Box::new(NormsProbe {
                name: name.unwrap_or_else(|| "norms".into()),
                schedule,
            })
        }
        ProbeConfig::PerExample { name, schedule } => {
            check(&schedule)?;
            let name = name.unwrap_or_else(|| "per_example".into());
            Box::new(
                PerExampleProbe::new(name, schedule, ctx.param_names)
                    .map_err(|e| format!("probes[{index}]: {e}"))?,
            )
        }
        ProbeConfig::Sharpness {
            name,
            schedule,
            iterations,
        } => {
            check(&schedule)?;
            if iterations == 0 {
                return Err(format!("probes[{index}].iterations: must be >= 1"));
            }
            Box::new(SharpnessProbe {
                name: name.unwrap_or_else(|| "sharpness".into()),
                schedule,
                iterations,
            })
        }
        ProbeConfig::PcBias {
            name,
            schedule,
            rcond,
        } => {
            check(&schedule)?;
            Box::new(
                crate::pc_bias::PcBiasProbe::new(
                    name.unwrap_or_else(|| "pc_bias".into()),
                    schedule,
                    rcond,
                    ctx,
                )
                .map_err(|e| format!("probes[{index}]: {e}"))?,
            )
        }
        ProbeConfig::Binary {
            name,
            schedule,
            splits,
            margin,
        } => {
            check(&schedule)?;
            let setup = crate::binary::BinarySetup {
                splits: splits.into_iter().map(Split::from).collect(),
                margin,
            };
            Box::new(
                crate::binary::BinaryProbe::new(
                    name.unwrap_or_else(|| "binary".into()),
                    schedule,
                    setup,
                    ctx,
                )
                .map_err(|e| format!("probes[{index}]: {e}"))?,
            )
        }
        ProbeConfig::Ocs {
            name,
            schedule,
            splits,
            ood,
        } => {
            check(&schedule)?;
            let name = name.unwrap_or_else(|| "ocs".into());
            let key = learnscope_core::RandomKey::root(ctx.seed).derive(&format!("probe/{name}"));
            Box::new(
                OcsProbe::new(
                    name,
                    schedule,
                    ctx.loss,
                    ctx.data,
                    splits.into_iter().map(Split::from).collect(),
                    ood,
                    key,
                )
                .map_err(|e| format!("probes[{index}]: {e}"))?,
            )
        }
        ProbeConfig::Decisions {
            name,
            schedule,
            splits,
            coding,
            threshold,
            beta,
            allow_ties,
        } => {
            check(&schedule)?;
            let setup = DecisionsSetup {
                name: name.unwrap_or_else(|| "decisions".into()),
                schedule,
                splits: splits.into_iter().map(Split::from).collect(),
                coding,
                threshold,
                beta,
                allow_ties,
            };
            Box::new(
                DecisionsProbe::new(setup, ctx.data, ctx.loss)
                    .map_err(|e| format!("probes[{index}]: {e}"))?,
            )
        }
        ProbeConfig::Modes {
            name,
            schedule,
            target,
            flow_dt,
        } => {
            check(&schedule)?;
            if !ctx.model_name.starts_with("deep_linear") {
                return Err(format!(
                    "probes[{index}]: the `modes` probe needs a deep linear network, the model is `{}`",
                    ctx.model_name
                ));
            }
            if !(flow_dt >= 0.0 && flow_dt.is_finite()) {
                return Err(format!(
                    "probes[{index}].flow_dt: must be finite and >= 0 (0 = no flow), got {flow_dt}"
                ));
            }
            Box::new(
                crate::modes::ModesProbe::new(
                    name.unwrap_or_else(|| "modes".into()),
                    schedule,
                    ctx.param_names,
                    ctx.data,
                    ctx.loss,
                    ctx.lr,
                    target,
                    (flow_dt > 0.0).then_some(flow_dt),
                )
                .map_err(|e| format!("probes[{index}]: {e}"))?,
            )
        }
        ProbeConfig::SingularValues {
            name,
            schedule,
            top_k,
        } => {
            check(&schedule)?;
            Box::new(SingularValuesProbe {
                name: name.unwrap_or_else(|| "singular_values".into()),
                schedule,
                top_k,
            })
        }
        ProbeConfig::Projected {
            name,
            schedule,
            dims,
            centred,
            split,
        } => {
            check(&schedule)?;
            let setup = crate::projected::ProjectedSetup {
                dims,
                centred,
                split: split.into(),
            };
            Box::new(
                crate::projected::ProjectedProbe::new(
                    name.unwrap_or_else(|| "projected".into()),
                    schedule,
                    setup,
                    ctx.data,
                )
                .map_err(|e| format!("probes[{index}]: {e}"))?,
            )
        }
        ProbeConfig::Correctness {
            name,
            schedule,
            split,
        } => {
            check(&schedule)?;
            Box::new(
                crate::correctness::CorrectnessProbe::new(
                    name.unwrap_or_else(|| "correctness".into()),
                    schedule,
                    split.into(),
                    ctx.data,
                )
                .map_err(|e| format!("probes[{index}]: {e}"))?,
            )
        }
        ProbeConfig::SpectralBias {
            name,
            schedule,
            frequencies,
            threshold,
        } => {
            check(&schedule)?;
            let setup = crate::spectral_bias::SpectralSetup {
                frequencies,
                threshold,
            };
            Box::new(
                crate::spectral_bias::SpectralBiasProbe::new(
                    name.unwrap_or_else(|| "spectral_bias".into()),
                    schedule,
                    setup,
                    ctx.data,
                )
                .map_err(|e| format!("probes[{index}]: {e}"))?,
            )
        }
        ProbeConfig::Cka {
            name,
            schedule,
            taps,
        } => {
            check(&schedule)?;
            Box::new(
                crate::cka::CkaProbe::new(name.unwrap_or_else(|| "cka".into()), schedule, taps)
                    .map_err(|e| format!("probes[{index}].{e}"))?,
            )
        }
        ProbeConfig::CriticalPc {
            name,
            schedule,
            ridge,
            grid,
            split,
        } => {
            check(&schedule)?;
            let setup = crate::critical_pc::CriticalPcSetup {
                ridge,
                grid,
                split: split.into(),
            };
            Box::new(
                crate::critical_pc::CriticalPcProbe::new(
                    name.unwrap_or_else(|| "critical_pc".into()),
                    schedule,
                    setup,
                    ctx.data,
                )
                .map_err(|e| format!("probes[{index}]: {e}"))?,
            )
        }
        ProbeConfig::Discriminability { name, schedule, k } => {
            check(&schedule)?;
            Box::new(
                crate::discriminability::DiscriminabilityProbe::new(
                    name.unwrap_or_else(|| "discriminability".into()),
                    schedule,
                    k,
                    ctx.data,
                )
                .map_err(|e| format!("probes[{index}]: {e}"))?,
            )
        }
        ProbeConfig::LinearProbe {
            name,
            schedule,
            tap,
            tasks,
            transfer,
            bins,
            fit_examples,
            eval_examples,
            epochs,
            lr,
            momentum,
            batch,
            lr_drops,
        } => {
            check(&schedule)?;
            let name = name.unwrap_or_else(|| "linear_probe".into());
            let key = learnscope_core::RandomKey::root(ctx.seed).derive(&format!("probe/{name}"));
            let setup = crate::linear_probe::LinearProbeSetup {
                tap,
                tasks,
                transfer,
                bins,
                fit_examples,
                eval_examples,
                sgd: crate::linear_probe::softmax::Sgd {
                    epochs,
                    lr,
                    momentum,
                    batch,
                    lr_drops,
                },
            };
            Box::new(
                crate::linear_probe::LinearProbe::new(name, schedule, setup, ctx.data, key)
                    .map_err(|e| format!("probes[{index}]: {e}"))?,
            )
        }
        ProbeConfig::Spectrum(cfg) => Box::new(
            crate::spectrum::SpectrumProbe::new(cfg, ctx.data)
                .map_err(|e| format!("probes[{index}]: {e}"))?,
        ),
        ProbeConfig::Collapse(cfg) => Box::new(
            crate::collapse::CollapseProbe::new(cfg, ctx.data)
                .map_err(|e| format!("probes[{index}]: {e}"))?,
        ),
        ProbeConfig::Reconstruction(cfg) => Box::new(
            crate::reconstruction::ReconstructionProbe::new(cfg, ctx.data, ctx.seed)
                .map_err(|e| format!("probes[{index}]: {e}"))?,
        ),
        ProbeConfig::Lr { name, schedule } => {
            check(&schedule)?;
            Box::new(LrProbe {
                name: name.unwrap_or_else(|| "lr".into()),
                schedule,
            })
        }
    })
}
