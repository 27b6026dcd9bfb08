//! The gemm wrapper against a naive triple loop: every transpose combination, strided views,
//! zero-sized and k = 0 cases, both dtypes, 1 and 2 threads.

use learnscope_nn::cpu::gemm::{gemm, MatMut, MatRef, Parallelism};
use learnscope_nn::{Backend, CpuBackend, DType, RandomKey, Tensor, Transpose};

fn naive(a: &MatRef<'_, f64>, b: &MatRef<'_, f64>) -> Vec<f64> {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a.at(i, p) * b.at(p, j)).sum();
        }
    }
    c
}

#[test]
fn matches_naive_product_on_random_shapes_and_strides() {
    let key = RandomKey::root(2024).derive("gemm");
    for case in 0..300u64 {
        let k_ = key.at(case);
        let dim = |i: u64, max: u64| (k_.u64_at(i) % (max + 1)) as usize;
        let (m, n, k) = (dim(0, 40), dim(1, 40), dim(2, 40));
        let (ta, tb) = (k_.u64_at(3) % 2 == 1, k_.u64_at(4) % 2 == 1);
        let pad_a = dim(5, 3); // extra row stride: a strided (non-contiguous) view
        let pad_b = dim(6, 3);
        let (ar, ac) = if ta { (k, m) } else { (m, k) };
        let (br, bc) = if tb { (n, k) } else { (k, n) };
        let a_data = k_.derive("a").normals(ar * (ac + pad_a) + 1);
        let b_data = k_.derive("b").normals(br * (bc + pad_b) + 1);
        let a = MatRef::new(&a_data, ar, ac, ac + pad_a, 1).unwrap();
        let b = MatRef::new(&b_data, br, bc, bc + pad_b, 1).unwrap();
        let a = if ta { a.t() } else { a };
        let b = if tb { b.t() } else { b };
        let want = naive(&a, &b);
        let beta = [0.0, 1.0, -0.5][case as usize % 3];
        let alpha = [1.0, 2.0, -1.5][case as usize % 3];
        let c0 = k_.derive("c").normals(m * n);
        for threads in [1, 2] {
            let mut c = c0.clone();
            let par = if threads == 1 {
                Parallelism::Sequential
            } else {
                Parallelism::Threads(2)
            };
            gemm(
                MatMut::row_major(&mut c, m, n).unwrap(),
                a,
                b,
                alpha,
                beta,
                par,
            )
            .unwrap();
            for idx in 0..m * n {
                let expect = alpha * want[idx] + beta * c0[idx];
                // |error| ≤ k·ε·Σ|a||b| (Higham, §3.5); k·ε·(k·max|a||b|) with max|a b| ≲ 25
                // for normal draws at these sizes, so 1e-12 is a safe bound for k ≤ 40.
                assert!(
                    (c[idx] - expect).abs() <= 1e-12 * (1.0 + expect.abs()) * (k as f64 + 1.0),
                    "case {case} ({m}x{k}x{n}, ta={ta}, tb={tb}, threads={threads}) idx {idx}: {} vs {expect}",
                    c[idx]
                );
            }
        }
    }
}

#[test]
fn beta_zero_never_reads_the_destination() {
    let a = vec![1.0f64, 2.0, 3.0, 4.0];
    let mut c = vec![f64::NAN; 4];
    let m = MatRef::row_major(&a, 2, 2).unwrap();
    gemm(
        MatMut::row_major(&mut c, 2, 2).unwrap(),
        m,
        m,
        1.0,
        0.0,
        Parallelism::Sequential,
    )
    .unwrap();
    assert_eq!(c, vec![7.0, 10.0, 15.0, 22.0]);
    // k = 0: the empty product is 0, so dst ← beta·dst.
    let empty: Vec<f64> = vec![];
    let l = MatRef::row_major(&empty, 2, 0).unwrap();
    let r = MatRef::row_major(&empty, 0, 2).unwrap();
    let mut c = vec![1.0, 2.0, 3.0, 4.0];
    gemm(
        MatMut::row_major(&mut c, 2, 2).unwrap(),
        l,
        r,
        1.0,
        0.5,
        Parallelism::Sequential,
    )
    .unwrap();
    assert_eq!(c, vec![0.5, 1.0, 1.5, 2.0]);
}

#[test]
fn backend_gemm_f32_agrees_with_f64() {
    // f32 products of standard normals with k = 300: the error is ≲ √k·ε₃₂·√k ≈ 4e-5·|c| scale;
    // we allow 1e-3 absolute on entries of size ~√300 ≈ 17.
    let (m, k, n) = (33, 300, 17);
    let key = RandomKey::root(9);
    let a = key.derive("a").normals(m * k);
    let b = key.derive("b").normals(n * k);
    for threads in [1, 2] {
        let be = CpuBackend::new(threads).with_parallel_flops(0.0);
        let mut out = Vec::new();
        for dt in [DType::F32, DType::F64] {
            let at = Tensor::from_f64(&be, dt, &[m, k], &a);
            let bt = Tensor::from_f64(&be, dt, &[n, k], &b);
            let mut c = Tensor::zeros(&be, dt, &[m, n]);
            be.gemm(&mut c, &at, Transpose::No, &bt, Transpose::Yes, 1.0, 0.0);
            out.push(c.to_host_f64(&be));
        }
        for (x, y) in out[0].iter().zip(&out[1]) {
            assert!((x - y).abs() < 1e-3, "{x} vs {y}");
        }
    }
}
