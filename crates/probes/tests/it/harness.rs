//! Shared pieces of the probe tests: a complete run, probes due at every step, exact resume.

use learnscope_nn::CpuBackend;
use learnscope_probes::build_probes;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;
use learnscope_train::{RunOutcome, StopSignal, TrainState, Trainer};

use crate::sink::MemorySink;

/// Trains `cfg` to completion (with its probes when `probes`), returning the records and the
/// final parameters as bit patterns.
pub fn run(cfg: &RunConfig, probes: bool) -> (MemorySink, Vec<u64>) {
    let tables = if probes {
        cfg.probes.clone()
    } else {
        Vec::new()
    };
    let mut t = Trainer::new(
        build_parts(cfg, CpuBackend::new(1), |ctx| build_probes(&tables, ctx)).unwrap(),
    );
    let mut sink = MemorySink::default();
    let out = t.run(&mut sink, &StopSignal::default()).unwrap();
    assert!(matches!(out, RunOutcome::Completed { .. }), "{out:?}");
    let be = CpuBackend::new(1);
    let mut bits = Vec::new();
    t.model()
        .visit_params(&mut |p| bits.extend(p.value.to_host_f64(&be).into_iter().map(f64::to_bits)));
    (sink, bits)
}

/// `cfg` with every probe due at every step.
pub fn every_step(cfg: &RunConfig) -> RunConfig {
    let mut every = cfg.clone();
    for p in &mut every.probes {
        p.insert(
            "schedule".into(),
            toml::Value::Table(toml::toml! { kind = "every"
            n = 1 }),
        );
    }
    every
}

/// Resumes `cfg` from the first checkpoint of `full` (an uninterrupted run of `cfg` with its
/// probes), checks that the resumed records equal `full`'s from that step on, bit for bit, and
/// returns the resumed run's records.
pub fn assert_resumes_exactly(cfg: &RunConfig, full: &MemorySink, at: u64) -> MemorySink {
    let (step, tensors, state) = full.checkpoints[0].clone();
    assert_eq!(step, at);
    let state: TrainState = serde_json::from_value(state).unwrap();
    let tables = cfg.probes.clone();
    let mut resumed = Trainer::new(
        build_parts(cfg, CpuBackend::new(1), |ctx| build_probes(&tables, ctx)).unwrap(),
    );
    resumed.restore(&tensors, &state).unwrap();
    let mut sink = MemorySink::default();
    resumed.run(&mut sink, &StopSignal::default()).unwrap();
    let tail: Vec<String> = full
        .fingerprint()
        .into_iter()
        .filter(|r| r.split(' ').next().unwrap().parse::<u64>().unwrap() >= at)
        .collect();
    let got = sink.fingerprint();
    if let Some((i, (a, b))) = got.iter().zip(&tail).enumerate().find(|(_, (a, b))| a != b) {
        panic!("record {i} differs: {a} vs {b}");
    }
    assert_eq!(got.len(), tail.len());
    sink
}
