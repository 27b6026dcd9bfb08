//! The gradient-descent identity behind "diagonalising Φ with respect to the gradient descent
//! operator" (SCIENCE.md §P5.3; issue 10 row 1): train only a linear read-out on frozen
//! features and compare the residual, mode by mode, with the closed form.
//!
//! Features `φ̃_μ = (φ_μ, 1)` (the bias is a constant feature, learned at the same rate),
//! read-out `W ∈ R^{c × (p+1)}` from `W₀ = 0`, loss `L = (1/2n) Σ_μ ‖W φ̃_μ − y_μ‖²` (½ × the
//! mean over examples of the summed squared error), plain gradient descent
//! `W ← W − η ∇L = W − (η/n) Rᵀ Φ̃` with residuals `R = Φ̃ Wᵀ − Y` (`n × c`). Then
//! `R_{t+1} = (I − (η/n) Φ̃Φ̃ᵀ) R_t`, and with `M̃ = (1/n) Φ̃ᵀΦ̃ = Σ_k λ_k v_k v_kᵀ` and
//! `e_k = Φ̃ v_k / √(n λ_k)` (the unit left singular vectors of `Φ̃/√n`),
//!
//! `e_kᵀ R_t = (1 − ηλ_k)^t e_kᵀ R_0`
//!
//! exactly. The simulation computes `R_t` from `W_t` at every step (no recursion on `R`) and
//! measures `e_kᵀ R_t = √n v_kᵀ G_t / √λ_k` with `G_t = (1/n) Φ̃ᵀ R_t` (the gradient it steps
//! with). The residual reported is the largest `‖measured − predicted‖ / ‖predicted‖` over
//! steps `1..=steps` and modes with `λ_k > rcond λ₁` whose predicted component is still at least
//! `floor = 1e-4 ‖R_0‖_F` (below that, f64 rounding of the `O(‖R_0‖)` other components,
//! `≈ 1e-16 · ‖R_0‖` per step, is no longer negligible relative to the mode: at the floor it is
//! ≲ 1e-16 · steps / 1e-4 ≈ 1e-10 for 1000 steps, two decades inside the 1e-8 bound).
//! `η = 1/λ₁` (every factor `1 − ηλ_k` in `[0, 1)`).

use learnscope_data::transform::symmetric_eigen;

/// The outcome of [`gd_identity`].
#[derive(Debug, Clone, PartialEq)]
pub struct GdIdentity {
    /// The largest relative error (module documentation).
    pub residual: f64,
    /// Modes compared at step 1.
    pub modes: usize,
    /// The step size used, 1/λ₁.
    pub eta: f64,
}

/// Runs `steps` steps of read-out gradient descent on the frozen features `phi` (`n × p`) with
/// targets `y` (`n × c`) and compares each mode with `(1 − ηλ_k)^t` (module documentation).
pub fn gd_identity(
    phi: &[f64],
    n: usize,
    p: usize,
    y: &[f64],
    c: usize,
    steps: usize,
    rcond: f64,
) -> Result<GdIdentity, String> {
    if n == 0 || c == 0 || phi.len() != n * p || y.len() != n * c {
        return Err(format!(
            "shapes: {} feature values for {n} × {p}, {} targets for {n} × {c}",
            phi.len(),
            y.len()
        ));
    }
    let q = p + 1;
    let mut aug = Vec::with_capacity(n * q);
    for row in phi.chunks(p.max(1)).take(n) {
        if p > 0 {
            aug.extend_from_slice(row);
        }
        aug.push(1.0);
    }
    let (_, moment) = learnscope_data::transform::moment_matrix(&aug, n, q, false);
    if moment.iter().any(|v| !v.is_finite()) {
        return Err("non-finite features".into());
    }
    let (lambda, v) = symmetric_eigen(&moment, q)?;
    let top = lambda[0];
    let modes: Vec<usize> = (0..q).filter(|&k| lambda[k] > rcond * top).collect();
    let eta = 1.0 / top;
    let nf = n as f64;
    let mut w = vec![0.0; c * q];
    // G = (1/n) Φ̃ᵀ R, row-major q × c, and the residual R = Φ̃ Wᵀ − Y.
    let gradient = |w: &[f64]| -> (Vec<f64>, f64) {
        let mut g = vec![0.0; q * c];
        let mut norm2 = 0.0;
        let mut r = vec![0.0; c];
        for (row, yrow) in aug.chunks(q).zip(y.chunks(c)) {
            for j in 0..c {
                let f: f64 = row
                    .iter()
                    .zip(&w[j * q..(j + 1) * q])
                    .map(|(a, b)| a * b)
                    .sum();
                r[j] = f - yrow[j];
                norm2 += r[j] * r[j];
            }
            for (a, xa) in row.iter().enumerate() {
                for j in 0..c {
                    g[a * c + j] += xa * r[j];
                }
            }
        }
        g.iter_mut().for_each(|x| *x /= nf);
        (g, norm2.sqrt())
    };
    // e_kᵀ R = √n v_kᵀ G / √λ_k, a c-vector per mode.
    let project = |g: &[f64], k: usize| -> Vec<f64> {
        let vk = &v[k * q..(k + 1) * q];
        let s = nf.sqrt() / lambda[k].sqrt();
        (0..c)
            .map(|j| {
                s * vk
                    .iter()
                    .enumerate()
                    .map(|(a, x)| x * g[a * c + j])
                    .sum::<f64>()
            })
            .collect()
    };
    let (g0, r0_norm) = gradient(&w);
    let start: Vec<Vec<f64>> = modes.iter().map(|&k| project(&g0, k)).collect();
    let floor = 1e-4 * r0_norm;
    let mut worst: f64 = 0.0;
    let mut compared_at_1 = 0;
    let mut g = g0;
    for t in 1..=steps {
        for a in 0..q {
            for j in 0..c {
                w[j * q + a] -= eta * g[a * c + j];
            }
        }
        g = gradient(&w).0;
        for (m, &k) in modes.iter().enumerate() {
            let factor = (1.0 - eta * lambda[k]).powi(t as i32);
            let predicted: Vec<f64> = start[m].iter().map(|s| s * factor).collect();
            let pn = predicted.iter().map(|x| x * x).sum::<f64>().sqrt();
            if pn < floor {
                continue;
            }
            if t == 1 {
                compared_at_1 += 1;
            }
            let measured = project(&g, k);
            let err = measured
                .iter()
                .zip(&predicted)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            let rel = err / pn;
            // NaN must not be swallowed by `max`.
            worst = if rel.is_nan() || worst.is_nan() {
                f64::NAN
            } else {
                worst.max(rel)
            };
        }
    }
    Ok(GdIdentity {
        residual: worst,
        modes: compared_at_1,
        eta,
    })
}
