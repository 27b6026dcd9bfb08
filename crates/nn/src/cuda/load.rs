//! Library discovery: checks that the driver (`libcuda.so.1`), cuBLAS (`libcublas.so.12`) and
//! NVRTC (`libnvrtc.so.12`) can be loaded before any CUDA call is made.
//!
//! cudarc loads these libraries lazily and panics when one is missing; checking first turns
//! that into a [`CudaError::MissingLibrary`] naming the library and the package to install.
//! [`guarded`] is the backstop for what cannot be checked ahead (a symbol missing from an old
//! library): it runs initialisation under `catch_unwind` and returns the panic as an error.

use super::error::CudaError;

/// One library the backend loads.
struct Library {
    /// cudarc's base name (`cuda`, `cublas`, `nvrtc`).
    base: &'static str,
    /// How a user knows it.
    shown: &'static str,
    /// What to install when it is missing.
    install: &'static str,
    /// Whether the dynamic loader finds it.
    present: fn() -> bool,
}

fn driver_present() -> bool {
    // SAFETY: only tries `dlopen` on cudarc's candidate names; no symbol is called.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

fn cublas_present() -> bool {
    // SAFETY: as above.
    unsafe { cudarc::cublas::sys::is_culib_present() }
}

fn nvrtc_present() -> bool {
    // SAFETY: as above.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

const LIBRARIES: [Library; 3] = [
    Library {
        base: "cuda",
        shown: "libcuda.so.1 (the NVIDIA driver)",
        install: "install the NVIDIA driver for the GPU (e.g. Debian/Ubuntu `nvidia-driver` or \
                  NVIDIA's `cuda-drivers` package); in a container, start it with the NVIDIA \
                  container toolkit (`docker run --gpus all`)",
        present: driver_present,
    },
    Library {
        base: "cublas",
        shown: "libcublas.so.12 (cuBLAS, CUDA 12)",
        install: "install the CUDA 12 cuBLAS runtime (`apt install libcublas-12-6` from NVIDIA's \
                  CUDA repository, or `pip install nvidia-cublas-cu12` and add its `lib/` \
                  directory to LD_LIBRARY_PATH)",
        present: cublas_present,
    },
    Library {
        base: "nvrtc",
        shown: "libnvrtc.so.12 (NVRTC, the CUDA 12 run-time compiler)",
        install: "install the CUDA 12 NVRTC runtime (`apt install cuda-nvrtc-12-6` from NVIDIA's \
                  CUDA repository, or `pip install nvidia-cuda-nvrtc-cu12` and add its `lib/` \
                  directory to LD_LIBRARY_PATH)",
        present: nvrtc_present,
    },
];

/// The file names cudarc tries for a library base name, without repetitions.
pub fn candidates(base: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for name in cudarc::get_lib_name_candidates(base) {
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen
}

/// Checks that every library the backend needs can be loaded, in dependency order (driver
/// first), and names the first one missing.
pub fn check_libraries() -> Result<(), CudaError> {
    for lib in &LIBRARIES {
        let present = std::panic::catch_unwind(lib.present).unwrap_or(false);
        if !present {
            return Err(CudaError::MissingLibrary {
                library: lib.shown,
                searched: candidates(lib.base).join(", "),
                install: lib.install,
            });
        }
    }
    Ok(())
}

/// Runs `f`, turning a panic inside the CUDA bindings into [`CudaError::Load`].
pub fn guarded<R>(f: impl FnOnce() -> Result<R, CudaError>) -> Result<R, CudaError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic without a message".into());
            Err(CudaError::Load(msg))
        }
    }
}
