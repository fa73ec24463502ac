//! libdeflate's whole-buffer inflate, through its `_ex` entry points: they report how
//! much input the stream took, which UADK's block requests return (`src_len` becomes the
//! bytes consumed) and which `libdeflater`'s wrapper does not expose.

use crate::req::Alg;
use libdeflate_sys::{
    libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_deflate_decompress_ex,
    libdeflate_free_decompressor, libdeflate_gzip_decompress_ex,
    libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE, libdeflate_result_LIBDEFLATE_SUCCESS,
    libdeflate_zlib_decompress_ex,
};

/// Why an inflate failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// The output buffer is too small.
    OutputTooSmall,
    /// Not a valid stream (or a checksum mismatch, or a truncated one).
    BadData,
}

/// One libdeflate decompressor, owned.
#[derive(Debug)]
pub struct LdInflate {
    d: *mut libdeflate_decompressor,
}

// SAFETY: the decompressor is used by one thread at a time (`&mut self`), and libdeflate
// keeps no thread-affine state in it.
unsafe impl Send for LdInflate {}

impl LdInflate {
    /// Allocate a decompressor (about 10 KiB).
    pub fn new() -> Option<LdInflate> {
        // SAFETY: no preconditions; NULL means out of memory.
        let d = unsafe { libdeflate_alloc_decompressor() };
        (!d.is_null()).then_some(LdInflate { d })
    }

    /// Inflate one stream of `alg` (deflate, zlib or gzip) at the start of `input`;
    /// returns (consumed, produced). Data after the stream is not read.
    pub fn inflate(
        &mut self,
        alg: Alg,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), InflateError> {
        let (mut used, mut made) = (0usize, 0usize);
        let f = match alg {
            Alg::Deflate => libdeflate_deflate_decompress_ex,
            Alg::Zlib => libdeflate_zlib_decompress_ex,
            _ => libdeflate_gzip_decompress_ex,
        };
        // SAFETY: `d` is a live decompressor; the buffers are valid for their lengths;
        // libdeflate writes at most `out.len()` bytes and the two counts.
        let r = unsafe {
            f(
                self.d,
                input.as_ptr().cast(),
                input.len(),
                out.as_mut_ptr().cast(),
                out.len(),
                &mut used,
                &mut made,
            )
        };
        if r == libdeflate_result_LIBDEFLATE_SUCCESS {
            Ok((used, made))
        } else if r == libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE {
            Err(InflateError::OutputTooSmall)
        } else {
            Err(InflateError::BadData)
        }
    }
}

impl Drop for LdInflate {
    fn drop(&mut self) {
        // SAFETY: allocated in `new`, freed once.
        unsafe { libdeflate_free_decompressor(self.d) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_input_a_stream_takes() {
        let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
        let data = b"hello hello hello hello hello".repeat(20);
        let mut z = vec![0u8; c.gzip_compress_bound(data.len())];
        let n = c.gzip_compress(&data, &mut z).unwrap();
        z.truncate(n);
        let mut two = z.clone();
        two.extend_from_slice(&z);
        let mut d = LdInflate::new().unwrap();
        let mut out = vec![0u8; data.len()];
        assert_eq!(d.inflate(Alg::Gzip, &two, &mut out), Ok((n, data.len())));
        assert_eq!(out, data);
        let mut small = vec![0u8; 10];
        assert_eq!(
            d.inflate(Alg::Gzip, &z, &mut small),
            Err(InflateError::OutputTooSmall)
        );
        assert_eq!(
            d.inflate(Alg::Gzip, &z[..n - 1], &mut out),
            Err(InflateError::BadData)
        );
    }
}
