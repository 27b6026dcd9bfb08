//! The activation taps a probe reads: a configured list (or, when none is given, a default
//! derived from the model's tap names), checked when the probe is built and resolved against
//! the model at its first observation (the registry does not see the model).

use learnscope_models::Model;
use learnscope_nn::{Backend, NnError};

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
