//! `learnscope demo` runs with no files, shows the OCS phase, and learns the hierarchy.

use std::process::Command;

fn learnscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_learnscope"))
}

#[test]
fn demo_learns_the_hierarchy_after_an_ocs_phase() {
    let out = learnscope().arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // OCS loss of the 8-item hierarchy: ½ Σⱼ p_j(1 − p_j) with base rates 1, ½ (×2), ¼ (×4),
    // ⅛ (×8): ½ (0 + 2·¼ + 4·3/16 + 8·7/64) = 1.0625.
    assert!(
        stdout.contains("optimal constant solution: loss 1.0625"),
        "{stdout}"
    );
    let final_loss: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("final loss"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The net can fit the targets exactly (rank 8 ≤ width 16), so GD drives the loss to 0.
    assert!(final_loss < 1e-3, "{stdout}");
    // The OCS is reached while outputs barely depend on the input.
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
}

#[test]
fn bad_arguments_fail_with_exit_code_2_and_one_line() {
    let out = learnscope().args(["demo", "--lr", "-1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: --lr must be a positive number"),
        "{err}"
    );
}
