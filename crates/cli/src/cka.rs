//! `learnscope cka RUN_A RUN_B [--tap T] [--tap-b T] [--split test] [--examples N]`: linear CKA
//! between a layer of one trained run and a layer of another (other seed, width or
//! architecture) on the same inputs; see `learnscope_repro::cross_cka`.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use learnscope_data::Split;
use learnscope_repro::cross_cka::cross_run_cka;

/// Options of `learnscope cka`.
#[derive(clap::Args, Debug)]
pub struct CkaArgs {
    /// The first run directory.
    run_a: PathBuf,
    /// The second run directory.
    run_b: PathBuf,
    /// The tap of run A (and of run B unless `--tap-b`), e.g. `penultimate` or `layers.0.out`.
    #[arg(long, default_value = "penultimate")]
    tap: String,
    /// The tap of run B.
    #[arg(long)]
    tap_b: Option<String>,
    /// `train` or `test`.
    #[arg(long, default_value = "test")]
    split: String,
    /// The first N examples of the split.
    #[arg(long, default_value_t = 1000)]
    examples: usize,
}

/// Prints `cka = …` with what was compared.
pub fn run(args: &CkaArgs) -> Result<i32> {
    let split = match args.split.as_str() {
        "train" => Split::Train,
        "test" => Split::Test,
        other => return Err(anyhow!("--split `{other}`: expected `train` or `test`")),
    };
    let tap_b = args.tap_b.as_deref().unwrap_or(&args.tap);
    let r = cross_run_cka(
        &args.run_a,
        &args.run_b,
        &args.tap,
        tap_b,
        split,
        args.examples,
    )
    .map_err(|e| anyhow!(e))?;
    println!(
        "cka = {:.6} ({} `{}` at step {} vs {} `{}` at step {}, {} {} examples)",
        r.cka,
        args.run_a.display(),
        args.tap,
        r.steps.0,
        args.run_b.display(),
        tap_b,
        r.steps.1,
        r.examples,
        split.name()
    );
    Ok(0)
}
