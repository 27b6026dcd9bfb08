//! `layer-split small_cnn|vgg8 [--threads N] [--seconds S]`: where a training step of a
//! convolutional workload spends its time. Builds the workload's layers as a flat chain (same
//! shapes, dtype and batch as `step-rate`), times each layer's forward and backward pass alone,
//! and, for each convolution, its parts run alone on the whole batch: im2col, the three
//! products (forward, weight gradient, input gradient) and col2im. The parts are measured
//! separately (caches warm, no chunking), so they approximate, not partition, the layer's time.

use learnscope_benches::time_per_call;
use learnscope_nn::layer::{BatchNorm, Conv2d, Flatten, Layer, Linear, MaxPool2d};
use learnscope_nn::loss::{Loss, LossKind, Targets};
use learnscope_nn::optim::{Optimizer, OptimizerConfig};
use learnscope_nn::{
    Activation, Backend, CpuBackend, DType, ForwardCtx, Mode, ParamTree, RandomKey, Tensor,
    Transpose, Window2d,
};

const DT: DType = DType::F32;

fn normal(be: &CpuBackend, shape: &[usize], key: RandomKey, std: f64) -> Tensor<CpuBackend> {
    let v: Vec<f64> = key
        .normals(shape.iter().product())
        .iter()
        .map(|x| x * std)
        .collect();
    Tensor::from_f64(be, DT, shape, &v)
}

type Chain = Vec<(String, Box<dyn Layer<CpuBackend>>)>;

fn conv(
    be: &CpuBackend,
    o: usize,
    c: usize,
    stride: usize,
    bias: bool,
    act: Activation,
    key: RandomKey,
) -> Box<dyn Layer<CpuBackend>> {
    let w = normal(be, &[o, c, 3, 3], key, (2.0 / (9 * c) as f64).sqrt());
    let b = bias.then(|| Tensor::zeros(be, DT, &[o]));
    Box::new(Conv2d::new(be, w, b, stride, 1, act).expect("valid"))
}

fn linear(
    be: &CpuBackend,
    o: usize,
    i: usize,
    act: Activation,
    key: RandomKey,
) -> Box<dyn Layer<CpuBackend>> {
    let w = normal(be, &[o, i], key, (1.0 / i as f64).sqrt());
    Box::new(Linear::new(be, w, Some(Tensor::zeros(be, DT, &[o])), act).expect("valid"))
}

fn chain(name: &str, be: &CpuBackend) -> Option<(Chain, Vec<usize>)> {
    let k = RandomKey::root(9);
    let relu = Activation::Relu;
    let mut v: Chain = Vec::new();
    let input = match name {
        "small_cnn" => {
            v.push((
                "conv 1→32 28×28".into(),
                conv(be, 32, 1, 1, true, relu, k.derive("c1")),
            ));
            v.push((
                "max-pool 28→14".into(),
                Box::new(MaxPool2d::new(be, DT, 2, 2, 0).ok()?),
            ));
            v.push((
                "conv 32→64 14×14".into(),
                conv(be, 64, 32, 1, true, relu, k.derive("c2")),
            ));
            v.push((
                "max-pool 14→7".into(),
                Box::new(MaxPool2d::new(be, DT, 2, 2, 0).ok()?),
            ));
            v.push(("flatten".into(), Box::new(Flatten::new(be, DT))));
            v.push((
                "dense 3136→128".into(),
                linear(be, 128, 3136, relu, k.derive("d")),
            ));
            v.push((
                "head 128→10".into(),
                linear(be, 10, 128, Activation::Identity, k.derive("h")),
            ));
            vec![128, 1, 28, 28]
        }
        "vgg8" => {
            let ch = [3, 32, 64, 128, 256, 512];
            let mut hw = 32;
            for i in 0..5 {
                hw /= 2;
                let label = format!("conv {}→{} s2 →{hw}×{hw}", ch[i], ch[i + 1]);
                v.push((
                    label,
                    conv(
                        be,
                        ch[i + 1],
                        ch[i],
                        2,
                        false,
                        Activation::Identity,
                        k.derive(&i.to_string()),
                    ),
                ));
                v.push((
                    format!("bn+relu {}", ch[i + 1]),
                    Box::new(BatchNorm::new(be, DT, ch[i + 1], relu).ok()?),
                ));
            }
            v.push(("flatten".into(), Box::new(Flatten::new(be, DT))));
            v.push((
                "head 512→10".into(),
                linear(be, 10, 512, Activation::Identity, k.derive("h")),
            ));
            vec![128, 3, 32, 32]
        }
        _ => return None,
    };
    Some((v, input))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut name = None;
    let (mut threads, mut seconds) = (2usize, 0.5f64);
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--threads" => {
                i += 1;
                threads = args
                    .get(i)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage());
            }
            "--seconds" => {
                i += 1;
                seconds = args
                    .get(i)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage());
            }
            other if name.is_none() => name = Some(other.to_string()),
            _ => usage(),
        }
        i += 1;
    }
    let name = name.unwrap_or_else(|| usage());
    let be = CpuBackend::new(threads);
    let (mut layers, in_shape) = chain(&name, &be).unwrap_or_else(|| usage());
    let key = RandomKey::root(1);
    let ctx = ForwardCtx::new(Mode::Train, 0, key);
    let mut acts = vec![normal(&be, &in_shape, key.derive("x"), 1.0)];
    for (_, l) in layers.iter_mut() {
        l.forward(&be, acts.last().expect("input"), &ctx);
        acts.push(l.output().clone());
    }
    println!(
        "{name}, {threads} thread(s), f32, batch {}: ms per training step",
        in_shape[0]
    );
    println!(
        "{:<26}{:>10}{:>10}   parts alone (ms): im2col, gemm fwd, gemm dW, gemm dX, col2im",
        "layer", "forward", "backward"
    );
    let (mut tf, mut tb) = (0.0, 0.0);
    for (idx, (label, l)) in layers.iter_mut().enumerate() {
        let x = &acts[idx];
        let y_shape = acts[idx + 1].shape().to_vec();
        let dy = normal(&be, &y_shape, key.derive("dy").at(idx as u64), 1.0);
        let f = time_per_call(seconds, || l.forward(&be, x, &ctx)) * 1e3;
        let b = time_per_call(seconds, || l.backward(&be, x, &dy, idx > 0)) * 1e3;
        tf += f;
        tb += b;
        let mut line = format!("{label:<26}{f:>10.2}{b:>10.2}");
        if label.starts_with("conv") {
            line += &conv_parts(
                &be,
                x,
                &y_shape,
                label.contains("s2"),
                idx > 0,
                seconds / 4.0,
            );
        }
        println!("{line}");
    }
    // Loss and optimizer over the same parameters.
    let logits = acts.last().expect("output").clone();
    let labels: Vec<u32> = (0..in_shape[0] as u64)
        .map(|i| (key.u64_at(i) % 10) as u32)
        .collect();
    let mut grad = Tensor::zeros(&be, DT, logits.shape());
    let loss = Loss::mean(LossKind::CrossEntropy);
    let tl = time_per_call(seconds, || {
        loss.forward_backward(&be, &logits, &Targets::Classes(&labels), &mut grad)
            .expect("targets");
    }) * 1e3;
    let mut opt = Optimizer::new(OptimizerConfig::sgd()).expect("valid");
    let mut params =
        learnscope_nn::layer::Sequential::new(layers.into_iter().map(|(_, l)| l).collect())
            .expect("non-empty");
    let to = time_per_call(seconds, || opt.step(&be, &mut params, 0.0)) * 1e3;
    println!("{:<26}{:>10.2}{:>10.2}", "loss / SGD update", tl, to);
    println!(
        "{:<26}{:>10.2}{:>10.2}   total {:.1} ms ({} parameters)",
        "sum",
        tf + tl,
        tb + to,
        tf + tb + tl + to,
        params.num_scalars()
    );
}

/// The parts of one 3×3 convolution (pad 1) with input `x` and output shape `y`, alone.
fn conv_parts(
    be: &CpuBackend,
    x: &Tensor<CpuBackend>,
    y: &[usize],
    strided: bool,
    input_grad: bool,
    seconds: f64,
) -> String {
    let win = Window2d::square(3, if strided { 2 } else { 1 }, 1);
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let (o, p) = (y[1], y[2] * y[3]);
    let ckk = 9 * c;
    let mut cols = Tensor::zeros(be, DT, &[ckk, n * p]);
    let im2col = time_per_call(seconds, || be.im2col(x, &win, 0, &mut cols));
    let w = Tensor::zeros(be, DT, &[o, ckk]);
    let dy = Tensor::zeros(be, DT, &[o, n * p]);
    let mut out = Tensor::zeros(be, DT, &[o, n * p]);
    let fwd = time_per_call(seconds, || {
        be.gemm(&mut out, &w, Transpose::No, &cols, Transpose::No, 1.0, 0.0)
    });
    let mut dw = Tensor::zeros(be, DT, &[o, ckk]);
    let gw = time_per_call(seconds, || {
        be.gemm(&mut dw, &dy, Transpose::No, &cols, Transpose::Yes, 1.0, 0.0)
    });
    let (gx, c2i) = if input_grad {
        let mut dcol = Tensor::zeros(be, DT, &[ckk, n * p]);
        let gx = time_per_call(seconds, || {
            be.gemm(&mut dcol, &w, Transpose::Yes, &dy, Transpose::No, 1.0, 0.0)
        });
        let mut dx = Tensor::zeros(be, DT, x.shape());
        let c2i = time_per_call(seconds, || be.col2im(&dcol, &win, 0, &mut dx));
        (gx, c2i)
    } else {
        (0.0, 0.0)
    };
    format!(
        "   {:.2}, {:.2}, {:.2}, {:.2}, {:.2}",
        im2col * 1e3,
        fwd * 1e3,
        gw * 1e3,
        gx * 1e3,
        c2i * 1e3
    )
}

fn usage() -> ! {
    eprintln!("usage: layer-split small_cnn|vgg8 [--threads N] [--seconds S]");
    std::process::exit(2)
}
