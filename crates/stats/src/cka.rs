//! Linear centred kernel alignment (CKA) between two representations of the same examples
//! (S. Kornblith, M. Norouzi, H. Lee & G. Hinton, "Similarity of neural network representations
//! revisited", ICML 2019, eq. 5).
//!
//! For `X` (`n × p₁`) and `Y` (`n × p₂`), row `i` of both describing example `i`, with columns
//! centred (`X ← HX`, `H = I − 11ᵀ/n`):
//!
//! `CKA(X, Y) = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)`, in `[0, 1]`.
//!
//! Two algebraically identical forms are computed, all sums accumulated in `f64`:
//!
//! - **Feature space** ([`CkaForm::Features`]): the cross-covariances `YᵀX` (`p₂ × p₁`), `XᵀX`
//!   and `YᵀY` directly; `O(n (p₁ + p₂)²)` time.
//! - **Example space** ([`CkaForm::Gram`]): the centred Gram matrices `K = XXᵀ`, `L = YYᵀ`
//!   (`n × n`), using `‖YᵀX‖²_F = tr(XᵀYYᵀX) = ⟨K, L⟩_F` and `‖XᵀX‖_F = ‖XXᵀ‖_F` (both are
//!   `(Σ σᵢ⁴)^{1/2}` over the singular values of `X`); `O(n² (p₁ + p₂))` time. Centring the
//!   columns first is the same as `K ← HKH` (the HSIC form of the paper).
//!
//! [`linear_cka`] picks the cheaper form: example space when `n < p₁ + p₂` (wide layers, few
//! examples), feature space otherwise. CKA is invariant to orthogonal transforms and isotropic
//! scaling of either side, not to general invertible linear maps.
//!
//! A column whose values are all equal is centred to exactly zero (not to the rounding residue
//! of its mean), so a representation with no spread is reported as
//! [`StatsError::ZeroVariance`] rather than as a CKA of rounding noise.

use serde::{Deserialize, Serialize};

use crate::error::{check_finite, check_len, Result, StatsError};

/// Which of the two equivalent forms of linear CKA to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CkaForm {
    /// Example space when `n < p₁ + p₂`, feature space otherwise (what [`linear_cka`] does).
    Auto,
    /// Through the `n × n` centred Gram matrices.
    Gram,
    /// Through the `p × p` feature cross-covariances.
    Features,
}

const WHAT: &str = "linear_cka";

/// Linear CKA of `x` (`n × p₁`) and `y` (`n × p₂`), both row-major with one row per example;
/// the widths `p₁ = x.len()/n`, `p₂ = y.len()/n` are inferred. Needs `n ≥ 2`, finite values and
/// some spread on both sides.
pub fn linear_cka(x: &[f64], y: &[f64], n: usize) -> Result<f64> {
    linear_cka_with(x, y, n, CkaForm::Auto)
}

/// [`linear_cka`] evaluated in the given [`CkaForm`] (the forms agree up to rounding).
pub fn linear_cka_with(x: &[f64], y: &[f64], n: usize, form: CkaForm) -> Result<f64> {
    check_len(WHAT, 2, n)?;
    let p1 = width("x", x.len(), n)?;
    let p2 = width("y", y.len(), n)?;
    check_finite(WHAT, "x", x)?;
    check_finite(WHAT, "y", y)?;
    let xc = centre_columns(x, n, p1);
    let yc = centre_columns(y, n, p2);
    let use_gram = match form {
        CkaForm::Auto => n < p1 + p2,
        CkaForm::Gram => true,
        CkaForm::Features => false,
    };
    let (cross, xx, yy) = if use_gram {
        let k = gram(&xc, n, p1);
        let l = gram(&yc, n, p2);
        (dot(&k, &l), dot(&k, &k), dot(&l, &l))
    } else {
        let yx = cross_product(&yc, p2, &xc, p1, n);
        let xtx = cross_product(&xc, p1, &xc, p1, n);
        let yty = cross_product(&yc, p2, &yc, p2, n);
        (dot(&yx, &yx), dot(&xtx, &xtx), dot(&yty, &yty))
    };
    if xx == 0.0 {
        return Err(StatsError::ZeroVariance {
            what: WHAT,
            field: "x",
        });
    }
    if yy == 0.0 {
        return Err(StatsError::ZeroVariance {
            what: WHAT,
            field: "y",
        });
    }
    Ok((cross / (xx.sqrt() * yy.sqrt())).clamp(0.0, 1.0))
}

fn width(field: &'static str, len: usize, n: usize) -> Result<usize> {
    if len == 0 || len % n != 0 {
        return Err(StatsError::InvalidArgument {
            what: WHAT,
            field,
            value: len as f64,
            rule: "length a positive multiple of n (one row of p values per example)",
        });
    }
    Ok(len / n)
}

/// Subtracts each column's mean; a constant column becomes exactly zero.
fn centre_columns(a: &[f64], n: usize, p: usize) -> Vec<f64> {
    let mut out = a.to_vec();
    for j in 0..p {
        let first = a[j];
        if (0..n).all(|i| a[i * p + j] == first) {
            for i in 0..n {
                out[i * p + j] = 0.0;
            }
            continue;
        }
        let m = (0..n).map(|i| a[i * p + j]).sum::<f64>() / n as f64;
        for i in 0..n {
            out[i * p + j] -= m;
        }
    }
    out
}

/// `AAᵀ` (`n × n`) of a row-major `n × p` matrix.
fn gram(a: &[f64], n: usize, p: usize) -> Vec<f64> {
    let mut g = vec![0.0; n * n];
    for i in 0..n {
        let ri = &a[i * p..(i + 1) * p];
        for j in 0..=i {
            let v = dot(ri, &a[j * p..(j + 1) * p]);
            g[i * n + j] = v;
            g[j * n + i] = v;
        }
    }
    g
}

/// `AᵀB` (`pa × pb`) of row-major `n × pa` and `n × pb` matrices.
fn cross_product(a: &[f64], pa: usize, b: &[f64], pb: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; pa * pb];
    for i in 0..n {
        let (ra, rb) = (&a[i * pa..(i + 1) * pa], &b[i * pb..(i + 1) * pb]);
        for (r, &u) in ra.iter().enumerate() {
            if u == 0.0 {
                continue;
            }
            for (cv, &v) in c[r * pb..(r + 1) * pb].iter_mut().zip(rb) {
                *cv += u * v;
            }
        }
    }
    c
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use learnscope_core::host_linalg::orthonormal_columns;
    use learnscope_core::RandomKey;

    fn matmul(a: &[f64], n: usize, k: usize, b: &[f64], m: usize) -> Vec<f64> {
        let mut c = vec![0.0; n * m];
        for i in 0..n {
            for r in 0..k {
                for j in 0..m {
                    c[i * m + j] += a[i * k + r] * b[r * m + j];
                }
            }
        }
        c
    }

    fn transpose(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        let mut t = vec![0.0; a.len()];
        for i in 0..rows {
            for j in 0..cols {
                t[j * rows + i] = a[i * cols + j];
            }
        }
        t
    }

    #[test]
    fn hand_computed_examples() {
        // One column each: CKA is the squared Pearson correlation. x = 1 2 3, y = 1 3 2:
        // centred (−1, 0, 1) and (−1, 1, 0); YᵀX = 1, XᵀX = YᵀY = 2; CKA = 1/4.
        let c = linear_cka(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0], 3).unwrap();
        assert!((c - 0.25).abs() < 1e-15);
        // X = rows (1,0), (0,1), (0,0): column means 1/3, centred rows (2/3, −1/3),
        // (−1/3, 2/3), (−1/3, −1/3); XᵀX = [[2/3, −1/3], [−1/3, 2/3]], ‖XᵀX‖_F = √10/3.
        // y = 1 2 3 centred (−1, 0, 1): YᵀX = (−1, 0), ‖YᵀX‖² = 1, ‖YᵀY‖_F = 2.
        // CKA = 1 / (2 √10/3) = 3/(2√10).
        let x = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let y = [1.0, 2.0, 3.0];
        let want = 3.0 / (2.0 * 10f64.sqrt());
        for form in [CkaForm::Auto, CkaForm::Gram, CkaForm::Features] {
            assert!((linear_cka_with(&x, &y, 3, form).unwrap() - want).abs() < 1e-15);
            assert!((linear_cka_with(&y, &x, 3, form).unwrap() - want).abs() < 1e-15);
        }
    }

    #[test]
    fn self_similarity_is_one_and_forms_agree() {
        let key = RandomKey::root(11).derive("cka/forms");
        for &(n, p1, p2) in &[(7, 3, 5), (20, 40, 2), (50, 4, 6), (9, 9, 9)] {
            let x = key.derive("x").at(n as u64).normals(n * p1);
            let y: Vec<f64> = key
                .derive("y")
                .at(n as u64)
                .normals(n * p2)
                .iter()
                .enumerate()
                .map(|(i, v)| v + x[(i / p2) * p1])
                .collect();
            let g = linear_cka_with(&x, &y, n, CkaForm::Gram).unwrap();
            let f = linear_cka_with(&x, &y, n, CkaForm::Features).unwrap();
            assert!((g - f).abs() < 1e-12, "n={n}: gram {g} vs features {f}");
            assert!(g > 0.0 && g < 1.0);
            for form in [CkaForm::Gram, CkaForm::Features] {
                let s = linear_cka_with(&x, &x, n, form).unwrap();
                assert!((s - 1.0).abs() < 1e-12, "CKA(X, X) = {s}");
            }
        }
    }

    #[test]
    fn invariant_to_orthogonal_maps_and_isotropic_scaling() {
        let key = RandomKey::root(5).derive("cka/invariance");
        let (n, p1, p2) = (30, 6, 4);
        let x = key.derive("x").normals(n * p1);
        let noise = key.derive("y").normals(n * p2);
        // y depends on x so CKA is well inside (0, 1).
        let y: Vec<f64> = (0..n * p2)
            .map(|i| noise[i] + 2.0 * x[(i / p2) * p1 + i % p2])
            .collect();
        let base = linear_cka(&x, &y, n).unwrap();
        assert!(base > 0.2 && base < 0.95, "{base}");
        // X Q with Q square orthogonal, and Y Rᵀ with R (8 × 4) orthonormal columns: a width
        // change that keeps the Gram matrix.
        let q = orthonormal_columns(key.derive("q"), p1, p1);
        let xq = matmul(&x, n, p1, &q, p1);
        let r = orthonormal_columns(key.derive("r"), 8, p2);
        let yr = matmul(&y, n, p2, &transpose(&r, 8, p2), 8);
        let xs: Vec<f64> = x.iter().map(|v| -3.7 * v).collect();
        let ys: Vec<f64> = y.iter().map(|v| 1e-3 * v).collect();
        for (a, b) in [(&xq, &y), (&x, &yr), (&xq, &yr), (&xs, &y), (&x, &ys)] {
            let c = linear_cka(a, b, n).unwrap();
            assert!((c - base).abs() < 1e-12, "{c} vs {base}");
        }
        // Adding the same vector to every example does not matter either: columns are centred.
        let shifted: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| v + (i % p1) as f64)
            .collect();
        assert!((linear_cka(&shifted, &y, n).unwrap() - base).abs() < 1e-12);
    }

    #[test]
    fn independent_representations_give_a_small_value() {
        // For independent Gaussian X (n × p₁), Y (n × p₂): each entry of YᵀX has variance
        // ≈ n − 1 after centring, so E‖YᵀX‖² ≈ (n−1) p₁ p₂; ‖XᵀX‖²_F ≈ p₁(n−1)² + p₁(p₁−1)(n−1)
        // (diagonal ≈ n−1, off-diagonal variance ≈ n−1). Hence
        // CKA ≈ √(p₁p₂) / √((n−1+p₁)(n−1+p₂)) = p/(n−1+p) for p₁ = p₂ = p.
        // The numerator is a sum of p₁p₂ ≈ (n−1)χ²₁ terms, relative sd ≈ √(2/(p₁p₂)) = 0.28 for
        // p = 5; the denominator is concentrated. So 3× the expectation is ~7 sd above it.
        let (n, p) = (200, 5);
        let expected = p as f64 / (n as f64 - 1.0 + p as f64);
        for seed in 0..5u64 {
            let key = RandomKey::root(seed).derive("cka/independent");
            let x = key.derive("x").normals(n * p);
            let y = key.derive("y").normals(n * p);
            let c = linear_cka(&x, &y, n).unwrap();
            assert!(c < 3.0 * expected, "seed {seed}: {c} vs E ≈ {expected}");
            assert!(c > expected / 10.0, "seed {seed}: {c} vs E ≈ {expected}");
        }
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let x = [1.0, 2.0, 3.0];
        assert!(matches!(
            linear_cka(&[5.0, 5.0, 5.0], &x, 3),
            Err(StatsError::ZeroVariance { field: "x", .. })
        ));
        // Constant columns whose mean is not exactly representable: still zero variance.
        assert!(matches!(
            linear_cka(&x, &[0.1; 6], 3),
            Err(StatsError::ZeroVariance { field: "y", .. })
        ));
        assert!(matches!(
            linear_cka(&x, &[1.0, 2.0], 3),
            Err(StatsError::InvalidArgument { field: "y", .. })
        ));
        assert!(matches!(
            linear_cka(&[], &[], 3),
            Err(StatsError::InvalidArgument { field: "x", .. })
        ));
        assert!(matches!(
            linear_cka(&[1.0], &[2.0], 1),
            Err(StatsError::TooFewPoints { .. })
        ));
        assert!(matches!(
            linear_cka(&[1.0, f64::NAN, 3.0], &x, 3),
            Err(StatsError::NonFinite {
                field: "x",
                index: 1,
                ..
            })
        ));
    }
}
