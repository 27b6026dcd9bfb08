//! `reproduce demo` end to end through the library: runs, manifests, verdict files.

use learnscope_repro::reproduce::{gradcheck_residual, ReproduceRequest};
use learnscope_repro::{reproduce, Outcome, Preset, Size, VerdictRow};
use learnscope_store::RunReader;
use learnscope_train::StopSignal;

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn demo_smoke_passes_its_identity_rows() {
    let out = scratch("reproduce-demo-smoke");
    let req = ReproduceRequest {
        preset: Preset::embedded("demo").unwrap(),
        size: Size::Smoke,
        out: out.clone(),
        extra_sets: vec![],
        strict: true,
        jobs: None,
    };
    let o = reproduce(&req, &StopSignal::default(), &|_: &str| {}).unwrap();
    assert_eq!(o.exit_code, 0, "{}", o.markdown);
    let rows: Vec<VerdictRow> =
        serde_json::from_slice(&std::fs::read(out.join("verdict.json")).unwrap()).unwrap();
    assert_eq!(rows, o.rows);
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["loss-monotone", "gradcheck", "final-loss", "sharpness-max"]
    );
    for r in &rows {
        let want = if r.rule.is_some() {
            Outcome::Pass
        } else {
            Outcome::Reported
        };
        assert_eq!(r.outcome, want, "{r:?}");
        assert_eq!(r.measured.as_ref().unwrap().n, 1);
    }
    // The loss has left the OCS value (1.0625) by the end of the smoke run? Not required; it
    // must have gone down.
    let final_loss = rows[2].measured.as_ref().unwrap().mean;
    assert!(final_loss < 1.2, "{final_loss}");
    let md = std::fs::read_to_string(out.join("verdict.md")).unwrap();
    assert!(md.contains("| loss-monotone | identity |"), "{md}");
    let run = RunReader::open(&out.join("runs/main-seed0")).unwrap();
    let rep = run.manifest.reproduce.as_ref().unwrap();
    assert_eq!(rep["name"], "demo");
    assert_eq!(rep["size"], "smoke");
    assert_eq!(rep["row_ids"].as_array().unwrap().len(), 4);
    // A second reproduction into the same directory is refused.
    assert!(reproduce(&req, &StopSignal::default(), &|_: &str| {}).is_err());
}

#[test]
fn a_large_step_fails_the_monotone_identity() {
    let out = scratch("reproduce-demo-large-lr");
    let req = ReproduceRequest {
        preset: Preset::embedded("demo").unwrap(),
        size: Size::Smoke,
        out: out.clone(),
        // Far above 2/λ: the loss rises (then diverges).
        extra_sets: vec!["lr.base=3.0".into(), "steps=200".into()],
        strict: false,
        jobs: Some(1),
    };
    let o = reproduce(&req, &StopSignal::default(), &|_: &str| {}).unwrap();
    assert_eq!(o.exit_code, 1, "{}", o.markdown);
    let row = o.rows.iter().find(|r| r.id == "loss-monotone").unwrap();
    assert_eq!(row.outcome, Outcome::Fail);
    // The gradient at initialisation does not depend on η.
    assert_eq!(o.rows[1].outcome, Outcome::Pass);
}

#[test]
fn gradcheck_of_the_demo_is_at_rounding_level() {
    let p = Preset::embedded("demo").unwrap();
    let plan = p.plan(Size::Smoke, &[]).unwrap();
    let r = gradcheck_residual(&plan[0].config).unwrap();
    assert!(r < 1e-6, "{r}");
    let f32_cfg = p.plan(Size::Smoke, &["dtype=\"f32\"".into()]).unwrap();
    assert!(gradcheck_residual(&f32_cfg[0].config).is_err());
}

/// The demo network at two learning rates for 50 steps, with cross-arm and binomial rows.
const CROSS: &str = r#"
name = "cross"
config = "demo.toml"
set = [
  'probes=[{ kind = "loss", splits = [], schedule = { kind = "every", n = 1 } }]',
  "checkpoint.every=0",
  "lr.base=0.05",
  "steps=50",
]
[arms.slow]
set = ["lr.base=0.01"]
[arms.late]
sizes = ["full"]
[sizes.smoke]
seeds = [0, 1]
[sizes.quick]
seeds = [0, 1]
[sizes.full]
seeds = [0, 1]

[[verdict]]
id = "ratio-minus-one"
kind = "report"
claim = "c"
source = "s"
metric = { probe = "loss", key = "batch_loss", split = "train", reduce = "last" }
over = { arm = "slow", metric = { probe = "loss", key = "batch_loss", split = "train", reduce = "last" } }
minus = { arm = "slow", metric = { probe = "loss", key = "batch_loss", split = "train", reduce = "first" }, over = { arm = "main", metric = { probe = "loss", key = "batch_loss", split = "train", reduce = "first" } } }
reason = "r"

[[verdict]]
id = "always"
kind = "identity"
claim = "x / x = 1 in every seed"
source = "s"
metric = { probe = "loss", key = "batch_loss", split = "train", reduce = "last" }
over = { arm = "main", metric = { probe = "loss", key = "batch_loss", split = "train", reduce = "last" } }
rule = "binomial95"
target = 1.0
reason = "r"

[[verdict]]
id = "never"
kind = "replication"
claim = "the same, against p = 0"
source = "s"
metric = { probe = "loss", key = "batch_loss", split = "train", reduce = "last" }
over = { arm = "main", metric = { probe = "loss", key = "batch_loss", split = "train", reduce = "last" } }
rule = "binomial95"
target = 0.0
reason = "r"

[[verdict]]
id = "late-only"
kind = "report"
claim = "left out below full"
source = "s"
arm = "slow"
metric = { probe = "loss", key = "batch_loss", split = "train" }
minus = { arm = "late", metric = { probe = "loss", key = "batch_loss", split = "train" } }
reason = "r"
"#;

#[test]
fn cross_arm_and_binomial_rows_end_to_end() {
    let out = scratch("reproduce-cross-arm");
    let preset = Preset::parse("cross", CROSS, |_| {
        Ok(learnscope_repro::demo::DEMO_TOML.to_string())
    })
    .unwrap();
    let req = ReproduceRequest {
        preset,
        size: Size::Smoke,
        out: out.clone(),
        extra_sets: vec![],
        strict: false,
        jobs: None,
    };
    let o = reproduce(&req, &StopSignal::default(), &|_: &str| {}).unwrap();
    // `late` does not run at smoke: neither do its runs, and its row is left out.
    let ids: Vec<&str> = o.runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["main-seed0", "main-seed1", "slow-seed0", "slow-seed1"]
    );
    let rows: Vec<&str> = o.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        rows,
        ["ratio-minus-one", "always", "never"],
        "{}",
        o.markdown
    );
    let last = |id: &str, first: bool| {
        let run = RunReader::open(&out.join("runs").join(id)).unwrap();
        let v: Vec<f64> = run
            .records()
            .iter()
            .filter(|r| r.probe == "loss" && r.key == "batch_loss" && r.split == "train")
            .map(|r| r.value)
            .collect();
        if first {
            v[0]
        } else {
            v[v.len() - 1]
        }
    };
    let r = &o.rows[0];
    assert!(r.metric.contains("(arm slow) − ("), "{}", r.metric);
    let per_seed = &r.measured.as_ref().unwrap().per_seed;
    for (i, seed) in [0, 1].into_iter().enumerate() {
        let want = last(&format!("main-seed{seed}"), false)
            / last(&format!("slow-seed{seed}"), false)
            - last(&format!("slow-seed{seed}"), true) / last(&format!("main-seed{seed}"), true);
        assert_eq!(per_seed[i], want, "seed {seed}");
    }
    // The faster arm is further down after 50 steps; both start from the same loss.
    assert!(per_seed.iter().all(|&v| v < 0.0), "{per_seed:?}");
    assert_eq!(o.rows[1].outcome, Outcome::Pass, "{}", o.markdown);
    assert_eq!(
        o.rows[1].note.as_deref(),
        Some("k = 2 of 2, accepted counts [2, 2] for p = 1")
    );
    assert_eq!(o.rows[2].outcome, Outcome::Fail);
    assert_eq!(o.exit_code, 0, "{}", o.markdown);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("verdict.json")).unwrap()).unwrap();
    assert_eq!(json[1]["binomial"]["accepted"], serde_json::json!([2, 2]));
    assert!(json[0].get("binomial").is_none());
    let run = RunReader::open(&out.join("runs/slow-seed0")).unwrap();
    let rep = run.manifest.reproduce.as_ref().unwrap();
    assert_eq!(rep["row_ids"], serde_json::json!(["ratio-minus-one"]));
    assert!(
        o.markdown.contains("binomial95 p = 0: k in [0, 0] of 2"),
        "{}",
        o.markdown
    );
}
