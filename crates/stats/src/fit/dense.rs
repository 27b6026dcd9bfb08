//! Small dense symmetric positive-definite solves for the fits (a handful of parameters):
//! Cholesky factorisation `S = L Lᵀ` of the Jacobi-scaled matrix `S = D A D`,
//! `D = diag(A)^{−½}` (unit diagonal, so the pivot test below is scale-free), with `A⁻¹ =
//! D S⁻¹ D`. A pivot `L_jj² ≤ 1e-13` means column `j` is a linear combination of the earlier
//! ones to working precision (condition number of `S` beyond about `10¹³`).

const PIVOT_MIN: f64 = 1e-13;

/// The Jacobi scaling and the Cholesky factor (row-major, lower) of the scaled matrix, or the
/// index of the first pivot that vanished.
fn scaled_cholesky(a: &[f64], p: usize) -> Result<(Vec<f64>, Vec<f64>), usize> {
    let mut d = vec![0.0; p];
    for j in 0..p {
        let ajj = a[j * p + j];
        if ajj.is_nan() || ajj <= 0.0 || ajj.is_infinite() {
            return Err(j);
        }
        d[j] = 1.0 / ajj.sqrt();
    }
    let mut l = vec![0.0; p * p];
    for j in 0..p {
        for i in j..p {
            let mut s = a[i * p + j] * d[i] * d[j];
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            if i == j {
                if s.is_nan() || s <= PIVOT_MIN {
                    return Err(j);
                }
                l[j * p + j] = s.sqrt();
            } else {
                l[i * p + j] = s / l[j * p + j];
            }
        }
    }
    Ok((d, l))
}

/// Solves `L Lᵀ z = rhs` in place.
fn cholesky_solve(l: &[f64], p: usize, z: &mut [f64]) {
    for i in 0..p {
        let mut s = z[i];
        for k in 0..i {
            s -= l[i * p + k] * z[k];
        }
        z[i] = s / l[i * p + i];
    }
    for i in (0..p).rev() {
        let mut s = z[i];
        for k in i + 1..p {
            s -= l[k * p + i] * z[k];
        }
        z[i] = s / l[i * p + i];
    }
}

/// Solves `A x = b` for a symmetric positive-definite `p × p` matrix `A` (row-major); on
/// failure returns the index of the unidentified column.
pub(crate) fn spd_solve(a: &[f64], b: &[f64], p: usize) -> Result<Vec<f64>, usize> {
    let (d, l) = scaled_cholesky(a, p)?;
    let mut z: Vec<f64> = b.iter().zip(&d).map(|(bi, di)| bi * di).collect();
    cholesky_solve(&l, p, &mut z);
    Ok(z.iter().zip(&d).map(|(zi, di)| zi * di).collect())
}

/// The inverse of a symmetric positive-definite `p × p` matrix (row-major).
pub(crate) fn spd_inverse(a: &[f64], p: usize) -> Result<Vec<f64>, usize> {
    let (d, l) = scaled_cholesky(a, p)?;
    let mut inv = vec![0.0; p * p];
    let mut col = vec![0.0; p];
    for j in 0..p {
        col.iter_mut().for_each(|c| *c = 0.0);
        col[j] = 1.0;
        cholesky_solve(&l, p, &mut col);
        for i in 0..p {
            inv[i * p + j] = d[i] * col[i] * d[j];
        }
    }
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_inverts_a_known_matrix() {
        // A = [[4, 2], [2, 3]], det 8, A⁻¹ = [[3, −2], [−2, 4]]/8.
        let a = [4.0, 2.0, 2.0, 3.0];
        let inv = spd_inverse(&a, 2).unwrap();
        let want = [0.375, -0.25, -0.25, 0.5];
        for (g, w) in inv.iter().zip(want) {
            assert!((g - w).abs() < 1e-15);
        }
        let x = spd_solve(&a, &[2.0, 1.0], 2).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-15 && x[1].abs() < 1e-15);
        assert_eq!(spd_solve(&[1.0, 1.0, 1.0, 1.0], &[1.0, 1.0], 2), Err(1));
        assert_eq!(spd_solve(&[0.0, 0.0, 0.0, 1.0], &[1.0, 1.0], 2), Err(0));
    }
}
