//! Built-in probes, one file each, and [`registry::build_probe`], which turns a `[[probes]]`
//! table of a run configuration into a probe. Probes only read the [`learnscope_train::StepCtx`]
//! they are given; a test runs every probe at every step and checks the run is unchanged.

pub mod basics;
pub mod binary;
pub mod cka;
pub mod collapse;
pub mod correctness;
pub mod critical_pc;
pub mod decisions;
pub mod discriminability;
pub mod linear_probe;
pub mod modes;
pub mod ocs;
pub mod outputs;
pub mod pc_bias;
pub mod per_example;
pub mod projected;
pub mod reconstruction;
pub mod registry;
pub mod response;
pub mod sharpness;
pub mod singular_values;
pub mod spectral_bias;
pub mod spectrum;
pub mod taps;

pub use registry::{build_probe, build_probes, ProbeConfig};
