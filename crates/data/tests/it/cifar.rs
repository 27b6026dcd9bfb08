//! CIFAR-10 / CIFAR-100 binary batches on generated fixtures: round trips, directory layouts,
//! and every kind of bad file as a typed error naming file, record and offset.

use std::io::Write;
use std::path::{Path, PathBuf};

use learnscope_data::formats::cifar::{
    encode_cifar, parse_cifar, read_cifar, CifarError, CifarKind, CIFAR_PIXELS,
};
use learnscope_data::formats::SourceError;
use learnscope_data::named::{detect_data_dir, CifarLabels, CifarSpec, DataDir};
use learnscope_data::{Dataset, InputStorage, Split, TargetData, TargetKind};

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cifar")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `n` images whose pixels encode (image, position); labels `offset + i` modulo the classes.
fn batch(kind: CifarKind, n: usize, offset: usize) -> (Vec<u8>, Vec<u32>, Vec<u32>, Vec<u8>) {
    let pixels: Vec<u8> = (0..n * CIFAR_PIXELS)
        .map(|p| ((p / CIFAR_PIXELS + offset) * 31 + p * 7) as u8)
        .collect();
    let labels: Vec<u32> = (0..n)
        .map(|i| {
            ((i + offset)
                % match kind {
                    CifarKind::Cifar10 => 10,
                    CifarKind::Cifar100 => 100,
                }) as u32
        })
        .collect();
    let coarse: Vec<u32> = (0..n).map(|i| ((i + offset) % 20) as u32).collect();
    let bytes = encode_cifar(kind, &pixels, &labels, &coarse);
    (pixels, labels, coarse, bytes)
}

#[test]
fn batches_round_trip() {
    for kind in [CifarKind::Cifar10, CifarKind::Cifar100] {
        let (pixels, labels, coarse, bytes) = batch(kind, 7, 3);
        assert_eq!(bytes.len(), 7 * kind.record_size());
        let b = parse_cifar(&bytes, Path::new("b.bin"), kind).unwrap();
        assert_eq!((b.pixels, b.labels), (pixels, labels));
        if kind == CifarKind::Cifar100 {
            assert_eq!(b.coarse, coarse);
        } else {
            assert!(b.coarse.is_empty());
        }
    }
}

#[test]
fn bad_batches_name_file_record_and_offset() {
    let p = Path::new("data_batch_1.bin");
    let (_, _, _, good) = batch(CifarKind::Cifar10, 3, 0);
    let e = parse_cifar(&[], p, CifarKind::Cifar10).unwrap_err();
    assert!(matches!(e, CifarError::Empty { .. }), "{e}");
    let e = parse_cifar(&good[..good.len() - 5], p, CifarKind::Cifar10).unwrap_err();
    assert!(
        matches!(
            e,
            CifarError::RecordSize {
                full: 2,
                remainder: 3068,
                offset: 6146,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("data_batch_1.bin"), "{e}");
    // A CIFAR-100 file read as CIFAR-10: record sizes disagree.
    let (_, _, _, c100) = batch(CifarKind::Cifar100, 3, 0);
    assert!(matches!(
        parse_cifar(&c100, p, CifarKind::Cifar10),
        Err(CifarError::RecordSize { .. })
    ));
    let mut bad = good.clone();
    bad[2 * 3073] = 10;
    let e = parse_cifar(&bad, p, CifarKind::Cifar10).unwrap_err();
    assert!(
        e.to_string()
            .contains("label 10 of record 2 (byte offset 6146) is outside 0..10"),
        "{e}"
    );
    let mut bad = c100.clone();
    bad[3074] = 20;
    let e = parse_cifar(&bad, p, CifarKind::Cifar100).unwrap_err();
    assert!(e.to_string().contains("coarse label 20 of record 1"), "{e}");
    let mut bad = c100.clone();
    bad[3074 + 1] = 100;
    let e = parse_cifar(&bad, p, CifarKind::Cifar100).unwrap_err();
    assert!(
        e.to_string()
            .contains("fine label 100 of record 1 (byte offset 3075) is outside 0..100"),
        "{e}"
    );
    let dir = scratch("bad");
    assert!(matches!(
        read_cifar(&dir, CifarKind::Cifar10),
        Err(CifarError::Source(SourceError::IsDirectory { .. }))
    ));
    assert!(matches!(
        read_cifar(&dir.join("missing.bin"), CifarKind::Cifar10),
        Err(CifarError::Source(SourceError::Io { .. }))
    ));
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A CIFAR-10 directory of five training batches of `n` images and a test batch of `m`.
fn write_cifar10(dir: &Path, n: usize, m: usize) -> Vec<u8> {
    std::fs::create_dir_all(dir).unwrap();
    let mut all = Vec::new();
    for k in 1..=5 {
        let (pixels, _, _, bytes) = batch(CifarKind::Cifar10, n, k * n);
        all.extend(pixels);
        let name = format!("data_batch_{k}.bin");
        // One batch gzip-compressed: accepted too.
        if k == 3 {
            std::fs::write(dir.join(format!("{name}.gz")), gz(&bytes)).unwrap();
        } else {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    let (_, _, _, bytes) = batch(CifarKind::Cifar10, m, 0);
    std::fs::write(dir.join("test_batch.bin"), bytes).unwrap();
    all
}

#[test]
fn cifar10_directory_as_parent_or_inner() {
    let root = scratch("c10");
    let inner = root.join("cifar-10-batches-bin");
    let pixels = write_cifar10(&inner, 4, 3);
    for dir in [&root, &inner] {
        assert_eq!(
            detect_data_dir(dir),
            Some(DataDir::Cifar(CifarKind::Cifar10))
        );
        let ds = CifarSpec::cifar10(dir).load().unwrap();
        let s = ds.spec();
        assert_eq!(
            (s.input_shape.clone(), s.train_len, s.test_len, s.target),
            (vec![3, 32, 32], 20, 3, TargetKind::Classes { classes: 10 })
        );
        assert!(matches!(ds.inputs(Split::Train), InputStorage::U8 { .. }));
        let mut x = Vec::new();
        ds.gather_inputs(Split::Train, &[13], &mut x);
        let want: Vec<f64> = pixels[13 * CIFAR_PIXELS..14 * CIFAR_PIXELS]
            .iter()
            .map(|&b| b as f64 * (1.0 / 255.0))
            .collect();
        assert!(x == want, "gathered pixels differ");
        let TargetData::Classes(y) = ds.targets(Split::Train) else {
            panic!()
        };
        // Batch k holds labels (k·4 + i) mod 10.
        assert_eq!(&y[..6], &[4, 5, 6, 7, 8, 9]);
        assert_eq!(ds.source_files().len(), 6);
    }
    let mut spec = CifarSpec::cifar10(&root);
    spec.limit_train = Some(5);
    spec.limit_test = Some(1);
    let ds = spec.load().unwrap();
    assert_eq!((ds.spec().train_len, ds.spec().test_len), (5, 1));
    std::fs::remove_file(inner.join("data_batch_4.bin")).unwrap();
    let e = CifarSpec::cifar10(&root).load().unwrap_err();
    assert!(matches!(e, CifarError::Layout { .. }), "{e}");
    assert!(e.to_string().contains("missing data_batch_4.bin"), "{e}");
    // A bad batch inside the directory names that file.
    let (_, _, _, mut bytes) = batch(CifarKind::Cifar10, 4, 0);
    bytes[3073] = 200;
    std::fs::write(inner.join("data_batch_4.bin"), bytes).unwrap();
    let e = CifarSpec::cifar10(&root).load().unwrap_err();
    assert!(
        e.to_string().contains("data_batch_4.bin") && e.to_string().contains("label 200"),
        "{e}"
    );
}

#[test]
fn cifar100_fine_and_coarse() {
    let root = scratch("c100");
    let inner = root.join("cifar-100-binary");
    std::fs::create_dir_all(&inner).unwrap();
    let (_, fine, coarse, bytes) = batch(CifarKind::Cifar100, 30, 0);
    std::fs::write(inner.join("train.bin"), bytes).unwrap();
    let (_, _, _, bytes) = batch(CifarKind::Cifar100, 5, 7);
    std::fs::write(inner.join("test.bin"), bytes).unwrap();
    assert_eq!(
        detect_data_dir(&root),
        Some(DataDir::Cifar(CifarKind::Cifar100))
    );
    let ds = CifarSpec::cifar100(&root, CifarLabels::Fine)
        .load()
        .unwrap();
    assert_eq!(ds.spec().target, TargetKind::Classes { classes: 100 });
    assert_eq!(ds.targets(Split::Train), &TargetData::Classes(fine));
    let ds = CifarSpec::cifar100(&inner, CifarLabels::Coarse)
        .load()
        .unwrap();
    assert_eq!(ds.spec().target, TargetKind::Classes { classes: 20 });
    assert_eq!(ds.targets(Split::Train), &TargetData::Classes(coarse));
    assert_eq!(ds.spec().name, "cifar100");
    assert!(detect_data_dir(&scratch("empty")).is_none());
}
