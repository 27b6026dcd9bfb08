//! The HTTP API of docs/human-study.md (`/api/v1`, the app shell, assets, stimuli).
//!
//! Why the handlers look the way they do:
//! - the server never trusts the client about the experiment: phase, block, item and targets of
//!   a stored trial are recomputed from the participant's schedule, a label not shown on that
//!   trial or given twice is a 400, a client-sent `target` is ignored;
//! - every write goes through the group-commit writer and is acknowledged only after its commit;
//! - every error a client can cause is a JSON `{"error", "detail"}` with a 4xx status (our own
//!   body extractor, and a last-resort middleware that turns any other non-JSON error body, such
//!   as a path rejection, into that shape); a 5xx means the server itself failed;
//! - the session token (128 random bits) is the only key to a session's data; admin endpoints
//!   need the bearer token, compared in constant time;
//! - nothing about the client's network address is read or stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{StudyConfig, PRACTICE_LABELS};
use crate::db::{self, ReadPool, SessionRow};
use crate::error::HumanError;
use crate::privacy;
use crate::schedule::{ParticipantPlan, Phase, TrialSpec};
use crate::writer::Writer;

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 256 * 1024;
/// At most this many trial records per request.
pub const MAX_TRIALS_PER_POST: usize = 64;
/// At most this many events per request.
pub const MAX_EVENTS_PER_POST: usize = 256;

/// Shared state of the handlers.
pub struct AppState {
    pub(crate) cfg: Arc<StudyConfig>,
    pub(crate) dev: bool,
    pub(crate) hmac_key: Vec<u8>,
    pub(crate) admin_token: String,
    pub(crate) writer: Writer,
    pub(crate) readers: Arc<ReadPool>,
    pub(crate) sessions: Mutex<HashMap<String, Arc<SessionCtx>>>,
    pub(crate) index_html: String,
    pub(crate) stimuli: crate::stimuli::StimulusSet,
}

/// A session's fixed facts, cached by token.
pub(crate) struct SessionCtx {
    pub(crate) id: i64,
    pub(crate) day: u32,
    pub(crate) schedule: Vec<TrialSpec>,
    /// global_trial → the index of the attention check among the day's checks.
    pub(crate) check_idx: HashMap<u32, u32>,
}

impl SessionCtx {
    fn new(cfg: &StudyConfig, row: &SessionRow) -> SessionCtx {
        let plan = ParticipantPlan::new(cfg, row.seed);
        let schedule = plan.day(cfg, row.day);
        let check_idx = schedule
            .iter()
            .filter(|t| t.phase == Phase::Attention)
            .enumerate()
            .map(|(i, t)| (t.global_trial, i as u32))
            .collect();
        SessionCtx {
            id: row.id,
            day: row.day,
            schedule,
            check_idx,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// An error answer: `{"error": kind, "detail": …}` (plus `missing` for an incomplete day).
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    detail: String,
    missing: Option<Vec<u32>>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            detail: detail.into(),
            missing: None,
        }
    }
    /// 400 `bad_request`.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }
    /// 404 `not_found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }
    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs the header `Authorization: Bearer <admin token>`",
        )
    }
    fn internal(e: HumanError) -> Self {
        eprintln!("learnscope human: internal error: {e}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to process the request; it was not stored",
        )
    }
}

impl From<HumanError> for ApiError {
    fn from(e: HumanError) -> Self {
        ApiError::internal(e)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(HumanError::Db {
            db: "(read)".into(),
            what: "query".into(),
            source: e,
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.kind, "detail": self.detail});
        if let Some(m) = self.missing {
            body["missing"] = json!(m);
        }
        (self.status, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The kind of an error status, for error bodies that did not come from our handlers.
fn kind_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 422 => "bad_request",
        401 => "unauthorized",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "too_large",
        415 => "bad_request",
        s if s < 500 => "bad_request",
        _ => "internal",
    }
}

/// Middleware: an error response whose body is not JSON (an axum rejection we did not
/// customise, a timeout) becomes `{"error", "detail"}` with the same status; 422 becomes 400.
pub(crate) async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&bytes).trim().to_string();
    let detail = if detail.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        detail
    };
    (
        status,
        Json(json!({"error": kind_of(status), "detail": detail})),
    )
        .into_response()
}

/// Fallback for unknown routes.
pub(crate) async fn no_route(req: Request) -> ApiError {
    ApiError::not_found(format!("no route {} {}", req.method(), req.uri().path()))
}

/// Fallback for a known route with another method.
pub(crate) async fn wrong_method(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

// ---------------------------------------------------------------------------------------------
// The JSON body extractor

/// A JSON request body whose every failure is an [`ApiError`]: 413 `too_large` past
/// [`BODY_LIMIT`], 400 `bad_request` with serde's line/column and path otherwise.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("request bodies are limited to {BODY_LIMIT} bytes"),
                )
            } else {
                ApiError::bad_request(format!("cannot read the body: {}", e.body_text()))
            }
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if path.is_empty() || path == "." {
                    ApiError::bad_request(format!("malformed JSON body: {inner}"))
                } else {
                    ApiError::bad_request(format!("malformed JSON body at `{path}`: {inner}"))
                }
            })
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The request's clock: `X-Test-Now` (RFC 3339) with `--dev`, the system clock otherwise.
fn now(st: &AppState, headers: &HeaderMap) -> ApiResult<DateTime<Utc>> {
    if st.dev {
        if let Some(v) = headers.get("x-test-now") {
            let s = v
                .to_str()
                .map_err(|_| ApiError::bad_request("X-Test-Now is not ASCII"))?;
            return DateTime::parse_from_rfc3339(s.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    ApiError::bad_request(format!("X-Test-Now {s:?} is not RFC 3339: {e}"))
                });
        }
    }
    Ok(Utc::now())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

async fn read<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(&Connection) -> Result<T, HumanError> + Send + 'static,
) -> ApiResult<T> {
    let pool = st.readers.clone();
    tokio::task::spawn_blocking(move || pool.with(f))
        .await
        .map_err(|e| ApiError::internal(HumanError::WriterGone(format!("reader task: {e}"))))?
        .map_err(ApiError::internal)
}

/// The session of `token`, from the cache or the database; 404 when there is none.
async fn session(st: &Arc<AppState>, token: &str) -> ApiResult<Arc<SessionCtx>> {
    if let Some(s) = st
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(token)
    {
        return Ok(s.clone());
    }
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::not_found("no session with this token"));
    }
    let t = token.to_string();
    let row = read(st, move |c| {
        db::session_by_token(c, &t).map_err(|e| db_read(c, e))
    })
    .await?;
    let row = row
        .filter(|r| r.study_id == st.cfg.study.id)
        .ok_or_else(|| ApiError::not_found("no session with this token"))?;
    let ctx = Arc::new(SessionCtx::new(&st.cfg, &row));
    st.sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(token.to_string(), ctx.clone());
    Ok(ctx)
}

fn db_read(c: &Connection, e: rusqlite::Error) -> HumanError {
    HumanError::Db {
        db: c.path().unwrap_or("(memory)").into(),
        what: "read".into(),
        source: e,
    }
}

fn db_write(c: &Connection, what: &str) -> impl FnOnce(rusqlite::Error) -> HumanError {
    let db = c.path().unwrap_or("(memory)").to_string();
    let what = what.to_string();
    move |source| HumanError::Db {
        db: db.into(),
        what,
        source,
    }
}

// ---------------------------------------------------------------------------------------------
// Shell, assets, stimuli

pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({"ok": true}))
}

pub(crate) async fn app_shell(
    State(st): State<Arc<AppState>>,
    Path(study): Path<String>,
) -> ApiResult<Response> {
    if study != st.cfg.study.id {
        return Err(ApiError::not_found(format!(
            "no study {study:?} on this server"
        )));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        st.index_html.clone(),
    )
        .into_response())
}

pub(crate) async fn asset(Path(file): Path<String>) -> ApiResult<Response> {
    let (body, ctype) = crate::assets::get(&file)
        .ok_or_else(|| ApiError::not_found(format!("no asset {file:?}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

pub(crate) async fn stimulus(
    State(st): State<Arc<AppState>>,
    Path((study, file)): Path<(String, String)>,
) -> ApiResult<Response> {
    if study != st.cfg.study.id {
        return Err(ApiError::not_found(format!(
            "no study {study:?} on this server"
        )));
    }
    let n: usize = file
        .split_once('.')
        .and_then(|(n, _)| n.parse().ok())
        .ok_or_else(|| ApiError::not_found(format!("no stimulus {file:?} (expected N.ext)")))?;
    let count = st.cfg.n_stimuli();
    if n >= count || file != st.cfg.stimulus_file_name(n) {
        return Err(ApiError::not_found(format!(
            "no stimulus {file:?}: this study has {count} ({})",
            st.cfg.stimulus_file_name(0)
        )));
    }
    let image = st.stimuli.get(n);
    Ok((
        [
            (header::CONTENT_TYPE, image.content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        image.bytes.clone(),
    )
        .into_response())
}

/// The app shell with the boot block in place of `<!--LS-BOOT-->`.
pub(crate) fn render_index(cfg: &StudyConfig, dev: bool) -> String {
    let boot = json!({
        "study": cfg.study.id,
        "dev": dev,
        "title": cfg.study.title,
        "contact": cfg.study.contact,
        "consent_version": cfg.study.consent_version,
        "ethics_reference": cfg.study.ethics_reference,
    });
    let text = serde_json::to_string(&boot)
        .expect("json")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    let block = format!(r#"<script type="application/json" id="ls-boot">{text}</script>"#);
    crate::assets::INDEX_HTML.replacen("<!--LS-BOOT-->", &block, 1)
}

// ---------------------------------------------------------------------------------------------
// POST /sessions

#[derive(Debug, Deserialize)]
pub(crate) struct NewSession {
    study: String,
    prolific_pid: String,
    #[serde(default)]
    #[allow(dead_code)]
    prolific_study_id: Option<String>,
    #[serde(default)]
    prolific_session_id: Option<String>,
    #[serde(default)]
    screen: Option<Screen>,
    #[serde(default)]
    browser: Option<Browser>,
}

#[derive(Debug, Deserialize)]
struct Screen {
    w: Option<f64>,
    h: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Browser {
    family: Option<String>,
    major: Option<Value>,
    os: Option<String>,
}

/// What the writer decided for a session request.
enum Opened {
    Session(SessionRow, Vec<u32>),
    Blocked(&'static str, Option<String>),
}

struct Client {
    pid_hmac: String,
    session_hmac: Option<String>,
    browser: Option<String>,
    major: Option<i64>,
    os: Option<String>,
    w: Option<i64>,
    h: Option<i64>,
}

pub(crate) async fn create_session(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<NewSession>,
) -> ApiResult<Json<Value>> {
    let t = now(&st, &headers)?;
    if req.study != st.cfg.study.id {
        return Err(ApiError::not_found(format!(
            "no study {:?} on this server",
            req.study
        )));
    }
    let pid = req.prolific_pid.trim();
    if pid.is_empty() || pid.len() > 128 {
        return Err(ApiError::bad_request(
            "prolific_pid must be 1 to 128 characters",
        ));
    }
    let screen_dim = |v: Option<f64>| {
        v.filter(|x| x.is_finite() && *x >= 0.0 && *x < 1e6)
            .map(|x| x.round() as i64)
    };
    let client = Client {
        pid_hmac: privacy::pid_hmac(&st.hmac_key, pid),
        session_hmac: req
            .prolific_session_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| privacy::session_hmac(&st.hmac_key, s)),
        browser: req
            .browser
            .as_ref()
            .and_then(|b| b.family.as_deref())
            .map(privacy::browser_token),
        major: req.browser.as_ref().and_then(|b| match &b.major {
            Some(Value::Number(n)) => n.as_f64().map(|x| x as i64),
            Some(Value::String(s)) => s.split('.').next().and_then(|x| x.trim().parse().ok()),
            _ => None,
        }),
        os: req
            .browser
            .as_ref()
            .and_then(|b| b.os.as_deref())
            .map(privacy::browser_token),
        w: screen_dim(req.screen.as_ref().and_then(|s| s.w)),
        h: screen_dim(req.screen.as_ref().and_then(|s| s.h)),
    };
    let cfg = st.cfg.clone();
    let opened = st
        .writer
        .run(move |c| open_session(c, &cfg, &client, t))
        .await?;
    match opened {
        Opened::Blocked(kind, next) => {
            Ok(Json(json!({"blocked": kind, "next_available_at": next})))
        }
        Opened::Session(row, stored) => {
            let ctx = Arc::new(SessionCtx::new(&st.cfg, &row));
            st.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(row.token.clone(), ctx.clone());
            Ok(Json(session_json(&st, &row, &ctx, &stored)))
        }
    }
}

fn open_session(
    c: &Connection,
    cfg: &StudyConfig,
    cl: &Client,
    t: DateTime<Utc>,
) -> Result<Opened, HumanError> {
    let now_s = rfc3339(t);
    let study = &cfg.study.id;
    let existing: Option<i64> = c
        .query_row(
            "SELECT id FROM participant WHERE study_id = ?1 AND pid_hmac = ?2",
            params![study, cl.pid_hmac],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_write(c, "find participant"))?;
    let participant_id = match existing {
        Some(id) => id,
        None => {
            let seq: i64 = c
                .query_row(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM participant WHERE study_id = ?1",
                    [study],
                    |r| r.get(0),
                )
                .map_err(db_write(c, "next participant number"))?;
            let seed = crate::schedule::participant_seed(cfg.study.seed, seq as u64);
            let plan = ParticipantPlan::new(cfg, seed);
            c.execute(
                "INSERT INTO participant (study_id, pid_hmac, public_code, seq, seed, image_perm_json, \
                 label_perm_json, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    study,
                    cl.pid_hmac,
                    privacy::public_code(seq as u64),
                    seq,
                    seed as i64,
                    serde_json::to_string(&plan.image_of_item).expect("json"),
                    json!({"display_order": plan.label_order, "word_of_label": plan.word_of_label})
                        .to_string(),
                    now_s
                ],
            )
            .map_err(db_write(c, "insert participant"))?;
            c.last_insert_rowid()
        }
    };
    let sessions = db::sessions_of(c, participant_id).map_err(db_write(c, "read sessions"))?;
    let pr = &cfg.protocol;
    let next_day = match sessions.last() {
        None => 1,
        Some(last) if last.status == "started" => {
            let stored = db::stored_trials(c, last.id).map_err(db_write(c, "read trials"))?;
            return Ok(Opened::Session(last.clone(), stored));
        }
        Some(last) => {
            if matches!(
                last.code_kind.as_deref(),
                Some("failed_attention" | "screened_out")
            ) {
                return Ok(Opened::Blocked("not_eligible", None));
            }
            if last.day >= pr.days {
                return Ok(Opened::Blocked("done", None));
            }
            let done = last
                .completed_at
                .as_deref()
                .and_then(parse_time)
                .unwrap_or(t);
            let open_at = done + hours(pr.min_gap_hours);
            let close_at = done + hours(pr.max_gap_hours);
            if t < open_at {
                return Ok(Opened::Blocked("too_early", Some(rfc3339(open_at))));
            }
            if t > close_at {
                return Ok(Opened::Blocked("too_late", None));
            }
            last.day + 1
        }
    };
    let seed: i64 = c
        .query_row(
            "SELECT seed FROM participant WHERE id = ?1",
            [participant_id],
            |r| r.get(0),
        )
        .map_err(db_write(c, "read participant"))?;
    let plan = ParticipantPlan::new(cfg, seed as u64);
    let n_trials = plan.day(cfg, next_day).len();
    let token = privacy::random_hex(16);
    c.execute(
        "INSERT INTO session (participant_id, day, token, prolific_session_hmac, started_at, status, \
         browser, browser_major, os, screen_w, screen_h, n_trials) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'started', ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            participant_id,
            next_day,
            token,
            cl.session_hmac,
            now_s,
            cl.browser,
            cl.major,
            cl.os,
            cl.w,
            cl.h,
            n_trials as i64
        ],
    )
    .map_err(db_write(c, "insert session"))?;
    let row = db::session_by_token(c, &token)
        .map_err(db_write(c, "read session"))?
        .expect("the session just inserted");
    Ok(Opened::Session(row, Vec::new()))
}

fn hours(h: f64) -> chrono::Duration {
    chrono::Duration::milliseconds((h * 3_600_000.0).round() as i64)
}

fn session_json(st: &AppState, row: &SessionRow, ctx: &SessionCtx, stored: &[u32]) -> Value {
    let cfg = &st.cfg;
    let plan = ParticipantPlan::new(cfg, row.seed);
    let labels = cfg.labels();
    let label_json: Vec<Value> = plan
        .label_order
        .iter()
        .map(|&l| {
            let word = &labels[plan.word_of_label[l]].text;
            json!({"label": l, "level": labels[l].level, "text": word})
        })
        .collect();
    let att = cfg.attention_label();
    let practice_labels: Vec<Value> = PRACTICE_LABELS
        .iter()
        .enumerate()
        .map(|(i, (text, level))| json!({"label": i, "level": level, "text": text}))
        .collect();
    let trials: Vec<Value> = ctx
        .schedule
        .iter()
        .map(|t| {
            let mut v = json!({
                "global_trial": t.global_trial,
                "block": t.block,
                "trial_in_block": t.trial_in_block,
                "phase": t.phase,
                "image": format!("/s/{}/stimuli/{}", cfg.study.id, cfg.stimulus_file_name(t.image)),
                "feedback": t.feedback,
            });
            if t.feedback {
                v["targets"] = json!(t.targets);
            }
            if st.dev {
                v["item"] = json!(t.item);
            }
            v
        })
        .collect();
    let day1 = row.day == 1;
    json!({
        "token": row.token,
        "day": row.day,
        "days": cfg.protocol.days,
        "participant": row.public_code,
        "labels": label_json,
        "attention_label": {"label": att.label, "level": att.level, "text": att.text},
        "practice_labels": practice_labels,
        "trials": trials,
        "n_trials": ctx.schedule.len(),
        "stored": stored,
        "timing": {
            "fixation_ms": cfg.timing.fixation_ms,
            "feedback_ms": cfg.timing.feedback_ms,
            "iti_ms": cfg.timing.iti_ms,
            "redirect_delay_ms": cfg.timing.redirect_delay_ms,
        },
        "quiz": cfg.protocol.quiz && day1,
        "practice": cfg.protocol.practice && day1,
    })
}

// ---------------------------------------------------------------------------------------------
// POST /sessions/{token}/consent

#[derive(Debug, Deserialize)]
pub(crate) struct Consent {
    version: String,
}

pub(crate) async fn consent(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<Consent>,
) -> ApiResult<Json<Value>> {
    let t = rfc3339(now(&st, &headers)?);
    let s = session(&st, &token).await?;
    if req.version != st.cfg.study.consent_version {
        return Err(ApiError::bad_request(format!(
            "consent version {:?} is not this study's {:?}",
            req.version, st.cfg.study.consent_version
        )));
    }
    let id = s.id;
    st.writer
        .run(move |c| {
            c.execute(
                "UPDATE session SET consent_version = ?2, consent_at = COALESCE(consent_at, ?3) WHERE id = ?1",
                params![id, req.version, t],
            )
            .map_err(db_write(c, "record consent"))
        })
        .await?;
    Ok(Json(json!({"ok": true})))
}

// ---------------------------------------------------------------------------------------------
// GET /sessions/{token}/state

pub(crate) async fn state(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> ApiResult<Json<Value>> {
    let s = session(&st, &token).await?;
    let id = s.id;
    let (stored, status) = read(&st, move |c| {
        let stored = db::stored_trials(c, id).map_err(|e| db_read(c, e))?;
        let status: String = c
            .query_row("SELECT status FROM session WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(|e| db_read(c, e))?;
        Ok((stored, status))
    })
    .await?;
    let n = s.schedule.len() as u32;
    let next = (0..n).find(|g| stored.binary_search(g).is_err());
    Ok(Json(json!({
        "day": s.day,
        "n_trials": n,
        "stored": stored,
        "next_trial": next,
        "completed": status == "completed",
    })))
}

// ---------------------------------------------------------------------------------------------
// POST /sessions/{token}/trials

#[derive(Debug, Deserialize)]
pub(crate) struct TrialRecord {
    global_trial: i64,
    onset_ms: Option<f64>,
    submit_ms: Option<f64>,
    rt_ms: Option<f64>,
    time_elapsed_ms: Option<f64>,
    client_ts: Option<String>,
    labels: Vec<LabelRecord>,
}

#[derive(Debug, Deserialize)]
struct LabelRecord {
    label: i64,
    selected: bool,
    first_click_ms: Option<f64>,
    n_toggles: Option<u32>,
}

/// A validated trial, ready to store.
struct Prepared {
    spec: TrialSpec,
    check_idx: Option<u32>,
    rec: TrialRecord,
    /// (label, level, target, selected, first_click_ms, n_toggles), canonical order.
    labels: Vec<(usize, i32, bool, bool, Option<f64>, u32)>,
}

fn prepare(cfg: &StudyConfig, s: &SessionCtx, i: usize, rec: TrialRecord) -> ApiResult<Prepared> {
    let g = rec.global_trial;
    let spec = usize::try_from(g)
        .ok()
        .and_then(|g| s.schedule.get(g))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "record {i}: unknown global_trial {g} (day {} has trials 0..{})",
                s.day,
                s.schedule.len()
            ))
        })?
        .clone();
    let mut selected: HashMap<usize, &LabelRecord> = HashMap::new();
    for (j, l) in rec.labels.iter().enumerate() {
        let label = usize::try_from(l.label)
            .ok()
            .filter(|x| spec.shown.contains(x))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "record {i} (global_trial {g}): labels[{j}]: label {} was not shown on this trial (shown: {:?})",
                    l.label, spec.shown
                ))
            })?;
        if selected.insert(label, l).is_some() {
            return Err(ApiError::bad_request(format!(
                "record {i} (global_trial {g}): labels[{j}]: label {label} appears twice"
            )));
        }
        for (name, v) in [("first_click_ms", l.first_click_ms)] {
            if v.is_some_and(|x| !x.is_finite()) {
                return Err(ApiError::bad_request(format!(
                    "record {i}: labels[{j}].{name} is not finite"
                )));
            }
        }
    }
    let missing: Vec<usize> = spec
        .shown
        .iter()
        .copied()
        .filter(|l| !selected.contains_key(l))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::bad_request(format!(
            "record {i} (global_trial {g}): every label shown must be answered once; missing {missing:?}"
        )));
    }
    if rec.client_ts.as_ref().is_some_and(|t| t.len() > 64) {
        return Err(ApiError::bad_request(format!(
            "record {i}: client_ts is longer than 64 characters"
        )));
    }
    let levels: Vec<i32> = if spec.phase == Phase::Practice {
        PRACTICE_LABELS.iter().map(|(_, l)| *l).collect()
    } else {
        cfg.labels()
            .iter()
            .map(|l| l.level)
            .chain(std::iter::once(-1))
            .collect()
    };
    let labels = spec
        .shown
        .iter()
        .map(|&l| {
            let r = selected[&l];
            (
                l,
                levels[l],
                spec.targets.contains(&l),
                r.selected,
                r.first_click_ms,
                r.n_toggles.unwrap_or(0),
            )
        })
        .collect();
    let check_idx = s.check_idx.get(&spec.global_trial).copied();
    Ok(Prepared {
        spec,
        check_idx,
        rec,
        labels,
    })
}

pub(crate) async fn post_trials(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    ApiJson(records): ApiJson<Vec<TrialRecord>>,
) -> ApiResult<Json<Value>> {
    let t = rfc3339(now(&st, &headers)?);
    let s = session(&st, &token).await?;
    if records.is_empty() || records.len() > MAX_TRIALS_PER_POST {
        return Err(ApiError::bad_request(format!(
            "post 1 to {MAX_TRIALS_PER_POST} trial records, not {}",
            records.len()
        )));
    }
    let prepared = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| prepare(&st.cfg, &s, i, r))
        .collect::<ApiResult<Vec<_>>>()?;
    let id = s.id;
    let attention = st.cfg.attention_label().label;
    let (stored, n_stored) = st
        .writer
        .run(move |c| store_trials(c, id, &t, attention, prepared))
        .await?;
    Ok(Json(json!({"stored": stored, "n_stored": n_stored})))
}

fn store_trials(
    c: &Connection,
    session_id: i64,
    server_ts: &str,
    attention: usize,
    prepared: Vec<Prepared>,
) -> Result<(Vec<u32>, u32), HumanError> {
    let mut ins_trial = c
        .prepare_cached(
            "INSERT INTO trial (session_id, global_trial, block, trial_in_block, phase, item, image, feedback, \
             onset_ms, submit_ms, rt_ms, time_elapsed_ms, client_ts, server_ts, n_selected) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
             ON CONFLICT(session_id, global_trial) DO NOTHING",
        )
        .map_err(db_write(c, "prepare trial insert"))?;
    let mut ins_label = c
        .prepare_cached(
            "INSERT INTO label_response (trial_id, label, level, target, selected, first_click_ms, n_toggles) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(db_write(c, "prepare label insert"))?;
    let mut stored = Vec::with_capacity(prepared.len());
    for p in prepared {
        let sp = &p.spec;
        let item = (sp.phase != Phase::Practice).then_some(sp.item as i64);
        let n_selected = p.labels.iter().filter(|l| l.3).count() as i64;
        let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
        let changed = ins_trial
            .execute(params![
                session_id,
                sp.global_trial,
                sp.block,
                sp.trial_in_block,
                sp.phase.as_str(),
                item,
                sp.image as i64,
                sp.feedback,
                finite(p.rec.onset_ms),
                finite(p.rec.submit_ms),
                finite(p.rec.rt_ms),
                finite(p.rec.time_elapsed_ms),
                p.rec.client_ts,
                server_ts,
                n_selected
            ])
            .map_err(db_write(c, "insert trial"))?;
        if changed == 1 {
            let trial_id = c.last_insert_rowid();
            for &(label, level, target, selected, first, toggles) in &p.labels {
                ins_label
                    .execute(params![
                        trial_id,
                        label as i64,
                        level,
                        target,
                        selected,
                        finite(first),
                        toggles
                    ])
                    .map_err(db_write(c, "insert label response"))?;
            }
            if let Some(idx) = p.check_idx {
                let passed = p
                    .labels
                    .iter()
                    .all(|&(l, _, _, sel, _, _)| sel == (l == attention));
                c.execute(
                    "INSERT OR IGNORE INTO attention_check (session_id, check_idx, global_trial, passed) VALUES (?1, ?2, ?3, ?4)",
                    params![session_id, idx, sp.global_trial, passed],
                )
                .map_err(db_write(c, "insert attention check"))?;
            }
        }
        stored.push(sp.global_trial);
    }
    let n: u32 = c
        .query_row(
            "SELECT COUNT(*) FROM trial WHERE session_id = ?1",
            [session_id],
            |r| r.get(0),
        )
        .map_err(db_write(c, "count trials"))?;
    Ok((stored, n))
}

// ---------------------------------------------------------------------------------------------
// POST /sessions/{token}/events and /survey

#[derive(Debug, Deserialize)]
pub(crate) struct EventRecord {
    t_ms: Option<f64>,
    kind: String,
    #[serde(default)]
    payload: Value,
}

pub(crate) async fn post_events(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
    ApiJson(events): ApiJson<Vec<EventRecord>>,
) -> ApiResult<Json<Value>> {
    let s = session(&st, &token).await?;
    if events.len() > MAX_EVENTS_PER_POST {
        return Err(ApiError::bad_request(format!(
            "post at most {MAX_EVENTS_PER_POST} events, not {}",
            events.len()
        )));
    }
    let mut rows = Vec::with_capacity(events.len());
    for (i, e) in events.into_iter().enumerate() {
        if e.kind.is_empty() || e.kind.len() > 64 {
            return Err(ApiError::bad_request(format!(
                "events[{i}].kind must be 1 to 64 characters"
            )));
        }
        let payload = (!e.payload.is_null()).then(|| e.payload.to_string());
        if payload.as_ref().is_some_and(|p| p.len() > 4096) {
            return Err(ApiError::bad_request(format!(
                "events[{i}].payload is over 4096 bytes"
            )));
        }
        rows.push((e.t_ms.filter(|x| x.is_finite()), e.kind, payload));
    }
    let id = s.id;
    if !rows.is_empty() {
        st.writer
            .run(move |c| {
                let mut ins = c
                    .prepare_cached("INSERT INTO event (session_id, t_ms, kind, payload_json) VALUES (?1, ?2, ?3, ?4)")
                    .map_err(db_write(c, "prepare event insert"))?;
                for (t, kind, payload) in rows {
                    ins.execute(params![id, t, kind, payload]).map_err(db_write(c, "insert event"))?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(Json(json!({"ok": true})))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Survey {
    answers: serde_json::Map<String, Value>,
}

pub(crate) async fn post_survey(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
    ApiJson(req): ApiJson<Survey>,
) -> ApiResult<Json<Value>> {
    let s = session(&st, &token).await?;
    if req.answers.len() > 64 {
        return Err(ApiError::bad_request("at most 64 survey answers"));
    }
    let mut rows = Vec::new();
    for (k, v) in req.answers {
        if k.is_empty() || k.len() > 64 {
            return Err(ApiError::bad_request(format!(
                "survey key {k:?} must be 1 to 64 characters"
            )));
        }
        let value = match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        };
        if value.as_ref().is_some_and(|v| v.len() > 8192) {
            return Err(ApiError::bad_request(format!(
                "survey answer {k:?} is over 8192 bytes"
            )));
        }
        rows.push((k, value));
    }
    let id = s.id;
    st.writer
        .run(move |c| {
            for (k, v) in rows {
                c.execute(
                    "INSERT INTO survey (session_id, key, value) VALUES (?1, ?2, ?3) \
                     ON CONFLICT(session_id, key) DO UPDATE SET value = excluded.value",
                    params![id, k, v],
                )
                .map_err(db_write(c, "store survey answer"))?;
            }
            Ok(())
        })
        .await?;
    Ok(Json(json!({"ok": true})))
}

// ---------------------------------------------------------------------------------------------
// POST /sessions/{token}/complete

enum Completed {
    Missing(Vec<u32>),
    Done(String),
}

pub(crate) async fn complete(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let t = rfc3339(now(&st, &headers)?);
    let request: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .map_err(|_| ApiError::bad_request("malformed JSON body (send {})"))?
    };
    // `{"screened_out": true}`: the client screened the participant out (the comprehension
    // quiz failed three times); the day ends with the screened-out code, trials or not.
    let screened_out = match request.get("screened_out") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`screened_out` must be true or false, found {other}"
            )))
        }
    };
    let s = session(&st, &token).await?;
    let (id, n) = (s.id, s.schedule.len() as u32);
    let max_fail = st.cfg.protocol.max_attention_failures;
    let done = st
        .writer
        .run(move |c| {
            let row: (String, Option<String>) = c
                .query_row("SELECT status, completion_code_kind FROM session WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(db_write(c, "read session"))?;
            if let (status, Some(kind)) = &row {
                if status == "completed" || status == "screened_out" {
                    return Ok(Completed::Done(kind.clone()));
                }
            }
            if screened_out {
                c.execute(
                    "UPDATE session SET status = 'screened_out', completed_at = ?2, \
                     completion_code_kind = 'screened_out' WHERE id = ?1",
                    params![id, t],
                )
                .map_err(db_write(c, "screen out session"))?;
                return Ok(Completed::Done("screened_out".to_string()));
            }
            let stored = db::stored_trials(c, id).map_err(db_write(c, "read trials"))?;
            let missing: Vec<u32> = (0..n).filter(|g| stored.binary_search(g).is_err()).collect();
            if !missing.is_empty() {
                return Ok(Completed::Missing(missing));
            }
            let failures = db::attention_failures(c, id).map_err(db_write(c, "read attention checks"))?;
            let kind = if failures > max_fail { "failed_attention" } else { "completed" };
            c.execute(
                "UPDATE session SET status = 'completed', completed_at = ?2, completion_code_kind = ?3 WHERE id = ?1",
                params![id, t, kind],
            )
            .map_err(db_write(c, "complete session"))?;
            Ok(Completed::Done(kind.to_string()))
        })
        .await?;
    match done {
        Completed::Missing(missing) => {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "{} of {n} trials of this day are not stored yet",
                    missing.len()
                ),
            );
            e.missing = Some(missing);
            Err(e)
        }
        Completed::Done(kind) => {
            let c = &st.cfg.completion;
            let code = match kind.as_str() {
                "failed_attention" => &c.failed_attention,
                "screened_out" => &c.screened_out,
                _ => &c.completed,
            };
            Ok(Json(
                json!({"redirect_url": format!("{}{}", c.url, code), "code_kind": kind}),
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Admin

fn check_admin(st: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(tok) if privacy::secret_eq(tok, &st.admin_token) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExportQuery {
    format: Option<String>,
}

pub(crate) async fn admin_export(
    State(st): State<Arc<AppState>>,
    Path(study): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    check_admin(&st, &headers)?;
    if study != st.cfg.study.id {
        return Err(ApiError::not_found(format!(
            "no study {study:?} on this server"
        )));
    }
    let format = match q.format.as_deref().unwrap_or("csv") {
        "csv" => crate::export::ExportFormat::Csv,
        "json" => crate::export::ExportFormat::Json,
        "psychds" => crate::export::ExportFormat::PsychDs,
        other => {
            return Err(ApiError::bad_request(format!(
                "format {other:?} is not csv, json or psychds"
            )))
        }
    };
    let cfg = st.cfg.clone();
    let bytes = read(&st, move |c| crate::export::export_bytes(c, &cfg, format)).await?;
    let (ctype, ext) = match format {
        crate::export::ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        crate::export::ExportFormat::Json => ("application/json", "json"),
        crate::export::ExportFormat::PsychDs => ("application/zip", "zip"),
    };
    let disposition = format!("attachment; filename=\"{study}.{ext}\"");
    let mut resp = Body::from(bytes).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

pub(crate) async fn admin_analysis(
    State(st): State<Arc<AppState>>,
    Path(study): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    check_admin(&st, &headers)?;
    if study != st.cfg.study.id {
        return Err(ApiError::not_found(format!(
            "no study {study:?} on this server"
        )));
    }
    let id = study.clone();
    let rows = read(&st, move |c| {
        crate::analysis::read_responses_long_conn(c, Some(&id))
    })
    .await?;
    let report = crate::analysis::analyse(&study, &rows).map_err(ApiError::internal)?;
    Ok(Json(
        serde_json::to_value(report).expect("the analysis serialises"),
    ))
}

/// `GET /api/v1/admin/studies/{id}/exclusions`: the pre-registered exclusion flags per
/// participant and day ([`crate::exclusions`]).
pub(crate) async fn admin_exclusions(
    State(st): State<Arc<AppState>>,
    Path(study): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    check_admin(&st, &headers)?;
    if study != st.cfg.study.id {
        return Err(ApiError::not_found(format!(
            "no study {study:?} on this server"
        )));
    }
    let cfg = st.cfg.clone();
    let flags = read(&st, move |c| crate::exclusions::exclusion_flags(c, &cfg)).await?;
    Ok(Json(json!({"study": study, "participants": flags})))
}
