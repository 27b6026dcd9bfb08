//! Reshape: the per-example input shape becomes `shape` (same number of values, row-major order
//! unchanged), e.g. MNIST-1D's `[40]` as a `[1, 1, 40]` image for a convolutional network, or a
//! flat 784 back to `[1, 28, 28]`.

use serde::{Deserialize, Serialize};

use super::error::TransformFailure;
use super::host::HostData;

/// The new per-example shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reshape {
    /// Dimensions; their product must equal the current input size.
    pub shape: Vec<usize>,
}

impl Reshape {
    /// Gives `data` the new shape, or says why the sizes differ.
    pub fn apply(&self, mut data: HostData) -> Result<HostData, TransformFailure> {
        let size: usize = self.shape.iter().product();
        if self.shape.is_empty() || size != data.spec.input_size() {
            return Err(TransformFailure::field(
                "shape",
                &self.shape,
                format!(
                    "non-empty, product equal to the input size {} (shape {:?})",
                    data.spec.input_size(),
                    data.spec.input_shape
                ),
            ));
        }
        data.spec.input_shape = self.shape.clone();
        Ok(data)
    }
}
