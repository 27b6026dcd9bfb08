//! IDX loading on generated fixtures: every element type, raw and gzip, and every kind of bad
//! file gives a typed error (never a panic), including a seeded mutation harness.

use std::io::Write;
use std::path::{Path, PathBuf};

use learnscope_core::RandomKey;
use learnscope_data::formats::idx::{
    encode_idx, parse_idx, read_idx, read_idx_pair, IdxError, IdxType,
};
use learnscope_data::formats::{maybe_gunzip, read_maybe_gzip, SourceError};

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("idx")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

const TYPES: [IdxType; 6] = [
    IdxType::U8,
    IdxType::I8,
    IdxType::I16,
    IdxType::I32,
    IdxType::F32,
    IdxType::F64,
];

fn sample(t: IdxType, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| match t {
            IdxType::U8 => (i * 37 % 256) as f64,
            IdxType::I8 => (i as i64 * 37 % 256 - 128) as f64,
            IdxType::I16 => (i as i64 * 997 % 65536 - 32768) as f64,
            IdxType::I32 => (i as i64 * 1_000_003 % 1_000_000_007 - 500_000_000) as f64,
            IdxType::F32 => (i as f32 * 0.37 - 5.5) as f64,
            IdxType::F64 => i as f64 * 1e-3 - 0.1,
        })
        .collect()
}

#[test]
fn every_type_and_rank_round_trips_raw_and_gzipped() {
    let dir = scratch("roundtrip");
    for t in TYPES {
        for dims in [vec![7], vec![3, 5], vec![2, 3, 4], vec![2, 1, 3, 2]] {
            let n: usize = dims.iter().product();
            let values = sample(t, n);
            let bytes = encode_idx(t, &dims, &values);
            for (name, content) in [("raw", bytes.clone()), ("gz", gzip(&bytes))] {
                let path = dir.join(format!("{t:?}-{}-{name}", dims.len()));
                std::fs::write(&path, &content).unwrap();
                let a = read_idx(&path).unwrap();
                assert_eq!((a.elem, &a.dims), (t, &dims));
                assert_eq!(a.values, values, "{t:?} {dims:?} {name}");
            }
        }
    }
}

#[test]
fn bad_headers_name_the_problem() {
    let p = Path::new("fixture.idx");
    let err = |bytes: &[u8]| parse_idx(bytes, p).unwrap_err();
    assert!(matches!(
        err(&[]),
        IdxError::ShortHeader {
            expected: 4,
            found: 0,
            ..
        }
    ));
    assert!(matches!(
        err(&[1, 0, 8, 1]),
        IdxError::WrongMagic { found: [1, 0], .. }
    ));
    assert!(matches!(
        err(&[0, 0, 7, 1]),
        IdxError::UnsupportedType { code: 7, .. }
    ));
    assert!(matches!(err(&[0, 0, 8, 0]), IdxError::NoDimensions { .. }));
    assert!(matches!(
        err(&[0, 0, 8, 2, 0, 0, 0, 1]),
        IdxError::ShortHeader { expected: 12, .. }
    ));
    // 65536 × 65536 × 2 elements > 2^32: refused before any allocation.
    let mut huge = vec![0, 0, 8, 3];
    for d in [65536u32, 65536, 2] {
        huge.extend_from_slice(&d.to_be_bytes());
    }
    assert!(matches!(err(&huge), IdxError::TooManyElements { .. }));
    // A header claiming 60000 × 28 × 28 with a 10-byte payload.
    let mut lie = vec![0, 0, 8, 3];
    for d in [60000u32, 28, 28] {
        lie.extend_from_slice(&d.to_be_bytes());
    }
    lie.extend_from_slice(&[0; 10]);
    let e = err(&lie);
    assert!(
        matches!(
            e,
            IdxError::PayloadSize {
                expected: 47_040_000,
                found: 10,
                offset: 16,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("fixture.idx") && e.to_string().contains("offset 16"),
        "{e}"
    );
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = encode_idx(IdxType::I16, &[3, 4], &sample(IdxType::I16, 12));
    for cut in 0..bytes.len() {
        assert!(
            parse_idx(&bytes[..cut], Path::new("t")).is_err(),
            "cut at {cut}"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        parse_idx(&long, Path::new("t")),
        Err(IdxError::PayloadSize { .. })
    ));
}

#[test]
fn gzip_problems_are_errors() {
    let dir = scratch("gzip");
    let bytes = encode_idx(IdxType::U8, &[100], &sample(IdxType::U8, 100));
    let gz = gzip(&bytes);
    let truncated = dir.join("truncated.gz");
    std::fs::write(&truncated, &gz[..gz.len() / 2]).unwrap();
    assert!(matches!(
        read_idx(&truncated),
        Err(IdxError::Source(SourceError::Gzip { .. }))
    ));
    let mut corrupt = gz.clone();
    for b in corrupt[12..30].iter_mut() {
        *b ^= 0x5a;
    }
    let corrupt_p = dir.join("corrupt.gz");
    std::fs::write(&corrupt_p, &corrupt).unwrap();
    assert!(read_idx(&corrupt_p).is_err());
    // A bomb: 10 MB of zeros compress to ~10 kB; a 1 MB cap refuses it.
    let bomb = dir.join("bomb.gz");
    std::fs::write(&bomb, gzip(&vec![0u8; 10 << 20])).unwrap();
    assert!(matches!(
        read_maybe_gzip(&bomb, 1 << 20),
        Err(SourceError::TooLarge { .. })
    ));
    assert!(matches!(
        read_idx(&dir),
        Err(IdxError::Source(SourceError::IsDirectory { .. }))
    ));
    assert!(matches!(
        read_idx(&dir.join("missing")),
        Err(IdxError::Source(SourceError::Io { .. }))
    ));
}

#[test]
fn image_label_pairs_are_checked() {
    let dir = scratch("pair");
    let images = dir.join("images.idx");
    let labels = dir.join("labels.idx");
    std::fs::write(
        &images,
        encode_idx(IdxType::U8, &[4, 2, 2], &sample(IdxType::U8, 16)),
    )
    .unwrap();
    std::fs::write(
        &labels,
        encode_idx(IdxType::U8, &[4], &[0.0, 3.0, 9.0, 1.0]),
    )
    .unwrap();
    let (x, y) = read_idx_pair(&images, &labels, 10).unwrap();
    assert_eq!((x.dims.clone(), y), (vec![4, 2, 2], vec![0, 3, 9, 1]));
    let e = read_idx_pair(&images, &labels, 5).unwrap_err();
    assert!(
        e.to_string()
            .contains("label 9 of example 2 (byte offset 10) is outside 0..5"),
        "{e}"
    );
    std::fs::write(&labels, encode_idx(IdxType::U8, &[3], &[0.0, 1.0, 2.0])).unwrap();
    assert!(matches!(
        read_idx_pair(&images, &labels, 10),
        Err(IdxError::CountMismatch {
            n_images: 4,
            n_labels: 3,
            ..
        })
    ));
}

#[test]
fn seeded_mutations_never_panic() {
    // 20 000 mutants of valid files (byte flips, insertions, deletions, header rewrites), raw
    // and gzipped: each parses or returns an error; none panics.
    let base: Vec<Vec<u8>> = TYPES
        .iter()
        .map(|&t| encode_idx(t, &[3, 4], &sample(t, 12)))
        .collect();
    let key = RandomKey::root(2024).derive("idx-mutations");
    for i in 0..20_000u64 {
        let k = key.at(i);
        let mut b = base[(k.u64_at(0) % base.len() as u64) as usize].clone();
        for j in 0..1 + k.u64_at(1) % 4 {
            let pos = (k.u64_at(2 + j) % (b.len() as u64 + 1)) as usize;
            match k.u64_at(10 + j) % 4 {
                0 if pos < b.len() => b[pos] ^= 1 << (k.u64_at(20 + j) % 8),
                1 => b.insert(pos, k.u64_at(30 + j) as u8),
                2 if pos < b.len() => {
                    b.remove(pos);
                }
                _ if b.len() > 4 => b[(pos % 4).min(3)] = k.u64_at(40 + j) as u8,
                _ => {}
            }
        }
        let _ = parse_idx(&b, Path::new("mutant"));
        // Mutated gzip streams: flip one bit of a compressed valid file.
        if i % 10 == 0 {
            let mut gz = gzip(&base[(i / 10 % base.len() as u64) as usize]);
            let pos = (k.u64_at(50) % gz.len() as u64) as usize;
            gz[pos] ^= 1 << (k.u64_at(51) % 8);
            if let Ok(bytes) = maybe_gunzip(gz, 1 << 20, Path::new("mutant.gz")) {
                let _ = parse_idx(&bytes, Path::new("mutant.gz"));
            }
        }
    }
}

/// A zero leading dimension must not let the other dimensions escape the size bound: the
/// per-example size (their product) would overflow a usize.
#[test]
fn a_zero_dimension_does_not_hide_huge_ones() {
    let mut bytes = vec![0, 0, 0x08, 3];
    for d in [0u32, u32::MAX, u32::MAX] {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    let err = parse_idx(&bytes, Path::new("zero.idx")).unwrap_err();
    assert!(matches!(err, IdxError::TooManyElements { .. }), "{err}");
    // A plain empty array is still fine.
    let mut bytes = vec![0, 0, 0x08, 2];
    for d in [0u32, 28] {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    let a = parse_idx(&bytes, Path::new("empty.idx")).unwrap();
    assert_eq!(a.dims, vec![0, 28]);
}
