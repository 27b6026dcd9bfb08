//! `sweep slurm`: the plan as Slurm job arrays, written to `SWEEP_DIR/slurm/`.
//!
//! - `array-<c>.sbatch`: array task t runs plan rows t·M … t·M+M−1 (M = `--runs-per-task`)
//!   one after another, each as `learnscope run --plan PLAN --index I`. Slurm caps array
//!   indices below `MaxArraySize` (default 1001), so a plan of more than 1001 tasks is split
//!   into several arrays, array c covering tasks from c·1001 (`OFFSET`), each with
//!   `--array=0-(len−1)%K` (K = `--max-parallel`).
//! - Every learnscope process is started in the background and `wait`ed for, with USR1, TERM and
//!   INT trapped and forwarded to it: bash runs no trap while a foreground child runs, so this is
//!   what lets a signal reach the run, which then writes a checkpoint and exits (3 on USR1, 143 on
//!   TERM). `#SBATCH --signal=B:USR1@<lead>` asks Slurm for USR1 that long before the time limit;
//!   the task then requeues itself (`scontrol requeue`), and the requeued task resumes its rows
//!   from their checkpoints ([`run_row`](crate::execute::run_row) is idempotent). Pre-emption
//!   (TERM, then KILL after the grace time) checkpoints the same way; `--requeue` lets Slurm put
//!   the task back.
//! - `aggregate.sbatch`: `learnscope sweep aggregate SWEEP_DIR`, submitted with
//!   `--dependency=afterany:<every array job>`, so it runs however the tasks ended and reports
//!   missing and incomplete runs.
//! - `submit.sh`: submits the arrays, then the aggregation job with the dependency (what
//!   `--submit` runs).

use std::path::{Path, PathBuf};

use crate::error::{SweepError, SweepResult};
use crate::plan::Plan;

/// Slurm's default `MaxArraySize`: array indices must be below it.
pub const MAX_ARRAY_SIZE: usize = 1001;
/// The directory of the scripts, in the sweep directory.
pub const SLURM_DIR: &str = "slurm";

/// What the scripts ask of Slurm.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmOptions {
    /// `--partition` (none: the cluster's default).
    pub partition: Option<String>,
    /// `--time` per array task (none: the partition's default).
    pub time: Option<String>,
    /// `--cpus-per-task` (the runs' engine threads).
    pub cpus_per_task: usize,
    /// At most this many array tasks at once (`%K`; none: no limit).
    pub max_parallel: Option<usize>,
    /// Plan rows per array task, run one after another.
    pub runs_per_task: usize,
    /// Seconds before the time limit at which Slurm sends USR1 (checkpoint and requeue).
    pub signal_lead_seconds: u32,
    /// The learnscope binary the tasks run (absolute).
    pub binary: PathBuf,
    /// Array indices must be below this (the cluster's `MaxArraySize`).
    pub max_array_size: usize,
}

/// The files written.
#[derive(Debug, Clone)]
pub struct SlurmFiles {
    /// One sbatch script per array.
    pub arrays: Vec<PathBuf>,
    /// The aggregation job's script.
    pub aggregate: PathBuf,
    /// The submission script.
    pub submit: PathBuf,
    /// Array tasks in all.
    pub tasks: usize,
}

/// `'text'` for the shell.
fn sh_quote(p: &str) -> String {
    format!("'{}'", p.replace('\'', r"'\''"))
}

fn common_header(out: &mut String, name: &str, opts: &SlurmOptions) {
    out.push_str("#!/bin/bash\n");
    out.push_str(&format!("#SBATCH --job-name={name}\n"));
    if let Some(p) = &opts.partition {
        out.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    out.push_str("#SBATCH --ntasks=1\n");
}

/// The sbatch script of array `chunk` covering `len` tasks from task `offset`.
fn array_script(
    plan_path: &Path,
    log_dir: &Path,
    name: &str,
    rows: usize,
    offset: usize,
    len: usize,
    opts: &SlurmOptions,
) -> String {
    let mut s = String::new();
    common_header(&mut s, name, opts);
    s.push_str(&format!("#SBATCH --cpus-per-task={}\n", opts.cpus_per_task));
    if let Some(t) = &opts.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    let limit = opts.max_parallel.map_or(String::new(), |k| format!("%{k}"));
    s.push_str(&format!("#SBATCH --array=0-{}{limit}\n", len - 1));
    s.push_str(&format!(
        "#SBATCH --output={}/%A_%a.out\n",
        log_dir.display()
    ));
    s.push_str("#SBATCH --open-mode=append\n");
    s.push_str(&format!(
        "#SBATCH --signal=B:USR1@{}\n",
        opts.signal_lead_seconds
    ));
    s.push_str("#SBATCH --requeue\n");
    s.push_str(&format!(
        r#"# Written by `learnscope sweep slurm`: plan rows t*M .. t*M+M-1 of array task t.
set -u
LEARNSCOPE={bin}
PLAN={plan}
ROWS={rows}
PER_TASK={per_task}
OFFSET={offset}
task=$((OFFSET + SLURM_ARRAY_TASK_ID))

child=0
signalled=""
forward() {{
  signalled=$1
  if [ "$child" -ne 0 ]; then kill -s "$1" "$child" 2>/dev/null || true; fi
}}
trap 'forward USR1' USR1
trap 'forward TERM' TERM
trap 'forward INT' INT

status=0
for j in $(seq 0 $((PER_TASK - 1))); do
  index=$((task * PER_TASK + j))
  [ "$index" -lt "$ROWS" ] || break
  [ -z "$signalled" ] || break
  echo "learnscope sweep task $task: plan row $index ($(date -u +%FT%TZ))"
  "$LEARNSCOPE" run --plan "$PLAN" --index "$index" &
  child=$!
  # A trapped signal ends `wait` early (status > 128) while the run is still writing its
  # checkpoint: wait again until it has exited, then take its own exit status.
  while :; do
    wait "$child"
    rc=$?
    if [ "$rc" -gt 128 ] && kill -0 "$child" 2>/dev/null; then continue; fi
    break
  done
  if [ "$rc" -gt 128 ] && [ -n "$signalled" ]; then
    wait "$child" 2>/dev/null
    r2=$?
    [ "$r2" -eq 127 ] || rc=$r2
  fi
  child=0
  case "$rc" in
    0) ;;
    1) status=1; echo "plan row $index: diverged or failed (exit 1)" ;;
    *) status=$rc; echo "plan row $index: exit $rc" ;;
  esac
done

if [ "$signalled" = USR1 ]; then
  # Near the time limit: the rows checkpointed; put this task back in the queue to resume them.
  echo "learnscope sweep task $task: USR1, requeueing ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
  scontrol requeue "${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
fi
exit "$status"
"#,
        bin = sh_quote(&opts.binary.display().to_string()),
        plan = sh_quote(&plan_path.display().to_string()),
        per_task = opts.runs_per_task,
    ));
    s
}

fn aggregate_script(sweep_dir: &Path, log_dir: &Path, name: &str, opts: &SlurmOptions) -> String {
    let mut s = String::new();
    common_header(&mut s, &format!("{name}-aggregate"), opts);
    s.push_str("#SBATCH --cpus-per-task=1\n");
    s.push_str(&format!(
        "#SBATCH --output={}/aggregate-%j.out\n",
        log_dir.display()
    ));
    s.push_str(&format!(
        "# Written by `learnscope sweep slurm`: runs after every array task (afterany).\n\
         {} sweep aggregate {}\n",
        sh_quote(&opts.binary.display().to_string()),
        sh_quote(&sweep_dir.display().to_string())
    ));
    s
}

fn submit_script(slurm_dir: &Path, arrays: &[PathBuf]) -> String {
    let mut s = String::from(
        "#!/bin/bash\n# Written by `learnscope sweep slurm`: the arrays, then the aggregation job after all of them.\nset -euo pipefail\n",
    );
    s.push_str(&format!(
        "cd {}\n",
        sh_quote(&slurm_dir.display().to_string())
    ));
    s.push_str("ids=()\n");
    for a in arrays {
        let name = a.file_name().expect("a script name").to_string_lossy();
        s.push_str(&format!(
            "id=$(sbatch --parsable {}); ids+=(\"${{id%%;*}}\"); echo \"submitted {name}: job $id\"\n",
            sh_quote(&name)
        ));
    }
    s.push_str(
        "dep=$(IFS=:; echo \"${ids[*]}\")\n\
         agg=$(sbatch --parsable --dependency=afterany:\"$dep\" aggregate.sbatch)\n\
         echo \"submitted aggregate.sbatch: job ${agg%%;*} (after any of ${ids[*]})\"\n",
    );
    s
}

/// Writes the scripts for `plan` into `SWEEP_DIR/slurm/` (see the module documentation).
pub fn write_slurm(plan: &Plan, opts: &SlurmOptions) -> SweepResult<SlurmFiles> {
    if opts.runs_per_task == 0 {
        return Err(SweepError::Other("--runs-per-task must be >= 1".into()));
    }
    if opts.cpus_per_task == 0 {
        return Err(SweepError::Other("--cpus-per-task must be >= 1".into()));
    }
    if opts.max_parallel == Some(0) {
        return Err(SweepError::Other("--max-parallel must be >= 1".into()));
    }
    if opts.max_array_size == 0 {
        return Err(SweepError::Other(
            "the array size limit must be >= 1".into(),
        ));
    }
    let sweep_dir = std::fs::canonicalize(&plan.dir).map_err(|e| SweepError::io(&plan.dir, e))?;
    let plan_path = sweep_dir.join(
        plan.path
            .file_name()
            .ok_or_else(|| SweepError::Other("the plan has no file name".into()))?,
    );
    let slurm_dir = sweep_dir.join(SLURM_DIR);
    let log_dir = slurm_dir.join("logs");
    std::fs::create_dir_all(&log_dir).map_err(|e| SweepError::io(&log_dir, e))?;
    let name = plan.rows[0]
        .id
        .rsplit_once('-')
        .map_or("sweep", |(n, _)| n)
        .to_string();
    let rows = plan.rows.len();
    let tasks = rows.div_ceil(opts.runs_per_task);
    let write = |path: &Path, text: &str| -> SweepResult<()> {
        learnscope_store::write_file_atomic(path, text.as_bytes())
            .map_err(|e| SweepError::Other(e.to_string()))?;
        set_executable(path)
    };
    let mut arrays = Vec::new();
    for (c, offset) in (0..tasks).step_by(opts.max_array_size).enumerate() {
        let len = opts.max_array_size.min(tasks - offset);
        let path = slurm_dir.join(format!("array-{c}.sbatch"));
        let text = array_script(&plan_path, &log_dir, &name, rows, offset, len, opts);
        write(&path, &text)?;
        arrays.push(path);
    }
    let aggregate = slurm_dir.join("aggregate.sbatch");
    write(
        &aggregate,
        &aggregate_script(&sweep_dir, &log_dir, &name, opts),
    )?;
    let submit = slurm_dir.join("submit.sh");
    write(&submit, &submit_script(&slurm_dir, &arrays))?;
    Ok(SlurmFiles {
        arrays,
        aggregate,
        submit,
        tasks,
    })
}

#[cfg(unix)]
fn set_executable(path: &Path) -> SweepResult<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| SweepError::io(path, e))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> SweepResult<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> SlurmOptions {
        SlurmOptions {
            partition: Some("gpu".into()),
            time: Some("01:00:00".into()),
            cpus_per_task: 2,
            max_parallel: Some(50),
            runs_per_task: 3,
            signal_lead_seconds: 120,
            binary: PathBuf::from("/opt/it's/learnscope"),
            max_array_size: MAX_ARRAY_SIZE,
        }
    }

    #[test]
    fn the_array_script_packs_rows_and_forwards_signals() {
        let s = array_script(
            Path::new("/s/plan.jsonl"),
            Path::new("/s/slurm/logs"),
            "mlp",
            10,
            0,
            4,
            &opts(),
        );
        for want in [
            "#SBATCH --array=0-3%50\n",
            "#SBATCH --cpus-per-task=2\n",
            "#SBATCH --partition=gpu\n",
            "#SBATCH --time=01:00:00\n",
            "#SBATCH --signal=B:USR1@120\n",
            "#SBATCH --requeue\n",
            "LEARNSCOPE='/opt/it'\\''s/learnscope'\n",
            "PER_TASK=3\n",
            "ROWS=10\n",
            "trap 'forward USR1' USR1\n",
            "trap 'forward TERM' TERM\n",
            "\"$LEARNSCOPE\" run --plan \"$PLAN\" --index \"$index\" &\n",
            "scontrol requeue",
        ] {
            assert!(s.contains(want), "missing {want:?} in\n{s}");
        }
    }

    #[test]
    fn the_submit_script_chains_the_aggregation_after_any_array() {
        let s = submit_script(
            Path::new("/s/slurm"),
            &[
                PathBuf::from("/s/slurm/array-0.sbatch"),
                PathBuf::from("/s/slurm/array-1.sbatch"),
            ],
        );
        assert!(s.contains("sbatch --parsable 'array-0.sbatch'"));
        assert!(s.contains("sbatch --parsable 'array-1.sbatch'"));
        assert!(s.contains("--dependency=afterany:\"$dep\" aggregate.sbatch"));
    }
}
