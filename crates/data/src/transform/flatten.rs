//! Flatten: the per-example input shape [d₁, …, d_r] becomes [d₁·…·d_r]; values and their
//! row-major order are unchanged.

use super::host::HostData;

/// Flattens the input shape.
pub fn flatten(mut data: HostData) -> HostData {
    data.spec.input_shape = vec![data.spec.input_size()];
    data
}
