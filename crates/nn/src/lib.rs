//! learnscope's compute engine.
//!
//! All arithmetic goes through the [`Backend`] trait ([`CpuBackend`], and `CudaBackend` with the
//! `cuda` feature; layers do not know which). Tensors carry their element type at run time ([`DType`]);
//! kernels are generic over `f32`/`f64`. Layers ([`layer`]) have explicit `forward` (caching what
//! the backward pass needs) and `backward` (input gradient and parameter gradients), compose into
//! trees (`Sequential`, `Residual`), and expose every activation and gradient to probes by path.
//! Losses ([`loss`]) follow DESIGN.md §6 (`mse` = ½·mean over examples of the sum over outputs)
//! and report their optimal constant solution; optimizers ([`optim`]) follow PyTorch's update
//! rules so that reference scripts agree step for step.

pub mod activation;
pub mod backend;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
/// The CUDA kernel sources (built in every configuration, so their checks run without the
/// `cuda` feature; the backend that launches them is [`cuda`], feature `cuda`).
#[path = "cuda/kernels.rs"]
pub mod cuda_kernels;
pub mod element;
pub mod error;
pub mod gradcheck;
pub mod layer;
pub mod loss;
pub mod optim;
pub mod param;
pub mod spatial;
pub mod tensor;

pub use activation::Activation;
pub use backend::{Backend, Transpose};
pub use cpu::CpuBackend;
#[cfg(feature = "cuda")]
pub use cuda::{CudaBackend, CudaError};
pub use element::Element;
pub use error::NnError;
pub use layer::{ForwardCtx, Layer, Mode};
pub use learnscope_core::{DType, RandomKey};
pub use param::{Buffer, Param, ParamTree};
pub use spatial::Window2d;
pub use tensor::Tensor;
