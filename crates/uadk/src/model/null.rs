//! The null engine: a device that completes each request at once, to measure what the
//! stack costs without the device's time in the way (`UADK_ZIP_MODEL=1@0:null`).
//!
//! It serves flat block compression itself, with output any decoder reads back: deflate,
//! zlib and gzip as stored blocks (a copy of the input and the real trailer), lz4 as a
//! block of literals. Everything else (decompression, streams, SGLs, lz77) goes to the
//! regular engine. The SQE is checked as strictly as on any modelled device before it
//! gets here. Unlike the regular engine, it reaches the buffers with plain copies, not
//! through the model's DMA: a buffer freed while its request is in flight is not caught.

use crate::hw::zip::{self as fmt, ctx_st, dw, hw_alg, status, ZipSqe};
use isal_sys::igzip_lib as isal;

/// Largest stored block of deflate.
const STORED_MAX: usize = 65535;

/// Execute `sqe` if the null engine serves it; false leaves it to the regular engine.
///
/// # Safety
/// The SVA contract: the input is readable and the output writable for the lengths the
/// SQE gives, until its completion is posted.
pub(super) unsafe fn execute(sqe: &mut ZipSqe, qc_type: u16) -> bool {
    let in_len = sqe.w[dw::INPUT_DATA_LENGTH] as usize;
    let out_len = sqe.w[dw::DEST_AVAIL_OUT] as usize;
    if qc_type != 0
        || sqe.is_sgl()
        || sqe.stateful()
        || in_len == 0
        || in_len > fmt::HZ_MAX_SIZE
        || out_len > fmt::HZ_MAX_SIZE
    {
        return false;
    }
    let (src, dst) = (sqe.src() as *const u8, sqe.dst() as *mut u8);
    let alg = sqe.alg();
    let need = match alg {
        hw_alg::DEFLATE => stored_len(in_len),
        hw_alg::ZLIB => stored_len(in_len) + 4,
        hw_alg::GZIP => stored_len(in_len) + 8,
        hw_alg::LZ4 => literals_len(in_len),
        _ => return false,
    };
    if need > out_len {
        sqe.w[dw::CONSUMED] = 0;
        sqe.w[dw::PRODUCED] = 0;
        sqe.w[dw::STATUS] = status::DSTLEN_OUT;
        return true;
    }
    // The input is read once, as a device reads it: the checksum is made from the copy,
    // so input its caller changes meanwhile still gives a stream that checks.
    let (mut isize, mut sum) = (0, 0);
    // SAFETY: `need <= out_len` bytes of output, `in_len` of input (the contract); raw
    // copies, so a driver that overlapped them gets wrong bytes, not undefined behaviour.
    unsafe {
        if alg == hw_alg::LZ4 {
            write_literals(src, in_len, dst);
        } else {
            let body = write_stored(src, in_len, dst);
            (isize, sum) = stored_checksum(alg, dst, body);
            write_trailer(alg, isize, sum, dst.add(body));
        }
    }
    sqe.w[dw::CONSUMED] = in_len as u32;
    sqe.w[dw::PRODUCED] = need as u32;
    sqe.w[dw::STATUS] = status::OK | status::LSTBLK;
    sqe.w[dw::CTX_DW0] &= !ctx_st::MASK;
    sqe.w[dw::ISIZE] = isize;
    sqe.w[dw::CHECKSUM] = match alg {
        hw_alg::GZIP => fmt::gzip_crc_to_word(sum),
        hw_alg::ZLIB => sum,
        _ => 0,
    };
    true
}

/// (isize, checksum) of the data in `body` bytes of stored blocks at `out`: Adler-32 for
/// zlib, CRC-32 and the length for gzip, nothing for deflate.
///
/// # Safety
/// `out` holds `body` bytes of stored blocks, as [`write_stored`] wrote them.
unsafe fn stored_checksum(alg: u32, out: *const u8, body: usize) -> (u32, u32) {
    if alg != hw_alg::ZLIB && alg != hw_alg::GZIP {
        return (0, 0);
    }
    let (mut adler, mut crc, mut n) = (1u32, crc32fast::Hasher::new(), 0usize);
    let mut at = 0;
    while at < body {
        // SAFETY: a block header and its data, inside the body (the contract).
        let data = unsafe {
            let len = u16::from_le_bytes([*out.add(at + 1), *out.add(at + 2)]) as usize;
            std::slice::from_raw_parts(out.add(at + 5), len)
        };
        if alg == hw_alg::ZLIB {
            // SAFETY: ISA-L reads `data.len()` bytes of a valid slice.
            adler = unsafe { isal::isal_adler32(adler, data.as_ptr(), data.len() as u64) };
        } else {
            crc.update(data);
        }
        n += data.len();
        at += 5 + data.len();
    }
    match alg {
        hw_alg::ZLIB => (0, adler),
        _ => (n as u32, crc.finalize()),
    }
}

/// Bytes of `n` bytes as stored blocks.
fn stored_len(n: usize) -> usize {
    n + 5 * n.div_ceil(STORED_MAX).max(1)
}

/// Bytes of an lz4 block holding `n` literals and no match.
fn literals_len(n: usize) -> usize {
    1 + if n >= 15 { (n - 15) / 255 + 1 } else { 0 } + n
}

/// Write `n` bytes at `src` as deflate stored blocks at `dst`; returns the bytes written.
///
/// # Safety
/// `src` readable for `n` bytes, `dst` writable for [`stored_len`]`(n)`.
unsafe fn write_stored(src: *const u8, n: usize, dst: *mut u8) -> usize {
    let mut at = 0;
    let mut done = 0;
    loop {
        let len = (n - done).min(STORED_MAX);
        let last = done + len == n;
        let l = (len as u16).to_le_bytes();
        let nl = (!(len as u16)).to_le_bytes();
        let hdr = [last as u8, l[0], l[1], nl[0], nl[1]];
        // SAFETY: inside the output (the caller's contract and `stored_len`).
        unsafe {
            std::ptr::copy(hdr.as_ptr(), dst.add(at), 5);
            std::ptr::copy(src.add(done), dst.add(at + 5), len);
        }
        at += 5 + len;
        done += len;
        if last {
            return at;
        }
    }
}

/// Write the zlib or gzip trailer at `dst` (nothing for deflate).
///
/// # Safety
/// `dst` writable for the trailer's 4 or 8 bytes.
unsafe fn write_trailer(alg: u32, isize: u32, sum: u32, dst: *mut u8) {
    let mut t = [0u8; 8];
    let n = match alg {
        hw_alg::ZLIB => {
            t[..4].copy_from_slice(&sum.to_be_bytes());
            4
        }
        hw_alg::GZIP => {
            t[..4].copy_from_slice(&sum.to_le_bytes());
            t[4..].copy_from_slice(&isize.to_le_bytes());
            8
        }
        _ => 0,
    };
    // SAFETY: the caller's contract.
    unsafe { std::ptr::copy(t.as_ptr(), dst, n) };
}

/// Write `n` bytes at `src` as one lz4 block of literals at `dst`.
///
/// # Safety
/// `src` readable for `n` bytes, `dst` writable for [`literals_len`]`(n)`.
unsafe fn write_literals(src: *const u8, n: usize, dst: *mut u8) {
    // SAFETY: inside the output (the caller's contract and `literals_len`).
    unsafe {
        let mut at = 1;
        if n >= 15 {
            *dst = 0xf0;
            let mut rest = n - 15;
            while rest >= 255 {
                *dst.add(at) = 255;
                at += 1;
                rest -= 255;
            }
            *dst.add(at) = rest as u8;
            at += 1;
        } else {
            *dst = (n as u8) << 4;
        }
        std::ptr::copy(src, dst.add(at), n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::zip::{Flush, SqeType};
    use std::io::Read;

    fn run(alg: u32, data: &[u8], out: &mut [u8]) -> ZipSqe {
        let mut s = ZipSqe::default();
        s.set_bufs(
            data.as_ptr() as u64,
            data.len() as u32,
            out.as_mut_ptr() as u64,
            out.len() as u32,
        );
        s.set_type(SqeType::V3);
        s.set_alg(alg);
        s.set_window(4);
        s.set_stream(true, false, Flush::Finish);
        // SAFETY: both buffers are valid for the lengths in the SQE.
        assert!(unsafe { execute(&mut s, 0) });
        s
    }

    #[test]
    fn stored_blocks_read_back() {
        for n in [1usize, 15, 4096, 65535, 65536, 200_000] {
            let data: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
            let mut out = vec![0u8; n + 64 + 5 * (n / 65535 + 1)];
            let s = run(hw_alg::DEFLATE, &data, &mut out);
            assert_eq!(s.status(), status::OK);
            assert!(s.last_block());
            let produced = s.w[dw::PRODUCED] as usize;
            assert_eq!(produced, stored_len(n));
            let mut back = Vec::new();
            flate2::read::DeflateDecoder::new(&out[..produced])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "{n} bytes");

            // The engine writes body and trailer; the driver adds the header.
            let s = run(hw_alg::ZLIB, &data, &mut out);
            let produced = s.w[dw::PRODUCED] as usize;
            let mut z = vec![0x78, 0x01];
            z.extend_from_slice(&out[..produced]);
            let mut back = Vec::new();
            flate2::read::ZlibDecoder::new(&z[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data);
            assert_eq!(s.w[dw::CHECKSUM], adler2::adler32_slice(&data));

            let s = run(hw_alg::GZIP, &data, &mut out);
            let produced = s.w[dw::PRODUCED] as usize;
            let mut g = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
            g.extend_from_slice(&out[..produced]);
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&g[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data);
            assert_eq!(s.w[dw::ISIZE], n as u32);
            assert_eq!(
                fmt::gzip_word_to_crc(s.w[dw::CHECKSUM]),
                crc32fast::hash(&data)
            );
        }
    }

    #[test]
    fn lz4_literals_read_back() {
        for n in [1usize, 14, 15, 16, 269, 270, 271, 4096, 100_000] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 % 253) as u8).collect();
            let mut out = vec![0u8; literals_len(n)];
            let s = run(hw_alg::LZ4, &data, &mut out);
            assert_eq!(s.status(), status::OK);
            assert_eq!(s.w[dw::PRODUCED] as usize, out.len());
            let mut back = vec![0u8; n];
            let k = lz4_flex::block::decompress_into(&out, &mut back).unwrap();
            assert_eq!(k, n);
            assert_eq!(back, data, "{n} bytes");
        }
    }

    #[test]
    fn output_too_small_and_what_it_leaves_alone() {
        let data = [7u8; 100];
        let mut out = [0u8; 104];
        let s = run(hw_alg::DEFLATE, &data, &mut out);
        assert_eq!(s.status(), status::DSTLEN_OUT);
        assert_eq!(out, [0u8; 104], "nothing written");
        let mut s = ZipSqe::default();
        s.set_bufs(data.as_ptr() as u64, 100, out.as_mut_ptr() as u64, 104);
        s.set_alg(hw_alg::DEFLATE);
        // SAFETY: valid buffers; decompression is left to the regular engine untouched.
        assert!(!unsafe { execute(&mut s, 1) });
        s.set_stream(true, true, Flush::Sync);
        // SAFETY: as above; streams too.
        assert!(!unsafe { execute(&mut s, 0) });
    }
}
