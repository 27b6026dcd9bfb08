//! The convolutional model zoo: every configuration passes `check_model` at a tiny width (f64:
//! gradients against central differences; f32: the structural checks), parameter counts match
//! the PyTorch definitions at full width, taps and names are readable, linear twins are linear,
//! batch-norm buffers are visible and move only in training, and configs parse from TOML.

use learnscope_models::{
    check_model, CnnConfig, ConvBlockConfig, ConvInit, Model, Network, PoolConfig, PoolKind,
    Readout, ResNetConfig, TapRequest, VggConfig, VggVariant,
};
use learnscope_nn::{
    Activation, CpuBackend, DType, ForwardCtx, Mode, ParamTree, RandomKey, Tensor,
};

fn be() -> CpuBackend {
    CpuBackend::new(1)
}

fn conform(m: &mut Network<CpuBackend>, batch: usize) {
    check_model(m, batch, RandomKey::root(99)).unwrap_or_else(|e| panic!("{}: {e}", m.spec().name));
}

/// A tiny CNN exercising every block option.
fn tiny_cnn(linear: bool) -> CnnConfig {
    let mut b0 = ConvBlockConfig::new(4).pooled(PoolConfig::max(2));
    b0.batch_norm = true;
    let mut b1 = ConvBlockConfig::new(6).pooled(PoolConfig {
        kind: PoolKind::Avg,
        kernel: 2,
        stride: Some(1),
        padding: 1,
    });
    b1.activation = Activation::Tanh;
    b1.dropout = 0.25;
    let mut b2 = ConvBlockConfig::new(5);
    b2.kernel = 1;
    b2.stride = 2;
    CnnConfig {
        blocks: vec![b0, b1, b2],
        readout: Readout::Flatten,
        hidden: vec![7],
        hidden_activation: Activation::Gelu,
        hidden_dropout: 0.1,
        width: 1.0,
        linear,
        init: ConvInit::KaimingNormal,
        head_init: learnscope_models::HeadInit::Default,
    }
}

#[test]
fn cnns_conform() {
    let be = be();
    for dtype in [DType::F64, DType::F32] {
        for linear in [false, true] {
            let mut m = tiny_cnn(linear)
                .build(&be, dtype, &[2, 6, 6], 3, RandomKey::root(1))
                .unwrap();
            conform(&mut m, 3);
        }
        // The small preset at width 1/8 on 1-channel [H, W] images; global-average readout.
        let mut small = CnnConfig::small();
        small.width = 0.125;
        small.hidden = vec![6];
        let mut m = small
            .build(&be, dtype, &[8, 8], 4, RandomKey::root(2))
            .unwrap();
        assert_eq!(m.spec().input_shape, [8, 8]);
        conform(&mut m, 2);
        small.readout = Readout::GlobalAvg;
        small.hidden.clear();
        let mut m = small
            .build(&be, dtype, &[1, 8, 8], 4, RandomKey::root(2))
            .unwrap();
        conform(&mut m, 2);
    }
}

#[test]
fn vggs_conform() {
    let be = be();
    for dtype in [DType::F64, DType::F32] {
        for linear in [false, true] {
            let mut v8 = VggConfig::v8();
            v8.width = 1.0 / 16.0;
            v8.linear = linear;
            let mut m = v8
                .build(&be, dtype, &[3, 16, 16], 4, RandomKey::root(3))
                .unwrap();
            conform(&mut m, 2);
            let mut v11 = VggConfig::new(VggVariant::Vgg11);
            v11.width = 1.0 / 32.0;
            v11.linear = linear;
            v11.init = ConvInit::KaimingNormal;
            let mut m = v11
                .build(&be, dtype, &[3, 32, 32], 3, RandomKey::root(4))
                .unwrap();
            conform(&mut m, 2);
        }
        let mut no_bn = VggConfig::v8();
        no_bn.width = 1.0 / 16.0;
        no_bn.batch_norm = false;
        let mut m = no_bn
            .build(&be, dtype, &[3, 8, 8], 2, RandomKey::root(5))
            .unwrap();
        conform(&mut m, 2);
    }
}

#[test]
fn resnets_conform() {
    // Kaiming-normal init keeps pre-activations O(1) through 18 layers at this tiny width; with
    // PyTorch's default (variance 1/(3·fan_in) per layer, and batch norm in eval mode not
    // renormalising) the last blocks' pre-activations are ~1e-3, too close to the ReLU kink for
    // the 1e-4 margin of the gradient check. Width 1/16 (4 to 32 channels): at 1/32 the 2-channel
    // stage has whole ReLU groups dead, giving residual sums that are exactly 0 (a kink). The
    // linear twins have no kink and keep PyTorch's default (the ReLU gain √2 of Kaiming init
    // would grow their activations ~2× in variance per layer, and the central differences'
    // rounding with them).
    let be = be();
    for dtype in [DType::F64, DType::F32] {
        for depth in [10, 18] {
            for linear in [false, true] {
                let mut cfg = ResNetConfig::new(depth);
                cfg.width = 1.0 / 16.0;
                cfg.linear = linear;
                if !linear {
                    cfg.init = ConvInit::KaimingNormal;
                }
                let mut m = cfg
                    .build(&be, dtype, &[3, 8, 8], 3, RandomKey::root(6))
                    .unwrap();
                conform(&mut m, 2);
            }
        }
    }
}

fn count(m: &Network<CpuBackend>) -> usize {
    m.num_scalars()
}

#[test]
fn full_width_parameter_counts_match_pytorch() {
    // Counted from the equivalent torch.nn modules (conv without bias before BatchNorm2d; the
    // small CNN with biases): sum(p.numel() for p in model.parameters()).
    let be = be();
    let k = RandomKey::root(0);
    let small = CnnConfig::small()
        .build(&be, DType::F32, &[28, 28], 10, k)
        .unwrap();
    assert_eq!(count(&small), 421_642);
    let v8 = VggConfig::v8()
        .build(&be, DType::F32, &[3, 32, 32], 10, k)
        .unwrap();
    assert_eq!(count(&v8), 1_574_698);
    let v11 = VggConfig::new(VggVariant::Vgg11)
        .build(&be, DType::F32, &[3, 32, 32], 10, k)
        .unwrap();
    assert_eq!(count(&v11), 9_228_362);
    let r10 = ResNetConfig::new(10)
        .build(&be, DType::F32, &[3, 32, 32], 10, k)
        .unwrap();
    assert_eq!(count(&r10), 4_903_242);
    let r18 = ResNetConfig::new(18)
        .build(&be, DType::F32, &[3, 32, 32], 10, k)
        .unwrap();
    assert_eq!(count(&r18), 11_173_962);
    // The P4 layer: VGG-8's penultimate representation is the 512-d flattened last block.
    let mut v8 = v8;
    let x = Tensor::zeros(&be, DType::F32, &[2, 3, 32, 32]);
    let fwd = v8
        .forward(
            &x,
            &ForwardCtx::new(Mode::Eval, 0, k),
            &TapRequest::names(["penultimate", "blocks.4.out"]),
        )
        .unwrap();
    assert_eq!(fwd.taps["penultimate"].shape(), [2, 512]);
    assert_eq!(fwd.taps["blocks.4.out"].shape(), [2, 512, 1, 1]);
}

#[test]
fn names_taps_and_buffers_are_readable() {
    let be = be();
    let mut cfg = ResNetConfig::new(10);
    cfg.width = 1.0 / 16.0;
    let m = cfg
        .build(&be, DType::F64, &[3, 8, 8], 5, RandomKey::root(7))
        .unwrap();
    let names = m.param_names();
    assert_eq!(names[0], "stem.conv.weight");
    assert!(names.contains(&"blocks.1.body.conv1.weight".to_string()));
    assert!(names.contains(&"blocks.1.shortcut.conv.weight".to_string()));
    assert!(
        !names.iter().any(|n| n.starts_with("blocks.0.shortcut")),
        "stage 1 has no projection"
    );
    assert_eq!(names.last().unwrap(), "head.bias");
    let mut bufs = Vec::new();
    m.visit_buffers(&mut |b| bufs.push(b.name.clone()));
    assert_eq!(&bufs[..2], ["stem.bn.running_mean", "stem.bn.running_var"]);
    let taps = m.tap_names();
    for k in 0..4 {
        assert!(taps.contains(&format!("blocks.{k}.out")), "{taps:?}");
        assert!(taps.contains(&format!("blocks.{k}.pre")));
    }
    for t in ["input", "penultimate", "logits", "pool.out", "stem.out"] {
        assert!(taps.contains(&t.to_string()), "{t}");
    }

    let mut v = VggConfig::new(VggVariant::Vgg11);
    v.width = 1.0 / 32.0;
    let m = v
        .build(&be, DType::F32, &[3, 32, 32], 10, RandomKey::root(7))
        .unwrap();
    let taps = m.tap_names();
    assert!(taps.contains(&"blocks.0.pool.out".to_string()));
    assert!(taps.contains(&"blocks.7.out".to_string()));
    assert!(
        !taps.contains(&"blocks.2.pool.out".to_string()),
        "no pool after the 3rd conv"
    );
    assert_eq!(
        m.param_names()[..3],
        [
            "blocks.0.conv.weight",
            "blocks.0.bn.weight",
            "blocks.0.bn.bias"
        ]
    );

    let m = CnnConfig::small()
        .build(&be, DType::F32, &[28, 28], 10, RandomKey::root(7))
        .unwrap();
    assert_eq!(
        m.param_names(),
        [
            "blocks.0.conv.weight",
            "blocks.0.conv.bias",
            "blocks.1.conv.weight",
            "blocks.1.conv.bias",
            "dense.0.linear.weight",
            "dense.0.linear.bias",
            "head.weight",
            "head.bias"
        ]
    );
    assert!(m.tap_names().contains(&"dense.0.out".to_string()));
}

#[test]
fn linear_twins_are_linear_and_bias_free() {
    // f(a·x + b·y) = a·f(x) + b·f(y) up to rounding, and no buffers or biases.
    let be = be();
    let key = RandomKey::root(11);
    let mut cnn = tiny_cnn(true);
    cnn.readout = Readout::GlobalAvg;
    let mut v8 = VggConfig::v8();
    v8.width = 1.0 / 16.0;
    v8.linear = true;
    let mut v11 = VggConfig::new(VggVariant::Vgg11);
    v11.width = 1.0 / 32.0;
    v11.linear = true;
    let mut r18 = ResNetConfig::new(18);
    r18.width = 1.0 / 32.0;
    r18.linear = true;
    let models: Vec<(Network<CpuBackend>, Vec<usize>)> = vec![
        (
            cnn.build(&be, DType::F64, &[2, 6, 6], 3, key).unwrap(),
            vec![2, 6, 6],
        ),
        (
            v8.build(&be, DType::F64, &[3, 16, 16], 3, key).unwrap(),
            vec![3, 16, 16],
        ),
        (
            v11.build(&be, DType::F64, &[3, 32, 32], 3, key).unwrap(),
            vec![3, 32, 32],
        ),
        (
            r18.build(&be, DType::F64, &[3, 8, 8], 3, key).unwrap(),
            vec![3, 8, 8],
        ),
    ];
    for (mut m, shape) in models {
        let mut nbuf = 0;
        m.visit_buffers(&mut |_| nbuf += 1);
        assert_eq!(nbuf, 0, "{}", m.spec().name);
        assert!(
            !m.param_names().iter().any(|n| n.ends_with("bias")),
            "{}",
            m.spec().name
        );
        let n: usize = shape.iter().product();
        let (x, y) = (key.derive("x").normals(n), key.derive("y").normals(n));
        let mix: Vec<f64> = x.iter().zip(&y).map(|(a, b)| 0.7 * a - 1.3 * b).collect();
        let mut run = |v: &[f64]| {
            let mut s = vec![1];
            s.extend(&shape);
            let t = Tensor::from_f64(&be, DType::F64, &s, v);
            m.forward(&t, &ForwardCtx::new(Mode::Train, 0, key), &TapRequest::None)
                .unwrap()
                .logits
                .to_host_f64(&be)
        };
        let (fx, fy, fm) = (run(&x), run(&y), run(&mix));
        for i in 0..fx.len() {
            let want = 0.7 * fx[i] - 1.3 * fy[i];
            assert!(
                (fm[i] - want).abs() < 1e-12 * (1.0 + want.abs()),
                "{}",
                m.spec().name
            );
        }
    }
}

#[test]
fn batch_norm_buffers_move_in_training_only() {
    let be = be();
    let key = RandomKey::root(13);
    let mut v8 = VggConfig::v8();
    v8.width = 1.0 / 16.0;
    let mut m = v8.build(&be, DType::F32, &[3, 16, 16], 10, key).unwrap();
    let buffers = |m: &Network<CpuBackend>| {
        let mut v = Vec::new();
        m.visit_buffers(&mut |b| v.extend(b.value.to_host_f64(&be)));
        v
    };
    let mut names = Vec::new();
    m.visit_buffers(&mut |b| names.push(b.name.clone()));
    assert_eq!(names.len(), 10);
    assert_eq!(names[0], "blocks.0.bn.running_mean");
    let x = Tensor::from_f64(&be, DType::F32, &[4, 3, 16, 16], &key.normals(4 * 768));
    let b0 = buffers(&m);
    for mode in [Mode::Eval, Mode::Probe] {
        m.forward(&x, &ForwardCtx::new(mode, 0, key), &TapRequest::All)
            .unwrap();
        assert_eq!(b0, buffers(&m), "{mode:?}");
    }
    m.forward(&x, &ForwardCtx::new(Mode::Train, 0, key), &TapRequest::None)
        .unwrap();
    assert_ne!(b0, buffers(&m));
}

#[test]
fn initialisation_follows_the_documented_distributions() {
    let be = be();
    let key = RandomKey::root(17);
    for init in [ConvInit::PytorchDefault, ConvInit::KaimingNormal] {
        let mut cfg = CnnConfig::small();
        cfg.init = init;
        let m = cfg.build(&be, DType::F64, &[28, 28], 10, key).unwrap();
        m.visit_params(&mut |p| {
            let v = p.value.to_host_f64(&be);
            let n = v.len() as f64;
            let fan_in = match p.name.as_str() {
                "blocks.0.conv.weight" | "blocks.0.conv.bias" => 9.0,
                "blocks.1.conv.weight" | "blocks.1.conv.bias" => 288.0,
                "dense.0.linear.weight" | "dense.0.linear.bias" => 3136.0,
                _ => 128.0,
            };
            let conv = p.name.starts_with("blocks");
            let bound = 1.0 / f64::sqrt(fan_in);
            if conv && init == ConvInit::KaimingNormal {
                if p.name.ends_with("bias") {
                    assert!(v.iter().all(|&b| b == 0.0));
                } else {
                    // Sample variance of n normals: relative sd √(2/n); 6 sd tolerance.
                    let var = v.iter().map(|x| x * x).sum::<f64>() / n;
                    let want = 2.0 / fan_in;
                    assert!(
                        (var / want - 1.0).abs() < 6.0 * (2.0 / n).sqrt(),
                        "{}: {var} vs {want}",
                        p.name
                    );
                }
            } else {
                let max = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                assert!(
                    max <= bound && max > 0.5 * bound,
                    "{}: max {max}, bound {bound}",
                    p.name
                );
            }
        });
    }
    // Same seed, same network; different seed, different weights.
    let a = CnnConfig::small()
        .build(&be, DType::F32, &[28, 28], 10, key)
        .unwrap();
    let b = CnnConfig::small()
        .build(&be, DType::F32, &[28, 28], 10, key)
        .unwrap();
    let c = CnnConfig::small()
        .build(&be, DType::F32, &[28, 28], 10, RandomKey::root(18))
        .unwrap();
    let vals = |m: &Network<CpuBackend>| {
        let mut v = Vec::new();
        m.visit_params(&mut |p| v.extend(p.value.to_host_f64(&be)));
        v
    };
    assert_eq!(vals(&a), vals(&b));
    assert_ne!(vals(&a), vals(&c));
}

#[test]
fn configs_parse_from_toml_and_reject_typos() {
    let cnn: CnnConfig = toml::from_str(
        r#"
        hidden = [128]
        [[blocks]]
        channels = 32
        pool = { kind = "max", kernel = 2 }
        [[blocks]]
        channels = 64
        pool = { kind = "max", kernel = 2 }
        "#,
    )
    .unwrap();
    assert_eq!(cnn, CnnConfig::small());
    let e = toml::from_str::<CnnConfig>("blocks = [{ channels = 8, chanels = 3 }]").unwrap_err();
    assert!(e.to_string().contains("chanels"), "{e}");
    let v: VggConfig = toml::from_str(r#"variant = "v8""#).unwrap();
    assert_eq!(v, VggConfig::v8());
    let v: VggConfig = toml::from_str(
        r#"variant = "vgg11"
        width = 0.5
        linear = true
        init = "kaiming_normal""#,
    )
    .unwrap();
    assert_eq!(
        (v.variant, v.width, v.linear, v.init),
        (VggVariant::Vgg11, 0.5, true, ConvInit::KaimingNormal)
    );
    assert!(toml::from_str::<VggConfig>(r#"variant = "vgg12""#).is_err());
    assert!(toml::from_str::<VggConfig>("variant = \"v8\"\nwidht = 2.0").is_err());
    let r: ResNetConfig = toml::from_str("depth = 18").unwrap();
    assert_eq!(r, ResNetConfig::new(18));
}

#[test]
fn invalid_configs_and_inputs_name_the_problem() {
    let be = be();
    let k = RandomKey::root(0);
    let e = ResNetConfig::new(12)
        .build(&be, DType::F32, &[3, 8, 8], 2, k)
        .unwrap_err();
    assert!(e.to_string().contains("resnet.depth"), "{e}");
    let mut v = VggConfig::v8();
    v.width = 0.0;
    assert!(v
        .build(&be, DType::F32, &[3, 8, 8], 2, k)
        .unwrap_err()
        .to_string()
        .contains("width"));
    let e = VggConfig::v8()
        .build(&be, DType::F32, &[12], 2, k)
        .unwrap_err();
    assert!(e.to_string().contains("input of vgg8"), "{e}");
    // 5×5 is too small for the small CNN's pooling (5 → 2 → 1 → pooling 2 does not fit).
    let mut cfg = CnnConfig::small();
    cfg.blocks
        .push(ConvBlockConfig::new(4).pooled(PoolConfig::max(2)));
    let e = cfg.build(&be, DType::F32, &[5, 5], 2, k).unwrap_err();
    assert!(e.to_string().contains("blocks.2.pool"), "{e}");
    let mut cfg = CnnConfig::small();
    cfg.blocks[0].dropout = 1.0;
    assert!(cfg.build(&be, DType::F32, &[28, 28], 2, k).is_err());
    cfg.blocks.clear();
    assert!(cfg.build(&be, DType::F32, &[28, 28], 2, k).is_err());
}

/// `head_init = scaled { gain }` multiplies the default logits by exactly `gain` (zero head
/// bias, same weights otherwise); `zero` gives logits that are exactly 0.
#[test]
fn head_init_scales_the_logits() {
    let be = be();
    let x = Tensor::from_f64(
        &be,
        DType::F64,
        &[3, 2, 6, 6],
        &(0..216)
            .map(|i| ((i * 37 % 101) as f64) / 50.0 - 1.0)
            .collect::<Vec<_>>(),
    );
    let logits = |head_init| {
        let mut cfg = tiny_cnn(false);
        cfg.hidden_dropout = 0.0;
        cfg.head_init = head_init;
        let mut m = cfg
            .build(&be, DType::F64, &[2, 6, 6], 3, RandomKey::root(1))
            .unwrap();
        let ctx = ForwardCtx::new(Mode::Probe, 0, RandomKey::root(0));
        let f = m
            .forward(&x, &ctx, &TapRequest::None)
            .unwrap()
            .logits
            .to_host_f64(&be);
        let mut bias = Vec::new();
        m.visit_params(&mut |p| {
            if p.name == "head.bias" {
                bias = p.value.to_host_f64(&be);
            }
        });
        (f, bias)
    };
    let (base, base_bias) = logits(learnscope_models::HeadInit::Default);
    let (scaled, bias) = logits(learnscope_models::HeadInit::Scaled { gain: 0.01 });
    assert!(bias.iter().all(|&b| b == 0.0));
    for (i, (s, b)) in scaled.iter().zip(&base).enumerate() {
        // Default logits minus the default bias, times the gain; one rounding per product.
        let want = 0.01 * (b - base_bias[i % 3]);
        assert!(
            (s - want).abs() <= 1e-12 * want.abs().max(1e-3),
            "{i}: {s} vs {want}"
        );
    }
    let (zero, _) = logits(learnscope_models::HeadInit::Zero);
    assert!(zero.iter().all(|&v| v == 0.0));
    let mut bad = tiny_cnn(false);
    bad.head_init = learnscope_models::HeadInit::Scaled { gain: f64::NAN };
    assert!(bad
        .build(&be, DType::F64, &[2, 6, 6], 3, RandomKey::root(1))
        .is_err());
}
