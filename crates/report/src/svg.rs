//! A small SVG line-plot writer (for inline use in HTML, so without an `xmlns`): a frame with ticks and labels on linear or log axes, shaded
//! bands (mean ± sd), polylines, dashed theory curves, scatter markers and a legend below the plot. Text uses
//! the generic `font-family="sans-serif"`, so no font files are needed; label widths are only
//! estimated (0.6 em per character) to truncate long legend entries.

use std::fmt::Write as _;

use crate::axis::Scale;
use crate::escape::escape;

/// Width of every figure, in px.
pub const WIDTH: f64 = 640.0;
const PLOT_HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 44.0;
const FONT: f64 = 11.0;
const LEGEND_ROW: f64 = 16.0;
/// The distance in px under which consecutive points are merged (see [`thin`]).
pub const THIN_PX: f64 = 0.5;

/// One curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The legend entry.
    pub label: String,
    /// An SVG colour, e.g. `#1f77b4`.
    pub color: String,
    /// `(x, y)` in data units, in drawing order; non-finite points break the line.
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed (theory curves).
    pub dashed: bool,
    /// Drawn as a small circle (r = 2) at every finite point and no polyline (scatter plots;
    /// the points are not thinned), with a circle as legend swatch.
    pub markers: bool,
}

/// A shaded region between two curves (e.g. mean − sd to mean + sd).
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// An SVG colour, drawn with low opacity.
    pub color: String,
    /// `(x, low, high)` in data units, in x order.
    pub points: Vec<(f64, f64, f64)>,
}

/// A line plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// Drawn above the frame.
    pub title: String,
    /// Below the x axis.
    pub x_label: String,
    /// Left of the y axis, rotated.
    pub y_label: String,
    /// The x scale.
    pub x: Scale,
    /// The y scale.
    pub y: Scale,
    /// Shaded bands, drawn first.
    pub bands: Vec<Band>,
    /// Curves, drawn over the bands, each with a legend entry.
    pub lines: Vec<Line>,
}

/// `v` with at most two decimals, for coordinates.
fn c(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// Pixel-space thinning: a point is kept when it is at least [`THIN_PX`] from the last kept
/// point in x or y; the first and last points are always kept. Invisible at screen
/// resolution, and it bounds the size of long dense series.
pub fn thin(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(points.len().min(4096));
    for (i, &p) in points.iter().enumerate() {
        let keep = match out.last() {
            None => true,
            Some(&(x, y)) => {
                i + 1 == points.len() || (p.0 - x).abs() >= THIN_PX || (p.1 - y).abs() >= THIN_PX
            }
        };
        if keep {
            out.push(p);
        }
    }
    out
}

/// [`thin`] for band edges `(x, low, high)`: kept when x or either edge moved.
fn thin_band(points: &[(f64, f64, f64)]) -> Vec<(f64, f64, f64)> {
    let mut out: Vec<(f64, f64, f64)> = Vec::new();
    for (i, &p) in points.iter().enumerate() {
        let keep = match out.last() {
            None => true,
            Some(&(x, lo, hi)) => {
                i + 1 == points.len()
                    || (p.0 - x).abs() >= THIN_PX
                    || (p.1 - lo).abs() >= THIN_PX
                    || (p.2 - hi).abs() >= THIN_PX
            }
        };
        if keep {
            out.push(p);
        }
    }
    out
}

impl Plot {
    /// The figure's height: the plot plus one legend row per line.
    pub fn height(&self) -> f64 {
        PLOT_HEIGHT
            + LEGEND_ROW * self.lines.len() as f64
            + if self.lines.is_empty() { 0.0 } else { 6.0 }
    }

    fn px(&self, x: f64) -> f64 {
        LEFT + self.x.unit(x) * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        PLOT_HEIGHT - BOTTOM - self.y.unit(y) * (PLOT_HEIGHT - BOTTOM - TOP)
    }

    /// The `<svg>` element (no XML prolog; meant to be inlined in HTML).
    pub fn to_svg(&self) -> String {
        let h = self.height();
        let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, TOP, PLOT_HEIGHT - BOTTOM);
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="{FONT}" role="img">"#,
            w = c(WIDTH),
            h = c(h)
        );
        let _ = write!(s, "<title>{}</title>", escape(&self.title));
        let _ = write!(
            s,
            r#"<text x="{}" y="16" text-anchor="middle" font-size="13">{}</text>"#,
            c(WIDTH / 2.0),
            escape(&self.title)
        );
        // Grid and ticks.
        for (v, label) in self.x.ticks() {
            let x = self.px(v);
            let _ = write!(
                s,
                r##"<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="#e4e4e4"/><line x1="{x}" y1="{y1}" x2="{x}" y2="{yt}" stroke="#444"/><text x="{x}" y="{yl}" text-anchor="middle">{l}</text>"##,
                x = c(x),
                y0 = c(y0),
                y1 = c(y1),
                yt = c(y1 + 4.0),
                yl = c(y1 + 16.0),
                l = escape(&label)
            );
        }
        for (v, label) in self.y.ticks() {
            let y = self.py(v);
            let _ = write!(
                s,
                r##"<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#e4e4e4"/><line x1="{xt}" y1="{y}" x2="{x0}" y2="{y}" stroke="#444"/><text x="{xl}" y="{yb}" text-anchor="end">{l}</text>"##,
                x0 = c(x0),
                x1 = c(x1),
                xt = c(x0 - 4.0),
                xl = c(x0 - 6.0),
                y = c(y),
                yb = c(y + 4.0),
                l = escape(&label)
            );
        }
        let _ = write!(
            s,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
            c(x0),
            c(y0),
            c(x1 - x0),
            c(y1 - y0)
        );
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            c((x0 + x1) / 2.0),
            c(y1 + 32.0),
            escape(&self.x_label)
        );
        let _ = write!(
            s,
            r#"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            c((y0 + y1) / 2.0),
            escape(&self.y_label)
        );
        // Bands, clamped to the frame.
        let clamp_y = |y: f64| y.clamp(y0, y1);
        for band in &self.bands {
            let pts: Vec<(f64, f64, f64)> = band
                .points
                .iter()
                .map(|&(x, lo, hi)| (self.px(x), self.py(lo), self.py(hi)))
                .filter(|(x, _, hi)| x.is_finite() && hi.is_finite())
                .map(|(x, lo, hi)| {
                    (
                        x,
                        if lo.is_finite() { clamp_y(lo) } else { y1 },
                        clamp_y(hi),
                    )
                })
                .collect();
            let pts = thin_band(&pts);
            if pts.len() < 2 {
                continue;
            }
            let mut d = String::new();
            for (x, _, hi) in &pts {
                let _ = write!(d, "{},{} ", c(*x), c(*hi));
            }
            for (x, lo, _) in pts.iter().rev() {
                let _ = write!(d, "{},{} ", c(*x), c(*lo));
            }
            let _ = write!(
                s,
                r#"<polygon points="{}" fill="{}" fill-opacity="0.18" stroke="none"/>"#,
                d.trim_end(),
                escape(&band.color)
            );
        }
        // Lines, broken at non-finite points; marker series as circles.
        for line in &self.lines {
            if line.markers {
                let _ = write!(s, r#"<g fill="{}">"#, escape(&line.color));
                for &(x, y) in &line.points {
                    let (px, py) = (self.px(x), self.py(y));
                    if px.is_finite() && py.is_finite() {
                        let _ = write!(s, r#"<circle cx="{}" cy="{}" r="2"/>"#, c(px), c(py));
                    }
                }
                s.push_str("</g>");
                continue;
            }
            let dash = if line.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let flush = |seg: &mut Vec<String>, s: &mut String| {
                if seg.len() >= 2 {
                    let _ = write!(
                        s,
                        r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.6"{dash}/>"#,
                        seg.join(" "),
                        escape(&line.color)
                    );
                } else if seg.len() == 1 {
                    let (x, y) = seg[0].split_once(',').unwrap_or(("0", "0"));
                    let _ = write!(
                        s,
                        r#"<circle cx="{x}" cy="{y}" r="2" fill="{}"/>"#,
                        escape(&line.color)
                    );
                }
                seg.clear();
            };
            let mut run: Vec<(f64, f64)> = Vec::new();
            let emit = |run: &mut Vec<(f64, f64)>, s: &mut String| {
                let mut seg: Vec<String> = thin(run)
                    .iter()
                    .map(|(x, y)| format!("{},{}", c(*x), c(*y)))
                    .collect();
                flush(&mut seg, s);
                run.clear();
            };
            for &(x, y) in &line.points {
                let (px, py) = (self.px(x), self.py(y));
                if px.is_finite() && py.is_finite() {
                    run.push((px, py));
                } else {
                    emit(&mut run, &mut s);
                }
            }
            emit(&mut run, &mut s);
        }
        // Legend below the axis label.
        let max_chars = ((WIDTH - LEFT - 40.0) / (0.6 * FONT)) as usize;
        for (i, line) in self.lines.iter().enumerate() {
            let y = PLOT_HEIGHT + 4.0 + LEGEND_ROW * i as f64;
            let dash = if line.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let mut label: String = line.label.chars().take(max_chars).collect();
            if line.label.chars().count() > max_chars {
                label.pop();
                label.push('…');
            }
            if line.markers {
                let _ = write!(
                    s,
                    r#"<circle cx="{}" cy="{}" r="3" fill="{}"/><text x="{}" y="{}">{}</text>"#,
                    c(LEFT + 12.0),
                    c(y),
                    escape(&line.color),
                    c(LEFT + 30.0),
                    c(y + 4.0),
                    escape(&label)
                );
                continue;
            }
            let _ = write!(
                s,
                r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
                c(LEFT),
                c(y),
                c(LEFT + 24.0),
                c(y),
                escape(&line.color),
                c(LEFT + 30.0),
                c(y + 4.0),
                escape(&label)
            );
        }
        s.push_str("</svg>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plot() -> Plot {
        Plot {
            title: "loss <train>".into(),
            x_label: "step".into(),
            y_label: "loss".into(),
            x: Scale::log_for(1.0, 1000.0),
            y: Scale::linear_for(0.0, 1.0),
            bands: vec![Band {
                color: "#1f77b4".into(),
                points: vec![(1.0, 0.1, 0.3), (10.0, 0.2, 0.4), (100.0, -5.0, 0.5)],
            }],
            lines: vec![
                Line {
                    label: "mean, N = 3".into(),
                    color: "#1f77b4".into(),
                    points: vec![(1.0, 0.2), (10.0, f64::NAN), (100.0, 0.4), (1000.0, 0.5)],
                    dashed: false,
                    markers: false,
                },
                Line {
                    label: "theory".into(),
                    color: "#333".into(),
                    points: vec![(1.0, 0.0), (1000.0, 1.0)],
                    dashed: true,
                    markers: false,
                },
            ],
        }
    }

    #[test]
    fn svg_structure() {
        let s = plot().to_svg();
        assert!(s.starts_with("<svg ") && s.ends_with("</svg>"));
        assert!(s.contains("loss &lt;train&gt;"));
        assert!(s.contains(r#"font-family="sans-serif""#));
        assert_eq!(s.matches("<polygon").count(), 1);
        // The NaN breaks the first line: a lone point, then a polyline; plus the theory line.
        assert_eq!(s.matches("<circle").count(), 1);
        assert_eq!(s.matches("<polyline").count(), 2);
        assert_eq!(s.matches("stroke-dasharray").count(), 2); // curve + legend swatch
        assert!(s.contains(">N = 3<") || s.contains("mean, N = 3"));
        assert!(s.contains(">1000<") && s.contains(">0.4<"), "{s}");
    }

    #[test]
    fn thinning_keeps_ends_and_visible_moves() {
        let dense: Vec<(f64, f64)> = (0..1000).map(|i| (i as f64 * 0.01, 5.0)).collect();
        let t = thin(&dense);
        assert_eq!(t.first(), dense.first());
        assert_eq!(t.last(), dense.last());
        assert!(t.len() <= 22, "{}", t.len());
        let jump = [(0.0, 0.0), (0.1, 0.0), (0.2, 3.0), (0.3, 3.0)];
        assert_eq!(thin(&jump), vec![(0.0, 0.0), (0.2, 3.0), (0.3, 3.0)]);
        assert_eq!(
            thin_band(&[(0.0, 1.0, 2.0), (0.1, 1.0, 2.0), (0.2, 1.0, 2.0)]).len(),
            2
        );
    }

    #[test]
    fn markers_are_circles_without_polyline() {
        let mut p = plot();
        p.bands.clear();
        p.lines = vec![Line {
            label: "class 3".into(),
            color: "#d62728".into(),
            points: vec![(1.0, 0.2), (10.0, f64::NAN), (100.0, 0.4), (100.0, 0.4)],
            dashed: false,
            markers: true,
        }];
        let s = p.to_svg();
        assert_eq!(s.matches("<polyline").count(), 0, "{s}");
        // Three finite points (a repeated point is not thinned away) plus the legend swatch.
        assert_eq!(s.matches(r#"r="2"/>"#).count(), 3, "{s}");
        assert_eq!(s.matches(r##"r="3" fill="#d62728"/>"##).count(), 1, "{s}");
        assert!(s.contains(r##"<g fill="#d62728">"##) && s.contains(">class 3<"));
    }

    #[test]
    fn height_grows_with_legend() {
        let mut p = plot();
        let h = p.height();
        p.lines.pop();
        assert_eq!(p.height(), h - LEGEND_ROW);
    }
}
