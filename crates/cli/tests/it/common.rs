//! Helpers: the binary, scratch directories, file comparison.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn learnscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_learnscope"))
}

/// A fresh directory under the target dir, removed first if it exists.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The checkpoint files of a run, sorted by name.
pub fn checkpoint_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                bytes(&p),
            )
        })
        .collect();
    v.sort();
    v
}

/// Asserts two files are byte-identical, reporting the first differing line (not the bytes).
pub fn assert_same_file(a: &Path, b: &Path) {
    let (x, y) = (bytes(a), bytes(b));
    if x == y {
        return;
    }
    let (lx, ly) = (String::from_utf8_lossy(&x), String::from_utf8_lossy(&y));
    let first = lx.lines().zip(ly.lines()).position(|(p, q)| p != q);
    match first {
        Some(i) => panic!(
            "{} and {} differ at line {}:\n  {}\n  {}",
            a.display(),
            b.display(),
            i + 1,
            lx.lines().nth(i).unwrap_or(""),
            ly.lines().nth(i).unwrap_or("")
        ),
        None => panic!(
            "{} ({} lines) and {} ({} lines) differ in length",
            a.display(),
            lx.lines().count(),
            b.display(),
            ly.lines().count()
        ),
    }
}
