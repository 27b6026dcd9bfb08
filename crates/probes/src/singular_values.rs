//! Singular values of every weight matrix (the effective weight m·W of NTK/μP layers), by
//! faer's SVD in f64: the top `k` (`singular_value`, index = rank from 0), the effective rank
//! exp(−Σ pᵢ ln pᵢ) with pᵢ = σᵢ / Σσ (Roy & Vetterli 2007), and the stable rank
//! Σσᵢ² / σ₁² = ‖W‖_F² / ‖W‖₂². Deep linear networks learn by growing a few singular values
//! (SCIENCE.md §C.1), which these track layer by layer.

use learnscope_core::ProbeSchedule;
use learnscope_nn::{Backend, NnError};
use learnscope_train::{Flow, Metric, Probe, Recorder, StepCtx};

/// Singular values of weight matrices.
pub struct SingularValuesProbe {
    /// Name.
    pub name: String,
    /// When.
    pub schedule: ProbeSchedule,
    /// How many of the largest singular values to record per matrix.
    pub top_k: usize,
}

/// Singular values (non-increasing) of a row-major `rows × cols` matrix.
pub fn singular_values(w: &[f64], rows: usize, cols: usize) -> Result<Vec<f64>, String> {
    let m = faer::Mat::<f64>::from_fn(rows, cols, |i, j| w[i * cols + j]);
    m.as_ref()
        .singular_values()
        .map_err(|e| format!("SVD did not converge: {e:?}"))
}

impl<B: Backend> Probe<B> for SingularValuesProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let mut multipliers = Vec::new();
        ctx.model
            .visit_params(&mut |p| multipliers.push(p.multiplier));
        for (i, name) in ctx.names.iter().enumerate() {
            let t = &ctx.theta[i];
            let &[rows, cols] = t.shape() else { continue };
            let w: Vec<f64> = t
                .to_host_f64(ctx.be)
                .into_iter()
                .map(|v| v * multipliers[i])
                .collect();
            let s = singular_values(&w, rows, cols)
                .map_err(|e| NnError::setting(format!("singular values of {name}"), "svd", e))?;
            for (rank, &sv) in s.iter().take(self.top_k).enumerate() {
                out.record(Metric {
                    probe: self.name.clone(),
                    key: "singular_value".into(),
                    split: "train".into(),
                    layer: Some(name.clone()),
                    index: Some(rank as i64),
                    index2: None,
                    value: sv,
                });
            }
            let total: f64 = s.iter().sum();
            let entropy: f64 = s
                .iter()
                .filter(|&&x| x > 0.0)
                .map(|&x| {
                    let p = x / total;
                    -p * p.ln()
                })
                .sum();
            let top = s.first().copied().unwrap_or(0.0);
            let fro2: f64 = s.iter().map(|x| x * x).sum();
            out.layer(&self.name, "effective_rank", "train", name, entropy.exp());
            out.layer(&self.name, "stable_rank", "train", name, fro2 / (top * top));
        }
        Ok(Flow::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_values_of_a_known_matrix() {
        // U diag(3, 2) Vᵀ with U = [[0,1],[1,0],[0,0]] and V = I: singular values 3, 2.
        let w = [0.0, 2.0, 3.0, 0.0, 0.0, 0.0];
        let s = singular_values(&w, 3, 2).unwrap();
        assert!(
            (s[0] - 3.0).abs() < 1e-12 && (s[1] - 2.0).abs() < 1e-12,
            "{s:?}"
        );
    }
}
