//! `learnscope sweep` and `learnscope run --plan`: the local path in the default suite, and a
//! real single-node Slurm cluster (`scripts/slurm-local`) in an ignored test CI runs by name.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{learnscope, scratch, text};

const BASE: &str = r#"
name = "sw"
seed = 0
dtype = "f64"
threads = 1
steps = 200

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
schedule = { kind = "every", n = 20 }
"#;

fn write_config(dir: &Path, sweep: &str) -> PathBuf {
    let p = dir.join("sweep.toml");
    std::fs::write(&p, format!("{BASE}\n{sweep}")).unwrap();
    p
}

fn plan(dir: &Path, sweep: &str, sets: &[&str]) -> PathBuf {
    let cfg = write_config(dir, sweep);
    let out = dir.join("sweep");
    let mut cmd = learnscope();
    cmd.args(["sweep", "plan"]).arg(&cfg).arg("--out").arg(&out);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    out
}

#[test]
fn run_plan_takes_its_row_from_the_array_environment_and_is_idempotent() {
    let dir = scratch("sweep-run-plan");
    let sweep = plan(&dir, "[sweep]\nseeds = 2\n\"lr.base\" = [0.05, 0.1]", &[]);
    let plan_file = sweep.join("plan.jsonl");
    let o = learnscope()
        .args(["run", "--plan"])
        .arg(&plan_file)
        .env("SLURM_ARRAY_TASK_ID", "3")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let again = learnscope()
        .args(["run", "--plan"])
        .arg(&plan_file)
        .env("JOB_COMPLETION_INDEX", "3")
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("already completed; skipped"),
        "{}",
        text(&again)
    );
    let out_of_range = learnscope()
        .args(["run", "--plan"])
        .arg(&plan_file)
        .args(["--index", "9"])
        .output()
        .unwrap();
    assert_eq!(out_of_range.status.code(), Some(2));
    assert!(
        text(&out_of_range).contains("no row 9: the plan has 4 rows"),
        "{}",
        text(&out_of_range)
    );

    let status = learnscope()
        .args(["sweep", "status"])
        .arg(&sweep)
        .output()
        .unwrap();
    assert!(
        text(&status).contains("4 runs, 1 completed, 3 not started"),
        "{}",
        text(&status)
    );
    let agg = learnscope()
        .args(["sweep", "aggregate"])
        .arg(&sweep)
        .output()
        .unwrap();
    assert_eq!(agg.status.code(), Some(1), "{}", text(&agg));
    assert!(
        text(&agg).contains("3 missing (not started)"),
        "{}",
        text(&agg)
    );

    let pool = learnscope()
        .args(["sweep", "run"])
        .arg(&sweep)
        .args(["--jobs", "2"])
        .output()
        .unwrap();
    assert!(pool.status.success(), "{}", text(&pool));
    assert!(
        text(&pool).contains("already completed, skipped"),
        "{}",
        text(&pool)
    );
    let agg = learnscope()
        .args(["sweep", "aggregate"])
        .arg(&sweep)
        .output()
        .unwrap();
    assert!(agg.status.success(), "{}", text(&agg));
    assert!(sweep.join("sweep.parquet").is_file() && sweep.join("report.html").is_file());
}

#[test]
fn a_plan_with_a_bad_row_names_it_and_writes_nothing() {
    let dir = scratch("sweep-bad-row");
    let cfg = write_config(&dir, "[sweep]\n\"model.hidden\" = [[8], \"wide\"]");
    let o = learnscope()
        .args(["sweep", "plan"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.join("sweep"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("sweep row 1 (model.hidden=\"wide\")"),
        "{}",
        text(&o)
    );
    assert!(!dir.join("sweep").join("plan.jsonl").exists());
}

/// Starts `scripts/slurm-local` in `dir` and stops every daemon when dropped.
struct LocalSlurm {
    dir: PathBuf,
    conf: PathBuf,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/slurm-local")
}

impl LocalSlurm {
    fn start(dir: &Path) -> Self {
        let o = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "scripts/slurm-local start: {}",
            text(&o)
        );
        LocalSlurm {
            dir: dir.to_path_buf(),
            conf: dir.join("slurm.conf"),
        }
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    fn queue_empty(&self) -> bool {
        let o = self
            .cmd("squeue")
            .args(["-h", "-o", "%i %T %r"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().is_empty()
    }

    /// The state (`PENDING`, `RUNNING`, …) of a job still in the queue.
    fn job_state(&self, job: &str) -> Option<String> {
        let o = self
            .cmd("squeue")
            .args(["-h", "-j", job, "-o", "%T"])
            .output()
            .ok()?;
        let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
        (!s.is_empty()).then_some(s)
    }

    fn wait_until(&self, what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
        let t = Instant::now();
        while !done() {
            if t.elapsed() > limit {
                let q = self.cmd("squeue").output().unwrap();
                panic!("timed out waiting for {what}; squeue:\n{}", text(&q));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for LocalSlurm {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

fn submit(slurm: &LocalSlurm, sweep: &Path, extra: &[&str]) -> String {
    let o = learnscope()
        .env("SLURM_CONF", &slurm.conf)
        .args(["sweep", "slurm"])
        .arg(sweep)
        .args(extra)
        .arg("--submit")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    t.lines()
        .find_map(|l| l.strip_prefix("submitted array-0.sbatch: job "))
        .unwrap_or_else(|| panic!("no array job id in {t}"))
        .trim()
        .to_string()
}

/// Issue 12's cluster test: Debian's Slurm on localhost (installed by the script when missing,
/// as root), a 4-run sweep through the generated scripts and the aggregation job, then a run
/// pre-empted with USR1 that checkpoints, requeues itself and resumes to completion.
#[test]
#[ignore = "installs and starts Slurm daemons (root); CI runs it by name"]
fn slurm_sweep_end_to_end() {
    // The cluster lives under a short path (munge's socket path must fit a sockaddr_un);
    // daemons of an earlier, aborted run of this test are stopped first.
    let cluster = std::env::temp_dir().join("learnscope-slurm-test");
    if cluster.is_dir() {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&cluster)
            .status();
        let _ = std::fs::remove_dir_all(&cluster);
    }
    let dir = scratch("sweep-slurm");
    let slurm = LocalSlurm::start(&cluster);

    // A 2 × 2 sweep, two rows per array task, at most 2 tasks at once.
    let sweep = plan(&dir, "[sweep]\nseeds = 2\n\"lr.base\" = [0.05, 0.1]", &[]);
    submit(
        &slurm,
        &sweep,
        &["--runs-per-task", "2", "--max-parallel", "2"],
    );
    slurm.wait_until(
        "the sweep and its aggregation",
        Duration::from_secs(60),
        || slurm.queue_empty() && sweep.join("sweep.parquet").is_file(),
    );
    let status = learnscope()
        .args(["sweep", "status"])
        .arg(&sweep)
        .output()
        .unwrap();
    assert!(
        text(&status).contains("4 runs, 4 completed"),
        "{}",
        text(&status)
    );
    let logs = sweep.join("slurm").join("logs");
    let agg_log = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("aggregate-")
        })
        .expect("the aggregation job's log");
    let agg = std::fs::read_to_string(&agg_log).unwrap();
    assert!(
        agg.contains("from 4 runs") && !agg.contains("missing"),
        "{agg}"
    );
    let table = learnscope_store::read_export_parquet(&sweep.join("sweep.parquet")).unwrap();
    let runs: std::collections::BTreeSet<&str> = table.run.iter().map(String::as_str).collect();
    assert_eq!(runs.len(), 4);

    // Pre-emption: USR1 to the batch shell → forwarded → checkpoint, exit 3 → the task requeues
    // itself → the requeued task resumes the row from its checkpoint.
    let long_dir = dir.join("long");
    std::fs::create_dir_all(&long_dir).unwrap();
    let long = plan(
        &long_dir,
        "[sweep]\nseeds = [9]",
        &["steps=2000000", "probes=[]"],
    );
    let job = submit(&slurm, &long, &[]);
    slurm.wait_until("the long run to start", Duration::from_secs(30), || {
        std::fs::read_dir(long.join("runs"))
            .ok()
            .and_then(|mut d| d.next())
            .is_some_and(|e| e.unwrap().path().join("manifest.json").is_file())
    });
    std::thread::sleep(Duration::from_millis(500));
    let o = slurm
        .cmd("scancel")
        .args(["--signal=USR1", "--batch", &format!("{job}_0")])
        .output()
        .unwrap();
    assert!(o.status.success(), "scancel: {}", text(&o));
    let row_dir = std::fs::read_dir(long.join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    slurm.wait_until("the checkpoint on USR1", Duration::from_secs(30), || {
        std::fs::read_to_string(row_dir.join("manifest.json"))
            .is_ok_and(|m| m.contains("\"interrupted\""))
    });
    // The task requeued itself: it is pending again. It may start once the old instance's
    // credential has expired: scripts/slurm-local sets cred_expire=10 s (Slurm's default is
    // 120 s). Forcing an earlier start (scontrol update StartTime=now) can get the task killed
    // ("Job credential revoked") and not requeued, as a CI dry run showed.
    slurm.wait_until(
        "the requeued task to be pending",
        Duration::from_secs(30),
        || slurm.job_state(&format!("{job}_0")).as_deref() == Some("PENDING"),
    );
    slurm.wait_until("the resumed run", Duration::from_secs(60), || {
        std::fs::read_to_string(row_dir.join("manifest.json"))
            .is_ok_and(|m| !m.contains("\"interrupted\""))
    });
    slurm.wait_until(
        "the resumed run and its aggregation",
        Duration::from_secs(90),
        || slurm.queue_empty() && long.join("sweep.parquet").is_file(),
    );
    let manifest = std::fs::read_to_string(row_dir.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"completed\""), "{manifest}");
    let v: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let resumed = v["resumed_from"].as_array().expect("resumed_from");
    assert_eq!(resumed.len(), 1, "{manifest}");
    assert!(resumed[0].as_u64().unwrap() > 0, "{manifest}");
}
