//! `compress -T N` / `decompress -T N`: one input split into chunks that N async contexts
//! of the framework work on at once (`Session::submit_part` / `submit`, reaped by
//! `Comp::poll_wait`), written in order as ONE standard stream of the format.
//!
//! - gzip, zlib, raw deflate: the chunks are parts of one raw deflate stream (the CPU
//!   engine's part requests: non-final blocks ending in a full flush, the last part
//!   final), inside one header and one trailer whose checksum is computed in order. A
//!   gzip file written to a seekable file carries an index of its parts in the header's
//!   extra field (subfield `UP`): part size, count and each part's compressed size, so
//!   that decompression can inflate the parts at once, each alone. Files without it
//!   (anyone else's) are inflated as one stream.
//! - zstd: each chunk one frame (with its content size); frames one after another are a
//!   zstd file. Decompression finds the frames by their block headers and decodes those
//!   stating their content size at once.
//! - lz4: one LZ4 frame of independent 4 MiB blocks, each a block request, the content
//!   checksum computed in order: the frame `lz4` writes. Decompression decodes the blocks
//!   of such frames at once.
//!
//! Inputs that are regular files are mapped, and chunks handed to the engine where they
//! lie; outputs come from a few reused buffers. Whatever the parallel reader does not
//! take (another layout, a part that does not decode alone) is left to the sequential
//! path, which gives zlib's verdict ([`Outcome::Declined`]).

mod decompress;
mod deflate;
mod io;
mod lz4;
mod pipeline;
mod zstd;

pub use decompress::Outcome;
pub use deflate::{compress_deflate, decompress_gzip, Wrap};
pub use io::{Input, Mapped, Out};
pub use lz4::{compress_lz4, decompress_lz4};
pub use zstd::{compress_zstd, decompress_zstd};

use crate::common::Result;
use uadk::{Alg, Comp, CompConfig, CtxMode, OpType};

/// The CPUs this process may run on.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A framework with `threads` async contexts for `op`, nothing else.
fn framework(alg: Alg, op: OpType, threads: usize) -> Result<Comp> {
    let mut cfg = CompConfig::from_env()?.alg(alg);
    for o in OpType::ALL {
        cfg = cfg.ctxs(CtxMode::Sync, o, 0).ctxs(CtxMode::Async, o, 0);
    }
    // A sync context too, for the requests the pipelines run in line.
    cfg = cfg
        .ctxs(CtxMode::Async, op, threads as u32)
        .ctxs(CtxMode::Sync, op, 1);
    Ok(Comp::new(cfg)?)
}
