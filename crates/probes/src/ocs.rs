//! The optimal-constant-solution phase (P1, SCIENCE.md §P1.3): how far the network's mean output
//! is from the OCS f* (the constant output minimising the loss over the training targets, see
//! `learnscope_nn::loss::ocs`), and how much its outputs still depend on the input.
//!
//! On the training batch at θ_t, with outputs fᵢ and batch mean f̄:
//! `d_ocs` = ‖f̄ − f*‖ (Euclidean over outputs), `spread` = (1/B) Σᵢ ‖fᵢ − f̄‖ (input
//! dependence; 0 for a constant network), and `ocs_loss` = L(f*) for reference. With full-batch
//! training the batch is the training set; with mini-batches f̄ estimates the data mean.
//! Outputs for which f* is infinite (a label never or always present under BCE/CE) are skipped.

use learnscope_core::ProbeSchedule;
use learnscope_nn::{Backend, NnError};
use learnscope_train::{Flow, Probe, ProbeNeeds, Recorder, StepCtx};

/// d_OCS and input dependence of the outputs.
pub struct OcsProbe {
    /// Name.
    pub name: String,
    /// When.
    pub schedule: ProbeSchedule,
    /// f*, one value per output.
    pub ocs: Vec<f64>,
    /// L(f*).
    pub ocs_loss: f64,
}

impl<B: Backend> Probe<B> for OcsProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn needs(&self) -> ProbeNeeds {
        ProbeNeeds {
            taps: vec!["logits".into()],
            ..ProbeNeeds::default()
        }
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let f = ctx
            .taps
            .get("logits")
            .ok_or_else(|| NnError::setting("ocs", "logits tap", "requested"))?
            .to_host_f64(ctx.be);
        let c = self.ocs.len();
        let b = f.len() / c.max(1);
        let mut mean = vec![0.0; c];
        for row in f.chunks_exact(c) {
            mean.iter_mut()
                .zip(row)
                .for_each(|(m, v)| *m += v / b as f64);
        }
        let d_ocs = mean
            .iter()
            .zip(&self.ocs)
            .filter(|(_, o)| o.is_finite())
            .map(|(m, o)| (m - o).powi(2))
            .sum::<f64>()
            .sqrt();
        let spread = f
            .chunks_exact(c)
            .map(|row| {
                row.iter()
                    .zip(&mean)
                    .map(|(v, m)| (v - m).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .sum::<f64>()
            / b as f64;
        out.scalar(&self.name, "d_ocs", "train", d_ocs);
        out.scalar(&self.name, "spread", "train", spread);
        out.scalar(&self.name, "ocs_loss", "train", self.ocs_loss);
        Ok(Flow::Continue)
    }
}
