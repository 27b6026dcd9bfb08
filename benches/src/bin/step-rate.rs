//! `step-rate WORKLOAD [--threads N] [--seconds S] [--gemm-efficiency]`: prints one JSON line
//! with the steps per second of a workload (and optionally Σ t(gemm alone) / t(step)).
//! Used by `benches/pytorch/compare.py`, which interleaves it with the PyTorch twin.

use learnscope_benches::{by_name, gemm_alone_seconds, time_per_call};
use learnscope_nn::Backend;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut name = None;
    let (mut threads, mut seconds, mut eff) = (2usize, 2.0f64, false);
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
            "--gemm-efficiency" => eff = true,
            other if name.is_none() => name = Some(other.to_string()),
            _ => usage(),
        }
        i += 1;
    }
    let name = name.unwrap_or_else(|| usage());
    let mut w = by_name(&name, threads).unwrap_or_else(|| usage());
    let step = time_per_call(seconds, || {
        w.step();
    });
    let isa = w.be.isa();
    let mut line = format!(
        "{{\"workload\":\"{name}\",\"threads\":{threads},\"isa\":\"{isa}\",\"steps_per_sec\":{:.3}",
        1.0 / step
    );
    if eff {
        let dtype = learnscope_models::Model::spec(&w.model).dtype;
        let alone = gemm_alone_seconds(&w, dtype, seconds / 10.0);
        line += &format!(",\"gemm_efficiency\":{:.3}", alone / step);
    }
    println!("{line}}}");
}

fn usage() -> ! {
    eprintln!("usage: step-rate mlp|hierarchy|deep_linear_256|small_cnn|vgg8 [--threads N] [--seconds S] [--gemm-efficiency]");
    std::process::exit(2)
}
