//! Integration tests of the engine, one module per topic.

mod common;
mod determinism;
mod gemm;
mod layers;
mod losses;
mod optim;
