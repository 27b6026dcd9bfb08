//! Exports: the long CSV's header and rows, the JSON per session, the Psych-DS zip.

use std::collections::BTreeSet;
use std::io::Read;

use axum::http::StatusCode;
use learnscope_human::export::COLUMNS;
use learnscope_human::ExportFormat;
use regex::Regex;
use serde_json::Value;

use crate::{tiny, Harness, Policy, ADMIN};

async fn two_participants(h: &Harness) {
    for pid in ["PID-X1", "PID-X2"] {
        let s = h.session(pid, Some("2026-11-01T10:00:00Z")).await;
        h.play_day(&s, Policy::Perfect, Some("2026-11-01T10:00:00Z"))
            .await;
        let s = h.session(pid, Some("2026-11-02T10:00:00Z")).await;
        assert_eq!(s["day"], 2);
        h.play_day(&s, Policy::AlwaysNo, Some("2026-11-02T10:00:00Z"))
            .await;
    }
}

#[tokio::test]
async fn csv_json_and_psychds_exports_have_the_documented_shape() {
    let mut cfg = tiny();
    cfg.study.id = "ocs-pilot-2".into();
    let h = Harness::new(cfg, true);
    two_participants(&h).await;
    let dir = crate::temp_dir("export");

    // CSV
    let csv_path = dir.join("long.csv");
    learnscope_human::export(&h.db, "ocs-pilot-2", ExportFormat::Csv, &csv_path).unwrap();
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert_eq!(
        header,
        COLUMNS.iter().map(|c| c.0).collect::<Vec<_>>().join(",")
    );
    for col in [
        "trial_type",
        "trial_index",
        "time_elapsed",
        "rt",
        "participant",
        "day",
        "block",
        "item",
        "label",
        "level",
        "target",
        "response",
        "first_click_ms",
        "n_toggles",
    ] {
        assert!(header.split(',').any(|h| h == col), "{col}");
    }
    // per participant: day 1 = 4 practice × 3 + 8 × 6 + 1 × 7 label rows, day 2 = 8 × 6
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2 * ((4 * 3 + 8 * 6 + 7) + 8 * 6));
    assert!(
        rows[0].starts_with("ocs-pilot-2,p001,1,practice,0,-1,"),
        "{}",
        rows[0]
    );

    // JSON
    let json_path = dir.join("wide.json");
    learnscope_human::export(&h.db, "ocs-pilot-2", ExportFormat::Json, &json_path).unwrap();
    let v: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 4);
    assert_eq!(sessions[0]["participant"], "p001");
    assert_eq!(sessions[0]["trials"].as_array().unwrap().len(), 13);
    assert_eq!(
        sessions[0]["trials"][0]["labels"].as_array().unwrap().len(),
        3
    );
    assert_eq!(sessions[0]["attention_checks"][0]["passed"], true);
    assert_eq!(sessions[0]["code_kind"], "completed");
    assert_eq!(sessions[0]["browser"]["family"], "Chrome");

    // Psych-DS
    let zip_path = dir.join("psychds.zip");
    learnscope_human::export(&h.db, "ocs-pilot-2", ExportFormat::PsychDs, &zip_path).unwrap();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let names: Vec<String> = zip.file_names().map(String::from).collect();
    let re = Regex::new(r"^([a-z]+-[a-zA-Z0-9]+)(_[a-z]+-[a-zA-Z0-9]+)*_data\.csv$").unwrap();
    let data: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("data/") && n.ends_with(".csv"))
        .collect();
    assert_eq!(data.len(), 4, "{names:?}");
    for n in &data {
        let base = n.strip_prefix("data/").unwrap();
        assert!(re.is_match(base), "{base}");
    }
    assert!(
        names.contains(&"data/study-ocspilot2_subject-p001_session-1_data.csv".to_string()),
        "{names:?}"
    );
    let mut desc = String::new();
    zip.by_name("dataset_description.json")
        .unwrap()
        .read_to_string(&mut desc)
        .unwrap();
    let desc: Value = serde_json::from_str(&desc).unwrap();
    assert_eq!(desc["@context"], "https://schema.org/");
    assert_eq!(desc["@type"], "Dataset");
    assert!(
        desc["name"].as_str().unwrap().len() > 3
            && desc["description"].as_str().unwrap().len() > 10
    );
    let measured: BTreeSet<String> = desc["variableMeasured"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v.as_str()
                .map(String::from)
                .unwrap_or_else(|| v["name"].as_str().unwrap().to_string())
        })
        .collect();
    for n in data {
        let mut text = String::new();
        zip.by_name(n).unwrap().read_to_string(&mut text).unwrap();
        for col in text.lines().next().unwrap().split(',') {
            assert!(
                measured.contains(col),
                "{col} of {n} not in variableMeasured"
            );
        }
        assert!(text.lines().count() > 1);
    }

    // the admin endpoint serves the same bytes
    let auth = format!("Bearer {ADMIN}");
    let r = h
        .call(
            "GET",
            "/api/v1/admin/studies/ocs-pilot-2/export?format=csv",
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.starts_with("text/csv"));
    assert_eq!(r.text(), csv);
    let r = h
        .call(
            "GET",
            "/api/v1/admin/studies/ocs-pilot-2/export?format=psychds",
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.content_type, "application/zip");
    assert!(zip::ZipArchive::new(std::io::Cursor::new(r.bytes)).is_ok());
    let r = h
        .call(
            "GET",
            "/api/v1/admin/studies/ocs-pilot-2/export?format=json",
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.json()["sessions"].as_array().unwrap().len(), 4);

    // an unknown study is an error naming it
    let e =
        learnscope_human::export(&h.db, "nope", ExportFormat::Csv, &dir.join("n.csv")).unwrap_err();
    assert!(e.to_string().contains("nope"));
    let _ = std::fs::remove_dir_all(dir);
}
