//! The `outputs` probe: the logits of every item, recorded per (example, unit), equal a forward
//! pass computed by hand from the final parameters; the probe leaves training unchanged; and the
//! `plus_minus_one` transform gives the hierarchy ±1 targets.

use learnscope_nn::CpuBackend;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_data;

use crate::harness::{assert_read_only, every_step, train};

const CFG: &str = r#"
name = "virtual"
seed = 3
dtype = "f64"
steps = 40

[data]
kind = "hierarchy"
root = false

[[transforms]]
kind = "plus_minus_one"

[model]
kind = "deep_linear"
hidden = [16]
bias = true
init = { kind = "gaussian", std = 0.1 }

[loss]
kind = "mse"

[optimizer]
kind = "sgd"

[lr]
base = 0.05

[training]
batch_size = 1

[[probes]]
kind = "outputs"
schedule = { kind = "every", n = 8 }
"#;

#[test]
fn outputs_are_the_logits_of_every_item_and_targets_are_plus_minus_one() {
    let cfg = RunConfig::parse(CFG, &[]).unwrap();
    let data = build_data(&cfg).unwrap();
    let be = CpuBackend::new(1);
    let learnscope_data::TargetData::Dense(y) = data.targets(learnscope_data::Split::Train) else {
        panic!("dense targets expected");
    };
    assert_eq!(y.len(), 8 * 14);
    assert!(y.iter().all(|&v| v == 1.0 || v == -1.0), "{y:?}");
    assert_eq!(y.iter().filter(|&&v| v == 1.0).count(), 8 * 3);

    let (t, sink) = train(&cfg);
    let outs: Vec<_> = sink
        .records
        .iter()
        .filter(|(s, _, m)| *s == 40 && m.probe == "outputs" && m.key == "output")
        .map(|(_, _, m)| m.clone())
        .collect();
    assert_eq!(outs.len(), 8 * 14);
    // By hand: one-hot item i → W2 (W1[:, i] + b1) + b2.
    let mut p = Vec::new();
    t.model()
        .visit_params(&mut |q| p.push(q.value.to_host_f64(&be)));
    let (w1, b1, w2, b2) = (&p[0], &p[1], &p[2], &p[3]);
    for m in &outs {
        let (i, j) = (m.index.unwrap() as usize, m.index2.unwrap() as usize);
        let h: Vec<f64> = (0..16).map(|k| w1[k * 8 + i] + b1[k]).collect();
        let want = b2[j] + (0..16).map(|k| w2[j * 16 + k] * h[k]).sum::<f64>();
        assert!(
            (m.value - want).abs() < 1e-12,
            "item {i} unit {j}: {} vs {want}",
            m.value
        );
    }
    // Observed at steps 0, 8, …, 40: 6 × 8 × 14 records.
    assert_eq!(
        sink.records
            .iter()
            .filter(|(_, _, m)| m.probe == "outputs")
            .count(),
        6 * 8 * 14
    );
}

#[test]
fn the_outputs_probe_leaves_training_unchanged() {
    let cfg = RunConfig::parse(CFG, &[]).unwrap();
    assert_read_only(&every_step(&cfg), &cfg, "outputs");
}
