//! Per-thread scratch buffers for kernels that need temporary matrices (im2col columns, gathered
//! gradients, partial weight gradients). Each thread keeps one growing buffer per [`Slot`] and
//! dtype, so steady-state training allocates nothing here after the first step. Contents are
//! unspecified on entry: every kernel overwrites what it reads.
//!
//! Slots are distinct `RefCell`s, so a kernel may hold two slots at once, and a rayon task
//! running on the thread that holds the [`Slot::Partial`] buffer of its caller can still borrow
//! its own [`Slot::Col`] and [`Slot::Tmp`]. A slot can still be found borrowed when a thread
//! waiting inside a threaded product steals a task of another caller sharing the pool; that
//! task then works in a temporary buffer instead (an allocation, never a wrong result).

use std::cell::RefCell;

/// Which scratch buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot {
    /// im2col columns (per task).
    Col = 0,
    /// Gathered or product-sized temporaries (per task).
    Tmp = 1,
    /// Partial sums owned by the calling thread across a parallel section.
    Partial = 2,
}

thread_local! {
    static F32: [RefCell<Vec<f32>>; 3] =
        const { [RefCell::new(Vec::new()), RefCell::new(Vec::new()), RefCell::new(Vec::new())] };
    static F64: [RefCell<Vec<f64>>; 3] =
        const { [RefCell::new(Vec::new()), RefCell::new(Vec::new()), RefCell::new(Vec::new())] };
}

/// Element types with per-thread scratch buffers.
pub(crate) trait Scratch: Sized {
    /// Runs `f` on this thread's buffer `slot`, grown to at least `len` elements.
    fn with_scratch<R>(slot: Slot, len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;
}

macro_rules! impl_scratch {
    ($t:ty, $tls:ident) => {
        impl Scratch for $t {
            fn with_scratch<R>(slot: Slot, len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
                $tls.with(|s| match s[slot as usize].try_borrow_mut() {
                    Ok(mut v) => {
                        if v.len() < len {
                            v.resize(len, 0.0);
                        }
                        f(&mut v[..len])
                    }
                    Err(_) => f(&mut vec![0.0; len]),
                })
            }
        }
    };
}

impl_scratch!(f32, F32);
impl_scratch!(f64, F64);
