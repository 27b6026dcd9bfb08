//! `sweep status`: each row's state read from its run directory, not from the scheduler (Slurm
//! without accounting forgets finished jobs; a run directory does not).

use std::collections::BTreeMap;
use std::path::PathBuf;

use learnscope_store::{sha256_hex, RunReader, RunStatus, MANIFEST_FILE};

use crate::plan::Plan;

/// The state of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RowState {
    /// The manifest's status (running may mean "died without saying so").
    Run(RunStatusKey),
    /// No run directory (or no manifest in it) yet.
    NotStarted,
    /// The run directory holds another configuration.
    Stale,
    /// The run directory cannot be read.
    Unreadable,
}

/// [`RunStatus`] with an order (for counting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunStatusKey {
    /// Completed.
    Completed,
    /// Diverged.
    Diverged,
    /// Interrupted (resumable).
    Interrupted,
    /// Running (or died).
    Running,
    /// Failed.
    Failed,
}

impl From<RunStatus> for RunStatusKey {
    fn from(s: RunStatus) -> Self {
        match s {
            RunStatus::Completed => RunStatusKey::Completed,
            RunStatus::Diverged => RunStatusKey::Diverged,
            RunStatus::Interrupted => RunStatusKey::Interrupted,
            RunStatus::Running => RunStatusKey::Running,
            RunStatus::Failed => RunStatusKey::Failed,
        }
    }
}

impl RowState {
    /// The state's name as printed.
    pub fn name(self) -> &'static str {
        match self {
            RowState::NotStarted => "not started",
            RowState::Run(RunStatusKey::Completed) => "completed",
            RowState::Run(RunStatusKey::Diverged) => "diverged",
            RowState::Run(RunStatusKey::Interrupted) => "interrupted",
            RowState::Run(RunStatusKey::Running) => "running",
            RowState::Run(RunStatusKey::Failed) => "failed",
            RowState::Stale => "stale (another configuration)",
            RowState::Unreadable => "unreadable",
        }
    }

    /// True for a run that ended with a result (completed or diverged).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RowState::Run(RunStatusKey::Completed) | RowState::Run(RunStatusKey::Diverged)
        )
    }
}

/// One row's state and what else its directory says.
#[derive(Debug, Clone)]
pub struct RowStatus {
    /// The row index.
    pub index: usize,
    /// The run directory.
    pub dir: PathBuf,
    /// The state.
    pub state: RowState,
    /// The last step with metrics, when there are any.
    pub last_step: Option<u64>,
    /// The latest checkpoint's step.
    pub checkpoint: Option<u64>,
    /// The manifest's error, or why the directory is unreadable or stale.
    pub detail: Option<String>,
}

/// Every row's status.
pub fn sweep_status(plan: &Plan) -> Vec<RowStatus> {
    sweep_status_with_readers(plan)
        .into_iter()
        .map(|(st, _)| st)
        .collect()
}

/// Every row's status with the reader of its run directory when it could be read (the
/// aggregation uses the readers, so each run's metrics are read once).
pub(crate) fn sweep_status_with_readers(plan: &Plan) -> Vec<(RowStatus, Option<RunReader>)> {
    plan.rows
        .iter()
        .map(|row| {
            let dir = plan.run_dir(row);
            let mut st = RowStatus {
                index: row.index,
                dir: dir.clone(),
                state: RowState::NotStarted,
                last_step: None,
                checkpoint: None,
                detail: None,
            };
            if !dir.join(MANIFEST_FILE).is_file() {
                return (st, None);
            }
            match RunReader::open(&dir) {
                Err(e) => {
                    st.state = RowState::Unreadable;
                    st.detail = Some(e.to_string());
                    (st, None)
                }
                Ok(reader) => {
                    if sha256_hex(reader.config_toml.as_bytes()) != row.config_sha256 {
                        st.state = RowState::Stale;
                        st.detail = Some("config.toml differs from the plan row".into());
                    } else {
                        st.state = RowState::Run(reader.manifest.status.into());
                        st.detail = reader.manifest.error.clone();
                    }
                    st.last_step = reader.records().iter().map(|r| r.step).max();
                    st.checkpoint = reader.latest_checkpoint();
                    (st, Some(reader))
                }
            }
        })
        .collect()
}

/// How many rows are in each state.
pub fn count_states(rows: &[RowStatus]) -> BTreeMap<RowState, usize> {
    let mut counts = BTreeMap::new();
    for r in rows {
        *counts.entry(r.state).or_insert(0) += 1;
    }
    counts
}

/// The status as text: a count per state, then one line per row that has not ended with a
/// result.
pub fn format_status(plan: &Plan, rows: &[RowStatus]) -> String {
    let counts = count_states(rows);
    let mut out = format!("{}: {} runs", plan.path.display(), rows.len());
    for (state, n) in &counts {
        out.push_str(&format!(", {n} {}", state.name()));
    }
    out.push('\n');
    for r in rows.iter().filter(|r| !r.state.is_final()) {
        out.push_str(&format!("  row {:>4}  {:<12}", r.index, r.state.name()));
        if let Some(s) = r.last_step {
            out.push_str(&format!("  last step {s}"));
        }
        if let Some(c) = r.checkpoint {
            out.push_str(&format!("  checkpoint {c}"));
        }
        out.push_str(&format!("  {}", r.dir.display()));
        if let Some(d) = &r.detail {
            out.push_str(&format!("  ({d})"));
        }
        out.push('\n');
    }
    out
}
