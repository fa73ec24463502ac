//! The match search behind the software lz77 engines (the CPU engine and the modelled
//! device): libzstd's own match finders, through `ZSTD_generateSequences`, which runs
//! zstd's block compressor and collects its sequences instead of entropy-coding them.
//!
//! Level 8 (normal mode) searches as zstd's level 1 does (hash table, greedy, matches of
//! 4 bytes and more); level 9 (price mode) with zstd's `btopt` strategy, its price-driven
//! optimal parser (matches of 3 bytes and more). The window
//! bounds every distance. Input is searched 128 KiB at a time (zstd's block), each piece
//! seeing the window of bytes before it as a prefix; a piece zstd declines (fewer than
//! 7 bytes, or one its block compressor refuses) stays literals.

use std::ptr::NonNull;
use zstd_sys as z;

/// A match: `lit_len` literals, then `match_len` bytes from `offset` back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// Literals before the match.
    pub lit_len: usize,
    /// Match length (at least 3).
    pub match_len: usize,
    /// Distance.
    pub offset: u32,
}

const PIECE: usize = 128 * 1024;
/// zstd refuses blocks shorter than this (`MIN_CBLOCK_SIZE + ZSTD_blockHeaderSize + 2`).
const MIN_PIECE: usize = 7;

/// A zstd compression context set up for searching, and the sequence buffer it fills.
pub struct Finder {
    cctx: NonNull<z::ZSTD_CCtx>,
    seqs: Vec<z::ZSTD_Sequence>,
    /// (window bits, price mode) the context is set for.
    params: Option<(u8, bool)>,
    scratch: Vec<u8>,
}

// SAFETY: the context is owned by this value alone and used by one thread at a time
// (`&mut self` on every call).
unsafe impl Send for Finder {}

impl Drop for Finder {
    fn drop(&mut self) {
        // SAFETY: created by ZSTD_createCCtx, freed once.
        unsafe { z::ZSTD_freeCCtx(self.cctx.as_ptr()) };
    }
}

impl Finder {
    /// A finder; `None` when libzstd cannot allocate a context.
    pub fn new() -> Option<Finder> {
        // SAFETY: plain constructor; NULL on failure.
        let cctx = NonNull::new(unsafe { z::ZSTD_createCCtx() })?;
        Some(Finder {
            cctx,
            seqs: Vec::new(),
            params: None,
            scratch: Vec::new(),
        })
    }

    fn set(&mut self, p: z::ZSTD_cParameter, v: i32) -> bool {
        // SAFETY: a valid context; parameters are validated by libzstd.
        unsafe { z::ZSTD_isError(z::ZSTD_CCtx_setParameter(self.cctx.as_ptr(), p, v)) == 0 }
    }

    fn configure(&mut self, window_bits: u8, price: bool) -> bool {
        if self.params == Some((window_bits, price)) {
            return true;
        }
        self.params = None;
        // SAFETY: a valid context.
        unsafe {
            z::ZSTD_CCtx_reset(
                self.cctx.as_ptr(),
                z::ZSTD_ResetDirective::ZSTD_reset_session_and_parameters,
            )
        };
        let ok = if price {
            self.set(z::ZSTD_cParameter::ZSTD_c_compressionLevel, 16)
                && self.set(
                    z::ZSTD_cParameter::ZSTD_c_strategy,
                    z::ZSTD_strategy::ZSTD_btopt as i32,
                )
                // A shallower search than level 16's (5, 256): a third faster on Silesia
                // for 0.4% of ratio.
                && self.set(z::ZSTD_cParameter::ZSTD_c_searchLog, 3)
                && self.set(z::ZSTD_cParameter::ZSTD_c_targetLength, 64)
        } else {
            self.set(z::ZSTD_cParameter::ZSTD_c_compressionLevel, 1)
        } && self.set(
            z::ZSTD_cParameter::ZSTD_c_windowLog,
            window_bits.max(10) as i32,
        ) && self.set(
            z::ZSTD_cParameter::ZSTD_c_minMatch,
            if price { 3 } else { 4 },
        );
        if ok {
            self.params = Some((window_bits, price));
        }
        ok
    }

    /// Search `input`, whose matches may reach back into `history` (the stream's earlier
    /// bytes; at most the window is used). Appends the matches to `out` and returns the
    /// literals after the last one.
    pub fn find(
        &mut self,
        history: &[u8],
        input: &[u8],
        window_bits: u8,
        price: bool,
        out: &mut Vec<Found>,
    ) -> usize {
        let window = 1usize << window_bits;
        let history = &history[history.len().saturating_sub(window)..];
        // One buffer holds the history and the input, so every piece's prefix is adjacent.
        let mut buf = std::mem::take(&mut self.scratch);
        let data: &[u8] = if history.is_empty() {
            input
        } else {
            buf.clear();
            buf.extend_from_slice(history);
            buf.extend_from_slice(input);
            &buf
        };
        let start = data.len() - input.len();
        let mut pending = 0usize;
        let mut at = start;
        let configured = self.configure(window_bits, price);
        while at < data.len() {
            let end = (at + PIECE).min(data.len());
            let piece = &data[at..end];
            let prefix = &data[at.saturating_sub(window)..at];
            match configured
                .then(|| self.piece(prefix, piece, window, &mut pending, out))
                .flatten()
            {
                Some(()) => {}
                None => pending += piece.len(),
            }
            at = end;
        }
        self.scratch = buf;
        pending
    }

    /// One piece; `None` when zstd declined it (nothing was appended then).
    fn piece(
        &mut self,
        prefix: &[u8],
        piece: &[u8],
        window: usize,
        pending: &mut usize,
        out: &mut Vec<Found>,
    ) -> Option<()> {
        if piece.len() < MIN_PIECE {
            return None;
        }
        // SAFETY: pure function of the size.
        let cap = unsafe { z::ZSTD_sequenceBound(piece.len()) };
        if self.seqs.len() < cap {
            self.seqs.resize(
                cap,
                z::ZSTD_Sequence {
                    offset: 0,
                    litLength: 0,
                    matchLength: 0,
                    rep: 0,
                },
            );
        }
        let cctx = self.cctx.as_ptr();
        // SAFETY: a valid context; the prefix is referenced for this one compression only and
        // outlives it; the sequence buffer holds `cap` entries, zstd's bound for the piece.
        let n = unsafe {
            z::ZSTD_CCtx_reset(cctx, z::ZSTD_ResetDirective::ZSTD_reset_session_only);
            if !prefix.is_empty()
                && z::ZSTD_isError(z::ZSTD_CCtx_refPrefix(
                    cctx,
                    prefix.as_ptr().cast(),
                    prefix.len(),
                )) != 0
            {
                return None;
            }
            z::ZSTD_generateSequences(
                cctx,
                self.seqs.as_mut_ptr(),
                cap,
                piece.as_ptr().cast(),
                piece.len(),
            )
        };
        // SAFETY: pure function.
        if unsafe { z::ZSTD_isError(n) } != 0 || n > cap {
            return None;
        }
        let mark = out.len();
        let mut run = *pending;
        let mut covered = 0usize;
        for s in &self.seqs[..n] {
            run += s.litLength as usize;
            covered += s.litLength as usize + s.matchLength as usize;
            if s.matchLength == 0 {
                // A block delimiter: its literals run on into the next match.
                continue;
            }
            let reach = (prefix.len() + covered - s.matchLength as usize).min(window);
            if s.offset == 0 || s.offset as usize > reach || (s.matchLength as usize) < 3 {
                // Never expected from zstd; decline the piece rather than emit a bad match.
                out.truncate(mark);
                return None;
            }
            out.push(Found {
                lit_len: run,
                match_len: s.matchLength as usize,
                offset: s.offset,
            });
            run = 0;
        }
        if covered != piece.len() {
            out.truncate(mark);
            return None;
        }
        *pending = run;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rebuild(history: &[u8], found: &[Found], input: &[u8], tail: usize) -> Vec<u8> {
        let mut out = history.to_vec();
        let mut at = 0;
        for f in found {
            out.extend_from_slice(&input[at..at + f.lit_len]);
            at += f.lit_len;
            for _ in 0..f.match_len {
                out.push(out[out.len() - f.offset as usize]);
            }
            at += f.match_len;
        }
        assert_eq!(input.len() - at, tail);
        out.extend_from_slice(&input[at..]);
        out.split_off(history.len())
    }

    #[test]
    fn matches_rebuild_the_input_within_the_window() {
        let text: Vec<u8> = (0..300_000u32)
            .map(|i| {
                b"the quick brown fox jumps over the lazy dog "[(i % 44) as usize]
                    ^ ((i / 997) as u8 & 3)
            })
            .collect();
        let mut f = Finder::new().unwrap();
        for (bits, price) in [(12u8, false), (15, false), (15, true)] {
            let mut found = Vec::new();
            let tail = f.find(&[], &text, bits, price, &mut found);
            assert!(found.len() > 100, "{bits} {price}");
            assert!(found
                .iter()
                .all(|m| m.offset as usize <= 1 << bits && m.match_len >= 3));
            assert_eq!(rebuild(&[], &found, &text, tail), text);
            // With history: the first match may reach into it.
            let mut found = Vec::new();
            let tail = f.find(&text[..5000], &text[5000..9000], bits, price, &mut found);
            assert_eq!(
                rebuild(&text[..5000], &found, &text[5000..9000], tail),
                &text[5000..9000]
            );
        }
        let mut found = Vec::new();
        assert_eq!(f.find(&[], b"abc", 15, false, &mut found), 3);
        assert!(found.is_empty());
    }
}
