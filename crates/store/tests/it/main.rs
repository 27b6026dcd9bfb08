//! Integration tests of the run store, one module per topic (DESIGN.md §6: one test binary per
//! crate).

mod checkpoint;
mod jsonl;
mod manifest;
mod parquet;
mod run;
mod run_dir;
mod safetensors;
mod util;
