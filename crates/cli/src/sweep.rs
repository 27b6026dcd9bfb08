//! `learnscope sweep plan|run|slurm|status|aggregate` (issue 12): a configuration with a
//! `[sweep]` table, planned once, run on a local pool or as Slurm job arrays, then aggregated.
//! The logic lives in `learnscope-sweep`; this is argument handling and printing.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use learnscope_sweep::aggregate::aggregate_sweep;
use learnscope_sweep::pool::{engine_threads, run_pool};
use learnscope_sweep::slurm::{write_slurm, SlurmOptions, MAX_ARRAY_SIZE};
use learnscope_sweep::status::{format_status, sweep_status};
use learnscope_sweep::{write_plan, Plan, SweepConfig};

use crate::run::install_signal_handlers;

/// `learnscope sweep ...`.
#[derive(clap::Subcommand, Debug)]
pub enum SweepCommand {
    /// Expand a configuration's [sweep] table into SWEEP_DIR/plan.jsonl, validating every run.
    Plan(PlanArgs),
    /// Run the plan's runs on a local pool (completed runs are skipped, interrupted ones resume).
    Run(PoolArgs),
    /// Write Slurm job-array scripts for the plan (and submit them with --submit).
    Slurm(SlurmArgs),
    /// What each run directory says: completed, running, interrupted, failed, not started.
    Status(DirArgs),
    /// SWEEP_DIR/sweep.parquet (config keys as columns) and SWEEP_DIR/report.html.
    Aggregate(AggregateArgs),
}

/// Options of `sweep plan`.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// A run configuration with a [sweep] table.
    config: PathBuf,
    /// Override a base configuration value before the sweep's axes (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// The sweep directory (plan.jsonl, runs/, slurm/, sweep.parquet).
    #[arg(long, value_name = "SWEEP_DIR")]
    out: PathBuf,
}

/// Options of `sweep run`.
#[derive(clap::Args, Debug)]
pub struct PoolArgs {
    /// The sweep directory.
    dir: PathBuf,
    /// Runs at once (default and maximum: cores ÷ the runs' engine threads).
    #[arg(long)]
    jobs: Option<usize>,
}

/// Options of `sweep slurm`.
#[derive(clap::Args, Debug)]
pub struct SlurmArgs {
    /// The sweep directory.
    dir: PathBuf,
    /// Slurm partition (default: the cluster's default partition).
    #[arg(long)]
    partition: Option<String>,
    /// Time limit per array task, as Slurm writes it (e.g. 02:00:00).
    #[arg(long)]
    time: Option<String>,
    /// CPUs per array task (default: the runs' engine threads).
    #[arg(long)]
    cpus_per_task: Option<usize>,
    /// At most this many array tasks at once.
    #[arg(long)]
    max_parallel: Option<usize>,
    /// Plan rows per array task, run one after another.
    #[arg(long, default_value_t = 1)]
    runs_per_task: usize,
    /// Seconds before the time limit at which Slurm signals USR1 (checkpoint, requeue).
    #[arg(long, default_value_t = 90)]
    signal_lead: u32,
    /// The cluster's MaxArraySize (array indices stay below it).
    #[arg(long, default_value_t = MAX_ARRAY_SIZE)]
    max_array_size: usize,
    /// The learnscope binary the tasks run (default: this one).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Submit with sbatch now (runs slurm/submit.sh).
    #[arg(long)]
    submit: bool,
}

/// A sweep directory.
#[derive(clap::Args, Debug)]
pub struct DirArgs {
    /// The sweep directory.
    dir: PathBuf,
}

/// Options of `sweep aggregate`.
#[derive(clap::Args, Debug)]
pub struct AggregateArgs {
    /// The sweep directory.
    dir: PathBuf,
    /// Only sweep.parquet, no report.html.
    #[arg(long)]
    no_report: bool,
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn open(dir: &std::path::Path) -> Result<Plan> {
    Plan::open(dir).with_context(|| format!("reading the plan of {}", dir.display()))
}

/// Runs `learnscope sweep ...`; returns the exit code.
pub fn run(cmd: &SweepCommand) -> Result<i32> {
    match cmd {
        SweepCommand::Plan(a) => {
            let text = std::fs::read_to_string(&a.config)
                .with_context(|| format!("reading {}", a.config.display()))?;
            let sweep =
                SweepConfig::parse(&text).with_context(|| a.config.display().to_string())?;
            let rows = sweep
                .expand(&a.sets)
                .with_context(|| a.config.display().to_string())?;
            let path = write_plan(&a.out, &rows)?;
            std::fs::write(a.out.join("sweep.toml"), &text)
                .with_context(|| format!("writing {}", a.out.join("sweep.toml").display()))?;
            let axes = sweep.spec.axes.len();
            println!(
                "{}: {} runs ({axes} {}{}), every configuration validated",
                path.display(),
                rows.len(),
                if axes == 1 { "axis" } else { "axes" },
                sweep
                    .spec
                    .seeds
                    .as_ref()
                    .map_or(String::new(), |s| format!(" × {} seeds", s.len()))
            );
            Ok(0)
        }
        SweepCommand::Run(a) => {
            let plan = open(&a.dir)?;
            let stop = install_signal_handlers()?;
            let cores = cores();
            if let Some(j) = a.jobs {
                let most =
                    learnscope_repro::reproduce::pool_jobs(engine_threads(&plan, cores), cores);
                if j > most {
                    eprintln!("sweep run: --jobs {j} lowered to {most} (jobs × engine threads ≤ {cores} cores)");
                }
            }
            let log = |line: &str| eprintln!("{line}");
            let summary = run_pool(&plan, a.jobs, cores, &stop, &log);
            let code = summary.exit_code(plan.rows.len());
            println!(
                "{} of {} rows taken up on {} jobs in {:.1} s; `learnscope sweep status {}` for details",
                summary.rows.len(),
                plan.rows.len(),
                summary.jobs,
                summary.seconds,
                a.dir.display()
            );
            Ok(code)
        }
        SweepCommand::Slurm(a) => {
            let plan = open(&a.dir)?;
            let binary = match &a.binary {
                Some(b) => {
                    std::fs::canonicalize(b).with_context(|| format!("--binary {}", b.display()))?
                }
                None => std::env::current_exe().context("finding this binary")?,
            };
            let opts = SlurmOptions {
                partition: a.partition.clone(),
                time: a.time.clone(),
                cpus_per_task: a
                    .cpus_per_task
                    .unwrap_or_else(|| engine_threads(&plan, cores()).max(1)),
                max_parallel: a.max_parallel,
                runs_per_task: a.runs_per_task,
                signal_lead_seconds: a.signal_lead,
                binary,
                max_array_size: a.max_array_size,
            };
            let files = write_slurm(&plan, &opts)?;
            println!(
                "{} runs in {} array tasks ({} per task), {} array script(s):",
                plan.rows.len(),
                files.tasks,
                opts.runs_per_task,
                files.arrays.len()
            );
            for f in &files.arrays {
                println!("  {}", f.display());
            }
            println!("  {} (after any array task)", files.aggregate.display());
            if a.submit {
                let status = std::process::Command::new("bash")
                    .arg(&files.submit)
                    .status()
                    .with_context(|| format!("running {}", files.submit.display()))?;
                if !status.success() {
                    bail!("{} failed ({status})", files.submit.display());
                }
            } else {
                println!("submit with: bash {}", files.submit.display());
            }
            Ok(0)
        }
        SweepCommand::Status(a) => {
            let plan = open(&a.dir)?;
            print!("{}", format_status(&plan, &sweep_status(&plan)));
            Ok(0)
        }
        SweepCommand::Aggregate(a) => {
            let plan = open(&a.dir)?;
            let s = aggregate_sweep(&plan, !a.no_report)?;
            println!(
                "{} ({} rows from {} runs)",
                s.parquet.display(),
                s.metric_rows,
                s.runs
            );
            if let Some(r) = &s.report {
                println!("{}", r.display());
            }
            for (what, rows) in [
                ("missing (not started)", &s.missing),
                ("incomplete", &s.incomplete),
            ] {
                if !rows.is_empty() {
                    println!("{} {what}:", rows.len());
                    for r in rows {
                        println!("  row {} {} {}", r.index, r.state.name(), r.dir.display());
                    }
                }
            }
            Ok(s.exit_code())
        }
    }
}
