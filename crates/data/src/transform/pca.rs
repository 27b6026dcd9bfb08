//! PCA onto the top P principal components: x' = (v₁·(x − m), …, v_P·(x − m)) with the
//! eigenbasis of the TRAINING moment matrix ([`super::eigen`]); m = x̄ (`centred = true`: the
//! covariance, classical PCA) or 0 (`centred = false`: the uncentred second moment E[x xᵀ] of
//! P2's formulas). The test split is projected on the same P components. The projected training
//! moment matrix is diag(λ₁, …, λ_P). Inputs of any shape are read flat; outputs have shape [P].

use serde::{Deserialize, Serialize};

use super::eigen::EigenBasis;
use super::error::TransformFailure;
use super::host::HostData;
use crate::dataset::InputStorage;

/// PCA. TOML: `kind = "pca"`, `components` (required, 1..=d), `centred` (required: true for
/// the covariance, false for the uncentred second moment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pca {
    /// P, the number of leading components kept.
    pub components: usize,
    /// Covariance (true) or uncentred second moment (false).
    pub centred: bool,
}

impl Pca {
    /// Fits on the training split and projects both splits.
    pub fn apply(&self, mut data: HostData) -> Result<(HostData, EigenBasis), TransformFailure> {
        let d = data.spec.input_size();
        if self.components == 0 || self.components > d {
            return Err(TransformFailure::field(
                "components",
                self.components,
                format!("1 <= components <= input size {d}"),
            ));
        }
        let basis = EigenBasis::fit(&data.train_x.to_f64(), data.spec.train_len, d, self.centred)?;
        data.train_x = InputStorage::F64(basis.project(&data.train_x.to_f64(), self.components));
        data.test_x = InputStorage::F64(basis.project(&data.test_x.to_f64(), self.components));
        data.spec.input_shape = vec![self.components];
        Ok((data, basis))
    }
}
