//! NPY and NPZ reading: files NumPy wrote (fixtures/numpy), generated fixtures for every dtype
//! and version, every kind of bad file as a typed error, and data sets built from arrays.

use std::path::{Path, PathBuf};

use learnscope_data::formats::npy::{
    encode_npy, encode_npy_raw, parse_npy, read_npy, NpyArray, NpyDtype, NpyError, NpyValues,
};
use learnscope_data::formats::npz::{encode_npz, read_npz, read_npz_member, NpzArchive, NpzError};
use learnscope_data::formats::SourceError;
use learnscope_data::named::{split_npz_member, FileTargets, LoadError, NpyDataSpec};
use learnscope_data::{Dataset, InputStorage, Split, TargetData, TargetKind};

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("npy")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/numpy")
        .join(name)
}

fn f64s(a: &NpyArray) -> Vec<f64> {
    a.values.to_f64()
}

#[test]
fn files_written_by_numpy_parse() {
    let x: Vec<f64> = (0..24).map(|i| i as f64 * 0.5).collect();
    for name in ["f4.npy", "v2.npy", "v3.npy"] {
        let a = read_npy(&fixture(name)).unwrap();
        assert_eq!((a.dtype, a.shape.clone()), (NpyDtype::F32, vec![2, 3, 4]));
        assert!(matches!(a.values, NpyValues::F32(_)));
        assert_eq!(f64s(&a), x, "{name}");
    }
    let u = read_npy(&fixture("u1.npy")).unwrap();
    assert_eq!(u.shape, vec![20, 10]);
    assert_eq!(u.values, NpyValues::U8((0..200).collect()));
    let i = read_npy(&fixture("i8.npy")).unwrap();
    assert_eq!(i.values, NpyValues::I64(vec![0, 1, 2, 9, -5]));
    let i = read_npy(&fixture("i1.npy")).unwrap();
    assert_eq!(i.values, NpyValues::I64(vec![0, -1, 127, -128]));
    let be = read_npy(&fixture("be.npy")).unwrap();
    assert_eq!(
        be.values,
        NpyValues::F64(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    );
    let b = read_npy(&fixture("bool.npy")).unwrap();
    assert_eq!(
        (b.dtype, b.values),
        (NpyDtype::Bool, NpyValues::U8(vec![1, 0, 1]))
    );
    let f = read_npy(&fixture("fortran1d.npy")).unwrap();
    assert_eq!(f.shape, vec![6, 1]);
    assert!(matches!(
        read_npy(&fixture("fortran.npy")),
        Err(NpyError::FortranOrder { .. })
    ));
    let s = read_npy(&fixture("scalar.npy")).unwrap();
    assert_eq!((s.shape.len(), f64s(&s)), (0, vec![3.5]));
    let e = read_npy(&fixture("empty.npy")).unwrap();
    assert_eq!((e.shape.clone(), e.len()), (vec![0, 5], 0));

    for name in ["stored.npz", "deflated.npz"] {
        let z = read_npz(&fixture(name)).unwrap();
        let names: Vec<&str> = z.entries().iter().map(|e| e.array_name()).collect();
        assert_eq!(names, ["x", "y"]);
        assert_eq!(f64s(&z.array("x").unwrap()), x, "{name}");
        assert_eq!(z.array("y.npy").unwrap().values, NpyValues::I64(vec![0, 1]));
    }
    assert_eq!(
        read_npz(&fixture("deflated.npz")).unwrap().entries()[0].method,
        8
    );
}

fn sample_array(dtype: NpyDtype, shape: &[usize]) -> NpyArray {
    let n: usize = shape.iter().product();
    let values = match dtype {
        NpyDtype::U8 => NpyValues::U8((0..n).map(|i| (i * 37 % 256) as u8).collect()),
        NpyDtype::Bool => NpyValues::U8((0..n).map(|i| (i % 2) as u8).collect()),
        NpyDtype::F32 => NpyValues::F32((0..n).map(|i| i as f32 * 0.25 - 3.0).collect()),
        NpyDtype::F64 => NpyValues::F64((0..n).map(|i| i as f64 * 1e-3 - 0.1).collect()),
        t => {
            let range: i64 = match t {
                NpyDtype::I8 => 128,
                NpyDtype::I16 => 32768,
                NpyDtype::U16 => 65536,
                _ => 1 << 31,
            };
            let unsigned = matches!(t, NpyDtype::U16 | NpyDtype::U32);
            NpyValues::I64(
                (0..n as i64)
                    .map(|i| {
                        let v = (i * 7919) % range;
                        if unsigned {
                            v
                        } else {
                            v - range / 2
                        }
                    })
                    .collect(),
            )
        }
    };
    NpyArray {
        dtype,
        shape: shape.to_vec(),
        values,
    }
}

const DTYPES: [NpyDtype; 10] = [
    NpyDtype::Bool,
    NpyDtype::U8,
    NpyDtype::I8,
    NpyDtype::I16,
    NpyDtype::U16,
    NpyDtype::I32,
    NpyDtype::U32,
    NpyDtype::I64,
    NpyDtype::F32,
    NpyDtype::F64,
];

/// The payload of `a` in the byte order given.
fn payload(a: &NpyArray, big: bool) -> Vec<u8> {
    let bytes = encode_npy(a);
    let h = bytes.len() - a.len() * a.dtype.size();
    let mut p = bytes[h..].to_vec();
    if big {
        for c in p.chunks_exact_mut(a.dtype.size()) {
            c.reverse();
        }
    }
    p
}

#[test]
fn every_dtype_version_and_byte_order_round_trips() {
    for t in DTYPES {
        for shape in [vec![], vec![5], vec![3, 4], vec![2, 1, 3]] {
            let a = sample_array(t, &shape);
            assert_eq!(parse_npy(&encode_npy(&a), Path::new("a")).unwrap(), a);
            for major in [1, 2, 3] {
                for big in [false, true] {
                    let order = match (t.size(), big) {
                        (1, _) => '|',
                        (_, true) => '>',
                        _ => '<',
                    };
                    let descr = format!("{order}{}", t.code());
                    let bytes = encode_npy_raw(major, &descr, false, &shape, &payload(&a, big));
                    let b = parse_npy(&bytes, Path::new("b")).unwrap();
                    assert_eq!(b, a, "{t:?} {shape:?} v{major} big={big}");
                }
            }
        }
    }
}

#[test]
fn bad_npy_files_name_the_problem() {
    let p = Path::new("bad.npy");
    let err = |b: &[u8]| parse_npy(b, p).unwrap_err();
    let good = encode_npy(&sample_array(NpyDtype::F32, &[3, 4]));
    assert!(matches!(
        err(b""),
        NpyError::Truncated {
            what: "magic",
            found: 0,
            ..
        }
    ));
    assert!(matches!(err(b"\x93NUM"), NpyError::Truncated { .. }));
    assert!(matches!(
        err(b"PK\x03\x04xxxxxx"),
        NpyError::BadMagic { .. }
    ));
    let mut v = good.clone();
    v[6] = 4;
    assert!(matches!(
        err(&v),
        NpyError::UnsupportedVersion { major: 4, .. }
    ));
    // A header length pointing past the end.
    let mut v = good.clone();
    v[8] = 0xff;
    v[9] = 0xff;
    assert!(matches!(
        err(&v),
        NpyError::Truncated { what: "header", .. }
    ));
    let header = |dict: &str| {
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out
    };
    for (dict, needle) in [
        (
            "{'descr': '<f4', 'fortran_order': False}",
            "missing key 'shape'",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)",
            "expected `,` or `}`",
        ),
        (
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}",
            "fortran_order",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}",
            "negative",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}",
            "unexpected key",
        ),
        (
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
            "duplicate",
        ),
        ("[1, 2]", "not a dict"),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
            "64 bits",
        ),
        (
            &format!("{}{}", "(".repeat(100), ")".repeat(100)),
            "nested too deeply",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} junk",
            "after the header",
        ),
    ] {
        let e = err(&header(dict));
        assert!(matches!(e, NpyError::BadHeader { .. }), "{dict}: {e}");
        assert!(e.to_string().contains(needle), "{dict}: {e}");
        assert!(e.to_string().contains("bad.npy"), "{e}");
    }
    for descr in ["<c16", "|O", "<U8", "<f2", "|f4"] {
        let b = encode_npy_raw(1, descr, false, &[1], &[0; 16]);
        assert!(
            matches!(err(&b), NpyError::UnsupportedDtype { .. }),
            "{descr}"
        );
    }
    let structured = header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}");
    assert!(matches!(
        err(&structured),
        NpyError::UnsupportedDtype { .. }
    ));
    // A header that claims 60000 × 784 f32 with 12 bytes of payload: refused before allocating.
    let lie = encode_npy_raw(1, "<f4", false, &[60000, 784], &[0; 12]);
    let e = err(&lie);
    assert!(
        matches!(
            e,
            NpyError::PayloadSize {
                expected: 188_160_000,
                found: 12,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("from offset 128"), "{e}");
    let huge = encode_npy_raw(1, "<f8", false, &[1 << 40, 1 << 40], &[]);
    assert!(matches!(err(&huge), NpyError::TooManyElements { .. }));
    let fortran = encode_npy_raw(1, "<f8", true, &[2, 3], &[0; 48]);
    assert!(matches!(err(&fortran), NpyError::FortranOrder { .. }));
    let fortran_1d = encode_npy_raw(1, "<f8", true, &[1, 6], &[0; 48]);
    assert_eq!(parse_npy(&fortran_1d, p).unwrap().shape, vec![1, 6]);
    let bad_bool = encode_npy_raw(1, "|b1", false, &[2], &[1, 7]);
    assert!(matches!(
        err(&bad_bool),
        NpyError::BadElement { index: 1, .. }
    ));
    for cut in 0..good.len() {
        assert!(parse_npy(&good[..cut], p).is_err(), "cut {cut}");
    }
    let mut long = good.clone();
    long.push(0);
    assert!(matches!(err(&long), NpyError::PayloadSize { .. }));
    let dir = scratch("bad");
    assert!(matches!(
        read_npy(&dir),
        Err(NpyError::Source(SourceError::IsDirectory { .. }))
    ));
}

pub(crate) fn npy_members() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "x.npy".to_string(),
            encode_npy(&sample_array(NpyDtype::F32, &[6, 4])),
        ),
        (
            "y.npy".to_string(),
            encode_npy(&NpyArray {
                dtype: NpyDtype::I64,
                shape: vec![6],
                values: NpyValues::I64(vec![0, 1, 2, 0, 1, 2]),
            }),
        ),
    ]
}

#[test]
fn npz_archives_stored_and_deflated() {
    let members = npy_members();
    for deflate in [false, true] {
        let z = NpzArchive::parse(encode_npz(&members, deflate), Path::new("a.npz")).unwrap();
        assert_eq!(z.entries().len(), 2);
        assert_eq!(
            z.array("x").unwrap(),
            parse_npy(&members[0].1, Path::new("x")).unwrap()
        );
        assert_eq!(z.member_bytes("y.npy").unwrap(), members[1].1);
        let e = z.array("z").unwrap_err();
        assert!(matches!(e, NpzError::MemberNotFound { .. }));
        assert!(e.to_string().contains("members: x, y"), "{e}");
    }
}

#[test]
fn bad_npz_archives_are_typed_errors() {
    let p = Path::new("bad.npz");
    let members = npy_members();
    let stored = encode_npz(&members, false);
    let deflated = encode_npz(&members, true);
    let parse = |b: Vec<u8>| NpzArchive::parse(b, p);
    assert!(matches!(parse(vec![]), Err(NpzError::NotZip { .. })));
    assert!(matches!(
        parse(b"not a zip file at all, just some text".to_vec()),
        Err(NpzError::NotZip { .. })
    ));
    // Truncated at the end: the end record is gone.
    assert!(matches!(
        parse(stored[..stored.len() - 10].to_vec()),
        Err(NpzError::NotZip { .. })
    ));
    let eocd = stored.len() - 22;
    // Central directory offset out of range.
    let mut v = stored.clone();
    v[eocd + 16..eocd + 20].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    assert!(matches!(parse(v), Err(NpzError::Corrupt { .. })));
    // More entries than the directory can hold.
    let mut v = stored.clone();
    v[eocd + 10..eocd + 12].copy_from_slice(&60000u16.to_le_bytes());
    assert!(matches!(parse(v), Err(NpzError::Corrupt { .. })));
    // Saturated fields with no zip64 locator.
    let mut v = stored.clone();
    v[eocd + 12..eocd + 16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(parse(v), Err(NpzError::Corrupt { .. })));
    // Multi-disk.
    let mut v = stored.clone();
    v[eocd + 4] = 1;
    assert!(matches!(parse(v), Err(NpzError::Unsupported { .. })));

    // Member-level problems (the first member's central entry starts at the directory offset).
    let cd = |b: &[u8]| {
        let e = b.len() - 22;
        u32::from_le_bytes(b[e + 16..e + 20].try_into().unwrap()) as usize
    };
    let with = |base: &[u8], at: usize, bytes: &[u8]| {
        let mut v = base.to_vec();
        v[at..at + bytes.len()].copy_from_slice(bytes);
        parse(v).unwrap()
    };
    let c = cd(&stored);
    let z = with(&stored, c + 10, &12u16.to_le_bytes()); // method 12 (bzip2)
    assert!(matches!(z.array("x"), Err(NpzError::Unsupported { .. })));
    let z = with(&stored, c + 8, &1u16.to_le_bytes()); // encrypted
    assert!(matches!(z.array("x"), Err(NpzError::Unsupported { .. })));
    let z = with(&stored, c + 16, &0u32.to_le_bytes()); // wrong CRC
    assert!(matches!(z.array("x"), Err(NpzError::Crc { .. })));
    let z = with(&stored, c + 42, &0x00FF_FFFFu32.to_le_bytes()); // local header past the end
    assert!(matches!(z.array("x"), Err(NpzError::Corrupt { .. })));
    let z = with(&stored, c + 42, &1u32.to_le_bytes()); // no local header there
    assert!(matches!(z.array("x"), Err(NpzError::Corrupt { .. })));
    let z = with(&stored, c + 24, &7u32.to_le_bytes()); // stored sizes disagree
    assert!(matches!(z.array("x"), Err(NpzError::SizeMismatch { .. })));
    let c = cd(&deflated);
    let z = with(&deflated, c + 24, &7u32.to_le_bytes()); // declares fewer bytes than it holds
    let e = z.array("x").unwrap_err();
    assert!(matches!(e, NpzError::SizeMismatch { .. }), "{e}");
    let z = with(&deflated, c + 24, &u32::MAX.to_le_bytes()); // declares far more
    assert!(matches!(
        z.with_limit(1 << 20).array("x"),
        Err(NpzError::TooLarge { .. })
    ));
    let z = with(&deflated, c + 24, &(1u32 << 30).to_le_bytes());
    assert!(matches!(z.array("x"), Err(NpzError::SizeMismatch { .. })));
    // Corrupt deflate data: flip bytes in the first member's compressed stream.
    let mut v = deflated.clone();
    for b in v[40..60].iter_mut() {
        *b ^= 0xa5;
    }
    let z = parse(v).unwrap();
    assert!(z.array("x").is_err());
    // A member that is not an array names archive and member.
    let junk = encode_npz(&[("x.npy".to_string(), b"hello".to_vec())], true);
    let e = parse(junk).unwrap().array("x").unwrap_err();
    assert!(
        matches!(
            e,
            NpzError::Npy(NpyError::Truncated { .. }) | NpzError::Npy(NpyError::BadMagic { .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("bad.npz:x.npy"), "{e}");
}

#[test]
fn a_decompression_bomb_is_refused() {
    // 64 MiB of zeros deflate to ~64 kB; a 1 MiB cap refuses the member before inflating.
    let big = encode_npy_raw(1, "|u1", false, &[64 << 20], &vec![0u8; 64 << 20]);
    let zip = encode_npz(&[("x.npy".into(), big)], true);
    assert!(zip.len() < 200_000);
    let z = NpzArchive::parse(zip, Path::new("bomb.npz")).unwrap();
    let e = z.with_limit(1 << 20).array("x").unwrap_err();
    assert!(matches!(e, NpzError::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("decompression bomb"), "{e}");
}

/// The archive rewritten in zip64 form: saturated sizes and offsets in the central directory
/// with a zip64 extra field, and a zip64 end record and locator.
pub(crate) fn zip64_form(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let plain = encode_npz(members, false);
    let e = plain.len() - 22;
    let count = u16::from_le_bytes(plain[e + 10..e + 12].try_into().unwrap()) as usize;
    let cd = u32::from_le_bytes(plain[e + 16..e + 20].try_into().unwrap()) as usize;
    let mut out = plain[..cd].to_vec();
    let mut at = cd;
    let mut central = Vec::new();
    for _ in 0..count {
        let n = u16::from_le_bytes(plain[at + 28..at + 30].try_into().unwrap()) as usize;
        let mut h = plain[at..at + 46].to_vec();
        let csize = u32::from_le_bytes(h[20..24].try_into().unwrap()) as u64;
        let usize_ = u32::from_le_bytes(h[24..28].try_into().unwrap()) as u64;
        let off = u32::from_le_bytes(h[42..46].try_into().unwrap()) as u64;
        for r in [20..24, 24..28, 42..46] {
            h[r].copy_from_slice(&u32::MAX.to_le_bytes());
        }
        h[30..32].copy_from_slice(&28u16.to_le_bytes());
        central.extend_from_slice(&h);
        central.extend_from_slice(&plain[at + 46..at + 46 + n]);
        central.extend_from_slice(&1u16.to_le_bytes());
        central.extend_from_slice(&24u16.to_le_bytes());
        for v in [usize_, csize, off] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        at += 46 + n;
    }
    let cd_offset = out.len() as u64;
    out.extend_from_slice(&central);
    let rec = out.len() as u64;
    out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
    out.extend_from_slice(&44u64.to_le_bytes());
    out.extend_from_slice(&[45, 0, 45, 0]);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&(count as u64).to_le_bytes());
    out.extend_from_slice(&(count as u64).to_le_bytes());
    out.extend_from_slice(&(central.len() as u64).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&rec.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&[0xff; 4]);
    out.extend_from_slice(&[0xff; 8]);
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn zip64_records_are_read() {
    let members = npy_members();
    let z = NpzArchive::parse(zip64_form(&members), Path::new("z64.npz")).unwrap();
    assert_eq!(z.entries().len(), 2);
    assert_eq!(z.member_bytes("x").unwrap(), members[0].1);
    assert_eq!(z.member_bytes("y").unwrap(), members[1].1);
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

fn labels(v: &[i64]) -> Vec<u8> {
    encode_npy(&NpyArray {
        dtype: NpyDtype::I64,
        shape: vec![v.len()],
        values: NpyValues::I64(v.to_vec()),
    })
}

#[test]
fn a_data_set_from_npy_and_npz_files() {
    let dir = scratch("dataset");
    let xtr = sample_array(NpyDtype::U8, &[6, 2, 3]);
    let xte = sample_array(NpyDtype::U8, &[2, 2, 3]);
    let tx = write(&dir, "train_x.npy", &encode_npy(&xtr));
    let ty = write(&dir, "train_y.npy", &labels(&[0, 1, 2, 3, 0, 1]));
    let sx = write(&dir, "test_x.npy", &encode_npy(&xte));
    let sy = write(&dir, "test_y.npy", &labels(&[4, 0]));
    let mut spec = NpyDataSpec::new("arrays", &tx, &ty, &sx, &sy);
    spec.scale = 0.5;
    let ds = spec.load().unwrap();
    assert_eq!(ds.spec().input_shape, vec![2, 3]);
    assert_eq!(ds.spec().target, TargetKind::Classes { classes: 5 });
    assert!(matches!(ds.inputs(Split::Train), InputStorage::U8 { .. }));
    let mut x = Vec::new();
    ds.gather_inputs(Split::Test, &[1], &mut x);
    assert_eq!(
        x,
        xte.values.to_f64()[6..]
            .iter()
            .map(|v| v * 0.5)
            .collect::<Vec<_>>()
    );
    assert_eq!(ds.source_files().len(), 4);

    // The same arrays in one archive, with given classes and limits.
    let npz = dir.join("all.npz");
    let members: Vec<(String, Vec<u8>)> = [&tx, &ty, &sx, &sy]
        .iter()
        .zip(["tx", "ty", "sx", "sy"])
        .map(|(p, n)| (format!("{n}.npy"), std::fs::read(p).unwrap()))
        .collect();
    std::fs::write(&npz, encode_npz(&members, true)).unwrap();
    let src = |m: &str| format!("{}:{m}", npz.display());
    assert_eq!(
        split_npz_member(&src("tx")),
        (npz.clone(), Some("tx".into()))
    );
    let mut spec = NpyDataSpec::new("npz", &src("tx"), &src("ty"), &src("sx"), &src("sy"));
    spec.targets = FileTargets::Classes { classes: Some(10) };
    spec.limit_train = Some(4);
    let ds = spec.load().unwrap();
    assert_eq!(ds.spec().target, TargetKind::Classes { classes: 10 });
    assert_eq!(ds.spec().train_len, 4);
    assert_eq!(
        ds.targets(Split::Train),
        &TargetData::Classes(vec![0, 1, 2, 3])
    );
    assert_eq!(ds.source_files(), std::slice::from_ref(&npz));
    assert_eq!(
        read_npz_member(&npz, "sy").unwrap().values,
        NpyValues::I64(vec![4, 0])
    );

    // Labels beyond the given classes, negative or fractional labels, count mismatches.
    spec.targets = FileTargets::Classes { classes: Some(3) };
    let e = spec.load().unwrap_err();
    assert!(
        e.to_string()
            .contains("label 3 at element 3 is not an integer in 0..3"),
        "{e}"
    );
    let neg = write(&dir, "neg.npy", &labels(&[0, -1]));
    let e = NpyDataSpec::new("n", &tx, &ty, &sx, &neg)
        .load()
        .unwrap_err();
    assert!(matches!(e, LoadError::Label { .. }), "{e}");
    assert!(e.to_string().contains("element 1"), "{e}");
    let frac = NpyArray {
        dtype: NpyDtype::F64,
        shape: vec![2],
        values: NpyValues::F64(vec![0.0, 1.5]),
    };
    let frac = write(&dir, "frac.npy", &encode_npy(&frac));
    assert!(matches!(
        NpyDataSpec::new("f", &tx, &ty, &sx, &frac).load(),
        Err(LoadError::Label { .. })
    ));
    let short = write(&dir, "short.npy", &labels(&[0, 1, 2]));
    let e = NpyDataSpec::new("c", &tx, &short, &sx, &sy)
        .load()
        .unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::CountMismatch {
                n_inputs: 6,
                n_targets: 3,
                ..
            }
        ),
        "{e}"
    );
    let other = write(
        &dir,
        "other.npy",
        &encode_npy(&sample_array(NpyDtype::U8, &[2, 6])),
    );
    assert!(matches!(
        NpyDataSpec::new("s", &tx, &ty, &other, &sy).load(),
        Err(LoadError::Shape { .. })
    ));
    let e = NpyDataSpec::new("m", &src("nope"), &ty, &sx, &sy)
        .load()
        .unwrap_err();
    assert!(
        matches!(e, LoadError::Npz(NpzError::MemberNotFound { .. })),
        "{e}"
    );
}

#[test]
fn dense_targets_from_arrays() {
    let dir = scratch("dense");
    let x = sample_array(NpyDtype::F32, &[4, 3]);
    let y = sample_array(NpyDtype::F64, &[4, 2]);
    let tx = write(&dir, "x.npy", &encode_npy(&x));
    let ty = write(&dir, "y.npy", &encode_npy(&y));
    let mut spec = NpyDataSpec::new("dense", &tx, &ty, &tx, &ty);
    spec.targets = FileTargets::Dense;
    let ds = spec.load().unwrap();
    assert_eq!(ds.spec().target, TargetKind::Dense { outputs: 2 });
    assert!(matches!(ds.inputs(Split::Train), InputStorage::F32(_)));
    assert_eq!(ds.inputs_f64(Split::Train).into_owned(), x.values.to_f64());
    assert_eq!(
        ds.targets(Split::Test),
        &TargetData::Dense(y.values.to_f64())
    );
}

#[test]
fn one_dimensional_inputs_and_empty_splits() {
    let dir = scratch("shapes");
    let x1 = write(
        &dir,
        "x1.npy",
        &encode_npy(&sample_array(NpyDtype::F64, &[4])),
    );
    let y = write(&dir, "y.npy", &labels(&[0, 1, 1, 0]));
    let ds = NpyDataSpec::new("1d", &x1, &y, &x1, &y).load().unwrap();
    assert_eq!(
        (ds.spec().input_shape.clone(), ds.spec().train_len),
        (vec![1], 4)
    );
    // Zero features per example, and an empty test split.
    let x0 = write(
        &dir,
        "x0.npy",
        &encode_npy(&sample_array(NpyDtype::F32, &[4, 0])),
    );
    let ds = NpyDataSpec::new("0", &x0, &y, &x0, &y).load().unwrap();
    assert_eq!((ds.spec().input_size(), ds.spec().train_len), (0, 4));
    let xe = write(
        &dir,
        "xe.npy",
        &encode_npy(&sample_array(NpyDtype::F32, &[0, 3])),
    );
    let ye = write(&dir, "ye.npy", &labels(&[]));
    let x3 = write(
        &dir,
        "x3.npy",
        &encode_npy(&sample_array(NpyDtype::F32, &[4, 3])),
    );
    let ds = NpyDataSpec::new("e", &x3, &y, &xe, &ye).load().unwrap();
    assert_eq!(ds.spec().test_len, 0);
    // A scalar is not a data set.
    let s = write(
        &dir,
        "s.npy",
        &encode_npy(&sample_array(NpyDtype::F64, &[])),
    );
    assert!(matches!(
        NpyDataSpec::new("s", &s, &y, &x1, &y).load(),
        Err(LoadError::Shape { .. })
    ));
}
