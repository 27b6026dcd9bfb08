//! Verdict rows over learning phases (P4: J. Schneider & M. Prabhushankar, AAAI 2024;
//! SCIENCE.md §P4.4; issue 9): a per-layer curve (the `reconstruction` probe's `rec_loss`,
//! named by the row's `metric` with its `layer`) from every seed of the row's arm, segmented by
//! [`learnscope_stats::learning_phases`] with rules fixed in the preset:
//!
//! 1. smooth each seed's curve on log-time: a Gaussian kernel of `smooth_decades` in
//!    `log₁₀(step + 1)` ([`learnscope_stats::smooth_log_time`]; `+ 1` so that step 0 has a
//!    place on the axis);
//! 2. the drop threshold `τ = max(drop · |ṽ₀|, sd_factor · sd₀)` with `ṽ₀` the seed's smoothed
//!    step-0 value and `sd₀` the across-seed standard deviation of the raw step-0 values (0 with
//!    one seed);
//! 3. phase I ends at the first evaluation below `ṽ₀ − τ`, phase II at the minimum after it,
//!    phase III is present if the curve then rises by `rise` (relative) above that minimum.
//!
//! Statistics (`phases.statistic`), one value per seed: `all_found` (1 or 0), `phase1_end` and
//! `phase2_end` (the step, NaN when not found), `rise` (max after the minimum / minimum − 1, NaN
//! without phase II). Judge "in ≥ 2 of 3 seeds" with `applies = "two_thirds"`.

use learnscope_stats::{learning_phases, sd, smooth_log_time};
use learnscope_store::MetricRecord;
use serde::{Deserialize, Serialize};

use crate::preset::MetricSpec;

/// `phases = { … }` of a verdict row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseRule {
    /// What each seed contributes.
    pub statistic: PhaseStatistic,
    /// Bandwidth of the log-time smoother, in decades (> 0).
    pub smooth_decades: f64,
    /// The relative part of the drop threshold (issue 9: 0.02).
    #[serde(default = "default_drop")]
    pub drop: f64,
    /// The across-seed part: this many step-0 standard deviations (issue 9: 3).
    #[serde(default = "default_sd_factor")]
    pub sd_factor: f64,
    /// The relative rise above the minimum that makes phase III (issue 9: 0.05).
    #[serde(default = "default_rise")]
    pub rise: f64,
}

fn default_drop() -> f64 {
    0.02
}

fn default_sd_factor() -> f64 {
    3.0
}

fn default_rise() -> f64 {
    0.05
}

/// See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatistic {
    /// 1 when phases I, II and III are all found, else 0.
    AllFound,
    /// The step at which phase I ends.
    Phase1End,
    /// The step at which phase II ends (the minimum).
    Phase2End,
    /// The relative rise after the minimum.
    Rise,
}

impl PhaseRule {
    /// Checks the numbers.
    pub fn validate(&self) -> Result<(), String> {
        let checks = [
            (
                "smooth_decades",
                self.smooth_decades,
                self.smooth_decades > 0.0,
            ),
            ("drop", self.drop, self.drop >= 0.0),
            ("sd_factor", self.sd_factor, self.sd_factor >= 0.0),
            ("rise", self.rise, self.rise > 0.0),
        ];
        for (field, v, ok) in checks {
            if !(ok && v.is_finite()) {
                return Err(format!("`phases.{field}` = {v} is out of range"));
            }
        }
        Ok(())
    }

    /// The row's measurement in words.
    pub fn describe(&self, metric: &MetricSpec) -> String {
        let what = match self.statistic {
            PhaseStatistic::AllFound => "all three phases found (1/0)",
            PhaseStatistic::Phase1End => "end of phase I (step)",
            PhaseStatistic::Phase2End => "end of phase II (step of the minimum)",
            PhaseStatistic::Rise => "relative rise after the minimum",
        };
        let mut series = format!(
            "{}/{}",
            metric.probe.as_deref().unwrap_or("?"),
            metric.key.as_deref().unwrap_or("?")
        );
        if let Some(s) = &metric.split {
            series.push_str(&format!("[{s}]"));
        }
        if let Some(l) = &metric.layer {
            series.push_str(&format!(" layer {l}"));
        }
        format!(
            "{what} of {series}: smoothed {} decades in log(step + 1), drop τ = max({} · v₀, {} · sd₀), rise {}",
            self.smooth_decades, self.drop, self.sd_factor, self.rise
        )
    }
}

/// Each seed's value, from the (step, value) curves of the arm's runs in seed order.
pub fn phase_values(rule: &PhaseRule, curves: &[Vec<(u64, f64)>]) -> Result<Vec<f64>, String> {
    if curves.is_empty() {
        return Err("no runs".into());
    }
    for (i, c) in curves.iter().enumerate() {
        if c.is_empty() {
            return Err(format!(
                "run #{}: no records of the metric (is its probe configured at this size?)",
                i + 1
            ));
        }
        if c.len() < 2 || c[0].0 != 0 {
            return Err(format!(
                "run #{}: the curve needs a step-0 value and at least one more ({} points, first at step {})",
                i + 1,
                c.len(),
                c.first().map_or(0, |x| x.0)
            ));
        }
    }
    let starts: Vec<f64> = curves.iter().map(|c| c[0].1).collect();
    let sd0 = if starts.len() > 1 { sd(&starts) } else { 0.0 };
    curves
        .iter()
        .map(|c| {
            let steps: Vec<f64> = c.iter().map(|x| x.0 as f64 + 1.0).collect();
            let values: Vec<f64> = c.iter().map(|x| x.1).collect();
            let smooth =
                smooth_log_time(&steps, &values, rule.smooth_decades).map_err(|e| e.to_string())?;
            let tau = (rule.drop * smooth[0].abs()).max(rule.sd_factor * sd0);
            let p = learning_phases(&smooth, tau, rule.rise).map_err(|e| e.to_string())?;
            let step = |i: Option<usize>| i.map_or(f64::NAN, |i| c[i].0 as f64);
            Ok(match rule.statistic {
                PhaseStatistic::AllFound => f64::from(u8::from(p.all_found())),
                PhaseStatistic::Phase1End => step(p.phase1_end),
                PhaseStatistic::Phase2End => step(p.phase2_end),
                PhaseStatistic::Rise => p.rise.unwrap_or(f64::NAN),
            })
        })
        .collect()
}

/// The curve `metric` names in one run's records, up to its `until_step` (its reduction is
/// not used).
pub fn curve(metric: &MetricSpec, records: &[MetricRecord]) -> Vec<(u64, f64)> {
    let mut c = metric.series(records);
    if let Some(u) = metric.until_step {
        c.retain(|x| x.0 <= u);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(statistic: PhaseStatistic) -> PhaseRule {
        PhaseRule {
            statistic,
            smooth_decades: 0.1,
            drop: 0.02,
            sd_factor: 3.0,
            rise: 0.05,
        }
    }

    /// The paper's logged curve (SCIENCE.md §P4.5) at iterations 0, 8, 32, …, 65536, scaled.
    fn paper(scale: f64) -> Vec<(u64, f64)> {
        [
            (0, 46.71),
            (8, 45.62),
            (32, 43.48),
            (128, 40.32),
            (256, 40.54),
            (1024, 41.12),
            (2048, 44.30),
            (8192, 54.74),
            (65536, 62.18),
        ]
        .iter()
        .map(|&(s, v)| (s, v * scale))
        .collect()
    }

    #[test]
    fn the_papers_curve_has_three_phases_and_noisy_starts_raise_the_threshold() {
        let curves = vec![paper(1.0), paper(1.001), paper(0.999)];
        let found = phase_values(&rule(PhaseStatistic::AllFound), &curves).unwrap();
        assert_eq!(found, vec![1.0, 1.0, 1.0]);
        let p2 = phase_values(&rule(PhaseStatistic::Phase2End), &curves).unwrap();
        assert_eq!(p2, vec![128.0; 3]);
        // Step-0 values that differ by ±20 % across seeds: τ = 3 sd₀ exceeds every drop, so
        // phase I never ends and no seed has three phases.
        let noisy = vec![paper(1.0), paper(1.2), paper(0.8)];
        let found = phase_values(&rule(PhaseStatistic::AllFound), &noisy).unwrap();
        assert_eq!(found, vec![0.0, 0.0, 0.0]);
        let p1 = phase_values(&rule(PhaseStatistic::Phase1End), &noisy).unwrap();
        assert!(p1.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn curves_without_a_step_zero_value_are_refused() {
        let e = phase_values(&rule(PhaseStatistic::AllFound), &[vec![(2, 1.0), (4, 0.5)]]);
        assert!(e.unwrap_err().contains("step-0"));
        assert!(PhaseRule {
            rise: 0.0,
            ..rule(PhaseStatistic::Rise)
        }
        .validate()
        .is_err());
    }
}
