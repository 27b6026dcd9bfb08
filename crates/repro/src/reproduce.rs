//! `reproduce`: a preset's runs on a local pool, then its verdict (DESIGN.md §4).
//!
//! [`reproduce`] plans the runs of a [`Preset`] at a [`Size`] (one per arm and seed), trains
//! them into `OUT/runs/<arm>-seed<S>/` on a pool of `jobs` threads, each manifest's `reproduce`
//! field set to `{name, size, arm, seed, row_ids}` from the start, measures every row (one number per
//! seed, from the run's records or computed in process), and writes `OUT/verdict.json` (the
//! rows, [`VerdictRow`]) and `OUT/verdict.md` (the same table in Markdown).
//!
//! Pool size: `jobs × engine threads ≤ cores`, with engine threads = the run's `threads`
//! (0 = all cores, so one job at a time) and cores = `std::thread::available_parallelism`.
//!
//! Exit code: 1 if an identity row failed, or any row under `strict`; 2 if a run failed with
//! an error (the verdict is still written, the rows reading that run fail); a run interrupted
//! by a signal returns its own code (3, 130, 143) and no verdict is written. A diverged run is
//! a result, not an error: rows read what it recorded (non-finite values fail them).
//!
//! The gradient-check metric ([`gradcheck_residual`]) builds the run's model and data from its
//! configuration, takes the full training split as one batch, and compares the analytic
//! gradient of the training loss at initialisation with central differences over every
//! parameter entry, using the step and tolerances of [`learnscope_nn::gradcheck::GradCheck`]:
//! h = 1e-6·max(1, |θᵢ|), residual rᵢ = |fdᵢ − gᵢ| / (max(|fdᵢ|, |gᵢ|) + (floor/rel_tol)·max(1, |L|))
//! with floor = 1e-9, rel_tol = 1e-6, so rᵢ ≤ 1e-6 is exactly `GradCheck`'s pass condition
//! |fdᵢ − gᵢ| ≤ 1e-6·max(|fdᵢ|, |gᵢ|) + 1e-9·max(1, |L|). The metric is max rᵢ.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use learnscope_core::DType;
use learnscope_data::{Batch, Split};
use learnscope_models::TapRequest;
use learnscope_nn::gradcheck::GradCheck;
use learnscope_nn::{CpuBackend, ForwardCtx, Mode, RandomKey, Tensor};
use learnscope_store::{RunReader, RunStatus, UtcDateTime};
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;
use learnscope_train::StopSignal;

use crate::preset::{Computed, PlannedRun, Preset, PresetError, Size};
use crate::runner::{start_run, RunRequest};
use crate::verdict::{markdown_table, verdict_exit_code, VerdictRow};

/// Why a reproduction could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ReproduceError {
    /// The preset.
    #[error(transparent)]
    Preset(#[from] PresetError),
    /// The output directory.
    #[error("{path}: {why}")]
    Out {
        /// The directory or file.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

/// What to reproduce and where.
#[derive(Debug, Clone)]
pub struct ReproduceRequest {
    /// The preset.
    pub preset: Preset,
    /// smoke, quick or full.
    pub size: Size,
    /// The output directory (created; must not hold a verdict or runs yet).
    pub out: PathBuf,
    /// Overrides applied to every run after the preset's own (testing, exploration).
    pub extra_sets: Vec<String>,
    /// Exit 1 on any failing row, not only identity rows.
    pub strict: bool,
    /// Parallel runs (default: cores / engine threads).
    pub jobs: Option<usize>,
}

/// How one run of a reproduction ended.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// `<arm>-seed<S>`.
    pub id: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its status, or the error that stopped it.
    pub status: Result<RunStatus, String>,
    /// Its exit code (2 for an error).
    pub exit_code: i32,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The result of [`reproduce`].
#[derive(Debug, Clone)]
pub struct ReproduceOutcome {
    /// The output directory.
    pub out: PathBuf,
    /// The runs.
    pub runs: Vec<RunSummary>,
    /// The verdict rows (empty when interrupted).
    pub rows: Vec<VerdictRow>,
    /// The process exit code.
    pub exit_code: i32,
    /// The Markdown table (also `verdict.md`).
    pub markdown: String,
}

/// `./reproduce/<name>-<size>-<yyyymmdd-hhmmss>/`, with `-2`, `-3`, … appended if it exists.
pub fn default_out_dir(name: &str, size: Size, now: SystemTime) -> PathBuf {
    let stem = format!(
        "{name}-{}-{}",
        size.name(),
        UtcDateTime::from_system_time(now).compact()
    );
    let root = PathBuf::from("reproduce");
    let mut dir = root.join(&stem);
    let mut k = 2;
    while dir.exists() {
        dir = root.join(format!("{stem}-{k}"));
        k += 1;
    }
    dir
}

/// Parallel runs so that jobs × engine threads ≤ cores.
pub fn pool_jobs(engine_threads: usize, cores: usize) -> usize {
    if engine_threads == 0 {
        return 1;
    }
    (cores / engine_threads).max(1)
}

/// The largest gradient-check residual of the training loss at initialisation (module docs).
pub fn gradcheck_residual(cfg: &RunConfig) -> Result<f64, String> {
    if cfg.dtype != DType::F64 {
        return Err("the gradient check needs dtype = \"f64\"".into());
    }
    let be = CpuBackend::new(1);
    let parts = build_parts(cfg, be.clone(), |_| Ok(Vec::new())).map_err(|e| e.to_string())?;
    let (mut model, data, loss) = (parts.model, parts.data, parts.loss);
    let n = data.spec().train_len;
    let indices: Vec<usize> = (0..n).collect();
    let batch = Batch::gather(&be, data.as_ref(), Split::Train, &indices, DType::F64);
    let ctx = ForwardCtx::new(Mode::Probe, 0, RandomKey::root(cfg.seed));
    let err = |e: learnscope_nn::NnError| e.to_string();
    let logits = model
        .forward(&batch.x, &ctx, &TapRequest::None)
        .map_err(err)?
        .logits
        .clone();
    let mut dl = Tensor::zeros(&be, DType::F64, logits.shape());
    let l0 = loss
        .forward_backward(&be, &logits, &batch.targets(), &mut dl)
        .map_err(err)?;
    model.backward(&dl, &TapRequest::None).map_err(err)?;
    let (mut values, mut analytic, mut shapes) = (Vec::new(), Vec::new(), Vec::new());
    model.visit_params(&mut |p| {
        values.push(p.value.to_host_f64(&be));
        analytic.push(p.grad.to_host_f64(&be));
        shapes.push(p.value.shape().to_vec());
    });
    let mut scratch = model.clone_model();
    let mut eval = |vals: &[Vec<f64>]| -> Result<f64, String> {
        let mut i = 0;
        scratch.visit_params_mut(&mut |p| {
            p.value = Tensor::from_f64(&be, DType::F64, &shapes[i], &vals[i]);
            i += 1;
        });
        let logits = scratch
            .forward(&batch.x, &ctx, &TapRequest::None)
            .map_err(err)?
            .logits
            .clone();
        let mut g = Tensor::zeros(&be, DType::F64, logits.shape());
        loss.forward_backward(&be, &logits, &batch.targets(), &mut g)
            .map_err(err)
    };
    let gc = GradCheck::default();
    let floor = gc.abs_floor / gc.rel_tol * l0.abs().max(1.0);
    let mut work = values.clone();
    let mut worst = 0.0f64;
    for (t, vals) in values.iter().enumerate() {
        for (i, &v) in vals.iter().enumerate() {
            let h = gc.rel_step * v.abs().max(1.0);
            work[t][i] = v + h;
            let lp = eval(&work)?;
            work[t][i] = v - h;
            let lm = eval(&work)?;
            work[t][i] = v;
            let numeric = (lp - lm) / (2.0 * h);
            let a = analytic[t][i];
            let r = (numeric - a).abs() / (numeric.abs().max(a.abs()) + floor);
            // NaN propagates: a non-finite gradient must fail the row.
            worst = if r.is_nan() { f64::NAN } else { worst.max(r) };
            if worst.is_nan() {
                return Ok(worst);
            }
        }
    }
    Ok(worst)
}

/// Runs `runs` on `jobs` threads; `log` hears of each finished run.
fn run_pool(
    preset: &str,
    size: Size,
    runs: &[PlannedRun],
    runs_dir: &Path,
    jobs: usize,
    stop: &StopSignal,
    log: &(dyn Fn(&str) + Sync),
) -> Vec<RunSummary> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<RunSummary>>> = Mutex::new(vec![None; runs.len()]);
    std::thread::scope(|s| {
        for _ in 0..jobs.min(runs.len()).max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(run) = runs.get(i) else { break };
                let dir = runs_dir.join(&run.id);
                let start = Instant::now();
                let signal = stop.0.load(Ordering::SeqCst);
                let summary = if signal != 0 {
                    // Not started: a signal already asked every run to stop.
                    RunSummary {
                        id: run.id.clone(),
                        dir,
                        status: Ok(RunStatus::Interrupted),
                        exit_code: match signal {
                            2 => 130,
                            15 => 143,
                            _ => 3,
                        },
                        seconds: 0.0,
                    }
                } else {
                    let req = RunRequest {
                        config: run.config.clone(),
                        out: Some(dir.clone()),
                        runs_root: runs_dir.to_path_buf(),
                        reproduce: Some(serde_json::json!({
                            "name": preset,
                            "size": size.name(),
                            "arm": run.arm,
                            "seed": run.seed,
                            "row_ids": run.row_ids,
                        })),
                    };
                    // A run that panics (a bug) fails alone; the pool goes on with the others.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        start_run(&req, stop, None)
                    }))
                    .map_err(|panic| {
                        let what = panic
                            .downcast_ref::<String>()
                            .map(String::as_str)
                            .or_else(|| panic.downcast_ref::<&str>().copied())
                            .unwrap_or("(no message)");
                        format!("the run panicked: {what}")
                    })
                    .and_then(|r| r.map_err(|e| e.to_string()));
                    let seconds = start.elapsed().as_secs_f64();
                    match result {
                        Ok(r) => RunSummary {
                            id: run.id.clone(),
                            dir: r.dir,
                            status: Ok(r.status),
                            exit_code: r.exit_code,
                            seconds,
                        },
                        Err(e) => RunSummary {
                            id: run.id.clone(),
                            dir,
                            status: Err(e),
                            exit_code: 2,
                            seconds,
                        },
                    }
                };
                let what = match &summary.status {
                    Ok(st) => st.name().to_string(),
                    Err(e) => format!("error: {e}"),
                };
                log(&format!(
                    "run {} {} in {:.1} s",
                    summary.id, what, summary.seconds
                ));
                results.lock().expect("no panics while held")[i] = Some(summary);
            });
        }
    });
    results
        .into_inner()
        .expect("no panics while held")
        .into_iter()
        .flatten()
        .collect()
}

/// Runs a preset and writes its verdict; `log` hears of progress (one line at a time).
pub fn reproduce(
    req: &ReproduceRequest,
    stop: &StopSignal,
    log: &(dyn Fn(&str) + Sync),
) -> Result<ReproduceOutcome, ReproduceError> {
    let preset = &req.preset;
    let plan = preset.plan(req.size, &req.extra_sets)?;
    let out_err = |path: &Path, why: String| ReproduceError::Out {
        path: path.to_path_buf(),
        why,
    };
    let runs_dir = req.out.join("runs");
    if req.out.join("verdict.json").exists()
        || std::fs::read_dir(&runs_dir).is_ok_and(|mut d| d.next().is_some())
    {
        return Err(out_err(
            &req.out,
            "already holds a reproduction; choose a new --out".into(),
        ));
    }
    std::fs::create_dir_all(&runs_dir).map_err(|e| out_err(&runs_dir, e.to_string()))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // `threads = 0` means every core: count it as such before taking the largest.
    let engine = plan
        .iter()
        .map(|r| {
            if r.config.threads == 0 {
                cores
            } else {
                r.config.threads
            }
        })
        .max()
        .unwrap_or(1);
    let jobs = req.jobs.unwrap_or_else(|| pool_jobs(engine, cores)).max(1);
    log(&format!(
        "reproduce {} ({}): {} runs, {} at a time, into {}",
        preset.name(),
        req.size.name(),
        plan.len(),
        jobs.min(plan.len()),
        req.out.display()
    ));
    let runs = run_pool(preset.name(), req.size, &plan, &runs_dir, jobs, stop, log);
    if let Some(r) = runs.iter().find(|r| matches!(r.exit_code, 3 | 130 | 143)) {
        return Ok(ReproduceOutcome {
            out: req.out.clone(),
            exit_code: r.exit_code,
            runs,
            rows: Vec::new(),
            markdown: String::new(),
        });
    }
    let mut rows = Vec::new();
    for row in &preset.toml.verdict {
        if !preset.arm_runs_at(&row.arm, req.size) {
            log(&format!(
                "row {} left out: arm `{}` does not run at size {}",
                row.id,
                row.arm,
                req.size.name()
            ));
            continue;
        }
        let spec = row.spec();
        let (mut values, mut notes) = (Vec::new(), Vec::new());
        for (p, r) in plan.iter().zip(&runs).filter(|(p, _)| p.arm == row.arm) {
            let value = match row.metric.computed {
                Some(Computed::Gradcheck) => gradcheck_residual(&p.config),
                None => match &r.status {
                    Err(e) => Err(format!("run failed: {e}")),
                    Ok(_) => RunReader::open(&r.dir)
                        .map_err(|e| e.to_string())
                        .and_then(|rd| row.metric.from_records(rd.records())),
                },
            };
            match value {
                Ok(v) => values.push(v),
                Err(e) => notes.push(format!("{}: {e}", p.id)),
            }
        }
        rows.push(VerdictRow::measure(&spec, &values, notes));
    }
    let json = serde_json::to_string_pretty(&rows).expect("verdict rows serialise");
    let path = req.out.join("verdict.json");
    learnscope_store::write_file_atomic(&path, format!("{json}\n").as_bytes())
        .map_err(|e| out_err(&path, e.to_string()))?;
    let markdown = markdown_table(&rows);
    let description = preset.toml.description.trim();
    let mut md = format!("# reproduce {} ({})\n\n", preset.name(), req.size.name());
    if !description.is_empty() {
        md.push_str(&format!("{description}\n\n"));
    }
    md.push_str(&markdown);
    let path = req.out.join("verdict.md");
    learnscope_store::write_file_atomic(&path, md.as_bytes())
        .map_err(|e| out_err(&path, e.to_string()))?;
    let mut exit_code = verdict_exit_code(&rows, req.strict);
    if runs.iter().any(|r| r.status.is_err()) {
        exit_code = 2;
    }
    Ok(ReproduceOutcome {
        out: req.out.clone(),
        runs,
        rows,
        exit_code,
        markdown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_never_oversubscribes() {
        assert_eq!(pool_jobs(1, 2), 2);
        assert_eq!(pool_jobs(2, 2), 1);
        assert_eq!(pool_jobs(4, 2), 1);
        assert_eq!(pool_jobs(0, 16), 1);
        assert_eq!(pool_jobs(3, 16), 5);
    }
}
