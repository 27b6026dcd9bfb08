//! The pre-registered exclusion rules of HUMAN-TASK.md §2.5, computed from the database.
//!
//! Per participant and day (task trials = train, probe and attention trials; practice is a toy
//! domain and does not count):
//! - `attention_failures`: failed attention checks. More than `protocol.max_attention_failures`
//!   **excludes** the participant (they were asked to return the submission; the day ended with
//!   the `failed_attention` code).
//! - a missing later day (day d + 1 never completed while the study has more days) **excludes the
//!   participant from the longitudinal analysis**; their completed days stay in the day-by-day
//!   analysis.
//! - `fast_rt_share`: the share of task trials with `rt_ms < exclusions.fast_rt_ms`; above
//!   `exclusions.max_fast_share` it is a **flag** (not an exclusion).
//! - `same_response_share`: the share of the day's train and probe trials whose response vector
//!   (the set of selected labels) is the day's most common one; above
//!   `exclusions.max_same_response_share` on the **last** day it is a flag. Symmetric by
//!   design: a constant "select nothing" responder is an OCS responder, so report results with
//!   and without flagged participants, never silently drop them.
//! - `hidden_events`: `visibilitychange` events to `hidden`; above
//!   `exclusions.max_hidden_events` it is a flag.
//!
//! Final accuracy is never a criterion (it would select for learners and bias the early
//! phase).

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::config::StudyConfig;
use crate::db::db_err;
use crate::error::Result;

/// One participant-day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayFlags {
    /// The day (1-based).
    pub day: u32,
    /// `started`, `completed`, `screened_out`, …
    pub status: String,
    /// The completion code kind, when the day ended.
    pub code_kind: Option<String>,
    /// Task trials stored (train, probe, attention).
    pub task_trials: u32,
    /// Failed attention checks.
    pub attention_failures: u32,
    /// Share of task trials faster than `exclusions.fast_rt_ms`.
    pub fast_rt_share: f64,
    /// Share of train/probe trials with the day's most common response vector.
    pub same_response_share: f64,
    /// `visibilitychange` → hidden events.
    pub hidden_events: u32,
    /// The flags raised this day (`fast_rt`, `same_response`, `hidden`).
    pub flags: Vec<String>,
}

/// One participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticipantFlags {
    /// The public code (`p001`).
    pub participant: String,
    /// Per day started.
    pub days: Vec<DayFlags>,
    /// Excluded from every analysis (attention failures over the limit, or screened out).
    pub exclude: bool,
    /// Excluded from the longitudinal analysis (a later day is missing).
    pub exclude_longitudinal: bool,
    /// Any day raised a flag.
    pub flagged: bool,
}

/// The flags of every participant of `cfg`'s study, in participant order.
pub fn exclusion_flags(conn: &Connection, cfg: &StudyConfig) -> Result<Vec<ParticipantFlags>> {
    let db = std::path::Path::new(conn.path().unwrap_or("(memory)")).to_path_buf();
    let err = |what: &'static str| db_err(&db, what);
    let rules = &cfg.exclusions;
    let mut st = conn
        .prepare(
            "SELECT p.public_code, s.id, s.day, s.status, s.completion_code_kind \
             FROM session s JOIN participant p ON p.id = s.participant_id \
             WHERE p.study_id = ?1 ORDER BY p.seq, s.day",
        )
        .map_err(err("read sessions"))?;
    let sessions = st
        .query_map([&cfg.study.id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .map_err(err("read sessions"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(err("read sessions"))?;

    let mut out: Vec<ParticipantFlags> = Vec::new();
    for (code, session, day, status, code_kind) in sessions {
        let (task_trials, fast): (u32, u32) = conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(rt_ms IS NOT NULL AND rt_ms < ?2), 0) FROM trial \
                 WHERE session_id = ?1 AND phase IN ('train', 'probe', 'attention')",
                rusqlite::params![session, rules.fast_rt_ms],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(err("read trials"))?;
        let attention_failures: u32 = conn
            .query_row(
                "SELECT COUNT(*) FROM attention_check WHERE session_id = ?1 AND passed = 0",
                [session],
                |r| r.get(0),
            )
            .map_err(err("read attention checks"))?;
        let hidden_events: u32 = conn
            .query_row(
                "SELECT COUNT(*) FROM event WHERE session_id = ?1 AND kind = 'visibilitychange' \
                 AND payload_json LIKE '%hidden%'",
                [session],
                |r| r.get(0),
            )
            .map_err(err("read events"))?;
        // The response vector of each train/probe trial: its selected labels, in label order.
        let mut vectors: BTreeMap<i64, String> = BTreeMap::new();
        let mut q = conn
            .prepare(
                "SELECT t.id, r.label, r.selected FROM trial t JOIN label_response r \
                 ON r.trial_id = t.id WHERE t.session_id = ?1 AND t.phase IN ('train', 'probe') \
                 ORDER BY t.id, r.label",
            )
            .map_err(err("read responses"))?;
        let rows = q
            .query_map([session], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            })
            .map_err(err("read responses"))?;
        for row in rows {
            let (trial, label, selected) = row.map_err(err("read responses"))?;
            let v = vectors.entry(trial).or_default();
            if selected {
                v.push_str(&label.to_string());
                v.push(',');
            }
        }
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for v in vectors.values() {
            *counts.entry(v).or_default() += 1;
        }
        let share = |n: u32, of: usize| {
            if of == 0 {
                0.0
            } else {
                f64::from(n) / of as f64
            }
        };
        let same_response_share = share(counts.values().copied().max().unwrap_or(0), vectors.len());
        let fast_rt_share = share(fast, task_trials as usize);
        let mut flags = Vec::new();
        if fast_rt_share > rules.max_fast_share {
            flags.push("fast_rt".to_string());
        }
        if day == cfg.protocol.days && same_response_share > rules.max_same_response_share {
            flags.push("same_response".to_string());
        }
        if hidden_events > rules.max_hidden_events {
            flags.push("hidden".to_string());
        }
        let day_flags = DayFlags {
            day,
            status,
            code_kind,
            task_trials,
            attention_failures,
            fast_rt_share,
            same_response_share,
            hidden_events,
            flags,
        };
        match out.last_mut() {
            Some(p) if p.participant == code => p.days.push(day_flags),
            _ => out.push(ParticipantFlags {
                participant: code,
                days: vec![day_flags],
                exclude: false,
                exclude_longitudinal: false,
                flagged: false,
            }),
        }
    }
    for p in &mut out {
        p.exclude = p.days.iter().any(|d| {
            d.attention_failures > cfg.protocol.max_attention_failures
                || d.code_kind.as_deref() == Some("screened_out")
        });
        let completed = p.days.iter().filter(|d| d.status == "completed").count() as u32;
        p.exclude_longitudinal = completed < cfg.protocol.days;
        p.flagged = p.days.iter().any(|d| !d.flags.is_empty());
    }
    Ok(out)
}

/// The flags of every study of the database at `db`, each scored with the configuration the
/// database stored for it: `(study id, flags)`.
pub fn exclusion_flags_of_db(db: &std::path::Path) -> Result<Vec<(String, Vec<ParticipantFlags>)>> {
    let conn = crate::db::open(db, false)?;
    let mut st = conn
        .prepare("SELECT id, config_json FROM study ORDER BY id")
        .map_err(db_err(db, "read studies"))?;
    let studies = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(db_err(db, "read studies"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err(db, "read studies"))?;
    let mut out = Vec::new();
    for (id, json) in studies {
        let cfg: StudyConfig = serde_json::from_str(&json).map_err(|e| {
            crate::error::HumanError::config(
                &db.display().to_string(),
                format!("study {id}"),
                format!("stored configuration does not parse: {e}"),
            )
        })?;
        out.push((id, exclusion_flags(&conn, &cfg)?));
    }
    Ok(out)
}
