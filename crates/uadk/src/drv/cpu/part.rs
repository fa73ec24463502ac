//! Parts of one deflate stream: raw deflate pieces compressed and decompressed
//! independently (in parallel, `uadk_tool compress -T`) that, joined in order, are one
//! standard stream.
//!
//! A part other than the last holds only non-final blocks and ends byte-aligned after an
//! empty stored block (a full flush); none of its matches reaches before its own start.
//! The last part is an ordinary raw deflate stream. So any inflater reads the joined parts
//! as one stream, and each part can be inflated alone.
//!
//! Level 1 parts come from ISA-L's stateful deflate with a sync flush, and small windows
//! from zlib-rs with a full flush: both make such parts themselves. libdeflate (levels
//! 2..12, the 32 KiB window) always ends its output with a final block, so its part is
//! walked with zlib-rs's inflate, which stops at each block boundary (`Z_BLOCK`) and says
//! where it stands in bits (`data_type`): the final block's BFINAL bit is cleared and the
//! empty stored block appended, as zlib's `gzjoin` example joins streams.

use crate::error::{Error, Result};
use libz_rs_sys as z;
use std::ffi::c_int;

/// zlib-rs raw inflate through its zlib API (`libz-rs-sys`, no symbols exported), which
/// reports block boundaries.
pub(crate) struct RawInflate {
    // Boxed: the state points back at its stream, which must not move after init.
    strm: Box<z::z_stream>,
}

// SAFETY: the stream's pointers refer to its own state, or to caller buffers only during
// one call; it is used by one thread at a time (`&mut self`).
unsafe impl Send for RawInflate {}

/// Where a call left the stream.
struct Step {
    rc: c_int,
    consumed: usize,
    produced: usize,
    /// zlib's `data_type`: bits left unused in the input, +64 in the last block, +128 at
    /// a block boundary.
    data_type: c_int,
}

impl RawInflate {
    pub(crate) fn new() -> Result<RawInflate> {
        let mut strm = Box::new(z::z_stream::default());
        // SAFETY: a default z_stream (no allocator set, zlib-rs picks its own) is what
        // inflateInit2_ takes; the version and size are this library's own.
        let rc = unsafe {
            z::inflateInit2_(
                &mut *strm,
                -15,
                z::zlibVersion(),
                std::mem::size_of::<z::z_stream>() as c_int,
            )
        };
        if rc != z::Z_OK {
            return Err(Error::Io(format!("zlib-rs inflateInit2 failed ({rc})")));
        }
        Ok(RawInflate { strm })
    }

    fn reset(&mut self) {
        // SAFETY: the stream was initialised in `new` and is not moved.
        unsafe { z::inflateReset(&mut *self.strm) };
    }

    fn step(&mut self, input: &[u8], out: &mut [u8], flush: c_int) -> Step {
        let s = &mut *self.strm;
        // Counts past u32 are offered over several calls by the callers' loops.
        let avail_in = input.len().min(u32::MAX as usize);
        let avail_out = out.len().min(u32::MAX as usize);
        s.next_in = input.as_ptr();
        s.avail_in = avail_in as u32;
        s.next_out = out.as_mut_ptr();
        s.avail_out = avail_out as u32;
        // SAFETY: next_in/avail_in and next_out/avail_out describe live buffers borrowed
        // for this call; zlib-rs reads and writes only within them.
        let rc = unsafe { z::inflate(s, flush) };
        let step = Step {
            rc,
            consumed: avail_in - s.avail_in as usize,
            produced: avail_out - s.avail_out as usize,
            data_type: s.data_type,
        };
        s.next_in = std::ptr::null();
        s.avail_in = 0;
        s.next_out = std::ptr::null_mut();
        s.avail_out = 0;
        step
    }

    fn message(&self) -> String {
        if self.strm.msg.is_null() {
            return "invalid deflate data".into();
        }
        // SAFETY: zlib-rs sets msg to a static NUL-terminated string.
        unsafe { std::ffi::CStr::from_ptr(self.strm.msg) }
            .to_string_lossy()
            .into_owned()
    }

    /// Bit positions in `data`, one raw deflate stream, of its final block's header and
    /// of its end. `scratch` takes the output, which is not kept.
    pub(crate) fn final_block(&mut self, data: &[u8], scratch: &mut [u8]) -> Result<(u64, u64)> {
        self.reset();
        let (mut pos, mut start, mut end) = (0usize, 0u64, None);
        loop {
            let st = self.step(&data[pos..], scratch, z::Z_BLOCK);
            pos += st.consumed;
            match st.rc {
                z::Z_STREAM_END => break,
                z::Z_OK | z::Z_BUF_ERROR if st.consumed > 0 || st.produced > 0 => {}
                _ => {
                    return Err(Error::Io(format!(
                        "walking a deflate part failed ({})",
                        st.rc
                    )))
                }
            }
            let dt = st.data_type;
            if dt & 128 != 0 {
                // Between blocks: the next one starts here, or (after the last block,
                // before its padding is dropped) the stream ends here.
                let bit = pos as u64 * 8 - (dt & 63) as u64;
                if dt & 64 == 0 {
                    start = bit;
                } else {
                    end = Some(bit);
                }
            }
        }
        end.map(|e| (start, e))
            .ok_or_else(|| Error::Io("walking a deflate part: no end seen".into()))
    }

    /// Inflate one part that is not the last: all of `input`, which must end at a block
    /// boundary on a byte with no final block seen. Returns the bytes written.
    pub(crate) fn inflate_part(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        self.reset();
        let (mut i, mut o) = (0usize, 0usize);
        loop {
            // Z_BLOCK: each return between blocks says so (`data_type` 128).
            let st = self.step(&input[i..], &mut out[o..], z::Z_BLOCK);
            i += st.consumed;
            o += st.produced;
            match st.rc {
                z::Z_STREAM_END => {
                    return Err(Error::CorruptData(
                        "a final block inside a part that is not the last".into(),
                    ))
                }
                z::Z_OK | z::Z_BUF_ERROR => {}
                z::Z_DATA_ERROR => {
                    return Err(Error::CorruptData(self.message()));
                }
                rc => return Err(Error::Io(format!("zlib-rs inflate failed ({rc})"))),
            }
            if i == input.len() {
                // Every input byte taken: the part must stop cleanly between blocks.
                let dt = st.data_type;
                if dt & 128 == 0 || dt & 63 != 0 || dt & 64 != 0 {
                    return Err(Error::CorruptData(
                        "a part that does not end at a block boundary on a byte".into(),
                    ));
                }
                return Ok(o);
            }
            // A full output is not yet too small: the part's last block may end, and its
            // empty stored block follow, with no byte more to write.
            if st.consumed == 0 && st.produced == 0 {
                if o == out.len() {
                    return Err(Error::OutputTooSmall {
                        capacity: out.len(),
                    });
                }
                return Err(Error::CorruptData("inflate made no progress".into()));
            }
        }
    }
}

impl Drop for RawInflate {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, ended once.
        unsafe { z::inflateEnd(&mut *self.strm) };
    }
}

/// Turn `out[..n]`, a complete raw deflate stream whose final block starts at bit
/// `final_bit` and which ends at bit `end_bit`, into a non-final part: clear BFINAL and
/// append an empty stored block. Returns the new length; `out` must have 6 bytes spare.
pub(crate) fn seal(out: &mut [u8], n: usize, final_bit: u64, end_bit: u64) -> Result<usize> {
    if end_bit > n as u64 * 8 || final_bit >= end_bit || out.len() < n + 6 {
        return Err(Error::OutputTooSmall {
            capacity: out.len(),
        });
    }
    let byte = (final_bit / 8) as usize;
    out[byte] &= !(1u8 << (final_bit % 8));
    // The stored block's 3 header bits (0: not final, 00: stored) follow the last block
    // in the padding bits, which are zero, or in a new zero byte; then LEN 0, NLEN !0.
    let mut len = end_bit.div_ceil(8) as usize;
    let used = (end_bit % 8) as u32;
    if used == 0 || used > 5 {
        out[len] = 0;
        len += 1;
    }
    out[len..len + 4].copy_from_slice(&[0, 0, 0xff, 0xff]);
    Ok(len + 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn data(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 5 == 0 {
                    x as u8
                } else {
                    b"the quick brown fox "[(i / 3) % 20]
                }
            })
            .collect()
    }

    fn ld(level: i32, input: &[u8]) -> Vec<u8> {
        let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level).unwrap());
        let mut out = vec![0u8; c.deflate_compress_bound(input.len()) + 6];
        let n = c.deflate_compress(input, &mut out).unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn sealed_parts_join_into_one_stream() {
        let mut inf = RawInflate::new().unwrap();
        let mut scratch = vec![0u8; 1 << 20];
        for level in [2, 6, 12] {
            for sizes in [&[0usize, 1, 7][..], &[100_000, 3, 250_000], &[1, 1, 1]] {
                let pieces: Vec<Vec<u8>> = sizes
                    .iter()
                    .enumerate()
                    .map(|(k, &n)| data(n, k as u64 + 7))
                    .collect();
                let mut joined = Vec::new();
                for (k, p) in pieces.iter().enumerate() {
                    let mut z = ld(level, p);
                    if k + 1 < pieces.len() {
                        let n = z.len();
                        z.resize(n + 6, 0);
                        let (f, e) = inf.final_block(&z[..n], &mut scratch).unwrap();
                        let m = seal(&mut z, n, f, e).unwrap();
                        z.truncate(m);
                        // Alone, the part inflates to its piece and ends cleanly, into
                        // room to spare or exactly its size (the empty stored block after
                        // the last byte needs no room).
                        for room in [p.len() + 1, p.len()] {
                            let mut back = vec![0u8; room];
                            let got = inf.inflate_part(&z, &mut back).unwrap();
                            assert_eq!(&back[..got], &p[..], "room {room}");
                        }
                        if !p.is_empty() {
                            let mut back = vec![0u8; p.len() - 1];
                            assert!(matches!(
                                inf.inflate_part(&z, &mut back),
                                Err(Error::OutputTooSmall { .. })
                            ));
                        }
                    }
                    joined.extend_from_slice(&z);
                }
                let mut out = Vec::new();
                flate2::read::DeflateDecoder::new(&joined[..])
                    .read_to_end(&mut out)
                    .unwrap();
                assert_eq!(out, pieces.concat(), "L{level} {sizes:?}");
            }
        }
    }

    #[test]
    fn part_faults_are_errors() {
        let mut inf = RawInflate::new().unwrap();
        let p = data(50_000, 3);
        // A complete stream (final block) is not a middle part.
        let whole = ld(6, &p);
        let mut out = vec![0u8; 60_000];
        assert!(matches!(
            inf.inflate_part(&whole, &mut out),
            Err(Error::CorruptData(_))
        ));
        // Cut short: not at a block boundary.
        let mut z = whole.clone();
        let n = z.len();
        z.resize(n + 6, 0);
        let mut scratch = vec![0u8; 1 << 16];
        let (f, e) = inf.final_block(&z[..n], &mut scratch).unwrap();
        let m = seal(&mut z, n, f, e).unwrap();
        assert!(inf.inflate_part(&z[..m - 3], &mut out).is_err());
        assert!(inf.inflate_part(&z[..m / 2], &mut out).is_err());
        // Too little room.
        assert!(matches!(
            inf.inflate_part(&z[..m], &mut out[..1000]),
            Err(Error::OutputTooSmall { .. })
        ));
        // Garbage.
        assert!(inf.inflate_part(&[0xff; 64], &mut out).is_err());
        assert!(inf.final_block(&[0xff; 64], &mut scratch).is_err());
        assert_eq!(inf.inflate_part(&z[..m], &mut out).unwrap(), p.len());
    }
}
