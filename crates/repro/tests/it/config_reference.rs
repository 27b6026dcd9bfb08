//! `docs/configuration.md` against the configuration types: every key a table (or a `kind` of
//! it) accepts is documented under that table's heading, and every documented key exists.
//!
//! The accepted keys are not listed by hand: every configuration table rejects unknown fields,
//! so deserialising a table with one made-up key makes serde name the keys it expects
//! (`unknown field …, expected one of …`), and a made-up `kind` names the kinds. The reference
//! is parsed from its headings (`## \`[data]\``, `### kind = "mlp"`) and the first column of
//! the tables under them (`` | `key` | … ``). Nested inline tables (`init`, `schedule`, `pool`,
//! …) are documented in prose under their key and are not enumerated here.

use std::collections::{BTreeMap, BTreeSet};

use learnscope_core::LrSchedule;
use learnscope_data::TransformConfig;
use learnscope_nn::optim::OptimizerConfig;
use learnscope_probes::ProbeConfig;
use learnscope_train::config::{
    CheckpointConfig, DataConfig, LossConfig, ModelConfig, RunConfig, TrainingConfig,
};
use serde::de::DeserializeOwned;

const MADE_UP: &str = "zz_not_a_key";

/// The backticked names after `expected one of` / `expected` in a serde error.
fn expected_names(message: &str) -> BTreeSet<String> {
    let tail = message
        .split_once("expected one of ")
        .or_else(|| message.split_once("expected "))
        .map_or("", |(_, t)| t);
    // Only the list itself: the message may go on (e.g. "in `kind`").
    let list = tail.split('\n').next().unwrap_or_default();
    list.split('`')
        .skip(1)
        .step_by(2)
        .filter(|n| *n != MADE_UP)
        .map(str::to_string)
        .collect()
}

/// The keys `T` accepts in a table that also holds `base` (e.g. its `kind`).
fn keys_of<T: DeserializeOwned>(base: &toml::Table) -> BTreeSet<String> {
    let mut t = base.clone();
    t.insert(MADE_UP.into(), toml::Value::Integer(1));
    let err = toml::Value::Table(t)
        .try_into::<T>()
        .err()
        .unwrap_or_else(|| panic!("a made-up key was accepted in {base:?}"))
        .to_string();
    assert!(
        err.contains(MADE_UP),
        "unexpected error for {base:?}: {err}"
    );
    let mut keys = expected_names(&err);
    keys.remove("kind");
    keys
}

/// The kinds of a `kind`-tagged table `T`.
fn kinds_of<T: DeserializeOwned>() -> Vec<String> {
    let mut t = toml::Table::new();
    t.insert("kind".into(), toml::Value::String(MADE_UP.into()));
    let err = toml::Value::Table(t)
        .try_into::<T>()
        .err()
        .expect("a made-up kind was accepted")
        .to_string();
    expected_names(&err).into_iter().collect()
}

/// Section name → keys, for every kind of `T` (`<table> kind = "<kind>"`).
fn tagged<T: DeserializeOwned>(table: &str, out: &mut BTreeMap<String, BTreeSet<String>>) {
    for kind in kinds_of::<T>() {
        let mut base = toml::Table::new();
        base.insert("kind".into(), toml::Value::String(kind.clone()));
        out.insert(format!("{table} kind = \"{kind}\""), keys_of::<T>(&base));
    }
}

/// What the types accept, by section.
fn accepted() -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    out.insert(
        "top level".to_string(),
        keys_of::<RunConfig>(&toml::Table::new()),
    );
    out.insert(
        "[training]".into(),
        keys_of::<TrainingConfig>(&toml::Table::new()),
    );
    out.insert(
        "[checkpoint]".into(),
        keys_of::<CheckpointConfig>(&toml::Table::new()),
    );
    out.insert("[lr]".into(), keys_of::<LrSchedule>(&toml::Table::new()));
    tagged::<DataConfig>("[data]", &mut out);
    tagged::<TransformConfig>("[[transforms]]", &mut out);
    tagged::<ModelConfig>("[model]", &mut out);
    tagged::<LossConfig>("[loss]", &mut out);
    tagged::<OptimizerConfig>("[optimizer]", &mut out);
    tagged::<ProbeConfig>("[[probes]]", &mut out);
    out
}

/// Section name → keys, from the reference's headings and table rows.
fn documented(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let (mut table, mut section) = (String::new(), None::<String>);
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            table = h.trim().trim_matches('`').to_string();
            section = Some(if table.eq_ignore_ascii_case("top level") {
                "top level".to_string()
            } else {
                table.clone()
            });
        } else if let Some(h) = line.strip_prefix("### ") {
            // A kind heading is a section even without rows (a kind with no keys).
            let s = format!("{table} {}", h.trim().replace('`', ""));
            out.entry(s.clone()).or_default();
            section = Some(s);
        } else if let (Some(s), Some(row)) = (&section, line.strip_prefix("| `")) {
            let key = row.split('`').next().unwrap_or_default();
            out.entry(s.clone()).or_default().insert(key.to_string());
        }
    }
    out
}

#[test]
fn the_configuration_reference_documents_every_key() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let docs = documented(&text);
    let types = accepted();
    let mut problems = Vec::new();
    for (section, keys) in &types {
        let Some(doc) = docs.get(section) else {
            problems.push(format!("{section}: no section (keys: {keys:?})"));
            continue;
        };
        for k in keys.difference(doc) {
            problems.push(format!("{section}: `{k}` is accepted but not documented"));
        }
        for k in doc.difference(keys) {
            problems.push(format!("{section}: `{k}` is documented but not accepted"));
        }
    }
    for section in docs.keys().filter(|s| !types.contains_key(*s)) {
        problems.push(format!("{section}: documented, but no such table or kind"));
    }
    assert!(
        problems.is_empty(),
        "docs/configuration.md disagrees with the configuration types:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_key_enumeration_can_fail() {
    // The enumeration itself: a table without the made-up key would not list it, and a wrong
    // section name is reported.
    let docs = documented("## `[training]`\n| `batch_size` | 32 | x |\n");
    assert_eq!(docs["[training]"].len(), 1);
    let keys = keys_of::<TrainingConfig>(&toml::Table::new());
    assert!(keys.contains("batch_size") && keys.len() > 1, "{keys:?}");
    assert!(kinds_of::<ModelConfig>().contains(&"mlp".to_string()));
}

/// Prints the structure (for writing the reference): `cargo test -p learnscope-repro --test it
/// config_reference::dump -- --ignored --nocapture`.
#[test]
#[ignore]
fn dump() {
    for (section, keys) in accepted() {
        println!(
            "{section}: {}",
            keys.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
}
