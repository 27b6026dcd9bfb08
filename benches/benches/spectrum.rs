//! Criterion benches of the `spectrum` probe's host work (issue 10): the f64 symmetric
//! eigendecomposition of a 512 × 512 feature moment, and the whole analysis on n = 4096
//! examples with p = 512 features and 10 classes without the forward pass (target ≤ 1 s):
//! the uncentred moment and the covariance, both eigendecompositions, the label alignments of
//! both, the output alignment, and the first C + 1 eigenfunctions on every example. The ratio
//! of the eigendecomposition to NumPy's `eigh` is taken by `benches/pytorch/eigh_compare.sh`.

use criterion::{criterion_group, criterion_main, Criterion};
use learnscope_benches::spectrum_features;
use learnscope_data::transform::{moment_matrix, symmetric_eigen};
use learnscope_probes::spectrum::analysis::{alignment_count, one_hot, spectra};

fn spectrum(c: &mut Criterion) {
    let (n, p, classes) = (4096, 512, 10);
    let (phi, labels) = spectrum_features(n, p, classes);
    let (_, moment) = moment_matrix(&phi, n, p, false);
    let mut g = c.benchmark_group("spectrum");
    g.sample_size(10);
    g.bench_function("eigh_512", |b| {
        b.iter(|| symmetric_eigen(&moment, p).expect("eigen"))
    });
    let t = one_hot(&labels, classes);
    g.bench_function("probe_4096x512", |b| {
        b.iter(|| {
            let (raw, cov) = spectra(&phi, n, p).expect("spectra");
            let a = raw.alignments(&phi, n, &t, classes, 1e-10);
            let ac = cov.alignments(&phi, n, &t, classes, 1e-10);
            let psi = raw.eigenfunctions(&phi, n, classes + 1, 1e-10);
            (
                alignment_count(&a, 0.95),
                alignment_count(&ac, 0.95),
                psi.len(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, spectrum);
criterion_main!(benches);
