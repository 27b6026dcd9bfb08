//! The theory-overlay hook: a probe or experiment attaches a predicted curve to a metric by
//! writing it into the run directory; the report draws it dashed on that metric's figure.
//!
//! Two places are read, both optional:
//! - `RUN_DIR/theory.jsonl`: one [`TheoryCurve`] JSON object per line (blank lines skipped);
//! - `RUN_DIR/theory/*.json`: each file one curve object or a JSON array of them, files in
//!   name order.
//!
//! A curve is
//! `{"probe": "loss", "key": "loss", "split": "train", "label": "Saxe et al. (2014)", "points": [[1, 0.5], [10, 0.25]]}`:
//! `probe` and `key` pick the figure, `split` (optional, may be `null`) is shown in the legend,
//! `points` are `[step, value]` pairs in the metric's units (finite JSON numbers). Unknown
//! fields are an error, so a typo is reported rather than silently ignored.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ReportError, ReportResult};

/// The per-line theory file in a run directory.
pub const THEORY_FILE: &str = "theory.jsonl";
/// The directory of theory JSON files in a run directory.
pub const THEORY_DIR: &str = "theory";

/// A predicted curve for one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TheoryCurve {
    /// The probe of the metric it predicts.
    pub probe: String,
    /// The metric's key.
    pub key: String,
    /// The split it predicts, if it matters.
    #[serde(default)]
    pub split: Option<String>,
    /// The legend entry (e.g. the source of the prediction).
    pub label: String,
    /// `[step, value]` pairs.
    pub points: Vec<[f64; 2]>,
}

fn parse_err(path: &Path, e: impl std::fmt::Display) -> ReportError {
    ReportError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn read(path: &Path) -> ReportResult<String> {
    std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The theory curves of the run directory `dir` (none when neither file exists).
pub fn read_theory(dir: &Path) -> ReportResult<Vec<TheoryCurve>> {
    let mut curves = Vec::new();
    let file = dir.join(THEORY_FILE);
    if file.is_file() {
        for (i, line) in read(&file)?.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let c: TheoryCurve = serde_json::from_str(line)
                .map_err(|e| parse_err(&file, format!("line {}: {e}", i + 1)))?;
            curves.push(c);
        }
    }
    let sub = dir.join(THEORY_DIR);
    if sub.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(&sub)
            .map_err(|source| ReportError::Io {
                path: sub.clone(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
            .collect();
        files.sort();
        for f in files {
            let text = read(&f)?;
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum OneOrMany {
                One(TheoryCurve),
                Many(Vec<TheoryCurve>),
            }
            // Parse strictly first so the error names the real problem.
            match serde_json::from_str::<OneOrMany>(&text) {
                Ok(OneOrMany::One(c)) => curves.push(c),
                Ok(OneOrMany::Many(v)) => curves.extend(v),
                Err(_) => {
                    let e = serde_json::from_str::<TheoryCurve>(&text)
                        .err()
                        .map_or_else(|| "not a theory curve".to_string(), |e| e.to_string());
                    return Err(parse_err(&f, e));
                }
            }
        }
    }
    Ok(curves)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_places() {
        let dir = std::env::temp_dir().join(format!("ls-report-theory-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(THEORY_DIR)).unwrap();
        assert!(read_theory(&dir).unwrap().is_empty());
        std::fs::write(
            dir.join(THEORY_FILE),
            "{\"probe\":\"loss\",\"key\":\"loss\",\"label\":\"t\",\"points\":[[1,0.5],[10,0.25]]}\n\n",
        )
        .unwrap();
        std::fs::write(
            dir.join(THEORY_DIR).join("b.json"),
            "[{\"probe\":\"ocs\",\"key\":\"d_ocs\",\"split\":\"train\",\"label\":\"u\",\"points\":[]}]",
        )
        .unwrap();
        std::fs::write(
            dir.join(THEORY_DIR).join("a.json"),
            "{\"probe\":\"ocs\",\"key\":\"spread\",\"split\":null,\"label\":\"v\",\"points\":[[2,3]]}",
        )
        .unwrap();
        let c = read_theory(&dir).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].points, vec![[1.0, 0.5], [10.0, 0.25]]);
        assert_eq!((c[1].key.as_str(), c[2].key.as_str()), ("spread", "d_ocs"));
        std::fs::write(
            dir.join(THEORY_DIR).join("c.json"),
            "{\"probe\":\"ocs\",\"key\":\"k\",\"lable\":\"v\",\"points\":[]}",
        )
        .unwrap();
        let e = read_theory(&dir).unwrap_err().to_string();
        assert!(e.contains("c.json") && e.contains("lable"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
