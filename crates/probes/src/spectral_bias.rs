//! Spectral bias (Rahaman et al. 2019, "On the spectral bias of neural networks", ICML 2019;
//! SCIENCE.md §C.3): networks fit the low-frequency components of a target before the high
//! ones. Rahaman et al. train a ReLU MLP on λ(x) = Σ_j A_j sin(2π k_j x + φ_j) sampled on ~200
//! equispaced points of [0, 1) and track |f̃_{k_j}| / A_j, the network output's discrete Fourier
//! amplitude at each target frequency; the low k converge first.
//!
//! The probe needs the `sinusoid` data with `sampling = "grid"` (or any data set whose training
//! inputs are one real per example on the grid x_i = i/n, in order, with one real target). With
//! the DFT over the training grid
//!
//! F[g](k) = (1/n) Σ_{i<n} g(x_i) e^{−2πi k i/n},  k = 0, 1, …, ⌊n/2⌋ (cycles per unit),
//!
//! it records, at every due step t and for every tracked frequency k (split `train`, index k):
//! - `spec_err` = |F[f_t](k) − F[λ](k)| / |F[λ](k)| (SCIENCE.md §C.3's toolkit metric: 1 at
//!   f_t = 0, 0 when the component is learned in amplitude and phase);
//! - `amplitude_ratio` = |F[f_t](k)| / |F[λ](k)| (Rahaman's |f̃_k| / A_k: for a sinusoid
//!   A sin(2π k x + φ) with 0 < k < n/2, |F(k)| = A/2 exactly, see [`sine_amplitude_phase`]);
//!
//! and the scalar `spec_err_mean` (mean over the tracked k). At the last step (the
//! observation-only final step) it records per k `first_below` = the first observed step with
//! spec_err < `threshold` (default 0.5; NaN if never) — the time to learn frequency k.
//!
//! λ is the data set's stored training targets: exact for noise-free sinusoids (their DFT on
//! the grid has no leakage; components at other frequencies are zero up to rounding, ~1e-16
//! relative, when every target frequency is an integer below n/2). With `noise_std` > 0 the
//! target DFT includes the noise's (the network is compared with what it is trained on, noise
//! included; σ ε adds ≈ σ/√n to every |F[λ](k)|). The sinusoid's generating spec is not part of
//! the data set, so the clean λ is not reconstructed.
//!
//! `frequencies` (integers, cycles per unit interval) defaults to every k ≤ n/2 where
//! |F[λ](k)| > 1e-6 · max_k |F[λ](k)|, found once from the targets (with noisy targets that is
//! nearly every k: give them explicitly). A given k must be ≤ n/2 (above, the grid aliases it)
//! and carry target content above the same threshold (spec_err divides by it).
//!
//! The probe asks the trainer for every training example's output (`ProbeNeeds::outputs`) and
//! only reads them; its one piece of state is `first_below`, kept in checkpoints so a resumed
//! run ends with the same summary. The DFT is direct, O(n · K) per due step, with the twiddle
//! factor of (k · i) mod n taken from a table of the n roots of unity.

use learnscope_core::ProbeSchedule;
use learnscope_data::{Dataset, Split};
use learnscope_nn::loss::HostTargets;
use learnscope_nn::{Backend, NnError};
use learnscope_train::{Flow, Metric, Probe, ProbeNeeds, Recorder, StepCtx};

/// Default `threshold` of `first_below`: 0.5.
pub fn default_threshold() -> f64 {
    0.5
}

/// Relative level below which a target frequency counts as absent.
pub const CONTENT_RTOL: f64 = 1e-6;

/// Largest allowed |x_i − i/n| of a training input.
pub const GRID_TOL: f64 = 1e-9;

/// The n-point DFT F[g](k) = (1/n) Σ_i g_i e^{−2πi k i/n} at chosen frequencies, with a table of
/// the n roots of unity (so the phase 2π (k i mod n)/n is always reduced exactly).
#[derive(Debug, Clone)]
pub struct Dft {
    /// (cos, sin) of 2π j/n, j < n.
    roots: Vec<(f64, f64)>,
}

impl Dft {
    /// The DFT over n points.
    pub fn new(n: usize) -> Dft {
        let roots = (0..n)
            .map(|j| {
                let a = std::f64::consts::TAU * j as f64 / n as f64;
                (a.cos(), a.sin())
            })
            .collect();
        Dft { roots }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// F[g](k) as (re, im); `g` has n values.
    pub fn at(&self, g: &[f64], k: usize) -> (f64, f64) {
        let n = self.roots.len();
        assert_eq!(g.len(), n, "the DFT is over {n} points");
        let (mut re, mut im) = (0.0, 0.0);
        let step = k % n.max(1);
        let mut j = 0;
        for &v in g {
            let (c, s) = self.roots[j];
            re += v * c;
            im -= v * s;
            j += step;
            if j >= n {
                j -= n;
            }
        }
        (re / n as f64, im / n as f64)
    }
}

/// Amplitude A and phase φ ∈ [0, 2π) of the sinusoid A sin(2π k x + φ) whose DFT coefficient on
/// an n-point grid is `c` = F(k), for 0 < k < n/2: sin θ = (e^{iθ} − e^{−iθ})/(2i), and only
/// the e^{iθ} term lands on +k, so F(k) = (A/2) e^{i(φ − π/2)}, A = 2|F(k)|, φ = arg F(k) + π/2.
pub fn sine_amplitude_phase(c: (f64, f64)) -> (f64, f64) {
    let amp = 2.0 * c.0.hypot(c.1);
    let phase = (c.1.atan2(c.0) + std::f64::consts::FRAC_PI_2).rem_euclid(std::f64::consts::TAU);
    (amp, phase)
}

/// The probe's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralSetup {
    /// Frequencies k to track (None: those with target content).
    pub frequencies: Option<Vec<usize>>,
    /// The spec_err level of `first_below`.
    pub threshold: f64,
}

/// Per-frequency error of the network output's DFT on the training grid against the target's.
pub struct SpectralBiasProbe {
    name: String,
    schedule: ProbeSchedule,
    dft: Dft,
    /// Tracked k, ascending.
    freqs: Vec<usize>,
    /// F[λ](k) per tracked k.
    target: Vec<(f64, f64)>,
    threshold: f64,
    /// First observed step with spec_err < threshold, per tracked k.
    first_below: Vec<Option<u64>>,
}

fn abs(c: (f64, f64)) -> f64 {
    c.0.hypot(c.1)
}

impl SpectralBiasProbe {
    /// A probe on `data`'s training split; errors when the inputs are not one real per example
    /// on the grid i/n, the targets not one real per example, or a frequency is unusable.
    pub fn new(
        name: String,
        schedule: ProbeSchedule,
        setup: SpectralSetup,
        data: &dyn Dataset,
    ) -> Result<Self, String> {
        if !(setup.threshold.is_finite() && setup.threshold > 0.0) {
            return Err(format!(
                "spectral_bias.threshold: must be finite and > 0, got {}",
                setup.threshold
            ));
        }
        let spec = data.spec();
        let n = spec.train_len;
        if spec.input_size() != 1 {
            return Err(format!(
                "the `spectral_bias` probe needs one-dimensional inputs (one real per example), \
                 the data set's input shape is {:?} ({} values)",
                spec.input_shape,
                spec.input_size()
            ));
        }
        if n < 2 {
            return Err(format!(
                "the `spectral_bias` probe needs at least 2 training examples, found {n}"
            ));
        }
        let y = match data.host_targets(Split::Train) {
            HostTargets::Dense { values, outputs: 1 } => values.to_vec(),
            HostTargets::Dense { outputs, .. } => {
                return Err(format!(
                    "the `spectral_bias` probe needs one real target per example, the data have \
                     {outputs} per example"
                ))
            }
            HostTargets::Classes { classes, .. } => {
                return Err(format!(
                    "the `spectral_bias` probe needs one real target per example, the data have \
                     class labels ({classes} classes)"
                ))
            }
        };
        let mut x = Vec::with_capacity(n);
        data.gather_inputs(Split::Train, &(0..n).collect::<Vec<_>>(), &mut x);
        if let Some((i, xi)) = x.iter().enumerate().find(|&(i, xi)| {
            let d = (xi - i as f64 / n as f64).abs();
            d.is_nan() || d > GRID_TOL
        }) {
            return Err(format!(
                "the `spectral_bias` probe needs the training inputs on the grid x_i = i/n in \
                 order (data.sampling = \"grid\", no input transforms): x_{i} = {xi}, expected \
                 {} (i/n with n = {n}, tolerance {GRID_TOL:e})",
                i as f64 / n as f64
            ));
        }
        let dft = Dft::new(n);
        let nyquist = n / 2;
        let all: Vec<(f64, f64)> = (0..=nyquist).map(|k| dft.at(&y, k)).collect();
        let max = all.iter().map(|&c| abs(c)).fold(0.0f64, f64::max);
        if !(max > 0.0 && max.is_finite()) {
            return Err(format!(
                "the `spectral_bias` probe needs targets with frequency content, the largest \
                 |F[λ](k)| over k ≤ {nyquist} is {max}"
            ));
        }
        let floor = CONTENT_RTOL * max;
        let freqs = match setup.frequencies {
            None => (0..=nyquist).filter(|&k| abs(all[k]) > floor).collect(),
            Some(list) => {
                if list.is_empty() {
                    return Err("spectral_bias.frequencies: give at least one frequency".into());
                }
                let mut sorted = list.clone();
                sorted.sort_unstable();
                if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                    return Err(format!(
                        "spectral_bias.frequencies: {} is listed twice",
                        w[0]
                    ));
                }
                for &k in &sorted {
                    if k > nyquist {
                        return Err(format!(
                            "spectral_bias.frequencies: {k} is above the Nyquist frequency \
                             {nyquist} of the {n}-point training grid (expected k ≤ n/2)"
                        ));
                    }
                    if abs(all[k]) <= floor {
                        return Err(format!(
                            "spectral_bias.frequencies: the target has no content at k = {k} \
                             (|F[λ](k)| = {:e}, expected > {CONTENT_RTOL:e} × max {max:e}); \
                             spec_err would divide by it",
                            abs(all[k])
                        ));
                    }
                }
                sorted
            }
        };
        Ok(SpectralBiasProbe {
            name,
            schedule,
            target: freqs.iter().map(|&k| all[k]).collect(),
            first_below: vec![None; freqs.len()],
            freqs,
            dft,
            threshold: setup.threshold,
        })
    }

    /// The tracked frequencies k, ascending.
    pub fn frequencies(&self) -> &[usize] {
        &self.freqs
    }

    /// F[λ](k) for each tracked k, as (re, im).
    pub fn target_dft(&self) -> &[(f64, f64)] {
        &self.target
    }

    /// (spec_err, amplitude_ratio) for each tracked k, for the outputs `f` on the grid.
    pub fn errors(&self, f: &[f64]) -> Vec<(f64, f64)> {
        self.freqs
            .iter()
            .zip(&self.target)
            .map(|(&k, &t)| {
                let c = self.dft.at(f, k);
                let scale = abs(t);
                (abs((c.0 - t.0, c.1 - t.1)) / scale, abs(c) / scale)
            })
            .collect()
    }

    fn indexed(&self, out: &mut dyn Recorder, key: &str, k: usize, value: f64) {
        out.record(Metric {
            probe: self.name.clone(),
            key: key.into(),
            split: "train".into(),
            layer: None,
            index: Some(k as i64),
            index2: None,
            value,
        });
    }
}

impl<B: Backend> Probe<B> for SpectralBiasProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn needs(&self) -> ProbeNeeds {
        ProbeNeeds {
            outputs: vec![Split::Train],
            ..ProbeNeeds::default()
        }
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let what = || format!("probe `{}`", self.name);
        let ev = ctx.eval.get(&Split::Train).ok_or_else(|| {
            NnError::setting(
                what(),
                "no train evaluation",
                "the trainer evaluates the splits in ProbeNeeds::outputs",
            )
        })?;
        let logits = ev.logits.as_deref().ok_or_else(|| {
            NnError::setting(
                what(),
                "no train logits",
                "the trainer keeps the logits of ProbeNeeds::outputs",
            )
        })?;
        if ev.outputs != 1 || logits.len() != self.dft.len() {
            return Err(NnError::setting(
                format!("{}: model outputs", what()),
                format!("{} outputs × {} examples", ev.outputs, ev.n),
                format!("1 output × {} examples", self.dft.len()),
            ));
        }
        let errors = self.errors(logits);
        for (i, &(err, ratio)) in errors.iter().enumerate() {
            let k = self.freqs[i];
            self.indexed(out, "spec_err", k, err);
            self.indexed(out, "amplitude_ratio", k, ratio);
            if err < self.threshold {
                // min: a resumed run observes its checkpoint step again.
                let s = self.first_below[i].map_or(ctx.step, |s| s.min(ctx.step));
                self.first_below[i] = Some(s);
            }
        }
        let mean = errors.iter().map(|e| e.0).sum::<f64>() / errors.len() as f64;
        out.scalar(&self.name, "spec_err_mean", "train", mean);
        if !ctx.updated {
            for (i, &k) in self.freqs.iter().enumerate() {
                let v = self.first_below[i].map_or(f64::NAN, |s| s as f64);
                self.indexed(out, "first_below", k, v);
            }
        }
        Ok(Flow::Continue)
    }
    fn state(&self) -> serde_json::Value {
        serde_json::json!({
            "frequencies": self.freqs,
            "first_below": self.first_below,
        })
    }
    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            return Ok(());
        }
        let bad = |what: &str| format!("spectral_bias state: bad `{what}`");
        let freqs: Vec<usize> = serde_json::from_value(
            state
                .get("frequencies")
                .cloned()
                .ok_or(bad("frequencies"))?,
        )
        .map_err(|_| bad("frequencies"))?;
        if freqs != self.freqs {
            return Err(format!(
                "spectral_bias state: frequencies {freqs:?} differ from the probe's {:?}",
                self.freqs
            ));
        }
        self.first_below = serde_json::from_value(
            state
                .get("first_below")
                .cloned()
                .ok_or(bad("first_below"))?,
        )
        .map_err(|_| bad("first_below"))?;
        if self.first_below.len() != self.freqs.len() {
            return Err(bad("first_below"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use learnscope_data::synthetic::sinusoid::{SinusoidSampling, SinusoidSpec};
    use learnscope_data::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};
    use std::f64::consts::TAU;

    fn grid(n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64 / n as f64).collect()
    }

    /// Σ_j A_j sin(2π k_j x + φ_j) on the n-point grid.
    fn sines(n: usize, k: &[usize], a: &[f64], p: &[f64]) -> Vec<f64> {
        grid(n)
            .iter()
            .map(|&x| {
                (0..k.len())
                    .map(|j| a[j] * (TAU * k[j] as f64 * x + p[j]).sin())
                    .sum()
            })
            .collect()
    }

    #[test]
    fn dft_recovers_amplitude_and_phase_of_a_sum_of_sines() {
        // Integer frequencies below n/2 do not leak into each other on the grid: each
        // coefficient is (A/2) e^{i(φ − π/2)} up to rounding. The sums have n = 200 terms of
        // size ≤ Σ A = 4.05, so rounding is ≲ n · 1e-16 · 4 ≈ 1e-13 before the 1/n: well below
        // 1e-12 after it.
        let n = 200;
        let k = [1, 3, 17, 50, 99];
        let a = [1.0, 0.5, 2.0, 0.25, 0.3];
        let p = [0.0, 1.0, 2.5, 4.0, 6.2];
        let y = sines(n, &k, &a, &p);
        let dft = Dft::new(n);
        for j in 0..k.len() {
            let (amp, phase) = sine_amplitude_phase(dft.at(&y, k[j]));
            assert!((amp - a[j]).abs() < 1e-12, "A at k = {}: {amp}", k[j]);
            // Compare phases on the circle.
            let d = (phase - p[j]).rem_euclid(TAU);
            assert!(d.min(TAU - d) < 1e-12, "φ at k = {}: {phase}", k[j]);
        }
        for other in [0, 2, 4, 16, 18, 49, 51, 98, 100] {
            let c = dft.at(&y, other);
            assert!(abs(c) < 1e-12, "leak at k = {other}: {c:?}");
        }
        // A cosine is a sine with φ = π/2.
        let c: Vec<f64> = grid(n).iter().map(|x| (TAU * 7.0 * x).cos()).collect();
        let (amp, phase) = sine_amplitude_phase(dft.at(&c, 7));
        assert!((amp - 1.0).abs() < 1e-12 && (phase - TAU / 4.0).abs() < 1e-12);
    }

    #[test]
    fn dft_satisfies_parseval_and_matches_the_definition() {
        // Independent checks of the normalisation and of the exact phase reduction:
        // Σ_{k<n} |F(k)|² = (1/n) Σ_i g_i², and F(k) against e^{−2πi k i/n} evaluated directly.
        let n = 37;
        let g: Vec<f64> = (0..n)
            .map(|i| ((i * i) % 11) as f64 - 3.0 + 0.1 * i as f64)
            .collect();
        let dft = Dft::new(n);
        let power: f64 = (0..n).map(|k| abs(dft.at(&g, k)).powi(2)).sum();
        let energy: f64 = g.iter().map(|v| v * v).sum::<f64>() / n as f64;
        assert!(
            (power - energy).abs() < 1e-12 * energy,
            "{power} vs {energy}"
        );
        for k in [0, 1, 5, 18, 36, 40] {
            let (mut re, mut im) = (0.0, 0.0);
            for (i, v) in g.iter().enumerate() {
                let a = TAU * (k * i) as f64 / n as f64;
                re += v * a.cos();
                im -= v * a.sin();
            }
            let c = dft.at(&g, k);
            let scale = g.iter().map(|v| v.abs()).sum::<f64>() / n as f64;
            assert!(
                (c.0 - re / n as f64).abs() < 1e-12 * scale
                    && (c.1 - im / n as f64).abs() < 1e-12 * scale,
                "k = {k}"
            );
        }
    }

    fn dataset(x: Vec<f64>, y: TargetData, input: usize, target: TargetKind) -> InMemoryDataset {
        let n = x.len() / input;
        let spec = DatasetSpec {
            name: "test".into(),
            input_shape: vec![input],
            target,
            train_len: n,
            test_len: n,
        };
        InMemoryDataset::new(spec, (x.clone(), y.clone()), (x, y)).unwrap()
    }

    fn setup(frequencies: Option<Vec<usize>>) -> SpectralSetup {
        SpectralSetup {
            frequencies,
            threshold: 0.5,
        }
    }

    fn build(data: &dyn Dataset, s: SpectralSetup) -> Result<SpectralBiasProbe, String> {
        SpectralBiasProbe::new("sb".into(), ProbeSchedule::Every { n: 1 }, s, data)
    }

    fn sine_data(n: usize) -> InMemoryDataset {
        let y = sines(n, &[2, 9], &[1.0, 0.5], &[0.3, 1.1]);
        dataset(
            grid(n),
            TargetData::Dense(y),
            1,
            TargetKind::Dense { outputs: 1 },
        )
    }

    #[test]
    fn default_frequencies_are_those_of_the_target_and_errors_are_exact() {
        let data = sine_data(64);
        let p = build(&data, setup(None)).unwrap();
        assert_eq!(p.frequencies(), [2, 9]);
        let y = match data.targets(Split::Train) {
            TargetData::Dense(v) => v.clone(),
            _ => unreachable!(),
        };
        // f = λ: no error, ratio 1; f = 0: error 1, ratio 0; f = λ/2: both ½ — up to rounding
        // of a 64-term sum relative to |F(k)| ≥ ¼ (≲ 1e-14).
        for (f, err, ratio) in [
            (y.clone(), 0.0, 1.0),
            (vec![0.0; 64], 1.0, 0.0),
            (y.iter().map(|v| v / 2.0).collect(), 0.5, 0.5),
        ] {
            for (e, r) in p.errors(&f) {
                assert!(
                    (e - err).abs() < 1e-13 && (r - ratio).abs() < 1e-13,
                    "{e} {r}"
                );
            }
        }
        // Removing the k = 9 component leaves k = 2 learned and k = 9 untouched.
        let low = sines(64, &[2], &[1.0], &[0.3]);
        let e = p.errors(&low);
        assert!(e[0].0 < 1e-13 && (e[1].0 - 1.0).abs() < 1e-13, "{e:?}");
        // A phase error alone: |e^{iδ} − 1| = 2 sin(δ/2), amplitude ratio 1.
        let shifted = sines(64, &[2, 9], &[1.0, 0.5], &[0.3 + 1.0, 1.1]);
        let e = p.errors(&shifted);
        assert!((e[0].0 - 2.0 * 0.5f64.sin()).abs() < 1e-13 && (e[0].1 - 1.0).abs() < 1e-13);
        // Explicit frequencies are sorted.
        assert_eq!(
            build(&data, setup(Some(vec![9, 2]))).unwrap().frequencies(),
            [2, 9]
        );
    }

    #[test]
    fn validation_names_what_is_wrong() {
        let data = sine_data(64);
        let e = build(&data, setup(Some(vec![3]))).err().unwrap();
        assert!(e.contains("no content at k = 3"), "{e}");
        let e = build(&data, setup(Some(vec![40]))).err().unwrap();
        assert!(e.contains("above the Nyquist frequency 32"), "{e}");
        let e = build(&data, setup(Some(vec![2, 2]))).err().unwrap();
        assert!(e.contains("listed twice"), "{e}");
        let e = build(&data, setup(Some(vec![]))).err().unwrap();
        assert!(e.contains("at least one"), "{e}");
        let e = build(
            &data,
            SpectralSetup {
                frequencies: None,
                threshold: 0.0,
            },
        )
        .err()
        .unwrap();
        assert!(e.contains("threshold"), "{e}");

        // Two input values per example.
        let two = dataset(
            (0..20).map(|i| i as f64).collect(),
            TargetData::Dense(vec![0.0; 10]),
            2,
            TargetKind::Dense { outputs: 1 },
        );
        let e = build(&two, setup(None)).err().unwrap();
        assert!(e.contains("one-dimensional") && e.contains("[2]"), "{e}");

        // Class targets, and two targets per example.
        let classes = dataset(
            grid(8),
            TargetData::Classes(vec![0, 1, 0, 1, 0, 1, 0, 1]),
            1,
            TargetKind::Classes { classes: 2 },
        );
        let e = build(&classes, setup(None)).err().unwrap();
        assert!(e.contains("class labels"), "{e}");
        let wide = dataset(
            grid(8),
            TargetData::Dense(vec![1.0; 16]),
            1,
            TargetKind::Dense { outputs: 2 },
        );
        let e = build(&wide, setup(None)).err().unwrap();
        assert!(e.contains("2 per example"), "{e}");

        // Off the grid by more than the tolerance, and out of order.
        let mut x = grid(64);
        x[5] += 1e-6;
        let y = sines(64, &[2], &[1.0], &[0.0]);
        let off = dataset(
            x,
            TargetData::Dense(y.clone()),
            1,
            TargetKind::Dense { outputs: 1 },
        );
        let e = build(&off, setup(None)).err().unwrap();
        assert!(
            e.contains("x_5 = ") && e.contains("expected 0.078125"),
            "{e}"
        );
        let mut x = grid(64);
        x.swap(0, 1);
        let swapped = dataset(x, TargetData::Dense(y), 1, TargetKind::Dense { outputs: 1 });
        let e = build(&swapped, setup(None)).err().unwrap();
        assert!(e.contains("x_0 = "), "{e}");

        // Uniform sampling from the generator.
        let uniform = SinusoidSpec {
            frequencies: vec![2.0],
            sampling: SinusoidSampling::Uniform,
            train: 50,
            ..SinusoidSpec::default()
        }
        .generate(learnscope_core::RandomKey::root(1))
        .unwrap();
        let e = build(&uniform, setup(None)).err().unwrap();
        assert!(e.contains("grid"), "{e}");

        // No content at all.
        let flat = dataset(
            grid(8),
            TargetData::Dense(vec![0.0; 8]),
            1,
            TargetKind::Dense { outputs: 1 },
        );
        let e = build(&flat, setup(None)).err().unwrap();
        assert!(e.contains("frequency content"), "{e}");
    }

    #[test]
    fn noise_free_generator_targets_have_exactly_their_frequencies() {
        // The `sinusoid` generator on its grid: the default frequencies are the spec's, and
        // |F[λ](k)| = A_k/2 to rounding.
        let spec = SinusoidSpec {
            frequencies: vec![5.0, 10.0, 45.0],
            amplitudes: Some(vec![1.0, 0.5, 2.0]),
            ..SinusoidSpec::default()
        };
        let data = spec.generate(learnscope_core::RandomKey::root(4)).unwrap();
        let p = build(&data, setup(None)).unwrap();
        assert_eq!(p.frequencies(), [5, 10, 45]);
        for (c, a) in p.target_dft().iter().zip([1.0, 0.5, 2.0]) {
            assert!((sine_amplitude_phase(*c).0 - a).abs() < 1e-12);
        }
    }
}
