//! Sync block requests (UADK's `wd_do_comp_sync`): one whole stream per request, flat or
//! SGL buffers, the retry on another context and the CPU engine when a device fails it.

use super::session::Session;
use crate::drv::{Dst, Request, Src};
use crate::error::{Error, Result};
use crate::req::{Alg, Level, OpType, Output, ReqParams, WindowSize};
use crate::wd::CtxMode;
use std::sync::atomic::Ordering;

impl Session {
    pub(super) fn run_sync(&self, src: Src<'_>, mut dst: Dst<'_, '_>) -> Result<Output> {
        if dst.is_empty() {
            return Err(Error::InvalidParam("output buffer is empty".into()));
        }
        if let Some(cpu) = self.cpu() {
            return cpu.process(&mut Request::block(self.params, src, dst));
        }
        let idx = self.pick(CtxMode::Sync)?;
        match self.send_sync(idx, src, dst.reborrow()) {
            Err(e) if e.is_device_fault() => self.recover(idx, src, dst, e),
            r => r,
        }
    }

    pub(super) fn send_sync(&self, idx: usize, src: Src<'_>, dst: Dst<'_, '_>) -> Result<Output> {
        let ctx = &self.comp.ctxs[idx];
        ctx.stats.sent.fetch_add(1, Ordering::Relaxed);
        let mut req = Request::block(self.params, src, dst);
        let mut q = ctx.lock();
        let res = q.process(&mut req);
        match &res {
            Err(e) if e.is_device_fault() => {
                ctx.stats.record_fault(e);
                if !q.usable() {
                    ctx.down.store(true, Ordering::Relaxed);
                }
            }
            _ => ctx.stats.record(&res),
        }
        res
    }

    /// A device failed a block request: send it once more on another context, then
    /// hand it to the CPU engine. The caller sees one result either way.
    pub(super) fn recover(
        &self,
        failed: usize,
        src: Src<'_>,
        mut dst: Dst<'_, '_>,
        e: Error,
    ) -> Result<Output> {
        let other = (0..2)
            .filter_map(|_| self.pick(CtxMode::Sync).ok())
            .find(|&j| j != failed);
        if let Some(j) = other {
            self.comp.ctxs[j]
                .stats
                .retries
                .fetch_add(1, Ordering::Relaxed);
            match self.send_sync(j, src, dst.reborrow()) {
                Err(e2) if e2.is_device_fault() => {}
                r => return r,
            }
        }
        let Some(fb) = &self.comp.fallback else {
            return Err(e);
        };
        let ctx = &self.comp.ctxs[failed];
        ctx.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
        let mut req = Request::block(self.params, src, dst);
        fb.process(&mut req)
    }

    /// Sync block request: all of `src` into `dst` as one complete stream (compress) or
    /// from one complete stream (decompress). Returns the bytes written. Decompression
    /// reads one stream: bytes after its end are left unread (see [`Session::process_output`]).
    pub fn process(&self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
        self.run_sync(Src::Flat(src), Dst::Flat(dst))
            .map(|o| o.produced)
    }

    /// [`Session::process`], reporting the input consumed too: for decompression, where
    /// the stream ended (UADK's `src_len` on return), e.g. the next member of a gzip file.
    pub fn process_output(&self, src: &[u8], dst: &mut [u8]) -> Result<Output> {
        self.run_sync(Src::Flat(src), Dst::Flat(dst))
    }

    /// Sync block request over scatter-gather lists (UADK's `WD_SGL_BUF`).
    pub fn process_sgl(&self, src: &[&[u8]], dst: &mut [&mut [u8]]) -> Result<usize> {
        self.run_sync(Src::List(src), Dst::List(dst))
            .map(|o| o.produced)
    }

    /// [`Session::process_sgl`], reporting the input consumed too (see
    /// [`Session::process_output`]).
    pub fn process_sgl_output(&self, src: &[&[u8]], dst: &mut [&mut [u8]]) -> Result<Output> {
        self.run_sync(Src::List(src), Dst::List(dst))
    }

    /// Output space that always holds this session's compressed form of `n` bytes.
    pub fn compress_bound(&self, n: usize) -> usize {
        compress_bound_for(&self.params, n)
    }

    /// Sync block request into a new `Vec`, sized for the result. Decompression grows the
    /// `Vec` as far as the stream expands: for input that is not trusted (a zip bomb
    /// expands a thousandfold), use [`Session::process_to_vec_limited`].
    pub fn process_to_vec(&self, src: &[u8]) -> Result<Vec<u8>> {
        self.process_to_vec_limited(src, usize::MAX)
    }

    /// [`Session::process_to_vec`] with a cap on the result: a result of more than `limit`
    /// bytes fails with [`Error::OutputLimit`]. Decompression never allocates more than
    /// `limit` bytes; compression allocates its bound, about the input's size (some codecs
    /// need all of it, whatever they write).
    pub fn process_to_vec_limited(&self, src: &[u8], limit: usize) -> Result<Vec<u8>> {
        let over = Error::OutputLimit { limit };
        match self.params.op {
            OpType::Compress => {
                let mut out = vec![0u8; self.compress_bound(src.len())];
                let n = self.process(src, &mut out)?;
                if n > limit {
                    return Err(over);
                }
                out.truncate(n);
                Ok(out)
            }
            OpType::Decompress if self.params.alg == Alg::Lz4 => {
                // lz4 blocks carry no size: grow until it fits (lz4 expands at most 255x).
                let most = src.len().saturating_mul(256).saturating_add(64);
                let mut cap = src.len().saturating_mul(4).max(4096).min(limit);
                loop {
                    if cap == 0 {
                        return Err(over);
                    }
                    let mut out = vec![0u8; cap];
                    match self.process(src, &mut out) {
                        Ok(n) => {
                            out.truncate(n);
                            return Ok(out);
                        }
                        Err(Error::OutputTooSmall { .. }) if cap < most && cap < limit => {
                            cap = cap.saturating_mul(4).min(limit);
                        }
                        Err(Error::OutputTooSmall { .. }) if cap == limit => return Err(over),
                        Err(e) => return Err(e),
                    }
                }
            }
            OpType::Decompress => {
                let mut out = Vec::new();
                self.stream_all(src, &mut out, limit)?;
                Ok(out)
            }
        }
    }
}

/// Output space that always holds the compressed form of `n` bytes, whatever the level
/// and window (see [`Session::compress_bound`] for a tighter figure).
pub fn compress_bound(alg: Alg, n: usize) -> usize {
    match alg {
        Alg::Lz4 => lz4_flex::block::get_maximum_output_size(n),
        Alg::Lz77Zstd | Alg::Lz77Only => super::lz77::lz77_bound(alg, n),
        // ZSTD_COMPRESSBOUND: frame header and checksum included.
        Alg::Zstd => zstd::zstd_safe::compress_bound(n),
        // zlib's bound for windows under 32 KiB: stored blocks cannot span more than the
        // window, so incompressible data is Huffman-coded at up to 9 bits a byte.
        _ => n + (n >> 3) + (n >> 8) + (n >> 9) + 4 + 18 + 64,
    }
}

pub(super) fn compress_bound_for(p: &ReqParams, n: usize) -> usize {
    match p.alg {
        // With the full window (or ISA-L, at level 1), incompressible data goes into stored
        // blocks: libdeflate's bound (5 bytes per 5000-byte block plus output padding) is
        // the loosest of the codecs, plus the gzip wrapper and a margin.
        a if a.is_deflate_family() && (p.window == WindowSize::W32K || p.level == Level::L1) => {
            n + 5 * (n / 5000 + 1) + 9 + 18 + 64
        }
        a => compress_bound(a, n),
    }
}
