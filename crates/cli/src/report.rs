//! `learnscope report RUN_DIR... [--out FILE.html]`: one self-contained HTML report from what
//! is on disk (run directories, or `reproduce` output directories with their verdict table).
//! One input and no `--out` writes `RUN_DIR/report.html`; several inputs need `--out`.
//! Response tables instead of run directories (a human study's SQLite database, responses_long
//! CSVs from `human simulate`) give the human-study page: people and networks on the same axes
//! (`learnscope human analyse --html` draws the same page).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use learnscope_report::Report;

/// Options of `learnscope report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Run directories (or `reproduce --out` directories); runs that differ only by seed are
    /// aggregated (mean ± sd), others overlaid. Or response tables (a human study's `.sqlite`,
    /// responses_long `.csv` files): the human-study page.
    #[arg(required = true, value_name = "RUN_DIR")]
    dirs: Vec<PathBuf>,
    /// Where to write the HTML file (required with several inputs; default RUN_DIR/report.html).
    #[arg(long, value_name = "FILE.html")]
    out: Option<PathBuf>,
}

/// Writes the report; returns the exit code.
pub fn run(args: &ReportArgs) -> Result<i32> {
    let tables = args
        .dirs
        .iter()
        .filter(|p| crate::human::is_response_table(p))
        .count();
    if tables == args.dirs.len() {
        let out = match (&args.out, args.dirs.as_slice()) {
            (Some(out), _) => out.clone(),
            (None, [one]) => one.with_extension("html"),
            (None, _) => bail!("several inputs: say where the report goes with --out FILE.html"),
        };
        crate::human::report(&args.dirs, &out)?;
        println!("{}", out.display());
        return Ok(0);
    }
    if tables > 0 {
        bail!("mixed inputs: give run directories, or response tables (.sqlite / .csv), not both");
    }
    let out = match (&args.out, args.dirs.as_slice()) {
        (Some(out), _) => out.clone(),
        (None, [one]) => one.join("report.html"),
        (None, _) => bail!("several inputs: say where the report goes with --out FILE.html"),
    };
    let report = Report::load(&args.dirs).context("reading the runs")?;
    let html = report.to_html();
    std::fs::write(&out, html).with_context(|| format!("writing {}", out.display()))?;
    println!("{}", out.display());
    Ok(0)
}
