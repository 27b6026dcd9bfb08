//! Integration tests of learnscope-human: the router in process (`tower::ServiceExt::oneshot`)
//! for the API, and a real server process for the kill -9 durability test.

mod analysis;
mod api;
mod config;
mod durability;
mod exclusions;
mod export;
mod privacy;
mod schedule;
mod stimuli;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use learnscope_human::{App, Secrets, StudyConfig};
use serde_json::{json, Value};
use tower::ServiceExt;

/// The admin token of the in-process harness.
pub const ADMIN: &str = "test-admin-token";

/// The tiny test study.
pub fn tiny() -> StudyConfig {
    StudyConfig::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny.toml"))
        .unwrap()
}

/// A fresh temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!(
        "lsh-{}-{name}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A study opened in process, with its router.
pub struct Harness {
    pub cfg: StudyConfig,
    pub dir: PathBuf,
    pub db: PathBuf,
    router: Option<Router>,
    app: Option<App>,
}

/// A response: status and body (JSON when it parses, else a string).
pub struct Resp {
    pub status: StatusCode,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

impl Harness {
    pub fn new(cfg: StudyConfig, dev: bool) -> Harness {
        let dir = temp_dir(&cfg.study.id);
        let db = dir.join("study.sqlite");
        let secrets = Secrets {
            hmac_key: b"a test secret".to_vec(),
            admin_token: ADMIN.into(),
        };
        let app = App::open(cfg.clone(), &db, dev, secrets).unwrap();
        Harness {
            cfg,
            dir,
            db,
            router: Some(app.router()),
            app: Some(app),
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let resp = self.router.clone().unwrap().oneshot(req).await.unwrap();
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Resp {
            status,
            content_type,
            bytes,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.call("POST", path, Some(body.to_string().into_bytes()), &[])
            .await
    }

    pub async fn post_at(&self, path: &str, body: &Value, now: &str) -> Resp {
        self.call(
            "POST",
            path,
            Some(body.to_string().into_bytes()),
            &[("x-test-now", now)],
        )
        .await
    }

    /// POST /sessions for `pid` (at `now` when given).
    pub async fn session(&self, pid: &str, now: Option<&str>) -> Value {
        let body = json!({
            "study": self.cfg.study.id, "prolific_pid": pid, "prolific_study_id": "STUDY1",
            "prolific_session_id": format!("SESSION-{pid}"), "screen": {"w": 1280, "h": 800},
            "browser": {"family": "Chrome", "major": 131, "os": "Linux"},
        });
        let r = match now {
            Some(t) => self.post_at("/api/v1/sessions", &body, t).await,
            None => self.post("/api/v1/sessions", &body).await,
        };
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }

    /// Post every trial of a session (one request per trial) answering with `policy`, then
    /// (when `complete`) POST /complete; returns the /complete answer.
    pub async fn play_day(&self, s: &Value, policy: Policy, now: Option<&str>) -> Resp {
        let token = s["token"].as_str().unwrap();
        for t in s["trials"].as_array().unwrap() {
            let rec = record(&self.cfg, s, t, policy);
            let path = format!("/api/v1/sessions/{token}/trials");
            let r = match now {
                Some(n) => self.post_at(&path, &json!([rec]), n).await,
                None => self.post(&path, &json!([rec])).await,
            };
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
        let path = format!("/api/v1/sessions/{token}/complete");
        match now {
            Some(n) => self.post_at(&path, &json!({}), n).await,
            None => self.post(&path, &json!({})).await,
        }
    }

    /// The database connection (read side).
    pub fn conn(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.db).unwrap()
    }

    /// The one integer a query answers (`SELECT COUNT(*) …`, `SELECT SUM(…) …`).
    pub fn scalar(&self, sql: &str) -> i64 {
        self.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        drop(self.router.take());
        if let Some(app) = self.app.take() {
            app.shutdown();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How a scripted participant answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Exactly the targets (attention checks passed).
    Perfect,
    /// Nothing selected (but attention checks passed).
    AlwaysNo,
    /// Perfect, but attention checks failed (select a normal label too).
    FailAttention,
}

/// The labels shown on a trial of session `s` (from the session JSON).
pub fn shown(s: &Value, t: &Value) -> Vec<u64> {
    let ids = |v: &Value| -> Vec<u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|l| l["label"].as_u64().unwrap())
            .collect()
    };
    match t["phase"].as_str().unwrap() {
        "practice" => ids(&s["practice_labels"]),
        "attention" => {
            let mut v = ids(&s["labels"]);
            v.push(s["attention_label"]["label"].as_u64().unwrap());
            v
        }
        _ => ids(&s["labels"]),
    }
}

/// A trial record for trial `t` of session `s` (needs the dev `item` for probe trials).
pub fn record(cfg: &StudyConfig, s: &Value, t: &Value, policy: Policy) -> Value {
    let targets: Vec<u64> = match t.get("targets") {
        Some(v) => v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect(),
        None => cfg
            .targets(t["item"].as_u64().expect("dev item") as usize)
            .into_iter()
            .map(|x| x as u64)
            .collect(),
    };
    let attention = s["attention_label"]["label"].as_u64().unwrap();
    let is_check = t["phase"] == "attention";
    let labels: Vec<Value> = shown(s, t)
        .into_iter()
        .map(|l| {
            let sel = match policy {
                Policy::Perfect => targets.contains(&l),
                Policy::AlwaysNo => is_check && l == attention,
                Policy::FailAttention if is_check => l == attention || l == 0,
                Policy::FailAttention => targets.contains(&l),
            };
            json!({"label": l, "selected": sel, "first_click_ms": if sel { json!(420.5) } else { Value::Null },
                   "n_toggles": u32::from(sel)})
        })
        .collect();
    json!({
        "global_trial": t["global_trial"], "onset_ms": 1000.0, "submit_ms": 1900.0, "rt_ms": 900.0,
        "time_elapsed_ms": 5000.0, "client_ts": "2026-11-23T10:00:00.000Z", "labels": labels,
    })
}
