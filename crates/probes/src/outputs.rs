//! Raw outputs: the logits of every example of whole splits, one record per (example, output
//! unit): key `output`, index = example, index2 = unit. The input of analyses that need the
//! network's answer to each item rather than a summary, such as networks as "virtual
//! participants" of the human category-learning study (HUMAN-TASK.md §4.6: `learnscope human
//! simulate` turns these into yes/no responses). Meant for small splits (the 8 items of P1's
//! hierarchy): it writes n × outputs records per observation.

use learnscope_core::ProbeSchedule;
use learnscope_data::Split;
use learnscope_nn::{Backend, NnError};
use learnscope_train::{Flow, Metric, Probe, ProbeNeeds, Recorder, StepCtx};

/// Records the logits of whole splits.
pub struct OutputsProbe {
    /// Name.
    pub name: String,
    /// When.
    pub schedule: ProbeSchedule,
    /// Which splits.
    pub splits: Vec<Split>,
}

impl<B: Backend> Probe<B> for OutputsProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn schedule(&self) -> &ProbeSchedule {
        &self.schedule
    }
    fn needs(&self) -> ProbeNeeds {
        ProbeNeeds {
            outputs: self.splits.clone(),
            ..ProbeNeeds::default()
        }
    }
    fn observe(&mut self, ctx: &StepCtx<'_, B>, out: &mut dyn Recorder) -> Result<Flow, NnError> {
        for &split in &self.splits {
            let missing = |what: &str| {
                NnError::setting(
                    format!("probe `{}`", self.name),
                    format!("no {} {what}", split.name()),
                    "the trainer evaluates and keeps the logits of ProbeNeeds::outputs",
                )
            };
            let ev = ctx.eval.get(&split).ok_or_else(|| missing("evaluation"))?;
            let logits = ev.logits.as_deref().ok_or_else(|| missing("logits"))?;
            let units = ev.outputs.max(1);
            for (k, &v) in logits.iter().enumerate() {
                out.record(Metric {
                    probe: self.name.clone(),
                    key: "output".into(),
                    split: split.name().into(),
                    layer: None,
                    index: Some((k / units) as i64),
                    index2: Some((k % units) as i64),
                    value: v,
                });
            }
        }
        Ok(Flow::Continue)
    }
}
