//! `learnscope demo` runs with no files, writes a run directory, shows the OCS phase, and learns
//! the hierarchy.

use crate::common::{learnscope, scratch, text};

#[test]
fn demo_learns_the_hierarchy_after_an_ocs_phase() {
    let dir = scratch("demo");
    let out = learnscope().current_dir(&dir).arg("demo").output().unwrap();
    let stdout = text(&out);
    assert!(out.status.success(), "{stdout}");
    // OCS loss of the 8-item hierarchy: ½ Σⱼ pⱼ(1 − pⱼ) with base rates 1, ½ (×2), ¼ (×4),
    // ⅛ (×8): ½ (0 + 2·¼ + 4·3/16 + 8·7/64) = 1.0625.
    assert!(
        stdout.contains("optimal constant solution: loss 1.0625"),
        "{stdout}"
    );
    let final_loss: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("completed: final training loss "))
        .and_then(|l| l.split(';').next())
        .unwrap()
        .parse()
        .unwrap();
    // The net can fit the targets exactly (rank 8 ≤ width 16), so GD drives the loss to 0.
    assert!(final_loss < 1e-3, "{stdout}");
    // The OCS is reached while outputs barely depend on the input (V_x, squared, vs a label
    // variance of 2.125).
    let ocs_line = stdout
        .lines()
        .find(|l| l.starts_with("OCS reached"))
        .expect(&stdout);
    let spread: f64 = ocs_line
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches(')')
        .parse()
        .unwrap();
    assert!(spread < 0.1, "{ocs_line}");
    // The run directory is under ./runs and complete.
    let runs: Vec<_> = std::fs::read_dir(dir.join("runs")).unwrap().collect();
    assert_eq!(runs.len(), 1);
    let run = runs[0].as_ref().unwrap().path();
    assert!(run
        .file_name()
        .unwrap()
        .to_string_lossy()
        .contains("-demo-"));
    for f in [
        "manifest.json",
        "config.toml",
        "metrics.jsonl",
        "metrics.parquet",
        "timings.jsonl",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "completed");
    // A second demo never reuses the directory.
    let out = learnscope()
        .current_dir(&dir)
        .args(["demo", "--set", "steps=10"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_dir(dir.join("runs")).unwrap().count(), 2);
}
