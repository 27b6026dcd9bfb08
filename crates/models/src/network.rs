//! `Network`: the [`Model`] implementation over a layer tree. It keeps a copy of the batch it
//! was given (the first layer's input for the backward pass) and resolves the tap aliases.

use learnscope_nn::layer::{Layer, Sequential};
use learnscope_nn::param::{Buffer, Param, ParamTree};
use learnscope_nn::{Backend, ForwardCtx, NnError, Tensor};

use crate::model::{Forward, Model, ModelSpec, TapRequest, Taps};

/// A layer tree with a spec.
#[derive(Clone, Debug)]
pub struct Network<B: Backend> {
    be: B,
    spec: ModelSpec,
    root: Sequential<B>,
    input: Tensor<B>,
    /// `penultimate` resolves to this tap (or to `input` when there is one layer).
    penultimate: Option<String>,
    forwarded: bool,
    /// The per-example shape the layer chain takes (the input is reshaped to it on copy).
    chain_input: Vec<usize>,
}

impl<B: Backend> Network<B> {
    /// Wraps a chain of layers; checks that the chain maps `spec.input_shape` to
    /// `[spec.outputs]`, and names everything under `path` (e.g. `layers`).
    pub fn new(
        be: &B,
        spec: ModelSpec,
        path: &str,
        layers: Vec<Box<dyn Layer<B>>>,
    ) -> Result<Self, NnError> {
        Self::from_root(be, spec, path, Sequential::new(layers)?)
    }

    /// Wraps a chain built by the caller (e.g. [`Sequential::named`], whose children are
    /// `blocks`, `flatten`, `head`, …), named under `path` (`""` gives top-level names such as
    /// `blocks.0.conv.weight`); same checks as [`Network::new`].
    pub fn from_root(
        be: &B,
        spec: ModelSpec,
        path: &str,
        mut root: Sequential<B>,
    ) -> Result<Self, NnError> {
        root.set_path(path);
        let out = root.output_shape(&spec.input_shape)?;
        if out != [spec.outputs] {
            return Err(NnError::ShapeMismatch {
                what: format!("output of model `{}`", spec.name),
                expected: vec![spec.outputs],
                found: out,
            });
        }
        let n = root.children().len();
        let penultimate = (n >= 2).then(|| format!("{}.out", root.children()[n - 2].path()));
        Ok(Network {
            be: be.clone(),
            input: Tensor::empty(be, spec.dtype),
            chain_input: spec.input_shape.clone(),
            spec,
            root,
            penultimate,
            forwarded: false,
        })
    }

    /// Accepts examples of `shape` (e.g. `[28, 28]` images) for a chain that takes their
    /// flattening (row-major, as `torch.flatten(x, 1)`); fails if the element counts differ.
    pub fn with_input_shape(mut self, shape: &[usize]) -> Result<Self, NnError> {
        let n: usize = shape.iter().product();
        if n != self.chain_input.iter().product::<usize>() {
            return Err(NnError::ShapeMismatch {
                what: format!("input of model `{}` (flattened)", self.spec.name),
                expected: self.chain_input.clone(),
                found: shape.to_vec(),
            });
        }
        self.spec.input_shape = shape.to_vec();
        Ok(self)
    }

    /// The layer tree.
    pub fn root(&self) -> &Sequential<B> {
        &self.root
    }

    fn check_input(&self, x: &Tensor<B>) -> Result<(), NnError> {
        if x.dtype() != self.spec.dtype {
            return Err(NnError::DTypeMismatch {
                what: format!("input of model `{}`", self.spec.name),
                expected: self.spec.dtype,
                found: x.dtype(),
            });
        }
        if x.shape().len() != self.spec.input_shape.len() + 1
            || x.shape()[1..] != self.spec.input_shape[..]
        {
            let mut expected = vec![usize::MAX];
            expected.extend_from_slice(&self.spec.input_shape);
            return Err(NnError::ShapeMismatch {
                what: format!(
                    "input batch of model `{}` (usize::MAX = any batch size)",
                    self.spec.name
                ),
                expected,
                found: x.shape().to_vec(),
            });
        }
        Ok(())
    }
}

impl<B: Backend> ParamTree<B> for Network<B> {
    fn visit_params(&self, f: &mut dyn FnMut(&Param<B>)) {
        self.root.visit_params(f)
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<B>)) {
        self.root.visit_params_mut(f)
    }
    fn visit_buffers(&self, f: &mut dyn FnMut(&Buffer<B>)) {
        self.root.visit_buffers(f)
    }
    fn visit_buffers_mut(&mut self, f: &mut dyn FnMut(&mut Buffer<B>)) {
        self.root.visit_buffers_mut(f)
    }
}

impl<B: Backend> Model<B> for Network<B> {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn backend(&self) -> &B {
        &self.be
    }

    fn forward(
        &mut self,
        x: &Tensor<B>,
        ctx: &ForwardCtx,
        req: &TapRequest,
    ) -> Result<Forward<'_, B>, NnError> {
        self.check_input(x)?;
        let mut shape = vec![x.shape()[0]];
        shape.extend_from_slice(&self.chain_input);
        self.input.ensure(&self.be, x.dtype(), &shape);
        self.be.copy(x, &mut self.input);
        self.root.forward(&self.be, &self.input, ctx);
        self.forwarded = true;
        let mut taps = Taps::new();
        if !req.is_none() {
            if req.wants("input") {
                taps.insert("input".into(), self.input.clone());
            }
            let pen = self.penultimate.as_deref().unwrap_or("input");
            if req.wants("penultimate") && pen == "input" {
                taps.insert("penultimate".into(), self.input.clone());
            }
            self.root.visit_taps(&mut |name, t| {
                if req.wants(name) {
                    taps.insert(name.to_string(), t.clone());
                }
                if name == pen && req.wants("penultimate") {
                    taps.insert("penultimate".into(), t.clone());
                }
            });
            if req.wants("logits") {
                taps.insert("logits".into(), self.root.output().clone());
            }
        }
        Ok(Forward {
            logits: self.root.output(),
            taps,
        })
    }

    fn backward(&mut self, dlogits: &Tensor<B>, req: &TapRequest) -> Result<Taps<B>, NnError> {
        if !self.forwarded {
            return Err(NnError::setting(
                "backward",
                "called",
                "after a forward pass",
            ));
        }
        let logits_shape = self.root.output().shape();
        if dlogits.shape() != logits_shape {
            return Err(NnError::ShapeMismatch {
                what: "dL/dlogits".into(),
                expected: logits_shape.to_vec(),
                found: dlogits.shape().to_vec(),
            });
        }
        let pen = self.penultimate.as_deref().unwrap_or("input");
        let pen_is_input = pen == "input" && req.wants("penultimate");
        let want_input = req.wants("input") || pen_is_input;
        self.root
            .backward(&self.be, &self.input, dlogits, want_input);
        let mut taps = Taps::new();
        if !req.is_none() {
            if req.wants("input") {
                taps.insert("input".into(), self.root.input_grad().clone());
            }
            if pen_is_input {
                taps.insert("penultimate".into(), self.root.input_grad().clone());
            }
            self.root.visit_grad_taps(dlogits, &mut |name, t| {
                if req.wants(name) {
                    taps.insert(name.to_string(), t.clone());
                }
                if name == pen && req.wants("penultimate") {
                    taps.insert("penultimate".into(), t.clone());
                }
            });
            if req.wants("logits") {
                taps.insert("logits".into(), dlogits.clone());
            }
        }
        Ok(taps)
    }

    fn tap_names(&self) -> Vec<String> {
        let mut names = vec!["input".to_string()];
        self.root.visit_taps(&mut |n, _| names.push(n.to_string()));
        names.push("penultimate".into());
        names.push("logits".into());
        names
    }

    fn clone_model(&self) -> Box<dyn Model<B>> {
        Box::new(self.clone())
    }
}
