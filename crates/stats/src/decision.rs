//! Yes/no decision metrics from signal detection theory on generic response tables (one row
//! per decision: was the target present, did the agent say "yes"), the same code for networks
//! and people (HUMAN-TASK.md §4.5; SCIENCE.md §P1).
//!
//! Counts: hits `H` (present, yes), misses `M` (present, no), false alarms `F` (absent, yes),
//! correct rejections `R` (absent, no). Rates:
//! - hit rate (true-positive rate, TPR) `H/(H+M)`; miss rate `M/(H+M)`;
//! - false-alarm rate (FAR) `F/(F+R)`; true-negative (correct-rejection) rate
//!   `TNR = R/(F+R) = 1 − FAR`; accuracy `(H+R)/N`.
//!
//! Sensitivity and bias (Green & Swets, *Signal Detection Theory and Psychophysics*, 1966;
//! Macmillan & Creelman, *Detection Theory: A User's Guide*, 2nd ed., 2005, ch. 1–2):
//! `d′ = z(hit rate) − z(FAR)`, criterion `c = −(z(hit rate) + z(FAR))/2`, with `z = Φ⁻¹`
//! ([`crate::normal_quantile`]). Rates of 0 or 1 give infinite z-scores; the **log-linear
//! correction** adds ½ to each count and 1 to each class total, `hit rate = (H+½)/(H+M+1)`,
//! `FAR = (F+½)/(F+R+1)`, applied to every table alike (Hautus, "Corrections for extreme
//! proportions and their biasing effects on estimated values of d′", *Behavior Research
//! Methods, Instruments, & Computers* 27:46–51, 1995).
//!
//! Graded responses against a threshold (SCIENCE.md §P1.3; [`threshold_scores`]): for output
//! unit j with responses `r_j(x)` and threshold θ, "yes" means `r_j(x) > θ` (a strict
//! inequality, so a response exactly at θ is a "no"; `at_threshold` reports how often that
//! happens). Besides the four counts: false-alarm strength `FA_j = E[r_j | y_j = 0]` and the
//! graded (noisy-response) TNR `TNR^β_j = E[1 − σ(β (r_j − θ)) | y_j = 0]`, σ the logistic
//! function. [`partition_accuracy`] scores a set of units of which each example has exactly one
//! positive (a hierarchy level) by arg-max response.

use std::collections::BTreeMap;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError};
use crate::normal::normal_quantile;

/// One yes/no decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Trial {
    /// The target (signal, label) was present.
    pub target: bool,
    /// The agent answered "yes".
    pub response: bool,
}

/// How rates of 0 or 1 are handled in `d′` and `c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Raw rates; a rate of 0 or 1 is an error ([`StatsError::DegenerateRate`]).
    None,
    /// Hautus's log-linear correction: ½ added to each count, 1 to each class total.
    #[default]
    LogLinear,
}

/// The four cells of a yes/no response table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct DecisionCounts {
    /// Target present, answered yes.
    pub hits: u64,
    /// Target present, answered no.
    pub misses: u64,
    /// Target absent, answered yes.
    pub false_alarms: u64,
    /// Target absent, answered no.
    pub correct_rejections: u64,
}

impl DecisionCounts {
    /// Tallies trials.
    pub fn from_trials<I: IntoIterator<Item = Trial>>(trials: I) -> Self {
        let mut c = DecisionCounts::default();
        for t in trials {
            c.record(t.target, t.response);
        }
        c
    }

    /// Tallies `(target, response)` pairs.
    pub fn from_pairs<I: IntoIterator<Item = (bool, bool)>>(pairs: I) -> Self {
        let mut c = DecisionCounts::default();
        for (target, response) in pairs {
            c.record(target, response);
        }
        c
    }

    /// Adds one decision.
    pub fn record(&mut self, target: bool, response: bool) {
        match (target, response) {
            (true, true) => self.hits += 1,
            (true, false) => self.misses += 1,
            (false, true) => self.false_alarms += 1,
            (false, false) => self.correct_rejections += 1,
        }
    }

    /// Target-present trials `H + M`.
    pub fn positives(&self) -> u64 {
        self.hits + self.misses
    }

    /// Target-absent trials `F + R`.
    pub fn negatives(&self) -> u64 {
        self.false_alarms + self.correct_rejections
    }

    /// All trials.
    pub fn total(&self) -> u64 {
        self.positives() + self.negatives()
    }

    /// Hit rate (TPR) `H/(H+M)`; `None` without target-present trials.
    pub fn hit_rate(&self) -> Option<f64> {
        ratio(self.hits, self.positives())
    }

    /// Miss rate `M/(H+M)`; `None` without target-present trials.
    pub fn miss_rate(&self) -> Option<f64> {
        ratio(self.misses, self.positives())
    }

    /// False-alarm rate `F/(F+R)`; `None` without target-absent trials.
    pub fn false_alarm_rate(&self) -> Option<f64> {
        ratio(self.false_alarms, self.negatives())
    }

    /// True-negative (correct-rejection) rate `TNR = R/(F+R)`; `None` without target-absent
    /// trials.
    pub fn true_negative_rate(&self) -> Option<f64> {
        ratio(self.correct_rejections, self.negatives())
    }

    /// Proportion correct `(H+R)/N`; `None` for an empty table.
    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.hits + self.correct_rejections, self.total())
    }

    /// The (hit rate, false-alarm rate) pair that enters `d′` and `c` under `correction`.
    /// Both classes must be non-empty.
    pub fn corrected_rates(&self, correction: Correction) -> Result<(f64, f64)> {
        const WHAT: &str = "decision rates";
        if self.positives() == 0 {
            return Err(StatsError::EmptyClass {
                what: WHAT,
                class: "target-present",
                rate: "hit rate",
            });
        }
        if self.negatives() == 0 {
            return Err(StatsError::EmptyClass {
                what: WHAT,
                class: "target-absent",
                rate: "false-alarm rate",
            });
        }
        let (h, p, f, n) = (
            self.hits as f64,
            self.positives() as f64,
            self.false_alarms as f64,
            self.negatives() as f64,
        );
        Ok(match correction {
            Correction::None => (h / p, f / n),
            Correction::LogLinear => ((h + 0.5) / (p + 1.0), (f + 0.5) / (n + 1.0)),
        })
    }

    /// Sensitivity `d′ = z(hit rate) − z(FAR)`.
    pub fn d_prime(&self, correction: Correction) -> Result<f64> {
        let (h, f) = self.corrected_rates(correction)?;
        d_prime_from_rates(h, f)
    }

    /// Criterion (response bias) `c = −(z(hit rate) + z(FAR))/2`; positive means a
    /// conservative, "no"-leaning observer.
    pub fn criterion(&self, correction: Correction) -> Result<f64> {
        let (h, f) = self.corrected_rates(correction)?;
        criterion_from_rates(h, f)
    }
}

impl AddAssign for DecisionCounts {
    fn add_assign(&mut self, o: Self) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.false_alarms += o.false_alarms;
        self.correct_rejections += o.correct_rejections;
    }
}

impl Add for DecisionCounts {
    type Output = DecisionCounts;
    fn add(mut self, o: Self) -> Self {
        self += o;
        self
    }
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn z_of(rate_name: &'static str, rate: f64) -> Result<f64> {
    const WHAT: &str = "d′";
    if !(0.0..=1.0).contains(&rate) {
        return Err(StatsError::InvalidArgument {
            what: WHAT,
            field: rate_name,
            value: rate,
            rule: "0 ≤ rate ≤ 1",
        });
    }
    if rate == 0.0 || rate == 1.0 {
        return Err(StatsError::DegenerateRate {
            what: WHAT,
            rate: rate_name,
            value: rate,
        });
    }
    Ok(normal_quantile(rate))
}

/// `d′ = z(hit_rate) − z(false_alarm_rate)` for rates strictly inside `(0, 1)`.
pub fn d_prime_from_rates(hit_rate: f64, false_alarm_rate: f64) -> Result<f64> {
    Ok(z_of("hit rate", hit_rate)? - z_of("false-alarm rate", false_alarm_rate)?)
}

/// `c = −(z(hit_rate) + z(false_alarm_rate))/2` for rates strictly inside `(0, 1)`.
pub fn criterion_from_rates(hit_rate: f64, false_alarm_rate: f64) -> Result<f64> {
    Ok(-0.5 * (z_of("hit rate", hit_rate)? + z_of("false-alarm rate", false_alarm_rate)?))
}

/// Scores of one output unit's graded responses against a threshold (see the module notes).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ThresholdScores {
    /// Hits (`y = 1, r > θ`), misses, false alarms (`y = 0, r > θ`), correct rejections.
    pub counts: DecisionCounts,
    /// `E[r | y = 0]`; `None` without negatives.
    pub false_alarm_strength: Option<f64>,
    /// `E[1 − σ(β (r − θ)) | y = 0]`; `None` without negatives.
    pub tnr_graded: Option<f64>,
    /// Fraction of all examples with `r = θ` exactly (ties with the threshold).
    pub at_threshold: f64,
}

impl ThresholdScores {
    /// `TNR = #{y = 0, r ≤ θ} / #{y = 0}`; `None` without negatives.
    pub fn tnr(&self) -> Option<f64> {
        self.counts.true_negative_rate()
    }

    /// Hit rate `TPR = #{y = 1, r > θ} / #{y = 1}`; `None` without positives.
    pub fn tpr(&self) -> Option<f64> {
        self.counts.hit_rate()
    }

    /// Base rate `#{y = 1} / N`; `None` for no examples.
    pub fn base_rate(&self) -> Option<f64> {
        ratio(self.counts.positives(), self.counts.total())
    }
}

/// The graded correct rejection `1 − σ(β (r − θ)) = σ(−β (r − θ))` of one response.
pub fn graded_rejection(response: f64, threshold: f64, beta: f64) -> f64 {
    let z = -beta * (response - threshold);
    // σ(z) without overflow for large |z|.
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn check_table(
    what: &'static str,
    responses: &[f64],
    targets: &[bool],
    units: usize,
) -> Result<()> {
    if units == 0 {
        return Err(StatsError::InvalidArgument {
            what,
            field: "units",
            value: 0.0,
            rule: "≥ 1",
        });
    }
    if responses.len() != targets.len() {
        return Err(StatsError::LengthMismatch {
            what,
            left: responses.len(),
            right: targets.len(),
        });
    }
    if responses.len() % units != 0 {
        return Err(StatsError::InvalidArgument {
            what,
            field: "responses.len() / units",
            value: responses.len() as f64 / units as f64,
            rule: "a whole number of rows",
        });
    }
    if let Some((index, &value)) = responses.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(StatsError::NonFinite {
            what,
            field: "responses",
            index,
            value,
        });
    }
    Ok(())
}

/// Per-unit scores of a response table: `responses` and `targets` are row-major
/// `n × units` (one row per example, `targets` true where the unit's label is present),
/// `threshold` is θ and `beta` the slope of the graded TNR. Responses must be finite.
pub fn threshold_scores(
    responses: &[f64],
    targets: &[bool],
    units: usize,
    threshold: f64,
    beta: f64,
) -> Result<Vec<ThresholdScores>> {
    const WHAT: &str = "threshold_scores";
    check_table(WHAT, responses, targets, units)?;
    for (field, value) in [("threshold", threshold), ("beta", beta)] {
        if !value.is_finite() {
            return Err(StatsError::InvalidArgument {
                what: WHAT,
                field,
                value,
                rule: "finite",
            });
        }
    }
    if beta <= 0.0 {
        return Err(StatsError::InvalidArgument {
            what: WHAT,
            field: "beta",
            value: beta,
            rule: "> 0",
        });
    }
    let n = responses.len() / units;
    let mut out = vec![ThresholdScores::default(); units];
    let mut fa = vec![0.0; units];
    let mut graded = vec![0.0; units];
    let mut ties = vec![0u64; units];
    for (row, y) in responses
        .chunks_exact(units)
        .zip(targets.chunks_exact(units))
    {
        for j in 0..units {
            let r = row[j];
            out[j].counts.record(y[j], r > threshold);
            ties[j] += u64::from(r == threshold);
            if !y[j] {
                fa[j] += r;
                graded[j] += graded_rejection(r, threshold, beta);
            }
        }
    }
    for (j, s) in out.iter_mut().enumerate() {
        let neg = s.counts.negatives();
        s.false_alarm_strength = (neg > 0).then(|| fa[j] / neg as f64);
        s.tnr_graded = (neg > 0).then(|| graded[j] / neg as f64);
        s.at_threshold = if n > 0 {
            ties[j] as f64 / n as f64
        } else {
            0.0
        };
    }
    Ok(out)
}

/// Arg-max accuracy over the units `members` of a row-major `n × units` table: the fraction
/// of examples whose largest response among `members` (the first on ties) is at their positive
/// unit. `Ok(None)` when `members` do not partition the examples (some example has no positive
/// or more than one among them) or there are no examples.
pub fn partition_accuracy(
    responses: &[f64],
    targets: &[bool],
    units: usize,
    members: &[usize],
) -> Result<Option<f64>> {
    const WHAT: &str = "partition_accuracy";
    check_table(WHAT, responses, targets, units)?;
    if let Some(&j) = members.iter().find(|&&j| j >= units) {
        return Err(StatsError::OutOfDomain {
            what: WHAT,
            field: "members",
            index: j,
            value: j as f64,
            rule: "< units",
        });
    }
    if members.is_empty() || responses.is_empty() {
        return Ok(None);
    }
    let mut correct = 0usize;
    let mut n = 0usize;
    for (row, y) in responses
        .chunks_exact(units)
        .zip(targets.chunks_exact(units))
    {
        let mut positive = members.iter().filter(|&&j| y[j]);
        let (Some(&truth), None) = (positive.next(), positive.next()) else {
            return Ok(None);
        };
        let mut best = members[0];
        for &j in &members[1..] {
            if row[j] > row[best] {
                best = j;
            }
        }
        correct += usize::from(best == truth);
        n += 1;
    }
    Ok(Some(correct as f64 / n as f64))
}

/// Tallies a response table by group (a level, a block, an agent, or a tuple of them):
/// `key` names each row's group and `trial` reads its decision.
pub fn counts_by<T, K, I, FK, FT>(rows: I, key: FK, trial: FT) -> BTreeMap<K, DecisionCounts>
where
    I: IntoIterator<Item = T>,
    K: Ord,
    FK: Fn(&T) -> K,
    FT: Fn(&T) -> Trial,
{
    let mut out: BTreeMap<K, DecisionCounts> = BTreeMap::new();
    for row in rows {
        let t = trial(&row);
        out.entry(key(&row))
            .or_default()
            .record(t.target, t.response);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_of_a_small_table() {
        let c = DecisionCounts::from_pairs([
            (true, true),
            (true, true),
            (true, false),
            (false, false),
            (false, false),
            (false, false),
            (false, true),
        ]);
        assert_eq!(
            c,
            DecisionCounts {
                hits: 2,
                misses: 1,
                false_alarms: 1,
                correct_rejections: 3
            }
        );
        assert_eq!(c.hit_rate(), Some(2.0 / 3.0));
        assert_eq!(c.miss_rate(), Some(1.0 / 3.0));
        assert_eq!(c.true_negative_rate(), Some(0.75));
        assert_eq!(c.false_alarm_rate(), Some(0.25));
        assert_eq!(c.accuracy(), Some(5.0 / 7.0));
        let none = DecisionCounts::from_trials([Trial {
            target: false,
            response: false,
        }]);
        assert_eq!(none.hit_rate(), None);
        assert_eq!(none.true_negative_rate(), Some(1.0));
        assert!(matches!(
            none.d_prime(Correction::LogLinear),
            Err(StatsError::EmptyClass {
                class: "target-present",
                ..
            })
        ));
    }

    #[test]
    fn d_prime_of_eighty_twenty() {
        // H = 0.8, FA = 0.2: d′ = z(0.8) − z(0.2) = 2 z(0.8) = 2 · 0.841621233572914, c = 0.
        let c = DecisionCounts {
            hits: 8,
            misses: 2,
            false_alarms: 2,
            correct_rejections: 8,
        };
        let d = c.d_prime(Correction::None).unwrap();
        assert!((d - 1.683_242_467_145_828_4).abs() < 1e-12);
        assert!((d - 1.6832).abs() < 1e-4);
        assert!(c.criterion(Correction::None).unwrap().abs() < 1e-15);
        assert!((d_prime_from_rates(0.8, 0.2).unwrap() - d).abs() < 1e-15);
        // Log-linear: H = 8.5/11, FA = 2.5/11, pulled towards ½, so d′ shrinks.
        let (h, f) = c.corrected_rates(Correction::LogLinear).unwrap();
        assert_eq!((h, f), (8.5 / 11.0, 2.5 / 11.0));
        // z(8.5/11) − z(2.5/11) = 1.4957171895266044 (mpmath).
        let dl = c.d_prime(Correction::LogLinear).unwrap();
        assert!((dl - 1.495_717_189_526_604_4).abs() < 1e-12);
    }

    #[test]
    fn perfect_counts_are_finite_only_with_the_correction() {
        // H = 10/10, FA = 0/10: log-linear rates 10.5/11 and 0.5/11, so
        // d′ = z(10.5/11) − z(0.5/11) = 2 z(10.5/11) = 3.3812432591697963 (mpmath).
        let c = DecisionCounts {
            hits: 10,
            misses: 0,
            false_alarms: 0,
            correct_rejections: 10,
        };
        assert!(matches!(
            c.d_prime(Correction::None),
            Err(StatsError::DegenerateRate {
                rate: "hit rate",
                ..
            })
        ));
        let d = c.d_prime(Correction::LogLinear).unwrap();
        assert!((d - 3.381_243_259_169_796_3).abs() < 1e-12);
        assert!((crate::normal::normal_cdf(d / 2.0) - 10.5 / 11.0).abs() < 1e-15);
        assert!(c.criterion(Correction::LogLinear).unwrap().abs() < 1e-15);
    }

    #[test]
    fn graded_rejection_is_a_stable_logistic() {
        assert_eq!(graded_rejection(0.5, 0.5, 10.0), 0.5);
        assert!((graded_rejection(0.6, 0.5, 10.0) - 1.0 / (1.0 + 1f64.exp())).abs() < 1e-15);
        assert_eq!(graded_rejection(1e6, 0.0, 10.0), 0.0);
        assert_eq!(graded_rejection(-1e6, 0.0, 10.0), 1.0);
    }

    #[test]
    fn counts_by_groups_rows() {
        let rows = [
            ("item", true, false),
            ("sup", true, true),
            ("item", false, false),
        ];
        let by = counts_by(
            rows,
            |r| r.0,
            |r| Trial {
                target: r.1,
                response: r.2,
            },
        );
        assert_eq!(by["item"].misses, 1);
        assert_eq!(by["item"].correct_rejections, 1);
        assert_eq!(by["sup"].hits, 1);
        let total = by.values().fold(DecisionCounts::default(), |a, &b| a + b);
        assert_eq!(total.total(), 3);
    }
}
