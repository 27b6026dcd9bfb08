//! Real-format data end to end: a Fashion-MNIST-layout directory of generated IDX files trains,
//! its files' SHA-256 land in the manifest, `data inspect` describes them, and a corrupt file
//! fails with the file and offset.

use std::path::Path;

use learnscope_data::formats::idx::{encode_idx, IdxType};

use crate::common::{learnscope, scratch, text};

/// 4×4 images whose bright quadrant encodes the class (4 classes), gzip-compressed like the
/// distributed files.
fn write_fixture(dir: &Path, train: usize, test: usize) {
    let make = |n: usize, offset: usize| {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let c = (i + offset) % 4;
            for p in 0..16 {
                let (r, col) = (p / 4, p % 4);
                let quadrant = (r / 2) * 2 + col / 2;
                x.push(if quadrant == c {
                    200.0 + (i % 7) as f64
                } else {
                    (i * 13 + p * 7) as f64 % 60.0
                });
            }
            y.push(c as f64);
        }
        (x, y)
    };
    let gz = |bytes: Vec<u8>| {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&bytes).unwrap();
        e.finish().unwrap()
    };
    for (prefix, n, off) in [("train", train, 0), ("t10k", test, 1)] {
        let (x, y) = make(n, off);
        std::fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte.gz")),
            gz(encode_idx(IdxType::U8, &[n, 4, 4], &x)),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte.gz")),
            gz(encode_idx(IdxType::U8, &[n], &y)),
        )
        .unwrap();
    }
}

const CONFIG: &str = r#"
name = "fmnist-fixture"
steps = 200
[data]
kind = "fashion_mnist"
dir = "DIR"
[model]
kind = "mlp"
hidden = [16]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "adam"
[lr]
base = 0.01
[training]
batch_size = 16
[[probes]]
kind = "loss"
schedule = { kind = "every", n = 50 }
"#;

#[test]
fn an_idx_directory_trains_and_is_recorded() {
    let dir = scratch("fmnist");
    write_fixture(&dir, 64, 32);
    let cfg = dir.join("exp.toml");
    std::fs::write(&cfg, CONFIG.replace("DIR", dir.to_str().unwrap())).unwrap();
    let out = learnscope()
        .arg("run")
        .arg(&cfg)
        .arg("--out")
        .arg(dir.join("run"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run/manifest.json")).unwrap()).unwrap();
    let files = m["data_files"].as_array().unwrap();
    assert_eq!(files.len(), 4);
    for f in files {
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
        assert!(f["bytes"].as_u64().unwrap() > 0);
    }
    // The quadrant task is easy: the final test accuracy is high.
    let metrics = String::from_utf8(std::fs::read(dir.join("run/metrics.jsonl")).unwrap()).unwrap();
    let acc: f64 = metrics
        .lines()
        .rfind(|l| l.contains("\"key\":\"accuracy\"") && l.contains("\"split\":\"test\""))
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["value"].as_f64())
        .unwrap();
    assert!(acc > 0.9, "test accuracy {acc}");

    let out = learnscope()
        .args(["data", "inspect"])
        .arg(dir.join("train-labels-idx1-ubyte.gz"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        text(&out).contains("label counts: 0:16 1:16 2:16 3:16"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_corrupt_idx_file_names_file_and_offset() {
    let dir = scratch("fmnist-bad");
    write_fixture(&dir, 8, 4);
    // Replace the training images with a file whose header claims 60000 images.
    let mut lie = vec![0u8, 0, 8, 3];
    for d in [60000u32, 4, 4] {
        lie.extend_from_slice(&d.to_be_bytes());
    }
    lie.extend_from_slice(&[0; 100]);
    let bad = dir.join("train-images-idx3-ubyte.gz");
    std::fs::remove_file(&bad).unwrap();
    std::fs::write(dir.join("train-images-idx3-ubyte"), &lie).unwrap();
    let cfg = dir.join("exp.toml");
    std::fs::write(&cfg, CONFIG.replace("DIR", dir.to_str().unwrap())).unwrap();
    let out = learnscope()
        .arg("run")
        .arg(&cfg)
        .arg("--out")
        .arg(dir.join("run"))
        .output()
        .unwrap();
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(2), "{msg}");
    assert!(
        msg.contains("train-images-idx3-ubyte")
            && msg.contains("offset 16")
            && msg.contains("960000"),
        "{msg}"
    );
    assert!(!dir.join("run/manifest.json").exists());
    let out = learnscope()
        .args(["data", "inspect"])
        .arg(dir.join("train-images-idx3-ubyte"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("need 960000 payload bytes from offset 16, found 100"),
        "{}",
        text(&out)
    );
}
