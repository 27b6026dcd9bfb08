//! The eigen-decomposition of a feature map and what is read off it (SCIENCE.md §P5.3), in f64
//! on host matrices; no tensors, so every formula here is tested on hand-made features.
//!
//! For `n` rows `φ_μ ∈ R^p` and an offset `m` (0 for the uncentred second moment, the mean
//! `φ̄` for the covariance), `M = (1/n) Σ_μ (φ_μ − m)(φ_μ − m)ᵀ = Σ_k λ_k v_k v_kᵀ` and the
//! eigenfunctions are `ψ_k(x) = (φ(x) − m)·v_k / √λ_k` (unit norm in `L²` of the rows). For
//! targets `T` (`n × c`: one-hot labels, or real targets) the alignment of eigenfunction `k` is
//!
//! `a_k = ‖⟨ψ_k, T⟩‖² = ‖v_kᵀ G‖² / λ_k`,  `G = (1/n) Σ_μ (φ_μ − m) T_μᵀ` (`p × c`),
//!
//! with `⟨ψ, T⟩ = (1/n) Σ_μ ψ(x_μ) T_μ`; `Σ_k a_k = (1/n)‖P_Φ T‖²_F`, the part of `T` in the span
//! of the (offset) features. The **alignment count** `count95` is the smallest `K` with
//! `Σ_{k≤K} a_k ≥ 0.95 Σ_k a_k`, eigenfunctions in decreasing order of `λ`. Directions with
//! `λ_k ≤ rcond · λ_1` are left out (their `ψ_k` is not defined: `1/√λ_k` would amplify
//! rounding); with f64 moments of f32 features, rounding puts spurious eigenvalues near
//! `1e-16 λ_1`, so the default `rcond = 1e-10` leaves six orders of magnitude of margin on both
//! sides.

use learnscope_data::transform::{moment_matrix, symmetric_eigen};

/// One moment matrix's eigen-decomposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// Feature dimension p.
    pub p: usize,
    /// The offset subtracted (zeros for the uncentred moment).
    pub offset: Vec<f64>,
    /// λ₁ ≥ … ≥ λ_p (tiny negative values from rounding kept as computed).
    pub eigenvalues: Vec<f64>,
    /// Row-major p × p; row k is v_k.
    pub eigenvectors: Vec<f64>,
}

/// The uncentred second moment's and the covariance's eigen-decompositions of `n` rows of
/// `phi` (row-major `n × p`), from one moment accumulation (`Cov = M − φ̄φ̄ᵀ`).
pub fn spectra(phi: &[f64], n: usize, p: usize) -> Result<(Spectrum, Spectrum), String> {
    let (mean, m) = moment_matrix(phi, n, p, false);
    if m.iter().any(|v| !v.is_finite()) {
        return Err("non-finite features".into());
    }
    let mut cov = m.clone();
    for a in 0..p {
        for b in 0..p {
            cov[a * p + b] -= mean[a] * mean[b];
        }
    }
    let (l, v) = symmetric_eigen(&m, p)?;
    let (lc, vc) = symmetric_eigen(&cov, p)?;
    Ok((
        Spectrum {
            p,
            offset: vec![0.0; p],
            eigenvalues: l,
            eigenvectors: v,
        },
        Spectrum {
            p,
            offset: mean,
            eigenvalues: lc,
            eigenvectors: vc,
        },
    ))
}

impl Spectrum {
    /// The number of eigenvalues above `rcond · λ₁` (the directions with an eigenfunction).
    pub fn rank(&self, rcond: f64) -> usize {
        let top = self.eigenvalues.first().copied().unwrap_or(0.0);
        if top.is_nan() || top <= 0.0 {
            return 0;
        }
        self.eigenvalues
            .iter()
            .take_while(|&&l| l > rcond * top)
            .count()
    }

    /// `Σ_k λ_k` (clipped at 0 per eigenvalue).
    pub fn trace(&self) -> f64 {
        self.eigenvalues.iter().map(|l| l.max(0.0)).sum()
    }

    /// `N_τ = #{k : λ_k / λ₁ > τ}`.
    pub fn count_above(&self, tau: f64) -> usize {
        self.rank(tau)
    }

    /// The participation ratio `(Σλ)² / Σλ²` (NaN for a zero spectrum).
    pub fn participation_ratio(&self) -> f64 {
        let s: f64 = self.eigenvalues.iter().map(|l| l.max(0.0)).sum();
        let s2: f64 = self.eigenvalues.iter().map(|l| l.max(0.0).powi(2)).sum();
        if s2 > 0.0 {
            s * s / s2
        } else {
            f64::NAN
        }
    }

    /// `G = (1/n) Σ_μ (φ_μ − m) T_μᵀ`, row-major `p × c`.
    fn cross_moment(&self, phi: &[f64], n: usize, targets: &[f64], c: usize) -> Vec<f64> {
        let p = self.p;
        let mut g = vec![0.0; p * c];
        for (row, t) in phi.chunks(p).take(n).zip(targets.chunks(c)) {
            for (a, (v, m)) in row.iter().zip(&self.offset).enumerate() {
                let d = v - m;
                if d != 0.0 {
                    for (gj, tj) in g[a * c..(a + 1) * c].iter_mut().zip(t) {
                        *gj += d * tj;
                    }
                }
            }
        }
        g.iter_mut().for_each(|v| *v /= n.max(1) as f64);
        g
    }

    /// The alignments `a_k` (module documentation) of the first `rank(rcond)` eigenfunctions
    /// with targets `T` (`n × c`, row-major) on the rows they were fitted to.
    pub fn alignments(
        &self,
        phi: &[f64],
        n: usize,
        targets: &[f64],
        c: usize,
        rcond: f64,
    ) -> Vec<f64> {
        let g = self.cross_moment(phi, n, targets, c);
        let p = self.p;
        (0..self.rank(rcond))
            .map(|k| {
                let v = &self.eigenvectors[k * p..(k + 1) * p];
                let mut s = 0.0;
                for j in 0..c {
                    let proj: f64 = v.iter().enumerate().map(|(a, va)| va * g[a * c + j]).sum();
                    s += proj * proj;
                }
                s / self.eigenvalues[k]
            })
            .collect()
    }

    /// The eigenfunctions `ψ_k` for `k < count` (at most the rank) at `rows` rows of `phi`
    /// (fitted or new examples): row-major `rows × count`.
    pub fn eigenfunctions(&self, phi: &[f64], rows: usize, count: usize, rcond: f64) -> Vec<f64> {
        let p = self.p;
        let k_max = count.min(self.rank(rcond));
        let mut out = vec![0.0; rows * count];
        for (i, row) in phi.chunks(p).take(rows).enumerate() {
            for k in 0..k_max {
                let v = &self.eigenvectors[k * p..(k + 1) * p];
                let dot: f64 = row
                    .iter()
                    .zip(&self.offset)
                    .zip(v)
                    .map(|((x, m), vk)| (x - m) * vk)
                    .sum();
                out[i * count + k] = dot / self.eigenvalues[k].sqrt();
            }
            for k in k_max..count {
                out[i * count + k] = f64::NAN;
            }
        }
        out
    }
}

/// The smallest `K ≥ 1` with `Σ_{k≤K} a_k ≥ level · Σ_k a_k` (`None` when every `a_k` is 0 or
/// the list is empty: no target energy in the features' span).
pub fn alignment_count(a: &[f64], level: f64) -> Option<usize> {
    let total: f64 = a.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let mut acc = 0.0;
    for (k, v) in a.iter().enumerate() {
        acc += v;
        if acc >= level * total {
            return Some(k + 1);
        }
    }
    Some(a.len())
}

/// The regime of a C-class problem from its alignment counts (issue 10's rule, fixed before
/// any run): minimal-feature (MF) when the uncentred count is in `[C−1, C+1]`, extended-feature
/// (EF) when it is `≥ 2C`, otherwise intermediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    /// count95 ∈ [C−1, C+1].
    MinimalFeature,
    /// Neither.
    Intermediate,
    /// count95 ≥ 2C.
    ExtendedFeature,
}

impl Regime {
    /// The regime of an uncentred alignment count for `classes` classes.
    pub fn of(count: usize, classes: usize) -> Regime {
        if count + 1 >= classes && count <= classes + 1 {
            Regime::MinimalFeature
        } else if count >= 2 * classes {
            Regime::ExtendedFeature
        } else {
            Regime::Intermediate
        }
    }

    /// Its code in the metrics table: MF 1, intermediate 0, EF 2.
    pub fn code(self) -> f64 {
        match self {
            Regime::MinimalFeature => 1.0,
            Regime::Intermediate => 0.0,
            Regime::ExtendedFeature => 2.0,
        }
    }
}

/// Whether a covariance alignment count is in the MF band `[C−2, C]` (the global mean, one of
/// the uncentred moment's C directions under collapse, is removed by centring).
pub fn centred_minimal(count: usize, classes: usize) -> bool {
    count + 2 >= classes && count <= classes
}

/// `1 − (between-class variance / total variance)` of each column of `values` (`rows × cols`,
/// row-major) over the classes `labels`: 0 when the column is constant within every class
/// (piecewise constant over classes), 1 when the class means are all equal. NaN for a constant
/// column.
pub fn within_class_fraction(
    values: &[f64],
    rows: usize,
    cols: usize,
    labels: &[u32],
    classes: usize,
) -> Vec<f64> {
    let mut count = vec![0usize; classes];
    for &l in labels.iter().take(rows) {
        count[l as usize] += 1;
    }
    (0..cols)
        .map(|k| {
            let mut sum = vec![0.0; classes];
            let mut total = 0.0;
            for (i, &l) in labels.iter().take(rows).enumerate() {
                sum[l as usize] += values[i * cols + k];
                total += values[i * cols + k];
            }
            let mean = total / rows as f64;
            let mut within = 0.0;
            let mut all = 0.0;
            for (i, &l) in labels.iter().take(rows).enumerate() {
                let v = values[i * cols + k];
                let mc = sum[l as usize] / count[l as usize] as f64;
                within += (v - mc) * (v - mc);
                all += (v - mean) * (v - mean);
            }
            if all > 0.0 {
                within / all
            } else {
                f64::NAN
            }
        })
        .collect()
}

/// One-hot rows (`n × classes`) of `labels`.
pub fn one_hot(labels: &[u32], classes: usize) -> Vec<f64> {
    let mut t = vec![0.0; labels.len() * classes];
    for (i, &l) in labels.iter().enumerate() {
        t[i * classes + l as usize] = 1.0;
    }
    t
}
