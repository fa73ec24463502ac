//! The frontier's scatter chart (`frontier.png`).

use super::points::{Family, Format, Point};
use super::{frontier_of, speed, Dir, Measured};
use crate::compare::measure::num;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

type DrawResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The scatter chart: a row per page set, compress and decompress side by side; MB/s on a
/// log scale against ratio; frontier points joined; our points ringed.
pub(super) fn draw(path: &Path, res: &[Measured], font: bool) -> DrawResult<()> {
    let rows = res.len().max(1) as u32;
    let (w, h) = (1800u32, 760 * rows);
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let cells = root.split_evenly((rows as usize, 2));
    for (k, m) in res.iter().enumerate() {
        for (c, d) in [(0, Dir::Compress), (1, Dir::Decompress)] {
            let area = &cells[k * 2 + c];
            let pts = &m.points;
            let xs = pts.iter().map(|p| p.ratio);
            let (xmin, xmax) = xs.fold((f64::MAX, 0f64), |(a, b), x| (a.min(x), b.max(x)));
            let ys: Vec<f64> = pts
                .iter()
                .map(|p| speed(p, d))
                .filter(|&s| s > 0.0)
                .collect();
            let ymin = ys.iter().copied().fold(f64::MAX, f64::min) * 0.8;
            let ymax = ys.iter().copied().fold(1.0, f64::max) * 1.25;
            let title = format!(
                "{}: {} MB/s vs ratio",
                m.set.name,
                match d {
                    Dir::Compress => "compress",
                    Dir::Decompress => "decompress",
                }
            );
            let mut b = ChartBuilder::on(area);
            b.margin(14);
            if font {
                b.caption(title, ("sans-serif", 22))
                    .x_label_area_size(40)
                    .y_label_area_size(60);
            }
            let span = (xmax - xmin).max(0.1);
            let mut ch = b.build_cartesian_2d(
                (xmin - span * 0.05)..(xmax + span * 0.12),
                (ymin.max(0.1)..ymax).log_scale(),
            )?;
            if font {
                ch.configure_mesh()
                    .x_desc("compression ratio")
                    .y_desc("MB/s, one core (log)")
                    .y_label_formatter(&|v| num(*v))
                    .draw()?;
            }
            // The frontiers, among all points (grey) and among the zlib points (black), each
            // joining its points by ratio.
            let all: Vec<usize> = (0..pts.len()).collect();
            let zlib: Vec<usize> = all
                .iter()
                .copied()
                .filter(|&i| pts[i].format == Format::Zlib)
                .collect();
            for (keep, style, label) in [
                (&all, BLACK.mix(0.3).stroke_width(5), "frontier, all points"),
                (&zlib, BLACK.stroke_width(1), "frontier, zlib points"),
            ] {
                let mut on: Vec<usize> = keep
                    .iter()
                    .zip(frontier_of(pts, keep, d))
                    .filter_map(|(&i, o)| o.is_none().then_some(i))
                    .collect();
                on.sort_by(|&a, &b| pts[a].ratio.total_cmp(&pts[b].ratio));
                let line: Vec<(f64, f64)> = on
                    .iter()
                    .map(|&i| (pts[i].ratio, speed(&pts[i], d)))
                    .collect();
                let s = ch.draw_series(std::iter::once(PathElement::new(line, style)))?;
                if font && k == 0 && c == 0 {
                    s.label(label)
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], style));
                }
            }
            for fam in Family::ALL {
                let series: Vec<&Point> = pts.iter().filter(|p| p.family == fam).collect();
                let color = fam.color();
                let s = ch.draw_series(series.iter().map(|p| {
                    let xy = (p.ratio, speed(p, d));
                    if fam == Family::Ours {
                        EmptyElement::at(xy) + Circle::new((0, 0), 7, BLACK.stroke_width(2))
                    } else {
                        EmptyElement::at(xy) + Circle::new((0, 0), 4, color.filled())
                    }
                }))?;
                if font && k == 0 && c == 0 {
                    s.label(fam.name()).legend(move |(x, y)| {
                        if fam == Family::Ours {
                            Circle::new((x + 6, y), 6, BLACK.stroke_width(2))
                        } else {
                            Circle::new((x + 6, y), 4, color.filled())
                        }
                    });
                }
                if font {
                    let style = TextStyle::from(("sans-serif", 13).into_font())
                        .color(&color)
                        .pos(Pos::new(HPos::Left, VPos::Center));
                    for p in &series {
                        let (px, py) = ch.backend_coord(&(p.ratio, speed(p, d)));
                        let dy = if fam == Family::Ours { 12 } else { 0 };
                        root.draw(&Text::new(
                            p.short.clone(),
                            (px + 7, py + dy),
                            style.clone(),
                        ))?;
                    }
                }
            }
            if font && k == 0 && c == 0 {
                ch.configure_series_labels()
                    .position(SeriesLabelPosition::LowerLeft)
                    .background_style(WHITE.mix(0.9))
                    .border_style(BLACK)
                    .label_font(("sans-serif", 15))
                    .draw()?;
            }
        }
    }
    root.present()?;
    Ok(())
}
