//! Logit flows of binary classification with cross-entropy or hinge loss (SCIENCE.md §P3.3, a
//! reconstruction of Tachet des Combes et al. 2018, arXiv:1809.06848, "On the Learning Dynamics
//! of Deep Neural Networks"), gradient starvation (§C.4, Pezeshki et al. 2021,
//! arXiv:2011.09468) and the failed-training probability, in flow time t (τ = 1, i.e.
//! `t = η · steps` for full-batch mean-reduced losses; convert with [`crate::flow_time`]).
//!
//! Labels `y = ±1`; `z = y f(x)` is the margin contributed by one feature whose examples have
//! input norm `r` and which a fraction `p` of the training examples carry. `g(z) = −ℓ'(z)`:
//! cross-entropy `ℓ = ln(1 + e^{−z})`, `g = σ(−z)`; hinge `ℓ = max(0, 1 − z)`, `g = 1` for
//! `z < 1`, else 0.
//!
//! - **Two-layer balanced mode** (`w = a x̂`, `v = b`, `a = b`, `z = a b r`, `u = a b`):
//!   `da/dt = p g b r`, `db/dt = p g a r` ⇒ `dz/dt = 2 p r z g(z)`, `z₀ = u₀ r`.
//!   CE: `t(z) = [ln(z/z₀) + Ei(z) − Ei(z₀)] / (2 p r)` (the integral of `(1 + e^z)/z`);
//!   hinge: `z = z₀ e^{2 p r t}` until `z = 1` at `t = ln(1/z₀)/(2 p r)`, then constant.
//! - **Shallow** (`f = w x`): `dz/dt = p r² g(z)`. CE: `t(z) = [z − z₀ + e^z − e^{z₀}] / (p r²)`;
//!   hinge: `z = z₀ + p r² t` until 1.
//!
//! Times scale as `1/p` exactly in both models; the input-norm exponent of the time to a fixed
//! margin is exactly −2 for the shallow model (with `z₀` independent of `r`) and, for the
//! two-layer model with `z₀ = u₀ r`, `−1 − (1 + e^{z₀}) / [2 p r t(z*)]`, close to the
//! small-margin form `−1 − 1/ln(z*/z₀)` (see [`predicted_norm_exponent`]).
//!
//! The gradient-starvation model ([`StarvationModel`]) couples several features through the
//! shared margins of groups of examples; see its documentation for the equations.

use serde::{Deserialize, Serialize};

use crate::error::TheoryError;

/// Euler's constant γ.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// The exponential integral `Ei(x) = −PV∫_{−x}^{∞} e^{−s}/s ds` for `x > 0` (`−∞` at 0, NaN for
/// negative or NaN `x`, `+∞` once the value overflows, near `x ≈ 716`).
///
/// For `x ≤ 40` the convergent series `γ + ln x + Σ_{k≥1} x^k / (k · k!)` (all terms positive,
/// so the sum is accurate to a few ulps); for `x > 40` the asymptotic series
/// `e^x/x · Σ_k k!/x^k`, truncated at its smallest term (below `7e-17` relative for `x > 40`).
/// The relative error is about `1e-15` except near the zero of Ei at `x ≈ 0.3725`, where only
/// the absolute error (a few `1e-16`) is guaranteed.
pub fn ei(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x == f64::INFINITY {
        return f64::INFINITY;
    }
    if x <= 40.0 {
        let mut term = 1.0; // x^k / k!
        let mut sum = 0.0;
        for k in 1..500 {
            let kf = k as f64;
            term *= x / kf;
            let add = term / kf;
            sum += add;
            if add <= 1e-17 * sum {
                break;
            }
        }
        EULER_GAMMA + x.ln() + sum
    } else {
        let mut term = 1.0; // k! / x^k
        let mut sum = 1.0;
        for k in 1..200 {
            let next = term * k as f64 / x;
            if next >= term || next < 1e-17 {
                break;
            }
            term = next;
            sum += term;
        }
        // e^x / x without overflowing before the product does.
        (x - x.ln()).exp() * sum
    }
}

/// `σ(−z) = 1 / (1 + e^z)` without overflow for either sign of `z`.
pub fn sigmoid_neg(z: f64) -> f64 {
    if z >= 0.0 {
        let e = (-z).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + z.exp())
    }
}

/// The cross-entropy `ln(1 + e^{−z})` without overflow or cancellation.
pub fn ce_loss(z: f64) -> f64 {
    (-z).max(0.0) + (-z.abs()).exp().ln_1p()
}

/// The loss of a binary classifier as a function of the margin `z = y f(x)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryLoss {
    /// `ℓ = ln(1 + e^{−z})`, `g = σ(−z)`: never stops, margins grow logarithmically.
    CrossEntropy,
    /// `ℓ = max(0, 1 − z)`, `g = 1` for `z < 1`, else 0: learning halts at the margin.
    Hinge,
}

impl BinaryLoss {
    /// `g(z) = −ℓ'(z)` (for the hinge the one-sided value at the kink: `g(1) = 0`).
    pub fn g(self, z: f64) -> f64 {
        match self {
            BinaryLoss::CrossEntropy => sigmoid_neg(z),
            BinaryLoss::Hinge => {
                if z.is_nan() {
                    f64::NAN
                } else if z < 1.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// `ℓ(z)`.
    pub fn loss(self, z: f64) -> f64 {
        match self {
            BinaryLoss::CrossEntropy => ce_loss(z),
            BinaryLoss::Hinge => (1.0 - z).max(0.0),
        }
    }
}

/// Which parameterisation carries the feature's margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryModel {
    /// `f = w x`: `dz/dt = p r² g(z)`.
    Shallow,
    /// Balanced two-layer mode `z = a b r`, `a = b`: `dz/dt = 2 p r z g(z)` (needs `z₀ > 0`).
    TwoLayer,
}

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

/// Probability that a feature cluster has no unit active on it at initialisation, when each of
/// `units` hidden units is active on the cluster independently with probability `q`:
/// `(1 − q)^H`. NaN unless `0 ≤ q ≤ 1`.
pub fn cluster_dead_probability(q: f64, units: usize) -> f64 {
    if !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    if units == 0 {
        return 1.0;
    }
    if q == 1.0 {
        return 0.0;
    }
    (units as f64 * (-q).ln_1p()).exp()
}

/// Probability of failed training (SCIENCE.md §P3.3): some feature cluster has no active unit at
/// initialisation, so no gradient ever reaches it (dead ReLUs) and its examples are never
/// learned: `1 − Π_f [1 − (1 − q_f)^H]`.
///
/// Assumptions: units are initialised independently, each unit's activity on cluster `f` is a
/// Bernoulli(`q_f`) event, clusters are independent (e.g. disjoint input directions with
/// independent signs of `w_kᵀx`), and a cluster with at least one active unit is learned.
/// NaN if any `q_f` is outside `[0, 1]`; 0 for no clusters.
pub fn failure_probability(activation_prob_per_cluster: &[f64], units: usize) -> f64 {
    let mut log_ok = 0.0;
    for &q in activation_prob_per_cluster {
        let dead = cluster_dead_probability(q, units);
        if dead.is_nan() {
            return f64::NAN;
        }
        log_ok += (-dead).ln_1p();
    }
    -log_ok.exp_m1()
}

// ---------------------------------------------------------------------------------------------
// Gradient starvation.
// ---------------------------------------------------------------------------------------------

/// A penalty added to the mean loss of a [`StarvationModel`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Penalty {
    /// No penalty.
    #[default]
    None,
    /// Spectral decoupling `(λ/2) · mean f²` (Pezeshki et al. 2021): `g(z)` becomes
    /// `g(z) − λ z` since `f² = z²`.
    SpectralDecoupling {
        /// λ ≥ 0.
        lambda: f64,
    },
    /// Weight decay `(λ/2) ||θ||²`: shallow `dw/dt = G − λ w`; two-layer balanced
    /// `(λ/2)(a² + b²)` per feature gives `du/dt = 2u G − 2λ u` (an L1 penalty `λ|u|` on the
    /// product, which balance preserves).
    WeightDecay {
        /// λ ≥ 0.
        lambda: f64,
    },
}

impl Penalty {
    fn lambda(self) -> f64 {
        match self {
            Penalty::None => 0.0,
            Penalty::SpectralDecoupling { lambda } | Penalty::WeightDecay { lambda } => lambda,
        }
    }
}

/// A group of training examples: a fraction `fraction` of the data with non-negative feature
/// amplitudes (inputs are sign-coded, `x_f = y · a_f`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// π_g, the fraction of the examples in the group (fractions sum to 1).
    pub fraction: f64,
    /// a_{g,f} ≥ 0, one per feature.
    pub amplitudes: Vec<f64>,
}

/// Gradient starvation between features that share the margins of groups of examples
/// (SCIENCE.md §C.4, §P3.3).
///
/// Group margin `z_g = Σ_f w_f a_{g,f}` (shallow weight `w_f`, or two-layer balanced mode
/// strength `u_f = a_f b_f` of a diagonal two-layer linear net, one hidden unit per feature);
/// `G_f = Σ_g π_g a_{g,f} g̃(z_g)` with `g̃ = g − λ_SD z` under spectral decoupling.
/// Shallow: `dw_f/dt = G_f − λ_WD w_f`; two-layer: `du_f/dt = 2 u_f (G_f − λ_WD)`, integrated in
/// `ln u_f` (so `u_f > 0` initially). Training loss and error are those of the groups'
/// margins (CE without penalty; error = mass of the groups with `z_g ≤ 0`).
///
/// Integration: classical RK4 with step doubling and Richardson extrapolation, local error
/// below `1e-11` per unit flow time in the state (`w`, or `ln u` — relative in `u`), so the
/// state is accurate to about `1e-11 · t` (checked against the closed forms of [`LogitFlow`] in
/// the tests); steps are also kept inside RK4's stability interval for a bound on the
/// Jacobian, so fixed points (penalties) are approached without step-size oscillation. Hinge
/// kinks and sliding at `z = 1` are crossed with steps down to `1e-12 · t`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StarvationModel {
    /// Shallow or two-layer.
    pub model: BinaryModel,
    /// Cross-entropy or hinge.
    pub loss: BinaryLoss,
    /// None, spectral decoupling or weight decay.
    pub penalty: Penalty,
    /// The groups (fractions sum to 1, equal amplitude lengths).
    pub groups: Vec<Group>,
    /// Initial `w_f` (shallow, any finite) or `u_f` (two-layer, `> 0`).
    pub init: Vec<f64>,
}

/// The trajectory of a [`StarvationModel`] at the requested times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StarvationRun {
    /// The requested flow times.
    pub times: Vec<f64>,
    /// `weights[i][f]`: `w_f` or `u_f` at `times[i]` (the logit contribution per unit amplitude).
    pub weights: Vec<Vec<f64>>,
    /// `margins[i][g]`: `z_g` at `times[i]`.
    pub margins: Vec<Vec<f64>>,
    /// Mean cross-entropy over the groups' margins (without the penalty).
    pub loss: Vec<f64>,
    /// Fraction of the examples (groups' mass) with `z_g ≤ 0`.
    pub error: Vec<f64>,
}

/// Local error allowed per unit flow time by the starvation integrator.
const STARVATION_TOL: f64 = 1e-11;

impl StarvationModel {
    /// A validated model.
    pub fn new(
        model: BinaryModel,
        loss: BinaryLoss,
        penalty: Penalty,
        groups: Vec<Group>,
        init: Vec<f64>,
    ) -> Result<Self, TheoryError> {
        let m = Self {
            model,
            loss,
            penalty,
            groups,
            init,
        };
        m.validate()?;
        Ok(m)
    }

    /// The number of features.
    pub fn features(&self) -> usize {
        self.init.len()
    }

    fn validate(&self) -> Result<(), TheoryError> {
        const WHAT: &str = "binary::StarvationModel";
        let nf = self.init.len();
        if nf == 0 {
            return Err(TheoryError::check_len(WHAT, "init", 0, 1, "features >=").unwrap_err());
        }
        if self.groups.is_empty() {
            return Err(TheoryError::check_len(WHAT, "groups", 0, 1, "groups >=").unwrap_err());
        }
        let lambda = self.penalty.lambda();
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(TheoryError::param(
                WHAT,
                "lambda",
                lambda,
                "finite and >= 0",
            ));
        }
        let mut total = 0.0;
        for g in &self.groups {
            if !(g.fraction.is_finite() && g.fraction >= 0.0) {
                return Err(TheoryError::param(
                    WHAT,
                    "fraction",
                    g.fraction,
                    "finite and >= 0",
                ));
            }
            total += g.fraction;
            TheoryError::check_len(WHAT, "amplitudes", g.amplitudes.len(), nf, "features")?;
            for &a in &g.amplitudes {
                if !(a.is_finite() && a >= 0.0) {
                    return Err(TheoryError::param(WHAT, "amplitude", a, "finite and >= 0"));
                }
            }
        }
        if (total - 1.0).abs() > 1e-9 {
            return Err(TheoryError::param(
                WHAT,
                "sum of fractions",
                total,
                "= 1 (within 1e-9)",
            ));
        }
        for &w in &self.init {
            let ok = match self.model {
                BinaryModel::Shallow => w.is_finite(),
                BinaryModel::TwoLayer => w.is_finite() && w > 0.0,
            };
            if !ok {
                return Err(TheoryError::param(
                    WHAT,
                    "init",
                    w,
                    "finite (shallow) or finite and > 0 (two-layer)",
                ));
            }
        }
        Ok(())
    }

    /// The same model with feature `feature`'s amplitudes set to zero in every group (the other
    /// features then learn "alone" without it).
    pub fn without(&self, feature: usize) -> Self {
        let mut m = self.clone();
        for g in &mut m.groups {
            if let Some(a) = g.amplitudes.get_mut(feature) {
                *a = 0.0;
            }
        }
        m
    }

    fn weights_of(&self, y: &[f64]) -> Vec<f64> {
        match self.model {
            BinaryModel::Shallow => y.to_vec(),
            BinaryModel::TwoLayer => y.iter().map(|s| s.exp()).collect(),
        }
    }

    fn margins_of(&self, w: &[f64]) -> Vec<f64> {
        self.groups
            .iter()
            .map(|g| g.amplitudes.iter().zip(w).map(|(a, w)| a * w).sum())
            .collect()
    }

    fn derivative(&self, y: &[f64], dy: &mut [f64]) {
        let w = self.weights_of(y);
        let sd = match self.penalty {
            Penalty::SpectralDecoupling { lambda } => lambda,
            _ => 0.0,
        };
        let wd = match self.penalty {
            Penalty::WeightDecay { lambda } => lambda,
            _ => 0.0,
        };
        dy.iter_mut().for_each(|d| *d = 0.0);
        for g in &self.groups {
            let z: f64 = g.amplitudes.iter().zip(&w).map(|(a, w)| a * w).sum();
            let gz = self.loss.g(z) - sd * z;
            for (d, a) in dy.iter_mut().zip(&g.amplitudes) {
                *d += g.fraction * a * gz;
            }
        }
        match self.model {
            BinaryModel::Shallow => {
                for (d, w) in dy.iter_mut().zip(&w) {
                    *d -= wd * w;
                }
            }
            BinaryModel::TwoLayer => {
                for d in dy.iter_mut() {
                    *d = 2.0 * (*d - wd);
                }
            }
        }
    }

    /// A step size inside RK4's real stability interval (≈ 2.79/L) for an upper bound L of the
    /// Jacobian's row-sum norm at `y`, so that steps never grow into the unstable range near a
    /// fixed point, where the step-doubling error estimate sees nothing to control.
    fn stable_step(&self, y: &[f64]) -> f64 {
        let w = self.weights_of(y);
        let sd = match self.penalty {
            Penalty::SpectralDecoupling { lambda } => lambda,
            _ => 0.0,
        };
        let mut lip = match (self.model, self.penalty) {
            (BinaryModel::Shallow, Penalty::WeightDecay { lambda }) => lambda,
            _ => 0.0,
        };
        for g in &self.groups {
            let z: f64 = g.amplitudes.iter().zip(&w).map(|(a, w)| a * w).sum();
            let slope = match self.loss {
                BinaryLoss::CrossEntropy => sigmoid_neg(z) * sigmoid_neg(-z),
                BinaryLoss::Hinge => 0.0,
            } + sd;
            let sum_a: f64 = g.amplitudes.iter().sum();
            lip += match self.model {
                BinaryModel::Shallow => g.fraction * slope * sum_a * sum_a,
                BinaryModel::TwoLayer => 2.0 * g.fraction * slope * sum_a * z.abs(),
            };
        }
        if lip > 0.0 {
            2.5 / lip
        } else {
            f64::INFINITY
        }
    }

    fn rk4(&self, y: &[f64], h: f64) -> Vec<f64> {
        let n = y.len();
        let mut k1 = vec![0.0; n];
        let mut k2 = vec![0.0; n];
        let mut k3 = vec![0.0; n];
        let mut k4 = vec![0.0; n];
        let mut tmp = vec![0.0; n];
        self.derivative(y, &mut k1);
        for i in 0..n {
            tmp[i] = y[i] + 0.5 * h * k1[i];
        }
        self.derivative(&tmp, &mut k2);
        for i in 0..n {
            tmp[i] = y[i] + 0.5 * h * k2[i];
        }
        self.derivative(&tmp, &mut k3);
        for i in 0..n {
            tmp[i] = y[i] + h * k3[i];
        }
        self.derivative(&tmp, &mut k4);
        (0..n)
            .map(|i| y[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
            .collect()
    }

    /// Integrates the flow and records weights, margins, CE loss and error at `times`
    /// (non-decreasing, finite, `≥ 0`).
    pub fn run(&self, times: &[f64]) -> Result<StarvationRun, TheoryError> {
        const WHAT: &str = "binary::StarvationModel::run";
        self.validate()?;
        let mut prev = 0.0;
        for &t in times {
            if !(t.is_finite() && t >= prev) {
                return Err(TheoryError::param(
                    WHAT,
                    "times",
                    t,
                    "finite, >= 0 and non-decreasing",
                ));
            }
            prev = t;
        }
        let mut y: Vec<f64> = match self.model {
            BinaryModel::Shallow => self.init.clone(),
            BinaryModel::TwoLayer => self.init.iter().map(|u| u.ln()).collect(),
        };
        let mut t = 0.0;
        let mut h: f64 = 1e-3;
        let mut out = StarvationRun {
            times: times.to_vec(),
            weights: Vec::with_capacity(times.len()),
            margins: Vec::with_capacity(times.len()),
            loss: Vec::with_capacity(times.len()),
            error: Vec::with_capacity(times.len()),
        };
        for &target in times {
            while t < target {
                let remaining = target - t;
                let h_min = 1e-12 * target.max(1.0);
                let step = h.min(remaining).min(self.stable_step(&y).max(h_min));
                let full = self.rk4(&y, step);
                let half = self.rk4(&y, 0.5 * step);
                let two = self.rk4(&half, 0.5 * step);
                let err = full
                    .iter()
                    .zip(&two)
                    .map(|(a, b)| (a - b).abs() / 15.0)
                    .fold(0.0, f64::max);
                let allowed = STARVATION_TOL * step;
                if err <= allowed || step <= h_min {
                    for i in 0..y.len() {
                        y[i] = two[i] + (two[i] - full[i]) / 15.0;
                    }
                    t = if step == remaining { target } else { t + step };
                    let grow = if err > 0.0 {
                        (0.9 * (allowed / err).powf(0.25)).clamp(0.2, 4.0)
                    } else {
                        4.0
                    };
                    // Only grow h from a full step, not from a step cut short by `target`.
                    if step == h || grow < 1.0 {
                        h = (step * grow).max(h_min);
                    }
                } else {
                    let shrink = if err.is_finite() {
                        (0.9 * (allowed / err).powf(0.25)).clamp(0.1, 0.9)
                    } else {
                        0.1
                    };
                    h = (step * shrink).max(h_min);
                }
            }
            let w = self.weights_of(&y);
            let z = self.margins_of(&w);
            let loss = self
                .groups
                .iter()
                .zip(&z)
                .map(|(g, &z)| g.fraction * ce_loss(z))
                .sum();
            let error = self
                .groups
                .iter()
                .zip(&z)
                .filter(|(_, &z)| z <= 0.0)
                .map(|(g, _)| g.fraction)
                .sum();
            out.weights.push(w);
            out.margins.push(z);
            out.loss.push(loss);
            out.error.push(error);
        }
        Ok(out)
    }

    /// The gradient-starvation index `w_rare(t) / w_rare^{alone}(t)`, where "alone" is the same
    /// model (same loss and penalty) with feature `removed`'s amplitudes set to zero.
    pub fn starvation_index(
        &self,
        rare: usize,
        removed: usize,
        times: &[f64],
    ) -> Result<Vec<f64>, TheoryError> {
        let nf = self.features();
        for (field, v) in [("rare", rare), ("removed", removed)] {
            if v >= nf {
                return Err(TheoryError::param(
                    "binary::StarvationModel::starvation_index",
                    field,
                    v as f64,
                    "< number of features",
                ));
            }
        }
        let joint = self.run(times)?;
        let alone = self.without(removed).run(times)?;
        Ok(joint
            .weights
            .iter()
            .zip(&alone.weights)
            .map(|(j, a)| j[rare] / a[rare])
            .collect())
    }
}

/// The two-group data set of the starvation experiment: group A (fraction `1 − p₂`,
/// amplitudes `(r₁, 0)`) carries only the frequent feature 0; group C (fraction `p₂`,
/// amplitudes `(ε r₁, r₂)`) carries the frequent feature weakly and the rare feature 1.
pub fn two_feature_groups(p2: f64, r1: f64, r2: f64, eps: f64) -> Vec<Group> {
    vec![
        Group {
            fraction: 1.0 - p2,
            amplitudes: vec![r1, 0.0],
        },
        Group {
            fraction: p2,
            amplitudes: vec![eps * r1, r2],
        },
    ]
}

/// Parameters of the two-feature starvation experiment (see [`two_feature_groups`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StarvationExperiment {
    /// Model (two-layer from `u₀`, or shallow from `w₀ = init`).
    pub model: BinaryModel,
    /// Fraction of group C.
    pub p2: f64,
    /// Amplitude of the frequent feature.
    pub r1: f64,
    /// Amplitude of the rare feature.
    pub r2: f64,
    /// Relative amplitude of the frequent feature in group C.
    pub eps: f64,
    /// Spectral-decoupling strength.
    pub lambda_sd: f64,
    /// Initial weight of both features (`u₀` for two-layer, `w₀` for shallow).
    pub init: f64,
}

/// What [`StarvationExperiment::evaluate`] predicts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StarvationOutcome {
    /// First time the plain-CE run's training loss is half its initial value.
    pub t_half: f64,
    /// `10 · t_half`, where the indices are evaluated.
    pub t_end: f64,
    /// Starvation index of the plain CE run (alone run also plain CE).
    pub ce_index: f64,
    /// Index of the SD run (alone run also with SD).
    pub sd_index: f64,
    /// Index of the WD run (alone run also with WD).
    pub wd_index: f64,
    /// SD run's rare weight over the plain-CE alone run's.
    pub sd_index_vs_ce_alone: f64,
    /// WD run's rare weight over the plain-CE alone run's.
    pub wd_index_vs_ce_alone: f64,
    /// The weight decay whose run ends with the SD run's training loss (NaN if none does).
    pub lambda_wd: f64,
    /// Final CE training losses of the CE, SD and WD runs.
    pub ce_loss: f64,
    /// Final CE training loss of the SD run.
    pub sd_loss: f64,
    /// Final CE training loss of the WD run.
    pub wd_loss: f64,
}

impl StarvationExperiment {
    fn model_with(&self, penalty: Penalty) -> StarvationModel {
        StarvationModel {
            model: self.model,
            loss: BinaryLoss::CrossEntropy,
            penalty,
            groups: two_feature_groups(self.p2, self.r1, self.r2, self.eps),
            init: vec![self.init, self.init],
        }
    }

    fn final_loss(&self, penalty: Penalty, t: f64) -> Result<f64, TheoryError> {
        Ok(self.model_with(penalty).run(&[t])?.loss[0])
    }

    /// Runs the experiment: `t_half` by doubling then bisection (the CE loss decreases
    /// monotonically along gradient flow), `t_end = 10 t_half`, the three indices at `t_end`,
    /// and `λ_WD` by bisection in `ln λ` on `[1e-8, 10]` (the final loss increases with λ) to
    /// match the SD run's final CE loss.
    pub fn evaluate(&self) -> Result<StarvationOutcome, TheoryError> {
        let none = Penalty::None;
        let base = self.model_with(none);
        base.validate()?;
        let l0 = base.run(&[0.0])?.loss[0];
        let goal = 0.5 * l0;
        let mut hi = 0.1;
        while self.final_loss(none, hi)? > goal {
            hi *= 2.0;
            if hi > 1e9 {
                return Err(TheoryError::param(
                    "binary::StarvationExperiment",
                    "t_half",
                    hi,
                    "the CE loss halves before t = 1e9",
                ));
            }
        }
        let mut lo = 0.0;
        for _ in 0..50 {
            let mid = 0.5 * (lo + hi);
            if self.final_loss(none, mid)? > goal {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let t_half = hi;
        let t_end = 10.0 * t_half;
        let at = [t_end];
        let ce = base.run(&at)?;
        let ce_alone = base.without(0).run(&at)?;
        let sd_model = self.model_with(Penalty::SpectralDecoupling {
            lambda: self.lambda_sd,
        });
        let sd = sd_model.run(&at)?;
        let sd_alone = sd_model.without(0).run(&at)?;
        let sd_loss = sd.loss[0];
        let wd_loss_at = |lambda: f64| self.final_loss(Penalty::WeightDecay { lambda }, t_end);
        let (mut a, mut b) = (1e-8f64.ln(), 10f64.ln());
        let lambda_wd = if wd_loss_at(a.exp())? > sd_loss || wd_loss_at(b.exp())? < sd_loss {
            f64::NAN
        } else {
            for _ in 0..60 {
                let mid = 0.5 * (a + b);
                if wd_loss_at(mid.exp())? < sd_loss {
                    a = mid;
                } else {
                    b = mid;
                }
            }
            (0.5 * (a + b)).exp()
        };
        let (wd_index, wd_vs, wd_loss) = if lambda_wd.is_nan() {
            (f64::NAN, f64::NAN, f64::NAN)
        } else {
            let wd_model = self.model_with(Penalty::WeightDecay { lambda: lambda_wd });
            let wd = wd_model.run(&at)?;
            let wd_alone = wd_model.without(0).run(&at)?;
            (
                wd.weights[0][1] / wd_alone.weights[0][1],
                wd.weights[0][1] / ce_alone.weights[0][1],
                wd.loss[0],
            )
        };
        Ok(StarvationOutcome {
            t_half,
            t_end,
            ce_index: ce.weights[0][1] / ce_alone.weights[0][1],
            sd_index: sd.weights[0][1] / sd_alone.weights[0][1],
            wd_index,
            sd_index_vs_ce_alone: sd.weights[0][1] / ce_alone.weights[0][1],
            wd_index_vs_ce_alone: wd_vs,
            lambda_wd,
            ce_loss: ce.loss[0],
            sd_loss,
            wd_loss,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn ei_known_values() {
        assert!(rel(ei(1.0), 1.895_117_816_355_936_8) < 1e-14, "{}", ei(1.0));
        assert!(
            rel(ei(0.1), -1.622_812_813_969_276_6) < 1e-14,
            "{}",
            ei(0.1)
        );
        assert!(
            rel(ei(10.0), 2_492.228_976_241_877_7) < 1e-14,
            "{}",
            ei(10.0)
        );
        // Continuity across the series / asymptotic switch, and Ei'(x) = e^x / x.
        let d = 1e-9;
        let jump = (ei(40.0 + d) - ei(40.0)) / (d * 40f64.exp() / 40.0);
        assert!((jump - 1.0).abs() < 1e-5, "{jump}");
        for &x in &[0.5, 3.0, 39.0, 41.0, 100.0, 600.0] {
            let h = 1e-6 * x;
            let num = (ei(x + h) - ei(x - h)) / (2.0 * h);
            assert!(rel(num, x.exp() / x) < 1e-6, "{x}");
        }
        assert_eq!(ei(0.0), f64::NEG_INFINITY);
        assert!(ei(-1.0).is_nan());
        assert_eq!(ei(800.0), f64::INFINITY);
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

    #[test]
    fn failed_training() {
        assert!((cluster_dead_probability(0.5, 3) - 0.125).abs() < 1e-15);
        assert_eq!(cluster_dead_probability(0.3, 0), 1.0);
        assert_eq!(cluster_dead_probability(1.0, 2), 0.0);
        assert!(cluster_dead_probability(1.5, 2).is_nan());
        assert!((failure_probability(&[0.5, 0.5], 1) - 0.75).abs() < 1e-15);
        assert!(
            (failure_probability(&[0.5, 0.25], 2) - (1.0 - 0.75 * (1.0 - 0.5625))).abs() < 1e-15
        );
        assert_eq!(failure_probability(&[], 4), 0.0);
        // Tiny probabilities keep their digits: ≈ 10 · 2^-60.
        let f = failure_probability(&[0.5; 10], 60);
        assert!(rel(f, 10.0 * 0.5f64.powi(60)) < 1e-10);
        assert!(failure_probability(&[0.5, -0.1], 3).is_nan());
    }

    /// The integrator against the single-feature closed forms (one group of fraction 1, or a
    /// feature carried by a fraction p with an empty group elsewhere).
    #[test]
    fn starvation_integrator_matches_logit_flow() {
        let times = [0.5, 3.0, 10.0, 40.0];
        for model in [BinaryModel::TwoLayer, BinaryModel::Shallow] {
            for loss in [BinaryLoss::CrossEntropy, BinaryLoss::Hinge] {
                let (p, r) = (0.3, 1.7);
                let init = if model == BinaryModel::TwoLayer {
                    1e-3
                } else {
                    0.0
                };
                let m = StarvationModel::new(
                    model,
                    loss,
                    Penalty::None,
                    vec![
                        Group {
                            fraction: p,
                            amplitudes: vec![r],
                        },
                        Group {
                            fraction: 1.0 - p,
                            amplitudes: vec![0.0],
                        },
                    ],
                    vec![init],
                )
                .unwrap();
                let run = m.run(&times).unwrap();
                let flow = LogitFlow::new(model, loss, p, r, init * r).unwrap();
                for (i, &t) in times.iter().enumerate() {
                    let (a, b) = (run.margins[i][0], flow.z(t));
                    assert!(
                        (a - b).abs() < 1e-9 * b.abs().max(1.0),
                        "{model:?} {loss:?} {t}: {a} {b}"
                    );
                }
            }
        }
    }

    /// One group carrying both features in every example. Shallow from 0: `w_f = a_f s(t)` with
    /// `z = (a₁² + a₂²) s` a shallow flow of rate `a₁² + a₂²`, and alone `z = a₂² s` of rate
    /// `a₂²`, so the index is `a₂² z_J / ((a₁² + a₂²) z_A)`. Two-layer with equal amplitudes a:
    /// `z = 2 a u` (two-layer flow with `pr = a`, `z₀ = 2 a u₀`), alone `z = a u` (`z₀ = a u₀`),
    /// index `z_J / (2 z_A)`.
    #[test]
    fn starvation_index_single_group() {
        let times = [1.0, 5.0, 20.0, 100.0];
        let ce = BinaryLoss::CrossEntropy;
        let (a1, a2) = (2.0, 0.5);
        let m = StarvationModel::new(
            BinaryModel::Shallow,
            ce,
            Penalty::None,
            vec![Group {
                fraction: 1.0,
                amplitudes: vec![a1, a2],
            }],
            vec![0.0, 0.0],
        )
        .unwrap();
        let index = m.starvation_index(1, 0, &times).unwrap();
        let s2 = a1 * a1 + a2 * a2;
        let joint = LogitFlow::new(BinaryModel::Shallow, ce, 1.0, s2.sqrt(), 0.0).unwrap();
        let alone = LogitFlow::new(BinaryModel::Shallow, ce, 1.0, a2, 0.0).unwrap();
        for (i, &t) in times.iter().enumerate() {
            let expect = a2 * a2 * joint.z(t) / (s2 * alone.z(t));
            assert!(rel(index[i], expect) < 1e-9, "{t}: {} {expect}", index[i]);
            assert!(index[i] < 1.0);
        }
        let (a, u0) = (1.0, 1e-3);
        let m = StarvationModel::new(
            BinaryModel::TwoLayer,
            ce,
            Penalty::None,
            vec![Group {
                fraction: 1.0,
                amplitudes: vec![a, a],
            }],
            vec![u0, u0],
        )
        .unwrap();
        let index = m.starvation_index(1, 0, &times).unwrap();
        let joint = LogitFlow::new(BinaryModel::TwoLayer, ce, 1.0, a, 2.0 * a * u0).unwrap();
        let alone = LogitFlow::new(BinaryModel::TwoLayer, ce, 1.0, a, a * u0).unwrap();
        for (i, &t) in times.iter().enumerate() {
            let expect = joint.z(t) / (2.0 * alone.z(t));
            assert!(rel(index[i], expect) < 1e-9, "{t}: {} {expect}", index[i]);
        }
        // Late: the joint run shares the margin, so the rare weight is below its alone value.
        assert!(index[3] < 0.6, "{}", index[3]);
        assert!(m.starvation_index(2, 0, &times).is_err());
    }

    #[test]
    fn penalties_have_their_fixed_points() {
        // Shallow SD alone: σ(−z) = λ z at the end; WD: G = λ w.
        let groups = vec![Group {
            fraction: 1.0,
            amplitudes: vec![1.0],
        }];
        let sd = StarvationModel::new(
            BinaryModel::Shallow,
            BinaryLoss::CrossEntropy,
            Penalty::SpectralDecoupling { lambda: 0.1 },
            groups.clone(),
            vec![0.0],
        )
        .unwrap();
        let z = sd.run(&[500.0]).unwrap().margins[0][0];
        assert!(
            (sigmoid_neg(z) - 0.1 * z).abs() < 1e-10,
            "{z} {}",
            sigmoid_neg(z) - 0.1 * z
        );
        let wd = StarvationModel::new(
            BinaryModel::TwoLayer,
            BinaryLoss::CrossEntropy,
            Penalty::WeightDecay { lambda: 0.1 },
            groups,
            vec![1e-3],
        )
        .unwrap();
        let z = wd.run(&[500.0]).unwrap().margins[0][0];
        assert!(
            (sigmoid_neg(z) - 0.1).abs() < 1e-10,
            "{z} {}",
            sigmoid_neg(z) - 0.1
        );
        assert!(StarvationModel::new(
            BinaryModel::TwoLayer,
            BinaryLoss::CrossEntropy,
            Penalty::None,
            vec![Group {
                fraction: 0.5,
                amplitudes: vec![1.0]
            }],
            vec![1e-3],
        )
        .is_err());
    }

    /// The parameter set reported for the starvation experiment (found by
    /// `examples/starvation_search.rs`): equal norms, the rare feature in 20% of the examples,
    /// the frequent one at 30% strength there, SD λ = 0.03, two-layer from u₀ = 1e-3.
    #[test]
    fn starvation_experiment_prediction() {
        let e = StarvationExperiment {
            model: BinaryModel::TwoLayer,
            p2: 0.2,
            r1: 1.0,
            r2: 1.0,
            eps: 0.3,
            lambda_sd: 0.03,
            init: 1e-3,
        };
        let o = e.evaluate().unwrap();
        let gap = o.sd_index - o.ce_index;
        assert!(o.ce_index <= 0.3, "{o:?}");
        assert!(gap >= 0.3, "{o:?}");
        assert!(o.wd_index - o.ce_index < 0.5 * gap, "{o:?}");
        assert!(rel(o.wd_loss, o.sd_loss) < 1e-6, "{o:?}");
        assert!(rel(o.t_end, 10.0 * o.t_half) < 1e-15);
    }

    #[test]
    fn serde_names_are_snake_case() {
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        let d: StrDeserializer<'_, Error> = "cross_entropy".into_deserializer();
        assert_eq!(
            BinaryLoss::deserialize(d).unwrap(),
            BinaryLoss::CrossEntropy
        );
        let d: StrDeserializer<'_, Error> = "two_layer".into_deserializer();
        assert_eq!(BinaryModel::deserialize(d).unwrap(), BinaryModel::TwoLayer);
        let d: StrDeserializer<'_, Error> = "none".into_deserializer();
        assert_eq!(Penalty::deserialize(d).unwrap(), Penalty::None);
    }
}
