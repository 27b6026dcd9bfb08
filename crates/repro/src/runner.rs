//! One run: configuration → run directory → trainer → status.
//!
//! `start_run` resolves the configuration, creates a fresh run directory (or the exact `--out`
//! directory, which must be empty), writes the manifest (machine facts, git commit, compiler)
//! and the resolved `config.toml`, then trains with the store as the run's sink. `resume_run`
//! reads `config.toml` back, restores the latest checkpoint (step S), truncates
//! `metrics.jsonl` to the records of steps < S, and continues; the result is byte-identical
//! to an uninterrupted run.
//!
//! The engine runs where the config's `device` key says: the CPU backend, or with the `cuda`
//! feature the CUDA backend (the trainer, probes and sink are generic over the backend; a build
//! without the feature refuses `device = "cuda:N"` with an error that says how to rebuild).
//!
//! Exit codes (DESIGN.md §4): 0 completed (also when a probe stopped the run early), 1 diverged,
//! 3 interrupted by SIGUSR1, 130 by SIGINT, 143 by SIGTERM (after writing a checkpoint).

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use learnscope_core::DType;
use learnscope_nn::{Backend, CpuBackend};
use learnscope_probes::build_probes;
use learnscope_store::{
    create_exact_run_dir, create_run_dir, sha256_file, Manifest, MetricRecord, RunReader,
    RunStatus, RunWriter, StoreError, StoredDType, TensorEntry, ENSEMBLE_FILE,
};
use learnscope_train::config::{Device, RunConfig};
use learnscope_train::plan::build_parts;
use learnscope_train::{
    Metric, NamedTensor, RunOutcome, RunSink, StopSignal, TrainError, TrainState, Trainer,
};

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Configuration or training error.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// Run directory error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configured device cannot be used (no `cuda` feature, no driver, no such GPU).
    #[error("device `{device}`: {why}")]
    Device {
        /// The `device` value.
        device: String,
        /// Why, and what to do.
        why: String,
    },
    /// A run directory that cannot be resumed.
    #[error("cannot resume {dir}: {why}")]
    Resume {
        /// The directory.
        dir: PathBuf,
        /// Why.
        why: String,
    },
}

/// What to run and where.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The resolved configuration.
    pub config: RunConfig,
    /// Exact output directory (`--out`); must be new or empty.
    pub out: Option<PathBuf>,
    /// Parent of generated run directories (default `runs`).
    pub runs_root: PathBuf,
    /// For runs made by `reproduce`: the manifest's `reproduce` field (`{name, row_ids, …}`),
    /// written with the first manifest so an interrupted run carries it too.
    pub reproduce: Option<serde_json::Value>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The run directory.
    pub dir: PathBuf,
    /// What the trainer reported.
    pub outcome: RunOutcome,
    /// The manifest status.
    pub status: RunStatus,
    /// The process exit code for this outcome.
    pub exit_code: i32,
    /// Steps per second of this invocation (wall clock).
    pub steps_per_second: f64,
    /// For an ensemble (`members = N`): each member's result, its run directory
    /// `<dir>/member-<i>`; the fields above then summarise them (the worst status and exit
    /// code, the first member's outcome unless one did not complete).
    pub members: Vec<RunResult>,
}

/// Progress callback: (step, total steps, training-batch loss).
pub type Progress = Box<dyn FnMut(u64, u64, f64)>;

/// The store as the trainer's sink.
struct StoreSink {
    writer: RunWriter,
    progress: Option<Progress>,
}

fn stored(n: NamedTensor) -> TensorEntry {
    TensorEntry {
        name: n.name,
        dtype: StoredDType::from(n.dtype),
        shape: n.shape,
        data: n.bytes,
    }
}

fn named(e: TensorEntry) -> Result<NamedTensor, String> {
    let dtype = match e.dtype {
        StoredDType::F32 => DType::F32,
        StoredDType::F64 => DType::F64,
        other => {
            return Err(format!(
                "tensor `{}` has dtype {}, expected F32 or F64",
                e.name,
                other.name()
            ))
        }
    };
    Ok(NamedTensor {
        name: e.name,
        dtype,
        shape: e.shape,
        bytes: e.data,
    })
}

impl RunSink for StoreSink {
    fn record(&mut self, step: u64, epoch: u64, m: Metric) -> Result<(), String> {
        let rec = MetricRecord {
            step,
            epoch: epoch as u32,
            probe: m.probe,
            key: m.key,
            split: m.split,
            layer: m.layer,
            index: m.index,
            index2: m.index2,
            value: m.value,
        };
        self.writer.record(&rec).map_err(|e| e.to_string())
    }
    fn end_step(&mut self, _step: u64) -> Result<(), String> {
        self.writer.flush().map_err(|e| e.to_string())
    }
    fn checkpoint(
        &mut self,
        step: u64,
        tensors: Vec<NamedTensor>,
        state: serde_json::Value,
    ) -> Result<(), String> {
        let entries: Vec<TensorEntry> = tensors.into_iter().map(stored).collect();
        self.writer
            .checkpoint(step, &entries, &state)
            .map_err(|e| e.to_string())
    }
    fn step_done(&mut self, step: u64, steps: u64, batch_loss: f64) {
        if let Some(p) = &mut self.progress {
            p(step, steps, batch_loss);
        }
    }
    fn timing(&mut self, step: u64, key: &str, seconds: f64) {
        // Wall-clock figures are best effort: losing one must not fail a run.
        let _ = self.writer.timing(step, key, seconds);
    }
}

fn backend(cfg: &RunConfig) -> CpuBackend {
    if cfg.threads == 0 {
        CpuBackend::default()
    } else {
        CpuBackend::new(cfg.threads)
    }
}

/// What a build without the `cuda` feature says to `device = "cuda:N"`.
pub const NO_CUDA_FEATURE: &str = "learnscope was built without the `cuda` feature; rebuild with \
     `cargo build --release -p learnscope --features cuda`";

/// The CUDA backend on GPU `ordinal`.
#[cfg(feature = "cuda")]
fn cuda_backend(ordinal: usize) -> Result<learnscope_nn::CudaBackend, RunError> {
    learnscope_nn::CudaBackend::new(ordinal).map_err(|e| RunError::Device {
        device: Device::Cuda { ordinal }.to_string(),
        why: e.to_string(),
    })
}

/// Runs `$body` with `$be` bound to the backend of the config's `device` (a CPU backend, or a
/// CUDA backend with the `cuda` feature); the body is generic code instantiated per backend.
macro_rules! on_device {
    ($cfg:expr, $be:ident => $body:expr) => {{
        let cfg: &RunConfig = $cfg;
        match cfg.device()? {
            Device::Cpu => {
                let $be = backend(cfg);
                $body
            }
            #[cfg(feature = "cuda")]
            Device::Cuda { ordinal } => {
                let $be = cuda_backend(ordinal)?;
                $body
            }
            #[cfg(not(feature = "cuda"))]
            device @ Device::Cuda { .. } => Err(RunError::Device {
                device: device.to_string(),
                why: NO_CUDA_FEATURE.into(),
            }),
        }
    }};
}

fn status_of(outcome: &RunOutcome) -> (RunStatus, i32) {
    match outcome {
        RunOutcome::Completed { .. } | RunOutcome::Stopped { .. } => (RunStatus::Completed, 0),
        RunOutcome::Diverged { .. } => (RunStatus::Diverged, 1),
        RunOutcome::Interrupted { signal, .. } => (
            RunStatus::Interrupted,
            match *signal {
                2 => 130,
                15 => 143,
                _ => 3,
            },
        ),
    }
}

/// Trains with `trainer` into `writer` and finishes the manifest.
fn drive<B: Backend>(
    mut trainer: Trainer<B>,
    writer: RunWriter,
    stop: &StopSignal,
    progress: Option<Progress>,
) -> Result<RunResult, RunError> {
    let dir = writer.dir().to_path_buf();
    let first = trainer.step();
    let mut sink = StoreSink { writer, progress };
    let start = Instant::now();
    let result = trainer.run(&mut sink, stop);
    let secs = start.elapsed().as_secs_f64();
    let steps = trainer.step().saturating_sub(first).max(1);
    sink.timing(trainer.step(), "wall_seconds", secs);
    sink.timing(trainer.step(), "seconds_per_step", secs / steps as f64);
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            let msg = e.to_string();
            sink.writer.finish(RunStatus::Failed, Some(msg))?;
            return Err(e.into());
        }
    };
    let (status, exit_code) = status_of(&outcome);
    if let RunOutcome::Stopped { reason, .. } = &outcome {
        sink.writer.update_manifest(|m| {
            m.extra
                .insert("stopped".into(), serde_json::Value::String(reason.clone()));
        })?;
    }
    let error = match &outcome {
        RunOutcome::Diverged { step } => Some(format!("non-finite training loss at step {step}")),
        _ => None,
    };
    sink.writer.finish(status, error)?;
    Ok(RunResult {
        dir,
        outcome,
        status,
        exit_code,
        steps_per_second: steps as f64 / secs.max(1e-9),
        members: Vec::new(),
    })
}

/// Finishes one member's run directory after the ensemble's loop.
fn finish_member(
    mut sink: StoreSink,
    outcome: &RunOutcome,
    secs: f64,
    steps: u64,
) -> Result<RunResult, RunError> {
    let dir = sink.writer.dir().to_path_buf();
    let at = match outcome {
        RunOutcome::Completed { .. } => steps,
        RunOutcome::Diverged { step }
        | RunOutcome::Stopped { step, .. }
        | RunOutcome::Interrupted { step, .. } => *step,
    };
    sink.timing(at, "wall_seconds", secs);
    let (status, exit_code) = status_of(outcome);
    if let RunOutcome::Stopped { reason, .. } = outcome {
        sink.writer.update_manifest(|m| {
            m.extra
                .insert("stopped".into(), serde_json::Value::String(reason.clone()));
        })?;
    }
    let error = match outcome {
        RunOutcome::Diverged { step } => Some(format!("non-finite training loss at step {step}")),
        _ => None,
    };
    sink.writer.finish(status, error)?;
    Ok(RunResult {
        dir,
        outcome: outcome.clone(),
        status,
        exit_code,
        steps_per_second: steps as f64 / secs.max(1e-9),
        members: Vec::new(),
    })
}

/// Trains an ensemble, member i into `writers[i]`, and finishes every member's manifest.
fn drive_members<B: Backend>(
    mut trainer: Trainer<B>,
    dir: PathBuf,
    writers: Vec<RunWriter>,
    stop: &StopSignal,
    mut progress: Option<Progress>,
) -> Result<RunResult, RunError> {
    let first = trainer.step();
    let mut sinks: Vec<StoreSink> = writers
        .into_iter()
        .enumerate()
        .map(|(i, writer)| StoreSink {
            writer,
            // Progress follows member 0 (all members take the same steps).
            progress: if i == 0 { progress.take() } else { None },
        })
        .collect();
    let start = Instant::now();
    let result = {
        let mut refs: Vec<&mut dyn RunSink> =
            sinks.iter_mut().map(|s| s as &mut dyn RunSink).collect();
        trainer.run_members(&mut refs, stop)
    };
    let secs = start.elapsed().as_secs_f64();
    let steps = trainer.step().saturating_sub(first).max(1);
    let outcomes = match result {
        Ok(o) => o,
        Err(e) => {
            let msg = e.to_string();
            for s in sinks {
                s.writer.finish(RunStatus::Failed, Some(msg.clone()))?;
            }
            return Err(e.into());
        }
    };
    let mut members = Vec::with_capacity(outcomes.len());
    for (sink, outcome) in sinks.into_iter().zip(&outcomes) {
        members.push(finish_member(sink, outcome, secs, steps)?);
    }
    let worst = members
        .iter()
        .max_by_key(|m| m.exit_code)
        .expect("at least one member");
    Ok(RunResult {
        dir,
        outcome: worst.outcome.clone(),
        status: worst.status,
        exit_code: worst.exit_code,
        steps_per_second: steps as f64 / secs.max(1e-9),
        members,
    })
}

fn manifest_for<B: Backend>(cfg: &RunConfig, be: &B) -> Manifest {
    let mut m = Manifest::new(cfg.name.clone(), cfg.seed);
    m.isa = be.isa();
    m.threads = be.threads();
    m.backend = be.name().to_string();
    let commit = env!("LEARNSCOPE_GIT_COMMIT");
    m.git_commit = (!commit.is_empty()).then(|| commit.to_string());
    m.git_dirty = match env!("LEARNSCOPE_GIT_DIRTY") {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let rustc = env!("LEARNSCOPE_RUSTC_VERSION");
    m.rustc_version = (!rustc.is_empty()).then(|| rustc.to_string());
    m
}

/// Runs a configuration into a new run directory; `progress` is called after every step.
pub fn start_run(
    req: &RunRequest,
    stop: &StopSignal,
    progress: Option<Progress>,
) -> Result<RunResult, RunError> {
    on_device!(&req.config, be => start_on(req, be, stop, progress))
}

fn start_on<B: Backend>(
    req: &RunRequest,
    be: B,
    stop: &StopSignal,
    progress: Option<Progress>,
) -> Result<RunResult, RunError> {
    let cfg = &req.config;
    // Build everything before creating the directory, so a bad configuration leaves nothing.
    let parts = build_parts(cfg, be.clone(), |ctx| build_probes(&cfg.probes, ctx))?;
    let toml = cfg.to_toml();
    let dir = match &req.out {
        Some(out) => create_exact_run_dir(out)?,
        None => create_run_dir(&req.runs_root, &cfg.name, &toml, SystemTime::now())?,
    };
    if let Some(n) = cfg.members {
        return start_ensemble(req, dir, n, parts, be, stop, progress);
    }
    let mut manifest = manifest_for(cfg, &be);
    manifest.reproduce = req.reproduce.clone();
    for f in parts.data.source_files() {
        manifest.data_files.push(sha256_file(f)?);
    }
    let writer = RunWriter::create(&dir, manifest, &toml)?;
    drive(Trainer::new(parts), writer, stop, progress)
}

/// An ensemble's directory: its configuration, then one run directory per member holding the
/// member's solo configuration ([`RunConfig::member_config`]), so each member directory is an
/// ordinary run (readable, reportable and resumable on its own).
#[allow(clippy::too_many_arguments)]
fn start_ensemble<B: Backend>(
    req: &RunRequest,
    dir: PathBuf,
    n: usize,
    parts: learnscope_train::TrainerParts<B>,
    be: B,
    stop: &StopSignal,
    progress: Option<Progress>,
) -> Result<RunResult, RunError> {
    let cfg = &req.config;
    let path = dir.join(ENSEMBLE_FILE);
    std::fs::write(&path, cfg.to_toml()).map_err(|e| StoreError::io("write", &path, e))?;
    let mut data_files = Vec::new();
    for f in parts.data.source_files() {
        data_files.push(sha256_file(f)?);
    }
    let mut writers = Vec::with_capacity(n);
    for i in 0..n {
        let member = cfg.member_config(i);
        let mdir = create_exact_run_dir(&dir.join(format!("member-{i}")))?;
        let mut manifest = manifest_for(&member, &be);
        manifest.reproduce = req.reproduce.clone();
        manifest.data_files = data_files.clone();
        manifest.extra.insert(
            "ensemble".into(),
            serde_json::json!({ "members": n, "member": i, "seed": cfg.seed }),
        );
        writers.push(RunWriter::create(&mdir, manifest, &member.to_toml())?);
    }
    drive_members(Trainer::new(parts), dir, writers, stop, progress)
}

/// The trainer of the run in `dir` (configuration `cfg`) restored from its checkpoint `step`,
/// on the CPU whatever the run's device (for analyses of finished runs).
pub fn restore_trainer(
    dir: &Path,
    reader: &RunReader,
    cfg: &RunConfig,
    step: u64,
) -> Result<Trainer<CpuBackend>, RunError> {
    restore_trainer_on(dir, reader, cfg, step, backend(cfg))
}

/// [`restore_trainer`] on the backend `be` (checkpoints hold host tensors, so any backend can
/// restore any run).
pub fn restore_trainer_on<B: Backend>(
    dir: &Path,
    reader: &RunReader,
    cfg: &RunConfig,
    step: u64,
    be: B,
) -> Result<Trainer<B>, RunError> {
    let (entries, state) = reader.read_checkpoint(step)?;
    let state: TrainState = serde_json::from_value(state).map_err(|e| RunError::Resume {
        dir: dir.to_path_buf(),
        why: format!("checkpoint {step} state.json: {e}"),
    })?;
    let tensors: Vec<NamedTensor> = entries
        .into_iter()
        .map(named)
        .collect::<Result<_, _>>()
        .map_err(|why| RunError::Resume {
            dir: dir.to_path_buf(),
            why,
        })?;
    let parts = build_parts(cfg, be, |ctx| build_probes(&cfg.probes, ctx))?;
    let mut trainer = Trainer::new(parts);
    trainer.restore(&tensors, &state)?;
    Ok(trainer)
}

/// Continues the run in `dir` from its latest checkpoint.
pub fn resume_run(
    dir: &Path,
    stop: &StopSignal,
    progress: Option<Progress>,
) -> Result<RunResult, RunError> {
    if dir.join(ENSEMBLE_FILE).is_file() {
        return resume_ensemble(dir, stop, progress);
    }
    let reader = RunReader::open(dir)?;
    let cfg = RunConfig::parse(&reader.config_toml, &[])?;
    let Some(step) = reader.latest_checkpoint() else {
        return Err(RunError::Resume {
            dir: dir.to_path_buf(),
            why: "it has no checkpoint; start it again with `learnscope run <dir>/config.toml`"
                .into(),
        });
    };
    if matches!(reader.manifest.status, RunStatus::Completed) {
        return Err(RunError::Resume {
            dir: dir.to_path_buf(),
            why: "the run already completed".into(),
        });
    }
    on_device!(&cfg, be => {
        let trainer = restore_trainer_on(dir, &reader, &cfg, step, be)?;
        continue_run(dir, step, trainer, stop, progress)
    })
}

/// Continues an interrupted ensemble: each member directory that has not completed, diverged
/// or stopped is resumed on its own (a member directory is an ordinary run, and the member's
/// solo continuation is bit-identical to the batched one).
fn resume_ensemble(
    dir: &Path,
    stop: &StopSignal,
    mut progress: Option<Progress>,
) -> Result<RunResult, RunError> {
    let path = dir.join(ENSEMBLE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| StoreError::io("read", &path, e))?;
    let cfg = RunConfig::parse(&text, &[])?;
    let n = cfg.members.unwrap_or(1);
    let mut members = Vec::with_capacity(n);
    for i in 0..n {
        let mdir = dir.join(format!("member-{i}"));
        let reader = RunReader::open(&mdir)?;
        let status = reader.manifest.status;
        let result = if matches!(status, RunStatus::Interrupted | RunStatus::Running) {
            resume_run(&mdir, stop, progress.take())?
        } else {
            let (_, exit_code) = match status {
                RunStatus::Diverged => (status, 1),
                _ => (status, 0),
            };
            RunResult {
                dir: mdir,
                outcome: match status {
                    RunStatus::Diverged => RunOutcome::Diverged {
                        step: reader.records().last().map_or(0, |r| r.step),
                    },
                    _ => RunOutcome::Completed {
                        final_loss: f64::NAN,
                    },
                },
                status,
                exit_code,
                steps_per_second: 0.0,
                members: Vec::new(),
            }
        };
        members.push(result);
    }
    let worst = members
        .iter()
        .max_by_key(|m| m.exit_code)
        .expect("at least one member");
    Ok(RunResult {
        dir: dir.to_path_buf(),
        outcome: worst.outcome.clone(),
        status: worst.status,
        exit_code: worst.exit_code,
        steps_per_second: 0.0,
        members,
    })
}

/// Reopens the run directory of a restored trainer and trains on.
fn continue_run<B: Backend>(
    dir: &Path,
    step: u64,
    trainer: Trainer<B>,
    stop: &StopSignal,
    progress: Option<Progress>,
) -> Result<RunResult, RunError> {
    // Records of steps < S are kept (the checkpoint holds the state before step S's update).
    let mut writer = RunWriter::resume(dir, step.saturating_sub(1))?;
    writer.update_manifest(|m| {
        if let Some(last) = m.resumed_from.last_mut() {
            *last = step;
        }
    })?;
    drive(trainer, writer, stop, progress)
}
