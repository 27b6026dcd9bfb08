//! `learnscope human analyse RESPONSES.csv [--curves FILE.csv]`: the learning curves and OCS
//! indices of HUMAN-TASK.md §4.5 from a long response table, and `learnscope human simulate
//! CONFIG --out RESPONSES.csv`: networks as virtual participants (§4.6) writing that table
//! (`learnscope_repro::virtual_participant`). The table has one row per (agent, trial, label),
//! with the columns of the study's `responses_long` view:
//! `agent_kind,agent_id,day,block,trial,item,label,level,target,response` (target and response
//! 0/1; any column order, extra columns ignored). The analysis is `learnscope_stats::responses`,
//! the same code for people and networks.
//!
//! `learnscope human serve STUDY.toml | --demo` runs the browser study (`learnscope_human`: an
//! axum server writing SQLite in WAL mode; docs/human-study.md) and `learnscope human export`
//! writes its data as CSV, JSON or a Psych-DS dataset. `analyse` reads the study database
//! (its `responses_long` view) as readily as a CSV, and several inputs at once: people from the
//! database and networks from `simulate` are drawn on the same axes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use learnscope_stats::responses::{agent_curves, aggregate, AgentCurves, ResponseRow};

/// `learnscope human ...`.
#[derive(clap::Subcommand, Debug)]
pub enum HumanCommand {
    /// Curves (TNR, hit rate, d′, V_x, d_OCS per level and block) and OCS indices per agent from
    /// a responses_long CSV.
    Analyse(AnalyseArgs),
    /// Serve the browser study (consent, instructions, quiz, practice, trials with feedback,
    /// survey; one day per visit) and store every trial in SQLite.
    Serve(ServeArgs),
    /// Export a study's data: long CSV, wide JSON, or a Psych-DS dataset (zip).
    Export(ExportArgs),
    /// Networks as virtual participants: train a configuration once per agent seed and write
    /// their yes/no responses, block by block, as a responses_long CSV.
    Simulate(SimulateArgs),
}

/// Options of `human simulate`.
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// The network and task (e.g. experiments/human-virtual.toml).
    config: PathBuf,
    /// Override a configuration value (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Agents (seeds 0..N).
    #[arg(long, default_value_t = 20)]
    agents: u64,
    /// Updates per block (32: the human protocol's block of 32 trials).
    #[arg(long, default_value_t = 32)]
    block_steps: u64,
    /// Trials per item in a block.
    #[arg(long, default_value_t = 4)]
    reps: usize,
    /// Inverse temperature of the Bernoulli responses p = σ(β (f − θ)).
    #[arg(long, default_value_t = 12.0)]
    beta: f64,
    /// Answer "yes" iff f > θ instead of sampling.
    #[arg(long)]
    deterministic: bool,
    /// The response table to write (CSV).
    #[arg(long, value_name = "FILE.csv")]
    out: PathBuf,
    /// Where the agents' run directories go (default: FILE.csv's name + `.runs`).
    #[arg(long, value_name = "DIR")]
    runs: Option<PathBuf>,
}

/// Options of `human serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The study configuration (TOML; docs/human-study.md).
    #[arg(required_unless_present = "demo", conflicts_with = "demo")]
    study: Option<PathBuf>,
    /// Serve the built-in 8-item study: a temporary database, development IDs accepted.
    #[arg(long)]
    demo: bool,
    /// The SQLite database (created if missing; default: STUDY_ID.sqlite here, or a temporary
    /// file with --demo).
    #[arg(long, value_name = "FILE.sqlite")]
    db: Option<PathBuf>,
    /// The address to bind (loopback by default; --dev is refused on anything else).
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// The port (0 picks a free one; the address is printed once bound).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Test hooks: the X-Test-Now clock header, item indices in the page, development IDs.
    #[arg(long)]
    dev: bool,
}

/// Options of `human export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The study database.
    #[arg(long, value_name = "FILE.sqlite")]
    db: PathBuf,
    /// The study id (its `[study] id`).
    #[arg(long)]
    study: String,
    /// csv (one row per trial and label), json (one object per session) or psychds (a zip).
    #[arg(long, value_parser = ["csv", "json", "psychds"])]
    format: String,
    /// Where to write it.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
}

/// Options of `human analyse`.
#[derive(clap::Args, Debug)]
pub struct AnalyseArgs {
    /// Response tables: CSVs with a header row, or study databases (`.sqlite`/`.db`: their
    /// responses_long view). Several are analysed together, e.g. people and networks.
    #[arg(required = true)]
    responses: Vec<PathBuf>,
    /// Apply the pre-registered exclusions of study databases (HUMAN-TASK §2.5): drop people
    /// excluded (attention checks, screened out) and the later days of people who missed a day.
    #[arg(long)]
    exclude: bool,
    /// With --exclude: also drop flagged people (fast responses, one response vector on the last
    /// day, hidden tab); report results with and without.
    #[arg(long, requires = "exclude")]
    exclude_flagged: bool,
    /// Also write the per-agent, per-block curves as a long CSV here.
    #[arg(long, value_name = "FILE.csv")]
    curves: Option<PathBuf>,
    /// Also draw people and networks on the same axes: one self-contained HTML page.
    #[arg(long, value_name = "FILE.html")]
    html: Option<PathBuf>,
}

const COLUMNS: [&str; 10] = [
    "agent_kind",
    "agent_id",
    "day",
    "block",
    "trial",
    "item",
    "label",
    "level",
    "target",
    "response",
];

/// Parses the table; errors name the file, line and column.
pub fn read_responses(path: &Path) -> Result<Vec<ResponseRow>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        bail!("{}: empty file (expected a header row)", path.display());
    };
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let mut at = [0usize; 10];
    for (k, c) in COLUMNS.iter().enumerate() {
        at[k] = names.iter().position(|n| n == c).with_context(|| {
            format!(
                "{}:1: no column `{c}` (the header must name {})",
                path.display(),
                COLUMNS.join(",")
            )
        })?;
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let cell = |k: usize| -> Result<&str> {
            cells.get(at[k]).copied().with_context(|| {
                format!(
                    "{}:{}: {} cells, column `{}` is number {}",
                    path.display(),
                    i + 1,
                    cells.len(),
                    COLUMNS[k],
                    at[k] + 1
                )
            })
        };
        let int = |k: usize| -> Result<u64> {
            let v = cell(k)?;
            v.parse::<u64>().with_context(|| {
                format!(
                    "{}:{}: `{}` = {v:?} is not an integer >= 0",
                    path.display(),
                    i + 1,
                    COLUMNS[k]
                )
            })
        };
        let flag = |k: usize| -> Result<bool> {
            match cell(k)? {
                "0" | "false" => Ok(false),
                "1" | "true" => Ok(true),
                v => bail!(
                    "{}:{}: `{}` = {v:?}, expected 0 or 1",
                    path.display(),
                    i + 1,
                    COLUMNS[k]
                ),
            }
        };
        let small = |k: usize| -> Result<u32> {
            let v = int(k)?;
            u32::try_from(v).with_context(|| {
                format!(
                    "{}:{}: `{}` = {v} is too large",
                    path.display(),
                    i + 1,
                    COLUMNS[k]
                )
            })
        };
        rows.push(ResponseRow {
            agent_kind: cell(0)?.to_string(),
            agent_id: cell(1)?.to_string(),
            day: small(2)?,
            block: small(3)?,
            trial: int(4)?,
            item: small(5)?,
            label: small(6)?,
            level: small(7)?,
            target: flag(8)?,
            response: flag(9)?,
        });
    }
    Ok(rows)
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v}"))
}

/// The curves as a long CSV: one row per (agent, bin, level).
fn curves_csv(agents: &[AgentCurves]) -> String {
    let mut s = String::from(
        "agent_kind,agent_id,bin,day,block,trials,level,tnr,tpr,far,d_prime,input_sensitivity,d_ocs,label_variance\n",
    );
    for a in agents {
        for b in &a.bins {
            for l in &b.levels {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                    a.agent_kind,
                    a.agent_id,
                    b.bin,
                    b.day,
                    b.block,
                    b.trials,
                    l.level,
                    opt(l.tnr),
                    opt(l.tpr),
                    opt(l.far),
                    opt(l.d_prime),
                    b.input_sensitivity,
                    b.d_ocs,
                    b.label_variance
                );
            }
        }
    }
    s
}

/// The rows as a responses_long CSV.
fn responses_csv(rows: &[ResponseRow]) -> String {
    let mut s = COLUMNS.join(",");
    s.push('\n');
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{}",
            r.agent_kind,
            r.agent_id,
            r.day,
            r.block,
            r.trial,
            r.item,
            r.label,
            r.level,
            u8::from(r.target),
            u8::from(r.response)
        );
    }
    s
}

fn simulate(a: &SimulateArgs) -> Result<i32> {
    use learnscope_repro::virtual_participant::{simulate, ResponseRule, SimulateRequest};
    let text = std::fs::read_to_string(&a.config)
        .with_context(|| format!("reading {}", a.config.display()))?;
    let config = learnscope_train::config::RunConfig::parse(&text, &a.sets)
        .with_context(|| a.config.display().to_string())?;
    let runs_dir = a.runs.clone().unwrap_or_else(|| {
        let mut p = a.out.clone().into_os_string();
        p.push(".runs");
        PathBuf::from(p)
    });
    let req = SimulateRequest {
        config,
        seeds: (0..a.agents).collect(),
        block_steps: a.block_steps,
        reps: a.reps,
        rule: if a.deterministic {
            ResponseRule::Deterministic
        } else {
            ResponseRule::Bernoulli { beta: a.beta }
        },
        runs_dir,
    };
    let stop = crate::run::install_signal_handlers()?;
    let rows = simulate(&req, &stop).map_err(anyhow::Error::msg)?;
    std::fs::write(&a.out, responses_csv(&rows))
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "{}: {} rows from {} agents ({} runs in {})",
        a.out.display(),
        rows.len(),
        a.agents,
        a.agents,
        req.runs_dir.display()
    );
    summarise(&rows, &a.out)?;
    Ok(0)
}

fn serve(a: &ServeArgs) -> Result<i32> {
    use learnscope_human::{serve_blocking, ServeOptions, StudyConfig};
    let config = match &a.study {
        Some(path) => StudyConfig::load(path)?,
        None => StudyConfig::demo(),
    };
    let db = match &a.db {
        Some(db) => db.clone(),
        None if a.demo => {
            let dir =
                std::env::temp_dir().join(format!("learnscope-human-demo-{}", std::process::id()));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.join("demo.sqlite")
        }
        None => PathBuf::from(format!("{}.sqlite", config.study.id)),
    };
    let study = config.study.id.clone();
    let options = ServeOptions {
        config,
        db: db.clone(),
        bind: a.bind,
        port: a.port,
        dev: a.dev || a.demo,
    };
    // A generated (dev / demo) admin token is printed so the export and analysis endpoints
    // can be tried; a configured one never is.
    let admin = if learnscope_human::server::admin_token_is_generated(&options) {
        Some(format!(
            "admin token (generated for this run): {}",
            learnscope_human::admin_token_for(&options)?
        ))
    } else {
        None
    };
    serve_blocking(options, move |addr| {
        use std::io::Write as _;
        println!("learnscope human: listening on http://{addr}/s/{study}");
        println!("learnscope human: database {}", db.display());
        if let Some(notice) = admin {
            println!("learnscope human: {notice}");
        }
        let _ = std::io::stdout().flush();
    })?;
    Ok(0)
}

fn export(a: &ExportArgs) -> Result<i32> {
    use learnscope_human::ExportFormat;
    let format = match a.format.as_str() {
        "csv" => ExportFormat::Csv,
        "json" => ExportFormat::Json,
        _ => ExportFormat::PsychDs,
    };
    learnscope_human::export(&a.db, &a.study, format, &a.out)?;
    println!("{}", a.out.display());
    Ok(0)
}

/// Whether `path` names a study database (by extension).
fn is_database(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("sqlite" | "sqlite3" | "db")
    )
}

/// Reads a response table: a study database's responses_long view or a CSV.
fn read_any(path: &Path) -> Result<Vec<ResponseRow>> {
    if is_database(path) {
        Ok(learnscope_human::read_responses_long(path)?)
    } else {
        read_responses(path)
    }
}

/// Which rows of a study database the exclusion rules keep.
#[derive(Debug, Clone, Copy)]
struct Exclusion {
    /// Apply the exclusion rules.
    rules: bool,
    /// Also drop flagged people.
    flagged: bool,
}

/// Prints the exclusion flags of the study database at `path` and drops what `policy` excludes.
fn apply_exclusions(path: &Path, rows: &mut Vec<ResponseRow>, policy: Exclusion) -> Result<()> {
    use learnscope_human::exclusions::exclusion_flags_of_db;
    for (study, people) in exclusion_flags_of_db(path)? {
        println!(
            "{}: study {study}: exclusions (HUMAN-TASK §2.5; flags are not exclusions unless \
             --exclude-flagged)",
            path.display()
        );
        println!("participant  days completed  exclude  exclude from days >= 2  flags");
        for p in &people {
            let completed = p.days.iter().filter(|d| d.status == "completed").count();
            let flags: Vec<String> = p
                .days
                .iter()
                .flat_map(|d| d.flags.iter().map(move |f| format!("{f}@day{}", d.day)))
                .collect();
            println!(
                "{:<11}  {:>14}  {:>7}  {:>22}  {}",
                p.participant,
                completed,
                if p.exclude { "yes" } else { "no" },
                if p.exclude_longitudinal { "yes" } else { "no" },
                if flags.is_empty() {
                    "—".to_string()
                } else {
                    flags.join(" ")
                }
            );
            if policy.rules {
                let drop_all = p.exclude || (policy.flagged && p.flagged);
                let before = rows.len();
                rows.retain(|r| {
                    r.agent_kind != "human"
                        || r.agent_id != p.participant
                        || !(drop_all || (p.exclude_longitudinal && r.day >= 2))
                });
                if rows.len() < before {
                    println!("  {}: {} rows dropped", p.participant, before - rows.len());
                }
            }
        }
    }
    Ok(())
}

/// Every row of several response tables, and their names joined for titles.
fn read_all(paths: &[PathBuf]) -> Result<(Vec<ResponseRow>, String)> {
    read_all_excluding(paths, None)
}

/// [`read_all`]; with a policy, the exclusion flags of study databases are printed and the
/// policy applied.
fn read_all_excluding(
    paths: &[PathBuf],
    policy: Option<Exclusion>,
) -> Result<(Vec<ResponseRow>, String)> {
    let mut rows = Vec::new();
    for path in paths {
        let mut these = read_any(path)?;
        if let (true, Some(policy)) = (is_database(path), policy) {
            apply_exclusions(path, &mut these, policy)?;
        }
        rows.extend(these);
    }
    let source = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    Ok((rows, source))
}

/// Whether `learnscope report` should treat its inputs as response tables (study databases or
/// responses_long CSVs) rather than run directories.
pub fn is_response_table(path: &Path) -> bool {
    path.is_file()
        && matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("sqlite" | "sqlite3" | "db" | "csv")
        )
}

/// `learnscope report STUDY.sqlite [VP.csv …] --out F.html`: the human-study page (people and
/// networks on the same axes), the same page as `human analyse --html`.
pub fn report(paths: &[PathBuf], out: &Path) -> Result<()> {
    let (rows, source) = read_all(paths)?;
    let agents = agent_curves(&rows).with_context(|| source.clone())?;
    let page = learnscope_report::human::human_report(&agents, &source);
    std::fs::write(out, page).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

/// Runs `learnscope human ...`; returns the exit code.
pub fn run(cmd: &HumanCommand) -> Result<i32> {
    let a = match cmd {
        HumanCommand::Analyse(a) => a,
        HumanCommand::Simulate(s) => return simulate(s),
        HumanCommand::Serve(s) => return serve(s),
        HumanCommand::Export(e) => return export(e),
    };
    let policy = Exclusion {
        rules: a.exclude,
        flagged: a.exclude_flagged,
    };
    let (rows, source) = read_all_excluding(&a.responses, Some(policy))?;
    let agents = summarise(&rows, Path::new(&source))?;
    if let Some(out) = &a.curves {
        std::fs::write(out, curves_csv(&agents))
            .with_context(|| format!("writing {}", out.display()))?;
        println!("{}", out.display());
    }
    if let Some(out) = &a.html {
        let page = learnscope_report::human::human_report(&agents, &source);
        std::fs::write(out, page).with_context(|| format!("writing {}", out.display()))?;
        println!("{}", out.display());
    }
    Ok(0)
}

/// Prints the per-agent indices and the mean ± SEM bands; returns the curves.
fn summarise(rows: &[ResponseRow], source: &Path) -> Result<Vec<AgentCurves>> {
    let agents = agent_curves(rows).with_context(|| source.display().to_string())?;
    println!(
        "{}: {} rows, {} agents",
        source.display(),
        rows.len(),
        agents.len()
    );
    println!("agent_kind  agent_id  bins  (i) early TNR_item − TNR_sup  (ii) TPR_item dip  (iii) min-d_OCS bin");
    for g in &agents {
        let i = &g.indices;
        println!(
            "{:<10}  {:<8}  {:>4}  {:>28}  {:>16}  {:>19}",
            g.agent_kind,
            g.agent_id,
            g.bins.len(),
            i.early_tnr_contrast
                .map_or("—".into(), |v| format!("{v:.3}")),
            i.tpr_dip.map_or("—".into(), |v| format!("{v:.3}")),
            i.d_ocs_min_bin.map_or("—".into(), |v| v.to_string())
        );
    }
    // Mean ± SEM across agents of a kind, per level, at each bin.
    let mut kinds: BTreeMap<&str, Vec<&AgentCurves>> = BTreeMap::new();
    for g in &agents {
        kinds.entry(&g.agent_kind).or_default().push(g);
    }
    for (kind, group) in &kinds {
        let levels: Vec<u32> = group[0].bins[0].levels.iter().map(|l| l.level).collect();
        for level in levels {
            for (name, pick) in [("TNR", 0), ("TPR", 1)] {
                let band = aggregate(group, |a, b| {
                    a.bins[b]
                        .levels
                        .iter()
                        .find(|l| l.level == level)
                        .and_then(|l| if pick == 0 { l.tnr } else { l.tpr })
                });
                let cells: Vec<String> = band
                    .iter()
                    .map(|p| {
                        if p.n > 1 {
                            format!("{:.2}±{:.2}", p.mean, p.sem)
                        } else {
                            format!("{:.2}", p.mean)
                        }
                    })
                    .collect();
                println!(
                    "{kind} level {level} {name} by bin (mean ± SEM): {}",
                    cells.join(" ")
                );
            }
        }
    }
    Ok(agents)
}
