//! Losses: values against hand-computed cases, gradients against central differences, the
//! reduction convention, and target validation.

use learnscope_nn::gradcheck::GradCheck;
use learnscope_nn::loss::{Loss, LossKind, Reduction, Targets};
use learnscope_nn::{CpuBackend, DType, NnError, RandomKey, Tensor};

use crate::common::be;

const KINDS: [LossKind; 7] = [
    LossKind::Mse,
    LossKind::Bce,
    LossKind::SpectralDecouplingBce { lambda: 0.2 },
    LossKind::CrossEntropy,
    LossKind::SpectralDecouplingCe { lambda: 0.1 },
    LossKind::Hinge,
    LossKind::MulticlassHinge,
];

fn targets_for(kind: LossKind, b: usize, c: usize, key: RandomKey) -> (Option<Vec<f64>>, Vec<u32>) {
    let labels: Vec<u32> = (0..b)
        .map(|i| (key.u64_at(i as u64) % c as u64) as u32)
        .collect();
    let dense = match kind {
        LossKind::Mse => Some(key.derive("y").normals(b * c)),
        LossKind::Bce | LossKind::SpectralDecouplingBce { .. } => {
            Some(key.derive("y").uniforms(b * c, 0.0, 1.0))
        }
        LossKind::Hinge => Some(
            (0..b * c)
                .map(|i| {
                    if key.derive("s").uniform_at(i as u64) < 0.5 {
                        -1.0
                    } else {
                        1.0
                    }
                })
                .collect(),
        ),
        _ => None,
    };
    (dense, labels)
}

#[test]
fn gradients_match_central_differences_for_both_target_kinds() {
    let be = be();
    let (b, c) = (7, 4);
    for kind in KINDS {
        for reduction in [Reduction::Mean, Reduction::Sum] {
            let key = RandomKey::root(1).derive(kind.name());
            let loss = Loss { kind, reduction };
            let f0 = key.derive("f").normals(b * c);
            let (dense, labels) = targets_for(kind, b, c, key);
            for use_dense in [false, true] {
                if use_dense && dense.is_none() {
                    continue;
                }
                let yt = dense
                    .as_ref()
                    .map(|d| Tensor::from_f64(&be, DType::F64, &[b, c], d));
                let targets = match (&yt, use_dense) {
                    (Some(t), true) => Targets::Dense(t),
                    _ => Targets::Classes(&labels),
                };
                let logits = Tensor::from_f64(&be, DType::F64, &[b, c], &f0);
                let mut g = Tensor::zeros(&be, DType::F64, &[b, c]);
                loss.forward_backward(&be, &logits, &targets, &mut g)
                    .unwrap();
                let analytic = vec![g.to_host_f64(&be)];
                // Hinge losses have kinks at margin 0; normal logits land within 1e-4 of one
                // with probability ~1e-4 per entry, and the fixed seed avoids them.
                GradCheck::default()
                    .run(std::slice::from_ref(&f0), &analytic, |v| {
                        let l = Tensor::from_f64(&be, DType::F64, &[b, c], &v[0]);
                        loss.value(&be, &l, &targets).unwrap()
                    })
                    .unwrap_or_else(|e| {
                        panic!("{} {reduction:?} dense={use_dense}: {e:?}", kind.name())
                    });
            }
        }
    }
}

#[test]
fn values_follow_the_documented_conventions() {
    let be = be();
    // MSE: ½·mean over examples of the sum over outputs.
    let f = Tensor::from_f64(&be, DType::F64, &[2, 2], &[1.0, 2.0, 0.0, 0.0]);
    let y = Tensor::from_f64(&be, DType::F64, &[2, 2], &[0.0, 0.0, 0.0, 1.0]);
    let mse = Loss::mean(LossKind::Mse)
        .value(&be, &f, &Targets::Dense(&y))
        .unwrap();
    assert_eq!(mse, 0.5 * (1.0 + 4.0 + 1.0) / 2.0);
    let sum = Loss {
        kind: LossKind::Mse,
        reduction: Reduction::Sum,
    };
    assert_eq!(sum.value(&be, &f, &Targets::Dense(&y)).unwrap(), 0.5 * 6.0);
    // CE with equal logits is ln C.
    let z = Tensor::zeros(&be, DType::F64, &[3, 5]);
    let ce = Loss::mean(LossKind::CrossEntropy)
        .value(&be, &z, &Targets::Classes(&[0, 3, 4]))
        .unwrap();
    assert!((ce - 5f64.ln()).abs() < 1e-15);
    // Binary hinge with one logit and class labels maps {0, 1} to {−1, +1}.
    let f = Tensor::from_f64(&be, DType::F64, &[2, 1], &[0.5, 0.5]);
    let h = Loss::mean(LossKind::Hinge)
        .value(&be, &f, &Targets::Classes(&[1, 0]))
        .unwrap();
    assert_eq!(h, (0.5 + 1.5) / 2.0);
    // Multiclass hinge = PyTorch MultiMarginLoss: Σ_{j≠y} max(0, 1 − f_y + f_j) / C.
    let f = Tensor::from_f64(&be, DType::F64, &[1, 3], &[0.1, 0.2, 0.4]);
    let mh = Loss::mean(LossKind::MulticlassHinge)
        .value(&be, &f, &Targets::Classes(&[1]))
        .unwrap();
    assert!((mh - ((1.0 - 0.2 + 0.1) + (1.0 - 0.2 + 0.4)) / 3.0).abs() < 1e-15);
    // BCE is stable at large logits: softplus(±800) does not overflow.
    let f = Tensor::from_f64(&be, DType::F64, &[1, 2], &[800.0, -800.0]);
    let y = Tensor::from_f64(&be, DType::F64, &[1, 2], &[1.0, 0.0]);
    let bce = Loss::mean(LossKind::Bce)
        .value(&be, &f, &Targets::Dense(&y))
        .unwrap();
    assert!(bce.abs() < 1e-300);
}

#[test]
fn bad_targets_are_refused_with_the_offending_entry() {
    let be: CpuBackend = be();
    let f = Tensor::zeros(&be, DType::F64, &[3, 2]);
    let e = Loss::mean(LossKind::CrossEntropy)
        .value(&be, &f, &Targets::Classes(&[0, 2, 1]))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("label 2 of example 1 is outside 0..2"),
        "{e}"
    );
    let e = Loss::mean(LossKind::CrossEntropy)
        .value(&be, &f, &Targets::Classes(&[0, 1]))
        .unwrap_err();
    assert!(e.to_string().contains("2 labels for a batch of 3"), "{e}");
    let y = Tensor::from_f64(&be, DType::F64, &[3, 2], &[1.0, -1.0, 1.0, 0.5, -1.0, 1.0]);
    let e = Loss::mean(LossKind::Hinge)
        .value(&be, &f, &Targets::Dense(&y))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("entry 3 (example 1, output 1) is 0.5"),
        "{e}"
    );
    let y32 = Tensor::zeros(&be, DType::F32, &[3, 2]);
    assert!(matches!(
        Loss::mean(LossKind::Mse).value(&be, &f, &Targets::Dense(&y32)),
        Err(NnError::DTypeMismatch { .. })
    ));
}

#[test]
fn one_logit_with_labels_uses_the_label_as_target() {
    // BCE, MSE and hinge with a single output read label 1 as the positive target.
    let be = be();
    let f = Tensor::from_f64(&be, DType::F64, &[2, 1], &[800.0, -800.0]);
    let labels = [1u32, 0];
    let bce = Loss::mean(LossKind::Bce)
        .value(&be, &f, &Targets::Classes(&labels))
        .unwrap();
    assert!(bce.abs() < 1e-300, "{bce}");
    let g = Tensor::from_f64(&be, DType::F64, &[2, 1], &[1.0, 0.0]);
    let mse = Loss::mean(LossKind::Mse)
        .value(&be, &g, &Targets::Classes(&labels))
        .unwrap();
    assert_eq!(mse, 0.0);
    let hinge = Loss::mean(LossKind::Hinge)
        .value(&be, &f, &Targets::Classes(&labels))
        .unwrap();
    assert_eq!(hinge, 0.0);
    let e = Loss::mean(LossKind::Bce)
        .value(&be, &f, &Targets::Classes(&[2, 0]))
        .unwrap_err();
    assert!(e.to_string().contains("outside 0..2"), "{e}");
}

/// The ensemble loss Σᵢ Lᵢ over column blocks: each member's value and gradient block are the
/// solo loss's bit for bit (same kernel, same values), for every loss kind and both reductions;
/// logits that do not split into the members' blocks are refused.
#[test]
fn grouped_loss_is_the_sum_of_the_members_solo_losses_bit_for_bit() {
    use learnscope_nn::loss::GroupedLoss;
    use learnscope_nn::Backend;
    let be = be();
    let (b, c, n) = (6, 3, 4);
    for kind in KINDS {
        for reduction in [Reduction::Mean, Reduction::Sum] {
            let loss = Loss { kind, reduction };
            let key = RandomKey::root(31);
            let cols = if matches!(
                kind,
                LossKind::Hinge | LossKind::Bce | LossKind::SpectralDecouplingBce { .. }
            ) {
                1
            } else {
                c
            };
            let (dense, labels) = targets_for(kind, b, cols, key);
            let dense_t = dense.map(|d| Tensor::from_f64(&be, DType::F64, &[b, cols], &d));
            let targets = match &dense_t {
                Some(t) => Targets::Dense(t),
                None => Targets::Classes(&labels),
            };
            let wide = Tensor::from_f64(
                &be,
                DType::F64,
                &[b, n * cols],
                &key.derive("f").normals(b * n * cols),
            );
            let mut grad = Tensor::empty(&be, DType::F64);
            let mut grouped = GroupedLoss::new(loss, n);
            let values = grouped
                .forward_backward(&be, &wide, &targets, &mut grad)
                .unwrap();
            let g = grad.to_host_f64(&be);
            for (i, v) in values.iter().enumerate() {
                let mut block = Tensor::zeros(&be, DType::F64, &[b, cols]);
                be.copy_columns(&wide, i * cols, &mut block, 0, cols);
                let mut solo_grad = Tensor::empty(&be, DType::F64);
                let solo = loss
                    .forward_backward(&be, &block, &targets, &mut solo_grad)
                    .unwrap();
                assert_eq!(v.to_bits(), solo.to_bits(), "{kind:?} member {i}");
                let sg = solo_grad.to_host_f64(&be);
                for r in 0..b {
                    for j in 0..cols {
                        assert_eq!(
                            g[r * n * cols + i * cols + j].to_bits(),
                            sg[r * cols + j].to_bits(),
                            "{kind:?} member {i} gradient ({r}, {j})"
                        );
                    }
                }
            }
            let odd = Tensor::zeros(&be, DType::F64, &[b, n * cols + 1]);
            let err = GroupedLoss::new(loss, n)
                .forward_backward(&be, &odd, &targets, &mut grad)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("a multiple of the {n} members")),
                "{err}"
            );
        }
    }
}
