//! An in-memory run sink for tests.

use learnscope_train::{Metric, NamedTensor, RunSink};

#[derive(Default)]
pub struct MemorySink {
    pub records: Vec<(u64, u64, Metric)>,
    pub checkpoints: Vec<(u64, Vec<NamedTensor>, serde_json::Value)>,
    pub ended: Vec<u64>,
}

impl RunSink for MemorySink {
    fn record(&mut self, step: u64, epoch: u64, metric: Metric) -> Result<(), String> {
        self.records.push((step, epoch, metric));
        Ok(())
    }
    fn end_step(&mut self, step: u64) -> Result<(), String> {
        self.ended.push(step);
        Ok(())
    }
    fn checkpoint(
        &mut self,
        step: u64,
        tensors: Vec<NamedTensor>,
        state: serde_json::Value,
    ) -> Result<(), String> {
        self.checkpoints.push((step, tensors, state));
        Ok(())
    }
}

impl MemorySink {
    /// Records as comparable bit patterns.
    pub fn fingerprint(&self) -> Vec<String> {
        self.records
            .iter()
            .map(|(s, e, m)| {
                format!(
                    "{s} {e} {} {} {} {:?} {:016x}",
                    m.probe,
                    m.key,
                    m.split,
                    m.layer,
                    m.value.to_bits()
                )
            })
            .collect()
    }
}
