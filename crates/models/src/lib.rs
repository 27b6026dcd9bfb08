//! The model zoo. A model is a tree of `learnscope-nn` layers wrapped in a [`Network`], which
//! implements the [`Model`] trait of DESIGN.md §3: one forward pass returns the logits and every
//! activation a probe asked for (taps), one backward pass fills the parameter gradients and
//! returns the requested gradient taps. Initialisation is host-side and seeded
//! (`init/<param name>` under the run's root key), so the same seed gives the same network on
//! every backend.

pub mod cnn;
pub mod conformance;
mod conv_parts;
pub mod deep_linear;
mod ensemble;
pub mod head_init;
pub mod init;
pub mod mlp;
mod model;
mod network;
pub mod resnet;
pub mod vgg;

pub use cnn::{CnnConfig, ConvBlockConfig, PoolConfig, PoolKind, Readout};
pub use conformance::check_model;
pub use conv_parts::ConvInit;
pub use deep_linear::{BiasName, BiasPlacement, DeepLinearConfig, DeepLinearInit};
pub use ensemble::Ensemble;
pub use head_init::HeadInit;
pub use mlp::{MlpConfig, MlpInit, Parameterization};
pub use model::{Forward, Model, ModelSpec, TapRequest, Taps};
pub use network::Network;
pub use resnet::ResNetConfig;
pub use vgg::{VggConfig, VggVariant};
