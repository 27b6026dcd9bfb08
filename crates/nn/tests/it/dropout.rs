//! Dropout: masks are pure functions of (root key, layer path, step), drop at the configured
//! rate, scale kept values by 1/(1 − p), and vanish in eval and probe passes.

use learnscope_nn::layer::Dropout;
use learnscope_nn::{CpuBackend, DType, ForwardCtx, Layer, Mode, RandomKey, Tensor};

use crate::common::{be, check_layer_at, tensor};

fn run(path: &str, p: f64, mode: Mode, step: u64, root: u64) -> Vec<f64> {
    let be = be();
    let mut d = Dropout::new(&be, DType::F32, p).unwrap();
    d.set_path(path);
    let x = Tensor::from_f64(&be, DType::F32, &[100, 100], &vec![1.0; 10_000]);
    d.forward(&be, &x, &ForwardCtx::new(mode, step, RandomKey::root(root)));
    d.output().to_host_f64(&be)
}

#[test]
fn masks_are_pure_functions_of_key_path_and_step() {
    let a = run("layers.2", 0.3, Mode::Train, 5, 1);
    assert_eq!(a, run("layers.2", 0.3, Mode::Train, 5, 1));
    assert_ne!(a, run("layers.2", 0.3, Mode::Train, 6, 1), "next step");
    assert_ne!(a, run("layers.3", 0.3, Mode::Train, 5, 1), "other layer");
    assert_ne!(a, run("layers.2", 0.3, Mode::Train, 5, 2), "other seed");
    // The documented key: `dropout/<path>` under the root key, at the step.
    let key = RandomKey::root(1).derive("dropout/layers.2").at(5);
    for (i, v) in a.iter().enumerate().take(500) {
        let kept = key.uniform_at(i as u64) < 0.7;
        assert_eq!(*v != 0.0, kept, "element {i}");
    }
    // Kept fraction of 10⁴ Bernoulli(0.7) draws: sd √(0.7·0.3/10⁴) ≈ 0.0046, 5 sd = 0.023.
    let kept = a.iter().filter(|&&v| v != 0.0).count() as f64 / a.len() as f64;
    assert!((kept - 0.7).abs() < 0.023, "kept {kept}");
    assert!(a.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
}

#[test]
fn eval_probe_and_p_zero_are_the_identity() {
    for mode in [Mode::Eval, Mode::Probe] {
        assert!(run("d", 0.5, mode, 1, 1).iter().all(|&v| v == 1.0));
    }
    assert!(run("d", 0.0, Mode::Train, 1, 1).iter().all(|&v| v == 1.0));
    let be = be();
    assert!(Dropout::<CpuBackend>::new(&be, DType::F32, 1.0).is_err());
    assert!(Dropout::<CpuBackend>::new(&be, DType::F32, -0.1).is_err());
}

#[test]
fn gradient_is_the_mask() {
    let be = be();
    let key = RandomKey::root(4);
    let mut d = Dropout::new(&be, DType::F64, 0.4).unwrap();
    d.set_path("drop");
    let x = tensor(&be, &[6, 5], key);
    check_layer_at(&mut d, &x, ForwardCtx::new(Mode::Train, 7, key));
    check_layer_at(&mut d, &x, ForwardCtx::new(Mode::Eval, 7, key));
    d.forward(&be, &x, &ForwardCtx::new(Mode::Train, 7, key));
    let dy = tensor(&be, &[6, 5], key.derive("dy"));
    d.backward(&be, &x, &dy, true);
    let m = d.mask().to_host_f64(&be);
    for ((g, a), b) in d
        .input_grad()
        .to_host_f64(&be)
        .iter()
        .zip(&m)
        .zip(dy.to_host_f64(&be))
    {
        assert_eq!(*g, a * b);
    }
}
