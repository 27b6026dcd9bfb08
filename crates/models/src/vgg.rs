//! VGG-style networks: stacks of 3×3 convolution → batch norm → ReLU blocks, then flatten and a
//! linear head.
//!
//! - `v8`: the VGG-8 ("V8") of the P4 reference code (SCIENCE.md §P4.3; `models.py`,
//!   `Classifier`/`B2lock2`): five blocks `Conv3×3(stride 2, pad 1, no bias) → BatchNorm2d →
//!   ReLU`, channels 32, 64, 128, 256, 512 (times `width`, as the code's `int(netSi·x)`),
//!   spatial 32 → 16 → 8 → 4 → 2 → 1 on CIFAR; flatten (512) → Linear(512 → classes, bias).
//! - `vgg11`, `vgg13`, `vgg16`: the CIFAR versions of Simonyan & Zisserman's configurations A,
//!   B, D with batch norm: 3×3 stride-1 pad-1 convolutions (64 … 512 channels) → BN → ReLU, 2×2
//!   max pooling after each stage (five in all: 32 → 1), flatten (512) → Linear(512 → classes).
//!
//! Block i (one per convolution) is `blocks.<i>` with children `conv`, `bn` (the ReLU fused into
//! it) and, at the end of a stage, `pool`; then `flatten` (the `penultimate` tap, the 512-d
//! feature the P4 probes read) and `head`. Convolutions have no bias when batch norm follows
//! (`batch_norm = false` gives them one).
//!
//! `linear = true` is the bias-free linear twin for compact maps (SCIENCE.md §P2.4): no batch
//! norm, no ReLU, no biases, and each max pool replaced by stride 2 in the convolution before
//! it (`v8` already has no pooling).
//!
//! Initialisation: [`ConvInit`] for convolutions (PyTorch's default unless set; the P4 code uses
//! PyTorch's default), PyTorch's default for the head.

use learnscope_core::{DType, RandomKey};
use learnscope_nn::layer::{Layer, Sequential};
use learnscope_nn::{Activation, Backend, NnError};

use crate::conv_parts::{
    self, check_outputs, check_width, image_shape, scaled, seq, ConvInit, Parts,
};
use crate::network::Network;

fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}

/// Which VGG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VggVariant {
    /// The P4 reference code's VGG-8: five stride-2 blocks, 32 → 512 channels.
    V8,
    /// VGG-11 (configuration A), CIFAR-style.
    Vgg11,
    /// VGG-13 (configuration B), CIFAR-style.
    Vgg13,
    /// VGG-16 (configuration D), CIFAR-style.
    Vgg16,
}

impl VggVariant {
    /// (channels, stride, max pool after) of each convolution.
    fn plan(self) -> Vec<(usize, usize, bool)> {
        // CIFAR VGG configurations: numbers are 3×3 convolutions, 0 a 2×2 max pool.
        let cfg: &[usize] = match self {
            VggVariant::V8 => {
                return [32, 64, 128, 256, 512]
                    .iter()
                    .map(|&c| (c, 2, false))
                    .collect()
            }
            VggVariant::Vgg11 => &[64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
            VggVariant::Vgg13 => &[
                64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0,
            ],
            VggVariant::Vgg16 => &[
                64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0,
            ],
        };
        let mut plan: Vec<(usize, usize, bool)> = Vec::new();
        for &c in cfg {
            if c == 0 {
                plan.last_mut().expect("a pool follows a convolution").2 = true;
            } else {
                plan.push((c, 1, false));
            }
        }
        plan
    }

    fn name(self) -> &'static str {
        match self {
            VggVariant::V8 => "vgg8",
            VggVariant::Vgg11 => "vgg11",
            VggVariant::Vgg13 => "vgg13",
            VggVariant::Vgg16 => "vgg16",
        }
    }
}

/// A VGG-style network (see the module documentation).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VggConfig {
    /// `v8`, `vgg11`, `vgg13` or `vgg16`.
    pub variant: VggVariant,
    /// Channel multiplier (⌊width·channels⌋, at least 1).
    #[serde(default = "one")]
    pub width: f64,
    /// The bias-free linear twin.
    #[serde(default)]
    pub linear: bool,
    /// Batch norm after each convolution (ignored by the linear twin).
    #[serde(default = "yes")]
    pub batch_norm: bool,
    /// Initialisation of the convolutions.
    #[serde(default)]
    pub init: ConvInit,
}

impl VggConfig {
    /// The P4 VGG-8 at full width with batch norm.
    pub fn v8() -> Self {
        Self::new(VggVariant::V8)
    }

    /// A variant at full width with batch norm, PyTorch's default initialisation.
    pub fn new(variant: VggVariant) -> Self {
        VggConfig {
            variant,
            width: 1.0,
            linear: false,
            batch_norm: true,
            init: ConvInit::PytorchDefault,
        }
    }

    /// Builds the network for examples of `input_shape` (`[H, W]` or `[C, H, W]`; 32×32 for
    /// the 1×1 final map of the reference models) and `outputs` logits.
    pub fn build<B: Backend>(
        &self,
        be: &B,
        dtype: DType,
        input_shape: &[usize],
        outputs: usize,
        key: RandomKey,
    ) -> Result<Network<B>, NnError> {
        let model = self.variant.name();
        check_width(model, self.width)?;
        check_outputs(model, outputs)?;
        let image = image_shape(model, input_shape)?;
        let parts = Parts { be, dtype };
        let lin = self.linear;
        let bn = self.batch_norm && !lin;
        let act = if lin {
            Activation::Identity
        } else {
            Activation::Relu
        };
        let mut blocks = Vec::new();
        let mut c = image[0];
        for (i, (ch, stride, pool)) in self.variant.plan().into_iter().enumerate() {
            let o = scaled(ch, self.width);
            let fold = lin && pool;
            let stride = if fold { stride * 2 } else { stride };
            let conv_act = if bn { Activation::Identity } else { act };
            let mut layers = vec![(
                "conv".to_string(),
                parts.conv(o, c, 3, stride, 1, !bn && !lin, conv_act)?,
            )];
            if bn {
                layers.push(("bn".into(), parts.bn(o, act)?));
            }
            if pool && !fold {
                layers.push(("pool".into(), parts.max_pool(2, 2, 0)?));
            }
            blocks.push((i.to_string(), seq(layers)?));
            c = o;
        }
        let mut blocks = Sequential::named(blocks)?;
        blocks.set_path("blocks");
        let feat: usize = blocks.output_shape(&image)?.iter().product();
        let root = Sequential::named(vec![
            ("blocks".to_string(), Box::new(blocks) as Box<_>),
            ("flatten".into(), parts.flatten()),
            (
                "head".into(),
                parts.linear(outputs, feat, !lin, Activation::Identity)?,
            ),
        ])?;
        let name = format!(
            "{model}[width {}{}{}]",
            self.width,
            if lin { ", linear" } else { "" },
            if !lin && !self.batch_norm {
                ", no bn"
            } else {
                ""
            }
        );
        conv_parts::finish(
            be,
            dtype,
            name,
            input_shape,
            image,
            outputs,
            root,
            self.init,
            key,
        )
    }
}
