//! The analysis: `responses_long` rows, and the admin endpoint equal to learnscope-stats on them.

use axum::http::StatusCode;
use learnscope_stats::responses::agent_curves;
use serde_json::Value;

use crate::{tiny, Harness, Policy, ADMIN};

#[tokio::test]
async fn responses_long_and_the_analysis_endpoint_match_learnscope_stats() {
    let h = Harness::new(tiny(), true);
    for (pid, policy) in [("PID-P", Policy::Perfect), ("PID-N", Policy::AlwaysNo)] {
        let s = h.session(pid, Some("2026-11-01T10:00:00Z")).await;
        h.play_day(&s, policy, Some("2026-11-01T10:00:00Z")).await;
        let s = h.session(pid, Some("2026-11-02T10:00:00Z")).await;
        h.play_day(&s, policy, Some("2026-11-02T10:00:00Z")).await;
    }
    let rows = learnscope_human::read_responses_long(&h.db).unwrap();
    // train and probe trials only: per participant 8 (day 1) + 8 (day 2) trials × 6 labels
    assert_eq!(rows.len(), 2 * 16 * 6);
    let phases: i64 = h
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM responses_long WHERE phase NOT IN ('train', 'probe')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(phases, 0);
    assert!(rows
        .iter()
        .all(|r| r.agent_kind == "human" && (r.agent_id == "p001" || r.agent_id == "p002")));
    for r in &rows {
        assert_eq!(
            r.target,
            h.cfg.targets(r.item as usize).contains(&(r.label as usize))
        );
    }

    let auth = format!("Bearer {ADMIN}");
    let r = h
        .call(
            "GET",
            "/api/v1/admin/studies/tiny/analysis",
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let got = r.json();
    let direct = agent_curves(&rows).unwrap();
    assert_eq!(got["agents"], serde_json::to_value(&direct).unwrap());
    let report = learnscope_human::analyse("tiny", &rows).unwrap();
    assert_eq!(got, serde_json::to_value(&report).unwrap());
    assert_eq!(got["levels"], serde_json::json!([1, 2]));
    // the perfect responder: TNR = TPR = 1 on every level of every bin; always-no: TNR 1, TPR 0
    let perfect = &direct[0];
    for b in &perfect.bins {
        for l in &b.levels {
            assert_eq!((l.tnr, l.tpr), (Some(1.0), Some(1.0)));
            assert!(l.d_prime.unwrap() > 1.5);
        }
    }
    for b in &direct[1].bins {
        for l in &b.levels {
            assert_eq!((l.tnr, l.tpr), (Some(1.0), Some(0.0)));
        }
    }
    let band = &got["aggregate"]["human"]["tnr"]["2"];
    assert_eq!(band[0]["n"], 2);
    assert_eq!(band[0]["mean"], 1.0);
    assert_eq!(got["indices"].as_array().unwrap().len(), 2);
    assert!(got["indices"][0].get("tpr_dip").is_some());

    // an empty study analyses to an empty report
    let empty = Harness::new(tiny(), true);
    let r = empty
        .call(
            "GET",
            "/api/v1/admin/studies/tiny/analysis",
            None,
            &[("authorization", &auth)],
        )
        .await;
    let v: Value = r.json();
    assert_eq!(v["agents"], serde_json::json!([]));
}
