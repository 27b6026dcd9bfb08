//! The classifier of the `linear_probe` probe: multinomial logistic regression on fixed features,
//! trained by mini-batch SGD with momentum as the paper's code trains its probes (SCIENCE.md
//! §P4.3 item 2: `nn.Linear`, `CrossEntropyLoss`, `optim.SGD(lr, momentum = 0.9)`), in f64 on
//! the host.
//!
//! Model: `z = W a + b` (`W` k × d, `b` ∈ ℝᵏ) for a feature vector `a` ∈ ℝᵈ, `p = softmax(z)`.
//! Loss of a mini-batch `S`: `L = (1/|S|) Σ_{i∈S} −log p_{y_i}(a_i)`, with gradients
//! `∂L/∂W = (1/|S|) Σ_i (p_i − e_{y_i}) a_iᵀ`, `∂L/∂b = (1/|S|) Σ_i (p_i − e_{y_i})`.
//!
//! Update (PyTorch's SGD with momentum μ, no dampening, no weight decay, no Nesterov), for each
//! parameter θ with gradient g: `v ← μ v + g` (v = 0 before the first step), `θ ← θ − η_e v`.
//! The learning rate of epoch e (0-based) is `η_e = η · 0.1^{#{d ∈ lr_drops : d < e}}`: the
//! paper's code multiplies the rate by 0.1 after finishing epochs 9 and 19 of 20, so epochs
//! 10–19 run at η/10 and the drop after epoch 19 has no effect. The velocity is not rescaled at
//! a drop (PyTorch keeps the buffer), which distinguishes this form from `v ← μ v − η g`.
//!
//! Mini-batches: each epoch visits the fit examples in the order of a permutation drawn from
//! `order.at(epoch)`, in consecutive batches of `batch` examples (the last one smaller when
//! `batch` does not divide n; PyTorch's `DataLoader(shuffle = True)` with `drop_last = False`).
//!
//! Initialisation: [`Softmax::uniform`] draws every weight and bias from U(−1/√d, 1/√d), the
//! `nn.Linear` default the paper's code re-draws before every probe; [`Softmax::zeros`] is the
//! deterministic alternative (the problem is convex, so both reach the same optimum in the
//! limit; after a finite number of epochs they differ slightly).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use learnscope_core::RandomKey;

/// A linear softmax classifier `z = W a + b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Softmax {
    /// k.
    pub classes: usize,
    /// d.
    pub dim: usize,
    /// `W`, k × d row-major.
    pub weights: Vec<f64>,
    /// `b`.
    pub bias: Vec<f64>,
}

/// Accuracy and mean cross-entropy of a classifier on a labelled set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Fraction of examples whose first arg-max logit is the label.
    pub accuracy: f64,
    /// Mean of −log p_y.
    pub loss: f64,
}

impl Softmax {
    /// All-zero weights and bias.
    pub fn zeros(classes: usize, dim: usize) -> Softmax {
        Softmax {
            classes,
            dim,
            weights: vec![0.0; classes * dim],
            bias: vec![0.0; classes],
        }
    }

    /// Weights (draws `0 … k·d − 1` of `key`) and bias (draws `k·d … k·d + k − 1`) uniform on
    /// (−1/√d, 1/√d), as PyTorch's `nn.Linear` initialises them.
    pub fn uniform(classes: usize, dim: usize, key: RandomKey) -> Softmax {
        let bound = 1.0 / (dim.max(1) as f64).sqrt();
        let draw = |i: usize| bound * (2.0 * key.uniform_at(i as u64) - 1.0);
        let kd = classes * dim;
        Softmax {
            classes,
            dim,
            weights: (0..kd).map(draw).collect(),
            bias: (kd..kd + classes).map(draw).collect(),
        }
    }

    /// The logits of feature vector `a` into `z`.
    pub fn logits_into(&self, a: &[f64], z: &mut [f64]) {
        for (c, zc) in z.iter_mut().enumerate() {
            let w = &self.weights[c * self.dim..(c + 1) * self.dim];
            *zc = self.bias[c] + w.iter().zip(a).map(|(w, a)| w * a).sum::<f64>();
        }
    }

    /// Whether every weight and bias is finite.
    pub fn is_finite(&self) -> bool {
        self.weights.iter().chain(&self.bias).all(|v| v.is_finite())
    }

    /// Accuracy (first arg-max logit) and mean cross-entropy on the row-major features `x`
    /// (`dim` per example) with labels `y`; NaN for both on an empty set.
    pub fn score(&self, x: &[f64], y: &[u32]) -> Score {
        if y.is_empty() {
            return Score {
                accuracy: f64::NAN,
                loss: f64::NAN,
            };
        }
        let mut z = vec![0.0; self.classes];
        let (mut correct, mut loss) = (0usize, 0.0);
        for (a, &label) in x.chunks_exact(self.dim).zip(y) {
            self.logits_into(a, &mut z);
            let mut best = 0;
            for c in 1..self.classes {
                if z[c] > z[best] {
                    best = c;
                }
            }
            correct += usize::from(best == label as usize);
            loss += log_sum_exp(&z) - z[label as usize];
        }
        Score {
            accuracy: correct as f64 / y.len() as f64,
            loss: loss / y.len() as f64,
        }
    }
}

/// `log Σ_c exp z_c`, shifted by the maximum.
fn log_sum_exp(z: &[f64]) -> f64 {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// Mini-batch SGD with momentum and step drops of the learning rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Sgd {
    /// Passes over the fit set.
    pub epochs: usize,
    /// η.
    pub lr: f64,
    /// μ.
    pub momentum: f64,
    /// Examples per mini-batch (≥ 1).
    pub batch: usize,
    /// Epochs after which η is multiplied by 0.1.
    pub lr_drops: Vec<usize>,
}

impl Sgd {
    /// The learning rate of epoch `epoch` (0-based).
    pub fn lr_at(&self, epoch: usize) -> f64 {
        let drops = self.lr_drops.iter().filter(|&&d| d < epoch).count();
        self.lr * 0.1f64.powi(drops as i32)
    }

    /// Trains `model` on the row-major features `x` (`model.dim` per example) with labels `y`
    /// (each `< model.classes`), mini-batches in the order drawn from `order`. Each batch's
    /// logits `Z = A Wᵀ + 1 bᵀ` and weight gradient `Rᵀ A` (R = (P − Y)/|S|) are two faer
    /// products, sequential and so deterministic.
    pub fn train(&self, model: &mut Softmax, x: &[f64], y: &[u32], order: RandomKey) {
        let (k, d, n) = (model.classes, model.dim, y.len());
        if n == 0 {
            return;
        }
        let batch = self.batch.max(1);
        let mut vw = vec![0.0; k * d];
        let mut vb = vec![0.0; k];
        let mut gw = Mat::<f64>::zeros(k, d);
        let mut gb = vec![0.0; k];
        let mut a = Vec::with_capacity(batch * d);
        for epoch in 0..self.epochs {
            let lr = self.lr_at(epoch);
            let perm = order.at(epoch as u64).permutation(n);
            for idx in perm.chunks(batch) {
                let m = idx.len();
                a.clear();
                for &i in idx {
                    a.extend_from_slice(&x[i * d..(i + 1) * d]);
                }
                let am = MatRef::from_row_major_slice(&a, m, d);
                let wm = MatRef::from_row_major_slice(&model.weights, k, d);
                let mut r = Mat::<f64>::zeros(m, k);
                matmul(
                    r.as_mut(),
                    Accum::Replace,
                    am,
                    wm.transpose(),
                    1.0,
                    Par::Seq,
                );
                let scale = 1.0 / m as f64;
                gb.iter_mut().for_each(|g| *g = 0.0);
                let mut z = vec![0.0; k];
                for (row, &i) in idx.iter().enumerate() {
                    for c in 0..k {
                        z[c] = r[(row, c)] + model.bias[c];
                    }
                    let lse = log_sum_exp(&z);
                    for c in 0..k {
                        // ∂(−log p_y)/∂z_c = p_c − [c = y].
                        let hit = f64::from(u8::from(c == y[i] as usize));
                        let v = scale * ((z[c] - lse).exp() - hit);
                        r[(row, c)] = v;
                        gb[c] += v;
                    }
                }
                matmul(
                    gw.as_mut(),
                    Accum::Replace,
                    r.transpose(),
                    am,
                    1.0,
                    Par::Seq,
                );
                for (j, (w, v)) in model.weights.iter_mut().zip(&mut vw).enumerate() {
                    *v = self.momentum * *v + gw[(j / d, j % d)];
                    *w -= lr * *v;
                }
                for ((b, v), g) in model.bias.iter_mut().zip(&mut vb).zip(&gb) {
                    *v = self.momentum * *v + g;
                    *b -= lr * *v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lr_drops_apply_after_the_named_epochs() {
        let sgd = Sgd {
            epochs: 20,
            lr: 0.01,
            momentum: 0.9,
            batch: 128,
            lr_drops: vec![9, 19],
        };
        assert_eq!(sgd.lr_at(0), 0.01);
        assert_eq!(sgd.lr_at(9), 0.01);
        assert!((sgd.lr_at(10) - 0.001).abs() < 1e-18);
        assert!((sgd.lr_at(19) - 0.001).abs() < 1e-18);
        assert!((sgd.lr_at(20) - 0.0001).abs() < 1e-19);
    }

    #[test]
    fn uniform_init_is_bounded_and_seeded() {
        let a = Softmax::uniform(3, 16, RandomKey::root(1));
        assert!(a.weights.iter().chain(&a.bias).all(|v| v.abs() < 0.25));
        assert_eq!(a, Softmax::uniform(3, 16, RandomKey::root(1)));
        assert_ne!(a, Softmax::uniform(3, 16, RandomKey::root(2)));
    }

    #[test]
    fn score_of_zero_model_is_log_k() {
        // Uniform p: loss ln 3 for every example; ties go to class 0.
        let m = Softmax::zeros(3, 2);
        let s = m.score(&[1.0, 2.0, -1.0, 0.5], &[0, 2]);
        assert!((s.loss - 3f64.ln()).abs() < 1e-15);
        assert_eq!(s.accuracy, 0.5);
    }
}
