//! The sampler visits every example once per epoch in an order that is a pure function of
//! (seed, epoch); batches carry their indices.

use learnscope_core::RandomKey;
use learnscope_data::{Batch, BatchTargets, Dataset, EpochSampler, HierarchySpec, Split};
use learnscope_nn::{CpuBackend, DType};

#[test]
fn epochs_are_permutations_fixed_by_seed_and_epoch() {
    let mut s = EpochSampler::new(10, 3, true, false, RandomKey::root(1));
    assert_eq!(s.batches_per_epoch(), 4);
    let mut epoch = |e| (0..4).flat_map(|p| s.batch(e, p)).collect::<Vec<_>>();
    let (e0, e1, e0_again) = (epoch(0), epoch(1), epoch(0));
    assert_eq!(e0, e0_again);
    let mut sorted = e0.clone();
    sorted.sort();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    assert_ne!(e0, e1);
    assert_eq!(
        e0,
        (0..4)
            .flat_map(|p| EpochSampler::new(10, 3, true, false, RandomKey::root(1)).batch(0, p))
            .collect::<Vec<_>>()
    );
    assert_eq!(s.batch(0, 3).len(), 1);
    assert_eq!(s.locate(3), (0, 3, true));
    assert_eq!(s.locate(4), (1, 0, false));
    let d = EpochSampler::new(10, 3, true, true, RandomKey::root(1));
    assert_eq!(d.batches_per_epoch(), 3);
    let mut full = EpochSampler::new(10, 0, false, false, RandomKey::root(1));
    assert_eq!(full.batch(5, 0), (0..10).collect::<Vec<_>>());
}

#[test]
fn batches_gather_the_indexed_examples() {
    let be = CpuBackend::new(1);
    let ds = HierarchySpec::eight_items().build().unwrap().dataset("h8");
    let b = Batch::gather(&be, &ds, Split::Train, &[5, 2], DType::F32);
    assert_eq!(b.indices, [5, 2]);
    assert_eq!(b.x.shape(), [2, 8]);
    let x = b.x.to_host_f64(&be);
    assert_eq!((x[5], x[8 + 2]), (1.0, 1.0));
    let BatchTargets::Dense(y) = &b.y else {
        panic!("dense targets")
    };
    assert_eq!(y.to_host_f64(&be)[..15], ds_row(&ds, 5));
}

fn ds_row(ds: &dyn Dataset, i: usize) -> Vec<f64> {
    match ds.targets(Split::Train) {
        learnscope_data::TargetData::Dense(v) => v[i * 15..(i + 1) * 15].to_vec(),
        _ => unreachable!(),
    }
}
