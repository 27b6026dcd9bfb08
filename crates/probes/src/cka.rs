//! Representational similarity by linear centred kernel alignment (S. Kornblith, M. Norouzi,
//! H. Lee & G. Hinton, "Similarity of neural network representations revisited", ICML 2019,
//! eq. 5), between layers of the network and between the network at θ_t and at θ₀.
//!
//! For two representations of the same `n` examples, `X` (`n × p₁`) and `Y` (`n × p₂`), with
//! columns centred (`X ← HX`, `H = I − 11ᵀ/n`):
//!
//! `CKA(X, Y) = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)` ∈ [0, 1],
//!
//! evaluated by [`learnscope_stats::linear_cka`] (f64 sums, the cheaper of the feature- and
//! example-space forms). It is 1 for `Y = c X Q` (any scalar `c ≠ 0`, any `Q` with orthonormal
//! columns) and invariant to adding the same vector to every example, not to general invertible
//! linear maps.
//!
//! **Representations.** At each due step the probe reads activation taps (see
//! [`learnscope_models::Model`]: `<path>.pre`, `<path>.out`, and the aliases `input`,
//! `penultimate`, `logits`) of the trainer's fixed probe batch (`training.probe_batch`, the same
//! `n` examples at every step; `n ≥ 2`), each flattened per example (row `i` = every value of
//! example `i`, row-major, e.g. `C·H·W` values of a feature map).
//!
//! **Taps** (`taps`, in the order given; default: from the model's tap names) — `input`, the
//! `.out` tap of every layer of the model's top-level chain except the last (the read-out,
//! whose output *is* `logits`), and `logits`; a top-level container contributes the `.out`
//! taps of its direct children instead of its own (one level down). For an MLP or a deep linear
//! network with layers `layers.0 … layers.L` that is `input, layers.0.out, …,
//! layers.(L−1).out, logits`: the input, every hidden representation and the output. For a CNN
//! (`blocks`, `pool`, `dense`, `head`) it is `input, blocks.0.out, blocks.1.out, …, pool.out,
//! dense.0.out, …, logits`. The taps are checked against the model's tap names at the first
//! observation (the registry does not see the model); an unknown name is an error naming it
//! and listing the available ones.
//!
//! Recorded at every due step (split `probe`):
//! - `cka`, layer `"<a>|<b>"`: CKA between taps `a` and `b` at θ_t, for every unordered pair
//!   with `a` before `b` in the tap order (`T(T−1)/2` rows for `T` taps);
//! - `cka_init`, layer `<tap>`: CKA between the tap at θ_t and the same tap at θ₀ on the same
//!   examples (1 at step 0 up to rounding, ≈ 1e-16; the `input` tap's is 1 at every step).
//!   The θ₀ representations are recomputed at every due step by a `Mode::Probe` forward pass of
//!   a scratch copy of the model with the initial parameters ([`StepCtx::taps_at`]), so the probe
//!   keeps no state and a resumed run records exactly what an uninterrupted one does. Buffers
//!   (batch-norm running statistics) in that pass are the current network's.
//!
//! A representation with no spread over the probe batch (e.g. a layer of dead ReLU units) or
//! with non-finite values has no CKA: its rows record NaN instead of stopping the run.
//!
//! Cost per due step: one extra forward pass of the probe batch (θ₀; two before the taps are
//! known — the first observation of a run or of a resumed run — when the default taps are used,
//! θ_t's taps then coming from a scratch pass too), plus `T(T+1)/2` CKAs, each
//! `O(n · min(n, p₁ + p₂) · (p₁ + p₂))`.

use learnscope_core::ProbeSchedule;
use learnscope_models::{Model, TapRequest, Taps};
use learnscope_nn::{Backend, NnError};
use learnscope_stats::{linear_cka, StatsError};
use learnscope_train::{Flow, Probe, ProbeNeeds, Recorder, StepCtx};

pub use crate::taps::check_taps;
use crate::taps::TapSelection;

/// The aliases every model's tap names include besides its layers' taps.
const ALIASES: [&str; 3] = ["input", "penultimate", "logits"];

/// The `.out` taps of the direct children of the container whose taps start with `prefix`
/// (`<prefix><child>.out`, `child` one path segment), in forward order.
fn children<'a>(available: &'a [String], prefix: &str) -> Vec<&'a String> {
    available
        .iter()
        .filter(|t| {
            t.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(".out"))
                .is_some_and(|child| !child.is_empty() && !child.contains('.'))
        })
        .collect()
}

/// The default taps of a model with tap names `available` (module documentation): `input`, the
/// `.out` tap of every top-level layer but the read-out (a container's children's instead of
/// its own, one level down), and `logits`, in forward order.
pub fn default_taps(available: &[String]) -> Vec<String> {
    let mut taps = Vec::new();
    if available.iter().any(|t| t == "input") {
        taps.push("input".to_string());
    }
    // The root chain's own tap `<root>.out` (or `out` for an unnamed root) comes after every
    // tap of its children.
    let root = available
        .iter()
        .rev()
        .find(|t| !ALIASES.contains(&t.as_str()));
    if let Some(prefix) = root.and_then(|r| r.strip_suffix("out")) {
        let top = children(available, prefix);
        if let Some((_, hidden)) = top.split_last() {
            for layer in hidden {
                let inner = children(available, layer.strip_suffix("out").unwrap_or(layer));
                if inner.is_empty() {
                    taps.push(layer.to_string());
                } else {
                    taps.extend(inner.into_iter().cloned());
                }
            }
        }
    }
    if available.iter().any(|t| t == "logits") {
        taps.push("logits".to_string());
    }
    taps
}

/// Linear CKA between taps (pairs) and of each tap with itself at θ₀ (module documentation).
#[derive(Debug, Clone)]
pub struct CkaProbe {
    name: String,
    schedule: ProbeSchedule,
    /// The configured taps (`None`: the model's default taps) and, once checked against the
    /// model (at the first observation), the taps in use.
    taps: TapSelection,
}

impl CkaProbe {
    /// A probe on `taps` (`None`: [`default_taps`] of the model); fails on an empty list or a
    /// repeated tap.
    pub fn new(
        name: String,
        schedule: ProbeSchedule,
        taps: Option<Vec<String>>,
    ) -> Result<CkaProbe, String> {
        Ok(CkaProbe {
            name,
            schedule,
            taps: TapSelection::new(taps, "(or leave `taps` out for the default)")?,
        })
    }

    /// `` `<name>.<what>` = <value> breaks the rule `<rule>` ``.
    fn error(&self, what: &str, value: impl ToString, rule: impl Into<String>) -> NnError {
        NnError::setting(format!("{}.{what}", self.name), value, rule)
    }

    /// The taps in use, resolved and checked against `model` on the first call.
    fn resolve<B: Backend>(&mut self, model: &dyn Model<B>) -> Result<Vec<String>, NnError> {
        let name = &self.name;
        self.taps.resolve(model, name, |available| {
            let taps = default_taps(available);
            if taps.is_empty() {
                return Err(NnError::setting(
                    format!("{name}.taps"),
                    "none by default",
                    format!(
                        "a model with an `input` or `logits` tap (it has: {})",
                        available.join(", ")
                    ),
                ));
            }
            Ok(taps)
        })
    }

    /// The tap's values as an `n × p` row-major host matrix.
    fn host<B: Backend>(
        &self,
        ctx: &StepCtx<'_, B>,
        taps: &[&Taps<B>],
        tap: &str,
        n: usize,
    ) -> Result<Vec<f64>, NnError> {
        let t = taps.iter().find_map(|m| m.get(tap)).ok_or_else(|| {
            self.error("taps", format!("`{tap}`"), "returned by the forward pass")
        })?;
        if t.shape().first() != Some(&n) {
            return Err(self.error(
                "taps",
                format!("`{tap}` of shape {:?}", t.shape()),
                format!("one row per probe-batch example ({n})"),
            ));
        }
        Ok(t.to_host_f64(ctx.be))
    }

    /// CKA, or NaN for a representation without spread or with non-finite values.
    fn cka(&self, x: &[f64], y: &[f64], n: usize, what: &str) -> Result<f64, NnError> {
        match linear_cka(x, y, n) {
            Ok(v) => Ok(v),
            Err(StatsError::ZeroVariance { .. } | StatsError::NonFinite { .. }) => Ok(f64::NAN),
            Err(e) => Err(self.error("cka", what, e.to_string())),
        }
    }
}

impl<B: Backend> Probe<B> for CkaProbe {
    fn name(&self) -> &str {
        &self.name
    }

    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }

    fn needs(&self) -> ProbeNeeds {
        // Before the default taps are known, `input` (every model has it) makes the trainer
        // gather the probe batch; the taps then come from a scratch pass at θ_t.
        let probe_taps = self
            .taps
            .known()
            .map_or_else(|| vec!["input".into()], <[String]>::to_vec);
        ProbeNeeds {
            probe_taps,
            ..ProbeNeeds::default()
        }
    }

    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let taps = self.resolve(ctx.model)?;
        let batch = ctx.probe_batch.ok_or_else(|| {
            self.error(
                "probe_batch",
                "none",
                "the trainer's fixed probe batch (asked for through `probe_taps`)",
            )
        })?;
        let n = batch.x.shape().first().copied().unwrap_or(0);
        if n < 2 {
            return Err(self.error(
                "probe_batch",
                format!("{n} examples"),
                "at least 2 (training.probe_batch.size and the size of its split)",
            ));
        }
        let missing: Vec<&String> = taps
            .iter()
            .filter(|t| !ctx.probe_taps.contains_key(*t))
            .collect();
        let scratch = if missing.is_empty() {
            Taps::new()
        } else {
            ctx.taps_at(ctx.theta, &batch.x, &TapRequest::names(missing))?
        };
        let now = taps
            .iter()
            .map(|t| self.host(ctx, &[ctx.probe_taps, &scratch], t, n))
            .collect::<Result<Vec<_>, _>>()?;
        let at_init = ctx.taps_at(ctx.theta_init, &batch.x, &TapRequest::names(&taps))?;
        for i in 0..taps.len() {
            for j in i + 1..taps.len() {
                let pair = format!("{}|{}", taps[i], taps[j]);
                let v = self.cka(&now[i], &now[j], n, &pair)?;
                out.layer(&self.name, "cka", "probe", &pair, v);
            }
        }
        for (tap, x) in taps.iter().zip(&now) {
            let x0 = self.host(ctx, &[&at_init], tap, n)?;
            let v = self.cka(x, &x0, n, tap)?;
            out.layer(&self.name, "cka_init", "probe", tap, v);
        }
        Ok(Flow::Continue)
    }
}
