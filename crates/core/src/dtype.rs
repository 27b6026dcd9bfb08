//! The run-time element type. Kernels are generic over `f32`/`f64`; above the engine the choice
//! is this value, so one binary runs both (f64 for theory checks, f32 for speed).

use std::fmt;
use std::str::FromStr;

use crate::CoreError;

/// Element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// IEEE-754 binary32.
    F32,
    /// IEEE-754 binary64.
    F64,
}

impl DType {
    /// Bytes per element.
    pub fn size_of(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    /// The lowercase name used in configs and file headers (`f32`, `f64`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// Machine epsilon of the type, as f64 (for tolerances derived from rounding).
    pub fn epsilon(self) -> f64 {
        match self {
            DType::F32 => f32::EPSILON as f64,
            DType::F64 => f64::EPSILON,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f32" | "float32" => Ok(DType::F32),
            "f64" | "float64" => Ok(DType::F64),
            other => Err(CoreError::UnknownDType {
                found: other.to_string(),
                expected: "f32, f64",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_round_trip() {
        for d in [DType::F32, DType::F64] {
            assert_eq!(d.name().parse::<DType>().unwrap(), d);
        }
        let err = "f16".parse::<DType>().unwrap_err();
        assert!(err.to_string().contains("f16") && err.to_string().contains("f32, f64"));
    }
}
