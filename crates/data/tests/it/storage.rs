//! Compact input storage and the Fashion-MNIST load time.

use std::time::Instant;

use learnscope_data::named::{default_fashion_mnist_dir, IdxSpec};
use learnscope_data::{Dataset, Split};

/// Loads the real Fashion-MNIST (60k + 10k, gzip IDX) and reports the time; run in release:
/// `cargo test --release -p learnscope-data --test it -- --ignored fashion_mnist_full_load --nocapture`.
#[test]
#[ignore]
fn fashion_mnist_full_load() {
    let dir = default_fashion_mnist_dir();
    if !dir.join("train-images-idx3-ubyte.gz").is_file() {
        eprintln!("{} missing; skipped", dir.display());
        return;
    }
    let t = Instant::now();
    let ds = IdxSpec::mnist_layout("fashion_mnist", &dir)
        .unwrap()
        .load()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!((ds.spec().train_len, ds.spec().test_len), (60_000, 10_000));
    let mut x = Vec::new();
    ds.gather_inputs(Split::Train, &[0, 59_999], &mut x);
    assert_eq!(x.len(), 2 * 784);
    eprintln!("fashion-mnist load: {secs:.3} s");
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("storage")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_storage_gathers_the_same_values() {
    use learnscope_data::{DatasetSpec, InMemoryDataset, InputStorage, TargetData, TargetKind};
    let spec = DatasetSpec {
        name: "s".into(),
        input_shape: vec![2, 2],
        target: TargetKind::Classes { classes: 2 },
        train_len: 3,
        test_len: 1,
    };
    let bytes: Vec<u8> = vec![0, 1, 2, 3, 100, 101, 102, 103, 252, 253, 254, 255];
    let (scale, offset) = (0.5, -1.0);
    let want: Vec<f64> = bytes.iter().map(|&b| b as f64 * scale + offset).collect();
    let y = || TargetData::Classes(vec![0, 1, 0]);
    let test = || {
        (
            InputStorage::F64(vec![0.0; 4]),
            TargetData::Classes(vec![1]),
        )
    };
    let storages = [
        InputStorage::U8 {
            bytes: bytes.clone(),
            scale,
            offset,
        },
        InputStorage::F32(want.iter().map(|&v| v as f32).collect()),
        InputStorage::F64(want.clone()),
    ];
    for s in storages {
        let name = s.dtype_name();
        let ds = InMemoryDataset::from_storage(spec.clone(), (s, y()), test()).unwrap();
        let mut x = vec![7.0];
        ds.gather_inputs(Split::Train, &[2, 0], &mut x);
        let mut expected = vec![7.0];
        expected.extend_from_slice(&want[8..12]);
        expected.extend_from_slice(&want[..4]);
        assert_eq!(x, expected, "{name}");
        assert_eq!(ds.inputs_f64(Split::Train).into_owned(), want, "{name}");
        let parts = ds.clone().into_parts();
        assert_eq!(parts.train.0.len(), 12);
        assert_eq!(parts.spec, spec);
    }
    // Size checks apply to every storage.
    let bad = InMemoryDataset::from_storage(
        spec.clone(),
        (InputStorage::F32(vec![0.0; 11]), y()),
        test(),
    );
    assert!(bad.is_err());
    // f64 storage is borrowed, not copied.
    let ds = InMemoryDataset::new(
        spec,
        (want.clone(), y()),
        (vec![0.0; 4], TargetData::Classes(vec![1])),
    )
    .unwrap();
    assert!(matches!(
        ds.inputs_f64(Split::Train),
        std::borrow::Cow::Borrowed(_)
    ));
}

#[test]
fn idx_bytes_are_stored_compactly_and_gather_as_before() {
    use learnscope_data::formats::idx::{encode_idx, read_idx_pair, IdxType};
    use learnscope_data::InputStorage;
    let dir = scratch("idx");
    let n = 50;
    let x: Vec<f64> = (0..n * 9).map(|i| (i * 37 % 256) as f64).collect();
    let y: Vec<f64> = (0..n).map(|i| (i % 10) as f64).collect();
    for prefix in ["train", "t10k"] {
        std::fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte")),
            encode_idx(IdxType::U8, &[n, 3, 3], &x),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte")),
            encode_idx(IdxType::U8, &[n], &y),
        )
        .unwrap();
    }
    let mut spec = IdxSpec::mnist_layout("m", &dir).unwrap();
    spec.limit_test = Some(20);
    let ds = spec.load().unwrap();
    assert!(matches!(ds.inputs(Split::Train), InputStorage::U8 { .. }));
    assert_eq!(ds.inputs(Split::Train).bytes_held(), n * 9);
    assert_eq!(ds.spec().test_len, 20);
    // The values are those of the f64 reader times the scale, bit for bit.
    let (arr, _) = read_idx_pair(
        &dir.join("train-images-idx3-ubyte"),
        &dir.join("train-labels-idx1-ubyte"),
        10,
    )
    .unwrap();
    let want: Vec<f64> = arr.values.iter().map(|v| v * (1.0 / 255.0)).collect();
    let mut got = Vec::new();
    ds.gather_inputs(Split::Train, &(0..n).collect::<Vec<_>>(), &mut got);
    assert!(got == want);
    // Non-byte IDX images are converted to f64.
    std::fs::write(
        dir.join("train-images-idx3-ubyte"),
        encode_idx(IdxType::F32, &[n, 3, 3], &x),
    )
    .unwrap();
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte"),
        encode_idx(IdxType::F32, &[n, 3, 3], &x),
    )
    .unwrap();
    let ds = spec.load().unwrap();
    assert!(matches!(ds.inputs(Split::Train), InputStorage::F64(_)));
    let mut got2 = Vec::new();
    ds.gather_inputs(Split::Train, &(0..n).collect::<Vec<_>>(), &mut got2);
    assert!(got2 == want);
}
