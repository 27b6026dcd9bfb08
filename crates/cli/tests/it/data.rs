//! Real-format data end to end: a Fashion-MNIST-layout directory of generated IDX files trains,
//! its files' SHA-256 land in the manifest, `data inspect` describes them, and a corrupt file
//! fails with the file and offset. `data inspect` on generated CIFAR, NPY, NPZ and CSV files and
//! on data directories: what they hold, or why they are unusable (exit 2).

use std::path::Path;

use learnscope_data::formats::cifar::{encode_cifar, CifarKind};
use learnscope_data::formats::idx::{encode_idx, IdxType};
use learnscope_data::formats::npy::{encode_npy, encode_npy_raw, NpyArray, NpyDtype, NpyValues};
use learnscope_data::formats::npz::encode_npz;

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

fn inspect(path: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = learnscope()
        .args(["data", "inspect"])
        .arg(path)
        .args(extra)
        .output()
        .unwrap();
    (out.status.code(), text(&out))
}

fn cifar_records(kind: CifarKind, n: usize) -> Vec<u8> {
    let pixels: Vec<u8> = (0..n * 3072).map(|i| (i % 251) as u8).collect();
    let labels: Vec<u32> = (0..n as u32).map(|i| i % 3).collect();
    let coarse: Vec<u32> = (0..n as u32).map(|i| 19 - i % 2).collect();
    encode_cifar(kind, &pixels, &labels, &coarse)
}

#[test]
fn inspect_describes_every_file_format() {
    let dir = scratch("inspect-formats");
    let c10 = dir.join("data_batch_1.bin");
    std::fs::write(&c10, cifar_records(CifarKind::Cifar10, 4)).unwrap();
    let (code, msg) = inspect(&c10, &[]);
    assert_eq!(code, Some(0), "{msg}");
    assert!(
        msg.contains("CIFAR-10 binary, 4 images of shape [3, 32, 32]"),
        "{msg}"
    );
    assert!(
        msg.contains("pixels: 12288 in [0, 250]") && msg.contains("label counts: 0:2 1:1 2:1"),
        "{msg}"
    );
    // An unnamed .bin is recognised by its size.
    let c100 = dir.join("batch.bin");
    std::fs::write(&c100, cifar_records(CifarKind::Cifar100, 3)).unwrap();
    let (code, msg) = inspect(&c100, &[]);
    assert_eq!(code, Some(0), "{msg}");
    assert!(msg.contains("CIFAR-100 binary, 3 images"), "{msg}");
    assert!(msg.contains("coarse label counts: 18:1 19:2"), "{msg}");

    let x = NpyArray {
        dtype: NpyDtype::F32,
        shape: vec![3, 2],
        values: NpyValues::F32(vec![0.5, -1.0, 2.0, 3.0, 4.0, 5.0]),
    };
    let y = NpyArray {
        dtype: NpyDtype::U8,
        shape: vec![3],
        values: NpyValues::U8(vec![1, 0, 1]),
    };
    let npy = dir.join("x.npy");
    std::fs::write(&npy, encode_npy(&x)).unwrap();
    let (code, msg) = inspect(&npy, &[]);
    assert_eq!(code, Some(0), "{msg}");
    assert!(
        msg.contains("NPY 1.0, dtype <f4 (f32), shape [3, 2], C order"),
        "{msg}"
    );
    assert!(msg.contains("values: 6 in [-1, 5]"), "{msg}");
    let npz = dir.join("xy.npz");
    std::fs::write(
        &npz,
        encode_npz(
            &[
                ("x.npy".into(), encode_npy(&x)),
                ("y.npy".into(), encode_npy(&y)),
            ],
            true,
        ),
    )
    .unwrap();
    let (code, msg) = inspect(&npz, &[]);
    assert_eq!(code, Some(0), "{msg}");
    assert!(msg.contains("NPZ, 2 members"), "{msg}");
    assert!(
        msg.contains("  x: dtype <f4 (f32), shape [3, 2], deflate"),
        "{msg}"
    );
    assert!(
        msg.contains("  y: dtype |u1 (u8), shape [3]") && msg.contains("label counts: 0:1 1:2"),
        "{msg}"
    );

    let csv = dir.join("table.csv");
    std::fs::write(&csv, "a,b,class\n1,2,0\n3,4,1\n5,6,1\n").unwrap();
    let (code, msg) = inspect(&csv, &[]);
    assert_eq!(code, Some(0), "{msg}");
    assert!(msg.contains("CSV, header [\"a\", \"b\", \"class\"], 3 rows × 3 columns: 2 features, label column \"class\""), "{msg}");
    assert!(
        msg.contains("features: 6 in [1, 6]") && msg.contains("label counts: 0:1 1:2"),
        "{msg}"
    );
    let (code, msg) = inspect(&csv, &["--label", "a"]);
    assert_eq!(code, Some(0), "{msg}");
    assert!(msg.contains("label counts: 1:1 3:1 5:1"), "{msg}");
    let reg = dir.join("reg.csv");
    std::fs::write(&reg, "0.5,0.25\n1,-0.75\n").unwrap();
    let (code, msg) = inspect(&reg, &[]);
    assert_eq!(code, Some(0), "{msg}");
    assert!(
        msg.contains("no header") && msg.contains("labels (real-valued): 2 in [-0.75, 0.25]"),
        "{msg}"
    );
}

#[test]
fn inspect_summarises_data_directories() {
    let dir = scratch("inspect-dirs");
    let fm = dir.join("fmnist");
    std::fs::create_dir_all(&fm).unwrap();
    write_fixture(&fm, 8, 4);
    let (code, msg) = inspect(&fm, &[]);
    assert_eq!(code, Some(0), "{msg}");
    assert!(msg.contains("MNIST-layout directory"), "{msg}");
    assert!(
        msg.contains("train: 8 examples of shape [4, 4], stored as u8"),
        "{msg}"
    );
    assert!(msg.contains("label counts: 0:2 1:2 2:2 3:2"), "{msg}");

    let root = dir.join("cifar");
    let inner = root.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&inner).unwrap();
    for k in 1..=5 {
        std::fs::write(
            inner.join(format!("data_batch_{k}.bin")),
            cifar_records(CifarKind::Cifar10, 2),
        )
        .unwrap();
    }
    std::fs::write(
        inner.join("test_batch.bin"),
        cifar_records(CifarKind::Cifar10, 3),
    )
    .unwrap();
    let (code, msg) = inspect(&root, &[]);
    assert_eq!(code, Some(0), "{msg}");
    assert!(msg.contains("CIFAR-10 binary directory"), "{msg}");
    assert!(
        msg.contains("train: 10 examples of shape [3, 32, 32]") && msg.contains("test: 3 examples"),
        "{msg}"
    );
    std::fs::remove_file(inner.join("data_batch_2.bin")).unwrap();
    let (code, msg) = inspect(&root, &[]);
    assert_eq!(code, Some(2), "{msg}");
    assert!(msg.contains("missing data_batch_2.bin"), "{msg}");

    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "hi").unwrap();
    let (code, msg) = inspect(&other, &[]);
    assert_eq!(code, Some(2), "{msg}");
    assert!(
        msg.contains("not a recognised data directory") && msg.contains("notes.txt"),
        "{msg}"
    );
}

#[test]
fn inspect_gives_the_reason_a_file_is_unusable() {
    let dir = scratch("inspect-bad");
    let bad = |name: &str, bytes: &[u8], needle: &str| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        let (code, msg) = inspect(&p, &[]);
        assert_eq!(code, Some(2), "{name}: {msg}");
        assert!(msg.contains(needle), "{name}: {msg}");
        assert!(!msg.contains("panicked"), "{name}: {msg}");
        msg
    };
    let mut c = cifar_records(CifarKind::Cifar10, 2);
    c.truncate(5000);
    bad(
        "test_batch.bin",
        &c,
        "5000 bytes is not a multiple of the CIFAR-10 record size 3073",
    );
    let mut c = cifar_records(CifarKind::Cifar10, 2);
    c[3073] = 12;
    bad(
        "data_batch_2.bin",
        &c,
        "label 12 of record 1 (byte offset 3073) is outside 0..10",
    );
    bad("empty.bin", b"", "empty file");
    bad(
        "lie.npy",
        &encode_npy_raw(1, "<f8", false, &[1000, 1000], &[0; 80]),
        "needs 8000000 payload bytes from offset 128, found 80",
    );
    bad(
        "bad-dict.npy",
        &encode_npy_raw(1, "<f8", false, &[3], &[0; 24])
            .iter()
            .map(|&b| if b == b':' { b';' } else { b })
            .collect::<Vec<_>>(),
        "bad NPY header at offset",
    );
    bad(
        "dtype.npy",
        &encode_npy_raw(1, "<c16", false, &[1], &[0; 16]),
        "unsupported dtype <c16",
    );
    let good = encode_npy(&NpyArray {
        dtype: NpyDtype::I64,
        shape: vec![2],
        values: NpyValues::I64(vec![1, 2]),
    });
    let msg = bad(
        "member.npz",
        &encode_npz(
            &[
                ("ok.npy".into(), good),
                ("junk.npy".into(), b"junk".to_vec()),
            ],
            false,
        ),
        "member.npz:junk.npy",
    );
    assert!(
        msg.contains("  ok: dtype <i8 (i64)") && msg.contains("  junk: unusable"),
        "{msg}"
    );
    bad(
        "notzip.npz",
        b"PK\x03\x04 and then nothing",
        "not a zip/npz archive",
    );
    bad(
        "ragged.csv",
        b"a,b,c\n1,2,3\n4,5\n",
        "line 3 has 2 columns, expected 3",
    );
    bad(
        "text.csv",
        b"a,b\n1,x\n",
        "line 2, column 2 (b): \"x\" is not a finite number",
    );
    bad("blank.csv", b"\n\n", "empty file");
    bad(
        "blob.dat",
        &[0xde, 0xad, 0xbe, 0xef, 0, 1, 2],
        "unrecognised format",
    );
    let d = dir.join("a-directory.npy");
    std::fs::create_dir_all(d.join("x")).unwrap();
    let (code, msg) = inspect(&d, &[]);
    assert_eq!(code, Some(2), "{msg}");
    let (code, msg) = inspect(&dir.join("missing.npy"), &[]);
    assert_eq!(code, Some(2), "{msg}");
    assert!(msg.contains("missing.npy"), "{msg}");
}
