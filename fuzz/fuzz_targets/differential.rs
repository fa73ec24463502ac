//! The same bytes through every way the project decompresses (CPU engine and hisi_zip over
//! the model; block, SGL, sync2, stream and `Decoder` on each) and through the C zlib: any
//! disagreement on whether the stream is valid, or on its bytes, or on the input a block
//! request took, fails.
//!
//! Input: algorithm byte, shape count `n` (mod 8), `n` cut lengths, `n` output/read sizes,
//! then the compressed bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uadk_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let mut d = data;
    let alg = DEFLATE_ALGS[take(&mut d) as usize % 3];
    let n = take(&mut d) as usize % 8;
    let cuts = take_n(&mut d, n);
    let outs = take_n(&mut d, n);
    assert_agree(d, alg, &all_verdicts(alg, d, cuts, outs));
});
