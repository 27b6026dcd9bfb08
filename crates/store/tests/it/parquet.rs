//! metrics.parquet: round trip with nulls and non-finite values, determinism, and agreement
//! with the JSONL stream.

use std::fs;

use learnscope_store::{
    read_metrics_parquet, write_metrics_parquet, MetricRecord, StoreError, METRICS_PARQUET_FILE,
};

use crate::util::{assert_identical, sample_records, TempDir};

#[test]
fn non_finite_round_trip() {
    let dir = TempDir::new("pq-rt");
    let p = dir.path().join(METRICS_PARQUET_FILE);
    let recs = sample_records();
    write_metrics_parquet(&p, &recs).unwrap();
    let back = read_metrics_parquet(&p).unwrap();
    assert_identical(&recs, &back);
    assert!(back.iter().any(|r| r.value.is_nan()));
    assert!(back.iter().any(|r| r.value == f64::INFINITY));
    assert!(back.iter().any(|r| r.value == f64::NEG_INFINITY));
    assert!(back
        .iter()
        .any(|r| r.value.to_bits() == (-0.0f64).to_bits()));
    assert!(back.iter().any(|r| r.value.to_bits() == 1));
}

#[test]
fn byte_deterministic() {
    let dir = TempDir::new("pq-det");
    let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
    write_metrics_parquet(&a, &sample_records()).unwrap();
    write_metrics_parquet(&b, &sample_records()).unwrap();
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
}

#[test]
fn extreme_integers_survive() {
    let dir = TempDir::new("pq-ints");
    let p = dir.path().join(METRICS_PARQUET_FILE);
    let recs = vec![
        MetricRecord::new(0, 0, "", "", "", 0.0)
            .with_index(i64::MIN)
            .with_index2(i64::MAX),
        MetricRecord::new(u64::MAX, u32::MAX, "p", "k", "s", 1.0).with_layer(""),
    ];
    write_metrics_parquet(&p, &recs).unwrap();
    assert_identical(&recs, &read_metrics_parquet(&p).unwrap());
}

#[test]
fn many_rows() {
    let dir = TempDir::new("pq-many");
    let p = dir.path().join(METRICS_PARQUET_FILE);
    let recs: Vec<MetricRecord> = (0..50_000u64)
        .map(|i| {
            let r = MetricRecord::new(
                i / 10,
                (i / 1000) as u32,
                "probe",
                "key",
                "train",
                i as f64 * 0.5,
            );
            if i % 7 == 0 {
                r.with_index(i as i64)
            } else {
                r.with_layer(format!("l{}", i % 5))
            }
        })
        .collect();
    write_metrics_parquet(&p, &recs).unwrap();
    assert_identical(&recs, &read_metrics_parquet(&p).unwrap());
}

#[test]
fn not_parquet_is_an_error() {
    let dir = TempDir::new("pq-bad");
    let p = dir.path().join(METRICS_PARQUET_FILE);
    fs::write(&p, b"definitely not parquet").unwrap();
    let err = read_metrics_parquet(&p).unwrap_err();
    assert!(matches!(err, StoreError::Parquet { .. }), "{err}");
    assert!(err.to_string().contains(METRICS_PARQUET_FILE));
    // A truncated real file is rejected too (never a panic).
    write_metrics_parquet(&p, &sample_records()).unwrap();
    let full = fs::read(&p).unwrap();
    for cut in [0, 4, full.len() / 2, full.len() - 9, full.len() - 1] {
        fs::write(&p, &full[..cut]).unwrap();
        assert!(read_metrics_parquet(&p).is_err(), "cut at {cut}");
    }
}
