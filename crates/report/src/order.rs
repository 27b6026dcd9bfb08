//! The order-of-learning figures of P2 (G. Hacohen, L. Choshen & D. Weinshall, ICML 2020;
//! SCIENCE.md §P2.5 items 4–6), drawn from runs that record the `correctness` probe (which test
//! examples each run classifies correctly after every epoch).
//!
//! Runs are grouped into **arms**: the `arm` a `reproduce` run's manifest names, else the group of
//! runs whose configurations differ only by seed. Within an arm, runs are taken in seed order and
//! cut into **ensembles** of [`ENSEMBLE_SIZE`] (P2's N = 10) when the arm has at least two of them,
//! else into two halves. The accessibility of example x in an ensemble is
//! `acc(x) = (1/(N·E)) Σᵢ Σₑ 1[fᵢᵉ(x) = y]` over epochs e ≥ 1 (step 0 is left out, as in the
//! verdict rows), and the LOC of two ensembles is Pearson's r of their accessibility vectors.
//!
//! Figures, one point per example:
//! - per arm: accessibility of ensemble 1 against ensemble 0 (learning-order constancy within
//!   the arm), with r in the title;
//! - per pair of arms over the same examples (at most [`MAX_ARM_PAIRS`]): the accessibility of
//!   all of one arm's runs against the other's (constancy across architectures or whitening);
//! - per arm whose runs record `critical_pc`: accessibility against the critical principal
//!   component (the mean over the arm's runs of the last value), with Spearman's ρ;
//! - one plot of every arm's accessibility sorted, the distribution of example difficulty.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use learnscope_stats::{accessibility, pearson, spearman};
use learnscope_store::MetricRecord;

use crate::axis::linear_scale_over;
use crate::escape::escape;
use crate::html::PALETTE;
use crate::report::Report;
use crate::svg::{Line, Plot};

/// The probe whose per-example 0/1 series the figures use.
pub const CORRECTNESS_PROBE: &str = "correctness";
/// Its key.
pub const CORRECTNESS_KEY: &str = "correct";
/// Networks per ensemble (P2: N = 10).
pub const ENSEMBLE_SIZE: usize = 10;
/// At most this many arm pairs are drawn.
pub const MAX_ARM_PAIRS: usize = 6;

/// One run's correctness: which examples it gets right at each epoch after step 0.
struct Correctness {
    /// Epochs (observations after step 0).
    epochs: usize,
    /// Examples per epoch.
    examples: usize,
    /// Row-major `epochs × examples`.
    correct: Vec<bool>,
}

/// One run of an arm.
struct ArmRun {
    seed: u64,
    /// Position in the report's runs.
    run: usize,
    matrix: Correctness,
}

/// One run's correctness matrix, from its `correctness` records.
fn correctness(records: &[MetricRecord]) -> Option<Correctness> {
    let mut by_step: BTreeMap<u64, BTreeMap<i64, f64>> = BTreeMap::new();
    let split = ["test", "train"].into_iter().find(|s| {
        records
            .iter()
            .any(|r| r.probe == CORRECTNESS_PROBE && r.key == CORRECTNESS_KEY && r.split == *s)
    })?;
    for r in records {
        if r.probe == CORRECTNESS_PROBE
            && r.key == CORRECTNESS_KEY
            && r.split == split
            && r.step > 0
        {
            by_step.entry(r.step).or_default().insert(r.index?, r.value);
        }
    }
    let examples = by_step.values().map(BTreeMap::len).max()?;
    let mut values = Vec::with_capacity(by_step.len() * examples);
    for m in by_step.values() {
        if m.len() != examples {
            return None;
        }
        values.extend(m.values().map(|&v| v == 1.0));
    }
    Some(Correctness {
        epochs: by_step.len(),
        examples,
        correct: values,
    })
}

/// The mean over runs of each example's last `critical_pc` value (None: never correct).
fn critical_pc(runs: &[&[MetricRecord]], examples: usize) -> Option<Vec<Option<f64>>> {
    let mut sum = vec![0.0; examples];
    let mut count = vec![0usize; examples];
    let mut any = false;
    for records in runs {
        let mut last: BTreeMap<i64, (u64, f64)> = BTreeMap::new();
        for r in records.iter().filter(|r| r.key == "critical_pc") {
            if let Some(i) = r.index {
                let e = last.entry(i).or_insert((r.step, r.value));
                if r.step >= e.0 {
                    *e = (r.step, r.value);
                }
            }
        }
        for (i, (_, v)) in last {
            if (0..examples as i64).contains(&i) && v.is_finite() {
                sum[i as usize] += v;
                count[i as usize] += 1;
                any = true;
            }
        }
    }
    any.then(|| {
        sum.iter()
            .zip(&count)
            .map(|(s, &c)| (c > 0).then(|| s / c as f64))
            .collect()
    })
}

/// One arm's accessibility.
struct Arm {
    label: String,
    runs: usize,
    epochs: usize,
    members: usize,
    /// Per ensemble.
    ensembles: Vec<Vec<f64>>,
    /// All the arm's runs as one ensemble.
    all: Vec<f64>,
    critical: Option<Vec<Option<f64>>>,
}

fn arm_label(report: &Report, i: usize, group_labels: &[String]) -> String {
    let m = &report.runs[i].reader.manifest;
    m.reproduce
        .as_ref()
        .and_then(|r| r.get("arm"))
        .and_then(|a| a.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| group_labels[i].clone())
}

fn arms(report: &Report) -> Vec<Arm> {
    let configs: Vec<toml::Table> = report.runs.iter().map(|r| r.config.clone()).collect();
    let groups = crate::aggregate::group_runs(&configs);
    let mut group_labels = vec![String::new(); report.runs.len()];
    for (g, group) in groups.iter().enumerate() {
        for &i in &group.members {
            group_labels[i] = if group.label.is_empty() {
                format!("group {}", g + 1)
            } else {
                group.label.clone()
            };
        }
    }
    let mut by_arm: BTreeMap<String, Vec<ArmRun>> = BTreeMap::new();
    for (i, run) in report.runs.iter().enumerate() {
        if let Some(matrix) = correctness(run.reader.records()) {
            by_arm
                .entry(arm_label(report, i, &group_labels))
                .or_default()
                .push(ArmRun {
                    seed: run.reader.manifest.seed,
                    run: i,
                    matrix,
                });
        }
    }
    let mut out = Vec::new();
    for (label, mut runs) in by_arm {
        runs.sort_by_key(|r| (r.seed, r.run));
        let (epochs, examples) = (runs[0].matrix.epochs, runs[0].matrix.examples);
        runs.retain(|r| r.matrix.epochs == epochs && r.matrix.examples == examples);
        let n = runs.len();
        if n < 2 {
            continue;
        }
        let members = if n >= 2 * ENSEMBLE_SIZE {
            ENSEMBLE_SIZE
        } else {
            n / 2
        };
        let acc_of = |chunk: &[ArmRun]| {
            let flat: Vec<bool> = chunk
                .iter()
                .flat_map(|r| r.matrix.correct.iter().copied())
                .collect();
            accessibility(&flat, chunk.len(), epochs, examples).ok()
        };
        let ensembles: Vec<Vec<f64>> = runs.chunks_exact(members).filter_map(acc_of).collect();
        let Some(all) = acc_of(&runs) else { continue };
        let records: Vec<&[MetricRecord]> = runs
            .iter()
            .map(|r| report.runs[r.run].reader.records())
            .collect();
        out.push(Arm {
            label,
            runs: n,
            epochs,
            members,
            ensembles,
            all,
            critical: critical_pc(&records, examples),
        });
    }
    out
}

fn scatter(
    title: &str,
    x_label: &str,
    y_label: &str,
    points: Vec<(f64, f64)>,
    color: &str,
    caption: &str,
    h: &mut String,
) {
    let x = linear_scale_over(points.iter().map(|p| p.0));
    let y = linear_scale_over(points.iter().map(|p| p.1));
    let plot = Plot {
        title: title.to_string(),
        x_label: x_label.to_string(),
        y_label: y_label.to_string(),
        x,
        y,
        bands: Vec::new(),
        lines: vec![Line {
            label: format!("{} examples", points.len()),
            color: color.to_string(),
            points,
            dashed: false,
            markers: true,
        }],
    };
    let _ = writeln!(
        h,
        "<figure>{}<figcaption>{}</figcaption></figure>",
        plot.to_svg(),
        escape(caption)
    );
}

fn r_text(r: Option<f64>) -> String {
    r.map_or("undefined".into(), |r| format!("{r:.3}"))
}

/// The order-of-learning section (see the module documentation); returns the figures drawn.
pub fn order_section(report: &Report, h: &mut String) -> usize {
    let arms = arms(report);
    if arms.is_empty() {
        return 0;
    }
    h.push_str("<h2 id=\"order\">Order of learning (accessibility, LOC)</h2>\n");
    let _ = writeln!(
        h,
        "<p>From the <code>correctness</code> probe: the accessibility of an example is the share of (network, epoch ≥ 1) pairs of an ensemble that classify it correctly; LOC is Pearson's r of two ensembles' accessibility (Hacohen et al. 2020). Ensembles are consecutive runs in seed order, {ENSEMBLE_SIZE} per ensemble when an arm has at least {}, else two halves.</p>",
        2 * ENSEMBLE_SIZE
    );
    let mut drawn = 0;
    for (a, arm) in arms.iter().enumerate() {
        let color = PALETTE[a % PALETTE.len()];
        if arm.ensembles.len() >= 2 {
            let (e0, e1) = (&arm.ensembles[0], &arm.ensembles[1]);
            let r = pearson(e0, e1).ok().map(|c| c.estimate);
            let points = e0.iter().copied().zip(e1.iter().copied()).collect();
            scatter(
                &format!("{}: LOC {} (ensemble 1 vs ensemble 0)", arm.label, r_text(r)),
                "accessibility, ensemble 0",
                "accessibility, ensemble 1",
                points,
                color,
                &format!(
                    "{}: {} runs, {} ensembles of {} networks × {} epochs; one point per example; LOC = Pearson r = {} (over all {} ensembles' consecutive pairs the verdict rows report the mean)",
                    arm.label,
                    arm.runs,
                    arm.ensembles.len(),
                    arm.members,
                    arm.epochs,
                    r_text(r),
                    arm.ensembles.len()
                ),
                h,
            );
            drawn += 1;
        }
        if let Some(crit) = &arm.critical {
            let pairs: Vec<(f64, f64)> = crit
                .iter()
                .zip(&arm.all)
                .filter_map(|(c, &acc)| c.map(|c| (c, acc)))
                .collect();
            if pairs.len() >= 4 {
                let (xs, ys): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
                let rho = spearman(&xs, &ys).ok().map(|c| c.estimate);
                scatter(
                    &format!(
                        "{}: accessibility vs critical PC (Spearman ρ {})",
                        arm.label,
                        r_text(rho)
                    ),
                    "critical principal component (grid index, mean over runs)",
                    "accessibility (all runs)",
                    pairs.clone(),
                    color,
                    &format!(
                        "{}: one point per example that some run's linear classifier gets right from some P on ({} of {}); P2 predicts examples needing fewer principal components are learned earlier (negative ρ = {})",
                        arm.label,
                        pairs.len(),
                        arm.all.len(),
                        r_text(rho)
                    ),
                    h,
                );
                drawn += 1;
            }
        }
    }
    let mut pairs = 0;
    'outer: for (i, a) in arms.iter().enumerate() {
        for b in arms.iter().skip(i + 1) {
            if a.all.len() != b.all.len() {
                continue;
            }
            if pairs == MAX_ARM_PAIRS {
                break 'outer;
            }
            let r = pearson(&a.all, &b.all).ok().map(|c| c.estimate);
            let points = a.all.iter().copied().zip(b.all.iter().copied()).collect();
            scatter(
                &format!("{} vs {}: LOC {}", b.label, a.label, r_text(r)),
                &format!("accessibility, {} ({} runs)", a.label, a.runs),
                &format!("accessibility, {} ({} runs)", b.label, b.runs),
                points,
                "#444444",
                &format!(
                    "Learning-order constancy across arms: each arm's runs as one ensemble, one point per example; Pearson r = {}",
                    r_text(r)
                ),
                h,
            );
            pairs += 1;
            drawn += 1;
        }
    }
    // Sorted accessibility per arm: the distribution of example difficulty.
    let lines: Vec<Line> = arms
        .iter()
        .enumerate()
        .map(|(a, arm)| {
            let mut v = arm.all.clone();
            v.sort_by(|x, y| y.total_cmp(x));
            let n = v.len().max(1) as f64;
            Line {
                label: format!("{} ({} runs)", arm.label, arm.runs),
                color: PALETTE[a % PALETTE.len()].to_string(),
                points: v
                    .into_iter()
                    .enumerate()
                    .map(|(k, y)| (k as f64 / n, y))
                    .collect(),
                dashed: false,
                markers: false,
            }
        })
        .collect();
    let plot = Plot {
        title: "accessibility, sorted (easiest first)".into(),
        x_label: "share of examples".into(),
        y_label: "accessibility".into(),
        x: linear_scale_over([0.0, 1.0]),
        y: linear_scale_over([0.0, 1.0]),
        bands: Vec::new(),
        lines,
    };
    let _ = writeln!(
        h,
        "<figure>{}<figcaption>{}</figcaption></figure>",
        plot.to_svg(),
        escape("Each arm's accessibility over all its runs, sorted from the easiest example; a curve near 1 everywhere is an easy task, a long tail near 0 are examples no network learns")
    );
    drawn + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RunInput;
    use learnscope_store::{JsonlRead, Manifest, RunReader};

    /// Example x (0..6) is correct at epoch e (1..=6) iff e > x (arm "easy-first") or
    /// e > 5 − x (reversed); `critical_pc` of x is x.
    fn run(seed: u64, steps: u64, reversed: bool) -> RunInput {
        let config_toml = format!("seed = {seed}\nsteps = {steps}\n");
        let mut records = Vec::new();
        for e in 0..=6u64 {
            for x in 0..6i64 {
                let threshold = if reversed { 5 - x } else { x };
                let ok = e > 0 && e as i64 > threshold;
                let mut r = MetricRecord::new(
                    e,
                    e as u32,
                    "correctness",
                    "correct",
                    "test",
                    f64::from(u8::from(ok)),
                );
                r.index = Some(x);
                records.push(r);
            }
        }
        for x in 0..6i64 {
            let mut r = MetricRecord::new(6, 6, "critical_pc", "critical_pc", "test", x as f64);
            r.index = Some(x);
            records.push(r);
        }
        RunInput {
            config: config_toml.parse().unwrap(),
            reader: RunReader {
                dir: format!("runs/s{seed}").into(),
                manifest: Manifest::new("order", seed),
                config_toml,
                metrics: JsonlRead {
                    records,
                    truncated_tail: false,
                },
                checkpoints: Vec::new(),
            },
            theory: Vec::new(),
            timings: BTreeMap::new(),
        }
    }

    #[test]
    fn loc_within_and_across_arms_and_the_critical_pc_correlation() {
        let mut runs: Vec<RunInput> = (0..4).map(|s| run(s, 6, false)).collect();
        runs.extend((0..4).map(|s| run(s, 7, true)));
        let report = Report {
            runs,
            verdicts: Vec::new(),
        };
        let mut h = String::new();
        // Per arm: the within-arm LOC and the critical-PC scatter (2 × 2), one cross-arm
        // scatter, the sorted accessibility.
        assert_eq!(order_section(&report, &mut h), 6);
        // Both halves of an arm learn identically: LOC 1. accessibility = (6 − x)/6 in one arm
        // and (x + 1)/6 in the other: LOC −1 across arms; ρ(critical PC = x, acc) = ∓1.
        // (each title appears twice: the SVG's <title> and its heading text)
        assert_eq!(
            h.matches("LOC 1.000 (ensemble 1 vs ensemble 0)").count(),
            4,
            "{h}"
        );
        assert!(
            h.contains("Spearman ρ -1.000") && h.contains("Spearman ρ 1.000"),
            "{h}"
        );
        assert!(h.contains(": LOC -1.000"), "{h}");
        assert!(
            h.contains("4 runs, 2 ensembles of 2 networks × 6 epochs"),
            "{h}"
        );
    }

    #[test]
    fn runs_without_the_correctness_probe_draw_nothing() {
        let mut r = run(0, 6, false);
        r.reader
            .metrics
            .records
            .retain(|m| m.probe != "correctness");
        let report = Report {
            runs: vec![r],
            verdicts: Vec::new(),
        };
        let mut h = String::new();
        assert_eq!(order_section(&report, &mut h), 0);
        assert!(h.is_empty());
    }
}
