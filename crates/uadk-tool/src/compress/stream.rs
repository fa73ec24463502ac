//! Stream helpers: a mapped input through stream calls, the stream adapters with their
//! buffers, gzip members one after another, the whole-input block request, the progress
//! bar and the byte counters around readers and writers.

use crate::common::{Error, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use uadk::{Alg, Comp, Decoder, Encoder, Lz4BlockSize, OpType, Session, SessionSetup};

/// Buffer size of the readers and writers around the stream adapters.
const IO_BUF: usize = 256 * 1024;
/// Inputs larger than this get a progress bar (when stderr is a terminal).
const PROGRESS_MIN: u64 = 8 << 20;
/// gzip's magic bytes, which start every member of a gzip file.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Output buffer of [`stream_direct`].
const DIRECT_BUF: usize = 1 << 20;

/// One whole input through stream calls, each output written at once; a gzip input may
/// hold several members. Returns the bytes written.
pub(super) fn stream_direct(sess: &Session, data: &[u8], out: &mut impl Write) -> Result<u64> {
    let mut buf = vec![0u8; DIRECT_BUF];
    let (mut i, mut total) = (0usize, 0u64);
    let gzip = sess.params().alg == Alg::Gzip;
    let decompress = sess.params().op == OpType::Decompress;
    sess.reset();
    loop {
        let r = sess.stream(&data[i..], &mut buf, true)?;
        i += r.consumed;
        out.write_all(&buf[..r.produced])?;
        total += r.produced as u64;
        if r.end {
            if !decompress || i == data.len() {
                return Ok(total);
            }
            if !gzip {
                return Err(Error::msg(format!(
                    "trailing data after the end of the {} stream",
                    sess.params().alg
                )));
            }
            if !data[i..].starts_with(&GZIP_MAGIC) {
                return Err(Error::msg("trailing garbage after the gzip data"));
            }
            // The next member: the session starts a new stream after an end.
            continue;
        }
        if r.consumed == 0 && r.produced == 0 {
            return Err(uadk::Error::TruncatedInput.into());
        }
    }
}

/// Drops the first `left` bytes written to it: what a parallel reader already wrote.
pub(super) struct Skip<W> {
    pub(super) inner: W,
    pub(super) left: u64,
}

impl<W: Write> Write for Skip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.left > 0 {
            let n = buf.len().min(self.left as usize);
            self.left -= n as u64;
            return Ok(n);
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Compress a stream through an [`Encoder`].
pub(super) fn encode_stream(
    sess: Session,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<()> {
    // LZ4 frames: reads of a whole 4 MiB block are compressed where they land, uncopied.
    let cap = if sess.params().alg == Alg::Lz4 {
        Lz4BlockSize::M4.bytes()
    } else {
        IO_BUF
    };
    let mut reader = BufReader::with_capacity(cap, input);
    let writer = BufWriter::with_capacity(IO_BUF, output);
    let mut enc = Encoder::with_session(sess, writer)?;
    io::copy(&mut reader, &mut enc)?;
    let writer = enc.finish()?;
    writer.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}

/// Compress a whole input in memory (a mapped file) through an [`Encoder`]: the encoder
/// reads it where it lies, so LZ4 blocks are compressed in the mapping, uncopied.
pub(super) fn encode_slice(sess: Session, data: &[u8], output: &mut impl Write) -> Result<()> {
    let writer = BufWriter::with_capacity(IO_BUF, output);
    let mut enc = Encoder::with_session(sess, writer)?;
    enc.write_all(data)?;
    let writer = enc.finish()?;
    writer.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}

/// Decompress a stream through [`Decoder`]s. A gzip file may hold several members
/// (as `cat a.gz b.gz` makes); each is decoded in turn. zstd and LZ4 decoders read every
/// frame of the file themselves. Anything else after the end of the stream is an error.
pub(super) fn decode_stream(
    comp: &Comp,
    setup: &SessionSetup,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<()> {
    let mut reader = BufReader::with_capacity(IO_BUF, input);
    let mut writer = BufWriter::with_capacity(IO_BUF, output);
    // Bytes read past the end of the previous member.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let sess = comp.session(setup)?;
        let mut chained = io::Cursor::new(std::mem::take(&mut carry)).chain(&mut reader);
        {
            let mut dec = Decoder::with_session(sess, &mut chained)?;
            io::copy(&mut dec, &mut writer)?;
            carry = dec.remaining().to_vec();
        }
        let (cursor, _) = chained.into_inner();
        let unread = &cursor.get_ref()[(cursor.position() as usize).min(cursor.get_ref().len())..];
        carry.extend_from_slice(unread);
        while carry.len() < GZIP_MAGIC.len() {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let n = (GZIP_MAGIC.len() - carry.len()).min(buf.len());
            carry.extend_from_slice(&buf[..n]);
            reader.consume(n);
        }
        if carry.is_empty() {
            break;
        }
        if setup.alg != Alg::Gzip {
            return Err(Error::msg(format!(
                "trailing data after the end of the {} stream",
                setup.alg
            )));
        }
        if !carry.starts_with(&GZIP_MAGIC) {
            return Err(Error::msg("trailing garbage after the gzip data"));
        }
    }
    writer.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}

/// One block request over the whole input (the raw LZ4 block, which UADK serves in block
/// mode only), its result at most `limit` bytes.
pub(super) fn block_all(
    sess: &Session,
    input: &mut impl Read,
    output: &mut impl Write,
    limit: usize,
) -> Result<()> {
    let mut data = Vec::new();
    input.read_to_end(&mut data)?;
    let out = sess.process_to_vec_limited(&data, limit)?;
    output.write_all(&out)?;
    Ok(())
}

/// A progress bar on stderr, for inputs large enough to be worth one.
pub(super) fn progress_bar(size: Option<u64>, name: &str) -> Option<ProgressBar> {
    let size = size.filter(|&s| s > PROGRESS_MIN)?;
    if !io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(name.to_string());
    Some(pb)
}

/// Counts bytes passing through, and names the file in I/O errors.
pub(super) struct Counted<T> {
    inner: T,
    pub(super) count: u64,
    name: String,
}

impl<T> Counted<T> {
    pub(super) fn new(inner: T, name: String) -> Self {
        Counted {
            inner,
            count: 0,
            name,
        }
    }

    fn wrap(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: {e}", self.name))
    }
}

impl<T: Read> Read for Counted<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).map_err(|e| self.wrap(e))?;
        self.count += n as u64;
        Ok(n)
    }
}

impl<T: Write> Write for Counted<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf).map_err(|e| self.wrap(e))?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.wrap(e))
    }
}
