//! Integration tests of the engine, one module per topic.

mod alloc;
mod batch_norm;
mod common;
mod conv;
mod conv_determinism;
#[cfg(feature = "cuda")]
mod cuda;
mod cuda_kernels;
mod determinism;
mod dropout;
mod gemm;
mod layers;
mod losses;
mod optim;
mod pooling;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;
