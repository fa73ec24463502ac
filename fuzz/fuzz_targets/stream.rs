//! Stream decompression with fuzzer-chosen input pieces and output sizes of 1 to 256 bytes,
//! on the CPU engine and the hisi_zip driver over the model: never a panic or a stall, and
//! the verdict and bytes of the C zlib decoding the whole buffer at once.
//!
//! Input: algorithm byte, piece count `n` (mod 16), `n` piece lengths, `n` output sizes,
//! then the compressed bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uadk_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let mut d = data;
    let alg = DEFLATE_ALGS[take(&mut d) as usize % 3];
    let n = take(&mut d) as usize % 16;
    let cuts = take_n(&mut d, n);
    let outs = take_n(&mut d, n);
    let mut v = vec![("zlib", zlib_inflate(alg, d))];
    for (name, comp) in [("cpu stream", cpu()), ("hisi stream", hw())] {
        if let Some(s) = reused(comp, alg) {
            v.push((name, stream(&s, d, cuts, outs)));
            keep(comp, alg, s);
        }
    }
    assert_agree(d, alg, &v);
});
