//! zlib and gzip headers, read as zlib reads them: the hisi_zip driver writes and reads
//! them in software (its engine handles the deflate body and the trailer), and the CPU
//! engine checks them before ISA-L, which only skips them.
//!
//! Headers are read by [`HeaderReader`] as bytes arrive, in constant memory, so a gzip
//! header of any size RFC 1952 allows (a 65,535-byte FEXTRA, names and comments of any
//! length) decodes, and its CRC16 (FHCRC) is checked, as zlib checks them.

use crate::req::{Alg, WindowSize};

/// The header the driver writes before a stream of `alg` (empty for raw deflate).
///
/// zlib: CINFO states the window (UADK writes a fixed `78 9c`; we say what the stream
/// really needs), FLEVEL 0 (fastest) and the FCHECK bits. gzip: the minimal 10-byte header.
pub fn write_header(alg: Alg, window: WindowSize, out: &mut [u8; 10]) -> usize {
    match alg {
        Alg::Zlib => {
            let bits: u8 = match window {
                WindowSize::W4K => 12,
                WindowSize::W8K => 13,
                WindowSize::W16K | WindowSize::W24K => 14,
                WindowSize::W32K => 15,
            };
            let cmf = ((bits - 8) << 4) | 8;
            let mut flg = 0u8;
            let rem = ((cmf as u16) << 8 | flg as u16) % 31;
            if rem != 0 {
                flg += (31 - rem) as u8;
            }
            out[0] = cmf;
            out[1] = flg;
            2
        }
        Alg::Gzip => {
            *out = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03];
            10
        }
        _ => 0,
    }
}

/// The final empty stored block a stream is ended with when no input is left for the
/// engine (UADK's `append_store_block` writes the same five bytes).
pub const EMPTY_FINAL_BLOCK: [u8; 5] = [0x01, 0x00, 0x00, 0xff, 0xff];

/// The trailer of a stream of `alg` after the input the engine saw: its checksum word
/// (DW31) and ISIZE (DW30) from the last completion, or the values of no input at all
/// when `fresh`. Returns the bytes and how many of them are used.
pub fn trailer(alg: Alg, word: u32, isize: u32, fresh: bool) -> ([u8; 8], usize) {
    let mut t = [0u8; 8];
    match alg {
        Alg::Zlib => {
            let adler = if fresh { 1 } else { word };
            t[..4].copy_from_slice(&adler.to_be_bytes());
            (t, 4)
        }
        Alg::Gzip => {
            let crc = if fresh {
                0
            } else {
                crate::hw::zip::gzip_word_to_crc(word)
            };
            t[..4].copy_from_slice(&crc.to_le_bytes());
            t[4..].copy_from_slice(&(if fresh { 0 } else { isize }).to_le_bytes());
            (t, 8)
        }
        _ => (t, 0),
    }
}

/// What parsing a header found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// A complete header of this many bytes.
    Complete(usize),
    /// The bytes so far are a valid start; more are needed.
    NeedMore,
    /// Not a valid header.
    Invalid(&'static str),
}

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// Where a header read stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The fixed part: 2 bytes (zlib) or 10 bytes (gzip).
    Fixed,
    /// FEXTRA's two length bytes.
    ExtraLen,
    /// FEXTRA's data: this many bytes left.
    Extra(u32),
    /// FNAME, up to its NUL.
    Name,
    /// FCOMMENT, up to its NUL.
    Comment,
    /// FHCRC's two bytes.
    Crc,
    Done,
}

/// A zlib or gzip header read incrementally: [`HeaderReader::feed`] takes the bytes of a
/// stream as they come and says where the header ends.
#[derive(Debug, Clone)]
pub struct HeaderReader {
    alg: Alg,
    part: Part,
    /// Bytes of the current part kept (the fixed part, FEXTRA's length, the CRC16).
    buf: [u8; 10],
    have: usize,
    flags: u8,
    /// CRC-32 of the header bytes before FHCRC.
    crc: crc32fast::Hasher,
}

impl HeaderReader {
    /// A reader for the header of a stream of `alg` (raw deflate has none).
    pub fn new(alg: Alg) -> HeaderReader {
        HeaderReader {
            alg,
            part: if matches!(alg, Alg::Zlib | Alg::Gzip) {
                Part::Fixed
            } else {
                Part::Done
            },
            buf: [0; 10],
            have: 0,
            flags: 0,
            crc: crc32fast::Hasher::new(),
        }
    }

    /// Start over for a new stream.
    pub fn reset(&mut self) {
        *self = HeaderReader::new(self.alg);
    }

    /// Whether the whole header has been read.
    pub fn done(&self) -> bool {
        self.part == Part::Done
    }

    /// Read header bytes from the start of `b`: `Complete(n)` when the header ends after
    /// the first `n` bytes of `b`, `NeedMore` when all of `b` belongs to it.
    pub fn feed(&mut self, b: &[u8]) -> Header {
        let mut i = 0;
        while self.part != Part::Done {
            if i == b.len() {
                return Header::NeedMore;
            }
            let part = self.part;
            let taken = match part {
                Part::Fixed | Part::ExtraLen | Part::Crc => {
                    let want = match part {
                        Part::Fixed if self.alg == Alg::Zlib => 2,
                        Part::Fixed => 10,
                        _ => 2,
                    };
                    let n = (want - self.have).min(b.len() - i);
                    self.buf[self.have..self.have + n].copy_from_slice(&b[i..i + n]);
                    self.have += n;
                    if part == Part::Fixed {
                        if let Some(m) = self.check_fixed() {
                            return Header::Invalid(m);
                        }
                    }
                    if self.have == want {
                        if let Err(m) = self.end_of(part) {
                            return Header::Invalid(m);
                        }
                    }
                    n
                }
                Part::Extra(left) => {
                    let n = (left as usize).min(b.len() - i);
                    self.part = match left as usize - n {
                        0 => self.after(FEXTRA),
                        rest => Part::Extra(rest as u32),
                    };
                    n
                }
                Part::Name | Part::Comment => match b[i..].iter().position(|&c| c == 0) {
                    Some(p) => {
                        self.part = self.after(if part == Part::Name { FNAME } else { FCOMMENT });
                        p + 1
                    }
                    None => b.len() - i,
                },
                Part::Done => 0,
            };
            if part != Part::Crc {
                self.crc.update(&b[i..i + taken]);
            }
            i += taken;
        }
        Header::Complete(i)
    }

    /// Checks that can be made on a partial fixed part (as early as zlib makes them).
    fn check_fixed(&self) -> Option<&'static str> {
        let h = &self.buf[..self.have];
        if self.alg == Alg::Zlib {
            return None;
        }
        if h.len() >= 2 && (h[0] != 0x1f || h[1] != 0x8b) {
            return Some("gzip header: bad magic");
        }
        if h.len() >= 3 && h[2] != 8 {
            return Some("gzip header: compression method is not deflate");
        }
        if h.len() >= 4 && h[3] & 0xe0 != 0 {
            return Some("gzip header: reserved flags set");
        }
        None
    }

    /// A part is complete: check it and go on.
    fn end_of(&mut self, part: Part) -> Result<(), &'static str> {
        let h = self.buf;
        self.have = 0;
        match part {
            Part::Fixed if self.alg == Alg::Zlib => {
                let (cmf, flg) = (h[0], h[1]);
                if !((cmf as u16) << 8 | flg as u16).is_multiple_of(31) {
                    return Err("zlib header: FCHECK mismatch");
                }
                if cmf & 0x0f != 8 {
                    return Err("zlib header: compression method is not deflate");
                }
                if cmf >> 4 > 7 {
                    return Err("zlib header: window larger than 32 KiB");
                }
                if flg & 0x20 != 0 {
                    return Err("zlib header: a preset dictionary (FDICT) is not supported");
                }
                self.part = Part::Done;
            }
            Part::Fixed => {
                self.flags = h[3];
                self.part = self.after(0);
            }
            Part::ExtraLen => {
                let len = u16::from_le_bytes([h[0], h[1]]) as u32;
                self.part = if len == 0 {
                    self.after(FEXTRA)
                } else {
                    Part::Extra(len)
                };
            }
            Part::Crc => {
                let want = (self.crc.clone().finalize() & 0xffff) as u16;
                if u16::from_le_bytes([h[0], h[1]]) != want {
                    return Err("gzip header: header CRC16 (FHCRC) mismatch");
                }
                self.part = Part::Done;
            }
            _ => {}
        }
        Ok(())
    }

    /// The part after the optional field `field` (0: after the fixed part).
    fn after(&self, field: u8) -> Part {
        let f = self.flags;
        if field < FEXTRA && f & FEXTRA != 0 {
            Part::ExtraLen
        } else if field < FNAME && f & FNAME != 0 {
            Part::Name
        } else if field < FCOMMENT && f & FCOMMENT != 0 {
            Part::Comment
        } else if f & FHCRC != 0 {
            Part::Crc
        } else {
            Part::Done
        }
    }
}

/// Parse the header of a zlib or gzip stream at the start of `b` (in one piece).
pub fn parse_header(alg: Alg, b: &[u8]) -> Header {
    HeaderReader::new(alg).feed(b)
}

/// Parse the header of a stream given in pieces (an SGL): `Complete(n)` counts from the
/// start of the first piece.
pub fn parse_header_in<'a>(alg: Alg, pieces: impl IntoIterator<Item = &'a [u8]>) -> Header {
    let mut r = HeaderReader::new(alg);
    let mut before = 0;
    for p in pieces {
        match r.feed(p) {
            Header::Complete(n) => return Header::Complete(before + n),
            Header::NeedMore => before += p.len(),
            bad => return bad,
        }
    }
    if r.done() {
        Header::Complete(before)
    } else {
        Header::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zlib_headers_are_valid_and_state_the_window() {
        for (w, cinfo) in [
            (WindowSize::W4K, 4),
            (WindowSize::W8K, 5),
            (WindowSize::W16K, 6),
            (WindowSize::W24K, 6),
            (WindowSize::W32K, 7),
        ] {
            let mut h = [0u8; 10];
            assert_eq!(write_header(Alg::Zlib, w, &mut h), 2);
            assert_eq!(h[0] >> 4, cinfo);
            assert_eq!(parse_header(Alg::Zlib, &h[..2]), Header::Complete(2));
        }
        assert_eq!(parse_header(Alg::Zlib, &[0x78]), Header::NeedMore);
        assert!(matches!(
            parse_header(Alg::Zlib, &[0x78, 0x9d]),
            Header::Invalid(_)
        ));
        assert!(matches!(
            parse_header(Alg::Zlib, &[0x78, 0xbb]),
            Header::Invalid(m) if m.contains("preset dictionary")
        ));
    }

    fn gzip(flags: u8, extra: &[u8], name: &[u8], comment: &[u8], crc: Option<u16>) -> Vec<u8> {
        let mut h = vec![0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3];
        if flags & FEXTRA != 0 {
            h.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            h.extend_from_slice(extra);
        }
        for (bit, s) in [(FNAME, name), (FCOMMENT, comment)] {
            if flags & bit != 0 {
                h.extend_from_slice(s);
                h.push(0);
            }
        }
        if flags & FHCRC != 0 {
            let c = crc.unwrap_or((crc32fast::hash(&h) & 0xffff) as u16);
            h.extend_from_slice(&c.to_le_bytes());
        }
        h
    }

    #[test]
    fn gzip_optional_fields_in_any_pieces() {
        let h = gzip(0x1e, b"abc", b"name", b"comment", None);
        for cut in 0..h.len() {
            assert_eq!(
                parse_header(Alg::Gzip, &h[..cut]),
                Header::NeedMore,
                "{cut}"
            );
            assert_eq!(
                parse_header_in(Alg::Gzip, [&h[..cut], &h[cut..]]),
                Header::Complete(h.len()),
                "{cut}"
            );
        }
        let mut more = h.clone();
        more.extend_from_slice(b"deflate body");
        assert_eq!(parse_header(Alg::Gzip, &more), Header::Complete(h.len()));
        let one_by_one: Vec<&[u8]> = more.chunks(1).collect();
        assert_eq!(
            parse_header_in(Alg::Gzip, one_by_one),
            Header::Complete(h.len())
        );
        assert!(matches!(
            parse_header(Alg::Gzip, &[0x1f, 0x8c]),
            Header::Invalid(_)
        ));
        let mut g = [0u8; 10];
        assert_eq!(write_header(Alg::Gzip, WindowSize::W32K, &mut g), 10);
        assert_eq!(parse_header(Alg::Gzip, &g), Header::Complete(10));
    }

    #[test]
    fn gzip_headers_of_any_legal_size() {
        // The largest FEXTRA, and a name far beyond the old 16 KiB limit.
        let h = gzip(0x0e, &vec![7u8; 65_535], &vec![b'n'; 100_000], b"", None);
        assert_eq!(parse_header(Alg::Gzip, &h), Header::Complete(h.len()));
        let pieces: Vec<&[u8]> = h.chunks(4096).collect();
        assert_eq!(
            parse_header_in(Alg::Gzip, pieces),
            Header::Complete(h.len())
        );
    }

    #[test]
    fn gzip_header_crc_is_checked() {
        let good = gzip(0x1e, b"x", b"n", b"c", None);
        assert_eq!(parse_header(Alg::Gzip, &good), Header::Complete(good.len()));
        let right = u16::from_le_bytes([good[good.len() - 2], good[good.len() - 1]]);
        let bad = gzip(0x1e, b"x", b"n", b"c", Some(right ^ 1));
        assert!(matches!(
            parse_header(Alg::Gzip, &bad),
            Header::Invalid(m) if m.contains("FHCRC")
        ));
        let bare = gzip(FHCRC, b"", b"", b"", Some(0x1234));
        assert!(matches!(parse_header(Alg::Gzip, &bare), Header::Invalid(_)));
        assert!(matches!(
            parse_header(Alg::Gzip, &gzip(0x20, b"", b"", b"", None)),
            Header::Invalid(_)
        ));
    }
}
