//! The training hot path allocates nothing of its own in steady state: forward, loss, backward
//! and the optimizer update reuse their workspaces. The one exception is inside the `gemm`
//! crate, which allocates its packing buffers on each call (a couple of allocations per product,
//! negligible next to the product itself); the test counts the allocations of the same products
//! run alone and requires the step to make exactly those. Counted with a thread-local counting
//! allocator on a one-thread backend (so every allocation of the step happens on this thread).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use learnscope_nn::layer::{Linear, Sequential};
use learnscope_nn::loss::{Loss, LossKind, Targets};
use learnscope_nn::optim::{Optimizer, OptimizerConfig};
use learnscope_nn::{
    Activation, Backend, CpuBackend, DType, ForwardCtx, Layer, Mode, RandomKey, Tensor, Transpose,
};

pub struct Counting;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        COUNT.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        COUNT.with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn allocations() -> u64 {
    COUNT.with(|c| c.get())
}

#[test]
fn steady_state_training_steps_do_not_allocate() {
    for (dtype, opt_cfg) in [
        (
            DType::F32,
            OptimizerConfig::Sgd {
                momentum: 0.9,
                dampening: 0.0,
                weight_decay: 1e-4,
                nesterov: false,
            },
        ),
        (DType::F64, OptimizerConfig::adam()),
    ] {
        let be = CpuBackend::new(1);
        let key = RandomKey::root(0);
        let dims = [64, 128, 128, 10];
        let mut layers: Vec<Box<dyn Layer<CpuBackend>>> = Vec::new();
        for i in 0..3 {
            let n = dims[i] * dims[i + 1];
            let w = Tensor::from_f64(
                &be,
                dtype,
                &[dims[i + 1], dims[i]],
                &key.derive(&i.to_string()).normals(n),
            );
            let b = Tensor::zeros(&be, dtype, &[dims[i + 1]]);
            let act = if i == 2 {
                Activation::Identity
            } else {
                Activation::Gelu
            };
            layers.push(Box::new(Linear::new(&be, w, Some(b), act).unwrap()));
        }
        let mut net = Sequential::new(layers).unwrap();
        let x = Tensor::from_f64(&be, dtype, &[32, 64], &key.derive("x").normals(32 * 64));
        let labels: Vec<u32> = (0..32).map(|i| i % 10).collect();
        let loss = Loss::mean(LossKind::CrossEntropy);
        let mut opt = Optimizer::new(opt_cfg).unwrap();
        let mut grad = Tensor::zeros(&be, dtype, &[32, 10]);
        let mut step = |s: u64| {
            net.forward(&be, &x, &ForwardCtx::new(Mode::Train, s, key));
            loss.forward_backward(&be, net.output(), &Targets::Classes(&labels), &mut grad)
                .unwrap();
            net.backward(&be, &x, &grad, false);
            opt.step(&be, &mut net, 0.01);
        };
        for s in 0..3 {
            step(s);
        }
        let before = allocations();
        for s in 3..13 {
            step(s);
        }
        let during = allocations() - before;

        // The step's products, alone: z = x Wᵀ per layer, dW = dzᵀ x per layer, dx = dz W for
        // layers 1 and 2 (the input gradient of layer 0 is not requested).
        let (b, mut products) = (32usize, Vec::new());
        for i in 0..3 {
            let (inp, out) = (dims[i], dims[i + 1]);
            products.push((
                [b, inp],
                Transpose::No,
                [out, inp],
                Transpose::Yes,
                [b, out],
            ));
            products.push((
                [b, out],
                Transpose::Yes,
                [b, inp],
                Transpose::No,
                [out, inp],
            ));
            if i > 0 {
                products.push(([b, out], Transpose::No, [out, inp], Transpose::No, [b, inp]));
            }
        }
        let operands: Vec<_> = products
            .iter()
            .map(|(a, ta, w, tw, c)| {
                let t = |s: &[usize; 2]| Tensor::zeros(&be, dtype, s);
                (t(a), *ta, t(w), *tw, t(c))
            })
            .collect();
        let mut operands = operands;
        let before = allocations();
        for _ in 0..10 {
            for (a, ta, w, tw, c) in operands.iter_mut() {
                be.gemm(c, a, *ta, w, *tw, 1.0, 0.0);
            }
        }
        let in_gemm = allocations() - before;
        println!("{dtype}: {during} allocations in 10 steps, {in_gemm} in their products alone");
        assert_eq!(during, in_gemm, "{dtype}: the step allocates outside gemm");
    }
}
