//! Mode strengths of a deep linear network against exact theory (Saxe et al. 2014, SCIENCE.md
//! §C.1; P1's dynamics with bias terms, §P1.4).
//!
//! The network f(x) = W x + c with W = W_L⋯W₁ and c the biases propagated through the layers
//! (c_l = W_l c_{l−1} + b_l). Its data-dependent part is compared with the singular modes
//! (s_α, u_α, v_α) of Σyx = E\[y xᵀ\] (`raw`) or of E\[(y − ȳ) xᵀ\] (`centred`, the default when the
//! network has an output bias). Recorded under split `train` (measured), `theory` (closed form)
//! and `flow` (gradient flow integrated numerically from the same θ₀):
//! - `strength` (index α): u_α = u_αᵀ W v_α;
//! - `offset_distance`: ‖c − ȳ‖ (networks with a bias);
//! - `d_ocs`, `loss`: E‖W x + c − ȳ‖² and ½E‖y − W x − c‖², from the data moments.
//!
//! Time is gradient-flow time t = Σ_{k<step} η_k (× P for the `sum` reduction; τ = 1).
//! The closed form applies when the inputs are white on the modes (Σxx v_α = v_α), only the
//! output layer has a bias and then the inputs are centred (x̄ = 0), and θ₀ is decoupled
//! (W₀ = Σ u₀_α u_α v_αᵀ): each mode follows the deep-linear mode dynamics
//! du/dt = L u^{2−2/L}(s − u) from its measured u₀ (the sigmoid of §C.1 for L = 2, the shallow
//! exponential for L = 1) and the output bias the exponential b(t) = ȳ + (b(0) − ȳ)e^{−t} of
//! §P1.4 (b). `closed_form_applies` (1/0) says whether it did. The `flow` prediction is exact
//! for any initialisation and bias placement (classical RK4 on the moment equations of §P1.4
//! (a), generalised to L layers, with step `dt`).
//! Errors (split `train`): `mode_error_rel` = max_α |u_α − u_α^theory| / s_max,
//! `offset_error_rel` = max_j |c_j − c_j^theory| / s_max, `d_ocs_error_rel` =
//! |d_OCS − d_OCS^theory| / d_OCS^theory(0), and `flow_error_rel` (strengths and offset against
//! the flow, / s_max). Recorded once: `singular_value` (index α) and `half_step` (index α: the
//! step at which the closed-form mode reaches s_α/2 under the first step's learning rate).

use learnscope_core::{LrSchedule, ProbeSchedule};
use learnscope_data::Dataset;
use learnscope_nn::loss::{Loss, LossKind, Reduction};
use learnscope_nn::{Backend, NnError, Tensor};
use learnscope_theory::linalg::{dot, matvec, norm};
use learnscope_theory::{
    decoupled_prediction, deep_half_time, effective_map, DeepLinearFlow, DeepModeCurve,
    LinearPrediction, Moments, Svd, TheoryError,
};
use learnscope_train::{Flow, Metric, Probe, Recorder, StepCtx};

/// Which Σyx the modes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeTarget {
    /// Centred when the network has an output bias, raw otherwise.
    #[default]
    Auto,
    /// E\[(y − ȳ) xᵀ\].
    Centred,
    /// E\[y xᵀ\].
    Raw,
}

/// The layers of a deep linear chain, by parameter position.
#[derive(Debug, Clone)]
struct Chain {
    /// (weight index, bias index) per layer, in order.
    layers: Vec<(usize, Option<usize>)>,
}

impl Chain {
    /// From parameter names `layers.<i>.weight` / `layers.<i>.bias` (a deep linear network).
    fn from_names(names: &[String]) -> Result<Chain, String> {
        let mut layers: Vec<(usize, Option<usize>)> = Vec::new();
        for (p, name) in names.iter().enumerate() {
            let parts: Vec<&str> = name.split('.').collect();
            let ok = parts.len() == 3 && parts[0] == "layers" && parts[1].parse::<usize>().is_ok();
            if !ok {
                return Err(format!(
                    "the `modes` probe needs a deep linear network (parameters `layers.<i>.weight|bias`); found `{name}`"
                ));
            }
            let i: usize = parts[1].parse().unwrap_or(0);
            match parts[2] {
                "weight" if i == layers.len() => layers.push((p, None)),
                "bias" if i + 1 == layers.len() => layers[i].1 = Some(p),
                _ => {
                    return Err(format!(
                        "unexpected parameter `{name}` in a deep linear network"
                    ))
                }
            }
        }
        if layers.is_empty() {
            return Err("the `modes` probe found no weights".into());
        }
        Ok(Chain { layers })
    }
}

/// Mode strengths, offset and d_OCS against closed-form and integrated theory.
pub struct ModesProbe {
    name: String,
    schedule: ProbeSchedule,
    lr: LrSchedule,
    /// Flow time per unit of learning rate (1, or P for the `sum` reduction).
    time_per_lr: f64,
    chain: Chain,
    moments: Moments,
    svd: Svd,
    flow_dt: Option<f64>,
    /// Built at the first observation (needs θ₀'s shapes).
    state: Option<Running>,
    /// Whether the once-per-run records (singular values, half steps, `closed_form_applies`)
    /// were written (kept in checkpoints, so a resumed run does not repeat them).
    announced: bool,
    /// Σ_{k<step} η_k at `lr_step` (a running sum, so each due step costs only the new steps).
    lr_sum: f64,
    lr_step: u64,
}

struct Running {
    closed_form: bool,
    curves: Vec<DeepModeCurve>,
    offset0: Vec<f64>,
    has_offset: bool,
    d_ocs0: f64,
    /// The gradient flow from θ₀ at `flow_steps · flow_dt`.
    flow: Option<DeepLinearFlow>,
    flow_steps: u64,
}

/// Host copies of a chain's weights and biases.
type HostLayers = (Vec<Vec<f64>>, Vec<Option<Vec<f64>>>);

fn theory_err(e: TheoryError) -> NnError {
    NnError::setting("modes", e.to_string(), "valid theory inputs")
}

impl ModesProbe {
    /// A probe for a deep linear network with parameters `param_names` on `data`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        schedule: ProbeSchedule,
        param_names: &[String],
        data: &dyn Dataset,
        loss: &Loss,
        lr: &LrSchedule,
        target: ModeTarget,
        flow_dt: Option<f64>,
    ) -> Result<Self, String> {
        if loss.kind != LossKind::Mse {
            return Err(format!(
                "the `modes` probe compares with squared-loss theory; the loss is `{}`",
                loss.kind.name()
            ));
        }
        if let Some(dt) = flow_dt {
            if !(dt > 0.0 && dt.is_finite()) {
                return Err(format!("flow_dt must be finite and > 0, got {dt}"));
            }
        }
        let chain = Chain::from_names(param_names)?;
        let moments = learnscope_train::plan::train_moments(data).map_err(|e| e.to_string())?;
        let output_bias = chain.layers.last().is_some_and(|l| l.1.is_some());
        let centred = match target {
            ModeTarget::Auto => output_bias,
            ModeTarget::Centred => true,
            ModeTarget::Raw => false,
        };
        let sigma = if centred {
            moments.centred_sigma_yx()
        } else {
            moments.sigma_yx.clone()
        };
        let svd =
            Svd::new(&sigma, moments.outputs, moments.inputs, 1e-10).map_err(|e| e.to_string())?;
        let reduction = match loss.reduction {
            Reduction::Mean => learnscope_theory::Reduction::Mean,
            Reduction::Sum => learnscope_theory::Reduction::Sum,
        };
        Ok(ModesProbe {
            name,
            schedule,
            lr: lr.clone(),
            time_per_lr: reduction.time_per_lr(moments.examples),
            chain,
            moments,
            svd,
            flow_dt,
            state: None,
            announced: false,
            lr_sum: 0.0,
            lr_step: 0,
        })
    }

    /// Flow time at `step` (steps only increase within a run).
    fn time(&mut self, step: u64) -> f64 {
        while self.lr_step < step {
            self.lr_sum += self.lr.lr_at(self.lr_step);
            self.lr_step += 1;
        }
        self.lr_sum * self.time_per_lr
    }

    /// (W, c) of host weights and biases.
    fn effective(&self, (weights, biases): &HostLayers) -> (Vec<f64>, Vec<f64>) {
        let layers: Vec<(&[f64], Option<&[f64]>)> = weights
            .iter()
            .zip(biases)
            .map(|(w, b)| (w.as_slice(), b.as_deref()))
            .collect();
        effective_map(self.moments.inputs, &layers)
    }

    fn host_layers<B: Backend>(&self, be: &B, theta: &[Tensor<B>]) -> HostLayers {
        let weights = self
            .chain
            .layers
            .iter()
            .map(|&(w, _)| theta[w].to_host_f64(be))
            .collect();
        let biases = self
            .chain
            .layers
            .iter()
            .map(|&(_, b)| b.map(|b| theta[b].to_host_f64(be)))
            .collect();
        (weights, biases)
    }

    /// The theory from θ₀, and the once-per-run records.
    fn start<B: Backend>(&self, ctx: &StepCtx<'_, B>) -> Result<(Running, Vec<Metric>), NnError> {
        let layers0 = self.host_layers(ctx.be, ctx.theta_init);
        let (w0, c0) = self.effective(&layers0);
        let u0 = strengths(&self.svd, &w0);
        let depth = self.chain.layers.len();
        let biases = &layers0.1;
        let has_offset = biases.iter().any(Option::is_some);
        let output_only = biases[..depth - 1].iter().all(Option::is_none);
        let centred_inputs = self.moments.x_mean_norm() <= 1e-12;
        let white = self.moments.is_white_on(&self.svd.v, 1e-9);
        // Decoupled: W₀ equals its projection on the modes, with positive strengths.
        let projected = decoupled_prediction(&self.svd, &u0).map_err(theory_err)?;
        let residual = norm(
            &w0.iter()
                .zip(&projected)
                .map(|(a, b)| a - b)
                .collect::<Vec<_>>(),
        );
        let decoupled =
            residual <= 1e-8 * norm(&w0).max(f64::MIN_POSITIVE) && u0.iter().all(|&u| u > 0.0);
        let closed_form = white && decoupled && (!has_offset || (output_only && centred_inputs));
        let mut once = vec![metric(
            &self.name,
            "closed_form_applies",
            "train",
            None,
            f64::from(u8::from(closed_form)),
        )];
        let steps_per_time = 1.0 / (self.lr.lr_at(0) * self.time_per_lr);
        let mut curves = Vec::new();
        for (a, &s) in self.svd.s.iter().enumerate() {
            once.push(metric(&self.name, "singular_value", "train", Some(a), s));
            if closed_form {
                curves.push(DeepModeCurve::new(s, u0[a], depth).map_err(theory_err)?);
                let half = deep_half_time(s, u0[a], depth).map_err(theory_err)?;
                once.push(metric(
                    &self.name,
                    "half_step",
                    "theory",
                    Some(a),
                    half * steps_per_time,
                ));
            }
        }
        let d_ocs0 = LinearPrediction::evaluate(&self.moments, &w0, &c0)
            .map_err(theory_err)?
            .d_ocs;
        let flow = match self.flow_dt {
            Some(_) => Some(
                DeepLinearFlow::new(self.moments.clone(), layers0.0, layers0.1)
                    .map_err(theory_err)?,
            ),
            None => None,
        };
        let running = Running {
            closed_form,
            curves,
            offset0: c0,
            has_offset,
            d_ocs0,
            flow,
            flow_steps: 0,
        };
        Ok((running, once))
    }
}

/// u_α = u_αᵀ W v_α for every mode of `svd` (W row-major outputs × inputs).
fn strengths(svd: &Svd, w: &[f64]) -> Vec<f64> {
    (0..svd.rank)
        .map(|a| dot(&svd.u_col(a), &matvec(w, &svd.v_col(a), svd.rows, svd.cols)))
        .collect()
}

fn metric(probe: &str, key: &str, split: &str, index: Option<usize>, value: f64) -> Metric {
    Metric {
        probe: probe.into(),
        key: key.into(),
        split: split.into(),
        layer: None,
        index: index.map(|i| i as i64),
        index2: None,
        value,
    }
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

impl<B: Backend> Probe<B> for ModesProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        if self.state.is_none() {
            let (running, once) = self.start(ctx)?;
            if !self.announced {
                once.into_iter().for_each(|m| out.record(m));
                self.announced = true;
            }
            self.state = Some(running);
        }
        let t = self.time(ctx.step);
        let (w, c) = self.effective(&self.host_layers(ctx.be, ctx.theta));
        let u = strengths(&self.svd, &w);
        let measured = LinearPrediction::evaluate(&self.moments, &w, &c).map_err(theory_err)?;
        let s_max = self
            .svd
            .s
            .first()
            .copied()
            .unwrap_or(1.0)
            .max(f64::MIN_POSITIVE);
        let run = self.state.as_mut().expect("started above");
        let name = self.name.as_str();
        let y_mean = &self.moments.y_mean;
        for (a, &ua) in u.iter().enumerate() {
            out.record(metric(name, "strength", "train", Some(a), ua));
        }
        out.scalar(name, "d_ocs", "train", measured.d_ocs);
        out.scalar(name, "loss", "train", measured.loss);
        if run.has_offset {
            out.scalar(name, "offset_distance", "train", distance(&c, y_mean));
        }
        if run.closed_form {
            let ut: Vec<f64> = run.curves.iter_mut().map(|cv| cv.at(t)).collect();
            let wt = decoupled_prediction(&self.svd, &ut).map_err(theory_err)?;
            let ct: Vec<f64> = if run.has_offset {
                learnscope_theory::bias::output_bias(y_mean, &run.offset0, t).map_err(theory_err)?
            } else {
                vec![0.0; y_mean.len()]
            };
            let pred = LinearPrediction::evaluate(&self.moments, &wt, &ct).map_err(theory_err)?;
            for (a, &v) in ut.iter().enumerate() {
                out.record(metric(name, "strength", "theory", Some(a), v));
            }
            out.scalar(name, "d_ocs", "theory", pred.d_ocs);
            out.scalar(name, "loss", "theory", pred.loss);
            out.scalar(
                name,
                "mode_error_rel",
                "train",
                max_abs_diff(&u, &ut) / s_max,
            );
            out.scalar(
                name,
                "d_ocs_error_rel",
                "train",
                (measured.d_ocs - pred.d_ocs).abs() / run.d_ocs0.max(f64::MIN_POSITIVE),
            );
            if run.has_offset {
                out.scalar(name, "offset_distance", "theory", distance(&ct, y_mean));
                out.scalar(
                    name,
                    "offset_error_rel",
                    "train",
                    max_abs_diff(&c, &ct) / s_max,
                );
            }
        }
        if let (Some(flow), Some(dt)) = (run.flow.as_mut(), self.flow_dt) {
            // The flow advances on the fixed grid k·dt from θ₀ and is evaluated at t by one
            // partial step from a copy, so its values do not depend on which steps were
            // observed before (a resumed run reproduces them bit for bit).
            let grid = (t / dt).floor() as u64;
            while run.flow_steps < grid {
                flow.rk4_step(dt);
                run.flow_steps += 1;
            }
            let mut at_t = flow.clone();
            let rest = t - grid as f64 * dt;
            if rest > 0.0 {
                at_t.rk4_step(rest);
            }
            let (wf, cf) = at_t.effective();
            let pred = at_t.prediction();
            let uf = strengths(&self.svd, &wf);
            for (a, &v) in uf.iter().enumerate() {
                out.record(metric(name, "strength", "flow", Some(a), v));
            }
            out.scalar(name, "d_ocs", "flow", pred.d_ocs);
            out.scalar(name, "loss", "flow", pred.loss);
            let mut err = max_abs_diff(&u, &uf);
            if run.has_offset {
                out.scalar(name, "offset_distance", "flow", distance(&cf, y_mean));
                err = err.max(max_abs_diff(&c, &cf));
            }
            out.scalar(name, "flow_error_rel", "train", err / s_max);
        }
        Ok(Flow::Continue)
    }
    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "announced": self.announced })
    }
    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        if !state.is_null() {
            self.announced = state
                .get("announced")
                .and_then(|v| v.as_bool())
                .ok_or("modes state: `announced` missing")?;
        }
        Ok(())
    }
}
