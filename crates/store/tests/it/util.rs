//! Shared helpers: a self-removing temporary directory and sample records.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use learnscope_store::MetricRecord;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!(
            "learnscope-store-it-{tag}-{}-{nanos}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Values that must survive every encoding bit for bit (NaN up to payload).
pub fn tricky_values() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.5,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        f64::from_bits(1),                      // smallest subnormal
        -f64::from_bits(0x000f_ffff_ffff_ffff), // largest negative subnormal
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        0.1,
        1.0 / 3.0,
        std::f64::consts::PI * 1e-300,
        123_456_789.123_456_78,
    ]
}

/// A record stream covering every field shape, in non-decreasing step order.
pub fn sample_records() -> Vec<MetricRecord> {
    let mut out = Vec::new();
    for (i, v) in tricky_values().into_iter().enumerate() {
        let step = (i / 3) as u64;
        let mut r = MetricRecord::new(step, (step / 2) as u32, "basics", "loss", "train", v);
        if i % 2 == 0 {
            r = r.with_layer(format!("blocks.{i}.conv"));
        }
        if i % 3 == 0 {
            r = r.with_index(i as i64 - 5);
        }
        if i % 4 == 0 {
            r = r.with_index2(i as i64 * 1000);
        }
        out.push(r);
    }
    out.push(
        MetricRecord::new(100, 3, "nc", "nc1/trace_ratio", "test", 2.0)
            .with_layer("a \"quoted\"\nname\\é"),
    );
    out
}

/// Asserts two record lists are equal as the store preserves them.
pub fn assert_identical(a: &[MetricRecord], b: &[MetricRecord]) {
    assert_eq!(a.len(), b.len(), "record counts differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(x.identical(y), "record {i} differs: {x:?} vs {y:?}");
    }
}
