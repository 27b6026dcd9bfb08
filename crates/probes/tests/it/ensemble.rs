//! The trainer with an ensemble model (`members = N`): a member whose parameters go non-finite
//! is frozen and ends `Diverged` while the others train on exactly as alone, and an ensemble
//! restored from its members' checkpoints continues bit for bit.

use learnscope_nn::CpuBackend;
use learnscope_probes::build_probes;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;
use learnscope_train::{RunOutcome, RunSink, StopSignal, TrainState, Trainer};

use crate::sink::MemorySink;

const CONFIG: &str = r#"
name = "ens"
seed = 9
dtype = "f64"
steps = 30
members = 3
[data]
kind = "separable"
dim = 5
train = 32
test = 16
margin = 0.2
[model]
kind = "mlp"
hidden = [10]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
momentum = 0.9
[lr]
base = 0.05
[training]
batch_size = 8
[checkpoint]
every = 12
[[probes]]
kind = "loss"
schedule = { kind = "every", n = 4 }
[[probes]]
kind = "norms"
schedule = { kind = "every", n = 5 }
"#;

fn trainer(cfg: &RunConfig) -> Trainer<CpuBackend> {
    let tables = cfg.probes.clone();
    Trainer::new(build_parts(cfg, CpuBackend::new(1), |ctx| build_probes(&tables, ctx)).unwrap())
}

fn run_members(t: &mut Trainer<CpuBackend>, n: usize) -> (Vec<RunOutcome>, Vec<MemorySink>) {
    let mut sinks: Vec<MemorySink> = (0..n).map(|_| MemorySink::default()).collect();
    let mut refs: Vec<&mut dyn RunSink> = sinks.iter_mut().map(|s| s as &mut dyn RunSink).collect();
    let out = t.run_members(&mut refs, &StopSignal::default()).unwrap();
    (out, sinks)
}

fn solo(cfg: &RunConfig, i: usize) -> MemorySink {
    let mut sink = MemorySink::default();
    let out = trainer(&cfg.member_config(i))
        .run(&mut sink, &StopSignal::default())
        .unwrap();
    assert!(matches!(out, RunOutcome::Completed { .. }), "{out:?}");
    sink
}

#[test]
fn a_diverged_member_is_frozen_and_the_others_train_as_alone() {
    let cfg = RunConfig::parse(CONFIG, &[]).unwrap();
    let mut t = trainer(&cfg);
    assert_eq!(t.members(), 3);
    // Member 1's read-out bias becomes NaN: its logits and loss are NaN from step 0.
    let mut parts_nan = build_parts(&cfg, CpuBackend::new(1), |ctx| {
        build_probes(&cfg.probes, ctx)
    })
    .unwrap();
    let be = CpuBackend::new(1);
    let member = parts_nan.model.member_mut(1).unwrap();
    let last = member.param_names().len() - 1;
    let mut i = 0;
    member.visit_params_mut(&mut |p| {
        if i == last {
            let mut v = p.value.to_host_f64(&be);
            v[0] = f64::NAN;
            p.value = learnscope_nn::Tensor::from_f64(&be, p.value.dtype(), p.value.shape(), &v);
        }
        i += 1;
    });
    let mut with_nan = Trainer::new(parts_nan);
    let (out, sinks) = run_members(&mut with_nan, 3);
    assert_eq!(out[1], RunOutcome::Diverged { step: 0 });
    assert!(matches!(out[0], RunOutcome::Completed { .. }), "{out:?}");
    assert!(matches!(out[2], RunOutcome::Completed { .. }), "{out:?}");
    // The diverged member keeps the non-finite loss that stopped it, and nothing after.
    let recs = &sinks[1].records;
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(
        (recs[0].2.probe.as_str(), recs[0].2.key.as_str()),
        ("trainer", "batch_loss")
    );
    assert!(recs[0].2.value.is_nan());
    assert!(sinks[1].checkpoints.is_empty());
    // The healthy members are their solo runs bit for bit (and the clean ensemble's too).
    let (clean_out, clean) = run_members(&mut t, 3);
    assert!(clean_out
        .iter()
        .all(|o| matches!(o, RunOutcome::Completed { .. })));
    for i in [0, 2] {
        let alone = solo(&cfg, i);
        assert_eq!(sinks[i].fingerprint(), alone.fingerprint(), "member {i}");
        assert_eq!(sinks[i].checkpoints, alone.checkpoints, "member {i}");
        assert_eq!(clean[i].fingerprint(), alone.fingerprint(), "member {i}");
    }
    assert_eq!(clean[1].fingerprint(), solo(&cfg, 1).fingerprint());
}

#[test]
fn an_ensemble_restored_from_its_members_checkpoints_continues_exactly() {
    let cfg = RunConfig::parse(CONFIG, &[]).unwrap();
    let (_, full) = run_members(&mut trainer(&cfg), 3);
    let at = 12;
    let ckpts: Vec<(Vec<learnscope_train::NamedTensor>, TrainState)> = full
        .iter()
        .map(|s| {
            let (_, tensors, state) = s.checkpoints.iter().find(|c| c.0 == at).unwrap();
            (
                tensors.clone(),
                serde_json::from_value(state.clone()).unwrap(),
            )
        })
        .collect();
    let refs: Vec<(&[learnscope_train::NamedTensor], &TrainState)> =
        ckpts.iter().map(|(t, s)| (t.as_slice(), s)).collect();
    let mut resumed = trainer(&cfg);
    resumed.restore_members(&refs).unwrap();
    assert_eq!(resumed.step(), at);
    let (out, tail) = run_members(&mut resumed, 3);
    assert!(out
        .iter()
        .all(|o| matches!(o, RunOutcome::Completed { .. })));
    for i in 0..3 {
        let expect: Vec<String> = full[i]
            .fingerprint()
            .into_iter()
            .filter(|l| l.split(' ').next().unwrap().parse::<u64>().unwrap() >= at)
            .collect();
        assert_eq!(tail[i].fingerprint(), expect, "member {i}");
        assert_eq!(
            tail[i].checkpoints.last().unwrap().1,
            full[i].checkpoints.last().unwrap().1,
            "member {i}"
        );
    }
    // A checkpoint set of mixed steps is refused.
    let mut mixed = ckpts.clone();
    mixed[2] = {
        let (_, tensors, state) = full[2].checkpoints.iter().find(|c| c.0 == 24).unwrap();
        (
            tensors.clone(),
            serde_json::from_value(state.clone()).unwrap(),
        )
    };
    let refs: Vec<(&[learnscope_train::NamedTensor], &TrainState)> =
        mixed.iter().map(|(t, s)| (t.as_slice(), s)).collect();
    let err = trainer(&cfg)
        .restore_members(&refs)
        .unwrap_err()
        .to_string();
    assert!(err.contains("member 2's checkpoint is of step 24"), "{err}");
}

#[test]
fn a_single_sink_run_of_an_ensemble_is_refused() {
    let cfg = RunConfig::parse(CONFIG, &[]).unwrap();
    let err = trainer(&cfg)
        .run(&mut MemorySink::default(), &StopSignal::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("one sink per member"), "{err}");
}
