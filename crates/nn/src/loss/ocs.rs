//! Optimal constant solutions (OCS): f* = argmin_c L(c), the constant output (same for every
//! input) that minimises a loss over a data set's targets (P1, SCIENCE.md). Networks first move
//! their outputs to f*, ignoring the input.
//!
//! With p the empirical target distribution:
//! - MSE: f* = E[y] (the target mean).
//! - BCE: f*ⱼ = logit(E[yⱼ]) (±∞ when a column is all 0 or all 1).
//! - Cross-entropy: softmax(f*) = E[y], so f* = log E[y] up to an additive constant; we fix the
//!   constant so that f* has mean 0 over classes where all are finite.
//! - Spectral-decoupling CE: the unique solution of softmax(f) − E[y] + λ f = 0 (strictly convex),
//!   found by Newton's method.
//! - Binary hinge: f*ⱼ = sign(p₊ − p₋) (any value in [−1, 1] when p₊ = p₋; we return 0).
//! - Multiclass hinge: on vectors f ∈ {0, 1}^C with S = {j : fⱼ = 1}, the loss is
//!   (1/C)[P(S)(|S| − 1) + (1 − P(S))(|S| + C − 1)], minimised for a given |S| = k by the k most
//!   frequent classes; f* is the best k (k = 0 is the all-zero vector). The minimiser of this
//!   piecewise-linear convex function lies on such a vertex (the breakpoints fⱼ − f_y = −1 have
//!   integer vertices); the unit test checks random perturbations never do better.

use crate::loss::{Loss, LossKind, Reduction};
use crate::NnError;

/// A data set's targets on the host, for OCS computations.
#[derive(Debug, Clone, Copy)]
pub enum HostTargets<'a> {
    /// Dense rows of `outputs` values each.
    Dense {
        /// Row-major values, `n × outputs`.
        values: &'a [f64],
        /// Values per example.
        outputs: usize,
    },
    /// Class labels in `0..classes`.
    Classes {
        /// One label per example.
        labels: &'a [u32],
        /// Number of classes (the logit width; 1 for a binary task with one logit).
        classes: usize,
    },
}

/// The optimal constant output and the loss it achieves.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimalConstant {
    /// f*, one value per output.
    pub output: Vec<f64>,
    /// L(f*) under the loss's reduction (per example for `Mean`).
    pub loss: f64,
}

impl HostTargets<'_> {
    fn n(&self) -> usize {
        match self {
            HostTargets::Dense { values, outputs } => values.len() / (*outputs).max(1),
            HostTargets::Classes { labels, .. } => labels.len(),
        }
    }

    fn width(&self) -> usize {
        match self {
            HostTargets::Dense { outputs, .. } => *outputs,
            HostTargets::Classes { classes, .. } => *classes,
        }
    }

    /// Per-output mean of the targets as the loss reads them (one-hot for labels; for a single
    /// logit with labels, the frequency of label 1).
    fn mean(&self) -> Vec<f64> {
        let (n, c) = (self.n(), self.width());
        let mut m = vec![0.0; c];
        match self {
            HostTargets::Dense { values, .. } => {
                for row in values.chunks_exact(c) {
                    for (mj, v) in m.iter_mut().zip(row) {
                        *mj += v;
                    }
                }
            }
            HostTargets::Classes { labels, .. } => {
                for &l in labels.iter() {
                    if c == 1 {
                        m[0] += l as f64;
                    } else {
                        m[l as usize] += 1.0;
                    }
                }
            }
        }
        m.iter_mut().for_each(|x| *x /= n.max(1) as f64);
        m
    }

    /// Row i as the loss reads it (one-hot, or for one logit the label itself).
    fn row(&self, i: usize) -> Vec<f64> {
        let c = self.width();
        match self {
            HostTargets::Dense { values, .. } => values[i * c..(i + 1) * c].to_vec(),
            HostTargets::Classes { labels, .. } => {
                let mut r = vec![0.0; c];
                if c == 1 {
                    r[0] = labels[i] as f64;
                } else {
                    r[labels[i] as usize] = 1.0;
                }
                r
            }
        }
    }
}

/// The loss of the constant output `f` on every example, evaluated on the host (f64).
pub fn constant_loss(loss: &Loss, targets: &HostTargets<'_>, f: &[f64]) -> f64 {
    let (n, c) = (targets.n(), targets.width());
    let mut total = 0.0;
    for i in 0..n {
        let y = targets.row(i);
        let li: f64 = match loss.kind {
            LossKind::Mse => (0..c).map(|j| 0.5 * (f[j] - y[j]).powi(2)).sum(),
            LossKind::Bce => (0..c)
                .map(|j| f[j].max(0.0) + (-f[j].abs()).exp().ln_1p() - y[j] * f[j])
                .sum(),
            LossKind::CrossEntropy | LossKind::SpectralDecouplingCe { .. } => {
                let m = f.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let lse = m + f.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
                let ce: f64 = (0..c)
                    .filter(|&j| y[j] != 0.0)
                    .map(|j| y[j] * (lse - f[j]))
                    .sum();
                let lambda = match loss.kind {
                    LossKind::SpectralDecouplingCe { lambda } => lambda,
                    _ => 0.0,
                };
                ce + 0.5 * lambda * f.iter().map(|x| x * x).sum::<f64>()
            }
            LossKind::Hinge => (0..c)
                .map(|j| {
                    let yy = if matches!(targets, HostTargets::Classes { .. }) {
                        2.0 * y[j] - 1.0
                    } else {
                        y[j]
                    };
                    (1.0 - yy * f[j]).max(0.0)
                })
                .sum(),
            LossKind::MulticlassHinge => {
                let label = match targets {
                    HostTargets::Classes { labels, .. } => labels[i] as usize,
                    HostTargets::Dense { .. } => unreachable!("checked by optimal_constant"),
                };
                (0..c)
                    .filter(|&j| j != label)
                    .map(|j| (1.0 - f[label] + f[j]).max(0.0))
                    .sum::<f64>()
                    / c as f64
            }
        };
        total += li;
    }
    match loss.reduction {
        Reduction::Mean => total / n.max(1) as f64,
        Reduction::Sum => total,
    }
}

impl Loss {
    /// The optimal constant solution of this loss on `targets`.
    pub fn optimal_constant(&self, targets: &HostTargets<'_>) -> Result<OptimalConstant, NnError> {
        let c = targets.width();
        if targets.n() == 0 || c == 0 {
            return Err(NnError::InvalidTargets {
                loss: self.kind.name(),
                detail: "no examples or no outputs".into(),
            });
        }
        let mean = targets.mean();
        let output = match self.kind {
            LossKind::Mse => mean,
            LossKind::Bce => mean.iter().map(|&p| (p / (1.0 - p)).ln()).collect(),
            LossKind::CrossEntropy => {
                let logs: Vec<f64> = mean.iter().map(|p| p.ln()).collect();
                if logs.iter().all(|x| x.is_finite()) {
                    let centre = logs.iter().sum::<f64>() / c as f64;
                    logs.iter().map(|x| x - centre).collect()
                } else {
                    logs
                }
            }
            LossKind::SpectralDecouplingCe { lambda } => sd_ce_constant(&mean, lambda),
            LossKind::Hinge => {
                let pos = if matches!(targets, HostTargets::Classes { .. }) {
                    mean.clone()
                } else {
                    mean.iter().map(|m| (m + 1.0) / 2.0).collect()
                };
                pos.iter()
                    .map(|&p| {
                        if p > 0.5 {
                            1.0
                        } else if p < 0.5 {
                            -1.0
                        } else {
                            0.0
                        }
                    })
                    .collect()
            }
            LossKind::MulticlassHinge => {
                if !matches!(targets, HostTargets::Classes { .. }) {
                    return Err(NnError::InvalidTargets {
                        loss: self.kind.name(),
                        detail: "needs class labels, got dense targets".into(),
                    });
                }
                let mut order: Vec<usize> = (0..c).collect();
                order.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]).then(a.cmp(&b)));
                let (mut best_k, mut best) = (0usize, f64::INFINITY);
                let mut mass = 0.0;
                for k in 0..=c {
                    if k > 0 {
                        mass += mean[order[k - 1]];
                    }
                    let kf = k as f64;
                    let cf = c as f64;
                    let l = (mass * (kf - 1.0).max(0.0) + (1.0 - mass) * (kf + cf - 1.0)) / cf;
                    if l < best - 1e-15 {
                        best = l;
                        best_k = k;
                    }
                }
                let mut f = vec![0.0; c];
                for &j in &order[..best_k] {
                    f[j] = 1.0;
                }
                f
            }
        };
        let loss = constant_loss(self, targets, &output);
        Ok(OptimalConstant { output, loss })
    }
}

/// Solves softmax(f) − p + λf = 0 by Newton's method on the strictly convex objective
/// logsumexp(f) − p·f + (λ/2)‖f‖² (λ = 0 falls back to log p, centred).
fn sd_ce_constant(p: &[f64], lambda: f64) -> Vec<f64> {
    let c = p.len();
    if lambda <= 0.0 {
        let logs: Vec<f64> = p.iter().map(|x| x.ln()).collect();
        let centre = logs.iter().sum::<f64>() / c as f64;
        return logs.iter().map(|x| x - centre).collect();
    }
    let mut f = vec![0.0; c];
    for _ in 0..100 {
        let m = f.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = f.iter().map(|x| (x - m).exp()).collect();
        let s: f64 = e.iter().sum();
        let q: Vec<f64> = e.iter().map(|x| x / s).collect();
        let g: Vec<f64> = (0..c).map(|j| q[j] - p[j] + lambda * f[j]).collect();
        if g.iter().map(|x| x.abs()).fold(0.0, f64::max) < 1e-14 {
            break;
        }
        // Hessian H = diag(q) − q qᵀ + λI. Solve H d = g with Sherman–Morrison:
        // D = diag(q) + λI, H = D − q qᵀ, H⁻¹g = D⁻¹g + D⁻¹q (qᵀD⁻¹g)/(1 − qᵀD⁻¹q).
        let dinv: Vec<f64> = q.iter().map(|x| 1.0 / (x + lambda)).collect();
        let dg: Vec<f64> = (0..c).map(|j| dinv[j] * g[j]).collect();
        let dq: Vec<f64> = (0..c).map(|j| dinv[j] * q[j]).collect();
        let qdg: f64 = (0..c).map(|j| q[j] * dg[j]).sum();
        let qdq: f64 = (0..c).map(|j| q[j] * dq[j]).sum();
        for j in 0..c {
            f[j] -= dg[j] + dq[j] * qdg / (1.0 - qdq);
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use learnscope_core::RandomKey;

    fn labels() -> Vec<u32> {
        // class frequencies 0.5, 0.3, 0.2
        let mut l = vec![0u32; 5];
        l.extend(vec![1u32; 3]);
        l.extend(vec![2u32; 2]);
        l
    }

    /// f* is a minimiser: no random perturbation (several scales) lowers the constant loss.
    fn assert_is_minimum(loss: Loss, t: &HostTargets<'_>) {
        let ocs = loss.optimal_constant(t).unwrap();
        let key = RandomKey::root(11).derive(loss.kind.name());
        for trial in 0..400u64 {
            let scale = [1e-3, 1e-1, 1.0][trial as usize % 3];
            let f: Vec<f64> = ocs
                .output
                .iter()
                .enumerate()
                .map(|(j, x)| x + scale * key.at(trial).normal_at(j as u64))
                .collect();
            let l = constant_loss(&loss, t, &f);
            assert!(
                l >= ocs.loss - 1e-12,
                "{}: perturbation {f:?} gives {l} < {}",
                loss.kind.name(),
                ocs.loss
            );
        }
    }

    #[test]
    fn every_loss_reports_a_true_minimiser() {
        let l = labels();
        let classes = HostTargets::Classes {
            labels: &l,
            classes: 3,
        };
        for kind in [
            LossKind::Mse,
            LossKind::CrossEntropy,
            LossKind::SpectralDecouplingCe { lambda: 0.3 },
            LossKind::MulticlassHinge,
            LossKind::Bce,
        ] {
            assert_is_minimum(Loss::mean(kind), &classes);
        }
        let pm: Vec<f64> = vec![1.0, 1.0, 1.0, -1.0, 1.0, -1.0];
        let dense = HostTargets::Dense {
            values: &pm,
            outputs: 2,
        };
        assert_is_minimum(Loss::mean(LossKind::Hinge), &dense);
        assert_is_minimum(Loss::mean(LossKind::Mse), &dense);
    }

    #[test]
    fn closed_forms() {
        let l = labels();
        let t = HostTargets::Classes {
            labels: &l,
            classes: 3,
        };
        let mse = Loss::mean(LossKind::Mse).optimal_constant(&t).unwrap();
        assert_eq!(mse.output, vec![0.5, 0.3, 0.2]);
        // L(ȳ) = ½ (E‖y‖² − ‖ȳ‖²) = ½ (1 − 0.38) = 0.31
        assert!((mse.loss - 0.31).abs() < 1e-12);
        let ce = Loss::mean(LossKind::CrossEntropy)
            .optimal_constant(&t)
            .unwrap();
        // L = entropy of (0.5, 0.3, 0.2)
        let h = -(0.5f64 * 0.5f64.ln() + 0.3 * 0.3f64.ln() + 0.2 * 0.2f64.ln());
        assert!((ce.loss - h).abs() < 1e-12);
        let mh = Loss::mean(LossKind::MulticlassHinge)
            .optimal_constant(&t)
            .unwrap();
        assert_eq!(mh.output, vec![1.0, 0.0, 0.0]);
    }
}
