//! The one training loop. See [`crate::probe`] for the order of work within a step.
//!
//! The model is one network or an ensemble of N ([`learnscope_models::Ensemble`], trained on
//! one batch sequence with the loss Σᵢ Lᵢ of [`GroupedLoss`]). Each member has its own probes,
//! sink (run directory) and checkpoints, holding exactly what the member's solo run would hold:
//! its own parameter names, optimizer state and probe states. A member whose loss stops being
//! finite is frozen (no more updates or records) and ends `Diverged`, as its solo run would;
//! one whose probe asks to stop ends `Stopped`; the others train on.
//!
//! Checkpoints hold the state *before* step t's update (θ_t, optimizer state after t updates,
//! probe states) and are written at the top of step t, before anything of step t is recorded;
//! resuming from step t therefore re-runs step t exactly, and the sink keeps only records of
//! steps < t. Batches come from an [`EpochSampler`] (a pure function of seed and epoch) and
//! learning rates from a schedule (a function of the step), so nothing else needs saving.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use learnscope_core::{DType, LrSchedule, RandomKey};
use learnscope_data::{Batch, Dataset, EpochSampler, Split};
use learnscope_models::{Model, TapRequest, Taps};
use learnscope_nn::loss::{GroupedLoss, Loss};
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
    /// The model, freshly initialised: one network, or an ensemble whose members all see the
    /// same batches.
    pub model: Box<dyn Model<B>>,
    /// The data set.
    pub data: Arc<dyn Dataset>,
    /// Batch order.
    pub sampler: EpochSampler,
    /// Loss (of each member).
    pub loss: Loss,
    /// Optimizer.
    pub optimizer: Optimizer<B>,
    /// Learning-rate schedule.
    pub lr: LrSchedule,
    /// Probes (unique names), one list per member (one list for a single network).
    pub probes: Vec<Vec<Box<dyn Probe<B>>>>,
    /// The run's root key (dropout draws; an ensemble's members hold their own).
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

/// One member's view: its parameters' positions in the model's order, its probes and, once
/// it has ended (diverged or stopped), its outcome.
struct Member<B: Backend> {
    params: Range<usize>,
    probes: Vec<Box<dyn Probe<B>>>,
    ended: Option<RunOutcome>,
}

/// The training loop and its state.
pub struct Trainer<B: Backend> {
    p: TrainerParts<B>,
    members: Vec<Member<B>>,
    due: Vec<Vec<usize>>,
    grouped: Option<GroupedLoss<B>>,
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

/// Member `i` of `model` (the model itself when it is a single network).
fn member_of<B: Backend>(model: &dyn Model<B>, i: usize) -> &dyn Model<B> {
    match model.member(i) {
        Some(m) => m,
        None => model,
    }
}

/// Member `i` of `model`, mutably.
fn member_of_mut<B: Backend>(model: &mut dyn Model<B>, i: usize) -> &mut dyn Model<B> {
    if model.members() == 1 {
        return model;
    }
    model.member_mut(i).expect("member index below members()")
}

/// The taps of member `i`: the model's own for a single network (borrowed, no copy), else
/// the ensemble's `member{i}/<tap>` entries under their member names.
fn member_taps<B: Backend>(taps: &Taps<B>, i: usize, n: usize) -> Cow<'_, Taps<B>> {
    if n == 1 {
        return Cow::Borrowed(taps);
    }
    let prefix = format!("member{i}/");
    Cow::Owned(
        taps.iter()
            .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_string(), v.clone())))
            .collect(),
    )
}

fn batch_loss_metric(value: f64) -> Metric {
    Metric {
        probe: "trainer".into(),
        key: "batch_loss".into(),
        split: "train".into(),
        layer: None,
        index: None,
        index2: None,
        value,
    }
}

impl<B: Backend> Trainer<B> {
    /// A trainer at step 0 (θ₀ is the model as given).
    ///
    /// # Panics
    /// If there is not one probe list per member of the model.
    pub fn new(mut parts: TrainerParts<B>) -> Self {
        let mut names = Vec::new();
        let mut theta_init = Vec::new();
        parts.model.visit_params(&mut |p| {
            names.push(p.name.clone());
            theta_init.push(p.value.clone());
        });
        let n = parts.model.members();
        assert_eq!(
            parts.probes.len(),
            n,
            "Trainer::new: {} probe lists for a model of {n} members",
            parts.probes.len()
        );
        let mut members = Vec::with_capacity(n);
        let mut first = 0;
        for (i, probes) in std::mem::take(&mut parts.probes).into_iter().enumerate() {
            let mut count = 0;
            member_of(parts.model.as_ref(), i).visit_params(&mut |_| count += 1);
            members.push(Member {
                params: first..first + count,
                probes,
                ended: None,
            });
            first += count;
        }
        let dlogits = Tensor::empty(&parts.be, parts.dtype);
        Trainer {
            grouped: (n > 1).then(|| GroupedLoss::new(parts.loss, n)),
            p: parts,
            members,
            due: Vec::new(),
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

    /// The number of networks trained (1, or an ensemble's N).
    pub fn members(&self) -> usize {
        self.members.len()
    }

    /// Restores a checkpoint written by this configuration (a single network).
    pub fn restore(
        &mut self,
        tensors: &[NamedTensor],
        state: &TrainState,
    ) -> Result<(), TrainError> {
        self.restore_members(&[(tensors, state)])
    }

    /// Restores one checkpoint per member, all of the same step (each as the member's solo run
    /// wrote it).
    pub fn restore_members(
        &mut self,
        checkpoints: &[(&[NamedTensor], &TrainState)],
    ) -> Result<(), TrainError> {
        let n = self.members.len();
        if checkpoints.len() != n {
            return Err(TrainError::Checkpoint(format!(
                "{} checkpoints for {n} members",
                checkpoints.len()
            )));
        }
        let state0 = checkpoints[0].1;
        if let Some((i, _)) = checkpoints.iter().enumerate().find(|(_, (_, s))| {
            s.step != state0.step || s.optimizer_steps != state0.optimizer_steps
        }) {
            return Err(TrainError::Checkpoint(format!(
                "member {i}'s checkpoint is of step {}, member 0's of step {}",
                checkpoints[i].1.step, state0.step
            )));
        }
        let be = self.p.be.clone();
        let slots = self.p.optimizer.config().slot_names();
        let mut all_slots = Vec::new();
        for (i, (tensors, state)) in checkpoints.iter().enumerate() {
            let by_name: BTreeMap<&str, &NamedTensor> =
                tensors.iter().map(|t| (t.name.as_str(), t)).collect();
            let model = member_of_mut(self.p.model.as_mut(), i);
            let mut problem = None;
            model.visit_params_mut(&mut |p| match by_name.get(p.name.as_str()) {
                Some(t) => match from_named(&be, t, p.value.dtype(), p.value.shape()) {
                    Ok(t) => p.value = t,
                    Err(e) => problem = Some(e),
                },
                None => problem = Some(format!("parameter `{}` missing", p.name)),
            });
            model.visit_buffers_mut(&mut |b| match by_name.get(b.name.as_str()) {
                Some(t) => match from_named(&be, t, b.value.dtype(), b.value.shape()) {
                    Ok(t) => b.value = t,
                    Err(e) => problem = Some(e),
                },
                None => problem = Some(format!("buffer `{}` missing", b.name)),
            });
            if state.optimizer_steps > 0 {
                model.visit_params(&mut |p| {
                    let mut per = Vec::new();
                    for slot in slots {
                        let name = format!("opt/{}/{slot}", p.name);
                        match by_name
                            .get(name.as_str())
                            .map(|t| from_named(&be, t, p.value.dtype(), p.value.shape()))
                        {
                            Some(Ok(t)) => per.push(t),
                            Some(Err(e)) => problem = Some(e),
                            None => problem = Some(format!("optimizer state `{name}` missing")),
                        }
                    }
                    all_slots.push(per);
                });
            }
            if let Some(e) = problem {
                let whose = if n == 1 {
                    String::new()
                } else {
                    format!("member {i}: ")
                };
                return Err(TrainError::Checkpoint(format!("{whose}{e}")));
            }
            for probe in &mut self.members[i].probes {
                let st = state
                    .probes
                    .get(probe.name())
                    .cloned()
                    .unwrap_or(serde_json::Value::Null);
                probe.restore(&st).map_err(|e| {
                    TrainError::Checkpoint(format!("probe `{}`: {e}", probe.name()))
                })?;
            }
        }
        if state0.optimizer_steps > 0 {
            // A stateless optimizer (plain SGD) gets empty slot lists: only the count matters.
            self.p
                .optimizer
                .restore(self.p.model.as_ref(), state0.optimizer_steps, all_slots)?;
        }
        self.step = state0.step;
        self.last_checkpoint = Some(state0.step);
        Ok(())
    }

    /// Writes member `i`'s checkpoint of the state before step `self.step` to `sink`.
    fn checkpoint_member(&self, i: usize, sink: &mut dyn RunSink) -> Result<(), TrainError> {
        let be = &self.p.be;
        let model = member_of(self.p.model.as_ref(), i);
        let mut tensors = Vec::new();
        model.visit_params(&mut |p| tensors.push(to_named(be, &p.name, &p.value)));
        model.visit_buffers(&mut |b| tensors.push(to_named(be, &b.name, &b.value)));
        let slots = self.p.optimizer.config().slot_names().len();
        let range = &self.members[i].params;
        let opt = self.p.optimizer.state_tensors();
        if !opt.is_empty() {
            for (name, t) in &opt[range.start * slots..range.end * slots] {
                tensors.push(to_named(be, name, t));
            }
        }
        let (epoch, position, _) = self.p.sampler.locate(self.step);
        let state = TrainState {
            step: self.step,
            epoch,
            position,
            optimizer_steps: self.p.optimizer.steps(),
            next_lr: self.p.lr.lr_at(self.step),
            probes: self.members[i]
                .probes
                .iter()
                .map(|p| (p.name().to_string(), p.state()))
                .collect(),
        };
        let json = serde_json::to_value(&state).map_err(|e| TrainError::Sink(e.to_string()))?;
        sink.checkpoint(self.step, tensors, json).map_err(sink_err)
    }

    /// Checkpoints every member still training.
    fn checkpoint(&mut self, sinks: &mut [&mut dyn RunSink]) -> Result<(), TrainError> {
        for (i, sink) in sinks.iter_mut().enumerate() {
            if self.members[i].ended.is_none() {
                self.checkpoint_member(i, &mut **sink)?;
            }
        }
        self.last_checkpoint = Some(self.step);
        Ok(())
    }

    /// Runs a single network until the last step, a divergence, a probe's stop, or a signal.
    pub fn run(
        &mut self,
        sink: &mut dyn RunSink,
        stop: &StopSignal,
    ) -> Result<RunOutcome, TrainError> {
        if self.members.len() != 1 {
            return Err(TrainError::Config(format!(
                "an ensemble of {} members needs one sink per member (Trainer::run_members)",
                self.members.len()
            )));
        }
        Ok(self.run_members(&mut [sink], stop)?.remove(0))
    }

    /// Runs every member, each recording into its own sink, until the last step, a signal, or
    /// until each has diverged or been stopped by a probe; one outcome per member.
    pub fn run_members(
        &mut self,
        sinks: &mut [&mut dyn RunSink],
        stop: &StopSignal,
    ) -> Result<Vec<RunOutcome>, TrainError> {
        let n = self.members.len();
        if sinks.len() != n {
            return Err(TrainError::Config(format!(
                "{} sinks for {n} members",
                sinks.len()
            )));
        }
        let be = self.p.be.clone();
        let started_at = self.step;
        loop {
            let t = self.step;
            if t > started_at && self.p.checkpoint_every > 0 && t % self.p.checkpoint_every == 0 {
                self.checkpoint(sinks)?;
            }
            if let Some(signal) = stop.requested() {
                if self.last_checkpoint != Some(t) {
                    self.checkpoint(sinks)?;
                }
                return Ok(self.outcomes(RunOutcome::Interrupted { step: t, signal }));
            }
            let final_obs = t == self.p.steps;
            let (epoch, pos, epoch_end) = self.p.sampler.locate(t);
            // Per member, the indices of its due probes (buffers reused: a step of a small
            // network takes microseconds, and allocations would show).
            let mut due = std::mem::take(&mut self.due);
            due.resize_with(n, Vec::new);
            for (d, m) in due.iter_mut().zip(&self.members) {
                d.clear();
                if m.ended.is_none() {
                    d.extend(
                        (0..m.probes.len())
                            .filter(|&i| final_obs || m.probes[i].schedule().is_due(t, epoch_end)),
                    );
                }
            }
            let mut tap_names = Vec::new();
            let mut grad_tap_names = Vec::new();
            let mut splits = Vec::new();
            let mut output_splits = Vec::new();
            let mut probe_tap_names = Vec::new();
            for (m, due) in self.members.iter().zip(&due) {
                for &i in due {
                    let n = m.probes[i].needs();
                    tap_names.extend(n.taps);
                    grad_tap_names.extend(n.grad_taps);
                    splits.extend(n.eval_splits);
                    splits.extend(n.outputs.iter().copied());
                    output_splits.extend(n.outputs);
                    probe_tap_names.extend(n.probe_taps);
                }
            }
            splits.sort();
            splits.dedup();
            for v in [&mut tap_names, &mut grad_tap_names, &mut probe_tap_names] {
                v.sort();
                v.dedup();
            }
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
            let loss_one;
            let loss_all;
            let losses: &[f64] = match &mut self.grouped {
                None => {
                    loss_one = [self.p.loss.forward_backward(
                        &be,
                        fwd.logits,
                        &batch.targets(),
                        &mut self.dlogits,
                    )?];
                    &loss_one
                }
                Some(g) => {
                    loss_all =
                        g.forward_backward(&be, fwd.logits, &batch.targets(), &mut self.dlogits)?;
                    &loss_all
                }
            };
            for (i, sink) in sinks.iter_mut().enumerate() {
                if self.members[i].ended.is_none() && !losses[i].is_finite() {
                    sink.record(t, epoch, batch_loss_metric(losses[i]))
                        .map_err(sink_err)?;
                    sink.end_step(t).map_err(sink_err)?;
                    self.members[i].ended = Some(RunOutcome::Diverged { step: t });
                }
            }
            if self.members.iter().all(|m| m.ended.is_some()) {
                return Ok(self.outcomes(RunOutcome::Diverged { step: t }));
            }
            // A member that diverged at this step observes nothing more.
            for (d, m) in due.iter_mut().zip(&self.members) {
                if m.ended.is_some() {
                    d.clear();
                }
            }
            let any_due = due.iter().any(|d| !d.is_empty());
            let grad_taps = self.p.model.backward(&self.dlogits, &grad_req)?;

            let mut evals = Vec::new();
            let mut probe_taps = Vec::new();
            let (mut theta, mut grads) = (Vec::new(), Vec::new());
            for (i, due) in due.iter().enumerate().filter(|_| any_due) {
                let mut eval = BTreeMap::<Split, EvalSummary>::new();
                let mut ptaps = Taps::<B>::new();
                if !due.is_empty() {
                    let model = member_of_mut(self.p.model.as_mut(), i);
                    for &s in &splits {
                        let summary = evaluate(
                            model,
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
                        let model = member_of_mut(self.p.model.as_mut(), i);
                        ptaps = model
                            .forward(&pb.x, &pctx, &TapRequest::names(probe_tap_names.clone()))?
                            .taps;
                    }
                }
                evals.push(eval);
                probe_taps.push(ptaps);
            }
            if any_due {
                self.p.model.visit_params(&mut |p| {
                    theta.push(p.value.clone());
                    grads.push(p.grad.clone());
                });
            }
            let lr = self.p.lr.lr_at(t);
            if !final_obs {
                let members = &self.members;
                if members.iter().all(|m| m.ended.is_none()) {
                    self.p.optimizer.step(&be, self.p.model.as_mut(), lr);
                } else {
                    let active = |j: usize| {
                        members
                            .iter()
                            .any(|m| m.ended.is_none() && m.params.contains(&j))
                    };
                    self.p
                        .optimizer
                        .step_where(&be, self.p.model.as_mut(), lr, &active);
                }
            }
            let mut stop_reasons: Vec<Option<String>> = Vec::new();
            if any_due {
                stop_reasons.resize(n, None);
                let mut update = Vec::with_capacity(theta.len());
                let mut j = 0;
                self.p.model.visit_params(&mut |p| {
                    let mut d = p.value.clone();
                    be.axpy(-1.0, &theta[j], &mut d);
                    update.push(d);
                    j += 1;
                });
                for (i, sink) in sinks.iter_mut().enumerate() {
                    if due[i].is_empty() {
                        continue;
                    }
                    let r = self.members[i].params.clone();
                    let mtaps = member_taps(&taps, i, n);
                    let mgrad_taps = member_taps(&grad_taps, i, n);
                    let model = member_of(self.p.model.as_ref(), i);
                    let mut out = Collect(Vec::new());
                    for &k in &due[i] {
                        let probe = &mut self.members[i].probes[k];
                        let ctx = StepCtx {
                            be: &be,
                            step: t,
                            epoch,
                            lr,
                            batch_loss: losses[i],
                            updated: !final_obs,
                            loss: &self.p.loss,
                            names: &self.names[r.clone()],
                            theta: &theta[r.clone()],
                            theta_init: &self.theta_init[r.clone()],
                            grads: &grads[r.clone()],
                            update: &update[r.clone()],
                            batch: &batch,
                            taps: &mtaps,
                            grad_taps: &mgrad_taps,
                            eval: &evals[i],
                            probe_batch: self.probe_batch.as_ref(),
                            probe_taps: &probe_taps[i],
                            model,
                        };
                        if let Flow::Stop { reason } = probe.observe(&ctx, &mut out)? {
                            stop_reasons[i].get_or_insert(format!("{}: {reason}", probe.name()));
                        }
                    }
                    for m in out.0 {
                        sink.record(t, epoch, m).map_err(sink_err)?;
                    }
                    sink.end_step(t).map_err(sink_err)?;
                }
            }
            for (i, sink) in sinks.iter_mut().enumerate() {
                if self.members[i].ended.is_none() {
                    sink.step_done(t, self.p.steps, losses[i]);
                }
            }
            if final_obs {
                if self.last_checkpoint != Some(t) {
                    self.checkpoint(sinks)?;
                }
                return Ok(self
                    .outcomes(RunOutcome::Completed {
                        final_loss: f64::NAN,
                    })
                    .into_iter()
                    .enumerate()
                    .map(|(i, o)| match o {
                        RunOutcome::Completed { .. } => RunOutcome::Completed {
                            final_loss: losses[i],
                        },
                        other => other,
                    })
                    .collect());
            }
            self.batch = Some(batch);
            self.due = due;
            self.step = t + 1;
            for (i, reason) in stop_reasons.into_iter().enumerate() {
                if let Some(reason) = reason {
                    self.checkpoint_member(i, &mut *sinks[i])?;
                    self.members[i].ended = Some(RunOutcome::Stopped { step: t, reason });
                }
            }
            if self.members.iter().all(|m| m.ended.is_some()) {
                self.last_checkpoint = Some(self.step);
                return Ok(self.outcomes(RunOutcome::Completed {
                    final_loss: f64::NAN,
                }));
            }
        }
    }

    /// Each member's outcome: its own if it has ended, else `rest`.
    fn outcomes(&self, rest: RunOutcome) -> Vec<RunOutcome> {
        self.members
            .iter()
            .map(|m| m.ended.clone().unwrap_or_else(|| rest.clone()))
            .collect()
    }
}
