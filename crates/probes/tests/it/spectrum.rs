//! The `spectrum` and `collapse` probes (P5, Nam et al. 2024; neural collapse, Papyan et al.
//! 2020) with the trainer: the recorded counts equal the analysis recomputed from the trained
//! model's features, the read-out gradient-descent identity holds on the network's own
//! features, collapse sharpens as a separable problem is fitted, the probes do not change
//! training and resume exactly, and bad settings are errors naming the field.
//!
//! Tolerances: recomputation uses the same f64 formulas on the same features, so counts match
//! exactly and real values to 1e-12 relative (only summation order could differ: none here);
//! the identity's bound is issue 10's 1e-8 (its rounding floor is ≈ 1e-10, see
//! `spectrum::identity`).

use learnscope_core::RandomKey;
use learnscope_data::{Split, TargetData};
use learnscope_models::TapRequest;
use learnscope_nn::{CpuBackend, ForwardCtx, Mode, Tensor};
use learnscope_probes::spectrum::analysis::{alignment_count, one_hot, spectra, Regime};
use learnscope_train::config::RunConfig;

use crate::harness::{
    assert_read_only, assert_resumes_exactly, build_error, every_step, parts, train,
};
use crate::sink::MemorySink;

/// Three Gaussian classes in 8 dimensions (120 train, 60 test), a ReLU MLP 8 → 16 → 12 → 3.
const MLP: &str = r#"
name = "spectrum-mlp"
seed = 5
steps = 96
[data]
kind = "gaussian_mixture"
classes = 3
dim = 8
train_per_class = 40
test_per_class = 20
separation = 3.0
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
base = 0.2
[training]
batch_size = 30
[[probes]]
kind = "spectrum"
schedule = { kind = "every", n = 32 }
identity_steps = 300
eigenfunctions = 2
scatter_examples = 10
[[probes]]
kind = "collapse"
schedule = { kind = "every", n = 32 }
"#;

fn values(sink: &MemorySink, probe: &str, key: &str, split: &str) -> Vec<(u64, f64)> {
    sink.records
        .iter()
        .filter(|(_, _, m)| m.probe == probe && m.key == key && m.split == split)
        .filter(|(_, _, m)| m.index.is_none())
        .map(|(s, _, m)| (*s, m.value))
        .collect()
}

fn at(sink: &MemorySink, probe: &str, key: &str, step: u64) -> f64 {
    let v: Vec<f64> = values(sink, probe, key, "train")
        .into_iter()
        .filter(|x| x.0 == step)
        .map(|x| x.1)
        .collect();
    assert_eq!(v.len(), 1, "{probe}/{key} at {step}");
    v[0]
}

#[test]
fn counts_match_a_recomputation_and_collapse_sharpens() {
    let cfg = RunConfig::parse(MLP, &[]).unwrap();
    let (t, sink) = train(&cfg);
    let steps: Vec<u64> = values(&sink, "spectrum", "count95", "train")
        .iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(steps, [0, 32, 64, 96]);

    // The identity runs once, at the first observation, and holds (issue 10 row 1).
    let id = values(&sink, "spectrum", "gd_identity", "train");
    assert_eq!(id.len(), 1);
    assert_eq!(id[0].0, 0);
    assert!(id[0].1 < 1e-8, "gd_identity {:e}", id[0].1);
    assert!(at(&sink, "spectrum", "gd_identity_modes", 0) >= 1.0);

    // Recompute the last step from the trained model's penultimate features.
    let parts = parts(&cfg);
    let data = parts.data;
    let mut x = Vec::new();
    data.gather_inputs(Split::Train, &(0..120).collect::<Vec<_>>(), &mut x);
    let labels = match data.targets(Split::Train) {
        TargetData::Classes(l) => l.clone(),
        TargetData::Dense(_) => unreachable!(),
    };
    let be = CpuBackend::new(1);
    let mut model = t.model().clone_model();
    let xt = Tensor::from_f64(&be, model.spec().dtype, &[120, 8], &x);
    let ctx = ForwardCtx::new(Mode::Probe, 0, RandomKey::root(0));
    let taps = model
        .forward(&xt, &ctx, &TapRequest::names(["penultimate"]))
        .unwrap()
        .taps;
    let phi = taps["penultimate"].to_host_f64(&be);
    assert_eq!(phi.len(), 120 * 12);
    let (raw, cov) = spectra(&phi, 120, 12).unwrap();
    let a = raw.alignments(&phi, 120, &one_hot(&labels, 3), 3, 1e-10);
    let count = alignment_count(&a, 0.95).unwrap();
    assert_eq!(at(&sink, "spectrum", "count95", 96), count as f64);
    assert_eq!(
        at(&sink, "spectrum", "regime", 96),
        Regime::of(count, 3).code()
    );
    let trace = at(&sink, "spectrum", "trace_cov", 96);
    assert!((trace - cov.trace()).abs() <= 1e-12 * trace);
    // A separable 3-class problem fitted by a 12-unit layer ends in the MF band [2, 4].
    assert!((2..=4).contains(&count), "count95 = {count}");
    eprintln!(
        "count95 by step: {:?}; identity {:e}",
        values(&sink, "spectrum", "count95", "train"),
        id[0].1
    );

    // Collapse: within-class variability relative to between-class shrinks as the classes are
    // fitted; the read-out is found (weights metrics recorded); NCC agrees with the network.
    let nc1 = values(&sink, "collapse", "nc1_trace", "train");
    assert_eq!(nc1.len(), 4);
    assert!(nc1[3].1 < nc1[0].1, "NC1 {nc1:?}");
    assert_eq!(
        values(&sink, "collapse", "nc3_self_duality", "train").len(),
        4
    );
    let ncc = at(&sink, "collapse", "nc4_ncc_mismatch", 96);
    assert!((0.0..=0.1).contains(&ncc), "NC4 {ncc}");
    eprintln!("NC1 by step: {nc1:?}; NC4 at the end {ncc}");

    // Scatter arrays: 10 examples × 2 eigenfunctions per split and step, labels alongside.
    let psi = sink
        .records
        .iter()
        .filter(|(s, _, m)| *s == 96 && m.key == "eigenfunction" && m.split == "train")
        .count();
    assert_eq!(psi, 20);
}

#[test]
fn spectrum_and_collapse_are_read_only_and_resume_exactly() {
    let sets = ["checkpoint.every=20".to_string(), "steps=45".to_string()];
    let cfg = RunConfig::parse(MLP, &sets).unwrap();
    let every = every_step(&cfg);
    let with = assert_read_only(&every, &cfg, "the spectrum and collapse probes");
    // The identity ran at step 0 only; the resumed run does not repeat it.
    let sink = assert_resumes_exactly(&every, &with, 20);
    assert!(values(&sink, "spectrum", "gd_identity", "train").is_empty());
}

#[test]
fn real_targets_get_the_kernel_picture() {
    let cfg = RunConfig::parse(
        r#"
name = "spectrum-teacher"
seed = 1
steps = 40
[data]
kind = "gaussian_teacher"
dim = 6
outputs = 1
train = 100
test = 50
[model]
kind = "mlp"
hidden = [10]
activation = "relu"
[loss]
kind = "mse"
[optimizer]
kind = "sgd"
[lr]
base = 0.05
[training]
batch_size = 100
[[probes]]
kind = "spectrum"
schedule = { kind = "every", n = 20 }
identity_steps = 50
"#,
        &[],
    )
    .unwrap();
    let (_, sink) = train(&cfg);
    let top = values(&sink, "spectrum", "target_alignment_top", "train");
    assert_eq!(top.len(), 3);
    assert!(
        top.iter().all(|x| (0.0..=1.0 + 1e-12).contains(&x.1)),
        "{top:?}"
    );
    assert!(values(&sink, "spectrum", "regime", "train").is_empty());
    assert!(at(&sink, "spectrum", "gd_identity", 0) < 1e-8);
    // The collapse probe refuses real-valued targets.
    let mut bad = cfg.clone();
    bad.probes = vec![toml::toml! { kind = "collapse" }];
    let e = build_error(&bad).unwrap();
    assert!(e.contains("probes[0]") && e.contains("class labels"), "{e}");
}

#[test]
fn bad_settings_name_the_field() {
    let mut cfg = RunConfig::parse(MLP, &[]).unwrap();
    cfg.probes = vec![toml::toml! { kind = "spectrum"
    rcond = 2.0 }];
    let e = build_error(&cfg).unwrap();
    assert!(e.contains("probes[0]") && e.contains("rcond"), "{e}");
    cfg.probes = vec![toml::toml! { kind = "spectrum"
    eigen = 3 }];
    let e = build_error(&cfg).unwrap();
    assert!(e.contains("probes[0]") && e.contains("eigen"), "{e}");
    cfg.probes = vec![toml::toml! { kind = "collapse"
    examples = 1 }];
    let e = build_error(&cfg).unwrap();
    assert!(e.contains("examples"), "{e}");
}
