//! Loss values and logit gradients on the CPU; formulas in [`crate::loss`]. Per-example terms are
//! computed in f64 and added in example order.

// Several arrays (logits, targets, gradient) are indexed by the same output j.
#![allow(clippy::needless_range_loop)]

use crate::loss::{LossKind, Reduction};
use crate::Element;

pub(crate) enum TargetView<'a, T> {
    Dense(&'a [T]),
    Classes(&'a [u32]),
}

impl<T: Element> TargetView<'_, T> {
    /// Target (i, j) as a number: dense value, the one-hot encoding of a class label, or with a
    /// single output the label itself (0 or 1).
    #[inline(always)]
    fn at(&self, i: usize, j: usize, c: usize) -> f64 {
        match self {
            TargetView::Dense(t) => t[i * c + j].as_f64(),
            TargetView::Classes(l) if c == 1 => l[i] as f64,
            TargetView::Classes(l) => {
                if l[i] as usize == j {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

pub(crate) fn loss<T: Element>(
    kind: &LossKind,
    reduction: Reduction,
    logits: &[T],
    b: usize,
    c: usize,
    targets: TargetView<'_, T>,
    grad: &mut [T],
) -> f64 {
    let scale = match reduction {
        Reduction::Mean if b > 0 => 1.0 / b as f64,
        _ => 1.0,
    };
    let mut total = 0.0f64;
    for i in 0..b {
        let f = &logits[i * c..(i + 1) * c];
        let g = &mut grad[i * c..(i + 1) * c];
        let mut li = 0.0f64;
        match kind {
            LossKind::Mse => {
                for j in 0..c {
                    let r = f[j].as_f64() - targets.at(i, j, c);
                    li += 0.5 * r * r;
                    g[j] = T::from_f64(scale * r);
                }
            }
            LossKind::Bce | LossKind::SpectralDecouplingBce { .. } => {
                let lambda = match kind {
                    LossKind::SpectralDecouplingBce { lambda } => *lambda,
                    _ => 0.0,
                };
                for j in 0..c {
                    let (x, y) = (f[j].as_f64(), targets.at(i, j, c));
                    li += softplus(x) - y * x + 0.5 * lambda * x * x;
                    g[j] = T::from_f64(scale * (sigmoid(x) - y + lambda * x));
                }
            }
            LossKind::CrossEntropy | LossKind::SpectralDecouplingCe { .. } => {
                let m = f.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x.as_f64()));
                let s: f64 = f.iter().map(|&x| (x.as_f64() - m).exp()).sum();
                let lse = m + s.ln();
                let mut ysum = 0.0;
                for j in 0..c {
                    let y = targets.at(i, j, c);
                    ysum += y;
                    li += y * (lse - f[j].as_f64());
                }
                let lambda = match kind {
                    LossKind::SpectralDecouplingCe { lambda } => *lambda,
                    _ => 0.0,
                };
                for j in 0..c {
                    let x = f[j].as_f64();
                    let p = (x - lse).exp();
                    li += 0.5 * lambda * x * x;
                    g[j] = T::from_f64(scale * (ysum * p - targets.at(i, j, c) + lambda * x));
                }
            }
            LossKind::Hinge => {
                for j in 0..c {
                    let y = match &targets {
                        TargetView::Dense(_) => targets.at(i, j, c),
                        // Class labels: 1 → +1 and 0 → −1 with one output; one-vs-rest otherwise.
                        TargetView::Classes(_) => 2.0 * targets.at(i, j, c) - 1.0,
                    };
                    let margin = 1.0 - y * f[j].as_f64();
                    if margin > 0.0 {
                        li += margin;
                        g[j] = T::from_f64(-scale * y);
                    } else {
                        g[j] = T::zero();
                    }
                }
            }
            LossKind::MulticlassHinge => {
                let y = match &targets {
                    TargetView::Classes(l) => l[i] as usize,
                    TargetView::Dense(_) => {
                        unreachable!("validated: multiclass hinge takes classes")
                    }
                };
                let fy = f[y].as_f64();
                let w = scale / c as f64;
                let mut active = 0usize;
                for j in 0..c {
                    if j == y {
                        continue;
                    }
                    let margin = 1.0 - fy + f[j].as_f64();
                    if margin > 0.0 {
                        li += margin / c as f64;
                        g[j] = T::from_f64(w);
                        active += 1;
                    } else {
                        g[j] = T::zero();
                    }
                }
                g[y] = T::from_f64(-w * active as f64);
            }
        }
        total += li;
    }
    total * scale
}
