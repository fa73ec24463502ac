//! zstd on the CPU engine: libzstd through the `zstd` crate, frames as the `zstd` tool
//! writes them (content checksum on; content size in block mode, where it is known).
//!
//! Levels are zstd's own numbers ([`Level::value`]). The window: below 32 KiB, the
//! session's [`WindowSize`] caps zstd's window (`windowLog` 12..14); at 32 KiB, the default,
//! zstd keeps its level's window, as the deflate limit would cost zstd most of its ratio.
//!
//! Decompression reads every frame of its input, skippable frames included, as the `zstd`
//! tool reads a file: a block request takes one buffer of whole frames, a stream runs
//! across frame boundaries and ends at the end of its input.

use crate::error::{Error, Result};
use crate::req::{Level, OpType, Output, ReqParams, WindowSize};
use zstd::zstd_safe::zstd_sys::{ZSTD_EndDirective, ZSTD_ErrorCode};
use zstd::zstd_safe::{
    self, CCtx, CParameter, DCtx, ErrorCode, InBuffer, OutBuffer, ResetDirective,
};

/// `windowLog` a session's window asks of zstd, if any.
fn window_log(w: WindowSize) -> Option<u32> {
    (w != WindowSize::W32K).then(|| w.bits() as u32)
}

/// A zstd error as the library's.
fn zstd_err(code: ErrorCode, capacity: usize) -> Error {
    use ZSTD_ErrorCode::*;
    let is = |k| zstd_safe::is_error_kind(code, k);
    if is(ZSTD_error_dstSize_tooSmall) {
        Error::OutputTooSmall { capacity }
    } else if is(ZSTD_error_checksum_wrong) {
        Error::ChecksumMismatch
    } else if is(ZSTD_error_srcSize_wrong) {
        Error::TruncatedInput
    } else if is(ZSTD_error_prefix_unknown) {
        Error::CorruptData("not a zstd frame".into())
    } else if is(ZSTD_error_memory_allocation) {
        Error::Io("zstd: out of memory".into())
    } else if is(ZSTD_error_parameter_outOfBound) || is(ZSTD_error_parameter_unsupported) {
        Error::InvalidParam(format!("zstd: {}", zstd_safe::get_error_name(code)))
    } else {
        Error::CorruptData(format!("zstd: {}", zstd_safe::get_error_name(code)))
    }
}

/// True when the last frame of `input` is cut short. libzstd reports a frame that lacks
/// its checksum as a wrong checksum; walking the frames tells the two apart.
fn ends_early(input: &[u8]) -> bool {
    let mut rest = input;
    while !rest.is_empty() {
        match zstd_safe::find_frame_compressed_size(rest) {
            Ok(n) if n > 0 && n <= rest.len() => rest = &rest[n..],
            Err(e) => return zstd_safe::is_error_kind(e, ZSTD_ErrorCode::ZSTD_error_srcSize_wrong),
            Ok(_) => return false,
        }
    }
    false
}

/// Set a compression context up for a session's parameters.
fn configure(c: &mut CCtx<'static>, p: &ReqParams) -> Result<()> {
    let bad = |e| zstd_err(e, 0);
    c.reset(ResetDirective::SessionAndParameters).map_err(bad)?;
    c.set_parameter(CParameter::CompressionLevel(p.level.value()))
        .map_err(bad)?;
    c.set_parameter(CParameter::ChecksumFlag(true))
        .map_err(bad)?;
    if let Some(log) = window_log(p.window) {
        c.set_parameter(CParameter::WindowLog(log)).map_err(bad)?;
    }
    Ok(())
}

fn new_cctx() -> Result<CCtx<'static>> {
    CCtx::try_create().ok_or_else(|| Error::Io("zstd: out of memory for a context".into()))
}

fn new_dctx() -> Result<DCtx<'static>> {
    DCtx::try_create().ok_or_else(|| Error::Io("zstd: out of memory for a context".into()))
}

/// Block-request state of one context: a compressor set up for the last parameters
/// seen, and a decompressor.
#[derive(Default)]
pub(super) struct ZstdBlock {
    comp: Option<(Level, WindowSize, CCtx<'static>)>,
    decomp: Option<DCtx<'static>>,
}

impl ZstdBlock {
    /// One whole-buffer request; returns (produced, consumed).
    pub(super) fn block(
        &mut self,
        p: &ReqParams,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize)> {
        let cap = out.len();
        match p.op {
            OpType::Compress => {
                let c = match &mut self.comp {
                    Some((l, w, c)) if *l == p.level && *w == p.window => c,
                    slot => {
                        let mut c = new_cctx()?;
                        configure(&mut c, p)?;
                        &mut slot.insert((p.level, p.window, c)).2
                    }
                };
                match c.compress2(out, input) {
                    Ok(n) => Ok((n, input.len())),
                    Err(e) => {
                        // A failed call may leave the session half-done: start the next clean.
                        let _ = c.reset(ResetDirective::SessionOnly);
                        Err(zstd_err(e, cap))
                    }
                }
            }
            OpType::Decompress => {
                if input.is_empty() {
                    return Err(Error::TruncatedInput);
                }
                let d = match &mut self.decomp {
                    Some(d) => d,
                    slot => slot.insert(new_dctx()?),
                };
                match d.decompress(out, input) {
                    Ok(n) => Ok((n, input.len())),
                    Err(_) if ends_early(input) => {
                        let _ = d.reset(ResetDirective::SessionOnly);
                        Err(Error::TruncatedInput)
                    }
                    Err(e) => {
                        let _ = d.reset(ResetDirective::SessionOnly);
                        Err(zstd_err(e, cap))
                    }
                }
            }
        }
    }
}

/// Stream state of a zstd session.
pub(crate) enum ZstdStream {
    Comp(CCtx<'static>),
    Decomp {
        d: DCtx<'static>,
        /// Inside a frame: input or output of it is still to come.
        mid_frame: bool,
        /// Frames (skippable ones included) completed in this stream.
        frames: u64,
    },
}

impl ZstdStream {
    pub(crate) fn new(p: &ReqParams) -> Result<ZstdStream> {
        Ok(match p.op {
            OpType::Compress => {
                let mut c = new_cctx()?;
                configure(&mut c, p)?;
                ZstdStream::Comp(c)
            }
            OpType::Decompress => ZstdStream::Decomp {
                d: new_dctx()?,
                mid_frame: false,
                frames: 0,
            },
        })
    }

    /// Start a new stream; the parameters stay.
    pub(crate) fn reset(&mut self) {
        match self {
            ZstdStream::Comp(c) => {
                let _ = c.reset(ResetDirective::SessionOnly);
            }
            ZstdStream::Decomp {
                d,
                mid_frame,
                frames,
            } => {
                let _ = d.reset(ResetDirective::SessionOnly);
                *mid_frame = false;
                *frames = 0;
            }
        }
    }

    pub(crate) fn run(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        last: bool,
        sync: bool,
    ) -> Result<Output> {
        let cap = out.len();
        match self {
            ZstdStream::Comp(c) => {
                let op = if last {
                    ZSTD_EndDirective::ZSTD_e_end
                } else if sync {
                    ZSTD_EndDirective::ZSTD_e_flush
                } else {
                    ZSTD_EndDirective::ZSTD_e_continue
                };
                let mut inb = InBuffer::around(input);
                let mut outb = OutBuffer::around(out);
                let left = c
                    .compress_stream2(&mut outb, &mut inb, op)
                    .map_err(|e| zstd_err(e, cap))?;
                Ok(Output {
                    consumed: inb.pos(),
                    produced: outb.pos(),
                    end: last && left == 0 && inb.pos() == input.len(),
                    lz77: None,
                })
            }
            ZstdStream::Decomp {
                d,
                mid_frame,
                frames,
            } => {
                let mut inb = InBuffer::around(input);
                let mut outb = OutBuffer::around(out);
                // zstd stops at the end of each frame: go on into the next while there is
                // input and room, so a stream is every frame of the input.
                while (inb.pos() < input.len() || *mid_frame) && outb.pos() < cap {
                    let before = (inb.pos(), outb.pos());
                    let hint = d
                        .decompress_stream(&mut outb, &mut inb)
                        .map_err(|e| zstd_err(e, cap))?;
                    if hint == 0 {
                        *frames += 1;
                        *mid_frame = false;
                    } else {
                        *mid_frame = true;
                    }
                    if (inb.pos(), outb.pos()) == before {
                        break;
                    }
                }
                let o = Output {
                    consumed: inb.pos(),
                    produced: outb.pos(),
                    end: last && !*mid_frame && *frames > 0 && inb.pos() == input.len(),
                    lz77: None,
                };
                let starved = o.consumed == input.len() && o.produced < cap;
                if last && !o.end && starved && (*mid_frame || *frames == 0) {
                    return Err(Error::TruncatedInput);
                }
                Ok(o)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::req::Alg;

    fn params(op: OpType, level: i32, window: WindowSize) -> ReqParams {
        ReqParams {
            alg: Alg::Zstd,
            op,
            level: Level::zstd(level).unwrap(),
            window,
        }
    }

    #[test]
    fn level_range_is_libzstds() {
        assert_eq!(Level::ZSTD_MIN, zstd_safe::min_c_level());
        assert_eq!(Level::ZSTD_MAX, zstd_safe::max_c_level());
    }

    #[test]
    fn small_windows_are_honoured() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 17 + i / 5000) as u8).collect();
        let mut b = ZstdBlock::default();
        let mut out = vec![0u8; zstd_safe::compress_bound(data.len())];
        let p = params(OpType::Compress, 19, WindowSize::W4K);
        let (n, _) = b.block(&p, &data, &mut out).unwrap();
        // The frame header states the window: at most 4 KiB.
        let mut d = DCtx::create();
        d.set_parameter(zstd_safe::DParameter::WindowLogMax(12))
            .unwrap();
        let mut back = vec![0u8; data.len()];
        assert_eq!(d.decompress(&mut back[..], &out[..n]).unwrap(), data.len());
        assert_eq!(back, data);
    }

    #[test]
    fn stream_decodes_across_frames_and_reports_truncation() {
        let mut b = ZstdBlock::default();
        let mut frames = Vec::new();
        for part in [&b"first frame "[..], b"second"] {
            let mut out = vec![0u8; 256];
            let p = params(OpType::Compress, 3, WindowSize::W32K);
            let (n, _) = b.block(&p, part, &mut out).unwrap();
            frames.extend_from_slice(&out[..n]);
        }
        let p = params(OpType::Decompress, 1, WindowSize::W32K);
        let mut s = ZstdStream::new(&p).unwrap();
        let mut out = vec![0u8; 64];
        let o = s.run(&frames, &mut out, true, false).unwrap();
        assert!(o.end);
        assert_eq!(&out[..o.produced], b"first frame second");
        s.reset();
        let cut = &frames[..frames.len() - 3];
        assert_eq!(
            s.run(cut, &mut out, true, false),
            Err(Error::TruncatedInput)
        );
        s.reset();
        assert_eq!(
            s.run(&[], &mut out, true, false),
            Err(Error::TruncatedInput)
        );
    }
}
