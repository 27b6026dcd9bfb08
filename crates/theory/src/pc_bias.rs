//! Principal-components bias of (deep) linear networks (Hacohen & Weinshall, "Principal
//! Components Bias in Over-parameterized Linear Models, and its Manifestation in Deep Neural
//! Networks", JMLR 23(155), 2022; SCIENCE.md §P2.2, §P2.5, §C.5).
//!
//! Conventions of P2 (**sums**, not means): the examples `x ∈ R^q` are the columns of
//! `X ∈ R^{q×n}`, the targets the columns of `Y ∈ R^{K×n}`; `Σ_XX = X Xᵀ`, `Σ_YX = Y Xᵀ`; the loss
//! is `½ ||W X − Y||²_F`. Every function here takes the examples as *rows* (`x` row-major n×q,
//! `y` row-major n×K), i.e. the arrays hold `Xᵀ` and `Yᵀ`.
//!
//! - **Principal coordinates** (Def. 1): `Σ_XX = U D Uᵀ`, `D = diag(d_1 ≥ … ≥ d_q ≥ 0)` of the
//!   *uncentred* sum; a map `W ∈ R^{K×q}` becomes `W̃ = W U` (column `j` ↔ PC `j`), and so does
//!   `M = Σ_YX U`, whose column `m_j` is the target of column `j` ([`PrincipalCoordinates`]).
//! - **Optimum**: `W_opt = Y Xᵀ (X Xᵀ)^+`, in principal coordinates `w̃_opt,j = m_j / d_j`
//!   (pseudo-inverse: directions with `d_j < rcond · d_1` are dropped) ([`w_opt`]).
//! - **Early dynamics, eq. (4)**, with the gradient-scale matrices `A_l ≈ B_l ≈ I`: gradient
//!   descent with step `μ` on an `L`-layer linear net moves column `j` of the compact map as
//!   `w_j ← (1 − μ L d_j) w_j + μ L m_j`, so
//!   `w_j^s = λ_j^s w_j^0 + (1 − λ_j^s) m_j/d_j`, `λ_j = 1 − μ L d_j` (the paper's exponent
//!   `s + 1` is an off-by-one, SCIENCE.md §P2.2). Exact for `L = 1` (Le Cun, Kanter & Solla
//!   1991, SCIENCE.md §C.5); stable iff `μ L d_1 < 2` ([`Eq4`]).
//! - **Gradient-scale matrices** (Theorem 1): `W^{s+1} = W^s − μ Σ_l A_l Er B_l + O(μ²)` with
//!   `Er = W Σ_XX − Σ_YX`, `A_l = (W_L⋯W_{l+1})(W_L⋯W_{l+1})ᵀ ∈ R^{K×K}`,
//!   `B_l = (W_{l−1}⋯W_1)ᵀ(W_{l−1}⋯W_1) ∈ R^{q×q}`; Theorem 2: both tend to `I` for wide layers
//!   ([`GradientScales`]).
//!
//! With the toolkit's mean loss (`Reduction::Mean`, ½ · mean over examples) the gradient is `n`
//! times smaller, so a step `η` on the mean loss is the step `μ = η / n` of these formulas
//! ([`sum_step`]).

use serde::{Deserialize, Serialize};

use crate::error::{non_negative, TheoryError};
use crate::linalg::{dot, identity, matmul, norm, transpose, Svd};
use crate::reduction::Reduction;

/// The step `μ` on P2's summed loss equivalent to a step `lr` on a loss with `reduction` over
/// `examples` examples: `lr / examples` for `Mean`, `lr` for `Sum`.
pub fn sum_step(lr: f64, reduction: Reduction, examples: usize) -> f64 {
    match reduction {
        Reduction::Mean => lr / examples as f64,
        Reduction::Sum => lr,
    }
}

fn check_finite(what: &'static str, field: &'static str, a: &[f64]) -> Result<(), TheoryError> {
    match a.iter().find(|v| !v.is_finite()) {
        Some(&bad) => Err(TheoryError::param(what, field, bad, "finite entries")),
        None => Ok(()),
    }
}

fn check_rcond(what: &'static str, rcond: f64) -> Result<f64, TheoryError> {
    if rcond.is_finite() && (0.0..1.0).contains(&rcond) {
        Ok(rcond)
    } else {
        Err(TheoryError::param(
            what,
            "rcond",
            rcond,
            "finite, >= 0 and < 1",
        ))
    }
}

fn check_data(what: &'static str, x: &[f64], n: usize, q: usize) -> Result<(), TheoryError> {
    if n == 0 {
        return Err(TheoryError::param(what, "n", 0.0, ">= 1"));
    }
    if q == 0 {
        return Err(TheoryError::param(what, "q", 0.0, ">= 1"));
    }
    TheoryError::check_len(what, "x", x.len(), n * q, "n * q")?;
    check_finite(what, "x", x)
}

/// `Σ_YX = Y Xᵀ` (sum over examples, row-major K×q) from row-major `x` (n×q) and `y` (n×K).
pub fn sigma_yx(
    x: &[f64],
    y: &[f64],
    n: usize,
    q: usize,
    k: usize,
) -> Result<Vec<f64>, TheoryError> {
    const WHAT: &str = "pc_bias::sigma_yx";
    check_data(WHAT, x, n, q)?;
    TheoryError::check_len(WHAT, "y", y.len(), n * k, "n * k")?;
    check_finite(WHAT, "y", y)?;
    Ok(matmul(&transpose(y, n, k), x, k, n, q))
}

/// The principal coordinate system of the inputs (Def. 1): `Σ_XX = X Xᵀ = U D Uᵀ` (uncentred,
/// summed over examples).
///
/// Computed from the SVD of the data (`Xᵀ = V S Uᵀ`, so `d_j = s_j²`), which keeps the small
/// eigenvalues accurate; singular values of `Xᵀ` at most `max(n, q) · ε · s_1` count as zero, and
/// the directions the data do not span (`d_j = 0`) complete `U` to a full
/// orthonormal basis by Gram–Schmidt on the standard basis. Signs follow [`Svd`]: the
/// largest-magnitude entry of each column `u_j` is positive.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalCoordinates {
    q: usize,
    rank: usize,
    d: Vec<f64>,
    u: Vec<f64>,
}

impl PrincipalCoordinates {
    /// The principal coordinates of the `n` examples in row-major `x` (n×q).
    pub fn new(x: &[f64], n: usize, q: usize) -> Result<PrincipalCoordinates, TheoryError> {
        const WHAT: &str = "PrincipalCoordinates::new";
        check_data(WHAT, x, n, q)?;
        // Numerical rank as in LAPACK/NumPy: singular values ≤ max(n, q) · ε · s_1 are zero.
        let svd = Svd::new(x, n, q, n.max(q) as f64 * f64::EPSILON)?;
        let rank = svd.rank;
        let mut u = vec![0.0; q * q];
        for alpha in 0..rank {
            for i in 0..q {
                u[i * q + alpha] = svd.v[i * rank + alpha];
            }
        }
        let mut d: Vec<f64> = svd.s.iter().map(|s| s * s).collect();
        // Complete the basis: orthogonalise e_1, e_2, … against the kept columns (twice, for
        // accuracy) and keep those with a substantial remainder.
        let mut cols = rank;
        for e in 0..q {
            if cols == q {
                break;
            }
            let mut c: Vec<f64> = (0..q).map(|i| if i == e { 1.0 } else { 0.0 }).collect();
            for _ in 0..2 {
                for b in 0..cols {
                    let ub: Vec<f64> = (0..q).map(|i| u[i * q + b]).collect();
                    let p = dot(&ub, &c);
                    for (ci, ui) in c.iter_mut().zip(&ub) {
                        *ci -= p * ui;
                    }
                }
            }
            let len = norm(&c);
            if len > 0.5 {
                let big = c
                    .iter()
                    .fold(0.0f64, |b, v| if v.abs() > b.abs() { *v } else { b });
                let sign = if big < 0.0 { -1.0 } else { 1.0 };
                for (i, ci) in c.iter().enumerate() {
                    u[i * q + cols] = sign * ci / len;
                }
                d.push(0.0);
                cols += 1;
            }
        }
        debug_assert_eq!(cols, q);
        Ok(PrincipalCoordinates { q, rank, d, u })
    }

    /// Input dimension q.
    pub fn dim(&self) -> usize {
        self.q
    }

    /// Number of non-zero eigenvalues `d_j` (the rank of `X`).
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Eigenvalues `d_1 ≥ … ≥ d_q ≥ 0` of `Σ_XX` (sums over examples).
    pub fn d(&self) -> &[f64] {
        &self.d
    }

    /// `U`, row-major q×q, column `j` the `j`-th principal direction.
    pub fn u(&self) -> &[f64] {
        &self.u
    }

    /// `W̃ = W U` for row-major `w` (K×q, any K ≥ 1): column `j` of the result is the component
    /// of the map along PC `j`. Also turns `Σ_YX` into `M = Σ_YX U`.
    pub fn rotate(&self, w: &[f64]) -> Result<Vec<f64>, TheoryError> {
        let k = self.rows_of("PrincipalCoordinates::rotate", w)?;
        Ok(matmul(w, &self.u, k, self.q, self.q))
    }

    /// The inverse rotation `W = W̃ Uᵀ`.
    pub fn unrotate(&self, w_rotated: &[f64]) -> Result<Vec<f64>, TheoryError> {
        let k = self.rows_of("PrincipalCoordinates::unrotate", w_rotated)?;
        Ok(matmul(
            w_rotated,
            &transpose(&self.u, self.q, self.q),
            k,
            self.q,
            self.q,
        ))
    }

    /// Number of directions kept at relative cut-off `rcond`: `d_j ≥ rcond · d_1` and `d_j > 0`.
    pub fn kept(&self, rcond: f64) -> usize {
        let d1 = self.d.first().copied().unwrap_or(0.0);
        self.d
            .iter()
            .filter(|&&dj| dj > 0.0 && dj >= rcond * d1)
            .count()
    }

    /// `W̃_opt` (K×q) from `M = Σ_YX U` (K×q): `m_j / d_j` for the kept directions, 0 elsewhere.
    pub fn w_opt_rotated(&self, m: &[f64], rcond: f64) -> Result<Vec<f64>, TheoryError> {
        const WHAT: &str = "PrincipalCoordinates::w_opt_rotated";
        check_rcond(WHAT, rcond)?;
        let k = self.rows_of(WHAT, m)?;
        let kept = self.kept(rcond);
        let q = self.q;
        let mut w = vec![0.0; k * q];
        for r in 0..k {
            for j in 0..kept {
                w[r * q + j] = m[r * q + j] / self.d[j];
            }
        }
        Ok(w)
    }

    fn rows_of(&self, what: &'static str, w: &[f64]) -> Result<usize, TheoryError> {
        let q = self.q;
        if w.is_empty() || w.len() % q != 0 {
            return Err(TheoryError::BadShape {
                what,
                field: "w",
                value: w.len(),
                rule: format!("a positive multiple of q = {q}"),
            });
        }
        check_finite(what, "w", w)?;
        Ok(w.len() / q)
    }
}

/// The least-squares map `W_opt = Y Xᵀ (X Xᵀ)^+`, in original and principal coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimalMap {
    /// Output dimension K.
    pub outputs: usize,
    /// Input dimension q.
    pub inputs: usize,
    /// Directions kept by the pseudo-inverse (`d_j ≥ rcond · d_1`, `d_j > 0`).
    pub kept: usize,
    /// `W_opt`, row-major K×q.
    pub w: Vec<f64>,
    /// `W̃_opt = W_opt U`, row-major K×q (column `j` = `m_j / d_j`, 0 for dropped directions).
    pub w_rotated: Vec<f64>,
    /// `M = Σ_YX U`, row-major K×q.
    pub m: Vec<f64>,
    /// The principal coordinates used.
    pub pc: PrincipalCoordinates,
}

/// `W_opt = Y Xᵀ (X Xᵀ)^+` for row-major `x` (n×q) and `y` (n×K), directions with
/// `d_j < rcond · d_1` dropped (SCIENCE.md §P2.5: the paper prints the inverse-less `YXᵀ(XXᵀ)`).
pub fn w_opt(
    x: &[f64],
    y: &[f64],
    n: usize,
    q: usize,
    k: usize,
    rcond: f64,
) -> Result<OptimalMap, TheoryError> {
    const WHAT: &str = "pc_bias::w_opt";
    check_rcond(WHAT, rcond)?;
    if k == 0 {
        return Err(TheoryError::param(WHAT, "k", 0.0, ">= 1"));
    }
    let syx = sigma_yx(x, y, n, q, k)?;
    let pc = PrincipalCoordinates::new(x, n, q)?;
    let m = pc.rotate(&syx)?;
    let w_rotated = pc.w_opt_rotated(&m, rcond)?;
    let w = pc.unrotate(&w_rotated)?;
    Ok(OptimalMap {
        outputs: k,
        inputs: q,
        kept: pc.kept(rcond),
        w,
        w_rotated,
        m,
        pc,
    })
}

/// Eq. (4) of P2 in principal coordinates:
/// `w_j^s = λ_j^s w_j^0 + (1 − λ_j^s) m_j/d_j`, `λ_j = 1 − μ L d_j`.
///
/// Directions with `d_j < rcond · d_1` (or `d_j = 0`) are excluded: `λ_j = 1`, the column stays
/// at `w_j^0`, and its optimum is 0 (pseudo-inverse).
#[derive(Debug, Clone, PartialEq)]
pub struct Eq4 {
    outputs: usize,
    inputs: usize,
    mu: f64,
    depth: usize,
    d1: f64,
    excluded: usize,
    lambda: Vec<f64>,
    w0: Vec<f64>,
    w_opt: Vec<f64>,
}

impl Eq4 {
    /// The eq. (4) trajectory from `m = Σ_YX U` (K×q, e.g. `pc.rotate(&sigma_yx(..)?)` or
    /// [`OptimalMap::m`]) and the initial compact map in principal coordinates `w0_rotated`
    /// (K×q), for step `mu ≥ 0` on the summed loss (see [`sum_step`]) and depth `L ≥ 1`.
    pub fn new(
        pc: &PrincipalCoordinates,
        m: &[f64],
        w0_rotated: &[f64],
        mu: f64,
        depth: usize,
        rcond: f64,
    ) -> Result<Eq4, TheoryError> {
        const WHAT: &str = "Eq4::new";
        non_negative(WHAT, "mu", mu)?;
        if depth == 0 {
            return Err(TheoryError::param(WHAT, "depth", 0.0, ">= 1"));
        }
        let w_opt = pc.w_opt_rotated(m, rcond)?;
        let q = pc.dim();
        let k = m.len() / q;
        TheoryError::check_len(WHAT, "w0_rotated", w0_rotated.len(), k * q, "k * q")?;
        check_finite(WHAT, "w0_rotated", w0_rotated)?;
        let kept = pc.kept(rcond);
        let lambda = pc
            .d()
            .iter()
            .enumerate()
            .map(|(j, &dj)| {
                if j < kept {
                    1.0 - mu * depth as f64 * dj
                } else {
                    1.0
                }
            })
            .collect();
        Ok(Eq4 {
            outputs: k,
            inputs: q,
            mu,
            depth,
            d1: pc.d().first().copied().unwrap_or(0.0),
            excluded: q - kept,
            lambda,
            w0: w0_rotated.to_vec(),
            w_opt,
        })
    }

    /// `W̃^s` (row-major K×q) after `step` gradient steps.
    pub fn at(&self, step: u32) -> Vec<f64> {
        let q = self.inputs;
        let pow: Vec<f64> = self
            .lambda
            .iter()
            .map(|&l| {
                if l == 1.0 {
                    1.0
                } else {
                    l.powf(f64::from(step))
                }
            })
            .collect();
        let mut w = vec![0.0; self.outputs * q];
        for ((row, w0), opt) in w
            .chunks_mut(q)
            .zip(self.w0.chunks(q))
            .zip(self.w_opt.chunks(q))
        {
            for (j, p) in pow.iter().enumerate() {
                row[j] = p * w0[j] + (1.0 - p) * opt[j];
            }
        }
        w
    }

    /// `λ_j = 1 − μ L d_j` (1 for excluded directions).
    pub fn lambda(&self) -> &[f64] {
        &self.lambda
    }

    /// `W̃_opt` (K×q) the kept columns converge to.
    pub fn w_opt_rotated(&self) -> &[f64] {
        &self.w_opt
    }

    /// How many directions were excluded by `rcond` (they keep `w_j^0`).
    pub fn excluded(&self) -> usize {
        self.excluded
    }

    /// Whether the iteration converges: `μ L d_1 < 2`.
    pub fn stable(&self) -> bool {
        self.mu * self.depth as f64 * self.d1 < 2.0
    }

    /// `||w_j − w̃_opt,j||` for each column `j` of a rotated map `w_rotated` (K×q).
    pub fn per_column_distance(&self, w_rotated: &[f64]) -> Result<Vec<f64>, TheoryError> {
        let q = self.inputs;
        TheoryError::check_len(
            "Eq4::per_column_distance",
            "w_rotated",
            w_rotated.len(),
            self.outputs * q,
            "k * q",
        )?;
        Ok(column_distances(w_rotated, &self.w_opt, self.outputs, q))
    }
}

/// `||a_j − b_j||` per column of two row-major K×q matrices.
fn column_distances(a: &[f64], b: &[f64], k: usize, q: usize) -> Vec<f64> {
    (0..q)
        .map(|j| {
            (0..k)
                .map(|r| (a[r * q + j] - b[r * q + j]).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect()
}

/// ZCA whitening `X_w = Σ^{−1/2} X` of row-major `x` (n×q), `Σ = U diag(d/n) Uᵀ` the uncentred
/// second moment (mean over examples), regularised as `(d_j/n + eps)^{−1/2}`. Afterwards
/// `X_w X_wᵀ = n I` on the span of the data when `eps = 0`; with `eps = 0`, directions with
/// `d_j = 0` are projected out (pseudo-inverse). Returns row-major n×q.
pub fn zca_whiten(x: &[f64], n: usize, q: usize, eps: f64) -> Result<Vec<f64>, TheoryError> {
    const WHAT: &str = "pc_bias::zca_whiten";
    non_negative(WHAT, "eps", eps)?;
    let pc = PrincipalCoordinates::new(x, n, q)?;
    let scale: Vec<f64> = pc
        .d()
        .iter()
        .map(|&dj| {
            let v = dj / n as f64 + eps;
            if v > 0.0 {
                1.0 / v.sqrt()
            } else {
                0.0
            }
        })
        .collect();
    // Rows: x_w = Σ^{−1/2} x ⇒ X_wᵀ = Xᵀ U diag(scale) Uᵀ.
    let mut z = matmul(x, pc.u(), n, q, q);
    for row in z.chunks_mut(q) {
        for (v, s) in row.iter_mut().zip(&scale) {
            *v *= s;
        }
    }
    Ok(matmul(&z, &transpose(pc.u(), q, q), n, q, q))
}

/// Diagonal and off-diagonal summaries of a square gradient-scale matrix (SCIENCE.md §P2.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScaleSummary {
    /// Mean of the diagonal: a proxy for the paper's α of Theorem 3, which SCIENCE.md did not
    /// read (1 when the matrix is `I`).
    pub diag_mean_proxy: f64,
    /// Mean over the diagonal of `|a_ii − diag_mean_proxy|`.
    pub mean_abs_diag_dev: f64,
    /// Mean of `|a_ij|` over the `n(n−1)` off-diagonal entries (0 for 1×1).
    pub mean_abs_offdiag: f64,
}

impl ScaleSummary {
    /// Summaries of the row-major `size×size` matrix `a`.
    pub fn of(a: &[f64], size: usize) -> Result<ScaleSummary, TheoryError> {
        const WHAT: &str = "ScaleSummary::of";
        if size == 0 {
            return Err(TheoryError::param(WHAT, "size", 0.0, ">= 1"));
        }
        TheoryError::check_len(WHAT, "a", a.len(), size * size, "size * size")?;
        let diag: Vec<f64> = (0..size).map(|i| a[i * size + i]).collect();
        let mean = diag.iter().sum::<f64>() / size as f64;
        let dev = diag.iter().map(|v| (v - mean).abs()).sum::<f64>() / size as f64;
        let off_count = size * (size - 1);
        let off = if off_count == 0 {
            0.0
        } else {
            let total: f64 = (0..size)
                .flat_map(|i| (0..size).filter(move |&j| j != i).map(move |j| (i, j)))
                .map(|(i, j)| a[i * size + j].abs())
                .sum();
            total / off_count as f64
        };
        Ok(ScaleSummary {
            diag_mean_proxy: mean,
            mean_abs_diag_dev: dev,
            mean_abs_offdiag: off,
        })
    }
}

/// The gradient-scale matrices of Theorem 1 and the compact map of an `L`-layer linear network.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientScales {
    /// Output dimension K = m_L.
    pub outputs: usize,
    /// Input dimension q = m_0.
    pub inputs: usize,
    /// The compact map `W = W_L⋯W_1`, row-major K×q.
    pub compact: Vec<f64>,
    /// `a[l − 1] = A_l = (W_L⋯W_{l+1})(W_L⋯W_{l+1})ᵀ`, row-major K×K, for l = 1..L.
    pub a: Vec<Vec<f64>>,
    /// `b[l − 1] = B_l = (W_{l−1}⋯W_1)ᵀ(W_{l−1}⋯W_1)`, row-major q×q, for l = 1..L.
    pub b: Vec<Vec<f64>>,
}

impl GradientScales {
    /// From the weights `W_1..W_L` (`weights[l − 1]` row-major `m_l × m_{l−1}`) and the widths
    /// `m_0 = q, m_1, …, m_L = K` (length L + 1).
    pub fn new(weights: &[&[f64]], widths: &[usize]) -> Result<GradientScales, TheoryError> {
        const WHAT: &str = "GradientScales::new";
        let depth = weights.len();
        if depth == 0 {
            return Err(TheoryError::param(
                WHAT,
                "weights",
                0.0,
                "at least one layer",
            ));
        }
        TheoryError::check_len(WHAT, "widths", widths.len(), depth + 1, "layers + 1")?;
        if let Some(&bad) = widths.iter().find(|&&w| w == 0) {
            return Err(TheoryError::param(
                WHAT,
                "widths",
                bad as f64,
                "every width >= 1",
            ));
        }
        for (l, w) in weights.iter().enumerate() {
            TheoryError::check_len(
                WHAT,
                "weights[l]",
                w.len(),
                widths[l + 1] * widths[l],
                "widths[l + 1] * widths[l]",
            )?;
            check_finite(WHAT, "weights[l]", w)?;
        }
        let (q, k) = (widths[0], widths[depth]);
        // prefix[l] = W_l⋯W_1 (m_l × q), prefix[0] = I_q.
        let mut prefix = vec![identity(q)];
        for l in 1..=depth {
            let next = matmul(weights[l - 1], &prefix[l - 1], widths[l], widths[l - 1], q);
            prefix.push(next);
        }
        // suffix[l] = W_L⋯W_{l+1} (K × m_l), suffix[L] = I_K.
        let mut suffix = vec![Vec::new(); depth + 1];
        suffix[depth] = identity(k);
        for l in (0..depth).rev() {
            suffix[l] = matmul(&suffix[l + 1], weights[l], k, widths[l + 1], widths[l]);
        }
        let a = (1..=depth)
            .map(|l| {
                let s = &suffix[l];
                matmul(s, &transpose(s, k, widths[l]), k, widths[l], k)
            })
            .collect();
        let b = (1..=depth)
            .map(|l| {
                let p = &prefix[l - 1];
                matmul(&transpose(p, widths[l - 1], q), p, q, widths[l - 1], q)
            })
            .collect();
        Ok(GradientScales {
            outputs: k,
            inputs: q,
            compact: prefix.pop().unwrap_or_default(),
            a,
            b,
        })
    }

    /// Number of layers L.
    pub fn depth(&self) -> usize {
        self.a.len()
    }

    /// Summaries of `A_l` (`l` in 1..=L).
    pub fn a_summary(&self, l: usize) -> Result<ScaleSummary, TheoryError> {
        self.check_layer(l)?;
        ScaleSummary::of(&self.a[l - 1], self.outputs)
    }

    /// Summaries of `B_l` (`l` in 1..=L).
    pub fn b_summary(&self, l: usize) -> Result<ScaleSummary, TheoryError> {
        self.check_layer(l)?;
        ScaleSummary::of(&self.b[l - 1], self.inputs)
    }

    fn check_layer(&self, l: usize) -> Result<(), TheoryError> {
        if l == 0 || l > self.depth() {
            Err(TheoryError::param(
                "GradientScales::summary",
                "l",
                l as f64,
                "1 <= l <= depth",
            ))
        } else {
            Ok(())
        }
    }
}

/// The compact map `W = W_L⋯W_1` (row-major K×q); see [`GradientScales::new`] for the shapes.
pub fn compact_map(weights: &[&[f64]], widths: &[usize]) -> Result<Vec<f64>, TheoryError> {
    let depth = weights.len();
    TheoryError::check_len(
        "pc_bias::compact_map",
        "widths",
        widths.len(),
        depth + 1,
        "layers + 1",
    )?;
    let q = widths[0];
    let mut w = identity(q);
    for l in 1..=depth {
        TheoryError::check_len(
            "pc_bias::compact_map",
            "weights[l]",
            weights[l - 1].len(),
            widths[l] * widths[l - 1],
            "widths[l + 1] * widths[l]",
        )?;
        w = matmul(weights[l - 1], &w, widths[l], widths[l - 1], q);
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator: 64-bit LCG and Box–Muller.
    struct Gauss {
        state: u64,
        spare: Option<f64>,
    }

    impl Gauss {
        fn new(seed: u64) -> Gauss {
            Gauss {
                state: seed.wrapping_mul(6364136223846793005).wrapping_add(1),
                spare: None,
            }
        }

        fn uniform(&mut self) -> f64 {
            self.state = self
                .state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }

        fn normal(&mut self) -> f64 {
            if let Some(z) = self.spare.take() {
                return z;
            }
            let (u1, u2) = (self.uniform(), self.uniform());
            let r = (-2.0 * u1.ln()).sqrt();
            let t = 2.0 * std::f64::consts::PI * u2;
            self.spare = Some(r * t.sin());
            r * t.cos()
        }
    }

    const N: usize = 400;
    const Q: usize = 20;
    const K: usize = 2;

    /// SCIENCE.md §P2.2's synthetic task: per-coordinate variances linearly from 1 to 0.02,
    /// mixed by a fixed rotation, one-hot labels from a linear teacher; plus a random `W₀`.
    fn task() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut g = Gauss::new(7);
        let raw: Vec<f64> = (0..N * Q)
            .map(|i| {
                let j = i % Q;
                let var = 1.0 - (1.0 - 0.02) * j as f64 / (Q - 1) as f64;
                var.sqrt() * g.normal()
            })
            .collect();
        let mix: Vec<f64> = (0..Q * Q).map(|_| g.normal()).collect();
        let rot = Svd::new(&mix, Q, Q, 0.0).unwrap().u;
        let x = matmul(&raw, &rot, N, Q, Q);
        let teacher: Vec<f64> = (0..Q).map(|_| g.normal()).collect();
        let mut y = vec![0.0; N * K];
        for i in 0..N {
            let c = usize::from(dot(&x[i * Q..(i + 1) * Q], &teacher) > 0.0);
            y[i * K + c] = 1.0;
        }
        let w0: Vec<f64> = (0..K * Q).map(|_| 0.1 * g.normal()).collect();
        (x, y, w0)
    }

    /// One full-batch GD step on `½ ||W X − Y||²_F / scale` straight from the data.
    fn gd_step(w: &mut [f64], x: &[f64], y: &[f64], lr: f64, scale: f64) {
        let mut grad = vec![0.0; K * Q];
        for i in 0..N {
            let xi = &x[i * Q..(i + 1) * Q];
            for r in 0..K {
                let e = dot(&w[r * Q..(r + 1) * Q], xi) - y[i * K + r];
                for (gj, xj) in grad[r * Q..(r + 1) * Q].iter_mut().zip(xi) {
                    *gj += e * xj;
                }
            }
        }
        for (wi, gi) in w.iter_mut().zip(&grad) {
            *wi -= lr * gi / scale;
        }
    }

    /// Max over steps 0..=300 and columns of `||w_j^s − eq4_j^s|| / ||W_opt − W₀||_F`.
    fn eq4_error(lr: f64, reduction: Reduction) -> f64 {
        let (x, y, w0) = task();
        let opt = w_opt(&x, &y, N, Q, K, 1e-12).unwrap();
        let pc = &opt.pc;
        let mu = sum_step(lr, reduction, N);
        let eq4 = Eq4::new(pc, &opt.m, &pc.rotate(&w0).unwrap(), mu, 1, 1e-12).unwrap();
        assert!(eq4.stable());
        assert_eq!(eq4.excluded(), 0);
        let scale_loss = match reduction {
            Reduction::Mean => N as f64,
            Reduction::Sum => 1.0,
        };
        let denom = norm(
            &opt.w
                .iter()
                .zip(&w0)
                .map(|(a, b)| a - b)
                .collect::<Vec<_>>(),
        );
        let mut w = w0.clone();
        let mut worst = 0.0f64;
        for s in 0..=300u32 {
            let got = pc.rotate(&w).unwrap();
            let want = eq4.at(s);
            for dj in column_distances(&got, &want, K, Q) {
                worst = worst.max(dj / denom);
            }
            gd_step(&mut w, &x, &y, lr, scale_loss);
        }
        // After 300 steps the top PCs have converged and the bottom ones have not.
        let dist = eq4.per_column_distance(&pc.rotate(&w).unwrap()).unwrap();
        assert!(dist[0] < 1e-6 * denom, "{dist:?}");
        assert!(dist[Q - 1] > 10.0 * dist[0], "{dist:?}");
        worst
    }

    #[test]
    fn principal_coordinates_diagonalise_sigma_xx() {
        let (x, _, _) = task();
        let pc = PrincipalCoordinates::new(&x, N, Q).unwrap();
        let sxx = matmul(&transpose(&x, N, Q), &x, Q, N, Q);
        let u = pc.u();
        let dm = matmul(&matmul(&transpose(u, Q, Q), &sxx, Q, Q, Q), u, Q, Q, Q);
        let d1 = pc.d()[0];
        for i in 0..Q {
            for j in 0..Q {
                let want = if i == j { pc.d()[i] } else { 0.0 };
                assert!((dm[i * Q + j] - want).abs() < 1e-11 * d1);
            }
        }
        for w in pc.d().windows(2) {
            assert!(w[0] >= w[1]);
        }
        // The sample spectrum follows the prescribed variances (sums: ≈ n · var).
        assert!((pc.d()[0] / N as f64 - 1.0).abs() < 0.3);
        assert!(pc.d()[Q - 1] / (N as f64) < 0.05);
        let back = pc.unrotate(&pc.rotate(&x[..2 * Q]).unwrap()).unwrap();
        for (a, b) in back.iter().zip(&x[..2 * Q]) {
            assert!((a - b).abs() < 1e-13);
        }
    }

    #[test]
    fn rank_deficient_basis_is_completed() {
        // q = 3, the third coordinate is the sum of the first two: rank 2.
        let x = vec![1.0, 0.0, 1.0, 0.0, 2.0, 2.0, 1.0, 1.0, 2.0, -1.0, 0.5, -0.5];
        let pc = PrincipalCoordinates::new(&x, 4, 3).unwrap();
        assert_eq!(pc.rank(), 2);
        assert_eq!(pc.d()[2], 0.0);
        let utu = matmul(&transpose(pc.u(), 3, 3), pc.u(), 3, 3, 3);
        for (a, b) in utu.iter().zip(identity(3)) {
            assert!((a - b).abs() < 1e-14);
        }
    }

    #[test]
    fn one_layer_gd_matches_eq4() {
        let (x, _, _) = task();
        let pc = PrincipalCoordinates::new(&x, N, Q).unwrap();
        let err = eq4_error(0.2 / pc.d()[0], Reduction::Sum);
        assert!(err <= 1e-10, "max relative column error {err}");
    }

    #[test]
    fn mean_loss_step_converts_by_examples() {
        let (x, _, _) = task();
        let pc = PrincipalCoordinates::new(&x, N, Q).unwrap();
        // μ_mean = n · μ_sum gives the same trajectory.
        let err = eq4_error(0.2 * N as f64 / pc.d()[0], Reduction::Mean);
        assert!(err <= 1e-10, "max relative column error {err}");
        assert_eq!(sum_step(4.0, Reduction::Mean, 8), 0.5);
        assert_eq!(sum_step(4.0, Reduction::Sum, 8), 4.0);
    }

    #[test]
    fn zca_equalises_the_spectrum() {
        let (x, _, _) = task();
        let xw = zca_whiten(&x, N, Q, 0.0).unwrap();
        let pc = PrincipalCoordinates::new(&xw, N, Q).unwrap();
        let d1 = pc.d()[0];
        assert!((d1 - N as f64).abs() < 1e-12 * N as f64);
        for &dj in pc.d() {
            assert!((dj - d1).abs() <= 1e-12 * d1, "{dj} vs {d1}");
        }
        // With ε > 0 the spectrum is no longer flat.
        let xr = zca_whiten(&x, N, Q, 1.0).unwrap();
        let pr = PrincipalCoordinates::new(&xr, N, Q).unwrap();
        assert!(pr.d()[0] > 1.5 * pr.d()[Q - 1]);
    }

    #[test]
    fn orthogonal_weights_have_identity_scales() {
        let mut g = Gauss::new(3);
        let width = 6;
        let mats: Vec<Vec<f64>> = (0..3)
            .map(|_| {
                let a: Vec<f64> = (0..width * width).map(|_| g.normal()).collect();
                Svd::new(&a, width, width, 0.0).unwrap().u
            })
            .collect();
        let refs: Vec<&[f64]> = mats.iter().map(|m| m.as_slice()).collect();
        let widths = [width; 4];
        let gs = GradientScales::new(&refs, &widths).unwrap();
        assert_eq!(gs.depth(), 3);
        for l in 1..=3 {
            for m in [&gs.a[l - 1], &gs.b[l - 1]] {
                for (a, b) in m.iter().zip(identity(width)) {
                    assert!((a - b).abs() < 1e-13);
                }
            }
            for s in [gs.a_summary(l).unwrap(), gs.b_summary(l).unwrap()] {
                assert!((s.diag_mean_proxy - 1.0).abs() < 1e-13);
                assert!(s.mean_abs_diag_dev < 1e-13);
                assert!(s.mean_abs_offdiag < 1e-13);
            }
        }
        let w = matmul(
            &mats[2],
            &matmul(&mats[1], &mats[0], width, width, width),
            width,
            width,
            width,
        );
        assert_eq!(compact_map(&refs, &widths).unwrap(), gs.compact);
        for (a, b) in w.iter().zip(&gs.compact) {
            assert!((a - b).abs() < 1e-14);
        }
        assert!(gs.a_summary(0).is_err());
        assert!(gs.b_summary(4).is_err());
    }

    #[test]
    fn non_square_layers_have_the_right_shapes() {
        // q = 3 → 4 → K = 2; B_1 = I_q, A_L = I_K, A_1 = W_2 W_2ᵀ, B_2 = W_1ᵀ W_1.
        let w1: Vec<f64> = (0..12).map(|i| (i as f64 * 0.37).sin()).collect();
        let w2: Vec<f64> = (0..8).map(|i| (i as f64 * 0.91).cos()).collect();
        let gs = GradientScales::new(&[&w1, &w2], &[3, 4, 2]).unwrap();
        assert_eq!(gs.b[0], identity(3));
        assert_eq!(gs.a[1], identity(2));
        assert_eq!(gs.a[0], matmul(&w2, &transpose(&w2, 2, 4), 2, 4, 2));
        assert_eq!(gs.b[1], matmul(&transpose(&w1, 4, 3), &w1, 3, 4, 3));
        assert_eq!(gs.compact, matmul(&w2, &w1, 2, 4, 3));
        let s = ScaleSummary::of(&[2.0, -1.0, 3.0, 4.0], 2).unwrap();
        assert_eq!(s.diag_mean_proxy, 3.0);
        assert_eq!(s.mean_abs_diag_dev, 1.0);
        assert_eq!(s.mean_abs_offdiag, 2.0);
        assert!(GradientScales::new(&[&w1], &[3, 3]).is_err());
        assert!(GradientScales::new(&[], &[3]).is_err());
    }

    #[test]
    fn w_opt_solves_the_normal_equations() {
        let (x, y, _) = task();
        let opt = w_opt(&x, &y, N, Q, K, 1e-12).unwrap();
        assert_eq!(opt.kept, Q);
        let sxx = matmul(&transpose(&x, N, Q), &x, Q, N, Q);
        let syx = sigma_yx(&x, &y, N, Q, K).unwrap();
        let res = matmul(&opt.w, &sxx, K, Q, Q);
        let scale = norm(&syx);
        for (a, b) in res.iter().zip(&syx) {
            assert!((a - b).abs() < 1e-11 * scale, "{a} vs {b}");
        }
        assert_eq!(opt.pc.rotate(&opt.w).unwrap().len(), K * Q);
        for (a, b) in opt.pc.rotate(&opt.w).unwrap().iter().zip(&opt.w_rotated) {
            assert!((a - b).abs() < 1e-12);
        }
        // Rank-deficient inputs: the pseudo-inverse still solves them and drops the null space.
        let xd = vec![1.0, 0.0, 1.0, 0.0, 2.0, 2.0, 1.0, 1.0, 2.0, -1.0, 0.5, -0.5];
        let yd = vec![1.0, 0.0, 1.0, 0.5];
        let opt = w_opt(&xd, &yd, 4, 3, 1, 1e-10).unwrap();
        assert_eq!(opt.kept, 2);
        let sxx = matmul(&transpose(&xd, 4, 3), &xd, 3, 4, 3);
        let syx = sigma_yx(&xd, &yd, 4, 3, 1).unwrap();
        for (a, b) in matmul(&opt.w, &sxx, 1, 3, 3).iter().zip(&syx) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        assert_eq!(opt.w_rotated[2], 0.0);
        let eq4 = Eq4::new(&opt.pc, &opt.m, &[0.3, -0.2, 0.7], 0.01, 2, 1e-10).unwrap();
        assert_eq!(eq4.excluded(), 1);
        assert_eq!(eq4.at(50)[2], 0.7);
        assert_eq!(eq4.lambda()[2], 1.0);
    }

    #[test]
    fn eq4_stability_and_bad_input() {
        let (x, y, w0) = task();
        let opt = w_opt(&x, &y, N, Q, K, 0.0).unwrap();
        let d1 = opt.pc.d()[0];
        let w0r = opt.pc.rotate(&w0).unwrap();
        assert!(Eq4::new(&opt.pc, &opt.m, &w0r, 0.9 / d1, 2, 0.0)
            .unwrap()
            .stable());
        assert!(!Eq4::new(&opt.pc, &opt.m, &w0r, 1.1 / d1, 2, 0.0)
            .unwrap()
            .stable());
        assert!(Eq4::new(&opt.pc, &opt.m, &w0r, -1.0, 1, 0.0).is_err());
        assert!(Eq4::new(&opt.pc, &opt.m, &w0r, 0.1, 0, 0.0).is_err());
        assert!(Eq4::new(&opt.pc, &opt.m, &w0r[1..], 0.1, 1, 0.0).is_err());
        assert!(w_opt(&x, &y, N, Q, K, 1.0).is_err());
        assert!(w_opt(&x[1..], &y, N, Q, K, 0.0).is_err());
        assert!(PrincipalCoordinates::new(&[f64::NAN], 1, 1).is_err());
        assert!(zca_whiten(&x, N, Q, -1.0).is_err());
        assert_eq!(
            Eq4::new(&opt.pc, &opt.m, &w0r, 0.1, 1, 0.0).unwrap().at(0),
            w0r
        );
    }
}
