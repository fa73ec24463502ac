//! Stream requests: the state a stream keeps between calls (the engine's context buffer,
//! checksum and context words, the software header, the store buffer for small outputs and
//! output still pending), and the step that sends one call of a stream to the engine.

use super::completion::finish_lz77;
use super::completion::status_error;
use super::ctx::HisiCtx;
use super::sqe::{lz77_variant, prepare_lz77, window_code};
use super::{hw_alg_of, unsupported};
use crate::drv::hdr::{self, Header, HeaderReader};
use crate::drv::{Dst, Request, Src};
use crate::error::{Error, Result};
use crate::hw::lz77;
use crate::hw::zip::{self as fmt, dw, status, Flush, SqeType, ZipSqe};
use crate::req::{Alg, BlockType, OpType, Output, ReqParams};

impl HisiCtx {
    pub(super) fn stream(&mut self, req: &mut Request<'_, '_>) -> Result<Output> {
        let Some(state) = req.stream.as_mut() else {
            return Err(Error::InvalidParam("stream request without state".into()));
        };
        let Some(st) = state.0.downcast_mut::<HisiStream>() else {
            return Err(Error::InvalidParam("stream state of another driver".into()));
        };
        let Src::Flat(src) = req.src else {
            return Err(unsupported("stream requests over SGLs"));
        };
        let Dst::Flat(dst) = &mut req.dst else {
            return Err(unsupported("stream requests over SGLs"));
        };
        let p = req.params;
        if lz77_variant(p.alg).is_some() {
            return self.stream_lz77(st, src, dst, req.last, req.prev_block, &p);
        }
        let mut produced = st.drain(dst);
        if st.pending_len() > 0 {
            return Ok(Output {
                consumed: 0,
                produced,
                end: false,
                lz77: None,
            });
        }
        if st.ended {
            return Ok(Output {
                consumed: 0,
                produced,
                end: true,
                lz77: None,
            });
        }
        let mut consumed = 0;
        if !st.hdr_done {
            match p.op {
                OpType::Compress => {
                    let mut h = [0u8; 10];
                    let n = hdr::write_header(p.alg, p.window, &mut h);
                    st.pending.clear();
                    st.pending.extend_from_slice(&h[..n]);
                    st.pending_off = 0;
                    st.hdr_done = true;
                    produced += st.drain(&mut dst[produced..]);
                    if st.pending_len() > 0 {
                        return Ok(Output {
                            consumed: 0,
                            produced,
                            end: false,
                            lz77: None,
                        });
                    }
                }
                OpType::Decompress => match st.hdr_in.feed(src) {
                    Header::Complete(n) => {
                        consumed = n;
                        st.hdr_done = true;
                    }
                    Header::NeedMore => {
                        if req.last {
                            return Err(Error::TruncatedInput);
                        }
                        return Ok(Output {
                            consumed: src.len(),
                            produced,
                            end: false,
                            lz77: None,
                        });
                    }
                    Header::Invalid(m) => return Err(Error::CorruptData(m.into())),
                },
            }
        }
        let src = &src[consumed..];
        let room = dst.len() - produced;
        let use_store = room <= fmt::SW_STOREBUF_TH;
        let (out_addr, out_len) = if use_store {
            (st.store.as_mut_ptr() as u64, fmt::STORE_BUF_SIZE)
        } else {
            (
                dst[produced..].as_mut_ptr() as u64,
                room.min(fmt::HZ_MAX_SIZE),
            )
        };
        let mut in_len = src.len().min(fmt::HZ_MAX_SIZE);
        let mut finish = req.last && in_len == src.len();
        if p.op == OpType::Compress && (out_len as u64) < (in_len as u64 * 9).div_ceil(8) + 64 {
            // Keep the flushed output within the space offered, as UADK shrinks the input.
            in_len = ((out_len.saturating_sub(64)) * 8 / 9) & !3;
            finish = finish && in_len == src.len();
        }
        if p.op == OpType::Compress && finish && in_len == 0 {
            // No input left to finish with: the engine takes none, so the stream ends
            // here in software, with a final empty stored block after the engine's
            // sync-flushed output and the trailer from its checksum words (UADK's
            // append_store_block does the same).
            let (t, tn) = hdr::trailer(p.alg, st.checksum, st.isize, st.new);
            st.pending.clear();
            st.pending.extend_from_slice(&hdr::EMPTY_FINAL_BLOCK);
            st.pending.extend_from_slice(&t[..tn]);
            st.pending_off = 0;
            produced += st.drain(&mut dst[produced..]);
            st.ended = true;
            return Ok(Output {
                consumed,
                produced,
                end: st.pending_len() == 0,
                lz77: None,
            });
        }
        let alg = hw_alg_of(p.alg);
        let ty = SqeType::for_alg(self.qp.hw_ver(), alg);
        let mut sqe = ZipSqe::default();
        sqe.set_bufs(src.as_ptr() as u64, in_len as u32, out_addr, out_len as u32);
        sqe.set_type(ty);
        sqe.set_alg(alg);
        sqe.set_window(window_code(&p));
        let tag = self.next_tag();
        sqe.set_tag(ty, tag);
        // The last call of a stream finishes it, in both directions, as UADK's driver
        // sets the flush flag from `last` whatever the op.
        sqe.set_stream(
            st.new,
            true,
            if finish { Flush::Finish } else { Flush::Sync },
        );
        sqe.set_ctx_addr(st.ctx_addr());
        sqe.w[dw::ISIZE] = st.isize;
        sqe.w[dw::CHECKSUM] = st.checksum;
        sqe.w[dw::CTX_DW0] = st.ctx_dw[0];
        sqe.w[dw::CTX_DW1] = st.ctx_dw[1];
        sqe.w[dw::CTX_DW2] = st.ctx_dw[2];
        let done = self.run_one(&sqe)?;
        if let Some(e) = status_error(&done, out_len) {
            return Err(e);
        }
        let (c, n) = (done.w[dw::CONSUMED] as usize, done.w[dw::PRODUCED] as usize);
        if c > in_len || n > out_len {
            return Err(Error::Hardware(format!(
                "engine reports {c} in / {n} out of {in_len} / {out_len}"
            )));
        }
        st.new = false;
        st.isize = done.w[dw::ISIZE];
        st.checksum = done.w[dw::CHECKSUM];
        st.ctx_dw = [
            done.w[dw::CTX_DW0],
            done.w[dw::CTX_DW1],
            done.w[dw::CTX_DW2],
        ];
        consumed += c;
        if use_store {
            st.pending.clear();
            st.pending.extend_from_slice(&st.store[..n]);
            st.pending_off = 0;
            produced += st.drain(&mut dst[produced..]);
        } else {
            produced += n;
        }
        st.ended = match p.op {
            OpType::Compress => finish && c == in_len,
            OpType::Decompress => done.status() == status::DECOMP_END && done.last_block(),
        };
        if p.op == OpType::Decompress
            && !st.ended
            && req.last
            && c == src.len()
            && n == 0
            && !use_store
        {
            // Everything offered was read, nothing came out and the caller says no more
            // input follows: the stream is cut short.
            if c == 0 {
                return Err(Error::TruncatedInput);
            }
        }
        Ok(Output {
            consumed,
            produced,
            end: st.ended && st.pending_len() == 0,
            lz77: None,
        })
    }
}

impl HisiCtx {
    /// One call of an lz77 stream, as `fill_buf_lz77_zstd` and `get_data_size_lz77_zstd`
    /// handle the context buffer: before the call the engine's repeat offsets are set from
    /// the copies the driver keeps (those before the previous block when the caller did not
    /// emit it compressed) and the carried literal length is cleared; after it the engine's
    /// offsets are copied out.
    fn stream_lz77(
        &mut self,
        st: &mut HisiStream,
        src: &[u8],
        dst: &mut [u8],
        last: bool,
        prev: BlockType,
        p: &ReqParams,
    ) -> Result<Output> {
        let v = lz77_variant(p.alg).ok_or_else(|| Error::InvalidParam("not lz77".into()))?;
        let tag = self.next_tag();
        let finish = last;
        let mut bufs = std::mem::take(&mut self.bufs);
        let prep = prepare_lz77(
            self.qp.hw_ver(),
            p,
            &Src::Flat(src),
            &mut Dst::Flat(dst),
            &mut bufs,
            tag,
            Some((st.new, finish)),
        );
        self.bufs = bufs;
        let mut prep = prep?;
        if v == lz77::Variant::Zstd {
            let ctx = st.ctx_bytes();
            let hw = fmt::RSV_OFFSET + lz77::CTX_HW_REPCODE_OFFSET;
            let (r1, r2) = (lz77::CTX_REPCODE1_OFFSET, lz77::CTX_REPCODE2_OFFSET);
            if prev != BlockType::Compressed {
                ctx.copy_within(r2..r2 + lz77::REPCODE_SIZE, hw);
            } else {
                ctx.copy_within(r1..r1 + lz77::REPCODE_SIZE, r2);
            }
            let lit = hw + lz77::REPCODE_SIZE;
            ctx[lit..lit + lz77::SEQ_LIT_LEN_SIZE].fill(0);
        }
        let sqe = &mut prep.sqe;
        sqe.set_ctx_addr(st.ctx_addr());
        sqe.w[dw::ISIZE] = st.isize;
        sqe.w[dw::CHECKSUM] = st.checksum;
        sqe.w[dw::CTX_DW0] = st.ctx_dw[0];
        sqe.w[dw::CTX_DW1] = st.ctx_dw[1];
        sqe.w[dw::CTX_DW2] = st.ctx_dw[2];
        let done = self.run_one(&prep.sqe)?;
        if let Some(e) = status_error(&done, dst.len()) {
            return Err(e);
        }
        let l = prep
            .info
            .lz77
            .as_ref()
            .ok_or_else(|| Error::InvalidParam("lz77 layout".into()))?;
        let mut out = finish_lz77(l, src.len(), &done)?;
        st.new = false;
        st.isize = done.w[dw::ISIZE];
        st.checksum = done.w[dw::CHECKSUM];
        st.ctx_dw = [
            done.w[dw::CTX_DW0],
            done.w[dw::CTX_DW1],
            done.w[dw::CTX_DW2],
        ];
        if v == lz77::Variant::Zstd {
            let ctx = st.ctx_bytes();
            let hw = fmt::RSV_OFFSET + lz77::CTX_HW_REPCODE_OFFSET;
            let r1 = lz77::CTX_REPCODE1_OFFSET;
            ctx.copy_within(hw..hw + lz77::REPCODE_SIZE, r1);
        }
        // UADK's session ends the stream when the last call consumed all its input.
        out.end = last && out.consumed == src.len();
        st.ended = out.end;
        Ok(out)
    }
}

/// A stream's state: the engine's context buffer and the software side of the stream.
pub(super) struct HisiStream {
    /// The engine's context buffer (`HW_CTX_SIZE` bytes after a 64-byte reserve).
    pub(super) ctx_buf: Vec<u64>,
    pub(super) new: bool,
    pub(super) isize: u32,
    pub(super) checksum: u32,
    pub(super) ctx_dw: [u32; 3],
    pub(super) hdr_done: bool,
    /// The header being read (decompression), in constant memory whatever its size.
    pub(super) hdr_in: HeaderReader,
    pub(super) store: Box<[u8; fmt::STORE_BUF_SIZE]>,
    pub(super) pending: Vec<u8>,
    pub(super) pending_off: usize,
    pub(super) ended: bool,
}

impl HisiStream {
    pub(super) fn new(alg: Alg) -> HisiStream {
        HisiStream {
            ctx_buf: vec![0u64; (fmt::HW_CTX_SIZE + fmt::RSV_OFFSET) / 8],
            new: true,
            isize: 0,
            checksum: 0,
            ctx_dw: [0; 3],
            hdr_done: false,
            hdr_in: HeaderReader::new(alg),
            store: Box::new([0u8; fmt::STORE_BUF_SIZE]),
            pending: Vec::with_capacity(fmt::STORE_BUF_SIZE),
            pending_off: 0,
            ended: false,
        }
    }

    pub(super) fn reset(&mut self) {
        // A new stream starts from a clear context, as `wd_comp_reset_sess` clears it.
        self.ctx_buf.fill(0);
        self.new = true;
        self.isize = 0;
        self.checksum = 0;
        self.ctx_dw = [0; 3];
        self.hdr_done = false;
        self.hdr_in.reset();
        self.pending.clear();
        self.pending_off = 0;
        self.ended = false;
    }

    /// The context buffer as bytes (UADK's `ctx_buf`; the engine's part starts at 64).
    pub(super) fn ctx_bytes(&mut self) -> &mut [u8] {
        let len = self.ctx_buf.len() * 8;
        // SAFETY: viewing our own u64 buffer as bytes, for its whole length.
        unsafe { std::slice::from_raw_parts_mut(self.ctx_buf.as_mut_ptr().cast::<u8>(), len) }
    }

    pub(super) fn ctx_addr(&mut self) -> u64 {
        self.ctx_buf.as_mut_ptr() as u64 + fmt::RSV_OFFSET as u64
    }

    pub(super) fn pending_len(&self) -> usize {
        self.pending.len() - self.pending_off
    }

    pub(super) fn drain(&mut self, dst: &mut [u8]) -> usize {
        let n = self.pending_len().min(dst.len());
        dst[..n].copy_from_slice(&self.pending[self.pending_off..self.pending_off + n]);
        self.pending_off += n;
        n
    }
}
