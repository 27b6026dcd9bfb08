//! CSV tables on generated fixtures: header detection, label column choice, quoting, line
//! endings, every kind of bad table as a typed error with line and column, and data sets.

use std::path::{Path, PathBuf};

use learnscope_data::formats::csv::{parse_csv, read_csv, CsvError, CsvLabel, CsvOptions};
use learnscope_data::named::{CsvDataSpec, FileTargets, LoadError};
use learnscope_data::{Dataset, Split, TargetData, TargetKind};

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("csv")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn parse(
    text: &str,
    opts: &CsvOptions,
) -> Result<learnscope_data::formats::csv::CsvTable, CsvError> {
    parse_csv(text.as_bytes(), Path::new("t.csv"), opts)
}

#[test]
fn headers_labels_quotes_and_line_endings() {
    let d = CsvOptions::default();
    let t = parse("a,b,label\n1,2,0\n3.5,-4e-1,1\n", &d).unwrap();
    assert_eq!(
        t.header.as_deref(),
        Some(&["a".to_string(), "b".into(), "label".into()][..])
    );
    assert_eq!(
        (t.features, t.x.clone(), t.y.clone()),
        (2, vec![1.0, 2.0, 3.5, -0.4], vec![0.0, 1.0])
    );
    assert_eq!(t.lines, vec![2, 3]);
    assert_eq!(t.label_name(), "label");
    // No header, CRLF, blank lines, spaces, a missing final newline.
    let t = parse("1, 2 ,0\r\n\r\n  \n3,4,1", &d).unwrap();
    assert!(t.header.is_none());
    assert_eq!(
        (t.x.clone(), t.y.clone(), t.lines.clone()),
        (vec![1.0, 2.0, 3.0, 4.0], vec![0.0, 1.0], vec![1, 4])
    );
    assert_eq!(t.label_name(), "column 3");
    // Label by name and by index; quoted header names with commas, quotes and a newline.
    let text = "\"y\",\"f, 1\",\"say \"\"hi\"\"\nthere\"\n2,0.5,1\n0,1.5,2\n";
    let by_name = CsvOptions {
        label: CsvLabel::Name("y".into()),
        ..d.clone()
    };
    let t = parse(text, &by_name).unwrap();
    assert_eq!(t.header.as_ref().unwrap()[2], "say \"hi\"\nthere");
    assert_eq!(
        (t.label_column, t.y.clone(), t.x.clone()),
        (0, vec![2.0, 0.0], vec![0.5, 1.0, 1.5, 2.0])
    );
    assert_eq!(t.lines, vec![3, 4]);
    let t = parse(
        text,
        &CsvOptions {
            label: CsvLabel::Index(1),
            ..d.clone()
        },
    )
    .unwrap();
    assert_eq!(t.y, vec![0.5, 1.5]);
    // A numeric first row read as a header when asked; tab-separated.
    let t = parse(
        "1,2\n3,4\n",
        &CsvOptions {
            header: Some(true),
            ..d.clone()
        },
    )
    .unwrap();
    assert_eq!(
        (t.rows(), t.header.unwrap()),
        (1, vec!["1".to_string(), "2".into()])
    );
    let t = parse(
        "1\t2\n3\t4\n",
        &CsvOptions {
            delimiter: b'\t',
            ..d.clone()
        },
    )
    .unwrap();
    assert_eq!(t.y, vec![2.0, 4.0]);
    // A single column: no features, only labels.
    let t = parse("label\n1\n2\n", &d).unwrap();
    assert_eq!((t.features, t.y), (0, vec![1.0, 2.0]));
}

#[test]
fn bad_tables_name_line_and_column() {
    let d = CsvOptions::default();
    let e = parse("", &d).unwrap_err();
    assert!(matches!(e, CsvError::Empty { .. }), "{e}");
    assert!(matches!(
        parse("\n \n\r\n", &d),
        Err(CsvError::Empty { .. })
    ));
    let e = parse("a,b,c\n", &d).unwrap_err();
    assert!(e.to_string().contains("a header but no data rows"), "{e}");
    let e = parse("a,b,c\n1,2,3\n4,5\n6,7,8\n", &d).unwrap_err();
    assert!(
        matches!(
            e,
            CsvError::Ragged {
                row: 3,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("t.csv: line 3 has 2 columns, expected 3"),
        "{e}"
    );
    let e = parse("a,b,c\n1,2,3\n4,five,6\n", &d).unwrap_err();
    assert!(
        matches!(
            e,
            CsvError::NonNumeric {
                row: 3,
                column: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("line 3, column 2 (b): \"five\""),
        "{e}"
    );
    let e = parse("1,2,3\n4,,6\n", &d).unwrap_err();
    assert!(
        matches!(
            e,
            CsvError::NonNumeric {
                row: 2,
                column: 2,
                ..
            }
        ),
        "{e}"
    );
    let e = parse("1,2,3\n4,nan,6\n", &d).unwrap_err();
    assert!(matches!(e, CsvError::NonNumeric { .. }), "{e}");
    let e = parse("1,2,3\n4,1e999,6\n", &d).unwrap_err();
    assert!(matches!(e, CsvError::NonNumeric { .. }), "{e}");
    let e = parse("1,2\n\"3,4\n", &d).unwrap_err();
    assert!(
        matches!(
            e,
            CsvError::Unterminated {
                row: 2,
                offset: 4,
                ..
            }
        ),
        "{e}"
    );
    let e = parse("1,2\n\"3\"x,4\n", &d).unwrap_err();
    assert!(
        matches!(
            e,
            CsvError::AfterQuote {
                row: 2,
                found: 'x',
                ..
            }
        ),
        "{e}"
    );
    let e = parse(
        "a,b\n1,2\n",
        &CsvOptions {
            label: CsvLabel::Name("y".into()),
            ..d.clone()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("no such header"), "{e}");
    let e = parse(
        "1,2\n",
        &CsvOptions {
            label: CsvLabel::Name("y".into()),
            ..d.clone()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("no header row"), "{e}");
    let e = parse(
        "1,2\n",
        &CsvOptions {
            label: CsvLabel::Index(2),
            ..d.clone()
        },
    )
    .unwrap_err();
    assert!(matches!(e, CsvError::LabelColumn { .. }), "{e}");
    let long = format!("1,2\n3,{}\n", "x".repeat(500));
    let e = parse(&long, &d).unwrap_err();
    assert!(e.to_string().len() < 200, "{e}");
    let dir = scratch("bad");
    assert!(read_csv(&dir, &d).is_err());
}

#[test]
fn data_sets_from_csv_tables() {
    let dir = scratch("dataset");
    let train = dir.join("train.csv");
    let test = dir.join("test.csv.gz");
    std::fs::write(&train, "x1,x2,y\n0.5,1,0\n1.5,2,2\n2.5,3,1\n").unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, b"x1,x2,y\n9,8,1\n").unwrap();
    std::fs::write(&test, gz.finish().unwrap()).unwrap();
    let ds = CsvDataSpec::new("tab", &train, &test).load().unwrap();
    assert_eq!(ds.spec().input_shape, vec![2]);
    assert_eq!(ds.spec().target, TargetKind::Classes { classes: 3 });
    assert_eq!(
        ds.targets(Split::Train),
        &TargetData::Classes(vec![0, 2, 1])
    );
    let mut x = Vec::new();
    ds.gather_inputs(Split::Test, &[0], &mut x);
    assert_eq!(x, vec![9.0, 8.0]);
    assert_eq!(ds.source_files(), [train.clone(), test.clone()]);

    let mut spec = CsvDataSpec::new("reg", &train, &test);
    spec.targets = FileTargets::Dense;
    spec.label = CsvLabel::Name("x1".into());
    spec.limit_train = Some(2);
    let ds = spec.load().unwrap();
    assert_eq!(ds.spec().target, TargetKind::Dense { outputs: 1 });
    assert_eq!(ds.targets(Split::Train), &TargetData::Dense(vec![0.5, 1.5]));

    // Class labels: fractional, or beyond the given count, name file, column and line.
    let mut spec = CsvDataSpec::new("c", &train, &test);
    spec.label = CsvLabel::Index(0);
    let e = spec.load().unwrap_err();
    assert!(matches!(e, LoadError::Label { .. }), "{e}");
    assert!(
        e.to_string().contains("(column x1): label 0.5 at line 2"),
        "{e}"
    );
    let mut spec = CsvDataSpec::new("c", &train, &test);
    spec.targets = FileTargets::Classes { classes: Some(2) };
    let e = spec.load().unwrap_err();
    assert!(
        e.to_string()
            .contains("label 2 at line 3 is not an integer in 0..2"),
        "{e}"
    );
    // Different feature counts in train and test.
    let other = dir.join("other.csv");
    std::fs::write(&other, "1,0\n").unwrap();
    assert!(matches!(
        CsvDataSpec::new("c", &train, &other).load(),
        Err(LoadError::Shape { .. })
    ));
}

/// `nan` in the first row is a non-finite number, not a header name: it is an error with its
/// line and column, as in any other row, instead of the row being silently dropped.
#[test]
fn a_nan_first_row_is_not_taken_for_a_header() {
    let opts = CsvOptions::default();
    let err = parse_csv(b"1,nan,0\n2,3,1\n", Path::new("t.csv"), &opts).unwrap_err();
    assert!(matches!(err, CsvError::NonNumeric { row: 1, .. }), "{err}");
}
