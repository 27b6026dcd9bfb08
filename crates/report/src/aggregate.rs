//! Runs → groups → aggregated series. Runs "differ only by seed" when their resolved configs
//! are equal once [`IGNORED_KEYS`] (the top-level `seed` and output-path keys) are removed
//! ([`config_minus_seed`]); each such group becomes one set of curves, mean ± sd over its runs
//! per step, with N in the legend. Groups that differ in other keys are overlaid, labelled by
//! the keys whose values differ ([`label_differences`]).

use std::collections::BTreeMap;

use learnscope_stats::{mean, sd};

/// Top-level config keys ignored when deciding whether runs differ only by seed: the seed and
/// output paths.
pub const IGNORED_KEYS: &[&str] = &["seed", "out", "out_dir", "output", "runs_root"];

/// `config` without [`IGNORED_KEYS`].
pub fn config_minus_seed(config: &toml::Table) -> toml::Table {
    let mut t = config.clone();
    for k in IGNORED_KEYS {
        t.remove(*k);
    }
    t
}

/// Runs whose configs are equal up to the seed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunGroup {
    /// Indices of the runs (into the slice given to [`group_runs`]), in input order.
    pub members: Vec<usize>,
    /// The shared config, without the seed.
    pub config: toml::Table,
    /// What sets this group apart from the others (`lr.base=0.1, steps=2000`); empty when
    /// there is only one group.
    pub label: String,
}

/// Groups runs by config-minus-seed, in order of first appearance.
pub fn group_runs(configs: &[toml::Table]) -> Vec<RunGroup> {
    let mut groups: Vec<RunGroup> = Vec::new();
    for (i, cfg) in configs.iter().enumerate() {
        let key = config_minus_seed(cfg);
        match groups.iter_mut().find(|g| g.config == key) {
            Some(g) => g.members.push(i),
            None => groups.push(RunGroup {
                members: vec![i],
                config: key,
                label: String::new(),
            }),
        }
    }
    let shared: Vec<toml::Table> = groups.iter().map(|g| g.config.clone()).collect();
    for (g, label) in groups.iter_mut().zip(label_differences(&shared)) {
        g.label = label;
    }
    groups
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// For each config, `key=value` pairs (dotted keys, sorted, comma-separated) for the keys whose
/// values are not the same in all configs; an absent key shows as `key=(unset)`. Empty strings
/// for fewer than two configs.
pub fn label_differences(configs: &[toml::Table]) -> Vec<String> {
    let flat: Vec<BTreeMap<String, String>> = configs
        .iter()
        .map(|c| {
            let mut m = BTreeMap::new();
            flatten("", &toml::Value::Table(c.clone()), &mut m);
            m
        })
        .collect();
    let mut keys: Vec<&String> = flat.iter().flat_map(|m| m.keys()).collect();
    keys.sort();
    keys.dedup();
    let differing: Vec<&String> = keys
        .into_iter()
        .filter(|k| {
            let first = flat[0].get(*k);
            flat.iter().any(|m| m.get(*k) != first)
        })
        .collect();
    flat.iter()
        .map(|m| {
            differing
                .iter()
                .map(|k| format!("{k}={}", m.get(*k).map_or("(unset)", |v| v.as_str())))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect()
}

/// A `config.toml` flattened to (dotted key, value) pairs: tables become key prefixes, strings
/// their text, arrays of tables one inline TOML array, everything else its TOML rendering (the
/// config columns of `learnscope export --parquet` and of a sweep's `sweep.parquet`).
pub fn flatten_config(config: &toml::Table) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut tables = vec![(String::new(), config)];
    while let Some((prefix, table)) = tables.pop() {
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if let Some(t) = v.as_table() {
                tables.push((key, t));
            } else if let Some(s) = v.as_str() {
                out.insert(key, s.to_string());
            } else {
                out.insert(key, v.to_string());
            }
        }
    }
    out
}

/// One step of an aggregated series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggPoint {
    /// The step.
    pub step: u64,
    /// Mean over the runs that recorded this step.
    pub mean: f64,
    /// Sample standard deviation (n − 1), NaN when `n < 2`.
    pub sd: f64,
    /// How many runs recorded this step.
    pub n: usize,
}

/// Mean ± sd per step over several runs' versions of one series (each sorted by step). A step
/// recorded by only some runs (e.g. a run still going) is aggregated over those.
pub fn aggregate(series: &[&[(u64, f64)]]) -> Vec<AggPoint> {
    let mut by_step: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for s in series {
        for &(step, v) in s.iter() {
            by_step.entry(step).or_default().push(v);
        }
    }
    by_step
        .into_iter()
        .map(|(step, v)| AggPoint {
            step,
            mean: mean(&v),
            sd: sd(&v),
            n: v.len(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(s: &str) -> toml::Table {
        s.parse().unwrap()
    }

    #[test]
    fn three_seeds_mean_and_sd() {
        let a: Vec<(u64, f64)> = vec![(1, 1.0), (10, 2.0)];
        let b: Vec<(u64, f64)> = vec![(1, 2.0), (10, 4.0)];
        let c: Vec<(u64, f64)> = vec![(1, 6.0), (10, 6.0), (100, 1.0)];
        let agg = aggregate(&[&a, &b, &c]);
        assert_eq!(agg.len(), 3);
        // Step 1: values 1, 2, 6 → mean 3, deviations −2, −1, 3 → ss 14, s² 7.
        assert_eq!(agg[0].n, 3);
        assert!((agg[0].mean - 3.0).abs() < 1e-12);
        assert!((agg[0].sd - 7f64.sqrt()).abs() < 1e-12);
        // Step 10: 2, 4, 6 → mean 4, sd 2.
        assert!((agg[1].mean - 4.0).abs() < 1e-12 && (agg[1].sd - 2.0).abs() < 1e-12);
        // Step 100: one run only.
        assert_eq!((agg[2].n, agg[2].mean), (1, 1.0));
        assert!(agg[2].sd.is_nan());
    }

    #[test]
    fn groups_by_config_minus_seed() {
        let c = [
            cfg("seed = 0\nsteps = 10\n[lr]\nbase = 0.1"),
            cfg("seed = 1\nsteps = 10\n[lr]\nbase = 0.1"),
            cfg("seed = 0\nsteps = 10\n[lr]\nbase = 0.2"),
            cfg("seed = 2\nsteps = 10\nout = \"/tmp/x\"\n[lr]\nbase = 0.1"),
        ];
        let g = group_runs(&c);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].members, vec![0, 1, 3]);
        assert_eq!(g[1].members, vec![2]);
        assert_eq!(g[0].label, "lr.base=0.1");
        assert_eq!(g[1].label, "lr.base=0.2");
        let one = group_runs(&c[..2]);
        assert_eq!((one.len(), one[0].label.as_str()), (1, ""));
    }

    #[test]
    fn unset_keys_are_labelled() {
        let l = label_differences(&[cfg("a = 1"), cfg("a = 1\nb = true")]);
        assert_eq!(l, vec!["b=(unset)".to_string(), "b=true".to_string()]);
    }
}
