//! ZCA whitening (Bell & Sejnowski 1997): x' = W (x − m) with
//!
//! W = V diag((λ⁺ + ε)^{−1/2}) Vᵀ,  ε = `eps` · tr(M)/d,
//!
//! where M = V diag(λ) Vᵀ is the TRAINING moment matrix ([`super::eigen`]; m = x̄ and M the
//! covariance when `centred`, m = 0 and M = E[x xᵀ] otherwise) and λ⁺ = max(λ, 0). The
//! whitened training moment matrix is V diag(λ/(λ + ε)) Vᵀ ≈ I. `eps` is relative to the mean
//! eigenvalue tr(M)/d so that it does not depend on the scale of the inputs; the default 1e-5
//! leaves every direction with λ ≫ 10⁻⁵·tr(M)/d whitened to within 10⁻⁵·tr(M)/(d·λ) and caps the
//! gain of (numerically) null directions at √(10⁵) ≈ 316 times that of an average direction.
//! For natural images a larger value (10⁻² … 10⁻¹) is customary, to avoid amplifying pixel noise.
//! Unlike PCA, ZCA stays in the input space (the output keeps the input shape) and is the
//! whitening closest to the identity.

use serde::{Deserialize, Serialize};

use super::eigen::EigenBasis;
use super::error::TransformFailure;
use super::host::HostData;
use crate::dataset::InputStorage;

fn default_eps() -> f64 {
    1e-5
}

/// ZCA whitening. TOML: `kind = "zca"`, `centred` (required), `eps` (1e-5, relative to the mean
/// eigenvalue).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zca {
    /// Covariance (true) or uncentred second moment (false).
    pub centred: bool,
    /// Regulariser relative to the mean eigenvalue, ≥ 0.
    #[serde(default = "default_eps")]
    pub eps: f64,
}

/// A fitted whitening.
#[derive(Debug, Clone, PartialEq)]
pub struct ZcaFit {
    /// The training eigenbasis (eigenvalues before whitening).
    pub basis: EigenBasis,
    /// The absolute regulariser ε = eps · tr(M)/d.
    pub eps_absolute: f64,
    /// W, row-major d × d.
    pub whitening: Vec<f64>,
}

impl Zca {
    /// Fits on the training split and whitens both splits.
    pub fn apply(&self, mut data: HostData) -> Result<(HostData, ZcaFit), TransformFailure> {
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return Err(TransformFailure::field("eps", self.eps, "finite and >= 0"));
        }
        let d = data.spec.input_size();
        let basis = EigenBasis::fit(&data.train_x.to_f64(), data.spec.train_len, d, self.centred)?;
        let mean_eig = basis.eigenvalues.iter().map(|l| l.max(0.0)).sum::<f64>() / d as f64;
        let eps = self.eps * mean_eig;
        if let Some(&l) = basis.eigenvalues.iter().find(|&&l| l.max(0.0) + eps <= 0.0) {
            return Err(TransformFailure::field(
                "eps",
                self.eps,
                format!(
                    "> 0 when the moment matrix is singular (smallest eigenvalue {l:e}, mean \
                     eigenvalue {mean_eig:e})"
                ),
            ));
        }
        let gains: Vec<f64> = basis
            .eigenvalues
            .iter()
            .map(|l| 1.0 / (l.max(0.0) + eps).sqrt())
            .collect();
        let w = basis.v_diag_vt(&gains);
        data.train_x = InputStorage::F64(basis.apply_matrix(&data.train_x.to_f64(), &w, d));
        data.test_x = InputStorage::F64(basis.apply_matrix(&data.test_x.to_f64(), &w, d));
        Ok((
            data,
            ZcaFit {
                basis,
                eps_absolute: eps,
                whitening: w,
            },
        ))
    }
}
