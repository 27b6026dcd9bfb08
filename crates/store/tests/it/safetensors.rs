//! safetensors: byte determinism, round trip, and corrupted or truncated files rejected with
//! errors naming the file, the tensor and expected against found.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use learnscope_store::{
    decode_safetensors, encode_safetensors, read_safetensors, write_safetensors, StoreError,
    StoredDType, TensorEntry,
};

use crate::util::TempDir;

fn entries() -> Vec<TensorEntry> {
    vec![
        TensorEntry::from_f32(
            "blocks.0.weight",
            vec![2, 3, 1, 1],
            &[1.0, 2.0, 3.0, -0.0, f32::NAN, f32::INFINITY],
        ),
        TensorEntry::from_f32("blocks.0.bias", vec![2], &[0.5, -0.5]),
        TensorEntry::from_f64(
            "opt/blocks.0.weight/m",
            vec![6],
            &[1e-310, -1e300, 0.0, 1.0, 2.0, 3.0],
        ),
        TensorEntry::from_i64("bn.num_batches_tracked", vec![], &[7]),
        TensorEntry::from_u8("mask", vec![3], &[0, 1, 255]),
        TensorEntry::from_f32("empty", vec![0, 4], &[]),
        TensorEntry {
            name: "half".into(),
            dtype: StoredDType::BF16,
            shape: vec![2],
            data: vec![0x80, 0x3f, 0x00, 0x40],
        },
    ]
}

fn meta() -> BTreeMap<String, String> {
    BTreeMap::from([("step".to_string(), "12".to_string())])
}

/// Builds a file from a raw header (padded as the writer would) and data section.
fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out
}

fn invalid(bytes: &[u8]) -> (Option<String>, &'static str, String, String) {
    match decode_safetensors(bytes, Path::new("ck.safetensors")) {
        Err(StoreError::InvalidSafetensors {
            tensor,
            what,
            expected,
            found,
            ..
        }) => (tensor, what, expected, found),
        other => panic!("expected InvalidSafetensors, got {other:?}"),
    }
}

#[test]
fn byte_identical_for_equal_inputs_in_any_order() {
    let dir = TempDir::new("st-det");
    let (a, b) = (
        dir.path().join("a.safetensors"),
        dir.path().join("b.safetensors"),
    );
    write_safetensors(&a, &entries(), &meta()).unwrap();
    let mut reversed = entries();
    reversed.reverse();
    write_safetensors(&b, &reversed, &meta()).unwrap();
    let (ba, bb) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    assert_eq!(ba, bb);
    assert_eq!(ba, encode_safetensors(&entries(), &meta()).unwrap());
    assert!(!dir.path().join("a.safetensors.tmp").exists());
}

#[test]
fn round_trip() {
    let dir = TempDir::new("st-rt");
    let p = dir.path().join("ck.safetensors");
    write_safetensors(&p, &entries(), &meta()).unwrap();
    let f = read_safetensors(&p).unwrap();
    let mut want = entries();
    want.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(f.entries, want);
    assert_eq!(f.metadata, meta());
    let w = f
        .entries
        .iter()
        .find(|e| e.name == "blocks.0.weight")
        .unwrap();
    let vals = w.to_f32().unwrap();
    assert_eq!(vals[3].to_bits(), (-0.0f32).to_bits());
    assert!(vals[4].is_nan());
    // Header is 8-aligned and data follows it directly.
    let bytes = fs::read(&p).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    assert_eq!(n % 8, 0);
}

#[test]
fn truncation_at_any_offset_rejected() {
    let full = encode_safetensors(&entries(), &meta()).unwrap();
    let n = u64::from_le_bytes(full[..8].try_into().unwrap()) as usize;
    let mut cuts = vec![
        0,
        1,
        7,
        8,
        9,
        8 + n / 2,
        8 + n - 1,
        8 + n,
        8 + n + 1,
        full.len() - 1,
    ];
    cuts.extend((0..full.len()).step_by(5));
    for cut in cuts {
        let (_, what, expected, found) = invalid(&full[..cut]);
        assert!(
            matches!(
                what,
                "file size" | "header length" | "data section length" | "data_offsets"
            ),
            "cut {cut}: {what}"
        );
        assert!(!expected.is_empty() && !found.is_empty());
    }
    let dir = TempDir::new("st-trunc");
    let p = dir.path().join("ck.safetensors");
    fs::write(&p, &full[..full.len() - 3]).unwrap();
    let msg = read_safetensors(&p).unwrap_err().to_string();
    assert!(
        msg.contains("ck.safetensors") && msg.contains("expected") && msg.contains("found"),
        "{msg}"
    );
}

#[test]
fn flipped_header_length_rejected() {
    let full = encode_safetensors(&entries(), &meta()).unwrap();
    let n = u64::from_le_bytes(full[..8].try_into().unwrap());
    for bad in [n + 8, n - 8, n - 1, u64::MAX, 1u64 << 40, 0, n ^ (1 << 3)] {
        let mut b = full.clone();
        b[..8].copy_from_slice(&bad.to_le_bytes());
        let err = decode_safetensors(&b, Path::new("ck.safetensors")).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::InvalidSafetensors { .. } | StoreError::SafetensorsHeaderJson { .. }
            ),
            "len {bad}: {err:?}"
        );
    }
    // Every single-bit flip in the length field is caught.
    for bit in 0..64 {
        let mut b = full.clone();
        b[..8].copy_from_slice(&(n ^ (1u64 << bit)).to_le_bytes());
        assert!(decode_safetensors(&b, Path::new("x")).is_err(), "bit {bit}");
    }
}

#[test]
fn header_errors_name_tensor_expected_found() {
    // Unknown dtype.
    let (t, what, expected, found) = invalid(&raw_file(
        r#"{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#,
        &[0; 16],
    ));
    assert_eq!((t.as_deref(), what), (Some("w"), "dtype"));
    assert!(expected.contains("F32") && found.contains("F128"));

    // Byte count disagrees with shape.
    let (t, what, expected, found) = invalid(&raw_file(
        r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#,
        &[0; 12],
    ));
    assert_eq!((t.as_deref(), what), (Some("w"), "byte count"));
    assert!(
        expected.contains("16") && found.contains("12"),
        "{expected} / {found}"
    );

    // Offsets past the data section.
    let (t, what, _, found) = invalid(&raw_file(
        r#"{"w":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}"#,
        &[0; 4],
    ));
    assert_eq!((t.as_deref(), what), (Some("w"), "data_offsets"));
    assert!(found.contains("[4, 8]"));

    // begin > end.
    let (_, what, _, _) = invalid(&raw_file(
        r#"{"w":{"dtype":"U8","shape":[0],"data_offsets":[3,2]}}"#,
        &[0; 4],
    ));
    assert_eq!(what, "data_offsets");

    // Overlap.
    let (t, what, _, _) = invalid(&raw_file(
        r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#,
        &[0; 6],
    ));
    assert_eq!(
        (t.as_deref(), what),
        (Some("b"), "overlapping data_offsets")
    );

    // Gap.
    let (t, what, expected, _) = invalid(&raw_file(
        r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}"#,
        &[0; 6],
    ));
    assert_eq!((t.as_deref(), what), (Some("b"), "gap before data_offsets"));
    assert!(expected.contains("tensor `a`"), "{expected}");

    // Trailing bytes after the last tensor.
    let (t, what, _, _) = invalid(&raw_file(
        r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#,
        &[0; 5],
    ));
    assert_eq!((t, what), (None, "data section length"));

    // Missing field, extra field, non-string metadata.
    let (t, what, _, _) = invalid(&raw_file(r#"{"a":{"dtype":"U8","shape":[2]}}"#, &[0; 2]));
    assert_eq!((t.as_deref(), what), (Some("a"), "header entry"));
    let (_, what, _, _) = invalid(&raw_file(
        r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":1}}"#,
        &[0; 2],
    ));
    assert_eq!(what, "header entry");
    let (t, what, _, _) = invalid(&raw_file(r#"{"__metadata__":{"k":1}}"#, &[]));
    assert_eq!((t, what), (None, "__metadata__"));

    // Not JSON / not an object.
    let b = raw_file(r#"{"a": nope}"#, &[]);
    assert!(matches!(
        decode_safetensors(&b, Path::new("x")),
        Err(StoreError::SafetensorsHeaderJson { .. })
    ));
    let (_, what, _, _) = invalid(&raw_file("[1,2]", &[]));
    assert_eq!(what, "header start");
}

#[test]
fn foreign_layout_is_accepted() {
    // Tensors listed out of offset order, metadata last, no padding — as other writers may do.
    let header = r#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"format":"pt"}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&7i32.to_le_bytes());
    bytes.extend_from_slice(&1.5f32.to_le_bytes());
    let f = decode_safetensors(&bytes, Path::new("x")).unwrap();
    assert_eq!(f.entries[0].to_i32().unwrap(), vec![7]);
    assert_eq!(f.entries[1].to_f32().unwrap(), vec![1.5]);
    assert_eq!(f.metadata["format"], "pt");
}
