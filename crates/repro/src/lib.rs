//! Experiments: [`runner`] turns a run configuration into a run directory (DESIGN.md §5) and
//! resumes interrupted runs; [`demo`] is the embedded default experiment. Presets, verdict
//! tables and seed aggregation build on these.

pub mod demo;
pub mod runner;

pub use runner::{resume_run, start_run, Progress, RunError, RunRequest, RunResult};
