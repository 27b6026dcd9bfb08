//! Criterion benches of the engine: one training step of each workload on 1 and 2 threads, and
//! square products around the threading threshold (`CpuBackend::parallel_flops`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use learnscope_benches::by_name;
use learnscope_nn::{Backend, CpuBackend, DType, Tensor, Transpose};

fn steps(c: &mut Criterion) {
    let mut g = c.benchmark_group("step");
    for name in ["mlp", "hierarchy", "deep_linear_256", "small_cnn", "vgg8"] {
        for threads in [1, 2] {
            let mut w = by_name(name, threads).expect("known workload");
            g.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, _| {
                b.iter(|| w.step())
            });
        }
    }
    g.finish();
}

fn gemm_threshold(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemm_threshold");
    for n in [32usize, 64, 96, 128, 192] {
        for threads in [1usize, 2] {
            let be = CpuBackend::new(threads).with_parallel_flops(0.0);
            let a = Tensor::zeros(&be, DType::F32, &[n, n]);
            let bm = Tensor::zeros(&be, DType::F32, &[n, n]);
            let mut out = Tensor::zeros(&be, DType::F32, &[n, n]);
            g.bench_with_input(BenchmarkId::new(format!("f32_{n}"), threads), &n, |b, _| {
                b.iter(|| be.gemm(&mut out, &a, Transpose::No, &bm, Transpose::Yes, 1.0, 0.0))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, steps, gemm_threshold);
criterion_main!(benches);
