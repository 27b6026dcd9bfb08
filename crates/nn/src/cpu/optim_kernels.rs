//! Optimizer update loops on the CPU; the rules are documented in [`crate::optim`].

use crate::optim::{AdamHyper, SgdHyper};
use crate::Element;

pub(crate) fn sgd<T: Element>(p: &mut [T], g: &[T], buf: Option<&mut [T]>, h: &SgdHyper) {
    let lr = T::from_f64(h.lr);
    let wd = T::from_f64(h.weight_decay);
    match buf {
        None => {
            for (pi, &gi) in p.iter_mut().zip(g) {
                let d = gi + wd * *pi;
                *pi -= lr * d;
            }
        }
        Some(buf) => {
            let mu = T::from_f64(h.momentum);
            let damp = T::from_f64(1.0 - h.dampening);
            for ((pi, &gi), bi) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                let d = gi + wd * *pi;
                *bi = if h.first_step { d } else { mu * *bi + damp * d };
                let step = if h.nesterov { d + mu * *bi } else { *bi };
                *pi -= lr * step;
            }
        }
    }
}

pub(crate) fn adam<T: Element>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], h: &AdamHyper) {
    let t = h.step as i32;
    let bc1 = 1.0 - h.beta1.powi(t);
    let bc2 = 1.0 - h.beta2.powi(t);
    let step_size = T::from_f64(h.lr / bc1);
    let bc2_sqrt = T::from_f64(bc2.sqrt());
    let (b1, b2) = (T::from_f64(h.beta1), T::from_f64(h.beta2));
    let (one_b1, one_b2) = (T::from_f64(1.0 - h.beta1), T::from_f64(1.0 - h.beta2));
    let eps = T::from_f64(h.eps);
    let wd = T::from_f64(h.weight_decay);
    let decay = T::from_f64(1.0 - h.lr * h.weight_decay);
    for (((pi, &gi), mi), vi) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let gi = if h.decoupled {
            *pi *= decay;
            gi
        } else {
            gi + wd * *pi
        };
        *mi = b1 * *mi + one_b1 * gi;
        *vi = b2 * *vi + one_b2 * gi * gi;
        let denom = vi.sqrt() / bc2_sqrt + eps;
        *pi -= step_size * *mi / denom;
    }
}
