//! `[stimuli] kind = "files"`: a study's own images, checked at start-up and served as they are.

use axum::http::StatusCode;
use learnscope_human::StudyConfig;

use crate::{temp_dir, Harness};

/// The first bytes of a PNG file (the server checks the signature, it does not decode).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

/// tiny.toml with six image files (4 items + 2 practice) written to `dir/images`.
fn with_files(dir: &std::path::Path, files: &[(&str, &[u8])]) -> String {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join("images").join(name), bytes).unwrap();
    }
    let names: Vec<String> = files.iter().map(|(n, _)| format!("{n:?}")).collect();
    let base = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny.toml"),
    )
    .unwrap();
    format!(
        "{base}\n[stimuli]\nkind = \"files\"\ndir = \"images\"\nfiles = [{}]\n",
        names.join(", ")
    )
}

#[tokio::test]
async fn a_studys_own_images_are_served_with_their_type() {
    let dir = temp_dir("stimuli-files");
    let svg: &[u8] = b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>";
    let files: [(&str, &[u8]); 6] = [
        ("a.png", PNG),
        ("b.PNG", PNG),
        ("c.jpg", &[0xff, 0xd8, 0xff, 0xe0]),
        ("d.svg", svg),
        ("p1.gif", b"GIF89a...."),
        ("p2.webp", b"RIFF\0\0\0\0WEBPVP8 "),
    ];
    let text = with_files(&dir, &files);
    let study = dir.join("study.toml");
    std::fs::write(&study, text).unwrap();
    // Relative to the study file, wherever the server is started from.
    let cfg = StudyConfig::load(&study).unwrap();
    assert_eq!(cfg.stimulus_file_name(1), "1.png");
    let h = Harness::new(cfg, true);
    for (n, (name, bytes)) in files.iter().enumerate() {
        let ext = name.rsplit_once('.').unwrap().1.to_ascii_lowercase();
        let r = h.get(&format!("/s/tiny/stimuli/{n}.{ext}")).await;
        assert_eq!(r.status, StatusCode::OK, "{name}");
        assert_eq!(r.bytes, *bytes, "{name}");
    }
    let r = h.get("/s/tiny/stimuli/2.jpg").await;
    assert_eq!(r.content_type, "image/jpeg");
    // The session's trial list points at these URLs.
    let s = h.session("PID-IMG", None).await;
    let urls: Vec<&str> = s["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["image"].as_str().unwrap())
        .collect();
    assert!(urls.iter().any(|u| u.ends_with(".png")), "{urls:?}");
    assert!(urls
        .iter()
        .all(|u| !u.ends_with(".svg") || u.ends_with("3.svg")));
    // Asking for stimulus 0 under another extension is a 404.
    assert_eq!(
        h.get("/s/tiny/stimuli/0.svg").await.status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn image_files_that_are_missing_miscounted_or_not_images_are_named() {
    let dir = temp_dir("stimuli-bad");
    let open = |text: String| -> String {
        let study = dir.join("study.toml");
        std::fs::write(&study, text).unwrap();
        match StudyConfig::load(&study) {
            Err(e) => e.to_string(),
            Ok(cfg) => learnscope_human::stimuli::StimulusSet::load(&cfg)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default(),
        }
    };
    let five: Vec<(&str, &[u8])> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|n| (*n, PNG))
        .collect();
    let mut text = with_files(&dir, &five);
    text = text.replace("\"a\"", "\"a.png\"");
    let e = open(text);
    assert!(
        e.contains("stimuli.files") && e.contains("5 files for 6 stimuli"),
        "{e}"
    );

    let named: Vec<(&str, &[u8])> = vec![
        ("a.png", PNG),
        ("b.png", PNG),
        ("c.png", b"not a png"),
        ("d.png", PNG),
        ("e.png", PNG),
        ("f.bmp", PNG),
    ];
    let e = open(with_files(&dir, &named));
    assert!(e.contains("stimuli.files[5]") && e.contains("f.bmp"), "{e}");
    let mut named = named;
    named[5] = ("f.png", PNG);
    let e = open(with_files(&dir, &named));
    assert!(
        e.contains("c.png") && e.contains("stimuli.files[2]") && e.contains("image/png"),
        "{e}"
    );
    named[2] = ("c.png", PNG);
    let text = with_files(&dir, &named).replace("\"f.png\"", "\"gone.png\"");
    let e = open(text);
    assert!(e.contains("gone.png") && e.contains("cannot read"), "{e}");
    let e = open(with_files(&dir, &named));
    assert_eq!(e, "", "six good files open");
}
