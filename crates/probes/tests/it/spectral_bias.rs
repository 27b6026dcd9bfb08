//! The `spectral_bias` probe (Rahaman et al. 2019) with the trainer: a ReLU MLP learns the
//! low frequency of a sum of sinusoids before the high one, the end-of-run `first_below`
//! agrees with the series, training is unchanged by the probe, a resumed run records the same,
//! and data off the grid are refused.

use learnscope_train::config::RunConfig;

use crate::harness::{self, assert_read_only, assert_resumes_exactly, every_step, run};
use crate::sink::MemorySink;

/// λ(x) = sin(2π·2x + 0.5) + sin(2π·6x + 2) + sin(2π·12x + 4) on the 100-point grid (equal
/// amplitudes, fixed phases), a four-hidden-layer ReLU MLP of width 64, full-batch Adam on
/// the mean squared error.
const RUN: &str = r#"
name = "spectral"
seed = 5
steps = 1500
[data]
kind = "sinusoid"
frequencies = [2.0, 6.0, 12.0]
phases = [0.5, 2.0, 4.0]
train = 100
test = 50
sampling = "grid"
[model]
kind = "mlp"
hidden = [64, 64, 64, 64]
activation = "relu"
[loss]
kind = "mse"
[optimizer]
kind = "adam"
[lr]
base = 0.005
[training]
batch_size = 0
shuffle = false
[checkpoint]
every = 0
[[probes]]
kind = "loss"
splits = ["train"]
schedule = { kind = "every", n = 10 }
[[probes]]
kind = "spectral_bias"
schedule = { kind = "every", n = 10 }
"#;

fn series(sink: &MemorySink, key: &str, k: Option<i64>) -> Vec<(u64, f64)> {
    sink.records
        .iter()
        .filter(|(_, _, m)| m.probe == "spectral_bias" && m.key == key && m.index == k)
        .map(|(s, _, m)| {
            assert_eq!(m.split, "train");
            (*s, m.value)
        })
        .collect()
}

fn build_error(cfg: &RunConfig) -> String {
    harness::build_error(cfg).unwrap_or_else(|| panic!("the probe accepted {:?}", cfg.data))
}

#[test]
fn spectral_bias_low_frequencies_are_learned_first() {
    let cfg = RunConfig::parse(RUN, &[]).unwrap();
    let (sink, _) = run(&cfg, true);
    // The default frequencies are the target's, found from the stored targets.
    let mut ks: Vec<i64> = sink
        .records
        .iter()
        .filter(|(s, _, m)| *s == 0 && m.key == "spec_err")
        .map(|(_, _, m)| m.index.unwrap())
        .collect();
    ks.sort();
    assert_eq!(ks, [2, 6, 12]);
    let first_below = |k: i64| {
        series(&sink, "spec_err", Some(k))
            .into_iter()
            .find(|&(_, e)| e < 0.5)
            .map(|(s, _)| s)
    };
    let times: Vec<Option<u64>> = [2, 6, 12].iter().map(|&k| first_below(k)).collect();
    // Spectral bias: k = 2 is learned (spec_err < ½) strictly before k = 12, and k = 12 is
    // learned within the run (a run that learns nothing, or everything at once, fails).
    let (low, high) = (times[0].unwrap(), times[2].expect("k = 12 never learned"));
    assert!(low < high, "first steps with spec_err < ½: {times:?}");
    assert!(times[1].unwrap() <= high, "{times:?}");
    // The summary at the last step is the series' first crossing, once per k.
    for (k, t) in [2, 6, 12].iter().zip(&times) {
        let fb = series(&sink, "first_below", Some(*k));
        assert_eq!(fb, [(1500, t.unwrap() as f64)], "k = {k}");
    }
    // At step 0 the net's output is nearly flat: every component is essentially missing
    // (spec_err near 1, amplitude ratio small); at the end the error is small everywhere.
    for k in [2, 6, 12] {
        let e = series(&sink, "spec_err", Some(k));
        let r = series(&sink, "amplitude_ratio", Some(k));
        assert_eq!(e.len(), 151, "steps 0, 10, …, 1500");
        assert!(
            e[0].1 > 0.8 && r[0].1 < 0.2,
            "k = {k}: {:?} {:?}",
            e[0],
            r[0]
        );
        // |ratio − 1| ≤ spec_err (reverse triangle inequality on |F[f] − F[λ]|).
        for (a, b) in e.iter().zip(&r) {
            assert!((b.1 - 1.0).abs() <= a.1 + 1e-12, "k = {k}: {a:?} {b:?}");
        }
    }
    let mean = series(&sink, "spec_err_mean", None);
    let last: f64 = [2, 6, 12]
        .iter()
        .map(|&k| series(&sink, "spec_err", Some(k)).last().unwrap().1)
        .sum::<f64>()
        / 3.0;
    assert_eq!(mean.len(), 151);
    assert!((mean.last().unwrap().1 - last).abs() < 1e-15);
    assert!(last < 0.5, "final spec_err_mean {last}");
}

#[test]
fn spectral_bias_is_read_only_and_resumes_exactly() {
    let sets = ["steps=60".to_string(), "checkpoint.every=30".to_string()];
    let cfg = RunConfig::parse(RUN, &sets).unwrap();
    assert_read_only(&every_step(&cfg), &cfg, "probes");

    // A threshold reached before the checkpoint: `first_below` at the end comes from the
    // restored state.
    let mut cfg = cfg;
    cfg.probes[1].insert("threshold".into(), toml::Value::Float(0.999));
    let (full, _) = run(&cfg, true);
    let sink = assert_resumes_exactly(&cfg, &full, 30);
    let fb: Vec<f64> = sink
        .records
        .iter()
        .filter(|(_, _, m)| m.key == "first_below")
        .map(|(_, _, m)| m.value)
        .collect();
    assert_eq!(fb.len(), 3);
    assert!(fb.iter().any(|&s| s < 30.0), "{fb:?}");
}

#[test]
fn spectral_bias_refuses_data_off_the_grid() {
    // Uniform sampling: inputs are not at i/n.
    let cfg = RunConfig::parse(RUN, &[r#"data.sampling="uniform""#.into()]).unwrap();
    let e = build_error(&cfg);
    assert!(
        e.contains("probes[1]") && e.contains("grid x_i = i/n") && e.contains("expected"),
        "{e}"
    );
    // Standardised inputs leave the grid too.
    let cfg = RunConfig::parse(
        RUN,
        &[r#"transforms=[{ kind = "standardize", mode = "global" }]"#.into()],
    )
    .unwrap();
    assert!(build_error(&cfg).contains("grid x_i = i/n"));
    // Inputs that are not one real per example, with class targets.
    let cfg = RunConfig::parse(
        RUN,
        &[
            r#"data={ kind = "gaussian_mixture", classes = 2, dim = 3, train_per_class = 5, test_per_class = 5 }"#
                .into(),
            r#"loss={ kind = "cross_entropy" }"#.into(),
        ],
    )
    .unwrap();
    assert!(build_error(&cfg).contains("one-dimensional"));
    // A frequency the target does not contain, and one above n/2 = 50.
    let mut cfg = RunConfig::parse(RUN, &[]).unwrap();
    cfg.probes[1].insert("frequencies".into(), toml::Value::Array(vec![3.into()]));
    assert!(build_error(&cfg).contains("no content at k = 3"));
    cfg.probes[1].insert("frequencies".into(), toml::Value::Array(vec![51.into()]));
    assert!(build_error(&cfg).contains("Nyquist"));
}
