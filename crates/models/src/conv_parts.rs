//! Shared pieces of the convolutional models ([`crate::CnnConfig`], [`crate::VggConfig`],
//! [`crate::ResNetConfig`]): image input shapes, width multipliers, layer constructors, and
//! initialisation by parameter name.
//!
//! Layout: images are NCHW. A data set whose examples are `[H, W]` (e.g. Fashion-MNIST) is read
//! as one channel, `[1, H, W]`; `[C, H, W]` is used as is.
//!
//! Initialisation happens after the layer tree is named, so each parameter draws from its own
//! stream `init/<param name>` under the run's root key:
//! - convolution weights `[O, C, k_h, k_w]`, fan_in = C·k_h·k_w:
//!   [`ConvInit::PytorchDefault`]: U(−1/√fan_in, 1/√fan_in) (PyTorch's `nn.Conv2d` default,
//!   `kaiming_uniform_(a = √5)`), biases likewise; [`ConvInit::KaimingNormal`]:
//!   N(0, 2/fan_in) (He et al. 2015, fan-in mode, ReLU gain), biases 0;
//! - dense weights `[out, in]` and their biases: U(−1/√in, 1/√in) (PyTorch's `nn.Linear`);
//! - batch-norm γ = 1, β = 0, running mean 0, running variance 1 (PyTorch).

use learnscope_core::{DType, RandomKey};
use learnscope_nn::layer::{
    AvgPool2d, BatchNorm, Conv2d, Dropout, Flatten, GlobalAvgPool, Layer, Linear, MaxPool2d,
    Sequential,
};
use learnscope_nn::param::ParamTree;
use learnscope_nn::{Activation, Backend, NnError, Tensor};

use crate::init;
use crate::model::ModelSpec;
use crate::network::Network;

/// How convolution weights start (dense layers always use PyTorch's default).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ConvInit {
    /// PyTorch's default: weights and biases U(−1/√fan_in, 1/√fan_in).
    #[default]
    PytorchDefault,
    /// He et al. (2015): weights N(0, 2/fan_in), biases 0.
    KaimingNormal,
}

/// `[C, H, W]` for a per-example input shape `[H, W]` (one channel) or `[C, H, W]`.
pub(crate) fn image_shape(model: &str, input: &[usize]) -> Result<[usize; 3], NnError> {
    let shape = match *input {
        [h, w] => [1, h, w],
        [c, h, w] => [c, h, w],
        _ => [0, 0, 0],
    };
    if shape.contains(&0) {
        return Err(NnError::ShapeMismatch {
            what: format!("input of {model} (an image [H, W] or [C, H, W], sizes > 0)"),
            expected: vec![usize::MAX; 3],
            found: input.to_vec(),
        });
    }
    Ok(shape)
}

/// Checks a width multiplier.
pub(crate) fn check_width(model: &str, width: f64) -> Result<(), NnError> {
    if !(width > 0.0 && width.is_finite()) {
        return Err(NnError::setting(
            format!("{model}.width"),
            width,
            "finite and > 0",
        ));
    }
    Ok(())
}

/// ⌊width·channels⌋, at least 1 (the `int(netSi·x)` of the P4 reference code).
pub(crate) fn scaled(channels: usize, width: f64) -> usize {
    ((channels as f64 * width).floor() as usize).max(1)
}

/// Builds placeholder layers (zero weights; [`init_params`] fills them once the tree is named).
pub(crate) struct Parts<'a, B: Backend> {
    pub be: &'a B,
    pub dtype: DType,
}

type Boxed<B> = Box<dyn Layer<B>>;

impl<B: Backend> Parts<'_, B> {
    /// A k×k convolution `c → o` with square stride and padding.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &self,
        o: usize,
        c: usize,
        k: usize,
        stride: usize,
        padding: usize,
        bias: bool,
        act: Activation,
    ) -> Result<Boxed<B>, NnError> {
        let w = Tensor::zeros(self.be, self.dtype, &[o, c, k, k]);
        let b = bias.then(|| Tensor::zeros(self.be, self.dtype, &[o]));
        Ok(Box::new(Conv2d::new(self.be, w, b, stride, padding, act)?))
    }

    /// Batch norm over `c` channels with a fused activation.
    pub fn bn(&self, c: usize, act: Activation) -> Result<Boxed<B>, NnError> {
        Ok(Box::new(BatchNorm::new(self.be, self.dtype, c, act)?))
    }

    /// A dense layer `i → o`.
    pub fn linear(
        &self,
        o: usize,
        i: usize,
        bias: bool,
        act: Activation,
    ) -> Result<Boxed<B>, NnError> {
        let w = Tensor::zeros(self.be, self.dtype, &[o, i]);
        let b = bias.then(|| Tensor::zeros(self.be, self.dtype, &[o]));
        Ok(Box::new(Linear::new(self.be, w, b, act)?))
    }

    /// Max pooling.
    pub fn max_pool(&self, k: usize, stride: usize, padding: usize) -> Result<Boxed<B>, NnError> {
        Ok(Box::new(MaxPool2d::new(
            self.be, self.dtype, k, stride, padding,
        )?))
    }

    /// Average pooling.
    pub fn avg_pool(&self, k: usize, stride: usize, padding: usize) -> Result<Boxed<B>, NnError> {
        Ok(Box::new(AvgPool2d::new(
            self.be, self.dtype, k, stride, padding,
        )?))
    }

    /// Dropout.
    pub fn dropout(&self, p: f64) -> Result<Boxed<B>, NnError> {
        Ok(Box::new(Dropout::new(self.be, self.dtype, p)?))
    }

    /// Flatten.
    pub fn flatten(&self) -> Boxed<B> {
        Box::new(Flatten::new(self.be, self.dtype))
    }

    /// Global average pooling.
    pub fn global_avg_pool(&self) -> Boxed<B> {
        Box::new(GlobalAvgPool::new(self.be, self.dtype))
    }
}

/// A named chain as a boxed layer.
pub(crate) fn seq<B: Backend>(children: Vec<(String, Boxed<B>)>) -> Result<Boxed<B>, NnError> {
    Ok(Box::new(Sequential::named(children)?))
}

/// What the previous parameter was, to initialise a bias like its layer's weight.
#[derive(Clone, Copy)]
enum Previous {
    Conv(usize),
    Dense(usize),
    Norm,
}

/// Fills every parameter from `init/<name>` under `key` by its shape (see the module
/// documentation): 4-D → convolution weight, 2-D → dense weight, 1-D `weight` → batch-norm γ,
/// 1-D `bias` → the bias of the layer whose weight came just before.
pub(crate) fn init_params<B: Backend>(
    be: &B,
    dtype: DType,
    tree: &mut dyn ParamTree<B>,
    init: ConvInit,
    key: RandomKey,
) {
    let mut prev = Previous::Norm;
    tree.visit_params_mut(&mut |p| {
        let shape = p.value.shape().to_vec();
        let n = p.value.len();
        let k = key.derive(&format!("init/{}", p.name));
        let is_bias = p.name.ends_with("bias");
        let values = match (shape.len(), is_bias) {
            (4, _) => {
                let fan_in = shape[1] * shape[2] * shape[3];
                prev = Previous::Conv(fan_in);
                match init {
                    ConvInit::PytorchDefault => init::uniform(k, n, 1.0 / (fan_in as f64).sqrt()),
                    ConvInit::KaimingNormal => init::gaussian(k, n, (2.0 / fan_in as f64).sqrt()),
                }
            }
            (2, _) => {
                prev = Previous::Dense(shape[1]);
                init::uniform(k, n, 1.0 / (shape[1] as f64).sqrt())
            }
            (_, false) => {
                prev = Previous::Norm;
                vec![1.0; n]
            }
            (_, true) => match (prev, init) {
                (Previous::Conv(f), ConvInit::PytorchDefault) | (Previous::Dense(f), _) => {
                    init::uniform(k, n, 1.0 / (f as f64).sqrt())
                }
                (Previous::Conv(_), ConvInit::KaimingNormal) | (Previous::Norm, _) => vec![0.0; n],
            },
        };
        p.value = Tensor::from_f64(be, dtype, &shape, &values);
    });
}

/// Wraps `root` (a named chain for `[C, H, W]` inputs) into a network for `input_shape`
/// (`[H, W]` inputs are reshaped to one channel), initialised from `key`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish<B: Backend>(
    be: &B,
    dtype: DType,
    name: String,
    input_shape: &[usize],
    image: [usize; 3],
    outputs: usize,
    root: Sequential<B>,
    init: ConvInit,
    key: RandomKey,
) -> Result<Network<B>, NnError> {
    let spec = ModelSpec {
        name,
        input_shape: image.to_vec(),
        outputs,
        dtype,
    };
    let mut net = Network::from_root(be, spec, "", root)?;
    init_params(be, dtype, &mut net, init, key);
    if input_shape != image {
        net = net.with_input_shape(input_shape)?;
    }
    Ok(net)
}

/// Checks the number of outputs.
pub(crate) fn check_outputs(model: &str, outputs: usize) -> Result<(), NnError> {
    if outputs == 0 {
        return Err(NnError::setting(format!("{model} outputs"), 0, "> 0"));
    }
    Ok(())
}
