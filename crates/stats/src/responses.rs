//! Learning curves from a long response table, the same code for people and networks
//! (HUMAN-TASK.md §4.5; the OCS signatures of SCIENCE.md §P1 in behavioural terms).
//!
//! Input: one [`ResponseRow`] per (agent, trial, label): the label's hierarchy level, whether
//! it applies to the trial's item (`target`) and whether the agent selected it (`response`). This
//! is the `responses_long` view of the human study; networks evaluated as "virtual participants"
//! write the same rows. Nothing here branches on `agent_kind`.
//!
//! Per agent, per bin b (a block, identified by (day, block) and numbered in order) and level l:
//! - `TNR_l(b) = #(response = 0 ∧ target = 0) / #(target = 0)`,
//!   `TPR_l(b) = #(response = 1 ∧ target = 1) / #(target = 1)`, `FAR = 1 − TNR`, and
//!   `d′_l = z(TPR) − z(FAR)` with the log-linear correction ([`DecisionCounts::d_prime`]);
//! - the input sensitivity `V_x(b) = mean_j Var_items q_{j,item}(b)`: `q_{j,item}(b)` is the
//!   selection rate of label j on the bin's trials of one item, the variance is over the items
//!   seen in the bin (population variance); ≈ 0 when responses ignore the item (the OCS phase);
//! - `d_OCS(b) = mean over the bin's trials of Σ_j (r_j − ȳ_j)²`, with ȳ_j the base rate of
//!   label j (its mean target over all the agent's trials), next to the label variance
//!   `E‖y − ȳ‖²` (the same mean over trials of Σ_j (y_j − ȳ_j)²), its reference line.
//!
//! One scalar per agent, the OCS indices:
//! - (i) `early_tnr_contrast`: `TNR_item − TNR_sup`, the mean over the first two bins of the
//!   first day (item = the deepest level, sup = the shallowest level ≥ 1, so a root label at
//!   level 0 is not the "superordinate");
//! - (ii) `tpr_dip`: `TPR_item(0) − min_{b ≤ B/2} TPR_item(b)` over the agent's B bins. It
//!   assumes a chance-level start (±1 coding or stochastic responses; HUMAN-TASK §2.4): an agent
//!   that starts by saying "no" to everything has no dip to show;
//! - (iii) `d_ocs_min_bin`: the first bin at which d_OCS is smallest.
//!
//! [`aggregate`] gives mean ± SEM across the agents of one kind per bin, for plotting people and
//! networks on the same axes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::decision::{Correction, DecisionCounts};
use crate::error::{Result, StatsError};
use crate::summary::{mean, sem};

/// One (agent, trial, label) decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseRow {
    /// `human` or `network`.
    pub agent_kind: String,
    /// The agent (`p007`, `dln-seed3`).
    pub agent_id: String,
    /// Day (1-based for people; 1 for networks).
    pub day: u32,
    /// Block within the day.
    pub block: u32,
    /// Trial number (unique per agent and day).
    pub trial: u64,
    /// The item shown (canonical leaf index).
    pub item: u32,
    /// The label (canonical index).
    pub label: u32,
    /// Its level: 0 root, 1 superordinate, … , deepest = item names.
    pub level: u32,
    /// The label applies to the item.
    pub target: bool,
    /// The agent selected it.
    pub response: bool,
}

/// One level's decisions in one bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelStats {
    /// The level.
    pub level: u32,
    /// Hits, misses, false alarms, correct rejections.
    pub counts: DecisionCounts,
    /// True-negative rate (None without negatives).
    pub tnr: Option<f64>,
    /// Hit rate (None without positives).
    pub tpr: Option<f64>,
    /// False-alarm rate.
    pub far: Option<f64>,
    /// d′ with the log-linear correction (None when a class is empty).
    pub d_prime: Option<f64>,
}

/// One bin of one agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinStats {
    /// Position of the bin in the agent's (day, block) order.
    pub bin: usize,
    /// Day.
    pub day: u32,
    /// Block.
    pub block: u32,
    /// Trials in the bin.
    pub trials: usize,
    /// Per level, in level order.
    pub levels: Vec<LevelStats>,
    /// Input sensitivity V_x.
    pub input_sensitivity: f64,
    /// Mean squared distance of the responses to the base rates.
    pub d_ocs: f64,
    /// The label variance E‖y − ȳ‖² over the bin's trials (the reference of d_OCS).
    pub label_variance: f64,
}

/// The OCS indices of one agent (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OcsIndices {
    /// (i) `TNR_item − TNR_sup` over the first two bins of the first day.
    pub early_tnr_contrast: Option<f64>,
    /// (ii) `TPR_item(0) − min_{b ≤ B/2} TPR_item(b)`.
    pub tpr_dip: Option<f64>,
    /// (iii) The first bin of minimal d_OCS.
    pub d_ocs_min_bin: Option<usize>,
}

/// One agent's curves and indices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentCurves {
    /// `human` or `network`.
    pub agent_kind: String,
    /// The agent.
    pub agent_id: String,
    /// Label base rates ȳ_j (label index → rate).
    pub base_rates: BTreeMap<u32, f64>,
    /// The bins, in (day, block) order.
    pub bins: Vec<BinStats>,
    /// The OCS indices.
    pub indices: OcsIndices,
}

impl AgentCurves {
    /// The series of one level's statistic over bins (None where undefined).
    pub fn level_series(
        &self,
        level: u32,
        stat: impl Fn(&LevelStats) -> Option<f64>,
    ) -> Vec<Option<f64>> {
        self.bins
            .iter()
            .map(|b| b.levels.iter().find(|l| l.level == level).and_then(&stat))
            .collect()
    }
}

fn invalid(field: &'static str, value: f64, rule: &'static str) -> StatsError {
    StatsError::InvalidArgument {
        what: "response curves",
        field,
        value,
        rule,
    }
}

/// Curves and indices of every agent in `rows` (agents in (kind, id) order).
///
/// Errors: no rows; a trial whose rows disagree on the item or repeat a label; a label whose
/// level differs between rows.
pub fn agent_curves(rows: &[ResponseRow]) -> Result<Vec<AgentCurves>> {
    if rows.is_empty() {
        return Err(StatsError::TooFewPoints {
            what: "response curves",
            needed: 1,
            got: 0,
        });
    }
    let mut by_agent: BTreeMap<(&str, &str), Vec<&ResponseRow>> = BTreeMap::new();
    for r in rows {
        by_agent
            .entry((&r.agent_kind, &r.agent_id))
            .or_default()
            .push(r);
    }
    by_agent
        .into_iter()
        .map(|((kind, id), rows)| one_agent(kind, id, &rows))
        .collect()
}

/// A trial: item and label → (target, response).
struct Trial {
    item: u32,
    labels: BTreeMap<u32, (bool, bool)>,
}

fn one_agent(kind: &str, id: &str, rows: &[&ResponseRow]) -> Result<AgentCurves> {
    let mut level_of: BTreeMap<u32, u32> = BTreeMap::new();
    // (day, block) → (day, trial) → trial
    let mut bins: BTreeMap<(u32, u32), BTreeMap<(u32, u64), Trial>> = BTreeMap::new();
    for r in rows {
        if *level_of.entry(r.label).or_insert(r.level) != r.level {
            return Err(invalid("level", r.level as f64, "one level per label"));
        }
        let t = bins
            .entry((r.day, r.block))
            .or_default()
            .entry((r.day, r.trial))
            .or_insert_with(|| Trial {
                item: r.item,
                labels: BTreeMap::new(),
            });
        if t.item != r.item {
            return Err(invalid("item", r.item as f64, "one item per trial"));
        }
        if t.labels.insert(r.label, (r.target, r.response)).is_some() {
            return Err(invalid(
                "label",
                r.label as f64,
                "each label once per trial",
            ));
        }
    }
    // Base rates over all the agent's trials.
    let mut sums: BTreeMap<u32, (f64, usize)> = BTreeMap::new();
    for t in bins.values().flat_map(BTreeMap::values) {
        for (&label, &(target, _)) in &t.labels {
            let e = sums.entry(label).or_insert((0.0, 0));
            e.0 += f64::from(u8::from(target));
            e.1 += 1;
        }
    }
    let base_rates: BTreeMap<u32, f64> = sums
        .into_iter()
        .map(|(l, (s, n))| (l, s / n as f64))
        .collect();
    let levels: BTreeSet<u32> = level_of.values().copied().collect();

    let mut out = Vec::with_capacity(bins.len());
    for (bin, (&(day, block), trials)) in bins.iter().enumerate() {
        let mut counts: BTreeMap<u32, DecisionCounts> = BTreeMap::new();
        // label → item → (selected, shown)
        let mut q: BTreeMap<u32, BTreeMap<u32, (f64, f64)>> = BTreeMap::new();
        let (mut d_ocs, mut var) = (0.0, 0.0);
        for t in trials.values() {
            for (&label, &(target, response)) in &t.labels {
                counts
                    .entry(level_of[&label])
                    .or_default()
                    .record(target, response);
                let e = q
                    .entry(label)
                    .or_default()
                    .entry(t.item)
                    .or_insert((0.0, 0.0));
                e.0 += f64::from(u8::from(response));
                e.1 += 1.0;
                let y = base_rates[&label];
                d_ocs += (f64::from(u8::from(response)) - y).powi(2);
                var += (f64::from(u8::from(target)) - y).powi(2);
            }
        }
        let n = trials.len() as f64;
        let input_sensitivity = mean(
            &q.values()
                .map(|items| {
                    let rates: Vec<f64> = items.values().map(|(s, k)| s / k).collect();
                    let m = mean(&rates);
                    rates.iter().map(|r| (r - m).powi(2)).sum::<f64>() / rates.len() as f64
                })
                .collect::<Vec<_>>(),
        );
        out.push(BinStats {
            bin,
            day,
            block,
            trials: trials.len(),
            levels: levels
                .iter()
                .map(|&level| {
                    let c = counts.get(&level).copied().unwrap_or_default();
                    LevelStats {
                        level,
                        counts: c,
                        tnr: c.true_negative_rate(),
                        tpr: c.hit_rate(),
                        far: c.false_alarm_rate(),
                        d_prime: (c.positives() > 0 && c.negatives() > 0)
                            .then(|| c.d_prime(Correction::LogLinear).ok())
                            .flatten(),
                    }
                })
                .collect(),
            input_sensitivity,
            d_ocs: d_ocs / n,
            label_variance: var / n,
        });
    }
    let mut agent = AgentCurves {
        agent_kind: kind.to_string(),
        agent_id: id.to_string(),
        base_rates,
        bins: out,
        indices: OcsIndices {
            early_tnr_contrast: None,
            tpr_dip: None,
            d_ocs_min_bin: None,
        },
    };
    agent.indices = indices(&agent, &levels);
    Ok(agent)
}

fn indices(agent: &AgentCurves, levels: &BTreeSet<u32>) -> OcsIndices {
    let item = levels.iter().next_back().copied();
    let sup = levels.iter().find(|&&l| l >= 1).copied();
    let early_tnr_contrast = match (item, sup) {
        (Some(item), Some(sup)) if item != sup => {
            let first_day = agent.bins.first().map(|b| b.day);
            let tnr = |l| agent.level_series(l, |s| s.tnr);
            let (ti, ts) = (tnr(item), tnr(sup));
            let contrasts: Vec<f64> = agent
                .bins
                .iter()
                .enumerate()
                .filter(|(_, b)| Some(b.day) == first_day)
                .take(2)
                .filter_map(|(i, _)| Some(ti[i]? - ts[i]?))
                .collect();
            (!contrasts.is_empty()).then(|| mean(&contrasts))
        }
        _ => None,
    };
    let tpr_dip = item.and_then(|item| {
        let tpr = agent.level_series(item, |s| s.tpr);
        let first = tpr.first().copied().flatten()?;
        let half = tpr.len() / 2;
        tpr.iter()
            .take(half + 1)
            .flatten()
            .copied()
            .reduce(f64::min)
            .map(|m| first - m)
    });
    let d_ocs_min_bin = agent
        .bins
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.d_ocs.total_cmp(&b.1.d_ocs).then(a.0.cmp(&b.0)))
        .map(|(i, _)| i);
    OcsIndices {
        early_tnr_contrast,
        tpr_dip,
        d_ocs_min_bin,
    }
}

/// Mean ± SEM across agents at one bin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BandPoint {
    /// The bin.
    pub bin: usize,
    /// Agents with a defined value.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// The standard error of the mean (NaN for one agent).
    pub sem: f64,
}

/// Mean ± SEM across `agents` per bin of the statistic `stat(agent, bin)` (bins where no agent
/// has a value are left out).
pub fn aggregate(
    agents: &[&AgentCurves],
    stat: impl Fn(&AgentCurves, usize) -> Option<f64>,
) -> Vec<BandPoint> {
    let bins = agents.iter().map(|a| a.bins.len()).max().unwrap_or(0);
    (0..bins)
        .filter_map(|b| {
            let v: Vec<f64> = agents
                .iter()
                .filter(|a| b < a.bins.len())
                .filter_map(|a| stat(a, b))
                .filter(|x| x.is_finite())
                .collect();
            (!v.is_empty()).then(|| BandPoint {
                bin: b,
                n: v.len(),
                mean: mean(&v),
                sem: sem(&v),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 4-item, two-level tree: labels 0, 1 (level 1, base rate ½) and 2..6 (level 2, one
    /// per item, base rate ¼). Item i has labels i/2 and 2 + i.
    fn targets(item: u32) -> Vec<(u32, u32, bool)> {
        (0..6u32)
            .map(|l| {
                let level = if l < 2 { 1 } else { 2 };
                let t = if l < 2 { l == item / 2 } else { l == 2 + item };
                (l, level, t)
            })
            .collect()
    }

    /// Two blocks of each item once, responses from `policy(item, label, target, block)`.
    fn rows(id: &str, policy: impl Fn(u32, u32, bool, u32) -> bool) -> Vec<ResponseRow> {
        let mut out = Vec::new();
        let mut trial = 0;
        for block in 0..2u32 {
            for item in 0..4u32 {
                for (label, level, target) in targets(item) {
                    out.push(ResponseRow {
                        agent_kind: "human".into(),
                        agent_id: id.into(),
                        day: 1,
                        block,
                        trial,
                        item,
                        label,
                        level,
                        target,
                        response: policy(item, label, target, block),
                    });
                }
                trial += 1;
            }
        }
        out
    }

    #[test]
    fn the_policies_of_the_browser_tests_give_their_golden_values() {
        let no = agent_curves(&rows("no", |_, _, _, _| false)).unwrap();
        let b = &no[0].bins[0];
        for l in &b.levels {
            assert_eq!((l.tnr, l.tpr), (Some(1.0), Some(0.0)));
        }
        // Always "no": every response sits ȳ_j from its base rate:
        // d_OCS = Σ_j ȳ_j² = 2·¼ + 4·(1/16) = 0.75; V_x = 0.
        assert!((b.d_ocs - 0.75).abs() < 1e-12);
        assert_eq!(b.input_sensitivity, 0.0);
        // Label variance Σ_j ȳ_j(1 − ȳ_j) = 2·¼ + 4·3/16 = 1.25.
        assert!((b.label_variance - 1.25).abs() < 1e-12);

        let perfect = agent_curves(&rows("perfect", |_, _, t, _| t)).unwrap();
        let b = &perfect[0].bins[0];
        for l in &b.levels {
            assert_eq!((l.tnr, l.tpr), (Some(1.0), Some(1.0)));
            // log-linear: level 1 has 4 hits (of 4) and 4 rejections: z(4.5/5) − z(0.5/5) = 2.563
            assert!(l.d_prime.unwrap() > 2.5);
        }
        assert!((b.d_ocs - b.label_variance).abs() < 1e-12);
        // Every label's selection rate is 0 or 1 per item: V_x = mean_j Var_items =
        // (2 · ¼ + 4 · 3/16)/6 (Var of a 0/1 over 4 items with k ones = k/4 (1 − k/4)).
        assert!((b.input_sensitivity - (2.0 * 0.25 + 4.0 * 0.1875) / 6.0).abs() < 1e-12);

        // The OCS responder: "yes" exactly to labels with base rate > ½ — none here — so it
        // answers like always-no; with a root label (base rate 1) it would say yes to it only.
        let ocs = agent_curves(&rows("ocs", |_, _, _, _| false)).unwrap();
        assert_eq!(ocs[0].bins[1].d_ocs, 0.75);
    }

    #[test]
    fn the_ocs_indices_on_a_scripted_ocs_learner() {
        // Block 0: coin-flip-like (yes to labels 0, 2, 4 whatever the item); block 1: "no" to
        // every item-level label, superordinate still item-blind (yes to label 0).
        let r = rows("learner", |_, label, _, block| match block {
            0 => label % 2 == 0,
            _ => label == 0,
        });
        let a = &agent_curves(&r).unwrap()[0];
        // Block 0, level 2 (labels 2..6): each item has one positive among 4 labels; "yes" to
        // labels 2 and 4: hits for items 0 and 2 (TPR 2/4); false alarms 1 + 2 + 1 + 2 of 12
        // negatives (TNR 6/12).
        let l2 = &a.bins[0].levels[1];
        assert_eq!(l2.tpr, Some(0.5));
        assert_eq!(l2.tnr, Some(0.5));
        // Level 1 (labels 0, 1): yes to 0 only: TPR 2/4, TNR 2/4 in both blocks.
        assert_eq!(a.bins[0].levels[0].tnr, Some(0.5));
        // (i) mean over the two bins of TNR_item − TNR_sup = ((½ − ½) + (1 − ½))/2 = ¼.
        assert_eq!(a.indices.early_tnr_contrast, Some(0.25));
        // (ii) TPR_item: 0.5 then 0 → dip 0.5 (B = 2, b ≤ 1).
        assert_eq!(a.indices.tpr_dip, Some(0.5));
        // Responses ignore the item in both blocks: V_x = 0.
        assert_eq!(a.bins[1].input_sensitivity, 0.0);
        // (iii) block 1 is nearer the base rates: ‖r − ȳ‖² = (1 − ½)² + ½² + 4 · (1/16) = 0.75
        // vs block 0's ¼ + ¼ + 2 · (9/16) + 2 · (1/16) = 1.75.
        assert!((a.bins[1].d_ocs - 0.75).abs() < 1e-12);
        assert!((a.bins[0].d_ocs - 1.75).abs() < 1e-12);
        assert_eq!(a.indices.d_ocs_min_bin, Some(1));
    }

    #[test]
    fn agents_are_aggregated_with_sem_and_bad_tables_are_refused() {
        let mut all = rows("a", |_, _, _, _| false);
        all.extend(rows("b", |_, _, t, _| t));
        let agents = agent_curves(&all).unwrap();
        let refs: Vec<&AgentCurves> = agents.iter().collect();
        let band = aggregate(&refs, |a, b| a.bins[b].levels[1].tpr);
        assert_eq!(band.len(), 2);
        assert_eq!(band[0].n, 2);
        assert_eq!(band[0].mean, 0.5);
        // sd of {0, 1} = √½, SEM = √½/√2 = ½.
        assert!((band[0].sem - 0.5).abs() < 1e-12);

        let mut dup = rows("x", |_, _, _, _| false);
        dup.push(dup[0].clone());
        assert!(agent_curves(&dup)
            .unwrap_err()
            .to_string()
            .contains("each label once per trial"));
        let mut lvl = rows("y", |_, _, _, _| false);
        lvl[6].level = 7;
        assert!(agent_curves(&lvl)
            .unwrap_err()
            .to_string()
            .contains("one level per label"));
        assert!(agent_curves(&[]).is_err());
    }
}
