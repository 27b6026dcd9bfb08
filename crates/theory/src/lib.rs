//! Closed-form learning dynamics in plain `f64` (DESIGN.md §2): no tensors, builds in seconds.
//!
//! Conventions (SCIENCE.md §1, DESIGN.md §6): the loss `mse` is ½ · mean over examples of the
//! sum over outputs, so full-batch gradient descent with step η is the Euler discretisation of
//! gradient flow with τ = 1/η and time t = η · steps (`Reduction::Mean`); with a sum over
//! examples (`Reduction::Sum`) the gradient is P times larger and t = η · P · steps.
//! **Every curve function in this crate is in flow time t with τ = 1**; convert step counts
//! with [`flow_time`].

pub mod bias;
pub mod binary;
pub mod deep;
pub mod error;
pub mod flow;
pub mod linalg;
pub mod moments;
pub mod ocs;
pub mod pc_bias;
pub mod reduction;
pub mod saxe;

pub use binary::{BinaryLoss, BinaryModel, LogitFlow, Penalty, StarvationModel};
pub use deep::{deep_half_time, deep_learning_time, deep_mode, DeepModeCurve};
pub use error::TheoryError;
pub use flow::{effective_map, DeepLinearFlow};
pub use linalg::Svd;
pub use moments::Moments;
pub use ocs::{decoupled_prediction, LinearPrediction, OcsPair};
pub use reduction::{flow_time, Reduction};
