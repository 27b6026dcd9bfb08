//! `reproduce`: a preset's runs on a local pool, then its verdict (DESIGN.md §4).
//!
//! [`reproduce`] plans the runs of a [`Preset`] at a [`Size`] (one per arm and seed), trains
//! them into `OUT/runs/<arm>-seed<S>/` on a pool of `jobs` threads, each manifest's `reproduce`
//! field set to `{name, size, arm, seed, row_ids}` from the start, measures every row (one number per
//! seed, from the run's records or computed in process), and writes `OUT/verdict.json` (the
//! rows, [`VerdictRow`]) and `OUT/verdict.md` (the same table in Markdown).
//!
//! A row's value for seed S ([`row_value`]) is its metric on the run `<arm>-seed<S>`; a
//! cross-arm row (`over`, `minus`) pairs that run with the runs of its other arms with the same
//! seed (each run's records are read once per row and seed). A seed with no run in one of the
//! arms is skipped with a note.
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use learnscope_core::DType;
use learnscope_data::{Batch, Split};
use learnscope_models::TapRequest;
use learnscope_nn::gradcheck::GradCheck;
use learnscope_nn::{CpuBackend, ForwardCtx, Mode, RandomKey, Tensor};
use learnscope_store::{MetricRecord, RunReader, RunStatus, UtcDateTime};
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;
use learnscope_train::StopSignal;

use crate::ensembles::{ensemble_values, EnsembleRun, Ensembles};
use crate::phases::PhaseRule;
use crate::preset::{Computed, MetricSpec, PlannedRun, Preset, PresetError, RowToml, Size};
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

/// One run as a row's terms read it.
#[derive(Debug, Clone)]
pub struct RunInput<'a> {
    /// `<arm>-seed<S>` (prefixes error messages).
    pub id: &'a str,
    /// Its configuration (for computed metrics).
    pub config: &'a RunConfig,
    /// Its records, or why there are none (the run failed, its directory is unreadable).
    pub records: Result<&'a [MetricRecord], String>,
}

/// `metric` on one run; errors are prefixed with the run's id.
pub fn term_value(metric: &MetricSpec, run: &RunInput<'_>) -> Result<f64, String> {
    match metric.computed {
        Some(Computed::Gradcheck) => gradcheck_residual(run.config),
        Some(Computed::RidgeIdentity) => {
            learnscope_probes::reconstruction::ridge::ridge_identity_residual(run.config.seed)
        }
        None => run
            .records
            .clone()
            .and_then(|records| metric.from_records(records)),
    }
    .map_err(|e| format!("{}: {e}", run.id))
}

/// A row's value for one seed from the runs of that seed, by arm:
/// metric(arm) [/ over] [− Σ factor · minus [/ minus.over]].
pub fn row_value(row: &RowToml, runs: &BTreeMap<&str, RunInput<'_>>) -> Result<f64, String> {
    let term = |arm: &str, metric: &MetricSpec| {
        runs.get(arm)
            .ok_or_else(|| format!("no run of arm `{arm}`"))
            .and_then(|run| term_value(metric, run))
    };
    if let Some(a) = &row.across {
        let values = a
            .arms
            .iter()
            .map(|arm| term(arm, &row.metric))
            .collect::<Result<Vec<f64>, String>>()?;
        return a.fit.apply(&a.x, &values);
    }
    let mut v = term(&row.arm, &row.metric)?;
    if let Some(o) = &row.over {
        v /= term(&o.arm, &o.metric)?;
    }
    for m in row.minus.iter().flat_map(crate::preset::MinusTerms::iter) {
        let mut w = term(&m.arm, &m.metric)?;
        if let Some(o) = &m.over {
            w /= term(&o.arm, &o.metric)?;
        }
        v -= m.factor * w;
    }
    Ok(v)
}

/// A row's per-seed values (labelled `seed S`, in the plan's seed order) and the notes on the
/// seeds without one. `runs[i]` is how `plan[i]` ended.
pub fn row_values(
    row: &RowToml,
    plan: &[PlannedRun],
    runs: &[RunSummary],
) -> (Vec<String>, Vec<f64>, Vec<String>) {
    let (mut labels, mut values, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    let arms = row.arms();
    let terms = row.terms();
    let first = arms.first().copied().unwrap_or(row.arm.as_str());
    for p in plan.iter().filter(|p| p.arm == first) {
        let seed = p.seed;
        let mut found = Vec::new();
        let mut missing = None;
        for &arm in &arms {
            match plan.iter().position(|q| q.arm == arm && q.seed == seed) {
                Some(i) if i < runs.len() => found.push((arm, i)),
                _ => missing = missing.or(Some(arm)),
            }
        }
        if let Some(arm) = missing {
            notes.push(format!(
                "seed {seed}: no run of arm `{arm}` with this seed; skipped"
            ));
            continue;
        }
        // Each run's records once, and only if a term reads records from it.
        let readers: Vec<Result<Option<RunReader>, String>> = found
            .iter()
            .map(|&(arm, i)| {
                if !terms.iter().any(|(a, m)| *a == arm && m.computed.is_none()) {
                    return Ok(None);
                }
                match &runs[i].status {
                    Err(e) => Err(format!("run failed: {e}")),
                    Ok(_) => RunReader::open(&runs[i].dir)
                        .map(Some)
                        .map_err(|e| e.to_string()),
                }
            })
            .collect();
        let inputs: BTreeMap<&str, RunInput<'_>> = found
            .iter()
            .zip(&readers)
            .map(|(&(arm, i), reader)| {
                let records = match reader {
                    Ok(Some(r)) => Ok(r.records()),
                    Ok(None) => Err("records not read (no term reads them)".to_string()),
                    Err(e) => Err(e.clone()),
                };
                let input = RunInput {
                    id: &plan[i].id,
                    config: &plan[i].config,
                    records,
                };
                (arm, input)
            })
            .collect();
        match row_value(row, &inputs) {
            Ok(v) => {
                labels.push(format!("seed {seed}"));
                values.push(v);
            }
            Err(e) => notes.push(e),
        }
    }
    (labels, values, notes)
}

/// An `ensembles` row's values (see [`crate::ensembles`]): every run of each of its arms, in
/// the plan's seed order; an error becomes the row's note.
pub fn ensemble_row_values(
    row: &RowToml,
    ens: &Ensembles,
    size: Size,
    plan: &[PlannedRun],
    runs: &[RunSummary],
) -> (Vec<String>, Vec<f64>, Vec<String>) {
    let mut readers: Vec<Vec<(usize, Result<RunReader, String>)>> = Vec::new();
    for arm in &ens.arms {
        readers.push(
            plan.iter()
                .enumerate()
                .filter(|(i, p)| p.arm == *arm && *i < runs.len())
                .map(|(i, _)| {
                    let reader = match &runs[i].status {
                        Err(e) => Err(format!("run failed: {e}")),
                        Ok(_) => RunReader::open(&runs[i].dir).map_err(|e| e.to_string()),
                    };
                    (i, reader)
                })
                .collect(),
        );
    }
    let inputs: Vec<Vec<EnsembleRun<'_>>> = readers
        .iter()
        .map(|arm| {
            arm.iter()
                .map(|(i, reader)| EnsembleRun {
                    id: &plan[*i].id,
                    records: reader.as_ref().map(|r| r.records()).map_err(Clone::clone),
                })
                .collect()
        })
        .collect();
    match ensemble_values(&row.id, &row.metric, ens, size, &inputs) {
        Ok((labels, values)) => (labels, values, Vec::new()),
        Err(e) => (Vec::new(), Vec::new(), vec![e]),
    }
}

/// A `phases` row's values (see [`crate::phases`]): one per seed of the row's arm, labelled
/// `seed S`; an error becomes the row's note.
pub fn phase_row_values(
    row: &RowToml,
    rule: &PhaseRule,
    plan: &[PlannedRun],
    runs: &[RunSummary],
) -> (Vec<String>, Vec<f64>, Vec<String>) {
    let mut labels = Vec::new();
    let mut curves = Vec::new();
    for (i, p) in plan.iter().enumerate() {
        if p.arm != row.arm || i >= runs.len() {
            continue;
        }
        let records = match &runs[i].status {
            Err(e) => Err(format!("{}: run failed: {e}", p.id)),
            Ok(_) => RunReader::open(&runs[i].dir)
                .map(|r| crate::phases::curve(&row.metric, r.records()))
                .map_err(|e| format!("{}: {e}", p.id)),
        };
        match records {
            Ok(c) => {
                labels.push(format!("seed {}", p.seed));
                curves.push(c);
            }
            Err(e) => return (Vec::new(), Vec::new(), vec![e]),
        }
    }
    match crate::phases::phase_values(rule, &curves) {
        Ok(values) => (labels, values, Vec::new()),
        Err(e) => (Vec::new(), Vec::new(), vec![e]),
    }
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
    let (plan, unavailable) = preset.plan_available(req.size, &req.extra_sets)?;
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
    let mut left_out = Vec::new();
    for row in &preset.toml.verdict {
        if let Some(arm) = preset.row_missing_arm(row, req.size) {
            log(&format!(
                "row {} left out: arm `{arm}` does not run at size {}",
                row.id,
                req.size.name()
            ));
            continue;
        }
        if let Some((arm, why)) = row
            .arms()
            .into_iter()
            .find_map(|a| unavailable.get_key_value(a))
        {
            let line = format!("row {} left out: arm `{arm}` did not run: {why}", row.id);
            log(&line);
            left_out.push(line);
            continue;
        }
        let (labels, values, notes) = match &row.ensembles {
            Some(e) => ensemble_row_values(row, e, req.size, &plan, &runs),
            None => match &row.phases {
                Some(p) => phase_row_values(row, p, &plan, &runs),
                None => row_values(row, &plan, &runs),
            },
        };
        rows.push(VerdictRow::measure_labelled(
            &row.spec(),
            &labels,
            &values,
            notes,
        ));
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
    if !left_out.is_empty() {
        md.push_str("\nLeft out:\n");
        for line in &left_out {
            md.push_str(&format!("- {line}\n"));
        }
    }
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

    fn rec(probe: &str, step: u64, value: f64) -> MetricRecord {
        MetricRecord {
            step,
            epoch: 0,
            probe: probe.into(),
            key: "r".into(),
            split: "train".into(),
            layer: None,
            index: None,
            index2: None,
            value,
        }
    }

    fn row(extra: &str) -> RowToml {
        toml::from_str(&format!(
            "id = \"x\"\nkind = \"report\"\nclaim = \"c\"\nsource = \"s\"\nreason = \"r\"\n\
             arm = \"ce\"\nmetric = {{ probe = \"rare\", key = \"r\" }}\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn cross_arm_terms_pair_the_runs_of_one_seed() {
        let plan = Preset::embedded("demo")
            .unwrap()
            .plan(Size::Smoke, &[])
            .unwrap();
        let config = &plan[0].config;
        let ce = [
            rec("rare", 0, 1.0),
            rec("rare", 10, 0.6),
            rec("sd", 10, 0.5),
        ];
        let alone = [
            rec("rare", 0, 1.0),
            rec("rare", 10, 2.4),
            rec("sd", 10, 4.0),
        ];
        fn input<'a>(id: &'a str, config: &'a RunConfig, r: &'a [MetricRecord]) -> RunInput<'a> {
            RunInput {
                id,
                config,
                records: Ok(r),
            }
        }
        let runs: BTreeMap<&str, RunInput<'_>> = [
            ("ce", input("ce-seed0", config, &ce)),
            ("ce-alone", input("ce-alone-seed0", config, &alone)),
        ]
        .into_iter()
        .collect();
        // One arm: the metric itself.
        assert_eq!(row_value(&row(""), &runs).unwrap(), 0.6);
        // A ratio: 0.6 / 2.4.
        let ratio =
            row("over = { arm = \"ce-alone\", metric = { probe = \"rare\", key = \"r\" } }");
        assert_eq!(row_value(&ratio, &runs).unwrap(), 0.25);
        // Minus a ratio: 0.25 − 0.5 / 4.0.
        let diff = row(
            "over = { arm = \"ce-alone\", metric = { probe = \"rare\", key = \"r\" } }\n\
             minus = { arm = \"ce\", metric = { probe = \"sd\", key = \"r\" }, \
             over = { arm = \"ce-alone\", metric = { probe = \"sd\", key = \"r\" } } }",
        );
        assert_eq!(row_value(&diff, &runs).unwrap(), 0.125);
        assert!(diff.spec().metric.contains(
            "rare/r last (arm ce) / rare/r last (arm ce-alone) − (sd/r last (arm ce) / sd/r last \
             (arm ce-alone))"
        ));
        // Minus a plain term: 0.6 − 0.5.
        let minus = row("minus = { arm = \"ce\", metric = { probe = \"sd\", key = \"r\" } }");
        assert!((row_value(&minus, &runs).unwrap() - 0.1).abs() < 1e-15);
        // Errors name the run; a failed run's records are an error.
        let missing =
            row("over = { arm = \"ce-alone\", metric = { probe = \"nope\", key = \"r\" } }");
        let e = row_value(&missing, &runs).unwrap_err();
        assert!(
            e.starts_with("ce-alone-seed0: no records for nope/r"),
            "{e}"
        );
        let mut failed = runs.clone();
        failed.get_mut("ce-alone").unwrap().records = Err("run failed: boom".into());
        let e = row_value(&ratio, &failed).unwrap_err();
        assert_eq!(e, "ce-alone-seed0: run failed: boom");
        failed.remove("ce-alone");
        let e = row_value(&ratio, &failed).unwrap_err();
        assert!(e.contains("no run of arm `ce-alone`"), "{e}");
    }

    #[test]
    fn a_seed_missing_in_another_arm_is_skipped_with_a_note() {
        let plan = Preset::embedded("demo")
            .unwrap()
            .plan(Size::Smoke, &[])
            .unwrap();
        let mut ce = plan[0].clone();
        (ce.id, ce.arm, ce.seed) = ("ce-seed0".into(), "ce".into(), 0);
        let mut ce1 = ce.clone();
        (ce1.id, ce1.seed) = ("ce-seed1".into(), 1);
        let mut alone = ce.clone();
        (alone.id, alone.arm) = ("ce-alone-seed0".into(), "ce-alone".into());
        let summary = |p: &PlannedRun| RunSummary {
            id: p.id.clone(),
            dir: PathBuf::from("/nonexistent"),
            status: Err("boom".into()),
            exit_code: 2,
            seconds: 0.0,
        };
        let plan = vec![alone, ce, ce1];
        let runs: Vec<RunSummary> = plan.iter().map(summary).collect();
        let ratio =
            row("over = { arm = \"ce-alone\", metric = { probe = \"rare\", key = \"r\" } }");
        let (labels, values, notes) = row_values(&ratio, &plan, &runs);
        assert!(labels.is_empty() && values.is_empty());
        assert_eq!(
            notes,
            [
                "ce-seed0: run failed: boom",
                "seed 1: no run of arm `ce-alone` with this seed; skipped"
            ]
        );
    }

    #[test]
    fn the_pool_never_oversubscribes() {
        assert_eq!(pool_jobs(1, 2), 2);
        assert_eq!(pool_jobs(2, 2), 1);
        assert_eq!(pool_jobs(4, 2), 1);
        assert_eq!(pool_jobs(0, 16), 1);
        assert_eq!(pool_jobs(3, 16), 5);
    }
}
