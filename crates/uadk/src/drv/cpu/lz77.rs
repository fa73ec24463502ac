//! `lz77_zstd` and `lz77_only` on the CPU: zstd's match finders (`hw::lz77_find`) write the
//! engine's output layout (`hw::lz77`), block or stream, into flat or SGL buffers, with
//! UADK's size rules and error codes, so a program written for the hardware gets the same
//! output shape here.

use crate::drv::{Dst, Src};
use crate::error::{Error, Result};
use crate::hw::lz77::{self as fmt, Full, Reps, StreamReps, Variant};
use crate::hw::lz77_find::{Finder, Found};
use crate::req::{Alg, BlockType, Lz77Meta, Output, ReqParams};

/// The history a stream keeps: the largest window.
const HISTORY: usize = 32 * 1024;

/// Which layout an algorithm writes, if it is an lz77 one.
pub(crate) fn variant(alg: Alg) -> Option<Variant> {
    match alg {
        Alg::Lz77Zstd => Some(Variant::Zstd),
        Alg::Lz77Only => Some(Variant::Only),
        _ => None,
    }
}

/// The per-session state of an lz77 stream: history and repeat offsets.
#[derive(Debug, Default)]
pub(crate) struct Lz77Stream {
    history: Vec<u8>,
    reps: StreamReps,
}

impl Lz77Stream {
    pub(crate) fn reset(&mut self) {
        self.history.clear();
        self.reps = StreamReps::default();
    }
}

/// Reused buffers of one context.
#[derive(Default)]
pub(crate) struct Lz77Engine {
    finder: Option<Finder>,
    found: Vec<Found>,
    input: Vec<u8>,
    lits: Vec<u8>,
    seqs: Vec<u8>,
}

/// One stream call's extra inputs.
pub(crate) struct StreamCall<'s> {
    pub(crate) state: &'s mut Lz77Stream,
    pub(crate) last: bool,
    pub(crate) prev: BlockType,
}

impl Lz77Engine {
    /// One request: a block (`stream` None) or one call of a stream.
    pub(crate) fn run(
        &mut self,
        p: &ReqParams,
        src: &Src<'_>,
        dst: &mut Dst<'_, '_>,
        stream: Option<StreamCall<'_>>,
    ) -> Result<Output> {
        let v = variant(p.alg).ok_or_else(|| Error::InvalidParam("not an lz77 request".into()))?;
        let in_len = src.len();
        let out_len = dst.len();
        let lits_size = match dst {
            Dst::Flat(_) => in_len + fmt::LIT_RESV_SIZE,
            Dst::List(l) => sgl_lits(l.iter().map(|s| s.len()), in_len)?,
            Dst::Vecs(l) => sgl_lits(l.iter().map(|s| s.len()), in_len)?,
        };
        let level = p.level.get();
        let seq_space =
            fmt::check_sizes(v, in_len, out_len, lits_size, stream.is_some(), level == 9)?;
        let price = fmt::price_mode(level)?;
        let mut input = std::mem::take(&mut self.input);
        let data = src.contiguous(&mut input);
        let (history, start) = match &stream {
            Some(s) => {
                let mut reps = s.state.reps;
                (&s.state.history[..], reps.start(s.prev))
            }
            None => (&[][..], Reps::default()),
        };
        if self.finder.is_none() {
            self.finder = Finder::new();
        }
        let finder = self
            .finder
            .as_mut()
            .ok_or_else(|| Error::Io("out of memory for a match finder".into()))?;
        self.found.clear();
        let tail = finder.find(history, data, p.window.bits(), price, &mut self.found);
        // Flat outputs are written in place; SGL outputs through two buffers then scattered.
        let (mut lits_tmp, mut seqs_tmp) = (
            std::mem::take(&mut self.lits),
            std::mem::take(&mut self.seqs),
        );
        let res = {
            let (lit_area, seq_area): (&mut [u8], &mut [u8]) = match dst {
                Dst::Flat(b) => {
                    let (l, s) = b.split_at_mut(lits_size);
                    (l, &mut s[..seq_space])
                }
                _ => {
                    lits_tmp.clear();
                    lits_tmp.resize(lits_size, 0);
                    seqs_tmp.clear();
                    seqs_tmp.resize(seq_space, 0);
                    (&mut lits_tmp[..], &mut seqs_tmp[..])
                }
            };
            fmt::write_found(
                v,
                data,
                &self.found,
                tail,
                lit_area,
                seq_area,
                start,
                stream.is_some(),
            )
            .map_err(|Full| Error::OutputTooSmall { capacity: out_len })
        };
        if let (Ok(w), false) = (&res, matches!(dst, Dst::Flat(_))) {
            // The literal area ends at an entry boundary; the sequences fill the entries after.
            let used = w.seq_num as usize * fmt::SEQ_SIZE + v.tail_size();
            lits_tmp.truncate(lits_size);
            lits_tmp.extend_from_slice(&seqs_tmp[..used]);
            dst.scatter(&lits_tmp);
        }
        self.lits = lits_tmp;
        self.seqs = seqs_tmp;
        let w = match res {
            Ok(w) => w,
            Err(e) => {
                self.input = input;
                return Err(e);
            }
        };
        let end = match stream {
            Some(s) => {
                let st = s.state;
                st.reps.start(s.prev);
                st.reps.end(w.reps);
                st.history.extend_from_slice(&data[..w.consumed]);
                let cut = st.history.len().saturating_sub(HISTORY);
                st.history.drain(..cut);
                s.last && w.consumed == in_len
            }
            None => true,
        };
        self.input = input;
        Ok(Output {
            consumed: w.consumed,
            produced: lits_size + w.seq_num as usize * fmt::SEQ_SIZE + v.tail_size(),
            end,
            lz77: Some(Lz77Meta {
                seq_offset: lits_size,
                lit_num: w.lit_num,
                seq_num: w.seq_num,
                overflow_cnt: w.overflow_cnt,
                overflow_pos: w.overflow_pos,
            }),
        })
    }
}

/// The literal area of an SGL output, or UADK's `-WD_EINVAL` when the entries cannot hold it.
fn sgl_lits(lens: impl Iterator<Item = usize>, in_len: usize) -> Result<usize> {
    fmt::sgl_seq_start(lens, in_len)
        .map(|(_, lits)| lits)
        .ok_or_else(|| {
            Error::InvalidParam(format!(
                "SGL output cannot hold {} bytes of literals and then sequences",
                in_len + fmt::LIT_RESV_SIZE
            ))
        })
}
