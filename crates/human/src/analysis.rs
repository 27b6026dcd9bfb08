//! The study's data as the shared analysis input, and the analysis the admin endpoint serves.
//!
//! Why here: people and networks are scored by the same code (`learnscope_stats::responses`),
//! which reads one row per (agent, trial, label). The `responses_long` view of the database is
//! exactly that table (train and probe trials only: practice uses a toy domain and attention
//! checks are not learning trials), so this module only maps view rows to
//! [`ResponseRow`]s and bundles the curves, the per-level mean ± SEM bands and the OCS indices
//! into one JSON-serialisable value.

use std::collections::BTreeMap;
use std::path::Path;

use learnscope_stats::responses::{
    agent_curves, aggregate, AgentCurves, BandPoint, OcsIndices, ResponseRow,
};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::db::db_err;
use crate::error::Result;

/// Every row of `responses_long` (all studies of the database), ordered by agent, day, trial,
/// label.
pub fn read_responses_long(db: &Path) -> Result<Vec<ResponseRow>> {
    let conn = crate::db::open(db, false)?;
    read_responses_long_conn(&conn, None)
}

/// The rows of `responses_long` on an open connection, of one study or of all.
pub fn read_responses_long_conn(
    conn: &Connection,
    study: Option<&str>,
) -> Result<Vec<ResponseRow>> {
    let db = Path::new(conn.path().unwrap_or("(memory)")).to_path_buf();
    let mut st = conn
        .prepare(
            "SELECT agent_kind, agent_id, day, block, global_trial, item, label, level, target, response \
             FROM responses_long WHERE (?1 IS NULL OR study_id = ?1) \
             ORDER BY study_id, agent_id, day, global_trial, label",
        )
        .map_err(db_err(&db, "read responses_long"))?;
    let rows = st
        .query_map([study], |r| {
            Ok(ResponseRow {
                agent_kind: r.get(0)?,
                agent_id: r.get(1)?,
                day: r.get(2)?,
                block: r.get(3)?,
                trial: r.get::<_, i64>(4)? as u64,
                item: r.get(5)?,
                label: r.get(6)?,
                level: r.get(7)?,
                target: r.get(8)?,
                response: r.get(9)?,
            })
        })
        .map_err(db_err(&db, "read responses_long"))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err(&db, "read responses_long"))
}

/// Mean ± SEM bands of one agent kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bands {
    /// Per level: TNR by bin.
    pub tnr: BTreeMap<u32, Vec<BandPoint>>,
    /// Per level: TPR by bin.
    pub tpr: BTreeMap<u32, Vec<BandPoint>>,
    /// Per level: d′ by bin.
    pub d_prime: BTreeMap<u32, Vec<BandPoint>>,
    /// d_OCS by bin.
    pub d_ocs: Vec<BandPoint>,
    /// The label variance by bin (d_OCS's reference).
    pub label_variance: Vec<BandPoint>,
    /// Input sensitivity V_x by bin.
    pub input_sensitivity: Vec<BandPoint>,
}

/// One agent's OCS indices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentIndices {
    /// `human` or `network`.
    pub agent_kind: String,
    /// The agent.
    pub agent_id: String,
    /// The indices.
    #[serde(flatten)]
    pub indices: OcsIndices,
}

/// What `GET /api/v1/admin/studies/{id}/analysis` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisReport {
    /// The study.
    pub study: String,
    /// Number of response rows analysed.
    pub n_rows: usize,
    /// The levels present.
    pub levels: Vec<u32>,
    /// Per agent: curves and indices (`learnscope_stats::agent_curves`).
    pub agents: Vec<AgentCurves>,
    /// Per agent kind: mean ± SEM across agents.
    pub aggregate: BTreeMap<String, Bands>,
    /// The OCS indices, one entry per agent.
    pub indices: Vec<AgentIndices>,
}

/// Analyse `rows` (no rows: an empty report).
pub fn analyse(study: &str, rows: &[ResponseRow]) -> Result<AnalysisReport> {
    let agents = if rows.is_empty() {
        Vec::new()
    } else {
        agent_curves(rows)?
    };
    let mut levels: Vec<u32> = rows.iter().map(|r| r.level).collect();
    levels.sort_unstable();
    levels.dedup();
    let mut by_kind: BTreeMap<String, Vec<&AgentCurves>> = BTreeMap::new();
    for a in &agents {
        by_kind.entry(a.agent_kind.clone()).or_default().push(a);
    }
    let level_stat = |agents: &[&AgentCurves],
                      level: u32,
                      f: fn(&learnscope_stats::LevelStats) -> Option<f64>| {
        aggregate(agents, move |a, b| {
            a.bins[b]
                .levels
                .iter()
                .find(|l| l.level == level)
                .and_then(f)
        })
    };
    let aggregate_bands = by_kind
        .iter()
        .map(|(kind, ag)| {
            let per_level = |f: fn(&learnscope_stats::LevelStats) -> Option<f64>| {
                levels
                    .iter()
                    .map(|&l| (l, level_stat(ag, l, f)))
                    .collect::<BTreeMap<_, _>>()
            };
            let bands = Bands {
                tnr: per_level(|s| s.tnr),
                tpr: per_level(|s| s.tpr),
                d_prime: per_level(|s| s.d_prime),
                d_ocs: aggregate(ag, |a, b| Some(a.bins[b].d_ocs)),
                label_variance: aggregate(ag, |a, b| Some(a.bins[b].label_variance)),
                input_sensitivity: aggregate(ag, |a, b| Some(a.bins[b].input_sensitivity)),
            };
            (kind.clone(), bands)
        })
        .collect();
    let indices = agents
        .iter()
        .map(|a| AgentIndices {
            agent_kind: a.agent_kind.clone(),
            agent_id: a.agent_id.clone(),
            indices: a.indices,
        })
        .collect();
    Ok(AnalysisReport {
        study: study.to_string(),
        n_rows: rows.len(),
        levels,
        agents,
        aggregate: aggregate_bands,
        indices,
    })
}
