//! The eigenbasis of the training inputs' moment matrix, shared by PCA and ZCA whitening.
//!
//! For n training inputs x_μ ∈ R^d and offset m (the training mean x̄ when `centred`, else 0):
//!
//! M = (1/n) Σ_μ (x_μ − m)(x_μ − m)ᵀ = V diag(λ) Vᵀ,  λ₁ ≥ λ₂ ≥ … ≥ λ_d,
//!
//! i.e. the covariance Σ = E[(x − x̄)(x − x̄)ᵀ] (centred) or the uncentred second moment
//! Σxx = E[x xᵀ] that P2's PC-bias formulas use (SCIENCE.md §1, §P2); the two differ by the
//! mean outer product, E[x xᵀ] = Σ + x̄ x̄ᵀ. Moments are means; P2's sums XXᵀ have eigenvalues
//! n·λ ([`EigenBasis::eigenvalues_as_sums`]). The eigenvectors' signs are fixed so that each
//! vector's largest-magnitude entry (the first one on ties) is positive, which makes the basis a
//! deterministic function of M. Products use faer's matrix multiply in blocks of
//! [`BLOCK_ROWS`] examples accumulated in index order, and the symmetric eigendecomposition runs
//! sequentially, so results do not depend on the thread count.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::{self_adjoint_evd, self_adjoint_evd_scratch, ComputeEigenvectors};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

use super::error::TransformFailure;

/// Examples per block of the moment and projection products.
pub const BLOCK_ROWS: usize = 1024;

/// The eigendecomposition of a training moment matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct EigenBasis {
    /// Whether the mean was subtracted (covariance) or not (second moment).
    pub centred: bool,
    /// Input dimension d.
    pub dim: usize,
    /// Training examples n the moments were taken over.
    pub samples: usize,
    /// The training mean x̄ (recorded in both variants).
    pub mean: Vec<f64>,
    /// λ₁ ≥ … ≥ λ_d of M (tiny negative values from rounding are kept as computed).
    pub eigenvalues: Vec<f64>,
    /// Row-major d × d; row j is the unit eigenvector v_j of λ_j.
    pub eigenvectors: Vec<f64>,
}

/// The mean and the moment matrix M (row-major d × d, exactly symmetric) of `n` rows of `x`.
pub fn moment_matrix(x: &[f64], n: usize, d: usize, centred: bool) -> (Vec<f64>, Vec<f64>) {
    let mut mean = vec![0.0; d];
    for row in x.chunks(d).take(n) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
    let offset: Vec<f64> = if centred { mean.clone() } else { vec![0.0; d] };
    let mut acc = Mat::<f64>::zeros(d, d);
    let mut block = Vec::with_capacity(BLOCK_ROWS * d);
    for start in (0..n).step_by(BLOCK_ROWS) {
        let rows = BLOCK_ROWS.min(n - start);
        block.clear();
        for row in x[start * d..(start + rows) * d].chunks(d) {
            block.extend(row.iter().zip(&offset).map(|(v, m)| v - m));
        }
        let b = MatRef::from_row_major_slice(&block, rows, d);
        matmul(acc.as_mut(), Accum::Add, b.transpose(), b, 1.0, Par::Seq);
    }
    let scale = 1.0 / n.max(1) as f64;
    let mut m = vec![0.0; d * d];
    for a in 0..d {
        for b in 0..d {
            m[a * d + b] = 0.5 * (acc[(a, b)] + acc[(b, a)]) * scale;
        }
    }
    (mean, m)
}

/// The eigenvalues (descending) and unit eigenvectors (rows, sign-fixed) of a symmetric d × d
/// matrix.
pub fn symmetric_eigen(m: &[f64], d: usize) -> Result<(Vec<f64>, Vec<f64>), String> {
    let a = MatRef::from_row_major_slice(m, d, d);
    let mut s = Diag::<f64>::zeros(d);
    let mut u = Mat::<f64>::zeros(d, d);
    let par = Par::Seq;
    let mut mem = MemBuffer::new(self_adjoint_evd_scratch::<f64>(
        d,
        ComputeEigenvectors::Yes,
        par,
        Default::default(),
    ));
    self_adjoint_evd(
        a,
        s.as_mut(),
        Some(u.as_mut()),
        par,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .map_err(|e| format!("{e:?}"))?;
    // faer returns ascending eigenvalues; column j of u is the eigenvector of s[j].
    let mut values = Vec::with_capacity(d);
    let mut vectors = Vec::with_capacity(d * d);
    for j in (0..d).rev() {
        values.push(s[j]);
        let col: Vec<f64> = (0..d).map(|a| u[(a, j)]).collect();
        let mut big = 0;
        for (a, v) in col.iter().enumerate() {
            if v.abs() > col[big].abs() {
                big = a;
            }
        }
        let sign = if col[big] < 0.0 { -1.0 } else { 1.0 };
        vectors.extend(col.iter().map(|v| sign * v));
    }
    Ok((values, vectors))
}

impl EigenBasis {
    /// Fits the basis to `n` rows of `x` (row-major n × d).
    pub fn fit(x: &[f64], n: usize, d: usize, centred: bool) -> Result<Self, TransformFailure> {
        if n == 0 || d == 0 {
            return Err(TransformFailure::Unsupported {
                needs: "at least one training example with at least one input value",
                found: format!("{n} examples of dimension {d}"),
            });
        }
        let (mean, m) = moment_matrix(x, n, d, centred);
        if m.iter().any(|v| !v.is_finite()) {
            return Err(TransformFailure::Unsupported {
                needs: "finite inputs",
                found: "non-finite values in the training inputs".into(),
            });
        }
        let (eigenvalues, eigenvectors) =
            symmetric_eigen(&m, d).map_err(|detail| TransformFailure::Eigen {
                dim: d,
                moment: if centred {
                    "covariance"
                } else {
                    "second-moment"
                },
                detail,
            })?;
        Ok(EigenBasis {
            centred,
            dim: d,
            samples: n,
            mean,
            eigenvalues,
            eigenvectors,
        })
    }

    /// The offset m subtracted before projecting: x̄ (centred) or 0.
    pub fn offset(&self) -> Vec<f64> {
        if self.centred {
            self.mean.clone()
        } else {
            vec![0.0; self.dim]
        }
    }

    /// The eigenvalues of the sum Σ_μ (x_μ − m)(x_μ − m)ᵀ = n·M (P2's convention, XXᵀ).
    pub fn eigenvalues_as_sums(&self) -> Vec<f64> {
        self.eigenvalues
            .iter()
            .map(|l| l * self.samples as f64)
            .collect()
    }

    /// M rebuilt from the basis, V diag(λ) Vᵀ (row-major d × d).
    pub fn reconstruct(&self) -> Vec<f64> {
        self.v_diag_vt(&self.eigenvalues)
    }

    /// Σ_j g_j v_j v_jᵀ = V diag(g) Vᵀ (row-major d × d, exactly symmetric).
    pub fn v_diag_vt(&self, g: &[f64]) -> Vec<f64> {
        let d = self.dim;
        let v = MatRef::from_row_major_slice(&self.eigenvectors, d, d);
        let scaled = Mat::<f64>::from_fn(d, d, |j, a| g[j] * v[(j, a)]);
        let mut w = Mat::<f64>::zeros(d, d);
        matmul(
            w.as_mut(),
            Accum::Replace,
            v.transpose(),
            scaled.as_ref(),
            1.0,
            Par::Seq,
        );
        let mut out = vec![0.0; d * d];
        for a in 0..d {
            for b in 0..d {
                out[a * d + b] = 0.5 * (w[(a, b)] + w[(b, a)]);
            }
        }
        out
    }

    /// Rows of `x` (n × d) mapped to (x − m) Bᵀ for a row-major `out_dim` × d matrix `b`.
    pub(crate) fn apply_matrix(&self, x: &[f64], b: &[f64], out_dim: usize) -> Vec<f64> {
        let d = self.dim;
        let n = x.len() / d;
        let offset = self.offset();
        let bt = MatRef::from_row_major_slice(b, out_dim, d).transpose();
        let mut out = vec![0.0; n * out_dim];
        let mut block = Vec::with_capacity(BLOCK_ROWS * d);
        for start in (0..n).step_by(BLOCK_ROWS) {
            let rows = BLOCK_ROWS.min(n - start);
            block.clear();
            for row in x[start * d..(start + rows) * d].chunks(d) {
                block.extend(row.iter().zip(&offset).map(|(v, m)| v - m));
            }
            let xb = MatRef::from_row_major_slice(&block, rows, d);
            let mut r = Mat::<f64>::zeros(rows, out_dim);
            matmul(r.as_mut(), Accum::Replace, xb, bt, 1.0, Par::Seq);
            for i in 0..rows {
                for j in 0..out_dim {
                    out[(start + i) * out_dim + j] = r[(i, j)];
                }
            }
        }
        out
    }

    /// Rows of `x` (n × d) projected on the first `components` eigenvectors: (x − m)·v_j.
    pub fn project(&self, x: &[f64], components: usize) -> Vec<f64> {
        let p = components.min(self.dim);
        self.apply_matrix(x, &self.eigenvectors[..p * self.dim], p)
    }
}
