//! The optimal constant solution (OCS) and what a linear predictor's outputs say about it
//! (Rubruck, Bauer, Saxe & Summerfield 2024; SCIENCE.md §P1.3 and §P1.4 c).
//!
//! OCS under squared loss: `c* = ȳ`. With one-hot inputs scaled to `x_i = √P e_i` (`Σxx = I`),
//! `Σyx = Yᵀ/√P` (Y is P×K here, one row per item). Writing `Y = 1ȳᵀ + Ỹ` (centred `Ỹ`),
//! `(ȳ/||ȳ||, 1/√P)` is an exact singular pair of `Σyx` with value `s_OCS = ||ȳ||` iff
//! `Ỹᵀȳ = 0` with items as columns (SCIENCE.md's layout; `Ỹ ȳ = 0` for this row-major Y).
//! For a predictor `f(x) = W x + c` all of
//! `d_OCS = E||f(x) − ȳ||²`, `V_x = E||W(x − x̄)||²`, `||W x̄ + c − ȳ||²` and the loss
//! `½ E||y − f(x)||²` follow from the data moments, with `d_OCS = V_x + ||W x̄ + c − ȳ||²`.

use crate::error::TheoryError;
use crate::linalg::{dot, matvec, norm, Svd};
use crate::moments::Moments;

/// Whether the OCS is a mode of `Σyx` for scaled one-hot inputs, and how strong it is.
#[derive(Debug, Clone, PartialEq)]
pub struct OcsPair {
    /// The mean target `ȳ` (the OCS).
    pub y_mean: Vec<f64>,
    /// `s_OCS = ||ȳ||`.
    pub s_ocs: f64,
    /// `||Ỹᵀȳ||` (items as columns; `||Ỹ ȳ||` for this row-major Y): zero iff
    /// `(ȳ/||ȳ||, 1/√P)` is an exact singular pair.
    pub residual: f64,
    /// `residual / (√P ||ȳ||²)` = `||Σyxᵀ û − s_OCS v̂|| / s_OCS` for the candidate pair; 0 when
    /// `ȳ = 0`.
    pub relative_residual: f64,
    /// The largest singular value of the centred correlation `Ỹᵀ/√P` (the strongest
    /// input-specific mode).
    pub centred_top: f64,
}

impl OcsPair {
    /// Analyses row-major targets `y` (P×K) of P one-hot items.
    pub fn from_targets(y: &[f64], examples: usize, outputs: usize) -> Result<Self, TheoryError> {
        const WHAT: &str = "ocs::OcsPair";
        if examples == 0 {
            return Err(TheoryError::param(WHAT, "examples", 0.0, ">= 1"));
        }
        TheoryError::check_len(WHAT, "y", y.len(), examples * outputs, "examples * outputs")?;
        let (p, k) = (examples, outputs);
        let mut y_mean = vec![0.0; k];
        for row in y.chunks(k.max(1)).take(p) {
            for (m, v) in y_mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        for m in &mut y_mean {
            *m /= p as f64;
        }
        let mut centred = y.to_vec();
        for row in centred.chunks_mut(k.max(1)).take(p) {
            for (v, m) in row.iter_mut().zip(&y_mean) {
                *v -= m;
            }
        }
        let s_ocs = norm(&y_mean);
        let residual = norm(&matvec(&centred, &y_mean, p, k));
        let relative_residual = if s_ocs > 0.0 {
            residual / ((p as f64).sqrt() * s_ocs * s_ocs)
        } else {
            0.0
        };
        let scaled: Vec<f64> = centred.iter().map(|v| v / (p as f64).sqrt()).collect();
        let svd = Svd::new(&scaled, p, k, 1e-12)?;
        Ok(OcsPair {
            y_mean,
            s_ocs,
            residual,
            relative_residual,
            centred_top: svd.s.first().copied().unwrap_or(0.0),
        })
    }

    /// Whether the pair is exact to `tol` in [`OcsPair::relative_residual`].
    pub fn is_exact(&self, tol: f64) -> bool {
        self.relative_residual <= tol
    }

    /// Whether the OCS mode is strictly the strongest (`||ȳ|| > s_max(Ỹ)/√P`), so it is learned
    /// first from a small balanced initialisation. A tie to `1e-12` relative (a balanced tree
    /// without a root unit) is not "first".
    pub fn learned_first(&self) -> bool {
        self.s_ocs > self.centred_top * (1.0 + 1e-12)
    }
}

/// OCS-related measurements of a linear predictor `f(x) = W x + c`, from data moments only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearPrediction {
    /// `d_OCS = E||W x + c − ȳ||²`.
    pub d_ocs: f64,
    /// Input sensitivity `V_x = E||W (x − x̄)||²`.
    pub input_sensitivity: f64,
    /// Mean-output error `||W x̄ + c − ȳ||²`.
    pub mean_output_error: f64,
    /// The loss `½ E||y − W x − c||²`.
    pub loss: f64,
    /// The label variance `E||y − ȳ||²` (the value of `d_OCS` once the task is fitted).
    pub label_variance: f64,
}

impl LinearPrediction {
    /// Evaluates `W` (row-major K×n) and `c` (length K) on the moments.
    pub fn evaluate(m: &Moments, w: &[f64], c: &[f64]) -> Result<Self, TheoryError> {
        const WHAT: &str = "ocs::LinearPrediction";
        let (n, k) = (m.inputs, m.outputs);
        TheoryError::check_len(WHAT, "w", w.len(), k * n, "outputs * inputs")?;
        TheoryError::check_len(WHAT, "c", c.len(), k, "outputs")?;
        // tr(W Σxx Wᵀ) = E||W x||².
        let mut second = 0.0;
        for a in 0..k {
            let wa = &w[a * n..(a + 1) * n];
            second += dot(wa, &matvec(&m.sigma_xx, wa, n, n));
        }
        let wx = matvec(w, &m.x_mean, k, n);
        let wx_sq = dot(&wx, &wx);
        let input_sensitivity = (second - wx_sq).max(0.0);
        let mean_output_error: f64 = (0..k)
            .map(|a| {
                let d = wx[a] + c[a] - m.y_mean[a];
                d * d
            })
            .sum();
        let cross = dot(w, &m.sigma_yx);
        let loss = 0.5
            * (m.y_sq_mean - 2.0 * cross - 2.0 * dot(c, &m.y_mean)
                + second
                + 2.0 * dot(c, &wx)
                + dot(c, c));
        Ok(LinearPrediction {
            d_ocs: input_sensitivity + mean_output_error,
            input_sensitivity,
            mean_output_error,
            loss: loss.max(0.0),
            label_variance: m.label_variance(),
        })
    }

    /// `d_OCS / E||y − ȳ||²` (1 once the task is fitted; NaN for constant targets).
    pub fn d_ocs_over_label_variance(&self) -> f64 {
        self.d_ocs / self.label_variance
    }
}

/// The network map of decoupled modes, `W(t) = Σ_α u_α(t) u_α v_αᵀ` (row-major K×n), from the
/// SVD of a `Σyx` and one strength per kept mode.
pub fn decoupled_prediction(svd: &Svd, u: &[f64]) -> Result<Vec<f64>, TheoryError> {
    TheoryError::check_len(
        "ocs::decoupled_prediction",
        "u",
        u.len(),
        svd.rank,
        "svd.rank",
    )?;
    Ok(svd.combine(u))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P = 4 items, 2 superordinate + 4 basic units (SCIENCE.md §P1.4 table).
    fn tree(root: bool) -> (Vec<f64>, usize) {
        let mut y = Vec::new();
        for i in 0..4 {
            if root {
                y.push(1.0);
            }
            for s in 0..2 {
                y.push(f64::from(u8::from(i / 2 == s)));
            }
            for b in 0..4 {
                y.push(f64::from(u8::from(i == b)));
            }
        }
        let k = if root { 7 } else { 6 };
        (y, k)
    }

    #[test]
    fn balanced_tree_ocs_is_exact() {
        let (y, k) = tree(false);
        let o = OcsPair::from_targets(&y, 4, k).unwrap();
        assert!((o.s_ocs - 0.75f64.sqrt()).abs() < 1e-14);
        assert!(o.is_exact(1e-14));
        // Ties with the superordinate mode (SCIENCE.md table: 0.866 both).
        assert!((o.centred_top - 0.866_025_403_784_438_6).abs() < 1e-12);
        assert!(!o.learned_first());
        let (y, k) = tree(true);
        let o = OcsPair::from_targets(&y, 4, k).unwrap();
        assert!((o.s_ocs - 1.75f64.sqrt()).abs() < 1e-14);
        assert!(o.learned_first());
        // An unbalanced label breaks exactness.
        let y = vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        assert!(!OcsPair::from_targets(&y, 3, 2).unwrap().is_exact(1e-3));
    }

    #[test]
    fn prediction_from_moments_matches_a_data_pass() {
        let x = [1.0, 0.5, -0.2, 0.3, 0.7, 1.1, 0.0, -0.4, 0.9];
        let y = [1.0, 0.0, 0.2, 1.5, -0.3, 0.4];
        let (p, n, k) = (3, 3, 2);
        let m = Moments::from_data(&x, &y, p, n, k).unwrap();
        let w = [0.2, -0.1, 0.4, 0.3, 0.05, -0.6];
        let c = [0.1, -0.2];
        let lp = LinearPrediction::evaluate(&m, &w, &c).unwrap();
        let f: Vec<Vec<f64>> = (0..p)
            .map(|mu| {
                let mut o = matvec(&w, &x[mu * n..(mu + 1) * n], k, n);
                for a in 0..k {
                    o[a] += c[a];
                }
                o
            })
            .collect();
        let fbar: Vec<f64> = (0..k)
            .map(|a| f.iter().map(|o| o[a]).sum::<f64>() / 3.0)
            .collect();
        let (mut d, mut v, mut l) = (0.0, 0.0, 0.0);
        for mu in 0..p {
            for a in 0..k {
                d += (f[mu][a] - m.y_mean[a]).powi(2) / 3.0;
                v += (f[mu][a] - fbar[a]).powi(2) / 3.0;
                l += 0.5 * (f[mu][a] - y[mu * k + a]).powi(2) / 3.0;
            }
        }
        let e: f64 = (0..k).map(|a| (fbar[a] - m.y_mean[a]).powi(2)).sum();
        assert!((lp.d_ocs - d).abs() < 1e-14);
        assert!((lp.input_sensitivity - v).abs() < 1e-14);
        assert!((lp.loss - l).abs() < 1e-14);
        assert!((lp.mean_output_error - e).abs() < 1e-14);
    }

    #[test]
    fn decoupled_prediction_at_s_fits_the_correlation() {
        let a = [3.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        let svd = Svd::new(&a, 2, 3, 1e-12).unwrap();
        let w = decoupled_prediction(&svd, &svd.s).unwrap();
        for (x, y) in w.iter().zip(a) {
            assert!((x - y).abs() < 1e-14);
        }
        assert!(decoupled_prediction(&svd, &[1.0]).is_err());
    }
}
