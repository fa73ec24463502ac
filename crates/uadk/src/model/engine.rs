//! The modelled ZIP engine: what one hardware queue does with the SQEs it is given.
//!
//! The engine reads input and writes output through the addresses in the SQE (shared
//! virtual addressing: the process's own pointers), writes lengths, status, checksum and
//! stream-context words back into the SQE, and posts a CQE naming the SQ slot.

use crate::hw::lz77::{self, Reps};
use crate::hw::lz77_find::{Finder, Found};
use crate::hw::zip::{self as fmt, ctx_st, dw, hw_alg, status, Flush, ZipSqe};
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

/// Window bits for a window code: the largest power of two that fits the window.
fn window_bits(code: u32) -> u8 {
    match code {
        0 => 12,
        1 => 13,
        2 | 3 => 14,
        _ => 15,
    }
}

/// Per-queue scratch: reused buffers and stateless codecs.
pub struct Engine {
    input: Vec<u8>,
    output: Vec<u8>,
    lz77: Lz77Scratch,
    comp: Vec<Option<Compress>>,
    decomp: Option<Decompress>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

/// What one SQE asked for.
struct Outcome {
    consumed: u32,
    produced: u32,
    status: u32,
    last_block: bool,
    ctx_state: u32,
}

impl Outcome {
    fn fail(st: u32) -> Outcome {
        Outcome {
            consumed: 0,
            produced: 0,
            status: st,
            last_block: false,
            ctx_state: 0,
        }
    }

    /// Compression consumed all its input; `last` when the stream is finished.
    fn compressed(consumed: usize, produced: usize, last: bool) -> Outcome {
        Outcome {
            consumed: consumed as u32,
            produced: produced as u32,
            status: status::OK,
            last_block: last,
            ctx_state: 0,
        }
    }

    /// Decompression paused before the end: out of output space, or out of input.
    fn paused(consumed: usize, produced: usize, out_len: usize) -> Outcome {
        Outcome::more(
            consumed,
            produced,
            if produced >= out_len {
                ctx_st::DECOMPING_NO_SPACE
            } else {
                ctx_st::DECOMP_BLK_NOSTART
            },
        )
    }

    /// More of the stream is to come; the engine says where it stopped.
    fn more(consumed: usize, produced: usize, ctx_state: u32) -> Outcome {
        Outcome {
            consumed: consumed as u32,
            produced: produced as u32,
            status: status::OK,
            last_block: false,
            ctx_state,
        }
    }

    /// Decompression reached the end of the stream, trailer checked.
    fn ended(consumed: usize, produced: usize) -> Outcome {
        Outcome {
            consumed: consumed as u32,
            produced: produced as u32,
            status: status::DECOMP_END,
            last_block: true,
            ctx_state: 0,
        }
    }
}

enum Check {
    Adler(adler2::Adler32),
    Crc(crc32fast::Hasher, u32),
    None,
}

impl Check {
    fn start(alg: u32, new: bool, sqe: &ZipSqe) -> Check {
        let (isize, sum) = (sqe.w[dw::ISIZE], sqe.w[dw::CHECKSUM]);
        match alg {
            hw_alg::ZLIB if new => Check::Adler(adler2::Adler32::new()),
            hw_alg::ZLIB => Check::Adler(adler2::Adler32::from_checksum(sum)),
            hw_alg::GZIP if new => Check::Crc(crc32fast::Hasher::new(), 0),
            hw_alg::GZIP => Check::Crc(crc32fast::Hasher::new_with_initial(sum), isize),
            _ => Check::None,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Check::Adler(a) => a.write_slice(data),
            Check::Crc(c, n) => {
                c.update(data);
                *n = n.wrapping_add(data.len() as u32);
            }
            Check::None => {}
        }
    }

    /// (isize, checksum) as the SQE reports them.
    fn words(&self) -> (u32, u32) {
        match self {
            Check::Adler(a) => (0, a.checksum()),
            Check::Crc(c, n) => (*n, c.clone().finalize()),
            Check::None => (0, 0),
        }
    }

    fn trailer(&self) -> Vec<u8> {
        match self {
            Check::Adler(a) => a.checksum().to_be_bytes().to_vec(),
            Check::Crc(c, n) => {
                let mut t = c.clone().finalize().to_le_bytes().to_vec();
                t.extend_from_slice(&n.to_le_bytes());
                t
            }
            Check::None => Vec::new(),
        }
    }

    fn trailer_len(alg: u32) -> usize {
        match alg {
            hw_alg::ZLIB => 4,
            hw_alg::GZIP => 8,
            _ => 0,
        }
    }
}

/// Visit the buffers of a request's `len` bytes at `addr`, in order: the flat buffer
/// itself, or the entries of a hardware SGL chain after skipping `skip` bytes. `f` gets
/// each piece's address and length. Returns false when the chain holds fewer bytes.
///
/// # Safety
/// For an SGL, `addr` must point at a valid chain (the SVA contract).
unsafe fn walk(
    addr: u64,
    len: usize,
    sgl: bool,
    skip: usize,
    mut f: impl FnMut(*mut u8, usize),
) -> bool {
    if len == 0 {
        return true;
    }
    if !sgl {
        f(addr as *mut u8, len);
        return true;
    }
    let (mut skip, mut left) = (skip, len);
    let mut sgl_addr = addr;
    // A chain never needs more links than this; a looping one is cut off.
    let mut links = 0;
    while sgl_addr != 0 && left > 0 && links < 1 << 16 {
        links += 1;
        let p = sgl_addr as *const u8;
        // SAFETY: a hardware SGL header, valid by the caller's contract.
        let (next, n) = unsafe {
            (
                (p.add(fmt::sgl::NEXT_DMA) as *const u64).read_unaligned(),
                (p.add(fmt::sgl::ENTRY_SUM_IN_SGL) as *const u16).read_unaligned() as usize,
            )
        };
        for i in 0..n.min(fmt::SGE_PER_SGL) {
            // SAFETY: entry i of this SGL, inside its 255-entry array.
            let (buf, blen) = unsafe {
                let e = p.add(fmt::SGL_HDR_SIZE + i * fmt::SGE_SIZE);
                (
                    (e.add(fmt::sgl::SGE_BUFF) as *const u64).read_unaligned(),
                    (e.add(fmt::sgl::SGE_LEN) as *const u32).read_unaligned() as usize,
                )
            };
            if skip >= blen {
                skip -= blen;
                continue;
            }
            let take = (blen - skip).min(left);
            f((buf as *mut u8).wrapping_add(skip), take);
            left -= take;
            skip = 0;
            if left == 0 {
                break;
            }
        }
        sgl_addr = next;
    }
    left == 0
}

/// The model's DMA into the process's memory. A real SVA device reaches buffers through
/// the IOMMU: a page that is not mapped (a caller freed its buffer while the request was
/// in flight) is a translation fault that fails the request, not a crash of the process.
/// So the engine copies through `process_vm_readv` / `process_vm_writev` on its own
/// process, which report such a page as `EFAULT`; where those calls are not allowed (a
/// seccomp policy), it falls back to plain copies.
mod dma {
    use std::sync::atomic::{AtomicBool, Ordering};

    static PLAIN: AtomicBool = AtomicBool::new(false);

    /// Move `n` bytes from `from` to `to`, `to` or `from` being the caller's memory
    /// (`write` says which). False when a page of the caller's side is not mapped.
    ///
    /// # Safety
    /// The engine's own side must be valid for `n` bytes.
    unsafe fn copy(from: *const u8, to: *mut u8, n: usize, write: bool) -> bool {
        let mut done = 0;
        while done < n && !PLAIN.load(Ordering::Relaxed) {
            // SAFETY: moving past what is done, within the n bytes of each side.
            let (src, dst) = unsafe { (from.add(done) as *mut u8, to.add(done)) };
            let (local, remote) = if write { (src, dst) } else { (dst, src) };
            let l = libc::iovec {
                iov_base: local.cast(),
                iov_len: n - done,
            };
            let r = libc::iovec {
                iov_base: remote.cast(),
                iov_len: n - done,
            };
            // SAFETY: the local iovec is valid (the contract); the remote one the kernel
            // checks, failing with EFAULT rather than touching an unmapped page.
            let got = unsafe {
                if write {
                    libc::process_vm_writev(libc::getpid(), &l, 1, &r, 1, 0)
                } else {
                    libc::process_vm_readv(libc::getpid(), &l, 1, &r, 1, 0)
                }
            };
            if got > 0 {
                done += got as usize;
                continue;
            }
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EFAULT) => return false,
                Some(libc::EINTR) => continue,
                _ => PLAIN.store(true, Ordering::Relaxed),
            }
        }
        if done < n {
            // SAFETY: the plain fallback; both sides valid by the SVA contract.
            unsafe { std::ptr::copy_nonoverlapping(from.add(done), to.add(done), n - done) };
        }
        true
    }

    /// Append `n` bytes read at `addr` to `out`; false for an unmapped page.
    ///
    /// # Safety
    /// None beyond the model's: the caller's memory is reached as a device reaches it.
    pub unsafe fn read(addr: *const u8, n: usize, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        out.resize(start + n, 0);
        // SAFETY: `out` holds n bytes from `start`.
        let ok = unsafe { copy(addr, out.as_mut_ptr().add(start), n, false) };
        if !ok {
            out.truncate(start);
        }
        ok
    }

    /// Write `data` at `addr`; false for an unmapped page.
    ///
    /// # Safety
    /// As for [`read`].
    pub unsafe fn write(addr: *mut u8, data: &[u8]) -> bool {
        // SAFETY: `data` is valid for its length.
        unsafe { copy(data.as_ptr(), addr, data.len(), true) }
    }
}

/// Read `len` bytes of a request's input into `out`; false when the chain is short or a
/// page is not mapped.
///
/// # Safety
/// An SGL's chain must be valid (the SVA contract); the buffers it names are reached
/// through [`dma`].
unsafe fn gather(addr: u64, len: usize, sgl: bool, skip: usize, out: &mut Vec<u8>) -> bool {
    out.clear();
    let mut ok = true;
    // SAFETY: the caller's contract covers the chain; the pieces go through dma.
    let whole = unsafe {
        walk(addr, len, sgl, skip, |p, n| {
            ok = ok && dma::read(p, n, out);
        })
    };
    whole && ok
}

/// Write `data` into a request's output; false when the chain is short or a page is not
/// mapped.
///
/// # Safety
/// As for [`gather`].
unsafe fn scatter(addr: u64, data: &[u8], sgl: bool, skip: usize) -> bool {
    let mut at = 0;
    let mut ok = true;
    // SAFETY: the caller's contract covers the chain; the pieces, which add up to at most
    // `data.len()`, go through dma.
    let whole = unsafe {
        walk(addr, data.len(), sgl, skip, |p, n| {
            ok = ok && dma::write(p, &data[at..at + n]);
            at += n;
        })
    };
    whole && ok
}

impl Engine {
    /// Fresh scratch.
    pub fn new() -> Engine {
        Engine {
            input: Vec::new(),
            output: Vec::new(),
            lz77: Lz77Scratch::default(),
            comp: (0..4).map(|_| None).collect(),
            decomp: None,
        }
    }

    /// Execute one SQE in place.
    ///
    /// # Safety
    /// The SQE's addresses must be valid as the SVA contract says: input readable, output
    /// writable, for the lengths the SQE gives, until the CQE is posted.
    pub unsafe fn execute(&mut self, sqe: &mut ZipSqe, qc_type: u16) {
        if let Some((v, price)) = lz77::Variant::of_hw_alg(sqe.alg()) {
            // SAFETY: the caller's contract.
            unsafe { self.lz77(sqe, qc_type, v, price) };
            return;
        }
        let in_len = sqe.w[dw::INPUT_DATA_LENGTH] as usize;
        let out_len = sqe.w[dw::DEST_AVAIL_OUT] as usize;
        let (src_skip, dst_skip) = sqe.sgl_skip();
        let sgl = sqe.is_sgl();
        let alg = sqe.alg();
        let new = sqe.stream_new();
        let mut check = Check::start(alg, new || !sqe.stateful(), sqe);
        let mut input = std::mem::take(&mut self.input);
        let mut output = std::mem::take(&mut self.output);
        // SAFETY: the caller's contract.
        let outcome = if in_len > fmt::HZ_MAX_SIZE
            || out_len > fmt::HZ_MAX_SIZE
            || !unsafe { gather(sqe.src(), in_len, sgl, src_skip as usize, &mut input) }
        {
            Outcome::fail(status::ENGINE_FAULT)
        } else {
            output.clear();
            let flush = sqe.flush();
            match (alg, qc_type, sqe.stateful()) {
                (hw_alg::DEFLATE | hw_alg::ZLIB | hw_alg::GZIP, 0, false) => {
                    self.deflate_block(sqe.window(), &input, &mut output, &mut check, alg)
                }
                (hw_alg::DEFLATE | hw_alg::ZLIB | hw_alg::GZIP, 0, true) => {
                    deflate_stream(sqe, new, flush, &input, &mut output, &mut check, alg)
                }
                (hw_alg::DEFLATE | hw_alg::ZLIB | hw_alg::GZIP, 1, false) => {
                    self.inflate_block(&input, &mut output, out_len, &mut check, alg)
                }
                (hw_alg::DEFLATE | hw_alg::ZLIB | hw_alg::GZIP, 1, true) => {
                    inflate_stream(sqe, new, &input, &mut output, out_len, &mut check, alg)
                }
                (hw_alg::LZ4, 0, false) => {
                    output.resize(lz4_flex::block::get_maximum_output_size(input.len()), 0);
                    match lz4_flex::block::compress_into(&input, &mut output) {
                        Ok(n) => {
                            output.truncate(n);
                            Outcome::compressed(input.len(), n, true)
                        }
                        Err(_) => Outcome::fail(status::ENGINE_FAULT),
                    }
                }
                _ => Outcome::fail(status::ENGINE_FAULT),
            }
        };
        let mut outcome = outcome;
        if outcome.status == status::OK || outcome.status == status::DECOMP_END {
            if output.len() > out_len {
                outcome = Outcome::fail(status::DSTLEN_OUT);
            } else if !unsafe { scatter(sqe.dst(), &output, sgl, dst_skip as usize) } {
                outcome = Outcome::fail(status::ENGINE_FAULT);
            } else {
                outcome.produced = output.len() as u32;
            }
        }
        let (isize, sum) = check.words();
        sqe.w[dw::CONSUMED] = outcome.consumed;
        sqe.w[dw::PRODUCED] = outcome.produced;
        sqe.w[dw::STATUS] = outcome.status
            | if outcome.last_block {
                status::LSTBLK
            } else {
                0
            };
        sqe.w[dw::CTX_DW0] = (sqe.w[dw::CTX_DW0] & !ctx_st::MASK) | outcome.ctx_state;
        sqe.w[dw::ISIZE] = isize;
        sqe.w[dw::CHECKSUM] = sum;
        self.input = input;
        self.output = output;
    }

    fn deflate_block(
        &mut self,
        wcode: u32,
        input: &[u8],
        output: &mut Vec<u8>,
        check: &mut Check,
        alg: u32,
    ) -> Outcome {
        let bits = window_bits(wcode);
        let c = self.comp[(bits - 12) as usize].get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(2), false, bits)
        });
        c.reset();
        check.update(input);
        output.reserve(input.len() + input.len() / 8 + 64);
        loop {
            if output.len() == output.capacity() {
                output.reserve(output.capacity().max(1024));
            }
            let before = c.total_in() as usize;
            match c.compress_vec(&input[before..], output, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => break,
                Ok(_) => {}
                Err(_) => return Outcome::fail(status::ENGINE_FAULT),
            }
        }
        output.extend_from_slice(&check.trailer());
        let _ = alg;
        Outcome::compressed(input.len(), output.len(), true)
    }

    fn inflate_block(
        &mut self,
        input: &[u8],
        output: &mut Vec<u8>,
        out_len: usize,
        check: &mut Check,
        alg: u32,
    ) -> Outcome {
        let d = self.decomp.get_or_insert_with(|| Decompress::new(false));
        d.reset(false);
        output.clear();
        output.resize(out_len, 0);
        let r = d.decompress(input, output, FlushDecompress::Finish);
        output.truncate(d.total_out() as usize);
        let consumed = d.total_in() as usize;
        match r {
            Err(_) => Outcome::fail(status::BAD_DATA),
            Ok(Status::StreamEnd) => {
                check.update(output);
                let tl = Check::trailer_len(alg);
                let rest = &input[consumed..];
                if rest.len() < tl {
                    // The body ended but the trailer did not arrive: a truncated stream.
                    let st = ctx_st::DECOMP_BLK_NOSTART;
                    return Outcome::more(input.len(), output.len(), st);
                }
                if rest[..tl] != check.trailer()[..] {
                    return Outcome::fail(status::CRC_ERR);
                }
                Outcome::ended(consumed + tl, output.len())
            }
            Ok(_) => {
                check.update(output);
                Outcome::paused(consumed, output.len(), out_len)
            }
        }
    }
}

fn with_stream<R>(f: impl FnOnce(&mut Streams) -> R) -> R {
    let mut m = streams().lock().unwrap_or_else(|e| e.into_inner());
    f(&mut m)
}

fn deflate_stream(
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
            return Outcome::fail(status::ENGINE_FAULT);
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
        Outcome::compressed(input.len(), output.len(), finished)
    })
}

fn inflate_stream(
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
            return Outcome::fail(status::ENGINE_FAULT);
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

/// Reused state of the lz77 path.
#[derive(Default)]
struct Lz77Scratch {
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
    unsafe fn lz77(&mut self, sqe: &mut ZipSqe, qc_type: u16, v: lz77::Variant, price: bool) {
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
            return;
        }
        // SAFETY: the caller's contract.
        if !unsafe { gather(sqe.src(), in_len, sgl, 0, &mut input) } {
            fail(sqe, status::ENGINE_FAULT);
            self.input = input;
            return;
        }
        let ctx = (stateful && sqe.ctx_addr() != 0).then(|| Lz77Ctx(sqe.ctx_addr()));
        if stateful && ctx.is_none() {
            fail(sqe, status::ENGINE_FAULT);
            self.input = input;
            return;
        }
        let reps = match &ctx {
            // SAFETY: the caller's contract.
            Some(c) if !sqe.stream_new() => match unsafe { c.load(&mut st.history) } {
                Some(r) => r,
                None => {
                    fail(sqe, status::ENGINE_FAULT);
                    self.input = input;
                    return;
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
            return;
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
                return;
            }
        };
        let used = w.seq_num as usize * lz77::SEQ_SIZE + v.tail_size();
        // SAFETY: the caller's contract: both areas are writable for the sizes the SQE gives,
        // and the writer kept within them.
        let wrote = unsafe {
            scatter(lit_addr, &st.lits[..w.lit_num as usize], sgl, 0)
                && scatter(sqe.dst(), &st.seqs[..used], sgl, 0)
        };
        if !wrote {
            fail(sqe, status::ENGINE_FAULT);
            self.input = input;
            return;
        }
        if let Some(c) = ctx {
            st.history.extend_from_slice(&input[..w.consumed]);
            // SAFETY: the caller's contract.
            if !unsafe { c.store(w.reps, &st.history) } {
                fail(sqe, status::ENGINE_FAULT);
                self.input = input;
                return;
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
    }
}

#[cfg(test)]
mod tests {
    use super::dma;

    #[test]
    fn dma_faults_on_unmapped_and_read_only_pages() {
        let page = 4096;
        // SAFETY: an anonymous mapping of two pages; the second is unmapped again, the
        // first made read-only, and both are only reached through dma (or munmapped).
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            ) as *mut u8;
            assert_ne!(p as *mut libc::c_void, libc::MAP_FAILED);
            p.write_bytes(7, 2 * page);
            let mut out = Vec::new();
            assert!(dma::read(p, 2 * page, &mut out));
            assert_eq!(out.len(), 2 * page);
            assert!(out.iter().all(|&b| b == 7));
            assert!(dma::write(p, &[1, 2, 3]));
            assert_eq!(*p.add(2), 3);

            libc::munmap(p.add(page).cast(), page);
            out.clear();
            // A buffer running into the unmapped page fails, leaving nothing behind.
            assert!(!dma::read(p, 2 * page, &mut out));
            assert!(out.is_empty());
            assert!(!dma::write(p.add(page), &[0; 16]));
            libc::mprotect(p.cast(), page, libc::PROT_READ);
            assert!(!dma::write(p, &[0; 16]));
            assert_eq!(*p, 1, "a refused write changes nothing");
            libc::munmap(p.cast(), page);
        }
    }
}
