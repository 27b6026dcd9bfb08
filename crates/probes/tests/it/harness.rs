//! Shared pieces of the probe tests: a trainer with the configured probes, a complete run,
//! probes due at every step, read-only training, exact resume, and the errors of a bad setting.

use learnscope_nn::CpuBackend;
use learnscope_probes::build_probes;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;
use learnscope_train::{RunOutcome, StopSignal, TrainState, Trainer, TrainerParts};

use crate::sink::MemorySink;

/// The parts of `cfg` on the CPU, without probes.
pub fn parts(cfg: &RunConfig) -> TrainerParts<CpuBackend> {
    build_parts(cfg, CpuBackend::new(1), |_| Ok(Vec::new())).unwrap()
}

/// A trainer of `cfg` on the CPU with `cfg`'s probes.
pub fn trainer(cfg: &RunConfig) -> Trainer<CpuBackend> {
    let tables = cfg.probes.clone();
    Trainer::new(build_parts(cfg, CpuBackend::new(1), |ctx| build_probes(&tables, ctx)).unwrap())
}

/// The error building `cfg` with its probes fails with (`None`: it builds).
pub fn build_error(cfg: &RunConfig) -> Option<String> {
    let tables = cfg.probes.clone();
    build_parts(cfg, CpuBackend::new(1), |ctx| build_probes(&tables, ctx))
        .err()
        .map(|e| e.to_string())
}

/// The error a run of `cfg` with its probes stops with (a setting checked only at an
/// observation); panics with `expect` when the run succeeds.
pub fn run_error(cfg: &RunConfig, expect: &str) -> String {
    trainer(cfg)
        .run(&mut MemorySink::default(), &StopSignal::default())
        .expect_err(expect)
        .to_string()
}

/// Trains `with` (with its probes) and `cfg` (without any) to completion, checks that the final
/// parameters and the last checkpoint are the same bit for bit (else: `<what> changed
/// training`), and returns the records of the run with probes.
pub fn assert_read_only(with: &RunConfig, cfg: &RunConfig, what: &str) -> MemorySink {
    let (sink, pw) = run(with, true);
    let (without, po) = run(cfg, false);
    assert_eq!(pw, po, "{what} changed training");
    assert_eq!(
        sink.checkpoints.last().unwrap().1,
        without.checkpoints.last().unwrap().1
    );
    sink
}

/// Runs `t` to completion, returning it and the records.
fn complete(mut t: Trainer<CpuBackend>) -> (Trainer<CpuBackend>, MemorySink) {
    let mut sink = MemorySink::default();
    let out = t.run(&mut sink, &StopSignal::default()).unwrap();
    assert!(matches!(out, RunOutcome::Completed { .. }), "{out:?}");
    (t, sink)
}

/// Trains `cfg` with its probes to completion, returning the trainer and the records.
pub fn train(cfg: &RunConfig) -> (Trainer<CpuBackend>, MemorySink) {
    complete(trainer(cfg))
}

/// Trains `cfg` to completion (with its probes when `probes`), returning the records and the
/// final parameters as bit patterns.
pub fn run(cfg: &RunConfig, probes: bool) -> (MemorySink, Vec<u64>) {
    let (t, sink) = complete(if probes {
        trainer(cfg)
    } else {
        Trainer::new(parts(cfg))
    });
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
    let mut resumed = trainer(cfg);
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
