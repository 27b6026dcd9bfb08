//! The `[sweep]` table of a run configuration: which keys vary and over which values.
//!
//! ```toml
//! [sweep]
//! seeds = 5                        # seeds 0..5, or a list: seeds = [1, 7, 42]
//! "lr.base" = [0.01, 0.1]          # a grid axis: any config key, dotted
//! model = { hidden = [[64], [256]] }   # the same as "model.hidden" = [[64], [256]]
//! [[sweep.zip]]                    # zipped axes: the i-th values go together
//! "training.batch_size" = [32, 128]
//! "steps" = [4000, 1000]
//! ```
//!
//! The plan is the Cartesian product of the grid axes (in key order), every `[[sweep.zip]]`
//! group (one axis each), and the seeds (innermost, so a configuration's seeds are adjacent
//! rows). Without `seeds` the configuration's own `seed` is the only one. Values are TOML values
//! and are set exactly as `learnscope run --set key=value` sets them, so anything `--set` can
//! change a sweep can vary.

use std::collections::BTreeMap;

use crate::error::{SweepError, SweepResult};

/// The name of the table.
pub const SWEEP_TABLE: &str = "sweep";

/// One axis of the product: one key, or several keys whose values go together.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The dotted config keys this axis sets.
    pub keys: Vec<String>,
    /// The points of the axis: for each point, one value per key.
    pub points: Vec<Vec<toml::Value>>,
}

/// A parsed `[sweep]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// Grid axes and zipped groups, in the order they are expanded (outermost first).
    pub axes: Vec<Axis>,
    /// The seeds (innermost axis); `None` keeps the configuration's own seed.
    pub seeds: Option<Vec<u64>>,
}

impl SweepSpec {
    /// Number of runs the spec expands to.
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.points.len()).product::<usize>()
            * self.seeds.as_ref().map_or(1, Vec::len)
    }

    /// True when the spec expands to no run (never for a parsed spec).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses a `[sweep]` table.
    pub fn parse(table: &toml::Table) -> SweepResult<Self> {
        let mut axes = Vec::new();
        let mut seeds = None;
        let mut grid: BTreeMap<String, Vec<toml::Value>> = BTreeMap::new();
        for (key, value) in table {
            match key.as_str() {
                "seeds" => seeds = Some(parse_seeds(value)?),
                "zip" => {
                    let groups = value.as_array().ok_or_else(|| {
                        spec_err("zip", "expected an array of tables: [[sweep.zip]]")
                    })?;
                    for (g, group) in groups.iter().enumerate() {
                        let name = format!("zip[{g}]");
                        let t = group
                            .as_table()
                            .ok_or_else(|| spec_err(&name, "expected a table of key = [values]"))?;
                        axes.push(zip_axis(&name, t)?);
                    }
                }
                _ => flatten_axes(key, value, &mut grid)?,
            }
        }
        let mut grid_axes: Vec<Axis> = grid
            .into_iter()
            .map(|(key, values)| Axis {
                keys: vec![key],
                points: values.into_iter().map(|v| vec![v]).collect(),
            })
            .collect();
        grid_axes.extend(axes);
        let spec = SweepSpec {
            axes: grid_axes,
            seeds,
        };
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, axis) in spec.axes.iter().enumerate() {
            for k in &axis.keys {
                if k == "seed" && spec.seeds.is_some() {
                    return Err(spec_err(
                        "seed",
                        "set by `seeds`; do not also give it as an axis",
                    ));
                }
                if let Some(j) = seen.insert(k, i) {
                    if j != i {
                        return Err(spec_err(k, "appears in two axes"));
                    }
                    return Err(spec_err(k, "appears twice in one zip group"));
                }
            }
        }
        if spec.axes.is_empty() && spec.seeds.is_none() {
            return Err(spec_err(
                "(table)",
                "varies nothing: give `seeds` and/or `key = [values]` axes",
            ));
        }
        Ok(spec)
    }
}

fn spec_err(key: &str, why: &str) -> SweepError {
    SweepError::Spec {
        key: key.to_string(),
        why: why.to_string(),
    }
}

fn parse_seeds(value: &toml::Value) -> SweepResult<Vec<u64>> {
    let as_seed = |v: &toml::Value| {
        v.as_integer()
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| spec_err("seeds", &format!("{v} is not a seed (an integer >= 0)")))
    };
    let seeds: Vec<u64> = match value {
        toml::Value::Integer(_) => {
            let n = as_seed(value)?;
            if n == 0 {
                return Err(spec_err("seeds", "0 seeds: give N >= 1 or a list"));
            }
            (0..n).collect()
        }
        toml::Value::Array(list) => list.iter().map(as_seed).collect::<SweepResult<_>>()?,
        other => {
            return Err(spec_err(
                "seeds",
                &format!("expected N or a list of seeds, found {other}"),
            ))
        }
    };
    if seeds.is_empty() {
        return Err(spec_err("seeds", "an empty list"));
    }
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(spec_err("seeds", &format!("seed {} is listed twice", w[0])));
    }
    Ok(seeds)
}

/// `key = [values]` becomes one grid axis; `key = { sub = [values] }` recurses with a dotted key.
fn flatten_axes(
    key: &str,
    value: &toml::Value,
    grid: &mut BTreeMap<String, Vec<toml::Value>>,
) -> SweepResult<()> {
    match value {
        toml::Value::Array(values) => {
            if values.is_empty() {
                return Err(spec_err(key, "an empty list of values"));
            }
            grid.insert(key.to_string(), values.clone());
            Ok(())
        }
        toml::Value::Table(t) => {
            for (k, v) in t {
                flatten_axes(&format!("{key}.{k}"), v, grid)?;
            }
            Ok(())
        }
        other => Err(spec_err(
            key,
            &format!("expected a list of values to sweep over, found {other} (a single value belongs in the configuration itself)"),
        )),
    }
}

fn zip_axis(name: &str, table: &toml::Table) -> SweepResult<Axis> {
    let mut columns: BTreeMap<String, Vec<toml::Value>> = BTreeMap::new();
    for (k, v) in table {
        flatten_axes(k, v, &mut columns).map_err(|e| spec_err(name, &e.to_string()))?;
    }
    let Some(len) = columns.values().map(Vec::len).next() else {
        return Err(spec_err(name, "an empty zip group"));
    };
    if let Some((k, v)) = columns.iter().find(|(_, v)| v.len() != len) {
        let first = columns.keys().next().map(String::as_str).unwrap_or("");
        return Err(spec_err(
            name,
            &format!(
                "zipped keys need lists of one length: `{first}` has {len} values, `{k}` has {} values",
                v.len()
            ),
        ));
    }
    let keys: Vec<String> = columns.keys().cloned().collect();
    let points = (0..len)
        .map(|i| columns.values().map(|v| v[i].clone()).collect())
        .collect();
    Ok(Axis { keys, points })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> SweepResult<SweepSpec> {
        let t: toml::Table = text.parse().unwrap();
        SweepSpec::parse(t["sweep"].as_table().unwrap())
    }

    #[test]
    fn grid_zip_and_seeds_multiply() {
        let s = spec(
            r#"[sweep]
            seeds = 5
            "lr.base" = [0.01, 0.1, 1.0, 10.0]
            model = { hidden = [[64], [256], [1024]] }
            [[sweep.zip]]
            steps = [10, 20]
            "training.batch_size" = [32, 64]"#,
        )
        .unwrap();
        assert_eq!(s.len(), 5 * 4 * 3 * 2);
        assert_eq!(s.seeds, Some(vec![0, 1, 2, 3, 4]));
        let keys: Vec<Vec<String>> = s.axes.iter().map(|a| a.keys.clone()).collect();
        assert_eq!(
            keys,
            vec![
                vec!["lr.base".to_string()],
                vec!["model.hidden".to_string()],
                vec!["steps".to_string(), "training.batch_size".to_string()],
            ]
        );
        assert_eq!(
            s.axes[2].points[1],
            vec![toml::Value::Integer(20), toml::Value::Integer(64)]
        );
    }

    #[test]
    fn malformed_tables_name_the_key() {
        let cases = [
            ("[sweep]\nseeds = 0", "seeds"),
            ("[sweep]\nseeds = [1, 1]", "seed 1 is listed twice"),
            ("[sweep]\nseeds = -1", "seeds"),
            ("[sweep]\n\"lr.base\" = 0.1", "lr.base: expected a list"),
            ("[sweep]\n\"lr.base\" = []", "lr.base: an empty list"),
            (
                "[sweep]\n[[sweep.zip]]\na = [1, 2]\nb = [1]",
                "`b` has 1 values",
            ),
            ("[sweep]\nseeds = 2\nseed = [1, 2]", "seed: set by `seeds`"),
            (
                "[sweep]\na = [1]\n[[sweep.zip]]\na = [2]",
                "a: appears in two axes",
            ),
            ("[sweep]", "varies nothing"),
        ];
        for (text, want) in cases {
            let e = spec(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
