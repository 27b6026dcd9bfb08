//! Small dense linear algebra in plain `f64`: row-major products and a singular value
//! decomposition `A = U diag(s) Vᵀ` by one-sided Jacobi rotations (Hestenes 1958), used for the
//! modes `Σyx = Σ_α s_α u_α v_αᵀ` of Saxe et al. (SCIENCE.md §C.1) on matrices of up to a few
//! hundred rows and columns.
//!
//! Sign convention: the largest-magnitude component of each right singular vector `v_α` is
//! positive (the first one on a tie), and `u_α` is flipped with it, so results are deterministic.

use crate::error::TheoryError;

/// `C = A B` for row-major `A` (m×k) and `B` (k×n); `C` is row-major m×n.
pub fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    debug_assert_eq!(a.len(), m * k);
    debug_assert_eq!(b.len(), k * n);
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        let row = &mut c[i * n..(i + 1) * n];
        for p in 0..k {
            let aip = a[i * k + p];
            if aip == 0.0 {
                continue;
            }
            for (cj, bj) in row.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                *cj += aip * bj;
            }
        }
    }
    c
}

/// `y = A x` for row-major `A` (m×n).
pub fn matvec(a: &[f64], x: &[f64], m: usize, n: usize) -> Vec<f64> {
    debug_assert_eq!(a.len(), m * n);
    debug_assert_eq!(x.len(), n);
    (0..m).map(|i| dot(&a[i * n..(i + 1) * n], x)).collect()
}

/// The transpose of a row-major m×n matrix (row-major n×m).
pub fn transpose(a: &[f64], m: usize, n: usize) -> Vec<f64> {
    debug_assert_eq!(a.len(), m * n);
    let mut t = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            t[j * m + i] = a[i * n + j];
        }
    }
    t
}

/// The row-major n×n identity.
pub fn identity(n: usize) -> Vec<f64> {
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        m[i * n + i] = 1.0;
    }
    m
}

/// Inner product (in index order).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Euclidean (Frobenius for a flattened matrix) norm.
pub fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// A thin singular value decomposition `A ≈ U diag(s) Vᵀ` keeping the `rank` singular values
/// above the relative tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct Svd {
    /// Rows m of `A`.
    pub rows: usize,
    /// Columns n of `A`.
    pub cols: usize,
    /// Number of kept singular values r.
    pub rank: usize,
    /// Left singular vectors, row-major m×r (column α is `u_α`).
    pub u: Vec<f64>,
    /// Singular values, descending, length r.
    pub s: Vec<f64>,
    /// Right singular vectors, row-major n×r (column α is `v_α`).
    pub v: Vec<f64>,
}

impl Svd {
    /// Decomposes the row-major m×n matrix `a`, keeping singular values `> rel_tol · s_max`
    /// (and `> 0`). A typical `rel_tol` is `1e-12`.
    pub fn new(a: &[f64], m: usize, n: usize, rel_tol: f64) -> Result<Svd, TheoryError> {
        TheoryError::check_len("linalg::Svd", "a", a.len(), m * n, "rows * cols")?;
        if !(rel_tol.is_finite() && rel_tol >= 0.0) {
            return Err(TheoryError::param(
                "linalg::Svd",
                "rel_tol",
                rel_tol,
                "finite and >= 0",
            ));
        }
        if let Some(&bad) = a.iter().find(|x| !x.is_finite()) {
            return Err(TheoryError::param(
                "linalg::Svd",
                "a",
                bad,
                "finite entries",
            ));
        }
        if m < n {
            let t = Svd::new(&transpose(a, m, n), n, m, rel_tol)?;
            // Aᵀ = U' S V'ᵀ ⇒ A = V' S U'ᵀ; re-apply the sign convention on the new V.
            let mut out = Svd {
                rows: m,
                cols: n,
                rank: t.rank,
                u: t.v,
                s: t.s,
                v: t.u,
            };
            out.fix_signs();
            return Ok(out);
        }
        Ok(jacobi(a, m, n, rel_tol))
    }

    /// Column α of U (length m).
    pub fn u_col(&self, alpha: usize) -> Vec<f64> {
        (0..self.rows)
            .map(|i| self.u[i * self.rank + alpha])
            .collect()
    }

    /// Column α of V (length n).
    pub fn v_col(&self, alpha: usize) -> Vec<f64> {
        (0..self.cols)
            .map(|j| self.v[j * self.rank + alpha])
            .collect()
    }

    /// `Σ_α w_α u_α v_αᵀ` (row-major m×n) for per-mode weights `w` (e.g. `s` reconstructs `A`).
    pub fn combine(&self, w: &[f64]) -> Vec<f64> {
        let (m, n, r) = (self.rows, self.cols, self.rank);
        let mut out = vec![0.0; m * n];
        for (alpha, &wa) in w.iter().enumerate().take(r) {
            for i in 0..m {
                let ui = wa * self.u[i * r + alpha];
                if ui == 0.0 {
                    continue;
                }
                for j in 0..n {
                    out[i * n + j] += ui * self.v[j * r + alpha];
                }
            }
        }
        out
    }

    /// `U diag(s) Vᵀ`.
    pub fn reconstruct(&self) -> Vec<f64> {
        self.combine(&self.s)
    }

    fn fix_signs(&mut self) {
        let r = self.rank;
        for alpha in 0..r {
            let mut best = 0usize;
            for j in 0..self.cols {
                if self.v[j * r + alpha].abs() > self.v[best * r + alpha].abs() {
                    best = j;
                }
            }
            if self.v[best * r + alpha] < 0.0 {
                for j in 0..self.cols {
                    self.v[j * r + alpha] = -self.v[j * r + alpha];
                }
                for i in 0..self.rows {
                    self.u[i * r + alpha] = -self.u[i * r + alpha];
                }
            }
        }
    }
}

/// One-sided Jacobi for m ≥ n: rotate column pairs of G = A V until all are orthogonal; then
/// `s_j = ||g_j||`, `u_j = g_j / s_j`.
fn jacobi(a: &[f64], m: usize, n: usize, rel_tol: f64) -> Svd {
    // Column-major working copies: columns are contiguous, which the rotations touch.
    let mut g: Vec<Vec<f64>> = (0..n)
        .map(|j| (0..m).map(|i| a[i * n + j]).collect())
        .collect();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|j| (0..n).map(|i| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    let eps = f64::EPSILON;
    for _sweep in 0..100 {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let alpha = dot(&g[p], &g[p]);
                let beta = dot(&g[q], &g[q]);
                let gamma = dot(&g[p], &g[q]);
                if alpha == 0.0 || beta == 0.0 || gamma.abs() <= eps * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                let (gp, gq) = pair(&mut g, p, q);
                rotate(gp, gq, c, s);
                let (vp, vq) = pair(&mut v, p, q);
                rotate(vp, vq, c, s);
            }
        }
        if !rotated {
            break;
        }
    }
    let norms: Vec<f64> = g.iter().map(|c| norm(c)).collect();
    let mut order: Vec<usize> = (0..n).collect();
    // Stable sort: ties keep column order, so the result is deterministic.
    order.sort_by(|&i, &j| norms[j].total_cmp(&norms[i]));
    let smax = norms
        .get(order.first().copied().unwrap_or(0))
        .copied()
        .unwrap_or(0.0);
    let kept: Vec<usize> = order
        .into_iter()
        .filter(|&j| norms[j] > 0.0 && norms[j] > rel_tol * smax)
        .collect();
    let r = kept.len();
    let mut out = Svd {
        rows: m,
        cols: n,
        rank: r,
        u: vec![0.0; m * r],
        s: kept.iter().map(|&j| norms[j]).collect(),
        v: vec![0.0; n * r],
    };
    for (alpha, &j) in kept.iter().enumerate() {
        for (i, gi) in g[j].iter().enumerate() {
            out.u[i * r + alpha] = gi / norms[j];
        }
        for (i, vi) in v[j].iter().enumerate() {
            out.v[i * r + alpha] = *vi;
        }
    }
    out.fix_signs();
    out
}

fn pair(cols: &mut [Vec<f64>], p: usize, q: usize) -> (&mut Vec<f64>, &mut Vec<f64>) {
    let (lo, hi) = cols.split_at_mut(q);
    (&mut lo[p], &mut hi[0])
}

fn rotate(x: &mut [f64], y: &mut [f64], c: f64, s: f64) {
    for (a, b) in x.iter_mut().zip(y.iter_mut()) {
        let (xa, yb) = (*a, *b);
        *a = c * xa - s * yb;
        *b = s * xa + c * yb;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random matrix (no RNG dependency).
    fn pseudo(m: usize, n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..m * n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    fn check(a: &[f64], m: usize, n: usize, svd: &Svd) {
        let scale = norm(a).max(1e-300);
        let rec = svd.reconstruct();
        let err = norm(&rec.iter().zip(a).map(|(x, y)| x - y).collect::<Vec<_>>());
        assert!(
            err <= 1e-12 * scale,
            "reconstruction error {err} for ‖A‖ = {scale}"
        );
        let r = svd.rank;
        let utu = matmul(&transpose(&svd.u, m, r), &svd.u, r, m, r);
        let vtv = matmul(&transpose(&svd.v, n, r), &svd.v, r, n, r);
        for (x, y) in utu
            .iter()
            .zip(identity(r))
            .chain(vtv.iter().zip(identity(r)))
        {
            assert!((x - y).abs() < 1e-12, "not orthonormal: {x} vs {y}");
        }
        for w in svd.s.windows(2) {
            assert!(w[0] >= w[1]);
        }
        for alpha in 0..r {
            let v = svd.v_col(alpha);
            let big = v
                .iter()
                .fold(0.0f64, |b, x| if x.abs() > b.abs() { *x } else { b });
            assert!(big > 0.0);
        }
    }

    #[test]
    fn random_tall_and_wide_reconstruct() {
        for (m, n, seed) in [(7, 4, 1), (4, 7, 2), (30, 30, 3), (50, 12, 4), (1, 5, 5)] {
            let a = pseudo(m, n, seed);
            let svd = Svd::new(&a, m, n, 1e-12).unwrap();
            assert_eq!(svd.rank, m.min(n));
            check(&a, m, n, &svd);
        }
    }

    #[test]
    fn known_singular_values() {
        // diag(3, 1, 0.3) rotated by permutations and a sign keeps its singular values.
        let a = vec![0.0, -1.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.3];
        let svd = Svd::new(&a, 3, 3, 1e-12).unwrap();
        for (x, y) in svd.s.iter().zip([3.0, 1.0, 0.3]) {
            assert!((x - y).abs() < 1e-14);
        }
        check(&a, 3, 3, &svd);
        // [[3, 0], [4, 5]] has singular values 3√5 and √5.
        let b = vec![3.0, 0.0, 4.0, 5.0];
        let svd = Svd::new(&b, 2, 2, 0.0).unwrap();
        assert!((svd.s[0] - 45f64.sqrt()).abs() < 1e-13);
        assert!((svd.s[1] - 5f64.sqrt()).abs() < 1e-13);
    }

    #[test]
    fn rank_deficient_is_cut() {
        // Rank 2: A = x yᵀ + z wᵀ.
        let (m, n) = (6, 5);
        let f = pseudo(m, 2, 7);
        let g = pseudo(2, n, 8);
        let a = matmul(&f, &g, m, 2, n);
        let svd = Svd::new(&a, m, n, 1e-10).unwrap();
        assert_eq!(svd.rank, 2);
        check(&a, m, n, &svd);
        let zero = Svd::new(&[0.0; 6], 2, 3, 1e-12).unwrap();
        assert_eq!(zero.rank, 0);
    }

    #[test]
    fn tied_singular_values() {
        // An orthogonal matrix times 2: every singular value is 2.
        let c = (0.3f64).cos();
        let s = (0.3f64).sin();
        let a = vec![2.0 * c, -2.0 * s, 0.0, 2.0 * s, 2.0 * c, 0.0, 0.0, 0.0, 2.0];
        let svd = Svd::new(&a, 3, 3, 1e-12).unwrap();
        assert_eq!(svd.rank, 3);
        for x in &svd.s {
            assert!((x - 2.0).abs() < 1e-14);
        }
        check(&a, 3, 3, &svd);
        // A hierarchy-like matrix with ties inside a level.
        let y = vec![
            1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, //
            1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, //
            1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, //
            1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0,
        ];
        let svd = Svd::new(&y, 4, 7, 1e-12).unwrap();
        check(&y, 4, 7, &svd);
        assert!((svd.s[2] - svd.s[3]).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(Svd::new(&[1.0, 2.0], 2, 2, 1e-12).is_err());
        assert!(Svd::new(&[f64::NAN], 1, 1, 1e-12).is_err());
    }
}
