//! Discriminability: k-nearest-neighbour label agreement of every example of the fixed probe
//! batch, in raw input space and in the network's penultimate space (P2, Hacohen & Weinshall
//! 2022, §4.3 and Table 1; SCIENCE.md §P2.5 item 6, §P2.6, §C.3). P2 uses it as a proxy for the
//! spectral bias of Rahaman et al. (2019): an example surrounded by examples of its own class
//! needs only a low-frequency function to be classified, and P2 reports it correlates with
//! accessibility, far more in penultimate space (0.70–0.85) than in raw space (0.01–0.51).
//!
//! For example `x` with label `y(x)` and its `k` nearest neighbours `N_k(x)` among the other
//! examples of the probe batch (Euclidean, `x` itself excluded, ties by smaller index —
//! [`learnscope_stats::knn_label_agreement`]):
//!
//! `disc(x) = |{z ∈ N_k(x) : y(z) = y(x)}| / k`.
//!
//! `k` is not given by the paper [I]: default 10 (`k` must be below the probe-batch size).
//!
//! The examples are the fixed probe batch (`training.probe_batch`: the first `size` examples of
//! `split`, default the first 256 of `test`), so indices are example indices in that split and
//! the same at every step. Raw space: the probe batch's inputs as the network receives them
//! (flattened, in the run's element type); it does not depend on the network, so it is
//! computed and recorded once, at the probe's first due step (a flag in the checkpointed state
//! keeps a resumed run from recording it again). Penultimate space: the `penultimate` tap (the
//! input of the last layer; the input itself for a one-layer model) on the probe batch at θ_t,
//! at every due step.
//!
//! Recorded (split = the probe batch's split):
//! - once: `discriminability_raw` per example (index = example index), and
//!   `discriminability_raw_mean`;
//! - at every due step: `discriminability_penultimate` per example and
//!   `discriminability_penultimate_mean`. Non-finite features (a diverged network) give only
//!   the mean, as NaN.

use learnscope_core::ProbeSchedule;
use learnscope_data::{BatchTargets, Dataset, Split};
use learnscope_nn::loss::HostTargets;
use learnscope_nn::{Backend, NnError};
use learnscope_train::{Flow, Metric, Probe, ProbeNeeds, Recorder, StepCtx};

/// Default `k`: 10 (not given by the paper).
pub fn default_k() -> usize {
    10
}

/// Per-example share of the `k` nearest neighbours (Euclidean, self excluded) with the same
/// label, for the `n = labels.len()` row-major rows of `points`; `None` when a value is not
/// finite. Needs `1 ≤ k ≤ n − 1`.
pub fn agreement(points: &[f64], labels: &[u32], k: usize) -> Result<Option<Vec<f64>>, String> {
    let n = labels.len();
    if n == 0 || points.len() % n != 0 || points.is_empty() {
        return Err(format!(
            "discriminability: {} values for {n} examples",
            points.len()
        ));
    }
    if points.iter().any(|v| !v.is_finite()) {
        return Ok(None);
    }
    let labels: Vec<usize> = labels.iter().map(|&y| y as usize).collect();
    learnscope_stats::knn_label_agreement(points, points.len() / n, &labels, k)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// k-NN label agreement of the probe batch in raw and penultimate space (see the module
/// documentation).
pub struct DiscriminabilityProbe {
    name: String,
    schedule: ProbeSchedule,
    k: usize,
    raw_done: bool,
}

impl DiscriminabilityProbe {
    /// A probe with `k` neighbours; `data` must have class targets.
    pub fn new(
        name: String,
        schedule: ProbeSchedule,
        k: usize,
        data: &dyn Dataset,
    ) -> Result<Self, String> {
        if k == 0 {
            return Err("discriminability.k: must be >= 1".into());
        }
        for split in [Split::Train, Split::Test] {
            if let HostTargets::Dense { outputs, .. } = data.host_targets(split) {
                return Err(format!(
                    "the `discriminability` probe needs class targets, the data have {outputs} dense targets per example"
                ));
            }
        }
        Ok(DiscriminabilityProbe {
            name,
            schedule,
            k,
            raw_done: false,
        })
    }

    fn record(
        &self,
        out: &mut dyn Recorder,
        key: &str,
        split: &str,
        indices: &[usize],
        values: Option<&[f64]>,
    ) {
        let metric = |key: String, index: Option<usize>, value: f64| Metric {
            probe: self.name.clone(),
            key,
            split: split.into(),
            layer: None,
            index: index.map(|i| i as i64),
            index2: None,
            value,
        };
        let mean = match values {
            Some(v) => {
                for (&i, &a) in indices.iter().zip(v) {
                    out.record(metric(key.into(), Some(i), a));
                }
                v.iter().sum::<f64>() / v.len() as f64
            }
            None => f64::NAN,
        };
        out.record(metric(format!("{key}_mean"), None, mean));
    }
}

impl<B: Backend> Probe<B> for DiscriminabilityProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn needs(&self) -> ProbeNeeds {
        ProbeNeeds {
            probe_taps: vec!["penultimate".into()],
            ..Default::default()
        }
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let bad = |e: String| NnError::setting("discriminability", e, "a valid probe batch");
        let pb = ctx.probe_batch.ok_or_else(|| {
            NnError::setting("discriminability", "no probe batch", "the probe batch")
        })?;
        let BatchTargets::Classes(labels) = &pb.y else {
            return Err(bad("dense targets".into()));
        };
        let n = labels.len();
        if self.k >= n {
            return Err(NnError::setting(
                "discriminability.k",
                self.k,
                format!(
                    "below the probe batch size {n} (training.probe_batch.size, or the split's size)"
                ),
            ));
        }
        let split = pb.split.name();
        if !self.raw_done {
            let raw = agreement(&pb.x.to_host_f64(ctx.be), labels, self.k).map_err(bad)?;
            self.record(
                out,
                "discriminability_raw",
                split,
                &pb.indices,
                raw.as_deref(),
            );
            self.raw_done = true;
        }
        let feats = ctx
            .probe_taps
            .get("penultimate")
            .ok_or_else(|| bad("no `penultimate` tap".into()))?
            .to_host_f64(ctx.be);
        let pen = agreement(&feats, labels, self.k).map_err(bad)?;
        self.record(
            out,
            "discriminability_penultimate",
            split,
            &pb.indices,
            pen.as_deref(),
        );
        Ok(Flow::Continue)
    }
    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "raw_done": self.raw_done })
    }
    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            return Ok(());
        }
        self.raw_done = state
            .get("raw_done")
            .and_then(serde_json::Value::as_bool)
            .ok_or("discriminability state: bad `raw_done`")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clusters in the plane: class 0 at the corners of the unit square around the origin,
    /// class 1 at the corners of the unit square around (5, 0), and one class-1 point at
    /// (1.5, 0.5), just right of the class-0 square.
    #[test]
    fn hand_built_points_have_the_counted_agreement() {
        #[rustfmt::skip]
        let pts = [
            0.0, 0.0,  1.0, 0.0,  0.0, 1.0,  1.0, 1.0,   // class 0: 0..4
            5.0, 0.0,  6.0, 0.0,  5.0, 1.0,  6.0, 1.0,   // class 1: 4..8
            1.5, 0.5,                                    // class 1: 8
        ];
        let labels = [0, 0, 0, 0, 1, 1, 1, 1, 1];
        // k = 3. Squared distances from (1.5, 0.5): to (1,0), (1,1) 0.5; (0,0), (0,1) 2.5;
        // (5,0), (5,1) 12.5. Its 3 neighbours: 1, 3 (0.5) and 0 (2.5, index before 2) → 0/3.
        // (0,0): 1, 2 (1), 3 (2) → 3/3. (1,0): 0, 3 (1), 8 (0.5!) → 8 comes first (0.5), then
        // 0 and 3 → 2/3; likewise (1,1) → 2/3; (0,1): 0, 3 (1), 1 (2) → 3/3.
        // (5,0): 5, 6 (1), 7 (2) → 3/3 (8 is at 12.5); the other class-1 corners likewise.
        let a = agreement(&pts, &labels, 3).unwrap().unwrap();
        let third = 1.0 / 3.0;
        let want = [1.0, 2.0 * third, 1.0, 2.0 * third, 1.0, 1.0, 1.0, 1.0, 0.0];
        for (g, w) in a.iter().zip(&want) {
            assert!((g - w).abs() < 1e-15, "{a:?}");
        }
        // k = 1: (1,0) and (1,1) have the stray point (class 1) as their nearest neighbour,
        // and its own nearest is (1,0) (0.5, index 1 before 3).
        let a1 = agreement(&pts, &labels, 1).unwrap().unwrap();
        assert_eq!(a1, vec![1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
        assert!(agreement(&pts, &labels, 9).is_err());
        assert!(agreement(&pts[..17], &labels, 3).is_err());
        let mut nan = pts;
        nan[3] = f64::NAN;
        assert_eq!(agreement(&nan, &labels, 3).unwrap(), None);
    }
}
