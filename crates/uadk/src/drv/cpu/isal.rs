//! A thin wrapper of our own over ISA-L's igzip (the system `libisal`).
//!
//! The stream and inflate structures and the level buffer are allocated once per wrapper
//! and reused by every call: ISA-L's state is large (hundreds of KiB) and zeroing it per
//! request would cost more than compressing a 4 KiB page.

use isal_sys::igzip_lib as isal;

/// Container around the deflate data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrapper {
    /// Raw deflate.
    Raw,
    /// zlib header and adler32 trailer.
    Zlib,
    /// gzip header and crc32/isize trailer.
    Gzip,
}

/// Errors from ISA-L.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsalError {
    /// Output buffer too small to hold the whole result.
    OutputTooSmall,
    /// Compressed input is malformed (ISA-L's return code).
    InvalidData(i32),
    /// Checksum in the trailer does not match.
    BadChecksum,
    /// Compressed input ended before the end of the stream.
    Truncated,
    /// ISA-L rejected the parameters (its return code).
    Param(i32),
}

// bindgen types some return codes u32 and others i32; ISA-L returns a C int.
const COMP_OK: i32 = isal::COMP_OK as i32;
const DECOMP_OK: i32 = isal::ISAL_DECOMP_OK as i32;
const END_INPUT: i32 = isal::ISAL_END_INPUT as i32;
const OUT_OVERFLOW: i32 = isal::ISAL_OUT_OVERFLOW as i32;

fn boxed_zeroed<T>() -> Box<T> {
    // SAFETY: only used for ISA-L's plain C structs (integers, pointers, arrays), for which
    // all-zero bytes are a valid value; ISA-L's init functions then set them up.
    unsafe { Box::<T>::new_zeroed().assume_init() }
}

fn len32(n: usize) -> Result<u32, IsalError> {
    u32::try_from(n).map_err(|_| IsalError::Param(isal::INVALID_PARAM))
}

/// Level-buffer size ISA-L recommends for a level.
fn level_buf_size(level: u32) -> usize {
    (match level {
        0 => 0,
        1 => isal::ISAL_DEF_LVL1_DEFAULT,
        2 => isal::ISAL_DEF_LVL2_DEFAULT,
        _ => isal::ISAL_DEF_LVL3_DEFAULT,
    }) as usize
}

/// The Huffman code ISA-L's level 0 writes; levels 1..3 build their own for each block
/// from its symbols, and ignore this.
pub enum Huffman {
    /// ISA-L's built-in dynamic code (trained on a general corpus), sent with every stream.
    Default,
    /// Deflate's fixed code (RFC 1951 3.2.6): no code table in the stream.
    Fixed,
    /// A code built from sample data ([`HuffTables::from_samples`]), sent with every stream.
    Custom(HuffTables),
}

/// A Huffman code for ISA-L's level 0, built from the symbol statistics of sample data.
pub struct HuffTables(Box<isal::isal_hufftables>);

impl HuffTables {
    /// A code for data like `samples`: ISA-L counts the literals, lengths and distances its
    /// match search finds in each sample, and codes every symbol (so any input can be
    /// written with it), shorter codes for those seen most. None if ISA-L refuses.
    pub fn from_samples<'a>(samples: impl IntoIterator<Item = &'a [u8]>) -> Option<HuffTables> {
        let mut hist: Box<isal::isal_huff_histogram> = boxed_zeroed();
        for s in samples {
            for part in s.chunks(1 << 30) {
                // SAFETY: `part` is a live buffer of the length passed (under 2^31); ISA-L
                // only reads it, and writes the histogram it is given.
                unsafe {
                    isal::isal_update_histogram(
                        part.as_ptr() as *mut u8,
                        part.len() as i32,
                        &mut *hist,
                    )
                };
            }
        }
        let mut t: Box<isal::isal_hufftables> = boxed_zeroed();
        // SAFETY: both structures are valid and exclusively borrowed.
        let rc = unsafe { isal::isal_create_hufftables(&mut *t, &mut *hist) };
        (rc == 0).then_some(HuffTables(t))
    }
}

/// Reusable ISA-L compressor.
pub struct IsalDeflate {
    stream: Box<isal::isal_zstream>,
    level_buf: Vec<u8>,
    level: u32,
    huffman: Huffman,
    /// zlib header bytes of the current stream not yet handed out (streams write their own
    /// header so that it can state the window and be split over tiny output buffers).
    hdr: [u8; 2],
    hdr_left: usize,
}

// SAFETY: the stream's pointers refer to the wrapper's own level buffer and Huffman table
// (heap blocks that move with it) or to caller buffers set and used within one call; nothing
// is shared between threads.
unsafe impl Send for IsalDeflate {}

impl IsalDeflate {
    /// A compressor at ISA-L level `level` (0..=3; higher values are clamped).
    pub fn new(level: u32) -> Self {
        let level = level.min(3);
        IsalDeflate {
            stream: boxed_zeroed(),
            level_buf: vec![0u8; level_buf_size(level)],
            level,
            huffman: Huffman::Default,
            hdr: [0; 2],
            hdr_left: 0,
        }
    }

    /// Level 0's Huffman code from the next stream on.
    pub fn set_huffman(&mut self, huffman: Huffman) {
        self.huffman = huffman;
    }

    /// Whether level 0 writes deflate's fixed code.
    pub fn huffman_is_fixed(&self) -> bool {
        matches!(self.huffman, Huffman::Fixed)
    }

    fn setup(
        &mut self,
        wrapper: Wrapper,
        hist_bits: u32,
        stateless: bool,
    ) -> Result<(), IsalError> {
        if hist_bits != 0 && !(9..=15).contains(&hist_bits) {
            return Err(IsalError::Param(isal::INVALID_PARAM));
        }
        let s = &mut *self.stream;
        // SAFETY: `s` is a valid, exclusively borrowed isal_zstream; init only writes to it.
        unsafe {
            if stateless {
                isal::isal_deflate_stateless_init(s)
            } else {
                isal::isal_deflate_init(s)
            }
        };
        s.level = self.level;
        let (table, kind) = match &mut self.huffman {
            Huffman::Default => (std::ptr::null_mut(), isal::IGZIP_HUFFTABLE_DEFAULT),
            Huffman::Fixed => (std::ptr::null_mut(), isal::IGZIP_HUFFTABLE_STATIC),
            Huffman::Custom(t) => (&mut *t.0 as *mut _, isal::IGZIP_HUFFTABLE_CUSTOM),
        };
        // SAFETY: a freshly initialised stream; a custom table is owned by self, boxed, and
        // outlives every call that uses it (ISA-L only reads it).
        let rc = unsafe { isal::isal_deflate_set_hufftables(s, table, kind as i32) };
        if rc != COMP_OK {
            return Err(IsalError::Param(rc));
        }
        s.level_buf_size = self.level_buf.len() as u32;
        s.level_buf = if self.level_buf.is_empty() {
            std::ptr::null_mut()
        } else {
            self.level_buf.as_mut_ptr()
        };
        s.gzip_flag = match (wrapper, stateless) {
            (Wrapper::Raw, _) => isal::IGZIP_DEFLATE,
            (Wrapper::Zlib, true) => isal::IGZIP_ZLIB,
            (Wrapper::Zlib, false) => isal::IGZIP_ZLIB_NO_HDR,
            (Wrapper::Gzip, _) => isal::IGZIP_GZIP,
        } as u16;
        s.hist_bits = hist_bits as u16;
        s.flush = isal::NO_FLUSH as u16;
        self.hdr_left = 0;
        if wrapper == Wrapper::Zlib && !stateless {
            self.hdr = [0x78, 0x01];
            set_zlib_cinfo(&mut self.hdr, if hist_bits == 0 { 15 } else { hist_bits });
            self.hdr_left = 2;
        }
        Ok(())
    }

    /// Start a new stream (see [`IsalDeflate::stream`]).
    pub fn stream_reset(&mut self, wrapper: Wrapper, hist_bits: u32) -> Result<(), IsalError> {
        self.setup(wrapper, hist_bits, false)
    }

    /// One call of a stream: consume some of `input`, write some output; `last` marks the
    /// end of the input, `sync` asks for everything consumed to be emitted (a sync flush).
    /// Returns (consumed, produced, stream finished). Works with output buffers of any
    /// size, down to one byte.
    pub fn stream(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        last: bool,
        sync: bool,
    ) -> Result<(usize, usize, bool), IsalError> {
        let avail_in = len32(input.len())?;
        let mut hdr_out = 0;
        while self.hdr_left > 0 && hdr_out < out.len() {
            out[hdr_out] = self.hdr[2 - self.hdr_left];
            self.hdr_left -= 1;
            hdr_out += 1;
        }
        let out = &mut out[hdr_out..];
        if self.hdr_left > 0 || out.is_empty() {
            return Ok((0, hdr_out, false));
        }
        let avail_out = len32(out.len())?;
        let s = &mut *self.stream;
        s.end_of_stream = last as u16;
        s.flush = if sync && !last {
            isal::SYNC_FLUSH
        } else {
            isal::NO_FLUSH
        } as u16;
        s.next_in = input.as_ptr() as *mut u8;
        s.avail_in = avail_in;
        s.next_out = out.as_mut_ptr();
        s.avail_out = avail_out;
        // SAFETY: the buffers are live and borrowed for this call; the level buffer is owned
        // by self and the stream is boxed, so ISA-L's saved state stays valid between calls.
        let rc = unsafe { isal::isal_deflate(s) };
        let consumed = input.len() - s.avail_in as usize;
        let produced = out.len() - s.avail_out as usize;
        let end = s.internal_state.state == isal::isal_zstate_state_ZSTATE_END;
        s.next_in = std::ptr::null_mut();
        s.next_out = std::ptr::null_mut();
        if rc != COMP_OK {
            return Err(IsalError::Param(rc));
        }
        Ok((consumed, produced + hdr_out, end))
    }

    /// ISA-L level in use.
    pub fn level(&self) -> u32 {
        self.level
    }

    /// Compress all of `input` into `out` as one complete stream.
    ///
    /// `hist_bits` is log2 of the longest match distance (9..=15; 0 means 32 KiB); for zlib
    /// the header's CINFO states it. Returns the bytes written; never writes past `out`.
    pub fn compress(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        wrapper: Wrapper,
        hist_bits: u32,
    ) -> Result<usize, IsalError> {
        let avail_in = len32(input.len())?;
        let avail_out = len32(out.len())?;
        self.setup(wrapper, hist_bits, true)?;
        let s = &mut *self.stream;
        s.end_of_stream = 1;
        // ISA-L only reads through next_in; the cast to *mut is what its C API asks for.
        s.next_in = input.as_ptr() as *mut u8;
        s.avail_in = avail_in;
        s.next_out = out.as_mut_ptr();
        s.avail_out = avail_out;
        // SAFETY: next_in/avail_in and next_out/avail_out describe live buffers borrowed for
        // this call; the level buffer is owned by self; ISA-L writes at most avail_out bytes.
        let rc = unsafe { isal::isal_deflate_stateless(s) };
        let produced = s.total_out as usize;
        // Leave no dangling pointers to the caller's buffers behind.
        s.next_in = std::ptr::null_mut();
        s.next_out = std::ptr::null_mut();
        match rc {
            COMP_OK => {
                if wrapper == Wrapper::Zlib && hist_bits != 0 {
                    set_zlib_cinfo(&mut out[..2], hist_bits);
                }
                Ok(produced)
            }
            isal::STATELESS_OVERFLOW => Err(IsalError::OutputTooSmall),
            rc => Err(IsalError::Param(rc)),
        }
    }
}

/// ISA-L always declares a 32 KiB window in the zlib header; state the real one (RFC 1950:
/// CINFO = log2(window) - 8, and FCHECK makes the 16-bit header a multiple of 31).
pub(crate) fn set_zlib_cinfo(hdr: &mut [u8], hist_bits: u32) {
    let cmf = (((hist_bits - 8) as u8) << 4) | 8;
    let flg_top = hdr[1] & 0xe0;
    let rem = ((cmf as u16) << 8 | flg_top as u16) % 31;
    hdr[0] = cmf;
    hdr[1] = flg_top | ((31 - rem) % 31) as u8;
}

/// Reusable ISA-L decompressor.
pub struct IsalInflate {
    state: Box<isal::inflate_state>,
}

// SAFETY: the state's pointers refer to caller buffers only during one call.
unsafe impl Send for IsalInflate {}

impl Default for IsalInflate {
    fn default() -> Self {
        IsalInflate::new()
    }
}

impl IsalInflate {
    /// A decompressor.
    pub fn new() -> Self {
        IsalInflate {
            state: boxed_zeroed(),
        }
    }

    /// Decompress one complete stream from `input` into `out`; returns (consumed, produced),
    /// where consumed ends with the stream (its trailer included): bytes after it are left.
    /// zlib and gzip checksums are verified; their headers are only skipped (ISA-L does not
    /// check a gzip header's reserved flags or CRC16, nor a zlib header's window): callers
    /// check those first.
    pub fn decompress(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        wrapper: Wrapper,
    ) -> Result<(usize, usize), IsalError> {
        let avail_in = len32(input.len())?;
        let avail_out = len32(out.len())?;
        let st = &mut *self.state;
        // SAFETY: `st` is a valid, exclusively borrowed inflate_state; init only writes to it.
        unsafe { isal::isal_inflate_init(st) };
        st.crc_flag = match wrapper {
            Wrapper::Raw => isal::ISAL_DEFLATE,
            Wrapper::Zlib => isal::ISAL_ZLIB,
            Wrapper::Gzip => isal::ISAL_GZIP,
        };
        st.next_in = input.as_ptr() as *mut u8;
        st.avail_in = avail_in;
        st.next_out = out.as_mut_ptr();
        st.avail_out = avail_out;
        // SAFETY: the buffers are live and borrowed for this call; ISA-L reads at most
        // avail_in bytes and writes at most avail_out bytes. The stateless call takes the
        // whole stream at once and hands back the input it read ahead but did not use.
        let rc = unsafe { isal::isal_inflate_stateless(st) };
        // Never more than it was given, whatever ISA-L's bookkeeping says: the fuzzers
        // saw `avail_in` and `avail_out` come back larger than the buffers on bad input.
        let consumed = input.len().saturating_sub(st.avail_in as usize);
        let produced = out.len().saturating_sub(st.avail_out as usize);
        st.next_in = std::ptr::null_mut();
        st.next_out = std::ptr::null_mut();
        match rc {
            DECOMP_OK => Ok((consumed, produced)),
            END_INPUT => Err(IsalError::Truncated),
            OUT_OVERFLOW => Err(IsalError::OutputTooSmall),
            isal::ISAL_INCORRECT_CHECKSUM => Err(IsalError::BadChecksum),
            rc => Err(IsalError::InvalidData(rc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn data(n: usize) -> Vec<u8> {
        let mut x = 12345u64;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 3 == 0 {
                    x as u8
                } else {
                    b"abcabd"[i % 6]
                }
            })
            .collect()
    }

    fn flate2_decode(w: Wrapper, z: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match w {
            Wrapper::Raw => flate2::read::DeflateDecoder::new(z).read_to_end(&mut out),
            Wrapper::Zlib => flate2::read::ZlibDecoder::new(z).read_to_end(&mut out),
            Wrapper::Gzip => flate2::read::GzDecoder::new(z).read_to_end(&mut out),
        }
        .unwrap();
        out
    }

    #[test]
    fn round_trips_through_flate2_and_back() {
        let mut c = IsalDeflate::new(1);
        let mut d = IsalInflate::new();
        for w in [Wrapper::Raw, Wrapper::Zlib, Wrapper::Gzip] {
            for input in [vec![], vec![9], vec![0; 100_000], data(300_000)] {
                let mut out = vec![0u8; input.len() + 1024];
                let n = c.compress(&input, &mut out, w, 0).unwrap();
                assert_eq!(flate2_decode(w, &out[..n]), input);
                let mut back = vec![0u8; input.len() + 1];
                let (used, m) = d.decompress(&out[..n], &mut back, w).unwrap();
                assert_eq!((used, &back[..m]), (n, &input[..]));
            }
        }
    }

    #[test]
    fn level_0_huffman_codes() {
        let pages: Vec<Vec<u8>> = (0..8).map(|k| data(4096 + k)).collect();
        let trained = HuffTables::from_samples(pages.iter().map(|p| &p[..])).unwrap();
        let mut sizes = Vec::new();
        for h in [Huffman::Default, Huffman::Fixed, Huffman::Custom(trained)] {
            let mut c = IsalDeflate::new(0);
            c.set_huffman(h);
            let mut total = 0;
            for p in &pages {
                let mut out = vec![0u8; 2 * p.len()];
                let n = c.compress(p, &mut out, Wrapper::Raw, 12).unwrap();
                assert_eq!(flate2_decode(Wrapper::Raw, &out[..n]), *p);
                // BFINAL, then BTYPE: 01 for the fixed code, 10 for a code in the stream.
                let btype = (out[0] >> 1) & 3;
                assert_eq!(btype, if c.huffman_is_fixed() { 1 } else { 2 });
                total += n;
            }
            sizes.push(total);
        }
        // A code built from these very pages beats ISA-L's general one on them.
        assert!(sizes[2] < sizes[0], "{sizes:?}");
    }

    #[test]
    fn errors() {
        let mut c = IsalDeflate::new(1);
        let mut d = IsalInflate::new();
        let input = data(50_000);
        assert_eq!(
            c.compress(&input, &mut [0u8; 10], Wrapper::Gzip, 0),
            Err(IsalError::OutputTooSmall)
        );
        let mut z = vec![0u8; 60_000];
        let n = c.compress(&input, &mut z, Wrapper::Gzip, 0).unwrap();
        let mut out = vec![0u8; 60_000];
        for cut in (0..n).step_by(97) {
            assert!(
                d.decompress(&z[..cut], &mut out, Wrapper::Gzip).is_err(),
                "cut {cut}"
            );
        }
        let mut bad = z[..n].to_vec();
        bad[n - 6] ^= 1;
        assert_eq!(
            d.decompress(&bad, &mut out, Wrapper::Gzip),
            Err(IsalError::BadChecksum)
        );
        assert_eq!(
            d.decompress(&z[..n], &mut out[..100], Wrapper::Gzip),
            Err(IsalError::OutputTooSmall)
        );
    }

    #[test]
    fn streams_with_tiny_buffers_match_flate2() {
        let input = data(100_000);
        let mut c = IsalDeflate::new(1);
        for w in [Wrapper::Raw, Wrapper::Zlib, Wrapper::Gzip] {
            for (ic, oc) in [(1usize, 1usize), (7, 3), (65536, 1), (100_000, 100_000)] {
                c.stream_reset(w, 13).unwrap();
                let (mut z, mut buf, mut i) = (Vec::new(), vec![0u8; oc], 0);
                loop {
                    let end = (i + ic).min(input.len());
                    let (used, made, done) = c
                        .stream(&input[i..end], &mut buf, end == input.len(), ic % 2 == 1)
                        .unwrap();
                    i += used;
                    z.extend_from_slice(&buf[..made]);
                    if done {
                        break;
                    }
                }
                assert_eq!(flate2_decode(w, &z), input, "{w:?} {ic}/{oc}");
                if w == Wrapper::Zlib {
                    assert_eq!(z[0] >> 4, 5);
                }
            }
        }
    }

    #[test]
    fn hist_bits_limits_distance_and_sets_cinfo() {
        let block = data(5000);
        let input: Vec<u8> = block.iter().cycle().take(1 << 20).copied().collect();
        let mut c = IsalDeflate::new(1);
        let mut z = vec![0u8; input.len() + 1024];
        let n = c.compress(&input, &mut z, Wrapper::Zlib, 12).unwrap();
        assert_eq!(z[0] >> 4, 4);
        let mut dec = flate2::Decompress::new_with_window_bits(true, 12);
        let mut out = vec![0u8; input.len()];
        dec.decompress(&z[..n], &mut out, flate2::FlushDecompress::Finish)
            .unwrap();
        assert_eq!(out, input);
    }
}
