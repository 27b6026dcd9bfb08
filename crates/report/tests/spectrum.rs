//! The `spectrum` probe's figures (profiles against k, eigenfunction scatter plots) on run
//! directories written with the store, and the rule that leaves other probes alone.

use std::path::{Path, PathBuf};

use learnscope_report::build_report;
use learnscope_store::{Manifest, MetricRecord, RunStatus, RunWriter};

/// A fresh directory under the system temp dir.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "learnscope-report-spectrum-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Writes a run directory `dir` with `records`.
fn write_run(dir: &Path, seed: u64, config: &str, records: &[MetricRecord]) {
    let mut w = RunWriter::create(
        dir,
        Manifest::new("p5", seed),
        &format!("seed = {seed}\n{config}"),
    )
    .unwrap();
    for r in records {
        w.record(r).unwrap();
    }
    w.finish(RunStatus::Completed, None).unwrap();
}

const STEPS: [u64; 5] = [0, 10, 20, 30, 40];
const TRAIN_EXAMPLES: i64 = 30;
const TEST_EXAMPLES: i64 = 20;

/// `spectrum` records: spectra over k < 12 at every step, eigenfunctions (`functions` of them)
/// and labels for the examples (train: classes 0, 1, 2; test: classes 0, 1), and a scalar.
fn spectrum_records(probe: &str, functions: i64) -> Vec<MetricRecord> {
    let mut v = Vec::new();
    for &t in &STEPS {
        let rec = |key: &str, split: &str, value: f64| {
            MetricRecord::new(t, (t / 10) as _, probe, key, split, value)
        };
        v.push(rec("count95", "train", 10.0 - t as f64 / 10.0));
        for k in 0..12i64 {
            let decay = 10f64.powf(-(k as f64) * (0.1 + t as f64 / 40.0));
            v.push(rec("eigenvalue", "train", decay).with_index(k));
            v.push(rec("eigenvalue_cov", "train", 0.5 * decay).with_index(k));
            v.push(rec("label_alignment", "train", 1.0 / 12.0).with_index(k));
        }
        for (split, n, classes) in [("train", TRAIN_EXAMPLES, 3), ("test", TEST_EXAMPLES, 2)] {
            for i in 0..n {
                let class = i % classes;
                v.push(rec("scatter_label", split, class as f64).with_index(i));
                for k in 0..functions {
                    // Clusters at the last step, noise before.
                    let value = if t == 40 {
                        (class * (k + 1)) as f64 + 0.01 * i as f64
                    } else {
                        ((i * 7 + k * 3) % 11) as f64
                    };
                    v.push(
                        rec("eigenfunction", split, value)
                            .with_index(i)
                            .with_index2(k),
                    );
                }
            }
        }
    }
    v
}

/// The `<svg>` element whose title is `title`.
fn svg_titled<'a>(h: &'a str, title: &str) -> &'a str {
    let at = h
        .find(&format!("<title>{title}</title>"))
        .unwrap_or_else(|| panic!("no figure {title}"));
    let start = h[..at].rfind("<svg ").unwrap();
    let end = at + h[at..].find("</svg>").unwrap();
    &h[start..end]
}

#[test]
fn spectrum_run_gets_profiles_and_class_coloured_scatter_plots() {
    let dir = scratch("main");
    write_run(&dir, 0, "steps = 40\n", &spectrum_records("spectrum", 3));
    let h = build_report(std::slice::from_ref(&dir)).unwrap();
    for key in ["eigenvalue", "eigenvalue_cov", "label_alignment"] {
        let svg = svg_titled(&h, &format!("spectrum / {key} against k"));
        // First, middle and last step, one line each.
        assert_eq!(svg.matches("<polyline").count(), 3, "{svg}");
        for step in ["step 0", "step 20", "step 40"] {
            assert!(svg.contains(&format!(">{step}<")), "{key}: {step}");
        }
        assert!(!svg.contains(">step 10<") && !svg.contains(">step 30<"));
        assert!(svg.contains(">k + 1 (log)<"), "12 indices: log x");
        // The generic figure over time is kept.
        svg_titled(&h, &format!("spectrum / {key}"));
    }
    // Eigenvalues span 10^-11.6 … 1: log y; the constant alignment: linear y.
    assert!(svg_titled(&h, "spectrum / eigenvalue against k").contains(">eigenvalue (log)<"));
    assert!(svg_titled(&h, "spectrum / label_alignment against k").contains(">label_alignment<"));
    assert!(h.contains("first run of each configuration (run 1: p5, seed 0)"));

    // Scatter plots: ψ1 vs ψ2 and ψ2 vs ψ3 per split, at the last step.
    for (split, n, classes) in [("train", TRAIN_EXAMPLES, 3), ("test", TEST_EXAMPLES, 2)] {
        for pair in ["ψ1 vs ψ2", "ψ2 vs ψ3"] {
            let svg = svg_titled(&h, &format!("spectrum / eigenfunction {pair} ({split})"));
            assert_eq!(svg.matches("<polyline").count(), 0, "{svg}");
            // One marker per example, plus one legend swatch per class.
            assert_eq!(svg.matches(r#" r="2"/>"#).count(), n as usize, "{svg}");
            assert_eq!(svg.matches(r#" r="3" "#).count(), classes, "{svg}");
            for c in 0..3 {
                let entry = format!(">class {c}<");
                assert_eq!(
                    svg.matches(&entry).count(),
                    usize::from(c < classes),
                    "{entry}"
                );
            }
        }
        assert!(h.contains(&format!("({n} {split} examples) at step 40")));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn per_example_keys_get_no_figure_over_time_and_no_final_values() {
    let dir = scratch("arrays");
    write_run(&dir, 0, "steps = 40\n", &spectrum_records("spectrum", 3));
    let h = build_report(std::slice::from_ref(&dir)).unwrap();
    assert!(!h.contains("<title>spectrum / eigenfunction</title>"));
    assert!(!h.contains("<title>spectrum / scatter_label</title>"));
    assert!(h.contains("Per-example arrays (drawn as the eigenfunction scatter plots above, at the last step; no figure over time, not in the final values): eigenfunction, scatter_label"));
    assert!(!h.contains("<td>eigenfunction</td>") && !h.contains("<td>scatter_label</td>"));
    // count95 (1) + eigenvalue, eigenvalue_cov, label_alignment (12 each).
    assert!(h.contains("final values (37 series)"), "{h}");
    // 3 profiles + 4 over-time figures + 4 scatter plots.
    assert_eq!(h.matches("<figure>").count(), 11);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_eigenfunction_gives_no_scatter_plot_and_other_runs_are_named() {
    let (a, b) = (scratch("one-a"), scratch("one-b"));
    write_run(&a, 0, "steps = 40\n", &spectrum_records("spectrum", 1));
    write_run(&b, 1, "steps = 40\n", &spectrum_records("spectrum", 1));
    let h = build_report(&[a.clone(), b.clone()]).unwrap();
    assert!(!h.contains(" vs ψ"));
    assert!(h.contains("no scatter plot: the first run records fewer than two eigenfunctions"));
    // Two seeds, one group: the profile is the first run's; the over-time figure aggregates.
    assert!(h.contains("(run 1: p5, seed 0), not averaged over seeds"));
    assert!(h.contains("mean ± sd, N = 2"));
    std::fs::remove_dir_all(&a).unwrap();
    std::fs::remove_dir_all(&b).unwrap();
}

#[test]
fn other_probes_keep_the_generic_figures() {
    let dir = scratch("other");
    write_run(&dir, 0, "steps = 40\n", &spectrum_records("kernel", 3));
    let h = build_report(std::slice::from_ref(&dir)).unwrap();
    // Same keys under another probe name: one figure over time per key, nothing else.
    assert!(!h.contains(" against k") && !h.contains(" vs ψ") && !h.contains("Per-example"));
    for key in [
        "count95",
        "eigenfunction",
        "eigenvalue",
        "eigenvalue_cov",
        "label_alignment",
        "scatter_label",
    ] {
        assert_eq!(
            h.matches(&format!("<title>kernel / {key}</title>")).count(),
            1,
            "{key}"
        );
    }
    assert_eq!(h.matches("<figure>").count(), 6);
    assert!(!h.contains("<g fill="));
    std::fs::remove_dir_all(&dir).unwrap();
}
