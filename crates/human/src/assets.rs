//! The front end, embedded in the binary (`crates/human/web/`, plain ES modules and CSS).
//!
//! Why embedded: the study must run from one binary with nothing fetched at run time (no CDN,
//! no build step), and the files served must be exactly the ones the binary was tested with.

/// The app shell; `<!--LS-BOOT-->` is replaced by the boot block per study.
pub const INDEX_HTML: &str = include_str!("../web/index.html");

/// The embedded files (name, content, content type), served at `/assets/{name}`.
pub const FILES: [(&str, &str, &str); 6] = [
    ("index.html", INDEX_HTML, "text/html; charset=utf-8"),
    (
        "style.css",
        include_str!("../web/style.css"),
        "text/css; charset=utf-8",
    ),
    (
        "app.js",
        include_str!("../web/app.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "api.js",
        include_str!("../web/api.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "trial.js",
        include_str!("../web/trial.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "pages.js",
        include_str!("../web/pages.js"),
        "text/javascript; charset=utf-8",
    ),
];

/// The content and content type of an embedded file.
pub fn get(name: &str) -> Option<(&'static str, &'static str)> {
    FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, body, ct)| (*body, *ct))
}
