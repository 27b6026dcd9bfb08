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
use learnscope_data::{Dataset, Split};
use learnscope_nn::loss::{Loss, LossKind, Reduction};
use learnscope_nn::{Backend, NnError};
use learnscope_theory::{
    deep_half_time, flow_time, DeepLinearFlow, DeepModeCurve, LinearPrediction, Moments, Svd,
};
use learnscope_train::{Flow, Probe, ProbeNeeds, Recorder, StepCtx};

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
    reduction: Reduction,
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
    flow: Option<DeepLinearFlow>,
    /// RK4 steps of `flow_dt` taken from θ₀.
    flow_steps: u64,
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
        let spec = data.spec();
        let (n, d) = (spec.train_len, spec.input_size());
        let mut x = Vec::with_capacity(n * d);
        data.gather_inputs(Split::Train, &(0..n).collect::<Vec<_>>(), &mut x);
        let targets = data.host_targets(Split::Train);
        let k = targets.width();
        let y: Vec<f64> = (0..n).flat_map(|i| targets.row(i)).collect();
        let moments = Moments::from_data(&x, &y, n, d, k).map_err(|e| e.to_string())?;
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
        let svd = Svd::new(&sigma, k, d, 1e-10).map_err(|e| e.to_string())?;
        Ok(ModesProbe {
            name,
            schedule,
            lr: lr.clone(),
            reduction: loss.reduction,
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

    /// Flow time at `step`.
    fn time(&mut self, step: u64) -> f64 {
        if step < self.lr_step {
            self.lr_sum = 0.0;
            self.lr_step = 0;
        }
        while self.lr_step < step {
            self.lr_sum += self.lr.lr_at(self.lr_step);
            self.lr_step += 1;
        }
        let reduction = match self.reduction {
            Reduction::Mean => learnscope_theory::Reduction::Mean,
            Reduction::Sum => learnscope_theory::Reduction::Sum,
        };
        flow_time(self.lr_sum, reduction, self.moments.examples)
    }

    /// (W, c) of host weights and biases.
    fn effective(&self, weights: &[Vec<f64>], biases: &[Option<Vec<f64>>]) -> (Vec<f64>, Vec<f64>) {
        let n0 = self.moments.inputs;
        let mut w = learnscope_theory::linalg::identity(n0);
        let mut c = vec![0.0; n0];
        let mut rows = n0;
        for (wl, bl) in weights.iter().zip(biases) {
            let out = wl.len() / rows.max(1);
            w = learnscope_theory::linalg::matmul(wl, &w, out, rows, n0);
            c = learnscope_theory::linalg::matvec(wl, &c, out, rows);
            if let Some(b) = bl {
                c.iter_mut().zip(b).for_each(|(ci, bi)| *ci += bi);
            }
            rows = out;
        }
        (w, c)
    }

    fn strengths(&self, w: &[f64]) -> Vec<f64> {
        let (k, n) = (self.moments.outputs, self.moments.inputs);
        (0..self.svd.rank)
            .map(|a| {
                let u = self.svd.u_col(a);
                let v = self.svd.v_col(a);
                let wv = learnscope_theory::linalg::matvec(w, &v, k, n);
                learnscope_theory::linalg::dot(&u, &wv)
            })
            .collect()
    }

    fn host_params<B: Backend>(
        &self,
        ctx: &StepCtx<'_, B>,
        theta: &[learnscope_nn::Tensor<B>],
    ) -> (Vec<Vec<f64>>, Vec<Option<Vec<f64>>>) {
        let weights = self
            .chain
            .layers
            .iter()
            .map(|&(w, _)| theta[w].to_host_f64(ctx.be))
            .collect();
        let biases = self
            .chain
            .layers
            .iter()
            .map(|&(_, b)| b.map(|b| theta[b].to_host_f64(ctx.be)))
            .collect();
        (weights, biases)
    }

    fn start<B: Backend>(
        &mut self,
        ctx: &StepCtx<'_, B>,
        out: &mut dyn Recorder,
    ) -> Result<Running, NnError> {
        let mut sink = Discard;
        let out: &mut dyn Recorder = if self.announced { &mut sink } else { out };
        self.announced = true;
        let theory_err = |e: learnscope_theory::TheoryError| {
            NnError::setting("modes", e.to_string(), "valid theory inputs")
        };
        let (w0s, b0s) = self.host_params(ctx, ctx.theta_init);
        let (w0, c0) = self.effective(&w0s, &b0s);
        let u0 = self.strengths(&w0);
        let layers = self.chain.layers.len();
        let has_offset = b0s.iter().any(Option::is_some);
        let output_only = b0s[..layers - 1].iter().all(Option::is_none);
        let centred_inputs = self.moments.x_mean_norm() <= 1e-12;
        let white = self.moments.is_white_on(&self.svd.v, 1e-9);
        // Decoupled: W₀ equals its projection on the modes, with positive strengths.
        let projected =
            learnscope_theory::decoupled_prediction(&self.svd, &u0).map_err(theory_err)?;
        let w0_norm = learnscope_theory::linalg::norm(&w0);
        let residual = learnscope_theory::linalg::norm(
            &w0.iter()
                .zip(&projected)
                .map(|(a, b)| a - b)
                .collect::<Vec<_>>(),
        );
        let decoupled =
            residual <= 1e-8 * w0_norm.max(f64::MIN_POSITIVE) && u0.iter().all(|&u| u > 0.0);
        let closed_form = white && decoupled && (!has_offset || (output_only && centred_inputs));
        out.scalar(
            &self.name,
            "closed_form_applies",
            "train",
            f64::from(u8::from(closed_form)),
        );
        let lr0 = self.lr.lr_at(0);
        let per_lr = match self.reduction {
            Reduction::Mean => 1.0,
            Reduction::Sum => self.moments.examples as f64,
        };
        let mut curves = Vec::new();
        for (a, &s) in self.svd.s.iter().enumerate() {
            out.record(learnscope_train::Metric {
                probe: self.name.clone(),
                key: "singular_value".into(),
                split: "train".into(),
                layer: None,
                index: Some(a as i64),
                index2: None,
                value: s,
            });
            if closed_form {
                curves.push(DeepModeCurve::new(s, u0[a], layers).map_err(theory_err)?);
                let half = deep_half_time(s, u0[a], layers).map_err(theory_err)?;
                out.record(learnscope_train::Metric {
                    probe: self.name.clone(),
                    key: "half_step".into(),
                    split: "theory".into(),
                    layer: None,
                    index: Some(a as i64),
                    index2: None,
                    value: half / (lr0 * per_lr),
                });
            }
        }
        let d_ocs0 = LinearPrediction::evaluate(&self.moments, &w0, &c0)
            .map_err(theory_err)?
            .d_ocs;
        let flow = match self.flow_dt {
            Some(_) => {
                Some(DeepLinearFlow::new(self.moments.clone(), w0s, b0s).map_err(theory_err)?)
            }
            None => None,
        };
        Ok(Running {
            closed_form,
            curves,
            offset0: c0,
            has_offset,
            d_ocs0,
            flow,
            flow_steps: 0,
        })
    }
}

/// A recorder that drops everything (the once-per-run records of a resumed run).
struct Discard;

impl Recorder for Discard {
    fn record(&mut self, _metric: learnscope_train::Metric) {}
}

fn indexed(out: &mut dyn Recorder, probe: &str, key: &str, split: &str, i: usize, value: f64) {
    out.record(learnscope_train::Metric {
        probe: probe.into(),
        key: key.into(),
        split: split.into(),
        layer: None,
        index: Some(i as i64),
        index2: None,
        value,
    });
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
    fn needs(&self) -> ProbeNeeds {
        ProbeNeeds::default()
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let theory_err = |e: learnscope_theory::TheoryError| {
            NnError::setting("modes", e.to_string(), "valid theory inputs")
        };
        if self.state.is_none() {
            let running = self.start(ctx, out)?;
            self.state = Some(running);
        }
        let t = self.time(ctx.step);
        let (ws, bs) = self.host_params(ctx, ctx.theta);
        let (w, c) = self.effective(&ws, &bs);
        let u = self.strengths(&w);
        let measured = LinearPrediction::evaluate(&self.moments, &w, &c).map_err(theory_err)?;
        let y_mean = self.moments.y_mean.clone();
        let s_max = self
            .svd
            .s
            .first()
            .copied()
            .unwrap_or(1.0)
            .max(f64::MIN_POSITIVE);
        let name = self.name.clone();
        let name = name.as_str();
        let run = self.state.as_mut().expect("started above");
        for (a, &ua) in u.iter().enumerate() {
            indexed(out, name, "strength", "train", a, ua);
        }
        out.scalar(name, "d_ocs", "train", measured.d_ocs);
        out.scalar(name, "loss", "train", measured.loss);
        if run.has_offset {
            out.scalar(name, "offset_distance", "train", distance(&c, &y_mean));
        }
        if run.closed_form {
            let ut: Vec<f64> = run.curves.iter_mut().map(|cv| cv.at(t)).collect();
            let wt = learnscope_theory::decoupled_prediction(&self.svd, &ut).map_err(theory_err)?;
            let ct: Vec<f64> = if run.has_offset {
                learnscope_theory::bias::output_bias(&y_mean, &run.offset0, t)
                    .map_err(theory_err)?
            } else {
                vec![0.0; y_mean.len()]
            };
            let pred = LinearPrediction::evaluate(&self.moments, &wt, &ct).map_err(theory_err)?;
            for (a, &v) in ut.iter().enumerate() {
                indexed(out, name, "strength", "theory", a, v);
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
                out.scalar(name, "offset_distance", "theory", distance(&ct, &y_mean));
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
            if grid < run.flow_steps {
                // A resumed or restarted run: integrate again from θ₀.
                let (w0s, b0s) = {
                    let weights = self
                        .chain
                        .layers
                        .iter()
                        .map(|&(wi, _)| ctx.theta_init[wi].to_host_f64(ctx.be))
                        .collect();
                    let biases = self
                        .chain
                        .layers
                        .iter()
                        .map(|&(_, bi)| bi.map(|bi| ctx.theta_init[bi].to_host_f64(ctx.be)))
                        .collect();
                    (weights, biases)
                };
                *flow = DeepLinearFlow::new(self.moments.clone(), w0s, b0s).map_err(theory_err)?;
                run.flow_steps = 0;
            }
            while run.flow_steps < grid {
                flow.rk4_step(dt);
                run.flow_steps += 1;
            }
            let mut at_t = flow.clone();
            let rest = t - grid as f64 * dt;
            if rest > 0.0 {
                at_t.rk4_step(rest);
            }
            let flow = &at_t;
            let (wf, cf) = flow.effective();
            let uf = {
                let (k, n) = (self.moments.outputs, self.moments.inputs);
                (0..self.svd.rank)
                    .map(|a| {
                        let wv = learnscope_theory::linalg::matvec(&wf, &self.svd.v_col(a), k, n);
                        learnscope_theory::linalg::dot(&self.svd.u_col(a), &wv)
                    })
                    .collect::<Vec<_>>()
            };
            let pred = flow.prediction();
            for (a, &v) in uf.iter().enumerate() {
                indexed(out, name, "strength", "flow", a, v);
            }
            out.scalar(name, "d_ocs", "flow", pred.d_ocs);
            out.scalar(name, "loss", "flow", pred.loss);
            let mut err = max_abs_diff(&u, &uf);
            if run.has_offset {
                out.scalar(name, "offset_distance", "flow", distance(&cf, &y_mean));
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
