//! The one training loop. See [`crate::probe`] for the order of work within a step.
//!
//! Checkpoints hold the state *before* step t's update (θ_t, optimizer state after t updates,
//! probe states) and are written at the top of step t, before anything of step t is recorded;
//! resuming from step t therefore re-runs step t exactly, and the sink keeps only records of
//! steps < t. Batches come from an [`EpochSampler`] (a pure function of seed and epoch) and
//! learning rates from a schedule (a function of the step), so nothing else needs saving.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use learnscope_core::{DType, LrSchedule, RandomKey};
use learnscope_data::{Batch, Dataset, EpochSampler, Split};
use learnscope_models::{Model, TapRequest, Taps};
use learnscope_nn::loss::Loss;
use learnscope_nn::optim::Optimizer;
use learnscope_nn::{Backend, ForwardCtx, Mode, Tensor};

use crate::eval::{evaluate, EvalSummary};
use crate::probe::{Flow, Metric, Probe, Recorder, StepCtx};
use crate::sink::{NamedTensor, RunSink};
use crate::state::{from_named, to_named, TrainState};
use crate::TrainError;

/// A request to stop, set from a signal handler: the signal number, 0 for none.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(pub Arc<AtomicUsize>);

impl StopSignal {
    /// The pending request, if any. It stays pending (it is not cleared), so every trainer
    /// sharing the signal, e.g. the runs of a local pool, sees it and checkpoints.
    pub fn requested(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s as i32),
        }
    }

    /// Requests a stop as if `signal` had arrived.
    pub fn raise(&self, signal: i32) {
        self.0.store(signal as usize, Ordering::SeqCst);
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// All steps done.
    Completed {
        /// Final training-batch loss.
        final_loss: f64,
    },
    /// A non-finite training loss at `step`.
    Diverged {
        /// The step.
        step: u64,
    },
    /// A probe asked to stop.
    Stopped {
        /// The step it stopped after.
        step: u64,
        /// The probe's reason.
        reason: String,
    },
    /// A signal arrived; a checkpoint at `step` was written first.
    Interrupted {
        /// The checkpoint step.
        step: u64,
        /// The signal number.
        signal: i32,
    },
}

/// Everything a trainer is built from (assembled from a validated run plan).
pub struct TrainerParts<B: Backend> {
    /// Backend.
    pub be: B,
    /// Element type of the run.
    pub dtype: DType,
    /// The model, freshly initialised.
    pub model: Box<dyn Model<B>>,
    /// The data set.
    pub data: Arc<dyn Dataset>,
    /// Batch order.
    pub sampler: EpochSampler,
    /// Loss.
    pub loss: Loss,
    /// Optimizer.
    pub optimizer: Optimizer<B>,
    /// Learning-rate schedule.
    pub lr: LrSchedule,
    /// Probes (unique names).
    pub probes: Vec<Box<dyn Probe<B>>>,
    /// The run's root key (dropout draws).
    pub key: RandomKey,
    /// Number of updates.
    pub steps: u64,
    /// Checkpoint period in steps (0: only at the end and on signals).
    pub checkpoint_every: u64,
    /// Examples per evaluation batch.
    pub eval_chunk: usize,
    /// The fixed probe batch: the first n examples of a split.
    pub probe_batch: (Split, usize),
}

/// The training loop and its state.
pub struct Trainer<B: Backend> {
    p: TrainerParts<B>,
    step: u64,
    names: Vec<String>,
    theta_init: Vec<Tensor<B>>,
    dlogits: Tensor<B>,
    last_checkpoint: Option<u64>,
    batch: Option<Batch<B>>,
    probe_batch: Option<Batch<B>>,
}

struct Collect(Vec<Metric>);

impl Recorder for Collect {
    fn record(&mut self, metric: Metric) {
        self.0.push(metric);
    }
}

fn sink_err(e: String) -> TrainError {
    TrainError::Sink(e)
}

impl<B: Backend> Trainer<B> {
    /// A trainer at step 0 (θ₀ is the model as given).
    pub fn new(parts: TrainerParts<B>) -> Self {
        let mut names = Vec::new();
        let mut theta_init = Vec::new();
        parts.model.visit_params(&mut |p| {
            names.push(p.name.clone());
            theta_init.push(p.value.clone());
        });
        let dlogits = Tensor::empty(&parts.be, parts.dtype);
        Trainer {
            p: parts,
            step: 0,
            names,
            theta_init,
            dlogits,
            last_checkpoint: None,
            batch: None,
            probe_batch: None,
        }
    }

    /// The next step to run.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The model.
    pub fn model(&self) -> &dyn Model<B> {
        self.p.model.as_ref()
    }

    /// Restores a checkpoint written by this configuration.
    pub fn restore(
        &mut self,
        tensors: &[NamedTensor],
        state: &TrainState,
    ) -> Result<(), TrainError> {
        let by_name: BTreeMap<&str, &NamedTensor> =
            tensors.iter().map(|t| (t.name.as_str(), t)).collect();
        let be = self.p.be.clone();
        let mut problem = None;
        self.p
            .model
            .visit_params_mut(&mut |p| match by_name.get(p.name.as_str()) {
                Some(n) => match from_named(&be, n, p.value.dtype(), p.value.shape()) {
                    Ok(t) => p.value = t,
                    Err(e) => problem = Some(e),
                },
                None => problem = Some(format!("parameter `{}` missing", p.name)),
            });
        self.p
            .model
            .visit_buffers_mut(&mut |b| match by_name.get(b.name.as_str()) {
                Some(n) => match from_named(&be, n, b.value.dtype(), b.value.shape()) {
                    Ok(t) => b.value = t,
                    Err(e) => problem = Some(e),
                },
                None => problem = Some(format!("buffer `{}` missing", b.name)),
            });
        if let Some(e) = problem {
            return Err(TrainError::Checkpoint(e));
        }
        let slots = self.p.optimizer.config().slot_names();
        if state.optimizer_steps > 0 && !slots.is_empty() {
            let mut all = Vec::new();
            let mut problem = None;
            self.p.model.visit_params(&mut |p| {
                let mut per = Vec::new();
                for slot in slots {
                    let name = format!("opt/{}/{slot}", p.name);
                    match by_name
                        .get(name.as_str())
                        .map(|n| from_named(&be, n, p.value.dtype(), p.value.shape()))
                    {
                        Some(Ok(t)) => per.push(t),
                        Some(Err(e)) => problem = Some(e),
                        None => problem = Some(format!("optimizer state `{name}` missing")),
                    }
                }
                all.push(per);
            });
            if let Some(e) = problem {
                return Err(TrainError::Checkpoint(e));
            }
            self.p
                .optimizer
                .restore(self.p.model.as_ref(), state.optimizer_steps, all)?;
        } else if state.optimizer_steps > 0 {
            // Stateless optimizer: only the step count matters.
            self.p.optimizer.restore(
                self.p.model.as_ref(),
                state.optimizer_steps,
                vec![vec![]; self.names.len()],
            )?;
        }
        for probe in &mut self.p.probes {
            let st = state
                .probes
                .get(probe.name())
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            probe
                .restore(&st)
                .map_err(|e| TrainError::Checkpoint(format!("probe `{}`: {e}", probe.name())))?;
        }
        self.step = state.step;
        self.last_checkpoint = Some(state.step);
        Ok(())
    }

    fn checkpoint(&mut self, sink: &mut dyn RunSink) -> Result<(), TrainError> {
        let be = &self.p.be;
        let mut tensors = Vec::new();
        self.p
            .model
            .visit_params(&mut |p| tensors.push(to_named(be, &p.name, &p.value)));
        self.p
            .model
            .visit_buffers(&mut |b| tensors.push(to_named(be, &b.name, &b.value)));
        for (name, t) in self.p.optimizer.state_tensors() {
            tensors.push(to_named(be, &name, t));
        }
        let (epoch, position, _) = self.p.sampler.locate(self.step);
        let state = TrainState {
            step: self.step,
            epoch,
            position,
            optimizer_steps: self.p.optimizer.steps(),
            next_lr: self.p.lr.lr_at(self.step),
            probes: self
                .p
                .probes
                .iter()
                .map(|p| (p.name().to_string(), p.state()))
                .collect(),
        };
        let json = serde_json::to_value(&state).map_err(|e| TrainError::Sink(e.to_string()))?;
        sink.checkpoint(self.step, tensors, json)
            .map_err(sink_err)?;
        self.last_checkpoint = Some(self.step);
        Ok(())
    }

    /// Runs until the last step, a divergence, a probe's stop, or a signal.
    pub fn run(
        &mut self,
        sink: &mut dyn RunSink,
        stop: &StopSignal,
    ) -> Result<RunOutcome, TrainError> {
        let be = self.p.be.clone();
        let started_at = self.step;
        loop {
            let t = self.step;
            if t > started_at && self.p.checkpoint_every > 0 && t % self.p.checkpoint_every == 0 {
                self.checkpoint(sink)?;
            }
            if let Some(signal) = stop.requested() {
                if self.last_checkpoint != Some(t) {
                    self.checkpoint(sink)?;
                }
                return Ok(RunOutcome::Interrupted { step: t, signal });
            }
            let final_obs = t == self.p.steps;
            let (epoch, pos, epoch_end) = self.p.sampler.locate(t);
            let due: Vec<usize> = (0..self.p.probes.len())
                .filter(|&i| final_obs || self.p.probes[i].schedule().is_due(t, epoch_end))
                .collect();
            let mut tap_names = Vec::new();
            let mut grad_tap_names = Vec::new();
            let mut splits = Vec::new();
            let mut output_splits = Vec::new();
            let mut probe_tap_names = Vec::new();
            for &i in &due {
                let n = self.p.probes[i].needs();
                tap_names.extend(n.taps);
                grad_tap_names.extend(n.grad_taps);
                splits.extend(n.eval_splits);
                splits.extend(n.outputs.iter().copied());
                output_splits.extend(n.outputs);
                probe_tap_names.extend(n.probe_taps);
            }
            splits.sort();
            splits.dedup();
            let req = |v: Vec<String>| {
                if v.is_empty() {
                    TapRequest::None
                } else {
                    TapRequest::names(v)
                }
            };
            let (tap_req, grad_req) = (req(tap_names), req(grad_tap_names));

            let indices = self.p.sampler.batch(epoch, pos);
            // Full-batch training without shuffling sees the same batch every step: gather once.
            let batch = match self.batch.take() {
                Some(b) if b.indices == indices => b,
                _ => Batch::gather(
                    &be,
                    self.p.data.as_ref(),
                    Split::Train,
                    &indices,
                    self.p.dtype,
                ),
            };
            let ctx = ForwardCtx::new(Mode::Train, t, self.p.key);
            let fwd = self.p.model.forward(&batch.x, &ctx, &tap_req)?;
            let taps: Taps<B> = fwd.taps;
            let batch_loss = self.p.loss.forward_backward(
                &be,
                fwd.logits,
                &batch.targets(),
                &mut self.dlogits,
            )?;
            if !batch_loss.is_finite() {
                sink.record(
                    t,
                    epoch,
                    Metric {
                        probe: "trainer".into(),
                        key: "batch_loss".into(),
                        split: "train".into(),
                        layer: None,
                        index: None,
                        index2: None,
                        value: batch_loss,
                    },
                )
                .map_err(sink_err)?;
                sink.end_step(t).map_err(sink_err)?;
                return Ok(RunOutcome::Diverged { step: t });
            }
            let grad_taps = self.p.model.backward(&self.dlogits, &grad_req)?;

            let mut eval = BTreeMap::<Split, EvalSummary>::new();
            let mut probe_taps = Taps::<B>::new();
            let (mut theta, mut grads) = (Vec::new(), Vec::new());
            if !due.is_empty() {
                for &s in &splits {
                    let summary = evaluate(
                        self.p.model.as_mut(),
                        self.p.data.as_ref(),
                        s,
                        &self.p.loss,
                        self.p.dtype,
                        self.p.eval_chunk,
                        t,
                        output_splits.contains(&s),
                    )?;
                    eval.insert(s, summary);
                }
                if !probe_tap_names.is_empty() {
                    if self.probe_batch.is_none() {
                        let (split, size) = self.p.probe_batch;
                        let n = self.p.data.spec().len(split).min(size);
                        let idx: Vec<usize> = (0..n).collect();
                        self.probe_batch = Some(Batch::gather(
                            &be,
                            self.p.data.as_ref(),
                            split,
                            &idx,
                            self.p.dtype,
                        ));
                    }
                    let pb = self.probe_batch.as_ref().expect("gathered above");
                    let pctx = ForwardCtx::new(Mode::Probe, t, self.p.key);
                    probe_taps = self
                        .p
                        .model
                        .forward(&pb.x, &pctx, &TapRequest::names(probe_tap_names))?
                        .taps;
                }
                self.p.model.visit_params(&mut |p| {
                    theta.push(p.value.clone());
                    grads.push(p.grad.clone());
                });
            }
            let lr = self.p.lr.lr_at(t);
            if !final_obs {
                self.p.optimizer.step(&be, self.p.model.as_mut(), lr);
            }
            let mut stop_reason = None;
            if !due.is_empty() {
                let mut update = Vec::with_capacity(theta.len());
                let mut i = 0;
                self.p.model.visit_params(&mut |p| {
                    let mut d = p.value.clone();
                    be.axpy(-1.0, &theta[i], &mut d);
                    update.push(d);
                    i += 1;
                });
                let mut out = Collect(Vec::new());
                for &i in &due {
                    let probe = &mut self.p.probes[i];
                    let ctx = StepCtx {
                        be: &be,
                        step: t,
                        epoch,
                        lr,
                        batch_loss,
                        updated: !final_obs,
                        loss: &self.p.loss,
                        names: &self.names,
                        theta: &theta,
                        theta_init: &self.theta_init,
                        grads: &grads,
                        update: &update,
                        batch: &batch,
                        taps: &taps,
                        grad_taps: &grad_taps,
                        eval: &eval,
                        probe_batch: self.probe_batch.as_ref(),
                        probe_taps: &probe_taps,
                        model: self.p.model.as_ref(),
                    };
                    if let Flow::Stop { reason } = probe.observe(&ctx, &mut out)? {
                        stop_reason.get_or_insert(format!("{}: {reason}", probe.name()));
                    }
                }
                for m in out.0 {
                    sink.record(t, epoch, m).map_err(sink_err)?;
                }
                sink.end_step(t).map_err(sink_err)?;
            }
            sink.step_done(t, self.p.steps, batch_loss);
            if final_obs {
                if self.last_checkpoint != Some(t) {
                    self.checkpoint(sink)?;
                }
                return Ok(RunOutcome::Completed {
                    final_loss: batch_loss,
                });
            }
            self.batch = Some(batch);
            self.step = t + 1;
            if let Some(reason) = stop_reason {
                self.checkpoint(sink)?;
                return Ok(RunOutcome::Stopped { step: t, reason });
            }
        }
    }
}
