//! Basic probes.
//!
//! - `loss`: the training-batch loss at θ_t (`batch_loss`, split `train`) and, for each
//!   configured split, the full-split loss and, for class targets, accuracy at θ_t.
//! - `norms`: per parameter (layer = its name) and in total (no layer): gradient norm ‖g_t‖,
//!   weight norm ‖θ_t‖, distance from initialisation ‖θ_t − θ₀‖, update size ‖Δθ_t‖ and the
//!   relative update ‖Δθ_t‖ / ‖θ_t‖ (all Euclidean; the optimizer's update including momentum).
//! - `lr`: the learning rate η_t of step t's update.

use learnscope_core::ProbeSchedule;
use learnscope_data::Split;
use learnscope_nn::{Backend, NnError, Tensor};
use learnscope_train::{Flow, Probe, ProbeNeeds, Recorder, StepCtx};

/// Loss and accuracy.
pub struct LossProbe {
    /// Name.
    pub name: String,
    /// When.
    pub schedule: ProbeSchedule,
    /// Full-split evaluations.
    pub splits: Vec<Split>,
}

impl<B: Backend> Probe<B> for LossProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn needs(&self) -> ProbeNeeds {
        ProbeNeeds {
            eval_splits: self.splits.clone(),
            ..ProbeNeeds::default()
        }
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        out.scalar(&self.name, "batch_loss", "train", ctx.batch_loss);
        for s in &self.splits {
            if let Some(e) = ctx.eval.get(s) {
                out.scalar(&self.name, "loss", s.name(), e.loss);
                if let Some(a) = e.accuracy {
                    out.scalar(&self.name, "accuracy", s.name(), a);
                }
            }
        }
        Ok(Flow::Continue)
    }
}

/// Norms of parameters, gradients and updates.
pub struct NormsProbe {
    /// Name.
    pub name: String,
    /// When.
    pub schedule: ProbeSchedule,
}

fn diff_sq<B: Backend>(be: &B, a: &Tensor<B>, b: &Tensor<B>) -> f64 {
    let mut d = a.clone();
    be.axpy(-1.0, b, &mut d);
    be.dot(&d, &d)
}

impl<B: Backend> Probe<B> for NormsProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let be = ctx.be;
        let mut totals = [0.0f64; 4];
        for (i, name) in ctx.names.iter().enumerate() {
            let g = be.dot(&ctx.grads[i], &ctx.grads[i]);
            let w = be.dot(&ctx.theta[i], &ctx.theta[i]);
            let d = diff_sq(be, &ctx.theta[i], &ctx.theta_init[i]);
            let u = be.dot(&ctx.update[i], &ctx.update[i]);
            for (t, v) in totals.iter_mut().zip([g, w, d, u]) {
                *t += v;
            }
            out.layer(&self.name, "grad_norm", "train", name, g.sqrt());
            out.layer(&self.name, "weight_norm", "train", name, w.sqrt());
            out.layer(&self.name, "distance_from_init", "train", name, d.sqrt());
            out.layer(&self.name, "update_norm", "train", name, u.sqrt());
            out.layer(&self.name, "relative_update", "train", name, (u / w).sqrt());
        }
        let [g, w, d, u] = totals;
        out.scalar(&self.name, "grad_norm", "train", g.sqrt());
        out.scalar(&self.name, "weight_norm", "train", w.sqrt());
        out.scalar(&self.name, "distance_from_init", "train", d.sqrt());
        out.scalar(&self.name, "update_norm", "train", u.sqrt());
        out.scalar(&self.name, "relative_update", "train", (u / w).sqrt());
        Ok(Flow::Continue)
    }
}

/// The learning rate.
pub struct LrProbe {
    /// Name.
    pub name: String,
    /// When.
    pub schedule: ProbeSchedule,
}

impl<B: Backend> Probe<B> for LrProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        out.scalar(&self.name, "lr", "train", ctx.lr);
        Ok(Flow::Continue)
    }
}
