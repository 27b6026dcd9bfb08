//! File formats. Every parser checks its header against the file before allocating, and reports
//! a typed error naming the file, the byte offset (or line) and what was expected versus found.
//!
//! Formats: [`idx`] (MNIST family), [`cifar`] (CIFAR-10/100 binary batches), [`npy`] and [`npz`]
//! (NumPy arrays and archives), [`csv`] (numeric tables). [`detect`] guesses a file's format
//! from its name and first bytes.

pub mod cifar;
pub mod csv;
pub mod detect;
pub mod idx;
pub mod npy;
pub mod npz;
mod source;

pub use source::{maybe_gunzip, read_maybe_gzip, SourceError, MAX_DECOMPRESSED_BYTES};
