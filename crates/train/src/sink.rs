//! Where a run's records go: the run directory implements [`RunSink`] (learnscope-store via the
//! runner); tests use in-memory sinks. Keeping the trainer behind this trait keeps it free of
//! file formats.

use learnscope_core::DType;

use crate::probe::Metric;

/// A tensor as stored in a checkpoint: little-endian bytes in PyTorch's layout.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// `layers.0.weight`, `opt/layers.0.weight/exp_avg`, …
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Vec<usize>,
    /// Little-endian element bytes.
    pub bytes: Vec<u8>,
}

/// Receives a run's metrics and checkpoints.
pub trait RunSink {
    /// One metric observed at `step` (in `epoch`).
    fn record(&mut self, step: u64, epoch: u64, metric: Metric) -> Result<(), String>;
    /// The end of a step that recorded something (the sink flushes, so a crash keeps it).
    fn end_step(&mut self, step: u64) -> Result<(), String>;
    /// A checkpoint of the state before step `step`'s update (resuming re-runs step `step`).
    fn checkpoint(
        &mut self,
        step: u64,
        tensors: Vec<NamedTensor>,
        state: serde_json::Value,
    ) -> Result<(), String>;
    /// A wall-clock figure (never mixed into the deterministic metrics).
    fn timing(&mut self, _step: u64, _key: &str, _seconds: f64) {}
    /// Called after every step with its training-batch loss (for progress displays).
    fn step_done(&mut self, _step: u64, _steps: u64, _batch_loss: f64) {}
}
