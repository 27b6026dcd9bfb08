//! Host-side, seeded initialisers. Each returns row-major f64 values for a parameter; the key is
//! `init/<param name>` under the run's root key, so every parameter has its own stream and adding
//! a layer never changes another layer's initial values.

use learnscope_core::RandomKey;

/// `n` draws from N(0, std²).
pub fn gaussian(key: RandomKey, n: usize, std: f64) -> Vec<f64> {
    key.normals(n).into_iter().map(|z| std * z).collect()
}

/// `n` draws from U(−bound, bound).
pub fn uniform(key: RandomKey, n: usize, bound: f64) -> Vec<f64> {
    key.uniforms(n, -bound, bound)
}

/// A `rows × cols` matrix with orthonormal columns (rows ≥ cols) or rows (rows < cols), times
/// `gain`: the Q factor of a Gaussian matrix with the signs of R's diagonal made positive, which
/// is Haar-distributed (Mezzadri 2007), as `torch.nn.init.orthogonal_`.
pub fn orthogonal(key: RandomKey, rows: usize, cols: usize, gain: f64) -> Vec<f64> {
    let (tall_r, tall_c) = if rows >= cols {
        (rows, cols)
    } else {
        (cols, rows)
    };
    let mut q = orthonormal_columns(key, tall_r, tall_c);
    q.iter_mut().for_each(|v| *v *= gain);
    if rows >= cols {
        q
    } else {
        transpose(&q, tall_r, tall_c)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_is_orthogonal_to_rounding() {
        for (r, c) in [(7, 3), (3, 7), (16, 16)] {
            let q = orthogonal(RandomKey::root(5), r, c, 1.0);
            // QᵀQ = I (tall) or QQᵀ = I (wide); MGS twice gives O(ε) loss of orthogonality.
            let (g, n) = if r >= c {
                (matmul(&transpose(&q, r, c), &q, c, r, c), c)
            } else {
                (matmul(&q, &transpose(&q, r, c), r, c, r), r)
            };
            for i in 0..n {
                for j in 0..n {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((g[i * n + j] - want).abs() < 1e-13, "{r}x{c} at {i},{j}");
                }
            }
        }
    }
}
