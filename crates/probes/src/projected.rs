//! Accuracy on projected inputs (P2, Hacohen & Weinshall 2022, "Principal components bias";
//! SCIENCE.md §P2.3 "Projected test sets", §P2.5 item 3, §P2.6): the network's accuracy on the
//! evaluation split's inputs projected onto the span of the first `P` principal components of
//! the **training** inputs. The expected shape: for small `P` (1, 10) accuracy peaks after a few
//! epochs and then falls, for large `P` (100, 1000) it keeps rising — the network first uses the
//! large-variance directions.
//!
//! At construction the probe computes the PCA of the training inputs in f64 ([`Pca`]): with
//! `centred` (the default) the covariance (1/n) Σ (x − x̄)(x − x̄)ᵀ and the projection
//! x ↦ x̄ + U_P U_Pᵀ (x − x̄); without, the second moment (1/n) Σ x xᵀ and x ↦ U_P U_Pᵀ x.
//! Components are ordered by descending eigenvalue, each with the sign that makes its largest
//! entry (in absolute value, first on ties) positive. The projected inputs of the split are
//! precomputed for every `P` (memory: `dims × examples × q` f64 values). A `P` above the input
//! size q is clipped to q (repeats after clipping are dropped); `P = q` is the identity up to
//! rounding (≈ 1e-15 relative).
//!
//! Needs class targets (an error otherwise). Accuracy is the fraction of examples whose
//! arg-max logit (first maximum) is the label; with one logit, logit > 0 ↔ class 1 — the same
//! rule as the trainer's evaluation.
//!
//! Recorded (index = P after clipping, split = the evaluated split):
//! - at every due step: `accuracy`;
//! - at the last step (the observation-only final step): `accuracy_max` over the observed
//!   steps, `final_minus_max` = final − max (≤ 0), `argmax_fraction` = step of the first maximum
//!   / last step (0 when the last step is 0), and on split `train` `variance_fraction` = Σ_{k<P}
//!   λ_k / Σ λ_k (the share of the training inputs' variance, or second moment, the span keeps).
//!
//! The per-P history of (step, accuracy) is kept in the probe state, so a resumed run ends with
//! the same summaries.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use learnscope_core::ProbeSchedule;
use learnscope_data::{Dataset, Split};
use learnscope_nn::loss::HostTargets;
use learnscope_nn::{Backend, NnError};
use learnscope_train::{Flow, Metric, Probe, Recorder, StepCtx};

use crate::registry::SplitName;

/// Default `dims`: 1, 10 and 100 components.
pub fn default_dims() -> Vec<usize> {
    vec![1, 10, 100]
}

/// Default `centred`: true.
pub fn default_centred() -> bool {
    true
}

/// Default `split`: the test split.
pub fn default_split() -> SplitName {
    SplitName::Test
}

/// Calls its argument with row-major chunks covering all rows, in order.
type RowChunks<'a> = dyn FnMut(&mut dyn FnMut(&[f64])) + 'a;

/// Principal components of a set of `q`-dimensional inputs.
#[derive(Debug, Clone)]
pub struct Pca {
    q: usize,
    /// x̄ (zeros when not centred).
    mean: Vec<f64>,
    centred: bool,
    /// Descending.
    eigenvalues: Vec<f64>,
    /// q × q, column k = component k.
    components: Mat<f64>,
}

impl Pca {
    /// PCA of the `n × q` row-major inputs `x`.
    pub fn fit(x: &[f64], q: usize, centred: bool) -> Result<Pca, String> {
        if q == 0 || x.len() % q != 0 || x.is_empty() {
            return Err(format!(
                "PCA needs a non-empty row-major matrix of width {q}, got {} values",
                x.len()
            ));
        }
        let n = x.len() / q;
        Self::fit_rows(n, q, centred, &mut |f| {
            x.chunks(512 * q).for_each(&mut *f);
        })
    }

    /// PCA of the training inputs of `data` (read in chunks of 512 examples).
    pub fn fit_train(data: &dyn Dataset, centred: bool) -> Result<Pca, String> {
        let spec = data.spec();
        let (n, q) = (spec.train_len, spec.input_size());
        if n == 0 || q == 0 {
            return Err("PCA needs a non-empty training split with inputs".into());
        }
        Self::fit_rows(n, q, centred, &mut |f| {
            let mut buf = Vec::new();
            for start in (0..n).step_by(512) {
                let idx: Vec<usize> = (start..(start + 512).min(n)).collect();
                buf.clear();
                data.gather_inputs(Split::Train, &idx, &mut buf);
                f(&buf);
            }
        })
    }

    fn fit_rows(
        n: usize,
        q: usize,
        centred: bool,
        chunks: &mut RowChunks<'_>,
    ) -> Result<Pca, String> {
        let nn = n as f64;
        let mut mean = vec![0.0; q];
        if centred {
            let mut sum = vec![0.0; q];
            chunks(&mut |c| {
                for row in c.chunks_exact(q) {
                    sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                }
            });
            mean.iter_mut().zip(&sum).for_each(|(m, s)| *m = s / nn);
        }
        let mut cov = Mat::<f64>::zeros(q, q);
        chunks(&mut |c| {
            let m = c.len() / q;
            let b = Mat::<f64>::from_fn(m, q, |i, j| c[i * q + j] - mean[j]);
            matmul(
                cov.as_mut(),
                Accum::Add,
                b.transpose(),
                b.as_ref(),
                1.0 / nn,
                Par::Seq,
            );
        });
        // The same eigensolver, order (descending) and sign convention as the data crate's
        // PCA and ZCA transforms.
        let moment: Vec<f64> = (0..q * q).map(|k| cov[(k / q, k % q)]).collect();
        let (eigenvalues, rows) = learnscope_data::transform::symmetric_eigen(&moment, q)
            .map_err(|e| format!("eigen-decomposition did not converge: {e}"))?;
        let components = Mat::<f64>::from_fn(q, q, |i, k| rows[k * q + i]);
        Ok(Pca {
            q,
            mean,
            centred,
            eigenvalues,
            components,
        })
    }

    /// The input size q.
    pub fn dim(&self) -> usize {
        self.q
    }

    /// Whether the inputs were centred.
    pub fn centred(&self) -> bool {
        self.centred
    }

    /// x̄ (zeros when not centred).
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Eigenvalues of the covariance (second moment when not centred), descending.
    pub fn eigenvalues(&self) -> &[f64] {
        &self.eigenvalues
    }

    /// Component `k` (unit length).
    pub fn component(&self, k: usize) -> Vec<f64> {
        (0..self.q).map(|i| self.components[(i, k)]).collect()
    }

    /// The projections of the `n × q` row-major inputs `x` onto the first `p` components, for
    /// every `p` of `dims` (each clipped to q), row-major.
    pub fn project_many(&self, x: &[f64], dims: &[usize]) -> Vec<Vec<f64>> {
        let q = self.q;
        let n = x.len() / q;
        let xc = Mat::<f64>::from_fn(n, q, |i, j| x[i * q + j] - self.mean[j]);
        let top = dims.iter().map(|&p| p.min(q)).max().unwrap_or(0);
        let basis = self.components.as_ref().subcols(0, top);
        let mut z = Mat::<f64>::zeros(n, top);
        matmul(
            z.as_mut(),
            Accum::Replace,
            xc.as_ref(),
            basis,
            1.0,
            Par::Seq,
        );
        dims.iter()
            .map(|&p| {
                let p = p.min(q);
                let mut y = Mat::<f64>::zeros(n, q);
                matmul(
                    y.as_mut(),
                    Accum::Replace,
                    z.as_ref().subcols(0, p),
                    basis.subcols(0, p).transpose(),
                    1.0,
                    Par::Seq,
                );
                let mut out = Vec::with_capacity(n * q);
                for i in 0..n {
                    out.extend((0..q).map(|j| y[(i, j)] + self.mean[j]));
                }
                out
            })
            .collect()
    }

    /// The projection of `x` onto the first `p` components (clipped to q).
    pub fn project(&self, x: &[f64], p: usize) -> Vec<f64> {
        self.project_many(x, &[p]).pop().unwrap_or_default()
    }
}

/// Fraction of examples whose prediction (arg-max logit, first maximum; logit > 0 with one
/// output) equals the label; `logits` row-major with `labels.len()` rows.
pub fn accuracy(logits: &[f64], labels: &[u32]) -> f64 {
    let n = labels.len();
    if n == 0 {
        return f64::NAN;
    }
    let c = (logits.len() / n).max(1);
    let correct = labels
        .iter()
        .zip(logits.chunks_exact(c))
        .filter(|(&y, row)| {
            let pred = if c == 1 {
                u32::from(row[0] > 0.0)
            } else {
                let mut best = 0;
                for j in 1..c {
                    if row[j] > row[best] {
                        best = j;
                    }
                }
                best as u32
            };
            pred == y
        })
        .count();
    correct as f64 / n as f64
}

/// The probe's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectedSetup {
    /// Numbers of components P (clipped to the input size).
    pub dims: Vec<usize>,
    /// Centre the inputs before the PCA (and the projection).
    pub centred: bool,
    /// The split whose inputs are projected.
    pub split: Split,
}

/// Accuracy on the split's inputs projected onto the first P training principal components.
pub struct ProjectedProbe {
    name: String,
    schedule: ProbeSchedule,
    split: Split,
    /// P after clipping, without repeats.
    dims: Vec<usize>,
    /// Projected inputs per P, row-major.
    inputs: Vec<Vec<f64>>,
    labels: Vec<u32>,
    /// Σ_{k<P} λ_k / Σ λ_k per P.
    variance_fraction: Vec<f64>,
    /// (step, accuracy) per P.
    history: Vec<Vec<(u64, f64)>>,
}

impl ProjectedProbe {
    /// A probe on `data`'s split `setup.split`.
    pub fn new(
        name: String,
        schedule: ProbeSchedule,
        setup: ProjectedSetup,
        data: &dyn Dataset,
    ) -> Result<Self, String> {
        let labels = match data.host_targets(setup.split) {
            HostTargets::Classes { labels, .. } => labels.to_vec(),
            other => {
                return Err(format!(
                    "the `projected` probe needs class targets, the data have {} dense targets per example",
                    other.width()
                ))
            }
        };
        if setup.dims.is_empty() {
            return Err("projected.dims: give at least one number of components".into());
        }
        if setup.dims.contains(&0) {
            return Err("projected.dims: every P must be >= 1".into());
        }
        let pca = Pca::fit_train(data, setup.centred)?;
        let q = pca.dim();
        let mut dims: Vec<usize> = Vec::new();
        for p in setup.dims.iter().map(|&p| p.min(q)) {
            if !dims.contains(&p) {
                dims.push(p);
            }
        }
        let n = data.spec().len(setup.split);
        let mut x = Vec::with_capacity(n * q);
        data.gather_inputs(setup.split, &(0..n).collect::<Vec<_>>(), &mut x);
        let inputs = pca.project_many(&x, &dims);
        let total: f64 = pca.eigenvalues().iter().map(|l| l.max(0.0)).sum();
        let variance_fraction = dims
            .iter()
            .map(|&p| {
                let kept: f64 = pca.eigenvalues()[..p].iter().map(|l| l.max(0.0)).sum();
                if total > 0.0 {
                    kept / total
                } else {
                    f64::NAN
                }
            })
            .collect();
        Ok(ProjectedProbe {
            name,
            schedule,
            split: setup.split,
            history: vec![Vec::new(); dims.len()],
            dims,
            inputs,
            labels,
            variance_fraction,
        })
    }

    /// The numbers of components P measured (after clipping).
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The projected inputs for the `i`-th P of [`ProjectedProbe::dims`], row-major.
    pub fn inputs(&self, i: usize) -> &[f64] {
        &self.inputs[i]
    }

    fn indexed(&self, out: &mut dyn Recorder, key: &str, split: &str, p: usize, value: f64) {
        out.record(Metric {
            probe: self.name.clone(),
            key: key.into(),
            split: split.into(),
            layer: None,
            index: Some(p as i64),
            index2: None,
            value,
        });
    }

    fn finish(&self, out: &mut dyn Recorder, last: u64) {
        let split = self.split.name();
        for (i, &p) in self.dims.iter().enumerate() {
            let h = &self.history[i];
            let Some(&(_, last_acc)) = h.last() else {
                continue;
            };
            let (mut at, mut max) = h[0];
            for &(s, a) in h {
                if a > max {
                    (at, max) = (s, a);
                }
            }
            let fraction = if last == 0 {
                0.0
            } else {
                at as f64 / last as f64
            };
            self.indexed(out, "accuracy_max", split, p, max);
            self.indexed(out, "final_minus_max", split, p, last_acc - max);
            self.indexed(out, "argmax_fraction", split, p, fraction);
            self.indexed(
                out,
                "variance_fraction",
                "train",
                p,
                self.variance_fraction[i],
            );
        }
    }
}

impl<B: Backend> Probe<B> for ProjectedProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let split = self.split.name();
        for i in 0..self.dims.len() {
            let logits = ctx.logits_at_theta(&self.inputs[i], 512)?;
            let a = accuracy(&logits, &self.labels);
            // A resumed run may observe its first step again: keep one entry per step.
            self.history[i].retain(|&(s, _)| s < ctx.step);
            self.history[i].push((ctx.step, a));
            self.indexed(out, "accuracy", split, self.dims[i], a);
        }
        if !ctx.updated {
            self.finish(out, ctx.step);
        }
        Ok(Flow::Continue)
    }
    fn state(&self) -> serde_json::Value {
        serde_json::json!({
            "dims": self.dims,
            "history": self
                .history
                .iter()
                .map(|h| h.iter().map(|&(s, a)| (s, a.to_bits())).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
        })
    }
    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            return Ok(());
        }
        let bad = |what: &str| format!("projected state: bad `{what}`");
        let dims: Vec<usize> =
            serde_json::from_value(state.get("dims").cloned().ok_or(bad("dims"))?)
                .map_err(|_| bad("dims"))?;
        if dims != self.dims {
            return Err(format!(
                "projected state: dims {dims:?} differ from the probe's {:?}",
                self.dims
            ));
        }
        let history: Vec<Vec<(u64, u64)>> =
            serde_json::from_value(state.get("history").cloned().ok_or(bad("history"))?)
                .map_err(|_| bad("history"))?;
        if history.len() != self.dims.len() {
            return Err(bad("history"));
        }
        self.history = history
            .into_iter()
            .map(|h| h.into_iter().map(|(s, a)| (s, f64::from_bits(a))).collect())
            .collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use learnscope_core::RandomKey;

    /// Correlated Gaussian rows: x = A g + offset, so the covariance has distinct eigenvalues.
    fn data(n: usize, q: usize, seed: u64) -> Vec<f64> {
        let key = RandomKey::root(seed);
        let a: Vec<f64> = (0..q * q).map(|i| key.normal_at(i as u64)).collect();
        let mut x = Vec::with_capacity(n * q);
        for r in 0..n {
            let g: Vec<f64> = (0..q)
                .map(|j| key.normal_at((q * q + r * q + j) as u64) * (1.0 + j as f64))
                .collect();
            for i in 0..q {
                let v: f64 = (0..q).map(|j| a[i * q + j] * g[j]).sum();
                x.push(v + 0.5 * i as f64);
            }
        }
        x
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn projection_is_idempotent_orthogonal_and_full_rank_is_identity() {
        let (n, q) = (200, 12);
        let x = data(n, q, 3);
        for centred in [true, false] {
            let pca = Pca::fit(&x, q, centred).unwrap();
            let ev = pca.eigenvalues();
            assert!(ev.windows(2).all(|w| w[0] >= w[1]), "{ev:?}");
            for k in 0..q {
                let u = pca.component(k);
                assert!((dot(&u, &u) - 1.0).abs() < 1e-12);
                let big = u
                    .iter()
                    .fold(0.0f64, |m, v| if v.abs() > m.abs() { *v } else { m });
                assert!(big > 0.0, "sign of component {k}");
            }
            let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for p in [1, 3, 7] {
                let y = pca.project(&x, p);
                let yy = pca.project(&y, p);
                let diff = y
                    .iter()
                    .zip(&yy)
                    .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
                assert!(
                    diff < 1e-10 * scale,
                    "idempotent (P = {p}, {centred}): {diff}"
                );
                // The residual x − y is orthogonal to every kept component, and y − x̄ lies
                // in their span.
                for r in 0..n {
                    let xr = &x[r * q..(r + 1) * q];
                    let yr = &y[r * q..(r + 1) * q];
                    let res: Vec<f64> = xr.iter().zip(yr).map(|(a, b)| a - b).collect();
                    for k in 0..p {
                        let c = dot(&res, &pca.component(k));
                        assert!(c.abs() < 1e-10 * scale, "residual · u_{k} = {c}");
                    }
                    let yc: Vec<f64> = yr.iter().zip(pca.mean()).map(|(a, m)| a - m).collect();
                    let inside: f64 = (0..p).map(|k| dot(&yc, &pca.component(k)).powi(2)).sum();
                    assert!((inside - dot(&yc, &yc)).abs() < 1e-9 * scale * scale);
                }
            }
            let full = pca.project(&x, q + 5);
            let diff = full
                .iter()
                .zip(&x)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(diff < 1e-10, "P = q is the identity: {diff}");
        }
    }

    #[test]
    fn components_diagonalise_the_covariance() {
        let (n, q) = (300, 6);
        let x = data(n, q, 5);
        let pca = Pca::fit(&x, q, true).unwrap();
        // Variance along u_k equals λ_k; the sample mean is x̄.
        for k in 0..q {
            let u = pca.component(k);
            let proj: Vec<f64> = x
                .chunks_exact(q)
                .map(|r| dot(r, &u) - dot(pca.mean(), &u))
                .collect();
            let var = proj.iter().map(|v| v * v).sum::<f64>() / n as f64;
            assert!((var - pca.eigenvalues()[k]).abs() < 1e-9 * pca.eigenvalues()[0]);
        }
    }

    #[test]
    fn accuracy_matches_the_evaluation_rule() {
        assert_eq!(accuracy(&[0.1, 0.3, 0.5, 0.2], &[1, 0]), 1.0);
        // Ties go to the first maximum.
        assert_eq!(accuracy(&[0.4, 0.4], &[0]), 1.0);
        // One logit: > 0 ↔ class 1.
        assert_eq!(accuracy(&[0.2, -0.1, 0.0], &[1, 0, 1]), 2.0 / 3.0);
    }
}
