//! Labels whose correct rejections were set by the response coding, not learned (HUMAN-TASK.md
//! §2.4; SCIENCE.md §P1.3). With 0/1 targets, θ = 0.5 and a near-zero initialisation every
//! response starts below θ, so the true-negative rate is already ≈ 1 at step 0, whether or not
//! the network passes through an optimal-constant phase. The `decisions` probe records each
//! unit's and level's TNR at its first observation as `tnr_step0`; units and levels whose
//! step-0 TNR exceeds [`PRE_SET_TNR`] (mean over the runs that recorded it) are listed under the
//! probe's figures as "pre-set by coding".

use std::collections::BTreeMap;

use crate::escape::escape;
use crate::series::SeriesKey;

/// A step-0 TNR above this is called pre-set by the coding.
pub const PRE_SET_TNR: f64 = 0.9;

/// The key the `decisions` probe records the first observation's TNR under.
pub const TNR_STEP0_KEY: &str = "tnr_step0";

/// One unit or level whose step-0 TNR exceeds [`PRE_SET_TNR`].
#[derive(Debug, Clone, PartialEq)]
pub struct PreSet {
    /// The split.
    pub split: String,
    /// `leaf`, `level<l>`, `all`, or `unit <j>`.
    pub label: String,
    /// The step-0 TNR (mean over the runs that recorded it).
    pub tnr: f64,
}

/// The units and levels of `probe` whose step-0 TNR exceeds [`PRE_SET_TNR`]: levels first,
/// then units by index, per split. `per_run` are the runs' series.
pub fn pre_set_labels(
    per_run: &[BTreeMap<SeriesKey, Vec<(u64, f64)>>],
    probe: &str,
) -> Vec<PreSet> {
    // (split, is unit, layer, index) → first values of each run.
    let mut first: BTreeMap<(String, bool, String, i64), Vec<f64>> = BTreeMap::new();
    for run in per_run {
        for (k, points) in run {
            if k.probe != probe || k.key != TNR_STEP0_KEY {
                continue;
            }
            let Some(&(_, v)) = points.iter().find(|(_, v)| v.is_finite()) else {
                continue;
            };
            let id = (
                k.split.clone(),
                k.layer.is_none(),
                k.layer.clone().unwrap_or_default(),
                k.index.unwrap_or(-1),
            );
            first.entry(id).or_default().push(v);
        }
    }
    first
        .into_iter()
        .filter_map(|((split, unit, layer, index), v)| {
            let tnr = v.iter().sum::<f64>() / v.len() as f64;
            (tnr > PRE_SET_TNR).then(|| PreSet {
                split,
                label: if unit { format!("unit {index}") } else { layer },
                tnr,
            })
        })
        .collect()
}

/// The note under a probe's figures (HTML), or `None` when nothing was pre-set.
pub fn pre_set_note(
    per_run: &[BTreeMap<SeriesKey, Vec<(u64, f64)>>],
    probe: &str,
) -> Option<String> {
    let labels = pre_set_labels(per_run, probe);
    if labels.is_empty() {
        return None;
    }
    // Per split: levels with their TNR, then units as index ranges with the smallest TNR.
    let mut by_split: BTreeMap<&str, (Vec<String>, Vec<i64>, f64)> = BTreeMap::new();
    for p in &labels {
        let e = by_split
            .entry(&p.split)
            .or_insert((Vec::new(), Vec::new(), f64::INFINITY));
        match p.label.strip_prefix("unit ").and_then(|i| i.parse().ok()) {
            Some(i) => {
                e.1.push(i);
                e.2 = e.2.min(p.tnr);
            }
            None => e.0.push(format!("{} ({:.3})", p.label, p.tnr)),
        }
    }
    let by_split: BTreeMap<&str, Vec<String>> = by_split
        .into_iter()
        .map(|(split, (mut parts, units, min))| {
            if !units.is_empty() {
                parts.push(format!("units {} (TNR ≥ {min:.3})", ranges(&units)));
            }
            (split, parts)
        })
        .collect();
    let mut h = format!("<p class=\"note\">Pre-set by coding (step-0 TNR &gt; {PRE_SET_TNR}): ");
    let parts: Vec<String> = by_split
        .iter()
        .map(|(split, l)| format!("{}: {}", escape(split), escape(&l.join(", "))))
        .collect();
    h.push_str(&parts.join("; "));
    h.push_str(
        ". The coding put every response below θ at initialisation, so a high TNR there is \
         not learned (HUMAN-TASK.md §2.4).</p>\n",
    );
    Some(h)
}

/// Sorted indices as ranges: `1–3, 7`.
fn ranges(sorted: &[i64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        out.push(if j > i {
            format!("{}–{}", sorted[i], sorted[j])
        } else {
            sorted[i].to_string()
        });
        i = j + 1;
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::group_series;
    use learnscope_store::MetricRecord;

    fn rec(step: u64, layer: Option<&str>, index: Option<i64>, v: f64) -> MetricRecord {
        let mut r = MetricRecord::new(step, 0, "decisions", TNR_STEP0_KEY, "train", v);
        if let Some(l) = layer {
            r = r.with_layer(l);
        }
        if let Some(i) = index {
            r = r.with_index(i);
        }
        r
    }

    #[test]
    fn lists_levels_and_units_above_the_cut() {
        let a = vec![
            rec(0, Some("leaf"), None, 1.0),
            rec(10, Some("leaf"), None, 1.0),
            rec(0, Some("level1"), None, 0.5),
            rec(0, None, Some(7), 0.95),
            rec(0, None, Some(1), 0.5),
            MetricRecord::new(0, 0, "decisions", "tnr", "train", 1.0).with_layer("level1"),
        ];
        // A second run with a lower leaf value: the mean (0.85) is not above the cut.
        let b = vec![rec(0, Some("leaf"), None, 0.7)];
        let one = [group_series(&a)];
        let labels = pre_set_labels(&one, "decisions");
        let names: Vec<&str> = labels.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(names, ["leaf", "unit 7"]);
        let note = pre_set_note(&one, "decisions").unwrap();
        assert!(
            note.contains("train: leaf (1.000), units 7 (TNR ≥ 0.950)"),
            "{note}"
        );
        assert_eq!(ranges(&[1, 2, 3, 7, 9, 10]), "1–3, 7, 9–10");
        assert!(note.contains("not learned"));
        let both = [group_series(&a), group_series(&b)];
        let names: Vec<String> = pre_set_labels(&both, "decisions")
            .into_iter()
            .map(|p| p.label)
            .collect();
        assert_eq!(names, ["unit 7"]);
        assert_eq!(pre_set_note(&one, "other"), None);
    }
}

#[cfg(test)]
mod page_tests {
    use std::collections::BTreeMap;

    use learnscope_store::{JsonlRead, Manifest, MetricRecord, RunReader};

    use crate::report::{Report, RunInput};

    #[test]
    fn the_page_notes_pre_set_labels_under_the_decisions_figures() {
        let records = vec![
            MetricRecord::new(0, 0, "decisions", "tnr", "train", 1.0).with_layer("leaf"),
            MetricRecord::new(100, 0, "decisions", "tnr", "train", 1.0).with_layer("leaf"),
            MetricRecord::new(0, 0, "decisions", "tnr_step0", "train", 1.0).with_layer("leaf"),
            MetricRecord::new(0, 0, "decisions", "tnr_step0", "train", 0.5).with_layer("level1"),
            MetricRecord::new(0, 0, "loss", "loss", "train", 1.0),
        ];
        let config_toml = "seed = 0\nsteps = 100\n".to_string();
        let run = RunInput {
            config: config_toml.parse().unwrap(),
            reader: RunReader {
                dir: "runs/r".into(),
                manifest: Manifest::new("h8", 0),
                config_toml,
                metrics: JsonlRead {
                    records,
                    truncated_tail: false,
                },
                checkpoints: Vec::new(),
            },
            theory: Vec::new(),
            timings: BTreeMap::new(),
        };
        let h = Report {
            runs: vec![run],
            verdicts: Vec::new(),
        }
        .to_html();
        assert_eq!(h.matches("Pre-set by coding").count(), 1, "{h}");
        assert!(h.contains("train: leaf (1.000). The coding put every response below θ"));
        // Under the decisions section, not under the loss one.
        let start = h.find("id=\"probe-decisions\"").unwrap();
        let end = h.find("id=\"probe-loss\"").unwrap();
        let at = h.find("Pre-set by coding").unwrap();
        assert!(
            start < at && (at < end || end < start),
            "{start} {at} {end}"
        );
    }
}
