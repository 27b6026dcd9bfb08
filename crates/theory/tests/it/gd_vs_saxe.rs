//! Plain full-batch gradient descent on two-layer scalar modes against the Saxe sigmoid
//! (SCIENCE.md §C.1 convention check).
//!
//! Tolerance, derived. With whitened inputs and a decoupled balanced init, each mode is a pair of
//! scalars with `a ← a + η b (s − ab)`, `b ← b + η a (s − ab)`, so `u = ab` obeys
//! `u_{k+1} = u_k + 2η u(s − u) + η² u (s − u)²`, whereas the flow over a time η gives
//! `u + 2η u(s − u) + 2η² u(s − u)(s − 2u) + O(η³)`. The difference per step is
//! `η² u(s − u)(3u − s)`. In the log-odds `z = ln(u/(s − u))`, where the flow is the straight
//! line `dz/dt = 2s`, this is `η² s (3u − s)` per step, so after time t GD is shifted by
//! `Δz = η s ∫₀ᵗ (3u − s) dt'`, a time shift `Δt = Δz/2s`. Up to the steepest point
//! (`u = s/2`, `t½ = ln((s − u₀)/u₀)/2s`), with `∫ u dt = ∫ du / 2(s − u)`:
//! `Δt = η [ −¼ ln((s − u₀)/u₀) + ¾ ln(2(s − u₀)/s) ]`, i.e. to leading order `η ln(s/u₀)/4`.
//! The largest error in u sits where the slope `du/dt = 2u(s − u)` is largest, `s²/2`, so
//! `max |u_GD − u| ≈ (s²/2) |Δt| ≤ (s²/2) η ln(s/u₀)/4`. For s = 3, u₀ = 1e-3, η = 1e-3 the
//! refined prediction is 0.0067 and the leading-order bound 0.0090 (SCIENCE.md quotes 0.0026
//! for this case; this test measures 0.0067, as predicted).

use learnscope_theory::saxe::balanced_mode;
use learnscope_theory::{flow_time, Reduction};

fn refined_error(s: f64, u0: f64, eta: f64) -> f64 {
    let dt = eta * (-0.25 * ((s - u0) / u0).ln() + 0.75 * (2.0 * (s - u0) / s).ln());
    0.5 * s * s * dt.abs()
}

#[test]
fn gd_modes_follow_the_sigmoid() {
    let (eta, u0): (f64, f64) = (1e-3, 1e-3);
    let steps = 6000; // t ∈ [0, 6]
    for s in [3.0, 1.0, 0.3] {
        let (mut a, mut b) = (u0.sqrt(), u0.sqrt());
        let mut worst = 0.0f64;
        for step in 1..=steps {
            let r = s - a * b;
            (a, b) = (a + eta * b * r, b + eta * a * r);
            let t = flow_time(eta * step as f64, Reduction::Mean, 1);
            worst = worst.max((a * b - balanced_mode(s, u0, t)).abs());
        }
        let bound = 0.5 * s * s * eta * (s / u0).ln() / 4.0;
        eprintln!(
            "s = {s}: max |u_GD − u| = {worst:.6}, refined prediction {:.6}, bound {bound:.6}",
            refined_error(s, u0, eta)
        );
        assert!(worst < bound, "s = {s}: {worst} >= {bound}");
        if s == 3.0 {
            // The mode that is fully learned within the window: the time-shift model is tight.
            let pred = refined_error(s, u0, eta);
            assert!((worst - pred).abs() < 0.1 * pred, "{worst} vs {pred}");
        }
    }
}

#[test]
fn sum_reduction_is_the_same_curve_at_p_times_the_time() {
    // With the sum over P examples the per-step gradient is P times larger.
    let (p, eta, s, u0): (usize, f64, f64, f64) = (4, 2.5e-4, 2.0, 1e-2);
    let (mut a, mut b) = (u0.sqrt(), u0.sqrt());
    let mut worst = 0.0f64;
    for step in 1..=2000 {
        let r = s - a * b;
        let g = p as f64 * eta;
        (a, b) = (a + g * b * r, b + g * a * r);
        let t = flow_time(eta * step as f64, Reduction::Sum, p);
        worst = worst.max((a * b - balanced_mode(s, u0, t)).abs());
    }
    assert!(worst < 0.01, "{worst}");
}
