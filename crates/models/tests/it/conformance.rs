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
                    bias: true,
                    parameterization: par,
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
        bias: true,
        parameterization: Parameterization::Standard,
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
