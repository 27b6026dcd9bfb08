//! Networks as virtual participants (HUMAN-TASK.md §2.4, §4.6): the OCS signatures of the
//! analysis appear for a deep linear network with biases and ±1 targets, and not for the
//! centred no-bias control.

use learnscope_repro::virtual_participant::{simulate, ResponseRule, SimulateRequest};
use learnscope_stats::mean;
use learnscope_stats::responses::agent_curves;
use learnscope_train::config::RunConfig;
use learnscope_train::StopSignal;

const CFG: &str = include_str!("../../../../experiments/human-virtual.toml");

fn indices(sets: &[&str], name: &str) -> (f64, f64) {
    let mut sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    sets.push("steps=640".into());
    let config = RunConfig::parse(CFG, &sets).unwrap();
    let dir = std::env::temp_dir().join(format!("learnscope-vp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rows = simulate(
        &SimulateRequest {
            config,
            seeds: (0..8).collect(),
            block_steps: 32,
            reps: 4,
            rule: ResponseRule::Bernoulli { beta: 12.0 },
            runs_dir: dir.clone(),
        },
        &StopSignal::default(),
    )
    .unwrap();
    // 8 agents × 21 blocks (steps 0, 32, …, 640) × 32 trials × 14 labels.
    assert_eq!(rows.len(), 8 * 21 * 32 * 14);
    let agents = agent_curves(&rows).unwrap();
    let contrast: Vec<f64> = agents
        .iter()
        .filter_map(|a| a.indices.early_tnr_contrast)
        .collect();
    let dip: Vec<f64> = agents.iter().filter_map(|a| a.indices.tpr_dip).collect();
    assert_eq!((contrast.len(), dip.len()), (8, 8));
    let _ = std::fs::remove_dir_all(&dir);
    (mean(&contrast), mean(&dip))
}

#[test]
fn the_ocs_signatures_appear_with_biases_and_not_in_the_centred_control() {
    // With biases: block 0 answers at chance; after one block the item labels are rejected
    // (TNR ≈ 1) while superordinate labels stay at chance, so the contrast over the first two
    // blocks is ≈ (0 + 0.5)/2 = 0.25 and the item hit rate falls from 0.5 to ≈ 0 (dip ≈ 0.5).
    // Bernoulli sampling of 32 trials per block gives an SEM of ≈ 0.02 over 8 agents: the
    // thresholds 0.15 and 0.35 sit > 4 SEM below the predictions.
    let (contrast, dip) = indices(&[], "bias");
    assert!(contrast > 0.15, "contrast {contrast}");
    assert!(dip > 0.35, "dip {dip}");
    // Centred inputs, no biases: no OCS phase (§2.4's control table: TNR flat at chance early);
    // the contrast is 0 up to sampling noise. The dip index is biased upwards by noise (a
    // minimum over noisy bins), so the control is only required to be well below.
    let (c0, d0) = indices(&["model.bias=false", "data.centre_inputs=true"], "control");
    assert!(c0.abs() < 0.1, "control contrast {c0}");
    assert!(d0 < dip - 0.15, "control dip {d0} vs {dip}");
}
