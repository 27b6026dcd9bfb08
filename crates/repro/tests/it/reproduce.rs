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
