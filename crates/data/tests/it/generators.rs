//! Synthetic generators produce what their documentation states, from the seed alone.

use learnscope_core::RandomKey;
use learnscope_data::synthetic::gaussian_teacher::{GaussianTeacherSpec, Spectrum};
use learnscope_data::synthetic::separable::SeparableSpec;
use learnscope_data::{Dataset, DatasetSpec, InMemoryDataset, Split, TargetData, TargetKind};

#[test]
fn gaussian_inputs_have_the_prescribed_spectrum() {
    let spec = GaussianTeacherSpec {
        dim: 4,
        outputs: 2,
        train: 20_000,
        test: 10,
        spectrum: Spectrum::Explicit(vec![4.0, 1.0, 0.25, 0.0]),
        rotate: true,
        noise_std: 0.0,
        teacher_scale: 1.0,
    };
    let ds = spec.build(RandomKey::root(3)).unwrap();
    let mut x = Vec::new();
    ds.gather_inputs(Split::Train, &(0..20_000).collect::<Vec<_>>(), &mut x);
    // tr Σ̂ = Σλ = 5.25 and tr Σ̂² = Σλ² = 17.0625 (rotation-invariant). With n = 20 000 the
    // relative standard error of a second moment is ≈ √(2/n) = 1 %, so 5 % is the tolerance.
    let n = 20_000.0;
    let mut cov = [[0.0; 4]; 4];
    for row in x.chunks(4) {
        for a in 0..4 {
            for b in 0..4 {
                cov[a][b] += row[a] * row[b] / n;
            }
        }
    }
    let tr: f64 = (0..4).map(|a| cov[a][a]).sum();
    let tr2: f64 = (0..4)
        .flat_map(|a| (0..4).map(move |b| (a, b)))
        .map(|(a, b)| cov[a][b] * cov[b][a])
        .sum();
    assert!((tr - 5.25).abs() < 0.05 * 5.25, "tr {tr}");
    assert!((tr2 - 17.0625).abs() < 0.1 * 17.0625, "tr² {tr2}");
    assert_eq!(spec.build(RandomKey::root(3)).unwrap(), ds);
}

#[test]
fn separable_data_respects_the_margin_and_labels() {
    let spec = SeparableSpec {
        dim: 5,
        train: 300,
        test: 100,
        margin: 0.5,
    };
    let ds = spec.build(RandomKey::root(8)).unwrap();
    let TargetData::Classes(y) = ds.targets(Split::Train) else {
        panic!()
    };
    let ones = y.iter().filter(|&&v| v == 1).count();
    assert!(
        ones > 100 && ones < 200,
        "balanced classes, got {ones} of 300"
    );
    assert!(spec.build(RandomKey::root(8)).unwrap() == ds);
    assert!(SeparableSpec {
        margin: 5.0,
        ..spec
    }
    .build(RandomKey::root(0))
    .is_err());
}

#[test]
fn in_memory_data_sets_check_sizes_and_labels() {
    let spec = DatasetSpec {
        name: "toy".into(),
        input_shape: vec![2],
        target: TargetKind::Classes { classes: 3 },
        train_len: 2,
        test_len: 1,
    };
    let bad = InMemoryDataset::new(
        spec.clone(),
        (vec![0.0; 4], TargetData::Classes(vec![0, 3])),
        (vec![0.0; 2], TargetData::Classes(vec![1])),
    )
    .unwrap_err();
    assert!(
        bad.to_string()
            .contains("label 3 of example 1 is outside 0..3"),
        "{bad}"
    );
    let bad = InMemoryDataset::new(
        spec,
        (vec![0.0; 3], TargetData::Classes(vec![0, 1])),
        (vec![0.0; 2], TargetData::Classes(vec![1])),
    )
    .unwrap_err();
    assert!(
        bad.to_string().contains("train inputs of data set `toy`"),
        "{bad}"
    );
}
