//! learnscope's reports (DESIGN.md §2, §4): what is on disk in one or more run directories
//! becomes one self-contained HTML file — inline SVG, inline CSS, no scripts, fonts or network
//! fetches, so it opens from a cluster scratch directory.
//!
//! ```text
//! escape.rs     HTML/XML text escaping
//! axis.rs       linear and log scales, nice ticks and their labels
//! svg.rs        a small SVG line-plot writer (lines, dashed theory curves, bands, legend)
//! series.rs     metric records → series per (probe, key, split, layer, index, index2) over step
//! coding.rs     labels whose step-0 TNR was set by the response coding (a note)
//! aggregate.rs  runs grouped by config-minus-seed; mean ± sd per step over seeds
//! theory.rs     the theory-overlay hook: predicted curves read from a run directory
//! verdict.rs    `verdict.json` of a `reproduce` directory → a table
//! html.rs       the page: header tables, one section per probe, figures
//! profile.rs    the spectrum probe's profiles against k and eigenfunction scatter plots
//! human.rs      people and networks on the same axes: TNR / hit rate per level, d_OCS, V_x
//! order.rs      P2's order of learning: accessibility scatter plots (LOC within and across arms,
//!               against the critical principal component) and sorted accessibility
//! report.rs     inputs (run or reproduce directories) → the page
//! ```
//!
//! The entry point is [`build_report`] (or [`Report::load`] then [`Report::to_html`]).

#![warn(missing_docs)]

mod aggregate;
mod axis;
pub mod coding;
mod error;
mod escape;
mod html;
pub mod human;
pub mod order;
mod profile;
mod report;
mod series;
mod svg;
mod theory;
mod verdict;

pub use aggregate::{
    aggregate, config_minus_seed, flatten_config, group_runs, label_differences, AggPoint,
    RunGroup, IGNORED_KEYS,
};
pub use axis::{format_tick, log_ticks, nice_linear_ticks, Scale};
pub use error::{ReportError, ReportResult};
pub use escape::escape;
pub use html::{render_html, MAX_CURVES};
pub use report::{build_report, Report, RunInput};
pub use series::{group_series, SeriesKey};
pub use svg::{thin, Band, Line, Plot, THIN_PX, WIDTH};
pub use theory::{read_theory, TheoryCurve, THEORY_DIR, THEORY_FILE};
pub use verdict::{read_verdict, Measured, VerdictRow, VERDICT_FILE};
