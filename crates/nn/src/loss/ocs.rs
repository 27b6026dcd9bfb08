//! Optimal constant solutions (OCS): f* = argmin_c L(c), the constant output (same for every
//! input) that minimises a loss over a data set's targets (P1, SCIENCE.md). Networks first move
//! their outputs to f*, ignoring the input.
//!
//! With p the empirical target distribution:
//! - MSE: f* = E\[y\] (the target mean).
//! - BCE: f*ⱼ = logit(E\[yⱼ\]) (±∞ when a column is all 0 or all 1).
//! - Cross-entropy: softmax(f*) = E\[y\], so f* = log E\[y\] up to an additive constant; we fix the
//!   constant so that f* has mean 0 over classes where all are finite.
//! - Spectral-decoupling CE: the unique solution of softmax(f) − E\[y\] + λ f = 0 (strictly convex),
//!   found by Newton's method.
//! - Binary hinge: f*ⱼ = sign(p₊ − p₋) (any value in [−1, 1] when p₊ = p₋; we return 0).
//! - Multiclass hinge, L(f) = (1/C) Σ_y p_y Σ_{j≠y} max(0, 1 − f_y + fⱼ): a linear program over
//!   difference constraints, so an integer minimiser exists (total unimodularity). Swapping the
//!   values of two classes shows f* can be taken monotone in p; shrinking any gap between
//!   consecutive levels to 1 never raises the loss. So f* groups the classes, sorted by
//!   frequency, into consecutive blocks on levels m−1, …, 1, 0. With Q_e the mass of the e most
//!   frequent classes, a block holding sorted classes i+1..=e contributes
//!   (Q_e − Q_i)(e − 1) + e(1 − Q_e) to C·L, independently of the other blocks, so the best
//!   split is a shortest path over block ends: O(C²) dynamic programming. (A two-level {0, 1}
//!   solution is not always optimal: p = (0.6, 0.3, 0.01 × 10) needs three levels.)

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
    /// Number of examples.
    pub fn n(&self) -> usize {
        match self {
            HostTargets::Dense { values, outputs } => values.len() / (*outputs).max(1),
            HostTargets::Classes { labels, .. } => labels.len(),
        }
    }

    /// Values per example as the loss reads them (outputs, or classes).
    pub fn width(&self) -> usize {
        match self {
            HostTargets::Dense { outputs, .. } => *outputs,
            HostTargets::Classes { classes, .. } => *classes,
        }
    }

    /// Per-output mean of the targets as the loss reads them (one-hot for labels; for a single
    /// logit with labels, the frequency of label 1).
    pub fn mean(&self) -> Vec<f64> {
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
    pub fn row(&self, i: usize) -> Vec<f64> {
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
            // softplus(f) − y f = y·softplus(−f) + (1 − y)·softplus(f), skipping zero weights so
            // that f = ±∞ (the OCS of an all-0 or all-1 column) gives 0, not NaN.
            LossKind::Bce | LossKind::SpectralDecouplingBce { .. } => (0..c)
                .map(|j| {
                    let sp = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
                    let pos = if y[j] != 0.0 { y[j] * sp(-f[j]) } else { 0.0 };
                    let neg = if y[j] != 1.0 {
                        (1.0 - y[j]) * sp(f[j])
                    } else {
                        0.0
                    };
                    let lambda = match loss.kind {
                        LossKind::SpectralDecouplingBce { lambda } if lambda > 0.0 => lambda,
                        _ => 0.0,
                    };
                    let penalty = if lambda > 0.0 {
                        0.5 * lambda * f[j] * f[j]
                    } else {
                        0.0
                    };
                    pos + neg + penalty
                })
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
                if lambda > 0.0 {
                    ce + 0.5 * lambda * f.iter().map(|x| x * x).sum::<f64>()
                } else {
                    ce // λ = 0: plain CE, also when f* has −∞ entries
                }
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
            LossKind::CrossEntropy => ce_constant(&mean),
            LossKind::SpectralDecouplingCe { lambda } => sd_ce_constant(&mean, lambda),
            LossKind::SpectralDecouplingBce { lambda } => {
                mean.iter().map(|&p| sd_bce_constant(p, lambda)).collect()
            }
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
                multiclass_hinge_constant(&mean)
            }
        };
        let loss = constant_loss(self, targets, &output);
        Ok(OptimalConstant { output, loss })
    }
}

/// The exact multiclass-hinge OCS by dynamic programming over groups of classes (see the module
/// documentation): classes sorted by frequency, Q_e the mass of the first e, and a group holding
/// sorted classes i+1..=e costs (Q_e − Q_i)(e − 1) + e(1 − Q_e); C·L(f*) is the cheapest split.
fn multiclass_hinge_constant(p: &[f64]) -> Vec<f64> {
    let c = p.len();
    let mut order: Vec<usize> = (0..c).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    let mut q = vec![0.0; c + 1];
    for e in 1..=c {
        q[e] = q[e - 1] + p[order[e - 1]];
    }
    let (mut best, mut from) = (vec![f64::INFINITY; c + 1], vec![0usize; c + 1]);
    best[0] = 0.0;
    for e in 1..=c {
        for i in 0..e {
            let cost = best[i] + (q[e] - q[i]) * (e as f64 - 1.0) + e as f64 * (1.0 - q[e]);
            if cost < best[e] - 1e-15 {
                best[e] = cost;
                from[e] = i;
            }
        }
    }
    let mut bounds = vec![c];
    while let Some(&e) = bounds.last() {
        if e == 0 {
            break;
        }
        bounds.push(from[e]);
    }
    bounds.reverse(); // 0 = b₀ < b₁ < … < b_m = C
    let groups = bounds.len() - 1;
    let mut f = vec![0.0; c];
    for g in 0..groups {
        for &class in &order[bounds[g]..bounds[g + 1]] {
            f[class] = (groups - 1 - g) as f64;
        }
    }
    f
}

/// log p, centred to mean 0 over classes when every class occurs (−∞ for absent classes).
fn ce_constant(p: &[f64]) -> Vec<f64> {
    let logs: Vec<f64> = p.iter().map(|x| x.ln()).collect();
    if logs.iter().all(|x| x.is_finite()) {
        let centre = logs.iter().sum::<f64>() / p.len() as f64;
        logs.iter().map(|x| x - centre).collect()
    } else {
        logs
    }
}

/// Solves softmax(f) − p + λf = 0 by Newton's method on the strictly convex objective
/// logsumexp(f) − p·f + (λ/2)‖f‖² (λ = 0 falls back to log p, centred).
/// The root of σ(f) − p + λf = 0 (the SD-BCE constant for one output with base rate p): the
/// left side increases strictly in f, so bisection converges; with λ = 0 it is the BCE constant
/// ln(p/(1−p)).
fn sd_bce_constant(p: f64, lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return (p / (1.0 - p)).ln();
    }
    // |f*| ≤ 1/λ because |σ(f) − p| ≤ 1.
    let (mut lo, mut hi) = (-1.0 / lambda, 1.0 / lambda);
    let h = |f: f64| 1.0 / (1.0 + (-f).exp()) - p + lambda * f;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if h(mid) > 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
        if hi - lo <= 1e-15 * (1.0 + mid.abs()) {
            break;
        }
    }
    0.5 * (lo + hi)
}

fn sd_ce_constant(p: &[f64], lambda: f64) -> Vec<f64> {
    let c = p.len();
    if lambda <= 0.0 {
        return ce_constant(p);
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
            LossKind::SpectralDecouplingBce { lambda: 0.3 },
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

    #[test]
    fn multiclass_hinge_needs_more_than_two_levels_sometimes() {
        // p = (0.6, 0.3, 0.01 × 10): f = (2, 1, 0, …) gives 2/12 = 0.1667; the best {0,1}
        // vector only 0.1833.
        let mut labels = vec![0u32; 60];
        labels.extend(vec![1u32; 30]);
        labels.extend(2..12u32);
        let t = HostTargets::Classes {
            labels: &labels,
            classes: 12,
        };
        let loss = Loss::mean(LossKind::MulticlassHinge);
        let ocs = loss.optimal_constant(&t).unwrap();
        assert_eq!(&ocs.output[..3], &[2.0, 1.0, 0.0]);
        assert!((ocs.loss - 2.0 / 12.0).abs() < 1e-12);
        assert_is_minimum(loss, &t);
        // Brute force over every vector in {0, 1, 2, 3}^5 for a 5-class problem.
        let labels: Vec<u32> = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4].to_vec();
        let t = HostTargets::Classes {
            labels: &labels,
            classes: 5,
        };
        let ocs = loss.optimal_constant(&t).unwrap();
        let mut best = f64::INFINITY;
        for code in 0..4usize.pow(5) {
            let f: Vec<f64> = (0..5u32)
                .map(|j| ((code / 4usize.pow(j)) % 4) as f64)
                .collect();
            best = best.min(constant_loss(&loss, &t, &f));
        }
        assert!(
            (ocs.loss - best).abs() < 1e-12,
            "{} vs brute force {best}",
            ocs.loss
        );
    }

    #[test]
    fn degenerate_targets_give_finite_ocs_losses() {
        // A BCE column that is always 0 (class 2 never occurs): f* = −∞, loss contribution 0.
        let labels = vec![0u32, 1, 1, 0];
        let t = HostTargets::Classes {
            labels: &labels,
            classes: 3,
        };
        let bce = Loss::mean(LossKind::Bce).optimal_constant(&t).unwrap();
        assert_eq!(bce.output[2], f64::NEG_INFINITY);
        assert!((bce.loss - 2.0 * 2f64.ln()).abs() < 1e-12, "{}", bce.loss);
        let sd = Loss::mean(LossKind::SpectralDecouplingCe { lambda: 0.0 })
            .optimal_constant(&t)
            .unwrap();
        assert!((sd.loss - 2f64.ln()).abs() < 1e-12, "{}", sd.loss);
        // One logit with labels: the label is the target (mean 0.5 → logit 0).
        let t1 = HostTargets::Classes {
            labels: &labels,
            classes: 1,
        };
        let b1 = Loss::mean(LossKind::Bce).optimal_constant(&t1).unwrap();
        assert_eq!(b1.output, vec![0.0]);
    }
}
