//! Privacy: no raw recruitment ID and no IP-like string anywhere in the database files or the
//! exports.

use learnscope_human::ExportFormat;
use regex::bytes::Regex;

use crate::{tiny, Harness, Policy};

const PID: &str = "TESTPID1zq7XKpriv";

#[tokio::test]
async fn the_raw_pid_and_ips_appear_nowhere_in_the_database_files_or_exports() {
    let h = Harness::new(tiny(), true);
    let s = h.session(PID, None).await;
    let r = h.play_day(&s, Policy::Perfect, None).await;
    assert_eq!(r.json()["code_kind"], "completed");
    let again = h.session(PID, Some("2026-11-30T00:00:00Z")).await;
    assert!(again.get("token").is_some() || again.get("blocked").is_some());

    let ip = Regex::new(r"(^|[^0-9.])(\d{1,3}\.){3}\d{1,3}([^0-9.]|$)").unwrap();
    let session_id = format!("SESSION-{PID}");
    let mut files = vec![h.db.clone()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let p = h.db.with_file_name(format!("study.sqlite{suffix}"));
        if p.exists() {
            files.push(p);
        }
    }
    assert!(
        files.len() >= 2,
        "the WAL exists while the server runs: {files:?}"
    );
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for needle in [PID, &session_id, "STUDY1", "127.0.0.1"] {
            assert!(
                !bytes
                    .windows(needle.len())
                    .any(|w| w.eq_ignore_ascii_case(needle.as_bytes())),
                "{needle} found in {}",
                f.display()
            );
        }
        assert!(
            ip.find(&bytes).is_none(),
            "an IP-like string in {}: {:?}",
            f.display(),
            ip.find(&bytes)
                .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
        );
    }
    // the stored forms are HMACs; exports carry only public codes
    let hmac: String = h
        .conn()
        .query_row("SELECT pid_hmac FROM participant", [], |r| r.get(0))
        .unwrap();
    assert_eq!(hmac.len(), 64);
    let dir = crate::temp_dir("privacy-export");
    for (fmt, name) in [
        (ExportFormat::Csv, "x.csv"),
        (ExportFormat::Json, "x.json"),
        (ExportFormat::PsychDs, "x.zip"),
    ] {
        let out = dir.join(name);
        learnscope_human::export(&h.db, "tiny", fmt, &out).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        for needle in [PID, &hmac, s["token"].as_str().unwrap()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} in {name}"
            );
        }
        assert!(
            bytes.windows(4).any(|w| w == b"p001"),
            "{name} names the participant by code"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
