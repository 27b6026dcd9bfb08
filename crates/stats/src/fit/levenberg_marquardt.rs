//! Nonlinear least squares by Levenberg–Marquardt, with standard errors and intervals.
//!
//! Minimises `RSS(θ) = Σᵢ (yᵢ − f(xᵢ; θ))²`. Each iteration solves
//! `(JᵀJ + λ diag(JᵀJ)) δ = Jᵀr` (`J` the Jacobian of `f`, `r = y − f`; the scaled damping of
//! D. W. Marquardt, *J. SIAM* 11:431–441, 1963, after K. Levenberg, *Q. Appl. Math.* 2:164–168,
//! 1944); a step that lowers the RSS is accepted and `λ ← λ/10`, otherwise `λ ← 10λ`.
//! Convergence: RSS = 0; or an accepted step with `λ ≤ 1` whose length is below
//! `xtol (‖θ‖ + xtol)` or whose relative RSS decrease is below `ftol`; or no step lowers the
//! RSS up to `λ = 10¹⁶` at a point that is stationary to working precision (every Jacobian
//! column at cosine below `1e-6` with the residuals, or an RSS at the rounding level of the
//! data). A stall anywhere else is [`StatsError::NoConvergence`].
//!
//! Uncertainty (the usual asymptotic theory, e.g. Seber & Wild, *Nonlinear Regression*, 1989,
//! §2.1): `σ̂² = RSS/(n − p)`, `Cov(θ̂) = σ̂² (JᵀJ)⁻¹` at the optimum, standard errors
//! `seⱼ = √Cov_jj` and 95 % intervals `θ̂ⱼ ± t_{0.975, n−p} seⱼ`. They assume independent
//! errors of equal variance and a model that is close to linear over the interval.

use serde::{Deserialize, Serialize};

use super::dense::{spd_inverse, spd_solve};
use super::Estimate;
use crate::error::{check_finite, check_len, check_same_len, Result, StatsError};
use crate::student_t::t_quantile;

/// A curve `y = f(x; θ)` with its gradient in `θ`.
pub trait CurveModel {
    /// The parameter names, in the order of `θ` (their count is `p`).
    fn parameter_names(&self) -> &'static [&'static str];

    /// `f(x; θ)`, writing `∂f/∂θⱼ` into `gradient` (length `p`).
    fn eval(&self, x: f64, params: &[f64], gradient: &mut [f64]) -> f64;
}

/// Iteration limits and tolerances.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LmOptions {
    /// Maximum number of Jacobian evaluations.
    pub max_iterations: usize,
    /// Relative step length for convergence.
    pub xtol: f64,
    /// Relative RSS decrease for convergence.
    pub ftol: f64,
}

impl Default for LmOptions {
    /// 500 iterations, `xtol = 1e-10`, `ftol = 1e-14`.
    fn default() -> Self {
        LmOptions {
            max_iterations: 500,
            xtol: 1e-10,
            ftol: 1e-14,
        }
    }
}

/// A converged least-squares fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveFit {
    /// The estimates `θ̂` with standard errors and 95 % intervals, in parameter order.
    pub params: Vec<Estimate>,
    /// `Cov(θ̂)`, `p × p` row-major.
    pub covariance: Vec<f64>,
    /// The residual sum of squares at `θ̂`.
    pub rss: f64,
    /// Residual degrees of freedom `n − p`.
    pub dof: usize,
    /// Jacobian evaluations used.
    pub iterations: usize,
}

impl CurveFit {
    /// The estimated values `θ̂`.
    pub fn values(&self) -> Vec<f64> {
        self.params.iter().map(|e| e.value).collect()
    }

    /// The residual standard deviation `σ̂ = √(RSS/(n−p))`.
    pub fn residual_sd(&self) -> f64 {
        (self.rss / self.dof as f64).sqrt()
    }
}

/// Residuals `r = y − f` and the Jacobian (`n × p`, row-major) at `theta`.
fn evaluate<M: CurveModel>(
    model: &M,
    x: &[f64],
    y: &[f64],
    theta: &[f64],
    r: &mut [f64],
    jac: &mut [f64],
) -> f64 {
    let p = theta.len();
    let mut rss = 0.0;
    for (i, (&xi, &yi)) in x.iter().zip(y).enumerate() {
        let f = model.eval(xi, theta, &mut jac[i * p..(i + 1) * p]);
        r[i] = yi - f;
        rss += r[i] * r[i];
    }
    rss
}

/// The RSS alone at `theta`.
fn rss_at<M: CurveModel>(model: &M, x: &[f64], y: &[f64], theta: &[f64], grad: &mut [f64]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(&xi, &yi)| {
            let d = yi - model.eval(xi, theta, grad);
            d * d
        })
        .sum()
}

/// Fits `model` to finite data from the starting point `initial` (length `p`, `n > p`);
/// `what` names the fit in errors.
pub fn fit_curve<M: CurveModel>(
    what: &'static str,
    model: &M,
    x: &[f64],
    y: &[f64],
    initial: &[f64],
    options: &LmOptions,
) -> Result<CurveFit> {
    let names = model.parameter_names();
    let p = names.len();
    check_same_len(what, x.len(), y.len())?;
    check_same_len(what, p, initial.len())?;
    check_len(what, p + 1, x.len())?;
    check_finite(what, "x", x)?;
    check_finite(what, "y", y)?;
    check_finite(what, "initial", initial)?;
    let n = x.len();
    let mut theta = initial.to_vec();
    let mut r = vec![0.0; n];
    let mut jac = vec![0.0; n * p];
    let mut grad = vec![0.0; p];
    let mut rss = evaluate(model, x, y, &theta, &mut r, &mut jac);
    if !rss.is_finite() {
        return Err(StatsError::NonFinite {
            what,
            field: "model at the initial parameters",
            index: 0,
            value: rss,
        });
    }
    let mut lambda = 1e-3;
    let mut converged = false;
    let mut stalled = false;
    let mut iterations = 0;
    let y_scale: f64 = y.iter().map(|v| v * v).sum();
    let mut a = vec![0.0; p * p];
    let mut g = vec![0.0; p];
    while iterations < options.max_iterations && !converged {
        iterations += 1;
        if rss == 0.0 {
            converged = true;
            break;
        }
        normal_equations(&jac, &r, p, &mut a, &mut g);
        loop {
            let mut damped = a.clone();
            for j in 0..p {
                damped[j * p + j] += lambda * a[j * p + j].max(f64::MIN_POSITIVE);
            }
            let step = match spd_solve(&damped, &g, p) {
                Ok(step) => step,
                Err(_) => {
                    lambda *= 10.0;
                    if lambda > 1e16 {
                        stalled = true;
                        break;
                    }
                    continue;
                }
            };
            let trial: Vec<f64> = theta.iter().zip(&step).map(|(t, s)| t + s).collect();
            let trial_rss = rss_at(model, x, y, &trial, &mut grad);
            if trial_rss.is_finite() && trial_rss < rss {
                let step_norm = step.iter().map(|s| s * s).sum::<f64>().sqrt();
                let theta_norm = theta.iter().map(|t| t * t).sum::<f64>().sqrt();
                let small_step = step_norm <= options.xtol * (theta_norm + options.xtol);
                let small_gain = rss - trial_rss <= options.ftol * rss;
                converged = lambda <= 1.0 && (small_step || small_gain);
                theta = trial;
                rss = evaluate(model, x, y, &theta, &mut r, &mut jac);
                lambda = (lambda / 10.0).max(1e-15);
                break;
            }
            lambda *= 10.0;
            if lambda > 1e16 {
                stalled = true;
                break;
            }
        }
        if stalled {
            // No step lowers the RSS. That is a minimum to working precision only if the
            // residuals are (numerically) orthogonal to every Jacobian column, or are at the
            // rounding level of the data (a zero-residual fit); anything else, e.g. a model
            // that is non-finite around the start, is a failure.
            converged = stationary(&a, &g, rss, y_scale);
            break;
        }
    }
    if !converged {
        return Err(StatsError::NoConvergence {
            what,
            iterations,
            rss,
        });
    }
    normal_equations(&jac, &r, p, &mut a, &mut g);
    let inv = spd_inverse(&a, p).map_err(|j| StatsError::Singular {
        what,
        parameter: names[j],
    })?;
    let dof = n - p;
    let sigma2 = rss / dof as f64;
    let covariance: Vec<f64> = inv.iter().map(|v| v * sigma2).collect();
    let tq = t_quantile(0.975, dof as f64);
    let params = (0..p)
        .map(|j| Estimate::symmetric(theta[j], covariance[j * p + j].max(0.0).sqrt(), tq))
        .collect();
    Ok(CurveFit {
        params,
        covariance,
        rss,
        dof,
        iterations,
    })
}

/// Whether the current point is a least-squares minimum to working precision: the largest
/// cosine between the residual vector and a Jacobian column, `|gⱼ| / √(Aⱼⱼ RSS)` (MINPACK's
/// `gtol` test, Moré, Garbow & Hillstrom 1980), is below `1e-6`, or the RSS is at the rounding
/// level `1e-24 Σyᵢ²` of the data.
fn stationary(a: &[f64], g: &[f64], rss: f64, y_scale: f64) -> bool {
    let p = g.len();
    if rss <= 1e-24 * y_scale {
        return true;
    }
    (0..p).all(|j| {
        let norm = (a[j * p + j] * rss).sqrt();
        norm == 0.0 || g[j].abs() <= 1e-6 * norm
    })
}

/// `A = JᵀJ`, `g = Jᵀr`.
fn normal_equations(jac: &[f64], r: &[f64], p: usize, a: &mut [f64], g: &mut [f64]) {
    a.iter_mut().for_each(|v| *v = 0.0);
    g.iter_mut().for_each(|v| *v = 0.0);
    for (row, ri) in jac.chunks_exact(p).zip(r) {
        for j in 0..p {
            g[j] += row[j] * ri;
            for k in 0..=j {
                a[j * p + k] += row[j] * row[k];
            }
        }
    }
    for j in 0..p {
        for k in 0..j {
            a[k * p + j] = a[j * p + k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `y = a·exp(b·x)`.
    struct Exponential;

    impl CurveModel for Exponential {
        fn parameter_names(&self) -> &'static [&'static str] {
            &["a", "b"]
        }
        fn eval(&self, x: f64, p: &[f64], grad: &mut [f64]) -> f64 {
            let e = (p[1] * x).exp();
            grad[0] = e;
            grad[1] = p[0] * x * e;
            p[0] * e
        }
    }

    #[test]
    fn recovers_an_exponential_from_a_poor_start() {
        let x: Vec<f64> = (0..20).map(|i| f64::from(i) * 0.1).collect();
        let y: Vec<f64> = x.iter().map(|x| 2.0 * (-1.5 * x).exp()).collect();
        let fit = fit_curve(
            "exp",
            &Exponential,
            &x,
            &y,
            &[1.0, 0.5],
            &LmOptions::default(),
        )
        .unwrap();
        let v = fit.values();
        assert!(
            (v[0] - 2.0).abs() < 1e-10 && (v[1] + 1.5).abs() < 1e-10,
            "{v:?}"
        );
        assert!(fit.rss < 1e-20);
    }

    /// `y = a·x`, but defined only at `a = 1` (NaN elsewhere): no step can be taken.
    struct Brittle;

    impl CurveModel for Brittle {
        fn parameter_names(&self) -> &'static [&'static str] {
            &["a"]
        }
        fn eval(&self, x: f64, p: &[f64], grad: &mut [f64]) -> f64 {
            grad[0] = x;
            if p[0] == 1.0 {
                x
            } else {
                f64::NAN
            }
        }
    }

    #[test]
    fn a_stall_away_from_a_minimum_is_an_error() {
        let x = [1.0, 2.0, 3.0];
        let y = [2.0, 4.0, 6.0];
        let err = fit_curve("brittle", &Brittle, &x, &y, &[1.0], &LmOptions::default());
        assert!(
            matches!(err, Err(StatsError::NoConvergence { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn unidentified_parameter_is_singular() {
        // All x = 0: b does not enter the model.
        let x = [0.0; 5];
        let y = [2.0; 5];
        let err = fit_curve(
            "exp",
            &Exponential,
            &x,
            &y,
            &[1.0, 0.3],
            &LmOptions::default(),
        );
        assert!(
            matches!(err, Err(StatsError::Singular { parameter: "b", .. })),
            "{err:?}"
        );
    }

    #[test]
    fn too_few_points_and_non_finite_inputs() {
        let err = fit_curve(
            "exp",
            &Exponential,
            &[0.0, 1.0],
            &[1.0, 2.0],
            &[1.0, 1.0],
            &LmOptions::default(),
        );
        assert!(matches!(
            err,
            Err(StatsError::TooFewPoints { needed: 3, .. })
        ));
        let err = fit_curve(
            "exp",
            &Exponential,
            &[0.0, 1.0, f64::NAN],
            &[1.0, 2.0, 3.0],
            &[1.0, 1.0],
            &LmOptions::default(),
        );
        assert!(matches!(
            err,
            Err(StatsError::NonFinite {
                field: "x",
                index: 2,
                ..
            })
        ));
    }
}
