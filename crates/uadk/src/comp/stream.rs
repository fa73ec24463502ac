//! Stream requests (UADK's `wd_do_comp_strm`): the state a session keeps between calls,
//! and sync2 (`wd_do_comp_sync2`), a whole buffer carried through a stream in chunks.

use super::session::Session;
use crate::drv::{Dst, Request, Src, StreamState};
use crate::error::{Error, Result};
use crate::req::{Alg, BlockType, Output};
use crate::wd::CtxMode;
use std::sync::atomic::Ordering;

/// Input chunk of [`Session::process_sync2`], as UADK's `STREAM_CHUNK`.
pub const SYNC2_CHUNK: usize = 128 * 1024;

#[derive(Default)]
pub(super) struct StreamSlot {
    pub(super) state: Option<StreamState>,
    /// The previous call ended (or broke) a stream: the next call starts a new one.
    pub(super) fresh_needed: bool,
}

impl Session {
    /// One call of a stream (UADK's `wd_do_comp_strm`): consumes some of `src`, produces
    /// some output, and ends the stream when `last` is set and everything is flushed.
    ///
    /// After a stream ends (or fails), the next call starts a new one.
    pub fn stream(&self, src: &[u8], dst: &mut [u8], last: bool) -> Result<Output> {
        self.stream_flush(src, dst, last, false)
    }

    /// [`Session::stream`] with a choice of flush: with `sync_flush`, a compression call
    /// emits everything for the input it consumed (zlib's `Z_SYNC_FLUSH`), costing a few
    /// bytes of ratio per call; UADK's hardware behaves this way on every request.
    pub fn stream_flush(
        &self,
        src: &[u8],
        dst: &mut [u8],
        last: bool,
        sync_flush: bool,
    ) -> Result<Output> {
        self.stream_call(src, dst, last, sync_flush, BlockType::Compressed)
    }

    pub(super) fn stream_call(
        &self,
        src: &[u8],
        dst: &mut [u8],
        last: bool,
        sync_flush: bool,
        prev_block: BlockType,
    ) -> Result<Output> {
        if dst.is_empty() {
            return Err(Error::InvalidParam("output buffer is empty".into()));
        }
        let cpu = self.cpu();
        let drv: &dyn crate::drv::Driver = match cpu {
            Some(c) => &c.driver,
            None => &*self.comp.driver,
        };
        let mut slot = self.stream.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut *slot;
        match &mut slot.state {
            None => slot.state = Some(drv.new_stream(&self.params)?),
            Some(st) if slot.fresh_needed => drv.reset_stream(&self.params, st)?,
            Some(_) => {}
        }
        slot.fresh_needed = false;
        let mut req = Request {
            params: self.params,
            src: Src::Flat(src),
            dst: Dst::Flat(dst),
            stream: slot.state.as_mut(),
            last,
            sync_flush,
            prev_block,
        };
        let res = match cpu {
            Some(c) => c.process(&mut req),
            None => {
                let ctx = &self.comp.ctxs[self.pick(CtxMode::Sync)?];
                ctx.stats.sent.fetch_add(1, Ordering::Relaxed);
                let res = ctx.lock().process(&mut req);
                ctx.stats.record(&res);
                res
            }
        };
        slot.fresh_needed = !matches!(res, Ok(o) if !o.end);
        res
    }

    /// Decompress one whole stream from `src` into `out` (cleared first), growing it as
    /// needed up to `limit` bytes (then [`Error::OutputLimit`]).
    pub(super) fn stream_all(&self, src: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<()> {
        self.reset();
        out.clear();
        out.resize(src.len().saturating_mul(3).max(4096).min(limit), 0);
        let (mut i, mut len) = (0, 0);
        // At the limit, one byte of room tells a stream that has ended from one that has not.
        let mut probe = [0u8; 1];
        loop {
            if len == out.len() && len < limit {
                out.resize(len.saturating_mul(2).min(limit), 0);
            }
            let full = len == out.len();
            let room: &mut [u8] = if full { &mut probe } else { &mut out[len..] };
            let r = self.stream(&src[i..], room, true)?;
            if full && r.produced > 0 {
                return Err(Error::OutputLimit { limit });
            }
            i += r.consumed;
            len += r.produced;
            if r.end {
                out.truncate(len);
                return Ok(());
            }
            if r.consumed == 0 && r.produced == 0 {
                return Err(Error::TruncatedInput);
            }
        }
    }

    /// Abandon the current stream; the next stream call starts a new one
    /// (UADK's `wd_comp_reset_sess`).
    pub fn reset(&self) {
        self.stream
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fresh_needed = true;
    }

    /// Whole-buffer request of any size, carried through a stream in
    /// [`SYNC2_CHUNK`]-sized pieces (UADK's `wd_do_comp_sync2`). Returns bytes written.
    pub fn process_sync2(&self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
        if self.params.alg == Alg::Lz4 {
            return self.process(src, dst);
        }
        self.reset();
        let (mut i, mut o) = (0, 0);
        loop {
            if o == dst.len() {
                return Err(Error::OutputTooSmall {
                    capacity: dst.len(),
                });
            }
            let end = (i + SYNC2_CHUNK).min(src.len());
            let last = end == src.len();
            let r = self.stream(&src[i..end], &mut dst[o..], last)?;
            i += r.consumed;
            o += r.produced;
            if r.end {
                return Ok(o);
            }
            if r.consumed == 0 && r.produced == 0 {
                return Err(if last {
                    Error::TruncatedInput
                } else {
                    Error::CorruptData("stream made no progress".into())
                });
            }
        }
    }
}
