//! Linear CKA between two trained runs (Kornblith et al., ICML 2019; the companion of
//! learning-order constancy in P2, SCIENCE.md §P2): seeds, widths or architectures compared on
//! the same examples.
//!
//! Each run is rebuilt from its directory (resolved `config.toml` and its latest checkpoint, as
//! `run --resume` does), both are fed the first `examples` inputs of `split` of run A's data set,
//! and `CKA(X, Y) = ‖XᵀY‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)` of the centred, flattened taps is computed by
//! [`learnscope_stats::linear_cka`]. Run B's data set must hold the same inputs there (the same
//! data configuration and `data_seed`), otherwise the comparison would be between different
//! examples: that is an error naming the first differing example.

use std::path::Path;

use learnscope_data::Split;
use learnscope_models::TapRequest;
use learnscope_nn::{ForwardCtx, Mode, RandomKey, Tensor};
use learnscope_store::RunReader;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_data;
use learnscope_train::Trainer;

use crate::runner::restore_trainer;

/// One run, rebuilt at its latest checkpoint.
struct Loaded {
    cfg: RunConfig,
    trainer: Trainer<learnscope_nn::CpuBackend>,
    step: u64,
}

fn load(dir: &Path) -> Result<Loaded, String> {
    let at = |e: String| format!("{}: {e}", dir.display());
    let reader = RunReader::open(dir).map_err(|e| at(e.to_string()))?;
    let cfg = RunConfig::parse(&reader.config_toml, &[]).map_err(|e| at(e.to_string()))?;
    let step = reader
        .latest_checkpoint()
        .ok_or_else(|| at("no checkpoint to load".into()))?;
    let trainer = restore_trainer(dir, &reader, &cfg, step).map_err(|e| at(e.to_string()))?;
    Ok(Loaded { cfg, trainer, step })
}

/// The flattened `tap` of `run` on host inputs `x` (row-major, `n ×` input size).
fn representation(run: &Loaded, tap: &str, x: &[f64], n: usize) -> Result<Vec<f64>, String> {
    let mut model = run.trainer.model().clone_model();
    if !model.tap_names().iter().any(|t| t == tap) {
        return Err(format!(
            "run `{}` has no tap `{tap}` (it has: {})",
            run.cfg.name,
            model.tap_names().join(", ")
        ));
    }
    let be = learnscope_nn::CpuBackend::new(1);
    let spec = model.spec().clone();
    let width: usize = spec.input_shape.iter().product();
    let ctx = ForwardCtx::new(Mode::Probe, run.step, RandomKey::root(0));
    let mut out = Vec::new();
    for start in (0..n).step_by(256) {
        let end = (start + 256).min(n);
        let mut shape = vec![end - start];
        shape.extend(&spec.input_shape);
        let xt = Tensor::from_f64(&be, spec.dtype, &shape, &x[start * width..end * width]);
        let taps = model
            .forward(&xt, &ctx, &TapRequest::names([tap]))
            .map_err(|e| e.to_string())?
            .taps;
        let t = taps
            .get(tap)
            .ok_or_else(|| format!("the forward pass returned no tap `{tap}`"))?;
        out.extend(t.to_host_f64(&be));
    }
    Ok(out)
}

/// What [`cross_run_cka`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossCka {
    /// Linear CKA of the two representations.
    pub cka: f64,
    /// Examples compared.
    pub examples: usize,
    /// The checkpoint step of each run.
    pub steps: (u64, u64),
}

/// Linear CKA between tap `tap_a` of run `a` and tap `tap_b` of run `b` on the first `examples`
/// inputs of `split`.
pub fn cross_run_cka(
    a: &Path,
    b: &Path,
    tap_a: &str,
    tap_b: &str,
    split: Split,
    examples: usize,
) -> Result<CrossCka, String> {
    let (ra, rb) = (load(a)?, load(b)?);
    let inputs = |run: &Loaded| -> Result<Vec<f64>, String> {
        let data = build_data(&run.cfg).map_err(|e| e.to_string())?;
        let n = data.spec().len(split).min(examples);
        let mut x = Vec::new();
        data.gather_inputs(split, &(0..n).collect::<Vec<_>>(), &mut x);
        Ok(x)
    };
    let (xa, xb) = (inputs(&ra)?, inputs(&rb)?);
    let n = examples.min(
        xa.len()
            / ra.trainer
                .model()
                .spec()
                .input_shape
                .iter()
                .product::<usize>()
                .max(1),
    );
    if xa.len() != xb.len() {
        return Err(format!(
            "the runs' {} splits differ in size or input shape ({} vs {} values in the first {n} examples)",
            split.name(),
            xa.len(),
            xb.len()
        ));
    }
    let width = xa.len() / n.max(1);
    if let Some(i) = xa.iter().zip(&xb).position(|(p, q)| p != q) {
        return Err(format!(
            "the runs see different inputs: {} example {} differs (give both the same data \
             configuration and `data_seed`)",
            split.name(),
            i / width.max(1)
        ));
    }
    if n < 2 {
        return Err(format!(
            "need at least 2 examples of {}, got {n}",
            split.name()
        ));
    }
    let fa = representation(&ra, tap_a, &xa, n)?;
    let fb = representation(&rb, tap_b, &xa, n)?;
    let cka = learnscope_stats::linear_cka(&fa, &fb, n).map_err(|e| e.to_string())?;
    Ok(CrossCka {
        cka,
        examples: n,
        steps: (ra.step, rb.step),
    })
}
