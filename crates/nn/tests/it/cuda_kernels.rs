//! The CUDA kernel sources, checked without a GPU and without the `cuda` feature: both dtypes
//! are generated with unique entry points, every entry point the backend launches exists, the
//! dropout hash is the core's, and the kernels' arithmetic passes a CPU emulation.

use std::collections::BTreeSet;

use learnscope_nn::cuda_kernels::{self as kernels, Kernel};
use learnscope_nn::{DType, RandomKey};

#[test]
fn kernel_sources_define_every_entry_point_once_for_both_dtypes() {
    let src = kernels::source();
    let defined = kernels::entry_points(&src);
    let unique: BTreeSet<&String> = defined.iter().collect();
    assert_eq!(unique.len(), defined.len(), "duplicate entry points");
    let mut launched = BTreeSet::new();
    for k in Kernel::ALL {
        for dtype in [DType::F32, DType::F64] {
            let name = k.entry(dtype);
            assert!(
                defined.contains(&name),
                "the backend launches {name}, which the source does not define"
            );
            launched.insert(name);
        }
    }
    let defined: BTreeSet<String> = defined.into_iter().collect();
    assert_eq!(
        defined, launched,
        "entry points defined but never launched (or the reverse)"
    );
    assert_eq!(launched.len(), 2 * Kernel::ALL.len());
    // Each instantiation is typed: the f32 one uses `float`, the f64 one `double`.
    let f32_src = kernels::instantiate(DType::F32);
    assert!(f32_src.starts_with("#define T float") && !f32_src.contains("_f64("));
    let f64_src = kernels::instantiate(DType::F64);
    assert!(f64_src.starts_with("#define T double") && !f64_src.contains("_f32("));
    assert!(!src.contains("_SFX"), "an unsubstituted suffix");
    for (i, k) in Kernel::ALL.iter().enumerate() {
        assert_eq!(k.index(), i);
    }
}

#[test]
fn dropout_hash_is_the_core_random_key_hash() {
    // The kernel's `ls_uniform_at` written out in Rust from the constants in the source; it
    // must equal RandomKey::uniform_at, so a CUDA mask equals the CPU mask bit for bit.
    let src = kernels::source();
    for c in [
        "0x9E3779B97F4A7C15ULL",
        "0xBF58476D1CE4E5B9ULL",
        "0x94D049BB133111EBULL",
    ] {
        assert!(src.contains(c), "constant {c} missing from the kernels");
    }
    assert!(src.contains("ls_mix64(ls_mix64(key ^ (index * 0x9E3779B97F4A7C15ULL)) + key)"));
    assert!(src.contains("(double)(u >> 11) * (1.0 / 9007199254740992.0)"));
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let key = RandomKey::root(11).derive("dropout/net.3").at(7);
    for i in 0..10_000u64 {
        let u = mix(mix(key.raw() ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_add(key.raw()));
        let kernel = (u >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0);
        assert_eq!(kernel, key.uniform_at(i), "draw {i}");
    }
}

#[test]
fn kernels_pass_a_cpu_emulation() {
    // The generated source compiled by the host C++ compiler with CUDA's keywords defined away
    // (tests/it/cuda_emulation.cpp), each kernel checked against a reference loop, an adjoint
    // identity or finite differences. Skipped where no C++ compiler is installed.
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let dir =
        std::env::temp_dir().join(format!("learnscope-cuda-emulation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("kernels.cu.inc"), kernels::source()).unwrap();
    std::fs::write(dir.join("harness.cpp"), include_str!("cuda_emulation.cpp")).unwrap();
    let exe = dir.join("harness");
    let built = std::process::Command::new(&cxx)
        .args(["-std=c++17", "-O1", "-w", "-o"])
        .arg(&exe)
        .arg(dir.join("harness.cpp"))
        .output();
    let built = match built {
        Ok(o) => o,
        Err(e) => {
            println!("skipped: no C++ compiler `{cxx}` ({e})");
            return;
        }
    };
    assert!(
        built.status.success(),
        "the kernels do not compile as C++: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let run = std::process::Command::new(&exe).output().unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    println!("{out}");
    assert!(run.status.success(), "emulated kernels failed:\n{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
