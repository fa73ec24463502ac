//! The points: every codec and level this machine has (ISA-L, libdeflate, zlib-rs,
//! lz4_flex, zstd) and our stack's sessions, each a [`Point`] that compresses, checks and
//! times the pages.

use super::{PAGE, WBITS, ZSTD_LEVELS};
use crate::common::{Error, Result};
use crate::compare::clock::thread_cpu_secs;
use crate::compare::measure::{mb_per_s, Stats};
use plotters::style::RGBColor;
use uadk::drv::cpu::isal::{HuffTables, Huffman, IsalDeflate, IsalInflate, Wrapper};
use uadk::{Alg, Comp, CompConfig, CtxMode, Level, OpType, Session, SessionSetup, WindowSize};

/// Who made a point: the colour and the legend of the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::compare) enum Family {
    Isal,
    Libdeflate,
    ZlibRs,
    Lz4,
    Zstd,
    /// Our stack: `Session::process` on a zlib (or lz4) session, CPU engine.
    Ours,
}

impl Family {
    pub(super) fn name(self) -> &'static str {
        match self {
            Family::Isal => "ISA-L",
            Family::Libdeflate => "libdeflate",
            Family::ZlibRs => "zlib-rs",
            Family::Lz4 => "lz4_flex",
            Family::Zstd => "zstd",
            Family::Ours => "uadk stack",
        }
    }

    pub(super) fn color(self) -> RGBColor {
        match self {
            Family::Isal => RGBColor(31, 119, 180),
            Family::Libdeflate => RGBColor(44, 160, 44),
            Family::ZlibRs => RGBColor(148, 103, 189),
            Family::Lz4 => RGBColor(255, 127, 14),
            Family::Zstd => RGBColor(214, 39, 40),
            Family::Ours => RGBColor(0, 0, 0),
        }
    }

    pub(super) const ALL: [Family; 6] = [
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
pub(in crate::compare) enum Format {
    Zlib,
    Lz4Block,
    ZstdFrame,
}

impl Format {
    pub(super) fn name(self) -> &'static str {
        match self {
            Format::Zlib => "zlib",
            Format::Lz4Block => "lz4 block",
            Format::ZstdFrame => "zstd frame",
        }
    }
}

/// The state that serves one point's calls.
pub(super) enum Codec {
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

    pub(super) fn decompress(&mut self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
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
pub(in crate::compare) struct Point {
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
    pub(super) packed: Vec<u8>,
    pub(super) ranges: Vec<(usize, usize)>,
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
    pub(super) fn prepare(&mut self, pages: &[u8], out: &mut [u8], back: &mut [u8]) -> Result<()> {
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
    pub(super) fn time_compress(&mut self, pages: &[u8], out: &mut [u8]) -> Result<f64> {
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
    pub(super) fn time_decompress(&mut self, pages: &[u8], back: &mut [u8]) -> Result<f64> {
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
pub(super) fn stack(alg: Alg, level: u32) -> Result<Codec> {
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
pub(super) fn points(train: &[u8]) -> Result<Vec<Point>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::frontier::ROOM;

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
