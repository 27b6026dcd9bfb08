//! People and networks on the same axes (HUMAN-TASK.md §4.5): the curves of
//! `learnscope_stats::responses` drawn as one self-contained HTML page. For every label level:
//! the true-negative rate and the hit rate against block, one curve per agent kind (`human`,
//! `network`, …) with its mean ± SEM band across agents, and two dashed baselines: the unbiased
//! 50/50 guesser (0.5) and the exact OCS responder, who says "yes" only to labels whose base rate
//! exceeds ½ (TNR 1 and hit rate 0 on every level with a base rate below ½). Then d_OCS (with
//! the label variance, its reference) and the input sensitivity V_x, and a table of the per-agent
//! OCS indices.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use learnscope_stats::responses::{aggregate, AgentCurves, LevelStats};

use crate::axis::Scale;
use crate::escape::escape;
use crate::html::PALETTE;
use crate::svg::{Band, Line, Plot};

fn band_plot(
    title: &str,
    y_label: &str,
    kinds: &BTreeMap<&str, Vec<&AgentCurves>>,
    stat: &dyn Fn(&AgentCurves, usize) -> Option<f64>,
    baselines: &[(&str, f64)],
    unit_range: bool,
) -> Option<String> {
    let mut lines = Vec::new();
    let mut bands = Vec::new();
    let mut values = Vec::new();
    let mut bins = 0usize;
    for (k, (kind, agents)) in kinds.iter().enumerate() {
        let points = aggregate(agents, stat);
        if points.is_empty() {
            continue;
        }
        let color = PALETTE[k % PALETTE.len()].to_string();
        bins = bins.max(points.last().map_or(0, |p| p.bin + 1));
        values.extend(points.iter().map(|p| p.mean));
        bands.push(Band {
            color: color.clone(),
            points: points
                .iter()
                .filter(|p| p.sem.is_finite())
                .map(|p| (p.bin as f64, p.mean - p.sem, p.mean + p.sem))
                .collect(),
        });
        lines.push(Line {
            label: format!("{kind} (N = {}, mean ± SEM)", agents.len()),
            color,
            points: points.iter().map(|p| (p.bin as f64, p.mean)).collect(),
            dashed: false,
            markers: false,
        });
    }
    if lines.is_empty() {
        return None;
    }
    for (i, (label, y)) in baselines.iter().enumerate() {
        values.push(*y);
        lines.push(Line {
            label: (*label).to_string(),
            color: ["#aaaaaa", "#333333"][i % 2].into(),
            points: vec![(0.0, *y), ((bins.max(2) - 1) as f64, *y)],
            dashed: true,
            markers: false,
        });
    }
    let y = if unit_range {
        Scale::linear_for(0.0, 1.0)
    } else {
        crate::axis::linear_scale_over(values)
    };
    Some(
        Plot {
            title: title.to_string(),
            x_label: "block (in day order)".into(),
            y_label: y_label.to_string(),
            x: Scale::linear_for(0.0, (bins.max(2) - 1) as f64),
            y,
            bands,
            lines,
        }
        .to_svg(),
    )
}

fn level_stat(
    level: u32,
    pick: fn(&LevelStats) -> Option<f64>,
) -> impl Fn(&AgentCurves, usize) -> Option<f64> {
    move |a: &AgentCurves, b: usize| {
        a.bins
            .get(b)?
            .levels
            .iter()
            .find(|l| l.level == level)
            .and_then(pick)
    }
}

/// The page for `agents` (from `learnscope_stats::responses::agent_curves`); `source` names the
/// table in the title.
pub fn human_report(agents: &[AgentCurves], source: &str) -> String {
    let mut kinds: BTreeMap<&str, Vec<&AgentCurves>> = BTreeMap::new();
    for a in agents {
        kinds.entry(a.agent_kind.as_str()).or_default().push(a);
    }
    let mut levels: Vec<u32> = agents
        .iter()
        .flat_map(|a| a.bins.iter().flat_map(|b| b.levels.iter().map(|l| l.level)))
        .collect();
    levels.sort_unstable();
    levels.dedup();
    // Base rate of a level: the mean base rate of its labels, i.e. positives / decisions of the
    // level in the first agent's first block (every item shows each label once).
    let level_rate = |level: u32| -> Option<f64> {
        let l = agents
            .first()?
            .bins
            .first()?
            .levels
            .iter()
            .find(|l| l.level == level)?;
        (l.counts.total() > 0).then(|| l.counts.positives() as f64 / l.counts.total() as f64)
    };
    let mut h = String::new();
    let title = format!("learnscope human analysis: {source}");
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>body{{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}}figure{{display:inline-block;margin:0.5em}}figcaption{{font-size:12px;max-width:640px}}table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:2px 6px}}td.num{{text-align:right}}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        t = escape(&title)
    );
    let counts: Vec<String> = kinds
        .iter()
        .map(|(k, v)| format!("{} {k}", v.len()))
        .collect();
    let _ = writeln!(
        h,
        "<p>{} agents ({}). Curves: mean ± SEM across the agents of a kind per block (HUMAN-TASK.md §4.5); dashed: an unbiased 50/50 guesser and the exact OCS responder (yes only to labels with base rate above ½).</p>",
        agents.len(),
        escape(&counts.join(", "))
    );
    for &level in &levels {
        let ocs_tnr = level_rate(level).map(|r| if r > 0.5 { 0.0 } else { 1.0 });
        let ocs_tpr = level_rate(level).map(|r| if r > 0.5 { 1.0 } else { 0.0 });
        for (name, pick, ocs) in [
            (
                "true-negative rate",
                (|l: &LevelStats| l.tnr) as fn(&LevelStats) -> Option<f64>,
                ocs_tnr,
            ),
            ("hit rate", |l: &LevelStats| l.tpr, ocs_tpr),
        ] {
            let mut baselines = vec![("50/50 guesser", 0.5)];
            if let Some(y) = ocs {
                baselines.push(("OCS responder", y));
            }
            let stat = level_stat(level, pick);
            if let Some(svg) = band_plot(
                &format!("level {level}: {name}"),
                name,
                &kinds,
                &stat,
                &baselines,
                true,
            ) {
                let _ = writeln!(
                    h,
                    "<figure>{svg}<figcaption>{}</figcaption></figure>",
                    escape(&format!("Level {level} (0 root, 1 superordinate, … deepest = item names): {name} per block"))
                );
            }
        }
    }
    let d_ocs = |a: &AgentCurves, b: usize| a.bins.get(b).map(|x| x.d_ocs);
    let var = agents
        .iter()
        .flat_map(|a| a.bins.iter().map(|b| b.label_variance))
        .sum::<f64>()
        / agents.iter().map(|a| a.bins.len()).sum::<usize>().max(1) as f64;
    if let Some(svg) = band_plot(
        "d_OCS = mean ‖r − ȳ‖²",
        "d_OCS",
        &kinds,
        &d_ocs,
        &[("label variance E‖y − ȳ‖²", var)],
        false,
    ) {
        let _ = writeln!(
            h,
            "<figure>{svg}<figcaption>Distance of the responses to the label base rates: it falls in the OCS phase and rises towards the label variance as items are learned</figcaption></figure>"
        );
    }
    let vx = |a: &AgentCurves, b: usize| a.bins.get(b).map(|x| x.input_sensitivity);
    if let Some(svg) = band_plot("input sensitivity V_x", "V_x", &kinds, &vx, &[], false) {
        let _ = writeln!(
            h,
            "<figure>{svg}<figcaption>Between-item variance of the selection rates, averaged over labels: ≈ 0 while responses ignore the item (the OCS phase)</figcaption></figure>"
        );
    }
    h.push_str("<h2>OCS indices per agent</h2>\n<table>\n<tr><th>kind</th><th>agent</th><th>blocks</th><th>(i) early TNR_item − TNR_sup</th><th>(ii) TPR_item dip</th><th>(iii) min-d_OCS block</th></tr>\n");
    let f = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.3}"));
    for a in agents {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&a.agent_kind),
            escape(&a.agent_id),
            a.bins.len(),
            f(a.indices.early_tnr_contrast),
            f(a.indices.tpr_dip),
            a.indices.d_ocs_min_bin.map_or("—".into(), |b| b.to_string())
        );
    }
    h.push_str("</table>\n</body>\n</html>\n");
    h
}
