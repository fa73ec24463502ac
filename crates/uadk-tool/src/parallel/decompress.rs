//! Parallel decompression: units of the input decoded on async contexts, written in order.

use super::framework;
use super::io::Out;
use super::pipeline::Pipeline;
use crate::common::Result;
use std::io::Write;
use uadk::{Alg, JobBuf, OpType, RawBuf, SessionSetup};

/// What a parallel reader did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything decoded and written.
    Done,
    /// The reader does not take this input, or a deflate part did not inflate alone:
    /// the sequential reader must take the whole input again, dropping the first
    /// `written` bytes of its output, which this reader wrote and which are what it would
    /// write (each was a part that inflated alone, so it reads the same in the stream).
    Declined { written: u64 },
}

/// A unit of parallel decompression: a range of the input, the bytes it makes, how.
pub(super) struct Unit {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) out_len: usize,
    pub(super) kind: UnitKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum UnitKind {
    /// A deflate part (last or not).
    Part { last: bool },
    /// A whole zstd frame, or an lz4 block, through a block request.
    Block,
    /// Bytes copied as they are (an lz4 block stored raw).
    Copy,
}

/// The units through a decompression session with `threads` async contexts, written in
/// order; `sink` sees each unit's bytes. A deflate part that fails alone, or makes other
/// than its stated size, declines (see [`Outcome::Declined`]).
pub(super) fn run_units(
    alg: Alg,
    data: &[u8],
    units: &[Unit],
    threads: usize,
    out: &mut Out<'_>,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<Outcome> {
    let comp = framework(alg, OpType::Decompress, threads)?;
    let sess = comp.session(&SessionSetup::new(alg, OpType::Decompress))?;
    let cap = units.iter().map(|u| u.out_len).max().unwrap_or(0).max(1);
    let deflate = alg == Alg::Deflate;
    let depth = (threads * 2 + 1).min(units.len()).max(1);
    let mut pipe = Pipeline::new(&comp, &sess, depth, cap);
    let start = out.count;
    let (mut next, mut written) = (0, 0);
    while written < units.len() {
        while next < units.len() && pipe.has_room() {
            let u = &units[next];
            if u.kind == UnitKind::Copy {
                // A stored block goes out as it is, once everything before it has.
                if next != written {
                    break;
                }
                let b = &data[u.start..u.end];
                out.write(b)?;
                sink(b)?;
                next += 1;
                written += 1;
                continue;
            }
            // SAFETY: a range of the caller's input, which outlives the pipeline (it waits
            // for every request before it is dropped); the engine only reads inputs.
            let src = JobBuf::Raw(unsafe {
                RawBuf::new(data.as_ptr().add(u.start).cast_mut(), u.end - u.start)
            });
            let part = match u.kind {
                UnitKind::Part { last } => Some(last),
                _ => None,
            };
            pipe.submit(src, u.out_len, part)?;
            next += 1;
        }
        let Some(d) = pipe.next_done(true)? else {
            continue;
        };
        let u = &units[written];
        let n = match &d.result {
            Ok(o) if !deflate || (o.produced == u.out_len && o.consumed == u.end - u.start) => {
                o.produced
            }
            _ if deflate => {
                return Ok(Outcome::Declined {
                    written: out.count - start,
                })
            }
            Ok(o) => o.produced,
            Err(e) => return Err(e.clone().into()),
        };
        let b = pipe.output(&d, n);
        out.file.write_all(b)?;
        out.count += n as u64;
        sink(b)?;
        pipe.slab.give(d.slot);
        written += 1;
    }
    Ok(Outcome::Done)
}
