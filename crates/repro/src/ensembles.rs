//! Verdict rows over ensembles: accessibility and learning-order constancy (G. Hacohen,
//! L. Choshen & D. Weinshall, ICML 2020; used by P2 §4, SCIENCE.md §P2.5 items 4–6).
//!
//! An **ensemble** is `members` independent runs of one arm: the arm's runs in seed order are
//! cut into consecutive groups, ensemble `k` = seeds `k·members … (k+1)·members − 1` (runs left
//! over are not used). Each run records a per-example 0/1 series (the `correctness` probe's
//! `correct`, named by the row's `metric`: `probe`, `key`, `split`); the observation at step 0,
//! before any update, is left out, so the remaining ones are the epochs `e = 1..E`. The
//! **accessibility** of example `x` in an ensemble is `acc(x) = (1/(N·E)) Σᵢ Σₑ 1[fᵢᵉ(x) = y]`
//! ([`learnscope_stats::accessibility`]), and the **LOC** of two ensembles is Pearson's `r` of
//! their accessibility vectors ([`learnscope_stats::loc`]).
//!
//! Statistics (`ensembles.statistic`), each giving one value per ensemble pair (the row's
//! "per-seed" values, judged by `applies` like any row) unless said otherwise:
//! - `loc`: with one arm, LOC of its ensembles 0 vs 1, 2 vs 3, …; with two arms `[a, b]`, LOC
//!   of `a`'s ensemble k vs `b`'s ensemble k.
//! - `loc_fastest`: the same on the `fraction` (default 0.2) fastest-learned examples
//!   ([`learnscope_stats::loc_fastest`]: ranked by the mean accessibility of the two ensembles).
//! - `loc_drop` (arms `[raw, white]`): LOC(raw pair k) − LOC(white pair k), each pair within its
//!   arm as for one-arm `loc`.
//! - `loc_fastest_drop_excess` (arms `[raw, white]`): the drop on the fastest `fraction` minus
//!   the drop on all examples, per pair k.
//! - `loc_drop_ci_low` (arms `[raw, white]`): one value, the lower end of the 95 % percentile
//!   bootstrap interval (2000 resamples of the examples, the same resample for every ensemble;
//!   key `verdict/<row id>/examples`) of mean_k LOC(raw pair k) − mean_k LOC(white pair k).
//! - `pearson`, `spearman` (one arm, `with` required): one value, the correlation between the
//!   accessibility of all the arm's runs used as one ensemble and a per-example value `with`
//!   (`probe`, `key`, `split`), read at each run's last recorded step and averaged over the
//!   arm's runs; examples without a `with` value (e.g. never correct for `critical_pc`) are
//!   left out.
//! - `pearson_smoothed` (one arm, `with` required): the paper's smoothed form — examples sorted
//!   by `with` (ties by index), both sequences averaged over a centred moving window of
//!   `window` examples (default 10), then Pearson's `r`.

use std::collections::BTreeMap;

use learnscope_core::RandomKey;
use learnscope_stats::{
    accessibility, bootstrap_ci, loc, loc_fastest, moving_mean, pearson, spearman, BootstrapOptions,
};
use learnscope_store::MetricRecord;
use serde::{Deserialize, Serialize};

use crate::preset::{MetricSpec, Size};

/// `ensembles = { … }` of a verdict row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ensembles {
    /// What is computed from the ensembles' accessibility.
    pub statistic: EnsembleStatistic,
    /// The arm(s) whose runs form the ensembles.
    pub arms: Vec<String>,
    /// Runs per ensemble, one number or one per size.
    pub members: Members,
    /// The share of fastest-learned examples (`loc_fastest`, `loc_fastest_drop_excess`).
    #[serde(default = "default_fraction")]
    pub fraction: f64,
    /// The per-example value correlated with accessibility (`pearson`, `spearman`,
    /// `pearson_smoothed`).
    #[serde(default)]
    pub with: Option<PerExample>,
    /// The moving-average window of `pearson_smoothed`.
    #[serde(default = "default_window")]
    pub window: usize,
}

fn default_fraction() -> f64 {
    0.2
}

fn default_window() -> usize {
    10
}

/// See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnsembleStatistic {
    /// LOC between ensembles.
    Loc,
    /// LOC on the fastest-learned examples.
    LocFastest,
    /// LOC(raw) − LOC(white).
    LocDrop,
    /// Drop on the fastest examples − drop on all.
    LocFastestDropExcess,
    /// Lower end of the bootstrap interval of the LOC drop.
    LocDropCiLow,
    /// Pearson's r of accessibility and `with`.
    Pearson,
    /// Spearman's ρ of accessibility and `with`.
    Spearman,
    /// Pearson's r after sorting by `with` and a moving average.
    PearsonSmoothed,
}

impl EnsembleStatistic {
    fn name(self) -> &'static str {
        match self {
            EnsembleStatistic::Loc => "LOC",
            EnsembleStatistic::LocFastest => "LOC of the fastest",
            EnsembleStatistic::LocDrop => "LOC drop",
            EnsembleStatistic::LocFastestDropExcess => "LOC drop on the fastest − LOC drop on all",
            EnsembleStatistic::LocDropCiLow => "95 % bootstrap lower bound of the LOC drop",
            EnsembleStatistic::Pearson => "Pearson r of accessibility and",
            EnsembleStatistic::Spearman => "Spearman ρ of accessibility and",
            EnsembleStatistic::PearsonSmoothed => "smoothed Pearson r of accessibility and",
        }
    }

    fn arms_needed(self) -> (usize, usize) {
        match self {
            EnsembleStatistic::Loc | EnsembleStatistic::LocFastest => (1, 2),
            EnsembleStatistic::LocDrop
            | EnsembleStatistic::LocFastestDropExcess
            | EnsembleStatistic::LocDropCiLow => (2, 2),
            _ => (1, 1),
        }
    }

    fn needs_with(self) -> bool {
        matches!(
            self,
            EnsembleStatistic::Pearson
                | EnsembleStatistic::Spearman
                | EnsembleStatistic::PearsonSmoothed
        )
    }
}

/// Runs per ensemble: `10`, or `{ smoke = 2, quick = 10, full = 10 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Members {
    /// The same at every size.
    Count(usize),
    /// Per size name.
    PerSize(BTreeMap<String, usize>),
}

impl Members {
    /// The number at `size`.
    pub fn at(&self, size: Size) -> Result<usize, String> {
        match self {
            Members::Count(n) => Ok(*n),
            Members::PerSize(m) => m
                .get(size.name())
                .copied()
                .ok_or_else(|| format!("`ensembles.members` gives no number for {}", size.name())),
        }
    }
}

/// A per-example metric: records with an `index` (the example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerExample {
    /// The `probe` column.
    pub probe: String,
    /// The `key` column.
    pub key: String,
    /// The `split` column (any when absent).
    #[serde(default)]
    pub split: Option<String>,
}

impl PerExample {
    fn describe(&self) -> String {
        match &self.split {
            Some(s) => format!("{}/{}[{s}]", self.probe, self.key),
            None => format!("{}/{}", self.probe, self.key),
        }
    }

    fn matches(&self, r: &MetricRecord) -> bool {
        r.probe == self.probe
            && r.key == self.key
            && self.split.as_ref().is_none_or(|s| &r.split == s)
            && r.index.is_some()
    }

    /// Index → value at the last step that has records.
    fn last_step(&self, records: &[MetricRecord]) -> Result<BTreeMap<usize, f64>, String> {
        let last = records
            .iter()
            .filter(|r| self.matches(r))
            .map(|r| r.step)
            .max()
            .ok_or_else(|| format!("no per-example records of {}", self.describe()))?;
        let mut out = BTreeMap::new();
        for r in records.iter().filter(|r| self.matches(r) && r.step == last) {
            let i = r.index.expect("matches() keeps indexed records");
            if out.insert(i as usize, r.value).is_some() {
                return Err(format!(
                    "{} has two records for example {i} at step {last}; name the `split`",
                    self.describe()
                ));
            }
        }
        Ok(out)
    }
}

impl Ensembles {
    /// Checks the fields against each other; `known` says whether an arm exists.
    pub fn validate(&self, known: impl Fn(&str) -> bool) -> Result<(), String> {
        let (lo, hi) = self.statistic.arms_needed();
        if self.arms.len() < lo || self.arms.len() > hi {
            return Err(format!(
                "`ensembles.statistic` {:?} reads {} arm(s), got {}",
                self.statistic,
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo} or {hi}")
                },
                self.arms.len()
            ));
        }
        if let Some(bad) = self.arms.iter().find(|a| !known(a)) {
            return Err(format!("unknown arm `{bad}` in `ensembles`"));
        }
        let members: Vec<usize> = match &self.members {
            Members::Count(n) => vec![*n],
            Members::PerSize(m) => {
                if let Some(k) = m
                    .keys()
                    .find(|k| !["smoke", "quick", "full"].contains(&k.as_str()))
                {
                    return Err(format!("`ensembles.members.{k}`: not a size"));
                }
                m.values().copied().collect()
            }
        };
        if members.contains(&0) {
            return Err("`ensembles.members` must be at least 1".into());
        }
        if !(self.fraction > 0.0 && self.fraction <= 1.0) {
            return Err(format!(
                "`ensembles.fraction` {} is not in (0, 1]",
                self.fraction
            ));
        }
        if self.window < 2 {
            return Err("`ensembles.window` must be at least 2".into());
        }
        match (self.statistic.needs_with(), &self.with) {
            (true, None) => Err(format!(
                "`ensembles.statistic` {:?} needs `with` (the per-example value)",
                self.statistic
            )),
            (false, Some(_)) => Err(format!(
                "`ensembles.with` is only read by pearson, spearman and pearson_smoothed, not {:?}",
                self.statistic
            )),
            _ => Ok(()),
        }
    }

    /// The row's measurement in words.
    pub fn describe(&self, metric: &MetricSpec) -> String {
        let correct = format!(
            "{}/{}{}",
            metric.probe.as_deref().unwrap_or("?"),
            metric.key.as_deref().unwrap_or("?"),
            metric
                .split
                .as_ref()
                .map(|s| format!("[{s}]"))
                .unwrap_or_default()
        );
        let with = self
            .with
            .as_ref()
            .map(|w| format!(" {}", w.describe()))
            .unwrap_or_default();
        let fraction = match self.statistic {
            EnsembleStatistic::LocFastest | EnsembleStatistic::LocFastestDropExcess => {
                format!(" (fastest {} %)", self.fraction * 100.0)
            }
            EnsembleStatistic::PearsonSmoothed => format!(" (window {})", self.window),
            _ => String::new(),
        };
        format!(
            "{}{with}{fraction}, ensembles of {} of arms {} ({correct})",
            self.statistic.name(),
            match &self.members {
                Members::Count(n) => n.to_string(),
                Members::PerSize(m) => m
                    .iter()
                    .map(|(k, v)| format!("{v} at {k}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            },
            self.arms.join(", ")
        )
    }
}

/// One run's records, labelled (e.g. `mlp-seed3`); `Err` when the run has none.
pub struct EnsembleRun<'a> {
    /// `<arm>-seed<S>`.
    pub id: &'a str,
    /// Its records.
    pub records: Result<&'a [MetricRecord], String>,
}

/// Per-example 0/1 values of one run at steps > 0: (steps, examples, row-major values).
fn correctness(
    metric: &MetricSpec,
    run: &EnsembleRun<'_>,
) -> Result<(Vec<u64>, usize, Vec<bool>), String> {
    let records = run
        .records
        .clone()
        .map_err(|e| format!("{}: {e}", run.id))?;
    let (probe, key) = (
        metric.probe.as_deref().unwrap_or_default(),
        metric.key.as_deref().unwrap_or_default(),
    );
    let mut by_step: BTreeMap<u64, BTreeMap<usize, f64>> = BTreeMap::new();
    for r in records.iter().filter(|r| {
        r.probe == probe
            && r.key == key
            && metric.split.as_ref().is_none_or(|s| &r.split == s)
            && r.step > 0
    }) {
        let Some(i) = r.index else { continue };
        if by_step
            .entry(r.step)
            .or_default()
            .insert(i as usize, r.value)
            .is_some()
        {
            return Err(format!(
                "{}: two records of {probe}/{key} for example {i} at step {}; name the `split`",
                run.id, r.step
            ));
        }
    }
    if by_step.is_empty() {
        return Err(format!(
            "{}: no per-example records of {probe}/{key} after step 0",
            run.id
        ));
    }
    let examples = by_step.values().map(|m| m.len()).max().unwrap_or(0);
    let mut values = Vec::with_capacity(by_step.len() * examples);
    for (step, m) in &by_step {
        if m.len() != examples || m.keys().next_back() != Some(&(examples - 1)) {
            return Err(format!(
                "{}: step {step} has {} examples of {probe}/{key}, expected indices 0..{examples}",
                run.id,
                m.len()
            ));
        }
        for (i, v) in m.values().enumerate() {
            if *v != 0.0 && *v != 1.0 {
                return Err(format!(
                    "{}: {probe}/{key} of example {i} at step {step} is {v}, expected 0 or 1",
                    run.id
                ));
            }
            values.push(*v == 1.0);
        }
    }
    Ok((by_step.into_keys().collect(), examples, values))
}

/// The accessibility vector of each complete ensemble of `runs` (in seed order).
fn ensemble_accessibility(
    metric: &MetricSpec,
    runs: &[EnsembleRun<'_>],
    members: usize,
) -> Result<Vec<Vec<f64>>, String> {
    let mut out = Vec::new();
    for group in runs.chunks_exact(members) {
        let mut all = Vec::new();
        let mut shape: Option<(Vec<u64>, usize, &str)> = None;
        for run in group {
            let (steps, examples, values) = correctness(metric, run)?;
            match &shape {
                None => shape = Some((steps, examples, run.id)),
                Some((s, x, first)) if *s != steps || *x != examples => {
                    return Err(format!(
                        "{} has {} observations of {examples} examples, {first} has {} of {x}; \
                         an ensemble's runs must share both",
                        run.id,
                        steps.len(),
                        s.len()
                    ))
                }
                Some(_) => {}
            }
            all.extend(values);
        }
        let (steps, examples, _) = shape.expect("chunks are non-empty");
        out.push(accessibility(&all, members, steps.len(), examples).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn pairs_within(acc: &[Vec<f64>]) -> Vec<(&[f64], &[f64])> {
    acc.chunks_exact(2)
        .map(|p| (p[0].as_slice(), p[1].as_slice()))
        .collect()
}

fn r_of(c: learnscope_stats::Result<learnscope_stats::Correlation>) -> Result<f64, String> {
    c.map(|c| c.estimate).map_err(|e| e.to_string())
}

/// The row's values (one per ensemble pair, or one), labelled, from the runs of each of
/// `ens.arms` in seed order. `row_id` keys the bootstrap.
pub fn ensemble_values(
    row_id: &str,
    metric: &MetricSpec,
    ens: &Ensembles,
    size: Size,
    runs: &[Vec<EnsembleRun<'_>>],
) -> Result<(Vec<String>, Vec<f64>), String> {
    let members = ens.members.at(size)?;
    let acc: Vec<Vec<Vec<f64>>> = runs
        .iter()
        .map(|r| ensemble_accessibility(metric, r, members))
        .collect::<Result<_, _>>()?;
    let need = |arm: usize, k: usize| -> Result<(), String> {
        if acc[arm].len() < k {
            Err(format!(
                "arm `{}` has {} run(s): {} ensemble(s) of {members}, {k} needed",
                ens.arms[arm],
                runs[arm].len(),
                acc[arm].len()
            ))
        } else {
            Ok(())
        }
    };
    let fraction = ens.fraction;
    let mut labels = Vec::new();
    let mut values = Vec::new();
    match ens.statistic {
        EnsembleStatistic::Loc | EnsembleStatistic::LocFastest => {
            let pairs: Vec<(&[f64], &[f64])> = if acc.len() == 1 {
                need(0, 2)?;
                pairs_within(&acc[0])
            } else {
                need(0, 1)?;
                need(1, 1)?;
                acc[0]
                    .iter()
                    .zip(&acc[1])
                    .map(|(a, b)| (a.as_slice(), b.as_slice()))
                    .collect()
            };
            for (k, (a, b)) in pairs.into_iter().enumerate() {
                labels.push(format!("ensemble pair {k}"));
                values.push(if ens.statistic == EnsembleStatistic::Loc {
                    r_of(loc(a, b))?
                } else {
                    r_of(loc_fastest(a, b, fraction))?
                });
            }
        }
        EnsembleStatistic::LocDrop | EnsembleStatistic::LocFastestDropExcess => {
            need(0, 2)?;
            need(1, 2)?;
            for (k, ((ra, rb), (wa, wb))) in pairs_within(&acc[0])
                .into_iter()
                .zip(pairs_within(&acc[1]))
                .enumerate()
            {
                let drop = r_of(loc(ra, rb))? - r_of(loc(wa, wb))?;
                labels.push(format!("ensemble pair {k}"));
                values.push(if ens.statistic == EnsembleStatistic::LocDrop {
                    drop
                } else {
                    r_of(loc_fastest(ra, rb, fraction))?
                        - r_of(loc_fastest(wa, wb, fraction))?
                        - drop
                });
            }
        }
        EnsembleStatistic::LocDropCiLow => {
            need(0, 2)?;
            need(1, 2)?;
            let (raw, white) = (pairs_within(&acc[0]), pairs_within(&acc[1]));
            let n = acc[0][0].len();
            if acc[1][0].len() != n {
                return Err(format!(
                    "arms `{}` and `{}` have {n} and {} examples",
                    ens.arms[0],
                    ens.arms[1],
                    acc[1][0].len()
                ));
            }
            let mean_loc = |pairs: &[(&[f64], &[f64])], idx: &[usize]| -> f64 {
                let mut s = 0.0;
                for (a, b) in pairs {
                    let sa: Vec<f64> = idx.iter().map(|&i| a[i]).collect();
                    let sb: Vec<f64> = idx.iter().map(|&i| b[i]).collect();
                    s += pearson(&sa, &sb).map_or(f64::NAN, |c| c.estimate);
                }
                s / pairs.len() as f64
            };
            let k = raw.len().min(white.len());
            let (raw, white) = (&raw[..k], &white[..k]);
            // The bootstrap resamples example indices; the statistic reads every ensemble's
            // accessibility at the same resampled examples.
            let index: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let ci = bootstrap_ci(
                &index,
                |idx| {
                    let idx: Vec<usize> = idx.iter().map(|&i| i as usize).collect();
                    mean_loc(raw, &idx) - mean_loc(white, &idx)
                },
                RandomKey::root(0).derive(&format!("verdict/{row_id}/examples")),
                &BootstrapOptions::default(),
            )
            .map_err(|e| e.to_string())?;
            labels.push(format!("{k} ensemble pair(s), {n} examples"));
            values.push(ci.lo);
        }
        EnsembleStatistic::Pearson
        | EnsembleStatistic::Spearman
        | EnsembleStatistic::PearsonSmoothed => {
            let with = ens.with.as_ref().expect("validated: `with` is given");
            // All the arm's runs as one ensemble.
            let all = ensemble_accessibility(metric, &runs[0], runs[0].len())?;
            let acc = &all[0];
            let mut sums: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
            for run in &runs[0] {
                let records = run
                    .records
                    .clone()
                    .map_err(|e| format!("{}: {e}", run.id))?;
                for (i, v) in with
                    .last_step(records)
                    .map_err(|e| format!("{}: {e}", run.id))?
                {
                    let e = sums.entry(i).or_insert((0.0, 0));
                    e.0 += v;
                    e.1 += 1;
                }
            }
            let mut pairs: Vec<(f64, f64, usize)> = sums
                .into_iter()
                .filter(|(i, _)| *i < acc.len())
                .map(|(i, (s, c))| (s / c as f64, acc[i], i))
                .collect();
            let (w, a): (Vec<f64>, Vec<f64>) = match ens.statistic {
                EnsembleStatistic::PearsonSmoothed => {
                    pairs.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.2.cmp(&y.2)));
                    let w: Vec<f64> = pairs.iter().map(|p| p.0).collect();
                    let a: Vec<f64> = pairs.iter().map(|p| p.1).collect();
                    (
                        moving_mean(&w, ens.window).map_err(|e| e.to_string())?,
                        moving_mean(&a, ens.window).map_err(|e| e.to_string())?,
                    )
                }
                _ => pairs.iter().map(|p| (p.0, p.1)).unzip(),
            };
            let r = if ens.statistic == EnsembleStatistic::Spearman {
                r_of(spearman(&a, &w))?
            } else {
                r_of(pearson(&a, &w))?
            };
            labels.push(format!(
                "{} runs, {} of {} examples with a value",
                runs[0].len(),
                w.len(),
                acc.len()
            ));
            values.push(r);
        }
    }
    Ok((labels, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(step: u64, index: i64, value: f64) -> MetricRecord {
        MetricRecord {
            step,
            epoch: 0,
            probe: "correctness".into(),
            key: "correct".into(),
            split: "test".into(),
            layer: None,
            index: Some(index),
            index2: None,
            value,
        }
    }

    fn metric() -> MetricSpec {
        MetricSpec {
            probe: Some("correctness".into()),
            key: Some("correct".into()),
            split: Some("test".into()),
            ..MetricSpec::default()
        }
    }

    /// A run whose example x is correct from epoch `first[x]` on (never when > epochs), with a
    /// step-0 record that must be ignored.
    fn run_records(first: &[u64], epochs: u64) -> Vec<MetricRecord> {
        let mut v = Vec::new();
        for (x, _) in first.iter().enumerate() {
            v.push(rec(0, x as i64, 1.0));
        }
        for e in 1..=epochs {
            for (x, &f) in first.iter().enumerate() {
                v.push(rec(e * 10, x as i64, if e >= f { 1.0 } else { 0.0 }));
            }
        }
        v
    }

    fn ens(statistic: EnsembleStatistic, arms: &[&str], members: usize) -> Ensembles {
        Ensembles {
            statistic,
            arms: arms.iter().map(|s| s.to_string()).collect(),
            members: Members::Count(members),
            fraction: 0.2,
            with: None,
            window: 10,
        }
    }

    /// The runs of arm `id`, one per record set in `records`.
    fn arm<'a>(id: &'a str, records: &[&'a Vec<MetricRecord>]) -> Vec<EnsembleRun<'a>> {
        records
            .iter()
            .map(|r| EnsembleRun {
                id,
                records: Ok(r.as_slice()),
            })
            .collect()
    }

    #[test]
    fn accessibility_leaves_out_step_zero_and_loc_is_pearson_of_it() {
        // 4 epochs; example x learned at epoch x+1 → accessibility (4 − x)/4, for every run.
        let recs = run_records(&[1, 2, 3, 4, 5], 4);
        let runs = arm("a", &[&recs; 4]);
        let acc = ensemble_accessibility(&metric(), &runs, 2).unwrap();
        assert_eq!(acc.len(), 2);
        assert_eq!(acc[0], vec![1.0, 0.75, 0.5, 0.25, 0.0]);
        let (labels, values) = ensemble_values(
            "t",
            &metric(),
            &ens(EnsembleStatistic::Loc, &["a"], 2),
            Size::Quick,
            &[runs],
        )
        .unwrap();
        assert_eq!(labels.len(), 1);
        // Identical ensembles: r = 1 up to rounding of the Pearson formula.
        assert!((values[0] - 1.0).abs() < 1e-12, "{values:?}");
    }

    #[test]
    fn reversed_order_gives_negative_loc_and_a_positive_drop() {
        let fast = run_records(&[1, 2, 3, 4, 5], 4);
        let slow = run_records(&[5, 4, 3, 2, 1], 4);
        let raw = arm("raw", &[&fast, &fast, &fast, &fast]);
        // Whitened arm: its two ensembles disagree completely (r = −1).
        let white = arm("white", &[&fast, &fast, &slow, &slow]);
        let runs = [raw, white];
        let (_, v) = ensemble_values(
            "t",
            &metric(),
            &ens(EnsembleStatistic::LocDrop, &["raw", "white"], 2),
            Size::Quick,
            &runs,
        )
        .unwrap();
        assert!((v[0] - 2.0).abs() < 1e-12, "{v:?}");
        let (_, v) = ensemble_values(
            "t",
            &metric(),
            &ens(EnsembleStatistic::Loc, &["white"], 2),
            Size::Quick,
            &runs[1..],
        )
        .unwrap();
        assert!((v[0] + 1.0).abs() < 1e-12, "{v:?}");
    }

    #[test]
    fn too_few_runs_and_ragged_runs_are_named() {
        let recs = run_records(&[1, 2, 3], 3);
        let short = run_records(&[1, 2, 3], 2);
        let runs = vec![
            EnsembleRun {
                id: "a-seed0",
                records: Ok(&recs),
            },
            EnsembleRun {
                id: "a-seed1",
                records: Ok(&short),
            },
        ];
        let e = ensemble_values(
            "t",
            &metric(),
            &ens(EnsembleStatistic::Loc, &["a"], 2),
            Size::Quick,
            &[runs],
        )
        .unwrap_err();
        assert!(e.contains("a-seed1") && e.contains("must share"), "{e}");
        let one = vec![EnsembleRun {
            id: "a-seed0",
            records: Ok(&recs),
        }];
        let e = ensemble_values(
            "t",
            &metric(),
            &ens(EnsembleStatistic::Loc, &["a"], 1),
            Size::Quick,
            &[one],
        )
        .unwrap_err();
        assert!(e.contains("2 needed"), "{e}");
    }

    #[test]
    fn correlation_with_a_per_example_value() {
        // Accessibility falls with x; `with` = x (a critical PC growing with x), example 4 has
        // none and is left out.
        let mut recs = run_records(&[1, 2, 3, 4, 5], 4);
        for x in 0..4 {
            recs.push(MetricRecord {
                probe: "critical_pc".into(),
                key: "critical_pc".into(),
                ..rec(0, x, (x * x) as f64 + 1.0)
            });
        }
        let runs = vec![EnsembleRun {
            id: "a-seed0",
            records: Ok(&recs),
        }];
        let mut e = ens(EnsembleStatistic::Spearman, &["a"], 1);
        e.with = Some(PerExample {
            probe: "critical_pc".into(),
            key: "critical_pc".into(),
            split: None,
        });
        let (labels, v) = ensemble_values("t", &metric(), &e, Size::Quick, &[runs]).unwrap();
        assert!((v[0] + 1.0).abs() < 1e-12, "{v:?}");
        assert!(labels[0].contains("4 of 5"), "{labels:?}");
        assert!(e.validate(|_| true).is_ok());
        e.with = None;
        assert!(e.validate(|_| true).unwrap_err().contains("needs `with`"));
    }

    #[test]
    fn the_bootstrap_lower_bound_is_below_the_drop() {
        // Raw ensembles agree (r = 1); whitened ones are independent noise.
        let n = 40;
        let first: Vec<u64> = (0..n).map(|x| 1 + (x % 8) as u64).collect();
        let raw_recs = run_records(&first, 8);
        let key = RandomKey::root(7);
        let noise: Vec<Vec<MetricRecord>> = (0..4)
            .map(|r| {
                let f: Vec<u64> = (0..n).map(|x| 1 + key.at(r).u64_at(x as u64) % 8).collect();
                run_records(&f, 8)
            })
            .collect();
        let raw = arm("raw", &[&raw_recs; 4]);
        let white = arm("white", &noise.iter().collect::<Vec<_>>());
        let runs = [raw, white];
        let (_, drop) = ensemble_values(
            "t",
            &metric(),
            &ens(EnsembleStatistic::LocDrop, &["raw", "white"], 1),
            Size::Quick,
            &runs,
        )
        .unwrap();
        let (_, lo) = ensemble_values(
            "t",
            &metric(),
            &ens(EnsembleStatistic::LocDropCiLow, &["raw", "white"], 1),
            Size::Quick,
            &runs,
        )
        .unwrap();
        let mean_drop = drop.iter().sum::<f64>() / drop.len() as f64;
        assert!(lo[0] < mean_drop && lo[0] > 0.0, "lo {lo:?}, drop {drop:?}");
    }
}
