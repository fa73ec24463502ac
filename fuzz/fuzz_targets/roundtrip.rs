//! Compress fuzzer-chosen bytes with a fuzzer-chosen algorithm, level, window, mode (block,
//! SGL, sync2, stream with and without sync flushes and tiny outputs, async) and driver
//! (CPU engine, hisi_zip over the model); the result must decompress to the same bytes
//! through the C zlib (deflate family) and through the project's own block decompression.
//!
//! Input: algorithm, level, window, mode, driver, shape count `n` (mod 8), `n` cut lengths,
//! `n` output sizes, then the data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uadk_fuzz::uadk::{Alg, Comp, JobBuf, Level, OpType, Session, SessionSetup, WindowSize};
use uadk_fuzz::*;

const ALGS: [Alg; 4] = [Alg::Deflate, Alg::Zlib, Alg::Gzip, Alg::Lz4];

fn compress_stream(s: &Session, data: &[u8], cuts: &[u8], outs: &[u8], sync: bool) -> Vec<u8> {
    let src = pieces(data, cuts);
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    let mut k = 0;
    for (i, piece) in src.iter().enumerate() {
        let last = i + 1 == src.len();
        let mut at = 0;
        loop {
            let room = outs
                .get(k % outs.len().max(1))
                .map_or(256, |&o| o as usize + 1);
            // zlib's rule for sync flushes: more than 6 bytes of room, or every call that
            // fills the output starts another flush marker.
            let room = if sync { room.max(7) } else { room };
            k += 1;
            let r = s
                .stream_flush(&piece[at..], &mut buf[..room], last, sync)
                .unwrap_or_else(|e| panic!("stream compression fails: {e}"));
            at += r.consumed;
            out.extend_from_slice(&buf[..r.produced]);
            if r.end {
                assert!(last && at == piece.len(), "stream ends early");
                return out;
            }
            assert!(
                r.consumed > 0 || r.produced > 0 || (at == piece.len() && !last),
                "stream compression stalls"
            );
            assert!(k < 1 << 22, "stream compression does not end");
            if at == piece.len() && r.produced < room && !last {
                break;
            }
        }
    }
    unreachable!("the last piece ends the stream")
}

fn compress_async(comp: &Comp, s: &Session, data: &[u8], cap: usize) -> Vec<u8> {
    let got = Arc::new(Mutex::new(None));
    let g = got.clone();
    let cb = Box::new(move |c: uadk_fuzz::uadk::Completion| {
        *g.lock().unwrap() = Some(c.result.map(|o| match c.dst {
            JobBuf::Flat(mut v) => {
                v.truncate(o.produced);
                v
            }
            _ => unreachable!("flat in, flat out"),
        }));
    });
    if let Err(e) = s.submit(JobBuf::Flat(data.to_vec()), JobBuf::Flat(vec![0; cap]), cb) {
        panic!("async submit fails: {}", e.error);
    }
    for _ in 0..10_000 {
        if let Some(r) = got.lock().unwrap().take() {
            return r.unwrap_or_else(|e| panic!("async compression fails: {e}"));
        }
        comp.poll_wait(1, Duration::from_millis(10)).unwrap();
    }
    panic!("async request never completes");
}

fuzz_target!(|data: &[u8]| {
    let mut d = data;
    let alg = ALGS[take(&mut d) as usize % 4];
    let level = Level::new(take(&mut d) as u32 % 15 + 1).unwrap();
    let window = WindowSize::from_u32(take(&mut d) as u32 % 5).unwrap();
    let mode = take(&mut d) % 6;
    let comp = if take(&mut d) & 1 == 0 { cpu() } else { hw() };
    let n = take(&mut d) as usize % 8;
    let cuts = take_n(&mut d, n);
    let outs = take_n(&mut d, n);
    let setup = SessionSetup::new(alg, OpType::Compress)
        .level(level)
        .window(window);
    let Ok(s) = comp.session(&setup) else {
        return; // a combination this driver does not serve
    };
    let stream_ok = alg != Alg::Lz4;
    let cap = s.compress_bound(d.len()) + 64;
    let packed = match mode {
        0 | 1 | 2 | 5 if d.is_empty() => return, // block requests need input (UADK)
        0 => {
            let mut out = vec![0u8; cap];
            let n = s
                .process(d, &mut out)
                .unwrap_or_else(|e| panic!("block: {e}"));
            out.truncate(n);
            out
        }
        1 => {
            let src = pieces(d, cuts);
            let mut segs: Vec<Vec<u8>> = Vec::new();
            let mut room = cap;
            for &c in cuts.iter().chain(std::iter::repeat(&255)) {
                if room == 0 {
                    break;
                }
                let n = (c as usize * 8 + 1).min(room);
                segs.push(vec![0u8; n]);
                room -= n;
            }
            let mut dst: Vec<&mut [u8]> = segs.iter_mut().map(|v| v.as_mut_slice()).collect();
            let n = s
                .process_sgl(&src, &mut dst)
                .unwrap_or_else(|e| panic!("sgl: {e}"));
            let mut flat = segs.concat();
            flat.truncate(n);
            flat
        }
        2 => {
            let mut out = vec![0u8; cap + 64];
            let n = s
                .process_sync2(d, &mut out)
                .unwrap_or_else(|e| panic!("sync2: {e}"));
            out.truncate(n);
            out
        }
        3 if stream_ok => compress_stream(&s, d, cuts, outs, false),
        4 if stream_ok => compress_stream(&s, d, cuts, outs, true),
        3 | 4 => return,
        _ => compress_async(comp, &s, d, cap),
    };
    if alg != Alg::Lz4 {
        match zlib_inflate(alg, &packed) {
            Verdict::Ok(back, used) => {
                assert!(
                    back == d,
                    "{alg} {level:?} {window:?} mode {mode}: zlib reads other bytes"
                );
                assert_eq!(used, Some(packed.len()), "zlib leaves input unread");
            }
            v => panic!("{alg} {level:?} {window:?} mode {mode}: zlib refuses our stream: {v:?}"),
        }
    }
    let ds = session(cpu(), alg, OpType::Decompress).unwrap();
    let mut back = vec![0u8; d.len().max(1)];
    let n = ds
        .process(&packed, &mut back)
        .unwrap_or_else(|e| panic!("{alg} {level:?} {window:?} mode {mode}: our decoder: {e}"));
    assert!(back[..n] == *d, "our decoder reads other bytes");
});
