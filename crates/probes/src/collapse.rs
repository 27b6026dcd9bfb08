//! Neural collapse of the penultimate features (V. Papyan, X. Y. Han & D. L. Donoho,
//! "Prevalence of neural collapse during the terminal phase of deep learning training", PNAS
//! 117(40), 2020; SCIENCE.md §C.2), tracked next to P5's feature-map spectrum
//! ([`crate::spectrum`]): P5 says its minimal-feature regime appears after a few epochs and
//! resembles collapse, which keeps sharpening over long training.
//!
//! At every due step the frozen network at θ_t maps the first `examples` examples of `split`
//! to features `h_i` (the tap `tap`, default `penultimate`) and logits, and
//! [`learnscope_stats::neural_collapse`] computes, over the classes present (`C`):
//! - `nc1_trace`: `Tr(Σ_W Σ_B^†)/C`; `nc1_cdnv`: the class-distance normalised variance
//!   (Galanti et al. 2022), the mean over class pairs of `(V_c + V_c')/(2‖μ_c − μ_c'‖²)`;
//! - `nc2_equinorm_means`, `nc2_equiangular_means`, `nc2_max_angle_means` of the centred class
//!   means, and `nc2_equinorm_weights`, `nc2_equiangular_weights`, `nc2_max_angle_weights` of
//!   the read-out rows `w_c`;
//! - `nc3_self_duality`: `‖Wᵀ/‖W‖_F − M̃/‖M̃‖_F‖²_F`;
//! - `nc4_ncc_mismatch`: the share of examples whose predicted class (largest logit) is not
//!   the nearest class mean;
//! - `classes_present`.
//!
//! All in split `split`. **The read-out `W`** is the last two-dimensional parameter of shape
//! `[C, p]` (the `[out, in]` weight of the final linear layer fed by the tap); with a tap that
//! does not feed the read-out directly, or a model whose last layer is not linear, no such
//! parameter exists and the `…_weights` and `nc3` keys are not recorded. Scale multipliers of
//! the read-out (NTK, μP) do not matter: every weight metric is scale-invariant.
//!
//! Classification data only (the registry refuses real-valued targets). A step whose features
//! are not finite records `nc1_trace` = NaN and nothing else.

use learnscope_core::ProbeSchedule;
use learnscope_data::{Dataset, Split, TargetData, TargetKind};
use learnscope_nn::{Backend, NnError};
use learnscope_stats::{neural_collapse, CollapseInput};
use learnscope_train::{Flow, Probe, Recorder, StepCtx};

use crate::registry::SplitName;
use crate::taps::host_activations;

/// The `[[probes]]` table of `kind = "collapse"` (see the module documentation).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollapseConfig {
    /// Name (default `collapse`).
    pub name: Option<String>,
    /// When (default: the end of every epoch).
    #[serde(default = "crate::spectrum::default_schedule")]
    pub schedule: ProbeSchedule,
    /// The feature tap (default `penultimate`).
    #[serde(default = "default_tap")]
    pub tap: String,
    /// The first n examples of the split (default 2048; clipped).
    #[serde(default = "default_examples")]
    pub examples: usize,
    /// The split (default `train`, as Papyan et al.).
    #[serde(default = "default_split")]
    pub split: SplitName,
}

fn default_tap() -> String {
    "penultimate".into()
}
fn default_examples() -> usize {
    2048
}
fn default_split() -> SplitName {
    SplitName::Train
}

/// The neural-collapse probe (module documentation).
pub struct CollapseProbe {
    name: String,
    schedule: ProbeSchedule,
    tap: String,
    split: Split,
    x: Vec<f64>,
    labels: Vec<u32>,
    classes: usize,
}

impl CollapseProbe {
    /// The probe of `cfg` on `data` (classification data only).
    pub fn new(cfg: CollapseConfig, data: &dyn Dataset) -> Result<CollapseProbe, String> {
        cfg.schedule
            .validate()
            .map_err(|e| format!("schedule: {e}"))?;
        let split = Split::from(cfg.split);
        let spec = data.spec();
        let classes = match spec.target {
            TargetKind::Classes { classes } => classes,
            TargetKind::Dense { outputs } => {
                return Err(format!(
                    "kind: `collapse` needs class labels; this data set has {outputs} real-valued \
                     targets per example"
                ))
            }
        };
        let n = cfg.examples.min(spec.len(split));
        if n < 2 {
            return Err(format!(
                "examples: {n} usable examples in the {} split, need at least 2",
                split.name()
            ));
        }
        let labels = match data.targets(split) {
            TargetData::Classes(l) => l[..n].to_vec(),
            TargetData::Dense(_) => return Err("kind: `collapse` needs class labels".into()),
        };
        let mut x = Vec::new();
        data.gather_inputs(split, &(0..n).collect::<Vec<_>>(), &mut x);
        Ok(CollapseProbe {
            name: cfg.name.unwrap_or_else(|| "collapse".into()),
            schedule: cfg.schedule,
            tap: cfg.tap,
            split,
            x,
            labels,
            classes,
        })
    }

    /// The read-out weights: the last 2-d parameter of shape `[classes, p]`, on the host.
    fn readout<B: Backend>(&self, ctx: &StepCtx<'_, B>, p: usize) -> Option<Vec<f64>> {
        ctx.theta
            .iter()
            .rev()
            .find(|t| t.shape() == [self.classes, p])
            .map(|t| t.to_host_f64(ctx.be))
    }
}

impl<B: Backend> Probe<B> for CollapseProbe {
    fn name(&self) -> &str {
        &self.name
    }

    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }

    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let n = self.labels.len();
        let taps = [self.tap.clone(), "logits".to_string()];
        let got = host_activations(ctx, &self.name, &taps, &self.x, n, 256)?;
        let (h, p) = (&got[0].values, got[0].width);
        let logits = &got[1].values;
        let split = self.split.name();
        if !h.iter().chain(logits).all(|v| v.is_finite()) {
            out.scalar(&self.name, "nc1_trace", split, f64::NAN);
            return Ok(Flow::Continue);
        }
        let weights = self.readout(ctx, p);
        let input = CollapseInput {
            features: h,
            n,
            p,
            labels: &self.labels,
            classes: self.classes,
            weights: weights.as_deref(),
            logits: (logits.len() == n * self.classes).then_some(logits.as_slice()),
        };
        let nc = neural_collapse(&input).map_err(|e| {
            NnError::setting(format!("{}.features", self.name), &self.tap, e.to_string())
        })?;
        let mut put = |key: &str, v: Option<f64>| {
            if let Some(v) = v {
                out.scalar(&self.name, key, split, v);
            }
        };
        put("classes_present", Some(nc.classes_present as f64));
        put("nc1_trace", Some(nc.nc1_trace));
        put("nc1_cdnv", Some(nc.nc1_cdnv));
        put("nc2_equinorm_means", Some(nc.nc2_equinorm_means));
        put("nc2_equiangular_means", Some(nc.nc2_equiangular_means));
        put("nc2_max_angle_means", Some(nc.nc2_max_angle_means));
        put("nc2_equinorm_weights", nc.nc2_equinorm_weights);
        put("nc2_equiangular_weights", nc.nc2_equiangular_weights);
        put("nc2_max_angle_weights", nc.nc2_max_angle_weights);
        put("nc3_self_duality", nc.nc3_self_duality);
        put("nc4_ncc_mismatch", nc.nc4_ncc_mismatch);
        Ok(Flow::Continue)
    }
}
