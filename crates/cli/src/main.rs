//! The `learnscope` binary: thin glue over the libraries (DESIGN.md §4).
//!
//! Exit codes: 0 completed; 1 completed but flagged (e.g. diverged); 2 error (one line of cause
//! chain, never a panic).

mod demo;

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
    /// The embedded default: a deep linear network with biases on the 8-item hierarchy, in
    /// seconds, no files needed.
    Demo(demo::DemoArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
