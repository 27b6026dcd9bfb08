//! `learnscope run CONFIG.toml [--set a.b=v]... [--out DIR]` and `learnscope run --resume DIR`.

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
    #[arg(required_unless_present = "resume", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// Override a configuration value: `--set lr.base=0.05` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Write into exactly this directory (new or empty) instead of runs/<time>-<name>-<hash>.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["sets", "out"])]
    resume: Option<PathBuf>,
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

/// Prints how the run ended; returns the exit code.
pub fn report(result: &RunResult) -> i32 {
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
    let result = if let Some(dir) = &args.resume {
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
        let file = crate::export::tensorboard_of(&result.dir, root)?;
        eprintln!("TensorBoard events: {}", file.display());
    }
    Ok(code)
}
