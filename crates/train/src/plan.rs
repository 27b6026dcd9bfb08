//! From a validated [`RunConfig`] to the parts of a [`Trainer`]: the data set (generated from the
//! seed), the model (initialised from `init/<param>` keys), loss, optimizer and sampler.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use learnscope_core::RandomKey;
use learnscope_data::formats::csv::CsvLabel;
use learnscope_data::named::{
    default_fashion_mnist_dir, CifarLabels, CifarSpec, CsvDataSpec, FileTargets, IdxSpec,
    NpyDataSpec,
};
use learnscope_data::synthetic::gaussian_teacher::{GaussianTeacherSpec, Spectrum};
use learnscope_data::synthetic::separable::SeparableSpec;
use learnscope_data::transform::apply_transforms;
use learnscope_data::{
    Dataset, EpochSampler, HierarchyInputs, HierarchySpec, InMemoryDataset, Split, TargetKind,
};
use learnscope_models::{DeepLinearConfig, DeepLinearInit, Ensemble, MlpConfig, MlpInit, Model};
use learnscope_nn::loss::{HostTargets, Loss};
use learnscope_nn::optim::Optimizer;
use learnscope_nn::Backend;

use crate::config::{
    CifarLabelsConfig, CsvLabelConfig, DataConfig, FileTargetsConfig, HierarchyInputKind,
    ModelConfig, RunConfig,
};
use crate::probe::Probe;
use crate::trainer::TrainerParts;
use crate::TrainError;

/// The data set a configuration describes: the source, then `[[transforms]]` in order (seeded
/// transforms draw from `transforms/<index>` under the root key of the data seed, `data_seed`
/// or else the run's `seed`).
pub fn build_data(cfg: &RunConfig) -> Result<Arc<dyn Dataset>, TrainError> {
    let source = source_data(cfg)?;
    if cfg.transforms.is_empty() {
        return Ok(Arc::new(source));
    }
    let key = RandomKey::root(cfg.data_seed());
    let out = apply_transforms(source, &cfg.transforms, key)
        .map_err(|e| TrainError::Data(e.to_string()))?;
    Ok(Arc::new(out))
}

/// The data set before transforms.
fn source_data(cfg: &RunConfig) -> Result<InMemoryDataset, TrainError> {
    let key = RandomKey::root(cfg.data_seed());
    let data_key = key.derive("data");
    Ok(match &cfg.data {
        DataConfig::Hierarchy {
            branching,
            depth,
            root,
            scale_inputs,
            centre_inputs,
            inputs,
            feature_dim,
        } => {
            let spec = HierarchySpec {
                branching: *branching,
                depth: *depth,
                root: *root,
                scale_inputs: *scale_inputs,
                centre_inputs: *centre_inputs,
                inputs: match inputs {
                    HierarchyInputKind::OneHot => HierarchyInputs::OneHot,
                    HierarchyInputKind::Random => HierarchyInputs::Random { dim: *feature_dim },
                },
            };
            spec.build_with_key(data_key)?
                .dataset(&format!("hierarchy[b={branching}, d={depth}]"))
        }
        DataConfig::GaussianTeacher {
            dim,
            outputs,
            train,
            test,
            alpha,
            scale,
            rotate,
            noise_std,
            teacher_scale,
        } => GaussianTeacherSpec {
            dim: *dim,
            outputs: *outputs,
            train: *train,
            test: *test,
            spectrum: Spectrum::PowerLaw {
                alpha: *alpha,
                scale: *scale,
            },
            rotate: *rotate,
            noise_std: *noise_std,
            teacher_scale: *teacher_scale,
        }
        .build(key)?,
        DataConfig::FashionMnist {
            dir,
            limit_train,
            limit_test,
        } => {
            let dir = dir
                .as_ref()
                .map_or_else(default_fashion_mnist_dir, PathBuf::from);
            idx_data(
                IdxSpec::mnist_layout("fashion_mnist", &dir),
                *limit_train,
                *limit_test,
            )?
        }
        DataConfig::Mnist {
            dir,
            limit_train,
            limit_test,
        } => idx_data(
            IdxSpec::mnist_layout("mnist", Path::new(dir)),
            *limit_train,
            *limit_test,
        )?,
        DataConfig::Idx {
            train_images,
            train_labels,
            test_images,
            test_labels,
            classes,
            scale,
            limit_train,
            limit_test,
        } => idx_data(
            Ok(IdxSpec {
                name: "idx".into(),
                train_images: train_images.into(),
                train_labels: train_labels.into(),
                test_images: test_images.into(),
                test_labels: test_labels.into(),
                classes: *classes,
                scale: *scale,
                limit_train: None,
                limit_test: None,
            }),
            *limit_train,
            *limit_test,
        )?,
        DataConfig::Separable {
            dim,
            train,
            test,
            margin,
        } => SeparableSpec {
            dim: *dim,
            train: *train,
            test: *test,
            margin: *margin,
        }
        .build(key)?,
        DataConfig::Cifar10 {
            dir,
            limit_train,
            limit_test,
        } => CifarSpec {
            limit_train: *limit_train,
            limit_test: *limit_test,
            ..CifarSpec::cifar10(Path::new(dir))
        }
        .load()
        .map_err(data_error)?,
        DataConfig::Cifar100 {
            dir,
            labels,
            limit_train,
            limit_test,
        } => {
            let labels = match labels {
                CifarLabelsConfig::Fine => CifarLabels::Fine,
                CifarLabelsConfig::Coarse => CifarLabels::Coarse,
            };
            CifarSpec {
                limit_train: *limit_train,
                limit_test: *limit_test,
                ..CifarSpec::cifar100(Path::new(dir), labels)
            }
            .load()
            .map_err(data_error)?
        }
        DataConfig::Npy {
            train_x,
            train_y,
            test_x,
            test_y,
            targets,
            classes,
            scale,
            limit_train,
            limit_test,
        } => NpyDataSpec {
            targets: file_targets(*targets, *classes),
            scale: *scale,
            limit_train: *limit_train,
            limit_test: *limit_test,
            ..NpyDataSpec::new("npy", train_x, train_y, test_x, test_y)
        }
        .load()
        .map_err(data_error)?,
        DataConfig::Csv {
            train,
            test,
            label,
            header,
            delimiter,
            targets,
            classes,
            limit_train,
            limit_test,
        } => {
            let label = match label {
                None => CsvLabel::Last,
                Some(CsvLabelConfig::Index(i)) => CsvLabel::Index(*i),
                Some(CsvLabelConfig::Name(n)) => CsvLabel::Name(n.clone()),
            };
            let delimiter = match delimiter.as_bytes() {
                [b] if b.is_ascii() => *b,
                _ => {
                    return Err(TrainError::Config(format!(
                        "`data.delimiter` = {delimiter:?} breaks the rule `one ASCII character`"
                    )))
                }
            };
            CsvDataSpec {
                label,
                header: *header,
                delimiter,
                targets: file_targets(*targets, *classes),
                limit_train: *limit_train,
                limit_test: *limit_test,
                ..CsvDataSpec::new("csv", Path::new(train), Path::new(test))
            }
            .load()
            .map_err(data_error)?
        }
        DataConfig::Mnist1d(spec) => spec.generate(data_key)?,
        DataConfig::GaussianMixture(spec) => spec.generate(data_key)?,
        DataConfig::NonlinearTeacher(spec) => spec.generate(data_key)?,
        DataConfig::Sinusoid(spec) => spec.generate(data_key)?,
        DataConfig::TwoMoons(spec) => spec.generate(data_key)?,
        DataConfig::BinaryFeatures(spec) => spec.build(data_key)?,
    })
}

fn data_error(e: impl std::fmt::Display) -> TrainError {
    TrainError::Data(e.to_string())
}

fn file_targets(targets: FileTargetsConfig, classes: Option<usize>) -> FileTargets {
    match targets {
        FileTargetsConfig::Classes => FileTargets::Classes { classes },
        FileTargetsConfig::Dense => FileTargets::Dense,
    }
}

fn idx_data(
    spec: Result<IdxSpec, learnscope_data::formats::idx::IdxError>,
    limit_train: Option<usize>,
    limit_test: Option<usize>,
) -> Result<InMemoryDataset, TrainError> {
    let mut spec = spec.map_err(|e| TrainError::Data(e.to_string()))?;
    spec.limit_train = limit_train;
    spec.limit_test = limit_test;
    spec.load().map_err(|e| TrainError::Data(e.to_string()))
}

/// The model a configuration describes, for `data`.
pub fn build_model<B: Backend>(
    cfg: &RunConfig,
    be: &B,
    data: &dyn Dataset,
) -> Result<Box<dyn Model<B>>, TrainError> {
    let spec = data.spec();
    let input = spec.input_size();
    let outputs = cfg.training.outputs.unwrap_or(match spec.target {
        TargetKind::Classes { classes } => classes,
        TargetKind::Dense { outputs } => outputs,
    });
    let key = RandomKey::root(cfg.seed);
    Ok(match &cfg.model {
        ModelConfig::DeepLinear { hidden, bias, init } => {
            let mut widths = vec![input];
            widths.extend(hidden);
            widths.push(outputs);
            let biases = bias.per_layer(widths.len() - 1)?;
            let init = match init {
                DeepLinearInit::DecoupledSvd { strength, centred } => {
                    let centred = centred.unwrap_or(biases.last() == Some(&true));
                    decoupled_from_data(data, input, outputs, *strength, centred)?
                }
                other => other.clone(),
            };
            let config = DeepLinearConfig {
                bias: biases,
                ..DeepLinearConfig::new(&widths, false, init, cfg.dtype)
            };
            Box::new(config.build(be, key)?.with_input_shape(&spec.input_shape)?)
        }
        ModelConfig::Mlp {
            hidden,
            activation,
            bias,
            parameterization,
            init,
        } => Box::new(
            MlpConfig {
                input,
                hidden: hidden.clone(),
                outputs,
                activation: *activation,
                bias: bias.clone(),
                parameterization: *parameterization,
                init: match init {
                    MlpInit::Aligned { strength, signs } if signs.is_empty() => MlpInit::Aligned {
                        strength: *strength,
                        signs: label_correlation_signs(data)?,
                    },
                    other => other.clone(),
                },
                dtype: cfg.dtype,
            }
            .build(be, key)?
            .with_input_shape(&spec.input_shape)?,
        ),
        ModelConfig::Cnn(c) => Box::new(c.build(be, cfg.dtype, &spec.input_shape, outputs, key)?),
        ModelConfig::Vgg(c) => Box::new(c.build(be, cfg.dtype, &spec.input_shape, outputs, key)?),
        ModelConfig::Resnet(c) => {
            Box::new(c.build(be, cfg.dtype, &spec.input_shape, outputs, key)?)
        }
    })
}

/// sign(E[y·x_k]) per input coordinate k with y = ±1 (a single output's target 1 ↦ +1,
/// 0 or −1 ↦ −1): the read-out orientation of `init = aligned` (a coordinate no example's label
/// correlates with gets +1).
fn label_correlation_signs(data: &dyn Dataset) -> Result<Vec<f64>, TrainError> {
    let targets = data.host_targets(Split::Train);
    let label_of = |i: usize| -> f64 {
        match &targets {
            HostTargets::Classes { labels, .. } => f64::from(labels[i]),
            HostTargets::Dense { .. } => targets.row(i)[0],
        }
    };
    let binary = match &targets {
        HostTargets::Classes { classes, .. } => *classes <= 2,
        HostTargets::Dense { outputs, .. } => *outputs == 1,
    };
    if !binary {
        return Err(TrainError::Config(format!(
            "model.init = aligned needs a binary task (two classes or one target), the data have {} targets per example",
            targets.width()
        )));
    }
    let (n, d) = (data.spec().train_len, data.spec().input_size());
    let mut x = Vec::with_capacity(n * d);
    data.gather_inputs(Split::Train, &(0..n).collect::<Vec<_>>(), &mut x);
    let mut corr = vec![0.0; d];
    for i in 0..n {
        let y = if label_of(i) > 0.5 { 1.0 } else { -1.0 };
        for (c, xv) in corr.iter_mut().zip(&x[i * d..(i + 1) * d]) {
            *c += y * xv;
        }
    }
    Ok(corr
        .into_iter()
        .map(|c| if c < 0.0 { -1.0 } else { 1.0 })
        .collect())
}

/// The decoupled balanced initial condition along the singular vectors of the training data's
/// Σyx = E\[y xᵀ\] (with `centred`, E\[(y − ȳ) xᵀ\]), keeping the modes with s > 1e-10·s_max
/// (SCIENCE.md §C.1; P1.4 (b) uses the centred one, P1.4 (c) the raw one).
fn decoupled_from_data(
    data: &dyn Dataset,
    input: usize,
    outputs: usize,
    strength: f64,
    centred: bool,
) -> Result<DeepLinearInit, TrainError> {
    let targets = data.host_targets(Split::Train);
    if targets.width() != outputs || data.spec().input_size() != input {
        return Err(TrainError::Config(format!(
            "model.init = decoupled_svd: the data have {} inputs and {} targets per example, the network {input} inputs and {outputs} outputs",
            data.spec().input_size(),
            targets.width()
        )));
    }
    let bad = |e: learnscope_theory::TheoryError| {
        TrainError::Config(format!("model.init = decoupled_svd: {e}"))
    };
    let moments = train_moments(data).map_err(bad)?;
    let sigma = if centred {
        moments.centred_sigma_yx()
    } else {
        moments.sigma_yx.clone()
    };
    let svd = learnscope_theory::linalg::Svd::new(&sigma, outputs, input, 1e-10).map_err(bad)?;
    if svd.rank == 0 {
        return Err(TrainError::Config(
            "model.init = decoupled_svd: Σyx is zero (no mode to align with)".into(),
        ));
    }
    Ok(DeepLinearInit::Decoupled {
        u: svd.u,
        v: svd.v,
        rank: svd.rank,
        strength,
    })
}

/// The moments (x̄, ȳ, Σxx, Σyx, E‖y‖²) of the training split, targets as the loss reads them
/// (one-hot for class labels): all that the squared-loss dynamics of a linear network depend on.
pub fn train_moments(
    data: &dyn Dataset,
) -> Result<learnscope_theory::Moments, learnscope_theory::TheoryError> {
    let n = data.spec().train_len;
    let d = data.spec().input_size();
    let mut x = Vec::with_capacity(n * d);
    data.gather_inputs(Split::Train, &(0..n).collect::<Vec<_>>(), &mut x);
    let targets = data.host_targets(Split::Train);
    let y: Vec<f64> = (0..n).flat_map(|i| targets.row(i)).collect();
    learnscope_theory::Moments::from_data(&x, &y, n, d, targets.width())
}

/// What probe constructors may look at.
pub struct ProbeContext<'a> {
    /// The model's parameter names, in order.
    pub param_names: &'a [String],
    /// The data set.
    pub data: &'a dyn Dataset,
    /// The training loss.
    pub loss: &'a Loss,
    /// The learning-rate schedule (probes that convert steps to gradient-flow time).
    pub lr: &'a learnscope_core::LrSchedule,
    /// The run's root seed (probes derive their keys from it: `probe/<name>`).
    pub seed: u64,
    /// The model's name (`ModelSpec::name`, e.g. `deep_linear[8-16-15]`).
    pub model_name: &'a str,
}

/// All parts of a trainer for `cfg` on backend `be`; `make_probes` builds the probes (called
/// once per network, with that network's context: an ensemble member's seed is its own). With `members = N` the
/// model is an [`Ensemble`] of the networks of [`RunConfig::member_config`]`(0 … N−1)`: one data
/// set, one batch order, N initialisations.
pub fn build_parts<B: Backend>(
    cfg: &RunConfig,
    be: B,
    mut make_probes: impl FnMut(&ProbeContext<'_>) -> Result<Vec<Box<dyn Probe<B>>>, String>,
) -> Result<TrainerParts<B>, TrainError> {
    cfg.validate()?;
    let data = build_data(cfg)?;
    let loss = cfg.loss.loss();
    let networks: Vec<RunConfig> = match cfg.members {
        None => vec![cfg.clone()],
        Some(n) => (0..n).map(|i| cfg.member_config(i)).collect(),
    };
    let mut models = Vec::with_capacity(networks.len());
    let mut probes = Vec::with_capacity(networks.len());
    for net in &networks {
        let model = build_model(net, &be, data.as_ref())?;
        let list = make_probes(&ProbeContext {
            param_names: &model.param_names(),
            data: data.as_ref(),
            loss: &loss,
            lr: &net.lr,
            seed: net.seed,
            model_name: &model.spec().name,
        })
        .map_err(TrainError::Config)?;
        let mut names: Vec<&str> = list.iter().map(|p| p.name()).collect();
        names.sort();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(TrainError::Config(format!(
                "two probes are named `{}`; give one a `name`",
                w[0]
            )));
        }
        models.push(model);
        probes.push(list);
    }
    let model: Box<dyn Model<B>> = if cfg.members.is_none() {
        models.pop().expect("one network")
    } else {
        let keys = networks.iter().map(|n| RandomKey::root(n.seed)).collect();
        Box::new(Ensemble::new(models, keys)?)
    };
    let key = RandomKey::root(cfg.seed);
    // The batch order has its own root when `sampler_seed` is set (by default it is `seed`'s).
    let sampler = EpochSampler::new(
        data.spec().train_len,
        cfg.training.batch_size,
        cfg.training.shuffle,
        cfg.training.drop_last,
        RandomKey::root(cfg.sampler_seed()),
    );
    Ok(TrainerParts {
        dtype: cfg.dtype,
        model,
        data,
        sampler,
        loss,
        optimizer: Optimizer::new(cfg.optimizer.clone())?,
        lr: cfg.lr.clone(),
        probes,
        key,
        steps: cfg.steps,
        checkpoint_every: cfg.checkpoint.every,
        eval_chunk: cfg.training.eval_batch_size,
        probe_batch: (
            if cfg.training.probe_batch.split == "train" {
                Split::Train
            } else {
                Split::Test
            },
            cfg.training.probe_batch.size,
        ),
        be,
    })
}
