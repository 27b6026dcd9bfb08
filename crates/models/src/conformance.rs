//! `check_model`: the conformance test every model passes (DESIGN.md §3).
//!
//! It checks, on a random batch:
//! 1. the logits have shape `[batch, outputs]` and are finite;
//! 2. parameter names are unique (within each member of an ensemble, whose members keep their
//!    own names) and every gradient has its parameter's shape;
//! 3. two `Eval` passes, a `Probe` pass and a clone give bit-identical logits;
//! 4. a `Probe` pass and the tap-collecting passes change no parameter or buffer;
//! 5. every advertised tap is returned with the batch as its first dimension;
//! 6. a batch of the wrong shape is refused with `ShapeMismatch`;
//! 7. (f64 models) the gradients of L = Σ r ⊙ logits (r random, so dL/dlogits = r) with respect to
//!    every parameter and to the input match central differences within the tolerance of
//!    [`learnscope_nn::gradcheck`]. Inputs are redrawn until no pre-activation is closer to 0
//!    than 1e-4 (≫ the 1e-6·|x| a perturbation moves it), so no ReLU kink lies inside a stencil
//!    (`.pre` taps equal to their `.out` twin belong to identity activations and are skipped).

use learnscope_core::{DType, RandomKey};
use learnscope_nn::gradcheck::GradCheck;
use learnscope_nn::{Backend, ForwardCtx, Mode, NnError, Tensor};

use crate::model::{Model, TapRequest};

fn params_host<B: Backend>(m: &dyn Model<B>) -> Vec<Vec<f64>> {
    let be = m.backend().clone();
    let mut v = Vec::new();
    m.visit_params(&mut |p| v.push(p.value.to_host_f64(&be)));
    m.visit_buffers(&mut |b| v.push(b.value.to_host_f64(&be)));
    v
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Runs the conformance checks on `model` with a batch of `batch` examples drawn from `key`.
/// Returns a description of the first failure.
pub fn check_model<B: Backend>(
    model: &mut dyn Model<B>,
    batch: usize,
    key: RandomKey,
) -> Result<(), String> {
    let be = model.backend().clone();
    let spec = model.spec().clone();
    let ctx = |mode| ForwardCtx::new(mode, 0, key);
    let mut shape = vec![batch];
    shape.extend(&spec.input_shape);
    let per_batch: usize = shape.iter().product();

    // 7 (setup): an input whose pre-activations avoid kinks.
    let mut xs = Vec::new();
    for attempt in 0..50u64 {
        xs = key.derive("conformance/x").at(attempt).normals(per_batch);
        let x = Tensor::from_f64(&be, spec.dtype, &shape, &xs);
        let fwd = model
            .forward(&x, &ctx(Mode::Eval), &TapRequest::All)
            .map_err(|e| format!("forward: {e}"))?;
        // A `.pre` tap equal to its `.out` twin belongs to an identity activation: no kink.
        let min_pre = fwd
            .taps
            .iter()
            .filter(|(n, t)| {
                n.strip_suffix(".pre").is_some_and(|stem| {
                    fwd.taps
                        .get(&format!("{stem}.out"))
                        .is_none_or(|o| bits(&o.to_host_f64(&be)) != bits(&t.to_host_f64(&be)))
                })
            })
            .flat_map(|(_, t)| t.to_host_f64(&be))
            .fold(f64::INFINITY, |m, z| m.min(z.abs()));
        if min_pre > 1e-4 {
            break;
        }
        if attempt == 49 {
            return Err("could not draw an input away from activation kinks".into());
        }
    }
    let x = Tensor::from_f64(&be, spec.dtype, &shape, &xs);
    let before = params_host(model);

    // 1, 5: logits and taps.
    let fwd = model
        .forward(&x, &ctx(Mode::Eval), &TapRequest::All)
        .map_err(|e| format!("forward: {e}"))?;
    if fwd.logits.shape() != [batch, spec.outputs] {
        return Err(format!(
            "logits shape {:?}, expected [{batch}, {}]",
            fwd.logits.shape(),
            spec.outputs
        ));
    }
    let logits = fwd.logits.to_host_f64(&be);
    if logits.iter().any(|v| !v.is_finite()) {
        return Err("non-finite logits on a standard-normal batch".into());
    }
    let taps = fwd.taps;
    for name in model.tap_names() {
        match taps.get(&name) {
            None => {
                return Err(format!(
                    "advertised tap `{name}` missing from TapRequest::All"
                ))
            }
            Some(t) if t.shape().first() != Some(&batch) => {
                return Err(format!(
                    "tap `{name}` has shape {:?}, batch first expected",
                    t.shape()
                ))
            }
            _ => {}
        }
    }

    // 2: names and gradient shapes.
    let names = model.param_names();
    for i in 0..model.members() {
        let names = match model.member(i) {
            Some(m) => m.param_names(),
            None => model.param_names(),
        };
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != names.len() || names.iter().any(|n| n.is_empty()) {
            return Err(format!(
                "parameter names not unique and non-empty: {names:?}"
            ));
        }
    }
    let mut bad = None;
    model.visit_params(&mut |p| {
        if p.grad.shape() != p.value.shape() {
            bad = Some(p.name.clone());
        }
    });
    if let Some(n) = bad {
        return Err(format!("gradient of `{n}` has the wrong shape"));
    }

    // 3: determinism across passes, modes and clones.
    for (what, mode) in [
        ("second Eval pass", Mode::Eval),
        ("Probe pass", Mode::Probe),
    ] {
        let again = model
            .forward(&x, &ctx(mode), &TapRequest::None)
            .map_err(|e| format!("forward: {e}"))?
            .logits
            .to_host_f64(&be);
        if bits(&again) != bits(&logits) {
            return Err(format!("{what} differs from the first Eval pass"));
        }
    }
    let mut clone = model.clone_model();
    let cl = clone
        .forward(&x, &ctx(Mode::Eval), &TapRequest::None)
        .map_err(|e| format!("forward: {e}"))?
        .logits
        .to_host_f64(&be);
    if bits(&cl) != bits(&logits) {
        return Err("a clone computes different logits".into());
    }

    // 4: passes change no parameter or buffer.
    if params_host(model)
        .iter()
        .map(|v| bits(v))
        .ne(before.iter().map(|v| bits(v)))
    {
        return Err("a forward pass changed parameters or buffers".into());
    }

    // 6: wrong input shape.
    let mut wrong = shape.clone();
    *wrong.last_mut().expect("non-empty") += 1;
    let xw = Tensor::zeros(&be, spec.dtype, &wrong);
    match model.forward(&xw, &ctx(Mode::Eval), &TapRequest::None) {
        Err(NnError::ShapeMismatch { .. }) => {}
        Err(e) => {
            return Err(format!(
                "wrong input shape gave {e}, expected ShapeMismatch"
            ))
        }
        Ok(_) => return Err(format!("input of shape {wrong:?} was accepted")),
    }

    // 7: gradients against central differences (f64 only: f32 rounding swamps the stencil).
    if spec.dtype != DType::F64 {
        return Ok(());
    }
    let r = key.derive("conformance/r").normals(batch * spec.outputs);
    let rt = Tensor::from_f64(&be, spec.dtype, &[batch, spec.outputs], &r);
    model
        .forward(&x, &ctx(Mode::Eval), &TapRequest::None)
        .map_err(|e| format!("forward: {e}"))?;
    let gtaps = model
        .backward(&rt, &TapRequest::names(["input"]))
        .map_err(|e| format!("backward: {e}"))?;
    let mut analytic = vec![gtaps
        .get("input")
        .ok_or("backward did not return the `input` gradient tap")?
        .to_host_f64(&be)];
    let mut values = vec![xs.clone()];
    let mut shapes = Vec::new();
    model.visit_params(&mut |p| {
        analytic.push(p.grad.to_host_f64(&be));
        values.push(p.value.to_host_f64(&be));
        shapes.push(p.value.shape().to_vec());
    });
    let mut scratch = model.clone_model();
    let loss = |vals: &[Vec<f64>]| -> f64 {
        let mut i = 0;
        scratch.visit_params_mut(&mut |p| {
            i += 1;
            p.value = Tensor::from_f64(&be, spec.dtype, &shapes[i - 1], &vals[i]);
        });
        let xin = Tensor::from_f64(&be, spec.dtype, &shape, &vals[0]);
        let out = scratch
            .forward(
                &xin,
                &ForwardCtx::new(Mode::Eval, 0, key),
                &TapRequest::None,
            )
            .expect("shape checked above")
            .logits
            .to_host_f64(&be);
        out.iter().zip(&r).map(|(a, b)| a * b).sum()
    };
    GradCheck::default()
        .run(&values, &analytic, loss)
        .map(|_| ())
        .map_err(|f| {
            let what = if f.tensor == 0 {
                "input".to_string()
            } else {
                names[f.tensor - 1].clone()
            };
            format!(
                "gradient of `{what}`[{}]: finite difference {} vs analytic {} (tolerance {:e})",
                f.index, f.numeric, f.analytic, f.tolerance
            )
        })
}
