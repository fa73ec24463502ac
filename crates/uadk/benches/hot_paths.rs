//! Criterion benches of the hot paths: `cargo bench -p uadk` (not part of `cargo test`).
//!
//! - `request_4k`: what one 4 KiB page costs through the whole stack
//!   (`Session::process` → scheduler → context lock → CPU driver) beside the bare codec
//!   the driver calls for it, on the same page: the stack's per-request overhead;
//! - `codec_64k`: block requests of 64 KiB through the stack for each algorithm, level 1
//!   and 6 (lz4: its one level), compress and decompress.
//!
//! Input: the file named by `UADK_BENCH_FILE`, else `scratch/corpus/dickens` (what
//! `scripts/compare.sh` unzips), else generated text. Filter as usual:
//! `cargo bench -p uadk -- request_4k`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;
use uadk::drv::cpu::isal::{IsalDeflate, Wrapper};
use uadk::{Alg, Comp, CompConfig, CtxMode, Level, OpType, Session, SessionSetup};

/// Where the input comes from, and `len` bytes of it (repeated if the file is shorter).
fn input(len: usize) -> (String, Vec<u8>) {
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scratch/corpus/dickens");
    let path = std::env::var_os("UADK_BENCH_FILE").map_or(default, PathBuf::from);
    let (name, data) = match std::fs::read(&path) {
        Ok(d) if !d.is_empty() => (path.display().to_string(), d),
        _ => ("generated text".to_string(), generated_text(len)),
    };
    // Start a little into the file: past headers, into typical content.
    let start = (data.len() / 3).min(data.len().saturating_sub(len));
    let out: Vec<u8> = data[start..].iter().cycle().take(len).copied().collect();
    (name, out)
}

/// Text-like bytes: words from a small vocabulary drawn by a xorshift generator.
fn generated_text(len: usize) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "the",
        "page",
        "of",
        "memory",
        "is",
        "compressed",
        "and",
        "sent",
        "to",
        "a",
        "queue",
        "context",
        "while",
        "guest",
        "runs",
        "\n",
    ];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(WORDS[(x % 16) as usize].as_bytes());
        out.push(b' ');
    }
    out.truncate(len);
    out
}

/// A framework with one sync context per op type: what a single-threaded user gets.
fn comp(alg: Alg) -> Comp {
    Comp::new(
        CompConfig::new()
            .alg(alg)
            .ctxs(CtxMode::Sync, OpType::Compress, 1)
            .ctxs(CtxMode::Sync, OpType::Decompress, 1)
            .ctxs(CtxMode::Async, OpType::Compress, 0)
            .ctxs(CtxMode::Async, OpType::Decompress, 0),
    )
    .expect("init")
}

fn sessions(comp: &Comp, alg: Alg, level: u32) -> (Session, Session) {
    let level = Level::new(level).expect("level");
    let c = comp
        .session(&SessionSetup::new(alg, OpType::Compress).level(level))
        .expect("compress session");
    let d = comp
        .session(&SessionSetup::new(alg, OpType::Decompress))
        .expect("decompress session");
    (c, d)
}

/// One 4 KiB page through the stack, and through the codec the CPU driver uses for it.
fn request_4k(cr: &mut Criterion) {
    let (name, page) = input(4096);
    eprintln!("request_4k: input {name}");
    let mut g = cr.benchmark_group("request_4k");
    g.throughput(Throughput::Bytes(page.len() as u64));
    let mut out = vec![0u8; 2 * page.len() + 1024];
    let mut back = vec![0u8; page.len()];

    let gz = comp(Alg::Gzip);
    let (c1, d1) = sessions(&gz, Alg::Gzip, 1);
    let (c6, _) = sessions(&gz, Alg::Gzip, 6);
    g.bench_function("stack/gzip-L1", |b| {
        b.iter(|| c1.process(black_box(&page), &mut out).unwrap())
    });
    let mut isal = IsalDeflate::new(1);
    g.bench_function("bare/isal-L1", |b| {
        b.iter(|| {
            isal.compress(black_box(&page), &mut out, Wrapper::Gzip, 15)
                .unwrap()
        })
    });
    g.bench_function("stack/gzip-L6", |b| {
        b.iter(|| c6.process(black_box(&page), &mut out).unwrap())
    });
    let mut ld6 = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(6).unwrap());
    g.bench_function("bare/libdeflate-L6", |b| {
        b.iter(|| ld6.gzip_compress(black_box(&page), &mut out).unwrap())
    });

    let n = c1.process(&page, &mut out).unwrap();
    let packed = out[..n].to_vec();
    g.bench_function("stack/gunzip", |b| {
        b.iter(|| d1.process(black_box(&packed), &mut back).unwrap())
    });
    let mut inflate = libdeflater::Decompressor::new();
    g.bench_function("bare/libdeflate-gunzip", |b| {
        b.iter(|| {
            inflate
                .gzip_decompress(black_box(&packed), &mut back)
                .unwrap()
        })
    });

    let l4 = comp(Alg::Lz4);
    let (c4, d4) = sessions(&l4, Alg::Lz4, 1);
    g.bench_function("stack/lz4", |b| {
        b.iter(|| c4.process(black_box(&page), &mut out).unwrap())
    });
    g.bench_function("bare/lz4_flex", |b| {
        b.iter(|| lz4_flex::block::compress_into(black_box(&page), &mut out).unwrap())
    });
    let n = c4.process(&page, &mut out).unwrap();
    let packed = out[..n].to_vec();
    g.bench_function("stack/lz4-decompress", |b| {
        b.iter(|| d4.process(black_box(&packed), &mut back).unwrap())
    });
    g.bench_function("bare/lz4_flex-decompress", |b| {
        b.iter(|| lz4_flex::block::decompress_into(black_box(&packed), &mut back).unwrap())
    });
    g.finish();
}

/// 64 KiB block requests through the stack, each algorithm and level.
fn codec_64k(cr: &mut Criterion) {
    let (name, block) = input(64 * 1024);
    eprintln!("codec_64k: input {name}");
    let mut g = cr.benchmark_group("codec_64k");
    g.throughput(Throughput::Bytes(block.len() as u64));
    let mut back = vec![0u8; block.len()];
    for alg in [Alg::Deflate, Alg::Zlib, Alg::Gzip, Alg::Lz4] {
        let comp = comp(alg);
        let levels: &[u32] = if alg == Alg::Lz4 { &[1] } else { &[1, 6] };
        for &level in levels {
            let (c, d) = sessions(&comp, alg, level);
            let mut out = vec![0u8; c.compress_bound(block.len())];
            let id = format!("{}-L{level}", alg.name());
            g.bench_with_input(BenchmarkId::new("compress", &id), &block, |b, data| {
                b.iter(|| c.process(black_box(data), &mut out).unwrap())
            });
            let n = c.process(&block, &mut out).unwrap();
            let packed = out[..n].to_vec();
            g.bench_with_input(BenchmarkId::new("decompress", &id), &packed, |b, data| {
                b.iter(|| d.process(black_box(data), &mut back).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = hot_paths;
    // Short runs: these are for comparing paths side by side, not for publication.
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = request_4k, codec_64k
}
criterion_main!(hot_paths);
