//! P2's example-order probes with the trainer: `critical_pc` (recorded once, equal to the
//! classifier computed directly, indices = example indices) and `discriminability` (raw k-NN
//! agreement equal to a direct computation on the probe batch, penultimate = raw for a
//! one-layer model, penultimate agreement rising with training); both read-only and resuming
//! exactly.

use learnscope_data::Split;
use learnscope_probes::critical_pc::{grid_of, PcClassifier};
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_data;
use learnscope_train::Metric;

use crate::harness::{
    assert_read_only, assert_resumes_exactly, build_error, every_step, run, run_error,
};
use crate::sink::MemorySink;

/// Three Gaussian classes in 8 dimensions with unequal noise per dimension (so the spectrum
/// is spread and examples need different numbers of components), a ReLU MLP, cross-entropy,
/// f64; the probe batch is the first 60 test examples.
const RUN: &str = r#"
name = "order"
seed = 5
dtype = "f64"
steps = 120
[data]
kind = "gaussian_mixture"
classes = 3
dim = 8
train_per_class = 60
test_per_class = 30
separation = 2.5
std = [3.0, 2.0, 1.5, 1.0, 1.0, 0.7, 0.5, 0.3]
[model]
kind = "mlp"
hidden = [16]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
[lr]
base = 0.1
[training]
batch_size = 30
probe_batch = { split = "test", size = 60 }
[[probes]]
kind = "critical_pc"
schedule = { kind = "every", n = 10 }
[[probes]]
kind = "discriminability"
k = 5
schedule = { kind = "every", n = 10 }
"#;

fn rows<'a>(sink: &'a MemorySink, probe: &'a str, key: &'a str) -> Vec<(u64, &'a Metric)> {
    sink.records
        .iter()
        .filter(|(_, _, m)| m.probe == probe && m.key == key)
        .map(|(s, _, m)| (*s, m))
        .collect()
}

/// Per-example values of `key` at `step`, by index.
fn per_example(sink: &MemorySink, probe: &str, key: &str, step: u64) -> Vec<(i64, f64)> {
    rows(sink, probe, key)
        .into_iter()
        .filter(|(s, _)| *s == step)
        .map(|(_, m)| (m.index.unwrap(), m.value))
        .collect()
}

fn test_split(cfg: &RunConfig) -> (Vec<f64>, Vec<u32>, usize) {
    let data = build_data(cfg).unwrap();
    let n = data.spec().len(Split::Test);
    let mut x = Vec::new();
    data.gather_inputs(Split::Test, &(0..n).collect::<Vec<_>>(), &mut x);
    let labels = match data.host_targets(Split::Test) {
        learnscope_nn::loss::HostTargets::Classes { labels, .. } => labels.to_vec(),
        _ => unreachable!(),
    };
    (x, labels, data.spec().input_size())
}

#[test]
fn critical_pc_is_recorded_once_and_equals_the_direct_computation() {
    let with_grid = RUN.replace(
        "kind = \"critical_pc\"\n",
        "kind = \"critical_pc\"\ngrid = [1, 3, 100]\n",
    );
    for text in [RUN, with_grid.as_str()] {
        let cfg = RunConfig::parse(text, &[]).unwrap();
        let (sink, _) = run(&cfg, true);
        let data = build_data(&cfg).unwrap();
        let train_labels = match data.host_targets(Split::Train) {
            learnscope_nn::loss::HostTargets::Classes { labels, .. } => labels.to_vec(),
            _ => unreachable!(),
        };
        let clf = PcClassifier::fit_train(data.as_ref(), &train_labels, 3, 1e-3).unwrap();
        let (x, labels, q) = test_split(&cfg);
        let grid_cfg = cfg.probes[0].get("grid").map(|_| vec![1, 3, 100]);
        let grid = grid_of(grid_cfg.as_deref(), q).unwrap();
        let (want, acc) = clf.critical(&x, &labels, &grid).unwrap();

        // Once, at the first due step, never again (the final step included).
        for key in ["critical_pc", "critical_pc_never", "classifier_accuracy"] {
            let r = rows(&sink, "critical_pc", key);
            assert!(!r.is_empty() && r.iter().all(|(s, m)| *s == 0 && m.split == "test"));
        }
        let got = per_example(&sink, "critical_pc", "critical_pc", 0);
        let expected: Vec<(i64, f64)> = want
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.map(|p| (i as i64, p as f64)))
            .collect();
        assert_eq!(got, expected);
        let never = rows(&sink, "critical_pc", "critical_pc_never");
        assert_eq!(never.len(), 1);
        assert_eq!(never[0].1.value as usize + got.len(), labels.len());
        assert_eq!(
            rows(&sink, "critical_pc", "classifier_accuracy")[0].1.value,
            acc
        );
        // Values are grid points; the problem needs several of them; the classifier is far
        // above chance (1/3) on the unprojected test set.
        assert!(got.iter().all(|(_, p)| grid.contains(&(*p as usize))));
        let distinct: std::collections::BTreeSet<i64> =
            got.iter().map(|(_, p)| *p as i64).collect();
        assert!(distinct.len() >= 2, "{distinct:?}");
        assert!(acc > 0.6, "{acc}");
        if grid_cfg.is_some() {
            assert_eq!(grid, [1, 3, 8]);
        }
        eprintln!(
            "critical_pc grid {grid:?}: accuracy {acc:.3}, never {}, distinct P {distinct:?}",
            never[0].1.value
        );
    }
}

#[test]
fn raw_discriminability_is_knn_agreement_on_the_probe_batch() {
    let cfg = RunConfig::parse(RUN, &[]).unwrap();
    let (sink, _) = run(&cfg, true);
    let (x, labels, q) = test_split(&cfg);
    let n = 60;
    let want = learnscope_stats::knn_label_agreement(
        &x[..n * q],
        q,
        &labels[..n].iter().map(|&y| y as usize).collect::<Vec<_>>(),
        5,
    )
    .unwrap();
    let raw = per_example(&sink, "discriminability", "discriminability_raw", 0);
    assert_eq!(raw.len(), n);
    assert!(raw.iter().enumerate().all(|(i, (j, _))| i as i64 == *j));
    let got: Vec<f64> = raw.iter().map(|r| r.1).collect();
    assert_eq!(got, want);
    // Recorded once; the mean is the mean of the rows.
    assert!(rows(&sink, "discriminability", "discriminability_raw")
        .iter()
        .all(|(s, _)| *s == 0));
    let mean = rows(&sink, "discriminability", "discriminability_raw_mean");
    assert_eq!(mean.len(), 1);
    assert!((mean[0].1.value - want.iter().sum::<f64>() / n as f64).abs() < 1e-15);
    // Penultimate: every due step (0, 10, …, 120), n rows each.
    let pen = rows(
        &sink,
        "discriminability",
        "discriminability_penultimate_mean",
    );
    assert_eq!(pen.len(), 13);
    for (s, _) in &pen {
        assert_eq!(
            per_example(
                &sink,
                "discriminability",
                "discriminability_penultimate",
                *s
            )
            .len(),
            n
        );
    }
}

#[test]
fn penultimate_equals_raw_for_a_one_layer_model() {
    // With no hidden layer the penultimate tap is the input itself.
    let cfg = RunConfig::parse(RUN, &["model.hidden=[]".to_string()]).unwrap();
    let (sink, _) = run(&cfg, true);
    let raw = per_example(&sink, "discriminability", "discriminability_raw", 0);
    for s in (0..=120).step_by(10) {
        let pen = per_example(&sink, "discriminability", "discriminability_penultimate", s);
        assert_eq!(pen, raw, "step {s}");
    }
}

/// Mean and standard error of the paired differences `a_i − b_i`.
fn paired(a: &[(i64, f64)], b: &[(i64, f64)]) -> (f64, f64) {
    assert_eq!(a.len(), b.len());
    let d: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| {
            assert_eq!(x.0, y.0);
            x.1 - y.1
        })
        .collect();
    (learnscope_stats::mean(&d), learnscope_stats::sem(&d))
}

#[test]
fn training_raises_penultimate_discriminability() {
    // Two classes whose means differ along one axis, buried in 40 noise dimensions: in raw space
    // the noise dominates Euclidean distances, a trained network's penultimate features keep
    // mostly the class direction.
    let cfg = RunConfig::parse(
        r#"
name = "disc"
seed = 2
dtype = "f64"
steps = 300
[data]
kind = "gaussian_mixture"
classes = 2
dim = 40
train_per_class = 200
test_per_class = 100
separation = 2.5
std = 1.0
[model]
kind = "mlp"
hidden = [32]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
momentum = 0.9
[lr]
base = 0.05
[training]
batch_size = 40
probe_batch = { split = "test", size = 200 }
[[probes]]
kind = "discriminability"
schedule = { kind = "every", n = 100 }
"#,
        &[],
    )
    .unwrap();
    let (sink, _) = run(&cfg, true);
    let raw = per_example(&sink, "discriminability", "discriminability_raw", 0);
    let pen0 = per_example(&sink, "discriminability", "discriminability_penultimate", 0);
    let pen = per_example(
        &sink,
        "discriminability",
        "discriminability_penultimate",
        300,
    );
    let mean = |v: &[(i64, f64)]| v.iter().map(|r| r.1).sum::<f64>() / v.len() as f64;
    eprintln!(
        "discriminability (k = 10, 200 test examples): raw {:.3}, penultimate step 0 {:.3}, step 300 {:.3}",
        mean(&raw),
        mean(&pen0),
        mean(&pen)
    );
    // The rise must exceed 3 standard errors of the paired per-example differences
    // (a one-sided z-test at about 0.1 %), against both the raw space and the untrained net.
    for (base, what) in [(&raw, "raw"), (&pen0, "step 0")] {
        let (d, se) = paired(&pen, base);
        assert!(d > 3.0 * se, "over {what}: {d} ± {se}");
    }
}

#[test]
fn order_probes_are_read_only_and_resume_exactly() {
    let sets = ["checkpoint.every=50".to_string()];
    let cfg = RunConfig::parse(RUN, &sets).unwrap();
    assert_read_only(&every_step(&cfg), &cfg, "probes");
    let (full, _) = run(&cfg, true);
    let sink = assert_resumes_exactly(&cfg, &full, 50);
    // The resumed run does not record the once-only values again.
    assert!(rows(&sink, "critical_pc", "critical_pc_never").is_empty());
    assert!(rows(&sink, "discriminability", "discriminability_raw_mean").is_empty());
    assert!(!rows(
        &sink,
        "discriminability",
        "discriminability_penultimate_mean"
    )
    .is_empty());
}

#[test]
fn k_at_least_the_probe_batch_size_is_an_error() {
    let cfg = RunConfig::parse(&RUN.replace("size = 60", "size = 5"), &[]).unwrap();
    let err = run_error(&cfg, "k = 5 with 5 examples");
    assert!(err.contains("discriminability.k"), "{err}");
    // k = 0 is rejected when the probe is built.
    let bad = RunConfig::parse(&RUN.replace("k = 5", "k = 0"), &[]).unwrap();
    assert!(build_error(&bad).is_some());
}
