//! The one training loop (DESIGN.md §3): a [`Trainer`] runs forward, loss, backward and the
//! optimizer update on batches from an epoch sampler, and at every due step hands a read-only
//! [`StepCtx`] to the probes, which record metrics through a [`RunSink`]. Configuration
//! ([`config`]) is TOML with `deny_unknown_fields`; `--set a.b=value` overrides apply before
//! validation.

pub mod config;
mod error;
mod eval;
pub mod plan;
mod probe;
mod sink;
mod state;
mod trainer;

pub use error::TrainError;
pub use eval::{evaluate, EvalSummary};
pub use probe::{Flow, Metric, Probe, ProbeNeeds, Recorder, StepCtx};
pub use sink::{NamedTensor, RunSink};
pub use state::TrainState;
pub use trainer::{RunOutcome, StopSignal, Trainer, TrainerParts};
