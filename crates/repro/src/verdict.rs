//! Verdict rows (DESIGN.md §4): a claim, the per-seed numbers measured for it, and the rule
//! that decides it.
//!
//! A row of `verdict.json` is
//! `{"id", "kind", "claim", "source", "metric", "rule", "target", "reason", "measured": {"mean",
//! "sd", "n", "ci95": [lo, hi], "per_seed": [...]}, "ci95_bootstrap", "outcome", "note"}`, plus
//! `"binomial": {"k", "n", "p", "accepted": [lo, hi]}` on `binomial95` rows (absent elsewhere):
//!
//! - `kind`: `identity` (a mathematical identity or exact theory against simulation; a failure
//!   is a bug), `replication` (a paper's claim under a pre-registered rule; it may fail
//!   honestly) or `report` (a number with no rule);
//! - `rule` with `target`: `"<="`, `"<"`, `">="`, `">"` against a number, `"within"` against
//!   `[lo, hi]` (inclusive), `"binomial95"` against a probability p ∈ [0, 1] (below); `null`
//!   for `report` rows;
//! - `measured`: the [`SeedSummary`] of the per-seed values (Student-t `ci95`, `sd` and `ci95`
//!   `null` with one seed); `null` when a value was not finite (then `note` says which);
//! - `ci95_bootstrap`: the 95 % percentile bootstrap interval of the mean (2000 resamples, a
//!   fixed key per row), `null` with fewer than two seeds;
//! - `outcome`: `pass | fail | reported`;
//! - `note`: why a value is missing or not finite, and on `binomial95` rows the count test
//!   (`k = 7 of 20, accepted counts [4, 12] for p = 0.4`).
//!
//! Which values the rule looks at ([`Applies`]): for `identity` rows every seed must pass (an
//! identity holds for each run, not on average); for `replication` rows the mean over seeds is
//! tested; `applies = "ci95"` tests both ends of the mean's 95 % t-interval instead. A non-finite value fails an `identity` or `replication` row.
//!
//! `binomial95` (a pre-registered probability p of an event, e.g. a grid cell's failure): every
//! per-seed value must be 0 or 1 (anything else fails the row, with a note naming the seed and
//! value); with n seeds and k = Σ values the row passes iff lo ≤ k ≤ hi, the central 95 %
//! acceptance interval of Binomial(n, p): lo the largest count with P(K < lo) ≤ 0.025, hi the
//! smallest with P(K > hi) ≤ 0.025 (n = 20, p = 0.5: [6, 14]; p = 0: [0, 0]). The tails are
//! exact sums of the pmf C(n, k) pᵏ (1 − p)ⁿ⁻ᵏ (ln C from ln Γ), compared with 0.025 + 1e-12 to
//! absorb rounding. [`Applies`] plays no part: the test is on the count over all seeds.

use learnscope_core::RandomKey;
use learnscope_stats::SeedSummary;
use serde::{Deserialize, Serialize};

/// What a failing row means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// A mathematical identity, or exact theory against simulation: a failure is a bug.
    Identity,
    /// A paper's claim under a pre-registered rule: it may fail honestly.
    Replication,
    /// A number with no rule.
    Report,
}

impl RowKind {
    /// The name used in TOML and JSON.
    pub fn name(self) -> &'static str {
        match self {
            RowKind::Identity => "identity",
            RowKind::Replication => "replication",
            RowKind::Report => "report",
        }
    }
}

/// A comparison of a measured value with a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rule {
    /// value ≤ target.
    #[serde(rename = "<=")]
    Le,
    /// value < target.
    #[serde(rename = "<")]
    Lt,
    /// value ≥ target.
    #[serde(rename = ">=")]
    Ge,
    /// value > target.
    #[serde(rename = ">")]
    Gt,
    /// lo ≤ value ≤ hi.
    #[serde(rename = "within")]
    Within,
    /// Per-seed values 0 or 1 whose count lies in the central 95 % acceptance interval of
    /// Binomial(n seeds, target) (module docs).
    #[serde(rename = "binomial95")]
    Binomial95,
}

impl Rule {
    /// The symbol used in TOML, JSON and tables.
    pub fn symbol(self) -> &'static str {
        match self {
            Rule::Le => "<=",
            Rule::Lt => "<",
            Rule::Ge => ">=",
            Rule::Gt => ">",
            Rule::Within => "within",
            Rule::Binomial95 => "binomial95",
        }
    }
}

/// A rule's target: one number, or an inclusive range `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Target {
    /// A threshold.
    Value(f64),
    /// An inclusive range.
    Range([f64; 2]),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Value(v) => write!(f, "{}", fmt_num(*v)),
            Target::Range([lo, hi]) => write!(f, "[{}, {}]", fmt_num(*lo), fmt_num(*hi)),
        }
    }
}

/// Which values a rule is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applies {
    /// Every per-seed value must satisfy the rule (the default for `identity` rows).
    EachSeed,
    /// The mean over seeds must satisfy the rule (the default for `replication` rows).
    Mean,
    /// Both ends of the 95 % Student-t interval of the mean must satisfy the rule (e.g. "the
    /// interval lies above 0"); needs at least two seeds.
    Ci95,
    /// At least two thirds of the per-seed values (⌈2n/3⌉ of n, e.g. 2 of 3) satisfy the rule;
    /// a non-finite value counts as not satisfying it (e.g. a phase that was not found).
    TwoThirds,
}

/// How a row came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The rule holds.
    Pass,
    /// The rule does not hold (or a value was not finite).
    Fail,
    /// A `report` row: no rule.
    Reported,
}

impl Outcome {
    /// `pass`, `fail` or `reported`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Reported => "reported",
        }
    }
}

/// Why a rule and target do not fit together.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// `within` needs `[lo, hi]`, the others one number.
    #[error("rule `{rule}` needs {needs}, got target {target}")]
    TargetShape {
        /// The rule.
        rule: &'static str,
        /// What it needs.
        needs: &'static str,
        /// The target given.
        target: Target,
    },
    /// A range with lo > hi, or a non-finite bound.
    #[error("target {target} is not a finite range with lo <= hi")]
    BadRange {
        /// The target given.
        target: Target,
    },
    /// A `binomial95` target that is not a probability in [0, 1].
    #[error("rule `binomial95` needs a probability in [0, 1], got target {target}")]
    BadProbability {
        /// The target given.
        target: Target,
    },
    /// A row of kind identity or replication without rule or target, or a report row with one.
    #[error("a `{kind}` row {why}")]
    Kind {
        /// The row kind.
        kind: &'static str,
        /// What is wrong.
        why: &'static str,
    },
}

/// Checks that `rule` and `target` fit `kind`.
pub fn check_rule(
    kind: RowKind,
    rule: Option<Rule>,
    target: Option<Target>,
) -> Result<(), RuleError> {
    match (kind, rule, target) {
        (RowKind::Report, None, None) => Ok(()),
        (RowKind::Report, _, _) => Err(RuleError::Kind {
            kind: kind.name(),
            why: "has no rule or target",
        }),
        (_, Some(rule), Some(target)) => {
            match (rule, target) {
                (Rule::Binomial95, Target::Value(p)) => {
                    if !(0.0..=1.0).contains(&p) {
                        return Err(RuleError::BadProbability { target });
                    }
                }
                (Rule::Binomial95, Target::Range(_)) => {
                    return Err(RuleError::TargetShape {
                        rule: rule.symbol(),
                        needs: "one probability p in [0, 1]",
                        target,
                    })
                }
                (Rule::Within, Target::Range([lo, hi])) => {
                    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                        return Err(RuleError::BadRange { target });
                    }
                }
                (Rule::Within, Target::Value(_)) => {
                    return Err(RuleError::TargetShape {
                        rule: rule.symbol(),
                        needs: "a range [lo, hi]",
                        target,
                    })
                }
                (_, Target::Range(_)) => {
                    return Err(RuleError::TargetShape {
                        rule: rule.symbol(),
                        needs: "one number",
                        target,
                    })
                }
                (_, Target::Value(v)) => {
                    if !v.is_finite() {
                        return Err(RuleError::BadRange { target });
                    }
                }
            }
            Ok(())
        }
        _ => Err(RuleError::Kind {
            kind: kind.name(),
            why: "needs both `rule` and `target`",
        }),
    }
}

/// Whether `value` satisfies `rule` against `target` (false for NaN and for a target of the
/// wrong shape, and for `binomial95`, which tests the count over seeds, not one value: see
/// [`evaluate`]).
pub fn holds(rule: Rule, target: Target, value: f64) -> bool {
    match (rule, target) {
        (Rule::Le, Target::Value(t)) => value <= t,
        (Rule::Lt, Target::Value(t)) => value < t,
        (Rule::Ge, Target::Value(t)) => value >= t,
        (Rule::Gt, Target::Value(t)) => value > t,
        (Rule::Within, Target::Range([lo, hi])) => lo <= value && value <= hi,
        _ => false,
    }
}

/// The outcome of a row of `kind` whose per-seed values are `per_seed`.
pub fn evaluate(
    kind: RowKind,
    rule: Option<Rule>,
    target: Option<Target>,
    applies: Applies,
    per_seed: &[f64],
) -> Outcome {
    let (Some(rule), Some(target)) = (rule, target) else {
        return if kind == RowKind::Report {
            Outcome::Reported
        } else {
            Outcome::Fail
        };
    };
    if kind == RowKind::Report {
        return Outcome::Reported;
    }
    if applies == Applies::TwoThirds && rule != Rule::Binomial95 {
        let n = per_seed.len();
        let k = per_seed
            .iter()
            .filter(|&&v| v.is_finite() && holds(rule, target, v))
            .count();
        return if n > 0 && 3 * k >= 2 * n {
            Outcome::Pass
        } else {
            Outcome::Fail
        };
    }
    if per_seed.is_empty() || per_seed.iter().any(|v| !v.is_finite()) {
        return Outcome::Fail;
    }
    if rule == Rule::Binomial95 {
        return match (target, binomial_count(per_seed)) {
            (Target::Value(p), Some(k)) => {
                let (lo, hi) = binomial95_counts(per_seed.len() as u64, p);
                if lo <= k && k <= hi {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                }
            }
            _ => Outcome::Fail,
        };
    }
    let ok = match applies {
        Applies::EachSeed => per_seed.iter().all(|&v| holds(rule, target, v)),
        Applies::Mean | Applies::TwoThirds => holds(rule, target, learnscope_stats::mean(per_seed)),
        Applies::Ci95 => match learnscope_stats::t_interval(per_seed, 0.95) {
            Ok((lo, hi)) => holds(rule, target, lo) && holds(rule, target, hi),
            Err(_) => false,
        },
    };
    if ok {
        Outcome::Pass
    } else {
        Outcome::Fail
    }
}

/// k = Σ values when every value is exactly 0 or 1.
fn binomial_count(per_seed: &[f64]) -> Option<u64> {
    per_seed
        .iter()
        .all(|&v| v == 0.0 || v == 1.0)
        .then(|| per_seed.iter().filter(|&&v| v == 1.0).count() as u64)
}

/// P(K = k) for K ~ Binomial(n, p), k ≤ n.
fn binomial_pmf(n: u64, k: u64, p: f64) -> f64 {
    if p <= 0.0 {
        return f64::from(u8::from(k == 0));
    }
    if p >= 1.0 {
        return f64::from(u8::from(k == n));
    }
    let ln_gamma = learnscope_stats::special::ln_gamma;
    let (nf, kf) = (n as f64, k as f64);
    let ln_choose = ln_gamma(nf + 1.0) - ln_gamma(kf + 1.0) - ln_gamma(nf - kf + 1.0);
    (ln_choose + kf * p.ln() + (nf - kf) * (-p).ln_1p()).exp()
}

/// The central 95 % acceptance interval [lo, hi] of the count K ~ Binomial(n, p): lo the largest
/// count with P(K < lo) ≤ 0.025, hi the smallest with P(K > hi) ≤ 0.025 (module docs).
fn binomial95_counts(n: u64, p: f64) -> (u64, u64) {
    const TAIL: f64 = 0.025 + 1e-12;
    let pmf: Vec<f64> = (0..=n).map(|k| binomial_pmf(n, k, p)).collect();
    let (mut lo, mut below) = (0u64, 0.0);
    while lo < n && below + pmf[lo as usize] <= TAIL {
        below += pmf[lo as usize];
        lo += 1;
    }
    let (mut hi, mut above) = (n, 0.0);
    while hi > 0 && above + pmf[hi as usize] <= TAIL {
        above += pmf[hi as usize];
        hi -= 1;
    }
    (lo, hi)
}

/// The count test of a `binomial95` row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BinomialCount {
    /// Σ per-seed values (each 0 or 1).
    pub k: u64,
    /// The number of seeds.
    pub n: u64,
    /// The pre-registered probability (the row's target).
    pub p: f64,
    /// The central 95 % acceptance interval of the count, inclusive.
    pub accepted: [u64; 2],
}

impl BinomialCount {
    /// The count test of `per_seed` against `p`; `None` unless every value is 0 or 1.
    pub fn of(per_seed: &[f64], p: f64) -> Option<Self> {
        let k = binomial_count(per_seed)?;
        let n = per_seed.len() as u64;
        let (lo, hi) = binomial95_counts(n, p);
        Some(BinomialCount {
            k,
            n,
            p,
            accepted: [lo, hi],
        })
    }

    /// `k = 7 of 20, accepted counts [4, 12] for p = 0.4`.
    pub fn describe(&self) -> String {
        format!(
            "k = {} of {}, accepted counts [{}, {}] for p = {}",
            self.k,
            self.n,
            self.accepted[0],
            self.accepted[1],
            fmt_num(self.p)
        )
    }
}

/// One row of `verdict.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictRow {
    /// Unique within the preset.
    pub id: String,
    /// identity, replication or report.
    pub kind: RowKind,
    /// The claim, in words.
    pub claim: String,
    /// Where the claim comes from (paper, section, equation).
    pub source: String,
    /// What was measured, in words (e.g. `loss/batch_loss[train] monotone_increase`).
    pub metric: String,
    /// The comparison (`null` for report rows).
    pub rule: Option<Rule>,
    /// The threshold or range (`null` for report rows).
    pub target: Option<Target>,
    /// Why this threshold: from the maths, or the paper with a stated margin.
    pub reason: String,
    /// Whether the rule was applied to each seed or to the mean.
    pub applies: Applies,
    /// The per-seed summary; `null` when a value was not finite.
    pub measured: Option<SeedSummary>,
    /// 95 % percentile bootstrap interval of the mean (two or more seeds).
    pub ci95_bootstrap: Option<(f64, f64)>,
    /// pass, fail or reported.
    pub outcome: Outcome,
    /// Why a value is missing or not finite; the count test of a `binomial95` row.
    pub note: Option<String>,
    /// The count test of a `binomial95` row (absent on other rows and when a value was not 0
    /// or 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binomial: Option<BinomialCount>,
}

/// A row's definition, before it is measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RowSpec {
    /// Unique within the preset.
    pub id: String,
    /// identity, replication or report.
    pub kind: RowKind,
    /// The claim, in words.
    pub claim: String,
    /// Where the claim comes from.
    pub source: String,
    /// What is measured, in words.
    pub metric: String,
    /// The comparison.
    pub rule: Option<Rule>,
    /// The threshold or range.
    pub target: Option<Target>,
    /// Why this threshold.
    pub reason: String,
    /// Which values the rule is applied to.
    pub applies: Applies,
}

impl VerdictRow {
    /// Measures `spec` from its per-seed values (`notes` explain missing ones).
    pub fn measure(spec: &RowSpec, per_seed: &[f64], notes: Vec<String>) -> Self {
        let labels: Vec<String> = (1..=per_seed.len())
            .map(|i| format!("per-seed value #{i}"))
            .collect();
        Self::measure_labelled(spec, &labels, per_seed, notes)
    }

    /// [`VerdictRow::measure`] with a label per value (e.g. `seed 3`) for the notes.
    pub fn measure_labelled(
        spec: &RowSpec,
        labels: &[String],
        per_seed: &[f64],
        notes: Vec<String>,
    ) -> Self {
        let outcome = if notes.is_empty() {
            evaluate(spec.kind, spec.rule, spec.target, spec.applies, per_seed)
        } else if spec.kind == RowKind::Report {
            Outcome::Reported
        } else {
            Outcome::Fail
        };
        let mut notes = notes;
        let complete = notes.is_empty();
        // A `two_thirds` row counts non-finite values as seeds that fail; the summary is over
        // the finite ones, and the others are named in a note.
        let finite: Vec<f64>;
        let summarised = if spec.applies == Applies::TwoThirds && complete {
            finite = per_seed.iter().copied().filter(|v| v.is_finite()).collect();
            for (i, v) in per_seed.iter().enumerate() {
                if !v.is_finite() {
                    let label = labels
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("per-seed value #{}", i + 1));
                    notes.push(format!("{label}: {v} (counted as not satisfying the rule)"));
                }
            }
            finite.as_slice()
        } else {
            per_seed
        };
        let measured = if complete {
            match SeedSummary::from_seeds(summarised) {
                Ok(s) => Some(s),
                Err(e) => {
                    let shown: Vec<String> = per_seed.iter().map(|v| fmt_num(*v)).collect();
                    notes.push(format!("{e} (per seed: {})", shown.join(", ")));
                    None
                }
            }
        } else {
            None
        };
        let mut binomial = None;
        if let (Some(Rule::Binomial95), Some(Target::Value(p)), Some(_)) =
            (spec.rule, spec.target, &measured)
        {
            binomial = BinomialCount::of(per_seed, p);
            if binomial.is_none() {
                for (i, v) in per_seed.iter().enumerate() {
                    if *v != 0.0 && *v != 1.0 {
                        let label = labels
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| format!("per-seed value #{}", i + 1));
                        notes.push(format!(
                            "{label}: value {} is not 0 or 1 (binomial95 counts events)",
                            fmt_num(*v)
                        ));
                    }
                }
            }
            notes.extend(binomial.map(|b| b.describe()));
        }
        let ci95_bootstrap = measured.as_ref().and_then(|s| {
            let key = RandomKey::root(0).derive(&format!("verdict/{}", spec.id));
            s.bootstrap_ci95(key, 2000).ok()
        });
        let outcome = if measured.is_none() && outcome == Outcome::Pass {
            Outcome::Fail
        } else {
            outcome
        };
        VerdictRow {
            id: spec.id.clone(),
            kind: spec.kind,
            claim: spec.claim.clone(),
            source: spec.source.clone(),
            metric: spec.metric.clone(),
            rule: spec.rule,
            target: spec.target,
            reason: spec.reason.clone(),
            applies: spec.applies,
            measured,
            ci95_bootstrap,
            outcome,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            binomial,
        }
    }
}

/// The exit code of a verdict (DESIGN.md §4): 1 if an identity row failed, or any row under
/// `strict`; else 0.
pub fn verdict_exit_code(rows: &[VerdictRow], strict: bool) -> i32 {
    let flagged = rows
        .iter()
        .any(|r| r.outcome == Outcome::Fail && (strict || r.kind == RowKind::Identity));
    i32::from(flagged)
}

/// A number for tables: 4 significant digits, scientific outside [1e-3, 1e4).
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-3..1e4).contains(&a) {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        format!("{v:.3e}")
    }
}

/// The verdict as a Markdown table (the content of `verdict.md` and what `reproduce` prints).
pub fn markdown_table(rows: &[VerdictRow]) -> String {
    let mut s = String::from(
        "| id | kind | claim | metric | rule | mean | sd | n | ci95 | outcome |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let rule = match (r.rule, r.target) {
            (Some(Rule::Binomial95), Some(t)) => match &r.binomial {
                Some(b) => format!(
                    "binomial95 p = {t}: k in [{}, {}] of {}",
                    b.accepted[0], b.accepted[1], b.n
                ),
                None => format!("binomial95 p = {t}"),
            },
            (Some(rule), Some(t)) => {
                let each = match r.applies {
                    _ if r.kind == RowKind::Report => "",
                    Applies::EachSeed => " (each seed)",
                    Applies::Ci95 => " (95 % CI)",
                    Applies::TwoThirds => " (≥ 2/3 of seeds)",
                    Applies::Mean => "",
                };
                format!("{} {t}{each}", rule.symbol())
            }
            _ => "—".into(),
        };
        let (mean, sd, n, ci) = match &r.measured {
            Some(m) => (
                fmt_num(m.mean),
                m.sd.map_or("—".into(), fmt_num),
                m.n.to_string(),
                m.ci95.map_or("—".into(), |(lo, hi)| {
                    format!("[{}, {}]", fmt_num(lo), fmt_num(hi))
                }),
            ),
            None => ("—".into(), "—".into(), "—".into(), "—".into()),
        };
        let cell = |t: &str| t.replace('|', "\\|");
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | **{}** |\n",
            cell(&r.id),
            r.kind.name(),
            cell(&r.claim),
            cell(&r.metric),
            cell(&rule),
            mean,
            sd,
            n,
            ci,
            r.outcome.name()
        ));
    }
    let notes: Vec<String> = rows
        .iter()
        .filter_map(|r| r.note.as_ref().map(|n| format!("- `{}`: {}", r.id, n)))
        .collect();
    if !notes.is_empty() {
        s.push_str("\nNotes:\n");
        s.push_str(&notes.join("\n"));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_compare_as_written() {
        let t = Target::Value(1.0);
        assert!(holds(Rule::Le, t, 1.0) && !holds(Rule::Lt, t, 1.0));
        assert!(holds(Rule::Ge, t, 1.0) && !holds(Rule::Gt, t, 1.0));
        assert!(!holds(Rule::Le, t, f64::NAN));
        let r = Target::Range([0.0, 2.0]);
        assert!(holds(Rule::Within, r, 0.0) && holds(Rule::Within, r, 2.0));
        assert!(!holds(Rule::Within, r, 2.0 + 1e-12) && !holds(Rule::Within, t, 1.0));
    }

    #[test]
    fn rule_and_target_must_fit_the_kind() {
        let v = Some(Target::Value(1.0));
        let r = Some(Target::Range([0.0, 1.0]));
        assert!(check_rule(RowKind::Identity, Some(Rule::Le), v).is_ok());
        assert!(check_rule(RowKind::Identity, Some(Rule::Within), r).is_ok());
        assert!(check_rule(RowKind::Identity, Some(Rule::Within), v).is_err());
        assert!(check_rule(RowKind::Replication, Some(Rule::Ge), r).is_err());
        assert!(check_rule(RowKind::Replication, None, v).is_err());
        assert!(check_rule(RowKind::Report, None, None).is_ok());
        assert!(check_rule(RowKind::Report, Some(Rule::Le), v).is_err());
        let backwards = Some(Target::Range([2.0, 1.0]));
        assert!(check_rule(RowKind::Identity, Some(Rule::Within), backwards).is_err());
        let b = Some(Rule::Binomial95);
        for p in [0.0, 0.4, 1.0] {
            assert!(check_rule(RowKind::Replication, b, Some(Target::Value(p))).is_ok());
        }
        for p in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let e = check_rule(RowKind::Identity, b, Some(Target::Value(p))).unwrap_err();
            assert!(matches!(e, RuleError::BadProbability { .. }), "{p}: {e}");
        }
        let e = check_rule(RowKind::Replication, b, r)
            .unwrap_err()
            .to_string();
        assert!(e.contains("binomial95") && e.contains("probability"), "{e}");
        assert!(check_rule(RowKind::Report, b, Some(Target::Value(0.5))).is_err());
    }

    /// The pmf by the multiplicative formula, independently of ln Γ.
    fn pmf_direct(n: u64, k: u64, p: f64) -> f64 {
        let mut c = 1.0;
        for i in 0..k {
            c = c * (n - i) as f64 / (i + 1) as f64;
        }
        c * p.powi(k as i32) * (1.0 - p).powi((n - k) as i32)
    }

    #[test]
    fn the_binomial_acceptance_interval_has_both_tails_at_most_2_5_percent() {
        assert_eq!(binomial95_counts(20, 0.5), (6, 14));
        assert_eq!(binomial95_counts(20, 0.0), (0, 0));
        assert_eq!(binomial95_counts(20, 1.0), (20, 20));
        assert_eq!(binomial95_counts(1, 0.5), (0, 1));
        for (n, p) in [(20, 0.4), (20, 0.05), (30, 0.9), (7, 0.3), (100, 0.01)] {
            let pmf: Vec<f64> = (0..=n).map(|k| pmf_direct(n, k, p)).collect();
            for (k, want) in pmf.iter().enumerate() {
                let got = binomial_pmf(n, k as u64, p);
                assert!(
                    (got - want).abs() <= 1e-12 * want.max(1e-300) + 1e-300,
                    "{n} {p} {k}"
                );
            }
            let (lo, hi) = binomial95_counts(n, p);
            let below: f64 = pmf[..lo as usize].iter().sum();
            let above: f64 = pmf[hi as usize + 1..].iter().sum();
            assert!(below <= 0.025 && above <= 0.025, "{n} {p}: [{lo}, {hi}]");
            // One more count on either side would exceed 2.5 %.
            if lo < n {
                assert!(below + pmf[lo as usize] > 0.025, "{n} {p}: lo {lo}");
            }
            if hi > 0 {
                assert!(above + pmf[hi as usize] > 0.025, "{n} {p}: hi {hi}");
            }
        }
        assert_eq!(binomial95_counts(20, 0.4), (4, 12));
    }

    fn ones(n: usize, k: usize) -> Vec<f64> {
        (0..n).map(|i| if i < k { 1.0 } else { 0.0 }).collect()
    }

    fn binomial_spec(kind: RowKind, p: f64) -> RowSpec {
        RowSpec {
            id: "cell-failure".into(),
            kind,
            claim: "c".into(),
            source: "s".into(),
            metric: "m".into(),
            rule: Some(Rule::Binomial95),
            target: Some(Target::Value(p)),
            reason: "r".into(),
            applies: Applies::EachSeed,
        }
    }

    #[test]
    fn two_thirds_counts_the_seeds_that_satisfy_the_rule() {
        let ge1 = (Some(Rule::Ge), Some(Target::Value(1.0)));
        let eval = |v: &[f64]| evaluate(RowKind::Replication, ge1.0, ge1.1, Applies::TwoThirds, v);
        assert_eq!(eval(&[1.0, 1.0, 0.0]), Outcome::Pass);
        assert_eq!(eval(&[1.0, 0.0, 0.0]), Outcome::Fail);
        // A phase that was not found (NaN) is one seed that fails, not the whole row.
        assert_eq!(eval(&[1.0, f64::NAN, 1.0]), Outcome::Pass);
        assert_eq!(eval(&[1.0, f64::NAN, f64::NAN]), Outcome::Fail);
        // ⌈2n/3⌉: 4 of 6 pass, 3 of 5 do not (needs 4).
        assert_eq!(eval(&[1.0, 1.0, 1.0, 1.0, 0.0, 0.0]), Outcome::Pass);
        assert_eq!(eval(&[1.0, 1.0, 1.0, 0.0, 0.0]), Outcome::Fail);
        assert_eq!(eval(&[]), Outcome::Fail);
    }

    #[test]
    fn binomial95_passes_inside_the_interval_and_fails_outside() {
        let b = (Some(Rule::Binomial95), Some(Target::Value(0.5)));
        for (k, want) in [
            (5, Outcome::Fail),
            (6, Outcome::Pass),
            (10, Outcome::Pass),
            (14, Outcome::Pass),
            (15, Outcome::Fail),
        ] {
            // `applies` plays no part.
            for applies in [Applies::EachSeed, Applies::Mean] {
                let got = evaluate(RowKind::Replication, b.0, b.1, applies, &ones(20, k));
                assert_eq!(got, want, "k = {k}");
            }
        }
        // p = 0: only k = 0 passes; p = 1: only k = n.
        let zero = Some(Target::Value(0.0));
        assert_eq!(
            evaluate(
                RowKind::Identity,
                b.0,
                zero,
                Applies::EachSeed,
                &ones(20, 0)
            ),
            Outcome::Pass
        );
        assert_eq!(
            evaluate(
                RowKind::Identity,
                b.0,
                zero,
                Applies::EachSeed,
                &ones(20, 1)
            ),
            Outcome::Fail
        );
        let one = Some(Target::Value(1.0));
        assert_eq!(
            evaluate(RowKind::Identity, b.0, one, Applies::Mean, &ones(5, 5)),
            Outcome::Pass
        );
        assert_eq!(
            evaluate(RowKind::Identity, b.0, one, Applies::Mean, &ones(5, 4)),
            Outcome::Fail
        );
        // Values other than 0 and 1 fail, as do no values and NaN.
        for bad in [vec![0.0, 0.5], vec![1.0, 2.0], vec![], vec![f64::NAN]] {
            assert_eq!(
                evaluate(RowKind::Replication, b.0, b.1, Applies::Mean, &bad),
                Outcome::Fail,
                "{bad:?}"
            );
        }
        assert!(!holds(Rule::Binomial95, Target::Value(0.5), 1.0));
    }

    #[test]
    fn a_binomial_row_shows_the_count_and_its_interval() {
        let spec = binomial_spec(RowKind::Replication, 0.5);
        let row = VerdictRow::measure(&spec, &ones(20, 7), vec![]);
        assert_eq!(row.outcome, Outcome::Pass);
        assert_eq!(row.measured.as_ref().unwrap().mean, 0.35);
        assert_eq!(
            row.binomial,
            Some(BinomialCount {
                k: 7,
                n: 20,
                p: 0.5,
                accepted: [6, 14]
            })
        );
        assert_eq!(
            row.note.as_deref(),
            Some("k = 7 of 20, accepted counts [6, 14] for p = 0.5")
        );
        let md = markdown_table(std::slice::from_ref(&row));
        assert!(
            md.contains("binomial95 p = 0.5: k in [6, 14] of 20"),
            "{md}"
        );
        assert!(md.contains("| 0.35 |") && !md.contains("each seed"), "{md}");
        assert!(md.contains("k = 7 of 20, accepted counts [6, 14]"), "{md}");
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(
            json["binomial"],
            serde_json::json!({"k": 7, "n": 20, "p": 0.5, "accepted": [6, 14]})
        );
        assert_eq!(json["rule"], "binomial95");
        let back: VerdictRow = serde_json::from_value(json).unwrap();
        assert_eq!(back, row);

        let low = VerdictRow::measure(&spec, &ones(20, 5), vec![]);
        assert_eq!(low.outcome, Outcome::Fail);
        assert!(low.note.unwrap().starts_with("k = 5 of 20"));

        // A value that is not 0 or 1: the row fails and the note names the seed and value.
        let labels: Vec<String> = (0..3).map(|s| format!("seed {s}")).collect();
        let bad = VerdictRow::measure_labelled(&spec, &labels, &[1.0, 0.25, 0.0], vec![]);
        assert_eq!(bad.outcome, Outcome::Fail);
        assert!(bad.binomial.is_none());
        let note = bad.note.unwrap();
        assert!(note.contains("seed 1: value 0.25 is not 0 or 1"), "{note}");

        // Other rows have no `binomial` field, and rows written without one still read.
        let plain = RowSpec {
            rule: Some(Rule::Le),
            target: Some(Target::Value(1.0)),
            ..spec.clone()
        };
        let row = VerdictRow::measure(&plain, &[0.5], vec![]);
        let mut json = serde_json::to_value(&row).unwrap();
        assert!(json.get("binomial").is_none() && row.note.is_none());
        json.as_object_mut().unwrap().remove("binomial");
        assert_eq!(serde_json::from_value::<VerdictRow>(json).unwrap(), row);
    }
}
