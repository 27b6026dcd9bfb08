//! `learnscope theory`: closed-form curves as CSV (saxe mode sigmoids, the OCS phase on the
//! hierarchy), written to stdout or a file; unknown keys are errors naming the key (exit 2).

use crate::common::{learnscope, scratch, text};

/// Parses CSV text after its `#` comment lines: (header, rows).
fn parse(csv: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut lines = csv.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<String> = lines
        .next()
        .expect("a header line")
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(|v| v.parse::<f64>().unwrap()).collect())
        .collect();
    (header, rows)
}

#[test]
fn saxe_columns_and_sigmoids() {
    let out = learnscope()
        .args(["theory", "saxe", "--set", "lr=0.01", "--set", "points=50"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let (header, rows) = parse(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(header, ["t", "step", "u_1", "u_2", "u_3", "loss"]);
    assert_eq!(rows.len(), 50);
    let s = [3.0, 2.0, 1.0];
    for (j, &sj) in s.iter().enumerate() {
        let col: Vec<f64> = rows.iter().map(|r| r[2 + j]).collect();
        assert!((col[0] - 1e-3).abs() < 1e-12);
        assert!(
            col.windows(2).all(|w| w[1] >= w[0]),
            "u_{} not increasing",
            j + 1
        );
        // t_max = 3 half times of the weakest mode: every mode is close to s at the end.
        assert!((col[col.len() - 1] - sj).abs() < 0.01 * sj, "{col:?}");
    }
    for r in &rows {
        assert!((r[1] - r[0] / 0.01).abs() < 1e-9 * r[1].max(1.0));
    }
    // The loss falls from ½ Σ s² (minus the fit at u0) to 0.
    assert!((rows[0][5] - 7.0).abs() < 0.01);
    assert!(rows[rows.len() - 1][5] < 0.01);
}

#[test]
fn ocs_with_root_dips_then_rises_to_the_label_variance() {
    let dir = scratch("theory-ocs");
    let csv = dir.join("ocs.csv");
    for bias in ["output", "none"] {
        let out = learnscope()
            .args(["theory", "ocs", "--set", &format!("bias={bias}"), "--csv"])
            .arg(&csv)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("wrote 200 rows"), "{}", text(&out));
        let body = std::fs::read_to_string(&csv).unwrap();
        assert!(body.contains("# s_OCS = ||ybar|| = 1.369"), "{body}");
        assert!(body.contains("exact: yes"), "{body}");
        let (header, rows) = parse(&body);
        assert_eq!(
            header[..6],
            [
                "t",
                "d_ocs",
                "d_ocs_over_label_variance",
                "mean_output_error",
                "input_sensitivity",
                "loss"
            ]
        );
        let d: Vec<f64> = rows.iter().map(|r| r[1]).collect();
        let (imin, dmin) =
            d.iter().enumerate().fold(
                (0, f64::INFINITY),
                |b, (i, &v)| if v < b.1 { (i, v) } else { b },
            );
        // Initial distance ||ȳ||² = 1.875; label variance 2.125 for the 8-item tree with root.
        assert!((d[0] - 1.875).abs() < 1e-3, "{bias}: {}", d[0]);
        assert!(dmin < 0.06, "{bias}: min d_OCS {dmin}");
        assert!(imin > 0 && imin < d.len() / 2, "{bias}: min at row {imin}");
        let last = rows.last().unwrap();
        assert!(
            (last[1] - 2.125).abs() < 0.05,
            "{bias}: final d_OCS {}",
            last[1]
        );
        assert!((last[2] - 1.0).abs() < 0.03);
    }
}

#[test]
fn unknown_key_exits_2_naming_it() {
    let out = learnscope()
        .args(["theory", "saxe", "--set", "sigma=2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("`sigma`") && msg.contains("allowed keys: s, u0"),
        "{msg}"
    );
    let out = learnscope()
        .args(["theory", "ocs", "--set", "bias=hidden"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("`bias`"), "{}", text(&out));
}
