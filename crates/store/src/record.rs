//! One measured number: the row of the metrics long table (DESIGN.md §5). A record says when
//! (`step`, `epoch`), who measured it (`probe`), what it is (`key`, naming the variant, e.g.
//! `nc1/trace_ratio`), on which data (`split`: `train|test|ood|probe`), where in the model
//! (`layer`), for which item (`index`, `index2`: example, class, mode, eigenvalue rank, …), and
//! the `value`.
//!
//! Its serde form is the JSONL line: the fields in exactly this order, absent options as
//! `null`, and `value` as a JSON number when finite, else one of the strings `"NaN"`, `"inf"`,
//! `"-inf"` (serde_json alone would silently write `null`). Finite values are written in the
//! shortest form that parses back to the same bits (so `-0.0` and subnormals survive).

use serde::{Deserialize, Serialize};

/// One metric value at one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricRecord {
    /// Optimizer step the value belongs to.
    pub step: u64,
    /// Epoch at that step.
    pub epoch: u32,
    /// The probe that measured it (e.g. `basics`, `ocs`).
    pub probe: String,
    /// What was measured, with its variant (e.g. `loss`, `nc1/trace_ratio`).
    pub key: String,
    /// Data split: `train`, `test`, `ood` or `probe`.
    pub split: String,
    /// Layer (tap path) the value belongs to, if any.
    pub layer: Option<String>,
    /// First index (example, class, mode, rank…), if any.
    pub index: Option<i64>,
    /// Second index, if any.
    pub index2: Option<i64>,
    /// The value; non-finite values are kept.
    #[serde(with = "json_f64")]
    pub value: f64,
}

impl MetricRecord {
    /// A record without layer or indices.
    pub fn new(
        step: u64,
        epoch: u32,
        probe: impl Into<String>,
        key: impl Into<String>,
        split: impl Into<String>,
        value: f64,
    ) -> Self {
        MetricRecord {
            step,
            epoch,
            probe: probe.into(),
            key: key.into(),
            split: split.into(),
            layer: None,
            index: None,
            index2: None,
            value,
        }
    }

    /// The same record with `layer` set.
    pub fn with_layer(mut self, layer: impl Into<String>) -> Self {
        self.layer = Some(layer.into());
        self
    }

    /// The same record with `index` set.
    pub fn with_index(mut self, index: i64) -> Self {
        self.index = Some(index);
        self
    }

    /// The same record with `index2` set.
    pub fn with_index2(mut self, index2: i64) -> Self {
        self.index2 = Some(index2);
        self
    }

    /// Equality as the store preserves it: every field equal, values bitwise equal except that
    /// any NaN equals any NaN (the encoding keeps NaN, not its sign or payload). Unlike `==`,
    /// `NaN` matches `NaN` and `-0.0` does not match `0.0`.
    pub fn identical(&self, other: &Self) -> bool {
        self.step == other.step
            && self.epoch == other.epoch
            && self.probe == other.probe
            && self.key == other.key
            && self.split == other.split
            && self.layer == other.layer
            && self.index == other.index
            && self.index2 == other.index2
            && same_f64(self.value, other.value)
    }
}

/// Bitwise equality, with all NaNs equal.
pub(crate) fn same_f64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Serde codec for an `f64` that may be non-finite: a JSON number when finite, else `"NaN"`,
/// `"inf"` or `"-inf"`. Reading also accepts integers (exact up to 2⁵³) and the strings
/// `"Infinity"`/`"-Infinity"`, `"+inf"`.
pub mod json_f64 {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    /// Writes `v` (see the module docs).
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        let v = *v;
        if v.is_finite() {
            s.serialize_f64(v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    /// Reads a value written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(F64Visitor)
    }

    struct F64Visitor;

    impl Visitor<'_> for F64Visitor {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number or one of \"NaN\", \"inf\", \"-inf\"")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            match v {
                "NaN" => Ok(f64::NAN),
                "inf" | "+inf" | "Infinity" => Ok(f64::INFINITY),
                "-inf" | "-Infinity" => Ok(f64::NEG_INFINITY),
                other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(r: &MetricRecord) -> String {
        serde_json::to_string(r).unwrap()
    }

    #[test]
    fn field_order_and_nulls() {
        let r = MetricRecord::new(3, 1, "basics", "loss", "train", 0.5);
        assert_eq!(
            line(&r),
            r#"{"step":3,"epoch":1,"probe":"basics","key":"loss","split":"train","layer":null,"index":null,"index2":null,"value":0.5}"#
        );
        let r = r.with_layer("blocks.0").with_index(-2).with_index2(7);
        assert_eq!(
            line(&r),
            r#"{"step":3,"epoch":1,"probe":"basics","key":"loss","split":"train","layer":"blocks.0","index":-2,"index2":7,"value":0.5}"#
        );
    }

    #[test]
    fn non_finite_are_strings() {
        for (v, s) in [
            (f64::NAN, "\"NaN\""),
            (-f64::NAN, "\"NaN\""),
            (f64::INFINITY, "\"inf\""),
            (f64::NEG_INFINITY, "\"-inf\""),
        ] {
            let r = MetricRecord::new(0, 0, "p", "k", "train", v);
            let l = line(&r);
            assert!(l.ends_with(&format!("\"value\":{s}}}")), "{l}");
            let back: MetricRecord = serde_json::from_str(&l).unwrap();
            assert!(back.identical(&r) || (v.is_nan() && back.value.is_nan()));
        }
    }

    #[test]
    fn finite_bits_round_trip() {
        let specials = [
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::from_bits(0x000f_ffff_ffff_ffff),
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            0.1,
            1.0 / 3.0,
            1e23,
            9_007_199_254_740_993.0,
        ];
        // A deterministic sweep over bit patterns (xorshift) as well.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut values: Vec<f64> = specials.to_vec();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if v.is_finite() {
                values.push(v);
            }
        }
        for v in values {
            let r = MetricRecord::new(1, 0, "p", "k", "train", v);
            let back: MetricRecord = serde_json::from_str(&line(&r)).unwrap();
            assert_eq!(back.value.to_bits(), v.to_bits(), "{v:e}");
        }
    }

    #[test]
    fn bad_value_and_unknown_field_rejected() {
        let bad = r#"{"step":1,"epoch":0,"probe":"p","key":"k","split":"s","layer":null,"index":null,"index2":null,"value":"nan?"}"#;
        let e = serde_json::from_str::<MetricRecord>(bad).unwrap_err();
        assert!(e.to_string().contains("nan?"), "{e}");
        let extra = r#"{"step":1,"epoch":0,"probe":"p","key":"k","split":"s","layer":null,"index":null,"index2":null,"value":1,"x":2}"#;
        assert!(serde_json::from_str::<MetricRecord>(extra).is_err());
        let null_value = r#"{"step":1,"epoch":0,"probe":"p","key":"k","split":"s","layer":null,"index":null,"index2":null,"value":null}"#;
        assert!(serde_json::from_str::<MetricRecord>(null_value).is_err());
    }

    #[test]
    fn identical_distinguishes_signed_zero() {
        let a = MetricRecord::new(1, 0, "p", "k", "train", 0.0);
        let b = MetricRecord::new(1, 0, "p", "k", "train", -0.0);
        assert!(!a.identical(&b));
        assert_eq!(a, b);
        let n1 = MetricRecord::new(1, 0, "p", "k", "train", f64::NAN);
        assert!(n1.identical(&n1.clone()));
    }
}
