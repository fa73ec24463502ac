//! zlib and gzip headers, which the driver writes and reads in software: the engine
//! handles the deflate body and the trailer.

use crate::req::{Alg, WindowSize};

/// Largest gzip header accepted (FEXTRA, FNAME and FCOMMENT included).
pub const MAX_HEADER: usize = 16 * 1024;

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

/// Parse the header of a zlib or gzip stream at the start of `b`.
pub fn parse_header(alg: Alg, b: &[u8]) -> Header {
    match alg {
        Alg::Zlib => {
            if b.len() < 2 {
                return Header::NeedMore;
            }
            let (cmf, flg) = (b[0], b[1]);
            if cmf & 0x0f != 8 {
                return Header::Invalid("zlib header: compression method is not deflate");
            }
            if cmf >> 4 > 7 {
                return Header::Invalid("zlib header: window larger than 32 KiB");
            }
            if !((cmf as u16) << 8 | flg as u16).is_multiple_of(31) {
                return Header::Invalid("zlib header: FCHECK mismatch");
            }
            if flg & 0x20 != 0 {
                return Header::Invalid("zlib header: preset dictionaries are not supported");
            }
            Header::Complete(2)
        }
        Alg::Gzip => parse_gzip(b),
        _ => Header::Complete(0),
    }
}

fn parse_gzip(b: &[u8]) -> Header {
    if b.len() >= 2 && (b[0] != 0x1f || b[1] != 0x8b) {
        return Header::Invalid("gzip header: bad magic");
    }
    if b.len() >= 3 && b[2] != 8 {
        return Header::Invalid("gzip header: compression method is not deflate");
    }
    if b.len() < 10 {
        return Header::NeedMore;
    }
    let flg = b[3];
    if flg & 0xe0 != 0 {
        return Header::Invalid("gzip header: reserved flags set");
    }
    let mut i = 10;
    if flg & 0x04 != 0 {
        if b.len() < i + 2 {
            return Header::NeedMore;
        }
        i += 2 + u16::from_le_bytes([b[i], b[i + 1]]) as usize;
    }
    for bit in [0x08, 0x10] {
        if flg & bit != 0 {
            match b.get(i..).and_then(|r| r.iter().position(|&c| c == 0)) {
                Some(p) => i += p + 1,
                None => return more_or_too_long(b),
            }
        }
    }
    if flg & 0x02 != 0 {
        i += 2;
    }
    if b.len() < i {
        return more_or_too_long(b);
    }
    Header::Complete(i)
}

fn more_or_too_long(b: &[u8]) -> Header {
    if b.len() >= MAX_HEADER {
        Header::Invalid("gzip header longer than 16 KiB")
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
            Header::Invalid(_)
        ));
    }

    #[test]
    fn gzip_optional_fields() {
        let mut h = vec![0x1f, 0x8b, 8, 0x1c, 0, 0, 0, 0, 0, 3];
        h.extend_from_slice(&[3, 0, b'a', b'b', b'c']); // FEXTRA
        h.extend_from_slice(b"name\0"); // FNAME
        h.extend_from_slice(b"comment\0"); // FCOMMENT
        for cut in 0..h.len() {
            assert_eq!(
                parse_header(Alg::Gzip, &h[..cut]),
                Header::NeedMore,
                "{cut}"
            );
        }
        assert_eq!(parse_header(Alg::Gzip, &h), Header::Complete(h.len()));
        assert!(matches!(
            parse_header(Alg::Gzip, &[0x1f, 0x8c]),
            Header::Invalid(_)
        ));
        let mut g = [0u8; 10];
        assert_eq!(write_header(Alg::Gzip, WindowSize::W32K, &mut g), 10);
        assert_eq!(parse_header(Alg::Gzip, &g), Header::Complete(10));
    }
}
