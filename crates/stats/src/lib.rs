//! Tensor-free statistics shared by probes, reports, verdicts and the human study.
//!
//! - Distributions: [`normal_cdf`], [`normal_quantile`], [`t_cdf`], [`t_quantile`] (and the
//!   special functions behind them in [`special`]).
//! - Summaries: [`mean`], [`sd`], [`sem`], [`t_interval`], [`quantile`], and [`SeedSummary`]
//!   (`{mean, sd, n, ci95, per_seed}` of a verdict row).
//! - Resampling: [`bootstrap_ci`] (percentile or BCa), [`bootstrap_paired_ci`],
//!   [`bootstrap_two_sample_ci`], all pure functions of a [`learnscope_core::RandomKey`].
//! - Association: [`pearson`], [`spearman`], [`kendall_tau_b`] with Fisher-z intervals.
//! - Representations and example difficulty (SCIENCE.md P2): linear CKA between two
//!   representations of the same examples ([`linear_cka`], Kornblith et al. 2019);
//!   ensemble accessibility, LOC and its fastest-examples variant, and the critical principal
//!   component ([`accessibility`], [`loc`], [`loc_fastest`], [`critical_pc`]; Hacohen et al.
//!   2020); k-nearest-neighbour label agreement ([`knn_label_agreement`],
//!   [`knn_discriminability`]).
//! - Curves: [`smooth_log_time`], [`moving_median`], [`moving_mean`]; fits in [`fit`]
//!   (linear, power law, logistic, any [`fit::CurveModel`]); monotone fits by
//!   pool-adjacent-violators ([`isotonic_fit`]) and the steepest drop of a decreasing curve
//!   with the share of its total drop done by then ([`steepest_drop`], SCIENCE.md P3).
//! - Learning phases of a reconstruction-loss curve: constant, decrease, increase
//!   ([`learning_phases`], SCIENCE.md P4).
//! - Counts: the binomial distribution ([`binomial_pmf`], [`binomial_cdf`], [`binomial_sf`]),
//!   the acceptance interval of counts for a predicted probability
//!   ([`binomial_acceptance_interval`]) and intervals for an observed proportion
//!   ([`clopper_pearson`], [`wilson_interval`]).
//! - Decisions: [`DecisionCounts`] (hit rate, false-alarm rate, TNR, `d′`, criterion with
//!   Hautus's log-linear correction), graded responses against a threshold
//!   ([`threshold_scores`]: TNR, TPR, false-alarm strength, graded TNR; [`partition_accuracy`])
//!   and [`ocs_distance`].
//! - Tests: [`one_sample_t_test`], [`paired_t_test`], [`welch_t_test`],
//!   [`wilcoxon_signed_rank`].
//!
//! Every function validates its input and returns a typed [`StatsError`] naming the rule that
//! broke; the simple descriptive functions ([`mean`], [`sd`], …) instead return NaN where the
//! quantity is undefined, as documented on each.

#![warn(missing_docs)]

mod accessibility;
mod binomial;
mod bootstrap;
mod cka;
pub mod collapse;
mod correlation;
mod decision;
mod error;
pub mod fit;
mod hypothesis;
mod isotonic;
mod knn;
mod normal;
mod ocs;
mod phases;
mod quantile;
mod rank;
pub mod responses;
mod smooth;
pub mod special;
mod steepest_drop;
mod student_t;
mod summary;

pub use accessibility::{accessibility, critical_pc, fastest_examples, loc, loc_fastest};
pub use binomial::{
    binomial_acceptance_interval, binomial_cdf, binomial_pmf, binomial_sf, clopper_pearson,
    wilson_interval,
};
pub use bootstrap::{
    bootstrap_ci, bootstrap_paired_ci, bootstrap_two_sample_ci, BootstrapCi, BootstrapMethod,
    BootstrapOptions,
};
pub use cka::{linear_cka, linear_cka_with, CkaForm};
pub use collapse::{neural_collapse, CollapseInput, NeuralCollapse};
pub use correlation::{kendall_tau_b, pearson, spearman, Correlation};
pub use decision::{
    counts_by, criterion_from_rates, d_prime_from_rates, graded_rejection, partition_accuracy,
    threshold_scores, Correction, DecisionCounts, ThresholdScores, Trial,
};
pub use error::{Result, StatsError};
pub use fit::Estimate;
pub use hypothesis::{
    one_sample_t_test, paired_t_test, welch_t_test, wilcoxon_signed_rank, TTest, WilcoxonTest,
};
pub use isotonic::{isotonic_fit, Monotone};
pub use knn::{knn_discriminability, knn_label_agreement};
pub use normal::{erf, erfc, normal_cdf, normal_pdf, normal_quantile, normal_sf};
pub use ocs::{base_rates, label_variance, ocs_distance};
pub use phases::{learning_phases, Phases};
pub use quantile::{median, quantile, quantile_sorted};
pub use rank::average_ranks;
pub use responses::{agent_curves, AgentCurves, BinStats, LevelStats, OcsIndices, ResponseRow};
pub use smooth::{moving_mean, moving_median, smooth_log_time, smooth_log_time_at};
pub use steepest_drop::{steepest_drop, steepest_drop_with, SteepestDrop, SteepestDropOptions};
pub use student_t::{t_cdf, t_pdf, t_quantile, t_sf};
pub use summary::{mean, sd, sem, t_interval, variance, SeedSummary};
