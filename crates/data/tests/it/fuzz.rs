//! Seeded mutation fuzzing of every parser: IDX, CIFAR, NPY, NPZ, CSV, and gzip-wrapped inputs.
//!
//! Each mutant is a valid fixture changed by 1–4 mutations drawn from a counter-based stream
//! (so mutant `i` of a run is reproducible from the seed alone): bit flips, byte replacements
//! (random or "interesting" bytes), truncation, extension (random bytes or a copy of a chunk),
//! insertion, deletion of a range, overwriting a header field (at a known offset of the format,
//! or anywhere) with an extreme 2/4/8-byte value in either byte order, and splicing text tokens
//! (huge numbers, quotes, brackets, `nan`, …) for the text-based parts. Every parse must return
//! (no panic, caught with `catch_unwind`); every error is one of the parser's typed errors and
//! its message names the file; every success is checked for internal consistency (element
//! counts equal the product of the shape, labels in range, finite CSV cells, …).
//!
//! The default suite runs a few thousand mutants per parser. `fuzz_<parser>_100k` (ignored) run
//! 10⁵ each; `LEARNSCOPE_FUZZ_N` overrides the count and `LEARNSCOPE_FUZZ_SEED` the seed:
//! `LEARNSCOPE_FUZZ_N=1000000 cargo test --release -p learnscope-data --test it -- --ignored
//! fuzz_npy_100k --nocapture`.

use std::collections::BTreeMap;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

use learnscope_core::RandomKey;
use learnscope_data::formats::cifar::{encode_cifar, parse_cifar, CifarKind, CIFAR_PIXELS};
use learnscope_data::formats::csv::{parse_csv, CsvLabel, CsvOptions};
use learnscope_data::formats::idx::{encode_idx, parse_idx, IdxType};
use learnscope_data::formats::maybe_gunzip;
use learnscope_data::formats::npy::{encode_npy, encode_npy_raw, parse_npy, NpyArray, NpyValues};
use learnscope_data::formats::npz::{encode_npz, NpzArchive, NpzError};

/// How a parse ended.
enum Outcome {
    /// Parsed; the string says why the result is inconsistent, if it is.
    Ok(Option<String>),
    /// A typed error: its variant name and message.
    Err(String, String),
}

fn err<E: std::fmt::Debug + std::fmt::Display>(e: E) -> Outcome {
    let debug = format!("{e:?}");
    let variant: String = debug
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '(')
        .collect();
    Outcome::Err(variant, e.to_string())
}

/// Several parses of one mutant: an inconsistency or an error that does not name the file
/// wins, then any success, then the first error.
fn combine(outcomes: Vec<Outcome>) -> Outcome {
    let mut first_err = None;
    let mut any_ok = false;
    for o in outcomes {
        match o {
            Outcome::Ok(Some(why)) => return Outcome::Ok(Some(why)),
            Outcome::Ok(None) => any_ok = true,
            Outcome::Err(v, msg) => {
                if !msg.contains("mutant") {
                    return Outcome::Err(v, msg);
                }
                first_err.get_or_insert(Outcome::Err(v, msg));
            }
        }
    }
    match (any_ok, first_err) {
        (false, Some(e)) => e,
        _ => Outcome::Ok(None),
    }
}

/// Run statistics.
#[derive(Default)]
struct Stats {
    mutants: u64,
    ok: u64,
    errors: BTreeMap<String, u64>,
    panics: Vec<u64>,
    bad: Vec<(u64, String)>,
}

const TOKENS: &[&[u8]] = &[
    b"(",
    b")",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b"'",
    b"\"",
    b"\n",
    b"\r\n",
    b" ",
    b"0",
    b"-1",
    b"1e999",
    b"nan",
    b"inf",
    b"99999999999",
    b"18446744073709551615",
    b"4294967296",
    b"True",
    b"False",
    b"None",
    b"'descr'",
    b"'shape'",
    b"'fortran_order'",
    b"'<f8'",
    b">i2",
    b"|O",
    b"\"\"",
    b"\"a,b\"",
    b"\t",
    b"\xff\xfe",
    b"\x00",
];

const EXTREMES: [u64; 8] = [
    0,
    1,
    0x7f,
    0xff,
    0x7fff_ffff,
    0xffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

/// A mutant of `base`: 1–4 mutations drawn from `k`; `fields` are known header-field offsets.
fn mutate(base: &[u8], k: RandomKey, fields: &[usize]) -> Vec<u8> {
    let mut b = base.to_vec();
    // 1 mutation half the time, up to 4.
    let rounds = [1, 1, 1, 1, 2, 2, 3, 4][(k.u64_at(0) % 8) as usize];
    for j in 0..rounds {
        let r = |i: u64| k.u64_at(1 + j * 16 + i);
        let len = b.len() as u64;
        let pos = if len == 0 { 0 } else { (r(0) % len) as usize };
        match r(1) % 10 {
            0 if !b.is_empty() => b[pos] ^= 1 << (r(2) % 8),
            1 if !b.is_empty() => {
                b[pos] = if r(2) % 2 == 0 {
                    r(3) as u8
                } else {
                    [0, 0xff, 0x7f, 0x80, b'0', b'9', b',', b'"', b'\n', b'.'][(r(3) % 10) as usize]
                }
            }
            2 => b.truncate((r(2) % (len + 1)) as usize),
            3 => {
                if r(2) % 2 == 0 || b.is_empty() {
                    let n = 1 + r(3) % 64;
                    b.extend((0..n).map(|i| r(4 + i % 8) as u8 ^ i as u8));
                } else {
                    let start = pos;
                    let n = (r(3) % 256) as usize;
                    let chunk: Vec<u8> = b[start..(start + n).min(b.len())].to_vec();
                    b.extend(chunk);
                }
            }
            4 => b.insert(pos.min(b.len()), r(2) as u8),
            5 if !b.is_empty() => {
                let n = 1 + (r(2) % 16) as usize;
                let end = (pos + n).min(b.len());
                b.drain(pos..end);
            }
            6 | 7 => {
                // A header field gets an extreme value (or a random one), 2/4/8 bytes, LE or BE.
                let at = if !fields.is_empty() && r(2) % 4 != 0 {
                    fields[(r(3) % fields.len() as u64) as usize]
                } else {
                    pos
                };
                let width = [2usize, 4, 8][(r(4) % 3) as usize];
                let v = if r(5) % 4 == 0 {
                    r(6)
                } else {
                    EXTREMES[(r(6) % EXTREMES.len() as u64) as usize]
                };
                let bytes = if r(7) % 2 == 0 {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                let bytes = if r(7) % 2 == 0 {
                    &bytes[..width]
                } else {
                    &bytes[8 - width..]
                };
                for (i, &x) in bytes.iter().enumerate() {
                    if let Some(slot) = b.get_mut(at + i) {
                        *slot = x;
                    }
                }
            }
            8 => {
                let t = TOKENS[(r(2) % TOKENS.len() as u64) as usize];
                let at = pos.min(b.len());
                if r(3) % 2 == 0 {
                    b.splice(at..at, t.iter().copied());
                } else {
                    let end = (at + t.len()).min(b.len());
                    b.splice(at..end, t.iter().copied());
                }
            }
            _ => {
                if !b.is_empty() {
                    b[pos] = r(2) as u8;
                }
            }
        }
    }
    b
}

fn fuzz_count(default: u64) -> u64 {
    std::env::var("LEARNSCOPE_FUZZ_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fuzz_seed() -> u64 {
    std::env::var("LEARNSCOPE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2025)
}

/// Runs `n` mutants of `bases` (each with its field offsets) through `check`, which parses a
/// mutant named `path` and reports the outcome; panics if anything panicked or was inconsistent.
fn run(
    name: &str,
    n: u64,
    bases: &[(Vec<u8>, Vec<usize>)],
    check: impl Fn(&[u8], &Path) -> Outcome,
) -> Stats {
    let key = RandomKey::root(fuzz_seed()).derive(&format!("fuzz/{name}"));
    let path = Path::new("mutant.bin");
    let mut s = Stats::default();
    let t = Instant::now();
    for i in 0..n {
        let k = key.at(i);
        let (base, fields) = &bases[(k.u64_at(100) % bases.len() as u64) as usize];
        let m = mutate(base, k, fields);
        s.mutants += 1;
        match catch_unwind(AssertUnwindSafe(|| check(&m, path))) {
            Err(_) => s.panics.push(i),
            Ok(Outcome::Ok(None)) => s.ok += 1,
            Ok(Outcome::Ok(Some(why))) => s.bad.push((i, why)),
            Ok(Outcome::Err(variant, msg)) => {
                if !msg.contains("mutant") {
                    s.bad
                        .push((i, format!("error does not name the file: {msg}")));
                }
                *s.errors.entry(variant).or_default() += 1;
            }
        }
    }
    eprintln!(
        "fuzz {name}: {} mutants in {:.2} s: {} parsed, {} errors {:?}, {} panics, {} inconsistent",
        s.mutants,
        t.elapsed().as_secs_f64(),
        s.ok,
        s.errors.values().sum::<u64>(),
        s.errors,
        s.panics.len(),
        s.bad.len()
    );
    assert!(
        s.panics.is_empty(),
        "{name}: mutants {:?} panicked (seed {})",
        &s.panics[..s.panics.len().min(10)],
        fuzz_seed()
    );
    assert!(
        s.bad.is_empty(),
        "{name}: inconsistent results {:?}",
        &s.bad[..s.bad.len().min(5)]
    );
    s
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

// ---- IDX ----

fn idx_bases() -> Vec<(Vec<u8>, Vec<usize>)> {
    let types = [
        IdxType::U8,
        IdxType::I8,
        IdxType::I16,
        IdxType::I32,
        IdxType::F32,
        IdxType::F64,
    ];
    let mut out = Vec::new();
    for t in types {
        for dims in [vec![12], vec![3, 4], vec![2, 2, 3]] {
            let n: usize = dims.iter().product();
            let values: Vec<f64> = (0..n).map(|i| (i * 7 % 100) as f64).collect();
            let fields = (0..4).chain((0..dims.len()).map(|i| 4 + 4 * i)).collect();
            out.push((encode_idx(t, &dims, &values), fields));
        }
    }
    out
}

fn check_idx(b: &[u8], p: &Path) -> Outcome {
    match parse_idx(b, p) {
        Ok(a) => {
            let n: usize = a.dims.iter().product();
            // Integer types re-encode to the same bytes (floats may differ in NaN payloads).
            let exact = matches!(
                a.elem,
                IdxType::U8 | IdxType::I8 | IdxType::I16 | IdxType::I32
            );
            Outcome::Ok(
                (n != a.values.len()
                    || a.dims.is_empty()
                    || (exact && encode_idx(a.elem, &a.dims, &a.values) != b))
                    .then(|| format!("dims {:?} but {} values", a.dims, a.values.len())),
            )
        }
        Err(e) => err(e),
    }
}

// ---- CIFAR ----

fn cifar_bases() -> Vec<(Vec<u8>, Vec<usize>)> {
    let mut out = Vec::new();
    for kind in [CifarKind::Cifar10, CifarKind::Cifar100] {
        for n in [1, 2] {
            let pixels: Vec<u8> = (0..n * CIFAR_PIXELS).map(|i| (i * 13) as u8).collect();
            let labels: Vec<u32> = (0..n as u32).map(|i| i * 7 % 10).collect();
            let coarse: Vec<u32> = (0..n as u32).map(|i| i * 3 % 20).collect();
            let rec = kind.record_size();
            let fields = (0..n).flat_map(|r| [r * rec, r * rec + 1]).collect();
            out.push((encode_cifar(kind, &pixels, &labels, &coarse), fields));
        }
    }
    out
}

fn check_cifar(b: &[u8], p: &Path) -> Outcome {
    combine(
        [CifarKind::Cifar10, CifarKind::Cifar100]
            .into_iter()
            .map(|kind| match parse_cifar(b, p, kind) {
                Ok(c) => {
                    let fine = if kind == CifarKind::Cifar10 { 10 } else { 100 };
                    let bad = c.pixels.len() != c.labels.len() * CIFAR_PIXELS
                        || c.labels.iter().any(|&l| l >= fine)
                        || (kind == CifarKind::Cifar100
                            && (c.coarse.len() != c.labels.len()
                                || c.coarse.iter().any(|&l| l >= 20)))
                        || c.labels.is_empty()
                        || b.len() != c.len() * kind.record_size()
                        || encode_cifar(kind, &c.pixels, &c.labels, &c.coarse) != b;
                    Outcome::Ok(bad.then(|| format!("{kind:?}: inconsistent batch")))
                }
                Err(e) => err(e),
            })
            .collect(),
    )
}

// ---- NPY ----

fn npy_bases() -> Vec<(Vec<u8>, Vec<usize>)> {
    let mut out = Vec::new();
    let arrays = [
        ("|u1", vec![4, 3], 1),
        ("<f4", vec![2, 3], 4),
        ("<f8", vec![5], 8),
        ("<i8", vec![2, 2], 8),
        (">f8", vec![3], 8),
        ("|i1", vec![], 1),
        ("<i2", vec![1, 2, 3], 2),
        ("|b1", vec![4], 1),
        // Larger payloads, so that more mutations land in the data rather than the header.
        ("<f4", vec![16, 16], 4),
        ("|u1", vec![32, 32], 1),
    ];
    for (descr, shape, size) in arrays {
        let n: usize = shape.iter().product();
        let payload: Vec<u8> = (0..n * size)
            .map(|i| {
                if descr == "|b1" {
                    (i % 2) as u8
                } else {
                    (i * 29) as u8
                }
            })
            .collect();
        for major in [1, 2, 3] {
            let bytes = encode_npy_raw(major, descr, false, &shape, &payload);
            // Known fields: version, header length, and every digit and quote of the header.
            let start = if major == 1 { 10 } else { 12 };
            let mut fields = vec![6, 7, 8, 9, 10, 11];
            let header_end = bytes.len() - payload.len();
            fields.extend(
                (start..header_end).filter(|&i| bytes[i].is_ascii_digit() || bytes[i] == b'\''),
            );
            out.push((bytes, fields));
        }
    }
    out
}

fn npy_consistency(a: &NpyArray) -> Option<String> {
    let n: usize = a.shape.iter().product();
    let variant_ok = matches!(
        (&a.values, a.dtype.code()),
        (NpyValues::U8(_), "u1" | "b1")
            | (NpyValues::F32(_), "f4")
            | (NpyValues::F64(_), "f8")
            | (NpyValues::I64(_), "i1" | "i2" | "u2" | "i4" | "u4" | "i8")
    );
    (n != a.len() || !variant_ok)
        .then(|| format!("shape {:?} {:?} with {} values", a.shape, a.dtype, a.len()))
}

fn check_npy(b: &[u8], p: &Path) -> Outcome {
    match parse_npy(b, p) {
        Ok(a) => Outcome::Ok(npy_consistency(&a)),
        Err(e) => err(e),
    }
}

// ---- NPZ ----

fn npz_bases() -> Vec<(Vec<u8>, Vec<usize>)> {
    let x = encode_npy(&NpyArray {
        dtype: learnscope_data::formats::npy::NpyDtype::F32,
        shape: vec![3, 4],
        values: NpyValues::F32((0..12).map(|i| i as f32).collect()),
    });
    let y = encode_npy(&NpyArray {
        dtype: learnscope_data::formats::npy::NpyDtype::I64,
        shape: vec![3],
        values: NpyValues::I64(vec![0, 1, 2]),
    });
    let members = vec![("x.npy".to_string(), x), ("y.npy".to_string(), y)];
    let mut out = Vec::new();
    // Generated stored and deflated archives, the zip64 form, and archives NumPy wrote.
    let archives = [
        encode_npz(&members, false),
        encode_npz(&members, true),
        crate::npy::zip64_form(&crate::npy::npy_members()),
        std::fs::read(crate::npy::fixture("stored.npz")).unwrap(),
        std::fs::read(crate::npy::fixture("deflated.npz")).unwrap(),
    ];
    for bytes in archives {
        let mut fields = Vec::new();
        // Every field of every zip record (signatures found by scanning).
        for i in 0..bytes.len().saturating_sub(4) {
            let sig = u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
            let offs: &[usize] = match sig {
                0x0403_4b50 => &[4, 6, 8, 14, 18, 22, 26, 28],
                0x0201_4b50 => &[8, 10, 16, 20, 24, 28, 30, 32, 34, 42],
                0x0605_4b50 => &[4, 6, 8, 10, 12, 16, 20],
                0x0606_4b50 => &[4, 24, 32, 40, 48],
                0x0706_4b50 => &[4, 8, 16],
                _ => &[],
            };
            fields.extend(offs.iter().map(|o| i + o));
        }
        out.push((bytes, fields));
    }
    out
}

fn check_npz(b: &[u8], p: &Path) -> Outcome {
    match NpzArchive::parse(b.to_vec(), p) {
        Ok(z) => {
            let z = z.with_limit(1 << 20);
            let names: Vec<String> = z.entries().iter().map(|e| e.name.clone()).collect();
            let mut outcomes = vec![];
            for name in names {
                outcomes.push(match z.array(&name) {
                    Ok(a) => Outcome::Ok(npy_consistency(&a)),
                    Err(NpzError::MemberNotFound { .. }) => {
                        Outcome::Ok(Some(format!("listed member {name} not found")))
                    }
                    Err(e) => err(e),
                });
            }
            // An archive is usable only if every member is.
            match outcomes.iter().position(|o| matches!(o, Outcome::Err(..))) {
                Some(i) if outcomes.iter().all(|o| !matches!(o, Outcome::Ok(Some(_)))) => {
                    outcomes.swap_remove(i)
                }
                _ => combine(outcomes),
            }
        }
        Err(e) => err(e),
    }
}

// ---- CSV ----

fn csv_bases() -> Vec<(Vec<u8>, Vec<usize>)> {
    let texts: [&[u8]; 4] = [
        b"a,b,label\n1,2,0\n3.5,-4e-1,1\n0,0,2\n",
        b"1,2,3\r\n4,5,6\r\n7,8,9\r\n",
        b"\"x, 1\",\"y\"\"q\",t\n0.5,\"1\",2\n\n1.5, 2 ,3\n",
        b"f1\tf2\n1\t2\n",
    ];
    texts
        .iter()
        .map(|t| {
            let fields = t
                .iter()
                .enumerate()
                .filter(|(_, &c)| matches!(c, b',' | b'"' | b'\n'))
                .map(|(i, _)| i)
                .collect();
            (t.to_vec(), fields)
        })
        .collect()
}

fn check_csv(b: &[u8], p: &Path) -> Outcome {
    let options = [
        CsvOptions::default(),
        CsvOptions {
            label: CsvLabel::Name("label".into()),
            header: Some(true),
            ..CsvOptions::default()
        },
        CsvOptions {
            label: CsvLabel::Index(0),
            delimiter: b'\t',
            header: Some(false),
        },
    ];
    combine(
        options
            .iter()
            .map(|o| match parse_csv(b, p, o) {
                Ok(t) => {
                    let bad = t.x.len() != t.rows() * t.features
                        || t.lines.len() != t.rows()
                        || t.rows() == 0
                        || t.x.iter().chain(&t.y).any(|v| !v.is_finite())
                        || t.lines.windows(2).any(|w| w[0] >= w[1])
                        || t.header.as_ref().is_some_and(|h| h.len() != t.features + 1);
                    Outcome::Ok(bad.then(|| "inconsistent table".into()))
                }
                Err(e) => err(e),
            })
            .collect(),
    )
}

// ---- gzip-wrapped ----

fn gzip_bases() -> Vec<(Vec<u8>, Vec<usize>)> {
    let mut out = Vec::new();
    for (b, _) in idx_bases()
        .into_iter()
        .step_by(4)
        .chain(npy_bases().into_iter().step_by(5))
        .chain(csv_bases())
        .chain(cifar_bases().into_iter().take(1))
    {
        let gz = gzip(&b);
        // Header fields: flags, mtime, the deflate start, the trailer (CRC, size).
        let n = gz.len();
        let fields = vec![2, 3, 4, 8, 9, 10, n - 8, n - 4];
        out.push((gz, fields));
    }
    out
}

fn check_gzip(b: &[u8], p: &Path) -> Outcome {
    match maybe_gunzip(b.to_vec(), 1 << 20, p) {
        // Whatever comes out goes through every parser.
        Ok(bytes) => combine(vec![
            check_idx(&bytes, p),
            check_npy(&bytes, p),
            check_cifar(&bytes, p),
            check_csv(&bytes, p),
        ]),
        Err(e) => err(e),
    }
}

// ---- the tests ----

macro_rules! fuzz_tests {
    ($($small:ident, $big:ident, $name:literal, $bases:ident, $check:ident, $n:expr;)*) => {$(
        #[test]
        fn $small() {
            let s = run($name, $n, &$bases(), $check);
            assert!(s.ok > 0 && !s.errors.is_empty(), "{}: mutants should both parse and fail", $name);
        }

        #[test]
        #[ignore = "10^5 mutants; run by name in release"]
        fn $big() {
            run($name, fuzz_count(100_000), &$bases(), $check);
        }
    )*};
}

fuzz_tests! {
    fuzz_idx_mutants, fuzz_idx_100k, "idx", idx_bases, check_idx, 5_000;
    fuzz_cifar_mutants, fuzz_cifar_100k, "cifar", cifar_bases, check_cifar, 5_000;
    fuzz_npy_mutants, fuzz_npy_100k, "npy", npy_bases, check_npy, 5_000;
    fuzz_npz_mutants, fuzz_npz_100k, "npz", npz_bases, check_npz, 5_000;
    fuzz_csv_mutants, fuzz_csv_100k, "csv", csv_bases, check_csv, 5_000;
    fuzz_gzip_mutants, fuzz_gzip_100k, "gzip", gzip_bases, check_gzip, 5_000;
}

#[test]
fn mutants_are_reproducible() {
    let base = b"0123456789abcdef".to_vec();
    let k = RandomKey::root(1).derive("fuzz/x").at(17);
    assert_eq!(mutate(&base, k, &[2]), mutate(&base, k, &[2]));
}
