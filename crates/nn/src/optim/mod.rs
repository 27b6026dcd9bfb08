//! Optimizers: SGD (with momentum, Nesterov, weight decay) and Adam/AdamW, with PyTorch's update
//! rules so that reference scripts agree step for step. The learning rate is passed to every
//! step (it comes from an [`learnscope_core::LrSchedule`]); full-batch GD is SGD on the whole set.
//!
//! State is one set of named slots per parameter (`momentum_buffer`, `exp_avg`, `exp_avg_sq`),
//! exposed for checkpoints as `opt/<param>/<slot>`.

mod adam;
mod sgd;

pub use adam::AdamHyper;
pub use sgd::SgdHyper;

use crate::param::ParamTree;
use crate::{Backend, NnError, Tensor};

/// Optimizer settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Stochastic (or full-batch) gradient descent.
    Sgd {
        /// Momentum μ (0 = plain SGD).
        #[serde(default)]
        momentum: f64,
        /// Dampening of the gradient in the momentum buffer.
        #[serde(default)]
        dampening: f64,
        /// L2 penalty added to the gradient.
        #[serde(default)]
        weight_decay: f64,
        /// Nesterov momentum.
        #[serde(default)]
        nesterov: bool,
    },
    /// Adam (Kingma & Ba 2015); `decoupled = true` is AdamW (Loshchilov & Hutter 2019).
    Adam {
        /// β₁.
        #[serde(default = "default_beta1")]
        beta1: f64,
        /// β₂.
        #[serde(default = "default_beta2")]
        beta2: f64,
        /// ε.
        #[serde(default = "default_eps")]
        eps: f64,
        /// Weight decay (L2 in the gradient, or decoupled for AdamW).
        #[serde(default)]
        weight_decay: f64,
        /// Decoupled weight decay (AdamW).
        #[serde(default)]
        decoupled: bool,
    },
}

fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}

impl OptimizerConfig {
    /// Plain SGD.
    pub fn sgd() -> Self {
        OptimizerConfig::Sgd {
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }

    /// Adam with PyTorch's defaults.
    pub fn adam() -> Self {
        OptimizerConfig::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
        }
    }

    /// Checks every setting against its allowed range.
    pub fn validate(&self) -> Result<(), NnError> {
        let nonneg = |f: &str, v: f64| {
            if v >= 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(NnError::setting(
                    format!("optimizer.{f}"),
                    v,
                    ">= 0 and finite",
                ))
            }
        };
        match *self {
            OptimizerConfig::Sgd {
                momentum,
                dampening,
                weight_decay,
                nesterov,
            } => {
                nonneg("momentum", momentum)?;
                nonneg("dampening", dampening)?;
                nonneg("weight_decay", weight_decay)?;
                if nesterov && (momentum <= 0.0 || dampening != 0.0) {
                    return Err(NnError::setting(
                        "optimizer.nesterov",
                        true,
                        "needs momentum > 0 and dampening = 0",
                    ));
                }
                Ok(())
            }
            OptimizerConfig::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                for (f, b) in [("beta1", beta1), ("beta2", beta2)] {
                    if !(0.0..1.0).contains(&b) {
                        return Err(NnError::setting(
                            format!("optimizer.{f}"),
                            b,
                            "0 <= beta < 1",
                        ));
                    }
                }
                if eps.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                    return Err(NnError::setting("optimizer.eps", eps, "> 0"));
                }
                nonneg("weight_decay", weight_decay)
            }
        }
    }

    /// Names of the per-parameter state slots, in checkpoint order.
    pub fn slot_names(&self) -> &'static [&'static str] {
        match self {
            OptimizerConfig::Sgd { momentum, .. } if *momentum > 0.0 => &["momentum_buffer"],
            OptimizerConfig::Sgd { .. } => &[],
            OptimizerConfig::Adam { .. } => &["exp_avg", "exp_avg_sq"],
        }
    }
}

/// An optimizer with its per-parameter state.
pub struct Optimizer<B: Backend> {
    config: OptimizerConfig,
    /// State slots per parameter, in the model's parameter order (created on the first step).
    state: Vec<Vec<Tensor<B>>>,
    names: Vec<String>,
    steps: u64,
}

impl<B: Backend> Optimizer<B> {
    /// A fresh optimizer (validated settings).
    pub fn new(config: OptimizerConfig) -> Result<Self, NnError> {
        config.validate()?;
        Ok(Optimizer {
            config,
            state: Vec::new(),
            names: Vec::new(),
            steps: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Updates taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Applies one update with learning rate `lr` to every parameter of `model`, from the
    /// gradients stored in the parameters.
    pub fn step(&mut self, be: &B, model: &mut dyn ParamTree<B>, lr: f64) {
        self.step_where(be, model, lr, &|_| true)
    }

    /// [`Optimizer::step`] for the parameters whose index (in visiting order) `active` accepts;
    /// the others, and their state, stay as they are (a frozen ensemble member: a diverged
    /// network's NaN gradient must not touch anything, and the rest train on unchanged).
    pub fn step_where(
        &mut self,
        be: &B,
        model: &mut dyn ParamTree<B>,
        lr: f64,
        active: &dyn Fn(usize) -> bool,
    ) {
        let first = self.steps == 0;
        let slots = self.config.slot_names();
        if first {
            self.state.clear();
            self.names.clear();
            model.visit_params(&mut |p| {
                self.names.push(p.name.clone());
                self.state.push(
                    slots
                        .iter()
                        .map(|_| Tensor::zeros(be, p.value.dtype(), p.value.shape()))
                        .collect(),
                );
            });
        }
        self.steps += 1;
        let mut i = 0;
        let (config, state, steps) = (&self.config, &mut self.state, self.steps);
        model.visit_params_mut(&mut |p| {
            let st = &mut state[i];
            i += 1;
            if !active(i - 1) {
                return;
            }
            match *config {
                OptimizerConfig::Sgd {
                    momentum,
                    dampening,
                    weight_decay,
                    nesterov,
                } => {
                    let hyper = SgdHyper {
                        lr,
                        momentum,
                        dampening,
                        weight_decay,
                        nesterov,
                        first_step: first,
                    };
                    be.sgd_update(&mut p.value, &p.grad, st.first_mut(), &hyper);
                }
                OptimizerConfig::Adam {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                    decoupled,
                } => {
                    let hyper = AdamHyper {
                        lr,
                        beta1,
                        beta2,
                        eps,
                        weight_decay,
                        decoupled,
                        step: steps,
                    };
                    let (m, v) = st.split_at_mut(1);
                    be.adam_update(&mut p.value, &p.grad, &mut m[0], &mut v[0], &hyper);
                }
            }
        });
    }

    /// State tensors named `opt/<param>/<slot>`, in parameter order (empty before the first step).
    pub fn state_tensors(&self) -> Vec<(String, &Tensor<B>)> {
        let slots = self.config.slot_names();
        let mut out = Vec::new();
        for (name, st) in self.names.iter().zip(&self.state) {
            for (slot, t) in slots.iter().zip(st) {
                out.push((format!("opt/{name}/{slot}"), t));
            }
        }
        out
    }

    /// Restores state saved by [`Optimizer::state_tensors`] after `steps` updates: one list of
    /// slot tensors per parameter of `model`, in its order, each shaped like its parameter.
    pub fn restore(
        &mut self,
        model: &dyn ParamTree<B>,
        steps: u64,
        state: Vec<Vec<Tensor<B>>>,
    ) -> Result<(), NnError> {
        let want = self.config.slot_names().len();
        let mut names = Vec::new();
        let mut problem = None;
        let mut i = 0;
        model.visit_params(&mut |p| {
            names.push(p.name.clone());
            match state.get(i) {
                Some(slots) if slots.len() == want => {
                    for t in slots {
                        if t.shape() != p.value.shape() || t.dtype() != p.value.dtype() {
                            problem.get_or_insert(NnError::ShapeMismatch {
                                what: format!("optimizer state of `{}` ({})", p.name, t.dtype()),
                                expected: p.value.shape().to_vec(),
                                found: t.shape().to_vec(),
                            });
                        }
                    }
                }
                _ => {
                    problem.get_or_insert(NnError::setting(
                        format!("optimizer state of {}", p.name),
                        state.get(i).map_or(0, |s| s.len()),
                        format!("{want} slots"),
                    ));
                }
            }
            i += 1;
        });
        if state.len() != names.len() {
            problem.get_or_insert(NnError::setting(
                "optimizer state",
                format!("{} parameters", state.len()),
                format!("one entry per model parameter ({})", names.len()),
            ));
        }
        if let Some(e) = problem {
            return Err(e);
        }
        self.steps = steps;
        self.names = names;
        self.state = state;
        Ok(())
    }
}
