//! Verdict rows: the JSON schema of DESIGN.md §4 round-trips, and rules decide outcomes.

use learnscope_repro::verdict::{
    evaluate, markdown_table, verdict_exit_code, Applies, RowKind, RowSpec, Rule, Target,
    VerdictRow,
};
use learnscope_repro::Outcome;

fn spec(kind: RowKind, rule: Option<Rule>, target: Option<Target>) -> RowSpec {
    RowSpec {
        id: "row".into(),
        kind,
        claim: "a claim".into(),
        source: "a paper".into(),
        metric: "loss/batch_loss last".into(),
        rule,
        target,
        reason: "why".into(),
        applies: if kind == RowKind::Identity {
            Applies::EachSeed
        } else {
            Applies::Mean
        },
    }
}

#[test]
fn rows_serialise_in_the_design_schema_and_round_trip() {
    let s = spec(
        RowKind::Replication,
        Some(Rule::Within),
        Some(Target::Range([0.5, 2.0])),
    );
    let row = VerdictRow::measure(&s, &[1.0, 1.5, 2.0], vec![]);
    assert_eq!(row.outcome, Outcome::Pass);
    let json = serde_json::to_value(&row).unwrap();
    for key in [
        "id", "kind", "claim", "source", "metric", "rule", "target", "measured", "outcome",
    ] {
        assert!(json.get(key).is_some(), "{key} missing in {json}");
    }
    assert_eq!(json["kind"], "replication");
    assert_eq!(json["rule"], "within");
    assert_eq!(json["target"], serde_json::json!([0.5, 2.0]));
    assert_eq!(json["outcome"], "pass");
    let m = &json["measured"];
    assert_eq!(m["mean"], 1.5);
    assert_eq!(m["n"], 3);
    assert_eq!(m["sd"], 0.5);
    assert_eq!(m["per_seed"], serde_json::json!([1.0, 1.5, 2.0]));
    // t_{0.975,2} = 4.302652729911275, sem = 0.5/√3.
    let half = 4.302_652_729_911_275 * 0.5 / 3f64.sqrt();
    let ci = (
        m["ci95"][0].as_f64().unwrap(),
        m["ci95"][1].as_f64().unwrap(),
    );
    assert!((ci.0 - (1.5 - half)).abs() < 1e-9, "{ci:?} vs ±{half}");
    assert!((ci.1 - (1.5 + half)).abs() < 1e-9, "{ci:?} vs ±{half}");
    let (lo, hi) = row.ci95_bootstrap.unwrap();
    assert!((1.0..=2.0).contains(&lo) && (1.0..=2.0).contains(&hi) && lo <= hi);
    let text = serde_json::to_string(&vec![row.clone()]).unwrap();
    let back: Vec<VerdictRow> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, vec![row]);

    // One seed: sd and ci95 are null; report rows have null rule and target.
    let r = VerdictRow::measure(&spec(RowKind::Report, None, None), &[0.25], vec![]);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["outcome"], "reported");
    assert!(json["rule"].is_null() && json["target"].is_null());
    assert!(json["measured"]["sd"].is_null() && json["measured"]["ci95"].is_null());
    assert!(json["ci95_bootstrap"].is_null());
    assert_eq!(json["target"], serde_json::Value::Null);
    let number = spec(
        RowKind::Identity,
        Some(Rule::Le),
        Some(Target::Value(1e-12)),
    );
    let json = serde_json::to_value(VerdictRow::measure(&number, &[0.0], vec![])).unwrap();
    assert_eq!(json["target"], 1e-12);
    assert_eq!(json["rule"], "<=");
    assert_eq!(json["kind"], "identity");
}

#[test]
fn rules_give_pass_fail_and_reported() {
    let le = (Some(Rule::Le), Some(Target::Value(1.0)));
    // Identity rows: every seed must pass.
    assert_eq!(
        evaluate(
            RowKind::Identity,
            le.0,
            le.1,
            Applies::EachSeed,
            &[0.5, 1.0]
        ),
        Outcome::Pass
    );
    assert_eq!(
        evaluate(
            RowKind::Identity,
            le.0,
            le.1,
            Applies::EachSeed,
            &[0.5, 1.2]
        ),
        Outcome::Fail
    );
    // Replication rows: the mean.
    assert_eq!(
        evaluate(RowKind::Replication, le.0, le.1, Applies::Mean, &[0.5, 1.2]),
        Outcome::Pass
    );
    assert_eq!(
        evaluate(RowKind::Replication, le.0, le.1, Applies::Mean, &[1.5, 1.2]),
        Outcome::Fail
    );
    // Non-finite values and missing values fail.
    assert_eq!(
        evaluate(RowKind::Replication, le.0, le.1, Applies::Mean, &[f64::NAN]),
        Outcome::Fail
    );
    assert_eq!(
        evaluate(RowKind::Identity, le.0, le.1, Applies::EachSeed, &[]),
        Outcome::Fail
    );
    // Ranges are inclusive.
    let within = (Some(Rule::Within), Some(Target::Range([-1.0, 1.0])));
    for (v, want) in [
        (-1.0, Outcome::Pass),
        (1.0, Outcome::Pass),
        (1.0001, Outcome::Fail),
        (-2.0, Outcome::Fail),
    ] {
        assert_eq!(
            evaluate(
                RowKind::Identity,
                within.0,
                within.1,
                Applies::EachSeed,
                &[v]
            ),
            want,
            "{v}"
        );
    }
    let gt = (Some(Rule::Gt), Some(Target::Value(0.0)));
    assert_eq!(
        evaluate(RowKind::Replication, gt.0, gt.1, Applies::Mean, &[0.0]),
        Outcome::Fail
    );
    let ge = (Some(Rule::Ge), Some(Target::Value(0.0)));
    assert_eq!(
        evaluate(RowKind::Replication, ge.0, ge.1, Applies::Mean, &[0.0]),
        Outcome::Pass
    );
    assert_eq!(
        evaluate(RowKind::Report, None, None, Applies::Mean, &[3.0]),
        Outcome::Reported
    );

    // A NaN value leaves `measured` null with a note, and fails the row.
    let id = spec(RowKind::Identity, le.0, le.1);
    let row = VerdictRow::measure(&id, &[0.1, f64::NAN], vec![]);
    assert_eq!(row.outcome, Outcome::Fail);
    assert!(row.measured.is_none() && row.note.is_some());
    let missing = VerdictRow::measure(&id, &[0.1], vec!["seed 1: no records".into()]);
    assert_eq!(missing.outcome, Outcome::Fail);

    // Exit codes: identity failures always flag; replication failures only under --strict.
    let pass = VerdictRow::measure(&id, &[0.1], vec![]);
    let rep = spec(RowKind::Replication, le.0, le.1);
    let honest_fail = VerdictRow::measure(&rep, &[2.0], vec![]);
    assert_eq!(
        verdict_exit_code(&[pass.clone(), honest_fail.clone()], false),
        0
    );
    assert_eq!(
        verdict_exit_code(&[pass.clone(), honest_fail.clone()], true),
        1
    );
    assert_eq!(verdict_exit_code(&[pass.clone(), row.clone()], false), 1);
    let md = markdown_table(&[pass, honest_fail, row]);
    assert_eq!(
        md.lines().filter(|l| l.starts_with("| row |")).count(),
        3,
        "{md}"
    );
    assert!(
        md.contains("**fail**") && md.contains("**pass**") && md.contains("Notes:"),
        "{md}"
    );
}
