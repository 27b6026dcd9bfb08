//! Per-example gradient norms and the gradient noise scale (McCandlish et al. 2018).
//!
//! For a dense layer z = m_w·W a + m_b·b, the gradient of example i's loss ℓᵢ is
//! ∇_W ℓᵢ = m_w δᵢ aᵢᵀ and ∇_b ℓᵢ = m_b δᵢ, with δᵢ = ∂ℓᵢ/∂zᵢ, so
//! ‖∇_W ℓᵢ‖² = m_w² ‖δᵢ‖² ‖aᵢ‖² — no per-example backward pass is needed, only the layer's input
//! activations and pre-activation gradients of the training batch (taps). The batch gradient's
//! δ carries the reduction's 1/B, so δᵢ = B·(tapped row) under mean reduction.
//!
//! Recorded: `example_grad_norm` per example (index = example index in the training split,
//! all parameters), its batch mean `mean_example_grad_sq` (E‖gᵢ‖²), and
//! `b_simple` = tr Σ / ‖G‖² with G = (1/B) Σ gᵢ and tr Σ = (Σ‖gᵢ‖² − B‖G‖²)/(B − 1).
//!
//! Scope: models whose parameters are dense layers `layers.<i>.weight|bias` in one chain (the
//! deep linear networks and MLPs); a model with other parameters is reported as unsupported.

use learnscope_core::ProbeSchedule;
use learnscope_nn::loss::Reduction;
use learnscope_nn::{Backend, NnError};
use learnscope_train::{Flow, Metric, Probe, ProbeNeeds, Recorder, StepCtx};

/// Per-example gradient norms and B_simple.
pub struct PerExampleProbe {
    /// Name.
    pub name: String,
    /// When.
    pub schedule: ProbeSchedule,
    /// Number of dense layers `layers.<i>` of the model.
    pub layers: usize,
}

impl PerExampleProbe {
    /// A probe for a model with parameters `param_names`; fails unless they are a chain of
    /// dense layers `layers.<i>.weight` (with optional `layers.<i>.bias`).
    pub fn new(
        name: String,
        schedule: ProbeSchedule,
        param_names: &[String],
    ) -> Result<Self, String> {
        let layers = param_names
            .iter()
            .filter(|n| n.ends_with(".weight"))
            .count();
        for n in param_names {
            let ok = (0..layers)
                .any(|i| *n == format!("layers.{i}.weight") || *n == format!("layers.{i}.bias"));
            if !ok {
                return Err(format!(
                    "per_example supports chains of dense layers; `{n}` is not one"
                ));
            }
        }
        Ok(PerExampleProbe {
            name,
            schedule,
            layers,
        })
    }
}

impl<B: Backend> Probe<B> for PerExampleProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn needs(&self) -> ProbeNeeds {
        let mut taps = vec!["input".to_string()];
        taps.extend((0..self.layers.saturating_sub(1)).map(|i| format!("layers.{i}.out")));
        ProbeNeeds {
            taps,
            grad_taps: (0..self.layers)
                .map(|i| format!("layers.{i}.pre"))
                .collect(),
            ..ProbeNeeds::default()
        }
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let be = ctx.be;
        let b = ctx.batch.len();
        let scale = match ctx.loss.reduction {
            Reduction::Mean => b as f64,
            Reduction::Sum => 1.0,
        };
        let mut multipliers = vec![(1.0, None); self.layers];
        ctx.model.visit_params(&mut |p| {
            if let Some(rest) = p.name.strip_prefix("layers.") {
                let (idx, what) = rest.split_once('.').unwrap_or((rest, ""));
                if let Ok(i) = idx.parse::<usize>() {
                    match what {
                        "weight" => multipliers[i].0 = p.multiplier,
                        "bias" => multipliers[i].1 = Some(p.multiplier),
                        _ => {}
                    }
                }
            }
        });
        let mut sq = vec![0.0f64; b];
        for (l, &(mw, mb)) in multipliers.iter().enumerate() {
            let a_name = if l == 0 {
                "input".to_string()
            } else {
                format!("layers.{}.out", l - 1)
            };
            let (Some(a), Some(d)) = (
                ctx.taps.get(&a_name),
                ctx.grad_taps.get(&format!("layers.{l}.pre")),
            ) else {
                return Err(NnError::setting(
                    "per_example",
                    a_name,
                    "taps of a dense chain",
                ));
            };
            let (av, dv) = (a.to_host_f64(be), d.to_host_f64(be));
            let (ain, dout) = (av.len() / b, dv.len() / b);
            for i in 0..b {
                let an: f64 = av[i * ain..(i + 1) * ain].iter().map(|x| x * x).sum();
                let dn: f64 = dv[i * dout..(i + 1) * dout]
                    .iter()
                    .map(|x| x * x)
                    .sum::<f64>()
                    * scale
                    * scale;
                sq[i] += mw * mw * dn * an + mb.map_or(0.0, |m| m * m * dn);
            }
        }
        // ‖G‖² of the mean per-example gradient = ‖batch gradient‖² (mean reduction) or
        // ‖batch gradient / B‖² (sum reduction).
        let g2: f64 =
            ctx.grads.iter().map(|g| be.dot(g, g)).sum::<f64>() * (scale / b as f64).powi(2);
        let total: f64 = sq.iter().sum();
        for (i, s) in sq.iter().enumerate() {
            out.record(Metric {
                probe: self.name.clone(),
                key: "example_grad_norm".into(),
                split: "train".into(),
                layer: None,
                index: Some(ctx.batch.indices[i] as i64),
                index2: None,
                value: s.sqrt(),
            });
        }
        out.scalar(
            &self.name,
            "mean_example_grad_sq",
            "train",
            total / b as f64,
        );
        if b > 1 {
            let tr_sigma = (total - b as f64 * g2) / (b as f64 - 1.0);
            out.scalar(&self.name, "b_simple", "train", tr_sigma / g2);
        }
        Ok(Flow::Continue)
    }
}
