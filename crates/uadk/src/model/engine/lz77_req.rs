//! lz77 requests: the match finder's output written to the literal and sequence areas,
//! a stream's history and repeat offsets kept in its context buffer.

use super::dma::{self, gather, scatter, Moved};
use super::{window_bits, Engine};
use crate::hw::lz77::{self, Reps};
use crate::hw::lz77_find::{Finder, Found};
use crate::hw::zip::{self as fmt, dw, status, ZipSqe};

/// Reused state of the lz77 path.
#[derive(Default)]
pub(super) struct Lz77Scratch {
    finder: Option<Finder>,
    found: Vec<Found>,
    history: Vec<u8>,
    lits: Vec<u8>,
    seqs: Vec<u8>,
}

/// The engine's part of a stream context, as this model keeps an lz77 stream in it: the
/// repeat offsets where UADK's driver reads and writes them, the history after them. It
/// is the caller's memory, reached through [`dma`] as the rest.
struct Lz77Ctx(u64);

impl Lz77Ctx {
    fn at(&self, off: usize) -> u64 {
        self.0 + off as u64
    }

    /// Repeat offsets and history of a stream under way; `None` for a page not mapped.
    ///
    /// # Safety
    /// As [`Engine::execute`].
    unsafe fn load(&self, history: &mut Vec<u8>) -> Option<Reps> {
        let mut b = Vec::new();
        // SAFETY: the context buffer, reached through dma.
        unsafe {
            if !dma::read(
                self.at(lz77::CTX_HW_REPCODE_OFFSET) as *const u8,
                lz77::REPCODE_SIZE,
                &mut b,
            ) || !dma::read(
                self.at(lz77::CTX_HISTORY_LEN_OFFSET) as *const u8,
                4,
                &mut b,
            ) {
                return None;
            }
            let hl = (u32::from_le_bytes(b[12..16].try_into().ok()?) as usize).min(32 * 1024);
            history.clear();
            if !dma::read(self.at(lz77::CTX_HISTORY_OFFSET) as *const u8, hl, history) {
                return None;
            }
        }
        Some(Reps::from_bytes(&b[..12]))
    }

    /// Store the repeat offsets and the last 32 KiB of `history`; false for a page not mapped.
    ///
    /// # Safety
    /// As [`Engine::execute`].
    unsafe fn store(&self, reps: Reps, history: &[u8]) -> bool {
        let keep = &history[history.len().saturating_sub(32 * 1024)..];
        // SAFETY: the context buffer, reached through dma.
        unsafe {
            dma::write(
                self.at(lz77::CTX_HW_REPCODE_OFFSET) as *mut u8,
                &reps.to_bytes(),
            ) && dma::write(self.at(lz77::CTX_HISTORY_OFFSET) as *mut u8, keep)
                && dma::write(
                    self.at(lz77::CTX_HISTORY_LEN_OFFSET) as *mut u8,
                    &(keep.len() as u32).to_le_bytes(),
                )
        }
    }
}

impl Engine {
    /// An lz77 request: input through the match finder, literals to the literal area
    /// (DW24-25, DW13 bytes), records and tail to the sequence area (destination,
    /// DEST_AVAIL_OUT bytes), counts into DW0-2 and DW31. A stream keeps its history and
    /// repeat offsets in the context buffer.
    ///
    /// # Safety
    /// As [`Engine::execute`].
    pub(super) unsafe fn lz77(
        &mut self,
        sqe: &mut ZipSqe,
        qc_type: u16,
        v: lz77::Variant,
        price: bool,
    ) -> Option<String> {
        let in_len = sqe.w[dw::INPUT_DATA_LENGTH] as usize;
        let seq_space = sqe.w[dw::DEST_AVAIL_OUT] as usize;
        let (lit_addr, lits_size) = sqe.literals();
        let lits_size = lits_size as usize;
        let sgl = sqe.is_sgl();
        let stateful = sqe.stateful();
        let bits = window_bits(sqe.window());
        let st = &mut self.lz77;
        let mut input = std::mem::take(&mut self.input);
        let fail = |sqe: &mut ZipSqe, code: u32| {
            sqe.w[dw::CONSUMED] = 0;
            sqe.w[dw::PRODUCED] = 0;
            sqe.w[dw::COMP_DATA_LENGTH] = 0;
            sqe.w[dw::STATUS] = code;
        };
        if qc_type != 0 || in_len > fmt::HZ_MAX_SIZE || seq_space > fmt::HZ_MAX_SIZE {
            fail(sqe, status::ENGINE_FAULT);
            self.input = input;
            return None;
        }
        // SAFETY: the caller's contract.
        match unsafe { gather(sqe.src(), in_len, sgl, 0, &mut input) } {
            Moved::All => {}
            Moved::Fault => {
                fail(sqe, status::ENGINE_FAULT);
                self.input = input;
                return None;
            }
            Moved::Short => {
                fail(sqe, status::BAD_SQE);
                self.input = input;
                return Some("the input does not fit its SGL chain".to_string());
            }
        }
        let ctx = (stateful && sqe.ctx_addr() != 0).then(|| Lz77Ctx(sqe.ctx_addr()));
        if stateful && ctx.is_none() {
            fail(sqe, status::ENGINE_FAULT);
            self.input = input;
            return None;
        }
        let reps = match &ctx {
            // SAFETY: the caller's contract.
            Some(c) if !sqe.stream_new() => match unsafe { c.load(&mut st.history) } {
                Some(r) => r,
                None => {
                    fail(sqe, status::ENGINE_FAULT);
                    self.input = input;
                    return None;
                }
            },
            _ => {
                st.history.clear();
                Reps::default()
            }
        };
        let history = &st.history[..];
        if st.finder.is_none() {
            st.finder = Finder::new();
        }
        let Some(finder) = st.finder.as_mut() else {
            fail(sqe, status::ENGINE_FAULT);
            self.input = input;
            return None;
        };
        st.found.clear();
        let tail = finder.find(history, &input, bits, price, &mut st.found);
        st.lits.clear();
        st.lits.resize(lits_size.max(in_len), 0);
        st.seqs.clear();
        st.seqs.resize(seq_space, 0);
        let lit_area = &mut st.lits[..lits_size];
        let w = if lits_size < in_len {
            Err(lz77::Full)
        } else {
            lz77::write_found(
                v,
                &input,
                &st.found,
                tail,
                lit_area,
                &mut st.seqs,
                reps,
                stateful,
            )
        };
        let w = match w {
            Ok(w) => w,
            Err(lz77::Full) => {
                fail(sqe, status::DSTLEN_OUT);
                self.input = input;
                return None;
            }
        };
        let used = w.seq_num as usize * lz77::SEQ_SIZE + v.tail_size();
        // SAFETY: the caller's contract: both areas are writable for the sizes the SQE gives,
        // and the writer kept within them.
        let wrote = unsafe {
            match scatter(lit_addr, &st.lits[..w.lit_num as usize], sgl, 0) {
                Moved::All => scatter(sqe.dst(), &st.seqs[..used], sgl, 0),
                other => other,
            }
        };
        match wrote {
            Moved::All => {}
            Moved::Fault => {
                fail(sqe, status::ENGINE_FAULT);
                self.input = input;
                return None;
            }
            Moved::Short => {
                fail(sqe, status::BAD_SQE);
                self.input = input;
                return Some("the lz77 output does not fit its SGL chains".to_string());
            }
        }
        if let Some(c) = ctx {
            st.history.extend_from_slice(&input[..w.consumed]);
            // SAFETY: the caller's contract.
            if !unsafe { c.store(w.reps, &st.history) } {
                fail(sqe, status::ENGINE_FAULT);
                self.input = input;
                return None;
            }
        }
        sqe.w[dw::CONSUMED] = w.consumed as u32;
        sqe.w[dw::PRODUCED] = w.seq_num;
        sqe.w[dw::COMP_DATA_LENGTH] = w.lit_num;
        sqe.w[dw::STATUS] = status::OK;
        sqe.w[dw::CHECKSUM] = match v {
            lz77::Variant::Zstd => w.dw31(),
            lz77::Variant::Only => 0,
        };
        self.input = input;
        None
    }
}
