//! `learnscope data inspect PATH`: what a data file holds (format, element type, shape, value
//! range, class counts for label files), or the precise reason it is unusable. Reads IDX files
//! (raw or gzip) today; other formats follow with their loaders.

use std::path::PathBuf;

use anyhow::Result;
use learnscope_data::formats::idx::read_idx;

/// `learnscope data …`.
#[derive(clap::Subcommand, Debug)]
pub enum DataCommand {
    /// Describe a data file, or say why it cannot be used.
    Inspect {
        /// The file.
        path: PathBuf,
    },
}

/// Runs `learnscope data`.
pub fn run(cmd: &DataCommand) -> Result<i32> {
    match cmd {
        DataCommand::Inspect { path } => {
            let a = read_idx(path)?;
            let (lo, hi) = a
                .values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                    (l.min(v), h.max(v))
                });
            println!(
                "{}: IDX, element type {:?}, shape {:?}",
                path.display(),
                a.elem,
                a.dims
            );
            println!("values: {} in [{lo}, {hi}]", a.values.len());
            if a.dims.len() == 1
                && a.values
                    .iter()
                    .all(|v| v.fract() == 0.0 && *v >= 0.0 && *v < 1e6)
            {
                let mut counts = std::collections::BTreeMap::new();
                for &v in &a.values {
                    *counts.entry(v as u64).or_insert(0usize) += 1;
                }
                let list: Vec<String> = counts.iter().map(|(k, n)| format!("{k}:{n}")).collect();
                println!("label counts: {}", list.join(" "));
            }
            Ok(0)
        }
    }
}
