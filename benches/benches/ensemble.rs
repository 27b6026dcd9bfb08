//! Batched ensembles (`members = N`, issue 8) against the simple path they replace: N
//! independent single-thread runs, two at a time on two cores. Both sides do the whole job a
//! sweep does (build the data set and the networks, train, and evaluate the test split after
//! every epoch with P2's `correctness` probe), and both use two cores: the batched side trains
//! two ensembles of N/2 members side by side. Throughput is networks·steps per second; the
//! target is batched ≥ 0.9× solo (issue 8). Member i of an ensemble is bit-identical to its
//! solo run (`crates/cli/tests/it/ensemble.rs`), so the comparison is of speed alone.
//!
//! Workloads: P2's order arms at a smaller size (Fashion-MNIST is replaced by a 784-dimensional
//! two-class Gaussian mixture of 500 + 500 examples so the bench needs no files): an MLP
//! 784-128-2 and a two-layer linear network 784-64-2, SGD, batch 32, 64 steps (2 epochs), f32.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use learnscope_nn::CpuBackend;
use learnscope_probes::build_probes;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;
use learnscope_train::{RunSink, StopSignal, Trainer};

const MEMBERS: usize = 8;
const STEPS: u64 = 64;

fn config(model: &str) -> String {
    format!(
        r#"
name = "bench-ensemble"
dtype = "f32"
threads = 1
steps = {STEPS}
data_seed = 0
sampler_seed = 0
[data]
kind = "gaussian_mixture"
classes = 2
dim = 784
train_per_class = 250
test_per_class = 250
separation = 1.0
[model]
{model}
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
[lr]
base = 0.002
[training]
batch_size = 32
[[probes]]
kind = "correctness"
split = "test"
schedule = {{ kind = "every", n = 16 }}
"#
    )
}

/// Records nothing (the bench times training, not the disk).
struct Discard;

impl RunSink for Discard {
    fn record(&mut self, _: u64, _: u64, _: learnscope_train::Metric) -> Result<(), String> {
        Ok(())
    }
    fn end_step(&mut self, _: u64) -> Result<(), String> {
        Ok(())
    }
    fn checkpoint(
        &mut self,
        _: u64,
        _: Vec<learnscope_train::NamedTensor>,
        _: serde_json::Value,
    ) -> Result<(), String> {
        Ok(())
    }
}

fn trainer(cfg: &RunConfig) -> Trainer<CpuBackend> {
    Trainer::new(
        build_parts(cfg, CpuBackend::new(1), |ctx| {
            build_probes(&cfg.probes, ctx)
        })
        .expect("bench config builds"),
    )
}

/// Members `first .. first + n` of the ensemble `base` trained one after another, alone.
fn solo_runs(base: &RunConfig, first: usize, n: usize) {
    for i in first..first + n {
        let cfg = base.member_config(i);
        trainer(&cfg)
            .run(&mut Discard, &StopSignal::default())
            .expect("solo run");
    }
}

/// One ensemble of `n` members.
fn ensemble(base: &RunConfig, n: usize) {
    let mut cfg = base.clone();
    cfg.members = Some(n);
    let mut sinks: Vec<Discard> = (0..n).map(|_| Discard).collect();
    let mut refs: Vec<&mut dyn RunSink> = sinks.iter_mut().map(|s| s as &mut dyn RunSink).collect();
    trainer(&cfg)
        .run_members(&mut refs, &StopSignal::default())
        .expect("ensemble run");
}

/// Wall time of training `trainers` (built beforehand: the set-up is left out), each with its
/// sinks, on two threads at once; `trainers[h]` is thread h's list.
fn train_only(trainers: Vec<Vec<(Trainer<CpuBackend>, usize)>>) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for list in trainers {
            s.spawn(move || {
                for (mut t, n) in list {
                    let mut sinks: Vec<Discard> = (0..n).map(|_| Discard).collect();
                    let mut refs: Vec<&mut dyn RunSink> =
                        sinks.iter_mut().map(|s| s as &mut dyn RunSink).collect();
                    t.run_members(&mut refs, &StopSignal::default())
                        .expect("run");
                }
            });
        }
    });
    start.elapsed()
}

/// Wall time of `job(half)` on two threads at once (two cores).
fn two_at_a_time(job: impl Fn(usize) + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| job(0));
        s.spawn(|| job(1));
    });
    start.elapsed()
}

fn ensembles(c: &mut Criterion) {
    let mut g = c.benchmark_group("ensemble");
    g.sample_size(10);
    for (name, model) in [
        (
            "mlp_784_128_2",
            r#"kind = "mlp"
hidden = [128]
activation = "relu""#,
        ),
        (
            "linear_784_64_2",
            r#"kind = "deep_linear"
hidden = [64]
init = { kind = "gaussian", std = 0.125 }"#,
        ),
    ] {
        let base = RunConfig::parse(&config(model), &[]).expect("bench config");
        let half = MEMBERS / 2;
        g.bench_function(
            BenchmarkId::new(format!("{name}/solo_two_at_a_time"), MEMBERS),
            |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| two_at_a_time(|h| solo_runs(&base, h * half, half)))
                        .sum()
                })
            },
        );
        g.bench_function(
            BenchmarkId::new(format!("{name}/batched_two_ensembles"), MEMBERS),
            |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| two_at_a_time(|_| ensemble(&base, half)))
                        .sum()
                })
            },
        );
        // The same two sides with data generation and initialisation left out of the timing:
        // what the batched loop itself saves per step.
        g.bench_function(
            BenchmarkId::new(format!("{name}/solo_train_only"), MEMBERS),
            |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            let lists = (0..2)
                                .map(|h| {
                                    (h * half..(h + 1) * half)
                                        .map(|i| (trainer(&base.member_config(i)), 1))
                                        .collect()
                                })
                                .collect();
                            train_only(lists)
                        })
                        .sum()
                })
            },
        );
        g.bench_function(
            BenchmarkId::new(format!("{name}/batched_train_only"), MEMBERS),
            |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            let mut cfg = base.clone();
                            cfg.members = Some(half);
                            train_only(vec![
                                vec![(trainer(&cfg), half)],
                                vec![(trainer(&cfg), half)],
                            ])
                        })
                        .sum()
                })
            },
        );
        // Ensembles of 2 (each thread trains two of them in turn): a smaller working set of
        // parameters and gradients per step (the MLP's first layer is 400 KB per member in f32,
        // twice that with its gradient, against a 2 MiB L2 per core on the reference machine).
        g.bench_function(
            BenchmarkId::new(format!("{name}/batched_pairs_train_only"), MEMBERS),
            |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            let mut cfg = base.clone();
                            cfg.members = Some(2);
                            let per_thread = half / 2;
                            let lists = (0..2)
                                .map(|_| (0..per_thread).map(|_| (trainer(&cfg), 2)).collect())
                                .collect();
                            train_only(lists)
                        })
                        .sum()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, ensembles);
criterion_main!(benches);
