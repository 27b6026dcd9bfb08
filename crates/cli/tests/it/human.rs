//! `learnscope human analyse`: a response table of scripted agents → indices, bands, curves.

use crate::common::{learnscope, scratch, text};

/// The 4-item, two-level tree (labels 0, 1 superordinate; 2..6 one per item), two blocks, and
/// the responses of `policy(item, label, target)`.
fn table(agent: &str, policy: impl Fn(u32, u32, bool) -> bool) -> String {
    let mut s = String::new();
    let mut trial = 0;
    for block in 0..2 {
        for item in 0..4u32 {
            for label in 0..6u32 {
                let (level, target) = if label < 2 {
                    (1, label == item / 2)
                } else {
                    (2, label == 2 + item)
                };
                let r = policy(item, label, target);
                s.push_str(&format!(
                    "human,{agent},1,{block},{trial},{item},{label},{level},{},{}\n",
                    u8::from(target),
                    u8::from(r)
                ));
            }
            trial += 1;
        }
    }
    s
}

#[test]
fn analyse_prints_indices_and_bands_and_writes_curves() {
    let dir = scratch("human-analyse");
    let csv = dir.join("responses.csv");
    let mut text_ =
        String::from("agent_kind,agent_id,day,block,trial,item,label,level,target,response\n");
    text_.push_str(&table("p001", |_, _, _| false));
    text_.push_str(&table("p002", |_, _, t| t));
    std::fs::write(&csv, text_).unwrap();
    let curves = dir.join("curves.csv");
    let o = learnscope()
        .args(["human", "analyse"])
        .arg(&csv)
        .arg("--curves")
        .arg(&curves)
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("96 rows, 2 agents"), "{out}");
    // Level 2 hit rate: 0 for always-no, 1 for perfect → 0.50 ± 0.50 in both blocks.
    assert!(
        out.contains("human level 2 TPR by bin (mean ± SEM): 0.50±0.50 0.50±0.50"),
        "{out}"
    );
    assert!(
        out.contains("human level 2 TNR by bin (mean ± SEM): 1.00±0.00 1.00±0.00"),
        "{out}"
    );
    let c = std::fs::read_to_string(&curves).unwrap();
    // 2 agents × 2 bins × 2 levels + header.
    assert_eq!(c.lines().count(), 9, "{c}");
    assert!(c.contains("human,p001,0,1,0,4,2,1,0,0,"), "{c}");
}

#[test]
fn a_bad_cell_names_the_line_and_column() {
    let dir = scratch("human-bad");
    let csv = dir.join("responses.csv");
    std::fs::write(
        &csv,
        "agent_kind,agent_id,day,block,trial,item,label,level,target,response\nhuman,p1,1,0,0,0,0,1,1,yes\n",
    )
    .unwrap();
    let o = learnscope()
        .args(["human", "analyse"])
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("responses.csv:2: `response` = \"yes\", expected 0 or 1"),
        "{}",
        text(&o)
    );
    std::fs::write(&csv, "agent,day\n").unwrap();
    let o = learnscope()
        .args(["human", "analyse"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        text(&o).contains("responses.csv:1: no column `agent_kind`"),
        "{}",
        text(&o)
    );
}

#[test]
fn simulate_writes_a_table_that_analyse_reads() {
    let dir = scratch("human-simulate");
    let csv = dir.join("vp.csv");
    let o = learnscope()
        .args(["human", "simulate"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../experiments/human-virtual.toml"
        ))
        .args([
            "--set",
            "steps=64",
            "--agents",
            "2",
            "--block-steps",
            "32",
            "--out",
        ])
        .arg(&csv)
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    // 2 agents × 3 blocks (steps 0, 32, 64) × 32 trials × 14 labels.
    assert!(out.contains("2688 rows from 2 agents"), "{out}");
    assert!(dir
        .join("vp.csv.runs")
        .join("human-virtual-seed1")
        .join("manifest.json")
        .is_file());
    // People and networks on the same axes: append a scripted "human" who always says no.
    let mut table = std::fs::read_to_string(&csv).unwrap();
    for line in table
        .clone()
        .lines()
        .skip(1)
        .filter(|l| l.contains("seed0"))
    {
        let cells: Vec<&str> = line.split(',').collect();
        table.push_str(&format!("human,p001,{},0\n", cells[2..9].join(",")));
    }
    std::fs::write(&csv, table).unwrap();
    let html = dir.join("vp.html");
    let o = learnscope()
        .args(["human", "analyse"])
        .arg(&csv)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("network level 3 TNR by bin"),
        "{}",
        text(&o)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    // Levels 1–3 × (TNR, hit rate), d_OCS and V_x; both kinds in every legend.
    assert_eq!(page.matches("<figure>").count(), 8, "{page}");
    assert!(
        page.contains("network (N = 2, mean ± SEM)") && page.contains("human (N = 1, mean ± SEM)")
    );
    assert!(page.contains("OCS responder") && page.contains("50/50 guesser"));
    // Seeded Bernoulli responses are a pure function of (configuration, seeds): the same file twice.
    let a = dir.join("a.csv");
    let b = dir.join("b.csv");
    for f in [&a, &b] {
        let o = learnscope()
            .args(["human", "simulate"])
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../experiments/human-virtual.toml"
            ))
            .args(["--set", "steps=32", "--agents", "1", "--out"])
            .arg(f)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

/// A minimal HTTP/1.1 exchange over loopback (`Connection: close`): status and body.
fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let status = raw[9..12].parse().unwrap();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // De-chunk: size line, data, CRLF … until a zero-size chunk.
        let mut out = String::new();
        let mut rest = rest;
        loop {
            let (size, after) = rest.split_once("\r\n").unwrap();
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            out.push_str(&after[..size]);
            rest = &after[size + 2..];
        }
        out
    } else {
        rest.to_string()
    };
    (status, body)
}

/// `learnscope human serve --demo --port 0` in the background; its address once it prints it.
struct Server {
    child: std::process::Child,
    addr: String,
    study: String,
}

impl Server {
    fn start(args: &[&str], db: &std::path::Path) -> Server {
        use std::io::BufRead;
        let mut child = learnscope()
            .args(["human", "serve"])
            .args(args)
            .arg("--db")
            .arg(db)
            .args(["--port", "0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let url = first
            .strip_prefix("learnscope human: listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        let (addr, path) = url.split_once('/').unwrap();
        let study = path.strip_prefix("s/").unwrap().to_string();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            addr: addr.to_string(),
            study,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One participant of the demo study answers every trial of day 1 perfectly through the HTTP
/// API; the database then feeds `human export` (CSV and Psych-DS), `human analyse` and
/// `learnscope report` — the same analysis as the networks'.
#[test]
fn serve_demo_stores_a_day_that_export_analyse_and_report_read() {
    let dir = scratch("human-serve");
    let db = dir.join("study.sqlite");
    let server = Server::start(&["--demo"], &db);
    let (status, body) = http(&server.addr, "GET", "/healthz", None);
    assert_eq!((status, body.contains("true")), (200, true), "{body}");
    let (status, shell) = http(&server.addr, "GET", &format!("/s/{}", server.study), None);
    assert_eq!(status, 200);
    assert!(shell.contains("id=\"ls-boot\""), "{shell}");

    let (status, body) = http(
        &server.addr,
        "POST",
        "/api/v1/sessions",
        Some(
            &serde_json::json!({
                "study": server.study, "prolific_pid": "CLITEST1",
                "prolific_study_id": "s", "prolific_session_id": "x",
                "screen": {"w": 1280, "h": 800},
                "browser": {"family": "test", "major": 1, "os": "linux"}
            })
            .to_string(),
        ),
    );
    assert_eq!(status, 200, "{body}");
    let session: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = session["token"].as_str().unwrap().to_string();
    assert_eq!(session["day"], 1);
    let labels: Vec<u64> = session["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["label"].as_u64().unwrap())
        .collect();
    assert_eq!(labels.len(), 14, "the demo study has 2 + 4 + 8 labels");
    let attention = session["attention_label"]["label"].as_u64().unwrap();
    let practice: Vec<u64> = session["practice_labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["label"].as_u64().unwrap())
        .collect();
    let trials = session["trials"].as_array().unwrap().clone();
    // Demo: 4 practice + 8 blocks × 32 + 2 attention checks.
    assert_eq!(trials.len(), 4 + 8 * 32 + 2);

    // Complete refuses while trials are missing.
    let (status, body) = http(
        &server.addr,
        "POST",
        &format!("/api/v1/sessions/{token}/complete"),
        Some("{}"),
    );
    assert_eq!(status, 409, "{body}");

    // The perfect policy: select exactly the targets (the demo runs with dev hooks, so every
    // trial carries its item; the targets are sent for feedback trials only and item-level
    // structure gives them for the others: label j of level l applies to item i iff
    // j - first(l) == i * n_l / 8).
    let level_sizes = [2u64, 4, 8];
    let targets_of = |item: u64| -> Vec<u64> {
        let mut first = 0;
        let mut out = Vec::new();
        for n in level_sizes {
            out.push(first + item * n / 8);
            first += n;
        }
        out
    };
    let mut batch = Vec::new();
    for t in &trials {
        let phase = t["phase"].as_str().unwrap();
        let (shown, chosen): (Vec<u64>, Vec<u64>) = match phase {
            "practice" => (
                practice.clone(),
                t["targets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect(),
            ),
            "attention" => {
                let mut shown = labels.clone();
                shown.push(attention);
                (shown, vec![attention])
            }
            _ => (labels.clone(), targets_of(t["item"].as_u64().unwrap())),
        };
        batch.push(serde_json::json!({
            "global_trial": t["global_trial"], "onset_ms": 0.0, "submit_ms": 900.0,
            "rt_ms": 900.0, "time_elapsed_ms": 1000.0, "client_ts": "2026-11-23T00:00:00Z",
            "labels": shown.iter().map(|l| serde_json::json!({
                "label": l, "selected": chosen.contains(l),
                "first_click_ms": if chosen.contains(l) { serde_json::json!(300.0) } else { serde_json::Value::Null },
                "n_toggles": u64::from(chosen.contains(l)),
            })).collect::<Vec<_>>(),
        }));
        if batch.len() == 32 {
            let body = serde_json::Value::Array(std::mem::take(&mut batch)).to_string();
            let (status, reply) = http(
                &server.addr,
                "POST",
                &format!("/api/v1/sessions/{token}/trials"),
                Some(&body),
            );
            assert_eq!(status, 200, "{reply}");
        }
    }
    if !batch.is_empty() {
        let body = serde_json::Value::Array(batch).to_string();
        let (status, reply) = http(
            &server.addr,
            "POST",
            &format!("/api/v1/sessions/{token}/trials"),
            Some(&body),
        );
        assert_eq!(status, 200, "{reply}");
    }
    let (status, body) = http(
        &server.addr,
        "POST",
        &format!("/api/v1/sessions/{token}/complete"),
        Some("{}"),
    );
    assert_eq!(status, 200, "{body}");
    let done: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(done["code_kind"], "completed", "{body}");
    assert!(done["redirect_url"].as_str().unwrap().contains("cc="));
    let study = server.study.clone();
    drop(server);

    // Export: one CSV row per trial × label (practice and attention included), a Psych-DS zip.
    let export = |format: &str, out: &std::path::Path| {
        let o = learnscope()
            .args(["human", "export", "--db"])
            .arg(&db)
            .args(["--study", &study, "--format", format, "--out"])
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    };
    let csv = dir.join("export.csv");
    export("csv", &csv);
    let rows = std::fs::read_to_string(&csv).unwrap().lines().count() - 1;
    assert_eq!(rows, 4 * 3 + 8 * 32 * 14 + 2 * 15, "export rows");
    assert!(!std::fs::read_to_string(&csv).unwrap().contains("CLITEST1"));
    let zip = dir.join("psychds.zip");
    export("psychds", &zip);
    assert_eq!(&std::fs::read(&zip).unwrap()[..4], b"PK\x03\x04");

    // The perfect participant: TNR = hit rate = 1 on every level and block.
    let o = learnscope()
        .args(["human", "analyse"])
        .arg(&db)
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&format!("{} rows, 1 agents", 8 * 32 * 14)),
        "{out}"
    );
    // The exclusion table: one completed day of three, nothing excluded or flagged on day 1,
    // out of the longitudinal analysis until days 2 and 3 exist.
    let row = out
        .lines()
        .find(|l| l.starts_with("p001 "))
        .unwrap_or_else(|| panic!("no exclusion row: {out}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells, ["p001", "1", "no", "yes", "—"], "{out}");
    // --exclude keeps day 1 of a participant who is only out of the longitudinal analysis.
    let o = learnscope()
        .args(["human", "analyse", "--exclude"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        text(&o).contains(&format!("{} rows, 1 agents", 8 * 32 * 14)),
        "{}",
        text(&o)
    );
    for level in 1..=3 {
        assert!(
            out.contains(&format!(
                "human level {level} TPR by bin (mean ± SEM): {}",
                ["1.00"; 8].join(" ")
            )),
            "{out}"
        );
    }
    let page = dir.join("study.html");
    let o = learnscope().arg("report").arg(&db).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(&page)
        .unwrap()
        .contains("human (N = 1, mean ± SEM)"));
}

#[test]
fn serve_refuses_dev_hooks_off_loopback_and_a_bad_study_file() {
    let dir = scratch("human-serve-refuse");
    let o = learnscope()
        .args([
            "human", "serve", "--demo", "--bind", "0.0.0.0", "--port", "0",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("loopback"), "{}", text(&o));
    let study = dir.join("study.toml");
    std::fs::write(&study, "[study]\nid = \"x\"\nbogus = 1\n").unwrap();
    let o = learnscope()
        .args(["human", "serve"])
        .arg(&study)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("bogus"), "{}", text(&o));
}
