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
//!
//! One file per concern: [`error`] (error bodies, the JSON extractor), [`shell`] (app shell,
//! assets, stimuli), [`session`] (sessions, consent, state), [`trials`] (trials, events,
//! survey), [`complete`] (ending a day), [`admin`] (export, analysis, exclusions); this file holds
//! the shared state and helpers.

mod admin;
mod complete;
mod error;
mod session;
mod shell;
mod trials;

// The error types and the extractor, for every file (`use super::*`).
use error::*;

pub(crate) use admin::{admin_analysis, admin_exclusions, admin_export};
pub(crate) use complete::complete;
pub(crate) use error::{json_errors, no_route, wrong_method};
pub use error::{ApiError, ApiJson};
pub(crate) use session::{consent, create_session, state};
pub(crate) use shell::{app_shell, asset, healthz, render_index, stimulus};
pub(crate) use trials::{post_events, post_survey, post_trials};

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

/// 404 unless `study` is the study this server runs (every `/s/{study}` and admin route).
pub(crate) fn known_study(st: &AppState, study: &str) -> ApiResult<()> {
    if study != st.cfg.study.id {
        return Err(ApiError::not_found(format!(
            "no study {study:?} on this server"
        )));
    }
    Ok(())
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
