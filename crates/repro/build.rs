//! Records the source tree's git commit, dirty flag and the compiler version for run manifests.
use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = run("git", &["rev-parse", "HEAD"]).unwrap_or_default();
    let dirty = run("git", &["status", "--porcelain", "--untracked-files=no"])
        .map(|s| if s.is_empty() { "false" } else { "true" }.to_string())
        .unwrap_or_default();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = run(&rustc, &["--version"]).unwrap_or_default();
    println!("cargo:rustc-env=LEARNSCOPE_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=LEARNSCOPE_GIT_DIRTY={dirty}");
    println!("cargo:rustc-env=LEARNSCOPE_RUSTC_VERSION={version}");
    if let Some(top) = run("git", &["rev-parse", "--show-toplevel"]) {
        println!("cargo:rerun-if-changed={top}/.git/HEAD");
        println!("cargo:rerun-if-changed={top}/.git/index");
    }
}
