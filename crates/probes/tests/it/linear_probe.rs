//! The `linear_probe` probe (P4, Schneider & Prabhushankar 2024): the transfer labellings on
//! hand-built inputs, the SGD-with-momentum trainer against a hand-computed two-step update and
//! a separable problem, and the probe in a real run (the original-task probe improves with
//! training, the probe is read-only, resume is exact, errors for bad settings).
//!
//! Tolerances: the hand-computed updates are the same f64 sums in a different order, so they
//! agree to a few ulp of the largest term (1e-13 relative to the parameter scale is ~500 ε);
//! the two momentum conventions the test tells apart differ by 0.9·η·0.9·|g₁| ≈ 1e-3 there.

use learnscope_core::RandomKey;
use learnscope_probes::linear_probe::softmax::{Sgd, Softmax};
use learnscope_probes::linear_probe::transfer::TransferTask;
use learnscope_probes::linear_probe::transfer::{colour_dominance, row_means, BrightnessBins};
use learnscope_probes::linear_probe::{LinearProbe, LinearProbeSetup, ProbeTask};
use learnscope_train::config::RunConfig;
use learnscope_train::Metric;

use crate::harness::{
    assert_read_only, assert_resumes_exactly, build_error, every_step, parts, run, run_error,
};
use crate::sink::MemorySink;

/// Four Gaussian classes in 16 dimensions (orthogonal means 4σ apart) and a ReLU MLP whose
/// penultimate layer has only 3 units: at θ₀ three random ReLU features separate the four
/// classes badly; training makes them discriminative.
const RUN: &str = r#"
name = "linear-probe"
seed = 11
steps = 200
[data]
kind = "gaussian_mixture"
classes = 4
dim = 16
train_per_class = 60
test_per_class = 40
separation = 4.0
std = 1.0
[model]
kind = "mlp"
hidden = [32, 3]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
momentum = 0.9
[lr]
base = 0.05
[training]
batch_size = 32
[[probes]]
kind = "linear_probe"
"#;

/// 48-d Gaussian classes reshaped to 3 × 4 × 4 "RGB images": `auto` picks colour dominance.
const RGB: &str = r#"
name = "linear-probe-rgb"
seed = 4
steps = 4
[data]
kind = "gaussian_mixture"
classes = 3
dim = 48
train_per_class = 100
test_per_class = 50
separation = 3.0
[[transforms]]
kind = "reshape"
shape = [3, 4, 4]
[model]
kind = "mlp"
hidden = [16]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
[lr]
base = 0.05
[training]
batch_size = 50
[[probes]]
kind = "linear_probe"
tap = "input"
epochs = 40
lr_drops = []
schedule = { kind = "at", steps = [0] }
"#;

/// A `linear_probe` with the default settings on `data`.
fn default_probe(data: &dyn learnscope_data::Dataset) -> LinearProbe {
    LinearProbe::new(
        "lp".into(),
        learnscope_probes::linear_probe::default_schedule(),
        LinearProbeSetup::default(),
        data,
        RandomKey::root(0),
    )
    .unwrap()
}

fn value(sink: &MemorySink, probe: &str, key: &str, split: &str, step: u64) -> f64 {
    let found: Vec<&Metric> = sink
        .records
        .iter()
        .filter(|(s, _, m)| *s == step && m.probe == probe && m.key == key && m.split == split)
        .map(|(_, _, m)| m)
        .collect();
    assert_eq!(found.len(), 1, "{probe}/{key}/{split} at {step}");
    found[0].value
}

#[test]
fn colour_dominance_is_the_channel_with_the_largest_sum() {
    // [3, 2, 2] images, channel planes R | G | B.
    let images = [
        // R has the single largest pixel, G the largest sum.
        [9.0, -5.0, 0.0, 0.0, 2.0, 2.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0],
        // Normalised (negative) values: B is the least negative.
        [
            -1.0, -1.0, -1.0, -1.0, -2.0, -2.0, -2.0, -2.0, -0.5, -0.5, -0.5, -0.5,
        ],
        // R and B tie: the first maximum.
        [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.0, 0.0, 0.0],
        // R.
        [3.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.5],
    ];
    let x: Vec<f64> = images.iter().flatten().copied().collect();
    assert_eq!(colour_dominance(&x, &[3, 2, 2]).unwrap(), vec![1, 2, 0, 0]);
    // The same numbers read as [3, 4, 1] images are the same planes: the label depends only
    // on per-channel sums.
    assert_eq!(colour_dominance(&x, &[3, 4, 1]).unwrap(), vec![1, 2, 0, 0]);
    assert!(colour_dominance(&x, &[1, 3, 4]).is_err());
}

#[test]
fn brightness_bins_are_equal_count_on_the_fit_set() {
    let key = RandomKey::root(3);
    let q = 8;
    for (n, bins) in [(1000, 3), (1001, 4), (999, 5), (10, 3)] {
        let x: Vec<f64> = (0..n * q)
            .map(|i| key.at(n as u64).normal_at(i as u64))
            .collect();
        let b = BrightnessBins::fit(&x, q, bins).unwrap();
        assert_eq!(b.bins(), bins);
        let labels = b.labels(&x, q);
        let mut counts = vec![0usize; bins];
        labels.iter().for_each(|&y| counts[y as usize] += 1);
        // Distinct means: bin k holds ranks ⌊kn/B⌋ … ⌊(k+1)n/B⌋ − 1.
        for (k, &c) in counts.iter().enumerate() {
            assert_eq!(
                c,
                (k + 1) * n / bins - k * n / bins,
                "n {n}, B {bins}: {counts:?}"
            );
        }
        // The label is non-decreasing in the mean, also for examples not in the fit set.
        let fresh: Vec<f64> = (0..500 * q)
            .map(|i| key.derive("fresh").normal_at(i as u64))
            .collect();
        let means = row_means(&fresh, q);
        let got = b.labels(&fresh, q);
        let mut order: Vec<usize> = (0..500).collect();
        order.sort_by(|&i, &j| means[i].total_cmp(&means[j]));
        assert!(order.windows(2).all(|w| got[w[0]] <= got[w[1]]));
        assert!(got.iter().all(|&y| (y as usize) < bins));
    }
}

/// Full-batch gradient of the mean cross-entropy at (W, b), written out term by term.
fn full_batch_gradient(m: &Softmax, x: &[f64], y: &[u32]) -> (Vec<f64>, Vec<f64>) {
    let (k, d, n) = (m.classes, m.dim, y.len());
    let mut gw = vec![0.0; k * d];
    let mut gb = vec![0.0; k];
    for i in 0..n {
        let a = &x[i * d..(i + 1) * d];
        let z: Vec<f64> = (0..k)
            .map(|c| m.bias[c] + (0..d).map(|j| m.weights[c * d + j] * a[j]).sum::<f64>())
            .collect();
        let e: Vec<f64> = z.iter().map(|v| v.exp()).collect();
        let s: f64 = e.iter().sum();
        for c in 0..k {
            let r = (e[c] / s - if c == y[i] as usize { 1.0 } else { 0.0 }) / n as f64;
            gb[c] += r;
            for j in 0..d {
                gw[c * d + j] += r * a[j];
            }
        }
    }
    (gw, gb)
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .fold(0.0, |m, (x, y)| f64::max(m, (x - y).abs()))
}

#[test]
fn sgd_momentum_matches_two_hand_computed_steps() {
    let (k, d, n) = (3, 4, 6);
    let key = RandomKey::root(9);
    let x: Vec<f64> = key.normals(n * d);
    let y: Vec<u32> = vec![0, 1, 2, 2, 1, 0];
    let (lr, mu) = (0.5, 0.9);
    // One full batch per epoch (the order does not matter), η drops ×0.1 after epoch 0.
    let sgd = |epochs| Sgd {
        epochs,
        lr,
        momentum: mu,
        batch: n,
        lr_drops: vec![0],
    };

    // Step 1 from zero: p = 1/k, v₁ = g₁, θ₁ = −η g₁.
    let mut m1 = Softmax::zeros(k, d);
    sgd(1).train(&mut m1, &x, &y, key);
    let (g1w, g1b) = full_batch_gradient(&Softmax::zeros(k, d), &x, &y);
    for (c, g) in g1b.iter().enumerate() {
        let want: f64 = y
            .iter()
            .map(|&yi| (1.0 / 3.0 - if yi as usize == c { 1.0 } else { 0.0 }) / n as f64)
            .sum();
        assert!((g - want).abs() < 1e-15, "bias gradient {c}");
    }
    let w1: Vec<f64> = g1w.iter().map(|g| -lr * g).collect();
    let b1: Vec<f64> = g1b.iter().map(|g| -lr * g).collect();
    assert!(
        max_diff(&m1.weights, &w1) < 1e-13,
        "{:?} vs {w1:?}",
        m1.weights
    );
    assert!(max_diff(&m1.bias, &b1) < 1e-13);

    // Step 2 at η/10: v₂ = μ v₁ + g₂ (PyTorch), θ₂ = θ₁ − (η/10) v₂.
    let mut m2 = Softmax::zeros(k, d);
    sgd(2).train(&mut m2, &x, &y, key);
    let (g2w, g2b) = full_batch_gradient(&m1, &x, &y);
    let w2: Vec<f64> = (0..k * d)
        .map(|i| w1[i] - 0.1 * lr * (mu * g1w[i] + g2w[i]))
        .collect();
    let b2: Vec<f64> = (0..k)
        .map(|c| b1[c] - 0.1 * lr * (mu * g1b[c] + g2b[c]))
        .collect();
    assert!(max_diff(&m2.weights, &w2) < 1e-13);
    assert!(max_diff(&m2.bias, &b2) < 1e-13);
    // The other common form, v ← μv − η g, θ ← θ + v, gives θ₂ = θ₁ − μη g₁ − (η/10) g₂ here:
    // far from what the trainer did.
    let sutskever: Vec<f64> = (0..k * d)
        .map(|i| w1[i] - mu * lr * g1w[i] - 0.1 * lr * g2w[i])
        .collect();
    assert!(max_diff(&m2.weights, &sutskever) > 1e-3);
}

#[test]
fn mini_batch_order_is_a_function_of_the_key() {
    let key = RandomKey::root(2);
    let x = key.normals(50 * 5);
    let y: Vec<u32> = (0..50).map(|i| (i % 3) as u32).collect();
    let sgd = Sgd {
        epochs: 3,
        lr: 0.1,
        momentum: 0.9,
        batch: 8,
        lr_drops: vec![],
    };
    let train = |order: RandomKey| {
        let mut m = Softmax::uniform(3, 5, key.derive("init"));
        sgd.train(&mut m, &x, &y, order);
        m
    };
    assert_eq!(train(key.derive("a")), train(key.derive("a")));
    assert_ne!(train(key.derive("a")), train(key.derive("b")));
}

#[test]
fn separable_blobs_are_fitted_perfectly() {
    // Three classes in 5 dimensions, means 6 apart on the axes, every point within distance 1
    // of its mean: the nearest-mean rule (linear) is perfect with margin, so the optimum of
    // the convex cross-entropy problem classifies every point correctly.
    let key = RandomKey::root(5);
    let d = 5;
    let blob = |n: usize, stream: &str| {
        let k = key.derive(stream);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let c = i % 3;
            let g: Vec<f64> = (0..d).map(|j| k.normal_at((i * d + j) as u64)).collect();
            let r = g.iter().map(|v| v * v).sum::<f64>().sqrt();
            let radius = k.uniform_at((1_000_000 + i) as u64);
            for (j, v) in g.iter().enumerate() {
                let mean = if j == c { 6.0 / 2f64.sqrt() } else { 0.0 };
                x.push(mean + v / r * radius);
            }
            y.push(c as u32);
        }
        (x, y)
    };
    let (x, y) = blob(300, "fit");
    let (xt, yt) = blob(200, "test");
    let sgd = Sgd {
        epochs: 20,
        lr: 0.01,
        momentum: 0.9,
        batch: 128,
        lr_drops: vec![9, 19],
    };
    let mut m = Softmax::uniform(3, d, key.derive("init"));
    let before = m.score(&x, &y);
    sgd.train(&mut m, &x, &y, key.derive("order"));
    let fit = m.score(&x, &y);
    let test = m.score(&xt, &yt);
    eprintln!("blobs: before {before:?}, fit {fit:?}, test {test:?}");
    assert_eq!(fit.accuracy, 1.0);
    assert_eq!(test.accuracy, 1.0);
    assert!(fit.loss < before.loss);
}

#[test]
fn original_task_probe_improves_with_training() {
    let cfg = RunConfig::parse(RUN, &[]).unwrap();
    let started = std::time::Instant::now();
    let (sink, _) = run(&cfg, true);
    eprintln!("run with probe: {:?}", started.elapsed());
    // Default schedule 0, 2, 4, …, 128, and the final step.
    let steps: Vec<u64> = sink
        .records
        .iter()
        .filter(|(_, _, m)| m.key == "original/accuracy" && m.split == "test")
        .map(|(s, _, _)| *s)
        .collect();
    assert_eq!(steps, [0, 2, 4, 8, 16, 32, 64, 128, 200]);
    let keys: Vec<(&str, &str)> = sink
        .records
        .iter()
        .filter(|(s, _, _)| *s == 0)
        .map(|(_, _, m)| {
            assert_eq!(m.layer.as_deref(), Some("penultimate"));
            (m.key.as_str(), m.split.as_str())
        })
        .collect();
    let mut want = Vec::new();
    for task in ["original", "transfer"] {
        for split in ["train", "test"] {
            for key in ["accuracy", "loss", "majority"] {
                want.push((format!("{task}/{key}"), split));
            }
        }
    }
    let want: Vec<(&str, &str)> = want.iter().map(|(k, s)| (k.as_str(), *s)).collect();
    assert_eq!(keys, want);
    for step in &steps {
        let line: Vec<String> = ["train", "test"]
            .iter()
            .flat_map(|split| {
                ["original", "transfer"].map(|t| {
                    format!(
                        "{t}/{split} {:.3}",
                        value(
                            &sink,
                            "linear_probe",
                            &format!("{t}/accuracy"),
                            split,
                            *step
                        )
                    )
                })
            })
            .collect();
        eprintln!("step {step}: {}", line.join(", "));
    }
    let acc = |split, step| value(&sink, "linear_probe", "original/accuracy", split, step);
    for split in ["train", "test"] {
        assert!(
            acc(split, 200) > acc(split, 0) + 0.1,
            "{split}: {} → {}",
            acc(split, 0),
            acc(split, 200)
        );
        // Balanced classes: majority 1/4 on both splits.
        assert_eq!(
            value(&sink, "linear_probe", "original/majority", split, 0),
            0.25
        );
    }
    // Transfer on vector inputs is the brightness quantile with 3 equal-count bins of the 240
    // fit examples: 80 each.
    let parts = parts(&cfg);
    let probe = default_probe(parts.data.as_ref());
    assert_eq!(probe.transfer(), TransferTask::BrightnessQuantile);
    let (fit, eval) = probe.labels(ProbeTask::Transfer).unwrap();
    assert_eq!((fit.len(), eval.len()), (240, 160));
    let mut counts = [0usize; 3];
    fit.iter().for_each(|&y| counts[y as usize] += 1);
    assert_eq!(counts, [80, 80, 80]);
    assert_eq!(
        value(&sink, "linear_probe", "transfer/majority", "train", 0),
        1.0 / 3.0
    );
}

#[test]
fn colour_dominance_is_read_off_the_input_of_rgb_data() {
    let cfg = RunConfig::parse(RGB, &[]).unwrap();
    let (sink, _) = run(&cfg, true);
    // The labels the probe used: recompute them from the data and compare the majority rate.
    let parts = parts(&cfg);
    let mut x = Vec::new();
    parts.data.gather_inputs(
        learnscope_data::Split::Train,
        &(0..300).collect::<Vec<_>>(),
        &mut x,
    );
    let labels = colour_dominance(&x, &[3, 4, 4]).unwrap();
    // `auto` on [3, 4, 4] inputs is colour dominance, with exactly these labels.
    let probe = default_probe(parts.data.as_ref());
    assert_eq!(probe.transfer(), TransferTask::ColourDominance);
    assert_eq!(
        probe.labels(ProbeTask::Transfer).unwrap().0,
        labels.as_slice()
    );
    let mut counts = [0usize; 3];
    labels.iter().for_each(|&y| counts[y as usize] += 1);
    let majority = *counts.iter().max().unwrap() as f64 / 300.0;
    assert_eq!(
        value(&sink, "linear_probe", "transfer/majority", "train", 0),
        majority
    );
    // On the input itself colour dominance is the arg-max of three linear functions: a linear
    // softmax probe can express it exactly, so it must beat the constant guess clearly (observed:
    // fit 0.96, test 0.87 against a majority rate of 0.61 with 300 fit examples, 40 epochs).
    let fit = value(&sink, "linear_probe", "transfer/accuracy", "train", 0);
    let test = value(&sink, "linear_probe", "transfer/accuracy", "test", 0);
    eprintln!("colour dominance on the input: counts {counts:?}, fit {fit}, test {test}");
    assert!(
        fit > 0.9 && test > majority + 0.15,
        "fit {fit}, test {test}"
    );
}

#[test]
fn probe_is_read_only_and_resumes_exactly() {
    let sets = ["checkpoint.every=20".to_string(), "steps=45".to_string()];
    let cfg = RunConfig::parse(RUN, &sets).unwrap();
    let mut every = every_step(&cfg);
    every.probes[0].insert("epochs".into(), toml::Value::Integer(3));
    let with = assert_read_only(&every, &cfg, "the linear_probe probe");
    let sink = assert_resumes_exactly(&every, &with, 20);
    assert!(sink
        .records
        .iter()
        .any(|(s, _, m)| *s == 20 && m.key == "transfer/loss"));
}

#[test]
fn bad_settings_are_errors() {
    let build = |extra: &str| {
        let cfg = RunConfig::parse(&format!("{RUN}{extra}"), &[]).unwrap();
        build_error(&cfg)
    };
    // Colour dominance needs [3, H, W] inputs; the mixture has 16-d vectors.
    let e = build("transfer = \"colour_dominance\"\n").unwrap();
    assert!(e.contains("[3, H, W]"), "{e}");
    let e = build("tasks = [\"original\", \"original\"]\n").unwrap();
    assert!(e.contains("twice"), "{e}");
    let e = build("bins = 1\n").unwrap();
    assert!(e.contains("bins"), "{e}");
    let e = build("momentum = 1.0\n").unwrap();
    assert!(e.contains("momentum"), "{e}");
    assert!(build("tasks = [\"transfer\"]\nbins = 4\n").is_none());

    // An unknown tap fails at the first observation, naming the available ones.
    let cfg = RunConfig::parse(&format!("{RUN}tap = \"nope\"\n"), &[]).unwrap();
    let err = run_error(&cfg, "an unknown tap fails the run");
    assert!(err.contains("nope") && err.contains("penultimate"), "{err}");
}

/// Cost of one observation at the default sizes: 2000 fit and 1000 evaluation examples, a
/// 512-wide penultimate layer, 10 classes, 20 epochs. Ignored by default (seconds in a debug
/// build); `cargo test --release -p learnscope-probes --test it linear_probe_timing --
/// --ignored --nocapture` prints the time.
#[test]
#[ignore]
fn linear_probe_timing() {
    let cfg = r#"
name = "linear-probe-timing"
seed = 1
steps = 1
[data]
kind = "gaussian_mixture"
classes = 10
dim = 64
train_per_class = 200
test_per_class = 100
[model]
kind = "mlp"
hidden = [512]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
[lr]
base = 0.01
[training]
batch_size = 100
[[probes]]
kind = "linear_probe"
"#;
    let cfg = RunConfig::parse(cfg, &[]).unwrap();
    let t0 = std::time::Instant::now();
    let (_, _) = run(&cfg, false);
    let plain = t0.elapsed();
    let t0 = std::time::Instant::now();
    let (sink, _) = run(&cfg, true);
    let with = t0.elapsed();
    // Observed at steps 0 and 1 (the final step).
    let per = (with.saturating_sub(plain)) / 2;
    eprintln!("run {plain:?}, with probe {with:?}: {per:?} per observation");
    for split in ["train", "test"] {
        let a = value(&sink, "linear_probe", "original/accuracy", split, 1);
        eprintln!("original/{split} accuracy at step 1: {a}");
        assert!(a > 0.5, "{a}");
    }
}
