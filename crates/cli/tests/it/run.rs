//! `learnscope run`: determinism, exact resume (after a crash and after a signal), config
//! errors, divergence, and the run directory read by the Python tools.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{assert_same_file, bytes, checkpoint_files, learnscope, scratch, text};

/// An MLP on separable data with mini-batches of 8 out of 40 (5 per epoch), Adam, warmup +
/// cosine schedule, checkpoints every 50 steps (mid-epoch: 50 = 10 epochs, so use 45).
pub const CONFIG: &str = r#"
name = "resume"
seed = 7
dtype = "f64"
steps = 100
[data]
kind = "separable"
dim = 6
train = 40
test = 20
margin = 0.2
[model]
kind = "mlp"
hidden = [12]
activation = "tanh"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "adam"
[lr]
base = 0.01
warmup_steps = 5
shape = { kind = "cosine", total_steps = 95 }
[training]
batch_size = 8
[checkpoint]
every = 48
[[probes]]
kind = "loss"
schedule = { kind = "every", n = 1 }
[[probes]]
kind = "norms"
schedule = { kind = "every", n = 7 }
[[probes]]
kind = "per_example"
schedule = { kind = "every", n = 11 }
"#;

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("exp.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn run_to(cfg: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    learnscope()
        .arg("run")
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn same_config_twice_gives_identical_bytes() {
    let dir = scratch("determinism");
    let cfg = write_config(&dir, CONFIG);
    for name in ["a", "b"] {
        let out = run_to(&cfg, &dir.join(name), &[]);
        assert!(out.status.success(), "{}", text(&out));
    }
    assert_same_file(&dir.join("a/metrics.jsonl"), &dir.join("b/metrics.jsonl"));
    assert!(
        checkpoint_files(&dir.join("a")) == checkpoint_files(&dir.join("b")),
        "checkpoints differ"
    );
    assert_same_file(
        &dir.join("a/metrics.parquet"),
        &dir.join("b/metrics.parquet"),
    );
    // One and two threads: the engine's products split over output tiles and its reductions
    // use fixed chunks, so the bytes agree (on this workload and the engine's own tests).
    let out = run_to(&cfg, &dir.join("t2"), &["--set", "threads=2"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_same_file(&dir.join("a/metrics.jsonl"), &dir.join("t2/metrics.jsonl"));
    // The resolved config reproduces the run.
    let out = learnscope()
        .arg("run")
        .arg(dir.join("a/config.toml"))
        .arg("--out")
        .arg(dir.join("c"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_same_file(&dir.join("a/metrics.jsonl"), &dir.join("c/metrics.jsonl"));
}

#[test]
fn resume_after_a_crash_is_byte_identical() {
    // Adam with warmup + cosine (the config), and SGD with Nesterov momentum and weight decay.
    crash_and_resume("crash-adam", CONFIG.to_string());
    crash_and_resume(
        "crash-momentum",
        CONFIG.replace(
            "kind = \"adam\"",
            "kind = \"sgd\"\nmomentum = 0.9\nnesterov = true\nweight_decay = 1e-3",
        ),
    );
}

/// MNIST-1D sequences reshaped to 1×5×8 images and a CNN with batch norm and dropout: the
/// `[data]` … `[model]` part of a configuration.
pub const CNN_DATA_MODEL: &str = r#"[data]
kind = "mnist1d"
train = 40
test = 20
[[transforms]]
kind = "reshape"
shape = [1, 5, 8]
[model]
kind = "cnn"
readout = "global_avg"
hidden = [8]
hidden_dropout = 0.3
[[model.blocks]]
channels = 4
batch_norm = true
dropout = 0.2
[[model.blocks]]
channels = 6
stride = 2
batch_norm = true
"#;

/// The same protocol through a CNN with batch norm (running statistics are buffers in the
/// checkpoint) and dropout (masks keyed by layer path and step, so nothing random is saved):
/// MNIST-1D sequences reshaped to 1×5×8 images.
#[test]
fn resume_with_batch_norm_and_dropout_is_byte_identical() {
    let start = CONFIG.find("[data]").unwrap();
    let end = CONFIG.find("[loss]").unwrap();
    let config = format!("{}{CNN_DATA_MODEL}{}", &CONFIG[..start], &CONFIG[end..]);
    // (per-example gradients are for dense chains; keep the loss and norms probes)
    let per_example = config.rfind("[[probes]]").unwrap();
    crash_and_resume("crash-bn-dropout", config[..per_example].to_string());
}

fn crash_and_resume(name: &str, config: String) {
    let dir = scratch(name);
    let cfg = write_config(&dir, &config);
    let full = dir.join("full");
    assert!(run_to(&cfg, &full, &[]).status.success());
    // Simulate a crash at step 70: the process wrote the checkpoint at step 48, metrics up to
    // step 70 with a half-written last line, and never finished the manifest.
    let crashed = dir.join("crashed");
    assert!(run_to(&cfg, &crashed, &[]).status.success());
    for step in [96u64, 100] {
        for ext in ["safetensors", "state.json"] {
            let _ = std::fs::remove_file(crashed.join(format!("checkpoints/step-{step:08}.{ext}")));
        }
    }
    let metrics = String::from_utf8(bytes(&crashed.join("metrics.jsonl"))).unwrap();
    let step_of = |l: &str| {
        serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
            .as_u64()
            .unwrap()
    };
    let keep: String = metrics
        .lines()
        .filter(|l| step_of(l) < 70)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(
        crashed.join("metrics.jsonl"),
        format!("{keep}{{\"step\":70,\"epo"),
    )
    .unwrap();
    let manifest = String::from_utf8(bytes(&crashed.join("manifest.json"))).unwrap();
    std::fs::write(
        crashed.join("manifest.json"),
        manifest.replace("\"completed\"", "\"running\""),
    )
    .unwrap();
    std::fs::remove_file(crashed.join("metrics.parquet")).unwrap();

    let out = learnscope()
        .args(["run", "--resume"])
        .arg(&crashed)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_same_file(&full.join("metrics.jsonl"), &crashed.join("metrics.jsonl"));
    assert!(
        checkpoint_files(&full) == checkpoint_files(&crashed),
        "checkpoints differ"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&bytes(&crashed.join("manifest.json"))).unwrap();
    assert_eq!(m["status"], "completed");
    assert_eq!(m["resumed_from"], serde_json::json!([48]));
}

#[test]
fn resume_after_sigterm_is_byte_identical() {
    // A long run (200 000 steps of a tiny MLP, a few seconds), interrupted by SIGTERM wherever
    // it is: the checkpoint is written at that step (usually mid-epoch), exit code 143, and
    // resuming completes the run byte-identically to an uninterrupted one.
    let dir = scratch("signal");
    let long = CONFIG
        .replace("steps = 100", "steps = 200000")
        .replace("total_steps = 95", "total_steps = 199995")
        .replace("every = 48", "every = 0")
        .replace("n = 1 }", "n = 997 }");
    let cfg = write_config(&dir, &long);
    let full = dir.join("full");
    assert!(run_to(&cfg, &full, &[]).status.success());

    let part = dir.join("part");
    let mut child = learnscope()
        .arg("run")
        .arg(&cfg)
        .arg("--out")
        .arg(&part)
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !part.join("metrics.jsonl").is_file() || bytes(&part.join("metrics.jsonl")).len() < 2000 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "run did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(143),
        "the run must be interrupted, not finished"
    );
    let m: serde_json::Value = serde_json::from_slice(&bytes(&part.join("manifest.json"))).unwrap();
    assert_eq!(m["status"], "interrupted");

    let out = learnscope()
        .args(["run", "--resume"])
        .arg(&part)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_same_file(&full.join("metrics.jsonl"), &part.join("metrics.jsonl"));
    let last = |d: &Path| checkpoint_files(d).pop().unwrap();
    assert!(last(&full) == last(&part), "final checkpoints differ");
}

#[test]
fn config_errors_name_the_field() {
    let dir = scratch("config-errors");
    let cases = [
        (
            CONFIG.replace("steps = 100", "steps = 100\nstepz = 3"),
            "unknown field `stepz`",
        ),
        (
            CONFIG.replace("kind = \"adam\"", "kind = \"adamw\""),
            "unknown variant `adamw`",
        ),
        (
            CONFIG.replace("base = 0.01", "base = -1.0"),
            "`base` = -1 breaks the rule `finite and > 0`",
        ),
        (
            CONFIG.replace("activation = \"tanh\"", "activation = \"tanh\"\ndepth = 2"),
            "unknown field `depth`",
        ),
        (CONFIG.replace("n = 7 }", "n = 0 }"), "probes[1].schedule"),
    ];
    for (i, (text_, want)) in cases.iter().enumerate() {
        let cfg = write_config(&dir, text_);
        let out = run_to(&cfg, &dir.join(format!("r{i}")), &[]);
        let msg = text(&out);
        assert_eq!(out.status.code(), Some(2), "{msg}");
        assert!(msg.contains(want), "case {i}: expected `{want}` in:\n{msg}");
        assert!(!msg.contains("panicked"), "{msg}");
        assert!(
            !dir.join(format!("r{i}")).join("manifest.json").exists(),
            "a bad config left a run directory"
        );
    }
    let cfg = write_config(&dir, CONFIG);
    let out = run_to(&cfg, &dir.join("s"), &["--set", "optimizer.beta1=1.5"]);
    assert!(
        text(&out).contains("optimizer.beta1") && text(&out).contains("0 <= beta < 1"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_diverging_run_keeps_its_metrics_and_says_diverged() {
    let dir = scratch("diverge");
    let cfg = write_config(
        &dir,
        r#"
name = "boom"
steps = 1000
[data]
kind = "hierarchy"
[model]
kind = "deep_linear"
hidden = [16]
bias = true
init = { kind = "gaussian", std = 0.5 }
[loss]
kind = "mse"
[optimizer]
kind = "sgd"
[lr]
base = 5.0
[[probes]]
kind = "loss"
schedule = { kind = "every", n = 1 }
"#,
    );
    let out = run_to(&cfg, &dir.join("r"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("diverged"));
    let m: serde_json::Value =
        serde_json::from_slice(&bytes(&dir.join("r/manifest.json"))).unwrap();
    assert_eq!(m["status"], "diverged");
    let metrics = String::from_utf8(bytes(&dir.join("r/metrics.jsonl"))).unwrap();
    let last = metrics.lines().last().unwrap();
    assert!(
        last.contains("\"value\":\"NaN\"") || last.contains("\"value\":\"inf\""),
        "{last}"
    );
    // Non-finite values read back as non-finite (not null).
    let rows = learnscope_store::read_metrics(&dir.join("r/metrics.jsonl")).unwrap();
    assert!(!rows.records.last().unwrap().value.is_finite());
}
