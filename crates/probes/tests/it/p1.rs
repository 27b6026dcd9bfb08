//! P1's probes on deep linear networks: `modes` against the closed forms (the same identities as
//! `reproduce p1`, at the sizes of its smoke runs), `ocs` identities, read-only behaviour and
//! exact resume with both probes' state.

use learnscope_nn::CpuBackend;
use learnscope_probes::build_probes;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;

use crate::harness::{assert_resumes_exactly, every_step, run};
use crate::sink::MemorySink;

/// experiments/p1-dln.toml: centred √P-scaled one-hot inputs, 8-16-15 with an output bias,
/// decoupled init u₀ = 1e-6, η = 1e-3.
const P1_DLN: &str = include_str!("../../../../experiments/p1-dln.toml");

fn series(sink: &MemorySink, probe: &str, key: &str, split: &str) -> Vec<(u64, f64)> {
    sink.records
        .iter()
        .filter(|(_, _, m)| {
            m.probe == probe && m.key == key && m.split == split && m.index.is_none()
        })
        .map(|(s, _, m)| (*s, m.value))
        .collect()
}

fn max_of(v: &[(u64, f64)]) -> f64 {
    v.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max)
}

#[test]
fn output_bias_and_modes_follow_the_closed_forms() {
    let cfg = RunConfig::parse(P1_DLN, &[]).unwrap();
    let (sink, _) = run(&cfg, true);
    assert_eq!(
        series(&sink, "modes", "closed_form_applies", "train")[0].1,
        1.0
    );
    // Tolerance 0.5 % of s_max (issue 6); the Euler lag predicts ≈ 0.16 % (see
    // experiments/p1-verdict.toml, row p1-modes-sigmoid) and the bias error ≤ η/(2e)·‖ȳ − b₀‖.
    let modes = max_of(&series(&sink, "modes", "mode_error_rel", "train"));
    let bias = max_of(&series(&sink, "modes", "offset_error_rel", "train"));
    assert!(modes < 0.005 && modes > 1e-4, "mode error {modes}");
    assert!(bias < 0.005, "offset error {bias}");
    // The flow (RK4, dt = 0.01) is the same gradient flow: it differs from GD by the same lag.
    let flow = max_of(&series(&sink, "modes", "flow_error_rel", "train"));
    assert!(
        (flow - modes).abs() < 1e-6,
        "flow {flow} vs closed form {modes}"
    );
    // The OCS phase: d_OCS < 1 % of its start before the top mode's half time (7349 steps).
    let d = series(&sink, "ocs", "d_ocs_over_init", "train");
    assert_eq!(d[0].1, 1.0);
    let early = d
        .iter()
        .filter(|x| x.0 <= 7349)
        .map(|x| x.1)
        .fold(1.0, f64::min);
    assert!(early < 0.01, "{early}");
    // d_OCS = V_x + mean-output error, on the training set and on the OOD noise.
    for split in ["train", "ood"] {
        let d = series(&sink, "ocs", "d_ocs", split);
        let v = series(&sink, "ocs", "input_sensitivity", split);
        let m = series(&sink, "ocs", "mean_output_error", split);
        assert!(!d.is_empty(), "{split}");
        for ((a, b), c) in d.iter().zip(&v).zip(&m) {
            assert!(
                (a.1 - b.1 - c.1).abs() <= 1e-12 * a.1.max(1.0),
                "{split} step {}",
                a.0
            );
        }
    }
    // The `modes` probe's d_OCS (from the moments) equals the `ocs` probe's (a pass over the
    // data) at every step both observed.
    let from_moments = series(&sink, "modes", "d_ocs", "train");
    let from_data = series(&sink, "ocs", "d_ocs", "train");
    assert_eq!(from_moments.len(), from_data.len());
    for (a, b) in from_moments.iter().zip(&from_data) {
        assert!(
            (a.1 - b.1).abs() <= 1e-12 * b.1.max(1e-3),
            "step {}: {} vs {}",
            a.0,
            a.1,
            b.1
        );
    }
}

#[test]
fn a_random_init_has_no_closed_form_but_the_flow_tracks_it() {
    let cfg = RunConfig::parse(
        P1_DLN,
        &[
            "model.bias=true".into(),
            "data.centre_inputs=false".into(),
            r#"model.init={ kind = "gaussian", std = 1e-3 }"#.into(),
            "steps=20000".into(),
        ],
    )
    .unwrap();
    let (sink, _) = run(&cfg, true);
    assert_eq!(
        series(&sink, "modes", "closed_form_applies", "train")[0].1,
        0.0
    );
    assert!(series(&sink, "modes", "mode_error_rel", "train").is_empty());
    // GD vs the exact flow from the same θ₀: the Euler error only (≈ 1e-3 of s_max).
    let flow = max_of(&series(&sink, "modes", "flow_error_rel", "train"));
    assert!(flow < 5e-3, "{flow}");
    // The flow's loss is the GD loss to the same relative order, at every observed step.
    let gd = series(&sink, "modes", "loss", "train");
    let fl = series(&sink, "modes", "loss", "flow");
    let l0 = gd[0].1;
    for (a, b) in gd.iter().zip(&fl) {
        assert!(
            (a.1 - b.1).abs() <= 5e-3 * l0,
            "step {}: {} vs {}",
            a.0,
            a.1,
            b.1
        );
    }
}

#[test]
fn p1_probes_are_read_only_and_resume_exactly() {
    let sets = ["steps=3000".to_string(), "checkpoint.every=1100".into()];
    let cfg = RunConfig::parse(P1_DLN, &sets).unwrap();
    let (with, pw) = run(&every_step(&cfg), true);
    let (without, po) = run(&cfg, false);
    assert_eq!(pw, po, "probes changed training");
    assert_eq!(
        with.checkpoints.last().unwrap().1,
        without.checkpoints.last().unwrap().1
    );

    // `d_ocs_over_init` divides by the first observation, kept in the probe state; the flow is
    // integrated again from θ₀.
    let (full, _) = run(&cfg, true);
    assert_resumes_exactly(&cfg, &full, 1100);
}

#[test]
fn modes_rejects_what_it_cannot_compare() {
    let cfg = RunConfig::parse(P1_DLN, &[r#"loss={ kind = "bce" }"#.into()]).unwrap();
    let tables = cfg.probes.clone();
    let e = build_parts(&cfg, CpuBackend::new(1), |ctx| {
        build_probes::<CpuBackend>(&tables, ctx)
    })
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("squared-loss theory") && e.contains("bce"),
        "{e}"
    );
}
