//! `learnscope demo`: runs `experiments/demo.toml` (embedded) into a run directory and prints
//! a short table read back from it: the training loss, the distance of the outputs from the
//! optimal constant solution (d_OCS = E‖f(x) − c*‖²) and their input sensitivity
//! (V_x = E‖f(x) − E f‖²) on the training items, at log-spaced steps; then when the loss halved
//! and when the OCS was reached.

use std::path::PathBuf;

use anyhow::{Context, Result};
use learnscope_core::ProbeSchedule;
use learnscope_repro::demo::demo_config;
use learnscope_repro::{start_run, RunRequest};
use learnscope_store::RunReader;

use crate::progress::progress_reporter;
use crate::run::{install_signal_handlers, report};

/// Options of `learnscope demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Override a configuration value, e.g. `--set steps=5000` or `--set lr.base=0.05`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Write into exactly this directory instead of runs/<time>-demo-<hash>.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs the demo; returns the exit code.
pub fn run(args: &DemoArgs) -> Result<i32> {
    let config = demo_config(&args.sets).context("the demo configuration")?;
    println!(
        "learnscope demo: deep linear 8-16-16-15 with biases on the 8-item hierarchy, full-batch GD, η = {}, {} steps",
        config.lr.base, config.steps
    );
    let stop = install_signal_handlers()?;
    let req = RunRequest {
        config,
        out: args.out.clone(),
        runs_root: PathBuf::from("runs"),
        reproduce: None,
    };
    let result = start_run(&req, &stop, Some(progress_reporter()))?;
    let reader = RunReader::open(&result.dir)?;
    let series = |probe: &str, key: &str| -> Vec<(u64, f64)> {
        reader
            .records()
            .iter()
            .filter(|r| r.probe == probe && r.key == key && r.layer.is_none())
            .filter(|r| r.split == "train")
            .map(|r| (r.step, r.value))
            .collect()
    };
    let (loss, d_ocs, spread) = (
        series("loss", "batch_loss"),
        series("ocs", "d_ocs"),
        series("ocs", "input_sensitivity"),
    );
    let ocs_loss = series("ocs", "ocs_loss").first().map_or(f64::NAN, |x| x.1);
    println!(
        "optimal constant solution: loss {ocs_loss:.4} (the mean target, independent of the input)"
    );
    println!();
    println!(
        "{:>8}  {:>10}  {:>10}  {:>10}",
        "step", "loss", "d_OCS", "V_x"
    );
    let at = |v: &[(u64, f64)], step: u64| v.iter().find(|x| x.0 == step).map_or(f64::NAN, |x| x.1);
    // Rows at about three log-spaced steps per decade: the first recorded step at or after
    // each point of a k = 3 log schedule, and the last step.
    let rows = ProbeSchedule::LogDecade { k: 3 };
    let last = loss.last().map_or(0, |x| x.0);
    let mut shown: Vec<u64> = (0..=last)
        .filter(|&s| rows.is_due(s, false))
        .filter_map(|target| loss.iter().find(|x| x.0 >= target).map(|x| x.0))
        .collect();
    shown.push(last);
    shown.dedup();
    for step in shown {
        let (l, d, s) = (at(&loss, step), at(&d_ocs, step), at(&spread, step));
        println!("{step:>8}  {l:>10.4}  {d:>10.4}  {s:>10.4}");
    }
    println!();
    if let Some(&(_, first)) = loss.first() {
        match loss.iter().find(|(_, l)| *l <= first / 2.0) {
            Some((s, _)) => println!(
                "loss halved by  step {s} (first recorded step at or below half the initial loss)"
            ),
            None => println!("loss halved by  never"),
        }
    }
    if let Some(&(_, d0)) = d_ocs.first() {
        if let Some(&(s, _)) = d_ocs.iter().find(|(_, d)| *d < 0.1 * d0) {
            println!(
                "OCS reached at  step {s} (d_OCS below 10% of its initial value; input sensitivity V_x still {:.3})",
                at(&spread, s)
            );
        }
    }
    println!(
        "speed           {:.0} steps/s (probes and run directory included)",
        result.steps_per_second
    );
    Ok(report(&result))
}
