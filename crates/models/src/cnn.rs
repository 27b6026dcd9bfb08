//! A configurable convolutional network: conv blocks → readout → hidden dense layers → head.
//!
//! Block i (path `blocks.<i>`): `conv` (k×k, stride, zero padding; with a bias unless batch norm
//! follows), then `bn` (optional), with the block's activation fused into the last of the two,
//! then `pool` (optional max or average pooling) and `dropout` (optional). The readout turns the
//! last feature map into a vector: `flatten` (row-major, as `torch.flatten(x, 1)`) or `pool`
//! (global average). Hidden dense layer j is `dense.<j>` (`linear`, then optional `dropout`),
//! and `head` is the linear read-out. Taps: every layer's `.pre`/`.out`, each block's
//! `blocks.<i>.out`, and `penultimate` = the input of the head.
//!
//! `linear = true` gives the bias-free linear twin used for compact maps (SCIENCE.md §P2.4–P2.5,
//! f(x) = W x): identity activations, no batch norm, no biases, no dropout, and each max pool
//! folded into its block's convolution as an extra stride factor (average pools, being linear,
//! are kept).
//!
//! Initialisation: [`ConvInit`] for convolutions, PyTorch's default for dense layers.

use learnscope_core::{DType, RandomKey};
use learnscope_nn::layer::{Layer, Sequential};
use learnscope_nn::{Activation, Backend, NnError};

use crate::conv_parts::{
    self, check_outputs, check_width, image_shape, scaled, seq, ConvInit, Parts,
};
use crate::head_init::HeadInit;
use crate::network::Network;

fn relu() -> Activation {
    Activation::Relu
}
fn three() -> usize {
    3
}
fn one() -> usize {
    1
}
fn one_f() -> f64 {
    1.0
}

/// Max or average pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// Maximum over the window.
    Max,
    /// Mean over the window (zero padding counted).
    Avg,
}

/// A pooling window after a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// `max` or `avg`.
    pub kind: PoolKind,
    /// Window size.
    pub kernel: usize,
    /// Step (default: the kernel size).
    #[serde(default)]
    pub stride: Option<usize>,
    /// Zero/−∞ padding (≤ kernel/2).
    #[serde(default)]
    pub padding: usize,
}

impl PoolConfig {
    /// `kernel × kernel` max pooling with stride `kernel`.
    pub fn max(kernel: usize) -> Self {
        PoolConfig {
            kind: PoolKind::Max,
            kernel,
            stride: None,
            padding: 0,
        }
    }

    fn stride(&self) -> usize {
        self.stride.unwrap_or(self.kernel)
    }
}

/// One convolutional block.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvBlockConfig {
    /// Output channels (before the width multiplier).
    pub channels: usize,
    /// Kernel size (default 3).
    #[serde(default = "three")]
    pub kernel: usize,
    /// Stride (default 1).
    #[serde(default = "one")]
    pub stride: usize,
    /// Zero padding (default kernel/2: "same" size for odd kernels at stride 1).
    #[serde(default)]
    pub padding: Option<usize>,
    /// Batch norm after the convolution.
    #[serde(default)]
    pub batch_norm: bool,
    /// Activation (default relu).
    #[serde(default = "relu")]
    pub activation: Activation,
    /// Pooling after the activation.
    #[serde(default)]
    pub pool: Option<PoolConfig>,
    /// Dropout probability at the end of the block (0 = none).
    #[serde(default)]
    pub dropout: f64,
}

impl ConvBlockConfig {
    /// A 3×3, stride-1, "same"-padded ReLU block without batch norm, pooling or dropout.
    pub fn new(channels: usize) -> Self {
        ConvBlockConfig {
            channels,
            kernel: 3,
            stride: 1,
            padding: None,
            batch_norm: false,
            activation: Activation::Relu,
            pool: None,
            dropout: 0.0,
        }
    }

    /// With pooling after the block.
    pub fn pooled(mut self, pool: PoolConfig) -> Self {
        self.pool = Some(pool);
        self
    }
}

/// How the last feature map becomes a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readout {
    /// Flatten `[C, H, W]` to `C·H·W` (layer `flatten`).
    #[default]
    Flatten,
    /// Global average pooling to `C` (layer `pool`).
    GlobalAvg,
}

/// A configurable CNN (see the module documentation).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnnConfig {
    /// Convolutional blocks, in order (at least one).
    pub blocks: Vec<ConvBlockConfig>,
    /// Readout of the last feature map.
    #[serde(default)]
    pub readout: Readout,
    /// Hidden dense widths after the readout.
    #[serde(default)]
    pub hidden: Vec<usize>,
    /// Activation of the hidden dense layers (default relu).
    #[serde(default = "relu")]
    pub hidden_activation: Activation,
    /// Dropout after each hidden dense layer (0 = none).
    #[serde(default)]
    pub hidden_dropout: f64,
    /// Multiplier of every block's channels (⌊width·channels⌋, at least 1).
    #[serde(default = "one_f")]
    pub width: f64,
    /// The bias-free linear twin.
    #[serde(default)]
    pub linear: bool,
    /// Initialisation of the convolutions.
    #[serde(default)]
    pub init: ConvInit,
    /// Initial condition of the read-out (`head_init = { kind = "scaled", gain = 0.01 }` for
    /// P1's near-zero logits).
    #[serde(default)]
    pub head_init: HeadInit,
}

impl CnnConfig {
    /// The small CNN for 28×28 images (Fashion-MNIST): conv 3×3 →32, ReLU, max-pool 2, conv 3×3
    /// →64, ReLU, max-pool 2, flatten (64·7·7 = 3136), dense 128 ReLU, linear head.
    pub fn small() -> Self {
        CnnConfig {
            blocks: vec![
                ConvBlockConfig::new(32).pooled(PoolConfig::max(2)),
                ConvBlockConfig::new(64).pooled(PoolConfig::max(2)),
            ],
            readout: Readout::Flatten,
            hidden: vec![128],
            hidden_activation: Activation::Relu,
            hidden_dropout: 0.0,
            width: 1.0,
            linear: false,
            init: ConvInit::PytorchDefault,
            head_init: HeadInit::Default,
        }
    }

    /// Checks sizes and probabilities (shapes are checked against the input by `build`).
    pub fn validate(&self) -> Result<(), NnError> {
        if self.blocks.is_empty() {
            return Err(NnError::setting("cnn.blocks", "[]", "at least one block"));
        }
        check_width("cnn", self.width)?;
        for (i, b) in self.blocks.iter().enumerate() {
            if b.channels == 0 || b.kernel == 0 || b.stride == 0 {
                return Err(NnError::setting(
                    format!("cnn.blocks[{i}]"),
                    format!(
                        "channels {} kernel {} stride {}",
                        b.channels, b.kernel, b.stride
                    ),
                    "channels, kernel and stride > 0",
                ));
            }
            if !(0.0..1.0).contains(&b.dropout) {
                return Err(NnError::setting(
                    format!("cnn.blocks[{i}].dropout"),
                    b.dropout,
                    "0 <= p < 1",
                ));
            }
        }
        if self.hidden.contains(&0) {
            return Err(NnError::setting(
                "cnn.hidden",
                format!("{:?}", self.hidden),
                "widths > 0",
            ));
        }
        if !(0.0..1.0).contains(&self.hidden_dropout) {
            return Err(NnError::setting(
                "cnn.hidden_dropout",
                self.hidden_dropout,
                "0 <= p < 1",
            ));
        }
        Ok(())
    }

    /// Builds the network for examples of `input_shape` (`[H, W]` or `[C, H, W]`) and `outputs`
    /// logits, initialised from `init/<param>` under `key`.
    pub fn build<B: Backend>(
        &self,
        be: &B,
        dtype: DType,
        input_shape: &[usize],
        outputs: usize,
        key: RandomKey,
    ) -> Result<Network<B>, NnError> {
        self.validate()?;
        check_outputs("cnn", outputs)?;
        let image = image_shape("cnn", input_shape)?;
        let parts = Parts { be, dtype };
        let lin = self.linear;
        let mut blocks = Vec::new();
        let mut c = image[0];
        for (i, b) in self.blocks.iter().enumerate() {
            let o = scaled(b.channels, self.width);
            let act = if lin {
                Activation::Identity
            } else {
                b.activation
            };
            let bn = b.batch_norm && !lin;
            let mut stride = b.stride;
            let mut pool = b.pool;
            if lin {
                if let Some(p) = pool.filter(|p| p.kind == PoolKind::Max) {
                    stride *= p.stride();
                    pool = None;
                }
            }
            let pad = b.padding.unwrap_or(b.kernel / 2);
            let conv_act = if bn { Activation::Identity } else { act };
            let mut layers = vec![(
                "conv".to_string(),
                parts.conv(o, c, b.kernel, stride, pad, !bn && !lin, conv_act)?,
            )];
            if bn {
                layers.push(("bn".into(), parts.bn(o, act)?));
            }
            if let Some(p) = pool {
                let l = match p.kind {
                    PoolKind::Max => parts.max_pool(p.kernel, p.stride(), p.padding)?,
                    PoolKind::Avg => parts.avg_pool(p.kernel, p.stride(), p.padding)?,
                };
                layers.push(("pool".into(), l));
            }
            if b.dropout > 0.0 && !lin {
                layers.push(("dropout".into(), parts.dropout(b.dropout)?));
            }
            blocks.push((i.to_string(), seq(layers)?));
            c = o;
        }
        let mut blocks = Sequential::named(blocks)?;
        blocks.set_path("blocks");
        let feat = blocks.output_shape(&image)?;
        let mut root = vec![("blocks".to_string(), Box::new(blocks) as Box<_>)];
        let mut width = match self.readout {
            Readout::Flatten => {
                root.push(("flatten".into(), parts.flatten()));
                feat.iter().product()
            }
            Readout::GlobalAvg => {
                root.push(("pool".into(), parts.global_avg_pool()));
                feat[0]
            }
        };
        if !self.hidden.is_empty() {
            let act = if lin {
                Activation::Identity
            } else {
                self.hidden_activation
            };
            let mut dense = Vec::new();
            for (j, &h) in self.hidden.iter().enumerate() {
                let mut layers = vec![("linear".to_string(), parts.linear(h, width, !lin, act)?)];
                if self.hidden_dropout > 0.0 && !lin {
                    layers.push(("dropout".into(), parts.dropout(self.hidden_dropout)?));
                }
                dense.push((j.to_string(), seq(layers)?));
                width = h;
            }
            root.push(("dense".into(), seq(dense)?));
        }
        root.push((
            "head".into(),
            parts.linear(outputs, width, !lin, Activation::Identity)?,
        ));
        let channels: Vec<String> = self
            .blocks
            .iter()
            .map(|b| scaled(b.channels, self.width).to_string())
            .collect();
        let hidden: Vec<String> = self.hidden.iter().map(|h| h.to_string()).collect();
        let name = format!(
            "{}cnn[{}; dense {}]",
            if lin { "linear " } else { "" },
            channels.join("-"),
            if hidden.is_empty() {
                "-".to_string()
            } else {
                hidden.join("-")
            }
        );
        let mut net = conv_parts::finish(
            be,
            dtype,
            name,
            input_shape,
            image,
            outputs,
            Sequential::named(root)?,
            self.init,
            key,
        )?;
        self.head_init.apply(&mut net)?;
        Ok(net)
    }
}
