//! How well each layer can still reconstruct the input (P4: J. Schneider & M. Prabhushankar,
//! "Understanding and Leveraging the Learning Phases of Neural Networks", AAAI 2024,
//! arXiv:2312.06887; protocol of the official code, SCIENCE.md §P4.3–P4.4).
//!
//! At every due step `t`, for every tap `l`, the frozen network at θ_t maps the fixed fit
//! examples (the first `fit_examples` of the training split) to features `A` (`n × p`, one row
//! per example, the tap flattened row-major) and the fixed held-out examples (the first
//! `eval_examples` of the test split) to `A_test`. The target is the input as the network sees
//! it, `X` (`n × q`, the data set's transformed — e.g. normalised — inputs, flattened).
//!
//! **Closed-form decoder** (`decoder = "closed_form"`, the default; SCIENCE.md §P4.4's "fast
//! exact alternative") — ridge regression with an unpenalised bias:
//!
//! `min_{D,b} ‖A D + 1bᵀ − X‖²_F + λ‖D‖²_F`,
//!
//! solved by centring (`Ã = A − 1āᵀ`, `X̃ = X − 1x̄ᵀ`, fit-set means) and
//! `D = (ÃᵀÃ + λI)⁻¹ÃᵀX̃` (primal, a `p × p` Cholesky solve, when `p ≤ n`) or
//! `D = Ãᵀ(ÃÃᵀ + λI)⁻¹X̃` (dual, `n × n`, when `p > n`; the same matrix in exact arithmetic, by
//! `(ÃᵀÃ + λI)Ãᵀ = Ãᵀ(ÃÃᵀ + λI)`), then `b = x̄ − Dᵀā`, `x̂ = Dᵀa + b`
//! ([`ridge::fit`]; reference: the explicit normal equations [`ridge::normal_equations`],
//! compared by [`ridge::ridge_identity_residual`]).
//!
//! **λ.** `λ = λ_rel · s_t` with `s_t = ‖Ã‖²_F / min(n, p)`, the mean diagonal of the Gram
//! matrix that is factorised (ÃᵀÃ or ÃÃᵀ), i.e. the mean of its `min(n, p)` largest
//! eigenvalues ([`ridge::gram_scale`]); the grid `lambdas` (default `10⁻⁶ … 10²`, one per
//! decade) is in these relative units. `λ_rel` is chosen once per tap, at the probe's first due
//! observation, by `folds`-fold cross-validation on the fit examples (example `i` in fold
//! `i mod folds`; smallest pooled validation MSE, ties to the larger λ; one eigendecomposition
//! per fold serves the whole grid, [`ridge::cross_validate`]) and then held fixed in these
//! relative units: the absolute λ follows the scale of the features, so rescaling a layer's
//! activations by `c` (which a linear decoder absorbs) does not change the reconstruction, while
//! a fixed absolute λ would let a growing weight norm alone lower the loss. The chosen `λ_rel`
//! is part of the checkpointed state, so a resumed run uses the same one.
//!
//! **Trained decoder** (`decoder = "trained"` or `"both"`): the reference code's linear
//! decoder (`linCla = 1`), re-initialised at every due step from a seeded PyTorch-default
//! initialisation and trained with Adam (lr `decoder_lr` = 3e-4, L2 weight decay
//! `decoder_weight_decay` = 1e-5, `decoder_epochs` = 20, batch `decoder_batch` = 128) on the
//! MSE per element against the fit examples' inputs ([`trained::train`]); its seed is
//! `probe/<name>` of the run seed, derived by tap and step. It only approximates the
//! closed-form minimiser (20 epochs of Adam do not converge on wide layers). The reference
//! code's non-linear conv-transpose decoder (`linCla = 0`) is not implemented.
//!
//! **Recorded** per tap (`layer` = the tap name):
//! - `rec_loss` (split `test`): `(1/(m q)) Σ_i ‖x̂_i − x_i‖²`, the mean squared error per input
//!   element on the `m` held-out examples;
//! - `rec_loss_paper` (split `test`): the reference code's unit, the sum over consecutive
//!   batches of 128 held-out examples (the last one may be smaller) of the batch's mean squared
//!   error per element, `Σ_B (1/(|B| q)) Σ_{i∈B} ‖x̂_i − x_i‖²` (≈ ⌈m/128⌉ · `rec_loss`; ≈ 79 ×
//!   for the 10 000 CIFAR-10 test images, as the logged values of SCIENCE.md §P4.5);
//! - `rec_loss_train` (split `train`): the mean squared error per element on the fit examples;
//! - `lambda` (split `train`): the absolute λ used at this step;
//! - with a trained decoder: `rec_loss_trained` (split `test`), `rec_loss_trained_paper`
//!   (split `test`) and `rec_loss_trained_train` (split `train`), defined as above;
//! - at the first due observation only (split `train`; not with `decoder = "trained"`, which
//!   needs no λ): `lambda_rel`, the chosen relative λ,
//!   `cv_mse` (index = position in `lambdas`), the pooled validation MSE per grid value, and
//!   `features`, p.
//!
//! A tap with non-finite values records NaN for its losses at that step (its λ, once chosen,
//! is kept; if it is not chosen yet the tap is cross-validated at its next finite step).
//!
//! **Taps** (`taps`; default: every block + the penultimate representation): the `cka` probe's
//! default taps ([`crate::cka::default_taps`]) without `input` and `logits`, the last of them
//! replaced by the alias `penultimate` (it is the input of the read-out: the second-to-last
//! top-level layer's output, or the last child's output of that layer when it is a
//! container). For VGG-8 that is `blocks.0.out … blocks.4.out, penultimate` (the flattened
//! 512-d feature the reference code probes; with a 1 × 1 last feature map, as on 28 × 28 or
//! 32 × 32 images, `blocks.4.out` holds the same values and records the same numbers); for an
//! MLP with layers `layers.0 … layers.L` (read-out `layers.L`) it is `layers.0.out …
//! layers.(L−2).out, penultimate`. Taps are resolved against the model at the first
//! observation; an unknown tap is then an error naming it.
//!
//! Activations come from [`StepCtx::taps_at`] at θ_t (a `Mode::Probe` forward pass on a scratch
//! copy; batch-norm layers use the live model's running statistics) in chunks of 256 examples.
//! Memory: the fit and held-out activations of every tap at once, `(n + m) Σ_l p_l` f64 values
//! (≈ 390 MB for VGG-8 on 32 × 32 inputs with the defaults). Cost per due step and tap: the Gram
//! matrix (`n p min(n, p)`), a Cholesky solve, the predictions (`(n + m) p q` or, dual,
//! `n p q + m p q`); at the first due step the cross-validation adds one eigendecomposition of
//! a `min(n', p)` Gram matrix per fold (`n' = n (1 − 1/folds)`). Measured (2 shared cores,
//! busy): VGG-8 at full width on Fashion-MNIST with the defaults (2000 + 1000 images, six taps
//! of width 6272 … 512), the first observation takes ≈ 57 s (≈ 49 s of it cross-validation)
//! and every later one ≈ 13 s (the ignored tests `vgg8_cost` and `ridge_cost_at_vgg8_shapes`).

pub mod ridge;
pub mod trained;

use std::collections::BTreeMap;

use learnscope_core::{ProbeSchedule, RandomKey};
use learnscope_data::{Dataset, Split};
use learnscope_models::Model;
use learnscope_nn::{Backend, NnError};
use learnscope_train::{Flow, Metric, Probe, Recorder, StepCtx};

use crate::cka::default_taps;
use crate::taps::{host_activations, TapSelection};
use ridge::Decoder;
use trained::TrainSettings;

/// Which decoders are fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecoderKind {
    /// Closed-form ridge (default).
    #[default]
    ClosedForm,
    /// The reference code's Adam-trained linear decoder.
    Trained,
    /// Both.
    Both,
}

/// The `[[probes]]` table of `kind = "reconstruction"` (see the module documentation).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconstructionConfig {
    /// Name (default `reconstruction`).
    pub name: Option<String>,
    /// When (default geometric: 0, 2, 4, 8, …).
    #[serde(default = "default_schedule")]
    pub schedule: ProbeSchedule,
    /// Tap names (default: every block + `penultimate`).
    pub taps: Option<Vec<String>>,
    /// The first n training examples fit the decoder (default 2000; clipped to the split).
    #[serde(default = "default_fit_examples")]
    pub fit_examples: usize,
    /// The first m test examples score it (default 1000; clipped to the split).
    #[serde(default = "default_eval_examples")]
    pub eval_examples: usize,
    /// The relative ridge grid (default 1e-6 … 1e2, one per decade).
    #[serde(default = "default_lambdas")]
    pub lambdas: Vec<f64>,
    /// Cross-validation folds (default 5).
    #[serde(default = "default_folds")]
    pub folds: usize,
    /// `closed_form` (default), `trained` or `both`.
    #[serde(default)]
    pub decoder: DecoderKind,
    /// Epochs of the trained decoder (default 20).
    #[serde(default = "default_decoder_epochs")]
    pub decoder_epochs: usize,
    /// Adam step size of the trained decoder (default 3e-4).
    #[serde(default = "default_decoder_lr")]
    pub decoder_lr: f64,
    /// Its weight decay (default 1e-5).
    #[serde(default = "default_decoder_weight_decay")]
    pub decoder_weight_decay: f64,
    /// Its batch size (default 128).
    #[serde(default = "default_decoder_batch")]
    pub decoder_batch: usize,
}

/// Default schedule: `{ kind = "geometric", base = 2, start = 2 }` (0, 2, 4, 8, …, the
/// reference code's evaluation points).
pub fn default_schedule() -> ProbeSchedule {
    ProbeSchedule::Geometric { base: 2, start: 2 }
}
fn default_fit_examples() -> usize {
    2000
}
fn default_eval_examples() -> usize {
    1000
}
/// Default relative ridge grid: 10⁻⁶, 10⁻⁵, …, 10².
pub fn default_lambdas() -> Vec<f64> {
    (-6..=2).map(|e| 10f64.powi(e)).collect()
}
fn default_folds() -> usize {
    5
}
fn default_decoder_epochs() -> usize {
    20
}
fn default_decoder_lr() -> f64 {
    3e-4
}
fn default_decoder_weight_decay() -> f64 {
    1e-5
}
fn default_decoder_batch() -> usize {
    128
}

/// The reconstruction taps of a model with tap names `available` (module documentation).
pub fn default_reconstruction_taps(available: &[String]) -> Vec<String> {
    let mut taps: Vec<String> = default_taps(available)
        .into_iter()
        .filter(|t| t != "input" && t != "logits")
        .collect();
    taps.pop();
    taps.push("penultimate".into());
    taps
}

/// `Σ_B (1/(|B| q)) Σ_{i∈B} e_i` over consecutive batches of `batch` examples, `e_i` the
/// summed squared error of example `i` (the reference code's reported unit).
pub fn paper_units(errors: &[f64], q: usize, batch: usize) -> f64 {
    errors
        .chunks(batch.max(1))
        .map(|b| b.iter().sum::<f64>() / (b.len() * q) as f64)
        .sum()
}

/// One tap's activations on the fit and held-out examples (row-major).
struct TapData {
    fit: Vec<f64>,
    test: Vec<f64>,
    p: usize,
}

/// Input reconstruction from every tap (module documentation).
pub struct ReconstructionProbe {
    name: String,
    schedule: ProbeSchedule,
    taps: TapSelection,
    lambdas: Vec<f64>,
    folds: usize,
    decoder: DecoderKind,
    train: TrainSettings,
    key: RandomKey,
    /// Fit inputs, `n × q`; held-out inputs, `m × q`.
    fit_x: Vec<f64>,
    test_x: Vec<f64>,
    n: usize,
    m: usize,
    q: usize,
    /// The chosen relative λ per tap.
    lambda_rel: BTreeMap<String, f64>,
}

impl ReconstructionProbe {
    /// The probe of `cfg` on `data`, seeded by the run seed `seed`.
    pub fn new(
        cfg: ReconstructionConfig,
        data: &dyn Dataset,
        seed: u64,
    ) -> Result<ReconstructionProbe, String> {
        let name = cfg.name.unwrap_or_else(|| "reconstruction".into());
        cfg.schedule
            .validate()
            .map_err(|e| format!("schedule: {e}"))?;
        let taps = TapSelection::new(cfg.taps, "(or leave `taps` out)")?;
        if cfg.folds < 2 {
            return Err(format!("folds: must be >= 2, got {}", cfg.folds));
        }
        if cfg.lambdas.is_empty() || cfg.lambdas.iter().any(|l| !(l.is_finite() && *l > 0.0)) {
            return Err(format!(
                "lambdas: a non-empty list of finite values > 0, got {:?}",
                cfg.lambdas
            ));
        }
        if cfg.decoder != DecoderKind::ClosedForm {
            if cfg.decoder_epochs == 0 || cfg.decoder_batch == 0 {
                return Err("decoder_epochs and decoder_batch must be >= 1".into());
            }
            if !(cfg.decoder_lr.is_finite() && cfg.decoder_lr > 0.0) {
                return Err(format!(
                    "decoder_lr: must be finite and > 0, got {}",
                    cfg.decoder_lr
                ));
            }
            if !(cfg.decoder_weight_decay.is_finite() && cfg.decoder_weight_decay >= 0.0) {
                return Err(format!(
                    "decoder_weight_decay: must be finite and >= 0, got {}",
                    cfg.decoder_weight_decay
                ));
            }
        }
        let spec = data.spec();
        let q = spec.input_size();
        let n = cfg.fit_examples.min(spec.train_len);
        let m = cfg.eval_examples.min(spec.test_len);
        if n < 2 * cfg.folds {
            return Err(format!(
                "fit_examples: {n} usable training examples, need >= 2 per fold ({} folds)",
                cfg.folds
            ));
        }
        if m == 0 {
            return Err("eval_examples: the test split has no examples (or 0 asked for)".into());
        }
        let mut fit_x = Vec::with_capacity(n * q);
        data.gather_inputs(Split::Train, &(0..n).collect::<Vec<_>>(), &mut fit_x);
        let mut test_x = Vec::with_capacity(m * q);
        data.gather_inputs(Split::Test, &(0..m).collect::<Vec<_>>(), &mut test_x);
        Ok(ReconstructionProbe {
            key: RandomKey::root(seed).derive(&format!("probe/{name}")),
            name,
            schedule: cfg.schedule,
            taps,
            lambdas: cfg.lambdas,
            folds: cfg.folds,
            decoder: cfg.decoder,
            train: TrainSettings {
                epochs: cfg.decoder_epochs,
                lr: cfg.decoder_lr,
                weight_decay: cfg.decoder_weight_decay,
                batch: cfg.decoder_batch,
            },
            fit_x,
            test_x,
            n,
            m,
            q,
            lambda_rel: BTreeMap::new(),
        })
    }

    /// The chosen relative λ per tap (empty before the first observation).
    pub fn lambda_rel(&self) -> &BTreeMap<String, f64> {
        &self.lambda_rel
    }

    fn resolve<B: Backend>(&mut self, model: &dyn Model<B>) -> Result<Vec<String>, NnError> {
        self.taps.resolve(model, &self.name, |available| {
            Ok(default_reconstruction_taps(available))
        })
    }

    /// Every tap's activations at θ_t on the fit and held-out inputs.
    fn activations<B: Backend>(
        &self,
        ctx: &StepCtx<'_, B>,
        taps: &[String],
    ) -> Result<Vec<TapData>, NnError> {
        let fit = host_activations(ctx, &self.name, taps, &self.fit_x, self.n, 256)?;
        let test = host_activations(ctx, &self.name, taps, &self.test_x, self.m, 256)?;
        Ok(fit
            .into_iter()
            .zip(test)
            .map(|(f, t)| TapData {
                p: f.width,
                fit: f.values,
                test: t.values,
            })
            .collect())
    }

    fn record(&self, out: &mut dyn Recorder, key: &str, split: &str, tap: &str, v: f64) {
        out.layer(&self.name, key, split, tap, v);
    }

    /// Test MSE, paper units and train MSE of a decoder.
    fn losses(&self, dec: &Decoder, d: &TapData) -> (f64, f64, f64) {
        let e = dec.squared_errors(&d.test, &self.test_x);
        let test = e.iter().sum::<f64>() / (self.m * self.q) as f64;
        let paper = paper_units(&e, self.q, 128);
        (test, paper, dec.mse(&d.fit, &self.fit_x))
    }

    fn observe_tap(
        &mut self,
        ctx_step: u64,
        tap: &str,
        d: &TapData,
        out: &mut dyn Recorder,
    ) -> Result<(), NnError> {
        let dims = (self.n, d.p, self.q);
        let finite = d.fit.iter().chain(&d.test).all(|v| v.is_finite());
        let wrap = |e: String| NnError::setting(format!("{}.{tap}", self.name), "ridge", e);
        if !finite {
            let mut keys = Vec::new();
            if self.decoder != DecoderKind::Trained {
                keys.extend(["rec_loss", "rec_loss_paper", "rec_loss_train"]);
            }
            if self.decoder != DecoderKind::ClosedForm {
                keys.extend([
                    "rec_loss_trained",
                    "rec_loss_trained_paper",
                    "rec_loss_trained_train",
                ]);
            }
            for k in keys {
                let split = if k.ends_with("_train") {
                    "train"
                } else {
                    "test"
                };
                self.record(out, k, split, tap, f64::NAN);
            }
            return Ok(());
        }
        let closed_form = self.decoder != DecoderKind::Trained;
        if closed_form && !self.lambda_rel.contains_key(tap) {
            let cv = ridge::cross_validate(&d.fit, &self.fit_x, dims, &self.lambdas, self.folds)
                .map_err(wrap)?;
            let rel = self.lambdas[cv.chosen];
            self.lambda_rel.insert(tap.to_string(), rel);
            self.record(out, "lambda_rel", "train", tap, rel);
            self.record(out, "features", "train", tap, d.p as f64);
            for (i, v) in cv.mse.iter().enumerate() {
                out.record(Metric {
                    probe: self.name.clone(),
                    key: "cv_mse".into(),
                    split: "train".into(),
                    layer: Some(tap.into()),
                    index: Some(i as i64),
                    index2: None,
                    value: *v,
                });
            }
        }
        if closed_form {
            let rel = self.lambda_rel[tap];
            let (dec, lambda) =
                ridge::fit_relative(&d.fit, &self.fit_x, dims, rel).map_err(wrap)?;
            let (test, paper, train) = self.losses(&dec, d);
            self.record(out, "rec_loss", "test", tap, test);
            self.record(out, "rec_loss_paper", "test", tap, paper);
            self.record(out, "rec_loss_train", "train", tap, train);
            self.record(out, "lambda", "train", tap, lambda);
        }
        if self.decoder != DecoderKind::ClosedForm {
            let key = self.key.derive(tap).at(ctx_step);
            let dec = trained::train(&d.fit, &self.fit_x, dims, &self.train, key).map_err(wrap)?;
            let (test, paper, train) = self.losses(&dec, d);
            self.record(out, "rec_loss_trained", "test", tap, test);
            self.record(out, "rec_loss_trained_paper", "test", tap, paper);
            self.record(out, "rec_loss_trained_train", "train", tap, train);
        }
        Ok(())
    }
}

impl<B: Backend> Probe<B> for ReconstructionProbe {
    fn name(&self) -> &str {
        &self.name
    }

    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }

    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let taps = self.resolve(ctx.model)?;
        let data = self.activations(ctx, &taps)?;
        for (tap, d) in taps.iter().zip(&data) {
            self.observe_tap(ctx.step, tap, d, out)?;
        }
        Ok(Flow::Continue)
    }

    fn state(&self) -> serde_json::Value {
        // Bit patterns, so a resumed run uses exactly the same λ_rel.
        let bits: BTreeMap<&String, u64> = self
            .lambda_rel
            .iter()
            .map(|(k, v)| (k, v.to_bits()))
            .collect();
        serde_json::json!({ "lambda_rel_bits": bits })
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        self.lambda_rel.clear();
        if state.is_null() {
            return Ok(());
        }
        let map = state
            .get("lambda_rel_bits")
            .ok_or_else(|| format!("{}: state without `lambda_rel_bits`", self.name))?;
        let bits: BTreeMap<String, u64> = serde_json::from_value(map.clone())
            .map_err(|e| format!("{}: bad `lambda_rel_bits` state: {e}", self.name))?;
        self.lambda_rel = bits
            .into_iter()
            .map(|(k, b)| (k, f64::from_bits(b)))
            .collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
