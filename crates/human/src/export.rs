//! Exports of a study's data: long CSV, wide JSON per session, and a Psych-DS dataset (zip).
//!
//! Why these three: the long CSV (one row per trial × label, jsPsych column names where they
//! apply: `trial_type` = phase, `trial_index` = global_trial, `time_elapsed`, `rt`) is what the
//! analysis and R/Python read; the wide JSON keeps each session whole (trials with their label
//! decisions, attention checks, survey answers, events) for audit; Psych-DS is the shareable,
//! validator-checked dataset: `dataset_description.json` (schema.org JSON-LD whose
//! `variableMeasured` lists every column) and one `data/study-…_subject-…_session-…_data.csv`
//! per participant and day. Participants appear only as their public codes (`p001`); no HMAC,
//! token or recruitment ID leaves the database.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::config::{StudyConfig, PRACTICE_LABELS};
use crate::db::db_err;
use crate::error::{HumanError, Result};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Long CSV, one row per trial × label.
    Csv,
    /// JSON, one object per session.
    Json,
    /// A Psych-DS dataset as a zip file.
    PsychDs,
}

/// The columns of the long CSV (and of every Psych-DS data file), with their descriptions.
pub const COLUMNS: [(&str, &str); 23] = [
    ("study", "study id"),
    ("participant", "public participant code (p001, …)"),
    ("day", "day of the study, from 1"),
    ("trial_type", "phase: practice, train, probe or attention"),
    (
        "trial_index",
        "trial number within the day, from 0 (global_trial)",
    ),
    ("block", "block within the day (-1: practice)"),
    ("trial_in_block", "trial number within the block, from 0"),
    ("item", "canonical item index (empty for practice)"),
    ("image", "stimulus number shown"),
    ("feedback", "1 if feedback was shown after the response"),
    (
        "time_elapsed",
        "ms since the start of the day's session (client clock)",
    ),
    ("rt", "response time in ms: submit minus stimulus onset"),
    (
        "onset_ms",
        "stimulus onset, ms on the client's performance clock",
    ),
    (
        "submit_ms",
        "submit time, ms on the client's performance clock",
    ),
    ("client_ts", "client wall-clock time of the submit"),
    ("label", "canonical label index (practice: toy label index)"),
    (
        "label_text",
        "the word shown on the label's button (permuted per participant)",
    ),
    (
        "level",
        "label level: 0 root, 1 superordinate, …, -1 the attention label",
    ),
    ("target", "1 if the label applies to the item"),
    ("response", "1 if the participant selected the label"),
    (
        "first_click_ms",
        "ms from onset to the first click on the label (empty: never clicked)",
    ),
    ("n_toggles", "number of clicks on the label"),
    ("server_ts", "server time the trial was stored"),
];

/// One long row as strings, in [`COLUMNS`] order; plus the sort key (participant seq, day).
type LongRow = (String, u32, Vec<String>);

fn opt_f(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn opt_i(v: Option<i64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(rows: &[&Vec<String>]) -> String {
    let mut out = COLUMNS.iter().map(|c| c.0).collect::<Vec<_>>().join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

fn long_rows(conn: &Connection, cfg: &StudyConfig) -> Result<Vec<LongRow>> {
    let db = Path::new(conn.path().unwrap_or("(memory)")).to_path_buf();
    let labels = cfg.labels();
    let attention = cfg.attention_label();
    // The word each participant saw on each label (a seeded permutation per participant).
    let mut words_of: std::collections::HashMap<String, Vec<usize>> = Default::default();
    {
        let mut st = conn
            .prepare("SELECT public_code, seed FROM participant WHERE study_id = ?1")
            .map_err(db_err(&db, "export"))?;
        let seeds = st
            .query_map([&cfg.study.id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(db_err(&db, "export"))?;
        for row in seeds {
            let (code, seed) = row.map_err(db_err(&db, "export"))?;
            let plan = crate::schedule::ParticipantPlan::new(cfg, seed as u64);
            words_of.insert(code, plan.word_of_label);
        }
    }
    let mut st = conn
        .prepare(
            "SELECT p.public_code, s.day, t.phase, t.global_trial, t.block, t.trial_in_block, t.item, t.image, \
             t.feedback, t.time_elapsed_ms, t.rt_ms, t.onset_ms, t.submit_ms, t.client_ts, r.label, r.level, \
             r.target, r.selected, r.first_click_ms, r.n_toggles, t.server_ts \
             FROM label_response r JOIN trial t ON t.id = r.trial_id JOIN session s ON s.id = t.session_id \
             JOIN participant p ON p.id = s.participant_id WHERE p.study_id = ?1 \
             ORDER BY p.seq, s.day, t.global_trial, r.label",
        )
        .map_err(db_err(&db, "export"))?;
    let rows = st
        .query_map([&cfg.study.id], |r| {
            let code: String = r.get(0)?;
            let day: u32 = r.get(1)?;
            let phase: String = r.get(2)?;
            let label: i64 = r.get(14)?;
            let text = if phase == "practice" {
                PRACTICE_LABELS.get(label as usize).map(|l| l.0.to_string())
            } else if label as usize == attention.label {
                Some(attention.text.clone())
            } else {
                let shown = words_of
                    .get(&code)
                    .and_then(|w| w.get(label as usize).copied())
                    .unwrap_or(label as usize);
                labels.get(shown).map(|l| l.text.clone())
            }
            .unwrap_or_default();
            let fields = vec![
                cfg.study.id.clone(),
                code.clone(),
                day.to_string(),
                phase,
                r.get::<_, i64>(3)?.to_string(),
                r.get::<_, i64>(4)?.to_string(),
                r.get::<_, i64>(5)?.to_string(),
                opt_i(r.get(6)?),
                r.get::<_, i64>(7)?.to_string(),
                r.get::<_, i64>(8)?.to_string(),
                opt_f(r.get(9)?),
                opt_f(r.get(10)?),
                opt_f(r.get(11)?),
                opt_f(r.get(12)?),
                r.get::<_, Option<String>>(13)?.unwrap_or_default(),
                label.to_string(),
                text,
                r.get::<_, i64>(15)?.to_string(),
                r.get::<_, i64>(16)?.to_string(),
                r.get::<_, i64>(17)?.to_string(),
                opt_f(r.get(18)?),
                r.get::<_, i64>(19)?.to_string(),
                r.get::<_, String>(20)?,
            ];
            Ok((code, day, fields))
        })
        .map_err(db_err(&db, "export"))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err(&db, "export"))
}

/// The long CSV of a study.
pub fn csv_long(conn: &Connection, cfg: &StudyConfig) -> Result<String> {
    let rows = long_rows(conn, cfg)?;
    Ok(csv(&rows.iter().map(|r| &r.2).collect::<Vec<_>>()))
}

/// The wide JSON of a study: `{"study", "sessions": [{participant, day, …, trials: […]}]}`.
pub fn json_wide(conn: &Connection, cfg: &StudyConfig) -> Result<Value> {
    let db = Path::new(conn.path().unwrap_or("(memory)")).to_path_buf();
    let e = |what: &'static str| db_err(&db, what);
    let mut sessions = Vec::new();
    let mut st = conn
        .prepare(
            "SELECT s.id, p.public_code, s.day, s.status, s.started_at, s.completed_at, s.completion_code_kind, \
             s.consent_version, s.consent_at, s.browser, s.browser_major, s.os, s.screen_w, s.screen_h, s.n_trials, \
             p.condition \
             FROM session s JOIN participant p ON p.id = s.participant_id WHERE p.study_id = ?1 ORDER BY p.seq, s.day",
        )
        .map_err(e("export sessions"))?;
    let heads = st
        .query_map([&cfg.study.id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                json!({
                    "participant": r.get::<_, String>(1)?,
                    "day": r.get::<_, i64>(2)?,
                    "status": r.get::<_, String>(3)?,
                    "started_at": r.get::<_, String>(4)?,
                    "completed_at": r.get::<_, Option<String>>(5)?,
                    "code_kind": r.get::<_, Option<String>>(6)?,
                    "consent_version": r.get::<_, Option<String>>(7)?,
                    "consent_at": r.get::<_, Option<String>>(8)?,
                    "browser": {"family": r.get::<_, Option<String>>(9)?, "major": r.get::<_, Option<i64>>(10)?,
                                "os": r.get::<_, Option<String>>(11)?},
                    "screen": {"w": r.get::<_, Option<i64>>(12)?, "h": r.get::<_, Option<i64>>(13)?},
                    "n_trials": r.get::<_, i64>(14)?,
                    "condition": r.get::<_, String>(15)?,
                }),
            ))
        })
        .map_err(e("export sessions"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e("export sessions"))?;
    let mut tr = conn
        .prepare(
            "SELECT id, global_trial, block, trial_in_block, phase, item, image, feedback, onset_ms, submit_ms, \
             rt_ms, time_elapsed_ms, client_ts, server_ts, n_selected FROM trial WHERE session_id = ?1 ORDER BY global_trial",
        )
        .map_err(e("export trials"))?;
    let mut lr = conn
        .prepare(
            "SELECT label, level, target, selected, first_click_ms, n_toggles FROM label_response \
             WHERE trial_id = ?1 ORDER BY label",
        )
        .map_err(e("export labels"))?;
    for (sid, mut head) in heads {
        let trials = tr
            .query_map([sid], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    json!({
                        "global_trial": r.get::<_, i64>(1)?, "block": r.get::<_, i64>(2)?,
                        "trial_in_block": r.get::<_, i64>(3)?, "phase": r.get::<_, String>(4)?,
                        "item": r.get::<_, Option<i64>>(5)?, "image": r.get::<_, i64>(6)?,
                        "feedback": r.get::<_, bool>(7)?, "onset_ms": r.get::<_, Option<f64>>(8)?,
                        "submit_ms": r.get::<_, Option<f64>>(9)?, "rt_ms": r.get::<_, Option<f64>>(10)?,
                        "time_elapsed_ms": r.get::<_, Option<f64>>(11)?, "client_ts": r.get::<_, Option<String>>(12)?,
                        "server_ts": r.get::<_, String>(13)?, "n_selected": r.get::<_, i64>(14)?,
                    }),
                ))
            })
            .map_err(e("export trials"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(e("export trials"))?;
        let mut out = Vec::with_capacity(trials.len());
        for (tid, mut t) in trials {
            let labels = lr
                .query_map([tid], |r| {
                    Ok(json!({
                        "label": r.get::<_, i64>(0)?, "level": r.get::<_, i64>(1)?, "target": r.get::<_, bool>(2)?,
                        "selected": r.get::<_, bool>(3)?, "first_click_ms": r.get::<_, Option<f64>>(4)?,
                        "n_toggles": r.get::<_, i64>(5)?,
                    }))
                })
                .map_err(e("export labels"))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(e("export labels"))?;
            t["labels"] = Value::Array(labels);
            out.push(t);
        }
        head["trials"] = Value::Array(out);
        head["attention_checks"] = query_json(
            conn,
            &db,
            "SELECT check_idx, global_trial, passed FROM attention_check WHERE session_id = ?1 ORDER BY check_idx",
            sid,
            |r| Ok(json!({"check_idx": r.get::<_, i64>(0)?, "global_trial": r.get::<_, i64>(1)?, "passed": r.get::<_, bool>(2)?})),
        )?;
        let survey = query_json(
            conn,
            &db,
            "SELECT key, value FROM survey WHERE session_id = ?1 ORDER BY key",
            sid,
            |r| {
                Ok(json!([
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?
                ]))
            },
        )?;
        let survey: serde_json::Map<String, Value> = survey
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|kv| Some((kv[0].as_str()?.to_string(), kv[1].clone())))
            .collect();
        head["survey"] = Value::Object(survey);
        head["events"] = query_json(
            conn,
            &db,
            "SELECT t_ms, kind, payload_json FROM event WHERE session_id = ?1 ORDER BY id",
            sid,
            |r| {
                let payload: Option<String> = r.get(2)?;
                Ok(json!({
                    "t_ms": r.get::<_, Option<f64>>(0)?, "kind": r.get::<_, String>(1)?,
                    "payload": payload.and_then(|p| serde_json::from_str::<Value>(&p).ok()),
                }))
            },
        )?;
        sessions.push(head);
    }
    Ok(json!({
        "study": cfg.study.id,
        "labels": cfg.labels(),
        "attention_label": cfg.attention_label(),
        "sessions": sessions,
    }))
}

fn query_json(
    conn: &Connection,
    db: &Path,
    sql: &str,
    id: i64,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<Value>,
) -> Result<Value> {
    let mut st = conn.prepare_cached(sql).map_err(db_err(db, "export"))?;
    let rows = st
        .query_map([id], f)
        .map_err(db_err(db, "export"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err(db, "export"))?;
    Ok(Value::Array(rows))
}

/// A Psych-DS keyword value: the alphanumeric characters of `s` (Psych-DS values are
/// `[a-zA-Z0-9]+`, so `ocs-pilot` becomes `ocspilot`).
pub fn psychds_value(s: &str) -> String {
    let v: String = s.chars().filter(char::is_ascii_alphanumeric).collect();
    if v.is_empty() {
        "x".into()
    } else {
        v
    }
}

/// The Psych-DS data file name of one participant and day.
pub fn psychds_file_name(study: &str, participant: &str, day: u32) -> String {
    format!(
        "data/study-{}_subject-{}_session-{day}_data.csv",
        psychds_value(study),
        psychds_value(participant)
    )
}

/// The `dataset_description.json` of a study.
pub fn dataset_description(cfg: &StudyConfig) -> Value {
    let vars: Vec<Value> = COLUMNS
        .iter()
        .map(|(name, description)| json!({"@type": "PropertyValue", "name": name, "description": description}))
        .collect();
    json!({
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": format!("{} ({})", cfg.study.title, cfg.study.id),
        "description": format!(
            "learnscope human study `{}`: multi-label category learning of {} novel items with {} labels over {} day(s); \
             one row per trial and label. Participants are identified only by study-specific codes. \
             Consent version {}; ethics reference {}.",
            cfg.study.id, cfg.n_items(), cfg.n_labels(), cfg.protocol.days,
            cfg.study.consent_version, cfg.study.ethics_reference
        ),
        "variableMeasured": vars,
    })
}

/// The Psych-DS dataset of a study as zip bytes.
pub fn psychds_zip(conn: &Connection, cfg: &StudyConfig, out_name: &Path) -> Result<Vec<u8>> {
    let rows = long_rows(conn, cfg)?;
    let mut files: BTreeMap<(String, u32), Vec<&Vec<String>>> = BTreeMap::new();
    for (code, day, fields) in &rows {
        files.entry((code.clone(), *day)).or_default().push(fields);
    }
    let zerr = |e: zip::result::ZipError| HumanError::Export {
        path: out_name.to_path_buf(),
        message: e.to_string(),
    };
    let ioerr = |e: std::io::Error| HumanError::Export {
        path: out_name.to_path_buf(),
        message: e.to_string(),
    };
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let desc = serde_json::to_string_pretty(&dataset_description(cfg)).expect("json");
    zip.start_file("dataset_description.json", opts)
        .map_err(zerr)?;
    zip.write_all(desc.as_bytes()).map_err(ioerr)?;
    zip.add_directory("data/", opts).map_err(zerr)?;
    for ((code, day), rows) in &files {
        zip.start_file(psychds_file_name(&cfg.study.id, code, *day), opts)
            .map_err(zerr)?;
        zip.write_all(csv(rows).as_bytes()).map_err(ioerr)?;
    }
    Ok(zip.finish().map_err(zerr)?.into_inner())
}

/// The export of `format` as bytes.
pub fn export_bytes(conn: &Connection, cfg: &StudyConfig, format: ExportFormat) -> Result<Vec<u8>> {
    match format {
        ExportFormat::Csv => csv_long(conn, cfg).map(String::into_bytes),
        ExportFormat::Json => {
            json_wide(conn, cfg).map(|v| serde_json::to_vec_pretty(&v).expect("json"))
        }
        ExportFormat::PsychDs => psychds_zip(conn, cfg, Path::new("(response)")),
    }
}

/// Export `study` from the database `db` to the file `out` (a zip file for Psych-DS).
pub fn export(db: &Path, study: &str, format: ExportFormat, out: &Path) -> Result<()> {
    let conn = crate::db::open(db, false)?;
    let cfg = crate::db::stored_config(&conn, db, study)?;
    let bytes = match format {
        ExportFormat::PsychDs => psychds_zip(&conn, &cfg, out)?,
        f => export_bytes(&conn, &cfg, f)?,
    };
    std::fs::write(out, bytes).map_err(|e| HumanError::Export {
        path: out.to_path_buf(),
        message: e.to_string(),
    })
}
