//! The `Probe` trait and what a probe sees at a due step.
//!
//! Order within step t (θ_t = parameters after t updates):
//! 1. forward on the training batch at θ_t (with the taps the due probes asked for), loss,
//!    backward (g_t = ∇L_batch(θ_t), with requested gradient taps);
//! 2. one `Mode::Probe` evaluation per split the due probes need, and one `Mode::Probe` pass on
//!    the fixed probe batch with the union of the probe-batch taps they asked for, at θ_t;
//! 3. the optimizer update θ_{t+1} = θ_t + Δθ_t (skipped at the final, observation-only step);
//! 4. `observe` on every due probe, with θ_t (a copy), g_t, Δθ_t, the taps and evaluations.
//!
//! Every probe is also due at the final step (t = steps, observation only), so each series
//! ends at the trained network.
//!
//! Probes never mutate the model: [`StepCtx::grad_at`] works on a scratch copy.

use std::collections::BTreeMap;

use learnscope_core::ProbeSchedule;
use learnscope_data::{Batch, Split};
use learnscope_models::{Model, TapRequest, Taps};
use learnscope_nn::loss::Loss;
use learnscope_nn::{Backend, ForwardCtx, Mode, NnError, Tensor};

use crate::eval::EvalSummary;

/// One recorded number (step and epoch are added by the trainer).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The probe's name.
    pub probe: String,
    /// What is measured, e.g. `loss` or `nc1/trace_ratio`.
    pub key: String,
    /// `train`, `test`, `ood` or `probe`.
    pub split: String,
    /// The layer or parameter it refers to.
    pub layer: Option<String>,
    /// An index (mode, class, example).
    pub index: Option<i64>,
    /// A second index.
    pub index2: Option<i64>,
    /// The value (non-finite values are kept).
    pub value: f64,
}

/// Where probes write.
pub trait Recorder {
    /// Records one metric.
    fn record(&mut self, metric: Metric);

    /// Shorthand: a metric without layer or indices.
    fn scalar(&mut self, probe: &str, key: &str, split: &str, value: f64) {
        self.record(Metric {
            probe: probe.into(),
            key: key.into(),
            split: split.into(),
            layer: None,
            index: None,
            index2: None,
            value,
        });
    }

    /// Shorthand: a per-layer metric.
    fn layer(&mut self, probe: &str, key: &str, split: &str, layer: &str, value: f64) {
        self.record(Metric {
            probe: probe.into(),
            key: key.into(),
            split: split.into(),
            layer: Some(layer.into()),
            index: None,
            index2: None,
            value,
        });
    }
}

/// A probe's decision after observing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    /// Keep training.
    Continue,
    /// Stop the run (early stopping); the reason goes into the manifest.
    Stop {
        /// Why.
        reason: String,
    },
}

/// What a probe needs computed for it at its due steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeNeeds {
    /// Activation taps of the training batch.
    pub taps: Vec<String>,
    /// Gradient taps of the training batch.
    pub grad_taps: Vec<String>,
    /// Full-split evaluations (loss, accuracy) at θ_t.
    pub eval_splits: Vec<Split>,
    /// Full-split evaluations that also keep every example's logits at θ_t
    /// (`EvalSummary::logits`); implies `eval_splits`.
    pub outputs: Vec<Split>,
    /// Activation taps on the fixed probe batch at θ_t (one shared `Mode::Probe` pass).
    pub probe_taps: Vec<String>,
}

/// Read-only view of the run at a due step.
pub struct StepCtx<'a, B: Backend> {
    /// The backend.
    pub be: &'a B,
    /// t: updates taken before this observation.
    pub step: u64,
    /// The epoch the step's batch belongs to.
    pub epoch: u64,
    /// The learning rate of this step's update.
    pub lr: f64,
    /// Loss of the training batch at θ_t.
    pub batch_loss: f64,
    /// Whether an update was applied (false at the final observation).
    pub updated: bool,
    /// The loss function.
    pub loss: &'a Loss,
    /// Parameter names, in order.
    pub names: &'a [String],
    /// θ_t, in parameter order.
    pub theta: &'a [Tensor<B>],
    /// θ_0, in parameter order.
    pub theta_init: &'a [Tensor<B>],
    /// g_t, in parameter order.
    pub grads: &'a [Tensor<B>],
    /// θ_{t+1} − θ_t (zeros when no update was applied).
    pub update: &'a [Tensor<B>],
    /// The training batch.
    pub batch: &'a Batch<B>,
    /// Requested activation taps of the training batch.
    pub taps: &'a Taps<B>,
    /// Requested gradient taps of the training batch.
    pub grad_taps: &'a Taps<B>,
    /// Full-split evaluations at θ_t.
    pub eval: &'a BTreeMap<Split, EvalSummary>,
    /// The fixed probe batch (the same examples at every step), when a due probe asked for taps.
    pub probe_batch: Option<&'a Batch<B>>,
    /// Requested activation taps of the probe batch at θ_t.
    pub probe_taps: &'a Taps<B>,
    /// The live model (at θ_{t+1}); only for cloning and specs.
    pub model: &'a dyn Model<B>,
}

impl<B: Backend> StepCtx<'_, B> {
    /// The logits of the network at θ_t for host inputs `x` (row-major, `examples ×` the model's
    /// input size), computed in `Mode::Probe` on a scratch copy of the model in chunks of at
    /// most `chunk` examples; row-major `examples × outputs`.
    pub fn logits_at_theta(&self, x: &[f64], chunk: usize) -> Result<Vec<f64>, NnError> {
        let mut scratch = self.model.clone_model();
        let mut i = 0;
        scratch.visit_params_mut(&mut |p| {
            self.be.copy(&self.theta[i], &mut p.value);
            i += 1;
        });
        let spec = scratch.spec().clone();
        let width: usize = spec.input_shape.iter().product();
        if width == 0 || x.len() % width != 0 {
            return Err(NnError::setting(
                "logits_at_theta",
                format!("{} input values", x.len()),
                format!("a multiple of the input size {width}"),
            ));
        }
        let n = x.len() / width;
        let ctx = ForwardCtx::new(Mode::Probe, self.step, learnscope_core::RandomKey::root(0));
        let mut out = Vec::with_capacity(n * spec.outputs);
        let mut start = 0;
        while start < n {
            let end = (start + chunk.max(1)).min(n);
            let mut shape = vec![end - start];
            shape.extend(&spec.input_shape);
            let xt = Tensor::from_f64(self.be, spec.dtype, &shape, &x[start * width..end * width]);
            let logits = scratch
                .forward(&xt, &ctx, &TapRequest::None)?
                .logits
                .clone();
            out.extend(logits.to_host_f64(self.be));
            start = end;
        }
        Ok(out)
    }

    /// The activation taps `taps` of the network at parameters `params` (param order) for the
    /// input batch `x` (`[examples, input_shape…]`), from one `Mode::Probe` forward pass on a
    /// scratch copy of the model; the live model is untouched. Buffers (batch-norm running
    /// statistics) are the live model's. With `params = theta_init` and the probe batch this
    /// gives the initial network's representations without storing them; with `theta` it
    /// repeats the trainer's probe-batch pass. Fails if `params` does not have one tensor per
    /// parameter.
    pub fn taps_at(
        &self,
        params: &[Tensor<B>],
        x: &Tensor<B>,
        taps: &TapRequest,
    ) -> Result<Taps<B>, NnError> {
        let mut scratch = self.model.clone_model();
        let mut count = 0;
        scratch.visit_params(&mut |_| count += 1);
        if params.len() != count {
            return Err(NnError::setting(
                "taps_at",
                format!("{} parameter tensors", params.len()),
                format!("one per model parameter ({count})"),
            ));
        }
        let mut i = 0;
        scratch.visit_params_mut(&mut |p| {
            self.be.copy(&params[i], &mut p.value);
            i += 1;
        });
        let ctx = ForwardCtx::new(Mode::Probe, self.step, learnscope_core::RandomKey::root(0));
        Ok(scratch.forward(x, &ctx, taps)?.taps)
    }

    /// Loss and gradients at parameters `params` (param order) on `batch`, computed on a
    /// scratch copy of the model in `Mode::Probe`; the live model is untouched.
    pub fn grad_at(
        &self,
        params: &[Tensor<B>],
        batch: &Batch<B>,
    ) -> Result<(f64, Vec<Tensor<B>>), NnError> {
        let mut scratch = self.model.clone_model();
        let mut i = 0;
        scratch.visit_params_mut(&mut |p| {
            self.be.copy(&params[i], &mut p.value);
            i += 1;
        });
        let ctx = ForwardCtx::new(Mode::Probe, self.step, learnscope_core::RandomKey::root(0));
        let logits = scratch
            .forward(&batch.x, &ctx, &TapRequest::None)?
            .logits
            .clone();
        let mut dl = Tensor::zeros(self.be, logits.dtype(), logits.shape());
        let l = self
            .loss
            .forward_backward(self.be, &logits, &batch.targets(), &mut dl)?;
        scratch.backward(&dl, &TapRequest::None)?;
        let mut grads = Vec::new();
        scratch.visit_params(&mut |p| grads.push(p.grad.clone()));
        Ok((l, grads))
    }
}

/// An observer of training. See the module documentation for when it runs.
pub trait Probe<B: Backend>: Send {
    /// Unique name within a run (the `probe` column).
    fn name(&self) -> &str;
    /// When it observes.
    fn schedule(&self) -> &ProbeSchedule;
    /// What it needs computed.
    fn needs(&self) -> ProbeNeeds {
        ProbeNeeds::default()
    }
    /// Observes one due step.
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError>;
    /// State to put in checkpoints (probes that remember across steps).
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    /// Restores [`Probe::state`] when resuming.
    fn restore(&mut self, _state: &serde_json::Value) -> Result<(), String> {
        Ok(())
    }
}
