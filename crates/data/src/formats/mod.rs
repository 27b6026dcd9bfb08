//! File formats. Every parser checks its header against the file before allocating, and reports
//! a typed error naming the file, the byte offset and what was expected versus found.

pub mod idx;
mod source;

pub use source::{maybe_gunzip, read_maybe_gzip, SourceError, MAX_DECOMPRESSED_BYTES};
