//! The principal-components bias of linear networks (P2, Hacohen & Weinshall 2022; SCIENCE.md
//! §P2.2, §P2.5 items 1–2).
//!
//! Needs the squared loss. At construction the probe takes the training inputs `X` (n×q) and the
//! targets as the loss reads them (one-hot for classes), the principal coordinates of the
//! *uncentred* `Σ_XX = X Xᵀ = U D Uᵀ`, `M = Σ_YX U` and `W_opt = Y Xᵀ (X Xᵀ)^+` (directions with
//! `d_j < rcond · d₁` dropped; `rcond` default 1e-8).
//!
//! **Compact map**, for any model: `W = f(I_q) − f(0)` from the network at θ_t on the `q`
//! standard-basis inputs and the zero input (a deep linear net, a bias-free linear CNN). At the
//! first observation `affine_error` = max over ≤ 16 training examples of
//! `|f(x) − (W x + f(0))| / max(1, |f(x)|)` (rounding for a linear net; large for a non-linear
//! one, whose compact-map quantities are still recorded but get no theory).
//!
//! Recorded at every observation (split `train`), in principal coordinates `W̃ = W U`:
//! - `pc_distance` (index j, for the kept directions): `‖w̃_j − w̃_opt,j‖`;
//! - `pc_weight` (index j, index2 r): `W̃_{r,j}` — its across-seed sd is §P2.5's `std_{r,j}`;
//!   only when `K·q ≤ 4096` (larger maps would write too many rows; then skipped);
//! - `distance_to_opt_rel`: `‖W̃ − W̃_opt‖_F / ‖W̃_opt − W̃₀‖_F`;
//! - for a deep linear chain (`layers.<i>.weight`) of `L ≥ 2` layers, per layer l (layer `"1"`,
//!   `"2"`, …) the gradient-scale summaries of Theorem 1 from the host weights:
//!   `A/diag_mean_proxy`, `A/mean_abs_diag_dev`, `A/mean_abs_offdiag` and the same for `B/`
//!   (`B_l` is q×q: skipped when `q > 1024`).
//!
//! **Eq. (4) overlay** (split `theory`), when the learning rate is constant, the model is a
//! bias-free `layers.<i>.weight` chain (depth L = its number of weight matrices; for other
//! models L is unknown), the map is affine (`affine_error ≤ 1e-6`), the first observation is at
//! step 0 (w⁰ = the compact map there) and `μ L d₁ < 2`: `pc_distance` (index j) of
//! `w_j^s = λ_j^s w_j^0 + (1 − λ_j^s) m_j/d_j`, `λ_j = 1 − μ L d_j`, with `μ` the step on the summed
//! loss (`lr / n` for the `mean` reduction); and (split `train`) `eq4_error_rel` =
//! `max_j ‖w̃_j − eq4_j‖ / ‖W̃_opt − W̃₀‖_F`, `eq4_error_frobenius_rel` =
//! `‖W̃ − eq4‖_F / ‖W̃_opt − W̃₀‖_F`.
//!
//! Recorded once (split `train`): `closed_form_applies` (1/0), `affine_error`, `excluded_columns`
//! (directions below `rcond`), `d` (index j, all q), `d_spread` = (d₁ − d_q)/d₁ (0 for white
//! inputs), and with a known μ and L `lambda` (index j).
//! The checkpointed state keeps W̃₀ (f64 bits), so a resumed run continues the overlay exactly.

use learnscope_core::{LrSchedule, LrShape, ProbeSchedule};
use learnscope_data::Split;
use learnscope_nn::loss::{LossKind, Reduction};
use learnscope_nn::{Backend, NnError};
use learnscope_theory::linalg::{matmul, transpose};
use learnscope_theory::pc_bias::{sum_step, w_opt, Eq4, GradientScales, OptimalMap, ScaleSummary};
use learnscope_theory::TheoryError;
use learnscope_train::plan::ProbeContext;
use learnscope_train::{Flow, Metric, Probe, Recorder, StepCtx};

/// The default `rcond` (1e-8).
pub fn default_rcond() -> f64 {
    1e-8
}

/// `pc_weight` is recorded when `K·q` is at most this.
pub const MAX_PC_WEIGHTS: usize = 4096;
/// `B_l` (q×q) is summarised when `q` is at most this.
pub const MAX_B_INPUTS: usize = 1024;
/// How many training examples the affine check uses.
pub const AFFINE_EXAMPLES: usize = 16;
/// Largest `affine_error` for which the map counts as linear (f32 rounding included).
pub const AFFINE_TOL: f64 = 1e-6;

/// Compact map, distances to `W_opt` per principal component, the eq. (4) overlay and the
/// gradient-scale diagnostics (see the module documentation).
pub struct PcBiasProbe {
    name: String,
    schedule: ProbeSchedule,
    rcond: f64,
    opt: OptimalMap,
    /// μ on the summed loss per step, when the schedule is constant.
    mu: Option<f64>,
    /// Weight parameter indices of a `layers.<i>.weight` chain.
    chain: Option<Vec<usize>>,
    /// Whether the chain has biases.
    chain_bias: bool,
    /// ≤ 16 training inputs (row-major) for the affine check.
    sample: Vec<f64>,
    start: Option<Start>,
}

#[derive(Clone)]
struct Start {
    /// W̃₀ (K×q).
    w0: Vec<f64>,
    affine_error: f64,
    applies: bool,
    /// Built from `w0` when `applies`.
    eq4: Option<Eq4>,
    /// ‖W̃_opt − W̃₀‖_F.
    scale: f64,
}

fn theory_err(e: TheoryError) -> NnError {
    NnError::setting("pc_bias", e.to_string(), "valid theory inputs")
}

/// Weight indices of a `layers.<i>.weight|bias` chain and whether it has a bias; `None` for any
/// other parameter naming.
fn chain_of(names: &[String]) -> Option<(Vec<usize>, bool)> {
    let mut weights = Vec::new();
    let mut bias = false;
    for (p, name) in names.iter().enumerate() {
        let parts: Vec<&str> = name.split('.').collect();
        if parts.len() != 3 || parts[0] != "layers" {
            return None;
        }
        let i: usize = parts[1].parse().ok()?;
        match parts[2] {
            "weight" if i == weights.len() => weights.push(p),
            "bias" if i + 1 == weights.len() => bias = true,
            _ => return None,
        }
    }
    (!weights.is_empty()).then_some((weights, bias))
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

/// `‖a_j − b_j‖` for the first `cols` columns of row-major K×q matrices.
fn column_distances(a: &[f64], b: &[f64], k: usize, q: usize, cols: usize) -> Vec<f64> {
    (0..cols)
        .map(|j| {
            (0..k)
                .map(|r| (a[r * q + j] - b[r * q + j]).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect()
}

fn frobenius_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

impl PcBiasProbe {
    /// The probe for the run `ctx` describes; `rcond` is the pseudo-inverse cut-off.
    pub fn new(
        name: String,
        schedule: ProbeSchedule,
        rcond: f64,
        ctx: &ProbeContext<'_>,
    ) -> Result<Self, String> {
        if ctx.loss.kind != LossKind::Mse {
            return Err(format!(
                "the `pc_bias` probe compares with squared-loss theory; the loss is `{}`",
                ctx.loss.kind.name()
            ));
        }
        if !(rcond.is_finite() && (0.0..1.0).contains(&rcond)) {
            return Err(format!("rcond must be finite, >= 0 and < 1, got {rcond}"));
        }
        let data = ctx.data;
        let n = data.spec().train_len;
        let q = data.spec().input_size();
        let mut x = Vec::with_capacity(n * q);
        data.gather_inputs(Split::Train, &(0..n).collect::<Vec<_>>(), &mut x);
        let targets = data.host_targets(Split::Train);
        let k = targets.width();
        let y: Vec<f64> = (0..n).flat_map(|i| targets.row(i)).collect();
        let opt = w_opt(&x, &y, n, q, k, rcond).map_err(|e| e.to_string())?;
        let reduction = match ctx.loss.reduction {
            Reduction::Mean => learnscope_theory::Reduction::Mean,
            Reduction::Sum => learnscope_theory::Reduction::Sum,
        };
        let mu = constant_lr(ctx.lr).map(|lr| sum_step(lr, reduction, n));
        let (chain, chain_bias) = match chain_of(ctx.param_names) {
            Some((w, b)) => (Some(w), b),
            None => (None, false),
        };
        let sample = x[..n.min(AFFINE_EXAMPLES) * q].to_vec();
        Ok(PcBiasProbe {
            name,
            schedule,
            rcond,
            opt,
            mu,
            chain,
            chain_bias,
            sample,
            start: None,
        })
    }

    fn q(&self) -> usize {
        self.opt.inputs
    }

    fn k(&self) -> usize {
        self.opt.outputs
    }

    /// Depth L for eq. (4): the weights of a bias-free chain.
    fn depth(&self) -> Option<usize> {
        match (&self.chain, self.chain_bias) {
            (Some(w), false) => Some(w.len()),
            _ => None,
        }
    }

    /// `(W, f(0))` at θ_t: `W = f(I_q) − f(0)` (row-major K×q).
    fn compact<B: Backend>(&self, ctx: &StepCtx<'_, B>) -> Result<(Vec<f64>, Vec<f64>), NnError> {
        let (q, k) = (self.q(), self.k());
        let mut x = vec![0.0; (q + 1) * q];
        for j in 0..q {
            x[j * q + j] = 1.0;
        }
        let f = ctx.logits_at_theta(&x, 512)?;
        if f.len() != (q + 1) * k {
            return Err(NnError::setting(
                "pc_bias",
                format!("{} outputs per example", f.len() / (q + 1)),
                format!("{k} (the targets per example)"),
            ));
        }
        let f0 = f[q * k..].to_vec();
        let mut w = vec![0.0; k * q];
        for j in 0..q {
            for r in 0..k {
                w[r * q + j] = f[j * k + r] - f0[r];
            }
        }
        Ok((w, f0))
    }

    /// max over the sample of `|f(x) − (W x + f(0))| / max(1, |f(x)|)`.
    fn affine_error<B: Backend>(
        &self,
        ctx: &StepCtx<'_, B>,
        w: &[f64],
        f0: &[f64],
    ) -> Result<f64, NnError> {
        let (q, k) = (self.q(), self.k());
        let f = ctx.logits_at_theta(&self.sample, 512)?;
        let mut worst = 0.0f64;
        for (xi, fi) in self.sample.chunks(q).zip(f.chunks(k)) {
            let lin = matmul(w, xi, k, q, 1);
            let diff = lin
                .iter()
                .zip(f0)
                .zip(fi)
                .map(|((l, c), v)| (l + c - v).powi(2))
                .sum::<f64>()
                .sqrt();
            let size = fi.iter().map(|v| v * v).sum::<f64>().sqrt().max(1.0);
            worst = worst.max(if diff.is_finite() {
                diff / size
            } else {
                f64::INFINITY
            });
        }
        Ok(worst)
    }

    fn eq4_from(&self, w0: &[f64]) -> Result<Option<Eq4>, NnError> {
        match (self.mu, self.depth()) {
            (Some(mu), Some(depth)) => {
                Eq4::new(&self.opt.pc, &self.opt.m, w0, mu, depth, self.rcond)
                    .map(Some)
                    .map_err(theory_err)
            }
            _ => Ok(None),
        }
    }

    /// The first observation: W̃₀, the affine check, the once-per-run records.
    fn begin<B: Backend>(
        &self,
        ctx: &StepCtx<'_, B>,
        w: &[f64],
        f0: &[f64],
        out: &mut dyn Recorder,
    ) -> Result<Start, NnError> {
        let name = self.name.as_str();
        let w0 = self.opt.pc.rotate(w).map_err(theory_err)?;
        let affine_error = self.affine_error(ctx, w, f0)?;
        let eq4 = self.eq4_from(&w0)?;
        let applies =
            ctx.step == 0 && affine_error <= AFFINE_TOL && eq4.as_ref().is_some_and(Eq4::stable);
        let scale = frobenius_distance(&self.opt.w_rotated, &w0);
        out.record(metric(
            name,
            "closed_form_applies",
            "train",
            None,
            f64::from(u8::from(applies)),
        ));
        out.record(metric(name, "affine_error", "train", None, affine_error));
        out.record(metric(
            name,
            "excluded_columns",
            "train",
            None,
            (self.q() - self.opt.kept) as f64,
        ));
        let d = self.opt.pc.d();
        for (j, &dj) in d.iter().enumerate() {
            out.record(metric(name, "d", "train", Some(j), dj));
        }
        // (d₁ − d_q)/d₁: 0 when the inputs are white (every direction learned at one rate).
        let spread = match (d.first(), d.last()) {
            (Some(&first), Some(&last)) if first > 0.0 => (first - last) / first,
            _ => f64::NAN,
        };
        out.record(metric(name, "d_spread", "train", None, spread));
        if let Some(e) = &eq4 {
            for (j, &l) in e.lambda().iter().enumerate() {
                out.record(metric(name, "lambda", "train", Some(j), l));
            }
        }
        Ok(Start {
            w0,
            affine_error,
            applies,
            eq4: if applies { eq4 } else { None },
            scale,
        })
    }

    /// Per-layer summaries of `A_l` and (for `q ≤ 1024`) `B_l`.
    fn gradient_scales<B: Backend>(
        &self,
        ctx: &StepCtx<'_, B>,
        out: &mut dyn Recorder,
    ) -> Result<(), NnError> {
        let Some(chain) = &self.chain else {
            return Ok(());
        };
        if chain.len() < 2 {
            return Ok(());
        }
        let weights: Vec<Vec<f64>> = chain
            .iter()
            .map(|&p| ctx.theta[p].to_host_f64(ctx.be))
            .collect();
        let mut widths = vec![ctx.theta[chain[0]].shape()[1]];
        widths.extend(chain.iter().map(|&p| ctx.theta[p].shape()[0]));
        let depth = chain.len();
        let (a, b): (Vec<ScaleSummary>, Option<Vec<ScaleSummary>>) = if widths[0] <= MAX_B_INPUTS {
            let refs: Vec<&[f64]> = weights.iter().map(Vec::as_slice).collect();
            let gs = GradientScales::new(&refs, &widths).map_err(theory_err)?;
            let a = (1..=depth)
                .map(|l| gs.a_summary(l))
                .collect::<Result<_, _>>()
                .map_err(theory_err)?;
            let b = (1..=depth)
                .map(|l| gs.b_summary(l))
                .collect::<Result<_, _>>()
                .map_err(theory_err)?;
            (a, Some(b))
        } else {
            // A only: suffix products W_L⋯W_{l+1} (K × m_l).
            let k = widths[depth];
            let mut suffix = vec![Vec::new(); depth + 1];
            suffix[depth] = learnscope_theory::linalg::identity(k);
            for l in (0..depth).rev() {
                suffix[l] = matmul(&suffix[l + 1], &weights[l], k, widths[l + 1], widths[l]);
            }
            let a = (1..=depth)
                .map(|l| {
                    let s = &suffix[l];
                    let al = matmul(s, &transpose(s, k, widths[l]), k, widths[l], k);
                    ScaleSummary::of(&al, k)
                })
                .collect::<Result<_, _>>()
                .map_err(theory_err)?;
            (a, None)
        };
        let name = self.name.as_str();
        let mut put = |which: &str, l: usize, s: &ScaleSummary| {
            let layer = l.to_string();
            for (key, v) in [
                ("diag_mean_proxy", s.diag_mean_proxy),
                ("mean_abs_diag_dev", s.mean_abs_diag_dev),
                ("mean_abs_offdiag", s.mean_abs_offdiag),
            ] {
                out.layer(name, &format!("{which}/{key}"), "train", &layer, v);
            }
        };
        for (l, s) in a.iter().enumerate() {
            put("A", l + 1, s);
        }
        for (l, s) in b.iter().flatten().enumerate() {
            put("B", l + 1, s);
        }
        Ok(())
    }
}

/// The rate of a constant schedule (no warmup, constant shape).
fn constant_lr(lr: &LrSchedule) -> Option<f64> {
    (lr.warmup_steps == 0 && matches!(lr.shape, LrShape::Constant)).then_some(lr.base)
}

impl<B: Backend> Probe<B> for PcBiasProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let (w, f0) = self.compact(ctx)?;
        if self.start.is_none() {
            self.start = Some(self.begin(ctx, &w, &f0, out)?);
        }
        let start = self.start.as_ref().expect("set above");
        let (q, k, kept) = (self.q(), self.k(), self.opt.kept);
        let name = self.name.as_str();
        let wr = self.opt.pc.rotate(&w).map_err(theory_err)?;
        let opt = &self.opt.w_rotated;
        for (j, dist) in column_distances(&wr, opt, k, q, kept)
            .into_iter()
            .enumerate()
        {
            out.record(metric(name, "pc_distance", "train", Some(j), dist));
        }
        if k * q <= MAX_PC_WEIGHTS {
            for r in 0..k {
                for j in 0..q {
                    out.record(Metric {
                        index2: Some(r as i64),
                        ..metric(name, "pc_weight", "train", Some(j), wr[r * q + j])
                    });
                }
            }
        }
        let scale = start.scale.max(f64::MIN_POSITIVE);
        out.scalar(
            name,
            "distance_to_opt_rel",
            "train",
            frobenius_distance(&wr, opt) / scale,
        );
        if let Some(eq4) = &start.eq4 {
            let step = u32::try_from(ctx.step).unwrap_or(u32::MAX);
            let pred = eq4.at(step);
            for (j, dist) in column_distances(&pred, opt, k, q, kept)
                .into_iter()
                .enumerate()
            {
                out.record(metric(name, "pc_distance", "theory", Some(j), dist));
            }
            let worst = column_distances(&wr, &pred, k, q, q)
                .into_iter()
                .fold(0.0, f64::max);
            out.scalar(name, "eq4_error_rel", "train", worst / scale);
            out.scalar(
                name,
                "eq4_error_frobenius_rel",
                "train",
                frobenius_distance(&wr, &pred) / scale,
            );
        }
        self.gradient_scales(ctx, out)?;
        Ok(Flow::Continue)
    }
    fn state(&self) -> serde_json::Value {
        match &self.start {
            None => serde_json::Value::Null,
            Some(s) => serde_json::json!({
                "w0": s.w0.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "affine_error": s.affine_error.to_bits(),
                "applies": s.applies,
            }),
        }
    }
    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            return Ok(());
        }
        let bad = |what: &str| format!("pc_bias state: bad `{what}`");
        let w0: Vec<f64> =
            serde_json::from_value::<Vec<u64>>(state.get("w0").cloned().ok_or(bad("w0"))?)
                .map_err(|_| bad("w0"))?
                .into_iter()
                .map(f64::from_bits)
                .collect();
        if w0.len() != self.k() * self.q() {
            return Err(bad("w0"));
        }
        let affine_error = f64::from_bits(
            state
                .get("affine_error")
                .and_then(|v| v.as_u64())
                .ok_or(bad("affine_error"))?,
        );
        let applies = state
            .get("applies")
            .and_then(|v| v.as_bool())
            .ok_or(bad("applies"))?;
        let eq4 = if applies {
            self.eq4_from(&w0).map_err(|e| e.to_string())?
        } else {
            None
        };
        let scale = frobenius_distance(&self.opt.w_rotated, &w0);
        self.start = Some(Start {
            w0,
            affine_error,
            applies,
            eq4,
            scale,
        });
        Ok(())
    }
}
