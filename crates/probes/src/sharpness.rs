//! Sharpness: the top eigenvalue of the Hessian of the training-batch loss, by power iteration
//! on finite-difference Hessian-vector products through `StepCtx::grad_at` (a scratch copy):
//! Hv ≈ (∇L(θ + εv) − ∇L(θ − εv)) / 2ε with ‖v‖ = 1 and ε = 1e-4·max(1, ‖θ‖) (central
//! differences: error O(ε²‖∇³L‖) plus rounding O(δ‖∇L‖/ε), δ the dtype's epsilon — so f64
//! models give ~8 significant digits, f32 models ~3). The Rayleigh quotient vᵀHv after
//! `iterations` steps is recorded as `top_eigenvalue`, next to `two_over_lr` = 2/η, the
//! edge-of-stability reference (Cohen et al. 2021).

use learnscope_core::{ProbeSchedule, RandomKey};
use learnscope_nn::{Backend, NnError, Tensor};
use learnscope_train::{Flow, Probe, Recorder, StepCtx};

/// Top Hessian eigenvalue.
pub struct SharpnessProbe {
    /// Name.
    pub name: String,
    /// When.
    pub schedule: ProbeSchedule,
    /// Power iterations.
    pub iterations: usize,
}

fn norm<B: Backend>(be: &B, v: &[Tensor<B>]) -> f64 {
    v.iter().map(|t| be.dot(t, t)).sum::<f64>().sqrt()
}

impl<B: Backend> Probe<B> for SharpnessProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let be = ctx.be;
        let key = RandomKey::root(0)
            .derive(&format!("probe/{}", self.name))
            .at(ctx.step);
        let mut v: Vec<Tensor<B>> = ctx
            .theta
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Tensor::from_f64(be, t.dtype(), t.shape(), &key.at(i as u64).normals(t.len()))
            })
            .collect();
        let eps = 1e-4 * norm(be, ctx.theta).max(1.0);
        let mut eig = f64::NAN;
        for _ in 0..self.iterations.max(1) {
            let n = norm(be, &v);
            v.iter_mut().for_each(|t| be.scale(t, 1.0 / n));
            let shifted = |sign: f64| -> Vec<Tensor<B>> {
                ctx.theta
                    .iter()
                    .zip(&v)
                    .map(|(t, d)| {
                        let mut p = t.clone();
                        be.axpy(sign * eps, d, &mut p);
                        p
                    })
                    .collect()
            };
            let (_, gp) = ctx.grad_at(&shifted(1.0), ctx.batch)?;
            let (_, gm) = ctx.grad_at(&shifted(-1.0), ctx.batch)?;
            let hv: Vec<Tensor<B>> = gp
                .into_iter()
                .zip(&gm)
                .map(|(mut p, m)| {
                    be.axpy(-1.0, m, &mut p);
                    be.scale(&mut p, 1.0 / (2.0 * eps));
                    p
                })
                .collect();
            eig = v.iter().zip(&hv).map(|(a, b)| be.dot(a, b)).sum();
            v = hv;
        }
        out.scalar(&self.name, "top_eigenvalue", "train", eig);
        out.scalar(&self.name, "two_over_lr", "train", 2.0 / ctx.lr);
        Ok(Flow::Continue)
    }
}
