//! `learnscope export RUN_DIR... [--parquet FILE] [--tensorboard DIR]`: run directories (or
//! `reproduce` output directories, whose `runs/` subdirectories with a manifest are runs) in
//! formats other tools read.
//!
//! `--parquet FILE`: all runs' metrics in one long table, with a `run` column (the run
//! directory's name) and one string column per config key (dotted: `lr.base`, `model.hidden`;
//! values as TOML renders them, strings without quotes; arrays of tables such as `probes` as one
//! inline TOML string), null where a run lacks the key; see `learnscope_store::write_export_parquet`.
//!
//! `--tensorboard DIR`: `DIR/<run name>/events.out.tfevents.<start seconds>.learnscope` per run,
//! scalar summaries tagged `probe/key[/split][/layer][/index][/index2]`, every event stamped
//! with the run's start time from its manifest; see `learnscope_store::write_tensorboard_run`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use learnscope_report::{flatten_config, RunInput};
use learnscope_store::{write_export_parquet, write_tensorboard_run, ExportRun, MANIFEST_FILE};

/// Options of `learnscope export`.
#[derive(clap::Args, Debug)]
#[command(group(
    clap::ArgGroup::new("format")
        .required(true)
        .multiple(true)
        .args(["parquet", "tensorboard"])
))]
pub struct ExportArgs {
    /// Run directories (or `reproduce --out` directories: their runs/ subdirectories).
    #[arg(required = true, value_name = "RUN_DIR")]
    dirs: Vec<PathBuf>,
    /// Write all runs' metrics into this Parquet file (with `run` and config columns).
    #[arg(long, value_name = "FILE")]
    parquet: Option<PathBuf>,
    /// Write TensorBoard event files into DIR/<run name>/.
    #[arg(long, value_name = "DIR")]
    tensorboard: Option<PathBuf>,
}

/// The run directories an input stands for: itself if it has a manifest, an ensemble's members
/// in member order, else the runs under its `runs/` (a `reproduce` output directory), in name
/// order.
fn expand(input: &Path) -> Result<Vec<PathBuf>> {
    if input.join(MANIFEST_FILE).is_file() {
        return Ok(vec![input.to_path_buf()]);
    }
    if let Some(members) = learnscope_store::ensemble_members(input)? {
        return Ok(members);
    }
    if !input.exists() {
        bail!("{}: no such run directory", input.display());
    }
    if !input.is_dir() {
        bail!("{}: not a directory", input.display());
    }
    let runs = input.join("runs");
    if !runs.is_dir() {
        bail!(
            "{} is not a run directory (no {MANIFEST_FILE}) nor a reproduce directory (no runs/)",
            input.display()
        );
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
        .with_context(|| format!("listing {}", runs.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(MANIFEST_FILE).is_file())
        .collect();
    if dirs.is_empty() {
        bail!(
            "{}: no run directories (with {MANIFEST_FILE}) in it",
            runs.display()
        );
    }
    dirs.sort();
    Ok(dirs)
}

/// One run, read.
struct Loaded {
    name: String,
    run: RunInput,
    config: BTreeMap<String, String>,
}

/// A run's name: the last component of its directory's canonical path.
fn run_name(dir: &Path) -> Result<String> {
    std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .ok_or_else(|| anyhow!("{}: cannot tell the run's name", dir.display()))
}

/// The TensorBoard events of one run directory, into `root/<run name>/` (for `run
/// --tensorboard`); returns the file written.
pub fn tensorboard_of(dir: &Path, root: &Path) -> Result<PathBuf> {
    let name = run_name(dir)?;
    let run = RunInput::open(dir).with_context(|| format!("reading {}", dir.display()))?;
    let out = root.join(&name);
    write_tensorboard_run(&out, &run.reader.manifest.created_utc, run.reader.records())
        .with_context(|| format!("writing TensorBoard events into {}", out.display()))
}

/// Writes the exports; returns the exit code.
pub fn run(args: &ExportArgs) -> Result<i32> {
    let mut dirs = Vec::new();
    for input in &args.dirs {
        dirs.extend(expand(input)?);
    }
    let mut runs: Vec<Loaded> = Vec::with_capacity(dirs.len());
    for dir in &dirs {
        let name = run_name(dir)?;
        if let Some(other) = runs.iter().find(|r| r.name == name) {
            bail!(
                "two runs are named `{name}` ({} and {}); export them separately",
                other.run.reader.dir.display(),
                dir.display()
            );
        }
        let run = RunInput::open(dir).with_context(|| format!("reading {}", dir.display()))?;
        let config = flatten_config(&run.config);
        runs.push(Loaded { name, run, config });
    }

    if let Some(path) = &args.parquet {
        let export: Vec<ExportRun<'_>> = runs
            .iter()
            .map(|r| ExportRun {
                name: &r.name,
                records: r.run.reader.records(),
                config: &r.config,
            })
            .collect();
        write_export_parquet(path, &export)
            .with_context(|| format!("writing {}", path.display()))?;
        let rows: usize = export.iter().map(|r| r.records.len()).sum();
        println!(
            "{} ({rows} rows from {} runs)",
            path.display(),
            export.len()
        );
    }
    if let Some(root) = &args.tensorboard {
        for r in &runs {
            let dir = root.join(&r.name);
            let file = write_tensorboard_run(
                &dir,
                &r.run.reader.manifest.created_utc,
                r.run.reader.records(),
            )
            .with_context(|| format!("writing TensorBoard events into {}", dir.display()))?;
            println!("{}", file.display());
        }
    }
    Ok(0)
}
