//! The sweep library end to end on the 8-item hierarchy (seconds): plan, pool, idempotence,
//! resume after a stop, stale run directories, aggregation, Slurm script chunking.

use std::path::{Path, PathBuf};

use learnscope_store::{RunReader, RunStatus};
use learnscope_sweep::aggregate::aggregate_sweep;
use learnscope_sweep::execute::{decide, Action};
use learnscope_sweep::pool::run_pool;
use learnscope_sweep::slurm::{write_slurm, SlurmOptions};
use learnscope_sweep::status::{sweep_status, RowState};
use learnscope_sweep::{run_row, write_plan, Plan, RowOutcome, SweepConfig};
use learnscope_train::StopSignal;

const BASE: &str = r#"
name = "tiny"
seed = 0
dtype = "f64"
threads = 1
steps = 60

[data]
kind = "hierarchy"

[model]
kind = "deep_linear"
hidden = [8]
bias = true
init = { kind = "gaussian", std = 0.01 }

[loss]
kind = "mse"

[optimizer]
kind = "sgd"

[lr]
base = 0.1

[training]
batch_size = 0

[[probes]]
kind = "loss"
schedule = { kind = "every", n = 10 }
"#;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("learnscope-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn plan_of(sweep: &str, dir: &Path) -> Plan {
    let cfg = SweepConfig::parse(&format!("{BASE}\n{sweep}")).unwrap();
    let rows = cfg.expand(&[]).unwrap();
    write_plan(dir, &rows).unwrap();
    Plan::open(dir).unwrap()
}

fn quiet(_: &str) {}

#[test]
fn a_grid_times_seeds_plans_every_combination_with_stable_ids() {
    let dir = scratch("plan");
    let plan = plan_of(
        "[sweep]\nseeds = [3, 4]\n\"lr.base\" = [0.05, 0.1]\n\"model.hidden\" = [[4], [8], [16]]",
        &dir,
    );
    assert_eq!(plan.rows.len(), 2 * 3 * 2);
    // Seeds innermost, axes in key order.
    let r = &plan.rows[1];
    assert_eq!(r.overrides["seed"].as_integer(), Some(4));
    assert_eq!(r.overrides["lr.base"].as_float(), Some(0.05));
    assert!(r.config.contains("seed = 4") && r.config.contains("hidden = [4]"));
    // The same configuration gets the same id in another plan, whatever its position.
    let other = plan_of(
        "[sweep]\nseeds = [4]\n\"model.hidden\" = [[4]]\n\"lr.base\" = [0.05]",
        &scratch("plan-b"),
    );
    assert_eq!(other.rows[0].id, r.id);
    assert!(r.id.starts_with("tiny-") && r.id.len() == "tiny-".len() + 12);
}

#[test]
fn every_row_is_validated_before_anything_runs() {
    let bad_key = SweepConfig::parse(&format!("{BASE}\n[sweep]\n\"optim.lr\" = [0.1, 0.2]"))
        .unwrap()
        .expand(&[])
        .unwrap_err()
        .to_string();
    assert!(bad_key.contains("sweep row 0 (optim.lr=0.1)"), "{bad_key}");
    assert!(bad_key.contains("unknown field `optim`"), "{bad_key}");
    // A value that only fails when the model is built (a zero-width layer) is caught at plan time.
    let bad_value = SweepConfig::parse(&format!("{BASE}\n[sweep]\n\"model.hidden\" = [[4], [0]]"))
        .unwrap()
        .expand(&[])
        .unwrap_err()
        .to_string();
    assert!(
        bad_value.contains("sweep row 1 (model.hidden=[0])"),
        "{bad_value}"
    );
    let same = SweepConfig::parse(&format!("{BASE}\n[sweep]\n\"lr.base\" = [0.1, 0.1]"))
        .unwrap()
        .expand(&[])
        .unwrap_err()
        .to_string();
    assert!(same.contains("same configuration as row 0"), "{same}");
    let none = SweepConfig::parse(BASE).unwrap_err().to_string();
    assert!(none.contains("no [sweep] table"), "{none}");
}

#[test]
fn the_pool_runs_every_row_once_and_a_second_pass_skips_them() {
    let dir = scratch("pool");
    let plan = plan_of("[sweep]\nseeds = 3\n\"lr.base\" = [0.05, 0.1]", &dir);
    let stop = StopSignal::default();
    let first = run_pool(&plan, Some(2), 2, &stop, &quiet);
    assert_eq!(first.jobs, 2);
    assert_eq!(first.exit_code(6), 0);
    assert!(first
        .rows
        .iter()
        .all(|r| matches!(&r.outcome, Ok(RowOutcome::Ran(x)) if x.status == RunStatus::Completed)));
    let mtimes: Vec<_> = plan
        .rows
        .iter()
        .map(|r| {
            std::fs::metadata(plan.run_dir(r).join("metrics.jsonl"))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();
    let second = run_pool(&plan, None, 2, &stop, &quiet);
    assert!(second
        .rows
        .iter()
        .all(|r| matches!(r.outcome, Ok(RowOutcome::Skipped(RunStatus::Completed)))));
    for (r, t) in plan.rows.iter().zip(mtimes) {
        let now = std::fs::metadata(plan.run_dir(r).join("metrics.jsonl"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(now, t, "row {} was rewritten", r.index);
    }
    // More jobs than cores ÷ engine threads are lowered.
    assert_eq!(run_pool(&plan, Some(8), 2, &stop, &quiet).jobs, 2);
    assert!(sweep_status(&plan)
        .iter()
        .all(|s| s.state == RowState::Run(learnscope_sweep::status::RunStatusKey::Completed)));
}

#[test]
fn a_stopped_row_resumes_to_the_same_metrics_as_an_uninterrupted_one() {
    let dir = scratch("resume");
    let plan = plan_of("[sweep]\nseeds = [1, 2]", &dir);
    // Row 0 straight through.
    run_row(&plan, 0, &StopSignal::default(), None, &quiet).unwrap();
    // Row 1 with a stop raised before it starts: a checkpoint at step 0, status interrupted.
    let stop = StopSignal::default();
    stop.raise(10);
    let out = run_row(&plan, 1, &stop, None, &quiet).unwrap();
    assert_eq!(out.exit_code(), 3);
    let run1 = plan.run_dir(&plan.rows[1]);
    assert!(matches!(
        decide(&run1, &plan.rows[1]).unwrap(),
        Action::Resume(0)
    ));
    let out = run_row(&plan, 1, &StopSignal::default(), None, &quiet).unwrap();
    assert_eq!(out.exit_code(), 0);
    // The resumed run equals a fresh run of the same row, byte for byte.
    let fresh = scratch("resume-fresh");
    let fresh_plan = plan_of("[sweep]\nseeds = [2]", &fresh);
    run_row(&fresh_plan, 0, &StopSignal::default(), None, &quiet).unwrap();
    let a = std::fs::read(run1.join("metrics.jsonl")).unwrap();
    let b = std::fs::read(
        fresh_plan
            .run_dir(&fresh_plan.rows[0])
            .join("metrics.jsonl"),
    )
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        RunReader::open(&run1).unwrap().manifest.status,
        RunStatus::Completed
    );
}

#[test]
fn a_run_directory_of_another_configuration_is_never_reused() {
    let dir = scratch("stale");
    let plan = plan_of("[sweep]\nseeds = [5]", &dir);
    run_row(&plan, 0, &StopSignal::default(), None, &quiet).unwrap();
    let run = plan.run_dir(&plan.rows[0]);
    let cfg = std::fs::read_to_string(run.join("config.toml")).unwrap();
    std::fs::write(
        run.join("config.toml"),
        cfg.replace("steps = 60", "steps = 61"),
    )
    .unwrap();
    let e = run_row(&plan, 0, &StopSignal::default(), None, &quiet)
        .unwrap_err()
        .to_string();
    assert!(e.contains("holds a different configuration"), "{e}");
    assert_eq!(sweep_status(&plan)[0].state, RowState::Stale);
}

#[test]
fn a_half_created_run_directory_is_moved_aside_and_the_row_started_again() {
    let dir = scratch("partial");
    let plan = plan_of("[sweep]\nseeds = [6]", &dir);
    let run = plan.run_dir(&plan.rows[0]);
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("metrics.jsonl"), "{\"step\": 0").unwrap();
    assert!(matches!(
        decide(&run, &plan.rows[0]).unwrap(),
        Action::Restart(_)
    ));
    run_row(&plan, 0, &StopSignal::default(), None, &quiet).unwrap();
    assert_eq!(
        RunReader::open(&run).unwrap().manifest.status,
        RunStatus::Completed
    );
    let kept = dir.join("attempts").join(format!("{}.1", plan.rows[0].id));
    assert_eq!(
        std::fs::read_to_string(kept.join("metrics.jsonl")).unwrap(),
        "{\"step\": 0"
    );
}

#[test]
fn aggregation_writes_config_columns_and_lists_what_is_missing() {
    let dir = scratch("aggregate");
    let plan = plan_of("[sweep]\nseeds = 2\n\"lr.base\" = [0.05, 0.1]", &dir);
    for i in [0, 1, 3] {
        run_row(&plan, i, &StopSignal::default(), None, &quiet).unwrap();
    }
    let s = aggregate_sweep(&plan, true).unwrap();
    assert_eq!(s.runs, 3);
    assert_eq!(
        s.missing.iter().map(|r| r.index).collect::<Vec<_>>(),
        vec![2]
    );
    assert_eq!(s.exit_code(), 1);
    let table = learnscope_store::read_export_parquet(&s.parquet).unwrap();
    assert!(table.config.iter().any(|(c, _)| c == "lr.base"));
    let html = std::fs::read_to_string(s.report.unwrap()).unwrap();
    assert!(html.contains("lr.base=0.05") && html.contains("lr.base=0.1"));
}

#[test]
fn more_tasks_than_the_array_size_limit_are_split_into_several_arrays() {
    let dir = scratch("slurm");
    let plan = plan_of("[sweep]\nseeds = 25", &dir);
    let opts = SlurmOptions {
        partition: None,
        time: Some("00:10:00".into()),
        cpus_per_task: 1,
        max_parallel: Some(4),
        runs_per_task: 2,
        signal_lead_seconds: 60,
        binary: PathBuf::from("/usr/bin/learnscope"),
        max_array_size: 5,
    };
    // 25 rows, 2 per task → 13 tasks → arrays of 5, 5 and 3 tasks from offsets 0, 5, 10.
    let files = write_slurm(&plan, &opts).unwrap();
    assert_eq!(files.tasks, 13);
    assert_eq!(files.arrays.len(), 3);
    let last = std::fs::read_to_string(&files.arrays[2]).unwrap();
    assert!(last.contains("#SBATCH --array=0-2%4\n"), "{last}");
    assert!(
        last.contains("OFFSET=10\n") && last.contains("ROWS=25\n") && last.contains("PER_TASK=2\n")
    );
    let submit = std::fs::read_to_string(&files.submit).unwrap();
    assert_eq!(submit.matches("sbatch --parsable 'array-").count(), 3);
    // The array scripts are valid bash.
    for f in &files.arrays {
        let ok = std::process::Command::new("bash")
            .arg("-n")
            .arg(f)
            .status()
            .unwrap();
        assert!(ok.success(), "{} does not parse", f.display());
    }
}
