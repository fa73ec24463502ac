//! `lz77_zstd` and `lz77_only` requests, and a safe view of what they write (what UADK's
//! `struct wd_lz77_zstd_data` points into): the literals, the sequence records, the
//! literal-length overflow and, for `lz77_zstd`, the frequency table.
//!
//! ```
//! use uadk::{Alg, Comp, CompConfig, Level, OpType, SessionSetup};
//! use uadk::hw::lz77::Reps;
//! let comp = Comp::new(CompConfig::new()).unwrap();
//! let s = comp.session(&SessionSetup::new(Alg::Lz77Zstd, OpType::Compress).level(Level::new(8).unwrap())).unwrap();
//! let data = b"abcabcabcabcabcabc, abcabcabcabc".repeat(20);
//! let mut out = vec![0u8; s.compress_bound(data.len())];
//! let o = s.lz77(&data, &mut out).unwrap();
//! let seqs = o.sequences(&mut Reps::default()).unwrap();
//! assert_eq!(o.rebuild(&seqs, &[]).unwrap(), data);
//! ```

use super::session::Session;
use crate::drv::{Dst, Src};
use crate::error::{Error, Result};
use crate::hw::lz77::{self as fmt, Freq, Record, Reps, Seq, Variant};
use crate::req::{Alg, BlockType, Lz77Meta, Output};

/// An lz77 request's output, borrowed from the buffer it was written into.
#[derive(Debug, Clone, Copy)]
pub struct Lz77Output<'a> {
    variant: Variant,
    buf: &'a [u8],
    meta: Lz77Meta,
    consumed: usize,
    produced: usize,
    end: bool,
}

fn variant_of(alg: Alg) -> Result<Variant> {
    match alg {
        Alg::Lz77Zstd => Ok(Variant::Zstd),
        Alg::Lz77Only => Ok(Variant::Only),
        a => Err(Error::InvalidParam(format!("{a} is not an lz77 algorithm"))),
    }
}

impl<'a> Lz77Output<'a> {
    /// A view of `buf` (the whole output, gathered for an SGL) as a request reported it.
    pub fn from_parts(alg: Alg, buf: &'a [u8], out: &Output) -> Result<Lz77Output<'a>> {
        let variant = variant_of(alg)?;
        let meta = out
            .lz77
            .ok_or_else(|| Error::InvalidParam("the output carries no lz77 report".into()))?;
        let need = meta.seq_offset + meta.seq_num as usize * fmt::SEQ_SIZE + variant.tail_size();
        if meta.lit_num as usize > meta.seq_offset || need > buf.len() || out.produced > buf.len() {
            return Err(Error::Hardware(format!(
                "lz77 report ({} literals, {} records from {}) exceeds the {} bytes of output",
                meta.lit_num,
                meta.seq_num,
                meta.seq_offset,
                buf.len()
            )));
        }
        Ok(Lz77Output {
            variant,
            buf,
            meta,
            consumed: out.consumed,
            produced: out.produced,
            end: out.end,
        })
    }

    /// Counts and offsets, as UADK's `wd_lz77_zstd_data` reports them.
    pub fn meta(&self) -> &Lz77Meta {
        &self.meta
    }

    /// Input bytes the output covers.
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// Output bytes used, from the literal area to the end of the tail.
    pub fn produced(&self) -> usize {
        self.produced
    }

    /// The output bytes used (`produced` of them).
    pub fn bytes(&self) -> &'a [u8] {
        &self.buf[..self.produced]
    }

    /// A stream call that ended its stream.
    pub fn end(&self) -> bool {
        self.end
    }

    /// The literals (`literals_start`, `lit_num` bytes).
    pub fn literals(&self) -> &'a [u8] {
        &self.buf[..self.meta.lit_num as usize]
    }

    /// The stored sequence records (`sequences_start`, `seq_num` of them).
    pub fn records(&self) -> impl Iterator<Item = Record> + 'a {
        fmt::records(
            &self.buf[self.meta.seq_offset..],
            self.meta.seq_num as usize,
        )
    }

    /// Literal-length overflow (count, record index) of `lz77_zstd`.
    pub fn overflow(&self) -> (u32, u32) {
        (self.meta.overflow_cnt, self.meta.overflow_pos)
    }

    /// The frequency table (`freq`) of `lz77_zstd`.
    pub fn freq(&self) -> Option<Freq> {
        (self.variant == Variant::Zstd).then(|| {
            let at = self.meta.seq_offset
                + self.meta.seq_num as usize * fmt::SEQ_SIZE
                + fmt::OVERFLOW_DATA_SIZE;
            Freq::read(&self.buf[at..at + fmt::FREQ_DATA_SIZE])
        })
    }

    /// The records decoded into literal runs, match lengths and distances; `reps` are the
    /// repeat offsets in force at the first record (a fresh [`Reps`] for a block request or
    /// a stream's first call) and come back as they stand after the last.
    pub fn sequences(&self, reps: &mut Reps) -> Result<Vec<Seq>> {
        fmt::decode(self.variant, self.records(), self.overflow(), reps)
    }

    /// The input these sequences stand for, after the stream's earlier bytes `history`.
    pub fn rebuild(&self, seqs: &[Seq], history: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.consumed);
        fmt::replay(seqs, self.literals(), history, &mut out)?;
        if out.len() != self.consumed {
            return Err(Error::CorruptData(format!(
                "sequences rebuild {} bytes of {}",
                out.len(),
                self.consumed
            )));
        }
        Ok(out)
    }
}

impl Session {
    fn lz77_check(&self) -> Result<()> {
        variant_of(self.params.alg).map(|_| ())
    }

    /// One `lz77_zstd` / `lz77_only` block request (UADK's `wd_do_comp_sync` with `req->priv`
    /// set): `dst` receives the literal area (`src.len() + 16` bytes), the sequences and the
    /// tail. [`Session::compress_bound`] gives space that always suffices. The session's level
    /// must be 8 (normal) or 9 (price mode), the engine's two; others fail here, as in UADK.
    pub fn lz77<'a>(&self, src: &[u8], dst: &'a mut [u8]) -> Result<Lz77Output<'a>> {
        self.lz77_check()?;
        let out = self.run_sync(Src::Flat(src), Dst::Flat(dst))?;
        Lz77Output::from_parts(self.params.alg, dst, &out)
    }

    /// One lz77 block request over scatter-gather lists: the literal area is the first
    /// entries of `dst` that hold `src` plus 16 bytes, the sequences start at the next entry
    /// (UADK's `get_seq_start_list`). Gather `dst` and use [`Lz77Output::from_parts`] to read it.
    pub fn lz77_sgl(&self, src: &[&[u8]], dst: &mut [&mut [u8]]) -> Result<Output> {
        self.lz77_check()?;
        self.run_sync(Src::List(src), Dst::List(dst))
    }

    /// One call of an lz77 stream (UADK's `wd_do_comp_strm` with `req->priv`): matches may
    /// reach into earlier calls' input within the window, repeat offsets carry over as
    /// `prev` says the caller emitted the previous block, and a call whose sequences fill
    /// `dst` consumes less input.
    pub fn lz77_stream<'a>(
        &self,
        src: &[u8],
        dst: &'a mut [u8],
        last: bool,
        prev: BlockType,
    ) -> Result<Lz77Output<'a>> {
        self.lz77_check()?;
        let out = self.stream_call(src, dst, last, true, prev)?;
        Lz77Output::from_parts(self.params.alg, dst, &out)
    }
}

/// Output space that always holds an lz77 request's output for `n` bytes of input.
pub(super) fn lz77_bound(alg: Alg, n: usize) -> usize {
    let v = if alg == Alg::Lz77Zstd {
        Variant::Zstd
    } else {
        Variant::Only
    };
    // Every record covers at least 3 bytes; lz77_only adds a literal-only record per 64 KiB.
    n + fmt::LIT_RESV_SIZE + (n / 3 + n / 0xffff + 2) * fmt::SEQ_SIZE + v.tail_size()
}
