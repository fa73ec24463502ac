//! `lz77_zstd` plus zstd's entropy stage: a file through 128 KiB `lz77_zstd` block requests
//! (level 8 or 9), their sequences into one zstd frame (`ZSTD_compressSequences`), checked by
//! decoding it; prints both stages' speed and the frame's ratio, beside libzstd's own
//! `ZSTD_compress` at levels 1 and 3 on the same machine.
//!
//! `cargo run --release -p uadk --example lz77_frames -- FILE [LEVEL]`

use std::time::Instant;
use uadk::hw::lz77::Reps;
use uadk::{Alg, Comp, CompConfig, Level, OpType, SessionSetup};
use zstd_sys as z;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: lz77_frames FILE [LEVEL]");
    let level: u32 = args
        .next()
        .map(|l| l.parse().expect("level 8 or 9"))
        .unwrap_or(8);
    let data = std::fs::read(&path).expect("read the file");
    let comp = Comp::new(CompConfig::new()).expect("framework");
    let s = comp
        .session(
            &SessionSetup::new(Alg::Lz77Zstd, OpType::Compress).level(Level::new(level).unwrap()),
        )
        .expect("session");
    const BLOCK: usize = 128 * 1024;
    let mut seqs: Vec<z::ZSTD_Sequence> = Vec::new();
    let mut out = vec![0u8; s.compress_bound(BLOCK)];
    let t0 = Instant::now();
    for block in data.chunks(BLOCK) {
        let o = s.lz77(block, &mut out).expect("lz77_zstd request");
        let ss = o.sequences(&mut Reps::default()).expect("records");
        let lits: u32 = ss.iter().map(|q| q.lit_len).sum();
        seqs.extend(ss.iter().map(|q| z::ZSTD_Sequence {
            offset: q.offset,
            litLength: q.lit_len,
            matchLength: q.match_len,
            rep: 0,
        }));
        seqs.push(z::ZSTD_Sequence {
            offset: 0,
            litLength: o.meta().lit_num - lits,
            matchLength: 0,
            rep: 0,
        });
    }
    let lz77_s = t0.elapsed().as_secs_f64();
    // SAFETY: plain libzstd calls on buffers owned here, with their sizes.
    let (frame, entropy_s) = unsafe {
        let cctx = z::ZSTD_createCCtx();
        for (p, v) in [
            (z::ZSTD_cParameter::ZSTD_c_compressionLevel, 3),
            (z::ZSTD_cParameter::ZSTD_c_windowLog, 17),
            (z::ZSTD_cParameter::ZSTD_c_minMatch, 3),
            (z::ZSTD_cParameter::ZSTD_c_experimentalParam11, 1),
        ] {
            assert_eq!(z::ZSTD_isError(z::ZSTD_CCtx_setParameter(cctx, p, v)), 0);
        }
        let mut f = vec![0u8; z::ZSTD_compressBound(data.len())];
        let t1 = Instant::now();
        let n = z::ZSTD_compressSequences(
            cctx,
            f.as_mut_ptr().cast(),
            f.len(),
            seqs.as_ptr(),
            seqs.len(),
            data.as_ptr().cast(),
            data.len(),
        );
        let e = t1.elapsed().as_secs_f64();
        z::ZSTD_freeCCtx(cctx);
        assert_eq!(z::ZSTD_isError(n), 0, "ZSTD_compressSequences");
        f.truncate(n);
        (f, e)
    };
    let mut back = vec![0u8; data.len()];
    // SAFETY: as above.
    let n = unsafe {
        z::ZSTD_decompress(
            back.as_mut_ptr().cast(),
            back.len(),
            frame.as_ptr().cast(),
            frame.len(),
        )
    };
    assert!(
        n == data.len() && back == data,
        "the frame decodes to the input"
    );
    let mb = data.len() as f64 / 1e6;
    println!(
        "{path}: {} bytes; lz77_zstd L{level} {:.1} MB/s, entropy stage {:.1} MB/s, together {:.1} MB/s, ratio {:.3}",
        data.len(),
        mb / lz77_s,
        mb / entropy_s,
        mb / (lz77_s + entropy_s),
        data.len() as f64 / frame.len() as f64
    );
    for l in [1, 3] {
        // SAFETY: a pure function of the size.
        let mut f = vec![0u8; unsafe { z::ZSTD_compressBound(data.len()) }];
        let t = Instant::now();
        // SAFETY: as above.
        let n = unsafe {
            z::ZSTD_compress(
                f.as_mut_ptr().cast(),
                f.len(),
                data.as_ptr().cast(),
                data.len(),
                l,
            )
        };
        let secs = t.elapsed().as_secs_f64();
        println!(
            "libzstd ZSTD_compress level {l}: {:.1} MB/s, ratio {:.3}",
            mb / secs,
            data.len() as f64 / n as f64
        );
    }
}
