//! `SWEEP_DIR/plan.jsonl`: row i is run i. Each row carries its stable id (the configuration's
//! name and the first 12 hex digits of the SHA-256 of its resolved `config.toml`, so the same
//! configuration gets the same id and run directory in any plan), its axis values, the hash,
//! and the resolved configuration text itself, so a cluster node needs nothing but the plan.
//!
//! Run i trains into `SWEEP_DIR/runs/<id>/`. Which row a process runs comes from `--index` or,
//! on a cluster, from the array-task environment ([`index_from_env`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{SweepError, SweepResult};

/// The plan's file name in a sweep directory.
pub const PLAN_FILE: &str = "plan.jsonl";
/// The directory of the run directories in a sweep directory.
pub const RUNS_DIR: &str = "runs";

/// One planned run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRow {
    /// Position in the plan (0-based).
    pub index: usize,
    /// Stable id: `<name>-<sha256(config)[..12]>`; the run directory's name.
    pub id: String,
    /// The axis values that made this row (dotted key → value).
    pub overrides: BTreeMap<String, toml::Value>,
    /// SHA-256 (hex) of `config`.
    pub config_sha256: String,
    /// The resolved configuration (`config.toml` of the run).
    pub config: String,
}

/// A plan read from disk: the rows and where the runs go.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The plan file.
    pub path: PathBuf,
    /// The sweep directory (the plan's parent).
    pub dir: PathBuf,
    /// The rows, index i at position i.
    pub rows: Vec<PlanRow>,
}

impl Plan {
    /// Reads `SWEEP_DIR/plan.jsonl` (or a plan file given directly).
    pub fn open(path: &Path) -> SweepResult<Self> {
        let file = if path.is_dir() {
            path.join(PLAN_FILE)
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).map_err(|e| SweepError::io(&file, e))?;
        let err = |line: usize, why: String| SweepError::Plan {
            path: file.clone(),
            line,
            why,
        };
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let row: PlanRow = serde_json::from_str(line).map_err(|e| err(i + 1, e.to_string()))?;
            if row.index != rows.len() {
                return Err(err(
                    i + 1,
                    format!("expected row index {}, found {}", rows.len(), row.index),
                ));
            }
            let sha = learnscope_store::sha256_hex(row.config.as_bytes());
            if sha != row.config_sha256 {
                return Err(err(
                    i + 1,
                    format!(
                        "config_sha256 {} does not match the row's config (sha256 {sha}): the plan was edited by hand",
                        row.config_sha256
                    ),
                ));
            }
            rows.push(row);
        }
        if rows.is_empty() {
            return Err(err(0, "no rows".into()));
        }
        let dir = file
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(Plan {
            path: file,
            dir,
            rows,
        })
    }

    /// Row `index`, or an error saying how many rows there are.
    pub fn row(&self, index: usize) -> SweepResult<&PlanRow> {
        self.rows.get(index).ok_or_else(|| SweepError::Plan {
            path: self.path.clone(),
            line: 0,
            why: format!(
                "no row {index}: the plan has {} rows (0..={})",
                self.rows.len(),
                self.rows.len() - 1
            ),
        })
    }

    /// The run directory of a row.
    pub fn run_dir(&self, row: &PlanRow) -> PathBuf {
        self.dir.join(RUNS_DIR).join(&row.id)
    }
}

/// Writes `rows` as `dir/plan.jsonl` (atomically: a reader never sees half a plan).
pub fn write_plan(dir: &Path, rows: &[PlanRow]) -> SweepResult<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| SweepError::io(dir, e))?;
    let mut text = String::new();
    for row in rows {
        text.push_str(&serde_json::to_string(row).expect("a plan row serialises"));
        text.push('\n');
    }
    let path = dir.join(PLAN_FILE);
    learnscope_store::write_file_atomic(&path, text.as_bytes())
        .map_err(|e| SweepError::Other(e.to_string()))?;
    Ok(path)
}

/// The environment variables that name a cluster array task's index, in the order they are
/// tried: Slurm job arrays, Kubernetes indexed Jobs, HTCondor (its `$(Process)`, which a
/// submit file passes as `environment = "_CONDOR_PROCNO=$(Process)"` when the pool does not).
pub const INDEX_VARIABLES: [&str; 3] = [
    "SLURM_ARRAY_TASK_ID",
    "JOB_COMPLETION_INDEX",
    "_CONDOR_PROCNO",
];

/// The row index from `lookup` (the process environment in the binary): the first of
/// [`INDEX_VARIABLES`] that is set.
pub fn index_from_env(lookup: impl Fn(&str) -> Option<String>) -> SweepResult<usize> {
    for var in INDEX_VARIABLES {
        if let Some(v) = lookup(var) {
            return v.trim().parse::<usize>().map_err(|_| {
                SweepError::Other(format!("{var}={v:?} is not a row index (an integer >= 0)"))
            });
        }
    }
    Err(SweepError::Other(format!(
        "no --index and none of {} is set: say which plan row to run",
        INDEX_VARIABLES.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_comes_from_slurm_first_then_kubernetes_then_condor() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            index_from_env(env(&[
                ("JOB_COMPLETION_INDEX", "4"),
                ("SLURM_ARRAY_TASK_ID", "7")
            ]))
            .unwrap(),
            7
        );
        assert_eq!(
            index_from_env(env(&[("JOB_COMPLETION_INDEX", "4")])).unwrap(),
            4
        );
        assert_eq!(index_from_env(env(&[("_CONDOR_PROCNO", "2")])).unwrap(), 2);
        let e = index_from_env(env(&[("SLURM_ARRAY_TASK_ID", "x")])).unwrap_err();
        assert!(e.to_string().contains("SLURM_ARRAY_TASK_ID=\"x\""), "{e}");
        let e = index_from_env(env(&[])).unwrap_err();
        assert!(e.to_string().contains("no --index"), "{e}");
    }
}
