//! Bare codecs side by side on one file: whole, 64 KiB and 4 KiB blocks; gzip framing;
//! best of three runs. The figures behind the codec choices in docs/cpu-engine.md.
//!
//! `cargo run --release -p uadk --example codec_compare -- FILE`

use std::time::Instant;
use uadk::drv::cpu::isal::{IsalDeflate, IsalInflate, Wrapper};

fn row(name: &str, ratio: Option<f64>, bytes: usize, secs: f64) {
    let r = ratio.map_or(String::new(), |r| format!("{r:.3}"));
    println!("| {name} | {r} | {:.0} |", bytes as f64 / secs / 1e6);
}

fn compress(
    name: &str,
    blocks: &[&[u8]],
    mut f: impl FnMut(&[u8], &mut [u8]) -> usize,
) -> Vec<Vec<u8>> {
    let total: usize = blocks.iter().map(|b| b.len()).sum();
    let mut out = vec![0u8; blocks.iter().map(|b| b.len()).max().unwrap_or(0) * 2 + 1024];
    let (mut best, mut packed, mut kept) = (f64::MAX, 0, Vec::new());
    for rep in 0..3 {
        let t = Instant::now();
        packed = 0;
        for b in blocks {
            let n = f(b, &mut out);
            packed += n;
            if rep == 0 {
                kept.push(out[..n].to_vec());
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    row(name, Some(total as f64 / packed as f64), total, best);
    kept
}

fn inflate(
    name: &str,
    packed: &[Vec<u8>],
    orig: &[&[u8]],
    mut f: impl FnMut(&[u8], &mut [u8]) -> usize,
) {
    let total: usize = orig.iter().map(|b| b.len()).sum();
    let mut out = vec![0u8; orig.iter().map(|b| b.len()).max().unwrap_or(0) + 64];
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for (c, o) in packed.iter().zip(orig) {
            let n = f(c, &mut out);
            assert_eq!(&out[..n], *o, "{name} round trip");
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    row(name, None, total, best);
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: codec_compare FILE");
        std::process::exit(2);
    };
    let data = std::fs::read(&path).expect("read input");
    for bs in [data.len(), 65536, 4096] {
        let blocks: Vec<&[u8]> = data.chunks(bs.max(1)).collect();
        println!("\n{path}, blocks of {bs} bytes\n\n| codec | ratio | MB/s |\n|---|---|---|");
        let mut isal = IsalDeflate::new(1);
        let z = compress("ISA-L level 1", &blocks, |i, o| {
            isal.compress(i, o, Wrapper::Gzip, 0).unwrap()
        });
        let mut isal0 = IsalDeflate::new(0);
        compress("ISA-L level 0", &blocks, |i, o| {
            isal0.compress(i, o, Wrapper::Gzip, 0).unwrap()
        });
        for l in [1, 6] {
            let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(l).unwrap());
            compress(&format!("libdeflate level {l}"), &blocks, |i, o| {
                c.gzip_compress(i, o).unwrap()
            });
        }
        for l in [1u32, 6] {
            let mut c = flate2::Compress::new_gzip(flate2::Compression::new(l), 15);
            compress(&format!("zlib-rs level {l}"), &blocks, |i, o| {
                c.reset();
                c.compress(i, o, flate2::FlushCompress::Finish).unwrap();
                c.total_out() as usize
            });
        }
        compress("lz4_flex (lz4 block)", &blocks, |i, o| {
            lz4_flex::block::compress_into(i, o).unwrap()
        });
        let mut d = libdeflater::Decompressor::new();
        inflate("libdeflate inflate", &z, &blocks, |i, o| {
            d.gzip_decompress(i, o).unwrap()
        });
        let mut di = IsalInflate::new();
        inflate("ISA-L inflate", &z, &blocks, |i, o| {
            di.decompress(i, o, Wrapper::Gzip).unwrap().1
        });
        inflate("zlib-rs inflate", &z, &blocks, |i, o| {
            let mut dz = flate2::Decompress::new_gzip(15);
            dz.decompress(i, o, flate2::FlushDecompress::Finish)
                .unwrap();
            dz.total_out() as usize
        });
    }
}
