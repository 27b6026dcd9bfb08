//! Balanced mode strengths of deep linear networks (Saxe, McClelland & Ganguli 2014;
//! SCIENCE.md §C.1), in flow time t (τ = 1).
//!
//! With `layers` = `N_l − 1` weight matrices, balanced decoupled modes and `u` the product of
//! the per-layer mode scalars: `du/dt = layers · u^{2 − 2/layers} (s − u)`.
//! `layers = 1` is the shallow exponential, `layers = 2` the sigmoid of [`crate::saxe`] (both in
//! closed form); for `layers ≥ 3` the equation is integrated numerically in `x = ln u`,
//! `dx/dt = layers · e^{(1 − 2/layers) x} (s − e^x)`, where the plateau (tiny `u`) is a slow,
//! smooth drift instead of a relative change that adaptive steps in `u` would resolve poorly.
//! Classical RK4 with step doubling and Richardson extrapolation keeps the local error below
//! `1e-13` per unit time, so the relative error of `u` stays below `1e-10` over the horizons used
//! here. Learning times are quadratures of `dt = dx / (dx/dt)`.

use crate::error::{non_negative, TheoryError};
use crate::saxe;

/// Local error allowed per unit flow time, in `x = ln u` (i.e. relative in u).
const TOL_PER_TIME: f64 = 1e-13;

fn validate(what: &'static str, s: f64, u0: f64, layers: usize) -> Result<(), TheoryError> {
    non_negative(what, "s", s)?;
    non_negative(what, "u0", u0)?;
    if layers == 0 {
        return Err(TheoryError::param(
            what,
            "layers",
            0.0,
            ">= 1 weight matrix",
        ));
    }
    Ok(())
}

/// A deep balanced mode `u(t)` that evaluates many increasing times by continuing one
/// integration (closed forms for `layers ≤ 2`).
#[derive(Debug, Clone)]
pub struct DeepModeCurve {
    s: f64,
    u0: f64,
    layers: usize,
    closed_form: bool,
    t: f64,
    x: f64,
    h: f64,
    settled: bool,
}

impl DeepModeCurve {
    /// The curve for singular value `s ≥ 0`, initial strength `u₀ ≥ 0` and `layers ≥ 1` weight
    /// matrices.
    pub fn new(s: f64, u0: f64, layers: usize) -> Result<Self, TheoryError> {
        validate("deep::DeepModeCurve", s, u0, layers)?;
        Ok(Self::build(s, u0, layers, layers <= 2))
    }

    /// Like [`DeepModeCurve::new`] but always integrates numerically (to check the integrator
    /// against the closed forms).
    pub fn numerical(s: f64, u0: f64, layers: usize) -> Result<Self, TheoryError> {
        validate("deep::DeepModeCurve", s, u0, layers)?;
        if layers == 1 && u0 == 0.0 {
            return Err(TheoryError::param(
                "deep::DeepModeCurve::numerical",
                "u0",
                u0,
                "> 0 (ln u is integrated)",
            ));
        }
        Ok(Self::build(s, u0, layers, false))
    }

    fn build(s: f64, u0: f64, layers: usize, closed_form: bool) -> Self {
        let mut c = DeepModeCurve {
            s,
            u0,
            layers,
            closed_form,
            t: 0.0,
            x: 0.0,
            h: 0.0,
            settled: false,
        };
        c.reset();
        c
    }

    fn reset(&mut self) {
        self.t = 0.0;
        self.x = self.u0.ln();
        let rate = self.jacobian(self.x).abs() + self.rhs(self.x).abs();
        self.h = 1e-3 / rate.max(1.0);
        self.settled = self.u0 == 0.0 || self.u0 == self.s;
    }

    /// The singular value s.
    pub fn s(&self) -> f64 {
        self.s
    }

    /// `dx/dt` for `x = ln u`.
    fn rhs(&self, x: f64) -> f64 {
        let n = self.layers as f64;
        n * ((1.0 - 2.0 / n) * x).exp() * (self.s - x.exp())
    }

    /// `d(dx/dt)/dx`, to keep steps inside RK4's stability region.
    fn jacobian(&self, x: f64) -> f64 {
        let n = self.layers as f64;
        let e = x.exp();
        n * ((1.0 - 2.0 / n) * x).exp() * ((1.0 - 2.0 / n) * (self.s - e) - e)
    }

    fn rk4(&self, x: f64, h: f64) -> f64 {
        let k1 = self.rhs(x);
        let k2 = self.rhs(x + 0.5 * h * k1);
        let k3 = self.rhs(x + 0.5 * h * k2);
        let k4 = self.rhs(x + h * k3);
        x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    }

    /// One controlled step of at most `h`; returns (step taken, new x, suggested next h).
    fn step(&self, h_max: f64) -> (f64, f64, f64) {
        let mut h = h_max;
        loop {
            let one = self.rk4(self.x, h);
            let half = self.rk4(self.x, 0.5 * h);
            let two = self.rk4(half, 0.5 * h);
            let err = (two - one).abs() / 15.0;
            let tol = TOL_PER_TIME * h;
            if err <= tol || h < 1e-14 {
                let grow = if err == 0.0 {
                    4.0
                } else {
                    (0.9 * (tol / err).powf(0.25)).clamp(0.2, 4.0)
                };
                return (h, two + (two - one) / 15.0, h * grow);
            }
            h *= (0.9 * (tol / err).powf(0.25)).clamp(0.1, 0.5);
        }
    }

    /// `u(t)` for `t ≥ 0`. Calls with increasing `t` continue the integration; an earlier `t`
    /// restarts it from 0.
    pub fn at(&mut self, t: f64) -> f64 {
        if t.is_nan() || t < 0.0 {
            return f64::NAN;
        }
        if t == 0.0 {
            return self.u0;
        }
        if self.closed_form {
            return match self.layers {
                1 => saxe::shallow_mode(self.s, self.u0, t),
                _ => saxe::balanced_mode(self.s, self.u0, t),
            };
        }
        if t < self.t {
            self.reset();
        }
        while !self.settled && self.t < t {
            let stable = 1.0 / self.jacobian(self.x).abs().max(1e-300);
            let h_max = self.h.min(stable);
            let remaining = t - self.t;
            let truncated = h_max >= remaining;
            let (taken, x, next) = self.step(if truncated { remaining } else { h_max });
            self.x = x;
            if truncated && taken == remaining {
                // A step shortened to land on t says nothing about the next step size.
                self.t = t;
            } else {
                self.t += taken;
                self.h = next;
            }
            // Once u equals s to rounding, the stable fixed point has been reached.
            if self.s > 0.0 && (self.x - self.s.ln()).abs() < 4.0 * f64::EPSILON {
                self.settled = true;
            }
        }
        if self.settled && self.u0 > 0.0 && self.s > 0.0 {
            return self.s;
        }
        self.x.exp()
    }

    /// `u` at each of `times` (any order; sorted internally for one pass).
    pub fn values(&mut self, times: &[f64]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..times.len()).collect();
        order.sort_by(|&a, &b| times[a].total_cmp(&times[b]));
        let mut out = vec![0.0; times.len()];
        for i in order {
            out[i] = self.at(times[i]);
        }
        out
    }
}

/// `u(t)` of one deep balanced mode (see [`DeepModeCurve`] to evaluate many times).
pub fn deep_mode(s: f64, u0: f64, layers: usize, t: f64) -> Result<f64, TheoryError> {
    Ok(DeepModeCurve::new(s, u0, layers)?.at(t))
}

/// Time for a deep balanced mode to go from `u₀` to `u_f` (strictly between `u₀` and `s`, or
/// equal to `u₀`): `t = ∫_{ln u₀}^{ln u_f} dx / (layers · e^{(1−2/layers)x} (s − e^x))`,
/// in closed form for `layers ≤ 2`, otherwise by Gauss–Legendre panels refined until two
/// refinements agree to `1e-13` relative.
pub fn deep_learning_time(s: f64, u0: f64, uf: f64, layers: usize) -> Result<f64, TheoryError> {
    const WHAT: &str = "deep::deep_learning_time";
    validate(WHAT, s, u0, layers)?;
    non_negative(WHAT, "uf", uf)?;
    if u0 == 0.0 {
        return Err(TheoryError::param(
            WHAT,
            "u0",
            u0,
            "> 0 (u = 0 is a fixed point)",
        ));
    }
    if uf == u0 {
        return Ok(0.0);
    }
    let between = if u0 < s {
        uf > u0 && uf < s
    } else {
        uf < u0 && uf > s && uf > 0.0
    };
    if !between {
        return Err(TheoryError::param(
            WHAT,
            "uf",
            uf,
            "strictly between u0 and s, or equal to u0",
        ));
    }
    match layers {
        1 => Ok(((s - u0) / (s - uf)).ln()),
        2 => saxe::learning_time(s, u0, uf),
        _ => {
            let n = layers as f64;
            let f = |x: f64| (-(1.0 - 2.0 / n) * x).exp() / (n * (s - x.exp()));
            Ok(integrate(&f, u0.ln(), uf.ln()))
        }
    }
}

/// The first time a deep balanced mode reaches `s/2` (0 when `u₀ ≥ s/2`); needs `s > 0`,
/// `u₀ > 0`.
pub fn deep_half_time(s: f64, u0: f64, layers: usize) -> Result<f64, TheoryError> {
    const WHAT: &str = "deep::deep_half_time";
    validate(WHAT, s, u0, layers)?;
    if s == 0.0 {
        return Err(TheoryError::param(WHAT, "s", s, "> 0"));
    }
    if u0 == 0.0 {
        return Err(TheoryError::param(WHAT, "u0", u0, "> 0"));
    }
    if u0 >= 0.5 * s {
        return Ok(0.0);
    }
    deep_learning_time(s, u0, 0.5 * s, layers)
}

/// Composite 5-point Gauss–Legendre on `[a, b]`, doubling the panels until converged.
fn integrate(f: &dyn Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    const NODES: [f64; 5] = [
        0.0,
        -0.538_469_310_105_683_1,
        0.538_469_310_105_683_1,
        -0.906_179_845_938_664,
        0.906_179_845_938_664,
    ];
    const WEIGHTS: [f64; 5] = [
        0.568_888_888_888_888_9,
        0.478_628_670_499_366_5,
        0.478_628_670_499_366_5,
        0.236_926_885_056_189_1,
        0.236_926_885_056_189_1,
    ];
    let panel_sum = |panels: usize| {
        let h = (b - a) / panels as f64;
        let mut total = 0.0;
        for p in 0..panels {
            let mid = a + (p as f64 + 0.5) * h;
            let mut part = 0.0;
            for (x, w) in NODES.iter().zip(WEIGHTS) {
                part += w * f(mid + 0.5 * h * x);
            }
            total += 0.5 * h * part;
        }
        total
    };
    let mut panels = 16;
    let mut prev = panel_sum(panels);
    while panels < 1 << 20 {
        panels *= 2;
        let next = panel_sum(panels);
        if (next - prev).abs() <= 1e-13 * next.abs() {
            return next;
        }
        prev = next;
    }
    prev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerical_two_layers_matches_the_sigmoid() {
        for &(s, u0) in &[(3.0, 1e-3), (1.0, 1e-6), (0.3, 1e-3), (1.0, 2.5)] {
            let mut c = DeepModeCurve::numerical(s, u0, 2).unwrap();
            let mut worst = 0.0f64;
            for i in 0..=400 {
                let t = i as f64 * 0.1;
                let a = c.at(t);
                let b = saxe::balanced_mode(s, u0, t);
                worst = worst.max((a - b).abs() / b.abs().max(1e-300));
            }
            assert!(
                worst < 1e-9,
                "s = {s}, u0 = {u0}: worst relative error {worst}"
            );
        }
    }

    #[test]
    fn numerical_one_layer_matches_the_exponential() {
        let mut c = DeepModeCurve::numerical(2.0, 0.1, 1).unwrap();
        for i in 0..=50 {
            let t = i as f64 * 0.2;
            let e = saxe::shallow_mode(2.0, 0.1, t);
            assert!((c.at(t) - e).abs() < 1e-9 * e);
        }
    }

    #[test]
    fn deep_modes_converge_and_half_times_agree() {
        for layers in [3, 4, 6] {
            let (s, u0) = (2.0, 1e-3);
            let th = deep_half_time(s, u0, layers).unwrap();
            let mut c = DeepModeCurve::new(s, u0, layers).unwrap();
            let at_half = c.at(th);
            assert!(
                (at_half - 1.0).abs() < 1e-9,
                "layers {layers}: u(t½) = {at_half}"
            );
            let late = c.at(th * 20.0 + 50.0);
            assert!((late - s).abs() < 1e-12, "layers {layers}: {late}");
            // Restarting from an earlier time gives the same value.
            assert!((c.at(th) - at_half).abs() < 1e-15);
        }
        // Deeper nets have longer plateaus at small init.
        let t3 = deep_half_time(1.0, 1e-3, 3).unwrap();
        let t2 = deep_half_time(1.0, 1e-3, 2).unwrap();
        assert!(t3 > t2);
        assert!(
            (deep_half_time(1.0, 1e-3, 2).unwrap() - saxe::half_time(1.0, 1e-3).unwrap()).abs()
                < 1e-15
        );
    }

    #[test]
    fn quadrature_matches_the_closed_form_for_two_layers() {
        let f = |x: f64| 1.0 / (2.0 * (1.5 - x.exp()));
        let t = integrate(&f, (1e-4f64).ln(), 1.0f64.ln());
        let exact = saxe::learning_time(1.5, 1e-4, 1.0).unwrap();
        assert!((t - exact).abs() < 1e-12 * exact);
    }

    #[test]
    fn values_in_any_order_and_edge_cases() {
        let mut c = DeepModeCurve::new(1.0, 1e-2, 3).unwrap();
        let v = c.values(&[5.0, 1.0, 3.0]);
        let mut d = DeepModeCurve::new(1.0, 1e-2, 3).unwrap();
        assert!((v[1] - d.at(1.0)).abs() < 1e-15);
        assert!(v[1] < v[2] && v[2] < v[0]);
        assert_eq!(deep_mode(1.0, 0.0, 3, 10.0).unwrap(), 0.0);
        let decay = deep_mode(0.0, 0.5, 3, 1.0).unwrap();
        assert!(decay < 0.5 && decay > 0.0);
        assert!(DeepModeCurve::new(1.0, 0.1, 0).is_err());
        assert!(deep_learning_time(1.0, 0.1, 1.0, 3).is_err());
    }
}
