//! The activation taps a probe reads: a configured list (or, when none is given, a default
//! derived from the model's tap names), checked when the probe is built and resolved against
//! the model at its first observation (the registry does not see the model).

use learnscope_models::{Model, TapRequest};
use learnscope_nn::{Backend, NnError, Tensor};
use learnscope_train::StepCtx;

/// Checks `taps` against the model's tap names `available`; the error is the first tap the
/// model does not have.
pub fn check_taps<'a>(taps: &'a [String], available: &[String]) -> Result<(), &'a str> {
    match taps.iter().find(|t| !available.contains(t)) {
        Some(t) => Err(t),
        None => Ok(()),
    }
}

/// A probe's taps: the configured ones (`None`: a default from the model) and, once resolved
/// against the model, the taps in use.
#[derive(Debug, Clone)]
pub struct TapSelection {
    /// The configured taps (`None`: the model's default taps).
    configured: Option<Vec<String>>,
    /// The taps in use, once checked against the model (at the first observation).
    resolved: Option<Vec<String>>,
}

impl TapSelection {
    /// The selection of `configured` (`None`: the default); fails on an empty list (with the
    /// error `taps: give at least one tap <hint>`) or a repeated tap.
    pub fn new(configured: Option<Vec<String>>, hint: &str) -> Result<TapSelection, String> {
        if let Some(t) = &configured {
            if t.is_empty() {
                return Err(format!("taps: give at least one tap {hint}"));
            }
            if let Some(i) = (1..t.len()).find(|&i| t[..i].contains(&t[i])) {
                return Err(format!("taps: `{}` is listed twice", t[i]));
            }
        }
        Ok(TapSelection {
            configured,
            resolved: None,
        })
    }

    /// The taps in use if resolved, else the configured ones (`None` before a default is
    /// resolved).
    pub fn known(&self) -> Option<&[String]> {
        self.resolved.as_deref().or(self.configured.as_deref())
    }

    /// The taps in use, resolved against `model` on the first call: the configured ones, each
    /// checked to be a tap of the model (else the error `` `<probe>.taps` = `<tap>` ``), or
    /// `default` of the model's tap names.
    pub fn resolve<B: Backend>(
        &mut self,
        model: &dyn Model<B>,
        probe: &str,
        default: impl FnOnce(&[String]) -> Result<Vec<String>, NnError>,
    ) -> Result<Vec<String>, NnError> {
        if let Some(t) = &self.resolved {
            return Ok(t.clone());
        }
        let available = model.tap_names();
        let taps = match &self.configured {
            Some(t) => {
                check_taps(t, &available).map_err(|unknown| {
                    NnError::setting(
                        format!("{probe}.taps"),
                        format!("`{unknown}`"),
                        format!("a tap of the model ({})", available.join(", ")),
                    )
                })?;
                t.clone()
            }
            None => default(&available)?,
        };
        self.resolved = Some(taps.clone());
        Ok(taps)
    }
}

/// One tap's values for a set of examples, on the host: row-major `rows × width`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostTap {
    /// The values, one row per example (the tap flattened row-major).
    pub values: Vec<f64>,
    /// Values per example.
    pub width: usize,
}

/// The taps `taps` of the network at θ_t for the host inputs `x` (row-major, `rows ×` the
/// model's input size), from `Mode::Probe` forward passes of a scratch copy
/// ([`StepCtx::taps_at`]) in chunks of at most `chunk` examples; one [`HostTap`] per tap, in
/// order. A tap the forward pass does not return is an error naming `probe` and the tap.
pub fn host_activations<B: Backend>(
    ctx: &StepCtx<'_, B>,
    probe: &str,
    taps: &[String],
    x: &[f64],
    rows: usize,
    chunk: usize,
) -> Result<Vec<HostTap>, NnError> {
    let spec = ctx.model.spec().clone();
    let q: usize = spec.input_shape.iter().product();
    let request = TapRequest::names(taps);
    let mut out = vec![HostTap::default(); taps.len()];
    for start in (0..rows).step_by(chunk.max(1)) {
        let end = (start + chunk.max(1)).min(rows);
        let mut shape = vec![end - start];
        shape.extend(&spec.input_shape);
        let xt = Tensor::from_f64(ctx.be, spec.dtype, &shape, &x[start * q..end * q]);
        let got = ctx.taps_at(ctx.theta, &xt, &request)?;
        for (tap, d) in taps.iter().zip(out.iter_mut()) {
            let t = got.get(tap).ok_or_else(|| {
                NnError::setting(
                    format!("{probe}.taps"),
                    format!("`{tap}`"),
                    "returned by the forward pass",
                )
            })?;
            let v = t.to_host_f64(ctx.be);
            d.width = v.len() / (end - start);
            d.values.extend(v);
        }
    }
    Ok(out)
}
