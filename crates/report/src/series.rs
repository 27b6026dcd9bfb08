//! Metric records → series: one per (probe, key, split, layer, index, index2), the values over
//! step. A figure shows every series of one (probe, key).

use std::collections::BTreeMap;

use learnscope_store::MetricRecord;

/// What one series measures: every field of a record except step, epoch and value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    /// The probe.
    pub probe: String,
    /// The key (with its variant).
    pub key: String,
    /// The split.
    pub split: String,
    /// The layer, if any.
    pub layer: Option<String>,
    /// The first index, if any.
    pub index: Option<i64>,
    /// The second index, if any.
    pub index2: Option<i64>,
}

impl SeriesKey {
    /// The key of a record.
    pub fn of(r: &MetricRecord) -> Self {
        SeriesKey {
            probe: r.probe.clone(),
            key: r.key.clone(),
            split: r.split.clone(),
            layer: r.layer.clone(),
            index: r.index,
            index2: r.index2,
        }
    }

    /// `(probe, key)`: the figure the series belongs to.
    pub fn figure(&self) -> (String, String) {
        (self.probe.clone(), self.key.clone())
    }

    /// What distinguishes this series within its figure: split, layer and indices, e.g.
    /// `train · layers.0.weight · [3]`; `split` is left out when `with_split` is false.
    pub fn variant_label(&self, with_split: bool) -> String {
        let mut parts = Vec::new();
        if with_split {
            parts.push(self.split.clone());
        }
        if let Some(l) = &self.layer {
            parts.push(l.clone());
        }
        match (self.index, self.index2) {
            (Some(i), Some(j)) => parts.push(format!("[{i}, {j}]")),
            (Some(i), None) => parts.push(format!("[{i}]")),
            (None, Some(j)) => parts.push(format!("[·, {j}]")),
            (None, None) => {}
        }
        parts.join(" · ")
    }
}

/// The records grouped into series, each sorted by step; when a step repeats within a series,
/// the last record wins.
pub fn group_series(records: &[MetricRecord]) -> BTreeMap<SeriesKey, Vec<(u64, f64)>> {
    let mut map: BTreeMap<SeriesKey, BTreeMap<u64, f64>> = BTreeMap::new();
    for r in records {
        map.entry(SeriesKey::of(r))
            .or_default()
            .insert(r.step, r.value);
    }
    map.into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_sorts() {
        let recs = vec![
            MetricRecord::new(2, 0, "loss", "loss", "train", 0.5),
            MetricRecord::new(1, 0, "loss", "loss", "train", 1.0),
            MetricRecord::new(1, 0, "norms", "w", "train", 3.0).with_layer("l0"),
            MetricRecord::new(1, 0, "norms", "w", "train", 4.0).with_layer("l1"),
            MetricRecord::new(2, 0, "loss", "loss", "train", 0.25),
        ];
        let g = group_series(&recs);
        assert_eq!(g.len(), 3);
        let loss = &g[&SeriesKey::of(&recs[0])];
        assert_eq!(loss, &vec![(1, 1.0), (2, 0.25)]);
        let k = SeriesKey::of(&recs[2].clone().with_index(3));
        assert_eq!(k.variant_label(true), "train · l0 · [3]");
        assert_eq!(k.variant_label(false), "l0 · [3]");
        assert_eq!(k.figure(), ("norms".to_string(), "w".to_string()));
    }
}
