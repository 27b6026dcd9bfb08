//! The trained linear decoder of the P4 reference code (`linCla = 1`): one linear layer
//! `x̂ = Wᵀa + b` from a PyTorch-default initialisation (`W, b ~ U(−1/√p, 1/√p)`), trained by
//! Adam on the mean squared error per element (`nn.MSELoss()`) over shuffled mini-batches,
//! in f64 on the host.
//!
//! Adam as `torch.optim.Adam` with L2 weight decay (`g ← g + wd·θ` on `W` and `b`, as the code
//! passes every decoder parameter to the optimiser): `m ← β₁m + (1−β₁)g`,
//! `v ← β₂v + (1−β₂)g²`, `θ ← θ − lr · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)`, β₁ = 0.9,
//! β₂ = 0.999, ε = 1e-8. Batch gradient of `L = (1/(B q)) Σ (x̂ − x)²`:
//! `∇W = (2/(B q)) A_Bᵀ E`, `∇b = (2/(B q)) Σ_rows E`, `E = X̂_B − X_B`. The last batch of an
//! epoch may be smaller (no `drop_last`).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use learnscope_core::RandomKey;

use super::ridge::Decoder;

/// Adam settings of the trained decoder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainSettings {
    /// Passes over the fit examples.
    pub epochs: usize,
    /// Adam step size.
    pub lr: f64,
    /// L2 weight decay added to the gradient.
    pub weight_decay: f64,
    /// Mini-batch size.
    pub batch: usize,
}

impl Default for TrainSettings {
    /// The reference code's: 20 epochs, lr 3e-4, weight decay 1e-5, batch 128.
    fn default() -> Self {
        TrainSettings {
            epochs: 20,
            lr: 3e-4,
            weight_decay: 1e-5,
            batch: 128,
        }
    }
}

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// One Adam step on `theta` (a flat view) with gradient `g`, moments `m`, `v`, step `t ≥ 1`.
fn adam(theta: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64], t: i32, s: &TrainSettings) {
    let (c1, c2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
    for k in 0..theta.len() {
        let gk = g[k] + s.weight_decay * theta[k];
        m[k] = BETA1 * m[k] + (1.0 - BETA1) * gk;
        v[k] = BETA2 * v[k] + (1.0 - BETA2) * gk * gk;
        theta[k] -= s.lr * (m[k] / c1) / ((v[k] / c2).sqrt() + EPS);
    }
}

/// Trains the decoder on the row-major `n × p` features `a` and `n × q` targets `x`; `key`
/// seeds the initialisation (`key/init`, `key/bias`) and the shuffling (`key/shuffle` at the
/// epoch).
pub fn train(
    a: &[f64],
    x: &[f64],
    (n, p, q): (usize, usize, usize),
    settings: &TrainSettings,
    key: RandomKey,
) -> Result<Decoder, String> {
    if n == 0 || q == 0 || a.len() != n * p || x.len() != n * q {
        return Err(format!(
            "the trained decoder needs n × p features and n × q targets; n = {n}, p = {p}, \
             q = {q}, {} and {} values",
            a.len(),
            x.len()
        ));
    }
    if settings.batch == 0 || !(settings.lr > 0.0 && settings.lr.is_finite()) {
        return Err(format!(
            "the trained decoder needs batch >= 1 and a finite lr > 0: {settings:?}"
        ));
    }
    let bound = 1.0 / (p.max(1) as f64).sqrt();
    // W as a flat row-major p × q buffer (faer views are built per step).
    let mut w = key.derive("init").uniforms(p * q, -bound, bound);
    let mut b = key.derive("bias").uniforms(q, -bound, bound);
    let (mut mw, mut vw) = (vec![0.0; p * q], vec![0.0; p * q]);
    let (mut mb, mut vb) = (vec![0.0; q], vec![0.0; q]);
    let mut gw = vec![0.0; p * q];
    let mut gb = vec![0.0; q];
    let mut t = 0i32;
    for epoch in 0..settings.epochs {
        let order = key.derive("shuffle").at(epoch as u64).permutation(n);
        for batch in order.chunks(settings.batch) {
            let rows = batch.len();
            let ab = Mat::<f64>::from_fn(rows, p, |i, j| a[batch[i] * p + j]);
            let wm = Mat::<f64>::from_fn(p, q, |i, j| w[i * q + j]);
            let mut e = Mat::<f64>::from_fn(rows, q, |i, j| b[j] - x[batch[i] * q + j]);
            matmul(
                e.as_mut(),
                Accum::Add,
                ab.as_ref(),
                wm.as_ref(),
                1.0,
                Par::Seq,
            );
            let scale = 2.0 / (rows * q) as f64;
            let mut g = Mat::<f64>::zeros(p, q);
            matmul(
                g.as_mut(),
                Accum::Replace,
                ab.transpose(),
                e.as_ref(),
                scale,
                Par::Seq,
            );
            for i in 0..p {
                for j in 0..q {
                    gw[i * q + j] = g[(i, j)];
                }
            }
            for (j, gj) in gb.iter_mut().enumerate() {
                *gj = scale * (0..rows).map(|i| e[(i, j)]).sum::<f64>();
            }
            t += 1;
            adam(&mut w, &gw, &mut mw, &mut vw, t, settings);
            adam(&mut b, &gb, &mut mb, &mut vb, t, settings);
        }
    }
    Ok(Decoder {
        d: Mat::from_fn(p, q, |i, j| w[i * q + j]),
        bias: b,
    })
}
