//! The trainer with the built-in probes: determinism, read-only probes, exact resume from a
//! checkpoint, divergence, and learning on the configured tasks.

use learnscope_nn::CpuBackend;
use learnscope_probes::build_probes;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;
use learnscope_train::{RunOutcome, StopSignal, TrainState, Trainer};

use crate::sink::MemorySink;

const MLP: &str = r#"
name = "sep"
seed = 3
dtype = "f64"
steps = 60
[data]
kind = "separable"
dim = 6
train = 40
test = 20
margin = 0.2
[model]
kind = "mlp"
hidden = [12]
activation = "tanh"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "adam"
[lr]
base = 0.01
warmup_steps = 5
shape = { kind = "cosine", total_steps = 55 }
[training]
batch_size = 8
[[probes]]
kind = "loss"
schedule = { kind = "every", n = 5 }
[[probes]]
kind = "norms"
schedule = { kind = "every", n = 10 }
[[probes]]
kind = "lr"
[[probes]]
kind = "ocs"
schedule = { kind = "every", n = 10 }
[[probes]]
kind = "per_example"
schedule = { kind = "every", n = 10 }
[[probes]]
kind = "sharpness"
schedule = { kind = "every", n = 20 }
iterations = 3
[[probes]]
kind = "singular_values"
schedule = { kind = "every", n = 15 }
"#;

fn trainer(cfg: &RunConfig, with_probes: bool) -> Trainer<CpuBackend> {
    let tables = if with_probes {
        cfg.probes.clone()
    } else {
        Vec::new()
    };
    Trainer::new(
        build_parts(cfg, CpuBackend::new(1), |names| {
            build_probes(&tables, names)
        })
        .unwrap(),
    )
}

fn params(t: &Trainer<CpuBackend>) -> Vec<u64> {
    let be = CpuBackend::new(1);
    let mut v = Vec::new();
    t.model()
        .visit_params(&mut |p| v.extend(p.value.to_host_f64(&be).into_iter().map(f64::to_bits)));
    v
}

#[test]
fn runs_are_deterministic_and_probes_read_only() {
    let cfg = RunConfig::parse(MLP, &[]).unwrap();
    let run = |probes: bool| {
        let mut t = trainer(&cfg, probes);
        let mut sink = MemorySink::default();
        let out = t.run(&mut sink, &StopSignal::default()).unwrap();
        assert!(matches!(out, RunOutcome::Completed { .. }), "{out:?}");
        (sink, params(&t))
    };
    let (a, pa) = run(true);
    let (b, pb) = run(true);
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_eq!(pa, pb);
    // Every probe at every step vs. none: same parameters and checkpoints.
    // (`--set` cannot address entries of an array of tables, so edit the config directly.)
    let mut cfg_every = cfg.clone();
    for p in &mut cfg_every.probes {
        p.insert(
            "schedule".into(),
            toml::Value::Table(toml::toml! { kind = "every"
            n = 1 }),
        );
    }
    let mut t = trainer(&cfg_every, true);
    let mut sink = MemorySink::default();
    t.run(&mut sink, &StopSignal::default()).unwrap();
    let (_, bare) = run(false);
    assert_eq!(params(&t), bare, "probes changed training");
    assert_eq!(params(&t), pa);
    assert_eq!(
        sink.checkpoints.last().unwrap().1,
        a.checkpoints.last().unwrap().1
    );
    // The loss probe saw the model learn the separable task.
    let acc: Vec<f64> = a
        .records
        .iter()
        .filter(|(_, _, m)| m.key == "accuracy" && m.split == "train")
        .map(|(_, _, m)| m.value)
        .collect();
    assert!(acc.last().unwrap() > &0.9, "train accuracy {acc:?}");
}

#[test]
fn resuming_from_a_checkpoint_continues_exactly() {
    // Adam with warmup + cosine schedule, mini-batches of 8 out of 40 (5 per epoch), checkpoint
    // at step 27: mid-epoch.
    let cfg = RunConfig::parse(MLP, &["checkpoint.every=27".into()]).unwrap();
    let mut full = trainer(&cfg, true);
    let mut sink_full = MemorySink::default();
    full.run(&mut sink_full, &StopSignal::default()).unwrap();

    let (step, tensors, state) = sink_full.checkpoints[0].clone();
    assert_eq!(step, 27);
    let state: TrainState = serde_json::from_value(state).unwrap();
    assert_eq!((state.epoch, state.position), (5, 2));
    let mut resumed = trainer(&cfg, true);
    resumed.restore(&tensors, &state).unwrap();
    let mut sink_resumed = MemorySink::default();
    resumed
        .run(&mut sink_resumed, &StopSignal::default())
        .unwrap();

    let tail: Vec<String> = sink_full
        .fingerprint()
        .into_iter()
        .filter(|r| r.split(' ').next().unwrap().parse::<u64>().unwrap() >= 27)
        .collect();
    assert_eq!(sink_resumed.fingerprint(), tail);
    assert_eq!(params(&resumed), params(&full));
    assert_eq!(
        sink_resumed.checkpoints.last().unwrap().1,
        sink_full.checkpoints.last().unwrap().1
    );
}

#[test]
fn a_diverging_run_stops_with_its_records() {
    // A deep linear net under GD with η far above 2/λ_max of the loss Hessian: the loss grows
    // geometrically and overflows to inf/NaN within a few hundred steps.
    let cfg = RunConfig::parse(
        r#"
name = "boom"
steps = 1000
[data]
kind = "hierarchy"
[model]
kind = "deep_linear"
hidden = [16]
bias = true
init = { kind = "gaussian", std = 0.5 }
[loss]
kind = "mse"
[optimizer]
kind = "sgd"
[lr]
base = 5.0
[[probes]]
kind = "loss"
schedule = { kind = "every", n = 1 }
"#,
        &[],
    )
    .unwrap();
    let mut t = trainer(&cfg, true);
    let mut sink = MemorySink::default();
    let out = t.run(&mut sink, &StopSignal::default()).unwrap();
    let RunOutcome::Diverged { step } = out else {
        panic!("{out:?}")
    };
    assert!(step > 0 && step < 1000);
    let last = &sink.records.last().unwrap().2;
    assert_eq!(
        (last.probe.as_str(), last.key.as_str()),
        ("trainer", "batch_loss")
    );
    assert!(!last.value.is_finite());
    // Every earlier step's records are kept.
    assert_eq!(sink.ended.len() as u64, step + 1);
}

/// `sampler_seed` fixes the batch order while `seed` varies the initialisation: two networks
/// with seeds 1 and 2 and sampler seed 7 see the batches a seed-7 run sees, from different
/// starting weights; unset, each seed draws its own order, and the resolved config text of a
/// run without it is unchanged.
#[test]
fn sampler_seed_fixes_the_batch_order_while_seed_varies_the_init() {
    let base = RunConfig::parse(MLP, &[]).unwrap();
    let build = |seed: u64, sampler_seed: Option<u64>| {
        let mut c = base.clone();
        c.seed = seed;
        c.sampler_seed = sampler_seed;
        let mut parts = build_parts(&c, CpuBackend::new(1), |_| Ok(Vec::new())).unwrap();
        // The first 3 epochs of 5 batches (40 examples, batch 8).
        let mut order: Vec<Vec<usize>> = Vec::new();
        for epoch in 0..3 {
            for position in 0..5 {
                order.push(parts.sampler.batch(epoch, position));
            }
        }
        let t = Trainer::new(parts);
        (order, params(&t))
    };
    let (order1, init1) = build(1, Some(7));
    let (order2, init2) = build(2, Some(7));
    let (order7, _) = build(7, None);
    assert_eq!(order1, order2);
    assert_eq!(order1, order7);
    assert_ne!(init1, init2, "the seed still draws the initialisation");
    let (free1, _) = build(1, None);
    let (free2, _) = build(2, None);
    assert_ne!(
        free1, free2,
        "without sampler_seed each seed has its own batch order"
    );
    // The default is byte-identical to before: the key is absent from the resolved config.
    assert!(!base.to_toml().contains("sampler_seed"));
    let mut c = base.clone();
    c.sampler_seed = Some(7);
    assert_eq!(RunConfig::parse(&c.to_toml(), &[]).unwrap(), c);
}
