//! `learnscope reproduce`: the demo preset end to end, a failing identity row, `--strict` with
//! an honestly failing replication row, and errors.

use crate::common::{learnscope, scratch, text};

fn rows(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("verdict.json")).unwrap()).unwrap();
    v.as_array().unwrap().clone()
}

#[test]
fn reproduce_demo_smoke_passes_and_records_its_runs() {
    let dir = scratch("reproduce-demo");
    let out = learnscope()
        .current_dir(&dir)
        .args(["reproduce", "demo", "--smoke", "--out", "D"])
        .output()
        .unwrap();
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("| loss-monotone | identity |"), "{stdout}");
    let d = dir.join("D");
    let rows = rows(&d);
    assert_eq!(rows.len(), 4);
    for r in &rows {
        let want = if r["kind"] == "report" {
            "reported"
        } else {
            "pass"
        };
        assert_eq!(r["outcome"], want, "{r}");
        for key in [
            "id", "kind", "claim", "source", "metric", "rule", "target", "measured",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
        assert_eq!(r["measured"]["n"], 1);
    }
    assert!(std::fs::read_to_string(d.join("verdict.md"))
        .unwrap()
        .contains("| gradcheck | identity |"));
    let runs: Vec<_> = std::fs::read_dir(d.join("runs")).unwrap().collect();
    assert_eq!(runs.len(), 1);
    for run in runs {
        let m: serde_json::Value = serde_json::from_slice(
            &std::fs::read(run.unwrap().path().join("manifest.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(m["status"], "completed");
        assert_eq!(m["reproduce"]["name"], "demo");
        assert!(m["reproduce"]["row_ids"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("loss-monotone")));
    }
}

#[test]
fn a_failing_identity_row_exits_1() {
    let dir = scratch("reproduce-fail");
    let out = learnscope()
        .current_dir(&dir)
        .args(["reproduce", "demo", "--smoke", "--out", "D"])
        .args(["--set", "lr.base=3.0", "--set", "steps=200"])
        .output()
        .unwrap();
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let rows = rows(&dir.join("D"));
    let monotone = rows.iter().find(|r| r["id"] == "loss-monotone").unwrap();
    assert_eq!(monotone["outcome"], "fail");
}

#[test]
fn strict_flags_a_failing_replication_row() {
    let dir = scratch("reproduce-strict");
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/demo.toml");
    let preset = format!(
        r#"name = "strict-test"
config = {demo:?}
set = ["checkpoint.every=0", 'probes=[{{ kind = "loss", splits = [], schedule = {{ kind = "every", n = 1 }} }}]']
[sizes.smoke]
seeds = [0]
set = ["steps=50"]
[sizes.quick]
seeds = [0, 1]
set = ["steps=50"]
[sizes.full]
seeds = [0, 1]
[[verdict]]
id = "too-fast"
kind = "replication"
claim = "the loss is below 1e-6 after 50 steps (false: still on the OCS plateau)"
source = "test"
metric = {{ probe = "loss", key = "batch_loss", reduce = "last" }}
rule = "<"
target = 1e-6
reason = "a rule made to fail"
"#,
        demo = demo.display().to_string()
    );
    std::fs::write(dir.join("p.toml"), preset).unwrap();
    for (strict, code) in [(false, 0), (true, 1)] {
        let out_dir = format!("D{strict}");
        let mut cmd = learnscope();
        cmd.current_dir(&dir)
            .args(["reproduce", "p.toml", "--quick", "--out", &out_dir]);
        if strict {
            cmd.arg("--strict");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{}", text(&out));
        let rows = rows(&dir.join(&out_dir));
        assert_eq!(rows[0]["outcome"], "fail");
        assert_eq!(rows[0]["measured"]["n"], 2);
        assert_eq!(rows[0]["measured"]["per_seed"].as_array().unwrap().len(), 2);
        assert!(rows[0]["measured"]["ci95"].is_array());
    }
}

#[test]
fn unknown_presets_and_used_directories_are_errors() {
    let dir = scratch("reproduce-errors");
    let out = learnscope()
        .current_dir(&dir)
        .args(["reproduce", "no-such-paper", "--smoke"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("no reproduce preset named `no-such-paper`"),
        "{}",
        text(&out)
    );
    std::fs::create_dir_all(dir.join("D")).unwrap();
    std::fs::write(dir.join("D/verdict.json"), "[]").unwrap();
    let out = learnscope()
        .current_dir(&dir)
        .args(["reproduce", "demo", "--smoke", "--out", "D"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("already holds a reproduction"),
        "{}",
        text(&out)
    );
}

/// `reproduce p1 --smoke` (what CI runs): the identity rows of P1 pass and the report row is
/// reported; the replication and CNN arms do not run at this size and their rows are left out.
#[test]
fn reproduce_p1_smoke_identity_rows_pass() {
    let dir = scratch("reproduce-p1");
    let out = learnscope()
        .current_dir(&dir)
        .args(["reproduce", "p1", "--smoke", "--out", "P"])
        .output()
        .unwrap();
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("row p1-cnn-ocs-dip left out"), "{stdout}");
    let rows = rows(&dir.join("P"));
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "p1-bias-exponential",
            "p1-modes-sigmoid",
            "p1-ocs-before-modes",
            "p1-deep-modes",
            "p1-ocs-mode-root",
            "p1-ocs-mode-no-root",
            "p1-centred-no-bias-control",
            "p1-both-biases-flow"
        ]
    );
    for r in &rows {
        let want = if r["kind"] == "report" {
            "reported"
        } else {
            "pass"
        };
        assert_eq!(r["outcome"], want, "{r}");
    }
    // The runs carry the `modes` theory next to the measurement (drawn dashed by `report`).
    let metrics = std::fs::read_to_string(dir.join("P/runs/main-seed0/metrics.jsonl")).unwrap();
    assert!(metrics.contains(r#""split":"theory""#) && metrics.contains(r#""split":"flow""#));
}
