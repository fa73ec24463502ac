//! Round trips over every algorithm × level × window × mode, fixed shapes and random ones.

mod common;

use common::*;
use proptest::prelude::*;
use std::sync::mpsc;
use uadk::{Alg, JobBuf, OpType, Session, WindowSize};

/// Compress with one mode.
fn compress(mode: usize, s: &Session, data: &[u8], split: (usize, usize)) -> Vec<u8> {
    let bound = s.compress_bound(data.len());
    match mode {
        0 => s.process_to_vec(data).unwrap(),
        1 => stream_all(s, data, split.0, split.1).unwrap(),
        2 => {
            let mut out = vec![0u8; bound];
            let n = s.process_sync2(data, &mut out).unwrap();
            out.truncate(n);
            out
        }
        3 => run_async(s, data.to_vec(), bound),
        _ => {
            // Scatter-gather on both sides, segments of `split` sizes.
            let segs: Vec<&[u8]> = data.chunks(split.0.max(1)).collect();
            let mut outs: Vec<Vec<u8>> =
                vec![vec![0u8; split.1.max(64)]; bound / split.1.max(64) + 2];
            let mut views: Vec<&mut [u8]> = outs.iter_mut().map(|v| &mut v[..]).collect();
            let n = s.process_sgl(&segs, &mut views).unwrap();
            outs.concat()[..n].to_vec()
        }
    }
}

fn run_async(s: &Session, src: Vec<u8>, cap: usize) -> Vec<u8> {
    let (tx, rx) = mpsc::channel();
    s.submit(
        JobBuf::Flat(src),
        JobBuf::Flat(vec![0u8; cap.max(1)]),
        Box::new(move |c| tx.send(c).unwrap()),
    )
    .unwrap();
    loop {
        comp().poll(0).unwrap();
        if let Ok(c) = rx.try_recv() {
            let JobBuf::Flat(out) = c.dst else {
                panic!("flat")
            };
            c.result.unwrap();
            return out;
        }
        std::thread::yield_now();
    }
}

/// Decompress with one mode; `len` is the expected size.
fn decompress(mode: usize, s: &Session, data: &[u8], len: usize, split: (usize, usize)) -> Vec<u8> {
    let cap = len.max(1);
    let alg = s.params().alg;
    match mode {
        0 => {
            let mut out = vec![0u8; cap];
            let n = s.process(data, &mut out).unwrap();
            out.truncate(n);
            out
        }
        1 if alg != Alg::Lz4 => stream_all(s, data, split.0, split.1).unwrap(),
        2 => {
            let mut out = vec![0u8; cap];
            let n = s.process_sync2(data, &mut out).unwrap();
            out.truncate(n);
            out
        }
        3 => run_async(s, data.to_vec(), cap),
        _ => s.process_to_vec(data).unwrap(),
    }
}

const MODES: [&str; 5] = ["block", "stream", "sync2", "async", "sgl"];

fn check(
    alg: Alg,
    level: u32,
    window: WindowSize,
    data: &[u8],
    cm: usize,
    dm: usize,
    split: (usize, usize),
) {
    if alg == Alg::Lz4 && cm == 1 {
        return; // lz4 is block-only, as in UADK
    }
    let c = sess(alg, OpType::Compress, level, window);
    let d = sess(alg, OpType::Decompress, 1, window);
    let packed = compress(cm, &c, data, split);
    let back = decompress(dm, &d, &packed, data.len(), split);
    assert!(
        back == data,
        "{alg} L{level} {window:?} comp={} decomp={} len={} split={split:?}",
        MODES[cm],
        MODES[dm],
        data.len()
    );
}

#[test]
fn every_alg_level_window_mode_on_fixed_shapes() {
    let shapes = shapes(3 << 20);
    for alg in CPU_ALGS {
        for level in [1, 2, 6, 9, 12, 15] {
            for window in WindowSize::ALL {
                if alg == Alg::Lz4 && window != WindowSize::W32K {
                    continue; // lz4 has no window parameter
                }
                for (name, data) in &shapes {
                    if *name == "big-text" && !(level == 1 || level == 6) {
                        continue;
                    }
                    for cm in 0..MODES.len() {
                        let dm = (cm + level as usize) % MODES.len();
                        check(alg, level, window, data, cm, dm, (7919, 4093));
                    }
                }
            }
        }
    }
}

#[test]
fn stream_result_is_independent_of_splits() {
    let data = text_bytes(200_000, 9);
    for alg in [Alg::Deflate, Alg::Zlib, Alg::Gzip] {
        let d = sess(alg, OpType::Decompress, 1, WindowSize::W32K);
        for level in [1, 6] {
            let c = sess(alg, OpType::Compress, level, WindowSize::W32K);
            let reference = stream_all(&c, &data, data.len(), 1 << 20).unwrap();
            // The output buffer's size never changes the bytes.
            for o in [1, 13, 4096] {
                assert_eq!(
                    stream_all(&c, &data, data.len(), o).unwrap(),
                    reference,
                    "{alg} L{level} out {o}"
                );
            }
            // Input splits may move block boundaries, never the content.
            for (i, o) in [(1, 1), (3, 7), (4096, 1), (65536, 13)] {
                let z = stream_all(&c, &data, i, o).unwrap();
                assert_eq!(
                    stream_all(&d, &z, 65536, 65536).unwrap(),
                    data,
                    "{alg} L{level} split {i}/{o}"
                );
            }
        }
        let c = sess(alg, OpType::Compress, 6, WindowSize::W32K);
        let reference = stream_all(&c, &data, data.len(), 1 << 20).unwrap();
        let d = sess(alg, OpType::Decompress, 1, WindowSize::W32K);
        for (i, o) in [(1, 1), (5, 3), (1000, 1)] {
            assert_eq!(
                stream_all(&d, &reference, i, o).unwrap(),
                data,
                "{alg} inflate {i}/{o}"
            );
        }
    }
}

#[test]
fn window_is_honoured_and_declared() {
    let block = random_bytes(5000, 77);
    let data: Vec<u8> = block.iter().cycle().take(1 << 20).copied().collect();
    for level in [1, 2, 6, 9, 12] {
        for window in [
            WindowSize::W4K,
            WindowSize::W8K,
            WindowSize::W16K,
            WindowSize::W24K,
        ] {
            let bits = window.bits();
            for mode in [0, 1] {
                let c = sess(Alg::Zlib, OpType::Compress, level, window);
                let z = compress(mode, &c, &data, (65536, 65536));
                assert_eq!(
                    z[0] >> 4,
                    bits - 8,
                    "CINFO for {window:?} L{level} mode {mode}"
                );
                // A decoder limited to the window must accept the stream.
                let mut d = flate2::Decompress::new_with_window_bits(true, bits);
                let mut out = vec![0u8; data.len() + 1];
                let st = d
                    .decompress(&z, &mut out, flate2::FlushDecompress::Finish)
                    .unwrap_or_else(|e| panic!("{window:?} L{level} mode {mode}: {e}"));
                assert_eq!(st, flate2::Status::StreamEnd);
                assert_eq!(&out[..d.total_out() as usize], &data[..]);
            }
        }
    }
}

#[test]
fn blocks_at_the_window_size_stay_in_the_window() {
    // Inputs of the window's size and one byte more, with repeats at every distance up to
    // the input: the first are served by libdeflate (no window setting: the input bounds
    // the distances), the second by zlib-rs; a decoder limited to the window takes both.
    for window in [WindowSize::W4K, WindowSize::W8K, WindowSize::W16K] {
        let w = 1usize << window.bits();
        for len in [w / 2, w, w + 1, 3 * w] {
            let head = random_bytes(97, len as u64);
            let data: Vec<u8> = head.iter().cycle().take(len).copied().collect();
            for level in [2, 6, 9, 12] {
                let c = sess(Alg::Zlib, OpType::Compress, level, window);
                let z = c.process_to_vec(&data).unwrap();
                let what = format!("{window:?} {len} bytes L{level}");
                assert_eq!(z[0] >> 4, window.bits() - 8, "CINFO, {what}");
                assert_eq!(u16::from_be_bytes([z[0], z[1]]) % 31, 0, "FCHECK, {what}");
                let mut d = flate2::Decompress::new_with_window_bits(true, window.bits());
                let mut out = vec![0u8; len + 1];
                let st = d
                    .decompress(&z, &mut out, flate2::FlushDecompress::Finish)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(st, flate2::Status::StreamEnd, "{what}");
                assert_eq!(&out[..d.total_out() as usize], &data[..], "{what}");
            }
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

fn arb_data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..3000),
        (0usize..200_000, any::<u64>()).prop_map(|(n, s)| text_bytes(n, s)),
        (0usize..100_000).prop_map(|n| vec![0u8; n]),
        (0usize..60_000, any::<u64>()).prop_map(|(n, s)| random_bytes(n, s)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_round_trips(
        data in arb_data(),
        alg in prop::sample::select(CPU_ALGS.to_vec()),
        level in 1u32..=15,
        window in prop::sample::select(WindowSize::ALL.to_vec()),
        cm in 0usize..5,
        dm in 0usize..5,
        split_in in 1usize..70_000,
        split_out in 1usize..70_000,
    ) {
        check(alg, level, window, &data, cm, dm, (split_in, split_out));
    }
}
