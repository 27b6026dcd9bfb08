//! Host-side, seeded initialisers. Each returns row-major f64 values for a parameter; the key is
//! `init/<param name>` under the run's root key, so every parameter has its own stream and adding
//! a layer never changes another layer's initial values.

use learnscope_core::RandomKey;

pub use learnscope_core::host_linalg::{matmul, orthonormal_columns, transpose};

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
