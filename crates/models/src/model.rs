//! The `Model` trait: what the trainer and probes see of any network.

use std::collections::{BTreeMap, BTreeSet};

use learnscope_core::DType;
use learnscope_nn::param::ParamTree;
use learnscope_nn::{Backend, ForwardCtx, NnError, Tensor};

/// What a model takes and returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// The model family and size, e.g. `deep_linear[8-16-16-15]`.
    pub name: String,
    /// Per-example input shape (without the batch dimension).
    pub input_shape: Vec<usize>,
    /// Logits per example.
    pub outputs: usize,
    /// Element type of parameters and activations.
    pub dtype: DType,
}

/// Which activations (or gradients) a pass should return, by tap name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TapRequest {
    /// None (the training hot path).
    #[default]
    None,
    /// Every tap the model has.
    All,
    /// The named taps.
    Names(BTreeSet<String>),
}

impl TapRequest {
    /// A request for the given names.
    pub fn names<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Self {
        TapRequest::Names(names.into_iter().map(Into::into).collect())
    }

    /// Whether `name` is requested.
    pub fn wants(&self, name: &str) -> bool {
        match self {
            TapRequest::None => false,
            TapRequest::All => true,
            TapRequest::Names(n) => n.contains(name),
        }
    }

    /// Whether nothing is requested.
    pub fn is_none(&self) -> bool {
        match self {
            TapRequest::None => true,
            TapRequest::Names(n) => n.is_empty(),
            TapRequest::All => false,
        }
    }
}

/// Tapped tensors by name (copies, owned by the caller).
pub type Taps<B> = BTreeMap<String, Tensor<B>>;

/// The result of a forward pass: the logits (borrowed from the model's workspace) and the taps.
pub struct Forward<'a, B: Backend> {
    /// `[batch, outputs]`.
    pub logits: &'a Tensor<B>,
    /// Requested activations.
    pub taps: Taps<B>,
}

/// A trainable network. Parameter order (`visit_params`) is fixed for the model's lifetime and
/// matches the order of gradients, optimizer state and checkpoints.
///
/// Tap names: every layer's `<path>.pre` / `<path>.out`, plus the aliases `input`, `logits` and
/// `penultimate` (the input of the last layer, the feature map of P5).
pub trait Model<B: Backend>: ParamTree<B> + Send {
    /// What the model takes and returns.
    fn spec(&self) -> &ModelSpec;
    /// The backend it runs on.
    fn backend(&self) -> &B;
    /// Forward pass on `x` (`[batch, input_shape…]`). Errors name the wrong shape or dtype.
    fn forward(
        &mut self,
        x: &Tensor<B>,
        ctx: &ForwardCtx,
        taps: &TapRequest,
    ) -> Result<Forward<'_, B>, NnError>;
    /// Backward pass from dL/dlogits of the last forward pass: fills every parameter's `grad`
    /// and returns the requested gradient taps (`input` asks for dL/dx).
    fn backward(&mut self, dlogits: &Tensor<B>, grad_taps: &TapRequest)
        -> Result<Taps<B>, NnError>;
    /// Every tap name a forward pass can return.
    fn tap_names(&self) -> Vec<String>;
    /// A deep copy (for scratch evaluations such as `grad_at`).
    fn clone_model(&self) -> Box<dyn Model<B>>;
    /// The number of independent networks trained as this model: 1, or N for an
    /// [`crate::Ensemble`].
    fn members(&self) -> usize {
        1
    }
    /// Member `i` of an ensemble (`None` for a single network).
    fn member(&self, _i: usize) -> Option<&dyn Model<B>> {
        None
    }
    /// Member `i` of an ensemble, mutably (`None` for a single network).
    fn member_mut(&mut self, _i: usize) -> Option<&mut dyn Model<B>> {
        None
    }
}
