//! Times learnscope's f64 symmetric eigendecomposition (the `spectrum` probe's, faer,
//! sequential) on the uncentred moment of 4096 × 512 post-ReLU-like features
//! ([`learnscope_benches::spectrum_features`]) and writes that matrix as raw little-endian f64
//! (row-major 512 × 512) so that `benches/pytorch/eigh_compare.py` times NumPy on the very same
//! matrix. Usage: `eigh-rate --out FILE [--seconds S]`; prints `{"seconds_per_eigh": …}` (the
//! median over the calls made in S seconds after one warm-up call).

use std::io::Write;
use std::time::{Duration, Instant};

use learnscope_benches::spectrum_features;
use learnscope_data::transform::{moment_matrix, symmetric_eigen};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let Some(out) = value("--out") else {
        eprintln!("usage: eigh-rate --out FILE [--seconds S]");
        std::process::exit(2);
    };
    let seconds: f64 = value("--seconds").map_or(2.0, |s| s.parse().unwrap_or(2.0));
    let (n, p) = (4096, 512);
    let (phi, _) = spectrum_features(n, p, 10);
    let (_, moment) = moment_matrix(&phi, n, p, false);
    let mut bytes = Vec::with_capacity(moment.len() * 8);
    for v in &moment {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::File::create(&out)
        .and_then(|mut f| f.write_all(&bytes))
        .unwrap_or_else(|e| panic!("{out}: {e}"));
    symmetric_eigen(&moment, p).expect("eigen");
    let mut times = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs_f64(seconds) || times.len() < 3 {
        let t = Instant::now();
        std::hint::black_box(symmetric_eigen(&moment, p).expect("eigen"));
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!("{{\"seconds_per_eigh\": {}}}", times[times.len() / 2]);
}
