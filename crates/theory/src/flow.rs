//! Gradient flow of a deep linear network with optional biases on the data moments
//! (SCIENCE.md §P1.4 a, generalised to L layers; §C.1 without biases), in flow time t (τ = 1).
//!
//! `h_0 = x`, `h_l = W_l h_{l−1} + b_l`, `f(x) = h_L = W x + c` with `W = W_L⋯W_1` and
//! `c = c_L`, `c_l = W_l c_{l−1} + b_l`, `c_0 = 0`. For `L = ½ E||y − f(x)||²` write
//! `A_l = W_L⋯W_{l+1}` (identity for l = L), `B_{l−1} = W_{l−1}⋯W_1` (identity for l = 1), the
//! residual correlation `R = Σyx − W Σxx − c x̄ᵀ` and the residual mean `r = ȳ − W x̄ − c`.
//! Backpropagation gives `δ_l = −A_lᵀ (y − f(x))` and `h_{l−1} = B_{l−1} x + c_{l−1}`, so
//! `dW_l/dt = A_lᵀ (R B_{l−1}ᵀ + r c_{l−1}ᵀ)` and `db_l/dt = A_lᵀ r`.
//! For L = 2 (`c_1 = b_1`) these are exactly the four equations of §P1.4 (a):
//! `dW1 = W2ᵀ R`, `db1 = W2ᵀ r`, `dW2 = R W1ᵀ + r b1ᵀ`, `db2 = r`.
//! Integration is classical RK4 with a fixed step chosen by the caller; one explicit Euler step
//! with `dt = η` is one full-batch gradient-descent step with the `mean` reduction.

use crate::error::TheoryError;
use crate::linalg::{identity, matmul, matvec, transpose};
use crate::moments::Moments;
use crate::ocs::LinearPrediction;

/// The state of a deep linear network under gradient flow on fixed data moments.
///
/// Parameters are stored flat in the order `W_1, b_1?, W_2, b_2?, …` (each `W_l` row-major
/// `[N_l, N_{l−1}]`, present biases only); [`DeepLinearFlow::params`] and
/// [`DeepLinearFlow::velocity`] use that layout.
#[derive(Debug, Clone)]
pub struct DeepLinearFlow {
    moments: Moments,
    dims: Vec<usize>,
    has_bias: Vec<bool>,
    /// (weight offset, bias offset) per layer.
    offsets: Vec<(usize, Option<usize>)>,
    params: Vec<f64>,
    time: f64,
}

impl DeepLinearFlow {
    /// A network with `weights.len()` layers: `weights[l]` row-major `[N_{l+1}, N_l]` with
    /// `N_0 = moments.inputs`, `N_L = moments.outputs`, and `biases[l]` (length `N_{l+1}`) or
    /// `None` for a layer without bias.
    pub fn new(
        moments: Moments,
        weights: Vec<Vec<f64>>,
        biases: Vec<Option<Vec<f64>>>,
    ) -> Result<Self, TheoryError> {
        const WHAT: &str = "flow::DeepLinearFlow";
        let layers = weights.len();
        if layers == 0 {
            return Err(TheoryError::param(WHAT, "weights", 0.0, ">= 1 layer"));
        }
        TheoryError::check_len(WHAT, "biases", biases.len(), layers, "len(weights)")?;
        let mut dims = vec![moments.inputs];
        for (l, w) in weights.iter().enumerate() {
            let fan_in = dims[l];
            let fan_out = if l + 1 == layers {
                moments.outputs
            } else if fan_in == 0 || w.len() % fan_in != 0 {
                return Err(TheoryError::BadShape {
                    what: WHAT,
                    field: "weights",
                    value: w.len(),
                    rule: format!("layer {} has a multiple of its fan-in {fan_in}", l + 1),
                });
            } else {
                w.len() / fan_in
            };
            TheoryError::check_len(
                WHAT,
                "weights",
                w.len(),
                fan_out * fan_in,
                "fan_out * fan_in",
            )?;
            if let Some(b) = &biases[l] {
                TheoryError::check_len(WHAT, "biases", b.len(), fan_out, "fan_out")?;
            }
            dims.push(fan_out);
        }
        let mut params = Vec::new();
        let mut offsets = Vec::with_capacity(layers);
        for (w, b) in weights.iter().zip(&biases) {
            let wo = params.len();
            params.extend_from_slice(w);
            let bo = b.as_ref().map(|b| {
                let o = params.len();
                params.extend_from_slice(b);
                o
            });
            offsets.push((wo, bo));
        }
        if let Some(&bad) = params.iter().find(|v| !v.is_finite()) {
            return Err(TheoryError::param(WHAT, "params", bad, "finite"));
        }
        Ok(DeepLinearFlow {
            moments,
            has_bias: biases.iter().map(Option::is_some).collect(),
            dims,
            offsets,
            params,
            time: 0.0,
        })
    }

    /// Number of weight matrices L.
    pub fn layers(&self) -> usize {
        self.offsets.len()
    }

    /// Layer widths `[N_0, …, N_L]`.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// Flow time reached so far.
    pub fn time(&self) -> f64 {
        self.time
    }

    /// The moments the flow runs on.
    pub fn moments(&self) -> &Moments {
        &self.moments
    }

    /// All parameters, flat (see the type's documentation for the layout).
    pub fn params(&self) -> &[f64] {
        &self.params
    }

    /// `W_l` for layer `l` in `0..L` (row-major `[N_{l+1}, N_l]`).
    pub fn weight(&self, l: usize) -> &[f64] {
        let o = self.offsets[l].0;
        &self.params[o..o + self.dims[l + 1] * self.dims[l]]
    }

    /// `b_l` for layer `l` in `0..L`, if that layer has a bias.
    pub fn bias(&self, l: usize) -> Option<&[f64]> {
        self.offsets[l]
            .1
            .map(|o| &self.params[o..o + self.dims[l + 1]])
    }

    /// The effective map `W = W_L⋯W_1` (row-major K×n) and constant `c` (length K) of
    /// `f(x) = W x + c`.
    pub fn effective(&self) -> (Vec<f64>, Vec<f64>) {
        effective_of(&self.params, &self.dims, &self.offsets)
    }

    /// The loss `½ E||y − f(x)||²` and the OCS measurements of the current map.
    pub fn prediction(&self) -> LinearPrediction {
        let (w, c) = self.effective();
        LinearPrediction::evaluate(&self.moments, &w, &c).expect("shapes agree by construction")
    }

    /// The loss `½ E||y − f(x)||²`.
    pub fn loss(&self) -> f64 {
        self.prediction().loss
    }

    /// `dθ/dt = −∇L` at the current parameters, in the flat layout.
    pub fn velocity(&self) -> Vec<f64> {
        self.velocity_at(&self.params)
    }

    fn velocity_at(&self, params: &[f64]) -> Vec<f64> {
        let (dims, offsets, m) = (&self.dims, &self.offsets, &self.moments);
        let layers = offsets.len();
        let (n, k) = (dims[0], dims[layers]);
        let w_of = |l: usize| &params[offsets[l].0..offsets[l].0 + dims[l + 1] * dims[l]];
        // Forward products B_l = W_l⋯W_1 and propagated biases c_l.
        let mut b_mats = vec![identity(n)];
        let mut c_vecs = vec![vec![0.0; n]];
        for l in 0..layers {
            let b = matmul(w_of(l), &b_mats[l], dims[l + 1], dims[l], n);
            let mut c = matvec(w_of(l), &c_vecs[l], dims[l + 1], dims[l]);
            if let Some(o) = offsets[l].1 {
                for (ci, bi) in c.iter_mut().zip(&params[o..o + dims[l + 1]]) {
                    *ci += bi;
                }
            }
            b_mats.push(b);
            c_vecs.push(c);
        }
        let (w, c) = (&b_mats[layers], &c_vecs[layers]);
        // Residual moments R = Σyx − W Σxx − c x̄ᵀ and r = ȳ − W x̄ − c.
        let wsxx = matmul(w, &m.sigma_xx, k, n, n);
        let wx = matvec(w, &m.x_mean, k, n);
        let mut r_mat = vec![0.0; k * n];
        let mut r_vec = vec![0.0; k];
        for a in 0..k {
            r_vec[a] = m.y_mean[a] - wx[a] - c[a];
            for j in 0..n {
                r_mat[a * n + j] = m.sigma_yx[a * n + j] - wsxx[a * n + j] - c[a] * m.x_mean[j];
            }
        }
        // Backward products A_l = W_L⋯W_{l+1}, from the top.
        let mut out = vec![0.0; params.len()];
        let mut a_mat = identity(k);
        for l in (0..layers).rev() {
            let (fan_in, fan_out) = (dims[l], dims[l + 1]);
            // M = R B_{l−1}ᵀ + r c_{l−1}ᵀ  (K × fan_in).
            let mut mm = matmul(&r_mat, &transpose(&b_mats[l], fan_in, n), k, n, fan_in);
            for a in 0..k {
                for j in 0..fan_in {
                    mm[a * fan_in + j] += r_vec[a] * c_vecs[l][j];
                }
            }
            let at = transpose(&a_mat, k, fan_out);
            let dw = matmul(&at, &mm, fan_out, k, fan_in);
            out[offsets[l].0..offsets[l].0 + fan_out * fan_in].copy_from_slice(&dw);
            if let Some(o) = offsets[l].1 {
                let db = matvec(&at, &r_vec, fan_out, k);
                out[o..o + fan_out].copy_from_slice(&db);
            }
            a_mat = matmul(&a_mat, w_of(l), k, fan_out, fan_in);
        }
        out
    }

    /// One explicit Euler step `θ ← θ + dt · dθ/dt` (with `dt = η`, one full-batch gradient
    /// descent step under the `mean` reduction).
    pub fn euler_step(&mut self, dt: f64) {
        let v = self.velocity();
        for (p, d) in self.params.iter_mut().zip(v) {
            *p += dt * d;
        }
        self.time += dt;
    }

    /// One classical fourth-order Runge–Kutta step of size `dt`.
    pub fn rk4_step(&mut self, dt: f64) {
        let p0 = self.params.clone();
        let shifted =
            |k: &[f64], h: f64| -> Vec<f64> { p0.iter().zip(k).map(|(p, d)| p + h * d).collect() };
        let k1 = self.velocity_at(&p0);
        let k2 = self.velocity_at(&shifted(&k1, 0.5 * dt));
        let k3 = self.velocity_at(&shifted(&k2, 0.5 * dt));
        let k4 = self.velocity_at(&shifted(&k3, dt));
        for i in 0..self.params.len() {
            self.params[i] = p0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        self.time += dt;
    }

    /// RK4 steps of at most `dt` until flow time `t` (the last step is shortened to land on
    /// `t`); nothing happens if `t` is not after the current time.
    pub fn integrate_to(&mut self, t: f64, dt: f64) -> Result<(), TheoryError> {
        if !(dt.is_finite() && dt > 0.0) {
            return Err(TheoryError::param(
                "flow::DeepLinearFlow::integrate_to",
                "dt",
                dt,
                "finite and > 0",
            ));
        }
        if !t.is_finite() {
            return Err(TheoryError::param(
                "flow::DeepLinearFlow::integrate_to",
                "t",
                t,
                "finite",
            ));
        }
        while self.time < t {
            let remaining = t - self.time;
            if remaining <= dt * (1.0 + 1e-12) {
                self.rk4_step(remaining);
                self.time = t;
            } else {
                self.rk4_step(dt);
            }
        }
        Ok(())
    }

    /// Which layers have a bias.
    pub fn has_bias(&self) -> &[bool] {
        &self.has_bias
    }
}

fn effective_of(
    params: &[f64],
    dims: &[usize],
    offsets: &[(usize, Option<usize>)],
) -> (Vec<f64>, Vec<f64>) {
    let layers: Vec<(&[f64], Option<&[f64]>)> = offsets
        .iter()
        .enumerate()
        .map(|(l, &(wo, bo))| {
            (
                &params[wo..wo + dims[l + 1] * dims[l]],
                bo.map(|o| &params[o..o + dims[l + 1]]),
            )
        })
        .collect();
    effective_map(dims[0], &layers)
}

/// The network map `f(x) = W x + c` of a linear chain: `W = W_L⋯W_1` (row-major, outputs ×
/// `inputs`) and `c = c_L` with `c_l = W_l c_{l−1} + b_l`, `c_0 = 0`. Each layer is (row-major
/// `W_l`, its bias if any); a layer's output width is `len(W_l) / fan-in`.
pub fn effective_map(inputs: usize, layers: &[(&[f64], Option<&[f64]>)]) -> (Vec<f64>, Vec<f64>) {
    let mut w = identity(inputs);
    let mut c = vec![0.0; inputs];
    let mut rows = inputs;
    for (wl, bl) in layers {
        let out = wl.len() / rows.max(1);
        w = matmul(wl, &w, out, rows, inputs);
        c = matvec(wl, &c, out, rows);
        if let Some(b) = bl {
            c.iter_mut().zip(b.iter()).for_each(|(ci, bi)| *ci += bi);
        }
        rows = out;
    }
    (w, c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bias;

    fn pseudo(len: usize, seed: u64, scale: f64) -> Vec<f64> {
        let mut state = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                scale * (((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0)
            })
            .collect()
    }

    /// Random data: P = 6, n = 3, K = 2.
    fn data() -> (Vec<f64>, Vec<f64>, Moments) {
        let x = pseudo(18, 1, 1.0);
        let y = pseudo(12, 2, 1.0);
        let m = Moments::from_data(&x, &y, 6, 3, 2).unwrap();
        (x, y, m)
    }

    /// One full-batch GD step on the data by per-example backpropagation, plain f64.
    fn gd_step(
        x: &[f64],
        y: &[f64],
        dims: &[usize],
        w: &mut [Vec<f64>],
        b: &mut [Option<Vec<f64>>],
        eta: f64,
    ) {
        let p = x.len() / dims[0];
        let layers = w.len();
        let mut gw: Vec<Vec<f64>> = w.iter().map(|v| vec![0.0; v.len()]).collect();
        let mut gb: Vec<Vec<f64>> = (0..layers).map(|l| vec![0.0; dims[l + 1]]).collect();
        for mu in 0..p {
            let mut hs = vec![x[mu * dims[0]..(mu + 1) * dims[0]].to_vec()];
            for l in 0..layers {
                let mut h = matvec(&w[l], &hs[l], dims[l + 1], dims[l]);
                if let Some(bl) = &b[l] {
                    for (a, c) in h.iter_mut().zip(bl) {
                        *a += c;
                    }
                }
                hs.push(h);
            }
            let k = dims[layers];
            // dL/dh_L for L = (1/2P) Σ ||y − h_L||².
            let mut delta: Vec<f64> = (0..k)
                .map(|a| (hs[layers][a] - y[mu * k + a]) / p as f64)
                .collect();
            for l in (0..layers).rev() {
                for i in 0..dims[l + 1] {
                    gb[l][i] += delta[i];
                    for j in 0..dims[l] {
                        gw[l][i * dims[l] + j] += delta[i] * hs[l][j];
                    }
                }
                delta = matvec(
                    &transpose(&w[l], dims[l + 1], dims[l]),
                    &delta,
                    dims[l],
                    dims[l + 1],
                );
            }
        }
        for l in 0..layers {
            for (v, g) in w[l].iter_mut().zip(&gw[l]) {
                *v -= eta * g;
            }
            if let Some(bl) = &mut b[l] {
                for (v, g) in bl.iter_mut().zip(&gb[l]) {
                    *v -= eta * g;
                }
            }
        }
    }

    #[test]
    fn euler_step_is_one_gd_step() {
        let (x, y, m) = data();
        for (dims, bias_mask) in [
            (vec![3, 4, 2], vec![true, true]),
            (vec![3, 4, 5, 2], vec![false, true, true]),
            (vec![3, 2], vec![true]),
        ] {
            let layers = dims.len() - 1;
            let mut w: Vec<Vec<f64>> = (0..layers)
                .map(|l| pseudo(dims[l + 1] * dims[l], 10 + l as u64, 0.7))
                .collect();
            let mut b: Vec<Option<Vec<f64>>> = (0..layers)
                .map(|l| bias_mask[l].then(|| pseudo(dims[l + 1], 20 + l as u64, 0.3)))
                .collect();
            let mut flow = DeepLinearFlow::new(m.clone(), w.clone(), b.clone()).unwrap();
            let eta = 0.05;
            flow.euler_step(eta);
            gd_step(&x, &y, &dims, &mut w, &mut b, eta);
            for l in 0..layers {
                for (a, e) in flow.weight(l).iter().zip(&w[l]) {
                    assert!((a - e).abs() < 1e-12, "dims {dims:?} layer {l}: {a} vs {e}");
                }
                if let (Some(fb), Some(eb)) = (flow.bias(l), &b[l]) {
                    for (a, e) in fb.iter().zip(eb) {
                        assert!((a - e).abs() < 1e-12);
                    }
                }
            }
        }
    }

    #[test]
    fn two_layers_reduce_to_the_four_equations() {
        let (_, _, m) = data();
        let (n, h, k) = (3, 4, 2);
        let w1 = pseudo(h * n, 3, 0.5);
        let w2 = pseudo(k * h, 4, 0.5);
        let b1 = pseudo(h, 5, 0.2);
        let b2 = pseudo(k, 6, 0.2);
        let flow = DeepLinearFlow::new(
            m.clone(),
            vec![w1.clone(), w2.clone()],
            vec![Some(b1.clone()), Some(b2.clone())],
        )
        .unwrap();
        let v = flow.velocity();
        let w = matmul(&w2, &w1, k, h, n);
        let mut c = matvec(&w2, &b1, k, h);
        for (ci, bi) in c.iter_mut().zip(&b2) {
            *ci += bi;
        }
        let wsxx = matmul(&w, &m.sigma_xx, k, n, n);
        let wx = matvec(&w, &m.x_mean, k, n);
        let r: Vec<f64> = (0..k).map(|a| m.y_mean[a] - wx[a] - c[a]).collect();
        let big: Vec<f64> = (0..k * n)
            .map(|i| m.sigma_yx[i] - wsxx[i] - c[i / n] * m.x_mean[i % n])
            .collect();
        let w2t = transpose(&w2, k, h);
        let dw1 = matmul(&w2t, &big, h, k, n);
        let db1 = matvec(&w2t, &r, h, k);
        let mut dw2 = matmul(&big, &transpose(&w1, h, n), k, n, h);
        for a in 0..k {
            for j in 0..h {
                dw2[a * h + j] += r[a] * b1[j];
            }
        }
        let expected: Vec<f64> = [dw1, db1, dw2, r].concat();
        for (a, e) in v.iter().zip(&expected) {
            assert!((a - e).abs() < 1e-14);
        }
    }

    #[test]
    fn rk4_agrees_with_fine_euler() {
        let (_, _, m) = data();
        let w = vec![pseudo(12, 7, 0.5), pseudo(8, 8, 0.5)];
        let b = vec![Some(pseudo(4, 9, 0.1)), Some(vec![0.0; 2])];
        let mut rk = DeepLinearFlow::new(m.clone(), w.clone(), b.clone()).unwrap();
        rk.integrate_to(1.0, 0.01).unwrap();
        let mut eu = DeepLinearFlow::new(m, w, b).unwrap();
        for _ in 0..100_000 {
            eu.euler_step(1e-5);
        }
        let worst = rk
            .params()
            .iter()
            .zip(eu.params())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-4, "rk4 vs euler: {worst}");
        assert!((rk.time() - 1.0).abs() < 1e-12);
        assert!(
            rk.loss()
                < DeepLinearFlow::new(
                    rk.moments().clone(),
                    vec![pseudo(12, 7, 0.5), pseudo(8, 8, 0.5)],
                    vec![Some(pseudo(4, 9, 0.1)), Some(vec![0.0; 2])]
                )
                .unwrap()
                .loss()
        );
    }

    #[test]
    fn output_bias_follows_the_exponential_with_centred_inputs() {
        let (mut x, y, _) = data();
        for j in 0..3 {
            let mean = (0..6).map(|mu| x[mu * 3 + j]).sum::<f64>() / 6.0;
            for mu in 0..6 {
                x[mu * 3 + j] -= mean;
            }
        }
        let m = Moments::from_data(&x, &y, 6, 3, 2).unwrap();
        let b0 = vec![0.3, -0.2];
        let mut flow = DeepLinearFlow::new(
            m.clone(),
            vec![pseudo(12, 11, 0.3), pseudo(8, 12, 0.3)],
            vec![None, Some(b0.clone())],
        )
        .unwrap();
        for step in 1..=20 {
            flow.integrate_to(0.25 * step as f64, 1e-3).unwrap();
            let (_, c) = flow.effective();
            let exact = bias::output_bias(&m.y_mean, &b0, flow.time()).unwrap();
            for (a, e) in c.iter().zip(&exact) {
                assert!((a - e).abs() < 1e-12, "t = {}: {a} vs {e}", flow.time());
            }
        }
    }

    #[test]
    fn bad_shapes_are_rejected() {
        let (_, _, m) = data();
        assert!(DeepLinearFlow::new(m.clone(), vec![], vec![]).is_err());
        assert!(DeepLinearFlow::new(m.clone(), vec![vec![0.0; 5]], vec![None]).is_err());
        assert!(DeepLinearFlow::new(m, vec![vec![0.0; 6]], vec![Some(vec![0.0; 3])]).is_err());
    }
}
