//! Errors of the training crate.

/// What can go wrong while configuring or running training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A configuration problem: the field and what is wrong.
    #[error("config: {0}")]
    Config(String),
    /// An engine error (shapes, targets, settings).
    #[error(transparent)]
    Nn(#[from] learnscope_nn::NnError),
    /// A data file that cannot be used.
    #[error("data: {0}")]
    Data(String),
    /// The run sink (run directory) failed.
    #[error("run directory: {0}")]
    Sink(String),
    /// A checkpoint that does not fit the model.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
}
