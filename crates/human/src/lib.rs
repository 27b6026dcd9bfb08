//! The human side of paper 1 (docs/human-study.md): the browser study of the 8-item / 14-label
//! category-learning task for people, scored by the same analysis as the networks.
//!
//! - [`config`]: the study TOML and the label tree;
//! - [`schedule`]: the seeded per-participant, per-day trial list;
//! - [`privacy`]: HMAC of recruitment IDs, public codes, tokens, what may be stored;
//! - [`db`] and [`writer`]: the SQLite store (WAL, `synchronous = FULL`) and its group-commit
//!   writer thread;
//! - [`api`] and [`server`]: the axum HTTP API and the process around it;
//! - [`assets`] and [`stimuli`]: the embedded front end and the procedural images;
//! - [`export`]: CSV long, JSON wide, Psych-DS;
//! - [`analysis`]: `responses_long` → `learnscope_stats::responses`;
//! - [`exclusions`]: the pre-registered exclusion rules and flags of HUMAN-TASK §2.5.

pub mod analysis;
pub mod api;
pub mod assets;
pub mod config;
pub mod db;
pub mod error;
pub mod exclusions;
pub mod export;
pub mod privacy;
pub mod schedule;
pub mod server;
pub mod stimuli;
pub mod writer;

pub use analysis::{analyse, read_responses_long, AnalysisReport};
pub use config::StudyConfig;
pub use error::HumanError;
pub use export::{export, ExportFormat};
pub use server::{admin_token_for, secrets_for, serve_blocking, App, Secrets, ServeOptions};
