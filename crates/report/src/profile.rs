//! Figures of the `spectrum` probe that are not curves over training time (P5: Y. Nam,
//! C. Mingard, S. H. Lee, S. Hayou & A. A. Louis, "Visualising Feature Learning in Deep Neural
//! Networks by Diagonalizing the Forward Feature Map", arXiv:2410.04264, 2024).
//!
//! The probe eigen-decomposes the second moment (and the covariance) of the penultimate
//! features over a fixed set of examples. What the paper reads off is the *shape* of that
//! spectrum and of its eigenfunctions, not one number over time, so the report adds:
//!
//! - **Profiles** ([`profile_figure`]): for the keys [`PROFILE_KEYS`] (`eigenvalue`,
//!   `eigenvalue_cov`, `label_alignment`: series with an `index` k, no layer, no `index2`,
//!   split `train`), the value against k + 1 at three recorded steps — the first, the middle
//!   one and the last (distinct steps only), one line each, labelled `step N` — of the first run
//!   of each run group (not averaged over seeds: spectra of different seeds need not line up
//!   index by index). The x axis is log when there are at least 10 indices; the y axis is log
//!   when every value is positive and they span more than two decades, as in the over-time
//!   figures. In the minimal-feature (MF) regime about C eigenvalues (C classes) separate from
//!   the bulk and carry nearly all of the label alignment; in the extended-feature regime the
//!   alignment spreads over many k. The generic over-time figure of these keys (one curve per
//!   k, mean ± sd over a group's seeds) is kept next to the profile: it is the only place that
//!   shows the seed spread and every recorded step.
//! - **Eigenfunction scatter plots** ([`scatter_figures`]): at the last step where
//!   `eigenfunction` is recorded, for the first run of the first group and each split (`train`,
//!   then `test` if recorded), ψ₁ against ψ₂ (index2 = 0, 1) and, when a third eigenfunction is
//!   recorded, ψ₂ against ψ₃, one point per example coloured by its class (`scatter_label` at
//!   the same step and split; one legend entry per class). In the MF regime the eigenfunctions
//!   are nearly constant on each class, so the points collapse into one tight cluster per
//!   class; without feature learning they form one diffuse cloud. Only the last step is drawn
//!   to keep the page small (the arrays hold up to `scatter_examples` examples × E
//!   eigenfunctions per split and step).
//!
//! The per-example keys [`SCATTER_KEYS`] (`eigenfunction`, `scatter_label`) of the probe
//! `spectrum` get no over-time figure and no rows in the final-values table (one series per
//! example is noise there); [`is_scatter_array`] is the rule, and it applies to the probe named
//! `spectrum` only, so other probes' keys of the same name are drawn as usual.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::aggregate::RunGroup;
use crate::axis::{linear_scale_over, log_scale_for, Scale};
use crate::escape::escape;
use crate::html::{SeriesMap, MAX_CURVES, PALETTE};
use crate::report::Report;
use crate::series::SeriesKey;
use crate::svg::{Line, Plot};

/// The probe whose keys get the figures of this module.
pub const SPECTRUM_PROBE: &str = "spectrum";
/// Keys drawn as profiles against k + 1 (besides their over-time figure).
pub const PROFILE_KEYS: [&str; 3] = ["eigenvalue", "eigenvalue_cov", "label_alignment"];
/// Per-example keys drawn as scatter plots only.
pub const SCATTER_KEYS: [&str; 2] = ["eigenfunction", "scatter_label"];
/// The split of the profiles.
const PROFILE_SPLIT: &str = "train";
/// The splits of the scatter plots, in drawing order.
const SCATTER_SPLITS: [&str; 2] = ["train", "test"];

/// Whether `(probe, key)` gets a profile figure.
pub fn is_profile(probe: &str, key: &str) -> bool {
    probe == SPECTRUM_PROBE && PROFILE_KEYS.contains(&key)
}

/// Whether `(probe, key)` is a per-example array: no over-time figure, no final values.
pub fn is_scatter_array(probe: &str, key: &str) -> bool {
    probe == SPECTRUM_PROBE && SCATTER_KEYS.contains(&key)
}

/// The first, middle and last of `steps` (sorted), distinct.
pub fn selected_steps(steps: &BTreeSet<u64>) -> Vec<u64> {
    let v: Vec<u64> = steps.iter().copied().collect();
    if v.is_empty() {
        return Vec::new();
    }
    let mut out = vec![v[0], v[(v.len() - 1) / 2], v[v.len() - 1]];
    out.dedup();
    out
}

/// `run i: name, seed s` for the run at `i` (0-based).
fn run_name(report: &Report, i: usize) -> String {
    let m = &report.runs[i].reader.manifest;
    format!("run {}: {}, seed {}", i + 1, m.name, m.seed)
}

/// The profile figure of `(probe, key)` (see the module documentation); nothing when no
/// series qualifies. Returns whether a figure was written.
#[allow(clippy::too_many_arguments)]
pub fn profile_figure(
    report: &Report,
    groups: &[RunGroup],
    per_run: &[SeriesMap],
    probe: &str,
    key: &str,
    series: &BTreeSet<SeriesKey>,
    h: &mut String,
) -> bool {
    let eligible: Vec<&SeriesKey> = series
        .iter()
        .filter(|s| {
            s.split == PROFILE_SPLIT && s.layer.is_none() && s.index.is_some() && s.index2.is_none()
        })
        .collect();
    if eligible.is_empty() {
        return false;
    }
    let mut lines: Vec<Line> = Vec::new();
    let mut dropped = 0usize;
    let mut runs_shown: Vec<String> = Vec::new();
    for g in groups {
        let Some(&first) = g.members.first() else {
            continue;
        };
        // step → (k, value) of the first run.
        let mut by_step: BTreeMap<u64, Vec<(i64, f64)>> = BTreeMap::new();
        for s in &eligible {
            if let (Some(k), Some(v)) = (s.index, per_run[first].get(*s)) {
                for &(step, value) in v {
                    by_step.entry(step).or_default().push((k, value));
                }
            }
        }
        let steps: BTreeSet<u64> = by_step.keys().copied().collect();
        let chosen = selected_steps(&steps);
        if chosen.is_empty() {
            continue;
        }
        runs_shown.push(run_name(report, first));
        for step in chosen {
            if lines.len() >= MAX_CURVES {
                dropped += 1;
                continue;
            }
            let mut pts = by_step.remove(&step).unwrap_or_default();
            pts.sort_by_key(|p| p.0);
            let label = if g.label.is_empty() {
                format!("step {step}")
            } else {
                format!("{} · step {step}", g.label)
            };
            lines.push(Line {
                label,
                color: PALETTE[lines.len() % PALETTE.len()].to_string(),
                points: pts.iter().map(|&(k, v)| (k as f64 + 1.0, v)).collect(),
                dashed: false,
                markers: false,
            });
        }
    }
    if lines.is_empty() {
        return false;
    }
    let indices: BTreeSet<u64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0.to_bits()))
        .collect();
    let xs: Vec<f64> = indices.iter().map(|b| f64::from_bits(*b)).collect();
    let (x_lo, x_hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    // k + 1 ≥ 1 unless an index is negative; then the axis stays linear.
    let x_log = xs.len() >= 10 && x_lo >= 1.0;
    let x = if x_log {
        Scale::log_for(x_lo, x_hi)
    } else {
        linear_scale_over(xs.iter().copied())
    };
    let ys: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .collect();
    let non_finite = lines.iter().map(|l| l.points.len()).sum::<usize>() - ys.len();
    let log = log_scale_for(ys.iter().copied());
    let y_log = log.is_some();
    let y = log.unwrap_or_else(|| linear_scale_over(ys.iter().copied()));
    let title = format!("{probe} / {key} against k");
    let plot = Plot {
        title: title.clone(),
        x_label: crate::axis::axis_label("k + 1", x_log),
        y_label: crate::axis::axis_label(key, y_log),
        x,
        y,
        bands: Vec::new(),
        lines,
    };
    let mut caption = format!(
        "{title}: the profile over the index k (k = 0 the largest eigenvalue) at the first, middle and last recorded steps, for the first run of each configuration ({}), not averaged over seeds; the over-time figure of each k follows",
        runs_shown.join("; ")
    );
    if x_log && y_log {
        caption.push_str("; log-log");
    } else if x_log {
        caption.push_str("; log x (at least 10 indices)");
    } else if y_log {
        caption.push_str("; log y");
    }
    if y_log {
        caption.push_str(" (values span more than two decades)");
    }
    if dropped > 0 {
        let _ = write!(caption, "; {dropped} more steps not drawn");
    }
    if non_finite > 0 {
        let _ = write!(caption, "; {non_finite} non-finite values not drawn");
    }
    if ys.is_empty() {
        caption.push_str("; no finite values");
    }
    let _ = writeln!(
        h,
        "<figure>{}<figcaption>{}</figcaption></figure>",
        plot.to_svg(),
        escape(&caption)
    );
    true
}

/// The value of a step-sorted series at `step`.
fn at(v: &[(u64, f64)], step: u64) -> Option<f64> {
    v.binary_search_by_key(&step, |p| p.0).ok().map(|i| v[i].1)
}

/// The eigenfunction scatter plots of `probe` (see the module documentation), drawn for the
/// first run of the first group. Returns how many figures were written.
pub fn scatter_figures(
    report: &Report,
    groups: &[RunGroup],
    per_run: &[SeriesMap],
    probe: &str,
    h: &mut String,
) -> usize {
    let Some(&first) = groups.first().and_then(|g| g.members.first()) else {
        return 0;
    };
    let m = &per_run[first];
    let eig: Vec<(&SeriesKey, &Vec<(u64, f64)>)> = m
        .iter()
        .filter(|(s, _)| s.probe == probe && s.key == SCATTER_KEYS[0])
        .collect();
    let Some(step) = eig.iter().filter_map(|(_, v)| v.last().map(|p| p.0)).max() else {
        return 0;
    };
    let mut drawn = 0;
    for split in SCATTER_SPLITS {
        // ψ_k(example i) at `step`: k → i → value.
        let mut psi: BTreeMap<i64, BTreeMap<i64, f64>> = BTreeMap::new();
        for (s, v) in &eig {
            if s.split != split || s.layer.is_some() {
                continue;
            }
            if let (Some(i), Some(k), Some(value)) = (s.index, s.index2, at(v, step)) {
                psi.entry(k).or_default().insert(i, value);
            }
        }
        let labels: BTreeMap<i64, f64> = m
            .iter()
            .filter(|(s, _)| {
                s.probe == probe
                    && s.key == SCATTER_KEYS[1]
                    && s.split == split
                    && s.layer.is_none()
                    && s.index2.is_none()
            })
            .filter_map(|(s, v)| Some((s.index?, at(v, step)?)))
            .collect();
        for (a, b) in [(0i64, 1i64), (1, 2)] {
            let (Some(pa), Some(pb)) = (psi.get(&a), psi.get(&b)) else {
                continue;
            };
            // class (None: no finite label) → points.
            let mut classes: BTreeMap<Option<i64>, Vec<(f64, f64)>> = BTreeMap::new();
            for (i, &xa) in pa {
                let Some(&yb) = pb.get(i) else {
                    continue;
                };
                let class = labels
                    .get(i)
                    .filter(|l| l.is_finite())
                    .map(|l| l.round() as i64);
                classes.entry(class).or_default().push((xa, yb));
            }
            if classes.is_empty() {
                continue;
            }
            let n: usize = classes.values().map(Vec::len).sum();
            let finite = classes
                .values()
                .flatten()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .count();
            let x = linear_scale_over(classes.values().flatten().map(|p| p.0));
            let y = linear_scale_over(classes.values().flatten().map(|p| p.1));
            let lines: Vec<Line> = classes
                .into_iter()
                .map(|(class, points)| Line {
                    label: match class {
                        Some(c) => format!("class {c}"),
                        None => "no label".into(),
                    },
                    color: match class {
                        Some(c) => PALETTE[c.rem_euclid(PALETTE.len() as i64) as usize],
                        None => "#000000",
                    }
                    .to_string(),
                    points,
                    dashed: false,
                    markers: true,
                })
                .collect();
            let (ka, kb) = (a + 1, b + 1);
            let title = format!("{probe} / eigenfunction ψ{ka} vs ψ{kb} ({split})");
            let plot = Plot {
                title: title.clone(),
                x_label: format!("ψ{ka}"),
                y_label: format!("ψ{kb}"),
                x,
                y,
                bands: Vec::new(),
                lines,
            };
            let mut caption = format!(
                "{title}: one point per example ({n} {split} examples) at step {step}, the last step with eigenfunctions, {}; colour = class (scatter_label). Minimal-feature regime: one tight cluster per class; no feature learning: one diffuse cloud",
                run_name(report, first)
            );
            if finite < n {
                let _ = write!(caption, "; {} non-finite points not drawn", n - finite);
            }
            if groups.len() > 1 || groups[0].members.len() > 1 {
                caption.push_str("; other runs not drawn");
            }
            let _ = writeln!(
                h,
                "<figure>{}<figcaption>{}</figcaption></figure>",
                plot.to_svg(),
                escape(&caption)
            );
            drawn += 1;
        }
    }
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_middle_last_distinct() {
        let s = |v: &[u64]| v.iter().copied().collect::<BTreeSet<u64>>();
        assert_eq!(selected_steps(&s(&[])), Vec::<u64>::new());
        assert_eq!(selected_steps(&s(&[7])), vec![7]);
        assert_eq!(selected_steps(&s(&[1, 9])), vec![1, 9]);
        assert_eq!(selected_steps(&s(&[0, 5, 10, 800])), vec![0, 5, 800]);
        assert_eq!(selected_steps(&s(&[0, 5, 10, 20, 800])), vec![0, 10, 800]);
    }

    #[test]
    fn the_rules_are_narrow() {
        assert!(is_scatter_array("spectrum", "eigenfunction"));
        assert!(is_scatter_array("spectrum", "scatter_label"));
        assert!(!is_scatter_array("spectrum2", "eigenfunction"));
        assert!(!is_scatter_array("spectrum", "eigenvalue"));
        assert!(is_profile("spectrum", "label_alignment"));
        assert!(!is_profile("modes", "eigenvalue"));
    }
}
