//! One plan row, idempotently: a row whose run directory already holds its result is skipped,
//! an interrupted one resumes from its checkpoint, a new one starts. So a Slurm array can be
//! resubmitted, a pre-empted task requeued, or `sweep run` started again after Ctrl-C, and only
//! the missing work is done.
//!
//! | run directory | action |
//! |---|---|
//! | absent, or no `manifest.json` yet | start (an empty or partial directory is moved aside first) |
//! | `config.toml` differs from the row's | error ([`SweepError::Stale`]): never mix two plans |
//! | `completed` or `diverged` | skip (both are results; a diverged run would diverge again) |
//! | `interrupted`, `running` or `failed`, with a checkpoint | resume from the latest checkpoint |
//! | `interrupted`, `running` or `failed`, no checkpoint | move aside to `attempts/`, start again |
//!
//! A `running` status left by a process that died (`kill -9`, node failure) is indistinguishable
//! from a live one on another machine; a row must run in one place at a time, which job arrays
//! guarantee.

use std::path::{Path, PathBuf};

use learnscope_repro::{resume_run, start_run, Progress, RunRequest, RunResult};
use learnscope_store::{sha256_hex, RunReader, RunStatus, MANIFEST_FILE};
use learnscope_train::config::RunConfig;
use learnscope_train::StopSignal;

use crate::error::{SweepError, SweepResult};
use crate::plan::{Plan, PlanRow};

/// Where moved-aside attempts go, in the sweep directory.
pub const ATTEMPTS_DIR: &str = "attempts";

/// What a row's run directory calls for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Nothing to do: the run ended with this status.
    Skip(RunStatus),
    /// Train from the start.
    Start,
    /// Continue from the checkpoint at this step.
    Resume(u64),
    /// Move the directory aside (why), then train from the start.
    Restart(String),
}

/// What running a row did.
#[derive(Debug, Clone)]
pub enum RowOutcome {
    /// Already done.
    Skipped(RunStatus),
    /// Trained now (from the start or a checkpoint).
    Ran(RunResult),
}

impl RowOutcome {
    /// The process exit code (DESIGN.md §4): 0 for a skipped completed run.
    pub fn exit_code(&self) -> i32 {
        match self {
            RowOutcome::Skipped(RunStatus::Diverged) => 1,
            RowOutcome::Skipped(_) => 0,
            RowOutcome::Ran(r) => r.exit_code,
        }
    }
}

/// Decides what the run directory `dir` of `row` calls for.
pub fn decide(dir: &Path, row: &PlanRow) -> SweepResult<Action> {
    if !dir.join(MANIFEST_FILE).is_file() {
        let empty = match std::fs::read_dir(dir) {
            Ok(mut entries) => entries.next().is_none(),
            Err(_) => true,
        };
        return Ok(if empty {
            Action::Start
        } else {
            Action::Restart(
                "a run directory without a manifest (the run died while creating it)".into(),
            )
        });
    }
    let reader = RunReader::open(dir).map_err(|e| SweepError::Run {
        index: row.index,
        dir: dir.to_path_buf(),
        why: e.to_string(),
    })?;
    let found = sha256_hex(reader.config_toml.as_bytes());
    if found != row.config_sha256 {
        return Err(SweepError::Stale {
            dir: dir.to_path_buf(),
            index: row.index,
            expected: row.config_sha256.clone(),
            found,
        });
    }
    let status = reader.manifest.status;
    Ok(match status {
        RunStatus::Completed | RunStatus::Diverged => Action::Skip(status),
        RunStatus::Interrupted | RunStatus::Running | RunStatus::Failed => {
            match reader.latest_checkpoint() {
                Some(step) => Action::Resume(step),
                None => Action::Restart(format!("status `{}` and no checkpoint", status.name())),
            }
        }
    })
}

/// Moves `dir` to `SWEEP_DIR/attempts/<id>.<k>` (the first free k), keeping what it holds.
fn move_aside(plan: &Plan, row: &PlanRow, dir: &Path) -> SweepResult<PathBuf> {
    let attempts = plan.dir.join(ATTEMPTS_DIR);
    std::fs::create_dir_all(&attempts).map_err(|e| SweepError::io(&attempts, e))?;
    for k in 1.. {
        let to = attempts.join(format!("{}.{k}", row.id));
        if !to.exists() {
            std::fs::rename(dir, &to).map_err(|e| SweepError::io(dir, e))?;
            return Ok(to);
        }
    }
    unreachable!("some attempt number is free")
}

/// Runs plan row `index` (see the module documentation); `log` hears what is done and why.
pub fn run_row(
    plan: &Plan,
    index: usize,
    stop: &StopSignal,
    progress: Option<Progress>,
    log: &dyn Fn(&str),
) -> SweepResult<RowOutcome> {
    let row = plan.row(index)?;
    let dir = plan.run_dir(row);
    let run_err = |why: String| SweepError::Run {
        index,
        dir: dir.clone(),
        why,
    };
    let action = decide(&dir, row)?;
    match &action {
        Action::Skip(status) => {
            log(&format!(
                "row {index}: {} already {}; skipped",
                dir.display(),
                status.name()
            ));
            return Ok(RowOutcome::Skipped(*status));
        }
        Action::Resume(step) => {
            log(&format!(
                "row {index}: resuming {} from step {step}",
                dir.display()
            ));
            let result = resume_run(&dir, stop, progress).map_err(|e| run_err(e.to_string()))?;
            return Ok(RowOutcome::Ran(result));
        }
        Action::Restart(why) => {
            let to = move_aside(plan, row, &dir)?;
            log(&format!(
                "row {index}: {why}; moved to {}, starting again",
                to.display()
            ));
        }
        Action::Start => {}
    }
    let config = RunConfig::parse(&row.config, &[]).map_err(|e| run_err(e.to_string()))?;
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| SweepError::io(parent, e))?;
    }
    let req = RunRequest {
        config,
        out: Some(dir.clone()),
        runs_root: plan.dir.clone(),
        reproduce: None,
    };
    let result = start_run(&req, stop, progress).map_err(|e| run_err(e.to_string()))?;
    Ok(RowOutcome::Ran(result))
}
