//! The CPU engine ("instr" driver): the embedded default, on any machine.
//!
//! Codecs, chosen by measurement (docs/cpu-engine.md):
//! - level 1 deflate/zlib/gzip blocks: ISA-L (igzip), whose level 1 is the fastest deflate;
//! - levels 2..15 with the 32 KiB window: libdeflate, the best ratio per cycle;
//! - smaller windows at levels 2..15, and every stream: zlib-rs (through flate2), which
//!   honours window bits 9..15 and zlib's streaming semantics;
//! - block decompression: zlib-rs too, the stream decoder, so every mode gives zlib's
//!   verdict (libdeflate and ISA-L inflate faster but accept streams zlib refuses:
//!   libdeflate codes 286/287, distances 30/31, 287-288 litlen or 31-32 distance codes,
//!   codeword '1' of a one-codeword code; ISA-L over-subscribed and incomplete code sets,
//!   zlib windows over 32 KiB, gzip reserved flags);
//! - lz4: lz4_flex, the LZ4 block format;
//! - lz77_zstd and lz77_only: zstd's match finders writing the ZIP engine's layout
//!   (`lz77.rs`, `hw::lz77`);
//! - zstd: libzstd (`zstd.rs`), blocks and streams;
//! - parts of a raw deflate stream split for parallel work (`part.rs`): the same codecs
//!   per level, joined by full flushes.
//!
//! All codec state lives in the context and is reused: no heap allocation per request once
//! a context has seen each kind of request once.

pub mod isal;
mod lz77;
mod part;
mod queue;
mod zstd;

use super::hdr::{self, Header};
use super::{CtxSpec, Driver, DriverCtx, Dst, Job, Notify, ReqKind, Request, Src, StreamState};
use crate::error::{Error, Result};
use crate::req::{Alg, OpType, Output, ReqParams, WindowSize};
use crate::wd::{CtxMode, TaskType};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use isal::{IsalDeflate, IsalError, Wrapper};
use queue::CpuAsyncCtx;
pub use queue::ASYNC_DEPTH;
use std::sync::{Arc, Mutex};

/// Name under which the CPU engine registers.
pub const DRIVER_NAME: &str = "cpu";

/// The CPU engine's driver.
#[derive(Debug, Default)]
pub struct CpuDriver {
    /// The sibling groups of async contexts (`queue.rs`).
    groups: Mutex<Vec<queue::GroupKey>>,
}

impl CpuDriver {
    /// The driver.
    pub fn new() -> CpuDriver {
        CpuDriver::default()
    }
}

const CPU_ALGS: [Alg; 7] = [
    Alg::Deflate,
    Alg::Zlib,
    Alg::Gzip,
    Alg::Lz4,
    Alg::Lz77Zstd,
    Alg::Lz77Only,
    Alg::Zstd,
];

impl Driver for CpuDriver {
    fn name(&self) -> &'static str {
        DRIVER_NAME
    }
    fn priority(&self) -> i32 {
        10
    }
    fn task_type(&self) -> TaskType {
        TaskType::Instr
    }
    fn algs(&self) -> &[Alg] {
        &CPU_ALGS
    }
    fn available(&self) -> bool {
        true
    }

    fn check(&self, params: &ReqParams, kind: ReqKind) -> Result<()> {
        if !CPU_ALGS.contains(&params.alg) {
            return Err(Error::Unsupported {
                driver: DRIVER_NAME,
                what: params.alg.name().to_string(),
            });
        }
        if lz77::variant(params.alg).is_some() && params.op == OpType::Decompress {
            return Err(Error::Unsupported {
                driver: DRIVER_NAME,
                what: format!(
                    "{} decompression (an intermediate format: compression only, as in UADK)",
                    params.alg.name()
                ),
            });
        }
        if kind == ReqKind::Part && params.alg != Alg::Deflate {
            return Err(Error::Unsupported {
                driver: DRIVER_NAME,
                what: format!("parts of {} (parts are raw deflate)", params.alg.name()),
            });
        }
        if params.alg == Alg::Lz4 && kind == ReqKind::Stream {
            return Err(Error::Unsupported {
                driver: DRIVER_NAME,
                what: "lz4 in stream mode (lz4 is block mode only, as in UADK)".into(),
            });
        }
        Ok(())
    }

    fn alloc_ctx(&self, spec: CtxSpec, notify: Arc<Notify>) -> Result<Box<dyn DriverCtx>> {
        Ok(match spec.mode {
            CtxMode::Sync => Box::new(CpuSyncCtx {
                engine: Engine::default(),
            }),
            CtxMode::Async => {
                let siblings = queue::siblings_for(&self.groups, &spec, &notify);
                Box::new(CpuAsyncCtx::new(spec, notify, siblings))
            }
        })
    }

    fn new_stream(&self, params: &ReqParams) -> Result<StreamState> {
        self.check(params, ReqKind::Stream)?;
        Ok(StreamState(Box::new(CpuStream::new(params)?)))
    }

    fn reset_stream(&self, params: &ReqParams, state: &mut StreamState) -> Result<()> {
        match state.0.downcast_mut::<CpuStream>() {
            Some(s) => s.reset(),
            None => *state = self.new_stream(params)?,
        }
        Ok(())
    }
}

/// A sync context: requests run inline on the caller's thread.
struct CpuSyncCtx {
    engine: Engine,
}

impl DriverCtx for CpuSyncCtx {
    fn process(&mut self, req: &mut Request<'_, '_>) -> Result<Output> {
        self.engine.run(req)
    }
    fn submit(&mut self, job: Job) -> std::result::Result<(), (Error, Job)> {
        Err((
            Error::InvalidParam("async request on a sync context".into()),
            job,
        ))
    }
    fn reap(&mut self) -> Option<(Job, Result<Output>)> {
        None
    }
    fn pending(&self) -> usize {
        0
    }
}

/// Codec state of one context, reused across requests.
#[derive(Default)]
pub(crate) struct Engine {
    codecs: Codecs,
    lz77: lz77::Lz77Engine,
    scratch_in: Vec<u8>,
    scratch_out: Vec<u8>,
}

#[derive(Default)]
struct Codecs {
    isal: Option<IsalDeflate>,
    ld_comp: [Option<libdeflater::Compressor>; 13],
    /// Block inflate: zlib-rs, reset per request (raw or zlib; gzip framed by hand).
    inflate: Option<Decompress>,
    zlib: Option<(ReqParams, Compress)>,
    zstd: zstd::ZstdBlock,
    /// Parts: the walk and inflate of raw deflate parts, and the walk's output.
    part_inf: Option<part::RawInflate>,
    part_scratch: Vec<u8>,
}

/// Output the walk of a libdeflate part inflates into (and drops), per call.
const PART_SCRATCH: usize = 256 * 1024;

impl Engine {
    /// Run one request: a block request, or one call of a stream.
    pub(crate) fn run(&mut self, req: &mut Request<'_, '_>) -> Result<Output> {
        if lz77::variant(req.params.alg).is_some() {
            let call = match req.stream.as_deref_mut() {
                None => None,
                Some(state) => match state.0.downcast_mut::<CpuStream>() {
                    Some(CpuStream::Lz77(st)) => Some(lz77::StreamCall {
                        state: st,
                        last: req.last,
                        prev: req.prev_block,
                    }),
                    _ => return Err(Error::InvalidParam("stream state of another driver".into())),
                },
            };
            if call.is_some() && !matches!((&req.src, &req.dst), (Src::Flat(_), Dst::Flat(_))) {
                return Err(Error::InvalidParam(
                    "stream mode takes flat buffers only".into(),
                ));
            }
            return self.lz77.run(&req.params, &req.src, &mut req.dst, call);
        }
        if let Some(state) = req.stream.as_deref_mut() {
            let st = state
                .0
                .downcast_mut::<CpuStream>()
                .ok_or_else(|| Error::InvalidParam("stream state of another driver".into()))?;
            let (Src::Flat(input), Dst::Flat(out)) = (&req.src, &mut req.dst) else {
                return Err(Error::InvalidParam(
                    "stream mode takes flat buffers only".into(),
                ));
            };
            return st.run(input, out, req.last, req.sync_flush);
        }
        let input = req.src.contiguous(&mut self.scratch_in);
        let last = req.last;
        let (produced, consumed) = match &mut req.dst {
            Dst::Flat(out) if last => self.codecs.block(&req.params, input, out)?,
            Dst::Flat(out) => self.codecs.part(&req.params, input, out)?,
            dst => {
                let cap = dst.len();
                if self.scratch_out.len() < cap {
                    self.scratch_out.resize(cap, 0);
                }
                let out = &mut self.scratch_out[..cap];
                let r = if last {
                    self.codecs.block(&req.params, input, out)?
                } else {
                    self.codecs.part(&req.params, input, out)?
                };
                dst.scatter(&self.scratch_out[..r.0]);
                r
            }
        };
        Ok(Output {
            consumed,
            produced,
            end: last,
            lz77: None,
        })
    }
}

// lz4_flex's loops, compiled inside `Codecs::block`, ran 30% more instructions per 4 KiB
// page than compiled on their own (callgrind, 2026-12-01): each gets a function of its own.
#[inline(never)]
fn lz4_compress(
    input: &[u8],
    out: &mut [u8],
) -> std::result::Result<usize, lz4_flex::block::CompressError> {
    lz4_flex::block::compress_into(input, out)
}

#[inline(never)]
fn lz4_decompress(
    input: &[u8],
    out: &mut [u8],
) -> std::result::Result<usize, lz4_flex::block::DecompressError> {
    lz4_flex::block::decompress_into(input, out)
}

fn isal_err(e: IsalError, capacity: usize) -> Error {
    match e {
        IsalError::OutputTooSmall => Error::OutputTooSmall { capacity },
        IsalError::InvalidData(c) => Error::CorruptData(format!("ISA-L status {c}")),
        IsalError::BadChecksum => Error::ChecksumMismatch,
        IsalError::Truncated => Error::TruncatedInput,
        IsalError::Param(c) => Error::InvalidParam(format!("ISA-L rejected parameters ({c})")),
    }
}

fn wrapper(alg: Alg) -> Wrapper {
    match alg {
        Alg::Zlib => Wrapper::Zlib,
        Alg::Gzip => Wrapper::Gzip,
        _ => Wrapper::Raw,
    }
}

impl Codecs {
    /// One whole-buffer request; returns (produced, consumed).
    fn block(&mut self, p: &ReqParams, input: &[u8], out: &mut [u8]) -> Result<(usize, usize)> {
        let cap = out.len();
        let too_small = |_| Error::OutputTooSmall { capacity: cap };
        match (p.op, p.alg) {
            (OpType::Compress, Alg::Lz4) => lz4_compress(input, out)
                .map(|n| (n, input.len()))
                .map_err(too_small),
            (OpType::Decompress, Alg::Lz4) => match lz4_decompress(input, out) {
                Ok(n) => Ok((n, input.len())),
                Err(lz4_flex::block::DecompressError::OutputTooSmall { .. }) => {
                    Err(Error::OutputTooSmall { capacity: cap })
                }
                Err(e) => Err(Error::CorruptData(format!("lz4: {e}"))),
            },
            (_, Alg::Zstd) => self.zstd.block(p, input, out),
            (OpType::Compress, alg) if alg.is_deflate_family() => {
                let n = self.deflate(p, input, out)?;
                Ok((n, input.len()))
            }
            (OpType::Decompress, alg) if alg.is_deflate_family() => {
                if input.is_empty() {
                    return Err(Error::TruncatedInput);
                }
                let d = self
                    .inflate
                    .get_or_insert_with(|| Decompress::new_with_window_bits(false, 15));
                inflate_block(d, alg, input, out)
            }
            (_, alg) => Err(Error::Unsupported {
                driver: DRIVER_NAME,
                what: alg.name().to_string(),
            }),
        }
    }

    /// One part of a split raw deflate stream that is not its last ([`Request::last`]);
    /// returns (produced, consumed).
    fn part(&mut self, p: &ReqParams, input: &[u8], out: &mut [u8]) -> Result<(usize, usize)> {
        if p.alg != Alg::Deflate {
            return Err(Error::InvalidParam(format!(
                "parts are raw deflate, not {}",
                p.alg.name()
            )));
        }
        let cap = out.len();
        if p.op == OpType::Decompress {
            let n = self.part_inflater()?.inflate_part(input, out)?;
            return Ok((n, input.len()));
        }
        let level = p.level.get();
        if level == 1 {
            // ISA-L's stateful deflate, fresh (no history), ends the part with a sync flush.
            let isal = self.isal.get_or_insert_with(|| IsalDeflate::new(1));
            isal.stream_reset(Wrapper::Raw, p.window.bits() as u32)
                .map_err(|e| isal_err(e, cap))?;
            let (mut i, mut o) = (0, 0);
            loop {
                if o == cap {
                    return Err(Error::OutputTooSmall { capacity: cap });
                }
                let (used, made, _) = isal
                    .stream(&input[i..], &mut out[o..], false, true)
                    .map_err(|e| isal_err(e, cap))?;
                i += used;
                o += made;
                // With room to spare once all input is in, the flush is complete.
                if i == input.len() && o < cap {
                    return Ok((o, i));
                }
                if used == 0 && made == 0 {
                    return Err(Error::OutputTooSmall { capacity: cap });
                }
            }
        }
        if p.window == WindowSize::W32K {
            // libdeflate's stream, its final block made non-final (part.rs).
            if cap < 6 {
                return Err(Error::OutputTooSmall { capacity: cap });
            }
            let n = self.deflate(p, input, &mut out[..cap - 6])?;
            if self.part_scratch.len() < PART_SCRATCH {
                self.part_scratch.resize(PART_SCRATCH, 0);
            }
            self.part_inflater()?;
            let inf = self.part_inf.as_mut().expect("made above");
            let (fin, end) = inf.final_block(&out[..n], &mut self.part_scratch)?;
            return Ok((part::seal(out, n, fin, end)?, input.len()));
        }
        // Smaller windows: zlib-rs makes the part itself with a full flush.
        let c = match &mut self.zlib {
            Some((key, c)) if key == p => {
                c.reset();
                c
            }
            slot => &mut slot.insert((*p, new_compress(p))).1,
        };
        c.compress(input, out, FlushCompress::Full)
            .map_err(|e| Error::InvalidParam(format!("zlib: {e}")))?;
        let (i, o) = (c.total_in() as usize, c.total_out() as usize);
        if i < input.len() || o == cap {
            return Err(Error::OutputTooSmall { capacity: cap });
        }
        Ok((o, i))
    }

    fn part_inflater(&mut self) -> Result<&mut part::RawInflate> {
        if self.part_inf.is_none() {
            self.part_inf = Some(part::RawInflate::new()?);
        }
        Ok(self.part_inf.as_mut().expect("set above"))
    }

    fn deflate(&mut self, p: &ReqParams, input: &[u8], out: &mut [u8]) -> Result<usize> {
        let cap = out.len();
        match deflate_codec(p, input.len()) {
            DeflateCodec::Isal(level) => {
                let isal = self.isal.get_or_insert_with(|| IsalDeflate::new(level));
                isal.compress(input, out, wrapper(p.alg), p.window.bits() as u32)
                    .map_err(|e| isal_err(e, cap))
            }
            DeflateCodec::Libdeflate(lvl) => {
                let lvl = lvl as usize;
                let c = self.ld_comp[lvl].get_or_insert_with(|| {
                    let l = libdeflater::CompressionLvl::new(lvl as i32)
                        .unwrap_or_else(|_| libdeflater::CompressionLvl::default());
                    libdeflater::Compressor::new(l)
                });
                let r = match p.alg {
                    Alg::Deflate => c.deflate_compress(input, out),
                    Alg::Zlib => c.zlib_compress(input, out),
                    _ => c.gzip_compress(input, out),
                };
                let n = r.map_err(|_| Error::OutputTooSmall { capacity: cap })?;
                // libdeflate always states a 32 KiB window; state the session's, as ISA-L's
                // output does (the stream's distances fit it: the input is no longer).
                if p.alg == Alg::Zlib && p.window != WindowSize::W32K {
                    isal::set_zlib_cinfo(&mut out[..2], p.window.bits() as u32);
                }
                Ok(n)
            }
            DeflateCodec::ZlibRs(_) => {
                // zlib-rs honours window bits; keep one compressor per parameter set.
                let c = match &mut self.zlib {
                    Some((key, c)) if key == p => {
                        c.reset();
                        c
                    }
                    slot => &mut slot.insert((*p, new_compress(p))).1,
                };
                match c.compress(input, out, FlushCompress::Finish) {
                    Ok(Status::StreamEnd) => Ok(c.total_out() as usize),
                    Ok(_) => Err(Error::OutputTooSmall { capacity: cap }),
                    Err(e) => Err(Error::InvalidParam(format!("zlib: {e}"))),
                }
            }
        }
    }
}

/// The codec (and its level) that serves a deflate-family block compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeflateCodec {
    /// ISA-L's `isal_deflate_stateless` at this ISA-L level.
    Isal(u32),
    /// libdeflate at this level.
    Libdeflate(u32),
    /// zlib-rs at this level.
    ZlibRs(u32),
}

impl std::fmt::Display for DeflateCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeflateCodec::Isal(l) => write!(f, "ISA-L {l}"),
            DeflateCodec::Libdeflate(l) => write!(f, "libdeflate {l}"),
            DeflateCodec::ZlibRs(l) => write!(f, "zlib-rs {l}"),
        }
    }
}

/// Which codec the engine uses for a block compression of `input_len` bytes (by
/// measurement: docs/cpu-engine.md, and the page frontier of docs/performance.md).
///
/// libdeflate has no window setting, so it serves a window under 32 KiB only when the input
/// is no longer than the window (no distance can then exceed it); longer inputs with a small
/// window go to zlib-rs, which limits distances to its window bits.
pub fn deflate_codec(p: &ReqParams, input_len: usize) -> DeflateCodec {
    let level = p.level.get();
    if level == 1 {
        return DeflateCodec::Isal(1);
    }
    if p.window == WindowSize::W32K || input_len <= 1 << p.window.bits() {
        return DeflateCodec::Libdeflate(level.min(12));
    }
    DeflateCodec::ZlibRs(level.min(9))
}

fn zlib_level(p: &ReqParams) -> Compression {
    Compression::new(p.level.get().min(9))
}

fn new_compress(p: &ReqParams) -> Compress {
    let bits = p.window.bits();
    match p.alg {
        Alg::Gzip => Compress::new_gzip(zlib_level(p), bits),
        alg => Compress::new_with_window_bits(zlib_level(p), alg == Alg::Zlib, bits),
    }
}

fn new_decompress(alg: Alg) -> Decompress {
    match alg {
        Alg::Gzip => Decompress::new_gzip(15),
        alg => Decompress::new_with_window_bits(alg == Alg::Zlib, 15),
    }
}

/// Stream state of the CPU engine: ISA-L for level 1 compression, zlib-rs otherwise.
pub(crate) enum CpuStream {
    /// ISA-L's stateful deflate; the level-1 stream path (zlib-rs's level 1 uses static
    /// Huffman codes that expand incompressible data by up to 1/8).
    Isal(Box<IsalDeflate>, Wrapper, u32),
    Comp(Compress),
    Decomp(Alg, Decompress),
    /// lz77_zstd / lz77_only: history and repeat offsets.
    Lz77(Box<lz77::Lz77Stream>),
    Zstd(Box<zstd::ZstdStream>),
}

impl CpuStream {
    fn new(p: &ReqParams) -> Result<CpuStream> {
        if lz77::variant(p.alg).is_some() {
            return Ok(CpuStream::Lz77(Box::default()));
        }
        if p.alg == Alg::Zstd {
            return Ok(CpuStream::Zstd(Box::new(zstd::ZstdStream::new(p)?)));
        }
        Ok(match p.op {
            OpType::Compress if p.level.get() == 1 => {
                let (w, bits) = (wrapper(p.alg), p.window.bits() as u32);
                let mut isal = Box::new(IsalDeflate::new(1));
                // Parameters come from validated types: only a bug could make this fail,
                // and then the first call reports it.
                let _ = isal.stream_reset(w, bits);
                CpuStream::Isal(isal, w, bits)
            }
            OpType::Compress => CpuStream::Comp(new_compress(p)),
            OpType::Decompress => CpuStream::Decomp(p.alg, new_decompress(p.alg)),
        })
    }

    /// Start a new stream, reusing the codec state where the codec allows it.
    pub(crate) fn reset(&mut self) {
        match self {
            CpuStream::Isal(c, w, bits) => {
                let _ = c.stream_reset(*w, *bits);
            }
            CpuStream::Comp(c) => c.reset(),
            CpuStream::Decomp(Alg::Gzip, d) => *d = new_decompress(Alg::Gzip),
            CpuStream::Decomp(alg, d) => d.reset(*alg == Alg::Zlib),
            CpuStream::Lz77(st) => st.reset(),
            CpuStream::Zstd(z) => z.reset(),
        }
    }

    fn run(&mut self, input: &[u8], out: &mut [u8], last: bool, sync: bool) -> Result<Output> {
        match self {
            CpuStream::Zstd(z) => z.run(input, out, last, sync),
            CpuStream::Lz77(_) => Err(Error::InvalidParam("lz77 stream state".into())),
            CpuStream::Isal(c, ..) => {
                let (consumed, produced, end) = c
                    .stream(input, out, last, sync)
                    .map_err(|e| isal_err(e, out.len()))?;
                Ok(Output {
                    consumed,
                    produced,
                    end,
                    lz77: None,
                })
            }
            CpuStream::Comp(c) => {
                let (i0, o0) = (c.total_in(), c.total_out());
                let flush = if last {
                    FlushCompress::Finish
                } else if sync {
                    FlushCompress::Sync
                } else {
                    FlushCompress::None
                };
                let st = c
                    .compress(input, out, flush)
                    .map_err(|e| Error::InvalidParam(format!("zlib: {e}")))?;
                Ok(Output {
                    consumed: (c.total_in() - i0) as usize,
                    produced: (c.total_out() - o0) as usize,
                    end: st == Status::StreamEnd,
                    lz77: None,
                })
            }
            CpuStream::Decomp(_, d) => {
                let (i0, o0) = (d.total_in(), d.total_out());
                let st = d
                    .decompress(input, out, FlushDecompress::None)
                    .map_err(|e| inflate_error(&e))?;
                let o = Output {
                    consumed: (d.total_in() - i0) as usize,
                    produced: (d.total_out() - o0) as usize,
                    end: st == Status::StreamEnd,
                    lz77: None,
                };
                if last && !o.end && o.consumed == input.len() && o.produced < out.len() {
                    return Err(Error::TruncatedInput);
                }
                Ok(o)
            }
        }
    }
}

/// One whole stream at the start of `input` through zlib-rs, the decoder of stream mode,
/// so that block and stream mode (and zlib) give the same verdict on every input; returns
/// (produced, consumed). zlib framing is zlib-rs's own; a gzip member is framed here
/// (the header read as zlib reads it, the trailer's CRC-32 and length checked), because
/// zlib-rs cannot be reset into gzip mode and a new state per request would allocate.
fn inflate_block(
    d: &mut Decompress,
    alg: Alg,
    input: &[u8],
    out: &mut [u8],
) -> Result<(usize, usize)> {
    let body = match alg {
        Alg::Gzip => match hdr::parse_header(alg, input) {
            Header::Complete(n) => n,
            Header::NeedMore => return Err(Error::TruncatedInput),
            Header::Invalid(m) => return Err(Error::CorruptData(m.into())),
        },
        _ => 0,
    };
    d.reset(alg == Alg::Zlib);
    let (produced, used) = match d.decompress(&input[body..], out, FlushDecompress::Finish) {
        Ok(Status::StreamEnd) => (d.total_out() as usize, body + d.total_in() as usize),
        Ok(_) if d.total_out() as usize == out.len() => {
            return Err(Error::OutputTooSmall {
                capacity: out.len(),
            })
        }
        Ok(_) => return Err(Error::TruncatedInput),
        Err(e) => return Err(inflate_error(&e)),
    };
    if alg != Alg::Gzip {
        return Ok((produced, used));
    }
    let Some(t) = input.get(used..used + 8) else {
        return Err(Error::TruncatedInput);
    };
    let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
    let isize = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
    if crc != crc32fast::hash(&out[..produced]) || isize != produced as u32 {
        return Err(Error::ChecksumMismatch);
    }
    Ok((produced, used + 8))
}

/// A zlib-rs inflate error as a typed error, with zlib's message.
fn inflate_error(e: &flate2::DecompressError) -> Error {
    if e.needs_dictionary().is_some() {
        return Error::CorruptData(
            "zlib stream needs a preset dictionary (FDICT), which is not supported".into(),
        );
    }
    inflate_err(e.message())
}

fn inflate_err(msg: Option<&str>) -> Error {
    match msg {
        Some(m) if m.contains("data check") || m.contains("length check") => {
            Error::ChecksumMismatch
        }
        Some(m) if m.contains("dictionary") => {
            Error::CorruptData("stream needs a preset dictionary".into())
        }
        Some(m) => Error::CorruptData(m.to_string()),
        None => Error::CorruptData("invalid deflate data".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::req::Level;

    fn params(alg: Alg, op: OpType, level: u32, window: WindowSize) -> ReqParams {
        ReqParams {
            alg,
            op,
            level: Level::new(level).unwrap(),
            window,
        }
    }

    fn block(e: &mut Engine, p: ReqParams, input: &[u8], cap: usize) -> Result<Vec<u8>> {
        let mut out = vec![0u8; cap];
        let mut req = Request {
            params: p,
            src: Src::Flat(input),
            dst: Dst::Flat(&mut out),
            stream: None,
            last: true,
            sync_flush: false,
            prev_block: crate::req::BlockType::Compressed,
        };
        let o = e.run(&mut req)?;
        out.truncate(o.produced);
        Ok(out)
    }

    #[test]
    fn block_round_trip_every_codec_path() {
        let data: Vec<u8> = (0..100_000u32)
            .map(|i| ((i % 251) ^ (i / 7)) as u8)
            .collect();
        let mut e = Engine::default();
        for alg in CPU_ALGS.into_iter().filter(|a| lz77::variant(*a).is_none()) {
            for level in [1, 2, 6, 12, 15] {
                for w in [WindowSize::W4K, WindowSize::W24K, WindowSize::W32K] {
                    let c = block(
                        &mut e,
                        params(alg, OpType::Compress, level, w),
                        &data,
                        200_000,
                    )
                    .unwrap();
                    let d = block(
                        &mut e,
                        params(alg, OpType::Decompress, 1, w),
                        &c,
                        data.len(),
                    )
                    .unwrap();
                    assert_eq!(d, data, "{alg} L{level} {w:?}");
                }
            }
        }
    }

    #[test]
    fn codec_choice_by_level_window_and_size() {
        let p = |level, window| params(Alg::Zlib, OpType::Compress, level, window);
        assert_eq!(
            deflate_codec(&p(1, WindowSize::W4K), 4096),
            DeflateCodec::Isal(1)
        );
        assert_eq!(
            deflate_codec(&p(1, WindowSize::W32K), 1 << 30),
            DeflateCodec::Isal(1)
        );
        assert_eq!(
            deflate_codec(&p(6, WindowSize::W32K), 1 << 30),
            DeflateCodec::Libdeflate(6)
        );
        // A page in a 4 KiB window (QEMU's sessions at levels 2..15): libdeflate.
        assert_eq!(
            deflate_codec(&p(6, WindowSize::W4K), 4096),
            DeflateCodec::Libdeflate(6)
        );
        assert_eq!(
            deflate_codec(&p(6, WindowSize::W4K), 4097),
            DeflateCodec::ZlibRs(6)
        );
        // 24 KiB windows are 16 KiB in deflate streams.
        assert_eq!(
            deflate_codec(&p(15, WindowSize::W24K), 16384),
            DeflateCodec::Libdeflate(12)
        );
        assert_eq!(
            deflate_codec(&p(15, WindowSize::W24K), 16385),
            DeflateCodec::ZlibRs(9)
        );
        assert_eq!(DeflateCodec::Libdeflate(6).to_string(), "libdeflate 6");
    }

    #[test]
    fn output_too_small_is_an_error() {
        let data = vec![7u8; 10_000];
        let mut e = Engine::default();
        for alg in CPU_ALGS.into_iter().filter(|a| lz77::variant(*a).is_none()) {
            let c = block(
                &mut e,
                params(alg, OpType::Compress, 6, WindowSize::W32K),
                &data,
                100_000,
            )
            .unwrap();
            let err = block(
                &mut e,
                params(alg, OpType::Decompress, 1, WindowSize::W32K),
                &c,
                100,
            );
            assert!(
                matches!(err, Err(Error::OutputTooSmall { .. })),
                "{alg}: {err:?}"
            );
            for l in [1, 6] {
                let err = block(
                    &mut e,
                    params(alg, OpType::Compress, l, WindowSize::W8K),
                    &data,
                    3,
                );
                assert!(matches!(err, Err(Error::OutputTooSmall { .. })), "{alg}");
            }
        }
    }

    fn part(e: &mut Engine, p: ReqParams, input: &[u8], cap: usize, last: bool) -> Result<Vec<u8>> {
        let mut out = vec![0u8; cap];
        let mut req = Request::part(p, Src::Flat(input), Dst::Flat(&mut out), last);
        let o = e.run(&mut req)?;
        assert_eq!(o.end, last);
        out.truncate(o.produced);
        Ok(out)
    }

    #[test]
    fn parts_join_into_one_stream_and_inflate_alone() {
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| ((i % 251) ^ (i / 7) ^ (i.wrapping_mul(i) >> 13)) as u8)
            .collect();
        let mut e = Engine::default();
        for (level, w) in [
            (1, WindowSize::W32K),
            (1, WindowSize::W8K),
            (6, WindowSize::W32K),
            (12, WindowSize::W32K),
            (6, WindowSize::W4K),
        ] {
            let pc = params(Alg::Deflate, OpType::Compress, level, w);
            let pd = params(Alg::Deflate, OpType::Decompress, 1, w);
            let pieces = [&data[..100_000], &data[100_000..100_000], &data[100_000..]];
            let mut joined = Vec::new();
            for (k, piece) in pieces.iter().enumerate() {
                let last = k == pieces.len() - 1;
                let z = part(&mut e, pc, piece, piece.len() + 1000, last).unwrap();
                if !last {
                    assert_eq!(&z[z.len() - 4..], &[0, 0, 0xff, 0xff], "L{level} {w:?}");
                    let back = part(&mut e, pd, &z, piece.len() + 10, false).unwrap();
                    assert_eq!(&back[..], *piece);
                }
                joined.extend_from_slice(&z);
            }
            let back = block(&mut e, pd, &joined, data.len()).unwrap();
            assert_eq!(back, data, "L{level} {w:?}");
        }
        // Parts are raw deflate only.
        let pg = params(Alg::Gzip, OpType::Compress, 1, WindowSize::W32K);
        assert!(part(&mut e, pg, &data, 400_000, false).is_err());
        let d = CpuDriver::new();
        assert!(d.check(&pg, ReqKind::Part).is_err());
        assert!(d
            .check(
                &params(Alg::Deflate, OpType::Compress, 6, WindowSize::W32K),
                ReqKind::Part
            )
            .is_ok());
    }

    #[test]
    fn cpu_rejects_lz77_decompression_and_lz4_streams() {
        let d = CpuDriver::new();
        let p = params(Alg::Lz77Zstd, OpType::Compress, 8, WindowSize::W32K);
        assert!(d.check(&p, ReqKind::Stream).is_ok());
        let p = params(Alg::Lz77Only, OpType::Decompress, 8, WindowSize::W32K);
        assert!(matches!(
            d.check(&p, ReqKind::Block),
            Err(Error::Unsupported { .. })
        ));
        let p = params(Alg::Lz4, OpType::Compress, 1, WindowSize::W32K);
        assert!(d.check(&p, ReqKind::Block).is_ok());
        assert!(d.new_stream(&p).is_err());
    }
}
