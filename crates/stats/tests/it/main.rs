//! Integration tests of learnscope-stats: statistical behaviour (coverage, Monte-Carlo
//! tolerances, determinism) on simulated data drawn from counter-based random keys, so every
//! test is deterministic.

mod bootstrap;
mod correlation;
mod decision;
mod fit;
mod smooth;
mod steepest_drop;
mod summary;
