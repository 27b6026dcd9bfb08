//! kill -9 loses no acknowledged trial: a real server process (this test binary re-executed
//! with `LEARNSCOPE_HUMAN_TEST_SERVER` set runs [`durability_server_process`]), clients posting
//! trials over TCP, SIGKILL mid-stream, then every acknowledged `global_trial` must be in the
//! database.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use learnscope_human::{serve_blocking, ServeOptions, StudyConfig};
use serde_json::{json, Value};

use crate::{record, Policy};

const ENV: &str = "LEARNSCOPE_HUMAN_TEST_SERVER";

/// Per client: its session token and the global_trials the server acknowledged.
type Acked = Arc<Mutex<Vec<(String, BTreeSet<u64>)>>>;

/// Not a test by itself: the server half of the durability test (runs only when re-executed
/// with the environment variable naming the database).
#[test]
#[ignore = "helper process of kill_9_loses_no_acknowledged_trial"]
fn durability_server_process() {
    let Ok(db) = std::env::var(ENV) else { return };
    let opts = ServeOptions {
        config: StudyConfig::demo(),
        db: db.into(),
        bind: [127, 0, 0, 1].into(),
        port: 0,
        dev: true,
    };
    serve_blocking(opts, |addr| {
        println!("LS-TEST-ADDR {addr}");
        let _ = std::io::stdout().flush();
    })
    .unwrap();
}

/// A minimal HTTP/1.1 exchange (Connection: close); None on any failure.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> Option<(u16, Value)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8(buf).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })?
        .parse()
        .ok()?;
    if body.len() < len {
        return None;
    }
    Some((status, serde_json::from_str(&body[..len]).ok()?))
}

/// Start the server process on `db`; returns it and its address.
fn spawn_server(db: &std::path::Path) -> (std::process::Child, SocketAddr) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "durability::durability_server_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV, db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let addr: SocketAddr = loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the server process exited before listening"
        );
        // libtest prints "test NAME ... " before the helper's own output on the same line
        if let Some((_, a)) = line.trim().split_once("LS-TEST-ADDR ") {
            break a.trim().parse().unwrap();
        }
    };
    // keep draining its stdout so that it never blocks on a full pipe
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    (child, addr)
}

#[test]
fn sigterm_stops_the_server_gracefully_with_everything_committed() {
    let dir = crate::temp_dir("sigterm");
    let db = dir.join("term.sqlite");
    let (mut child, addr) = spawn_server(&db);
    let body = json!({"study": "ocs-demo", "prolific_pid": "TERM-1"}).to_string();
    let (status, s) = http(addr, "POST", "/api/v1/sessions", &body).unwrap();
    assert_eq!(status, 200);
    let cfg = StudyConfig::demo();
    let token = s["token"].as_str().unwrap();
    let recs: Vec<Value> = s["trials"].as_array().unwrap()[..10]
        .iter()
        .map(|t| record(&cfg, &s, t, Policy::Perfect))
        .collect();
    let path = format!("/api/v1/sessions/{token}/trials");
    let (status, v) = http(addr, "POST", &path, &Value::Array(recs).to_string()).unwrap();
    assert_eq!((status, v["n_stored"].as_u64()), (200, Some(10)));
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert!(http(addr, "GET", "/healthz", "").is_none(), "still serving");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM trial", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 10);
    drop(conn);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn kill_9_loses_no_acknowledged_trial() {
    let dir = crate::temp_dir("durability");
    let db = dir.join("kill.sqlite");
    let (mut child, addr) = spawn_server(&db);
    let cfg = StudyConfig::demo();
    let acked: Acked = Arc::default();
    let total = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for k in 0..4 {
        let (cfg, acked, total, stop) = (cfg.clone(), acked.clone(), total.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let body =
                json!({"study": "ocs-demo", "prolific_pid": format!("KILL-{k}")}).to_string();
            let (status, s) = http(addr, "POST", "/api/v1/sessions", &body).expect("session");
            assert_eq!(status, 200);
            let token = s["token"].as_str().unwrap().to_string();
            let mut mine = BTreeSet::new();
            for t in s["trials"].as_array().unwrap() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let rec = json!([record(&cfg, &s, t, Policy::Perfect)]).to_string();
                match http(
                    addr,
                    "POST",
                    &format!("/api/v1/sessions/{token}/trials"),
                    &rec,
                ) {
                    Some((200, v)) => {
                        for g in v["stored"].as_array().unwrap() {
                            mine.insert(g.as_u64().unwrap());
                        }
                        total.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => break, // the server is gone
                }
            }
            acked.lock().unwrap().push((token, mine));
        }));
    }
    // kill mid-stream: after a good number of acknowledgements, with requests in flight
    let t0 = Instant::now();
    while total.load(Ordering::Relaxed) < 150 && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap();
    let n_acked: usize = acked.iter().map(|(_, s)| s.len()).sum();
    assert!(
        n_acked >= 150,
        "only {n_acked} trials acknowledged before the kill"
    );

    let conn = rusqlite::Connection::open(&db).unwrap();
    for (token, mine) in acked.iter() {
        let mut st = conn
            .prepare("SELECT t.global_trial FROM trial t JOIN session s ON s.id = t.session_id WHERE s.token = ?1")
            .unwrap();
        let stored: BTreeSet<u64> = st
            .query_map([token], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|g| g.unwrap() as u64)
            .collect();
        let lost: Vec<_> = mine.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "acknowledged but lost after kill -9: {lost:?}"
        );
        // every stored trial has all its label rows
        let incomplete: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM trial t JOIN session s ON s.id = t.session_id WHERE s.token = ?1 AND \
                 (SELECT COUNT(*) FROM label_response r WHERE r.trial_id = t.id) NOT IN (3, 14, 15)",
                [token],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(incomplete, 0);
    }
    drop(conn);
    let _ = std::fs::remove_dir_all(dir);
}
