//! The `decisions` probe: per-unit TNR / hit rate / false-alarm strength on a hand-computed
//! logit table, level aggregation on the 8-item hierarchy, the tie check, config errors, and a
//! training run (read-only, resumable) in which leaf TNR starts high and leaf TPR ends at 1.

use learnscope_core::ProbeSchedule;
use learnscope_data::{
    Dataset, DatasetSpec, HierarchySpec, InMemoryDataset, Split, TargetData, TargetKind,
};
use learnscope_nn::loss::{Loss, LossKind, Reduction};
use learnscope_nn::CpuBackend;
use learnscope_probes::build_probes;
use learnscope_probes::decisions::{Coding, DecisionsProbe, DecisionsSetup};
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;
use learnscope_train::{Metric, Recorder, StopSignal, TrainState, Trainer};

use crate::sink::MemorySink;

#[derive(Default)]
struct Rec(Vec<Metric>);

impl Recorder for Rec {
    fn record(&mut self, m: Metric) {
        self.0.push(m);
    }
}

impl Rec {
    fn get(&self, key: &str, layer: Option<&str>, index: Option<i64>) -> Option<f64> {
        self.0
            .iter()
            .find(|m| m.key == key && m.layer.as_deref() == layer && m.index == index)
            .map(|m| m.value)
    }
}

fn mse() -> Loss {
    Loss {
        kind: LossKind::Mse,
        reduction: Reduction::Mean,
    }
}

fn setup(allow_ties: bool) -> DecisionsSetup {
    DecisionsSetup {
        name: "decisions".into(),
        schedule: ProbeSchedule::Every { n: 1 },
        splits: vec![Split::Train],
        coding: None,
        threshold: None,
        beta: 10.0,
        allow_ties,
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// 4 examples, 2 units, dense 0/1 targets (the table of the stats crate's hand-computed test).
fn tiny() -> InMemoryDataset {
    let y = vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let spec = DatasetSpec {
        name: "tiny".into(),
        input_shape: vec![1],
        target: TargetKind::Dense { outputs: 2 },
        train_len: 4,
        test_len: 4,
    };
    let split = (vec![0.0; 4], TargetData::Dense(y));
    InMemoryDataset::new(spec, split.clone(), split).unwrap()
}

#[test]
fn per_unit_rates_of_a_fixed_logit_table() {
    let ds = tiny();
    // Unit 1 has base rate 2/4 = θ.
    assert!(DecisionsProbe::new(setup(false), &ds, &mse()).is_err());
    let probe = DecisionsProbe::new(setup(true), &ds, &mse()).unwrap();
    assert_eq!((probe.coding(), probe.threshold()), (Coding::ZeroOne, 0.5));
    assert_eq!(probe.groups(), &[("all".to_string(), vec![0, 1])]);
    let logits = [0.9, 0.2, 0.5, 0.7, 0.1, 0.6, 0.7, 0.4];
    let mut rec = Rec::default();
    let snap = probe.score(Split::Train, &logits, &mut rec).unwrap();
    // Unit 0: negatives 0.5 (tie → "no"), 0.1, 0.7 ("yes"); its positive 0.9 is a hit.
    assert_eq!(rec.get("tnr", None, Some(0)), Some(2.0 / 3.0));
    assert_eq!(rec.get("tpr", None, Some(0)), Some(1.0));
    assert!((rec.get("fa", None, Some(0)).unwrap() - 1.3 / 3.0).abs() < 1e-15);
    let g0 = (0.5 + sigmoid(4.0) + sigmoid(-2.0)) / 3.0;
    assert!((rec.get("tnr_graded", None, Some(0)).unwrap() - g0).abs() < 1e-15);
    assert_eq!(rec.get("at_threshold", None, Some(0)), Some(0.25));
    // Unit 1: positives 0.7 (hit), 0.4 (miss); negatives 0.2, 0.6 ("yes").
    assert_eq!(rec.get("tnr", None, Some(1)), Some(0.5));
    assert_eq!(rec.get("tpr", None, Some(1)), Some(0.5));
    assert!((rec.get("fa", None, Some(1)).unwrap() - 0.4).abs() < 1e-15);
    // The group mean; no accuracy (example 2 has no positive, so the units are no partition).
    assert!((rec.get("tnr", Some("all"), None).unwrap() - 7.0 / 12.0).abs() < 1e-15);
    assert_eq!(rec.get("accuracy", Some("all"), None), None);
    assert_eq!(snap.units, vec![Some(2.0 / 3.0), Some(0.5)]);
    // Sigmoid coding: r = σ(logit) against θ = 0.5, so logit 0 is the tie.
    let bce = Loss {
        kind: LossKind::Bce,
        reduction: Reduction::Mean,
    };
    let p = DecisionsProbe::new(setup(true), &ds, &bce).unwrap();
    assert_eq!(p.coding(), Coding::Sigmoid);
    let mut rec = Rec::default();
    p.score(
        Split::Train,
        &[0.0, -1.0, 0.0, 2.0, -3.0, 1.0, 0.5, -0.1],
        &mut rec,
    )
    .unwrap();
    assert_eq!(rec.get("at_threshold", None, Some(0)), Some(0.5));
    assert_eq!(rec.get("tnr", None, Some(0)), Some(2.0 / 3.0));
    let fa0 = (0.5 + sigmoid(-3.0) + sigmoid(0.5)) / 3.0;
    assert!((rec.get("fa", None, Some(0)).unwrap() - fa0).abs() < 1e-15);
    assert_eq!(rec.get("tpr", None, Some(1)), Some(0.5));
}

#[test]
fn levels_of_the_eight_item_hierarchy_are_aggregated() {
    let task = HierarchySpec::eight_items().build().unwrap();
    let ds = task.dataset("h8");
    // Level 1 has base rate 1/2 = θ: refused unless ties are allowed.
    let err = DecisionsProbe::new(setup(false), &ds, &mse())
        .err()
        .unwrap();
    assert!(
        err.contains("unit 1 (`l1.0`)")
            && err.contains("base rate 0.5")
            && err.contains("allow_ties"),
        "{err}"
    );
    // A threshold away from ½ has no tie.
    let mut s = setup(false);
    s.threshold = Some(0.4);
    assert!(DecisionsProbe::new(s, &ds, &mse()).is_ok());
    let probe = DecisionsProbe::new(setup(true), &ds, &mse()).unwrap();
    let groups: Vec<(&str, usize)> = probe
        .groups()
        .iter()
        .map(|(l, m)| (l.as_str(), m.len()))
        .collect();
    assert_eq!(
        groups,
        [("level0", 1), ("level1", 2), ("level2", 4), ("leaf", 8)]
    );
    // Zero outputs (a zero-initialised network): every response is below θ, so every TNR is 1
    // and every hit rate 0; arg-max picks each level's first unit.
    let mut rec = Rec::default();
    let snap = probe
        .score(Split::Train, &vec![0.0; 8 * 15], &mut rec)
        .unwrap();
    for layer in ["level1", "level2", "leaf"] {
        assert_eq!(rec.get("tnr", Some(layer), None), Some(1.0), "{layer}");
        assert_eq!(rec.get("tpr", Some(layer), None), Some(0.0), "{layer}");
        assert_eq!(rec.get("fa", Some(layer), None), Some(0.0), "{layer}");
    }
    // The root has no negatives: no TNR, hit rate 0, accuracy 1 (one unit, always positive).
    assert_eq!(rec.get("tnr", Some("level0"), None), None);
    assert_eq!(rec.get("accuracy", Some("level0"), None), Some(1.0));
    assert_eq!(rec.get("accuracy", Some("level1"), None), Some(0.5));
    assert_eq!(rec.get("accuracy", Some("level2"), None), Some(0.25));
    assert_eq!(rec.get("accuracy", Some("leaf"), None), Some(0.125));
    assert_eq!(snap.groups[3], ("leaf".to_string(), Some(1.0)));
    // The targets themselves as outputs: everything right.
    let mut rec = Rec::default();
    probe.score(Split::Train, &task.targets, &mut rec).unwrap();
    for layer in ["level1", "level2", "leaf"] {
        for key in ["tnr", "tpr", "accuracy"] {
            assert_eq!(rec.get(key, Some(layer), None), Some(1.0), "{key} {layer}");
        }
    }
    // Outputs at the OCS (the base rates): leaves (1/8) and level 2 (1/4) are rejected,
    // level 1 (1/2) sits exactly at θ, the root (1) is accepted.
    let ocs: Vec<f64> = (0..8)
        .flat_map(|_| task.levels.iter().map(|&l| 0.5f64.powi(l as i32)))
        .collect();
    let mut rec = Rec::default();
    probe.score(Split::Train, &ocs, &mut rec).unwrap();
    assert_eq!(rec.get("tnr", Some("leaf"), None), Some(1.0));
    assert_eq!(rec.get("tpr", Some("leaf"), None), Some(0.0));
    assert_eq!(rec.get("fa", Some("leaf"), None), Some(0.125));
    assert_eq!(rec.get("tpr", Some("level0"), None), Some(1.0));
    assert_eq!(rec.get("at_threshold", None, Some(1)), Some(1.0));
}

const HIERARCHY: &str = r#"
name = "decisions"
seed = 0
dtype = "f64"
threads = 1
steps = 4000
[data]
kind = "hierarchy"
[model]
kind = "deep_linear"
hidden = [16, 16]
bias = true
init = { kind = "gaussian", std = 0.01 }
[loss]
kind = "mse"
[optimizer]
kind = "sgd"
[lr]
base = 0.1
[training]
batch_size = 0
shuffle = false
[checkpoint]
every = 1000
[[probes]]
kind = "decisions"
allow_ties = true
schedule = { kind = "log_decade", k = 5 }
"#;

fn trainer(cfg: &RunConfig, with_probes: bool) -> Result<Trainer<CpuBackend>, String> {
    let tables = if with_probes {
        cfg.probes.clone()
    } else {
        Vec::new()
    };
    Ok(Trainer::new(
        build_parts(cfg, CpuBackend::new(1), |ctx| build_probes(&tables, ctx))
            .map_err(|e| e.to_string())?,
    ))
}

fn values(sink: &MemorySink, key: &str, layer: &str) -> Vec<(u64, f64)> {
    sink.records
        .iter()
        .filter(|(_, _, m)| m.key == key && m.split == "train" && m.layer.as_deref() == Some(layer))
        .map(|(s, _, m)| (*s, m.value))
        .collect()
}

#[test]
fn training_on_the_hierarchy_learns_the_leaves_from_a_coded_no() {
    let cfg = RunConfig::parse(HIERARCHY, &[]).unwrap();
    let mut t = trainer(&cfg, true).unwrap();
    let mut sink = MemorySink::default();
    t.run(&mut sink, &StopSignal::default()).unwrap();
    // Step 0: outputs ≈ 0 < θ = ½, so leaf TNR is 1 (set by the coding) and recorded as such.
    let step0 = values(&sink, "tnr_step0", "leaf");
    assert_eq!(step0.first(), Some(&(0, 1.0)));
    assert!(step0.iter().all(|&(_, v)| v == 1.0));
    assert_eq!(values(&sink, "tnr", "leaf")[0], (0, 1.0));
    assert_eq!(values(&sink, "tpr", "leaf")[0], (0, 0.0));
    // The end: every leaf detected and rejected correctly.
    let tpr = values(&sink, "tpr", "leaf");
    assert_eq!(tpr.last(), Some(&(4000, 1.0)), "{tpr:?}");
    assert_eq!(values(&sink, "tnr", "leaf").last(), Some(&(4000, 1.0)));
    assert_eq!(values(&sink, "accuracy", "leaf").last(), Some(&(4000, 1.0)));
    // θ and the coding are recorded with every observation.
    let n_obs = tpr.len();
    let count = |k: &str| sink.records.iter().filter(|(_, _, m)| m.key == k).count();
    assert_eq!(count("threshold"), n_obs);
    assert_eq!(count("coding/zero_one"), n_obs);
    // Test split too (the hierarchy's test split is its train split).
    assert!(sink
        .records
        .iter()
        .any(|(_, _, m)| m.key == "tpr" && m.split == "test"));
}

fn params(t: &Trainer<CpuBackend>) -> Vec<u64> {
    let be = CpuBackend::new(1);
    let mut v = Vec::new();
    t.model()
        .visit_params(&mut |p| v.extend(p.value.to_host_f64(&be).into_iter().map(f64::to_bits)));
    v
}

#[test]
fn the_probe_is_read_only_and_resumes_with_its_step0_tnr() {
    let cfg = RunConfig::parse(
        HIERARCHY,
        &["steps=300".into(), "checkpoint.every=150".into()],
    )
    .unwrap();
    let mut every = cfg.clone();
    every.probes[0].insert(
        "schedule".into(),
        toml::Value::Table(toml::toml! { kind = "every"
        n = 1 }),
    );
    let mut with = trainer(&every, true).unwrap();
    let mut sink = MemorySink::default();
    with.run(&mut sink, &StopSignal::default()).unwrap();
    let mut bare = trainer(&cfg, false).unwrap();
    let mut bare_sink = MemorySink::default();
    bare.run(&mut bare_sink, &StopSignal::default()).unwrap();
    assert_eq!(params(&with), params(&bare), "the probe changed training");
    assert_eq!(
        sink.checkpoints.last().unwrap().1,
        bare_sink.checkpoints.last().unwrap().1
    );
    // Resume from step 150: the step-0 TNR comes back from the checkpoint's probe state.
    let (step, tensors, state) = sink.checkpoints[0].clone();
    assert_eq!(step, 150);
    let state: TrainState = serde_json::from_value(state).unwrap();
    let mut resumed = trainer(&every, true).unwrap();
    resumed.restore(&tensors, &state).unwrap();
    let mut sink_resumed = MemorySink::default();
    resumed
        .run(&mut sink_resumed, &StopSignal::default())
        .unwrap();
    let tail: Vec<String> = sink
        .fingerprint()
        .into_iter()
        .filter(|r| r.split(' ').next().unwrap().parse::<u64>().unwrap() >= 150)
        .collect();
    assert_eq!(sink_resumed.fingerprint(), tail);
    let s0 = values(&sink_resumed, "tnr_step0", "leaf");
    assert!(!s0.is_empty() && s0.iter().all(|&(_, v)| v == 1.0));
}

#[test]
fn config_errors_name_the_probe_and_the_field() {
    let err = |extra: &str| {
        let text = HIERARCHY.replace("allow_ties = true\n", extra);
        let cfg = RunConfig::parse(&text, &[]).unwrap();
        trainer(&cfg, true).err().unwrap()
    };
    let e = err("allow_ties = true\ncodng = \"sigmoid\"\n");
    assert!(e.contains("probes[0]") && e.contains("codng"), "{e}");
    let e = err("allow_ties = true\ncoding = \"logistic\"\n");
    assert!(e.contains("probes[0]") && e.contains("logistic"), "{e}");
    let e = err("");
    assert!(
        e.contains("probes[0]") && e.contains("base rate 0.5"),
        "{e}"
    );
    let e = err("allow_ties = true\nbeta = 0.0\n");
    assert!(e.contains("probes[0]: beta"), "{e}");
    // An explicit ±1 coding on 0/1 targets is accepted (θ = 0; no tie rule).
    let text = HIERARCHY.replace("allow_ties = true\n", "coding = \"plus_minus\"\n");
    assert!(trainer(&RunConfig::parse(&text, &[]).unwrap(), true).is_ok());
}

#[test]
fn class_targets_are_one_hot_with_arg_max_accuracy() {
    let spec = DatasetSpec {
        name: "c3".into(),
        input_shape: vec![1],
        target: TargetKind::Classes { classes: 3 },
        train_len: 4,
        test_len: 4,
    };
    let split = (vec![0.0; 4], TargetData::Classes(vec![0, 1, 2, 2]));
    let ds = InMemoryDataset::new(spec, split.clone(), split).unwrap();
    let ce = Loss {
        kind: LossKind::CrossEntropy,
        reduction: Reduction::Mean,
    };
    let p = DecisionsProbe::new(setup(true), &ds, &ce).unwrap();
    assert_eq!(p.coding(), Coding::Softmax);
    let logits = [
        5.0, 0.0, 0.0, //
        0.0, 5.0, 0.0, //
        0.0, 5.0, 0.0, //
        0.0, 0.0, 5.0,
    ];
    let mut rec = Rec::default();
    p.score(Split::Train, &logits, &mut rec).unwrap();
    assert_eq!(rec.get("accuracy", Some("all"), None), Some(0.75));
    assert_eq!(rec.get("tpr", None, Some(2)), Some(0.5));
    assert_eq!(rec.get("tnr", None, Some(1)), Some(2.0 / 3.0));
    assert_eq!(ds.output_units(), None);
}
