//! Sweeps (issue 12, DESIGN.md §4): a run configuration with a `[sweep]` table becomes a plan of
//! runs (grid axes over any key × seeds, optionally zipped), which runs unchanged on a local pool
//! or as Slurm job arrays, and is aggregated into one Parquet table and one report.
//!
//! ```text
//! spec.rs       the [sweep] table: grid axes, zipped groups, seeds
//! expand.rs     base config × axes → validated plan rows
//! plan.rs       SWEEP_DIR/plan.jsonl: stable run ids, resolved configs; the array-task index
//! execute.rs    one row, idempotently: skip / resume / start
//! pool.rs       `sweep run`: rows on a local pool (jobs × engine threads ≤ cores)
//! slurm.rs      `sweep slurm`: sbatch array scripts, signal forwarding, the aggregation job
//! status.rs     `sweep status`: what the run directories say
//! aggregate.rs  `sweep aggregate`: sweep.parquet and report.html
//! ```

#![warn(missing_docs)]

pub mod aggregate;
pub mod error;
pub mod execute;
pub mod expand;
pub mod plan;
pub mod pool;
pub mod slurm;
pub mod spec;
pub mod status;

pub use error::{SweepError, SweepResult};
pub use execute::{decide, run_row, Action, RowOutcome};
pub use expand::SweepConfig;
pub use plan::{index_from_env, write_plan, Plan, PlanRow, PLAN_FILE, RUNS_DIR};
pub use spec::SweepSpec;
