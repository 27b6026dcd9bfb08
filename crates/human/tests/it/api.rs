//! The HTTP API in process: sessions, idempotent trials, recomputed targets, rejections, day
//! windows, attention checks, completion, admin auth, the app shell.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::{record, tiny, Harness, Policy, ADMIN};

fn trials_path(s: &Value) -> String {
    format!("/api/v1/sessions/{}/trials", s["token"].as_str().unwrap())
}

#[tokio::test]
async fn a_session_is_created_then_resumed_with_the_same_token() {
    let h = Harness::new(tiny(), true);
    let s = h.session("PID-A", None).await;
    assert_eq!(s["day"], 1);
    assert_eq!(s["participant"], "p001");
    assert_eq!(s["token"].as_str().unwrap().len(), 32);
    assert_eq!(s["trials"].as_array().unwrap().len(), 13);
    assert_eq!(s["labels"].as_array().unwrap().len(), 6);
    assert_eq!(
        s["attention_label"],
        json!({"label": 6, "level": -1, "text": "ZUP"})
    );
    assert_eq!(s["practice_labels"].as_array().unwrap().len(), 3);
    assert_eq!(s["timing"]["feedback_ms"], 10);
    assert_eq!(
        (s["quiz"].clone(), s["practice"].clone()),
        (json!(true), json!(true))
    );
    let t0 = &s["trials"][0];
    assert_eq!(
        (t0["phase"].as_str(), t0["block"].as_i64()),
        (Some("practice"), Some(-1))
    );
    assert!(t0["image"]
        .as_str()
        .unwrap()
        .starts_with("/s/tiny/stimuli/"));
    assert!(t0.get("item").is_some(), "dev mode sends the item");
    // the second participant is p002; the first gets her session back
    let other = h.session("PID-B", None).await;
    assert_eq!(other["participant"], "p002");
    let again = h.session("PID-A", None).await;
    assert_eq!(again["token"], s["token"]);
    // state
    let tok = s["token"].as_str().unwrap();
    let rec = record(&h.cfg, &s, &s["trials"][0], Policy::Perfect);
    assert_eq!(
        h.post(&trials_path(&s), &json!([rec])).await.status,
        StatusCode::OK
    );
    let st = h.get(&format!("/api/v1/sessions/{tok}/state")).await.json();
    assert_eq!(
        st,
        json!({"day": 1, "n_trials": 13, "stored": [0], "next_trial": 1, "completed": false})
    );
    let again = h.session("PID-A", None).await;
    assert_eq!(again["stored"], json!([0]));
    // consent
    let r = h
        .post(
            &format!("/api/v1/sessions/{tok}/consent"),
            &json!({"version": "test-v1"}),
        )
        .await;
    assert_eq!(r.json(), json!({"ok": true}));
    let r = h
        .post(
            &format!("/api/v1/sessions/{tok}/consent"),
            &json!({"version": "old"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let consent: Option<String> = h
        .conn()
        .query_row(
            "SELECT consent_version FROM session WHERE token = ?1",
            [tok],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(consent.as_deref(), Some("test-v1"));
    // without dev, no item
    let h2 = Harness::new(tiny(), false);
    let s2 = h2.session("PID-A", None).await;
    assert!(s2["trials"][0].get("item").is_none());
    // probe trials carry no targets (tested on day 2 in the window test); feedback trials do
    assert!(s2["trials"][5].get("targets").is_some());
}

#[tokio::test]
async fn trial_upserts_are_idempotent_and_the_first_version_wins() {
    let h = Harness::new(tiny(), true);
    let s = h.session("PID-I", None).await;
    let t = s["trials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["phase"] == "train")
        .unwrap()
        .clone();
    let g = t["global_trial"].as_u64().unwrap();
    let first = record(&h.cfg, &s, &t, Policy::Perfect);
    let r = h.post(&trials_path(&s), &json!([first])).await;
    assert_eq!(r.json(), json!({"stored": [g], "n_stored": 1}));
    // the same again, and a different version: acknowledged, ignored
    let r = h.post(&trials_path(&s), &json!([first])).await;
    assert_eq!(r.json(), json!({"stored": [g], "n_stored": 1}));
    let second = record(&h.cfg, &s, &t, Policy::AlwaysNo);
    let r = h.post(&trials_path(&s), &json!([second, second])).await;
    assert_eq!(r.json(), json!({"stored": [g, g], "n_stored": 1}));
    let n = h.scalar("SELECT COUNT(*) FROM trial");
    assert_eq!(n, 1);
    let sel = h.scalar("SELECT SUM(selected) FROM label_response");
    assert_eq!(
        sel, 2,
        "the first (perfect) version is kept: 2 of 6 labels selected"
    );
    let labels = h.scalar("SELECT COUNT(*) FROM label_response");
    assert_eq!(labels, 6);
}

#[tokio::test]
async fn the_server_recomputes_targets_and_ignores_the_clients() {
    let h = Harness::new(tiny(), true);
    let s = h.session("PID-T", None).await;
    for t in s["trials"].as_array().unwrap() {
        let mut rec = record(&h.cfg, &s, t, Policy::AlwaysNo);
        // the client claims every label is a target, and lies about phase and item
        rec["phase"] = json!("probe");
        rec["item"] = json!(3);
        for l in rec["labels"].as_array_mut().unwrap() {
            l["target"] = json!(true);
        }
        assert_eq!(
            h.post(&trials_path(&s), &json!([rec])).await.status,
            StatusCode::OK
        );
    }
    let c = h.conn();
    let mut st = c
        .prepare(
            "SELECT t.global_trial, t.phase, t.item, r.label, r.target FROM trial t JOIN label_response r \
             ON r.trial_id = t.id ORDER BY t.global_trial, r.label",
        )
        .unwrap();
    let rows: Vec<(i64, String, Option<i64>, i64, bool)> = st
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 4 * 3 + 8 * 6 + 7);
    for (g, phase, item, label, target) in rows {
        let spec = &s["trials"][g as usize];
        assert_eq!(phase, spec["phase"].as_str().unwrap());
        let expected = match phase.as_str() {
            "practice" => {
                assert_eq!(item, None);
                label == 0 || label == 1 + spec["item"].as_i64().unwrap()
            }
            "attention" => label == 6,
            _ => {
                assert_eq!(item, spec["item"].as_i64());
                h.cfg
                    .targets(item.unwrap() as usize)
                    .contains(&(label as usize))
            }
        };
        assert_eq!(target, expected, "trial {g} label {label}");
    }
}

async fn assert_error(h: &Harness, r: crate::Resp, status: StatusCode, kind: &str, detail: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert!(
        r.content_type.starts_with("application/json"),
        "{}",
        r.content_type
    );
    let v = r.json();
    assert_eq!(v["error"], kind, "{v}");
    assert!(v["detail"].as_str().unwrap().contains(detail), "{v}");
    assert_eq!(h.get("/healthz").await.json(), json!({"ok": true}));
}

#[tokio::test]
async fn client_mistakes_are_4xx_json_and_the_server_keeps_serving() {
    let h = Harness::new(tiny(), true);
    let s = h.session("PID-E", None).await;
    let path = trials_path(&s);
    let t = s["trials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["phase"] == "train")
        .unwrap()
        .clone();
    let good = record(&h.cfg, &s, &t, Policy::Perfect);

    let mut unknown = good.clone();
    unknown["global_trial"] = json!(13);
    let mut negative = good.clone();
    negative["global_trial"] = json!(-1);
    // the attention label is not shown on a train trial
    let mut not_shown = good.clone();
    not_shown["labels"][0]["label"] = json!(6);
    let mut dup = good.clone();
    dup["labels"][1]["label"] = dup["labels"][0]["label"].clone();
    let mut missing = good.clone();
    missing["labels"].as_array_mut().unwrap().pop();
    let mut wrong_type = good.clone();
    wrong_type["labels"][0]["selected"] = json!("yes");
    for (bad, detail) in [
        (&unknown, "unknown global_trial 13"),
        (&negative, "unknown global_trial"),
        (&not_shown, "was not shown"),
        (&dup, "appears twice"),
        (&missing, "missing"),
        (&wrong_type, "[0].labels[0].selected"),
    ] {
        let r = h.post(&path, &json!([bad])).await;
        assert_error(&h, r, StatusCode::BAD_REQUEST, "bad_request", detail).await;
    }
    assert_error(
        &h,
        h.post(&path, &json!([])).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "1 to 64",
    )
    .await;
    let r = h
        .call("POST", &path, Some(b"[{\"global_trial\": 1,".to_vec()), &[])
        .await;
    assert_error(
        &h,
        r,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "malformed JSON",
    )
    .await;
    let big = vec![b' '; 300 * 1024];
    let r = h.call("POST", &path, Some(big), &[]).await;
    assert_error(&h, r, StatusCode::PAYLOAD_TOO_LARGE, "too_large", "262144").await;
    // a rejected batch stores nothing, even its good records
    let r = h.post(&path, &json!([good, unknown])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let n = h.scalar("SELECT COUNT(*) FROM trial");
    assert_eq!(n, 0);

    // tokens: a wrong or malformed token is a 404, for every session endpoint
    let other = h.session("PID-F", None).await;
    let fake = "0123456789abcdef0123456789abcdef";
    for tok in [fake, "nothex", "../../etc"] {
        let r = h
            .post(&format!("/api/v1/sessions/{tok}/trials"), &json!([good]))
            .await;
        assert_error(&h, r, StatusCode::NOT_FOUND, "not_found", "").await;
        let r = h.get(&format!("/api/v1/sessions/{tok}/state")).await;
        assert_error(&h, r, StatusCode::NOT_FOUND, "not_found", "").await;
    }
    // B's token sees only B's trials
    assert_eq!(h.post(&path, &json!([good])).await.status, StatusCode::OK);
    let st = h
        .get(&format!(
            "/api/v1/sessions/{}/state",
            other["token"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(st["stored"], json!([]));

    // other endpoints
    let r = h
        .post(
            "/api/v1/sessions",
            &json!({"study": "nope", "prolific_pid": "X"}),
        )
        .await;
    assert_error(&h, r, StatusCode::NOT_FOUND, "not_found", "nope").await;
    let r = h
        .post(
            "/api/v1/sessions",
            &json!({"study": "tiny", "prolific_pid": ""}),
        )
        .await;
    assert_error(
        &h,
        r,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "prolific_pid",
    )
    .await;
    let r = h.post("/api/v1/sessions", &json!({"study": "tiny"})).await;
    assert_error(
        &h,
        r,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "prolific_pid",
    )
    .await;
    let r = h.get("/api/v1/nothing").await;
    assert_error(&h, r, StatusCode::NOT_FOUND, "not_found", "/api/v1/nothing").await;
    let r = h.call("DELETE", "/api/v1/sessions", None, &[]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["error"], "method_not_allowed");
    let tok = s["token"].as_str().unwrap();
    let r = h
        .post(
            &format!("/api/v1/sessions/{tok}/events"),
            &json!([{"t_ms": 5.0, "kind": "blur", "payload": {"x": 1}}]),
        )
        .await;
    assert_eq!(r.json(), json!({"ok": true}));
    let r = h
        .post(
            &format!("/api/v1/sessions/{tok}/events"),
            &json!([{"t_ms": 5.0}]),
        )
        .await;
    assert_error(&h, r, StatusCode::BAD_REQUEST, "bad_request", "kind").await;
    let r = h
        .post(
            &format!("/api/v1/sessions/{tok}/survey"),
            &json!({"answers": {"strategy": "guessing", "confidence": 4}}),
        )
        .await;
    assert_eq!(r.json(), json!({"ok": true}));
    let r = h
        .post(
            &format!("/api/v1/sessions/{tok}/survey"),
            &json!({"answers": [1]}),
        )
        .await;
    assert_error(&h, r, StatusCode::BAD_REQUEST, "bad_request", "answers").await;
    let r = h
        .call(
            "POST",
            &format!("/api/v1/sessions/{tok}/complete"),
            Some(b"{oops".to_vec()),
            &[],
        )
        .await;
    assert_error(&h, r, StatusCode::BAD_REQUEST, "bad_request", "malformed").await;
    let body = json!({"study": "tiny", "prolific_pid": "PID-Z"})
        .to_string()
        .into_bytes();
    let r = h
        .call(
            "POST",
            "/api/v1/sessions",
            Some(body),
            &[("x-test-now", "yesterday")],
        )
        .await;
    assert_error(&h, r, StatusCode::BAD_REQUEST, "bad_request", "X-Test-Now").await;
    let c = h.conn();
    let ev: (String, String) = c
        .query_row("SELECT kind, payload_json FROM event", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(ev, ("blur".to_string(), "{\"x\":1}".to_string()));
    let conf: String = c
        .query_row(
            "SELECT value FROM survey WHERE key = 'confidence'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(conf, "4");
}

#[tokio::test]
async fn complete_is_refused_with_the_missing_list_until_every_trial_is_stored() {
    let h = Harness::new(tiny(), true);
    let s = h.session("PID-C", None).await;
    let tok = s["token"].as_str().unwrap();
    let trials = s["trials"].as_array().unwrap();
    for t in trials
        .iter()
        .filter(|t| t["global_trial"] != 2 && t["global_trial"] != 11)
    {
        let rec = record(&h.cfg, &s, t, Policy::Perfect);
        assert_eq!(
            h.post(&trials_path(&s), &json!([rec])).await.status,
            StatusCode::OK
        );
    }
    let r = h
        .post(&format!("/api/v1/sessions/{tok}/complete"), &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let v = r.json();
    assert_eq!(v["error"], "conflict");
    assert_eq!(v["missing"], json!([2, 11]));
    let rest: Vec<Value> = [2, 11]
        .iter()
        .map(|&g| record(&h.cfg, &s, &trials[g], Policy::Perfect))
        .collect();
    assert_eq!(
        h.post(&trials_path(&s), &json!(rest)).await.json()["n_stored"],
        13
    );
    let r = h
        .post(&format!("/api/v1/sessions/{tok}/complete"), &json!({}))
        .await;
    assert_eq!(
        r.json(),
        json!({"redirect_url": "https://app.prolific.com/submissions/complete?cc=C1TINYDONE", "code_kind": "completed"})
    );
    // completing again answers the same; state says completed
    let r2 = h
        .post(&format!("/api/v1/sessions/{tok}/complete"), &json!({}))
        .await;
    assert_eq!(r2.json()["code_kind"], "completed");
    let st = h.get(&format!("/api/v1/sessions/{tok}/state")).await.json();
    assert_eq!(
        (st["completed"].clone(), st["next_trial"].clone()),
        (json!(true), Value::Null)
    );
}

#[tokio::test]
async fn failing_the_attention_check_gives_the_failed_attention_code() {
    let h = Harness::new(tiny(), true);
    let s = h.session("PID-ATT", None).await;
    let r = h.play_day(&s, Policy::FailAttention, None).await;
    assert_eq!(
        r.json(),
        json!({"redirect_url": "https://app.prolific.com/submissions/complete?cc=C1TINYRETURN", "code_kind": "failed_attention"})
    );
    let c = h.conn();
    let (idx, passed): (i64, bool) = c
        .query_row("SELECT check_idx, passed FROM attention_check", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((idx, passed), (0, false));
    // the participant is not eligible for day 2
    let b = h.session("PID-ATT", None).await;
    assert_eq!(
        b,
        json!({"blocked": "not_eligible", "next_available_at": null})
    );
    // passing it gives the completed code (max_attention_failures = 0 in tiny)
    let s = h.session("PID-OK", None).await;
    assert_eq!(
        h.play_day(&s, Policy::Perfect, None).await.json()["code_kind"],
        "completed"
    );
    let passed = h.scalar("SELECT SUM(passed) FROM attention_check");
    assert_eq!(passed, 1);
}

#[tokio::test]
async fn a_screened_out_day_ends_with_the_screened_out_code_and_no_later_day() {
    let h = Harness::new(tiny(), true);
    let s = h.session("PID-QUIZ", None).await;
    let token = s["token"].as_str().unwrap();
    let path = format!("/api/v1/sessions/{token}/complete");
    // Not a boolean: a 400 naming the field.
    let bad = h.post(&path, &json!({"screened_out": "yes"})).await;
    assert_eq!(bad.status.as_u16(), 400);
    assert!(bad.json()["detail"]
        .as_str()
        .unwrap()
        .contains("screened_out"));
    // No trial stored, yet the day ends: the quiz screened the participant out.
    let r = h.post(&path, &json!({"screened_out": true})).await;
    assert_eq!(
        r.json(),
        json!({"redirect_url": "https://app.prolific.com/submissions/complete?cc=C1TINYSCREEN", "code_kind": "screened_out"})
    );
    // Asking again answers the same; a later visit is not eligible.
    assert_eq!(
        h.post(&path, &json!({})).await.json()["code_kind"],
        "screened_out"
    );
    assert_eq!(
        h.session("PID-QUIZ", None).await,
        json!({"blocked": "not_eligible", "next_available_at": null})
    );
    let status: String = h
        .conn()
        .query_row("SELECT status FROM session", [], |r| r.get(0))
        .unwrap();
    assert_eq!(status, "screened_out");
}

#[tokio::test]
async fn day_windows_follow_the_test_clock_in_dev_mode() {
    let mut cfg = tiny();
    cfg.protocol.min_gap_hours = 16.0;
    let h = Harness::new(cfg.clone(), true);
    let t0 = "2026-11-01T10:00:00Z";
    let s1 = h.session("PID-W", Some(t0)).await;
    assert_eq!(
        h.play_day(&s1, Policy::Perfect, Some(t0)).await.json()["code_kind"],
        "completed"
    );
    let early = h.session("PID-W", Some("2026-11-01T11:00:00Z")).await;
    assert_eq!(
        early,
        json!({"blocked": "too_early", "next_available_at": "2026-11-02T02:00:00.000Z"})
    );
    let s2 = h.session("PID-W", Some("2026-11-02T06:00:00+00:00")).await;
    assert_eq!(s2["day"], 2);
    assert_eq!(
        (s2["quiz"].clone(), s2["practice"].clone()),
        (json!(false), json!(false))
    );
    let trials = s2["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 8);
    assert!(trials
        .iter()
        .all(|t| t["phase"] == "probe" && t["feedback"] == false && t.get("targets").is_none()));
    // resume within the day gives the same session
    assert_eq!(
        h.session("PID-W", Some("2026-11-02T07:00:00Z")).await["token"],
        s2["token"]
    );
    let t1 = "2026-11-02T08:00:00Z";
    assert_eq!(
        h.play_day(&s2, Policy::Perfect, Some(t1)).await.json()["code_kind"],
        "completed"
    );
    // after max_gap (48 h) day 3 is closed
    let late = h.session("PID-W", Some("2026-11-04T08:00:01Z")).await;
    assert_eq!(
        late,
        json!({"blocked": "too_late", "next_available_at": null})
    );
    // within it, day 3, and after day 3: done
    let s3 = h.session("PID-W", Some("2026-11-03T08:00:00Z")).await;
    assert_eq!(s3["day"], 3);
    h.play_day(&s3, Policy::Perfect, Some("2026-11-03T08:00:00Z"))
        .await;
    let done = h.session("PID-W", Some("2026-11-04T08:00:00Z")).await;
    assert_eq!(done, json!({"blocked": "done", "next_available_at": null}));

    // without dev the header is ignored: the real clock says day 2 is too early
    let h = Harness::new(cfg, false);
    let s = h.session("PID-W", None).await;
    let r = h
        .play_day(&s, Policy::Perfect, Some("2020-01-01T00:00:00Z"))
        .await;
    assert_eq!(r.json()["code_kind"], "completed");
    let b = h.session("PID-W", Some("2099-01-01T00:00:00Z")).await;
    assert_eq!(b["blocked"], "too_early");
    let c = h.conn();
    let completed: String = c
        .query_row("SELECT completed_at FROM session", [], |r| r.get(0))
        .unwrap();
    assert!(!completed.starts_with("2020"), "{completed}");
}

#[tokio::test]
async fn admin_endpoints_need_the_bearer_token() {
    let h = Harness::new(tiny(), true);
    for path in [
        "/api/v1/admin/studies/tiny/export?format=csv",
        "/api/v1/admin/studies/tiny/analysis",
    ] {
        let r = h.get(path).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["error"], "unauthorized");
        let r = h
            .call("GET", path, None, &[("authorization", "Bearer wrong")])
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let r = h
            .call(
                "GET",
                path,
                None,
                &[("authorization", &format!("Bearer {ADMIN}"))],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let auth = format!("Bearer {ADMIN}");
    let r = h
        .call(
            "GET",
            "/api/v1/admin/studies/tiny/export?format=xml",
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h
        .call(
            "GET",
            "/api/v1/admin/studies/other/analysis",
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_app_shell_assets_and_stimuli_are_served() {
    let mut cfg = tiny();
    cfg.study.title = "A </script><script>alert(1)</script> & more".into();
    let h = Harness::new(cfg, true);
    let r = h
        .get("/s/tiny?PROLIFIC_PID=abc&STUDY_ID=s&SESSION_ID=x")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.starts_with("text/html"));
    let html = r.text();
    assert!(!html.contains("<!--LS-BOOT-->"));
    let marker = r#"<script type="application/json" id="ls-boot">"#;
    let start = html.find(marker).unwrap();
    let body = &html[start + marker.len()..];
    let end = body.find("</script>").unwrap();
    let boot: Value = serde_json::from_str(&body[..end]).unwrap();
    assert_eq!(boot["study"], "tiny");
    assert_eq!(boot["dev"], true);
    assert_eq!(boot["title"], "A </script><script>alert(1)</script> & more");
    assert_eq!(boot["consent_version"], "test-v1");
    assert!(!body[..end].contains('<'));
    assert_eq!(h.get("/s/other").await.status, StatusCode::NOT_FOUND);
    for (file, ct) in [
        ("app.js", "text/javascript"),
        ("style.css", "text/css"),
        ("api.js", "text/javascript"),
        ("trial.js", "text/javascript"),
        ("pages.js", "text/javascript"),
        ("index.html", "text/html"),
    ] {
        let r = h.get(&format!("/assets/{file}")).await;
        assert_eq!(r.status, StatusCode::OK, "{file}");
        assert!(r.content_type.starts_with(ct), "{file}: {}", r.content_type);
    }
    assert_eq!(
        h.get("/assets/secret.txt").await.status,
        StatusCode::NOT_FOUND
    );
    let r = h.get("/s/tiny/stimuli/5.svg").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type, "image/svg+xml");
    assert!(r.text().contains("<svg"));
    assert_eq!(r.text(), h.get("/s/tiny/stimuli/5.svg").await.text());
    for bad in ["6.svg", "x.svg", "1.png"] {
        let r = h.get(&format!("/s/tiny/stimuli/{bad}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(r.json()["error"], "not_found");
    }
}
