//! `Ensemble`: N independent networks trained as one [`Model`] (P2's ensembles of seeded nets,
//! SCIENCE.md §P2.5: accessibility and learning-order constancy need N networks per arm).
//!
//! Every member sees the same input batch and writes its logits to its own column block of one
//! `[batch, N·C]` tensor, so the trainer's one loop, one batch gather and one optimizer serve
//! all of them. The loss is `learnscope_nn::loss::GroupedLoss`, L = Σᵢ Lᵢ: the members share no
//! parameter, so ∂L/∂θᵢ = ∂Lᵢ/∂θᵢ and member i follows exactly the trajectory of the network
//! trained alone from the same initialisation on the same batches (bit for bit: the same kernels
//! run on the same values; `crates/probes/tests/it/ensemble.rs` checks it).
//!
//! Parameters are visited member by member, each member's in its own order and under its own
//! names (names therefore repeat across members; the position in visiting order tells them
//! apart). Taps: member i's are `member{i}/<tap>`; a request for an unprefixed name asks every
//! member for it. The ensemble's own `input` is the shared batch (its gradient tap Σᵢ ∂Lᵢ/∂x)
//! and its `logits` the whole `[batch, N·C]` block matrix. In `Mode::Train` each member draws
//! its dropout masks from its own root key (its seed's), as it would alone; other modes pass the
//! caller's context through.

use learnscope_core::RandomKey;
use learnscope_nn::param::{Buffer, Param, ParamTree};
use learnscope_nn::{Backend, ForwardCtx, Mode, NnError, Tensor};

use crate::model::{Forward, Model, ModelSpec, TapRequest, Taps};

/// N networks with the same inputs and outputs, trained side by side.
pub struct Ensemble<B: Backend> {
    be: B,
    spec: ModelSpec,
    members: Vec<Box<dyn Model<B>>>,
    keys: Vec<RandomKey>,
    logits: Tensor<B>,
    block: Tensor<B>,
}

impl<B: Backend> Ensemble<B> {
    /// An ensemble of `members` (at least one; all with the spec of the first) whose member i
    /// draws its training-mode randomness from `keys[i]` (the root key of its seed).
    pub fn new(members: Vec<Box<dyn Model<B>>>, keys: Vec<RandomKey>) -> Result<Self, NnError> {
        let Some(first) = members.first() else {
            return Err(NnError::setting("ensemble", "0 members", "at least 1"));
        };
        if keys.len() != members.len() {
            return Err(NnError::setting(
                "ensemble",
                format!("{} keys for {} members", keys.len(), members.len()),
                "one key per member",
            ));
        }
        let base = first.spec().clone();
        for (i, m) in members.iter().enumerate() {
            if m.spec() != &base {
                return Err(NnError::setting(
                    format!("ensemble member {i}"),
                    format!("{:?}", m.spec()),
                    format!("the spec of member 0, {base:?}"),
                ));
            }
        }
        let be = first.backend().clone();
        let n = members.len();
        let spec = ModelSpec {
            name: format!("ensemble[{n}×{}]", base.name),
            input_shape: base.input_shape.clone(),
            outputs: n * base.outputs,
            dtype: base.dtype,
        };
        Ok(Ensemble {
            logits: Tensor::empty(&be, base.dtype),
            block: Tensor::empty(&be, base.dtype),
            be,
            spec,
            members,
            keys,
        })
    }

    /// Outputs per member.
    pub fn member_outputs(&self) -> usize {
        self.spec.outputs / self.members.len()
    }
}

impl<B: Backend> Clone for Ensemble<B> {
    fn clone(&self) -> Self {
        Ensemble {
            be: self.be.clone(),
            spec: self.spec.clone(),
            members: self.members.iter().map(|m| m.clone_model()).collect(),
            keys: self.keys.clone(),
            logits: self.logits.clone(),
            block: self.block.clone(),
        }
    }
}

impl<B: Backend> ParamTree<B> for Ensemble<B> {
    fn visit_params(&self, f: &mut dyn FnMut(&Param<B>)) {
        self.members.iter().for_each(|m| m.visit_params(f))
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<B>)) {
        self.members.iter_mut().for_each(|m| m.visit_params_mut(f))
    }
    fn visit_buffers(&self, f: &mut dyn FnMut(&Buffer<B>)) {
        self.members.iter().for_each(|m| m.visit_buffers(f))
    }
    fn visit_buffers_mut(&mut self, f: &mut dyn FnMut(&mut Buffer<B>)) {
        self.members.iter_mut().for_each(|m| m.visit_buffers_mut(f))
    }
}

/// `member{i}/<name>`.
fn member_tap(i: usize, name: &str) -> String {
    format!("member{i}/{name}")
}

/// What member `i` is asked for: the unprefixed names (every member's) and its own
/// `member{i}/…` names without the prefix.
fn member_request(req: &TapRequest, i: usize) -> TapRequest {
    match req {
        TapRequest::None => TapRequest::None,
        TapRequest::All => TapRequest::All,
        TapRequest::Names(names) => {
            let own = format!("member{i}/");
            TapRequest::names(names.iter().filter_map(|n| {
                if let Some(rest) = n.strip_prefix(&own) {
                    Some(rest.to_string())
                } else if n.starts_with("member") && n.contains('/') {
                    None
                } else {
                    Some(n.clone())
                }
            }))
        }
    }
}

impl<B: Backend> Model<B> for Ensemble<B> {
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
        let c = self.member_outputs();
        let mut taps = Taps::new();
        for (i, m) in self.members.iter_mut().enumerate() {
            let mctx = match ctx.mode {
                Mode::Train => ForwardCtx::new(ctx.mode, ctx.step, self.keys[i]),
                _ => *ctx,
            };
            let fwd = m.forward(x, &mctx, &member_request(req, i))?;
            if i == 0 {
                let rows = fwd.logits.shape()[0];
                self.logits
                    .ensure(&self.be, self.spec.dtype, &[rows, self.spec.outputs]);
            }
            self.be
                .copy_columns(fwd.logits, 0, &mut self.logits, i * c, c);
            taps.extend(fwd.taps.into_iter().map(|(k, v)| (member_tap(i, &k), v)));
        }
        if req.wants("input") {
            taps.insert("input".into(), x.clone());
        }
        if req.wants("logits") {
            taps.insert("logits".into(), self.logits.clone());
        }
        Ok(Forward {
            logits: &self.logits,
            taps,
        })
    }

    fn backward(&mut self, dlogits: &Tensor<B>, req: &TapRequest) -> Result<Taps<B>, NnError> {
        if dlogits.shape() != self.logits.shape() {
            return Err(NnError::ShapeMismatch {
                what: "dL/dlogits of the ensemble".into(),
                expected: self.logits.shape().to_vec(),
                found: dlogits.shape().to_vec(),
            });
        }
        let c = self.member_outputs();
        let rows = dlogits.shape()[0];
        self.block.ensure(&self.be, self.spec.dtype, &[rows, c]);
        let mut taps = Taps::new();
        let mut input_grad: Option<Tensor<B>> = None;
        for (i, m) in self.members.iter_mut().enumerate() {
            self.be.copy_columns(dlogits, i * c, &mut self.block, 0, c);
            let mut mreq = member_request(req, i);
            if req.wants("input") && !mreq.wants("input") {
                mreq = match mreq {
                    TapRequest::Names(mut n) => {
                        n.insert("input".into());
                        TapRequest::Names(n)
                    }
                    _ => TapRequest::names(["input"]),
                };
            }
            let t = m.backward(&self.block, &mreq)?;
            if req.wants("input") {
                let dx = t.get("input").expect("requested from the member");
                match &mut input_grad {
                    None => input_grad = Some(dx.clone()),
                    Some(sum) => self.be.axpy(1.0, dx, sum),
                }
            }
            taps.extend(t.into_iter().map(|(k, v)| (member_tap(i, &k), v)));
        }
        if let Some(dx) = input_grad {
            taps.insert("input".into(), dx);
        }
        if req.wants("logits") {
            taps.insert("logits".into(), dlogits.clone());
        }
        Ok(taps)
    }

    fn tap_names(&self) -> Vec<String> {
        let mut names = vec!["input".to_string()];
        for (i, m) in self.members.iter().enumerate() {
            names.extend(m.tap_names().iter().map(|n| member_tap(i, n)));
        }
        names.push("logits".into());
        names
    }

    fn clone_model(&self) -> Box<dyn Model<B>> {
        Box::new(self.clone())
    }

    fn members(&self) -> usize {
        self.members.len()
    }

    fn member(&self, i: usize) -> Option<&dyn Model<B>> {
        self.members.get(i).map(|m| m.as_ref())
    }

    fn member_mut(&mut self, i: usize) -> Option<&mut dyn Model<B>> {
        match self.members.get_mut(i) {
            Some(m) => Some(m.as_mut()),
            None => None,
        }
    }
}
