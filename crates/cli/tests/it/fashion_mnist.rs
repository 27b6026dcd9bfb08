//! The small CNN of `experiments/fashion-mnist-cnn.toml` on real Fashion-MNIST (Debian's
//! `dataset-fashion-mnist`, which `scripts/test` installs): Adam 1e-3, batch 128, 400 steps must
//! reach ≥ 80 % test accuracy (the floor; 87.3 % measured with seed 0). About a minute
//! on 2 cores, so it is `#[ignore]` and CI runs it by name.

use crate::common::{bytes, learnscope, scratch, text};

#[test]
#[ignore = "trains on real Fashion-MNIST (about a minute on 2 cores); CI runs it by name"]
fn fashion_mnist_small_cnn_reaches_80_percent() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out_dir = scratch("fmnist-cnn").join("run");
    let out = learnscope()
        .arg("run")
        .arg(root.join("experiments/fashion-mnist-cnn.toml"))
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let metrics = String::from_utf8(bytes(&out_dir.join("metrics.jsonl"))).unwrap();
    let accuracy: Vec<(u64, f64)> = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["key"] == "accuracy" && v["split"] == "test")
        .map(|v| (v["step"].as_u64().unwrap(), v["value"].as_f64().unwrap()))
        .collect();
    let &(step, acc) = accuracy.last().expect("test accuracy recorded");
    assert_eq!(step, 400);
    eprintln!("test accuracy after 400 steps: {acc}");
    assert!(acc >= 0.80, "test accuracy {acc} < 0.80 ({accuracy:?})");
}
