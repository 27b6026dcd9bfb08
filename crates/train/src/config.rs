//! Run configuration: TOML → [`RunConfig`] → `--set` overrides → [`RunConfig::validate`].
//!
//! Every table is `deny_unknown_fields`, so a typo is an error naming the field and the allowed
//! ones. Sizes the data set fixes (model input and output widths) are not repeated in the
//! config. Probes are listed as `[[probes]]` tables with a `kind`; their own fields are checked
//! by the probe registry (learnscope-probes).

use learnscope_core::{DType, LrSchedule, RandomKey};
use learnscope_nn::loss::{Loss, LossKind, Reduction};
use learnscope_nn::optim::OptimizerConfig;
use learnscope_nn::Activation;

use learnscope_data::synthetic::binary_features::BinaryFeaturesSpec;
use learnscope_data::synthetic::gaussian_mixture::GaussianMixtureSpec;
use learnscope_data::synthetic::mnist1d::Mnist1dSpec;
use learnscope_data::synthetic::nonlinear_teacher::NonlinearTeacherSpec;
use learnscope_data::synthetic::sinusoid::SinusoidSpec;
use learnscope_data::synthetic::two_moons::TwoMoonsSpec;
use learnscope_data::transform::TransformConfig;
use learnscope_models::{
    BiasPlacement, CnnConfig, DeepLinearInit, MlpInit, Parameterization, ResNetConfig, VggConfig,
};

use crate::TrainError;

/// A whole run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Run name (part of the run directory's name).
    pub name: String,
    /// Root seed.
    #[serde(default)]
    pub seed: u64,
    /// The seed of the data set (generation and seeded `[[transforms]]`, e.g. which examples a
    /// `subset` keeps) when it must not change with `seed`: ensembles of independent networks on
    /// one fixed data set (accessibility, learning-order constancy). Default: `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_seed: Option<u64>,
    /// The seed of the batch order (the sampler's shuffles) when it must not change with
    /// `seed`: networks that differ only in their initialisation (and dropout draws) see the
    /// same batches in the same order, e.g. to separate the init's share of an ensemble's
    /// learning-order variance from the data order's, or members of one batched ensemble.
    /// Default: `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampler_seed: Option<u64>,
    /// Train this many networks as one batched ensemble ([`learnscope_models::Ensemble`]):
    /// member i is the run [`RunConfig::member_config`]`(i)` (seed derived from `member/i`,
    /// this run's data and batch order), bit for bit, written to its own run directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<usize>,
    /// Element type.
    #[serde(default = "default_dtype")]
    pub dtype: DType,
    /// Threads for the engine (0 = all cores).
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// Where the engine runs: `"cpu"` (default) or `"cuda:N"` (GPU N; needs a build with the
    /// `cuda` feature). Read it through [`RunConfig::device`].
    #[serde(default = "default_device", skip_serializing_if = "is_default_device")]
    pub device: String,
    /// Number of optimizer updates.
    pub steps: u64,
    /// The data set.
    pub data: DataConfig,
    /// Transforms and label maps applied to the data set in order (`[[transforms]]` tables with
    /// a `kind`: standardize, subset, select_classes, flatten, pca, zca, hierarchical, binary,
    /// shuffle_labels, regression).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<TransformConfig>,
    /// The model.
    pub model: ModelConfig,
    /// The loss.
    pub loss: LossConfig,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// The learning rate.
    pub lr: LrSchedule,
    /// Batching and evaluation.
    #[serde(default)]
    pub training: TrainingConfig,
    /// Checkpointing.
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    /// Probes, each a table with `kind`, `schedule` and its own fields.
    #[serde(default)]
    pub probes: Vec<toml::Table>,
}

fn default_dtype() -> DType {
    DType::F64
}
fn default_threads() -> usize {
    1
}
fn default_device() -> String {
    "cpu".into()
}
fn is_default_device(d: &str) -> bool {
    d == "cpu"
}

/// The device a run's engine uses (the `device` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The CPU backend.
    Cpu,
    /// The CUDA backend on GPU `ordinal`.
    Cuda {
        /// The device ordinal (`cuda:N`).
        ordinal: usize,
    },
}

impl Device {
    /// The allowed values, for error messages.
    pub const ALLOWED: &'static str = "\"cpu\" or \"cuda:N\" (N = 0, 1, … the GPU's index)";
}

impl std::str::FromStr for Device {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Self, TrainError> {
        if s == "cpu" {
            return Ok(Device::Cpu);
        }
        if let Some(n) = s.strip_prefix("cuda:") {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(ordinal) = n.parse() {
                    return Ok(Device::Cuda { ordinal });
                }
            }
        }
        Err(TrainError::Config(format!(
            "`device` = {s:?} is not a device: use {}",
            Device::ALLOWED
        )))
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda { ordinal } => write!(f, "cuda:{ordinal}"),
        }
    }
}

/// Which data set.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataConfig {
    /// The hierarchical category task (P1).
    Hierarchy {
        /// Children per node.
        #[serde(default = "two")]
        branching: usize,
        /// Levels below the root.
        #[serde(default = "three")]
        depth: usize,
        /// Root output unit.
        #[serde(default = "yes")]
        root: bool,
        /// Scale one-hot inputs by √P.
        #[serde(default)]
        scale_inputs: bool,
        /// Centre the inputs.
        #[serde(default)]
        centre_inputs: bool,
        /// `one_hot` item codes (default) or `random` Gaussian features.
        #[serde(default)]
        inputs: HierarchyInputKind,
        /// Length of the random features (default 32; `inputs = "random"` only).
        #[serde(default = "default_feature_dim")]
        feature_dim: usize,
    },
    /// Gaussian inputs with a power-law spectrum and a linear teacher.
    GaussianTeacher {
        /// Input dimension.
        dim: usize,
        /// Teacher outputs.
        outputs: usize,
        /// Training examples.
        train: usize,
        /// Test examples.
        test: usize,
        /// Spectrum decay α (λᵢ = scale·i^{−α}).
        #[serde(default = "one_f")]
        alpha: f64,
        /// λ₁.
        #[serde(default = "one_f")]
        scale: f64,
        /// Random eigenbasis.
        #[serde(default = "yes")]
        rotate: bool,
        /// Label noise σ.
        #[serde(default)]
        noise_std: f64,
        /// Teacher scale c (T ~ N(0, c²/d)); left out of the resolved config when 1.
        #[serde(default = "one_f", skip_serializing_if = "is_one")]
        teacher_scale: f64,
    },
    /// Fashion-MNIST from an MNIST-layout directory (default: `$LEARNSCOPE_DATA/fashion-mnist`
    /// or `/usr/share/datasets/fashion-mnist`).
    FashionMnist {
        /// The directory.
        #[serde(default)]
        dir: Option<String>,
        /// Keep the first n training examples.
        #[serde(default)]
        limit_train: Option<usize>,
        /// Keep the first n test examples.
        #[serde(default)]
        limit_test: Option<usize>,
    },
    /// MNIST from an MNIST-layout directory.
    Mnist {
        /// The directory.
        dir: String,
        /// Keep the first n training examples.
        #[serde(default)]
        limit_train: Option<usize>,
        /// Keep the first n test examples.
        #[serde(default)]
        limit_test: Option<usize>,
    },
    /// Any IDX image/label pair files.
    Idx {
        /// Training images.
        train_images: String,
        /// Training labels.
        train_labels: String,
        /// Test images.
        test_images: String,
        /// Test labels.
        test_labels: String,
        /// Number of classes.
        classes: usize,
        /// Factor applied to every pixel (default 1/255).
        #[serde(default = "default_pixel_scale")]
        scale: f64,
        /// Keep the first n training examples.
        #[serde(default)]
        limit_train: Option<usize>,
        /// Keep the first n test examples.
        #[serde(default)]
        limit_test: Option<usize>,
    },
    /// CIFAR-10 binary batches (`cifar-10-batches-bin/` or its parent); pixels scaled to [0, 1].
    Cifar10 {
        /// The directory.
        dir: String,
        /// Keep the first n training examples.
        #[serde(default)]
        limit_train: Option<usize>,
        /// Keep the first n test examples.
        #[serde(default)]
        limit_test: Option<usize>,
    },
    /// CIFAR-100 binary files (`cifar-100-binary/` or its parent); pixels scaled to [0, 1].
    Cifar100 {
        /// The directory.
        dir: String,
        /// `fine` (100 classes) or `coarse` (20 superclasses).
        #[serde(default)]
        labels: CifarLabelsConfig,
        /// Keep the first n training examples.
        #[serde(default)]
        limit_train: Option<usize>,
        /// Keep the first n test examples.
        #[serde(default)]
        limit_test: Option<usize>,
    },
    /// NumPy arrays: inputs `[n, …]`, targets `[n]` or `[n, k]`; each a `.npy` path or
    /// `file.npz:member`.
    Npy {
        /// Training inputs.
        train_x: String,
        /// Training targets.
        train_y: String,
        /// Test inputs.
        test_x: String,
        /// Test targets.
        test_y: String,
        /// `classes` (integer labels) or `dense` (real targets).
        #[serde(default)]
        targets: FileTargetsConfig,
        /// Number of classes (default: the largest label + 1).
        #[serde(default)]
        classes: Option<usize>,
        /// Factor applied to every input (e.g. 1/255 for u8 images).
        #[serde(default = "one_f")]
        scale: f64,
        /// Keep the first n training examples.
        #[serde(default)]
        limit_train: Option<usize>,
        /// Keep the first n test examples.
        #[serde(default)]
        limit_test: Option<usize>,
    },
    /// Two CSV tables with numeric feature columns and one label column.
    Csv {
        /// Training table.
        train: String,
        /// Test table.
        test: String,
        /// The label column: a header name (`"y"`) or a 0-based index (`3`); default the last.
        #[serde(default)]
        label: Option<CsvLabelConfig>,
        /// Whether the first row is a header (default: detected).
        #[serde(default)]
        header: Option<bool>,
        /// Field separator (one character).
        #[serde(default = "comma")]
        delimiter: String,
        /// `classes` (integer labels) or `dense` (real targets).
        #[serde(default)]
        targets: FileTargetsConfig,
        /// Number of classes (default: the largest label + 1).
        #[serde(default)]
        classes: Option<usize>,
        /// Keep the first n training rows.
        #[serde(default)]
        limit_train: Option<usize>,
        /// Keep the first n test rows.
        #[serde(default)]
        limit_test: Option<usize>,
    },
    /// MNIST-1D-style sequences (10 classes, length 40 by default).
    Mnist1d(Mnist1dSpec),
    /// A mixture of K Gaussian classes.
    GaussianMixture(GaussianMixtureSpec),
    /// Gaussian inputs labelled by a random two-layer teacher network.
    NonlinearTeacher(NonlinearTeacherSpec),
    /// Sinusoid regression on [0, 1) (spectral bias).
    Sinusoid(SinusoidSpec),
    /// Two interleaved half-circles.
    TwoMoons(TwoMoonsSpec),
    /// Binary classification with planted features of chosen amplitude and frequency
    /// (`layout = "exclusive"` or `"sign_coded"`); carries a feature design for probes.
    BinaryFeatures(BinaryFeaturesSpec),
    /// Linearly separable binary data.
    Separable {
        /// Input dimension.
        dim: usize,
        /// Training examples.
        train: usize,
        /// Test examples.
        test: usize,
        /// Minimum |w*·x|.
        #[serde(default)]
        margin: f64,
    },
}

/// CIFAR-100 label granularity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CifarLabelsConfig {
    /// 100 fine classes.
    #[default]
    Fine,
    /// 20 coarse superclasses.
    Coarse,
}

/// What the targets of a file data set are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileTargetsConfig {
    /// Integer class labels.
    #[default]
    Classes,
    /// Real-valued targets.
    Dense,
}

/// A CSV label column: by 0-based index (a TOML integer) or by header name (a string).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum CsvLabelConfig {
    /// Column index, from 0.
    Index(usize),
    /// Header name.
    Name(String),
}

impl DataConfig {
    /// The paths on disk this data set reads, as configured (directories for MNIST and CIFAR,
    /// files for IDX, NPY/NPZ — without a `:member` suffix — and CSV); empty for generated data
    /// and for Fashion-MNIST at its default location. Lets a caller check for data a user has
    /// to bring before starting a run.
    pub fn user_paths(&self) -> Vec<&str> {
        match self {
            DataConfig::FashionMnist { dir, .. } => dir.iter().map(String::as_str).collect(),
            DataConfig::Mnist { dir, .. }
            | DataConfig::Cifar10 { dir, .. }
            | DataConfig::Cifar100 { dir, .. } => vec![dir.as_str()],
            DataConfig::Idx {
                train_images,
                train_labels,
                test_images,
                test_labels,
                ..
            } => vec![train_images, train_labels, test_images, test_labels],
            DataConfig::Npy {
                train_x,
                train_y,
                test_x,
                test_y,
                ..
            } => [train_x, train_y, test_x, test_y]
                .into_iter()
                .map(|p| {
                    p.split_once(".npz:")
                        .map_or(p.as_str(), |(f, _)| &p[..f.len() + 4])
                })
                .collect(),
            DataConfig::Csv { train, test, .. } => vec![train, test],
            _ => Vec::new(),
        }
    }
}

fn comma() -> String {
    ",".into()
}

fn default_pixel_scale() -> f64 {
    1.0 / 255.0
}

/// How the hierarchical task presents items (`[data] inputs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HierarchyInputKind {
    /// One-hot item codes.
    #[default]
    OneHot,
    /// A fixed N(0, I/feature_dim) vector per item, drawn from the run's `data` stream.
    Random,
}

fn default_feature_dim() -> usize {
    32
}

fn two() -> usize {
    2
}
fn three() -> usize {
    3
}
fn yes() -> bool {
    true
}
fn all_biases() -> BiasPlacement {
    BiasPlacement::All(true)
}

fn is_one(v: &f64) -> bool {
    *v == 1.0
}

fn one_f() -> f64 {
    1.0
}

/// Which model (input and output widths come from the data set).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelConfig {
    /// Deep linear network.
    DeepLinear {
        /// Hidden widths.
        hidden: Vec<usize>,
        /// Which layers have a bias: `true`, `false` (default), `"output"`, `"hidden"`, or one
        /// boolean per layer.
        #[serde(default)]
        bias: BiasPlacement,
        /// Weight initialisation (`gaussian`, `orthogonal`, or `decoupled_svd` along the
        /// training data's Σyx modes).
        init: DeepLinearInit,
    },
    /// Multi-layer perceptron.
    Mlp {
        /// Hidden widths.
        hidden: Vec<usize>,
        /// Hidden activation.
        activation: Activation,
        /// Which layers have a bias: `true` (default), `false`, `"hidden"`, `"output"`, or one
        /// boolean per layer.
        #[serde(default = "all_biases")]
        bias: BiasPlacement,
        /// Parameterisation.
        #[serde(default)]
        parameterization: Parameterization,
        /// Initialisation: `default`, `gaussian { gain, bias }` or `aligned { strength }`
        /// (one hidden unit per input coordinate; SCIENCE.md §P3.3).
        #[serde(default)]
        init: MlpInit,
    },
    /// A configurable CNN: `[[model.blocks]]` of conv (+ BN) + activation (+ pool) (+ dropout),
    /// a readout (`flatten` or `global_avg`), hidden dense layers, a linear head.
    Cnn(CnnConfig),
    /// VGG-8 (P4's, five stride-2 conv–BN–ReLU blocks), VGG-11/13/16 (CIFAR-style).
    Vgg(VggConfig),
    /// CIFAR-style ResNet-10/18/34.
    Resnet(ResNetConfig),
}

/// The loss and its reduction.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LossConfig {
    /// ½‖f − y‖².
    Mse {
        /// Mean or sum over examples.
        #[serde(default)]
        reduction: Reduction,
    },
    /// Binary cross-entropy on logits.
    Bce {
        /// Mean or sum over examples.
        #[serde(default)]
        reduction: Reduction,
    },
    /// Softmax cross-entropy.
    CrossEntropy {
        /// Mean or sum over examples.
        #[serde(default)]
        reduction: Reduction,
    },
    /// CE + (λ/2)‖f‖².
    SpectralDecouplingCe {
        /// λ.
        lambda: f64,
        /// Mean or sum over examples.
        #[serde(default)]
        reduction: Reduction,
    },
    /// BCE + (λ/2)‖f‖² (spectral decoupling on binary logits).
    SpectralDecouplingBce {
        /// λ.
        lambda: f64,
        /// Mean or sum over examples.
        #[serde(default)]
        reduction: Reduction,
    },
    /// Binary hinge.
    Hinge {
        /// Mean or sum over examples.
        #[serde(default)]
        reduction: Reduction,
    },
    /// Multiclass hinge.
    MulticlassHinge {
        /// Mean or sum over examples.
        #[serde(default)]
        reduction: Reduction,
    },
}

impl LossConfig {
    /// The engine's loss.
    pub fn loss(&self) -> Loss {
        let (kind, reduction) = match *self {
            LossConfig::Mse { reduction } => (LossKind::Mse, reduction),
            LossConfig::Bce { reduction } => (LossKind::Bce, reduction),
            LossConfig::CrossEntropy { reduction } => (LossKind::CrossEntropy, reduction),
            LossConfig::SpectralDecouplingCe { lambda, reduction } => {
                (LossKind::SpectralDecouplingCe { lambda }, reduction)
            }
            LossConfig::SpectralDecouplingBce { lambda, reduction } => {
                (LossKind::SpectralDecouplingBce { lambda }, reduction)
            }
            LossConfig::Hinge { reduction } => (LossKind::Hinge, reduction),
            LossConfig::MulticlassHinge { reduction } => (LossKind::MulticlassHinge, reduction),
        };
        Loss { kind, reduction }
    }
}

/// Batching and evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Examples per batch (0 = the whole training set: gradient descent).
    #[serde(default)]
    pub batch_size: usize,
    /// Shuffle every epoch.
    #[serde(default = "yes")]
    pub shuffle: bool,
    /// Drop the last incomplete batch of an epoch.
    #[serde(default)]
    pub drop_last: bool,
    /// Examples per evaluation batch.
    #[serde(default = "default_eval_chunk")]
    pub eval_batch_size: usize,
    /// Logits per example (default: the data set's outputs or classes; 1 for a binary task
    /// trained with one logit).
    #[serde(default)]
    pub outputs: Option<usize>,
    /// The fixed probe batch: the first `size` examples of `split` (fewer if the split is
    /// smaller).
    #[serde(default)]
    pub probe_batch: ProbeBatchConfig,
}

/// Which examples form the fixed probe batch.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeBatchConfig {
    /// `train` or `test`.
    #[serde(default = "default_probe_split")]
    pub split: String,
    /// Examples.
    #[serde(default = "default_probe_size")]
    pub size: usize,
}

fn default_probe_split() -> String {
    "test".into()
}
fn default_probe_size() -> usize {
    256
}

impl Default for ProbeBatchConfig {
    fn default() -> Self {
        ProbeBatchConfig {
            split: default_probe_split(),
            size: default_probe_size(),
        }
    }
}

fn default_eval_chunk() -> usize {
    1024
}

impl Default for TrainingConfig {
    fn default() -> Self {
        TrainingConfig {
            batch_size: 0,
            shuffle: true,
            drop_last: false,
            eval_batch_size: default_eval_chunk(),
            outputs: None,
            probe_batch: ProbeBatchConfig::default(),
        }
    }
}

/// Checkpointing.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// Period in steps (0 = only at the end and on signals).
    #[serde(default)]
    pub every: u64,
}

/// Applies `a.b.c=value` overrides to a TOML document. The value is parsed as a TOML value
/// (`0.1`, `true`, `"text"`, `[1, 2]`, `{ kind = "sgd" }`); if that fails it is taken as a string.
pub fn apply_overrides(doc: &mut toml::Table, sets: &[String]) -> Result<(), TrainError> {
    for set in sets {
        let (path, raw) = set.split_once('=').ok_or_else(|| {
            TrainError::Config(format!(
                "--set `{set}`: expected KEY=VALUE (e.g. lr.base=0.05)"
            ))
        })?;
        let value = match format!("v = {raw}").parse::<toml::Table>() {
            Ok(mut t) => t.remove("v").expect("parsed key"),
            Err(_) => toml::Value::String(raw.to_string()),
        };
        let keys: Vec<&str> = path.trim().split('.').collect();
        let mut table = &mut *doc;
        for (i, k) in keys.iter().enumerate() {
            if i + 1 == keys.len() {
                table.insert(k.to_string(), value.clone());
            } else {
                let entry = table
                    .entry(k.to_string())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                table = entry.as_table_mut().ok_or_else(|| {
                    TrainError::Config(format!(
                        "--set `{set}`: `{}` is not a table",
                        keys[..=i].join(".")
                    ))
                })?;
            }
        }
    }
    Ok(())
}

impl RunConfig {
    /// The seed the data set is built from: `data_seed`, else `seed`.
    pub fn data_seed(&self) -> u64 {
        self.data_seed.unwrap_or(self.seed)
    }

    /// The seed of the batch order: `sampler_seed`, else `seed`.
    pub fn sampler_seed(&self) -> u64 {
        self.sampler_seed.unwrap_or(self.seed)
    }

    /// The seed of ensemble member `i`: the root key of `seed` derived by `member/i`, its top
    /// bit cleared (TOML integers are signed 64-bit, and the member's `config.toml` must hold it).
    pub fn member_seed(&self, i: usize) -> u64 {
        RandomKey::root(self.seed)
            .derive(&format!("member/{i}"))
            .raw()
            & (i64::MAX as u64)
    }

    /// The solo configuration of ensemble member `i`: this one without `members`, with the
    /// member's seed and this run's data seed and batch-order seed written out, so that
    /// `learnscope run` on it trains exactly the member.
    pub fn member_config(&self, i: usize) -> RunConfig {
        RunConfig {
            seed: self.member_seed(i),
            data_seed: Some(self.data_seed()),
            sampler_seed: Some(self.sampler_seed()),
            members: None,
            ..self.clone()
        }
    }

    /// Parses TOML text with overrides; errors name the field (serde's messages list the
    /// allowed fields and variants).
    pub fn parse(text: &str, sets: &[String]) -> Result<Self, TrainError> {
        let mut doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| TrainError::Config(e.to_string().trim().to_string()))?;
        apply_overrides(&mut doc, sets)?;
        let cfg: RunConfig = toml::Value::Table(doc)
            .try_into()
            .map_err(|e: toml::de::Error| TrainError::Config(e.to_string().trim().to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The resolved configuration as TOML (written into the run directory; running it again
    /// reproduces the run).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a RunConfig always serialises")
    }

    /// The device of the `device` key, or an error naming the key and the allowed values.
    pub fn device(&self) -> Result<Device, TrainError> {
        self.device.parse()
    }

    /// Checks the rules serde cannot: ranges and consistency.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |field: &str, value: String, rule: &str| {
            Err(TrainError::Config(format!(
                "`{field}` = {value} breaks the rule `{rule}`"
            )))
        };
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return bad(
                "name",
                format!("{:?}", self.name),
                "non-empty, letters, digits, - _ .",
            );
        }
        if self.steps == 0 {
            return bad("steps", "0".into(), ">= 1");
        }
        if self.members == Some(0) {
            return bad("members", "0".into(), ">= 1");
        }
        self.device()?;
        self.lr
            .validate()
            .map_err(|e| TrainError::Config(format!("lr: {e}")))?;
        self.optimizer.validate()?;
        self.loss.loss().validate()?;
        if !matches!(self.training.probe_batch.split.as_str(), "train" | "test") {
            return bad(
                "training.probe_batch.split",
                self.training.probe_batch.split.clone(),
                "train or test",
            );
        }
        if self.training.probe_batch.size == 0 {
            return bad("training.probe_batch.size", "0".into(), ">= 1");
        }
        if self.training.eval_batch_size == 0 {
            return bad("training.eval_batch_size", "0".into(), ">= 1");
        }
        for (i, p) in self.probes.iter().enumerate() {
            if !p.contains_key("kind") {
                return bad(
                    &format!("probes[{i}].kind"),
                    "missing".into(),
                    "every probe names its kind",
                );
            }
        }
        Ok(())
    }
}
