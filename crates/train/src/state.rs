//! What a checkpoint's `state.json` holds besides tensors, and the tensor ↔ bytes conversion.

use std::collections::BTreeMap;

use learnscope_core::DType;
use learnscope_nn::{Backend, Tensor};

use crate::sink::NamedTensor;

/// The training position and probe states at a checkpoint.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainState {
    /// Updates taken (the step the resumed run starts with).
    pub step: u64,
    /// The epoch of that step.
    pub epoch: u64,
    /// Its batch position within the epoch.
    pub position: usize,
    /// Updates the optimizer has taken.
    pub optimizer_steps: u64,
    /// The learning rate of the next update (informational: schedules are functions of step).
    pub next_lr: f64,
    /// Probe states by probe name.
    pub probes: BTreeMap<String, serde_json::Value>,
}

/// A tensor's values as little-endian bytes of its own dtype.
pub fn to_named<B: Backend>(be: &B, name: &str, t: &Tensor<B>) -> NamedTensor {
    let vals = t.to_host_f64(be);
    let bytes = match t.dtype() {
        DType::F32 => vals
            .iter()
            .flat_map(|&v| (v as f32).to_le_bytes())
            .collect(),
        DType::F64 => vals.iter().flat_map(|&v| v.to_le_bytes()).collect(),
    };
    NamedTensor {
        name: name.to_string(),
        dtype: t.dtype(),
        shape: t.shape().to_vec(),
        bytes,
    }
}

/// The tensor stored in `n`, checked against the expected dtype and shape.
pub fn from_named<B: Backend>(
    be: &B,
    n: &NamedTensor,
    dtype: DType,
    shape: &[usize],
) -> Result<Tensor<B>, String> {
    if n.dtype != dtype || n.shape != shape {
        return Err(format!(
            "`{}`: expected {dtype} {shape:?}, found {} {:?}",
            n.name, n.dtype, n.shape
        ));
    }
    let vals: Vec<f64> = match dtype {
        DType::F32 => n
            .bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
            .collect(),
        DType::F64 => n
            .bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
    };
    if vals.len() != shape.iter().product::<usize>() {
        return Err(format!(
            "`{}`: {} bytes for shape {shape:?}",
            n.name,
            n.bytes.len()
        ));
    }
    Ok(Tensor::from_f64(be, dtype, shape, &vals))
}
