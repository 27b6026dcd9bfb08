//! Every model configuration passes `check_model` (gradients against central differences in f64,
//! determinism, read-only probe passes, taps, shape errors), and its f32 twin the structural part.

use learnscope_models::{
    check_model, DeepLinearConfig, DeepLinearInit, MlpConfig, Model, Parameterization,
};
use learnscope_nn::{Activation, CpuBackend, DType, ParamTree, RandomKey};

#[test]
fn deep_linear_networks_conform() {
    let be = CpuBackend::new(1);
    let inits = [
        DeepLinearInit::Gaussian { std: 0.5 },
        DeepLinearInit::Orthogonal { gain: 1.0 },
    ];
    for (i, init) in inits.into_iter().enumerate() {
        for widths in [vec![8, 15], vec![8, 16, 16, 15], vec![5, 3, 7, 2, 4]] {
            for bias in [false, true] {
                for dtype in [DType::F64, DType::F32] {
                    let cfg = DeepLinearConfig::new(&widths, bias, init.clone(), dtype);
                    let mut m = cfg.build(&be, RandomKey::root(i as u64)).unwrap();
                    check_model(&mut m, 6, RandomKey::root(99))
                        .unwrap_or_else(|e| panic!("{} bias={bias} {dtype}: {e}", m.spec().name));
                }
            }
        }
    }
}

#[test]
fn mlps_conform_in_every_parameterisation() {
    let be = CpuBackend::new(1);
    let pars = [
        Parameterization::Standard,
        Parameterization::Ntk {
            weight_scale: 1.0,
            bias_scale: 0.1,
        },
        Parameterization::MuP,
    ];
    for par in pars {
        for act in [
            Activation::Relu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Gelu,
        ] {
            for dtype in [DType::F64, DType::F32] {
                let cfg = MlpConfig {
                    input: 6,
                    hidden: vec![9, 7],
                    outputs: 3,
                    activation: act,
                    bias: learnscope_models::BiasPlacement::All(true),
                    parameterization: par,
                    init: Default::default(),
                    dtype,
                };
                let mut m = cfg.build(&be, RandomKey::root(4)).unwrap();
                check_model(&mut m, 5, RandomKey::root(8))
                    .unwrap_or_else(|e| panic!("{} {par:?} {dtype}: {e}", m.spec().name));
            }
        }
    }
}

#[test]
fn standard_init_matches_pytorch_default_bounds() {
    // nn.Linear: U(−1/√fan_in, 1/√fan_in) for weight and bias.
    let be = CpuBackend::new(1);
    let cfg = MlpConfig {
        input: 400,
        hidden: vec![300],
        outputs: 10,
        activation: Activation::Relu,
        bias: learnscope_models::BiasPlacement::All(true),
        parameterization: Parameterization::Standard,
        init: Default::default(),
        dtype: DType::F64,
    };
    let m = cfg.build(&be, RandomKey::root(1)).unwrap();
    let mut seen = Vec::new();
    m.visit_params(&mut |p| {
        let v = p.value.to_host_f64(&be);
        let fan_in = if p.name == "layers.0.weight" || p.name == "layers.0.bias" {
            400.0
        } else {
            300.0f64
        };
        let bound = 1.0 / fan_in.sqrt();
        let max = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(
            max <= bound && max > 0.9 * bound,
            "{}: max {max} bound {bound}",
            p.name
        );
        seen.push(p.name.clone());
    });
    assert_eq!(
        seen,
        [
            "layers.0.weight",
            "layers.0.bias",
            "layers.1.weight",
            "layers.1.bias"
        ]
    );
}

#[test]
fn invalid_configs_name_the_field() {
    let be = CpuBackend::new(1);
    let e = DeepLinearConfig::new(
        &[4],
        true,
        DeepLinearInit::Gaussian { std: 0.1 },
        DType::F64,
    )
    .build(&be, RandomKey::root(0))
    .err()
    .unwrap();
    assert!(e.to_string().contains("widths"), "{e}");
    let e = DeepLinearConfig::new(
        &[3, 2, 3],
        false,
        DeepLinearInit::Decoupled {
            u: vec![0.0; 9],
            v: vec![0.0; 9],
            rank: 3,
            strength: 1e-3,
        },
        DType::F64,
    )
    .build(&be, RandomKey::root(0))
    .err()
    .unwrap();
    assert!(e.to_string().contains("hidden widths >= rank 3"), "{e}");
}

#[test]
fn penultimate_and_logit_taps_resolve_for_any_depth() {
    use learnscope_models::TapRequest;
    use learnscope_nn::{ForwardCtx, Mode, Tensor};
    let be = CpuBackend::new(1);
    let key = RandomKey::root(6);
    for widths in [vec![4, 3], vec![4, 5, 3]] {
        let cfg = DeepLinearConfig::new(
            &widths,
            true,
            DeepLinearInit::Gaussian { std: 0.3 },
            DType::F64,
        );
        let mut m = cfg.build(&be, key).unwrap();
        let x = Tensor::from_f64(&be, DType::F64, &[2, 4], &key.normals(8));
        let req = TapRequest::names(["penultimate", "logits", "input"]);
        let fwd = m
            .forward(&x, &ForwardCtx::new(Mode::Eval, 0, key), &req)
            .unwrap();
        let pen = fwd.taps["penultimate"].to_host_f64(&be);
        assert_eq!(
            fwd.taps["logits"].to_host_f64(&be),
            fwd.logits.to_host_f64(&be)
        );
        let expected_width = widths[widths.len() - 2];
        assert_eq!(pen.len(), 2 * expected_width);
        let dl = Tensor::from_f64(&be, DType::F64, &[2, 3], &[1.0; 6]);
        let g = m.backward(&dl, &req).unwrap();
        assert_eq!(g["penultimate"].shape(), [2, expected_width]);
        assert_eq!(g["logits"].to_host_f64(&be), vec![1.0; 6]);
        if widths.len() == 2 {
            assert_eq!(
                g["penultimate"].to_host_f64(&be),
                g["input"].to_host_f64(&be)
            );
        }
    }
}

#[test]
fn image_shaped_inputs_are_flattened_row_major() {
    let be = CpuBackend::new(1);
    let cfg = MlpConfig {
        input: 6,
        hidden: vec![5],
        outputs: 2,
        activation: Activation::Tanh,
        bias: learnscope_models::BiasPlacement::All(true),
        parameterization: Parameterization::Standard,
        init: Default::default(),
        dtype: DType::F64,
    };
    let mut m = cfg
        .build(&be, RandomKey::root(2))
        .unwrap()
        .with_input_shape(&[2, 3])
        .unwrap();
    check_model(&mut m, 4, RandomKey::root(5)).unwrap();
    assert!(cfg
        .build(&be, RandomKey::root(2))
        .unwrap()
        .with_input_shape(&[2, 4])
        .is_err());
}

/// An ensemble of MLPs (and of deep linear nets) passes the same checks: its logits are the
/// members' side by side, its gradients those of Σ r ⊙ logits, and member i's block of the
/// logits is member i's own forward pass bit for bit.
#[test]
fn ensembles_conform_and_place_each_member_in_its_block() {
    use learnscope_models::Ensemble;
    use learnscope_nn::{ForwardCtx, Mode, Tensor};
    let be = CpuBackend::new(1);
    for dtype in [DType::F64, DType::F32] {
        let member = |seed: u64| -> Box<dyn Model<CpuBackend>> {
            let cfg = MlpConfig {
                input: 6,
                hidden: vec![9],
                outputs: 3,
                activation: Activation::Tanh,
                bias: learnscope_models::BiasPlacement::All(true),
                parameterization: Parameterization::Standard,
                init: Default::default(),
                dtype,
            };
            Box::new(cfg.build(&be, RandomKey::root(seed)).unwrap())
        };
        let keys = (0..3).map(RandomKey::root).collect();
        let mut ens = Ensemble::new((0..3).map(member).collect(), keys).unwrap();
        check_model(&mut ens, 5, RandomKey::root(8)).unwrap_or_else(|e| panic!("{dtype}: {e}"));
        assert_eq!(ens.spec().outputs, 9);
        let x = Tensor::from_f64(&be, dtype, &[4, 6], &RandomKey::root(1).normals(24));
        let ctx = ForwardCtx::new(Mode::Eval, 0, RandomKey::root(0));
        let all = ens
            .forward(&x, &ctx, &Default::default())
            .unwrap()
            .logits
            .to_host_f64(&be);
        for i in 0..3 {
            let solo = member(i as u64)
                .forward(&x, &ctx, &Default::default())
                .unwrap()
                .logits
                .to_host_f64(&be);
            for r in 0..4 {
                for j in 0..3 {
                    assert_eq!(all[r * 9 + i * 3 + j].to_bits(), solo[r * 3 + j].to_bits());
                }
            }
        }
    }
    let deep = |seed: u64| -> Box<dyn Model<CpuBackend>> {
        let cfg = DeepLinearConfig::new(
            &[5, 4, 3],
            true,
            DeepLinearInit::Gaussian { std: 0.5 },
            DType::F64,
        );
        Box::new(cfg.build(&be, RandomKey::root(seed)).unwrap())
    };
    let mut ens = Ensemble::new(vec![deep(1), deep(2)], vec![RandomKey::root(1); 2]).unwrap();
    check_model(&mut ens, 6, RandomKey::root(3)).unwrap();
    // Members of different shapes, and a key count that does not match, are refused.
    let err = Ensemble::new(
        vec![
            deep(1),
            Box::new(
                DeepLinearConfig::new(
                    &[5, 3],
                    false,
                    DeepLinearInit::Gaussian { std: 0.5 },
                    DType::F64,
                )
                .build(&be, RandomKey::root(0))
                .unwrap(),
            ),
        ],
        vec![RandomKey::root(0); 2],
    );
    assert!(err.is_err());
    assert!(Ensemble::new(vec![deep(1)], vec![]).is_err());
}
