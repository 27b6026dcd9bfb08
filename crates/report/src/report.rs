//! Inputs → a [`Report`]: each input is a run directory (it has `manifest.json`) or a
//! `reproduce` output directory (it has `verdict.json` and/or `runs/`, whose subdirectories
//! with a manifest are its runs). Only files are read; a run still going is reported as far as
//! it got (`RunReader` drops a half-written last line).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use learnscope_store::{RunReader, MANIFEST_FILE, TIMINGS_FILE};

use crate::error::{ReportError, ReportResult};
use crate::theory::{read_theory, TheoryCurve};
use crate::verdict::{read_verdict, VerdictRow, VERDICT_FILE};

/// One run directory, read.
#[derive(Debug, Clone)]
pub struct RunInput {
    /// Manifest, config text and metric records.
    pub reader: RunReader,
    /// `config.toml`, parsed.
    pub config: toml::Table,
    /// The theory curves it carries (see [`read_theory`]).
    pub theory: Vec<TheoryCurve>,
    /// The last value of each key of `timings.jsonl`, in seconds (empty if there is none).
    pub timings: BTreeMap<String, f64>,
}

impl RunInput {
    /// Reads the run directory `dir`.
    pub fn open(dir: &Path) -> ReportResult<Self> {
        Self::from_reader(RunReader::open(dir)?)
    }

    /// The run whose directory `reader` has already read (its manifest, config and metrics),
    /// so a caller that opened it for something else does not read the metrics twice.
    pub fn from_reader(reader: RunReader) -> ReportResult<Self> {
        let dir = reader.dir.clone();
        let dir = dir.as_path();
        let config: toml::Table =
            reader
                .config_toml
                .parse()
                .map_err(|e: toml::de::Error| ReportError::Parse {
                    path: dir.join(learnscope_store::CONFIG_FILE),
                    message: e.to_string(),
                })?;
        let theory = read_theory(dir)?;
        let mut timings = BTreeMap::new();
        if dir.join(TIMINGS_FILE).is_file() {
            for t in reader.read_timings()?.records {
                timings.insert(t.key, t.seconds);
            }
        }
        Ok(RunInput {
            reader,
            config,
            theory,
            timings,
        })
    }
}

/// Everything one report shows.
#[derive(Debug, Clone)]
pub struct Report {
    /// The runs, in input order (a reproduce directory's runs in name order).
    pub runs: Vec<RunInput>,
    /// The verdict tables of the reproduce directories given, with their directory.
    pub verdicts: Vec<(PathBuf, Vec<VerdictRow>)>,
}

/// The run directories under `dir/runs/`, in name order.
fn reproduce_runs(dir: &Path) -> ReportResult<Vec<PathBuf>> {
    let runs = dir.join("runs");
    if !runs.is_dir() {
        return Ok(Vec::new());
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(&runs)
        .map_err(|source| ReportError::Io {
            path: runs.clone(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(MANIFEST_FILE).is_file())
        .collect();
    v.sort();
    Ok(v)
}

impl Report {
    /// Reads every input (run or reproduce directory).
    pub fn load(inputs: &[PathBuf]) -> ReportResult<Self> {
        let mut runs = Vec::new();
        let mut verdicts = Vec::new();
        for input in inputs {
            if input.join(MANIFEST_FILE).is_file() {
                runs.push(RunInput::open(input)?);
            } else if let Some(members) = learnscope_store::ensemble_members(input)? {
                // An ensemble (`members = N`): its members, which differ only by seed.
                for dir in members {
                    runs.push(RunInput::open(&dir)?);
                }
            } else if input.join(VERDICT_FILE).is_file() || input.join("runs").is_dir() {
                if let Some(rows) = read_verdict(input)? {
                    verdicts.push((input.clone(), rows));
                }
                for dir in reproduce_runs(input)? {
                    runs.push(RunInput::open(&dir)?);
                }
            } else if !input.is_dir() {
                // Let the store say what is wrong (missing, not a directory).
                RunReader::open(input)?;
            } else {
                return Err(ReportError::NotARun {
                    path: input.clone(),
                });
            }
        }
        if runs.is_empty() && verdicts.is_empty() {
            return Err(ReportError::NoRuns);
        }
        Ok(Report { runs, verdicts })
    }

    /// The self-contained HTML page.
    pub fn to_html(&self) -> String {
        crate::html::render_html(self)
    }
}

/// Reads `inputs` and renders the page: [`Report::load`] then [`Report::to_html`].
pub fn build_report(inputs: &[PathBuf]) -> ReportResult<String> {
    Ok(Report::load(inputs)?.to_html())
}
