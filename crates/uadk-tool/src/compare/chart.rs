//! The bar chart of the main input.

use super::measure::{num, Row};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::fs;
use std::path::{Path, PathBuf};

pub(super) struct ChartInfo {
    /// File name relative to the report, when drawn.
    pub(super) file: Option<String>,
    pub(super) labelled: bool,
    pub(super) error: String,
}

pub(super) fn bar_label(r: &Row) -> String {
    format!(
        "{}: {}, {}",
        r.desc.family.title(),
        r.desc.engine,
        r.desc.unit
    )
}

/// Find a TrueType font and give it to plotters as "sans-serif". `UADK_COMPARE_FONT`
/// names a font file, or `none` to draw without text.
pub(super) fn register_font() -> bool {
    let mut candidates: Vec<PathBuf> = Vec::new();
    match std::env::var_os("UADK_COMPARE_FONT") {
        Some(v) if v == "none" => return false,
        Some(v) => candidates.push(PathBuf::from(v)),
        None => {}
    }
    for p in [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    ] {
        candidates.push(PathBuf::from(p));
    }
    // Any other TrueType font of a Debian package.
    if let Ok(rd) = fs::read_dir("/usr/share/fonts/truetype") {
        for d in rd.filter_map(|e| e.ok()) {
            if let Ok(inner) = fs::read_dir(d.path()) {
                let mut fonts: Vec<PathBuf> = inner
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "ttf"))
                    .collect();
                fonts.sort();
                candidates.extend(fonts);
            }
        }
    }
    for p in candidates {
        let Ok(bytes) = fs::read(&p) else { continue };
        // plotters keeps fonts for the life of the process.
        let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        if plotters::style::register_font("sans-serif", FontStyle::Normal, leaked).is_ok() {
            return true;
        }
    }
    false
}

pub(super) const COMPRESS_COLOR: RGBColor = RGBColor(31, 119, 180);
pub(super) const DECOMPRESS_COLOR: RGBColor = RGBColor(255, 127, 14);
pub(super) const RATIO_COLOR: RGBColor = RGBColor(44, 160, 44);

pub(super) type DrawResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Horizontal bars, one row per contender: compress and decompress MB/s on the left,
/// ratio on the right. Without a font, the same bars without any text.
pub(super) fn draw_chart(path: &Path, title: &str, rows: &[Row], font: bool) -> DrawResult<()> {
    let rows: Vec<&Row> = rows.iter().filter(|r| r.error.is_none()).collect();
    let n = rows.len().max(1);
    let row_px = 28u32;
    let (top, bottom) = if font { (50u32, 45u32) } else { (12, 12) };
    let height = top + bottom + row_px * n as u32;
    let root = BitMapBackend::new(path, (1700, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(1330);
    let max_speed = rows
        .iter()
        .flat_map(|r| [r.comp.median(), r.decomp.median()])
        .flatten()
        .fold(1.0f64, f64::max)
        * 1.12;
    let max_ratio = rows.iter().filter_map(|r| r.ratio).fold(1.0f64, f64::max) * 1.15;
    let build = |area, x_max: f64, caption: &str, label_w: u32| -> DrawResult<_> {
        let mut b = ChartBuilder::on(area);
        b.margin(8).margin_top(if font { 8 } else { 4 });
        if font {
            b.caption(caption, ("sans-serif", 20))
                .y_label_area_size(label_w)
                .x_label_area_size(30);
        }
        Ok(b.build_cartesian_2d(0f64..x_max, 0f64..n as f64)?)
    };
    let mut speed = build(&left, max_speed, title, 420)?;
    let mut ratio = build(&right, max_ratio, "compression ratio", 10)?;
    if font {
        speed
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(0)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("MB/s (10^6 uncompressed bytes per second, one core)")
            .draw()?;
        ratio
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(0)
            .x_labels(6)
            .draw()?;
    }
    // Anchored at the top and moved up by hand. Sizes 12 and 14: plotters' ab_glyph
    // rounding puts full stops above the baseline at some sizes (11, 13).
    let text = |size: u32, h: HPos| {
        TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(h, VPos::Top))
    };
    let up = |size: u32| (size as i32 * 6) / 10;
    for (i, r) in rows.iter().enumerate() {
        let y = (n - 1 - i) as f64;
        let c = r.comp.median().unwrap_or(0.0);
        let d = r.decomp.median().unwrap_or(0.0);
        speed.draw_series([
            Rectangle::new([(0.0, y + 0.52), (c, y + 0.92)], COMPRESS_COLOR.filled()),
            Rectangle::new([(0.0, y + 0.08), (d, y + 0.48)], DECOMPRESS_COLOR.filled()),
        ])?;
        let q = r.ratio.unwrap_or(0.0);
        ratio.draw_series([Rectangle::new(
            [(0.0, y + 0.2), (q, y + 0.8)],
            RATIO_COLOR.filled(),
        )])?;
        if font {
            let (px, py) = speed.backend_coord(&(0.0, y + 0.5));
            root.draw(&Text::new(
                bar_label(r),
                (px - 6, py - up(14)),
                text(14, HPos::Right),
            ))?;
            for (v, yy) in [(c, y + 0.72), (d, y + 0.28)] {
                let (vx, vy) = speed.backend_coord(&(v, yy));
                root.draw(&Text::new(
                    num(v),
                    (vx + 4, vy - up(12)),
                    text(12, HPos::Left),
                ))?;
            }
            let (qx, qy) = ratio.backend_coord(&(q, y + 0.5));
            root.draw(&Text::new(
                format!("{q:.2}"),
                (qx + 4, qy - up(12)),
                text(12, HPos::Left),
            ))?;
        }
    }
    if font {
        for (label, color) in [
            ("compress MB/s", COMPRESS_COLOR),
            ("decompress MB/s", DECOMPRESS_COLOR),
        ] {
            speed
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                .label(label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        speed
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
