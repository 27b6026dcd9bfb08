//! Integration tests of the engine, one module per topic.

mod alloc;
mod common;
mod determinism;
mod gemm;
mod layers;
mod losses;
mod optim;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;
