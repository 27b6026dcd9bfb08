//! Linear CKA between trained runs: 1 for a run against itself, high but below 1 for another
//! seed on the same data, and an error when the runs see different inputs.

use learnscope_data::Split;
use learnscope_repro::cross_cka::cross_run_cka;
use learnscope_repro::{start_run, RunRequest};
use learnscope_train::config::RunConfig;
use learnscope_train::StopSignal;

fn train(dir: &std::path::Path, seed: u64, data_seed: Option<u64>) -> std::path::PathBuf {
    let mut config = RunConfig::parse(
        r#"
name = "cka"
steps = 60
[data]
kind = "gaussian_mixture"
classes = 3
dim = 6
[model]
kind = "mlp"
hidden = [16]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
[lr]
base = 0.1
[training]
batch_size = 32
"#,
        &[],
    )
    .unwrap();
    config.seed = seed;
    config.data_seed = data_seed;
    let out = dir.join(format!("seed{seed}-{data_seed:?}"));
    let req = RunRequest {
        config,
        out: Some(out.clone()),
        runs_root: dir.to_path_buf(),
        reproduce: None,
    };
    start_run(&req, &StopSignal::default(), None).unwrap();
    out
}

#[test]
fn cka_between_runs() {
    let dir = std::env::temp_dir().join(format!("learnscope-cross-cka-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = train(&dir, 1, Some(0));
    let b = train(&dir, 2, Some(0));
    let c = train(&dir, 3, None);
    // A run against itself: CKA = 1 up to rounding of the Frobenius sums (~1e-15).
    let same = cross_run_cka(&a, &a, "penultimate", "penultimate", Split::Test, 200).unwrap();
    assert!((same.cka - 1.0).abs() < 1e-12, "{same:?}");
    assert_eq!(same.examples, 200);
    assert_eq!(same.steps, (60, 60));
    // Another seed on the same data: a different representation, similar after training.
    let other = cross_run_cka(&a, &b, "penultimate", "penultimate", Split::Test, 200).unwrap();
    assert!(other.cka > 0.5 && other.cka < 1.0 - 1e-6, "{other:?}");
    // Different layers of one run can be compared too (input vs hidden, widths 6 and 16).
    let layers = cross_run_cka(&a, &a, "input", "penultimate", Split::Test, 200).unwrap();
    assert!(layers.cka > 0.0 && layers.cka < 1.0, "{layers:?}");
    // Another data seed draws other examples: refused, naming the first differing one.
    let e = cross_run_cka(&a, &c, "penultimate", "penultimate", Split::Test, 200).unwrap_err();
    assert!(
        e.contains("different inputs") && e.contains("example 0"),
        "{e}"
    );
    let e = cross_run_cka(&a, &b, "nope", "penultimate", Split::Test, 200).unwrap_err();
    assert!(e.contains("no tap `nope`"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
