//! The critical principal component of every example (P2, Hacohen & Weinshall 2022,
//! "Principal components bias in over-parameterized linear models, and its manifestation in deep
//! neural networks", JMLR 23; SCIENCE.md §P2.5 item 5, §P2.6): "the smallest `P` such that a
//! linear classifier trained on the original data classifies the example correctly when the
//! example is projected onto the first `P` PCs". P2 correlates it with accessibility
//! (§P2.5 item 4; −0.93 for st-VGG on cats & dogs): examples whose label lives in the leading
//! components are learned first.
//!
//! It does not depend on the network: everything is computed once, when the probe is built, and
//! recorded at its first due step (a `done` flag in the checkpointed state keeps a resumed run
//! from recording it twice).
//!
//! **PCA** ([`Pca`], the `projected` probe's, with the data crate's symmetric eigensolver:
//! components by descending eigenvalue, each with its largest entry positive): the centred
//! covariance `C = (1/n) Σ (x_i − μ)(x_i − μ)ᵀ = U D Uᵀ` of the training inputs, and the
//! projection `x_P = μ + U_P U_Pᵀ (x − μ)`.
//!
//! **Classifier** [I] (the paper does not say which linear classifier): ridge least squares with
//! an unpenalised bias on one-hot targets `t_i` (K = the number of classes, at least 2),
//! trained once on the unprojected training data in f64,
//! `min_{W,b} (1/n) Σ ‖W x_i + b − t_i‖² + λ ‖W‖_F²`, whose solution is
//! `W = C_tx (C + λI)⁻¹`, `b = t̄ − W μ`, with `C_tx = (1/n) Σ (t_i − t̄)(x_i − μ)ᵀ` (row k:
//! `p_k (μ_k − μ)`, `p_k` the class share, `μ_k` the class mean) and `t̄ = (p_k)`. The decision
//! is the arg-max (first maximum). For two classes this is the same decision as a least-squares
//! fit to ±1 targets with the sign rule (f₁ − f₀ is that fit). `λ = ridge · tr(C)/q` (the mean
//! eigenvalue times `ridge`; default `ridge` = 1e-3, so only directions with less than 0.1 % of
//! the mean variance are shrunk noticeably; `ridge = 0` is plain least squares, with directions
//! of zero variance, which carry no signal, given zero weight).
//!
//! **Every P at once.** With principal coordinates `c = Uᵀ(x − μ)` and `V = W U =
//! C_tx U (D + λI)⁻¹` (column j: `C_tx u_j / (d_j + λ)`), the logits of the projected example are
//! `W x_P + b = t̄ + Σ_{j≤P} V_{:,j} c_j`, so all `P = 1..q` cost `O(q·K)` per example after
//! one `n × q × q` product. The grid is every `P` in `1..=q` unless `grid` lists some (each
//! clipped to q, sorted, repeats dropped); the critical P is [`learnscope_stats::critical_pc`]'s:
//! the smallest grid `P` from which the example is correct at **every** larger grid `P` (a lucky
//! guess at a small `P` does not count); none when it is wrong at the largest grid P.
//!
//! Recorded once (split = the probe's split, default `test`):
//! - `critical_pc` per example with a critical P (index = example index in the split, value = P,
//!   the number of leading components, 1-based);
//! - `critical_pc_never`: how many examples are wrong at the largest grid P (they get no
//!   `critical_pc` row);
//! - `classifier_accuracy`: accuracy of the classifier on the unprojected split (P = q).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use learnscope_core::ProbeSchedule;
use learnscope_data::{Dataset, Split};
use learnscope_nn::loss::HostTargets;
use learnscope_nn::{Backend, NnError};
use learnscope_train::{Flow, Metric, Probe, Recorder, StepCtx};

use crate::projected::Pca;
use crate::registry::SplitName;

/// Default `ridge`: 1e-3 (λ = 1e-3 × the mean eigenvalue of the training covariance).
pub fn default_ridge() -> f64 {
    1e-3
}

/// Default `split`: the test split.
pub fn default_split() -> SplitName {
    SplitName::Test
}

/// A ridge least-squares classifier on one-hot targets, kept in principal coordinates (see the
/// module documentation).
#[derive(Debug, Clone)]
pub struct PcClassifier {
    pca: Pca,
    /// U (q × q), column j = component j.
    basis: Mat<f64>,
    classes: usize,
    lambda: f64,
    /// t̄ = W μ + b (K).
    offset: Vec<f64>,
    /// V = W U (K × q, row-major).
    v: Vec<f64>,
}

/// Per-class sums of inputs (K × q, row-major) and counts.
struct ClassSums {
    sums: Vec<f64>,
    counts: Vec<usize>,
}

impl ClassSums {
    fn new(classes: usize, q: usize) -> Self {
        ClassSums {
            sums: vec![0.0; classes * q],
            counts: vec![0; classes],
        }
    }

    fn add(&mut self, rows: &[f64], labels: &[u32], q: usize) {
        for (row, &y) in rows.chunks_exact(q).zip(labels) {
            let y = y as usize;
            self.counts[y] += 1;
            self.sums[y * q..(y + 1) * q]
                .iter_mut()
                .zip(row)
                .for_each(|(s, v)| *s += v);
        }
    }
}

fn check_labels(labels: &[u32], classes: usize, what: &str) -> Result<(), String> {
    match labels.iter().find(|&&y| y as usize >= classes) {
        Some(y) => Err(format!(
            "{what}: label {y} is not below the number of classes {classes}"
        )),
        None => Ok(()),
    }
}

impl PcClassifier {
    /// The classifier of the `n × q` row-major inputs `x` with `labels` in `0..classes`
    /// (`classes ≥ 2`), `λ = ridge · tr(C)/q`.
    pub fn fit(
        x: &[f64],
        labels: &[u32],
        q: usize,
        classes: usize,
        ridge: f64,
    ) -> Result<Self, String> {
        let pca = Pca::fit(x, q, true)?;
        if x.len() / q != labels.len() {
            return Err(format!(
                "{} labels for {} examples",
                labels.len(),
                x.len() / q
            ));
        }
        check_labels(labels, classes, "critical_pc")?;
        let mut sums = ClassSums::new(classes, q);
        sums.add(x, labels, q);
        Self::from_parts(pca, sums, ridge)
    }

    /// The classifier of `data`'s training split (inputs read in chunks of 512 examples).
    pub fn fit_train(
        data: &dyn Dataset,
        labels: &[u32],
        classes: usize,
        ridge: f64,
    ) -> Result<Self, String> {
        let pca = Pca::fit_train(data, true)?;
        let (n, q) = (data.spec().train_len, pca.dim());
        if labels.len() != n {
            return Err(format!("{} labels for {n} training examples", labels.len()));
        }
        check_labels(labels, classes, "critical_pc")?;
        let mut sums = ClassSums::new(classes, q);
        let mut buf = Vec::new();
        for start in (0..n).step_by(512) {
            let end = (start + 512).min(n);
            buf.clear();
            data.gather_inputs(Split::Train, &(start..end).collect::<Vec<_>>(), &mut buf);
            sums.add(&buf, &labels[start..end], q);
        }
        Self::from_parts(pca, sums, ridge)
    }

    fn from_parts(pca: Pca, sums: ClassSums, ridge: f64) -> Result<Self, String> {
        if !(ridge.is_finite() && ridge >= 0.0) {
            return Err(format!("ridge must be finite and >= 0, got {ridge}"));
        }
        let q = pca.dim();
        let classes = sums.counts.len();
        if classes < 2 {
            return Err(format!("the classifier needs >= 2 classes, got {classes}"));
        }
        let n: usize = sums.counts.iter().sum();
        let nn = n as f64;
        let mu = pca.mean();
        // C_tx row k = (1/n) Σ_{i in k} (x_i − μ) = (sum_k − n_k μ)/n; t̄_k = n_k/n.
        let c_tx = Mat::<f64>::from_fn(classes, q, |k, i| {
            (sums.sums[k * q + i] - sums.counts[k] as f64 * mu[i]) / nn
        });
        let offset: Vec<f64> = sums.counts.iter().map(|&c| c as f64 / nn).collect();
        let d: Vec<f64> = pca.eigenvalues().iter().map(|l| l.max(0.0)).collect();
        let lambda = ridge * d.iter().sum::<f64>() / q as f64;
        let columns: Vec<Vec<f64>> = (0..q).map(|j| pca.component(j)).collect();
        let basis = Mat::<f64>::from_fn(q, q, |i, j| columns[j][i]);
        let mut c_tx_u = Mat::<f64>::zeros(classes, q);
        matmul(
            c_tx_u.as_mut(),
            Accum::Replace,
            c_tx.as_ref(),
            basis.as_ref(),
            1.0,
            Par::Seq,
        );
        let mut v = vec![0.0; classes * q];
        for j in 0..q {
            let denom = d[j] + lambda;
            if denom > 0.0 {
                for k in 0..classes {
                    v[k * q + j] = c_tx_u[(k, j)] / denom;
                }
            }
        }
        Ok(PcClassifier {
            pca,
            basis,
            classes,
            lambda,
            offset,
            v,
        })
    }

    /// The PCA of the training inputs.
    pub fn pca(&self) -> &Pca {
        &self.pca
    }

    /// The number of classes K (logits).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// λ (absolute).
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// `(W, b)` in input coordinates: `W = V Uᵀ` (K × q, row-major) and `b = t̄ − W μ`.
    pub fn weights(&self) -> (Vec<f64>, Vec<f64>) {
        let (q, k) = (self.pca.dim(), self.classes);
        let mut w = vec![0.0; k * q];
        for r in 0..k {
            for i in 0..q {
                w[r * q + i] = (0..q).map(|j| self.v[r * q + j] * self.basis[(i, j)]).sum();
            }
        }
        let b = (0..k)
            .map(|r| {
                self.offset[r]
                    - (0..q)
                        .map(|i| w[r * q + i] * self.pca.mean()[i])
                        .sum::<f64>()
            })
            .collect();
        (w, b)
    }

    /// Principal coordinates `c = Uᵀ(x − μ)` of the `n × q` row-major inputs, row-major.
    pub fn coordinates(&self, x: &[f64]) -> Vec<f64> {
        let q = self.pca.dim();
        let n = x.len() / q;
        let mu = self.pca.mean();
        let xc = Mat::<f64>::from_fn(n, q, |i, j| x[i * q + j] - mu[j]);
        let mut c = Mat::<f64>::zeros(n, q);
        matmul(
            c.as_mut(),
            Accum::Replace,
            xc.as_ref(),
            self.basis.as_ref(),
            1.0,
            Par::Seq,
        );
        let mut out = Vec::with_capacity(n * q);
        for i in 0..n {
            out.extend((0..q).map(|j| c[(i, j)]));
        }
        out
    }

    /// The logits of the example with principal coordinates `c` projected onto the first `p`
    /// components (`p ≤ q`).
    pub fn logits_at(&self, c: &[f64], p: usize) -> Vec<f64> {
        let q = self.pca.dim();
        (0..self.classes)
            .map(|k| {
                self.offset[k]
                    + self.v[k * q..k * q + p]
                        .iter()
                        .zip(&c[..p])
                        .map(|(v, c)| v * c)
                        .sum::<f64>()
            })
            .collect()
    }

    /// For one example (principal coordinates `c`, label `y`): whether it is classified
    /// correctly at each `P` of `grid` (increasing, each in `1..=q`), pushed onto `out`, and
    /// whether it is at `P = q` (unprojected).
    fn correct_along(&self, c: &[f64], y: u32, grid: &[usize], out: &mut Vec<bool>) -> bool {
        let q = self.pca.dim();
        let mut logits = self.offset.clone();
        let mut g = 0;
        for (j, &cj) in c.iter().enumerate() {
            for (k, l) in logits.iter_mut().enumerate() {
                *l += self.v[k * q + j] * cj;
            }
            while g < grid.len() && grid[g] == j + 1 {
                out.push(arg_max(&logits) == y as usize);
                g += 1;
            }
        }
        arg_max(&logits) == y as usize
    }

    /// `correct[g·n + x]`: example `x` (of the `n × q` inputs) is classified correctly when
    /// projected onto the first `grid[g]` components — the layout of
    /// [`learnscope_stats::critical_pc`]. `grid` increasing, each in `1..=q`.
    pub fn correct_by_p(&self, x: &[f64], labels: &[u32], grid: &[usize]) -> Vec<bool> {
        let q = self.pca.dim();
        let n = labels.len();
        let c = self.coordinates(x);
        let mut out = vec![false; grid.len() * n];
        let mut one = Vec::with_capacity(grid.len());
        for (i, &y) in labels.iter().enumerate() {
            one.clear();
            self.correct_along(&c[i * q..(i + 1) * q], y, grid, &mut one);
            for (g, &ok) in one.iter().enumerate() {
                out[g * n + i] = ok;
            }
        }
        out
    }

    /// The critical P of every example of the `n × q` inputs (`None`: wrong at the largest
    /// grid P) and the accuracy on the unprojected inputs. `grid` increasing, each in `1..=q`.
    pub fn critical(
        &self,
        x: &[f64],
        labels: &[u32],
        grid: &[usize],
    ) -> Result<(Vec<Option<usize>>, f64), String> {
        let q = self.pca.dim();
        let c = self.coordinates(x);
        let mut one = Vec::with_capacity(grid.len());
        let mut critical = Vec::with_capacity(labels.len());
        let mut correct = 0usize;
        for (i, &y) in labels.iter().enumerate() {
            one.clear();
            correct += usize::from(self.correct_along(&c[i * q..(i + 1) * q], y, grid, &mut one));
            let g =
                learnscope_stats::critical_pc(&one, grid.len(), 1).map_err(|e| e.to_string())?;
            critical.push(g[0].map(|g| grid[g]));
        }
        let accuracy = if labels.is_empty() {
            f64::NAN
        } else {
            correct as f64 / labels.len() as f64
        };
        Ok((critical, accuracy))
    }
}

/// Index of the first maximum.
fn arg_max(v: &[f64]) -> usize {
    let mut best = 0;
    for j in 1..v.len() {
        if v[j] > v[best] {
            best = j;
        }
    }
    best
}

/// The grid of P values: `1..=q` when `grid` is `None`, else `grid` clipped to q, sorted,
/// without repeats. Every P must be ≥ 1.
pub fn grid_of(grid: Option<&[usize]>, q: usize) -> Result<Vec<usize>, String> {
    let Some(grid) = grid else {
        return Ok((1..=q).collect());
    };
    if grid.is_empty() {
        return Err("critical_pc.grid: give at least one number of components".into());
    }
    if grid.contains(&0) {
        return Err("critical_pc.grid: every P must be >= 1".into());
    }
    let mut g: Vec<usize> = grid.iter().map(|&p| p.min(q)).collect();
    g.sort_unstable();
    g.dedup();
    Ok(g)
}

/// The probe's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CriticalPcSetup {
    /// λ = ridge · tr(C)/q.
    pub ridge: f64,
    /// P values (default: every P in 1..=q).
    pub grid: Option<Vec<usize>>,
    /// The split whose examples are scored.
    pub split: Split,
}

/// The critical principal component of every example of a split (see the module
/// documentation).
pub struct CriticalPcProbe {
    name: String,
    schedule: ProbeSchedule,
    split: Split,
    /// Per example: the critical P.
    critical: Vec<Option<usize>>,
    accuracy: f64,
    grid: Vec<usize>,
    done: bool,
}

impl CriticalPcProbe {
    /// Fits the classifier on `data`'s training split and scores `setup.split`.
    pub fn new(
        name: String,
        schedule: ProbeSchedule,
        setup: CriticalPcSetup,
        data: &dyn Dataset,
    ) -> Result<Self, String> {
        let classes_of = |split: Split| {
            match data.host_targets(split) {
            HostTargets::Classes { labels, classes } => Ok((labels.to_vec(), classes)),
            other => Err(format!(
                "the `critical_pc` probe needs class targets, the data have {} dense targets per example",
                other.width()
            )),
        }
        };
        let (train_labels, c1) = classes_of(Split::Train)?;
        let (labels, c2) = classes_of(setup.split)?;
        let max_label = train_labels
            .iter()
            .chain(&labels)
            .map(|&y| y as usize + 1)
            .max()
            .unwrap_or(0);
        // One logit for a binary task means two classes here.
        let classes = c1.max(c2).max(max_label).max(2);
        let clf = PcClassifier::fit_train(data, &train_labels, classes, setup.ridge)?;
        let grid = grid_of(setup.grid.as_deref(), clf.pca().dim())?;
        let n = data.spec().len(setup.split);
        let mut x = Vec::with_capacity(n * clf.pca().dim());
        data.gather_inputs(setup.split, &(0..n).collect::<Vec<_>>(), &mut x);
        let (critical, accuracy) = clf.critical(&x, &labels, &grid)?;
        Ok(CriticalPcProbe {
            name,
            schedule,
            split: setup.split,
            critical,
            accuracy,
            grid,
            done: false,
        })
    }

    /// The critical P per example of the split (`None`: wrong at the largest grid P).
    pub fn critical(&self) -> &[Option<usize>] {
        &self.critical
    }

    /// The P values scored.
    pub fn grid(&self) -> &[usize] {
        &self.grid
    }

    fn metric(&self, key: &str, index: Option<usize>, value: f64) -> Metric {
        Metric {
            probe: self.name.clone(),
            key: key.into(),
            split: self.split.name().into(),
            layer: None,
            index: index.map(|i| i as i64),
            index2: None,
            value,
        }
    }
}

impl<B: Backend> Probe<B> for CriticalPcProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn observe(&mut self, _ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        if self.done {
            return Ok(Flow::Continue);
        }
        let mut never = 0usize;
        for (i, c) in self.critical.iter().enumerate() {
            match c {
                Some(p) => out.record(self.metric("critical_pc", Some(i), *p as f64)),
                None => never += 1,
            }
        }
        out.record(self.metric("critical_pc_never", None, never as f64));
        out.record(self.metric("classifier_accuracy", None, self.accuracy));
        self.done = true;
        Ok(Flow::Continue)
    }
    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "done": self.done })
    }
    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            return Ok(());
        }
        self.done = state
            .get("done")
            .and_then(serde_json::Value::as_bool)
            .ok_or("critical_pc state: bad `done`")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use learnscope_core::RandomKey;

    /// Solves the square system `a z = b` (row-major `m × m`, `b` with `r` columns) by Gaussian
    /// elimination with partial pivoting.
    fn solve(mut a: Vec<f64>, mut b: Vec<f64>, m: usize, r: usize) -> Vec<f64> {
        for col in 0..m {
            let piv = (col..m)
                .max_by(|&i, &j| a[i * m + col].abs().total_cmp(&a[j * m + col].abs()))
                .unwrap();
            for j in 0..m {
                a.swap(col * m + j, piv * m + j);
            }
            for j in 0..r {
                b.swap(col * r + j, piv * r + j);
            }
            for i in col + 1..m {
                let f = a[i * m + col] / a[col * m + col];
                for j in col..m {
                    a[i * m + j] -= f * a[col * m + j];
                }
                for j in 0..r {
                    b[i * r + j] -= f * b[col * r + j];
                }
            }
        }
        let mut z = vec![0.0; m * r];
        for i in (0..m).rev() {
            for j in 0..r {
                let s: f64 = (i + 1..m).map(|l| a[i * m + l] * z[l * r + j]).sum();
                z[i * r + j] = (b[i * r + j] - s) / a[i * m + i];
            }
        }
        z
    }

    /// Brute force: the normal equations of `min (1/n) Σ ‖W x + b − t‖² + λ‖W‖²` on the
    /// inputs augmented with a constant 1, `(X̃ᵀX̃/n + λ diag(1…1, 0)) Θ = X̃ᵀT/n`, solved
    /// directly; returns `(W` K×q row-major, `b)`.
    fn brute_classifier(
        x: &[f64],
        labels: &[u32],
        q: usize,
        k: usize,
        lambda: f64,
    ) -> (Vec<f64>, Vec<f64>) {
        let n = labels.len();
        let m = q + 1;
        let mut a = vec![0.0; m * m];
        let mut rhs = vec![0.0; m * k];
        for (row, &y) in x.chunks_exact(q).zip(labels) {
            let xt: Vec<f64> = row.iter().copied().chain([1.0]).collect();
            for i in 0..m {
                for j in 0..m {
                    a[i * m + j] += xt[i] * xt[j] / n as f64;
                }
                rhs[i * k + y as usize] += xt[i] / n as f64;
            }
        }
        for i in 0..q {
            a[i * m + i] += lambda;
        }
        let theta = solve(a, rhs, m, k);
        let w = (0..k * q)
            .map(|idx| theta[(idx % q) * k + idx / q])
            .collect();
        let b = (0..k).map(|r| theta[q * k + r]).collect();
        (w, b)
    }

    /// Three anisotropic Gaussian classes in q dimensions whose means differ along several
    /// directions, so different examples need different numbers of components.
    fn problem(n: usize, q: usize, seed: u64) -> (Vec<f64>, Vec<u32>) {
        let key = RandomKey::root(seed);
        let mut x = Vec::with_capacity(n * q);
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let c = (i % 3) as u32;
            for j in 0..q {
                let scale = 3.0 / (1.0 + j as f64);
                let shift = match (c, j % 3) {
                    (0, 0) => 1.0,
                    (1, 1) => 1.2,
                    (2, 2) => 0.8,
                    _ => 0.0,
                };
                x.push(scale * key.normal_at((i * q + j) as u64) + shift + 0.1 * j as f64);
            }
            y.push(c);
        }
        (x, y)
    }

    #[test]
    fn every_p_matches_brute_force_projection_and_classifier() {
        let (q, k) = (7, 3);
        let (x, y) = problem(240, q, 1);
        let (xt, yt) = problem(150, q, 2);
        for ridge in [0.0, 1e-3, 0.5] {
            let clf = PcClassifier::fit(&x, &y, q, k, ridge).unwrap();
            let (w, b) = brute_classifier(&x, &y, q, k, clf.lambda());
            // The eigen-route weights equal the normal-equation solution. The system is well
            // conditioned (eigenvalues 9/(1+j)² ≥ 0.14 plus class-mean spread), so rounding
            // stays near 1e-15 × the condition number; 1e-9 leaves a wide margin.
            let (w2, b2) = clf.weights();
            for (a, c) in w.iter().zip(&w2).chain(b.iter().zip(&b2)) {
                assert!((a - c).abs() < 1e-9, "ridge {ridge}: {a} vs {c}");
            }
            let grid: Vec<usize> = (1..=q).collect();
            let fast = clf.correct_by_p(&xt, &yt, &grid);
            let coords = clf.coordinates(&xt);
            let n = yt.len();
            let mut brute = vec![false; q * n];
            let mut min_gap = f64::INFINITY;
            for p in 1..=q {
                // Explicit projection x_P = μ + U_P U_Pᵀ(x − μ), then W x_P + b.
                let xp = clf.pca().project(&xt, p);
                for i in 0..n {
                    let row = &xp[i * q..(i + 1) * q];
                    let logits: Vec<f64> = (0..k)
                        .map(|r| b[r] + (0..q).map(|j| w[r * q + j] * row[j]).sum::<f64>())
                        .collect();
                    let fast_logits = clf.logits_at(&coords[i * q..(i + 1) * q], p);
                    for (a, c) in logits.iter().zip(&fast_logits) {
                        assert!((a - c).abs() < 1e-9, "P = {p}, example {i}: {a} vs {c}");
                    }
                    let mut sorted = logits.clone();
                    sorted.sort_by(|a, b| b.total_cmp(a));
                    min_gap = min_gap.min(sorted[0] - sorted[1]);
                    brute[(p - 1) * n + i] = arg_max(&logits) == yt[i] as usize;
                }
            }
            // No near-tie that rounding could flip: the decisions must be identical.
            assert!(min_gap > 1e-7, "ridge {ridge}: a near tie {min_gap}");
            assert_eq!(fast, brute, "ridge {ridge}");
            let (crit, acc) = clf.critical(&xt, &yt, &grid).unwrap();
            let want: Vec<Option<usize>> = learnscope_stats::critical_pc(&brute, q, n)
                .unwrap()
                .into_iter()
                .map(|g| g.map(|g| g + 1))
                .collect();
            assert_eq!(crit, want);
            let full = (0..n).filter(|&i| brute[(q - 1) * n + i]).count() as f64 / n as f64;
            assert_eq!(acc, full);
            // The problem is not trivial: examples need different P, some are never right.
            let distinct: std::collections::BTreeSet<_> = crit.iter().flatten().collect();
            assert!(distinct.len() >= 3, "ridge {ridge}: {distinct:?}");
            assert!(crit.iter().any(Option::is_none));
            assert!(acc > 0.5, "{acc}");
        }
    }

    /// Training inputs with variance 100 along e₁ (no class information) and 8/9 along e₂ (the
    /// class), 4 examples of class 0 and 2 of class 1:
    /// class 0 at (±10, −1) twice, class 1 at (±10, 1). μ = (0, −1/3), C = diag(100, 8/9),
    /// u₁ = e₁, u₂ = e₂, t̄ = (2/3, 1/3), C_tx u₁ = 0, C_tx u₂ = (−4/9, 4/9), so with ridge 0
    /// V = [[0, −1/2], [0, 1/2]]: at P = 1 every example is called class 0 (t̄), at P = 2 the
    /// logit gap f₁ − f₀ = −1/3 + (x₂ + 1/3) = x₂, i.e. class 1 iff x₂ > 0.
    #[test]
    fn hand_built_two_dimensional_example() {
        let x = [
            10.0, -1.0, -10.0, -1.0, 10.0, -1.0, -10.0, -1.0, 10.0, 1.0, -10.0, 1.0,
        ];
        let y = [0, 0, 0, 0, 1, 1];
        let clf = PcClassifier::fit(&x, &y, 2, 2, 0.0).unwrap();
        assert_eq!(clf.lambda(), 0.0);
        let ev = clf.pca().eigenvalues();
        assert!((ev[0] - 100.0).abs() < 1e-12 && (ev[1] - 8.0 / 9.0).abs() < 1e-12);
        let test = [5.0, 2.0, -7.0, -1.5, 4.0, -0.2, 1.0, 0.5, -3.0, 0.05];
        let labels = [1, 0, 1, 0, 1];
        // (5, 2), class 1: wrong at P = 1, right at P = 2 → 2.
        // (−7, −1.5), class 0: right at both → 1.
        // (4, −0.2), class 1: wrong at both → never.
        // (1, 0.5), class 0: right at P = 1 only (a lucky guess) → never.
        // (−3, 0.05), class 1: x₂ > 0, right at P = 2 → 2.
        let (crit, acc) = clf.critical(&test, &labels, &[1, 2]).unwrap();
        assert_eq!(crit, vec![Some(2), Some(1), None, None, Some(2)]);
        assert_eq!(acc, 3.0 / 5.0);
        let c = clf.coordinates(&test);
        let l = clf.logits_at(&c[..2], 2);
        // f₁ − f₀ = x₂ = 2 (up to the eigenvectors' rounding).
        assert!((l[1] - l[0] - 2.0).abs() < 1e-12, "{l:?}");
        // A grid with only P = 1: the fourth example counts as critical at 1.
        let (crit1, _) = clf.critical(&test, &labels, &[1]).unwrap();
        assert_eq!(crit1, vec![None, Some(1), None, Some(1), None]);
    }

    #[test]
    fn never_count_and_grid_rules() {
        // Labels the inputs cannot explain (alternating along a line, with the class means
        // equal): every example of class 1 is wrong at every P.
        let x: Vec<f64> = (0..8).map(|i| f64::from(i / 2)).collect();
        let y = [0, 1, 1, 0, 0, 1, 1, 0];
        let clf = PcClassifier::fit(&x, &y, 1, 2, 0.0).unwrap();
        // Class means are both 1.5 = μ: V = 0, t̄ = (1/2, 1/2), a tie → class 0 for all.
        let (crit, acc) = clf.critical(&x, &y, &[1]).unwrap();
        let never = crit.iter().filter(|c| c.is_none()).count();
        assert_eq!(never, 4);
        assert_eq!(acc, 0.5);
        for (c, &l) in crit.iter().zip(&y) {
            assert_eq!(c.is_none(), l == 1);
        }
        assert_eq!(grid_of(None, 3).unwrap(), vec![1, 2, 3]);
        assert_eq!(grid_of(Some(&[10, 2, 2, 1]), 4).unwrap(), vec![1, 2, 4]);
        assert!(grid_of(Some(&[0, 2]), 4).is_err());
        assert!(grid_of(Some(&[]), 4).is_err());
        assert!(PcClassifier::fit(&x, &y, 1, 2, -1.0).is_err());
        assert!(PcClassifier::fit(&x, &[0, 1, 2, 0, 0, 1, 1, 0], 1, 2, 0.0).is_err());
    }
}
