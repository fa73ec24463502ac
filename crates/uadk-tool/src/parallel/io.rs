//! Inputs and outputs of the parallel paths: a mapped file or a reader, cut into chunks;
//! the output file.

use std::fs::File;
use std::io::{self, Read, Write};
use uadk::{JobBuf, RawBuf};

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

    /// Drop the pages of a range that is done with (a finished chunk): the cost of
    /// unmapping them is paid while the engines still work, not at the end. A later read
    /// would fault the file's bytes back in.
    fn release(&self, src: &JobBuf) {
        let JobBuf::Raw(r) = src else { return };
        let base = self.ptr as usize;
        let (start, end) = (r.as_ptr() as usize, r.as_ptr() as usize + src.len());
        if start < base || end > base + self.len {
            return;
        }
        let page = 4096;
        let (a, b) = (start.next_multiple_of(page), end / page * page);
        if b > a {
            // SAFETY: a page-aligned range inside the mapping, which stays mapped; a private
            // file mapping reads the file again after MADV_DONTNEED, so `bytes` stays valid.
            unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_DONTNEED) };
        }
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

/// An input: mapped, or read.
pub enum Input<'a> {
    Mapped(&'a Mapped),
    Reader(&'a mut dyn Read),
}

impl<'a> Input<'a> {
    pub(super) fn len(&self) -> Option<usize> {
        match self {
            Input::Mapped(m) => Some(m.bytes().len()),
            Input::Reader(_) => None,
        }
    }

    pub(super) fn source(self) -> Source<'a> {
        match self {
            Input::Mapped(m) => Source::Mapped(m, 0),
            Input::Reader(r) => Source::Reader(r, Vec::new(), false),
        }
    }
}

/// One chunk to submit: its input and whether it is the last part.
pub(super) struct Chunk<'a> {
    pub(super) src: JobBuf,
    /// Bytes of the chunk (what `src` holds).
    pub(super) len: usize,
    pub(super) last: bool,
    /// The chunk's bytes where they stay readable while the engine works on them: the
    /// mapped file's (a read chunk's buffer goes with its request).
    pub(super) mapped: Option<&'a [u8]>,
}

/// Where each chunk comes from.
pub(super) enum Source<'a> {
    Mapped(&'a Mapped, usize),
    Reader(&'a mut dyn Read, Vec<Vec<u8>>, bool),
}

impl<'a> Source<'a> {
    /// The next chunk of at most `size` bytes; None at the end. The last chunk of the
    /// input has `last` set (an empty input is one empty last chunk).
    pub(super) fn next(&mut self, size: usize, first: bool) -> io::Result<Option<Chunk<'a>>> {
        match self {
            Source::Mapped(m, pos) => {
                let len = m.bytes().len();
                if *pos >= len && !(first && len == 0) {
                    return Ok(None);
                }
                let end = (*pos + size).min(len);
                let m: &'a Mapped = m;
                let c = Chunk {
                    src: m.raw(*pos, end),
                    len: end - *pos,
                    last: end == len,
                    mapped: Some(&m.bytes()[*pos..end]),
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
                    mapped: None,
                }))
            }
        }
    }

    /// A finished chunk's input back: a read buffer for reuse, or mapped pages to drop.
    pub(super) fn recycle(&mut self, src: JobBuf) {
        match (self, src) {
            (Source::Reader(_, pool, _), JobBuf::Flat(v)) => pool.push(v),
            (Source::Mapped(m, _), src) => m.release(&src),
            _ => {}
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

/// The bytes of a chunk's input.
pub(super) fn chunk_bytes(src: &JobBuf) -> &[u8] {
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
