//! Stream requests: the stream table the model keeps by context-buffer address, and
//! deflate and inflate over it.

use super::{window_bits, Check, Outcome};
use crate::hw::zip::{ctx_st, status, Flush, ZipSqe};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// State of one stream, which real hardware keeps in the stream context buffer. The
/// model keeps it in a table keyed by that buffer's address.
enum StreamEngine {
    Comp {
        c: Compress,
        bits: u8,
    },
    Decomp {
        d: Decompress,
        /// Trailer bytes collected after the last deflate block.
        trailer: Vec<u8>,
        body_done: bool,
        ended: bool,
    },
}

/// Streams the model keeps at once. Real hardware keeps a stream's state in its context
/// buffer and never learns that the buffer was freed; neither does the model, so the table
/// is bounded and forgets the stream used least recently (a stream that comes back after
/// that fails as one the engine never started).
const MAX_STREAMS: usize = 1024;

/// The stream table: state by context-buffer address, with a use tick for eviction.
#[derive(Default)]
struct Streams {
    map: HashMap<u64, (u64, StreamEngine)>,
    tick: u64,
}

impl Streams {
    /// The stream at `addr`, marked used now.
    fn get_mut(&mut self, addr: u64) -> Option<&mut StreamEngine> {
        self.tick += 1;
        let t = self.tick;
        self.map.get_mut(&addr).map(|(used, e)| {
            *used = t;
            e
        })
    }

    /// Start a stream at `addr`, evicting the least recently used one when full.
    fn insert(&mut self, addr: u64, e: StreamEngine) {
        if self.map.len() >= MAX_STREAMS && !self.map.contains_key(&addr) {
            if let Some(old) = self
                .map
                .iter()
                .min_by_key(|(_, (t, _))| *t)
                .map(|(a, _)| *a)
            {
                self.map.remove(&old);
            }
        }
        self.tick += 1;
        self.map.insert(addr, (self.tick, e));
    }
}

fn streams() -> &'static Mutex<Streams> {
    static S: OnceLock<Mutex<Streams>> = OnceLock::new();
    S.get_or_init(|| Mutex::new(Streams::default()))
}

fn with_stream<R>(f: impl FnOnce(&mut Streams) -> R) -> R {
    let mut m = streams().lock().unwrap_or_else(|e| e.into_inner());
    f(&mut m)
}

pub(super) fn deflate_stream(
    sqe: &ZipSqe,
    new: bool,
    flush: Flush,
    input: &[u8],
    output: &mut Vec<u8>,
    check: &mut Check,
    alg: u32,
) -> Outcome {
    let addr = sqe.ctx_addr();
    if addr == 0 {
        return Outcome::fail(status::ENGINE_FAULT);
    }
    let bits = window_bits(sqe.window());
    with_stream(|m| {
        let fresh = || StreamEngine::Comp {
            c: Compress::new_with_window_bits(Compression::new(2), false, bits),
            bits,
        };
        if new {
            match m.get_mut(addr) {
                Some(StreamEngine::Comp { c, bits: b }) if *b == bits => c.reset(),
                _ => {
                    m.insert(addr, fresh());
                }
            }
        }
        let Some(StreamEngine::Comp { c, .. }) = m.get_mut(addr) else {
            // A continuation of a stream this engine never started.
            return Outcome::fail(status::BAD_SQE);
        };
        check.update(input);
        let start_in = c.total_in();
        let mode = match flush {
            Flush::Sync => FlushCompress::Sync,
            Flush::Finish => FlushCompress::Finish,
        };
        output.reserve(input.len() + input.len() / 8 + 64);
        loop {
            if output.len() == output.capacity() {
                output.reserve(output.capacity().max(1024));
            }
            let done = (c.total_in() - start_in) as usize;
            let (in0, out0) = (c.total_in(), output.len());
            match c.compress_vec(&input[done..], output, mode) {
                Ok(Status::StreamEnd) => break,
                Ok(_) => {
                    let all_in = (c.total_in() - start_in) as usize == input.len();
                    let room = output.len() < output.capacity();
                    if flush == Flush::Sync && all_in && room {
                        break;
                    }
                    if room && c.total_in() == in0 && output.len() == out0 {
                        return Outcome::fail(status::ENGINE_FAULT);
                    }
                }
                Err(_) => return Outcome::fail(status::ENGINE_FAULT),
            }
        }
        let finished = flush == Flush::Finish;
        if finished {
            output.extend_from_slice(&check.trailer());
        }
        let _ = alg;
        Outcome::done(input.len(), output.len(), finished)
    })
}

pub(super) fn inflate_stream(
    sqe: &ZipSqe,
    new: bool,
    input: &[u8],
    output: &mut Vec<u8>,
    out_len: usize,
    check: &mut Check,
    alg: u32,
) -> Outcome {
    let addr = sqe.ctx_addr();
    if addr == 0 {
        return Outcome::fail(status::ENGINE_FAULT);
    }
    with_stream(|m| {
        if new {
            match m.get_mut(addr) {
                Some(StreamEngine::Decomp {
                    d,
                    trailer,
                    body_done,
                    ended,
                }) => {
                    d.reset(false);
                    trailer.clear();
                    *body_done = false;
                    *ended = false;
                }
                _ => {
                    m.insert(
                        addr,
                        StreamEngine::Decomp {
                            d: Decompress::new(false),
                            trailer: Vec::new(),
                            body_done: false,
                            ended: false,
                        },
                    );
                }
            }
        }
        let Some(StreamEngine::Decomp {
            d,
            trailer,
            body_done,
            ended,
        }) = m.get_mut(addr)
        else {
            return Outcome::fail(status::BAD_SQE);
        };
        if *ended {
            return Outcome::ended(0, 0);
        }
        let mut consumed = 0usize;
        if !*body_done {
            let (before_in, before_out) = (d.total_in(), d.total_out());
            output.clear();
            output.resize(out_len, 0);
            let r = d.decompress(input, output, FlushDecompress::None);
            output.truncate((d.total_out() - before_out) as usize);
            consumed = (d.total_in() - before_in) as usize;
            check.update(output);
            match r {
                Err(_) => return Outcome::fail(status::BAD_DATA),
                Ok(Status::StreamEnd) => *body_done = true,
                Ok(_) => return Outcome::paused(consumed, output.len(), out_len),
            }
        }
        let tl = Check::trailer_len(alg);
        let take = (tl - trailer.len()).min(input.len() - consumed);
        trailer.extend_from_slice(&input[consumed..consumed + take]);
        consumed += take;
        if trailer.len() < tl {
            return Outcome::more(consumed, output.len(), ctx_st::DECOMP_BLK_NOSTART);
        }
        if trailer[..] != check.trailer()[..] {
            return Outcome::fail(status::CRC_ERR);
        }
        *ended = true;
        Outcome::ended(consumed, output.len())
    })
}
