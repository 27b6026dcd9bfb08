//! P3's `binary` probe with the trainer: the logit flows of SCIENCE.md §P3.3 against gradient
//! descent (the identities of `reproduce p3`, shortened), time to margin against the closed
//! form, failed training from dead clusters, read-only behaviour and exact resume.

use learnscope_theory::binary::{BinaryLoss, BinaryModel, LogitFlow};
use learnscope_train::config::RunConfig;

use crate::harness::{assert_resumes_exactly, every_step, run};
use crate::sink::MemorySink;

/// Four aligned, balanced units on four orthogonal features (p = ¼, r = 0.5, 1, 2, 4),
/// u₀ = 1e-3, η = 1e-3, BCE.
const P3_MODES: &str = include_str!("../../../../experiments/p3-modes.toml");
const P3_FAILURE: &str = include_str!("../../../../experiments/p3-failure.toml");

fn series(sink: &MemorySink, key: &str, split: &str, index: Option<i64>) -> Vec<(u64, f64)> {
    sink.records
        .iter()
        .filter(|(_, _, m)| {
            m.probe == "binary" && m.key == key && m.split == split && m.index == index
        })
        .map(|(s, _, m)| (*s, m.value))
        .collect()
}

fn last(sink: &MemorySink, key: &str) -> f64 {
    series(sink, key, "train", None).last().unwrap().1
}

fn modes(sets: &[&str]) -> RunConfig {
    let mut all = vec!["steps=12000".to_string()];
    all.extend(sets.iter().map(|s| s.to_string()));
    RunConfig::parse(P3_MODES, &all).unwrap()
}

#[test]
fn margins_follow_the_logit_flows_for_both_losses_and_depths() {
    // Tolerance 1 % (issue 7); the Euler error here is ≤ 0.35 % (see experiments/p3-verdict.toml).
    for (sets, model, loss) in [
        (vec![], BinaryModel::TwoLayer, BinaryLoss::CrossEntropy),
        (
            vec![r#"loss={ kind = "hinge" }"#],
            BinaryModel::TwoLayer,
            BinaryLoss::Hinge,
        ),
        (
            vec!["model.hidden=[]"],
            BinaryModel::Shallow,
            BinaryLoss::CrossEntropy,
        ),
        (
            vec!["model.hidden=[]", r#"loss={ kind = "hinge" }"#],
            BinaryModel::Shallow,
            BinaryLoss::Hinge,
        ),
    ] {
        let (sink, _) = run(&modes(&sets), true);
        assert_eq!(last(&sink, "closed_form_applies"), 1.0, "{sets:?}");
        let worst = series(&sink, "flow_error_rel", "train", None)
            .iter()
            .map(|x| x.1)
            .fold(0.0, f64::max);
        assert!(worst < 0.01, "{sets:?}: {worst}");
        // Time to margin of the fastest feature (r = 4) against the closed form, to the
        // probe's resolution (every 250 steps) plus the Euler lag (≤ 0.35 % of the time).
        let flow = LogitFlow {
            model,
            loss,
            p: 0.25,
            r: 4.0,
            z0: 4.0e-3,
        };
        let predicted_steps = flow.time_to(1.0) / 1e-3;
        let measured = series(&sink, "feature_time_to_margin", "train", Some(3))[0].1;
        assert!(
            measured >= predicted_steps - 1.0
                && measured <= predicted_steps + 250.0 + 0.0035 * predicted_steps,
            "{sets:?}: measured {measured}, predicted {predicted_steps}"
        );
    }
}

#[test]
fn the_hinge_stops_at_the_margin_and_cross_entropy_does_not() {
    let (ce, _) = run(&modes(&["steps=30000"]), true);
    let (hinge, _) = run(&modes(&["steps=30000", r#"loss={ kind = "hinge" }"#]), true);
    // The two fastest features (r = 2, 4) are past the margin in both runs.
    let z = |s: &MemorySink, k: i64| {
        series(s, "feature_margin", "train", Some(k))
            .last()
            .unwrap()
            .1
    };
    for k in [2, 3] {
        assert!(
            (z(&hinge, k) - 1.0).abs() < 0.005,
            "hinge {k}: {}",
            z(&hinge, k)
        );
        assert!(z(&ce, k) > 3.0, "ce {k}: {}", z(&ce, k));
    }
}

#[test]
fn a_random_init_has_no_closed_form() {
    let (sink, _) = run(
        &modes(&[
            r#"model.init={ kind = "gaussian", gain = 0.1 }"#,
            "steps=200",
        ]),
        true,
    );
    assert_eq!(last(&sink, "closed_form_applies"), 0.0);
    assert!(series(&sink, "flow_error_rel", "train", None).is_empty());
    assert!(series(&sink, "feature_margin", "theory", Some(0)).is_empty());
}

#[test]
fn without_biases_a_run_fails_exactly_when_a_feature_has_lost_every_unit() {
    // Without biases a unit's weight on feature f moves only through f's own examples, so a
    // feature no unit is active on is never learned (its logit stays 0, an error), and every
    // other feature is learned by the end. (With 8 units, seeds 0–7 give both outcomes.)
    let (mut failed, mut passed) = (0, 0);
    for seed in 0..8 {
        let cfg = RunConfig::parse(
            P3_FAILURE,
            &[
                format!("seed={seed}"),
                "model.bias=false".into(),
                "model.hidden=[8]".into(),
                r#"model.init={ kind = "gaussian", gain = 1.0 }"#.into(),
            ],
        )
        .unwrap();
        let (sink, _) = run(&cfg, true);
        let dead_end = last(&sink, "dead_clusters");
        let fail = last(&sink, "failed");
        assert_eq!(fail == 1.0, dead_end > 0.0, "seed {seed}");
        // A dead cluster's examples sit at margin 0: the error is a multiple of 1/8.
        let error = last(&sink, "error");
        assert!(
            (error - dead_end / 8.0).abs() < 1e-12,
            "seed {seed}: {error}"
        );
        if fail == 1.0 {
            failed += 1;
        } else {
            passed += 1;
        }
    }
    assert!(failed > 0 && passed > 0, "{failed} failed, {passed} passed");
}

#[test]
fn the_binary_probe_is_read_only_and_resumes_exactly() {
    let sets = ["steps=3000".to_string(), "checkpoint.every=1100".into()];
    let cfg = RunConfig::parse(P3_MODES, &sets).unwrap();
    let (_, pw) = run(&every_step(&cfg), true);
    let (_, po) = run(&cfg, false);
    assert_eq!(pw, po, "the probe changed training");

    // Times to margin, the error curve and z₀ live in the probe state.
    let (full, _) = run(&cfg, true);
    assert_resumes_exactly(&cfg, &full, 1100);
}
