//! `learnscope report`: demo runs → one self-contained HTML file; seeds aggregated, other
//! config differences overlaid, theory curves dashed, a reproduce directory's verdict table.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::{learnscope, scratch, text};

/// A quick demo run into `dir` with extra `--set`s.
fn demo(dir: &Path, sets: &[&str]) {
    let mut cmd = learnscope();
    cmd.args(["demo", "--out"])
        .arg(dir)
        .args(["--set", "steps=2000"]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

fn report(args: &[&Path], out: Option<&Path>) -> std::process::Output {
    let mut cmd = learnscope();
    cmd.arg("report").args(args);
    if let Some(o) = out {
        cmd.arg("--out").arg(o);
    }
    cmd.output().unwrap()
}

/// The distinct (probe, key) pairs of a run's metrics (a half-written last line skipped).
fn figure_keys(dir: &Path) -> BTreeSet<(String, String)> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            (
                v["probe"].as_str().unwrap().to_string(),
                v["key"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Checks that every element is closed in order (void HTML elements excepted) and returns the
/// number of elements seen.
fn assert_balanced(html: &str) -> usize {
    const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];
    let mut stack: Vec<String> = Vec::new();
    let mut seen = 0;
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        let j = rest[i..].find('>').expect("unclosed tag") + i;
        let tag = &rest[i + 1..j];
        rest = &rest[j + 1..];
        assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name.trim(), "</{name}> closes <{open}>");
            continue;
        }
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap()
            .to_string();
        assert!(!name.is_empty(), "empty tag");
        seen += 1;
        if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "never closed: {stack:?}");
    seen
}

/// No external resources: no `src=`, every `href` a fragment, no URL at all.
fn assert_self_contained(html: &str) {
    assert!(!html.contains("src="), "a src= attribute");
    for (i, _) in html.match_indices("href=") {
        assert!(html[i..].starts_with("href=\"#"), "{}", &html[i..i + 40]);
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<script") && !html.contains("@import"));
}

#[test]
fn one_run_report_next_to_the_run() {
    let root = scratch("report-one");
    let d = root.join("run");
    demo(&d, &[]);
    // A theory curve for the training loss.
    std::fs::write(
        d.join("theory.jsonl"),
        "{\"probe\":\"loss\",\"key\":\"loss\",\"split\":\"train\",\"label\":\"a <made-up> decay\",\"points\":[[1,1.0],[100,0.5],[2000,0.25]]}\n",
    )
    .unwrap();
    let out = report(&[&d], None);
    assert!(out.status.success(), "{}", text(&out));
    let path = d.join("report.html");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        path.display().to_string()
    );
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(assert_balanced(&html) > 100);
    assert_self_contained(&html);
    let keys = figure_keys(&d);
    assert_eq!(html.matches("<figure>").count(), keys.len());
    assert_eq!(html.matches("<svg ").count(), keys.len());
    for (probe, key) in &keys {
        assert!(
            html.contains(&format!("<title>{probe} / {key}</title>")),
            "{probe}/{key}"
        );
    }
    // Header: seed, status, isa/threads, provenance, timings, config.
    for s in [
        "completed",
        "avx",
        "git ",
        "wall_seconds",
        "[model]",
        "deep_linear",
    ] {
        assert!(html.contains(s), "{s}");
    }
    // The theory curve is drawn dashed, its label escaped, on the loss figure only.
    let loss_fig = html
        .split("<figure>")
        .find(|f| f.contains("<title>loss / loss</title>"))
        .unwrap();
    assert!(loss_fig.contains("stroke-dasharray"));
    assert!(loss_fig.contains("theory: a &lt;made-up&gt; decay (train)"));
    assert_eq!(html.matches("theory: a &lt;made-up&gt;").count(), 1);
    // Log-time axis, step 0 left out with a note.
    assert!(loss_fig.contains("step (log)") && loss_fig.contains("step 0 not shown"));
    assert!(
        !html.contains("mean ± sd"),
        "a single run is not aggregated"
    );
}

#[test]
fn seeds_are_aggregated_and_other_keys_overlaid() {
    let root = scratch("report-seeds");
    let runs: Vec<PathBuf> = (0..3).map(|s| root.join(format!("seed{s}"))).collect();
    for (s, d) in runs.iter().enumerate() {
        demo(d, &[&format!("seed={s}")]);
    }
    let refs: Vec<&Path> = runs.iter().map(|p| p.as_path()).collect();
    // Several runs need --out.
    let out = report(&refs, None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--out"), "{}", text(&out));

    let file = root.join("seeds.html");
    let out = report(&refs, Some(&file));
    assert!(out.status.success(), "{}", text(&out));
    let html = std::fs::read_to_string(&file).unwrap();
    assert_balanced(&html);
    assert_self_contained(&html);
    let keys = figure_keys(&runs[0]);
    let figures: Vec<&str> = html.split("<figure>").skip(1).collect();
    assert_eq!(figures.len(), keys.len(), "one aggregated set of figures");
    for f in &figures {
        assert!(f.contains("N = 3"), "{f}");
        assert!(f.contains("<polygon"), "a ± sd band");
    }
    assert!(html.contains("N = 3, seeds 0, 1, 2"));

    // A fourth run with another learning rate is overlaid, labelled by the key that differs.
    let other = root.join("lr");
    demo(&other, &["lr.base=0.05"]);
    let mut refs = refs.clone();
    refs.push(&other);
    let file = root.join("overlay.html");
    let out = report(&refs, Some(&file));
    assert!(out.status.success(), "{}", text(&out));
    let html = std::fs::read_to_string(&file).unwrap();
    assert_balanced(&html);
    assert_eq!(html.matches("<figure>").count(), keys.len());
    let loss_fig = html
        .split("<figure>")
        .find(|f| f.contains("<title>loss / loss</title>"))
        .unwrap();
    assert!(
        loss_fig.contains("lr.base=0.1 — mean ± sd, N = 3"),
        "{loss_fig}"
    );
    assert!(loss_fig.contains(">lr.base=0.05<"), "{loss_fig}");
}

#[test]
fn reproduce_directory_shows_the_verdict() {
    let root = scratch("report-reproduce");
    demo(&root.join("runs").join("demo-0"), &[]);
    std::fs::write(
        root.join("verdict.json"),
        r#"[{"id":"ocs-first","kind":"identity","claim":"the OCS comes before <the hierarchy>","source":"paper §2","metric":"ocs/d_ocs","rule":"<=","target":0.1,"reason":"r","applies":"each_seed","measured":{"mean":0.05,"sd":null,"n":1,"ci95":null,"per_seed":[0.05]},"ci95_bootstrap":null,"outcome":"pass","note":null}]"#,
    )
    .unwrap();
    let out = report(&[&root], None);
    assert!(out.status.success(), "{}", text(&out));
    let html = std::fs::read_to_string(root.join("report.html")).unwrap();
    assert_balanced(&html);
    assert_self_contained(&html);
    assert!(html.contains("the OCS comes before &lt;the hierarchy&gt;"));
    assert!(html.contains("class=\"pass\">pass"));
    assert!(html.contains("&lt;= 0.1"));
    assert_eq!(
        html.matches("<figure>").count(),
        figure_keys(&root.join("runs").join("demo-0")).len()
    );

    let out = report(&[&root.join("nothing-here")], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_running_run_can_be_reported() {
    let root = scratch("report-running");
    let d = root.join("run");
    demo(&d, &[]);
    // What a live run looks like on disk: status running, a half-written last line.
    let manifest = std::fs::read_to_string(d.join("manifest.json")).unwrap();
    let running = manifest.replace("\"status\": \"completed\"", "\"status\": \"running\"");
    assert_ne!(manifest, running);
    std::fs::write(d.join("manifest.json"), running).unwrap();
    let mut metrics = std::fs::read_to_string(d.join("metrics.jsonl")).unwrap();
    metrics.push_str("{\"step\":99999,\"epo");
    std::fs::write(d.join("metrics.jsonl"), metrics).unwrap();
    let file = root.join("live.html");
    let out = report(&[&d], Some(&file));
    assert!(out.status.success(), "{}", text(&out));
    let html = std::fs::read_to_string(&file).unwrap();
    assert_balanced(&html);
    assert!(html.contains("<td>running</td>"));
    assert!(html.contains("half-written last line dropped"));
    assert_eq!(html.matches("<figure>").count(), figure_keys(&d).len());
    assert!(
        !d.join("report.html").exists(),
        "--out is where the report goes"
    );
}
