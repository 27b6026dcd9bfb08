//! The `projected` probe (P2's projected test sets): P = q reproduces the evaluation accuracy,
//! the end-of-run summaries agree with the series, training is unchanged and a resumed run
//! records the same.

use learnscope_nn::CpuBackend;
use learnscope_probes::build_probes;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;
use learnscope_train::Metric;

use crate::harness::{assert_resumes_exactly, every_step, run};
use crate::sink::MemorySink;

/// Three Gaussian classes in 8 dimensions, a ReLU MLP, cross-entropy; `dims` includes 100,
/// clipped to q = 8.
const RUN: &str = r#"
name = "projected"
seed = 11
steps = 120
[data]
kind = "gaussian_mixture"
classes = 3
dim = 8
train_per_class = 40
test_per_class = 30
separation = 2.0
std = 1.0
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
[[probes]]
kind = "loss"
splits = ["train", "test"]
schedule = { kind = "every", n = 10 }
[[probes]]
kind = "projected"
dims = [1, 3, 100, 8]
schedule = { kind = "every", n = 10 }
"#;

fn rows<'a>(sink: &'a MemorySink, probe: &'a str, key: &'a str) -> Vec<(u64, &'a Metric)> {
    sink.records
        .iter()
        .filter(|(_, _, m)| m.probe == probe && m.key == key)
        .map(|(s, _, m)| (*s, m))
        .collect()
}

fn indexed(sink: &MemorySink, key: &str, p: i64) -> Vec<(u64, f64)> {
    rows(sink, "projected", key)
        .into_iter()
        .filter(|(_, m)| m.index == Some(p) && m.split == "test")
        .map(|(s, m)| (s, m.value))
        .collect()
}

#[test]
fn full_rank_projection_gives_the_evaluation_accuracy() {
    let cfg = RunConfig::parse(RUN, &[]).unwrap();
    let (sink, _) = run(&cfg, true);
    let eval: Vec<(u64, f64)> = rows(&sink, "loss", "accuracy")
        .into_iter()
        .filter(|(_, m)| m.split == "test")
        .map(|(s, m)| (s, m.value))
        .collect();
    let full = indexed(&sink, "accuracy", 8);
    assert_eq!(eval.len(), 13, "steps 0, 10, …, 120");
    assert_eq!(full, eval);
    // P = 100 was clipped to q = 8 and not measured twice; the indices are P.
    let mut seen: Vec<i64> = rows(&sink, "projected", "accuracy")
        .iter()
        .filter(|(s, _)| *s == 0)
        .map(|(_, m)| m.index.unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, [1, 3, 8]);
    // The network learns: the full-rank accuracy ends well above chance (1/3), and one
    // component carries less than the full input.
    let last = full.last().unwrap().1;
    assert!(last > 0.6, "{last}");
    let one = indexed(&sink, "accuracy", 1);
    assert_eq!(one.len(), full.len());
    assert!(one.last().unwrap().1 <= last, "{one:?}");
    // The share of variance kept grows with P and is 1 at P = q.
    let vf: Vec<f64> = [1, 3, 8]
        .iter()
        .map(|&p| {
            rows(&sink, "projected", "variance_fraction")
                .iter()
                .find(|(_, m)| m.index == Some(p))
                .unwrap()
                .1
                .value
        })
        .collect();
    assert!(vf[0] < vf[1] && vf[1] < vf[2], "{vf:?}");
    assert!((vf[2] - 1.0).abs() < 1e-12);
}

#[test]
fn end_of_run_summaries_agree_with_the_series() {
    let cfg = RunConfig::parse(RUN, &[]).unwrap();
    let (sink, _) = run(&cfg, true);
    for p in [1, 3, 8] {
        let acc = indexed(&sink, "accuracy", p);
        let (max, fin, gap, frac) = (
            indexed(&sink, "accuracy_max", p),
            acc.last().unwrap().1,
            indexed(&sink, "final_minus_max", p),
            indexed(&sink, "argmax_fraction", p),
        );
        // Once each, at the last step.
        assert_eq!(max.len(), 1, "P = {p}");
        assert_eq!((max[0].0, gap[0].0, frac[0].0), (120, 120, 120));
        let best = acc.iter().map(|a| a.1).fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(max[0].1, best);
        assert!(max[0].1 >= fin);
        assert_eq!(gap[0].1, fin - best);
        assert!(gap[0].1 <= 0.0);
        let first = acc.iter().find(|a| a.1 == best).unwrap().0;
        assert_eq!(frac[0].1, first as f64 / 120.0);
        assert!((0.0..=1.0).contains(&frac[0].1));
    }
}

#[test]
fn projected_is_read_only_and_resumes_exactly() {
    let sets = ["checkpoint.every=50".to_string()];
    let cfg = RunConfig::parse(RUN, &sets).unwrap();
    let (with, pw) = run(&every_step(&cfg), true);
    let (without, po) = run(&cfg, false);
    assert_eq!(pw, po, "probes changed training");
    assert_eq!(
        with.checkpoints.last().unwrap().1,
        without.checkpoints.last().unwrap().1
    );

    let (full, _) = run(&cfg, true);
    let sink = assert_resumes_exactly(&cfg, &full, 50);
    // The summaries at the end depend on the history before the checkpoint.
    assert!(sink
        .fingerprint()
        .iter()
        .any(|r| r.contains(" argmax_fraction ")));
}

#[test]
fn projected_needs_class_targets_and_positive_dims() {
    let dense = RunConfig::parse(
        RUN,
        &[
            r#"data={ kind = "gaussian_teacher", dim = 4, outputs = 2, train = 8, test = 4 }"#
                .into(),
            r#"loss={ kind = "mse" }"#.into(),
        ],
    )
    .unwrap();
    let mut cfg = dense.clone();
    cfg.probes
        .retain(|p| p["kind"].as_str() == Some("projected"));
    let tables = cfg.probes.clone();
    let e = build_parts(&cfg, CpuBackend::new(1), |ctx| {
        build_probes::<CpuBackend>(&tables, ctx)
    })
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("class targets"), "{e}");

    let mut cfg = RunConfig::parse(RUN, &[]).unwrap();
    cfg.probes[1].insert("dims".into(), toml::Value::Array(vec![0.into()]));
    let tables = cfg.probes.clone();
    let e = build_parts(&cfg, CpuBackend::new(1), |ctx| {
        build_probes::<CpuBackend>(&tables, ctx)
    })
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains(">= 1"), "{e}");
}
