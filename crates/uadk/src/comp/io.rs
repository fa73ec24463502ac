//! `std::io` adapters over sessions, in the style of flate2: a file's format as its tool
//! writes it. deflate, zlib, gzip and zstd run through stream sessions; lz4, a block-only
//! algorithm, is carried in LZ4 frames (the `lz4` tool's format, see [`lz4frame`]),
//! one block request per block.

use super::lz4frame::{self, FrameReader, FrameWriter, Lz4FrameOptions};
use super::{Alg, Comp, Level, OpType, Session, SessionSetup};
use crate::error::{Error, Result};
use std::io::{self, Read, Write};

const BUF: usize = 64 * 1024;

fn session_for(alg: Alg, op: OpType, level: Level) -> Result<Session> {
    Comp::global()?.session(&SessionSetup::new(alg, op).level(level))
}

/// Compresses everything written to it into `W`.
///
/// Call [`Encoder::finish`] to end the stream and get `W` back; dropping the encoder
/// finishes the stream too, ignoring errors. An lz4 session writes one LZ4 frame
/// ([`Encoder::lz4_frame`] for its options); a zstd session one zstd frame.
pub struct Encoder<W: Write> {
    sess: Session,
    inner: Option<W>,
    buf: Vec<u8>,
    frame: Option<FrameWriter>,
}

impl<W: Write> Encoder<W> {
    /// An encoder on the process-wide [`Comp`].
    pub fn new(inner: W, alg: Alg, level: Level) -> Result<Self> {
        Encoder::with_session(session_for(alg, OpType::Compress, level)?, inner)
    }

    /// An encoder over a compression session of your own.
    pub fn with_session(sess: Session, inner: W) -> Result<Self> {
        let frame = (sess.params().alg == Alg::Lz4).then(Lz4FrameOptions::default);
        Encoder::make(sess, inner, frame)
    }

    /// An encoder writing an LZ4 frame with these options, over an lz4 compression session.
    pub fn lz4_frame(sess: Session, inner: W, options: Lz4FrameOptions) -> Result<Self> {
        lz4frame::check_session(&sess)?;
        Encoder::make(sess, inner, Some(options))
    }

    fn make(sess: Session, inner: W, frame: Option<Lz4FrameOptions>) -> Result<Self> {
        if sess.params().op != OpType::Compress {
            return Err(Error::InvalidParam(
                "encoder needs a compression session".into(),
            ));
        }
        sess.reset();
        Ok(Encoder {
            sess,
            inner: Some(inner),
            buf: if frame.is_some() {
                Vec::new()
            } else {
                vec![0u8; BUF]
            },
            frame: frame.map(FrameWriter::new),
        })
    }

    /// The writer underneath.
    pub fn get_ref(&self) -> Option<&W> {
        self.inner.as_ref()
    }

    fn try_finish(&mut self) -> io::Result<()> {
        let Some(w) = self.inner.as_mut() else {
            return Ok(());
        };
        if let Some(f) = &mut self.frame {
            f.finish(&self.sess, w)?;
            return w.flush();
        }
        loop {
            let r = self.sess.stream(&[], &mut self.buf, true)?;
            w.write_all(&self.buf[..r.produced])?;
            if r.end {
                return w.flush();
            }
        }
    }

    /// End the stream, flush it, and return the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.try_finish()?;
        Ok(self.inner.take().expect("writer present until finish"))
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let Some(w) = self.inner.as_mut() else {
            return Err(io::Error::other("encoder already finished"));
        };
        if data.is_empty() {
            return Ok(0);
        }
        if let Some(f) = &mut self.frame {
            return f.write(&self.sess, w, data);
        }
        loop {
            let r = self.sess.stream(data, &mut self.buf, false)?;
            w.write_all(&self.buf[..r.produced])?;
            if r.consumed > 0 {
                return Ok(r.consumed);
            }
            if r.produced == 0 {
                return Err(io::Error::other("compressor made no progress"));
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.inner.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl<W: Write> Drop for Encoder<W> {
    fn drop(&mut self) {
        let _ = self.try_finish();
        // Finished: a drop after `finish` must not write the frame's end again.
        self.inner = None;
    }
}

/// Decompresses one stream read from `R`.
///
/// For zstd and lz4 a stream is every frame of the input, as their tools read a file:
/// frames one after another, skippable frames skipped; bytes after the last frame that
/// start no frame are an error. An lz4 session reads LZ4 frames (the `lz4` tool's
/// format), taking its fields straight from `R`: give it a buffered reader.
pub struct Decoder<R: Read> {
    sess: Session,
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    done: bool,
    frames: Option<FrameReader>,
}

impl<R: Read> Decoder<R> {
    /// A decoder on the process-wide [`Comp`].
    pub fn new(inner: R, alg: Alg) -> Result<Self> {
        Decoder::with_session(session_for(alg, OpType::Decompress, Level::L1)?, inner)
    }

    /// A decoder over a decompression session of your own.
    pub fn with_session(sess: Session, inner: R) -> Result<Self> {
        if sess.params().op != OpType::Decompress {
            return Err(Error::InvalidParam(
                "decoder needs a decompression session".into(),
            ));
        }
        sess.reset();
        let lz4 = sess.params().alg == Alg::Lz4;
        Ok(Decoder {
            sess,
            inner,
            buf: if lz4 { Vec::new() } else { vec![0u8; BUF] },
            pos: 0,
            len: 0,
            eof: false,
            done: false,
            frames: lz4.then(FrameReader::new),
        })
    }

    /// The reader underneath.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Bytes read from the reader but not used by the stream (data after its end).
    pub fn remaining(&self) -> &[u8] {
        &self.buf[self.pos..self.len]
    }

    /// The session and the reader, for the next stream (see [`Decoder::remaining`]).
    pub fn into_inner(self) -> (Session, R) {
        (self.sess, self.inner)
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() || self.done {
            return Ok(0);
        }
        if let Some(f) = &mut self.frames {
            return f.read(&self.sess, &mut self.inner, out);
        }
        loop {
            if self.pos == self.len && !self.eof {
                self.len = self.inner.read(&mut self.buf)?;
                self.pos = 0;
                self.eof = self.len == 0;
            }
            let r = self
                .sess
                .stream(&self.buf[self.pos..self.len], out, self.eof)?;
            self.pos += r.consumed;
            if r.end {
                self.done = true;
                return Ok(r.produced);
            }
            if r.produced > 0 {
                return Ok(r.produced);
            }
            if r.consumed == 0 {
                if self.eof {
                    return Err(Error::TruncatedInput.into());
                }
                if self.pos < self.len {
                    // Input and room were offered and nothing moved: never spin on it.
                    return Err(Error::CorruptData("decompressor made no progress".into()).into());
                }
            }
        }
    }
}
