//! LZ4 frames (the `lz4` tool's file format) over lz4 block sessions.
//!
//! `Alg::Lz4` is UADK's raw LZ4 block. A file holds frames: a header (flags, block size,
//! optional content size, a header checksum), blocks of at most the frame's block size,
//! each stored compressed or raw, an end mark and an optional xxHash32 of the content.
//! [`Encoder`](crate::Encoder) on an lz4 session writes frames whose blocks are that
//! session's block requests (so the hardware compresses them where there is one), and
//! [`Decoder`](crate::Decoder) reads them back through a decompression session. The codec
//! is the library's; this module only frames its blocks and checks the checksums
//! (`twox-hash`).
//!
//! What is written is what `lz4` writes by default: independent 4 MiB blocks (a frame
//! whose content fits a smaller block size states that one, as `lz4` does), a content
//! checksum, no block checksums, no content size ([`Lz4FrameOptions`] changes that).
//! What is read is every frame the format defines but those needing a dictionary:
//! several frames one after another, skippable frames (skipped), linked blocks (`lz4 -BD`,
//! decoded on the CPU with the previous 64 KiB as the dictionary, which a block session
//! cannot take), block and content checksums, content sizes, and the legacy format
//! (`lz4 -l`). Every fault of the data is a typed error, wrapped in `io::Error`.

use super::session::Session;
use crate::error::{Error, Result};
use std::hash::Hasher;
use std::io::{self, Read, Write};
use twox_hash::XxHash32;

/// Magic number of an LZ4 frame.
pub const LZ4F_MAGIC: u32 = 0x184D_2204;
/// Magic number of the legacy format (`lz4 -l`).
const LEGACY_MAGIC: u32 = 0x184C_2102;
/// Legacy blocks hold this much content each (the last one less).
const LEGACY_BLOCK: usize = 8 << 20;
/// Block-size word flag: the block is stored raw.
const RAW_BLOCK: u32 = 0x8000_0000;
/// How far back linked blocks refer.
const LZ4_WINDOW: usize = 64 * 1024;

fn skippable(magic: u32) -> bool {
    magic & 0xFFFF_FFF0 == 0x184D_2A50
}

/// Maximum block size of a frame (the header's `BD` byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Lz4BlockSize {
    /// 64 KiB (`lz4 -B4`).
    K64,
    /// 256 KiB (`lz4 -B5`).
    K256,
    /// 1 MiB (`lz4 -B6`).
    M1,
    /// 4 MiB (`lz4 -B7`, the default).
    #[default]
    M4,
}

impl Lz4BlockSize {
    /// Bytes.
    pub fn bytes(self) -> usize {
        match self {
            Lz4BlockSize::K64 => 64 << 10,
            Lz4BlockSize::K256 => 256 << 10,
            Lz4BlockSize::M1 => 1 << 20,
            Lz4BlockSize::M4 => 4 << 20,
        }
    }

    fn code(self) -> u8 {
        match self {
            Lz4BlockSize::K64 => 4,
            Lz4BlockSize::K256 => 5,
            Lz4BlockSize::M1 => 6,
            Lz4BlockSize::M4 => 7,
        }
    }

    fn from_code(c: u8) -> Option<Lz4BlockSize> {
        Some(match c {
            4 => Lz4BlockSize::K64,
            5 => Lz4BlockSize::K256,
            6 => Lz4BlockSize::M1,
            7 => Lz4BlockSize::M4,
            _ => return None,
        })
    }
}

/// How an [`Encoder`](crate::Encoder) writes LZ4 frames. The default is what `lz4` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lz4FrameOptions {
    /// Most content per block.
    pub block_size: Lz4BlockSize,
    /// An xxHash32 after each block (`lz4 -BX`).
    pub block_checksum: bool,
    /// An xxHash32 of the whole content after the end mark (on in `lz4`; `--no-frame-crc`).
    pub content_checksum: bool,
}

impl Default for Lz4FrameOptions {
    fn default() -> Self {
        Lz4FrameOptions {
            block_size: Lz4BlockSize::M4,
            block_checksum: false,
            content_checksum: true,
        }
    }
}

fn xxh32(data: &[u8]) -> u32 {
    XxHash32::oneshot(0, data)
}

/// Writes one frame: the header at the first write, a block per `block_size` of input.
pub(super) struct FrameWriter {
    opts: Lz4FrameOptions,
    header_done: bool,
    pending: Vec<u8>,
    packed: Vec<u8>,
    hash: XxHash32,
}

impl FrameWriter {
    pub(super) fn new(opts: Lz4FrameOptions) -> FrameWriter {
        FrameWriter {
            opts,
            header_done: false,
            pending: Vec::new(),
            packed: Vec::new(),
            hash: XxHash32::with_seed(0),
        }
    }

    fn header(&mut self, w: &mut impl Write) -> io::Result<()> {
        if self.header_done {
            return Ok(());
        }
        // Version 01, independent blocks, then the optional parts.
        let mut flg = 0b0110_0000u8;
        if self.opts.block_checksum {
            flg |= 0x10;
        }
        if self.opts.content_checksum {
            flg |= 0x04;
        }
        let bd = self.opts.block_size.code() << 4;
        let hc = (xxh32(&[flg, bd]) >> 8) as u8;
        let mut h = LZ4F_MAGIC.to_le_bytes().to_vec();
        h.extend_from_slice(&[flg, bd, hc]);
        w.write_all(&h)?;
        self.header_done = true;
        Ok(())
    }

    /// Take what fits of `data` into the current block, writing the block once full.
    pub(super) fn write(
        &mut self,
        sess: &Session,
        w: &mut impl Write,
        data: &[u8],
    ) -> io::Result<usize> {
        let max = self.opts.block_size.bytes();
        if self.pending.is_empty() && data.len() >= max {
            // A whole block in hand: compress it where it is, without copying it.
            let block = &data[..max];
            if self.opts.content_checksum {
                self.hash.write(block);
            }
            self.header(w)?;
            Self::emit(&mut self.packed, self.opts.block_checksum, sess, w, block)?;
            return Ok(max);
        }
        if self.pending.capacity() < max {
            self.pending.reserve_exact(max - self.pending.len());
        }
        let n = data.len().min(max - self.pending.len());
        self.pending.extend_from_slice(&data[..n]);
        if self.opts.content_checksum {
            self.hash.write(&data[..n]);
        }
        if self.pending.len() == max {
            self.block(sess, w)?;
        }
        Ok(n)
    }

    fn block(&mut self, sess: &Session, w: &mut impl Write) -> io::Result<()> {
        self.header(w)?;
        if self.pending.is_empty() {
            return Ok(());
        }
        Self::emit(
            &mut self.packed,
            self.opts.block_checksum,
            sess,
            w,
            &self.pending,
        )?;
        self.pending.clear();
        Ok(())
    }

    /// Write one block of content `raw`, compressed into `packed` by the session.
    fn emit(
        packed: &mut Vec<u8>,
        block_checksum: bool,
        sess: &Session,
        w: &mut impl Write,
        raw: &[u8],
    ) -> io::Result<()> {
        // A compressed block must be smaller than its content, or it is stored raw.
        packed.resize(sess.compress_bound(raw.len()), 0);
        let stored = match sess.process(raw, packed) {
            Ok(n) if n < raw.len() => Some(n),
            Ok(_) | Err(Error::OutputTooSmall { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let (word, body) = match stored {
            Some(n) => (n as u32, &packed[..n]),
            None => (raw.len() as u32 | RAW_BLOCK, raw),
        };
        w.write_all(&word.to_le_bytes())?;
        w.write_all(body)?;
        if block_checksum {
            w.write_all(&xxh32(body).to_le_bytes())?;
        }
        Ok(())
    }

    /// The last block, the end mark and the content checksum.
    pub(super) fn finish(&mut self, sess: &Session, w: &mut impl Write) -> io::Result<()> {
        if !self.header_done {
            // All the content fits one block: state the smallest block size that holds
            // it, as `lz4` does (`LZ4F_optimalBSID`), so readers allocate no more.
            let n = self.pending.len();
            self.opts.block_size = [Lz4BlockSize::K64, Lz4BlockSize::K256, Lz4BlockSize::M1]
                .into_iter()
                .find(|b| b.bytes() >= n && *b < self.opts.block_size)
                .unwrap_or(self.opts.block_size);
        }
        self.block(sess, w)?;
        w.write_all(&0u32.to_le_bytes())?;
        if self.opts.content_checksum {
            w.write_all(&(self.hash.finish() as u32).to_le_bytes())?;
        }
        Ok(())
    }
}

/// Read exactly `buf.len()` bytes, or fail with `TruncatedInput`.
fn read_exact(r: &mut impl Read, buf: &mut [u8]) -> io::Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => Error::TruncatedInput.into(),
        _ => e,
    })
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    read_exact(r, &mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// Read up to `buf.len()` bytes; fewer only at the end of the input.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
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

fn corrupt(what: impl Into<String>) -> io::Error {
    Error::CorruptData(what.into()).into()
}

/// The frame being read.
struct Frame {
    max: usize,
    linked: bool,
    block_checksum: bool,
    content_checksum: bool,
    content_size: Option<u64>,
    seen: u64,
    hash: XxHash32,
}

enum State {
    /// Between frames: the next four bytes are a magic number, or the input ends.
    Between,
    /// Inside an LZ4 frame.
    InFrame(Frame),
    /// Inside a legacy frame, whose blocks run until a magic number or the end.
    Legacy,
    /// The input ended after whole frames.
    Done,
}

/// Reads the frames of an LZ4 file, one decoded block at a time.
pub(super) struct FrameReader {
    state: State,
    /// Decoded content not yet handed out: `out[pos..len]`.
    out: Vec<u8>,
    pos: usize,
    len: usize,
    /// The block as stored.
    packed: Vec<u8>,
    /// Linked blocks: the last 64 KiB of content before the block being decoded.
    dict: Vec<u8>,
    /// A magic number read while looking for the end of a legacy frame.
    next_magic: Option<u32>,
}

impl FrameReader {
    pub(super) fn new() -> FrameReader {
        FrameReader {
            state: State::Between,
            out: Vec::new(),
            pos: 0,
            len: 0,
            packed: Vec::new(),
            dict: Vec::new(),
            next_magic: None,
        }
    }

    /// Copy decoded content into `buf`, decoding blocks as needed; 0 at the end.
    pub(super) fn read(
        &mut self,
        sess: &Session,
        r: &mut impl Read,
        buf: &mut [u8],
    ) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.pos == self.len {
            if !self.step(sess, r)? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.len - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }

    /// Advance by one header or block; false once the input has ended.
    fn step(&mut self, sess: &Session, r: &mut impl Read) -> io::Result<bool> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Done => Ok(false),
            State::Between => {
                let magic = match self.next_magic.take() {
                    Some(m) => m,
                    None => {
                        let mut b = [0u8; 4];
                        match read_full(r, &mut b)? {
                            0 => return Ok(false),
                            4 => u32::from_le_bytes(b),
                            _ => return Err(Error::TruncatedInput.into()),
                        }
                    }
                };
                self.state = self.start(magic, r)?;
                Ok(true)
            }
            State::Legacy => {
                let mut b = [0u8; 4];
                let size = match read_full(r, &mut b)? {
                    0 => return Ok(false),
                    4 => u32::from_le_bytes(b),
                    _ => return Err(Error::TruncatedInput.into()),
                };
                if size as usize > lz4_flex::block::get_maximum_output_size(LEGACY_BLOCK) {
                    // Too big for a legacy block: the next frame's magic number.
                    self.next_magic = Some(size);
                    self.state = State::Between;
                    return Ok(true);
                }
                self.load(r, size as usize)?;
                self.decode(sess, LEGACY_BLOCK, false)?;
                self.state = State::Legacy;
                Ok(true)
            }
            State::InFrame(mut f) => {
                let word = read_u32(r)?;
                if word == 0 {
                    if f.content_checksum {
                        let want = read_u32(r)?;
                        if f.hash.finish() as u32 != want {
                            return Err(Error::ChecksumMismatch.into());
                        }
                    }
                    if let Some(n) = f.content_size.filter(|&n| n != f.seen) {
                        return Err(corrupt(format!(
                            "LZ4 frame holds {} bytes, its header says {n}",
                            f.seen
                        )));
                    }
                    self.state = State::Between;
                    return Ok(true);
                }
                let raw = word & RAW_BLOCK != 0;
                let size = (word & !RAW_BLOCK) as usize;
                if size > f.max {
                    return Err(corrupt(format!(
                        "LZ4 block of {size} bytes in a frame of {}-byte blocks",
                        f.max
                    )));
                }
                self.load(r, size)?;
                if f.block_checksum {
                    let want = read_u32(r)?;
                    if xxh32(&self.packed) != want {
                        return Err(Error::ChecksumMismatch.into());
                    }
                }
                if raw {
                    self.out.clear();
                    self.out.extend_from_slice(&self.packed);
                    (self.pos, self.len) = (0, self.out.len());
                } else {
                    self.decode(sess, f.max, f.linked)?;
                }
                let content = &self.out[..self.len];
                f.seen += content.len() as u64;
                if f.content_size.is_some_and(|n| f.seen > n) {
                    return Err(corrupt("LZ4 frame holds more than its header says"));
                }
                if f.content_checksum {
                    f.hash.write(content);
                }
                if f.linked {
                    self.dict.extend_from_slice(content);
                    let excess = self.dict.len().saturating_sub(LZ4_WINDOW);
                    self.dict.drain(..excess);
                }
                self.state = State::InFrame(f);
                Ok(true)
            }
        }
    }

    /// Read the header that follows `magic`; skip a skippable frame.
    fn start(&mut self, magic: u32, r: &mut impl Read) -> io::Result<State> {
        if skippable(magic) {
            let n = read_u32(r)? as u64;
            let skipped = io::copy(&mut r.take(n), &mut io::sink())?;
            if skipped < n {
                return Err(Error::TruncatedInput.into());
            }
            return Ok(State::Between);
        }
        if magic == LEGACY_MAGIC {
            return Ok(State::Legacy);
        }
        if magic != LZ4F_MAGIC {
            return Err(corrupt(format!(
                "not an LZ4 frame (magic {magic:#010x}); a raw LZ4 block (UADK's WD_LZ4) \
                 is read by a block request"
            )));
        }
        let mut d = [0u8; 2];
        read_exact(r, &mut d)?;
        let (flg, bd) = (d[0], d[1]);
        if flg >> 6 != 1 {
            return Err(corrupt(format!("LZ4 frame version {}", flg >> 6)));
        }
        if flg & 0x02 != 0 || bd & 0x8F != 0 {
            return Err(corrupt("reserved bits set in an LZ4 frame header"));
        }
        let size = Lz4BlockSize::from_code((bd >> 4) & 7)
            .ok_or_else(|| corrupt(format!("LZ4 block size code {}", (bd >> 4) & 7)))?;
        let mut desc = vec![flg, bd];
        let content_size = if flg & 0x08 != 0 {
            let mut b = [0u8; 8];
            read_exact(r, &mut b)?;
            desc.extend_from_slice(&b);
            Some(u64::from_le_bytes(b))
        } else {
            None
        };
        if flg & 0x01 != 0 {
            let mut b = [0u8; 4];
            read_exact(r, &mut b)?;
            return Err(corrupt(format!(
                "LZ4 frame needs dictionary {:#x}, which is not known here",
                u32::from_le_bytes(b)
            )));
        }
        let mut hc = [0u8; 1];
        read_exact(r, &mut hc)?;
        if (xxh32(&desc) >> 8) as u8 != hc[0] {
            return Err(corrupt("LZ4 frame header checksum does not match"));
        }
        self.dict.clear();
        Ok(State::InFrame(Frame {
            max: size.bytes(),
            linked: flg & 0x20 == 0,
            block_checksum: flg & 0x10 != 0,
            content_checksum: flg & 0x04 != 0,
            content_size,
            seen: 0,
            hash: XxHash32::with_seed(0),
        }))
    }

    fn load(&mut self, r: &mut impl Read, size: usize) -> io::Result<()> {
        self.packed.resize(size, 0);
        read_exact(r, &mut self.packed)
    }

    /// Decode the loaded block into `out`: through the session, or with the dictionary
    /// of the blocks before it.
    fn decode(&mut self, sess: &Session, max: usize, linked: bool) -> io::Result<()> {
        if self.out.len() < max {
            self.out.resize(max, 0);
        }
        let res = if linked && !self.dict.is_empty() {
            lz4_flex::block::decompress_into_with_dict(
                &self.packed,
                &mut self.out[..max],
                &self.dict,
            )
            .map_err(|e| match e {
                lz4_flex::block::DecompressError::OutputTooSmall { .. } => {
                    Error::OutputTooSmall { capacity: max }
                }
                e => Error::CorruptData(format!("lz4: {e}")),
            })
        } else {
            sess.process(&self.packed, &mut self.out[..max])
        };
        let n = match res {
            Ok(n) => n,
            Err(Error::OutputTooSmall { .. }) => {
                return Err(corrupt(format!(
                    "LZ4 block decodes to more than its frame's {max}-byte blocks"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        (self.pos, self.len) = (0, n);
        Ok(())
    }
}

/// Check that a session suits LZ4 frames.
pub(super) fn check_session(sess: &Session) -> Result<()> {
    if sess.params().alg != crate::req::Alg::Lz4 {
        return Err(Error::InvalidParam(format!(
            "LZ4 frames need an lz4 session, not {}",
            sess.params().alg
        )));
    }
    Ok(())
}
