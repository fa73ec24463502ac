//! In-process contenders: our stack (blocks, pages, streams) and the bare codecs it calls.

use super::clock::Timer;
use super::memory::RssProbe;
use super::{Contender, Desc, Extras, Family, Sample, RSS_PROBE_CHUNKS};
use crate::common::{Error, Result};
use crate::compare::{BLOCK, PAGE};
use std::io::{Read, Write};
use std::time::Instant;
use uadk::drv::cpu::isal::{IsalDeflate, Wrapper};
use uadk::{
    Alg, Comp, CompConfig, CtxMode, Decoder, Encoder, Level, OpType, Session, SessionSetup,
};

/// The bare codecs the CPU driver calls, called directly.
pub(super) enum Bare {
    /// ISA-L level 1 (the driver's level-1 block codec); zlib-rs inflates.
    Isal(Box<IsalDeflate>, flate2::Decompress),
    /// libdeflate at a level; zlib-rs inflates.
    Libdeflate(libdeflater::Compressor, flate2::Decompress),
    /// lz4_flex's block format.
    Lz4,
    /// libzstd with the driver's parameters (level, content checksum).
    Zstd(
        Box<zstd::zstd_safe::CCtx<'static>>,
        Box<zstd::zstd_safe::DCtx<'static>>,
    ),
}

fn zstd_msg(code: usize) -> Error {
    Error::msg(format!(
        "libzstd: {}",
        zstd::zstd_safe::get_error_name(code)
    ))
}

/// libzstd set up as the CPU driver sets it up for a session of this level.
fn bare_zstd(level: i32) -> Result<Bare> {
    use zstd::zstd_safe::{CCtx, CParameter, DCtx};
    let mut c = CCtx::create();
    c.set_parameter(CParameter::CompressionLevel(level))
        .map_err(zstd_msg)?;
    c.set_parameter(CParameter::ChecksumFlag(true))
        .map_err(zstd_msg)?;
    Ok(Bare::Zstd(Box::new(c), Box::new(DCtx::create())))
}

/// What serves the calls of a blockwise contender.
pub(super) enum Path_ {
    /// Sync block requests through the whole stack.
    Stack {
        _comp: Comp,
        c: Session,
        d: Session,
    },
    Bare(Bare),
}

impl Path_ {
    pub(super) fn compress(&mut self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
        Ok(match self {
            Path_::Stack { c, .. } => c.process(src, dst)?,
            Path_::Bare(Bare::Isal(e, _)) => e
                .compress(src, dst, Wrapper::Gzip, 15)
                .map_err(|e| Error::msg(format!("ISA-L: {e:?}")))?,
            Path_::Bare(Bare::Libdeflate(c, _)) => c
                .gzip_compress(src, dst)
                .map_err(|e| Error::msg(format!("libdeflate: {e:?}")))?,
            Path_::Bare(Bare::Lz4) => lz4_flex::block::compress_into(src, dst)
                .map_err(|e| Error::msg(format!("lz4_flex: {e}")))?,
            Path_::Bare(Bare::Zstd(c, _)) => c.compress2(dst, src).map_err(zstd_msg)?,
        })
    }

    pub(super) fn decompress(&mut self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
        Ok(match self {
            Path_::Stack { d, .. } => d.process(src, dst)?,
            Path_::Bare(Bare::Isal(_, d) | Bare::Libdeflate(_, d)) => gunzip(d, src, dst)?,
            Path_::Bare(Bare::Lz4) => lz4_flex::block::decompress_into(src, dst)
                .map_err(|e| Error::msg(format!("lz4_flex: {e}")))?,
            Path_::Bare(Bare::Zstd(_, d)) => d.decompress(dst, src).map_err(zstd_msg)?,
        })
    }
}

/// A gzip member as the driver inflates it: zlib-rs's raw inflate, reset per call, of the
/// body after the 10-byte header our compressors write, and the trailer's CRC-32 checked.
fn gunzip(d: &mut flate2::Decompress, src: &[u8], dst: &mut [u8]) -> Result<usize> {
    let bad = || Error::msg("zlib-rs: not a gzip member of ours");
    let body = src.get(10..).ok_or_else(bad)?;
    d.reset(false);
    match d.decompress(body, dst, flate2::FlushDecompress::Finish) {
        Ok(flate2::Status::StreamEnd) => {}
        other => return Err(Error::msg(format!("zlib-rs: {other:?}"))),
    }
    let (n, used) = (d.total_out() as usize, 10 + d.total_in() as usize);
    let crc = src.get(used..used + 4).ok_or_else(bad)?;
    if crc != crc32fast::hash(&dst[..n]).to_le_bytes() {
        return Err(bad());
    }
    Ok(n)
}

/// Whole files, 64 KiB blocks or 4 KiB pages, one sync call each, buffers reused.
pub(super) struct Blocks {
    pub(super) desc: Desc,
    pub(super) path: Path_,
    pub(super) alg: Alg,
    /// Bytes per call; `None`: the whole input in one call.
    pub(super) chunk: Option<usize>,
    /// Compressed chunks, back to back, and where each is.
    pub(super) packed: Vec<u8>,
    pub(super) ranges: Vec<(usize, usize)>,
    pub(super) out: Vec<u8>,
    pub(super) back: Vec<u8>,
    /// Nanoseconds per call over the timed runs (capacity reserved in `prepare`).
    pub(super) lat_c: Vec<u64>,
    pub(super) lat_d: Vec<u64>,
    pub(super) runs: usize,
    pub(super) extras: Extras,
}

impl Blocks {
    pub(super) fn stack(family: Family, chunk: Option<usize>, runs: u32) -> Result<Blocks> {
        let (alg, level) = family.alg_level();
        let comp = Comp::new(one_ctx_per_op(alg))?;
        let c =
            comp.session(&SessionSetup::new(alg, OpType::Compress).level(Level::new(level)?))?;
        let d = comp.session(&SessionSetup::new(alg, OpType::Decompress))?;
        let engine = "uadk stack, block";
        Ok(Blocks::new(
            format!("uadk-{}-{}", family.key(), unit_key(chunk)),
            family,
            engine.into(),
            Path_::Stack { _comp: comp, c, d },
            alg,
            chunk,
            runs,
        ))
    }

    pub(super) fn bare(family: Family, chunk: Option<usize>, runs: u32) -> Result<Blocks> {
        let (alg, level) = family.alg_level();
        let (bare, engine) = match family {
            Family::L1 => (
                Bare::Isal(
                    Box::new(IsalDeflate::new(1)),
                    flate2::Decompress::new(false),
                ),
                "bare ISA-L (inflate: zlib-rs)",
            ),
            Family::L6 => {
                let lvl = libdeflater::CompressionLvl::new(level as i32)
                    .map_err(|e| Error::msg(format!("libdeflate level: {e:?}")))?;
                (
                    Bare::Libdeflate(
                        libdeflater::Compressor::new(lvl),
                        flate2::Decompress::new(false),
                    ),
                    "bare libdeflate (inflate: zlib-rs)",
                )
            }
            Family::Lz4 => (Bare::Lz4, "bare lz4_flex"),
            Family::Zstd1 | Family::Zstd3 => (bare_zstd(level as i32)?, "bare libzstd"),
        };
        Ok(Blocks::new(
            format!("bare-{}-{}", family.key(), unit_key(chunk)),
            family,
            engine.into(),
            Path_::Bare(bare),
            alg,
            chunk,
            runs,
        ))
    }

    pub(super) fn new(
        key: String,
        family: Family,
        engine: String,
        path: Path_,
        alg: Alg,
        chunk: Option<usize>,
        runs: u32,
    ) -> Blocks {
        Blocks {
            desc: Desc {
                key,
                family,
                engine,
                unit: unit_name(chunk).into(),
            },
            path,
            alg,
            chunk,
            packed: Vec::new(),
            ranges: Vec::new(),
            out: Vec::new(),
            back: Vec::new(),
            lat_c: Vec::new(),
            lat_d: Vec::new(),
            runs: runs as usize,
            extras: Extras::default(),
        }
    }
}

pub(super) fn unit_key(chunk: Option<usize>) -> String {
    match chunk {
        None => "whole".into(),
        Some(n) => format!("{}k", n / 1024),
    }
}

pub(super) fn unit_name(chunk: Option<usize>) -> &'static str {
    match chunk {
        None => "whole file",
        Some(PAGE) => "4 KiB pages",
        Some(BLOCK) => "64 KiB blocks",
        Some(_) => "blocks",
    }
}

/// One sync context per op type, nothing async: what a single-threaded user sets up.
pub(super) fn one_ctx_per_op(alg: Alg) -> CompConfig {
    CompConfig::new()
        .alg(alg)
        .ctxs(CtxMode::Sync, OpType::Compress, 1)
        .ctxs(CtxMode::Sync, OpType::Decompress, 1)
        .ctxs(CtxMode::Async, OpType::Compress, 0)
        .ctxs(CtxMode::Async, OpType::Decompress, 0)
}

impl Contender for Blocks {
    fn desc(&self) -> &Desc {
        &self.desc
    }

    fn prepare(&mut self, data: &[u8]) -> Result<()> {
        let name = self.desc.key.clone();
        let Some(chunk) = self.chunk else {
            // Whole file: the output buffer is the compressed file.
            let probe = RssProbe::start();
            self.packed = vec![0u8; uadk::compress_bound(self.alg, data.len())];
            let n = self.path.compress(data, &mut self.packed)?;
            self.extras.rss_c = probe.delta_kib();
            self.ranges = vec![(0, n)];
            let probe = RssProbe::start();
            self.back = vec![0u8; data.len()];
            let m = self.path.decompress(&self.packed[..n], &mut self.back)?;
            self.extras.rss_d = probe.delta_kib();
            if self.back[..m] != *data {
                return Err(Error::msg(format!("{name}: the round trip differs")));
            }
            return Ok(());
        };
        // The probe covers the first calls: codec state and the reused buffers.
        let probe = RssProbe::start();
        self.out = vec![0u8; uadk::compress_bound(self.alg, chunk)];
        for c in data.chunks(chunk).take(RSS_PROBE_CHUNKS) {
            self.path.compress(c, &mut self.out)?;
        }
        self.extras.rss_c = probe.delta_kib();
        let chunks = data.len().div_ceil(chunk);
        self.packed = Vec::with_capacity(data.len() / 2);
        self.ranges = Vec::with_capacity(chunks);
        for c in data.chunks(chunk) {
            let n = self.path.compress(c, &mut self.out)?;
            self.ranges.push((self.packed.len(), n));
            self.packed.extend_from_slice(&self.out[..n]);
        }
        let probe = RssProbe::start();
        self.back = vec![0u8; chunk];
        for &(s, l) in self.ranges.iter().take(RSS_PROBE_CHUNKS) {
            self.path
                .decompress(&self.packed[s..s + l], &mut self.back)?;
        }
        self.extras.rss_d = probe.delta_kib();
        for (c, &(s, l)) in data.chunks(chunk).zip(&self.ranges) {
            let m = self
                .path
                .decompress(&self.packed[s..s + l], &mut self.back[..c.len()])?;
            if self.back[..m] != *c {
                return Err(Error::msg(format!("{name}: the round trip differs")));
            }
        }
        self.lat_c = Vec::with_capacity(chunks * self.runs);
        self.lat_d = Vec::with_capacity(chunks * self.runs);
        Ok(())
    }

    fn compress(&mut self, data: &[u8]) -> Result<Sample> {
        let Some(chunk) = self.chunk else {
            let t0 = Timer::start();
            let n = self.path.compress(data, &mut self.packed)?;
            let (secs, cpu_secs) = t0.stop();
            return Ok(Sample {
                secs,
                cpu_secs,
                out_len: n as u64,
            });
        };
        let mut total = 0usize;
        let t0 = Timer::start();
        for c in data.chunks(chunk) {
            let t = Instant::now();
            total += self.path.compress(c, &mut self.out)?;
            // Capacity was reserved for every run: no allocation in the loop.
            self.lat_c.push(t.elapsed().as_nanos() as u64);
        }
        let (secs, cpu_secs) = t0.stop();
        Ok(Sample {
            secs,
            cpu_secs,
            out_len: total as u64,
        })
    }

    fn decompress(&mut self, data: &[u8]) -> Result<Sample> {
        let Some(chunk) = self.chunk else {
            let (s, l) = self.ranges[0];
            let t0 = Timer::start();
            let m = self
                .path
                .decompress(&self.packed[s..s + l], &mut self.back)?;
            let (secs, cpu_secs) = t0.stop();
            return Ok(Sample {
                secs,
                cpu_secs,
                out_len: m as u64,
            });
        };
        let mut total = 0usize;
        let t0 = Timer::start();
        for (c, &(s, l)) in data.chunks(chunk).zip(&self.ranges) {
            let t = Instant::now();
            total += self
                .path
                .decompress(&self.packed[s..s + l], &mut self.back[..c.len()])?;
            self.lat_d.push(t.elapsed().as_nanos() as u64);
        }
        let (secs, cpu_secs) = t0.stop();
        Ok(Sample {
            secs,
            cpu_secs,
            out_len: total as u64,
        })
    }

    fn extras(&self) -> Extras {
        let mut e = self.extras.clone();
        e.lat_c = percentiles(&self.lat_c);
        e.lat_d = percentiles(&self.lat_d);
        e
    }
}

/// p50 and p99 (nearest rank) of nanosecond samples, in microseconds.
pub(super) fn percentiles(ns: &[u64]) -> Option<(f64, f64)> {
    if ns.is_empty() {
        return None;
    }
    let mut v = ns.to_vec();
    v.sort_unstable();
    let at = |p: f64| {
        let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1] as f64 / 1e3
    };
    Some((at(0.50), at(0.99)))
}

/// Whole files in stream mode: `Encoder` and `Decoder` over a session of our own.
pub(super) struct Stream {
    pub(super) desc: Desc,
    pub(super) comp: Comp,
    pub(super) alg: Alg,
    pub(super) level: Level,
    /// The compressed file; compression runs write into `sink`.
    pub(super) packed: Vec<u8>,
    pub(super) sink: Vec<u8>,
    pub(super) buf: Vec<u8>,
    pub(super) extras: Extras,
}

impl Stream {
    pub(super) fn new(family: Family) -> Result<Stream> {
        let (alg, level) = family.alg_level();
        let engine = if alg == Alg::Lz4 {
            "uadk stack, LZ4 frames (Encoder/Decoder)"
        } else {
            "uadk stack, stream (Encoder/Decoder)"
        };
        Ok(Stream {
            desc: Desc {
                key: format!("uadk-{}-stream", family.key()),
                family,
                engine: engine.into(),
                unit: "whole file".into(),
            },
            comp: Comp::new(one_ctx_per_op(alg))?,
            alg,
            level: Level::new(level)?,
            packed: Vec::new(),
            sink: Vec::new(),
            buf: vec![0u8; 256 * 1024],
            extras: Extras::default(),
        })
    }

    pub(super) fn encode(&self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        let sess = self
            .comp
            .session(&SessionSetup::new(self.alg, OpType::Compress).level(self.level))?;
        let mut enc = Encoder::with_session(sess, out)?;
        enc.write_all(data)?;
        enc.finish()?;
        Ok(())
    }

    /// Decode the packed file; with `check`, compare it with `data` as it comes.
    pub(super) fn decode(&mut self, check: Option<&[u8]>) -> Result<u64> {
        let sess = self
            .comp
            .session(&SessionSetup::new(self.alg, OpType::Decompress))?;
        let mut dec = Decoder::with_session(sess, &self.packed[..])?;
        let mut total = 0usize;
        loop {
            let n = dec.read(&mut self.buf)?;
            if n == 0 {
                break;
            }
            if let Some(orig) = check {
                if orig.get(total..total + n) != Some(&self.buf[..n]) {
                    return Err(Error::msg(format!(
                        "{}: the round trip differs",
                        self.desc.key
                    )));
                }
            }
            total += n;
        }
        Ok(total as u64)
    }
}

impl Contender for Stream {
    fn desc(&self) -> &Desc {
        &self.desc
    }

    fn prepare(&mut self, data: &[u8]) -> Result<()> {
        let probe = RssProbe::start();
        let mut packed = Vec::with_capacity(data.len() / 2);
        self.encode(data, &mut packed)?;
        self.extras.rss_c = probe.delta_kib();
        self.packed = packed;
        self.sink = Vec::with_capacity(self.packed.len() + 1024);
        let probe = RssProbe::start();
        let n = self.decode(Some(data))?;
        self.extras.rss_d = probe.delta_kib();
        if n != data.len() as u64 {
            return Err(Error::msg(format!(
                "{}: {n} bytes back of {}",
                self.desc.key,
                data.len()
            )));
        }
        Ok(())
    }

    fn compress(&mut self, data: &[u8]) -> Result<Sample> {
        let mut sink = std::mem::take(&mut self.sink);
        let t0 = Timer::start();
        self.encode(data, &mut sink)?;
        let (secs, cpu_secs) = t0.stop();
        let out_len = sink.len() as u64;
        self.sink = sink;
        Ok(Sample {
            secs,
            cpu_secs,
            out_len,
        })
    }

    fn decompress(&mut self, _data: &[u8]) -> Result<Sample> {
        let t0 = Timer::start();
        let out_len = self.decode(None)?;
        let (secs, cpu_secs) = t0.stop();
        Ok(Sample {
            secs,
            cpu_secs,
            out_len,
        })
    }

    fn extras(&self) -> Extras {
        self.extras.clone()
    }
}
