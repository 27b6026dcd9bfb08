//! `sweep aggregate SWEEP_DIR`: every finished run's metrics in one long Parquet table,
//! `SWEEP_DIR/sweep.parquet` (the columns of `metrics.parquet`, then `run` (the row's id) and one
//! string column per config key, so `df.groupby(["lr.base", "step"])` works in pandas), and one
//! report, `SWEEP_DIR/report.html`, where runs that differ only by seed become mean ± sd bands and
//! the other axes are overlaid, labelled by the keys that differ.
//!
//! Runs that ended with a result (completed or diverged) are aggregated; the others are listed
//! as missing (never started) or incomplete (running, interrupted, failed, stale), so an
//! aggregation job that runs `afterany` says what is not there yet.

use std::path::PathBuf;

use learnscope_report::{flatten_config, Report, RunInput};
use learnscope_store::{write_export_parquet, ExportRun};

use crate::error::{SweepError, SweepResult};
use crate::plan::Plan;
use crate::status::{sweep_status_with_readers, RowState, RowStatus};

/// The Parquet file's name in the sweep directory.
pub const SWEEP_PARQUET: &str = "sweep.parquet";
/// The report's name in the sweep directory.
pub const SWEEP_REPORT: &str = "report.html";

/// What an aggregation wrote and found.
#[derive(Debug, Clone)]
pub struct AggregateSummary {
    /// `SWEEP_DIR/sweep.parquet`.
    pub parquet: PathBuf,
    /// `SWEEP_DIR/report.html`, when asked for.
    pub report: Option<PathBuf>,
    /// Runs aggregated.
    pub runs: usize,
    /// Metric rows written.
    pub metric_rows: usize,
    /// Rows never started.
    pub missing: Vec<RowStatus>,
    /// Rows started that have no result (running, interrupted, failed, stale, unreadable).
    pub incomplete: Vec<RowStatus>,
}

impl AggregateSummary {
    /// 0 when every row is aggregated, 1 when some are missing or incomplete (flagged).
    pub fn exit_code(&self) -> i32 {
        i32::from(!(self.missing.is_empty() && self.incomplete.is_empty()))
    }
}

/// Aggregates the finished runs of `plan` (see the module documentation).
pub fn aggregate_sweep(plan: &Plan, with_report: bool) -> SweepResult<AggregateSummary> {
    let mut missing = Vec::new();
    let mut incomplete = Vec::new();
    let mut inputs: Vec<(String, RunInput)> = Vec::new();
    for (st, reader) in sweep_status_with_readers(plan) {
        if let (true, Some(reader)) = (st.state.is_final(), reader) {
            let row = &plan.rows[st.index];
            let input = RunInput::from_reader(reader).map_err(|e| SweepError::Run {
                index: st.index,
                dir: st.dir.clone(),
                why: e.to_string(),
            })?;
            inputs.push((row.id.clone(), input));
        } else if st.state == RowState::NotStarted {
            missing.push(st);
        } else {
            incomplete.push(st);
        }
    }
    let configs: Vec<_> = inputs
        .iter()
        .map(|(_, r)| flatten_config(&r.config))
        .collect();
    let export: Vec<ExportRun<'_>> = inputs
        .iter()
        .zip(&configs)
        .map(|((id, run), config)| ExportRun {
            name: id,
            records: run.reader.records(),
            config,
        })
        .collect();
    let parquet = plan.dir.join(SWEEP_PARQUET);
    write_export_parquet(&parquet, &export).map_err(|e| SweepError::Other(e.to_string()))?;
    let metric_rows = export.iter().map(|r| r.records.len()).sum();
    drop(export);
    let runs = inputs.len();
    let report = if with_report && runs > 0 {
        let path = plan.dir.join(SWEEP_REPORT);
        let report = Report {
            runs: inputs.into_iter().map(|(_, r)| r).collect(),
            verdicts: Vec::new(),
        };
        std::fs::write(&path, report.to_html()).map_err(|e| SweepError::io(&path, e))?;
        Some(path)
    } else {
        None
    };
    Ok(AggregateSummary {
        parquet,
        report,
        runs,
        metric_rows,
        missing,
        incomplete,
    })
}
