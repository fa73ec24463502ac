//! `compare --frontier`: the 4 KiB page frontier (issue 13).
//!
//! QEMU's multifd `uadk` method compresses every non-zero guest page as one independent zlib
//! stream, through a session set up with `comp_lv` 0 and `win_sz` 0 (`WD_COMP_WS_4K`), which
//! this library serves as level 1 with a 4 KiB window. This module measures every codec and
//! level this machine has on such pages, one call per page on one core, both directions, and
//! finds which points no other beats on both speed and ratio: the frontier. Our stack's
//! points (a zlib session with a 4 KiB window at each UADK level) are measured beside the bare
//! codecs, so the report can say whether the engine's choice for each level lies on it.

mod chart;
mod points;
mod report;
mod runs;

use super::inputs::Input;
use super::measure::Stats;
use super::{Args, PAGE};
use crate::common::{Context, Result};
use chart::draw;
use points::Point;
use report::report;
use runs::measure;
use std::fs;

/// Window bits of QEMU's sessions (`WD_COMP_WS_4K`).
const WBITS: u8 = 12;
/// Output room per page: QEMU gives each page two pages of output.
const ROOM: usize = 2 * PAGE;
/// A point beats another only by this much speed, or by [`RATIO_MARGIN`] of ratio, beyond
/// being at least as good on both: runs on a shared machine differ by a few percent.
pub(super) const SPEED_MARGIN: f64 = 1.05;
/// Ratios are exact (the same bytes every run): a thousandth is a real difference.
pub(super) const RATIO_MARGIN: f64 = 1.001;
/// Pages of the VM image the training sample of the custom Huffman code takes (1 in N).
const TRAIN_EVERY: usize = 64;
/// zstd levels measured (negative: zstd's fast levels).
const ZSTD_LEVELS: [i32; 11] = [-5, -1, 1, 2, 3, 4, 6, 9, 12, 16, 19];

/// The pages of one input the frontier is measured on.
pub(super) struct PageSet {
    pub(super) name: String,
    pub(super) what: String,
    pub(super) pages: Vec<u8>,
}

/// Up to `max_bytes` of whole pages of `data`, evenly spread over it; all-zero pages left
/// out where `skip_zero` (QEMU's multifd finds zero pages itself and sends no data for them).
pub(super) fn sample_pages(data: &[u8], max_bytes: usize, skip_zero: bool) -> (Vec<u8>, usize) {
    let all: Vec<&[u8]> = data
        .chunks_exact(PAGE)
        .filter(|p| !skip_zero || p.iter().any(|&b| b != 0))
        .collect();
    let want = (max_bytes / PAGE).max(1).min(all.len());
    let mut out = Vec::with_capacity(want * PAGE);
    for k in 0..want {
        out.extend_from_slice(all[k * all.len() / want]);
    }
    (out, all.len())
}

/// The two page sets: the corpus and the VM image, each sampled to `max_bytes`.
pub(super) fn page_sets(inputs: &[Input], max_bytes: usize) -> Result<Vec<PageSet>> {
    let mut v = Vec::new();
    for input in inputs.iter().filter(|i| i.detailed) {
        let data = fs::read(&input.path).context(input.path.display())?;
        let vm = !input.main;
        let (pages, of) = sample_pages(&data, max_bytes, vm);
        let what = format!(
            "{} pages of 4 KiB{}, evenly spread over the {} {}",
            pages.len() / PAGE,
            if vm {
                " (zero pages left out, as QEMU sends none)"
            } else {
                ""
            },
            of,
            if vm { "non-zero pages" } else { "pages" }
        );
        v.push(PageSet {
            name: input.name.clone(),
            what,
            pages,
        });
    }
    Ok(v)
}

/// The measured points of one page set.
pub(super) struct Measured {
    pub(super) set: PageSet,
    pub(super) points: Vec<Point>,
    pub(super) errors: Vec<String>,
    /// The zlib decoders on the same pages: (encoding point, decoder, MB/s).
    pub(super) decoders: Vec<(String, &'static str, Stats)>,
}

/// Whether `q` beats `p`: at least as good on both, and better by a margin on one.
pub(super) fn beats(q: (f64, f64), p: (f64, f64)) -> bool {
    let ((qr, qs), (pr, ps)) = (q, p);
    qr >= pr && qs >= ps && (qs >= ps * SPEED_MARGIN || qr >= pr * RATIO_MARGIN)
}

/// For each (ratio, speed), the first other point that beats it (None: on the frontier).
pub(super) fn dominators(pts: &[(f64, f64)]) -> Vec<Option<usize>> {
    pts.iter()
        .enumerate()
        .map(|(i, &p)| {
            // The best dominator: the one with the highest speed.
            (0..pts.len())
                .filter(|&j| j != i && beats(pts[j], p))
                .max_by(|&a, &b| pts[a].1.total_cmp(&pts[b].1))
        })
        .collect()
}

/// A direction of the measurement.
#[derive(Clone, Copy)]
enum Dir {
    Compress,
    Decompress,
}

fn speed(p: &Point, d: Dir) -> f64 {
    match d {
        Dir::Compress => p.comp.median(),
        Dir::Decompress => p.decomp.median(),
    }
    .unwrap_or(0.0)
}

/// Dominators within `keep` (indices of the points), per point of `keep`.
fn frontier_of(points: &[Point], keep: &[usize], d: Dir) -> Vec<Option<usize>> {
    let pts: Vec<(f64, f64)> = keep
        .iter()
        .map(|&i| (points[i].ratio, speed(&points[i], d)))
        .collect();
    dominators(&pts)
        .into_iter()
        .map(|o| o.map(|j| keep[j]))
        .collect()
}

/// Measure the frontier on the detailed inputs, draw `OUT/frontier.png`, write
/// `OUT/frontier.md`; returns the markdown section.
pub(super) fn run(args: &Args, inputs: &[Input], font: bool) -> Result<String> {
    let mb = args.frontier_mb.unwrap_or(if args.quick { 2 } else { 16 }) as usize;
    let sets = page_sets(inputs, mb << 20)?;
    let res = measure(sets, args.runs, &args.frontier_points)?;
    let png = args.out.join("frontier.png");
    let chart = match draw(&png, &res, font) {
        Ok(()) => Some("frontier.png"),
        Err(e) => {
            eprintln!("compare: the frontier chart: {e}");
            None
        }
    };
    let md = report(&res, args.runs, chart);
    let path = args.out.join("frontier.md");
    fs::write(&path, &md).context(path.display())?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontier_with_margins() {
        // (ratio, MB/s): b beats a (same ratio, 10% faster); c is alone at its ratio;
        // d is 2% faster than c at the same ratio: within the noise, neither beats.
        let pts = [(2.0, 100.0), (2.0, 110.0), (3.0, 50.0), (3.0, 51.0)];
        let d = dominators(&pts);
        assert_eq!(d, vec![Some(1), None, None, None]);
        // A better ratio by 0.1% at the same speed beats.
        assert!(beats((2.002, 100.0), (2.0, 100.0)));
        assert!(!beats((2.002, 99.0), (2.0, 100.0)));
    }

    #[test]
    fn samples_spread_and_skip_zero_pages() {
        let mut data = vec![0u8; 10 * PAGE];
        for k in [1, 3, 5, 7, 9] {
            data[k * PAGE] = k as u8;
        }
        let (s, of) = sample_pages(&data, 2 * PAGE, true);
        assert_eq!(of, 5);
        assert_eq!(s.len(), 2 * PAGE);
        assert_eq!((s[0], s[PAGE]), (1, 5));
        let (s, of) = sample_pages(&data, 100 * PAGE, false);
        assert_eq!((s.len(), of), (10 * PAGE, 10));
    }
}
