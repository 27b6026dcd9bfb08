//! `timings.jsonl`: wall-clock figures, one `{"step":..,"key":..,"seconds":..}` per line.
//!
//! Wall-clock time differs between identical runs, so it never goes into `metrics.jsonl`, which
//! the determinism contract (DESIGN.md §6) requires to be byte-identical across reruns. The
//! file uses the same step-ordered JSONL machinery as the metrics (tolerant reading, truncation
//! on resume); `seconds` uses the same non-finite encoding.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::StoreResult;
use crate::jsonl::{read_jsonl, JsonlRead, JsonlRecord, JsonlWriter};

/// File name of the timing stream inside a run directory.
pub const TIMINGS_FILE: &str = "timings.jsonl";

/// One wall-clock measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimingRecord {
    /// The step it was taken at.
    pub step: u64,
    /// What was timed (e.g. `step`, `probe/ocs`, `checkpoint`).
    pub key: String,
    /// Elapsed wall-clock seconds.
    #[serde(with = "crate::record::json_f64")]
    pub seconds: f64,
}

impl TimingRecord {
    /// A timing of `key` at `step`.
    pub fn new(step: u64, key: impl Into<String>, seconds: f64) -> Self {
        TimingRecord {
            step,
            key: key.into(),
            seconds,
        }
    }
}

impl JsonlRecord for TimingRecord {
    fn step(&self) -> u64 {
        self.step
    }
}

/// Appends step-ordered timings to `timings.jsonl`.
pub type TimingsWriter = JsonlWriter<TimingRecord>;

/// Reads `timings.jsonl`, tolerating an incomplete last line.
pub fn read_timings(path: &Path) -> StoreResult<JsonlRead<TimingRecord>> {
    read_jsonl(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    #[test]
    fn line_format_and_round_trip() {
        let t = TimingRecord::new(7, "step", 0.25);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"step":7,"key":"step","seconds":0.25}"#
        );
        let dir = TempDir::new("timings");
        let p = dir.path().join(TIMINGS_FILE);
        let mut w = TimingsWriter::create(&p).unwrap();
        w.push(&t).unwrap();
        w.push(&TimingRecord::new(8, "step", f64::INFINITY))
            .unwrap();
        w.flush().unwrap();
        let r = read_timings(&p).unwrap();
        assert_eq!(r.records[0], t);
        assert_eq!(r.records[1].seconds, f64::INFINITY);
    }
}
