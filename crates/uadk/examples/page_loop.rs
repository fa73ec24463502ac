//! The loop of `tests/c/qemu_pattern.c` through the Rust API: 4 channel threads, each with
//! its own session, compressing 4000 4 KiB pages of the same mixed content into 2-page
//! buffers. Prints pages/s to set beside the C figure (the C ABI's cost).
//!
//! `cargo run --release -p uadk --example page_loop`

use std::time::Instant;
use uadk::{Alg, Comp, CompConfig, OpType, SessionSetup, WindowSize};

const PAGE: usize = 4096;
const PAGES: usize = 4000;
const TEXT: &[u8] = b"the quick brown fox jumps over the lazy dog ";

fn fill(p: &mut [u8], ch: usize, i: usize) {
    let mut x = ((ch * 100_003 + i) as u32).wrapping_mul(2_654_435_761);
    match i % 5 {
        0 => p.fill(0),
        1 => p
            .iter_mut()
            .enumerate()
            .for_each(|(k, b)| *b = TEXT[(k + i) % 44]),
        2 => p.iter_mut().for_each(|b| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }),
        3 => {
            p.iter_mut()
                .enumerate()
                .for_each(|(k, b)| *b = TEXT[k % 44]);
            p[x as usize % PAGE] ^= 0x5a;
        }
        _ => p
            .iter_mut()
            .enumerate()
            .for_each(|(k, b)| *b = ((k * 7) ^ (k >> 5) ^ i) as u8),
    }
}

fn main() {
    // QEMU_PATTERN_CHANNELS sets the number of channel threads, as for the C test.
    let channels: usize = std::env::var("QEMU_PATTERN_CHANNELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| (1..=16).contains(&n))
        .unwrap_or(4);
    let comp =
        Comp::new(CompConfig::from_env().expect("environment").alg(Alg::Zlib)).expect("init");
    let times: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..channels)
            .map(|ch| {
                let comp = comp.clone();
                s.spawn(move || {
                    let sess = comp
                        .session(
                            &SessionSetup::new(Alg::Zlib, OpType::Compress).window(WindowSize::W4K),
                        )
                        .expect("session");
                    let mut pages = vec![0u8; PAGES * PAGE];
                    for (i, p) in pages.chunks_mut(PAGE).enumerate() {
                        fill(p, ch, i);
                    }
                    let mut out = vec![0u8; PAGES * 2 * PAGE];
                    let t = Instant::now();
                    for (p, o) in pages.chunks(PAGE).zip(out.chunks_mut(2 * PAGE)) {
                        sess.process(p, o).expect("compress");
                    }
                    t.elapsed().as_secs_f64()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let slowest = times.iter().cloned().fold(0.0, f64::max);
    println!(
        "page_loop (Rust API): {channels} channels, {:.0} pages/s",
        (channels * PAGES) as f64 / slowest
    );
}
