//! The page: a header (runs with seed, status, timings, isa/threads and provenance; each
//! group's resolved config), the verdict table when there is one, then one section per probe
//! with one figure per metric key (keys recorded at a single step — end-of-run summaries — are
//! named in a note and listed only in the table) and a collapsed table of final values.
//! Everything is inline (CSS, SVG); there are no scripts, fonts, images or links outside the
//! page, and every piece of text from disk is escaped.
//!
//! The probe named `spectrum` (P5) gets more (see [`crate::profile`]): a profile figure against
//! the index k (first, middle and last step of each group's first run) before the over-time
//! figure of `eigenvalue`, `eigenvalue_cov` and `label_alignment`; eigenfunction scatter plots
//! (ψ₁ vs ψ₂, ψ₂ vs ψ₃, coloured by class, per split, last step, first run) at the end of its
//! section; and its per-example keys `eigenfunction` and `scatter_label` get no over-time
//! figure and no final values, only a note. Other probes are drawn as below.
//!
//! Figures (one per (probe, key)):
//! - one curve per (run group, split, layer, index, index2): mean over the group's runs, with a
//!   mean ± sd band and `N = n` in the legend when the group has several runs; at most
//!   [`MAX_CURVES`] data curves, the rest noted under the figure;
//! - theory curves (see [`crate::theory`]) for the metric, dashed, and likewise the series a
//!   probe recorded under the split `theory` or `flow` (its own prediction next to the
//!   measurement);
//! - x axis: log-time when the last step is at least 10 (step 0 then left out, with a note),
//!   else linear;
//! - y axis: log when every drawn value is positive and they span more than two decades
//!   (max/min > 100), else linear.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::aggregate::{aggregate, group_runs, RunGroup};
use crate::axis::Scale;
use crate::escape::escape;
use crate::report::Report;
use crate::series::{group_series, SeriesKey};
use crate::svg::{Band, Line, Plot};
use crate::theory::TheoryCurve;

/// The most data curves one figure draws.
pub const MAX_CURVES: usize = 24;

pub(crate) const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];
const THEORY_COLORS: [&str; 3] = ["#222222", "#555555", "#888888"];

const CSS: &str = "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}\
table{border-collapse:collapse;margin:.5em 0;font-size:13px}\
th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}\
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}\
pre{background:#f7f7f7;padding:.5em;font-size:12px;overflow:auto}\
figure{display:inline-block;margin:.5em;vertical-align:top}\
figcaption{font-size:12px;color:#555;max-width:640px}\
.pass{color:#176b1e;font-weight:bold}.fail{color:#b00;font-weight:bold}.note{color:#a15c00}";

/// A number in at most 4 significant digits (scientific outside 1e-3 … 1e5).
fn num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.3e}")
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// One aggregated curve of a figure, before scaling.
struct Curve {
    label: String,
    color: String,
    /// (step, mean, sd)
    points: Vec<(f64, f64, f64)>,
    band: bool,
    /// A probe's own prediction (split `theory` or `flow`), drawn dashed.
    dashed: bool,
}

/// Splits under which probes record predictions next to their measurements (the `modes` probe:
/// closed-form mode dynamics, `theory`, and the integrated gradient flow, `flow`).
pub const THEORY_SPLITS: [&str; 2] = ["theory", "flow"];

/// Renders the whole page for `report`.
pub fn render_html(report: &Report) -> String {
    let mut h = String::new();
    let title = match report.runs.len() {
        1 => format!("learnscope report: {}", report.runs[0].reader.manifest.name),
        n => format!("learnscope report: {n} runs"),
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    runs_table(report, &mut h);
    let configs: Vec<toml::Table> = report.runs.iter().map(|r| r.config.clone()).collect();
    let groups = group_runs(&configs);
    configs_section(report, &groups, &mut h);
    for (dir, rows) in &report.verdicts {
        verdict_table(&dir.display().to_string(), rows, &mut h);
    }
    crate::order::order_section(report, &mut h);
    figures(report, &groups, &mut h);
    h.push_str("</body>\n</html>\n");
    h
}

fn runs_table(report: &Report, h: &mut String) {
    if report.runs.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"runs\">Runs</h2>\n<table>\n<tr><th>#</th><th>directory</th><th>name</th><th>seed</th><th>status</th><th>created / finished (UTC)</th><th>isa / threads / backend</th><th>provenance</th><th>timings</th><th>records</th></tr>\n");
    for (i, run) in report.runs.iter().enumerate() {
        let m = &run.reader.manifest;
        let mut status = escape(m.status.name());
        if let Some(e) = &m.error {
            let _ = write!(status, "<br><span class=\"note\">{}</span>", escape(e));
        }
        let git = match (&m.git_commit, m.git_dirty) {
            (Some(c), Some(true)) => format!("git {} (dirty)", c),
            (Some(c), _) => format!("git {c}"),
            (None, _) => "git unknown".to_string(),
        };
        let mut prov = format!("learnscope {}; {git}", m.version);
        if let Some(r) = &m.rustc_version {
            let _ = write!(prov, "; {r}");
        }
        for f in &m.data_files {
            let _ = write!(prov, "; data {} sha256 {}", f.path, f.sha256);
        }
        if !m.resumed_from.is_empty() {
            let _ = write!(prov, "; resumed from steps {:?}", m.resumed_from);
        }
        if let Some(rep) = &m.reproduce {
            let _ = write!(prov, "; reproduce {rep}");
        }
        let timings = run
            .timings
            .iter()
            .map(|(k, v)| format!("{k} {} s", num(*v)))
            .collect::<Vec<_>>()
            .join("<br>");
        let mut records = format!("{}", run.reader.records().len());
        if run.reader.metrics.truncated_tail {
            records.push_str(" <span class=\"note\">(half-written last line dropped)</span>");
        }
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{status}</td><td>{} / {}</td><td>{} / {} / {}</td><td>{}</td><td>{}</td><td class=\"num\">{records}</td></tr>",
            i + 1,
            escape(&run.reader.dir.display().to_string()),
            escape(&m.name),
            m.seed,
            escape(&m.created_utc),
            escape(m.finished_utc.as_deref().unwrap_or("—")),
            escape(&m.isa),
            m.threads,
            escape(&m.backend),
            escape(&prov),
            // Timing keys and numbers are escaped piecewise above; only <br> is markup.
            timings
                .split("<br>")
                .map(escape)
                .collect::<Vec<_>>()
                .join("<br>"),
        );
    }
    h.push_str("</table>\n");
}

fn configs_section(report: &Report, groups: &[RunGroup], h: &mut String) {
    if report.runs.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"config\">Configuration</h2>\n");
    if groups.len() > 1 {
        let _ = writeln!(
            h,
            "<p>{} configurations (runs with equal configs apart from the seed and output paths are aggregated).</p>",
            groups.len()
        );
    }
    for g in groups {
        let seeds: Vec<String> = g
            .members
            .iter()
            .map(|&i| report.runs[i].reader.manifest.seed.to_string())
            .collect();
        let runs: Vec<String> = g.members.iter().map(|i| (i + 1).to_string()).collect();
        let mut summary = format!(
            "runs {} (N = {}, seeds {})",
            runs.join(", "),
            g.members.len(),
            seeds.join(", ")
        );
        if !g.label.is_empty() {
            summary = format!("{}: {summary}", g.label);
        }
        let first = &report.runs[g.members[0]];
        let _ = writeln!(
            h,
            "<details><summary>{}</summary><pre>{}</pre></details>",
            escape(&summary),
            escape(&first.reader.config_toml)
        );
    }
}

fn verdict_table(dir: &str, rows: &[crate::verdict::VerdictRow], h: &mut String) {
    let pass = rows.iter().filter(|r| r.outcome == "pass").count();
    let fail = rows.iter().filter(|r| r.outcome == "fail").count();
    let _ = writeln!(
        h,
        "<h2 id=\"verdict\">Verdict: {}</h2>\n<p>{} rows: {pass} pass, {fail} fail, {} reported.</p>",
        escape(dir),
        rows.len(),
        rows.len() - pass - fail
    );
    h.push_str("<table>\n<tr><th>id</th><th>kind</th><th>claim</th><th>source</th><th>metric</th><th>rule</th><th>mean</th><th>sd</th><th>n</th><th>95% CI</th><th>per seed</th><th>outcome</th></tr>\n");
    for r in rows {
        let (mean, sd, n, ci, per) = match &r.measured {
            Some(m) => (
                m.mean.map_or("—".into(), num),
                m.sd.map_or("—".into(), num),
                m.n.to_string(),
                m.ci95
                    .map_or("—".into(), |[a, b]| format!("[{}, {}]", num(a), num(b))),
                m.per_seed
                    .iter()
                    .map(|v| num(*v))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            None => ("—".into(), "—".into(), "—".into(), "—".into(), "—".into()),
        };
        let class = match r.outcome.as_str() {
            "pass" => " class=\"pass\"",
            "fail" => " class=\"fail\"",
            _ => "",
        };
        let mut outcome = escape(&r.outcome);
        if let Some(n) = &r.note {
            let _ = write!(outcome, "<br><span class=\"note\">{}</span>", escape(n));
        }
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td{class}>{outcome}</td></tr>",
            escape(&r.id),
            escape(&r.kind),
            escape(&r.claim),
            escape(&r.source),
            escape(&r.metric),
            escape(&r.rule_text()),
            escape(&mean),
            escape(&sd),
            escape(&n),
            escape(&ci),
            escape(&per)
        );
    }
    h.push_str("</table>\n");
}

pub(crate) type SeriesMap = BTreeMap<SeriesKey, Vec<(u64, f64)>>;

fn figures(report: &Report, groups: &[RunGroup], h: &mut String) {
    let per_run: Vec<SeriesMap> = report
        .runs
        .iter()
        .map(|r| group_series(r.reader.records()))
        .collect();
    // (probe, key) → the series keys that occur in any run.
    let mut layout: BTreeMap<String, BTreeMap<String, BTreeSet<SeriesKey>>> = BTreeMap::new();
    for m in &per_run {
        for k in m.keys() {
            layout
                .entry(k.probe.clone())
                .or_default()
                .entry(k.key.clone())
                .or_default()
                .insert(k.clone());
        }
    }
    if layout.is_empty() {
        if !report.runs.is_empty() {
            h.push_str("<p class=\"note\">No metrics recorded yet.</p>\n");
        }
        return;
    }
    h.push_str("<p>Probes: ");
    let links: Vec<String> = layout
        .keys()
        .map(|p| format!("<a href=\"#probe-{}\">{}</a>", slug(p), escape(p)))
        .collect();
    h.push_str(&links.join(" · "));
    h.push_str("</p>\n");
    for (probe, keys) in &layout {
        let _ = writeln!(
            h,
            "<section id=\"probe-{}\">\n<h2>Probe: {}</h2>",
            slug(probe),
            escape(probe)
        );
        let mut once = Vec::new();
        let mut arrays = Vec::new();
        for (key, series) in keys {
            // Per-example arrays (the spectrum probe's eigenfunctions and their labels): drawn
            // as scatter plots below, not over time.
            if crate::profile::is_scatter_array(probe, key) {
                arrays.push(key.as_str());
                continue;
            }
            // Spectra: a profile against the index k, then the usual figure over time.
            if crate::profile::is_profile(probe, key) {
                crate::profile::profile_figure(report, groups, &per_run, probe, key, series, h);
            }
            // A key recorded at one step only (an end-of-run summary) has nothing to draw over
            // time: it is listed under the final values instead.
            let single = series.iter().all(|s| {
                per_run
                    .iter()
                    .all(|m| m.get(s).is_none_or(|v| v.len() <= 1))
            });
            if single {
                once.push(key.as_str());
                continue;
            }
            figure(report, groups, &per_run, probe, key, series, h);
        }
        if !arrays.is_empty() {
            let drawn = crate::profile::scatter_figures(report, groups, &per_run, probe, h);
            let how = if drawn > 0 {
                "drawn as the eigenfunction scatter plots above, at the last step"
            } else {
                "no scatter plot: the first run records fewer than two eigenfunctions"
            };
            let _ = writeln!(
                h,
                "<p class=\"note\">Per-example arrays ({how}; no figure over time, not in the final values): {}</p>",
                escape(&arrays.join(", "))
            );
        }
        if !once.is_empty() {
            let _ = writeln!(
                h,
                "<p class=\"note\">Recorded at one step only (see the final values): {}</p>",
                escape(&once.join(", "))
            );
        }
        if let Some(note) = crate::coding::pre_set_note(&per_run, probe) {
            h.push_str(&note);
        }
        final_values(groups, &per_run, probe, keys, h);
        h.push_str("</section>\n");
    }
}

/// The most rows of one probe's final-values table.
const MAX_TABLE_ROWS: usize = 200;

/// A collapsed table of each series' last recorded value (mean ± sd over a group's runs at the
/// last step any of them recorded).
fn final_values(
    groups: &[RunGroup],
    per_run: &[SeriesMap],
    probe: &str,
    keys: &BTreeMap<String, BTreeSet<SeriesKey>>,
    h: &mut String,
) {
    let mut rows: Vec<String> = Vec::new();
    let mut total = 0usize;
    for (key, series) in keys {
        if crate::profile::is_scatter_array(probe, key) {
            continue;
        }
        for g in groups {
            for s in series {
                let versions: Vec<&[(u64, f64)]> = g
                    .members
                    .iter()
                    .filter_map(|&i| per_run[i].get(s).map(|v| v.as_slice()))
                    .collect();
                let Some(last) = aggregate(&versions).pop() else {
                    continue;
                };
                total += 1;
                if rows.len() >= MAX_TABLE_ROWS {
                    continue;
                }
                let value = if last.n > 1 {
                    format!("{} ± {} (N = {})", num(last.mean), num(last.sd), last.n)
                } else {
                    num(last.mean)
                };
                rows.push(format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    escape(&s.key),
                    escape(&s.variant_label(true)),
                    escape(&g.label),
                    last.step,
                    escape(&value)
                ));
            }
        }
    }
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<details><summary>final values ({total} series)</summary>\n<table>\n<tr><th>key</th><th>split · layer · index</th><th>config</th><th>step</th><th>value</th></tr>\n{}\n</table>",
        rows.join("\n")
    );
    if total > rows.len() {
        let _ = write!(
            h,
            "<p class=\"note\">first {} of {total} rows</p>",
            rows.len()
        );
    }
    h.push_str("</details>\n");
}

#[allow(clippy::too_many_arguments)]
fn figure(
    report: &Report,
    groups: &[RunGroup],
    per_run: &[SeriesMap],
    probe: &str,
    key: &str,
    series: &BTreeSet<SeriesKey>,
    h: &mut String,
) {
    let splits: BTreeSet<&str> = series.iter().map(|s| s.split.as_str()).collect();
    let with_split = splits.len() > 1;
    let mut curves: Vec<Curve> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let total = groups.len() * series.len();
    // Measured series first, so a figure over the curve limit drops predictions, not data.
    let is_theory = |s: &&SeriesKey| THEORY_SPLITS.contains(&s.split.as_str());
    let ordered: Vec<&SeriesKey> = series
        .iter()
        .filter(|s| !is_theory(s))
        .chain(series.iter().filter(is_theory))
        .collect();
    for g in groups {
        for s in ordered.iter().copied() {
            let versions: Vec<&[(u64, f64)]> = g
                .members
                .iter()
                .filter_map(|&i| per_run[i].get(s).map(|v| v.as_slice()))
                .collect();
            if versions.is_empty() || curves.len() >= MAX_CURVES {
                continue;
            }
            let agg = aggregate(&versions);
            let n = g.members.len();
            let mut parts = Vec::new();
            if !g.label.is_empty() {
                parts.push(g.label.clone());
            }
            let v = s.variant_label(with_split);
            if !v.is_empty() {
                parts.push(v);
            }
            if parts.is_empty() {
                parts.push(key.to_string());
            }
            let mut label = parts.join(" · ");
            if n > 1 {
                let _ = write!(label, " — mean ± sd, N = {n}");
            }
            curves.push(Curve {
                label,
                color: PALETTE[curves.len() % PALETTE.len()].to_string(),
                points: agg.iter().map(|p| (p.step as f64, p.mean, p.sd)).collect(),
                band: n > 1 && !THEORY_SPLITS.contains(&s.split.as_str()),
                dashed: THEORY_SPLITS.contains(&s.split.as_str()),
            });
        }
    }
    let drawn_possible: usize = groups
        .iter()
        .map(|g| {
            series
                .iter()
                .filter(|s| g.members.iter().any(|&i| per_run[i].contains_key(*s)))
                .count()
        })
        .sum();
    if drawn_possible > curves.len() {
        notes.push(format!(
            "showing {} of {} curves",
            curves.len(),
            drawn_possible.min(total)
        ));
    }
    // Theory curves: deduplicated within a group, labelled by group when there are several.
    let mut theory: Vec<(String, &TheoryCurve)> = Vec::new();
    for g in groups {
        let mut seen: Vec<&TheoryCurve> = Vec::new();
        for &i in &g.members {
            for t in &report.runs[i].theory {
                if t.probe == probe && t.key == key && !seen.contains(&t) {
                    seen.push(t);
                    let mut label = format!("theory: {}", t.label);
                    if let Some(s) = &t.split {
                        let _ = write!(label, " ({s})");
                    }
                    if !g.label.is_empty() {
                        label = format!("{} · {label}", g.label);
                    }
                    theory.push((label, t));
                }
            }
        }
    }

    // Scales.
    let mut xs: Vec<f64> = Vec::new();
    let mut ys: Vec<f64> = Vec::new();
    let mut non_finite = 0usize;
    for c in &curves {
        for &(x, m, sd) in &c.points {
            xs.push(x);
            if m.is_finite() {
                ys.push(m);
                if c.band && sd.is_finite() {
                    ys.push(m + sd);
                    ys.push(m - sd);
                }
            } else {
                non_finite += 1;
            }
        }
    }
    let data_ys = ys.len();
    for (_, t) in &theory {
        for &[x, y] in &t.points {
            if x.is_finite() && y.is_finite() {
                xs.push(x);
                ys.push(y);
            }
        }
    }
    let x_max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let x_log = x_max >= 10.0;
    let x = if x_log {
        let pos: Vec<f64> = xs.iter().copied().filter(|v| *v >= 1.0).collect();
        if pos.len() < xs.len() {
            notes.push("step 0 not shown (log-time axis)".into());
        }
        let lo = pos.iter().copied().fold(f64::INFINITY, f64::min);
        Scale::log_for(lo, x_max)
    } else {
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        if xs.is_empty() {
            Scale::linear_for(0.0, 1.0)
        } else {
            Scale::linear_for(lo, x_max)
        }
    };
    // Log y only on the means (and theory), not on the bands' lower edges.
    let means: Vec<f64> = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .chain(ys[data_ys..].iter().copied())
        .collect();
    let log = crate::axis::log_scale_for(means.iter().copied());
    let y_log = log.is_some();
    let y = log.unwrap_or_else(|| crate::axis::linear_scale_over(ys.iter().copied()));
    if non_finite > 0 {
        notes.push(format!("{non_finite} non-finite values not drawn"));
    }
    if ys.is_empty() {
        notes.push("no finite values".into());
    }

    let keep_x = |x: f64| !x_log || x >= 1.0;
    let mut plot = Plot {
        title: format!("{probe} / {key}"),
        x_label: crate::axis::axis_label("step", x_log),
        y_label: crate::axis::axis_label(key, y_log),
        x,
        y,
        bands: Vec::new(),
        lines: Vec::new(),
    };
    for c in &curves {
        if c.band {
            plot.bands.push(Band {
                color: c.color.clone(),
                points: c
                    .points
                    .iter()
                    .filter(|p| keep_x(p.0) && p.1.is_finite() && p.2.is_finite())
                    .map(|&(x, m, sd)| (x, m - sd, m + sd))
                    .collect(),
            });
        }
        plot.lines.push(Line {
            label: c.label.clone(),
            color: c.color.clone(),
            points: c
                .points
                .iter()
                .filter(|p| keep_x(p.0))
                .map(|&(x, m, _)| (x, m))
                .collect(),
            dashed: c.dashed,
            markers: false,
        });
    }
    for (i, (label, t)) in theory.iter().enumerate() {
        plot.lines.push(Line {
            label: label.clone(),
            color: THEORY_COLORS[i % THEORY_COLORS.len()].to_string(),
            points: t
                .points
                .iter()
                .filter(|p| keep_x(p[0]))
                .map(|p| (p[0], p[1]))
                .collect(),
            dashed: true,
            markers: false,
        });
    }
    let _ = write!(h, "<figure>{}", plot.to_svg());
    let mut caption = escape(&format!("{probe} / {key}"));
    if y_log {
        caption.push_str(" — log-log (values span more than two decades)");
    }
    for n in &notes {
        let _ = write!(caption, "; {}", escape(n));
    }
    let _ = writeln!(h, "<figcaption>{caption}</figcaption></figure>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RunInput;
    use learnscope_store::{JsonlRead, Manifest, MetricRecord, RunReader};

    fn run(seed: u64, records: Vec<MetricRecord>) -> RunInput {
        let config_toml = format!("seed = {seed}\nsteps = 1000\n");
        RunInput {
            config: config_toml.parse().unwrap(),
            reader: RunReader {
                dir: format!("runs/<s{seed}>").into(),
                manifest: Manifest::new("power & law", seed),
                config_toml,
                metrics: JsonlRead {
                    records,
                    truncated_tail: seed == 1,
                },
                checkpoints: Vec::new(),
            },
            theory: vec![TheoryCurve {
                probe: "fit".into(),
                key: "loss".into(),
                split: None,
                label: "1/t".into(),
                points: vec![[1.0, 1.0], [1000.0, 1e-3]],
            }],
            timings: BTreeMap::new(),
        }
    }

    #[test]
    fn power_law_is_log_log_and_aggregated() {
        let recs = |scale: f64| -> Vec<MetricRecord> {
            [0u64, 1, 10, 100, 1000]
                .iter()
                .map(|&t| {
                    MetricRecord::new(t, 0, "fit", "loss", "train", scale / (t.max(1) as f64))
                })
                .chain([
                    MetricRecord::new(5, 0, "fit", "acc", "test", f64::NAN),
                    MetricRecord::new(6, 0, "fit", "acc", "test", f64::NAN),
                    MetricRecord::new(1000, 0, "fit", "exponent", "train", -1.0),
                ])
                .collect()
        };
        let report = Report {
            runs: vec![run(0, recs(1.0)), run(1, recs(1.1))],
            verdicts: Vec::new(),
        };
        let h = render_html(&report);
        assert_eq!(h.matches("<figure>").count(), 2);
        assert!(h.contains("log-log (values span more than two decades)"));
        assert!(h.contains("step 0 not shown"));
        assert!(h.contains("mean ± sd, N = 2"));
        assert!(h.contains("runs/&lt;s0&gt;") && h.contains("power &amp; law"));
        assert!(h.contains("half-written last line dropped"));
        // The theory curve is shared by both runs: drawn once.
        assert_eq!(h.matches("theory: 1/t").count(), 1);
        assert!(h.contains("2 non-finite values not drawn") && h.contains("no finite values"));
        // A key recorded at one step has no figure, only a note and its final value.
        assert!(h.contains("Recorded at one step only (see the final values): exponent"));
        // Final values: 1/1000 and 1.1/1000 → mean 0.00105, sd 0.05/1000·√2.
        assert!(h.contains("final values (3 series)"));
        assert!(
            h.contains(
                "<td class=\"num\">1000</td><td class=\"num\">0.00105 ± 7.071e-5 (N = 2)</td>"
            ),
            "{h}"
        );
    }

    #[test]
    fn a_probes_own_theory_split_is_dashed_and_has_no_band() {
        let recs: Vec<MetricRecord> = [1u64, 10, 100]
            .iter()
            .flat_map(|&t| {
                [
                    MetricRecord::new(t, 0, "modes", "strength", "train", t as f64),
                    MetricRecord::new(t, 0, "modes", "strength", "theory", t as f64 + 0.5),
                ]
            })
            .collect();
        let mut a = run(0, recs.clone());
        let mut b = run(1, recs);
        a.theory.clear();
        b.theory.clear();
        let h = render_html(&Report {
            runs: vec![a, b],
            verdicts: Vec::new(),
        });
        assert_eq!(h.matches("<figure>").count(), 1);
        // One dashed polyline plus its legend swatch; one band (the measured split only).
        assert_eq!(h.matches("stroke-dasharray").count(), 2, "{h}");
        assert!(h.contains("theory — mean ± sd, N = 2"));
        assert_eq!(h.matches("<polygon").count(), 1, "{h}");
    }

    #[test]
    fn numbers_and_slugs() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(0.015839594), "0.01584");
        assert_eq!(num(12345.6), "12346");
        assert_eq!(num(7.919797e-6), "7.920e-6");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(slug("a/b c"), "a-b-c");
    }
}
