//! Block decompression of arbitrary bytes as lz4, on the CPU engine and the hisi_zip
//! driver over the model, into 64 KiB and into 1 byte (see `uadk_fuzz::block_target`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use uadk_fuzz::uadk::Alg;

fuzz_target!(|data: &[u8]| uadk_fuzz::block_target(Alg::Lz4, data));
