//! A chain of layers, f = f_n ∘ ⋯ ∘ f₁. Child i has path `<path>.<i>`, or `<path>.<name>` for a
//! chain built with [`Sequential::named`] (e.g. `blocks.0.conv`); the chain's own output is also
//! the tap `<path>.out` (so a nested chain has an `out` like any layer). Backward runs the
//! chain in reverse, feeding each child the input it saw in the forward pass (the previous
//! child's output) and the next child's input gradient.

use super::{join_path, ForwardCtx, Layer};
use crate::param::{Buffer, Param, ParamTree};
use crate::{Backend, NnError, Tensor};

/// Layers applied in order.
#[derive(Clone, Debug)]
pub struct Sequential<B: Backend> {
    path: String,
    tap_out: String,
    names: Vec<String>,
    children: Vec<Box<dyn Layer<B>>>,
}

impl<B: Backend> Sequential<B> {
    /// A chain of at least one layer.
    pub fn new(children: Vec<Box<dyn Layer<B>>>) -> Result<Self, NnError> {
        if children.is_empty() {
            return Err(NnError::setting("sequential", "[]", "at least one layer"));
        }
        let names = (0..children.len()).map(|i| i.to_string()).collect();
        let mut s = Sequential {
            path: String::new(),
            tap_out: String::new(),
            names,
            children,
        };
        s.set_path("");
        Ok(s)
    }

    /// A chain of at least one layer whose children are named (path `<path>.<name>`). Names must
    /// be unique, non-empty, contain no `.`, and not be `out` (the chain's own tap).
    pub fn named<S: Into<String>>(children: Vec<(S, Box<dyn Layer<B>>)>) -> Result<Self, NnError> {
        let (names, children): (Vec<String>, Vec<_>) =
            children.into_iter().map(|(n, c)| (n.into(), c)).unzip();
        for (i, n) in names.iter().enumerate() {
            if n.is_empty() || n.contains('.') || n == "out" || names[..i].contains(n) {
                return Err(NnError::setting(
                    "sequential child name",
                    format!("{n:?}"),
                    "unique, non-empty, without '.', not \"out\"",
                ));
            }
        }
        let mut s = Self::new(children)?;
        s.names = names;
        s.set_path("");
        Ok(s)
    }

    /// The child names (indices for an unnamed chain), in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The children, in order.
    pub fn children(&self) -> &[Box<dyn Layer<B>>] {
        &self.children
    }
}

impl<B: Backend> ParamTree<B> for Sequential<B> {
    fn visit_params(&self, f: &mut dyn FnMut(&Param<B>)) {
        self.children.iter().for_each(|c| c.visit_params(f));
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<B>)) {
        self.children.iter_mut().for_each(|c| c.visit_params_mut(f));
    }
    fn visit_buffers(&self, f: &mut dyn FnMut(&Buffer<B>)) {
        self.children.iter().for_each(|c| c.visit_buffers(f));
    }
    fn visit_buffers_mut(&mut self, f: &mut dyn FnMut(&mut Buffer<B>)) {
        self.children
            .iter_mut()
            .for_each(|c| c.visit_buffers_mut(f));
    }
}

impl<B: Backend> Layer<B> for Sequential<B> {
    fn kind(&self) -> &'static str {
        "sequential"
    }

    fn set_path(&mut self, path: &str) {
        self.path = path.to_string();
        self.tap_out = join_path(path, "out");
        for (name, c) in self.names.iter().zip(self.children.iter_mut()) {
            c.set_path(&join_path(path, name));
        }
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, NnError> {
        let mut shape = input.to_vec();
        for c in &self.children {
            shape = c.output_shape(&shape)?;
        }
        Ok(shape)
    }

    fn forward(&mut self, be: &B, x: &Tensor<B>, ctx: &ForwardCtx) {
        let mut cur = x;
        for child in self.children.iter_mut() {
            child.forward(be, cur, ctx);
            // Downgrading the `&mut` (not reborrowing it) keeps the output borrowed for the
            // whole loop, so it can feed the next child.
            #[allow(clippy::borrowed_box)]
            let child: &Box<dyn Layer<B>> = child;
            cur = child.output();
        }
    }

    fn output(&self) -> &Tensor<B> {
        self.children.last().expect("non-empty").output()
    }

    fn backward(&mut self, be: &B, x: &Tensor<B>, dy: &Tensor<B>, need_input_grad: bool) {
        let n = self.children.len();
        for i in (0..n).rev() {
            let (before, rest) = self.children.split_at_mut(i);
            let (child, after) = rest.split_first_mut().expect("i < n");
            let input = if i == 0 { x } else { before[i - 1].output() };
            let grad = if i + 1 == n {
                dy
            } else {
                after[0].input_grad()
            };
            child.backward(be, input, grad, need_input_grad || i > 0);
        }
    }

    fn input_grad(&self) -> &Tensor<B> {
        self.children[0].input_grad()
    }

    fn visit_taps(&self, f: &mut dyn FnMut(&str, &Tensor<B>)) {
        self.children.iter().for_each(|c| c.visit_taps(f));
        f(&self.tap_out, self.output());
    }

    fn visit_grad_taps(&self, dy: &Tensor<B>, f: &mut dyn FnMut(&str, &Tensor<B>)) {
        let n = self.children.len();
        for (i, c) in self.children.iter().enumerate() {
            let g = if i + 1 == n {
                dy
            } else {
                self.children[i + 1].input_grad()
            };
            c.visit_grad_taps(g, f);
        }
        f(&self.tap_out, dy);
    }

    fn clone_box(&self) -> Box<dyn Layer<B>> {
        Box::new(self.clone())
    }
}
