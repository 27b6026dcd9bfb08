//! Verdict rows (DESIGN.md §4): a claim, the per-seed numbers measured for it, and the rule
//! that decides it.
//!
//! A row of `verdict.json` is
//! `{"id", "kind", "claim", "source", "metric", "rule", "target", "reason", "measured": {"mean",
//! "sd", "n", "ci95": [lo, hi], "per_seed": [...]}, "ci95_bootstrap", "outcome", "note"}`:
//!
//! - `kind`: `identity` (a mathematical identity or exact theory against simulation; a failure
//!   is a bug), `replication` (a paper's claim under a pre-registered rule; it may fail
//!   honestly) or `report` (a number with no rule);
//! - `rule` with `target`: `"<="`, `"<"`, `">="`, `">"` against a number, `"within"` against
//!   `[lo, hi]` (inclusive); `null` for `report` rows;
//! - `measured`: the [`SeedSummary`] of the per-seed values (Student-t `ci95`, `sd` and `ci95`
//!   `null` with one seed); `null` when a value was not finite (then `note` says which);
//! - `ci95_bootstrap`: the 95 % percentile bootstrap interval of the mean (2000 resamples, a
//!   fixed key per row), `null` with fewer than two seeds;
//! - `outcome`: `pass | fail | reported`.
//!
//! Which values the rule looks at ([`Applies`]): for `identity` rows every seed must pass (an
//! identity holds for each run, not on average); for `replication` rows the mean over seeds is
//! tested. A non-finite value fails an `identity` or `replication` row.

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
/// wrong shape).
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
    if per_seed.is_empty() || per_seed.iter().any(|v| !v.is_finite()) {
        return Outcome::Fail;
    }
    let ok = match applies {
        Applies::EachSeed => per_seed.iter().all(|&v| holds(rule, target, v)),
        Applies::Mean => holds(rule, target, learnscope_stats::mean(per_seed)),
    };
    if ok {
        Outcome::Pass
    } else {
        Outcome::Fail
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
    /// Why a value is missing or not finite.
    pub note: Option<String>,
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
        let outcome = if notes.is_empty() {
            evaluate(spec.kind, spec.rule, spec.target, spec.applies, per_seed)
        } else if spec.kind == RowKind::Report {
            Outcome::Reported
        } else {
            Outcome::Fail
        };
        let mut notes = notes;
        let measured = if notes.is_empty() {
            match SeedSummary::from_seeds(per_seed) {
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
            (Some(rule), Some(t)) => {
                let each = if r.applies == Applies::EachSeed && r.kind != RowKind::Report {
                    " (each seed)"
                } else {
                    ""
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
    }
}
