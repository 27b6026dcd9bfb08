//! `learnscope reproduce NAME [--smoke|--quick] [--strict] [--out DIR]`: a preset's runs on a
//! local pool, then its verdict table (DESIGN.md §4).
//!
//! NAME is an embedded preset (`demo`) or a preset file (`*.toml`, its `config` read relative
//! to it). Without `--out` the output goes to `./reproduce/<name>-<size>-<yyyymmdd-hhmmss>/`.
//! Exit codes: 0 all rows as expected; 1 an identity row failed (any row under `--strict`);
//! 2 error (a run failed, or the preset or output directory is bad); 3/130/143 interrupted.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context, Result};
use learnscope_repro::reproduce::default_out_dir;
use learnscope_repro::{reproduce, Preset, ReproduceRequest, Size};

use crate::run::install_signal_handlers;

/// Options of `learnscope reproduce`.
#[derive(clap::Args, Debug)]
pub struct ReproduceArgs {
    /// The preset: an embedded name (`demo`) or a preset file (`*.toml`).
    name: String,
    /// 1 seed, tiny, under a minute (what CI runs).
    #[arg(long, conflicts_with = "quick")]
    smoke: bool,
    /// CPU-sized: a few seeds, minutes on 2 cores.
    #[arg(long)]
    quick: bool,
    /// Exit 1 when any row fails, not only identity rows.
    #[arg(long)]
    strict: bool,
    /// Output directory (default ./reproduce/<name>-<size>-<time>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Extra override for every run, after the preset's (`--set lr.base=0.5`; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Runs at a time (default: cores / engine threads per run).
    #[arg(long)]
    jobs: Option<usize>,
}

/// Runs `learnscope reproduce`; returns the exit code.
pub fn run(args: &ReproduceArgs) -> Result<i32> {
    let preset = Preset::find(&args.name).with_context(|| format!("preset `{}`", args.name))?;
    let size = if args.smoke {
        Size::Smoke
    } else if args.quick {
        Size::Quick
    } else {
        Size::Full
    };
    if let Some(h) = preset.size(size).expected_hours {
        println!(
            "reproduce {} ({}): expected about {h} h on this CPU",
            preset.name(),
            size.name()
        );
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(preset.name(), size, SystemTime::now()));
    let stop = install_signal_handlers()?;
    let req = ReproduceRequest {
        preset,
        size,
        out,
        extra_sets: args.sets.clone(),
        strict: args.strict,
        jobs: args.jobs,
    };
    let outcome = reproduce(&req, &stop, &|line: &str| eprintln!("{line}"))
        .with_context(|| format!("reproduce {}", args.name))?;
    if outcome.rows.is_empty() {
        println!(
            "interrupted: no verdict written; runs so far in {}",
            outcome.out.join("runs").display()
        );
        return Ok(outcome.exit_code);
    }
    println!("{}", outcome.markdown);
    for r in outcome.runs.iter().filter(|r| r.status.is_err()) {
        if let Err(e) = &r.status {
            println!("run {} failed: {e}", r.id);
        }
    }
    println!(
        "verdict: {} and verdict.md in {}",
        outcome.out.join("verdict.json").display(),
        outcome.out.display()
    );
    Ok(outcome.exit_code)
}
