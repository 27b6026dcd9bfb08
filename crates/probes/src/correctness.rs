//! Per-example correctness over training: the raw material of **accessibility** and **learning
//! order constancy** (G. Hacohen, L. Choshen & D. Weinshall, "Let's agree to agree: neural
//! networks share classification order on real datasets", ICML 2020; P2's §4 uses them for the
//! principal-components bias; SCIENCE.md §P2.5 item 4).
//!
//! At every due step the probe records, for each example `x` of its split,
//! `correct = 1[f_t(x) = y(x)]` (arg-max logit, first maximum; logit > 0 ↔ class 1 with one
//! output — the trainer's accuracy rule), with the example's index in the split as the metric
//! index, and the split's `accuracy` (the mean of those values, a consistency check against the
//! `loss` probe). The accessibility of an example is then the mean of `correct` over the
//! networks of an ensemble (independent seeds of one configuration) and over the epochs
//! `e = 1..E`, `acc(x) = (1/(N·E)) Σᵢ Σₑ 1[fᵢᵉ(x) = y(x)]`; `reproduce` computes it, and LOC,
//! across the runs of an arm (`ensembles` rows, crates/repro/src/preset.rs). With the default
//! schedule `epoch_end`, the observations are the ends of epochs 1..E plus the final step.
//!
//! Needs class targets (an error otherwise). Stateless: resuming records the same values.

use learnscope_core::ProbeSchedule;
use learnscope_data::{Dataset, Split};
use learnscope_nn::loss::HostTargets;
use learnscope_nn::{Backend, NnError};
use learnscope_train::{Flow, Metric, Probe, ProbeNeeds, Recorder, StepCtx};

use crate::projected::accuracy;

/// Per-example correctness on one split.
pub struct CorrectnessProbe {
    name: String,
    schedule: ProbeSchedule,
    split: Split,
    labels: Vec<u32>,
}

impl CorrectnessProbe {
    /// A probe on `data`'s split `split` (class targets only).
    pub fn new(
        name: String,
        schedule: ProbeSchedule,
        split: Split,
        data: &dyn Dataset,
    ) -> Result<Self, String> {
        let labels = match data.host_targets(split) {
            HostTargets::Classes { labels, .. } => labels.to_vec(),
            other => {
                return Err(format!(
                    "the `correctness` probe needs class targets, the data have {} dense targets per example",
                    other.width()
                ))
            }
        };
        if labels.is_empty() {
            return Err(format!(
                "the `correctness` probe's split `{}` has no examples",
                split.name()
            ));
        }
        Ok(CorrectnessProbe {
            name,
            schedule,
            split,
            labels,
        })
    }
}

/// Whether each row of `logits` (row-major, one row per label) predicts its label, by the
/// trainer's accuracy rule.
pub fn correct_per_example(logits: &[f64], labels: &[u32]) -> Vec<bool> {
    let c = (logits.len() / labels.len().max(1)).max(1);
    labels
        .iter()
        .zip(logits.chunks_exact(c))
        .map(|(&y, row)| accuracy(row, &[y]) == 1.0)
        .collect()
}

impl<B: Backend> Probe<B> for CorrectnessProbe {
    fn name(&self) -> &str {
        &self.name
    }

    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }

    fn needs(&self) -> ProbeNeeds {
        ProbeNeeds {
            outputs: vec![self.split],
            ..ProbeNeeds::default()
        }
    }

    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        let logits = ctx
            .eval
            .get(&self.split)
            .and_then(|e| e.logits.as_deref())
            .ok_or_else(|| {
                NnError::setting(
                    "correctness",
                    "no logits for the split",
                    "the trainer's evaluation with outputs",
                )
            })?;
        if logits.len() % self.labels.len() != 0 {
            return Err(NnError::setting(
                "correctness",
                format!("{} logits", logits.len()),
                format!("a multiple of the {} examples", self.labels.len()),
            ));
        }
        let correct = correct_per_example(logits, &self.labels);
        let split = self.split.name();
        for (i, &ok) in correct.iter().enumerate() {
            out.record(Metric {
                probe: self.name.clone(),
                key: "correct".into(),
                split: split.into(),
                layer: None,
                index: Some(i as i64),
                index2: None,
                value: if ok { 1.0 } else { 0.0 },
            });
        }
        let hits = correct.iter().filter(|&&ok| ok).count();
        out.scalar(
            &self.name,
            "accuracy",
            split,
            hits as f64 / correct.len() as f64,
        );
        Ok(Flow::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correctness_follows_the_trainers_rule() {
        // Three classes: argmax with the first maximum on ties.
        let logits = [0.1, 0.9, 0.0, 2.0, 2.0, 1.0, -1.0, -2.0, -0.5];
        assert_eq!(
            correct_per_example(&logits, &[1, 1, 2]),
            vec![true, false, true]
        );
        // One output: logit > 0 ↔ class 1 (0 is class 0).
        assert_eq!(
            correct_per_example(&[0.3, -0.2, 0.0], &[1, 1, 0]),
            vec![true, false, true]
        );
    }
}
