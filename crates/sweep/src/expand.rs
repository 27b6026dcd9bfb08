//! A sweep configuration → its plan rows: the `[sweep]` table is taken out, every point of the
//! product is applied to the rest as `--set` overrides would be, and every resolved configuration
//! is validated before anything runs.
//!
//! Validation is in two tiers: every row is parsed and checked by `RunConfig::parse` (schema,
//! ranges, unknown keys), then one row per distinct configuration-up-to-the-seed is built as a
//! run would build it (data set, model, loss, probes; no training), so a wrong shape or a missing
//! data file fails the plan rather than run 37 of 60 at night. Seeds only change random draws,
//! so they are not built again.

use std::collections::{BTreeMap, BTreeSet};

use learnscope_nn::CpuBackend;
use learnscope_probes::build_probes;
use learnscope_store::sha256_hex;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;

use crate::error::{SweepError, SweepResult};
use crate::plan::PlanRow;
use crate::spec::{SweepSpec, SWEEP_TABLE};

/// A sweep configuration split into its base and its `[sweep]` table.
#[derive(Debug, Clone)]
pub struct SweepConfig {
    /// The configuration without `[sweep]`, as TOML text.
    pub base: String,
    /// The parsed `[sweep]` table.
    pub spec: SweepSpec,
}

impl SweepConfig {
    /// Splits a configuration file's text.
    pub fn parse(text: &str) -> SweepResult<Self> {
        let mut doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| SweepError::Other(e.to_string().trim().to_string()))?;
        let Some(table) = doc.remove(SWEEP_TABLE) else {
            return Err(SweepError::Other(
                "no [sweep] table: add one (e.g. `[sweep]` with `seeds = 5` and `\"lr.base\" = [0.01, 0.1]`), or train a single configuration with `learnscope run`".into(),
            ));
        };
        let table = table.as_table().ok_or_else(|| SweepError::Spec {
            key: "(table)".into(),
            why: "`sweep` must be a table".into(),
        })?;
        let spec = SweepSpec::parse(table)?;
        Ok(SweepConfig {
            base: toml::to_string(&doc).expect("a parsed TOML table serialises"),
            spec,
        })
    }

    /// The axis values of every row, as `(key, value)` pairs in axis order, seed last.
    pub fn points(&self) -> Vec<Vec<(String, toml::Value)>> {
        let mut rows: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
        for axis in &self.spec.axes {
            rows = rows
                .into_iter()
                .flat_map(|row| {
                    axis.points.iter().map(move |point| {
                        let mut r = row.clone();
                        r.extend(axis.keys.iter().cloned().zip(point.iter().cloned()));
                        r
                    })
                })
                .collect();
        }
        if let Some(seeds) = &self.spec.seeds {
            rows = rows
                .into_iter()
                .flat_map(|row| {
                    seeds.iter().map(move |&s| {
                        let mut r = row.clone();
                        r.push(("seed".to_string(), toml::Value::Integer(s as i64)));
                        r
                    })
                })
                .collect();
        }
        rows
    }

    /// Expands and validates (see the module documentation) every row; `sets` are `--set
    /// key=value` overrides applied to the base before the axes.
    pub fn expand(&self, sets: &[String]) -> SweepResult<Vec<PlanRow>> {
        let points = self.points();
        let mut rows = Vec::with_capacity(points.len());
        let mut by_hash: BTreeMap<String, usize> = BTreeMap::new();
        for (index, point) in points.into_iter().enumerate() {
            let mut overrides: Vec<String> = sets.to_vec();
            overrides.extend(point.iter().map(|(k, v)| format!("{k}={v}")));
            let described = describe(&point);
            let config = RunConfig::parse(&self.base, &overrides).map_err(|e| SweepError::Row {
                index,
                overrides: described.clone(),
                why: e.to_string(),
            })?;
            let text = config.to_toml();
            let sha = sha256_hex(text.as_bytes());
            if let Some(&other) = by_hash.get(&sha) {
                return Err(SweepError::Row {
                    index,
                    overrides: described,
                    why: format!("resolves to the same configuration as row {other}: two axes set the same thing"),
                });
            }
            by_hash.insert(sha.clone(), index);
            let id = format!("{}-{}", config.name, &sha[..12]);
            rows.push(PlanRow {
                index,
                id,
                overrides: point.into_iter().collect(),
                config_sha256: sha,
                config: text,
            });
        }
        validate_builds(&rows)?;
        Ok(rows)
    }
}

/// `key=value, ...` for messages.
pub fn describe(point: &[(String, toml::Value)]) -> String {
    point
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds (data, model, loss, probes) one row per configuration-up-to-the-seed.
fn validate_builds(rows: &[PlanRow]) -> SweepResult<()> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for row in rows {
        let mut table: toml::Table = row.config.parse().expect("written by RunConfig::to_toml");
        table.remove("seed");
        if !seen.insert(toml::to_string(&table).expect("a table serialises")) {
            continue;
        }
        let config = RunConfig::parse(&row.config, &[]).expect("validated when the row was made");
        if config.members.is_some() {
            // A row is one run directory; an ensemble writes one per member.
            return Err(SweepError::Row {
                index: row.index,
                overrides: describe(&row.overrides.clone().into_iter().collect::<Vec<_>>()),
                why: "`members` (a batched ensemble) is not supported in sweeps: each plan row \
                      is one run directory; use the [sweep] table's `seeds` for independent \
                      networks"
                    .into(),
            });
        }
        let be = CpuBackend::new(1);
        build_parts(&config, be, |ctx| build_probes(&config.probes, ctx)).map_err(|e| {
            SweepError::Row {
                index: row.index,
                overrides: describe(&row.overrides.clone().into_iter().collect::<Vec<_>>()),
                why: e.to_string(),
            }
        })?;
    }
    Ok(())
}
