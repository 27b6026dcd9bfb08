//! The margin flow of one feature ([`LogitFlow`]) and the time-to-margin exponents it predicts
//! (see the parent module for the equations).

use serde::{Deserialize, Serialize};

use super::{ei, BinaryLoss, BinaryModel};
use crate::error::TheoryError;

/// The margin `z(t)` of one feature (frequency `p`, input norm `r`, initial margin `z₀`) under
/// gradient flow; see the module documentation for the equations.
///
/// Methods return NaN when the parameters are invalid (`p`, `r` finite and `> 0`, `z₀` finite,
/// and `z₀ > 0` for [`BinaryModel::TwoLayer`]); [`LogitFlow::new`] reports the broken rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogitFlow {
    /// Shallow or two-layer.
    pub model: BinaryModel,
    /// Cross-entropy or hinge.
    pub loss: BinaryLoss,
    /// Fraction of the training examples that carry the feature, `> 0`.
    pub p: f64,
    /// Input norm of those examples, `> 0`.
    pub r: f64,
    /// Initial margin (`u₀ r` for the two-layer mode, `> 0` there).
    pub z0: f64,
}

impl LogitFlow {
    /// A validated flow.
    pub fn new(
        model: BinaryModel,
        loss: BinaryLoss,
        p: f64,
        r: f64,
        z0: f64,
    ) -> Result<Self, TheoryError> {
        const WHAT: &str = "binary::LogitFlow";
        if !(p.is_finite() && p > 0.0) {
            return Err(TheoryError::param(WHAT, "p", p, "finite and > 0"));
        }
        if !(r.is_finite() && r > 0.0) {
            return Err(TheoryError::param(WHAT, "r", r, "finite and > 0"));
        }
        if !z0.is_finite() {
            return Err(TheoryError::param(WHAT, "z0", z0, "finite"));
        }
        if model == BinaryModel::TwoLayer && z0 <= 0.0 {
            return Err(TheoryError::param(
                WHAT,
                "z0",
                z0,
                "> 0 for the two-layer mode (z = 0 is a fixed point)",
            ));
        }
        Ok(Self {
            model,
            loss,
            p,
            r,
            z0,
        })
    }

    fn valid(&self) -> bool {
        self.p.is_finite()
            && self.p > 0.0
            && self.r.is_finite()
            && self.r > 0.0
            && self.z0.is_finite()
            && (self.model == BinaryModel::Shallow || self.z0 > 0.0)
    }

    /// The rate constant: `2 p r` (two-layer) or `p r²` (shallow).
    pub fn rate(&self) -> f64 {
        match self.model {
            BinaryModel::TwoLayer => 2.0 * self.p * self.r,
            BinaryModel::Shallow => self.p * self.r * self.r,
        }
    }

    /// `dz/dt` at margin `z`.
    pub fn velocity(&self, z: f64) -> f64 {
        match self.model {
            BinaryModel::TwoLayer => self.rate() * z * self.loss.g(z),
            BinaryModel::Shallow => self.rate() * self.loss.g(z),
        }
    }

    /// The flow time at which the margin first reaches `z_target`: 0 for `z_target ≤ z₀`,
    /// `+∞` for the hinge beyond `max(1, z₀)` (and for CE margins whose time overflows).
    pub fn time_to(&self, z_target: f64) -> f64 {
        if !self.valid() || z_target.is_nan() {
            return f64::NAN;
        }
        let z0 = self.z0;
        if z_target <= z0 {
            return 0.0;
        }
        let k = self.rate();
        match (self.model, self.loss) {
            (_, BinaryLoss::Hinge) if z_target > 1.0 => f64::INFINITY,
            (BinaryModel::TwoLayer, BinaryLoss::Hinge) => (z_target / z0).ln() / k,
            (BinaryModel::Shallow, BinaryLoss::Hinge) => (z_target - z0) / k,
            (BinaryModel::TwoLayer, BinaryLoss::CrossEntropy) => {
                ((z_target / z0).ln() + ei(z_target) - ei(z0)) / k
            }
            (BinaryModel::Shallow, BinaryLoss::CrossEntropy) => {
                // e^z − e^{z₀} = e^{z₀} (e^{z − z₀} − 1) keeps the digits for z close to z₀.
                let de = if z0 < 700.0 {
                    z0.exp() * (z_target - z0).exp_m1()
                } else {
                    f64::INFINITY
                };
                (z_target - z0 + de) / k
            }
        }
    }

    /// The margin at flow time `t ≥ 0` (NaN for negative t). The CE closed forms are inverted
    /// by Newton's method safeguarded by bisection (the residual is convex and increasing in
    /// `ln z` for the two-layer mode, in `z` for the shallow model), to about `1e-14` relative.
    pub fn z(&self, t: f64) -> f64 {
        if !self.valid() || t.is_nan() || t < 0.0 {
            return f64::NAN;
        }
        let z0 = self.z0;
        if t == 0.0 {
            return z0;
        }
        let k = self.rate();
        match (self.model, self.loss) {
            (_, BinaryLoss::Hinge) if z0 >= 1.0 => z0,
            (BinaryModel::TwoLayer, BinaryLoss::Hinge) => {
                let x = k * t;
                if x >= (1.0 / z0).ln() {
                    1.0
                } else {
                    (z0 * x.exp()).min(1.0)
                }
            }
            (BinaryModel::Shallow, BinaryLoss::Hinge) => (z0 + k * t).min(1.0),
            (_, BinaryLoss::CrossEntropy) if t == f64::INFINITY => f64::INFINITY,
            (BinaryModel::TwoLayer, BinaryLoss::CrossEntropy) => {
                let target = k * t;
                let s0 = z0.ln();
                let ei0 = ei(z0);
                // In s = ln z: F(s) = s − s₀ + Ei(e^s) − Ei(z₀) − 2prt, F' = 1 + e^z.
                let f = |s: f64| {
                    let z = s.exp();
                    (s - s0 + ei(z) - ei0 - target, 1.0 + z.exp())
                };
                // σ(−z) ≤ ½ for z ≥ 0 ⇒ z ≤ z₀ e^{prt}. For large margins e^z / z ≈ 2prt gives
                // a much closer bracket, z ≈ L + ln L with L = ln(2prt), raised until F ≥ 0.
                let mut hi = s0 + 0.5 * target;
                if hi > 2f64.ln() {
                    let l = target.ln().max(1.0);
                    let mut zg = (l + l.ln() + 1.0).max(2.0);
                    for _ in 0..100 {
                        if f(zg.ln()).0 >= 0.0 {
                            break;
                        }
                        zg *= 1.5;
                    }
                    hi = hi.min(zg.ln());
                }
                let s = solve_increasing(f, s0, hi, 1e-15);
                s.exp()
            }
            (BinaryModel::Shallow, BinaryLoss::CrossEntropy) => {
                let target = k * t;
                let e0 = z0.exp();
                let f = |z: f64| {
                    let de = if z0 < 700.0 {
                        e0 * (z - z0).exp_m1()
                    } else {
                        f64::INFINITY
                    };
                    (z - z0 + de - target, 1.0 + z.exp())
                };
                // Both z − z₀ and e^z − e^{z₀} are at most prt² t.
                let hi = (z0 + target).min((e0 + target).ln().max(z0));
                solve_increasing(f, z0, hi, 1e-15 * z0.abs().max(1.0))
            }
        }
    }

    /// [`LogitFlow::z`] at each time.
    pub fn z_series(&self, times: &[f64]) -> Vec<f64> {
        times.iter().map(|&t| self.z(t)).collect()
    }
}

/// Root of an increasing function on `[lo, hi]` with `f(lo) ≤ 0 ≤ f(hi)` (f returns value and
/// derivative): Newton from the right end (monotone for convex f), bisection whenever a Newton
/// step leaves the bracket or is not finite. Stops when the step or bracket is below `tol`.
fn solve_increasing(f: impl Fn(f64) -> (f64, f64), mut lo: f64, mut hi: f64, tol: f64) -> f64 {
    let mut x = hi;
    for _ in 0..300 {
        let (v, d) = f(x);
        if v == 0.0 {
            return x;
        }
        if v < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let newton = x - v / d;
        if d.is_finite() && d > 0.0 && newton > lo && newton < hi {
            if (newton - x).abs() <= tol {
                return newton;
            }
            x = newton;
        } else {
            x = 0.5 * (lo + hi);
        }
        if hi - lo <= tol {
            return x;
        }
    }
    x
}

/// The input-norm exponent of the time to reach margin `z_star`: the ordinary least-squares
/// slope of `ln t(z*)` against `ln r` over `norms` (the estimate a fitted exponent over the same
/// design targets), with initial margin `z0_of_r(r)` (e.g. `|r| u₀ · r` for the two-layer mode).
///
/// Exact local slopes: shallow with `z₀` independent of `r`: −2. Two-layer with `z₀ = u₀ r`:
/// `d ln t / d ln r = −1 − (1 + e^{z₀}) / [2 p r t(z*)]` — at small margins `dz/dt ≈ p r z`, so
/// `2 p r t ≈ 2 ln(z*/z₀) + (z* − z₀)` and the slope is ≈ [`log_corrected_norm_exponent`];
/// for `z* = 1`, `z₀ = 10⁻³` the exact CE slope is −1.132 against −1.145 for the
/// approximation (the `e^{z}` part of `(1 + e^z)/z` adds `Ei(z*) − Ei(z₀) − ln(z*/z₀) ≈ 1.3`
/// to the denominator). Hinge: `t = ln(z*/z₀)/(2pr)`, slope exactly `−1 − 1/ln(z*/z₀)`.
///
/// NaN if fewer than two distinct norms, or any time is not finite and positive.
pub fn predicted_norm_exponent(
    model: BinaryModel,
    loss: BinaryLoss,
    p: f64,
    norms: &[f64],
    z0_of_r: impl Fn(f64) -> f64,
    z_star: f64,
) -> f64 {
    let mut xs = Vec::with_capacity(norms.len());
    let mut ys = Vec::with_capacity(norms.len());
    for &r in norms {
        let flow = LogitFlow {
            model,
            loss,
            p,
            r,
            z0: z0_of_r(r),
        };
        let t = flow.time_to(z_star);
        if !(t.is_finite() && t > 0.0) {
            return f64::NAN;
        }
        xs.push(r.ln());
        ys.push(t.ln());
    }
    ols_slope(&xs, &ys)
}

fn ols_slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    if xs.len() < 2 {
        return f64::NAN;
    }
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    if sxx > 0.0 {
        sxy / sxx
    } else {
        f64::NAN
    }
}

/// The small-margin approximation of the two-layer norm exponent, `−1 − 1/ln(z*/z₀)`: with
/// `dz/dt ≈ p r z` (σ(−z) ≈ ½) the time is `ln(z*/z₀)/(p r)` and `z₀ = u₀ r` moves with `r`.
/// ≈ −1.145 for `z*/z₀ = 10³`. Exact for the hinge; see [`predicted_norm_exponent`] for how
/// far the CE value differs. NaN unless `z* > z₀ > 0`.
pub fn log_corrected_norm_exponent(z_star: f64, z0: f64) -> f64 {
    if !(z0 > 0.0 && z_star > z0) {
        return f64::NAN;
    }
    -1.0 - 1.0 / (z_star / z0).ln()
}

/// The exponent of `t` against the feature frequency `p`: exactly −1 for both models and both
/// losses, because `p` only multiplies the rate (`dz/dt = p · h(z)` with `h` independent of `p`,
/// and `z₀` does not depend on `p`), so `t(z*) = (1/p) ∫ dz/h(z)`.
pub fn predicted_frequency_exponent() -> f64 {
    -1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    /// Gradient descent with rate `eta` on the scalar net of one feature: shallow `z = w r`
    /// or two-layer `z = a b r` (balanced start `a = b = √u₀`), loss `p ℓ(z)` (the feature's
    /// share of the mean loss). Returns z after each of `steps` steps, sampled every `every`.
    /// The flow's model, loss, p and r are used; the start is `init` (w₀ or u₀).
    fn gd(flow: &LogitFlow, init: f64, eta: f64, steps: usize, every: usize) -> Vec<(f64, f64)> {
        let (model, loss, p, r) = (flow.model, flow.loss, flow.p, flow.r);
        let (mut a, mut b) = match model {
            BinaryModel::Shallow => (init, 0.0),
            BinaryModel::TwoLayer => (init.sqrt(), init.sqrt()),
        };
        let mut out = Vec::new();
        for step in 1..=steps {
            match model {
                BinaryModel::Shallow => {
                    let g = loss.g(a * r);
                    a += eta * p * g * r;
                }
                BinaryModel::TwoLayer => {
                    let g = loss.g(a * b * r);
                    let (da, db) = (p * g * b * r, p * g * a * r);
                    a += eta * da;
                    b += eta * db;
                }
            }
            if step % every == 0 {
                let z = match model {
                    BinaryModel::Shallow => a * r,
                    BinaryModel::TwoLayer => a * b * r,
                };
                out.push((eta * step as f64, z));
            }
        }
        out
    }

    /// Every closed form against gradient descent with η = 1e-4 at t = η · step. Euler's global
    /// error is O(η · t · rate²) relative, i.e. a few 1e-4 here, so 1e-3 is the tolerance.
    #[test]
    fn closed_forms_match_small_step_gradient_descent() {
        let (p, r, u0, eta) = (0.3, 2.0, 1e-2, 1e-4);
        for model in [BinaryModel::TwoLayer, BinaryModel::Shallow] {
            for loss in [BinaryLoss::CrossEntropy, BinaryLoss::Hinge] {
                let init = match model {
                    BinaryModel::TwoLayer => u0,
                    BinaryModel::Shallow => -0.3,
                };
                let flow = LogitFlow::new(model, loss, p, r, init * r).unwrap();
                for (t, z) in gd(&flow, init, eta, 150_000, 5_000) {
                    let zc = flow.z(t);
                    // The shallow margin starts at −0.6 and crosses 0: relative to max(|z|, 1).
                    assert!(
                        (z - zc).abs() < 1e-3 * zc.abs().max(1.0),
                        "{model:?} {loss:?} t={t}: gd {z} closed {zc}"
                    );
                }
            }
        }
    }

    #[test]
    fn time_to_inverts_z() {
        for model in [BinaryModel::TwoLayer, BinaryModel::Shallow] {
            for loss in [BinaryLoss::CrossEntropy, BinaryLoss::Hinge] {
                for &(p, r, z0) in &[(0.3, 2.0, 1e-3), (1.0, 0.5, 0.2), (0.05, 10.0, 1e-6)] {
                    let flow = LogitFlow::new(model, loss, p, r, z0).unwrap();
                    for &zt in &[2.0 * z0, 0.01, 0.5, 0.999, 1.0, 3.0, 30.0, 300.0] {
                        let t = flow.time_to(zt);
                        if zt <= z0 {
                            assert_eq!(t, 0.0);
                            continue;
                        }
                        if loss == BinaryLoss::Hinge && zt > 1.0 {
                            assert_eq!(t, f64::INFINITY);
                            continue;
                        }
                        let z = flow.z(t);
                        assert!(
                            rel(z, zt) < 1e-13,
                            "{model:?} {loss:?} {p} {r} {z0} {zt}: {z}"
                        );
                    }
                }
            }
        }
        // Shallow from a negative margin.
        let flow = LogitFlow::new(
            BinaryModel::Shallow,
            BinaryLoss::CrossEntropy,
            0.5,
            1.0,
            -3.0,
        )
        .unwrap();
        let t = flow.time_to(-1.0);
        assert!(rel(flow.z(t), -1.0) < 1e-13);
        assert_eq!(flow.z(0.0), -3.0);
        assert!(flow.z(-1.0).is_nan());
        assert!(LogitFlow::new(BinaryModel::TwoLayer, BinaryLoss::Hinge, 0.5, 1.0, 0.0).is_err());
        assert!(LogitFlow::new(BinaryModel::Shallow, BinaryLoss::Hinge, 0.0, 1.0, 0.0).is_err());
    }

    #[test]
    fn hinge_stops_at_the_margin_in_finite_time() {
        let (p, r, z0) = (0.4, 1.5, 1e-3);
        let two = LogitFlow::new(BinaryModel::TwoLayer, BinaryLoss::Hinge, p, r, z0).unwrap();
        let t1 = two.time_to(1.0);
        assert!(rel(t1, (1.0 / z0).ln() / (2.0 * p * r)) < 1e-15);
        assert_eq!(two.z(t1), 1.0);
        assert_eq!(two.z(10.0 * t1), 1.0);
        assert!(two.z(0.99 * t1) < 1.0);
        let shallow = LogitFlow::new(BinaryModel::Shallow, BinaryLoss::Hinge, p, r, 0.0).unwrap();
        let ts = shallow.time_to(1.0);
        assert!(rel(ts, 1.0 / (p * r * r)) < 1e-15);
        assert_eq!(shallow.z(5.0 * ts), 1.0);
        // Gradient descent also halts (within one step's overshoot).
        let last = gd(&two, z0 / r, 1e-4, 200_000, 200_000);
        assert!(last[0].1 >= 1.0 && last[0].1 < 1.0 + 1e-3);
    }

    /// CE never stops but slows to logarithmic growth: shallow `e^z ≈ p r² t`, so
    /// `z − ln t → ln(p r²)` (bounded); two-layer `e^z / z ≈ 2 p r t`, so `z − ln t` drifts like
    /// `ln z ≈ ln ln t` while `z − ln z − ln t → ln(2pr)`, with an `O(1/z)` correction.
    #[test]
    fn cross_entropy_grows_logarithmically() {
        let (p, r) = (0.3, 2.0);
        let shallow =
            LogitFlow::new(BinaryModel::Shallow, BinaryLoss::CrossEntropy, p, r, 0.0).unwrap();
        let two =
            LogitFlow::new(BinaryModel::TwoLayer, BinaryLoss::CrossEntropy, p, r, 1e-3).unwrap();
        for &t in &[1e3, 1e6, 1e9, 1e12] {
            let zs = shallow.z(t);
            let ds = zs - t.ln() - (p * r * r).ln();
            assert!(
                ds.abs() < 2.0 * zs * (-zs).exp() + 1e-12 && ds < 0.0,
                "{t} {ds}"
            );
            let z = two.z(t);
            let d = z - z.ln() - t.ln() - (2.0 * p * r).ln();
            assert!(d.abs() < 2.0 / z, "{t} {z} {d}");
        }
        assert_eq!(two.z(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn exponents() {
        let norms: Vec<f64> = (0..9).map(|i| 0.5 * 2f64.powf(i as f64 / 4.0)).collect();
        let u0 = 1e-3;
        let p = 0.2;
        // z*/z₀ = 10³ at r = 1.
        let two = predicted_norm_exponent(
            BinaryModel::TwoLayer,
            BinaryLoss::CrossEntropy,
            p,
            &norms,
            |r| u0 * r,
            1.0,
        );
        let approx = log_corrected_norm_exponent(1.0, u0);
        assert!(two > -1.3 && two < -1.0, "{two}");
        assert!((approx + 1.144_76).abs() < 1e-5, "{approx}");
        assert!((two - approx).abs() < 0.03, "{two} {approx}");
        let hinge = predicted_norm_exponent(
            BinaryModel::TwoLayer,
            BinaryLoss::Hinge,
            p,
            &norms,
            |r| u0 * r,
            1.0,
        );
        assert!((hinge - approx).abs() < 0.01, "{hinge} {approx}");
        for loss in [BinaryLoss::CrossEntropy, BinaryLoss::Hinge] {
            let s = predicted_norm_exponent(BinaryModel::Shallow, loss, p, &norms, |_| 0.0, 1.0);
            assert!((s + 2.0).abs() < 1e-12, "{s}");
        }
        // The time scales exactly as 1/p.
        let ps = [0.05, 0.1, 0.4, 1.0];
        let xs: Vec<f64> = ps.iter().map(|p: &f64| p.ln()).collect();
        let ys: Vec<f64> = ps
            .iter()
            .map(|&p| {
                LogitFlow::new(
                    BinaryModel::TwoLayer,
                    BinaryLoss::CrossEntropy,
                    p,
                    2.0,
                    1e-3,
                )
                .unwrap()
                .time_to(2.0)
                .ln()
            })
            .collect();
        assert!((ols_slope(&xs, &ys) - predicted_frequency_exponent()).abs() < 1e-12);
        assert!(predicted_norm_exponent(
            BinaryModel::TwoLayer,
            BinaryLoss::Hinge,
            p,
            &norms,
            |r| u0 * r,
            2.0
        )
        .is_nan());
        assert!(log_corrected_norm_exponent(1.0, 2.0).is_nan());
    }
}
