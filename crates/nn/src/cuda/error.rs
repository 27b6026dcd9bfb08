//! Why a [`super::CudaBackend`] could not be created. Every variant says what to do about it.
//!
//! Errors after creation (a failed launch, device memory exhausted) panic with the CUDA error
//! inside the operation, as the CPU backend panics on a misuse: `Backend` operations return no
//! `Result`, and a device fault leaves no state worth continuing from.

/// A CUDA backend that could not be created.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CudaError {
    /// A shared library was not found by the dynamic loader.
    #[error(
        "the CUDA backend needs {library}, which was not found (searched: {searched}); {install}"
    )]
    MissingLibrary {
        /// The library, as a user would look for it (`libcuda.so.1 (the NVIDIA driver)`).
        library: &'static str,
        /// The file names the loader tried.
        searched: String,
        /// What to install.
        install: &'static str,
    },
    /// The driver was found but reported an error (no device, a driver too old, …).
    #[error("CUDA driver: {context}: {message}")]
    Driver {
        /// What was being done.
        context: String,
        /// The driver's error.
        message: String,
    },
    /// The requested device does not exist.
    #[error("no CUDA device {ordinal}: the driver sees {count} device(s) (device = \"cuda:N\" with N < {count})")]
    NoDevice {
        /// The ordinal asked for.
        ordinal: usize,
        /// The number of visible devices.
        count: usize,
    },
    /// NVRTC could not compile the kernel module.
    #[error("NVRTC could not compile the learnscope kernels for {arch}: {log}")]
    Compile {
        /// The target architecture.
        arch: String,
        /// The compiler's log.
        log: String,
    },
    /// cuBLAS could not be initialised.
    #[error("cuBLAS: {0}")]
    Blas(String),
    /// The CUDA bindings panicked while loading (e.g. a symbol missing from an old library).
    #[error("loading the CUDA libraries failed: {0} (a driver or CUDA runtime older than 12.6?)")]
    Load(String),
}
