//! Procedural stimuli: novel, meaningless "alien creatures" as SVG (HUMAN-TASK.md §2.2).
//!
//! The study needs images that carry no prior knowledge and whose perceptual similarity does not
//! reveal the category tree: each creature is drawn from its own seeded draw of independent
//! features (body outline, hue, eye count, limbs, antennae, markings), so no feature is shared
//! along the tree more than by chance, and which image stands for which item is a further
//! per-participant permutation (the schedule's job). The same `(study_seed, index)` always gives
//! byte-identical SVG text, so an export can name the image a participant saw and anyone can
//! regenerate it.
//!
//! Neighbouring indices get hues spread by the golden angle (≈137.5°), so the first eight or ten
//! creatures of a study differ in colour as well as in shape; every other feature is drawn
//! independently. A drawing is 256 × 256 user units and about 2 kB.
//!
//! A study can bring its own images instead (`[stimuli] kind = "files"`): [`StimulusSet`] reads
//! them once at start-up, checks each is an image of the type its name says (by its magic
//! bytes) and at most [`MAX_IMAGE_BYTES`], and serves them from memory.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::config::{image_content_type, StimulusKind, StudyConfig};
use crate::error::{HumanError, Result};

/// The largest image file a study may use (HUMAN-TASK §2.2 suggests under 100 kB each).
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;

/// One stimulus, ready to serve.
#[derive(Debug, Clone)]
pub struct Image {
    /// Its MIME type.
    pub content_type: &'static str,
    /// Its bytes (shared, so a response does not copy them).
    pub bytes: axum::body::Bytes,
}

/// Every stimulus of a study, in stimulus order.
#[derive(Debug, Clone)]
pub struct StimulusSet {
    images: Arc<Vec<Image>>,
}

impl StimulusSet {
    /// Draws the creatures or reads the files of `cfg` (errors name the file and what is wrong).
    pub fn load(cfg: &StudyConfig) -> Result<StimulusSet> {
        let st = &cfg.stimuli;
        let images = match st.kind {
            StimulusKind::Creatures => {
                let seed = st.seed.unwrap_or(cfg.study.seed);
                (0..cfg.n_stimuli())
                    .map(|n| Image {
                        content_type: "image/svg+xml",
                        bytes: creature_svg(seed, n).into(),
                    })
                    .collect()
            }
            StimulusKind::Files => {
                let dir = match &st.base {
                    Some(base) => base.join(&st.dir),
                    None => std::path::PathBuf::from(&st.dir),
                };
                let mut images = Vec::with_capacity(st.files.len());
                for (k, name) in st.files.iter().enumerate() {
                    let path = dir.join(name);
                    let key = format!("stimuli.files[{k}]");
                    let bad = |message: String| {
                        HumanError::config(&path.display().to_string(), key.clone(), message)
                    };
                    let bytes =
                        std::fs::read(&path).map_err(|e| bad(format!("cannot read: {e}")))?;
                    if bytes.len() > MAX_IMAGE_BYTES {
                        return Err(bad(format!(
                            "{} bytes, more than the {MAX_IMAGE_BYTES} allowed",
                            bytes.len()
                        )));
                    }
                    let content_type = image_content_type(name).expect("validated extension");
                    if !looks_like(content_type, &bytes) {
                        return Err(bad(format!(
                            "the file's first bytes are not those of {content_type}"
                        )));
                    }
                    images.push(Image {
                        content_type,
                        bytes: bytes.into(),
                    });
                }
                images
            }
        };
        Ok(StimulusSet {
            images: Arc::new(images),
        })
    }

    /// Stimulus `n` (callers check `n < cfg.n_stimuli()`).
    pub fn get(&self, n: usize) -> &Image {
        &self.images[n]
    }
}

/// Whether `bytes` start like a file of `content_type`.
fn looks_like(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => bytes.starts_with(&[0xff, 0xd8, 0xff]),
        "image/gif" => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        "image/webp" => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        "image/svg+xml" => {
            let head =
                String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
            head.contains("<svg")
        }
        _ => false,
    }
}

/// The canvas edge in SVG user units.
pub const SIZE: f64 = 256.0;

/// SplitMix64: a small, well-mixed 64-bit generator, enough for drawing shapes.
struct Draw(u64);

impl Draw {
    fn new(study_seed: u64, index: usize) -> Self {
        let mut draw = Draw(study_seed ^ 0x5eed_5717_u64.wrapping_mul(index as u64 + 1));
        draw.next();
        draw
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * unit
    }

    /// Uniform integer in [lo, hi] (inclusive).
    fn int(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }
}

/// The SVG text of creature `index` of a study whose stimulus seed is `study_seed`.
pub fn creature_svg(study_seed: u64, index: usize) -> String {
    let mut draw = Draw::new(study_seed, index);
    let hue = (index as f64 * 137.507_764 + draw.uniform(0.0, 40.0)) % 360.0;
    let body = format!(
        "hsl({hue:.0},{:.0}%,{:.0}%)",
        draw.uniform(45.0, 75.0),
        draw.uniform(45.0, 62.0)
    );
    let dark = format!("hsl({hue:.0},45%,25%)");
    let accent_hue = (hue + draw.uniform(120.0, 240.0)) % 360.0;
    let accent = format!("hsl({accent_hue:.0},70%,60%)");

    let (cx, cy) = (128.0, 140.0);
    let (rx, ry) = (draw.uniform(52.0, 82.0), draw.uniform(42.0, 72.0));
    let lobes = draw.int(3, 7);
    let wobble = draw.uniform(0.05, 0.22);
    let phase = draw.uniform(0.0, std::f64::consts::TAU);

    let mut svg = String::with_capacity(2600);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {SIZE} {SIZE}\" \
         width=\"{SIZE}\" height=\"{SIZE}\">\
         <rect width=\"{SIZE}\" height=\"{SIZE}\" fill=\"#f4f1ea\"/>"
    );

    // Legs below the body (drawn first so the body covers their roots).
    let legs = draw.int(0, 4) * 2;
    for leg in 0..legs {
        let x = cx - rx * 0.7 + (leg as f64 + 0.5) * (1.4 * rx / legs as f64);
        let bend = draw.uniform(-14.0, 14.0);
        let _ = write!(
            svg,
            "<path d=\"M{x:.1} {:.1} q{bend:.1} 24 {:.1} 44\" stroke=\"{dark}\" stroke-width=\"7\" \
             stroke-linecap=\"round\" fill=\"none\"/>",
            cy + ry * 0.6,
            bend * 0.5
        );
    }

    // Antennae on top.
    let antennae = draw.int(0, 3);
    for a in 0..antennae {
        let x = cx + (a as f64 - (antennae as f64 - 1.0) / 2.0) * draw.uniform(18.0, 30.0);
        let top = cy - ry - draw.uniform(18.0, 40.0);
        let lean = draw.uniform(-20.0, 20.0);
        let _ = write!(
            svg,
            "<path d=\"M{x:.1} {:.1} Q{:.1} {:.1} {:.1} {top:.1}\" stroke=\"{dark}\" \
             stroke-width=\"4\" fill=\"none\"/><circle cx=\"{:.1}\" cy=\"{top:.1}\" r=\"6\" \
             fill=\"{accent}\"/>",
            cy - ry * 0.8,
            x + lean,
            cy - ry - 10.0,
            x + lean * 1.5,
            x + lean * 1.5
        );
    }

    // The body: a closed outline r(θ) = 1 + wobble·sin(lobes·θ + phase) around an ellipse.
    svg.push_str("<path d=\"");
    let points = 72;
    for k in 0..points {
        let theta = k as f64 / points as f64 * std::f64::consts::TAU;
        let radius = 1.0 + wobble * (lobes as f64 * theta + phase).sin();
        let x = cx + rx * radius * theta.cos();
        let y = cy + ry * radius * theta.sin();
        let _ = write!(svg, "{}{x:.1} {y:.1} ", if k == 0 { "M" } else { "L" });
    }
    let _ = write!(
        svg,
        "Z\" fill=\"{body}\" stroke=\"{dark}\" stroke-width=\"3\"/>"
    );

    // Markings: spots or stripes.
    if draw.int(0, 1) == 0 {
        for _ in 0..draw.int(2, 6) {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{:.1}\" fill=\"{accent}\" opacity=\"0.7\"/>",
                cx + draw.uniform(-0.55, 0.55) * rx,
                cy + draw.uniform(0.0, 0.6) * ry,
                draw.uniform(4.0, 11.0)
            );
        }
    } else {
        for s in 0..draw.int(2, 4) {
            let y = cy + ry * (0.1 + 0.18 * s as f64);
            let _ = write!(
                svg,
                "<path d=\"M{:.1} {y:.1} q{:.1} 8 {:.1} 0\" stroke=\"{accent}\" stroke-width=\"5\" \
                 fill=\"none\" opacity=\"0.8\"/>",
                cx - rx * 0.5,
                rx * 0.5,
                rx
            );
        }
    }

    // Eyes in a row (one to four), each a white disc with a pupil looking one way.
    let eyes = draw.int(1, 4);
    let eye_r = draw.uniform(8.0, 15.0);
    let look = draw.uniform(-0.4, 0.4);
    for e in 0..eyes {
        let x = cx + (e as f64 - (eyes as f64 - 1.0) / 2.0) * (eye_r * 2.4);
        let y = cy - ry * 0.35;
        let _ = write!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{eye_r:.1}\" fill=\"#fff\" stroke=\"{dark}\" \
             stroke-width=\"2\"/><circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"{:.1}\" fill=\"#222\"/>",
            x + look * eye_r,
            eye_r * 0.45
        );
    }

    // A mouth: a smile, a line or an "o".
    let my = cy + ry * 0.1;
    match draw.int(0, 2) {
        0 => {
            let _ = write!(
                svg,
                "<path d=\"M{:.1} {my:.1} q18 14 36 0\" stroke=\"{dark}\" stroke-width=\"3\" fill=\"none\"/>",
                cx - 18.0
            );
        }
        1 => {
            let _ = write!(
                svg,
                "<path d=\"M{:.1} {my:.1} h30\" stroke=\"{dark}\" stroke-width=\"3\"/>",
                cx - 15.0
            );
        }
        _ => {
            let _ = write!(
                svg,
                "<circle cx=\"{cx:.1}\" cy=\"{my:.1}\" r=\"6\" fill=\"{dark}\"/>"
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_index_give_the_same_bytes() {
        assert_eq!(creature_svg(7, 3), creature_svg(7, 3));
    }

    #[test]
    fn creatures_of_a_study_differ_and_other_studies_differ() {
        let study: Vec<String> = (0..10).map(|i| creature_svg(7, i)).collect();
        for i in 0..study.len() {
            for j in i + 1..study.len() {
                assert_ne!(study[i], study[j], "creatures {i} and {j} are identical");
            }
        }
        assert_ne!(creature_svg(7, 0), creature_svg(8, 0));
    }

    #[test]
    fn svg_is_small_and_well_formed_enough_for_a_browser() {
        for i in 0..10 {
            let svg = creature_svg(20261123, i);
            assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
            assert!(svg.ends_with("</svg>"));
            // HUMAN-TASK §2.2 budget: under 100 kB an image.
            assert!(svg.len() < 100_000, "creature {i}: {} bytes", svg.len());
            assert!(!svg.contains("NaN") && !svg.contains("inf"));
            // Every element opened is closed (all are self-closing except the root).
            assert_eq!(svg.matches("<svg").count(), 1);
            assert_eq!(svg.matches('<').count(), svg.matches('>').count());
        }
    }
}
