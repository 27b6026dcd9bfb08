//! The `cka` probe (linear CKA, Kornblith et al. 2019): the invariances on a network whose
//! layers are orthogonal maps of the input, `cka_init` = 1 at step 0 and below 1 after training
//! (checked against CKA recomputed from the models at θ₀ and θ_T), read-only behaviour, exact
//! resume, and the errors for a tap the model does not have.
//!
//! Tolerance 1e-12 for "equals 1": the CKA is a ratio of f64 sums of products of O(10)-wide
//! representations of ≤ 32 examples, so its rounding error is a few hundred ε ≈ 1e-14; an
//! orthogonal init has `QᵀQ = I` to O(ε) (two Gram–Schmidt passes).

use learnscope_core::RandomKey;
use learnscope_data::Batch;
use learnscope_models::{Model, TapRequest};
use learnscope_nn::{CpuBackend, ForwardCtx, Mode};
use learnscope_probes::cka::default_taps;
use learnscope_stats::linear_cka;
use learnscope_train::config::RunConfig;
use learnscope_train::Metric;

use crate::harness::{
    assert_read_only, assert_resumes_exactly, build_error, every_step, parts, run, run_error, train,
};
use crate::sink::MemorySink;

/// A deep linear net 4 → 6 → 8 → 2 with (semi-)orthogonal weights of gain 0.7: the first two
/// layers have orthonormal columns (tall), so `layers.0.out = 0.7 Q₁ x` and `layers.1.out =
/// 0.49 Q₂Q₁ x` are orthogonal maps times a scalar of the input; the read-out (2 × 8, wide)
/// is not. Probe batch: the 16 test examples.
const LINEAR: &str = r#"
name = "cka-linear"
seed = 5
steps = 4
[data]
kind = "gaussian_teacher"
dim = 4
outputs = 2
train = 32
test = 16
[model]
kind = "deep_linear"
hidden = [6, 8]
init = { kind = "orthogonal", gain = 0.7 }
[loss]
kind = "mse"
[optimizer]
kind = "sgd"
[lr]
base = 0.05
[training]
batch_size = 0
shuffle = false
[[probes]]
kind = "cka"
schedule = { kind = "every", n = 1 }
[[probes]]
kind = "cka"
name = "cka_aliases"
taps = ["logits", "layers.2.out", "penultimate", "layers.1.out"]
schedule = { kind = "every", n = 1 }
"#;

/// Three Gaussian classes in 8 dimensions, a two-hidden-layer ReLU MLP trained by SGD with a
/// large step so the representations move; probe batch: the first 32 test examples.
const MLP: &str = r#"
name = "cka-mlp"
seed = 7
steps = 200
[data]
kind = "gaussian_mixture"
classes = 3
dim = 8
train_per_class = 40
test_per_class = 20
separation = 2.0
std = 1.0
[model]
kind = "mlp"
hidden = [16, 12]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
[lr]
base = 0.5
[training]
batch_size = 30
probe_batch = { split = "test", size = 32 }
[[probes]]
kind = "cka"
schedule = { kind = "every", n = 10 }
"#;

fn rows<'a>(sink: &'a MemorySink, probe: &str, key: &str, step: u64) -> Vec<&'a Metric> {
    sink.records
        .iter()
        .filter(|(s, _, m)| *s == step && m.probe == probe && m.key == key)
        .map(|(_, _, m)| m)
        .collect()
}

fn value(sink: &MemorySink, probe: &str, key: &str, step: u64, layer: &str) -> f64 {
    let found: Vec<f64> = rows(sink, probe, key, step)
        .into_iter()
        .filter(|m| m.layer.as_deref() == Some(layer))
        .map(|m| m.value)
        .collect();
    assert_eq!(found.len(), 1, "{probe}/{key} at {step}, layer {layer}");
    found[0]
}

#[test]
fn orthogonal_layers_have_cka_one_with_the_input() {
    let cfg = RunConfig::parse(LINEAR, &[]).unwrap();
    let (sink, _) = run(&cfg, true);
    // The default taps of the deep linear net, in forward order, and every unordered pair.
    let taps = ["input", "layers.0.out", "layers.1.out", "logits"];
    let init: Vec<&str> = rows(&sink, "cka", "cka_init", 0)
        .iter()
        .map(|m| m.layer.as_deref().unwrap())
        .collect();
    assert_eq!(init, taps);
    let pairs: Vec<&str> = rows(&sink, "cka", "cka", 0)
        .iter()
        .map(|m| m.layer.as_deref().unwrap())
        .collect();
    let want: Vec<String> = (0..4)
        .flat_map(|i| (i + 1..4).map(move |j| format!("{}|{}", taps[i], taps[j])))
        .collect();
    assert_eq!(pairs, want);
    assert!(rows(&sink, "cka", "cka", 0)
        .iter()
        .all(|m| m.split == "probe"));

    // Orthogonal maps times a scalar: CKA 1 with the input and with each other.
    for pair in [
        "input|layers.0.out",
        "input|layers.1.out",
        "layers.0.out|layers.1.out",
    ] {
        let c = value(&sink, "cka", "cka", 0, pair);
        assert!((c - 1.0).abs() < 1e-12, "{pair}: {c}");
    }
    // The wide read-out projects 8 dimensions onto 2: not an isometry of the 4-d input, so
    // CKA is clearly below 1 (this is what makes the check above able to fail).
    let c = value(&sink, "cka", "cka", 0, "input|logits");
    assert!(c < 0.99 && c > 0.0, "input|logits: {c}");
    // Training changes the hidden weights, which stop being isometries.
    let c = value(&sink, "cka", "cka", 4, "input|layers.1.out");
    assert!(c < 1.0 - 1e-9, "after 4 steps: {c}");

    // A tap with itself under two names (the read-out's output is `logits`, the penultimate
    // layer is `layers.1.out`): exactly the same matrix, CKA 1 at every step.
    for step in 0..=4 {
        for pair in ["logits|layers.2.out", "penultimate|layers.1.out"] {
            let c = value(&sink, "cka_aliases", "cka", step, pair);
            assert!((c - 1.0).abs() < 1e-12, "step {step}, {pair}: {c}");
        }
        assert_eq!(rows(&sink, "cka_aliases", "cka", step).len(), 6);
    }
}

/// The representations of `taps` of `model` on the probe batch of `cfg` (Mode::Probe).
fn representations(
    model: &mut dyn Model<CpuBackend>,
    batch: &Batch<CpuBackend>,
    taps: &[String],
) -> Vec<Vec<f64>> {
    let be = CpuBackend::new(1);
    let ctx = ForwardCtx::new(Mode::Probe, 0, RandomKey::root(0));
    let got = model
        .forward(&batch.x, &ctx, &TapRequest::names(taps))
        .unwrap()
        .taps;
    taps.iter().map(|t| got[t].to_host_f64(&be)).collect()
}

#[test]
fn cka_init_is_one_at_step_zero_and_falls_with_training() {
    let cfg = RunConfig::parse(MLP, &[]).unwrap();
    let (t, sink) = train(&cfg);

    let taps: Vec<String> = ["input", "layers.0.out", "layers.1.out", "logits"]
        .map(String::from)
        .to_vec();
    // At step 0, θ_t = θ₀: the same representation twice.
    for tap in &taps {
        let c = value(&sink, "cka", "cka_init", 0, tap);
        assert!((c - 1.0).abs() < 1e-12, "{tap} at step 0: {c}");
    }
    // Recompute the final values from the trained model and a fresh θ₀ model on the probe
    // batch (the first 32 test examples): the probe compares θ_T with θ₀, tap by tap.
    let mut init = parts(&cfg);
    let batch = Batch::gather(
        &init.be,
        init.data.as_ref(),
        learnscope_data::Split::Test,
        &(0..32).collect::<Vec<_>>(),
        init.dtype,
    );
    let x0 = representations(init.model.as_mut(), &batch, &taps);
    let mut trained = t.model().clone_model();
    let xt = representations(trained.as_mut(), &batch, &taps);
    let mut finals = Vec::new();
    for (i, tap) in taps.iter().enumerate() {
        let recorded = value(&sink, "cka", "cka_init", 200, tap);
        let want = linear_cka(&xt[i], &x0[i], 32).unwrap();
        assert!(
            (recorded - want).abs() < 1e-12,
            "{tap}: {recorded} vs {want}"
        );
        finals.push(recorded);
    }
    // The input never changes; every learned representation has moved away from θ₀'s.
    assert!((finals[0] - 1.0).abs() < 1e-12, "{finals:?}");
    for (tap, c) in taps.iter().zip(&finals).skip(1) {
        assert!(*c < 0.99, "{tap}: cka_init {c} after training");
    }
    // Cross-layer values at θ_T recomputed the same way.
    let c = linear_cka(&xt[1], &xt[3], 32).unwrap();
    let recorded = value(&sink, "cka", "cka", 200, "layers.0.out|logits");
    assert!((recorded - c).abs() < 1e-12, "{recorded} vs {c}");
    eprintln!("cka_init after 200 steps: {taps:?} = {finals:?}");
}

#[test]
fn cka_is_read_only_and_resumes_exactly() {
    let sets = ["checkpoint.every=50".to_string(), "steps=120".to_string()];
    let cfg = RunConfig::parse(MLP, &sets).unwrap();
    let every = every_step(&cfg);
    let with = assert_read_only(&every, &cfg, "the cka probe");
    // Stateless: the resumed run (whose first observation resolves the default taps again and
    // takes θ_t's taps from a scratch pass) records exactly what the uninterrupted one did.
    let sink = assert_resumes_exactly(&every, &with, 50);
    assert!(sink
        .records
        .iter()
        .any(|(s, _, m)| *s == 50 && m.key == "cka_init"));
    assert_eq!(rows(&with, "cka", "cka", 7).len(), 6);
}

#[test]
fn default_taps_of_a_cnn_and_step_zero_with_batch_norm_and_dropout() {
    let cnn = r#"
name = "cka-cnn"
seed = 2
steps = 3
[data]
kind = "mnist1d"
train = 40
test = 20
[[transforms]]
kind = "reshape"
shape = [1, 5, 8]
[model]
kind = "cnn"
readout = "global_avg"
hidden = [8]
hidden_dropout = 0.3
[[model.blocks]]
channels = 4
batch_norm = true
dropout = 0.2
[[model.blocks]]
channels = 6
stride = 2
batch_norm = true
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
[lr]
base = 0.1
[training]
batch_size = 10
[[probes]]
kind = "cka"
schedule = { kind = "every", n = 1 }
"#;
    let cfg = RunConfig::parse(cnn, &[]).unwrap();
    let parts = parts(&cfg);
    let available = parts.model.tap_names();
    let taps = default_taps(&available);
    // `input`, each conv block, the pooling, each dense block (the `blocks` and `dense`
    // containers one level down; the read-out `head` left out), `logits`.
    assert_eq!(
        taps,
        [
            "input",
            "blocks.0.out",
            "blocks.1.out",
            "pool.out",
            "dense.0.out",
            "logits"
        ],
        "from {available:?}"
    );
    let (sink, _) = run(&cfg, true);
    let init: Vec<&str> = rows(&sink, "cka", "cka_init", 0)
        .iter()
        .map(|m| m.layer.as_deref().unwrap())
        .collect();
    assert_eq!(init, taps.iter().map(String::as_str).collect::<Vec<_>>());
    for m in rows(&sink, "cka", "cka_init", 0) {
        assert!((m.value - 1.0).abs() < 1e-12, "{m:?}");
    }
    for m in rows(&sink, "cka", "cka", 3) {
        assert!((0.0..=1.0).contains(&m.value), "{m:?}");
    }
}

#[test]
fn an_unknown_tap_is_an_error_naming_it() {
    let with_taps = |taps: &[&str]| {
        let mut cfg = RunConfig::parse(MLP, &[]).unwrap();
        let list = taps.iter().map(|&t| toml::Value::from(t)).collect();
        cfg.probes[0].insert("taps".into(), toml::Value::Array(list));
        cfg
    };
    let cfg = with_taps(&["input", "layers.7.out"]);
    let e = run_error(&cfg, "an unknown tap fails the run");
    assert!(e.contains("`layers.7.out`"), "{e}");
    assert!(e.contains("`cka.taps`"), "{e}");
    // The message lists the taps the model has.
    assert!(
        e.contains("layers.0.out") && e.contains("penultimate"),
        "{e}"
    );

    let cases: [(&[&str], &str); 2] = [(&[], "at least one tap"), (&["input", "input"], "twice")];
    for (taps, want) in cases {
        let cfg = with_taps(taps);
        let e = build_error(&cfg).unwrap();
        assert!(e.contains("probes[0].taps") && e.contains(want), "{e}");
    }
}
