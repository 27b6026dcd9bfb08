//! `sweep run SWEEP_DIR [--jobs K]`: the plan's rows on a local pool of K threads, each row
//! through [`run_row`] (so completed rows are skipped and interrupted ones resume). K defaults to
//! cores ÷ engine threads (the largest `threads` of the plan; 0 counts as all cores), and a
//! larger K is lowered to that, so jobs × engine threads ≤ cores: oversubscribed cores would
//! only make every run slower and the timings meaningless.
//!
//! SIGINT/SIGTERM/SIGUSR1 (one shared [`StopSignal`]) reach every running row: each writes a
//! checkpoint and stops, rows not yet started are not started, and `sweep run` again resumes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use learnscope_repro::reproduce::pool_jobs;
use learnscope_store::RunStatus;
use learnscope_train::config::RunConfig;
use learnscope_train::StopSignal;

use crate::execute::{run_row, RowOutcome};
use crate::plan::Plan;

/// How one row of a pool ended.
#[derive(Debug, Clone)]
pub struct PoolRow {
    /// The row.
    pub index: usize,
    /// The outcome, or the error text.
    pub outcome: Result<RowOutcome, String>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The pool's result.
#[derive(Debug, Clone)]
pub struct PoolSummary {
    /// Jobs used.
    pub jobs: usize,
    /// Every row that was taken up, in index order (rows not started after a stop are absent).
    pub rows: Vec<PoolRow>,
    /// Wall-clock seconds of the whole pool.
    pub seconds: f64,
}

impl PoolSummary {
    /// The exit code: a signal's code if the pool was stopped; else 1 if any row failed or
    /// diverged; else 0.
    pub fn exit_code(&self, planned: usize) -> i32 {
        let mut code = 0;
        for r in &self.rows {
            match &r.outcome {
                Err(_) => code = code.max(1),
                Ok(o) => {
                    let c = o.exit_code();
                    if c > 1 {
                        return c;
                    }
                    code = code.max(c);
                }
            }
        }
        if self.rows.len() < planned {
            code = code.max(1);
        }
        code
    }
}

/// The engine threads a plan's runs use (the largest `threads`; 0 = every core).
pub fn engine_threads(plan: &Plan, cores: usize) -> usize {
    plan.rows
        .iter()
        .filter_map(|r| RunConfig::parse(&r.config, &[]).ok())
        .map(|c| if c.threads == 0 { cores } else { c.threads })
        .max()
        .unwrap_or(1)
}

/// Runs every row of `plan` on at most `jobs` threads (see the module documentation); `log`
/// hears of each row as it finishes.
pub fn run_pool(
    plan: &Plan,
    jobs: Option<usize>,
    cores: usize,
    stop: &StopSignal,
    log: &(dyn Fn(&str) + Sync),
) -> PoolSummary {
    let engine = engine_threads(plan, cores);
    let most = pool_jobs(engine, cores);
    let jobs = jobs
        .map_or(most, |j| j.clamp(1, most))
        .min(plan.rows.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<PoolRow>> = Mutex::new(Vec::new());
    let start = Instant::now();
    let n = plan.rows.len();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                if stop.requested().is_some() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                let quiet = |_: &str| {};
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_row(plan, i, stop, None, &quiet)
                }))
                .map_err(|p| {
                    let what = p
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| p.downcast_ref::<&str>().copied())
                        .unwrap_or("(no message)");
                    format!("the run panicked: {what}")
                })
                .and_then(|r| r.map_err(|e| e.to_string()));
                let seconds = t.elapsed().as_secs_f64();
                let k = done.fetch_add(1, Ordering::SeqCst) + 1;
                let what = match &outcome {
                    Ok(RowOutcome::Skipped(s)) => format!("already {}, skipped", s.name()),
                    Ok(RowOutcome::Ran(r)) => match r.status {
                        RunStatus::Completed => format!("completed in {seconds:.1} s"),
                        s => format!("{} (exit {}) after {seconds:.1} s", s.name(), r.exit_code),
                    },
                    Err(e) => format!("error: {e}"),
                };
                log(&format!("[{k}/{n}] row {i} ({}): {what}", plan.rows[i].id));
                results
                    .lock()
                    .expect("no thread panics holding the lock")
                    .push(PoolRow {
                        index: i,
                        outcome,
                        seconds,
                    });
            });
        }
    });
    let mut rows = results.into_inner().expect("the pool threads ended");
    rows.sort_by_key(|r| r.index);
    PoolSummary {
        jobs,
        rows,
        seconds: start.elapsed().as_secs_f64(),
    }
}
