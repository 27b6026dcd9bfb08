//! CIFAR-style residual networks (He et al. 2016) with basic blocks.
//!
//! `stem` = Conv3×3(C → 64w, stride 1, pad 1, no bias) → BN → ReLU; then four stages of basic
//! blocks with 64w, 128w, 256w, 512w channels (w = `width`), the first block of stages 2–4
//! downsampling by stride 2; then `pool` (global average, the `penultimate` tap) and `head`
//! (Linear → classes). Depth 10: [1, 1, 1, 1] blocks per stage, 18: [2, 2, 2, 2],
//! 34: [3, 4, 6, 3].
//!
//! A basic block `blocks.<k>` (numbered across stages) is
//! y = ReLU(body(x) + shortcut(x)), body = `conv1` (3×3, stride s) → `bn1` (ReLU) → `conv2`
//! (3×3) → `bn2`; the shortcut is the identity, or `shortcut.conv` (1×1, stride s) →
//! `shortcut.bn` when the block changes the shape. Taps `blocks.<k>.pre` (the sum) and
//! `blocks.<k>.out`.
//!
//! `linear = true` is the bias-free linear twin for compact maps (SCIENCE.md §P2.4): no batch
//! norm, no ReLU, no biases (the global average pool, being linear, stays).
//!
//! Initialisation: [`ConvInit`] for convolutions (PyTorch's default unless set; torchvision uses
//! Kaiming-normal in fan-out mode, which is not offered), PyTorch's default for the head.

use learnscope_core::{DType, RandomKey};
use learnscope_nn::layer::{Residual, Sequential};
use learnscope_nn::{Activation, Backend, NnError};

use crate::conv_parts::{
    self, check_outputs, check_width, image_shape, scaled, seq, ConvInit, Parts,
};
use crate::network::Network;

fn one() -> f64 {
    1.0
}

/// A CIFAR-style ResNet (see the module documentation).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResNetConfig {
    /// 10, 18 or 34.
    pub depth: usize,
    /// Channel multiplier (⌊width·channels⌋, at least 1).
    #[serde(default = "one")]
    pub width: f64,
    /// The bias-free linear twin.
    #[serde(default)]
    pub linear: bool,
    /// Initialisation of the convolutions.
    #[serde(default)]
    pub init: ConvInit,
}

impl ResNetConfig {
    /// A full-width ResNet of the given depth with PyTorch's default initialisation.
    pub fn new(depth: usize) -> Self {
        ResNetConfig {
            depth,
            width: 1.0,
            linear: false,
            init: ConvInit::PytorchDefault,
        }
    }

    /// Blocks per stage.
    pub fn stages(&self) -> Result<[usize; 4], NnError> {
        match self.depth {
            10 => Ok([1, 1, 1, 1]),
            18 => Ok([2, 2, 2, 2]),
            34 => Ok([3, 4, 6, 3]),
            d => Err(NnError::setting("resnet.depth", d, "one of 10, 18, 34")),
        }
    }

    /// Builds the network for examples of `input_shape` (`[H, W]` or `[C, H, W]`) and `outputs`
    /// logits.
    pub fn build<B: Backend>(
        &self,
        be: &B,
        dtype: DType,
        input_shape: &[usize],
        outputs: usize,
        key: RandomKey,
    ) -> Result<Network<B>, NnError> {
        let stages = self.stages()?;
        check_width("resnet", self.width)?;
        check_outputs("resnet", outputs)?;
        let image = image_shape("resnet", input_shape)?;
        let parts = Parts { be, dtype };
        let lin = self.linear;
        let act = if lin {
            Activation::Identity
        } else {
            Activation::Relu
        };
        // conv (no bias) → BN with σ fused, or just the conv in the linear twin.
        let conv_bn = |name: &str, o, c, k, s, p, sigma| -> Result<Vec<(String, _)>, NnError> {
            if lin {
                Ok(vec![(
                    format!("conv{name}"),
                    parts.conv(o, c, k, s, p, false, Activation::Identity)?,
                )])
            } else {
                Ok(vec![
                    (
                        format!("conv{name}"),
                        parts.conv(o, c, k, s, p, false, Activation::Identity)?,
                    ),
                    (format!("bn{name}"), parts.bn(o, sigma)?),
                ])
            }
        };
        let c0 = scaled(64, self.width);
        let stem = seq(conv_bn("", c0, image[0], 3, 1, 1, act)?)?;
        let mut blocks = Vec::new();
        let mut c = c0;
        for (si, &n) in stages.iter().enumerate() {
            let o = scaled(64 << si, self.width);
            for j in 0..n {
                let stride = if si > 0 && j == 0 { 2 } else { 1 };
                let mut body = conv_bn("1", o, c, 3, stride, 1, act)?;
                body.extend(conv_bn("2", o, o, 3, 1, 1, Activation::Identity)?);
                let shortcut = if stride != 1 || c != o {
                    Some(seq(conv_bn("", o, c, 1, stride, 0, Activation::Identity)?)?)
                } else {
                    None
                };
                let block = Residual::new(be, dtype, seq(body)?, shortcut).with_activation(act);
                blocks.push((blocks.len().to_string(), Box::new(block) as Box<_>));
                c = o;
            }
        }
        let root = Sequential::named(vec![
            ("stem".to_string(), stem),
            ("blocks".into(), seq(blocks)?),
            ("pool".into(), parts.global_avg_pool()),
            (
                "head".into(),
                parts.linear(outputs, c, !lin, Activation::Identity)?,
            ),
        ])?;
        let name = format!(
            "resnet{}[width {}{}]",
            self.depth,
            self.width,
            if lin { ", linear" } else { "" }
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
