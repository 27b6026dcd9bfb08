//! Responses: logits mapped into the space in which a loss compares them with targets (P1,
//! SCIENCE.md §P1.3): the logits themselves for MSE and the hinge losses, σ(f) per output for
//! BCE, softmax(f) for cross-entropy. The `ocs` probe measures distances to the optimal
//! constant solution there and the `decisions` probe thresholds them.

use learnscope_nn::loss::{Loss, LossKind};

/// How logits become responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMap {
    /// r = f.
    Identity,
    /// r = σ(f), per output.
    Sigmoid,
    /// r = softmax(f) over a row.
    Softmax,
}

impl ResponseMap {
    /// The map a loss compares targets in.
    pub fn for_loss(loss: &Loss) -> Self {
        match loss.kind {
            LossKind::Bce | LossKind::SpectralDecouplingBce { .. } => ResponseMap::Sigmoid,
            LossKind::CrossEntropy | LossKind::SpectralDecouplingCe { .. } => ResponseMap::Softmax,
            LossKind::Mse | LossKind::Hinge | LossKind::MulticlassHinge => ResponseMap::Identity,
        }
    }

    /// Maps one row of logits in place.
    pub fn apply(self, row: &mut [f64]) {
        match self {
            ResponseMap::Identity => {}
            ResponseMap::Sigmoid => row.iter_mut().for_each(|v| *v = sigmoid(*v)),
            ResponseMap::Softmax => {
                let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                row.iter_mut().for_each(|v| *v = (*v - m).exp());
                let z: f64 = row.iter().sum();
                row.iter_mut().for_each(|v| *v /= z);
            }
        }
    }

    /// Maps a row-major table of rows of `outputs` logits in place.
    pub fn apply_rows(self, table: &mut [f64], outputs: usize) {
        if self != ResponseMap::Identity {
            table
                .chunks_exact_mut(outputs.max(1))
                .for_each(|row| self.apply(row));
        }
    }
}

/// σ(x), without overflow for large |x|.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_maps() {
        let mut r = [0.0, (3.0f64).ln()];
        ResponseMap::Softmax.apply(&mut r);
        assert!((r[0] - 0.25).abs() < 1e-15 && (r[1] - 0.75).abs() < 1e-15);
        let mut s = [0.0, -800.0, 800.0];
        ResponseMap::Sigmoid.apply(&mut s);
        assert_eq!(s, [0.5, 0.0, 1.0]);
        let mut t = [1.0, 0.0, 0.0, 1.0];
        ResponseMap::Softmax.apply_rows(&mut t, 2);
        assert!((t[0] + t[1] - 1.0).abs() < 1e-15 && t[0] == t[3]);
    }
}
