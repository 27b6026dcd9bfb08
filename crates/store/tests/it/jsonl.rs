//! metrics.jsonl: non-finite round trip, truncated tail tolerated, malformed middle rejected,
//! resume truncation keeps exactly the prefix.

use std::fs;

use learnscope_store::{
    encode_jsonl, read_metrics, MetricRecord, MetricsWriter, StoreError, METRICS_FILE,
};

use crate::util::{assert_identical, sample_records, tricky_values, TempDir};

fn write_all(path: &std::path::Path, records: &[MetricRecord]) {
    let mut w = MetricsWriter::create(path).unwrap();
    for r in records {
        w.push(r).unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn non_finite_and_subnormal_round_trip() {
    let dir = TempDir::new("jsonl-rt");
    let p = dir.path().join(METRICS_FILE);
    let recs = sample_records();
    write_all(&p, &recs);
    let text = fs::read_to_string(&p).unwrap();
    assert!(
        !text.contains("\"value\":null"),
        "serde_json's null must never appear"
    );
    assert!(text.contains("\"value\":\"NaN\""));
    assert!(text.contains("\"value\":\"inf\""));
    assert!(text.contains("\"value\":\"-inf\""));
    assert!(text.contains("\"value\":-0.0"));
    let back = read_metrics(&p).unwrap();
    assert!(!back.truncated_tail);
    assert_identical(&recs, &back.records);
    for (r, v) in back.records.iter().zip(tricky_values()) {
        if !v.is_nan() {
            assert_eq!(r.value.to_bits(), v.to_bits());
        }
    }
}

#[test]
fn same_records_give_same_bytes() {
    let dir = TempDir::new("jsonl-det");
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    write_all(&a, &sample_records());
    write_all(&b, &sample_records());
    let (ba, bb) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    assert_eq!(ba, bb);
    assert_eq!(ba, encode_jsonl(&sample_records()).unwrap());
}

#[test]
fn truncated_last_line_is_tolerated_at_every_cut() {
    let dir = TempDir::new("jsonl-trunc");
    let p = dir.path().join(METRICS_FILE);
    let recs = sample_records();
    let full = encode_jsonl(&recs).unwrap();
    let line_ends: Vec<usize> = full
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    for cut in 0..=full.len() {
        fs::write(&p, &full[..cut]).unwrap();
        let r = read_metrics(&p).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let complete = line_ends.iter().filter(|&&e| e <= cut).count();
        // A last line that lacks only its newline is complete and kept.
        let kept_unterminated = line_ends.contains(&(cut + 1));
        let want = complete + usize::from(kept_unterminated);
        assert_eq!(r.records.len(), want, "cut at {cut}");
        let at_boundary = cut == 0 || line_ends.contains(&cut);
        assert_eq!(
            r.truncated_tail,
            !at_boundary && !kept_unterminated,
            "cut at {cut}"
        );
        assert_identical(&recs[..want], &r.records);
    }
}

#[test]
fn malformed_middle_line_names_line_and_offset() {
    let dir = TempDir::new("jsonl-bad");
    let p = dir.path().join(METRICS_FILE);
    let recs = sample_records();
    let full = encode_jsonl(&recs).unwrap();
    let text = String::from_utf8(full).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let bad_line = 3; // 1-based
    let offset: usize = lines[..bad_line - 1].iter().map(|l| l.len() + 1).sum();
    lines[bad_line - 1] = r#"{"step":1,"epoch":0,"probe":"p""#; // cut short, but newline-terminated
    let mut bytes = lines.join("\n");
    bytes.push('\n');
    fs::write(&p, &bytes).unwrap();
    let err = read_metrics(&p).unwrap_err();
    match &err {
        StoreError::MalformedLine {
            path,
            line,
            offset: o,
            ..
        } => {
            assert_eq!(path, &p);
            assert_eq!(*line, bad_line);
            assert_eq!(*o, offset as u64);
        }
        other => panic!("wrong error: {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(METRICS_FILE)
            && msg.contains("line 3")
            && msg.contains(&format!("offset {offset}")),
        "{msg}"
    );

    // A bad value string and an empty line are malformed too.
    let mut bytes = encode_jsonl(&recs[..2]).unwrap();
    bytes.extend_from_slice(b"\n");
    bytes.extend_from_slice(&encode_jsonl(&recs[2..3]).unwrap());
    fs::write(&p, &bytes).unwrap();
    assert!(matches!(
        read_metrics(&p),
        Err(StoreError::MalformedLine { line: 3, .. })
    ));
    let bad_value = r#"{"step":9,"epoch":0,"probe":"p","key":"k","split":"s","layer":null,"index":null,"index2":null,"value":null}"#;
    fs::write(&p, format!("{bad_value}\n")).unwrap();
    assert!(matches!(
        read_metrics(&p),
        Err(StoreError::MalformedLine {
            line: 1,
            offset: 0,
            ..
        })
    ));
}

#[test]
fn decreasing_steps_in_file_rejected() {
    let dir = TempDir::new("jsonl-unsorted");
    let p = dir.path().join(METRICS_FILE);
    let recs = vec![
        MetricRecord::new(2, 0, "p", "k", "train", 1.0),
        MetricRecord::new(1, 0, "p", "k", "train", 1.0),
    ];
    fs::write(&p, encode_jsonl(&recs).unwrap()).unwrap();
    let err = read_metrics(&p).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::UnsortedSteps {
                line: 2,
                previous: 2,
                found: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn open_truncated_keeps_exactly_the_prefix() {
    let dir = TempDir::new("jsonl-resume");
    let p = dir.path().join(METRICS_FILE);
    let recs = sample_records();
    let full = encode_jsonl(&recs).unwrap();
    let steps: Vec<u64> = recs.iter().map(|r| r.step).collect();
    let max_step = *steps.last().unwrap();
    for keep in [0, 1, 2, 3, 5, 99, 100, 1000] {
        for partial_tail in [false, true] {
            let mut bytes = full.clone();
            if partial_tail {
                bytes.extend_from_slice(br#"{"step":100,"epoch":3,"pro"#);
            }
            fs::write(&p, &bytes).unwrap();
            let kept: Vec<MetricRecord> = recs.iter().filter(|r| r.step <= keep).cloned().collect();
            let prefix = encode_jsonl(&kept).unwrap();
            assert!(full.starts_with(&prefix));

            let mut w = MetricsWriter::open_truncated(&p, keep).unwrap();
            assert_eq!(
                fs::read(&p).unwrap(),
                prefix,
                "keep {keep} partial {partial_tail}"
            );
            assert_eq!(w.last_step(), kept.last().map(|r| r.step));
            // Continuing writes what an uninterrupted run would have.
            for r in recs.iter().filter(|r| r.step > keep) {
                w.push(r).unwrap();
            }
            w.flush().unwrap();
            drop(w);
            assert_eq!(
                fs::read(&p).unwrap(),
                full,
                "keep {keep} partial {partial_tail}"
            );
        }
    }
    assert!(max_step <= 1000);
}

#[test]
fn open_truncated_rejects_malformed_kept_line() {
    let dir = TempDir::new("jsonl-resume-bad");
    let p = dir.path().join(METRICS_FILE);
    let mut bytes = encode_jsonl(&sample_records()[..2]).unwrap();
    bytes.extend_from_slice(b"garbage\n");
    fs::write(&p, &bytes).unwrap();
    let err = MetricsWriter::open_truncated(&p, 10).unwrap_err();
    assert!(
        matches!(err, StoreError::MalformedLine { line: 3, .. }),
        "{err}"
    );
    // The file is left untouched when the cut cannot be decided.
    assert_eq!(fs::read(&p).unwrap(), bytes);
}
