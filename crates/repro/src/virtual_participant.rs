//! Networks as "virtual participants" of the human category-learning study (HUMAN-TASK.md §4.6):
//! a run configuration on a multi-label task (P1's hierarchy) is trained once per agent seed with
//! an `outputs` probe every `block_steps` updates, and each observation becomes one block of
//! trials in the study's long response table, answered from the network's outputs:
//!
//! - deterministic: "yes" to label j on item x iff `f_j(x) > θ`;
//! - Bernoulli (graded responding, like people): "yes" with probability `σ(β·(f_j(x) − θ))`,
//!   drawn from the counter-based stream `virtual-participant` of the agent's seed, so the table
//!   is a pure function of (configuration, seeds, options).
//!
//! θ is the midpoint of the targets: 0 for ±1 targets (`[[transforms]] kind = "plus_minus_one"`),
//! ½ for 0/1 targets. Only ±1 coding starts an untrained network at chance (§2.4); under 0/1
//! coding the early true-negative rate is an artefact of the coding. Block b holds the responses
//! of the network after b·`block_steps` updates, `reps` trials per item (items in order within a
//! repetition), day 1. Levels come from the data set's output units; `target` is whether the
//! label applies to the item. The analysis (`learnscope_stats::responses`) never asks whether an
//! agent is a person or a network.

use std::path::{Path, PathBuf};

use learnscope_core::{ProbeSchedule, RandomKey};
use learnscope_data::{Split, TargetData};
use learnscope_stats::responses::ResponseRow;
use learnscope_store::RunReader;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_data;
use learnscope_train::StopSignal;

use crate::runner::{start_run, RunRequest};

/// The probe name the simulation adds.
pub const OUTPUTS_PROBE: &str = "virtual_participant_outputs";

/// How outputs become yes/no responses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResponseRule {
    /// `f > θ`.
    Deterministic,
    /// Yes with probability `σ(β (f − θ))`.
    Bernoulli {
        /// Inverse temperature β > 0.
        beta: f64,
    },
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulateRequest {
    /// The network and task (its `[[probes]]` are kept; an `outputs` probe is added).
    pub config: RunConfig,
    /// One agent per seed.
    pub seeds: Vec<u64>,
    /// Updates per block.
    pub block_steps: u64,
    /// Trials per item per block.
    pub reps: usize,
    /// The response rule.
    pub rule: ResponseRule,
    /// Where the agents' run directories go (`<dir>/<name>-seed<S>`).
    pub runs_dir: PathBuf,
}

fn bad(why: impl Into<String>) -> String {
    why.into()
}

/// Trains every agent and returns their response rows (agents in seed order).
pub fn simulate(req: &SimulateRequest, stop: &StopSignal) -> Result<Vec<ResponseRow>, String> {
    if req.block_steps == 0 || req.reps == 0 || req.seeds.is_empty() {
        return Err(bad(
            "block_steps, reps and the number of agents must be >= 1",
        ));
    }
    if let ResponseRule::Bernoulli { beta } = req.rule {
        if !(beta > 0.0 && beta.is_finite()) {
            return Err(bad(format!("beta = {beta} must be > 0 and finite")));
        }
    }
    let data = build_data(&req.config).map_err(|e| e.to_string())?;
    let units = data
        .output_units()
        .ok_or("the data set has no labelled output units (use the hierarchy task)")?
        .to_vec();
    let TargetData::Dense(y) = data.targets(Split::Train) else {
        return Err(bad(
            "the task must have dense multi-label targets (the hierarchy)",
        ));
    };
    let lo = y.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let theta = 0.5 * (lo + hi);

    let mut rows = Vec::new();
    for &seed in &req.seeds {
        let mut cfg = req.config.clone();
        cfg.seed = seed;
        cfg.probes
            .retain(|p| p.get("name").and_then(|n| n.as_str()) != Some(OUTPUTS_PROBE));
        let mut probe = toml::Table::new();
        probe.insert("kind".into(), "outputs".into());
        probe.insert("name".into(), OUTPUTS_PROBE.into());
        probe.insert(
            "schedule".into(),
            toml::Value::try_from(ProbeSchedule::Every { n: req.block_steps })
                .map_err(|e| e.to_string())?,
        );
        probe.insert("splits".into(), toml::Value::Array(vec!["train".into()]));
        cfg.probes.push(probe);
        let agent = format!("{}-seed{seed}", cfg.name);
        let dir = req.runs_dir.join(&agent);
        let result = start_run(
            &RunRequest {
                config: cfg,
                out: Some(dir.clone()),
                runs_root: req.runs_dir.clone(),
                reproduce: None,
            },
            stop,
            None,
        )
        .map_err(|e| format!("agent {agent}: {e}"))?;
        if result.exit_code > 1 {
            return Err(format!("agent {agent}: interrupted ({})", dir.display()));
        }
        rows.extend(agent_rows(
            &dir,
            &agent,
            seed,
            req,
            &units_levels(&units),
            y,
            theta,
        )?);
    }
    Ok(rows)
}

fn units_levels(units: &[learnscope_data::OutputUnit]) -> Vec<u32> {
    units.iter().map(|u| u.level as u32).collect()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The response rows of one agent's run directory.
fn agent_rows(
    dir: &Path,
    agent: &str,
    seed: u64,
    req: &SimulateRequest,
    levels: &[u32],
    y: &[f64],
    theta: f64,
) -> Result<Vec<ResponseRow>, String> {
    let labels = levels.len();
    let items = y.len() / labels;
    let reader = RunReader::open(dir).map_err(|e| e.to_string())?;
    // step → outputs[item * labels + label]
    let mut by_step: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    for r in reader.records() {
        if r.probe == OUTPUTS_PROBE && r.key == "output" {
            let (Some(i), Some(j)) = (r.index, r.index2) else {
                continue;
            };
            let v = by_step
                .entry(r.step)
                .or_insert_with(|| vec![f64::NAN; items * labels]);
            if let Some(slot) = v.get_mut(i as usize * labels + j as usize) {
                *slot = r.value;
            }
        }
    }
    let key = RandomKey::root(seed).derive("virtual-participant");
    let mut rows = Vec::new();
    let mut trial = 0u64;
    for (block, (step, f)) in by_step.iter().enumerate() {
        if step % req.block_steps != 0 {
            continue; // the run's final observation, when steps is not a multiple
        }
        for _ in 0..req.reps {
            for item in 0..items {
                for label in 0..labels {
                    let out = f[item * labels + label];
                    let response = match req.rule {
                        ResponseRule::Deterministic => out > theta,
                        ResponseRule::Bernoulli { beta } => {
                            key.uniform_at(trial * labels as u64 + label as u64)
                                < sigmoid(beta * (out - theta))
                        }
                    };
                    rows.push(ResponseRow {
                        agent_kind: "network".into(),
                        agent_id: agent.to_string(),
                        day: 1,
                        block: block as u32,
                        trial,
                        item: item as u32,
                        label: label as u32,
                        level: levels[label],
                        target: y[item * labels + label] > theta,
                        response,
                    });
                }
                trial += 1;
            }
        }
    }
    Ok(rows)
}
