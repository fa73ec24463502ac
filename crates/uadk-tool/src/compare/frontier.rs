//! `compare --frontier`: the 4 KiB page frontier (issue 13).
//!
//! QEMU's multifd `uadk` method compresses every non-zero guest page as one independent zlib
//! stream, through a session set up with `comp_lv` 0 and `win_sz` 0 (`WD_COMP_WS_4K`), which
//! this library serves as level 1 with a 4 KiB window. This module measures every codec and
//! level this machine has on such pages, one call per page on one core, both directions, and
//! finds which points no other beats on both speed and ratio: the frontier. Our stack's
//! points (a zlib session with a 4 KiB window at each UADK level) are measured beside the bare
//! codecs, so the report can say whether the engine's choice for each level lies on it.

use super::clock::thread_cpu_secs;
use super::inputs::Input;
use super::measure::{mb_per_s, num, Stats};
use super::{Args, PAGE};
use crate::common::{Context, Error, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use uadk::drv::cpu::isal::{HuffTables, Huffman, IsalDeflate, IsalInflate, Wrapper};
use uadk::{Alg, Comp, CompConfig, CtxMode, Level, OpType, Session, SessionSetup, WindowSize};

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

/// Who made a point: the colour and the legend of the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Isal,
    Libdeflate,
    ZlibRs,
    Lz4,
    Zstd,
    /// Our stack: `Session::process` on a zlib (or lz4) session, CPU engine.
    Ours,
}

impl Family {
    fn name(self) -> &'static str {
        match self {
            Family::Isal => "ISA-L",
            Family::Libdeflate => "libdeflate",
            Family::ZlibRs => "zlib-rs",
            Family::Lz4 => "lz4_flex",
            Family::Zstd => "zstd",
            Family::Ours => "uadk stack",
        }
    }

    fn color(self) -> RGBColor {
        match self {
            Family::Isal => RGBColor(31, 119, 180),
            Family::Libdeflate => RGBColor(44, 160, 44),
            Family::ZlibRs => RGBColor(148, 103, 189),
            Family::Lz4 => RGBColor(255, 127, 14),
            Family::Zstd => RGBColor(214, 39, 40),
            Family::Ours => RGBColor(0, 0, 0),
        }
    }

    const ALL: [Family; 6] = [
        Family::Isal,
        Family::Libdeflate,
        Family::ZlibRs,
        Family::Lz4,
        Family::Zstd,
        Family::Ours,
    ];
}

/// What a point's pages are: only zlib streams are what a zlib session may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Zlib,
    Lz4Block,
    ZstdFrame,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Zlib => "zlib",
            Format::Lz4Block => "lz4 block",
            Format::ZstdFrame => "zstd frame",
        }
    }
}

/// The state that serves one point's calls.
enum Codec {
    Isal(Box<IsalDeflate>, IsalInflate),
    Libdeflate(libdeflater::Compressor, libdeflater::Decompressor),
    ZlibRs(flate2::Compress, flate2::Decompress),
    Lz4,
    Zstd(
        zstd::bulk::Compressor<'static>,
        zstd::bulk::Decompressor<'static>,
    ),
    Stack {
        _comp: Comp,
        c: Session,
        d: Session,
    },
}

impl Codec {
    fn compress(&mut self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
        let e = |what: &str| Error::msg(format!("{what} failed on a page"));
        Ok(match self {
            Codec::Isal(c, _) => c
                .compress(src, dst, Wrapper::Zlib, WBITS as u32)
                .map_err(|_| e("ISA-L"))?,
            Codec::Libdeflate(c, _) => c.zlib_compress(src, dst).map_err(|_| e("libdeflate"))?,
            Codec::ZlibRs(c, _) => {
                c.reset();
                match c.compress(src, dst, flate2::FlushCompress::Finish) {
                    Ok(flate2::Status::StreamEnd) => c.total_out() as usize,
                    _ => return Err(e("zlib-rs")),
                }
            }
            Codec::Lz4 => lz4_flex::block::compress_into(src, dst).map_err(|_| e("lz4_flex"))?,
            Codec::Zstd(c, _) => c.compress_to_buffer(src, dst).map_err(|_| e("zstd"))?,
            Codec::Stack { c, .. } => c.process(src, dst)?,
        })
    }

    fn decompress(&mut self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
        let e = |what: &str| Error::msg(format!("{what} failed to decompress a page"));
        Ok(match self {
            Codec::Isal(_, d) => {
                d.decompress(src, dst, Wrapper::Zlib)
                    .map_err(|_| e("ISA-L"))?
                    .1
            }
            Codec::Libdeflate(_, d) => d.zlib_decompress(src, dst).map_err(|_| e("libdeflate"))?,
            Codec::ZlibRs(_, d) => {
                d.reset(true);
                match d.decompress(src, dst, flate2::FlushDecompress::Finish) {
                    Ok(flate2::Status::StreamEnd) => d.total_out() as usize,
                    _ => return Err(e("zlib-rs")),
                }
            }
            Codec::Lz4 => lz4_flex::block::decompress_into(src, dst).map_err(|_| e("lz4_flex"))?,
            Codec::Zstd(_, d) => d.decompress_to_buffer(src, dst).map_err(|_| e("zstd"))?,
            Codec::Stack { d, .. } => d.process(src, dst)?,
        })
    }
}

/// One point: a codec at a level, measured on every page of an input.
pub(super) struct Point {
    pub(super) family: Family,
    pub(super) format: Format,
    /// As the tables and the chart name it: "libdeflate 6", "uadk L1".
    pub(super) name: String,
    /// Beside the dot on the chart.
    pub(super) short: String,
    /// Our stack: the UADK level of the session.
    pub(super) level: Option<u32>,
    codec: Codec,
    pub(super) ratio: f64,
    pub(super) comp: Stats,
    pub(super) decomp: Stats,
    packed: Vec<u8>,
    ranges: Vec<(usize, usize)>,
}

impl Point {
    fn new(family: Family, format: Format, name: String, short: String, codec: Codec) -> Point {
        Point {
            family,
            format,
            name,
            short,
            level: None,
            codec,
            ratio: 0.0,
            comp: Stats::default(),
            decomp: Stats::default(),
            packed: Vec::new(),
            ranges: Vec::new(),
        }
    }

    /// Untimed: compress every page once, keep the pages for the decompression runs, and
    /// check that each comes back.
    fn prepare(&mut self, pages: &[u8], out: &mut [u8], back: &mut [u8]) -> Result<()> {
        self.packed = Vec::with_capacity(pages.len());
        self.ranges = Vec::with_capacity(pages.len() / PAGE);
        for p in pages.chunks(PAGE) {
            let n = self.codec.compress(p, out)?;
            self.ranges.push((self.packed.len(), n));
            self.packed.extend_from_slice(&out[..n]);
        }
        for (p, &(s, l)) in pages.chunks(PAGE).zip(&self.ranges) {
            let m = self.codec.decompress(&self.packed[s..s + l], back)?;
            if back[..m] != *p {
                return Err(Error::msg(format!(
                    "{}: a page came back different",
                    self.name
                )));
            }
        }
        self.ratio = pages.len() as f64 / self.packed.len().max(1) as f64;
        Ok(())
    }

    // Not inlined: `valgrind --tool=callgrind --toggle-collect='*time_compress*'` counts
    // the timed calls alone.
    #[inline(never)]
    fn time_compress(&mut self, pages: &[u8], out: &mut [u8]) -> Result<f64> {
        let mut total = 0usize;
        let t0 = thread_cpu_secs();
        for p in pages.chunks(PAGE) {
            total += self.codec.compress(p, out)?;
        }
        let secs = thread_cpu_secs() - t0;
        if total != self.packed.len() {
            return Err(Error::msg(format!(
                "{}: output size changed between runs",
                self.name
            )));
        }
        Ok(mb_per_s(pages.len(), secs))
    }

    #[inline(never)]
    fn time_decompress(&mut self, pages: &[u8], back: &mut [u8]) -> Result<f64> {
        let mut total = 0usize;
        let t0 = thread_cpu_secs();
        for &(s, l) in &self.ranges {
            total += self.codec.decompress(&self.packed[s..s + l], back)?;
        }
        let secs = thread_cpu_secs() - t0;
        if total != pages.len() {
            return Err(Error::msg(format!("{}: {total} bytes back", self.name)));
        }
        Ok(mb_per_s(pages.len(), secs))
    }
}

fn zlib_level(l: u32) -> Result<libdeflater::CompressionLvl> {
    libdeflater::CompressionLvl::new(l as i32)
        .map_err(|e| Error::msg(format!("libdeflate level {l}: {e:?}")))
}

/// A stack session pair: zlib with QEMU's window at a UADK level, or lz4.
fn stack(alg: Alg, level: u32) -> Result<Codec> {
    stack_at(alg, Level::new(level)?)
}

/// A stack session pair at any level the algorithm takes (zstd's own levels included).
fn stack_at(alg: Alg, level: Level) -> Result<Codec> {
    let comp = Comp::new(
        CompConfig::new()
            .alg(alg)
            .ctxs(CtxMode::Sync, OpType::Compress, 1)
            .ctxs(CtxMode::Sync, OpType::Decompress, 1)
            .ctxs(CtxMode::Async, OpType::Compress, 0)
            .ctxs(CtxMode::Async, OpType::Decompress, 0),
    )?;
    let c = comp.session(
        &SessionSetup::new(alg, OpType::Compress)
            .level(level)
            .window(WindowSize::W4K),
    )?;
    let d = comp.session(&SessionSetup::new(alg, OpType::Decompress).window(WindowSize::W4K))?;
    Ok(Codec::Stack { _comp: comp, c, d })
}

/// The UADK levels whose engine choice is a distinct codec setting, measured through the
/// stack (13..15 are served as 12).
pub(super) const OUR_LEVELS: [u32; 12] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

/// zstd levels measured through the stack (a zstd session with a 4 KiB window).
pub(super) const OUR_ZSTD_LEVELS: [i32; 3] = [-1, 1, 3];

/// Every point: each codec at each of its levels, and ours. `train` is the sample a custom
/// Huffman code is built from.
fn points(train: &[u8]) -> Result<Vec<Point>> {
    let mut v = Vec::new();
    let isal = |lvl: u32, h: Huffman| {
        let mut c = Box::new(IsalDeflate::new(lvl));
        c.set_huffman(h);
        Codec::Isal(c, IsalInflate::new())
    };
    let trained = HuffTables::from_samples(train.chunks(PAGE))
        .ok_or_else(|| Error::msg("ISA-L refused the custom Huffman code"))?;
    for (h, name, short) in [
        (Huffman::Fixed, "ISA-L 0, fixed code", "isal0f"),
        (Huffman::Default, "ISA-L 0", "isal0"),
        (Huffman::Custom(trained), "ISA-L 0, trained code", "isal0t"),
    ] {
        v.push(Point::new(
            Family::Isal,
            Format::Zlib,
            name.into(),
            short.into(),
            isal(0, h),
        ));
    }
    for l in 1..=3 {
        v.push(Point::new(
            Family::Isal,
            Format::Zlib,
            format!("ISA-L {l}"),
            format!("isal{l}"),
            isal(l, Huffman::Default),
        ));
    }
    for l in 1..=12 {
        v.push(Point::new(
            Family::Libdeflate,
            Format::Zlib,
            format!("libdeflate {l}"),
            format!("ld{l}"),
            Codec::Libdeflate(
                libdeflater::Compressor::new(zlib_level(l)?),
                libdeflater::Decompressor::new(),
            ),
        ));
    }
    for l in 1..=9 {
        v.push(Point::new(
            Family::ZlibRs,
            Format::Zlib,
            format!("zlib-rs {l}"),
            format!("z{l}"),
            Codec::ZlibRs(
                flate2::Compress::new_with_window_bits(flate2::Compression::new(l), true, WBITS),
                flate2::Decompress::new_with_window_bits(true, WBITS),
            ),
        ));
    }
    v.push(Point::new(
        Family::Lz4,
        Format::Lz4Block,
        "lz4_flex".into(),
        "lz4".into(),
        Codec::Lz4,
    ));
    for l in ZSTD_LEVELS {
        let mut c = zstd::bulk::Compressor::new(l)
            .map_err(|e| Error::msg(format!("zstd level {l}: {e}")))?;
        c.set_parameter(zstd::stream::raw::CParameter::WindowLog(WBITS as u32))
            .map_err(|e| Error::msg(format!("zstd window: {e}")))?;
        let d = zstd::bulk::Decompressor::new()
            .map_err(|e| Error::msg(format!("zstd decompressor: {e}")))?;
        v.push(Point::new(
            Family::Zstd,
            Format::ZstdFrame,
            format!("zstd {l}"),
            format!("zs{l}"),
            Codec::Zstd(c, d),
        ));
    }
    for l in OUR_LEVELS {
        let mut p = Point::new(
            Family::Ours,
            Format::Zlib,
            format!("uadk L{l}"),
            format!("L{l}"),
            stack(Alg::Zlib, l)?,
        );
        p.level = Some(l);
        v.push(p);
    }
    v.push(Point::new(
        Family::Ours,
        Format::Lz4Block,
        "uadk lz4".into(),
        "Llz4".into(),
        stack(Alg::Lz4, 1)?,
    ));
    for l in OUR_ZSTD_LEVELS {
        v.push(Point::new(
            Family::Ours,
            Format::ZstdFrame,
            format!("uadk zstd {l}"),
            format!("Lzs{l}"),
            stack_at(Alg::Zstd, Level::zstd(l)?)?,
        ));
    }
    Ok(v)
}

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

/// The zlib decoders a CPU engine could use, each on the pages of a few encodings.
enum Decoder {
    Isal(IsalInflate),
    Libdeflate(libdeflater::Decompressor),
    ZlibRs(flate2::Decompress),
    Stack(Codec),
}

impl Decoder {
    const NAMES: [&'static str; 4] = [
        "ISA-L (isal_inflate_stateless)",
        "libdeflate",
        "zlib-rs (flate2)",
        "uadk stack (engine's block inflate)",
    ];

    fn all() -> Result<Vec<Decoder>> {
        Ok(vec![
            Decoder::Isal(IsalInflate::new()),
            Decoder::Libdeflate(libdeflater::Decompressor::new()),
            // 15 window bits: libdeflate's streams declare 32 KiB.
            Decoder::ZlibRs(flate2::Decompress::new_with_window_bits(true, 15)),
            Decoder::Stack(stack(Alg::Zlib, 1)?),
        ])
    }

    fn run(&mut self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
        let e = || Error::msg("a decoder refused a page");
        Ok(match self {
            Decoder::Isal(d) => d.decompress(src, dst, Wrapper::Zlib).map_err(|_| e())?.1,
            Decoder::Libdeflate(d) => d.zlib_decompress(src, dst).map_err(|_| e())?,
            Decoder::ZlibRs(d) => {
                d.reset(true);
                match d.decompress(src, dst, flate2::FlushDecompress::Finish) {
                    Ok(flate2::Status::StreamEnd) => d.total_out() as usize,
                    _ => return Err(e()),
                }
            }
            Decoder::Stack(c) => c.decompress(src, dst)?,
        })
    }
}

/// Encodings whose pages every decoder inflates: ISA-L 1 (our level 1), the trained code,
/// libdeflate 6 (our level 6), zlib-rs 6.
const DECODED: [&str; 4] = ["isal1", "isal0t", "ld6", "z6"];

/// Every decoder on the pages of each [`DECODED`] point, `runs` times, interleaved.
fn measure_decoders(
    points: &[Point],
    pages: &[u8],
    runs: u32,
) -> Result<Vec<(String, &'static str, Stats)>> {
    let mut decs = Decoder::all()?;
    let mut back = vec![0u8; PAGE];
    let enc: Vec<&Point> = DECODED
        .iter()
        .filter_map(|k| points.iter().find(|p| p.short == *k))
        .collect();
    let mut stats = vec![Stats::default(); enc.len() * decs.len()];
    for run in 0..runs {
        for (e, p) in enc.iter().enumerate() {
            for k in 0..decs.len() {
                let d = if run % 2 == 0 { k } else { decs.len() - 1 - k };
                let mut total = 0usize;
                let t0 = thread_cpu_secs();
                for &(s, l) in &p.ranges {
                    total += decs[d].run(&p.packed[s..s + l], &mut back).map_err(|e| {
                        Error::msg(format!("{} on {}: {e}", Decoder::NAMES[d], p.name))
                    })?;
                }
                let secs = thread_cpu_secs() - t0;
                if total != pages.len() {
                    return Err(Error::msg(format!("{}: {total} bytes back", p.name)));
                }
                stats[e * decs.len() + d]
                    .0
                    .push(mb_per_s(pages.len(), secs));
            }
        }
    }
    let mut out = Vec::new();
    for (e, p) in enc.iter().enumerate() {
        for (d, name) in Decoder::NAMES.iter().enumerate() {
            out.push((p.name.clone(), *name, stats[e * decs.len() + d].clone()));
        }
    }
    Ok(out)
}

/// Measure every point on every page set, `runs` times, interleaved.
pub(super) fn measure(sets: Vec<PageSet>, runs: u32, only: &[String]) -> Result<Vec<Measured>> {
    let mut out = vec![0u8; ROOM];
    let mut back = vec![0u8; PAGE];
    let mut res = Vec::new();
    for set in sets {
        // The trained code learns from 1 page in TRAIN_EVERY of the set itself: what an
        // engine could learn from the first pages of a migration.
        let train: Vec<u8> = set
            .pages
            .chunks(PAGE)
            .step_by(TRAIN_EVERY)
            .flatten()
            .copied()
            .collect();
        let mut points = points(&train)?;
        if !only.is_empty() {
            points.retain(|p| only.contains(&p.short));
        }
        let mut errors = Vec::new();
        let mut ok = vec![true; points.len()];
        eprintln!(
            "compare: page frontier on {} ({} pages), {} points",
            set.name,
            set.pages.len() / PAGE,
            points.len()
        );
        for (p, ok) in points.iter_mut().zip(ok.iter_mut()) {
            if let Err(e) = p.prepare(&set.pages, &mut out, &mut back) {
                errors.push(format!("{}: {e}", p.name));
                *ok = false;
            }
        }
        let n = points.len();
        for run in 0..runs {
            eprintln!("compare:   frontier run {}/{runs}", run + 1);
            let order: Vec<usize> = if run % 2 == 0 {
                (0..n).collect()
            } else {
                (0..n).rev().collect()
            };
            for &i in &order {
                if !ok[i] {
                    continue;
                }
                let p = &mut points[i];
                let r = p.time_compress(&set.pages, &mut out).and_then(|c| {
                    p.comp.0.push(c);
                    p.time_decompress(&set.pages, &mut back)
                });
                match r {
                    Ok(d) => p.decomp.0.push(d),
                    Err(e) => {
                        errors.push(format!("{}: {e}", p.name));
                        ok[i] = false;
                    }
                }
            }
        }
        points = points
            .into_iter()
            .zip(ok)
            .filter_map(|(p, ok)| ok.then_some(p))
            .collect();
        let decoders = match measure_decoders(&points, &set.pages, runs) {
            Ok(d) => d,
            Err(e) => {
                errors.push(format!("decoders: {e}"));
                Vec::new()
            }
        };
        res.push(Measured {
            set,
            points,
            errors,
            decoders,
        });
    }
    Ok(res)
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

/// The engine's codec for a zlib request of one page at a UADK level, as the engine says.
pub(super) fn engine_choice(level: u32) -> String {
    let params = uadk::ReqParams {
        alg: Alg::Zlib,
        op: OpType::Compress,
        level: Level::new(level).unwrap_or(Level::L1),
        window: WindowSize::W4K,
    };
    uadk::drv::cpu::deflate_codec(&params, PAGE).to_string()
}

/// The markdown section.
pub(super) fn report(res: &[Measured], runs: u32, chart: Option<&str>) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "### The 4 KiB page frontier\n");
    let _ = writeln!(
        md,
        "One independent stream per 4 KiB page, one call per page, buffers reused, on one \
         core: QEMU's multifd `uadk` pattern (zlib, `comp_lv` 0 = level 1, `win_sz` 0 = a \
         4 KiB window). zlib points use 12 window bits where the codec takes them (ISA-L's \
         `hist_bits`, zlib-rs) — libdeflate has no window setting, and needs none on a \
         page; zstd gets `windowLog` 12; lz4 is the raw block. Each point decompresses with \
         its own library; `uadk` points are `Session::process` on a zlib session with \
         `WindowSize::W4K` (or lz4, or zstd with the same window), CPU engine. {runs} runs, interleaved; MB/s of pages \
         (median, range). A point is **on the frontier** when no other is at least as good \
         in both ratio and MB/s and better by {:.0}% in MB/s or {:.1}% in ratio; `all` \
         judges among every point, `zlib` among the zlib points only (what a zlib session \
         may return).\n",
        (SPEED_MARGIN - 1.0) * 100.0,
        (RATIO_MARGIN - 1.0) * 100.0,
    );
    if let Some(f) = chart {
        let _ = writeln!(md, "![4 KiB page frontier]({f})\n");
    }
    for m in res {
        let _ = writeln!(md, "#### {}\n\n{}.\n", m.set.name, m.set.what);
        let pts = &m.points;
        let all: Vec<usize> = (0..pts.len()).collect();
        let zlib: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| pts[i].format == Format::Zlib)
            .collect();
        // Which points of `keep` no other point of `keep` beats, by index into `pts`.
        let on = |keep: &[usize], d: Dir| {
            let mut on = vec![false; pts.len()];
            for (k, dom) in keep.iter().zip(frontier_of(pts, keep, d)) {
                on[*k] = dom.is_none();
            }
            on
        };
        let (on_c_all, on_d_all) = (on(&all, Dir::Compress), on(&all, Dir::Decompress));
        let (on_c_z, on_d_z) = (on(&zlib, Dir::Compress), on(&zlib, Dir::Decompress));
        let mut order = all.clone();
        order.sort_by(|&a, &b| pts[a].ratio.total_cmp(&pts[b].ratio));
        let _ = writeln!(
            md,
            "| point | format | ratio | compress MB/s | decompress MB/s | frontier, compress | frontier, decompress |\n|---|---|---:|---:|---:|---|---|"
        );
        let mark = |all: bool, z: bool, is_zlib: bool| match (all, z, is_zlib) {
            (true, _, _) => "all",
            (false, true, true) => "zlib",
            _ => "",
        };
        for &i in &order {
            let p = &pts[i];
            let name = if p.family == Family::Ours {
                format!("**{}**", p.name)
            } else {
                p.name.clone()
            };
            let z = p.format == Format::Zlib;
            let _ = writeln!(
                md,
                "| {name} | {} | {:.3} | {} | {} | {} | {} |",
                p.format.name(),
                p.ratio,
                p.comp.show(),
                p.decomp.show(),
                mark(on_c_all[i], on_c_z[i], z),
                mark(on_d_all[i], on_d_z[i], z),
            );
        }
        // The engine's choices are judged among the bare zlib codecs: our stack can only
        // match the codec it calls (its own cost is the stack/codec column).
        let bare_zlib: Vec<usize> = zlib
            .iter()
            .copied()
            .filter(|&i| pts[i].family != Family::Ours)
            .collect();
        let bare_dom = frontier_of(pts, &bare_zlib, Dir::Compress);
        let _ = writeln!(
            md,
            "\nOur levels: each UADK level's zlib session (4 KiB window) beside the codec the \
             engine calls for it, and whether that codec is on the compress frontier of the \
             bare zlib codecs:\n\n| UADK level | engine's codec | ratio | stack MB/s | codec MB/s | stack / codec | codec on the zlib frontier | beaten by |\n|---|---|---:|---:|---:|---:|---|---|"
        );
        for &i in &zlib {
            let p = &pts[i];
            let Some(l) = p.level else { continue };
            let choice = engine_choice(l);
            let at = bare_zlib.iter().position(|&j| pts[j].name == choice);
            let (codec_speed, verdict, by) = match at {
                Some(k) => {
                    let b = &pts[bare_zlib[k]];
                    let by = match bare_dom[k] {
                        Some(j) => format!(
                            "{} ({:.3}, {} MB/s)",
                            pts[j].name,
                            pts[j].ratio,
                            num(speed(&pts[j], Dir::Compress))
                        ),
                        None => "–".into(),
                    };
                    let v = if bare_dom[k].is_none() { "yes" } else { "no" };
                    (speed(b, Dir::Compress), v, by)
                }
                None => (0.0, "not measured", "–".into()),
            };
            let ours = speed(p, Dir::Compress);
            let _ = writeln!(
                md,
                "| {l} | {choice} | {:.3} | {} | {} | {} | {verdict} | {by} |",
                p.ratio,
                num(ours),
                num(codec_speed),
                if codec_speed > 0.0 {
                    format!("{:.3}", ours / codec_speed)
                } else {
                    "–".into()
                },
            );
        }
        if !m.decoders.is_empty() {
            let _ = writeln!(
                md,
                "\nThe zlib decoders on the same pages (MB/s of pages, median and range):\n\n\
                 | pages of | {} |\n|---|{}",
                Decoder::NAMES.join(" | "),
                "---:|".repeat(Decoder::NAMES.len())
            );
            for chunk in m.decoders.chunks(Decoder::NAMES.len()) {
                let cells: Vec<String> = chunk.iter().map(|(_, _, s)| s.show()).collect();
                let _ = writeln!(md, "| {} | {} |", chunk[0].0, cells.join(" | "));
            }
        }
        for e in &m.errors {
            let _ = writeln!(md, "\nLeft out: {e}.");
        }
        let _ = writeln!(md);
    }
    md
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

    #[test]
    fn every_point_round_trips_a_page() {
        let text = crate::datagen::text(8 * PAGE);
        let mut pts = points(&text).unwrap();
        let (mut out, mut back) = (vec![0u8; ROOM], vec![0u8; PAGE]);
        for p in &mut pts {
            p.prepare(&text, &mut out, &mut back).unwrap();
            assert!(p.ratio > 1.1, "{}: {}", p.name, p.ratio);
        }
        let ratio = |k: &str| pts.iter().find(|p| p.short == k).unwrap().ratio;
        // The code trained on these pages beats ISA-L's general one; more search, more ratio.
        assert!(ratio("isal0t") > ratio("isal0"));
        assert!(ratio("ld12") > ratio("ld1") && ratio("ld1") > ratio("isal0"));
        assert_eq!(
            ratio("L6"),
            ratio("ld6"),
            "level 6 on a page is libdeflate 6"
        );
    }
}
