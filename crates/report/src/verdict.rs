//! The verdict table of a `reproduce` output directory (DESIGN.md §4): `OUT/verdict.json`, a
//! list of rows `{"id", "kind", "claim", "source", "metric", "rule", "target", "measured":
//! {"mean", "sd", "n", "ci95": [lo, hi], "per_seed": [...]}, "outcome", …}`. Reading is lenient
//! (unknown fields are ignored, `rule` and `target` are shown as written) so that a report can
//! always show what `reproduce` wrote.

use std::path::Path;

use serde::Deserialize;

use crate::error::{ReportError, ReportResult};

/// The verdict file in a `reproduce` output directory.
pub const VERDICT_FILE: &str = "verdict.json";

/// The per-seed summary of a row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Measured {
    /// Mean over seeds.
    #[serde(default)]
    pub mean: Option<f64>,
    /// Sample standard deviation (absent with one seed).
    #[serde(default)]
    pub sd: Option<f64>,
    /// Number of seeds.
    #[serde(default)]
    pub n: usize,
    /// 95 % interval of the mean (absent with one seed).
    #[serde(default)]
    pub ci95: Option<[f64; 2]>,
    /// The per-seed values.
    #[serde(default)]
    pub per_seed: Vec<f64>,
}

/// One row of `verdict.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VerdictRow {
    /// Row id.
    pub id: String,
    /// `identity`, `replication` or `report`.
    pub kind: String,
    /// The claim, in words.
    #[serde(default)]
    pub claim: String,
    /// Where the claim comes from.
    #[serde(default)]
    pub source: String,
    /// What was measured.
    #[serde(default)]
    pub metric: String,
    /// The comparison (e.g. `"<="`), as written.
    #[serde(default)]
    pub rule: serde_json::Value,
    /// The threshold or range, as written.
    #[serde(default)]
    pub target: serde_json::Value,
    /// The measurement; absent when a value was not finite.
    #[serde(default)]
    pub measured: Option<Measured>,
    /// `pass`, `fail` or `reported`.
    pub outcome: String,
    /// Why a value is missing, if it is.
    #[serde(default)]
    pub note: Option<String>,
}

impl VerdictRow {
    /// `rule` and `target` in words: `<= 0.01`, `within [0.9, 1.1]`, or empty.
    pub fn rule_text(&self) -> String {
        let part = |v: &serde_json::Value| match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let (r, t) = (part(&self.rule), part(&self.target));
        format!("{r} {t}").trim().to_string()
    }
}

/// The rows of `dir/verdict.json`, or `None` when there is no such file.
pub fn read_verdict(dir: &Path) -> ReportResult<Option<Vec<VerdictRow>>> {
    let path = dir.join(VERDICT_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ReportError::Io {
        path: path.clone(),
        source,
    })?;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum File {
        Rows(Vec<VerdictRow>),
        Object { rows: Vec<VerdictRow> },
    }
    match serde_json::from_str::<File>(&text) {
        Ok(File::Rows(r)) | Ok(File::Object { rows: r }) => Ok(Some(r)),
        Err(_) => {
            // Re-parse as the documented form for a precise message.
            let e = serde_json::from_str::<Vec<VerdictRow>>(&text)
                .err()
                .map_or_else(|| "malformed verdict".to_string(), |e| e.to_string());
            Err(ReportError::Parse { path, message: e })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows() {
        let dir = std::env::temp_dir().join(format!("ls-report-verdict-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(read_verdict(&dir).unwrap().is_none());
        std::fs::write(
            dir.join(VERDICT_FILE),
            r#"[{"id":"a","kind":"identity","claim":"c","source":"s","metric":"m","rule":"<=","target":0.01,
                "reason":"r","measured":{"mean":0.001,"sd":null,"n":1,"ci95":null,"per_seed":[0.001]},"outcome":"pass","note":null},
               {"id":"b","kind":"report","claim":"c","source":"s","metric":"m","rule":null,"target":null,
                "measured":null,"outcome":"reported","note":"NaN at seed 1"},
               {"id":"c","kind":"replication","claim":"c","source":"s","metric":"m","rule":"within","target":[0.9,1.1],
                "measured":{"mean":1.0,"sd":0.1,"n":3,"ci95":[0.8,1.2],"per_seed":[0.9,1.0,1.1]},"outcome":"fail"}]"#,
        )
        .unwrap();
        let rows = read_verdict(&dir).unwrap().unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].rule_text(), "<= 0.01");
        assert_eq!(rows[1].rule_text(), "");
        assert_eq!(rows[2].rule_text(), "within [0.9,1.1]");
        assert_eq!(rows[2].measured.as_ref().unwrap().n, 3);
        std::fs::write(dir.join(VERDICT_FILE), "[{\"id\":1}]").unwrap();
        assert!(read_verdict(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
