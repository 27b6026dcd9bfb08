//! Neural-collapse metrics of penultimate-layer features (V. Papyan, X. Y. Han & D. L. Donoho,
//! "Prevalence of neural collapse during the terminal phase of deep learning training", PNAS
//! 117(40), 2020), with the class-distance-normalised variance (CDNV) of T. Galanti, A. György
//! & M. Hutter, "On the role of neural collapse in transfer learning", ICLR 2022.
//!
//! Inputs are the features `hᵢ ∈ ℝᵖ` of `N` examples with labels `cᵢ`, optionally the read-out
//! weights `W` (rows `w_c`) and the network's logits. Only the `C` classes with at least one
//! example ("present" classes) enter any metric; rows of `W` of absent classes are ignored.
//! With `n_c` examples in class `c`:
//!
//! - class means `μ_c = (1/n_c) Σᵢ h_{c,i}`; the centre `μ_G = (1/C) Σ_c μ_c` is the mean of the
//!   class means, which equals the global mean of the features only for balanced classes;
//! - `M̃ = [μ_c − μ_G]_c` (`p × C`), `Σ_W = (1/N) Σ_c Σᵢ (h_{c,i} − μ_c)(h_{c,i} − μ_c)ᵀ`,
//!   `Σ_B = (1/C) Σ_c (μ_c − μ_G)(μ_c − μ_G)ᵀ = M̃M̃ᵀ/C`;
//! - `V_c = (1/n_c) Σᵢ ‖h_{c,i} − μ_c‖²`.
//!
//! The metrics (all 0 at perfect collapse onto a simplex equiangular tight frame):
//!
//! - **NC1** `Tr(Σ_W Σ_B^†)/C` ([`NeuralCollapse::nc1_trace`]) and the CDNV
//!   `mean_{c<c'} (V_c + V_{c'}) / (2 ‖μ_c − μ_{c'}‖²)` ([`NeuralCollapse::nc1_cdnv`]);
//! - **NC2**, for vectors `u_c` (the centred means `μ_c − μ_G`, or the uncentred rows `w_c`):
//!   equinorm `Std_c ‖u_c‖ / Avg_c ‖u_c‖`, equiangularity `Std_{c<c'} cos(u_c, u_{c'})` and
//!   maximal angle `Avg_{c<c'} |cos(u_c, u_{c'}) + 1/(C−1)|`; `Std` is the population standard
//!   deviation (divides by the count). Ordered and unordered pairs give the same mean and
//!   standard deviation; unordered pairs are used;
//! - **NC3** self-duality `‖Wᵀ/‖W‖_F − M̃/‖M̃‖_F‖²_F` (in `[0, 4]`), `W` restricted to the
//!   present classes' rows;
//! - **NC4** the fraction of examples whose network prediction `argmax_c logits` (over all
//!   `classes` columns) differs from the nearest-class-centre prediction
//!   `argmin_c ‖h − μ_c‖` (over present classes). Ties go to the lowest class index in both.
//!
//! # Computing NC1 without `p × p` matrices
//!
//! `Σ_B^† = C (M̃M̃ᵀ)^† = C · M̃ G^{+2} M̃ᵀ` with the `C × C` Gram matrix `G = M̃ᵀM̃` (from the
//! SVD `M̃ = UΣVᵀ`: `G = VΣ²Vᵀ` and `M̃ G^{+2} M̃ᵀ = UΣ^{-2}Uᵀ`). Hence
//!
//! `Tr(Σ_W Σ_B^†)/C = Tr(G^{+2} A)`, `A = M̃ᵀΣ_W M̃ = (1/N) Σᵢ zᵢzᵢᵀ`, `zᵢ = M̃ᵀ(hᵢ − μ_{cᵢ})`,
//!
//! which costs `O(N p C)` time and `O(C²)` extra memory (equivalently, with `M = M̃/√C` so
//! that `Σ_B = MMᵀ`: `Tr((MᵀM)^{+2} MᵀΣ_W M)/C`). `G^{+2}` comes from a cyclic Jacobi
//! eigendecomposition `G = Σ_k λ_k v_k v_kᵀ`, and
//! `Tr(G^{+2} A) = Σ_{λ_k > rcond·λ_max} λ_k^{-2} v_kᵀ A v_k` with `rcond = 1e-10`.
//!
//! Why `1e-10`: centring makes `M̃ 1 = 0`, so `G` has an exact zero eigenvalue. The centred
//! means are centred twice (the second pass removes the rounding residue `Σ_c (μ_c − μ_G)` of
//! the first, which scales with `‖μ_G‖`), so in `f64` that eigenvalue comes out at the rounding
//! level of `G` itself, about `C · 2⁻⁵² ≈ 2e-16 · C` relative to `λ_max`, whatever the common
//! offset `μ_G`. It must be cut: its direction carries `zᵢ` components of rounding size too,
//! and dividing them by `λ²` would give garbage of any magnitude. A genuine direction of the
//! means with `λ_k/λ_max ≤ 1e-10` (a singular value of `M̃` below `1e-5` of the largest) cannot
//! be told apart from rounding of a Gram matrix anyway: its eigenvalue carries an absolute
//! error of order `ε λ_max`, a relative error above `1e-6`, amplified by `λ^{-2}`. For up to
//! `C ≈ 10⁴` classes the cut-off stays five orders above the rounding floor.
//!
//! # Degenerate inputs
//!
//! All class means equal (`M̃ = 0`): `nc1_trace`, `nc3_self_duality` and the NC2 metrics of
//! the means are NaN (every term divides by zero), not an error; `nc1_cdnv` is NaN or `+∞`.
//! More generally a pair of equal means makes its CDNV term `+∞` (NaN when both classes also
//! have zero variance), a zero centred mean `μ_c = μ_G` makes the cosines with it NaN, and
//! `W = 0` (or a zero row `w_c`) does the same to the weight metrics. Sums run in index order,
//! so results are deterministic.

use crate::error::{check_finite, check_same_len, Result, StatsError};

const WHAT: &str = "neural_collapse";

/// Relative cut-off on the eigenvalues of the Gram matrix of the centred class means (see the
/// module documentation).
const RCOND: f64 = 1e-10;

/// Inputs of [`neural_collapse`]: penultimate features `hᵢ ∈ ℝᵖ` of `n` examples (row-major
/// `n × p`), their labels in `0..classes`, optionally the read-out weights `W` (row-major
/// `classes × p`) and the network's logits (row-major `n × classes`).
#[derive(Debug, Clone, Copy)]
pub struct CollapseInput<'a> {
    /// Features, row-major `n × p` (row `i` is example `i`).
    pub features: &'a [f64],
    /// Number of examples.
    pub n: usize,
    /// Feature dimension (`> 0`).
    pub p: usize,
    /// Label of each example, `< classes`.
    pub labels: &'a [u32],
    /// Number of classes of the read-out (some may have no example).
    pub classes: usize,
    /// Read-out weights `W`, row-major `classes × p` (row `c` is `w_c`); enables the NC2
    /// weight metrics and NC3.
    pub weights: Option<&'a [f64]>,
    /// The network's logits, row-major `n × classes`; enables NC4.
    pub logits: Option<&'a [f64]>,
}

/// Neural-collapse metrics of one set of features (see the module documentation for the
/// equations). All are 0 at perfect collapse; NaN marks an undefined value.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuralCollapse {
    /// Classes with at least one example (`C`); all metrics use these only.
    pub classes_present: usize,
    /// NC1: `Tr(Σ_W Σ_B^†) / C`.
    pub nc1_trace: f64,
    /// NC1 (Galanti et al.): mean over pairs `c < c'` of `(V_c + V_{c'}) / (2 ‖μ_c − μ_{c'}‖²)`.
    pub nc1_cdnv: f64,
    /// NC2: `Std_c ‖μ_c − μ_G‖ / Avg_c ‖μ_c − μ_G‖`.
    pub nc2_equinorm_means: f64,
    /// NC2: `Std_{c<c'} cos_μ(c, c')` of the centred class means.
    pub nc2_equiangular_means: f64,
    /// NC2: `Avg_{c<c'} |cos_μ(c, c') + 1/(C−1)|`.
    pub nc2_max_angle_means: f64,
    /// NC2 equinorm of the (uncentred) weight rows `w_c`, when `W` is given.
    pub nc2_equinorm_weights: Option<f64>,
    /// NC2 equiangularity of the weight rows, when `W` is given.
    pub nc2_equiangular_weights: Option<f64>,
    /// NC2 maximal angle of the weight rows, when `W` is given.
    pub nc2_max_angle_weights: Option<f64>,
    /// NC3: `‖Wᵀ/‖W‖_F − M̃/‖M̃‖_F‖²_F`, when `W` is given.
    pub nc3_self_duality: Option<f64>,
    /// NC4: fraction of examples with `argmax_c logits ≠ argmin_c ‖h − μ_c‖`, when logits are
    /// given.
    pub nc4_ncc_mismatch: Option<f64>,
}

/// Neural-collapse metrics NC1–NC4 of `input` (Papyan, Han & Donoho 2020; CDNV of Galanti et
/// al. 2022).
///
/// Errors: `p == 0` or a length that does not match `n`, `p`, `classes`
/// ([`StatsError::InvalidArgument`], [`StatsError::LengthMismatch`] for the labels), a label
/// `≥ classes` ([`StatsError::OutOfDomain`]), a non-finite feature, weight or logit
/// ([`StatsError::NonFinite`]), fewer than two classes present ([`StatsError::TooFewPoints`]).
pub fn neural_collapse(input: &CollapseInput<'_>) -> Result<NeuralCollapse> {
    let &CollapseInput {
        features,
        n,
        p,
        labels,
        classes,
        weights,
        logits,
    } = input;
    if p == 0 {
        return Err(StatsError::InvalidArgument {
            what: WHAT,
            field: "p",
            value: 0.0,
            rule: "p > 0",
        });
    }
    check_shape(
        "features",
        features.len(),
        n.checked_mul(p),
        "features.len() == n·p",
    )?;
    check_same_len(WHAT, labels.len(), n)?;
    if let Some(w) = weights {
        check_shape(
            "weights",
            w.len(),
            classes.checked_mul(p),
            "weights.len() == classes·p",
        )?;
    }
    if let Some(z) = logits {
        check_shape(
            "logits",
            z.len(),
            n.checked_mul(classes),
            "logits.len() == n·classes",
        )?;
    }
    if let Some(index) = labels.iter().position(|&l| l as usize >= classes) {
        return Err(StatsError::OutOfDomain {
            what: WHAT,
            field: "labels",
            index,
            value: labels[index] as f64,
            rule: "label < classes",
        });
    }
    check_finite(WHAT, "features", features)?;
    if let Some(w) = weights {
        check_finite(WHAT, "weights", w)?;
    }
    if let Some(z) = logits {
        check_finite(WHAT, "logits", z)?;
    }

    // Class counts and the dense index of each present class.
    let mut counts = vec![0usize; classes];
    for &l in labels {
        counts[l as usize] += 1;
    }
    let present: Vec<usize> = (0..classes).filter(|&c| counts[c] > 0).collect();
    let cp = present.len();
    if cp < 2 {
        return Err(StatsError::TooFewPoints {
            what: WHAT,
            needed: 2,
            got: cp,
        });
    }
    let mut dense = vec![usize::MAX; classes];
    for (k, &c) in present.iter().enumerate() {
        dense[c] = k;
    }
    let row = |i: usize| &features[i * p..(i + 1) * p];

    // Class means μ_c (cp × p, row k is present class k), sums in example order.
    let mut means = vec![0.0; cp * p];
    for (i, &l) in labels.iter().enumerate() {
        let k = dense[l as usize];
        for (m, &h) in means[k * p..(k + 1) * p].iter_mut().zip(row(i)) {
            *m += h;
        }
    }
    for (k, &c) in present.iter().enumerate() {
        let nc = counts[c] as f64;
        for m in &mut means[k * p..(k + 1) * p] {
            *m /= nc;
        }
    }
    // μ_G and the centred means d_c = μ_c − μ_G (rows of M̃ᵀ, cp × p).
    let mut centre = vec![0.0; p];
    for k in 0..cp {
        for (g, &m) in centre.iter_mut().zip(&means[k * p..(k + 1) * p]) {
            *g += m;
        }
    }
    for g in &mut centre {
        *g /= cp as f64;
    }
    let mut centred = means.clone();
    for k in 0..cp {
        for (d, &g) in centred[k * p..(k + 1) * p].iter_mut().zip(&centre) {
            *d -= g;
        }
    }
    // Second centring pass: removes the rounding residue Σ_c d_c (of order ε‖μ_G‖), so the
    // null direction 1 of G = M̃ᵀM̃ sits at the rounding floor of G whatever the offset μ_G.
    let mut residue = vec![0.0; p];
    for d in centred.chunks_exact(p) {
        for (r, &v) in residue.iter_mut().zip(d) {
            *r += v;
        }
    }
    for d in centred.chunks_exact_mut(p) {
        for (v, &r) in d.iter_mut().zip(&residue) {
            *v -= r / cp as f64;
        }
    }
    let d_row = |k: usize| &centred[k * p..(k + 1) * p];
    let mean_row = |k: usize| &means[k * p..(k + 1) * p];

    // Within-class scatter: V_c and A = (1/N) Σᵢ zᵢzᵢᵀ with zᵢ = M̃ᵀ(hᵢ − μ_{cᵢ}).
    let mut var = vec![0.0; cp];
    let mut a = vec![0.0; cp * cp];
    let mut resid = vec![0.0; p];
    let mut z = vec![0.0; cp];
    for (i, &l) in labels.iter().enumerate() {
        let k = dense[l as usize];
        for ((r, &h), &m) in resid.iter_mut().zip(row(i)).zip(mean_row(k)) {
            *r = h - m;
        }
        var[k] += dot(&resid, &resid);
        for (j, zj) in z.iter_mut().enumerate() {
            *zj = dot(d_row(j), &resid);
        }
        for r in 0..cp {
            for s in r..cp {
                a[r * cp + s] += z[r] * z[s];
            }
        }
    }
    for (k, &c) in present.iter().enumerate() {
        var[k] /= counts[c] as f64;
    }
    for r in 0..cp {
        for s in r..cp {
            let v = a[r * cp + s] / n as f64;
            a[r * cp + s] = v;
            a[s * cp + r] = v;
        }
    }

    // NC1 trace: Tr(G^{+2} A) over the eigenpairs of G = M̃ᵀM̃ above the cut-off.
    let gram = gram_rows(&centred, cp, p);
    let (lambda, vecs) = symmetric_eigen(&gram, cp);
    let lambda_max = lambda.iter().copied().fold(0.0, f64::max);
    let nc1_trace = if lambda_max > 0.0 {
        let mut t = 0.0;
        for (k, &lk) in lambda.iter().enumerate() {
            if lk <= RCOND * lambda_max {
                continue;
            }
            // v_kᵀ A v_k, v_k the k-th column of `vecs`.
            let mut q = 0.0;
            for r in 0..cp {
                let mut av = 0.0;
                for s in 0..cp {
                    av += a[r * cp + s] * vecs[s * cp + k];
                }
                q += vecs[r * cp + k] * av;
            }
            t += q / (lk * lk);
        }
        t
    } else {
        f64::NAN
    };

    // CDNV over unordered pairs of present classes.
    let mut cdnv = 0.0;
    let mut pairs = 0usize;
    for r in 0..cp {
        for s in r + 1..cp {
            let dist2: f64 = mean_row(r)
                .iter()
                .zip(mean_row(s))
                .map(|(x, y)| (x - y) * (x - y))
                .sum();
            cdnv += (var[r] + var[s]) / (2.0 * dist2);
            pairs += 1;
        }
    }
    let nc1_cdnv = cdnv / pairs as f64;

    let (nc2_equinorm_means, nc2_equiangular_means, nc2_max_angle_means) = nc2(&gram, cp);

    // Weights of the present classes (cp × p).
    let w_present: Option<Vec<f64>> = weights.map(|w| {
        present
            .iter()
            .flat_map(|&c| w[c * p..(c + 1) * p].iter().copied())
            .collect()
    });
    let (nc2_w, nc3_self_duality) = match &w_present {
        Some(wp) => {
            let wg = gram_rows(wp, cp, p);
            let metrics = nc2(&wg, cp);
            // ‖a − b‖² = 2 − 2⟨a, b⟩ would lose accuracy near collapse; form the difference.
            let w_norm = trace(&wg, cp).sqrt();
            let m_norm = trace(&gram, cp).sqrt();
            let mut s = 0.0;
            for (&wv, &dv) in wp.iter().zip(&centred) {
                let e = wv / w_norm - dv / m_norm;
                s += e * e;
            }
            (Some(metrics), Some(s))
        }
        None => (None, None),
    };

    let nc4_ncc_mismatch = logits.map(|zs| {
        let mut mismatched = 0usize;
        for (i, h) in features.chunks_exact(p).enumerate() {
            let zi = &zs[i * classes..(i + 1) * classes];
            let mut net = 0usize;
            for (c, &v) in zi.iter().enumerate() {
                if v > zi[net] {
                    net = c;
                }
            }
            let mut best = 0usize;
            let mut best_d = f64::INFINITY;
            for k in 0..cp {
                let d: f64 = h
                    .iter()
                    .zip(mean_row(k))
                    .map(|(x, m)| (x - m) * (x - m))
                    .sum();
                if d < best_d {
                    best_d = d;
                    best = k;
                }
            }
            if present[best] != net {
                mismatched += 1;
            }
        }
        mismatched as f64 / n as f64
    });

    Ok(NeuralCollapse {
        classes_present: cp,
        nc1_trace,
        nc1_cdnv,
        nc2_equinorm_means,
        nc2_equiangular_means,
        nc2_max_angle_means,
        nc2_equinorm_weights: nc2_w.map(|m| m.0),
        nc2_equiangular_weights: nc2_w.map(|m| m.1),
        nc2_max_angle_weights: nc2_w.map(|m| m.2),
        nc3_self_duality,
        nc4_ncc_mismatch,
    })
}

fn check_shape(
    field: &'static str,
    len: usize,
    want: Option<usize>,
    rule: &'static str,
) -> Result<()> {
    if want == Some(len) {
        Ok(())
    } else {
        Err(StatsError::InvalidArgument {
            what: WHAT,
            field,
            value: len as f64,
            rule,
        })
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}

fn trace(g: &[f64], k: usize) -> f64 {
    (0..k).map(|r| g[r * k + r]).sum()
}

/// `UUᵀ` (`k × k`) of a row-major `k × p` matrix `U`.
fn gram_rows(u: &[f64], k: usize, p: usize) -> Vec<f64> {
    let mut g = vec![0.0; k * k];
    for r in 0..k {
        for s in 0..=r {
            let v = dot(&u[r * p..(r + 1) * p], &u[s * p..(s + 1) * p]);
            g[r * k + s] = v;
            g[s * k + r] = v;
        }
    }
    g
}

/// The three NC2 metrics (equinorm, equiangularity, maximal angle) of vectors `u_c` given
/// through their Gram matrix `g` (`k × k`, `k ≥ 2`).
fn nc2(g: &[f64], k: usize) -> (f64, f64, f64) {
    let norms: Vec<f64> = (0..k).map(|r| g[r * k + r].sqrt()).collect();
    let (norm_mean, norm_sd) = mean_sd(&norms);
    let mut cosines = Vec::with_capacity(k * (k - 1) / 2);
    for r in 0..k {
        for s in r + 1..k {
            cosines.push(g[r * k + s] / (norms[r] * norms[s]));
        }
    }
    let (_, cos_sd) = mean_sd(&cosines);
    let target = 1.0 / (k as f64 - 1.0);
    let max_angle = cosines.iter().map(|c| (c + target).abs()).sum::<f64>() / cosines.len() as f64;
    (norm_sd / norm_mean, cos_sd, max_angle)
}

/// Mean and population standard deviation (two-pass).
fn mean_sd(x: &[f64]) -> (f64, f64) {
    let m = x.iter().sum::<f64>() / x.len() as f64;
    let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64;
    (m, v.sqrt())
}

/// Eigendecomposition of a symmetric `k × k` matrix (row-major) by cyclic Jacobi rotations:
/// returns the eigenvalues and the eigenvectors as the columns of a row-major `k × k` matrix.
/// Sweeps stop once the off-diagonal Frobenius norm is below `ε/100` of the matrix's.
fn symmetric_eigen(g: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = g.to_vec();
    let mut v = vec![0.0; k * k];
    for r in 0..k {
        v[r * k + r] = 1.0;
    }
    let frob = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let tol = 1e-2 * f64::EPSILON * frob;
    for _sweep in 0..100 {
        let mut off = 0.0;
        for r in 0..k {
            for s in r + 1..k {
                off += 2.0 * a[r * k + s] * a[r * k + s];
            }
        }
        if off.sqrt() <= tol {
            break;
        }
        for pi in 0..k {
            for qi in pi + 1..k {
                let apq = a[pi * k + qi];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[qi * k + qi] - a[pi * k + pi]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A ← Pᵀ A P with P = I except P_pp = P_qq = c, P_pq = s, P_qp = −s.
                for r in 0..k {
                    let (x, y) = (a[r * k + pi], a[r * k + qi]);
                    a[r * k + pi] = c * x - s * y;
                    a[r * k + qi] = s * x + c * y;
                }
                for col in 0..k {
                    let (x, y) = (a[pi * k + col], a[qi * k + col]);
                    a[pi * k + col] = c * x - s * y;
                    a[qi * k + col] = s * x + c * y;
                }
                a[pi * k + qi] = 0.0;
                a[qi * k + pi] = 0.0;
                for r in 0..k {
                    let (x, y) = (v[r * k + pi], v[r * k + qi]);
                    v[r * k + pi] = c * x - s * y;
                    v[r * k + qi] = s * x + c * y;
                }
            }
        }
    }
    ((0..k).map(|r| a[r * k + r]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use learnscope_core::host_linalg::orthonormal_columns;
    use learnscope_core::RandomKey;

    fn input<'a>(
        features: &'a [f64],
        p: usize,
        labels: &'a [u32],
        classes: usize,
    ) -> CollapseInput<'a> {
        CollapseInput {
            features,
            n: labels.len(),
            p,
            labels,
            classes,
            weights: None,
            logits: None,
        }
    }

    /// `logits = W h` for every example (`W` row-major `classes × p`).
    fn logits_of(w: &[f64], classes: usize, features: &[f64], p: usize) -> Vec<f64> {
        features
            .chunks_exact(p)
            .flat_map(|h| (0..classes).map(move |c| dot(&w[c * p..(c + 1) * p], h)))
            .collect()
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
    }

    #[test]
    fn jacobi_reconstructs_and_is_orthogonal() {
        let key = RandomKey::root(3).derive("collapse/jacobi");
        let k = 7;
        let b = key.normals(k * k);
        let mut g = vec![0.0; k * k];
        for r in 0..k {
            for s in 0..k {
                g[r * k + s] = b[r * k + s] + b[s * k + r];
            }
        }
        let (l, v) = symmetric_eigen(&g, k);
        for r in 0..k {
            for s in 0..k {
                let rec: f64 = (0..k).map(|j| v[r * k + j] * l[j] * v[s * k + j]).sum();
                let orth: f64 = (0..k).map(|j| v[j * k + r] * v[j * k + s]).sum();
                // O(k) rounding errors of O(1) entries.
                assert!((rec - g[r * k + s]).abs() < 1e-12);
                assert!((orth - if r == s { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn simplex_etf_is_fully_collapsed() {
        // C = 4 means at μ_G + s (e_c − 1/4·1) in the first four of p = 6 coordinates; the offset
        // μ_G is orthogonal to every e_c − 1/4·1, so logits = W h with W = 0.5·M̃ᵀ need no bias.
        let (c, p, s) = (4usize, 6usize, 3.0);
        let offset = [0.7, 0.7, 0.7, 0.7, -2.3, 1.1];
        let mut labels = Vec::new();
        let mut features = Vec::new();
        for (i, per) in [3usize, 5, 2, 4].iter().enumerate() {
            for _ in 0..*per {
                labels.push(i as u32);
                for (j, &o) in offset.iter().enumerate() {
                    let e = if j < c {
                        s * ((i == j) as u8 as f64 - 0.25)
                    } else {
                        0.0
                    };
                    features.push(o + e);
                }
            }
        }
        let w: Vec<f64> = (0..c)
            .flat_map(|i| {
                (0..p).map(move |j| {
                    if j < c {
                        0.5 * s * ((i == j) as u8 as f64 - 0.25)
                    } else {
                        0.0
                    }
                })
            })
            .collect();
        let logits = logits_of(&w, c, &features, p);
        let r = neural_collapse(&CollapseInput {
            weights: Some(&w),
            logits: Some(&logits),
            ..input(&features, p, &labels, c)
        })
        .unwrap();
        assert_eq!(r.classes_present, 4);
        // f64 rounding of O(10) operations on O(1) values.
        let tol = 1e-12;
        for (name, v) in [
            ("nc1_trace", r.nc1_trace),
            ("nc1_cdnv", r.nc1_cdnv),
            ("nc2_equinorm_means", r.nc2_equinorm_means),
            ("nc2_equiangular_means", r.nc2_equiangular_means),
            ("nc2_max_angle_means", r.nc2_max_angle_means),
            ("nc2_equinorm_weights", r.nc2_equinorm_weights.unwrap()),
            (
                "nc2_equiangular_weights",
                r.nc2_equiangular_weights.unwrap(),
            ),
            ("nc2_max_angle_weights", r.nc2_max_angle_weights.unwrap()),
            ("nc3_self_duality", r.nc3_self_duality.unwrap()),
        ] {
            assert!(v.abs() < tol, "{name} = {v}");
        }
        assert_eq!(r.nc4_ncc_mismatch, Some(0.0));
    }

    #[test]
    fn hand_computed_two_classes() {
        // p = 1. Class 0: 0, 2 (μ₀ = 1, V₀ = 1); class 1: 5, 7, 9 (μ₁ = 7, V₁ = 8/3). N = 5.
        // μ_G = 4; Σ_W = (1 + 1 + 4 + 0 + 4)/5 = 2; Σ_B = (9 + 9)/2 = 9; NC1 = (2/9)/2 = 1/9.
        // CDNV = (1 + 8/3)/(2·36) = 11/216. Centred means −3, 3: equinorm 0, cos = −1, so
        // equiangular 0 (one pair) and max-angle |−1 + 1| = 0.
        // W = (1, −2)ᵀ: norms 1, 2 → Std/Avg = 0.5/1.5 = 1/3; cos = −1 → 0, 0.
        // NC3: W/‖W‖ = (1, −2)/√5, M̃/‖M̃‖ = (−1, 1)/√2: ‖a − b‖² = 2 − 2·(−3/√10) = 2 + 6/√10.
        // Logits argmax 0, 1, 1, 1, 0 vs NCC 0, 0, 1, 1, 1: examples 1 and 4 differ → 2/5.
        let features = [0.0, 2.0, 5.0, 7.0, 9.0];
        let labels = [0, 0, 1, 1, 1];
        let w = [1.0, -2.0];
        let logits = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
        let r = neural_collapse(&CollapseInput {
            weights: Some(&w),
            logits: Some(&logits),
            ..input(&features, 1, &labels, 2)
        })
        .unwrap();
        // A handful of rounded operations on values of order 1–100.
        let tol = 1e-12;
        assert!((r.nc1_trace - 1.0 / 9.0).abs() < tol, "{}", r.nc1_trace);
        assert!((r.nc1_cdnv - 11.0 / 216.0).abs() < tol, "{}", r.nc1_cdnv);
        assert!(r.nc2_equinorm_means.abs() < tol);
        assert!(r.nc2_equiangular_means.abs() < tol);
        assert!(r.nc2_max_angle_means.abs() < tol);
        assert!((r.nc2_equinorm_weights.unwrap() - 1.0 / 3.0).abs() < tol);
        assert!(r.nc2_equiangular_weights.unwrap().abs() < tol);
        assert!(r.nc2_max_angle_weights.unwrap().abs() < tol);
        let nc3 = 2.0 + 6.0 / 10f64.sqrt();
        assert!((r.nc3_self_duality.unwrap() - nc3).abs() < tol);
        assert_eq!(r.nc4_ncc_mismatch, Some(2.0 / 5.0));
    }

    #[test]
    fn hand_computed_unbalanced_in_the_plane() {
        // p = 2, C = 2. Class 0: (0,0), (2,0) → μ₀ = (1,0), V₀ = 1. Class 1: (1,4), (1,6),
        // (1,2), (1,4) → μ₁ = (1,4), V₁ = (0 + 4 + 4 + 0)/4 = 2. N = 6.
        // μ_G = (1,2) (not the global mean (1, 8/3): unbalanced). M̃ = [(0,−2), (0,2)].
        // Σ_W = (1/6)[[1+1, 0], [0, 8]] = [[1/3, 0], [0, 4/3]]; Σ_B = [[0,0],[0,4]];
        // Σ_B^† = [[0,0],[0,1/4]]; Tr(Σ_W Σ_B^†) = 1/3; NC1 = 1/6.
        // CDNV = (1 + 2)/(2·16) = 3/32.
        let features = [0.0, 0.0, 2.0, 0.0, 1.0, 4.0, 1.0, 6.0, 1.0, 2.0, 1.0, 4.0];
        let labels = [0, 0, 1, 1, 1, 1];
        let r = neural_collapse(&input(&features, 2, &labels, 2)).unwrap();
        assert!((r.nc1_trace - 1.0 / 6.0).abs() < 1e-12, "{}", r.nc1_trace);
        assert!((r.nc1_cdnv - 3.0 / 32.0).abs() < 1e-12, "{}", r.nc1_cdnv);
    }

    /// Seeded features with class-dependent means and unequal class sizes.
    fn random_case(seed: u64, n: usize, p: usize, c: usize) -> (Vec<f64>, Vec<u32>) {
        let key = RandomKey::root(seed).derive("collapse/random");
        let centres = key.derive("centres").normals(c * p);
        let noise = key.derive("noise").normals(n * p);
        let labels: Vec<u32> = (0..n)
            .map(|i| {
                ((key.derive("labels").uniform_at(i as u64) * c as f64) as u32).min(c as u32 - 1)
            })
            .collect();
        let features = (0..n * p)
            .map(|j| 3.0 * centres[labels[j / p] as usize * p + j % p] + noise[j] + 0.5)
            .collect();
        (features, labels)
    }

    #[test]
    fn nc1_trace_matches_brute_force_pseudo_inverse() {
        let (n, p, c) = (30usize, 5usize, 3usize);
        let (h, labels) = random_case(17, n, p, c);
        let r = neural_collapse(&input(&h, p, &labels, c)).unwrap();
        // Brute force: explicit p × p Σ_W, Σ_B and Σ_B^† from a full eigendecomposition.
        let mut mu = vec![0.0; c * p];
        let mut cnt = vec![0.0; c];
        for i in 0..n {
            let k = labels[i] as usize;
            cnt[k] += 1.0;
            for j in 0..p {
                mu[k * p + j] += h[i * p + j];
            }
        }
        for k in 0..c {
            assert!(cnt[k] > 0.0);
            for j in 0..p {
                mu[k * p + j] /= cnt[k];
            }
        }
        let mg: Vec<f64> = (0..p)
            .map(|j| (0..c).map(|k| mu[k * p + j]).sum::<f64>() / c as f64)
            .collect();
        let mut sw = vec![0.0; p * p];
        let mut sb = vec![0.0; p * p];
        for i in 0..n {
            let k = labels[i] as usize;
            for a in 0..p {
                for b in 0..p {
                    sw[a * p + b] +=
                        (h[i * p + a] - mu[k * p + a]) * (h[i * p + b] - mu[k * p + b]) / n as f64;
                }
            }
        }
        for k in 0..c {
            for a in 0..p {
                for b in 0..p {
                    sb[a * p + b] += (mu[k * p + a] - mg[a]) * (mu[k * p + b] - mg[b]) / c as f64;
                }
            }
        }
        let (l, v) = symmetric_eigen(&sb, p);
        let lmax = l.iter().copied().fold(0.0, f64::max);
        let kept = l.iter().filter(|&&x| x > 1e-10 * lmax).count();
        assert_eq!(kept, c - 1, "Σ_B has rank C − 1");
        let mut pinv = vec![0.0; p * p];
        for (k, &lk) in l.iter().enumerate() {
            if lk > 1e-10 * lmax {
                for a in 0..p {
                    for b in 0..p {
                        pinv[a * p + b] += v[a * p + k] * v[b * p + k] / lk;
                    }
                }
            }
        }
        let tr: f64 = (0..p)
            .map(|a| (0..p).map(|b| sw[a * p + b] * pinv[b * p + a]).sum::<f64>())
            .sum();
        let brute = tr / c as f64;
        // Two well-conditioned routes (rank C − 1 = 2, condition number O(10)) through O(n p²)
        // rounded operations: agreement far below 1e-9 relative.
        assert!(rel(r.nc1_trace, brute) < 1e-9, "{} vs {brute}", r.nc1_trace);
        // CDNV by its definition.
        let mut var = vec![0.0; c];
        for i in 0..n {
            let k = labels[i] as usize;
            var[k] += (0..p)
                .map(|j| (h[i * p + j] - mu[k * p + j]).powi(2))
                .sum::<f64>()
                / cnt[k];
        }
        let mut cd = 0.0;
        for a in 0..c {
            for b in a + 1..c {
                let d2: f64 = (0..p)
                    .map(|j| (mu[a * p + j] - mu[b * p + j]).powi(2))
                    .sum();
                cd += (var[a] + var[b]) / (2.0 * d2) / 3.0;
            }
        }
        assert!(rel(r.nc1_cdnv, cd) < 1e-12, "{} vs {cd}", r.nc1_cdnv);
    }

    #[test]
    fn nc4_counts_exactly_the_disagreements() {
        // p = 1, means 0 (class 0) and 10 (class 1); points near their means so NCC = label.
        // Logits name the label except at examples 2, 5 and 9: k = 3 of n = 10.
        let features = [-1.0, 1.0, 0.0, -0.5, 0.5, 9.0, 11.0, 10.0, 9.5, 10.5];
        let labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
        let flipped = [2usize, 5, 9];
        let logits: Vec<f64> = labels
            .iter()
            .enumerate()
            .flat_map(|(i, &l)| {
                let pred = if flipped.contains(&i) { 1 - l } else { l };
                [(pred == 0) as u8 as f64, (pred == 1) as u8 as f64]
            })
            .collect();
        let r = neural_collapse(&CollapseInput {
            logits: Some(&logits),
            ..input(&features, 1, &labels, 2)
        })
        .unwrap();
        assert_eq!(r.nc4_ncc_mismatch, Some(3.0 / 10.0));
    }

    #[test]
    fn absent_classes_are_ignored() {
        // Classes 1 and 3 of 5 have no example: same metrics as the compact relabelling, and
        // the rows of W of absent classes do not matter.
        let (n, p) = (24usize, 4usize);
        let (h, compact) = random_case(5, n, p, 3);
        let map = [0u32, 2, 4];
        let sparse: Vec<u32> = compact.iter().map(|&l| map[l as usize]).collect();
        let w3 = RandomKey::root(9).derive("w").normals(3 * p);
        let mut w5 = RandomKey::root(9).derive("junk").normals(5 * p);
        for (k, &c) in map.iter().enumerate() {
            w5[c as usize * p..(c as usize + 1) * p].copy_from_slice(&w3[k * p..(k + 1) * p]);
        }
        let a = neural_collapse(&CollapseInput {
            weights: Some(&w3),
            ..input(&h, p, &compact, 3)
        })
        .unwrap();
        let b = neural_collapse(&CollapseInput {
            weights: Some(&w5),
            ..input(&h, p, &sparse, 5)
        })
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(b.classes_present, 3);
    }

    #[test]
    fn invariant_to_rotation_scaling_and_shift() {
        let (n, p, c) = (40usize, 6usize, 4usize);
        let (h, labels) = random_case(23, n, p, c);
        let key = RandomKey::root(23).derive("collapse/invariance");
        let w = key.derive("w").normals(c * p);
        let base = neural_collapse(&CollapseInput {
            weights: Some(&w),
            ..input(&h, p, &labels, c)
        })
        .unwrap();
        // h → a Q h + b with Q orthogonal (row-major p × p), a > 0.
        let q = orthonormal_columns(key.derive("q"), p, p);
        let (a, b) = (2.7, key.derive("b").normals(p));
        let moved: Vec<f64> = h
            .chunks_exact(p)
            .flat_map(|x| {
                let (q, b) = (&q, &b);
                (0..p).map(move |r| a * dot(&q[r * p..(r + 1) * p], x) + b[r])
            })
            .collect();
        // W → W Qᵀ keeps the read-out aligned with the rotated features: NC3 is unchanged too.
        let wq: Vec<f64> = w
            .chunks_exact(p)
            .flat_map(|wr| {
                let q = &q;
                (0..p).map(move |r| dot(&q[r * p..(r + 1) * p], wr))
            })
            .collect();
        let m = neural_collapse(&CollapseInput {
            weights: Some(&wq),
            ..input(&moved, p, &labels, c)
        })
        .unwrap();
        // Rounding of O(n p C) operations on O(1) values, amplified by the O(10) condition
        // number of the means: far below 1e-10 relative.
        for (name, x, y) in [
            ("nc1_trace", base.nc1_trace, m.nc1_trace),
            ("nc1_cdnv", base.nc1_cdnv, m.nc1_cdnv),
            (
                "nc2_equinorm_means",
                base.nc2_equinorm_means,
                m.nc2_equinorm_means,
            ),
            (
                "nc2_equiangular_means",
                base.nc2_equiangular_means,
                m.nc2_equiangular_means,
            ),
            (
                "nc2_max_angle_means",
                base.nc2_max_angle_means,
                m.nc2_max_angle_means,
            ),
            (
                "nc3_self_duality",
                base.nc3_self_duality.unwrap(),
                m.nc3_self_duality.unwrap(),
            ),
        ] {
            assert!(rel(y, x) < 1e-10, "{name}: {y} vs {x}");
        }
        // W → a W: NC3 and the weight NC2 metrics unchanged.
        let ws: Vec<f64> = w.iter().map(|v| 0.013 * v).collect();
        let s = neural_collapse(&CollapseInput {
            weights: Some(&ws),
            ..input(&h, p, &labels, c)
        })
        .unwrap();
        for (x, y) in [
            (base.nc3_self_duality, s.nc3_self_duality),
            (base.nc2_equinorm_weights, s.nc2_equinorm_weights),
            (base.nc2_equiangular_weights, s.nc2_equiangular_weights),
            (base.nc2_max_angle_weights, s.nc2_max_angle_weights),
        ] {
            assert!(rel(y.unwrap(), x.unwrap()) < 1e-10, "{y:?} vs {x:?}");
        }
        // The metrics are not all trivially zero on this data.
        assert!(base.nc1_trace > 1e-3 && base.nc1_cdnv > 1e-3);
        assert!(base.nc3_self_duality.unwrap() > 1e-3);
    }

    #[test]
    fn equal_means_give_nan_not_an_error() {
        // Both classes have mean 1: M̃ = 0.
        let features = [0.0, 2.0, 1.0, 1.0];
        let labels = [0, 0, 1, 1];
        let w = [1.0, -1.0];
        let r = neural_collapse(&CollapseInput {
            weights: Some(&w),
            ..input(&features, 1, &labels, 2)
        })
        .unwrap();
        assert!(r.nc1_trace.is_nan());
        assert!(r.nc3_self_duality.unwrap().is_nan());
        assert!(r.nc2_equinorm_means.is_nan());
        assert_eq!(r.nc1_cdnv, f64::INFINITY);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let features = [0.0, 1.0, 2.0, 3.0];
        let labels = [0, 0, 1, 1];
        let ok = input(&features, 1, &labels, 2);
        assert!(neural_collapse(&ok).is_ok());
        assert!(matches!(
            neural_collapse(&CollapseInput { p: 2, ..ok }),
            Err(StatsError::InvalidArgument {
                field: "features",
                ..
            })
        ));
        assert!(matches!(
            neural_collapse(&CollapseInput {
                p: 0,
                features: &[],
                ..ok
            }),
            Err(StatsError::InvalidArgument { field: "p", .. })
        ));
        assert!(matches!(
            neural_collapse(&CollapseInput {
                labels: &[0, 0, 1],
                ..ok
            }),
            Err(StatsError::LengthMismatch { .. })
        ));
        assert!(matches!(
            neural_collapse(&CollapseInput {
                weights: Some(&[1.0]),
                ..ok
            }),
            Err(StatsError::InvalidArgument {
                field: "weights",
                ..
            })
        ));
        assert!(matches!(
            neural_collapse(&CollapseInput {
                logits: Some(&[1.0; 4]),
                ..ok
            }),
            Err(StatsError::InvalidArgument {
                field: "logits",
                ..
            })
        ));
        assert!(matches!(
            neural_collapse(&CollapseInput {
                labels: &[0, 0, 1, 2],
                ..ok
            }),
            Err(StatsError::OutOfDomain {
                field: "labels",
                index: 3,
                ..
            })
        ));
        assert!(matches!(
            neural_collapse(&CollapseInput {
                labels: &[1, 1, 1, 1],
                ..ok
            }),
            Err(StatsError::TooFewPoints {
                needed: 2,
                got: 1,
                ..
            })
        ));
        assert!(matches!(
            neural_collapse(&CollapseInput {
                features: &[0.0, f64::NAN, 2.0, 3.0],
                ..ok
            }),
            Err(StatsError::NonFinite {
                field: "features",
                index: 1,
                ..
            })
        ));
        assert!(matches!(
            neural_collapse(&CollapseInput {
                logits: Some(&[0.0, 1.0, 0.0, 1.0, f64::INFINITY, 0.0, 1.0, 0.0]),
                ..ok
            }),
            Err(StatsError::NonFinite {
                field: "logits",
                index: 4,
                ..
            })
        ));
    }
}
