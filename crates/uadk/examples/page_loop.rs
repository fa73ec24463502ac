//! The loop of `tests/c/qemu_pattern.c` through the Rust API, doing the same work: per
//! channel thread its own session (zlib, level 1, 4 KiB window), 4000 4 KiB pages of the
//! same mixed content (the same generator), each compressed into a packed send buffer with
//! 2 pages of room per call, a page whose output is not smaller than the page copied raw
//! instead. Only that loop is timed; pages/s for the slowest channel, as the C program
//! prints it, so the two figures give the C ABI's cost (`scripts/capi_vs_rust.sh`).
//!
//! `cargo run --release -p uadk --example page_loop` (`QEMU_PATTERN_CHANNELS=1` for one)

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
                    // QEMU's send buffer: one page per page plus one spare page.
                    let mut wire = vec![0u8; PAGES * PAGE + PAGE];
                    let mut raw = 0usize;
                    let t = Instant::now();
                    let mut pos = 0;
                    for p in pages.chunks(PAGE) {
                        let n = sess
                            .process(p, &mut wire[pos..pos + 2 * PAGE])
                            .expect("compress");
                        if n < PAGE {
                            pos += n;
                        } else {
                            wire[pos..pos + PAGE].copy_from_slice(p);
                            pos += PAGE;
                            raw += 1;
                        }
                    }
                    let secs = t.elapsed().as_secs_f64();
                    assert!(raw < PAGES, "every page was sent raw");
                    secs
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
