//! Small dense linear algebra on host f64 matrices (row-major), for initialisations and data
//! generators: orthonormal columns by Gram–Schmidt, transposes and products. Not for hot paths.

use crate::RandomKey;

/// A `rows × cols` (rows ≥ cols) matrix with orthonormal columns: modified Gram–Schmidt on a
/// Gaussian matrix, run twice for orthogonality to rounding ("twice is enough", Giraud et al. 2005).
pub fn orthonormal_columns(key: RandomKey, rows: usize, cols: usize) -> Vec<f64> {
    assert!(
        rows >= cols,
        "orthonormal_columns needs rows >= cols ({rows} < {cols})"
    );
    let mut a = key.normals(rows * cols); // row-major
    for j in 0..cols {
        for _pass in 0..2 {
            for k in 0..j {
                let dot: f64 = (0..rows).map(|i| a[i * cols + j] * a[i * cols + k]).sum();
                for i in 0..rows {
                    a[i * cols + j] -= dot * a[i * cols + k];
                }
            }
        }
        let norm = (0..rows)
            .map(|i| a[i * cols + j].powi(2))
            .sum::<f64>()
            .sqrt();
        for i in 0..rows {
            a[i * cols + j] /= norm;
        }
    }
    a
}

/// The transpose of a row-major `rows × cols` matrix.
pub fn transpose(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut t = vec![0.0; a.len()];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = a[i * cols + j];
        }
    }
    t
}

/// Row-major product of `a` (m × k) and `b` (k × n), for building initial values.
pub fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for p in 0..k {
            let aip = a[i * k + p];
            for j in 0..n {
                c[i * n + j] += aip * b[p * n + j];
            }
        }
    }
    c
}
