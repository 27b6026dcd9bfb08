//! Experiments: [`runner`] turns a run configuration into a run directory (DESIGN.md §5) and
//! resumes interrupted runs; [`demo`] is the embedded default experiment; [`preset`] reads
//! reproduce presets (`experiments/<paper>-verdict.toml`), [`verdict`] defines the verdict rows
//! and their rules, [`ensembles`] the rows computed across an arm's runs (accessibility, LOC), [`phases`] the learning-phase rows of P4, and [`reproduce`](mod@reproduce) runs a preset's seeds on a local pool and writes
//! `verdict.json` / `verdict.md` (DESIGN.md §4).

pub mod cross_cka;
pub mod demo;
pub mod ensembles;
pub mod phases;
pub mod preset;
pub mod reproduce;
pub mod runner;
pub mod verdict;
pub mod virtual_participant;

pub use preset::{Preset, PresetError, Size};
pub use reproduce::{reproduce, ReproduceError, ReproduceOutcome, ReproduceRequest};
pub use runner::{resume_run, start_run, Progress, RunError, RunRequest, RunResult};
pub use verdict::{Outcome, RowKind, Rule, Target, VerdictRow};
