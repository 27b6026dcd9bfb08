//! Data moments of a regression task (SCIENCE.md §1): `x̄ = E[x]`, `ȳ = E[y]`,
//! `Σxx = E[x xᵀ]`, `Σyx = E[y xᵀ]`, `E||y||²` — means over the P examples, not sums.
//!
//! The squared loss and its gradient flow for any linear (or deep linear) network depend on the
//! data only through these moments, so the theory never needs a pass over the data.

use crate::error::TheoryError;
use crate::linalg::{matvec, norm};

/// First and second moments of inputs `x ∈ R^n` and targets `y ∈ R^K` over P examples.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    /// Input dimension n.
    pub inputs: usize,
    /// Output dimension K.
    pub outputs: usize,
    /// Number of examples P the moments were taken over.
    pub examples: usize,
    /// `Σxx = E[x xᵀ]`, row-major n×n.
    pub sigma_xx: Vec<f64>,
    /// `Σyx = E[y xᵀ]`, row-major K×n.
    pub sigma_yx: Vec<f64>,
    /// `x̄ = E[x]` (length n).
    pub x_mean: Vec<f64>,
    /// `ȳ = E[y]` (length K).
    pub y_mean: Vec<f64>,
    /// `E||y||²`.
    pub y_sq_mean: f64,
}

impl Moments {
    /// Moments of row-major `x` (P×n) and `y` (P×K).
    pub fn from_data(
        x: &[f64],
        y: &[f64],
        examples: usize,
        inputs: usize,
        outputs: usize,
    ) -> Result<Moments, TheoryError> {
        const WHAT: &str = "Moments::from_data";
        if examples == 0 {
            return Err(TheoryError::param(WHAT, "examples", 0.0, ">= 1"));
        }
        TheoryError::check_len(WHAT, "x", x.len(), examples * inputs, "examples * inputs")?;
        TheoryError::check_len(WHAT, "y", y.len(), examples * outputs, "examples * outputs")?;
        let (n, k) = (inputs, outputs);
        let mut m = Moments {
            inputs: n,
            outputs: k,
            examples,
            sigma_xx: vec![0.0; n * n],
            sigma_yx: vec![0.0; k * n],
            x_mean: vec![0.0; n],
            y_mean: vec![0.0; k],
            y_sq_mean: 0.0,
        };
        for mu in 0..examples {
            let xr = &x[mu * n..(mu + 1) * n];
            let yr = &y[mu * k..(mu + 1) * k];
            for (i, &xi) in xr.iter().enumerate() {
                m.x_mean[i] += xi;
                for (s, &xj) in m.sigma_xx[i * n..(i + 1) * n].iter_mut().zip(xr) {
                    *s += xi * xj;
                }
            }
            for (a, &ya) in yr.iter().enumerate() {
                m.y_mean[a] += ya;
                m.y_sq_mean += ya * ya;
                for (s, &xj) in m.sigma_yx[a * n..(a + 1) * n].iter_mut().zip(xr) {
                    *s += ya * xj;
                }
            }
        }
        let inv = 1.0 / examples as f64;
        for v in m
            .sigma_xx
            .iter_mut()
            .chain(m.sigma_yx.iter_mut())
            .chain(m.x_mean.iter_mut())
            .chain(m.y_mean.iter_mut())
        {
            *v *= inv;
        }
        m.y_sq_mean *= inv;
        Ok(m)
    }

    /// `E[(y − ȳ) xᵀ] = Σyx − ȳ x̄ᵀ` (row-major K×n): the input–output correlation that the
    /// weights learn once an output bias has absorbed the mean (SCIENCE.md §P1.4 b).
    pub fn centred_sigma_yx(&self) -> Vec<f64> {
        let n = self.inputs;
        let mut c = self.sigma_yx.clone();
        for a in 0..self.outputs {
            for j in 0..n {
                c[a * n + j] -= self.y_mean[a] * self.x_mean[j];
            }
        }
        c
    }

    /// The label variance `E||y − ȳ||² = E||y||² − ||ȳ||²` (the final `d_OCS` of a fitted task).
    pub fn label_variance(&self) -> f64 {
        self.y_sq_mean - self.y_mean.iter().map(|v| v * v).sum::<f64>()
    }

    /// Whether `Σxx v = v` to `tol` (max abs deviation) for every column `v` of the row-major
    /// n×r matrix `v_columns`: the inputs are white on those directions, so Saxe's decoupled
    /// solutions apply to modes with these right singular vectors.
    pub fn is_white_on(&self, v_columns: &[f64], tol: f64) -> bool {
        let n = self.inputs;
        if n == 0 || v_columns.len() % n != 0 {
            return false;
        }
        let r = v_columns.len() / n;
        (0..r).all(|alpha| {
            let v: Vec<f64> = (0..n).map(|j| v_columns[j * r + alpha]).collect();
            let sv = matvec(&self.sigma_xx, &v, n, n);
            sv.iter().zip(&v).all(|(a, b)| (a - b).abs() <= tol)
        })
    }

    /// `||x̄||`; zero for centred inputs.
    pub fn x_mean_norm(&self) -> f64 {
        norm(&self.x_mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_a_small_set() {
        // P = 2, n = 2, K = 1.
        let x = [1.0, 0.0, 1.0, 2.0];
        let y = [1.0, 3.0];
        let m = Moments::from_data(&x, &y, 2, 2, 1).unwrap();
        assert_eq!(m.x_mean, vec![1.0, 1.0]);
        assert_eq!(m.y_mean, vec![2.0]);
        assert_eq!(m.sigma_xx, vec![1.0, 1.0, 1.0, 2.0]);
        assert_eq!(m.sigma_yx, vec![2.0, 3.0]);
        assert_eq!(m.y_sq_mean, 5.0);
        assert_eq!(m.centred_sigma_yx(), vec![0.0, 1.0]);
        assert_eq!(m.label_variance(), 1.0);
    }

    #[test]
    fn whitened_one_hot_is_white() {
        let p = 4;
        let s = (p as f64).sqrt();
        let mut x = vec![0.0; p * p];
        for i in 0..p {
            x[i * p + i] = s;
        }
        let y = vec![1.0; p];
        let m = Moments::from_data(&x, &y, p, p, 1).unwrap();
        let v = vec![0.5, 0.5, 0.5, 0.5];
        assert!(m.is_white_on(&v, 1e-14));
        let not = vec![1.0, 0.0, 0.0, 0.0];
        assert!(m.is_white_on(&not, 1e-14));
        let mut x2 = x.clone();
        x2[0] = 1.0;
        let m2 = Moments::from_data(&x2, &y, p, p, 1).unwrap();
        assert!(!m2.is_white_on(&not, 1e-3));
    }

    #[test]
    fn bad_shapes_are_named() {
        let e = Moments::from_data(&[1.0], &[1.0], 2, 1, 1).unwrap_err();
        assert!(e.to_string().contains("`x`"), "{e}");
    }
}
