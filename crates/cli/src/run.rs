//! `learnscope run CONFIG.toml [--set a.b=v]... [--out DIR]`, `learnscope run --resume DIR`, and
//! `learnscope run --plan SWEEP_DIR/plan.jsonl [--index I]` (one row of a sweep plan, with I
//! from `SLURM_ARRAY_TASK_ID`, `JOB_COMPLETION_INDEX` or `_CONDOR_PROCNO` when not given; a row
//! already completed is skipped, an interrupted one resumed).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use learnscope_repro::{resume_run, start_run, RunRequest, RunResult};

use crate::progress::progress_reporter;
use learnscope_train::config::RunConfig;
use learnscope_train::{RunOutcome, StopSignal};

/// Options of `learnscope run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The experiment configuration (TOML).
    #[arg(required_unless_present_any = ["resume", "plan"], conflicts_with_all = ["resume", "plan"])]
    config: Option<PathBuf>,
    /// Override a configuration value: `--set lr.base=0.05` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Write into exactly this directory (new or empty) instead of runs/<time>-<name>-<hash>.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["sets", "out", "plan"])]
    resume: Option<PathBuf>,
    /// Run one row of a sweep plan (`learnscope sweep plan`) into SWEEP_DIR/runs/<id>/.
    #[arg(long, value_name = "PLAN.jsonl", conflicts_with_all = ["sets", "out"])]
    plan: Option<PathBuf>,
    /// The plan row (default: $SLURM_ARRAY_TASK_ID, then $JOB_COMPLETION_INDEX, then
    /// $_CONDOR_PROCNO).
    #[arg(long, requires = "plan")]
    index: Option<usize>,
    /// Also write the run's scalars as TensorBoard event files into DIR/<run name>/ when it
    /// ends (completed, diverged or interrupted), as `learnscope export --tensorboard` does.
    #[arg(long, value_name = "DIR")]
    tensorboard: Option<PathBuf>,
}

/// SIGINT, SIGTERM and SIGUSR1 ask the trainer to checkpoint and stop.
pub fn install_signal_handlers() -> Result<StopSignal> {
    let stop = StopSignal::default();
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGUSR1,
    ] {
        signal_hook::flag::register_usize(sig, Arc::clone(&stop.0), sig as usize)
            .with_context(|| format!("installing a handler for signal {sig}"))?;
    }
    Ok(stop)
}

/// Prints how the run ended (each member of an ensemble on its own line); returns the exit
/// code (an ensemble's is its worst member's).
pub fn report(result: &RunResult) -> i32 {
    if !result.members.is_empty() {
        println!(
            "ensemble of {} networks in {}:",
            result.members.len(),
            result.dir.display()
        );
        for (i, m) in result.members.iter().enumerate() {
            print!("  member {i}: ");
            report(m);
        }
        return result.exit_code;
    }
    let dir = result.dir.display();
    match &result.outcome {
        RunOutcome::Completed { final_loss } => {
            println!("completed: final training loss {final_loss:.6e}; run directory {dir}")
        }
        RunOutcome::Stopped { step, reason } => {
            println!("stopped early after step {step} ({reason}); run directory {dir}")
        }
        RunOutcome::Diverged { step } => {
            println!("diverged: non-finite training loss at step {step}; metrics kept in {dir}")
        }
        RunOutcome::Interrupted { step, signal } => println!(
            "interrupted by signal {signal}: checkpoint at step {step}; continue with `learnscope run --resume {dir}`"
        ),
    }
    result.exit_code
}

/// Runs `learnscope run`.
pub fn run(args: &RunArgs) -> Result<i32> {
    let stop = install_signal_handlers()?;
    let result = if let Some(plan) = &args.plan {
        let plan = learnscope_sweep::Plan::open(plan)
            .with_context(|| format!("reading the plan {}", plan.display()))?;
        let index = match args.index {
            Some(i) => i,
            None => learnscope_sweep::index_from_env(|k| std::env::var(k).ok())?,
        };
        let log = |line: &str| eprintln!("{line}");
        match learnscope_sweep::run_row(&plan, index, &stop, Some(progress_reporter()), &log)? {
            learnscope_sweep::RowOutcome::Skipped(status) => {
                return Ok(i32::from(status == learnscope_store::RunStatus::Diverged));
            }
            learnscope_sweep::RowOutcome::Ran(result) => result,
        }
    } else if let Some(dir) = &args.resume {
        resume_run(dir, &stop, Some(progress_reporter()))
            .with_context(|| format!("resuming {}", dir.display()))?
    } else {
        let Some(path) = &args.config else {
            bail!("a configuration file or --resume RUN_DIR is required");
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let config =
            RunConfig::parse(&text, &args.sets).with_context(|| format!("{}", path.display()))?;
        let req = RunRequest {
            config,
            out: args.out.clone(),
            runs_root: PathBuf::from("runs"),
            reproduce: None,
        };
        start_run(&req, &stop, Some(progress_reporter()))?
    };
    let code = report(&result);
    if let Some(root) = &args.tensorboard {
        let dirs: Vec<&std::path::Path> = if result.members.is_empty() {
            vec![&result.dir]
        } else {
            result.members.iter().map(|m| m.dir.as_path()).collect()
        };
        for dir in dirs {
            let file = crate::export::tensorboard_of(dir, root)?;
            eprintln!("TensorBoard events: {}", file.display());
        }
    }
    Ok(code)
}
