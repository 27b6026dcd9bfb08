//! The pre-registered exclusion rules (HUMAN-TASK §2.5) on scripted participants of the tiny
//! study (3 days; day 1 = 4 practice + 8 train + 1 attention trial, days 2–3 = 8 probe trials).

use serde_json::{json, Value};

use crate::{record, tiny, Harness, Policy};

async fn three_days(h: &Harness, pid: &str, policy: Policy) {
    for day in 1..=3 {
        let s = h.session(pid, None).await;
        assert_eq!(s["day"], day, "{s}");
        assert_eq!(
            h.play_day(&s, policy, None).await.json()["code_kind"],
            "completed"
        );
    }
}

#[tokio::test]
async fn exclusions_and_flags_follow_the_pre_registered_rules() {
    let h = Harness::new(tiny(), true);
    three_days(&h, "PID-ALL", Policy::Perfect).await;
    // Always "no": one response vector (nothing selected) on every day-3 trial.
    three_days(&h, "PID-NO", Policy::AlwaysNo).await;
    // A failed attention check (tiny allows none): excluded.
    let s = h.session("PID-ATT", None).await;
    h.play_day(&s, Policy::FailAttention, None).await;
    // Day 1 only, every task trial answered in 300 ms, 11 hidden-tab events.
    let s = h.session("PID-FAST", None).await;
    let token = s["token"].as_str().unwrap();
    for t in s["trials"].as_array().unwrap() {
        let mut rec = record(&h.cfg, &s, t, Policy::Perfect);
        rec["rt_ms"] = json!(300.0);
        let r = h
            .post(&format!("/api/v1/sessions/{token}/trials"), &json!([rec]))
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    }
    let events: Vec<Value> = (0..11)
        .map(|i| json!({"t_ms": 1000.0 * f64::from(i), "kind": "visibilitychange", "payload": {"state": "hidden"}}))
        .chain([json!({"t_ms": 0.0, "kind": "visibilitychange", "payload": {"state": "visible"}})])
        .collect();
    let r = h
        .post(&format!("/api/v1/sessions/{token}/events"), &json!(events))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    h.post(&format!("/api/v1/sessions/{token}/complete"), &json!({}))
        .await;

    let flags = learnscope_human::exclusions::exclusion_flags(&h.conn(), &h.cfg).unwrap();
    let by: std::collections::BTreeMap<usize, &learnscope_human::exclusions::ParticipantFlags> =
        flags.iter().enumerate().collect();
    assert_eq!(flags.len(), 4);
    // p001 perfect: 3 days, nothing raised. Day 3's 8 probe trials show 4 items twice each,
    // so the most common response vector covers 2 of 8.
    let all = by[&0];
    assert_eq!(
        (all.exclude, all.exclude_longitudinal, all.flagged),
        (false, false, false)
    );
    assert_eq!(all.days.len(), 3);
    assert_eq!(all.days[0].task_trials, 9);
    assert_eq!(all.days[2].same_response_share, 0.25);
    // p002 always-no: flagged (same response on the last day), not excluded.
    let no = by[&1];
    assert_eq!((no.exclude, no.flagged), (false, true));
    assert_eq!(no.days[2].same_response_share, 1.0);
    assert_eq!(no.days[2].flags, vec!["same_response"]);
    // Days 1 and 2 are not the last day: the same pattern there raises nothing.
    assert!(no.days[1].flags.is_empty());
    // p003: the failed attention check excludes, and the later days are missing.
    let att = by[&2];
    assert_eq!(att.days[0].attention_failures, 1);
    assert_eq!((att.exclude, att.exclude_longitudinal), (true, true));
    // p004: 9 of 9 task trials under 500 ms, 11 hidden events (> 10): two flags; day 1 only.
    let fast = by[&3];
    assert_eq!(fast.days[0].fast_rt_share, 1.0);
    assert_eq!(fast.days[0].hidden_events, 11);
    assert_eq!(fast.days[0].flags, vec!["fast_rt", "hidden"]);
    assert_eq!((fast.exclude, fast.exclude_longitudinal), (false, true));

    // The admin endpoint serves the same, behind the token.
    let r = h.get("/api/v1/admin/studies/tiny/exclusions").await;
    assert_eq!(r.status.as_u16(), 401);
    let r = h
        .call(
            "GET",
            "/api/v1/admin/studies/tiny/exclusions",
            None,
            &[("authorization", &format!("Bearer {}", crate::ADMIN))],
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    assert_eq!(
        r.json()["participants"],
        serde_json::to_value(&flags).unwrap()
    );
}
