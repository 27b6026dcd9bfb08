//! The `learnscope` binary: thin glue over the libraries (DESIGN.md §4).
//!
//! Exit codes: 0 completed; 1 completed but flagged (diverged); 2 error (one line of cause
//! chain, never a panic); 3 interrupted by SIGUSR1, 130 by SIGINT, 143 by SIGTERM, each after
//! writing a checkpoint (resume with `learnscope run --resume RUN_DIR`).

mod cka;
mod data;
mod demo;
mod export;
mod human;
mod progress;
mod report;
mod reproduce;
mod run;
mod sweep;
mod theory;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "learnscope",
    version,
    about = "See how a network learns: train, measure, compare with theory"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train one configuration into a run directory, or resume one.
    Run(run::RunArgs),
    /// The embedded default: a deep linear network with biases on the 8-item hierarchy, in
    /// seconds, no files needed.
    Demo(demo::DemoArgs),
    /// Inspect data files.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// One self-contained HTML report (inline SVG) from run or reproduce directories.
    Report(report::ReportArgs),
    /// Run a paper's preset (or `demo`) and write its verdict table.
    Reproduce(reproduce::ReproduceArgs),
    /// Closed-form learning curves (deep linear networks, the OCS phase).
    Theory(theory::TheoryArgs),
    /// Linear CKA between a layer of one trained run and a layer of another, on the same inputs.
    Cka(cka::CkaArgs),
    /// Metrics of run or reproduce directories for other tools: one Parquet table with run and
    /// config columns, TensorBoard event files.
    Export(export::ExportArgs),
    /// Sweeps: grids × seeds planned once, run on a local pool or as Slurm job arrays,
    /// aggregated into one Parquet table and one report.
    #[command(subcommand)]
    Sweep(sweep::SweepCommand),
    /// The paper-1 category-learning study for people: serve it in a browser, export its data,
    /// analyse people and networks (virtual participants) with the same code.
    #[command(subcommand)]
    Human(human::HumanCommand),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Data(cmd) => data::run(&cmd),
        Command::Report(args) => report::run(&args),
        Command::Reproduce(args) => reproduce::run(&args),
        Command::Theory(args) => theory::run(&args),
        Command::Cka(args) => cka::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Sweep(cmd) => sweep::run(&cmd),
        Command::Human(cmd) => human::run(&cmd),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
