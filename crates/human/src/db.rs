//! The SQLite store: schema, connection settings, the read side.
//!
//! Why these settings: the study's data are people's time, so durability comes first. The
//! database runs in WAL mode with `synchronous = FULL` (a commit is on disk when it returns, so
//! a `kill -9` or a power cut loses no acknowledged trial) and foreign keys on. All writes go
//! through one writer thread (`writer.rs`, group commit); reads (state, export, analysis) use
//! their own connections from a small pool, which WAL lets run beside the writer.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::config::StudyConfig;
use crate::error::{HumanError, Result};

/// The schema (HUMAN-TASK §4.3, extended; see the file's comments).
pub const SCHEMA: &str = include_str!("schema.sql");

pub(crate) fn db_err(
    db: &Path,
    what: impl Into<String>,
) -> impl FnOnce(rusqlite::Error) -> HumanError {
    let (db, what) = (db.to_path_buf(), what.into());
    move |source| HumanError::Db { db, what, source }
}

/// Open a connection with the study settings (WAL, synchronous FULL, foreign keys, a busy
/// timeout); `create` also creates the file and the schema.
pub fn open(db: &Path, create: bool) -> Result<Connection> {
    let flags = if create {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(db, flags).map_err(db_err(db, "open"))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(db_err(db, "busy timeout"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    )
    .map_err(db_err(db, "pragmas"))?;
    if create {
        conn.execute_batch(SCHEMA)
            .map_err(db_err(db, "create schema"))?;
    }
    Ok(conn)
}

/// Create the database if needed and register the study. A study already stored under a
/// different configuration is refused unless `replace` (development), which updates it.
pub fn register_study(db: &Path, cfg: &StudyConfig, now: &str, replace: bool) -> Result<()> {
    let conn = open(db, true)?;
    let json = cfg.to_json();
    let sha = crate::privacy::sha256_hex(json.as_bytes());
    let stored: Option<String> = conn
        .query_row(
            "SELECT config_sha256 FROM study WHERE id = ?1",
            [&cfg.study.id],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err(db, "read study"))?;
    match stored {
        None => {
            conn.execute(
                "INSERT INTO study (id, config_json, config_sha256, created_at) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![cfg.study.id, json, sha, now],
            )
            .map_err(db_err(db, "insert study"))?;
        }
        Some(s) if s == sha => {}
        Some(s) if replace => {
            let _ = s;
            conn.execute(
                "UPDATE study SET config_json = ?2, config_sha256 = ?3 WHERE id = ?1",
                rusqlite::params![cfg.study.id, json, sha],
            )
            .map_err(db_err(db, "update study"))?;
        }
        Some(s) => {
            return Err(HumanError::ConfigChanged {
                db: db.to_path_buf(),
                study: cfg.study.id.clone(),
                stored: s,
                now: sha,
            })
        }
    }
    Ok(())
}

/// The stored configuration of `study` (for export and analysis without the TOML file).
pub fn stored_config(conn: &Connection, db: &Path, study: &str) -> Result<StudyConfig> {
    let json: Option<String> = conn
        .query_row(
            "SELECT config_json FROM study WHERE id = ?1",
            [study],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err(db, "read study"))?;
    let json = json.ok_or_else(|| HumanError::UnknownStudy {
        db: db.to_path_buf(),
        study: study.to_string(),
    })?;
    serde_json::from_str(&json).map_err(|e| {
        HumanError::config(
            &db.display().to_string(),
            "study.config_json",
            e.to_string(),
        )
    })
}

/// A pool of read connections.
pub struct ReadPool {
    db: PathBuf,
    conns: Mutex<Vec<Connection>>,
}

impl ReadPool {
    /// A pool on `db` (connections open lazily).
    pub fn new(db: &Path) -> ReadPool {
        ReadPool {
            db: db.to_path_buf(),
            conns: Mutex::new(Vec::new()),
        }
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.db
    }

    /// Run `f` on a pooled connection (blocking: call from `spawn_blocking`).
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.conns.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match conn {
            Some(c) => c,
            None => open(&self.db, false)?,
        };
        let out = f(&conn);
        let mut pool = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < 8 {
            pool.push(conn);
        }
        out
    }
}

/// A session as stored.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// Row id.
    pub id: i64,
    /// The participant's row id.
    pub participant_id: i64,
    /// Public code.
    pub public_code: String,
    /// Participant seed.
    pub seed: u64,
    /// The day.
    pub day: u32,
    /// The session token.
    pub token: String,
    /// `started`, `completed`, …
    pub status: String,
    /// Completion time (RFC 3339).
    pub completed_at: Option<String>,
    /// `completed` or `failed_attention` once completed.
    pub code_kind: Option<String>,
    /// The study.
    pub study_id: String,
}

const SESSION_COLS: &str =
    "s.id, s.participant_id, p.public_code, p.seed, s.day, s.token, s.status, \
     s.completed_at, s.completion_code_kind, p.study_id";

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        participant_id: r.get(1)?,
        public_code: r.get(2)?,
        seed: r.get::<_, i64>(3)? as u64,
        day: r.get(4)?,
        token: r.get(5)?,
        status: r.get(6)?,
        completed_at: r.get(7)?,
        code_kind: r.get(8)?,
        study_id: r.get(9)?,
    })
}

/// The session with `token`.
pub fn session_by_token(conn: &Connection, token: &str) -> rusqlite::Result<Option<SessionRow>> {
    conn.query_row(
        &format!("SELECT {SESSION_COLS} FROM session s JOIN participant p ON p.id = s.participant_id WHERE s.token = ?1"),
        [token],
        session_row,
    )
    .optional()
}

/// The sessions of a participant, by day.
pub fn sessions_of(conn: &Connection, participant_id: i64) -> rusqlite::Result<Vec<SessionRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {SESSION_COLS} FROM session s JOIN participant p ON p.id = s.participant_id \
         WHERE s.participant_id = ?1 ORDER BY s.day"
    ))?;
    let rows = st.query_map([participant_id], session_row)?;
    rows.collect()
}

/// The stored global_trial numbers of a session, ascending.
pub fn stored_trials(conn: &Connection, session_id: i64) -> rusqlite::Result<Vec<u32>> {
    let mut st = conn.prepare_cached(
        "SELECT global_trial FROM trial WHERE session_id = ?1 ORDER BY global_trial",
    )?;
    let rows = st.query_map([session_id], |r| r.get(0))?;
    rows.collect()
}

/// The number of failed attention checks of a session.
pub fn attention_failures(conn: &Connection, session_id: i64) -> rusqlite::Result<u32> {
    conn.query_row(
        "SELECT COUNT(*) FROM attention_check WHERE session_id = ?1 AND passed = 0",
        [session_id],
        |r| r.get(0),
    )
}
