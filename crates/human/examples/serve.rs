//! `learnscope human serve` as an example binary, for front-end development without the CLI:
//!
//! ```text
//! cargo run --release -p learnscope-human --example serve -- STUDY.toml|--demo [--db FILE] \
//!     [--bind 127.0.0.1] [--port 8080] [--dev]
//! ```
//!
//! Prints `learnscope human: listening on http://ADDR/s/STUDY` once the socket is bound.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use learnscope_human::{serve_blocking, ServeOptions, StudyConfig};

fn usage() -> ExitCode {
    eprintln!("usage: serve STUDY.toml|--demo [--db FILE.sqlite] [--bind 127.0.0.1] [--port 8080] [--dev]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut config, mut db, mut bind, mut port, mut dev, mut demo) = (
        None::<PathBuf>,
        None::<PathBuf>,
        IpAddr::from([127, 0, 0, 1]),
        8080u16,
        false,
        false,
    );
    while let Some(a) = args.next() {
        match a.as_str() {
            "--demo" => demo = true,
            "--dev" => dev = true,
            "--db" => db = args.next().map(PathBuf::from),
            "--bind" => match args.next().and_then(|v| v.parse().ok()) {
                Some(v) => bind = v,
                None => return usage(),
            },
            "--port" => match args.next().and_then(|v| v.parse().ok()) {
                Some(v) => port = v,
                None => return usage(),
            },
            "-h" | "--help" => return usage(),
            s if !s.starts_with('-') && config.is_none() => config = Some(PathBuf::from(s)),
            _ => return usage(),
        }
    }
    let cfg = match (&config, demo) {
        (Some(p), false) => match StudyConfig::load(p) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("learnscope human: {e}");
                return ExitCode::from(2);
            }
        },
        (None, true) => {
            dev = true;
            StudyConfig::demo()
        }
        _ => return usage(),
    };
    let db = db.unwrap_or_else(|| {
        if demo {
            std::env::temp_dir().join(format!(
                "learnscope-human-demo-{}.sqlite",
                std::process::id()
            ))
        } else {
            PathBuf::from(format!("{}.sqlite", cfg.study.id))
        }
    });
    let study = cfg.study.id.clone();
    let opts = ServeOptions {
        config: cfg,
        db,
        bind,
        port,
        dev,
    };
    if learnscope_human::server::admin_token_is_generated(&opts) && bind.is_loopback() {
        if let Ok(t) = learnscope_human::admin_token_for(&opts) {
            eprintln!("learnscope human: dev admin token {t}");
        }
    }
    let result = serve_blocking(opts, move |addr| {
        println!("learnscope human: listening on http://{addr}/s/{study}");
        let _ = std::io::stdout().flush();
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("learnscope human: {e}");
            ExitCode::FAILURE
        }
    }
}
