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

use crate::common::{Error, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::hash::Hasher;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::mpsc;
use std::time::Duration;
use uadk::{
    Alg, Comp, CompConfig, Completion, CtxMode, JobBuf, Level, OpType, RawBuf, Session,
    SessionSetup, WindowSize,
};

/// Chunk of a deflate part at level 1 (ISA-L): small enough to keep both cores busy to
/// the end, large enough that the parts' lost history costs little ratio.
const PART_L1: usize = 1 << 20;
/// Chunk of a deflate part at the other levels.
const PART_LN: usize = 2 << 20;
/// Chunk of a zstd frame.
const ZSTD_CHUNK: usize = 2 << 20;
/// LZ4 frame blocks: the frame format's largest, what `lz4` writes.
const LZ4_BLOCK: usize = 4 << 20;
/// The most parts an index holds (the extra field is at most 65535 bytes).
const MAX_PARTS: usize = 16_000;
/// Index subfield id in the gzip extra field, and its version.
const INDEX_ID: [u8; 2] = *b"UP";
const INDEX_VERSION: u8 = 1;
/// Bytes before the first compressed size in our gzip header.
const INDEX_SIZES_AT: usize = 10 + 2 + 4 + 1 + 3 + 4 + 4;

/// The CPUs this process may run on.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A regular file mapped into memory, copy-on-write (never written: the engine only reads
/// inputs, and writable pages keep [`RawBuf`]'s contract). Not populated up front: that
/// would fault every page for writing, copying the file.
pub struct Mapped {
    ptr: *mut u8,
    len: usize,
}

impl Mapped {
    /// Map `len` bytes of `file`; `None` where it cannot be mapped.
    pub fn new(file: &File, len: u64) -> Option<Mapped> {
        use std::os::fd::AsRawFd;
        let len = usize::try_from(len).ok()?;
        if len == 0 {
            return Some(Mapped {
                ptr: std::ptr::NonNull::dangling().as_ptr(),
                len: 0,
            });
        }
        // SAFETY: a fresh private mapping of an open file; the kernel picks the address.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        (p != libc::MAP_FAILED).then_some(Mapped { ptr: p.cast(), len })
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for the life of self (dangling, len 0,
        // when empty).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// `range` of the mapping as an engine buffer.
    fn raw(&self, start: usize, end: usize) -> JobBuf {
        assert!(start <= end && end <= self.len);
        // SAFETY: inside the mapping, which outlives every request (the pipelines wait for
        // all of them before returning) and is never written.
        JobBuf::Raw(unsafe { RawBuf::new(self.ptr.add(start), end - start) })
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: mapped in `new` with this length, unmapped once.
            unsafe { libc::munmap(self.ptr.cast(), self.len) };
        }
    }
}

/// Output buffers of the requests in flight: each slot is lent to one request at a time.
struct Slab {
    bufs: Vec<Box<[u8]>>,
    free: Vec<usize>,
}

impl Slab {
    fn new(n: usize, cap: usize) -> Slab {
        Slab {
            bufs: (0..n).map(|_| vec![0u8; cap].into_boxed_slice()).collect(),
            free: (0..n).rev().collect(),
        }
    }

    /// A free slot and its buffer as an engine buffer.
    fn take(&mut self) -> Option<(usize, JobBuf)> {
        let i = self.free.pop()?;
        let b = &mut self.bufs[i];
        // SAFETY: the slot is not read or written by us until its request has completed
        // (`give` follows the completion), and the slab outlives every request.
        Some((
            i,
            JobBuf::Raw(unsafe { RawBuf::new(b.as_mut_ptr(), b.len()) }),
        ))
    }

    fn give(&mut self, i: usize) {
        self.free.push(i);
    }
}

/// One chunk to submit: its input and whether it is the last part.
struct Chunk {
    src: JobBuf,
    /// Bytes of the chunk (what `src` holds).
    len: usize,
    last: bool,
}

/// Where each chunk comes from.
enum Source<'a> {
    Mapped(&'a Mapped, usize),
    Reader(&'a mut dyn Read, Vec<Vec<u8>>, bool),
}

impl Source<'_> {
    /// The next chunk of at most `size` bytes; None at the end. The last chunk of the
    /// input has `last` set (an empty input is one empty last chunk).
    fn next(&mut self, size: usize, first: bool) -> io::Result<Option<Chunk>> {
        match self {
            Source::Mapped(m, pos) => {
                let len = m.bytes().len();
                if *pos >= len && !(first && len == 0) {
                    return Ok(None);
                }
                let end = (*pos + size).min(len);
                let c = Chunk {
                    src: m.raw(*pos, end),
                    len: end - *pos,
                    last: end == len,
                };
                *pos = end.max(1);
                Ok(Some(c))
            }
            Source::Reader(r, pool, done) => {
                if *done {
                    return Ok(None);
                }
                let mut buf = pool.pop().unwrap_or_default();
                buf.resize(size, 0);
                let n = read_full(*r, &mut buf)?;
                buf.truncate(n);
                // A short read is the end; a full one may be followed by nothing, which an
                // empty last part then ends.
                *done = n < size;
                Ok(Some(Chunk {
                    len: n,
                    src: JobBuf::Flat(buf),
                    last: *done,
                }))
            }
        }
    }

    fn recycle(&mut self, src: JobBuf) {
        if let (Source::Reader(_, pool, _), JobBuf::Flat(v)) = (self, src) {
            pool.push(v);
        }
    }
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
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

/// A finished chunk: its sequence number, input, output slot, bytes made.
struct Done {
    seq: u64,
    src: JobBuf,
    slot: usize,
    len: usize,
    result: uadk::Result<uadk::Output>,
}

/// Submits chunks to a session with up to `depth` in flight and hands each result to
/// `sink`, in order, with the slot's bytes. Waits for everything submitted before it
/// returns, errors included, so no request outlives the buffers.
struct Pipeline<'s> {
    comp: &'s Comp,
    sess: &'s Session,
    slab: Slab,
    tx: mpsc::Sender<Done>,
    rx: mpsc::Receiver<Done>,
    in_flight: usize,
    ready: BTreeMap<u64, Done>,
    next_seq: u64,
    next_out: u64,
}

impl<'s> Pipeline<'s> {
    fn new(comp: &'s Comp, sess: &'s Session, depth: usize, cap: usize) -> Pipeline<'s> {
        let (tx, rx) = mpsc::channel();
        Pipeline {
            comp,
            sess,
            slab: Slab::new(depth, cap),
            tx,
            rx,
            in_flight: 0,
            ready: BTreeMap::new(),
            next_seq: 0,
            next_out: 0,
        }
    }

    /// Room for another request.
    fn has_room(&self) -> bool {
        !self.slab.free.is_empty()
    }

    /// Submit one chunk (the caller checked [`Pipeline::has_room`]).
    fn submit(&mut self, src: JobBuf, len: usize, part: Option<bool>) -> Result<()> {
        let (slot, dst) = self.slab.take().expect("room checked");
        let seq = self.next_seq;
        let tx = self.tx.clone();
        let cb: uadk::Callback = Box::new(move |c: Completion| {
            let _ = tx.send(Done {
                seq,
                src: c.src,
                slot,
                len,
                result: c.result,
            });
        });
        let r = match part {
            Some(last) => self.sess.submit_part(src, dst, last, cb),
            None => self.sess.submit(src, dst, cb),
        };
        match r {
            Ok(()) => {
                self.next_seq += 1;
                self.in_flight += 1;
                Ok(())
            }
            Err(e) => {
                self.slab.give(slot);
                Err(e.error.into())
            }
        }
    }

    /// Wait for completions; return the next one in order, if it is in.
    fn next_done(&mut self, wait: bool) -> Result<Option<Done>> {
        loop {
            while let Ok(d) = self.rx.try_recv() {
                self.in_flight -= 1;
                self.ready.insert(d.seq, d);
            }
            if let Some(d) = self.ready.remove(&self.next_out) {
                self.next_out += 1;
                return Ok(Some(d));
            }
            if !wait || self.in_flight == 0 {
                return Ok(None);
            }
            self.comp.poll_wait(0, Duration::from_millis(20))?;
        }
    }

    /// The bytes a finished request wrote.
    fn output(&self, d: &Done, n: usize) -> &[u8] {
        &self.slab.bufs[d.slot][..n]
    }

    /// Wait for every request still in flight (after an error).
    fn drain(&mut self) {
        while self.in_flight > 0 {
            if self.comp.poll_wait(0, Duration::from_millis(20)).is_err() {
                std::thread::yield_now();
            }
            while let Ok(d) = self.rx.try_recv() {
                self.in_flight -= 1;
                self.ready.insert(d.seq, d);
            }
        }
    }
}

impl Drop for Pipeline<'_> {
    fn drop(&mut self) {
        self.drain();
    }
}

/// Where the output goes: a file, with what we may do to it.
pub struct Out<'a> {
    pub file: &'a mut File,
    /// The file is regular, not appended to: its header may be rewritten at the end.
    pub seekable: bool,
    /// Bytes written.
    pub count: u64,
}

impl Out<'_> {
    /// Write all of `b`.
    pub fn write(&mut self, b: &[u8]) -> io::Result<()> {
        self.file.write_all(b)?;
        self.count += b.len() as u64;
        Ok(())
    }
}

/// The deflate family's container around the parts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wrap {
    Raw,
    Zlib,
    Gzip,
}

/// Running checksum of the content, in order.
enum Check {
    None,
    Adler(u32),
    Crc(crc32fast::Hasher),
}

impl Check {
    fn new(w: Wrap) -> Check {
        match w {
            Wrap::Raw => Check::None,
            Wrap::Zlib => Check::Adler(1),
            Wrap::Gzip => Check::Crc(crc32fast::Hasher::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Check::None => {}
            Check::Adler(a) => {
                for piece in data.chunks(1 << 30) {
                    // SAFETY: the pointer and length describe `piece`, which adler32 reads.
                    *a = unsafe {
                        libz_rs_sys::adler32(*a as _, piece.as_ptr(), piece.len() as u32)
                    } as u32;
                }
            }
            Check::Crc(h) => h.update(data),
        }
    }
}

/// gzip header: ours, with room for the index of `parts` parts when there are any.
fn gzip_header(parts: usize, part_size: usize, level: u32) -> Vec<u8> {
    let xfl = match level {
        1 => 4,
        l if l >= 9 => 2,
        _ => 0,
    };
    let mut h = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3];
    if parts > 0 {
        h[3] = 4; // FEXTRA
        let sub = 1 + 3 + 4 + 4 + 4 * parts;
        h.extend_from_slice(&((4 + sub) as u16).to_le_bytes());
        h.extend_from_slice(&INDEX_ID);
        h.extend_from_slice(&(sub as u16).to_le_bytes());
        h.push(INDEX_VERSION);
        h.extend_from_slice(&[0, 0, 0]);
        h.extend_from_slice(&(part_size as u32).to_le_bytes());
        h.extend_from_slice(&(parts as u32).to_le_bytes());
        debug_assert_eq!(h.len(), INDEX_SIZES_AT);
        h.resize(h.len() + 4 * parts, 0);
    }
    h
}

/// `compress -T`: deflate, zlib or gzip in parts.
pub fn compress_deflate(
    wrap: Wrap,
    level: Level,
    window: WindowSize,
    threads: usize,
    input: Input<'_>,
    out: &mut Out<'_>,
) -> Result<()> {
    let comp = framework(Alg::Deflate, OpType::Compress, threads)?;
    let sess = comp.session(
        &SessionSetup::new(Alg::Deflate, OpType::Compress)
            .level(level)
            .window(window),
    )?;
    let mut size = if level.get() == 1 { PART_L1 } else { PART_LN };
    let known = input.len();
    // An index when the size is known and the header can be rewritten.
    let index = match known {
        Some(n) if wrap == Wrap::Gzip && out.seekable => {
            size = size.max(n.div_ceil(MAX_PARTS));
            n.div_ceil(size).max(1)
        }
        _ => 0,
    };
    let start = out.count;
    match wrap {
        Wrap::Gzip => out.write(&gzip_header(index, size, level.get()))?,
        Wrap::Zlib => {
            let mut h = [0x78u8, 0x9c];
            let cinfo = window.bits() - 8;
            let flevel: u8 = match level.get() {
                1 => 0,
                2..=5 => 1,
                6 => 2,
                _ => 3,
            };
            h[0] = (cinfo << 4) | 8;
            h[1] = flevel << 6;
            h[1] += (31 - ((h[0] as u16 * 256 + h[1] as u16) % 31) as u8) % 31;
            out.write(&h)?
        }
        Wrap::Raw => {}
    }
    let mut check = Check::new(wrap);
    let mut sizes: Vec<u32> = Vec::new();
    let cap = sess.compress_bound(size) + 64;
    let mut pipe = Pipeline::new(&comp, &sess, threads * 2 + 1, cap);
    let mut src = input.source();
    let mut total = 0u64;
    let mut more = true;
    loop {
        while more && pipe.has_room() {
            match src.next(size, pipe.next_seq == 0)? {
                Some(c) => {
                    more = !c.last;
                    // The checksum, in order, while the engines work.
                    if !matches!(check, Check::None) {
                        check.update(chunk_bytes(&c.src));
                    }
                    total += c.len as u64;
                    pipe.submit(c.src, c.len, Some(c.last))?;
                }
                None => more = false,
            }
        }
        let Some(d) = pipe.next_done(true)? else {
            if !more {
                break;
            }
            continue;
        };
        let o = d
            .result
            .as_ref()
            .map_err(|e| Error::from(e.clone()))?
            .to_owned();
        let bytes = pipe.output(&d, o.produced);
        out.file.write_all(bytes)?;
        out.count += bytes.len() as u64;
        sizes.push(o.produced as u32);
        pipe.slab.give(d.slot);
        src.recycle(d.src);
    }
    drop(pipe);
    match check {
        Check::Crc(h) => {
            let mut t = h.finalize().to_le_bytes().to_vec();
            t.extend_from_slice(&(total as u32).to_le_bytes());
            out.write(&t)?;
        }
        Check::Adler(a) => out.write(&a.to_be_bytes())?,
        Check::None => {}
    }
    if index > 0 {
        if sizes.len() != index {
            return Err(Error::msg(format!(
                "the input changed size while it was read ({} parts, {index} expected)",
                sizes.len()
            )));
        }
        let table: Vec<u8> = sizes.iter().flat_map(|s| s.to_le_bytes()).collect();
        out.file
            .write_all_at(&table, start + INDEX_SIZES_AT as u64)?;
    }
    Ok(())
}

/// The bytes of a chunk's input.
fn chunk_bytes(src: &JobBuf) -> &[u8] {
    match src {
        JobBuf::Flat(v) => v,
        JobBuf::Raw(r) if !src.is_empty() => {
            // SAFETY: a range of the mapping (see `Mapped::raw`), only read here, while the
            // mapping lives.
            unsafe { std::slice::from_raw_parts(r.as_ptr(), src.len()) }
        }
        _ => &[],
    }
}

/// An input: mapped, or read.
pub enum Input<'a> {
    Mapped(&'a Mapped),
    Reader(&'a mut dyn Read),
}

impl<'a> Input<'a> {
    fn len(&self) -> Option<usize> {
        match self {
            Input::Mapped(m) => Some(m.bytes().len()),
            Input::Reader(_) => None,
        }
    }

    fn source(self) -> Source<'a> {
        match self {
            Input::Mapped(m) => Source::Mapped(m, 0),
            Input::Reader(r) => Source::Reader(r, Vec::new(), false),
        }
    }
}

/// `compress -T`: zstd, one frame per chunk.
pub fn compress_zstd(
    level: Level,
    window: WindowSize,
    threads: usize,
    input: Input<'_>,
    out: &mut Out<'_>,
) -> Result<()> {
    let comp = framework(Alg::Zstd, OpType::Compress, threads)?;
    let sess = comp.session(
        &SessionSetup::new(Alg::Zstd, OpType::Compress)
            .level(level)
            .window(window),
    )?;
    let cap = sess.compress_bound(ZSTD_CHUNK);
    let mut pipe = Pipeline::new(&comp, &sess, threads * 2 + 1, cap);
    let mut src = input.source();
    let mut more = true;
    loop {
        while more && pipe.has_room() {
            match src.next(ZSTD_CHUNK, pipe.next_seq == 0)? {
                Some(c) => {
                    more = !c.last;
                    pipe.submit(c.src, c.len, None)?;
                }
                None => more = false,
            }
        }
        let Some(d) = pipe.next_done(true)? else {
            if !more {
                break;
            }
            continue;
        };
        let o = d
            .result
            .as_ref()
            .map_err(|e| Error::from(e.clone()))?
            .to_owned();
        out.write(pipe.output(&d, o.produced))?;
        pipe.slab.give(d.slot);
        src.recycle(d.src);
    }
    Ok(())
}

/// `compress -T`: one LZ4 frame of independent blocks, each a block request.
pub fn compress_lz4(threads: usize, input: Input<'_>, out: &mut Out<'_>) -> Result<()> {
    let comp = framework(Alg::Lz4, OpType::Compress, threads)?;
    let sess = comp.session(&SessionSetup::new(Alg::Lz4, OpType::Compress))?;
    let cap = sess.compress_bound(LZ4_BLOCK);
    // Version 01, independent blocks, content checksum; 4 MiB blocks.
    let (flg, bd) = (0b0110_0100u8, 7u8 << 4);
    let mut h = uadk::comp::lz4frame::LZ4F_MAGIC.to_le_bytes().to_vec();
    h.extend_from_slice(&[flg, bd, (xxh32(&[flg, bd]) >> 8) as u8]);
    out.write(&h)?;
    let mut hash = twox_hash::XxHash32::with_seed(0);
    let mut pipe = Pipeline::new(&comp, &sess, threads * 2 + 1, cap);
    let mut src = input.source();
    let mut more = true;
    loop {
        while more && pipe.has_room() {
            match src.next(LZ4_BLOCK, pipe.next_seq == 0)? {
                Some(c) if c.len == 0 => more = false,
                Some(c) => {
                    more = !c.last;
                    hash.write(chunk_bytes(&c.src));
                    pipe.submit(c.src, c.len, None)?;
                }
                None => more = false,
            }
        }
        let Some(d) = pipe.next_done(true)? else {
            if !more {
                break;
            }
            continue;
        };
        let raw_len = d.len;
        match &d.result {
            // Stored raw unless it shrank, as `lz4` does.
            Ok(o) if o.produced < raw_len => {
                out.write(&(o.produced as u32).to_le_bytes())?;
                out.write(pipe.output(&d, o.produced))?;
            }
            Ok(_) | Err(uadk::Error::OutputTooSmall { .. }) => {
                out.write(&(raw_len as u32 | 0x8000_0000).to_le_bytes())?;
                out.write(chunk_bytes(&d.src))?;
            }
            Err(e) => return Err(e.clone().into()),
        }
        pipe.slab.give(d.slot);
        src.recycle(d.src);
    }
    drop(pipe);
    out.write(&0u32.to_le_bytes())?;
    out.write(&(hash.finish() as u32).to_le_bytes())?;
    Ok(())
}

fn xxh32(b: &[u8]) -> u32 {
    twox_hash::XxHash32::oneshot(0, b)
}

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
struct Unit {
    start: usize,
    end: usize,
    out_len: usize,
    kind: UnitKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum UnitKind {
    /// A deflate part (last or not).
    Part { last: bool },
    /// A whole zstd frame, or an lz4 block, through a block request.
    Block,
    /// Bytes copied as they are (an lz4 block stored raw).
    Copy,
}

/// Index of one of our gzip files: (header length, parts as units), if it is one.
fn gzip_units(data: &[u8]) -> Option<(usize, Vec<Unit>)> {
    if data.len() < INDEX_SIZES_AT + 8 || data[..4] != [0x1f, 0x8b, 8, 4] {
        return None;
    }
    let xlen = u16::from_le_bytes([data[10], data[11]]) as usize;
    let rd = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
    if data[12..14] != INDEX_ID || data[16] != INDEX_VERSION {
        return None;
    }
    let sub = u16::from_le_bytes([data[14], data[15]]) as usize;
    let (part, count) = (rd(20), rd(24));
    let hdr = 12 + xlen;
    if sub != 4 + 1 + 3 + 4 + 4 * count - 4
        || xlen != 4 + sub
        || count == 0
        || part == 0
        || data.len() < hdr + 8
    {
        return None;
    }
    let isize = rd(data.len() - 4);
    let mut units = Vec::with_capacity(count);
    let mut at = hdr;
    for k in 0..count {
        let c = rd(INDEX_SIZES_AT + 4 * k);
        let last = k + 1 == count;
        units.push(Unit {
            start: at,
            end: at.checked_add(c)?,
            out_len: part,
            kind: UnitKind::Part { last },
        });
        at = at.checked_add(c)?;
    }
    // The parts fill the member exactly, the trailer after them; the content's size
    // is the parts' (mod 2^32, as gzip states it).
    let total = part.checked_mul(count)?;
    let last_len = isize.wrapping_sub(part.wrapping_mul(count - 1)) & 0xffff_ffff;
    if at + 8 != data.len() || last_len > part || (total as u64) < last_len as u64 {
        return None;
    }
    units.last_mut().expect("count > 0").out_len = last_len;
    Some((hdr, units))
}

/// `decompress -T` of a gzip file of ours: its parts at once. Any other file, or a part
/// that does not inflate alone, is declined: the sequential reader then gives zlib's
/// verdict.
pub fn decompress_gzip(data: &[u8], threads: usize, out: &mut Out<'_>) -> Result<Outcome> {
    let Some((_hdr, units)) = gzip_units(data) else {
        return Ok(Outcome::Declined { written: 0 });
    };
    let trailer = &data[data.len() - 8..];
    let crc = u32::from_le_bytes(trailer[..4].try_into().expect("4 bytes"));
    let mut h = crc32fast::Hasher::new();
    let r = run_units(Alg::Deflate, data, &units, threads, out, &mut |b| {
        h.update(b);
        Ok(())
    })?;
    if r == Outcome::Done && h.finalize() != crc {
        return Err(uadk::Error::ChecksumMismatch.into());
    }
    Ok(r)
}

/// zstd frames of a file, if each is a frame stating its content size (or skippable).
fn zstd_units(data: &[u8]) -> Option<Vec<Unit>> {
    use zstd::zstd_safe;
    let mut units = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let rest = &data[at..];
        let n = zstd_safe::find_frame_compressed_size(rest).ok()?;
        if n == 0 || n > rest.len() {
            return None;
        }
        if rest.len() >= 4
            && u32::from_le_bytes(rest[..4].try_into().ok()?) & 0xFFFF_FFF0 == 0x184D_2A50
        {
            at += n;
            continue;
        }
        let size = zstd_safe::get_frame_content_size(rest).ok()??;
        units.push(Unit {
            start: at,
            end: at + n,
            out_len: usize::try_from(size).ok()?,
            kind: UnitKind::Block,
        });
        at += n;
    }
    (units.len() > 1).then_some(units)
}

/// `decompress -T` of zstd frames that state their sizes: the frames at once.
pub fn decompress_zstd(data: &[u8], threads: usize, out: &mut Out<'_>) -> Result<Outcome> {
    let Some(units) = zstd_units(data) else {
        return Ok(Outcome::Declined { written: 0 });
    };
    run_units(Alg::Zstd, data, &units, threads, out, &mut |_| Ok(()))
}

/// Where an LZ4 frame ends (the count of units up to it) and its content checksum.
type FrameEnd = (usize, Option<u32>);

/// LZ4 frames of independent blocks, no dictionary: their blocks, if that is all the
/// file holds (skippable frames aside). Checksums are checked, in order.
fn lz4_units(data: &[u8]) -> Option<(Vec<Unit>, Vec<FrameEnd>)> {
    let rd = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
    };
    let mut units = Vec::new();
    // Per frame: the unit index where it ends and its content checksum.
    let mut frames = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let magic = rd(at)?;
        if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
            at = at.checked_add(8)?.checked_add(rd(at + 4)? as usize)?;
            continue;
        }
        if magic != uadk::comp::lz4frame::LZ4F_MAGIC {
            return None;
        }
        let (flg, bd) = (*data.get(at + 4)?, *data.get(at + 5)?);
        // Version 01, independent blocks, no dictionary, reserved bits clear.
        if flg >> 6 != 1 || flg & 0x20 == 0 || flg & 0x03 != 0 || bd & 0x8f != 0 {
            return None;
        }
        let max = match bd >> 4 {
            4 => 64 << 10,
            5 => 256 << 10,
            6 => 1 << 20,
            7 => 4 << 20,
            _ => return None,
        };
        let hlen = 2 + if flg & 0x08 != 0 { 8 } else { 0 };
        let hd = data.get(at + 4..at + 4 + hlen)?;
        if *data.get(at + 4 + hlen)? != (xxh32(hd) >> 8) as u8 {
            return None;
        }
        at += 4 + hlen + 1;
        let block_sum = flg & 0x10 != 0;
        loop {
            let w = rd(at)?;
            at += 4;
            if w == 0 {
                break;
            }
            let n = (w & 0x7fff_ffff) as usize;
            let end = at.checked_add(n)?;
            if n > max || end > data.len() {
                return None;
            }
            if block_sum {
                let s = rd(end)?;
                if xxh32(&data[at..end]) != s {
                    return None;
                }
            }
            let kind = if w & 0x8000_0000 != 0 {
                UnitKind::Copy
            } else {
                UnitKind::Block
            };
            units.push(Unit {
                start: at,
                end,
                out_len: if kind == UnitKind::Copy { n } else { max },
                kind,
            });
            at = end + if block_sum { 4 } else { 0 };
        }
        let sum = if flg & 0x04 != 0 {
            let s = rd(at)?;
            at += 4;
            Some(s)
        } else {
            None
        };
        frames.push((units.len(), sum));
    }
    (!units.is_empty()).then_some((units, frames))
}

/// `decompress -T` of LZ4 frames of independent blocks: the blocks at once.
pub fn decompress_lz4(data: &[u8], threads: usize, out: &mut Out<'_>) -> Result<Outcome> {
    let Some((units, frames)) = lz4_units(data) else {
        return Ok(Outcome::Declined { written: 0 });
    };
    // Content checksums are checked as the output goes by, frame by frame.
    let mut check = Lz4Check {
        frames,
        next: 0,
        unit: 0,
        hash: twox_hash::XxHash32::with_seed(0),
    };
    run_units(Alg::Lz4, data, &units, threads, out, &mut |b| check.add(b))
}

struct Lz4Check {
    frames: Vec<FrameEnd>,
    next: usize,
    unit: usize,
    hash: twox_hash::XxHash32,
}

impl Lz4Check {
    /// One unit's bytes, in order.
    fn add(&mut self, bytes: &[u8]) -> Result<()> {
        self.hash.write(bytes);
        self.unit += 1;
        while let Some(&(end, sum)) = self.frames.get(self.next) {
            if end != self.unit {
                break;
            }
            if let Some(s) = sum {
                if self.hash.finish() as u32 != s {
                    return Err(uadk::Error::ChecksumMismatch.into());
                }
            }
            self.hash = twox_hash::XxHash32::with_seed(0);
            self.next += 1;
        }
        Ok(())
    }
}

/// The units through a decompression session with `threads` async contexts, written in
/// order; `sink` sees each unit's bytes. A deflate part that fails alone, or makes other
/// than its stated size, declines (see [`Outcome::Declined`]).
fn run_units(
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
