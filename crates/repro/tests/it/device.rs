//! `device = "cuda:N"` in `learnscope run`: without the `cuda` feature an error that says how to
//! rebuild; with it, on a machine without a driver, an error naming the missing library. In
//! both cases nothing is created. (With a GPU the run itself is covered by learnscope-nn's CUDA
//! conformance tests.)

use learnscope_repro::{start_run, RunError, RunRequest};
use learnscope_train::config::RunConfig;
use learnscope_train::StopSignal;

fn request(dir: &std::path::Path, device: &str) -> RunRequest {
    let config = RunConfig::parse(
        &format!(
            r#"
name = "dev"
steps = 2
device = "{device}"
[data]
kind = "gaussian_mixture"
[model]
kind = "mlp"
hidden = [4]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
[lr]
base = 0.1
"#
        ),
        &[],
    )
    .unwrap();
    RunRequest {
        config,
        out: Some(dir.join("run")),
        runs_root: dir.to_path_buf(),
        reproduce: None,
    }
}

#[test]
fn cuda_device_errors_clearly_when_it_cannot_be_used() {
    let dir = std::env::temp_dir().join(format!("learnscope-device-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let req = request(&dir, "cuda:0");
    match start_run(&req, &StopSignal::default(), None) {
        Err(RunError::Device { device, why }) => {
            assert_eq!(device, "cuda:0");
            let msg = RunError::Device {
                device: device.clone(),
                why: why.clone(),
            }
            .to_string();
            println!("{msg}");
            if cfg!(feature = "cuda") {
                assert!(
                    why.contains("libcuda.so.1")
                        || why.contains("libcublas")
                        || why.contains("libnvrtc")
                        || why.contains("CUDA"),
                    "{why}"
                );
            } else {
                assert!(
                    why.contains("without the `cuda` feature")
                        && why.contains("cargo build --release -p learnscope --features cuda"),
                    "{why}"
                );
            }
            assert!(!dir.join("run").exists(), "a failed device leaves nothing");
        }
        Err(other) => panic!("expected a device error, got {other}"),
        Ok(r) => {
            // Only possible with the feature on a machine with a GPU.
            if !cfg!(feature = "cuda") {
                panic!("a cuda run in a build without the feature");
            }
            println!("ran on the GPU: {:?}", r.status);
        }
    }
    // The CPU device runs as before.
    let cpu = request(&dir, "cpu");
    let r = start_run(&cpu, &StopSignal::default(), None).unwrap();
    assert_eq!(r.exit_code, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
