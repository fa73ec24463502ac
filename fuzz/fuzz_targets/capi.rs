//! The C ABI driven as a C caller drives it: `wd_do_comp_sync`, `wd_do_comp_sync2`,
//! `wd_do_comp_strm` (flat and SGL), and the zlib wrapper (`wd_deflate` / `wd_inflate`,
//! any flush value), with fuzzer-chosen session setups, lengths, pieces and handle values.
//! Never a crash or a sanitizer report; decompression results agree with the C zlib;
//! compressed output is read back by the C zlib; a handle that was never issued, or was
//! freed, is refused.
//!
//! Input: scenario byte, then its parameters and payload (see each arm).
#![no_main]

use libc::c_void;
use libfuzzer_sys::fuzz_target;
use std::ptr;
use std::sync::Once;
use uadk_capi::abi::{wd_comp_req, wd_comp_sess_setup, wd_datalist, wd_mm_ops, z_stream};
use uadk_capi::{comp, zlib};
use uadk_fuzz::uadk::wd::status::*;
use uadk_fuzz::uadk::{Alg, OpType};
use uadk_fuzz::*;

const Z_OK: i32 = 0;
const Z_STREAM_END: i32 = 1;
const Z_STREAM_ERROR: i32 = -2;
const Z_SYNC_FLUSH: i32 = 2;
const Z_FINISH: i32 = 4;
const EINVAL: i32 = -WD_EINVAL;

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let mut alg = *b"zlib\0";
        // TASK_INSTR: the CPU engine.
        let rc = comp::wd_comp_init2_(alg.as_mut_ptr().cast(), 0, 2, ptr::null_mut());
        assert_eq!(rc, 0, "wd_comp_init2");
    });
}

fn alloc(alg: u32, op: u32, lv: u32, win: u32) -> usize {
    let mut s = wd_comp_sess_setup {
        alg_type: alg,
        comp_lv: lv,
        win_sz: win,
        op_type: op,
        sched_param: ptr::null_mut(),
        mm_ops: wd_mm_ops::default(),
        mm_type: 0,
    };
    comp::wd_comp_alloc_sess(&mut s)
}

fn req(src: *const u8, src_len: usize, dst: *mut u8, dst_len: usize, op: OpType) -> wd_comp_req {
    wd_comp_req {
        src: src as *mut c_void,
        src_len: src_len as u32,
        dst: dst.cast(),
        dst_len: dst_len as u32,
        cb: None,
        cb_param: ptr::null_mut(),
        op_type: op as u32,
        data_fmt: 0,
        last: 1,
        status: 0,
        priv_: ptr::null_mut(),
    }
}

/// A C caller's verdict on a finished decompression request.
fn verdict_of(rc: i32, r: &wd_comp_req, out: &[u8]) -> Verdict {
    match (rc, r.status as i32) {
        (0, WD_SUCCESS) | (0, WD_STREAM_END) => {
            Verdict::Ok(out[..r.dst_len as usize].to_vec(), Some(r.src_len as usize))
        }
        (0, WD_OUT_EPARA) => Verdict::TooBig,
        (0, WD_IN_EPARA) => Verdict::Bad("WD_IN_EPARA".into()),
        (rc, st) => panic!("decompression: return {rc} status {st} (want 0 with a status)"),
    }
}

/// zlib's verdict, as seen through an output of `room` bytes.
fn zlib_in(alg: Alg, input: &[u8], room: usize) -> Verdict {
    match zlib_inflate(alg, input) {
        Verdict::Ok(b, _) if b.len() > room => Verdict::TooBig,
        v => v,
    }
}

fn check(alg: Alg, input: &[u8], what: &str, ours: Verdict, room: usize) {
    if alg.is_deflate_family() {
        assert_agree(
            input,
            alg,
            &[("zlib", zlib_in(alg, input, room)), (what, ours)],
        );
    }
}

fn block(d: &mut &[u8], sync2: bool) {
    let alg = [Alg::Deflate, Alg::Zlib, Alg::Gzip, Alg::Lz4][take(d) as usize % 4];
    let room = (u16::from_le_bytes([take(d), take(d)]) as usize % CAP) + 1;
    let h = alloc(alg as u32, 1, 0, 0);
    assert_ne!(h, 0);
    let input = *d;
    let mut out = vec![0u8; room];
    // A one-byte source when the input is empty: src_len 0 is refused before anything.
    let mut r = req(
        input.as_ptr(),
        input.len(),
        out.as_mut_ptr(),
        room,
        OpType::Decompress,
    );
    let rc = if sync2 {
        comp::wd_do_comp_sync2(h, &mut r)
    } else {
        comp::wd_do_comp_sync(h, &mut r)
    };
    if input.is_empty() {
        assert_eq!(rc, EINVAL, "an empty source is refused");
    } else if !(sync2 && alg == Alg::Lz4) {
        let what = if sync2 {
            "wd_do_comp_sync2"
        } else {
            "wd_do_comp_sync"
        };
        let mut v = verdict_of(rc, &r, &out);
        if sync2 {
            // sync2 reports all input as taken.
            if let Verdict::Ok(_, u) = &mut v {
                *u = None;
            }
        }
        check(alg, input, what, v, room);
    }
    comp::wd_comp_free_sess(h);
}

fn sgl(d: &mut &[u8]) {
    let alg = DEFLATE_ALGS[take(d) as usize % 3];
    let n = take(d) as usize % 8;
    let cuts = take_n(d, n);
    let input = *d;
    if input.is_empty() {
        return;
    }
    let h = alloc(alg as u32, 1, 0, 0);
    let src: Vec<Vec<u8>> = pieces(input, cuts).iter().map(|p| p.to_vec()).collect();
    let mut dst: Vec<Vec<u8>> = (0..16).map(|i| vec![0u8; (i * 977) % 8192 + 1]).collect();
    let room: usize = dst.iter().map(|v| v.len()).sum();
    let mut sl: Vec<wd_datalist> = src
        .iter()
        .map(|p| wd_datalist {
            data: p.as_ptr() as *mut c_void,
            len: p.len() as u32,
            next: ptr::null_mut(),
        })
        .collect();
    let mut dl: Vec<wd_datalist> = dst
        .iter_mut()
        .map(|p| wd_datalist {
            data: p.as_mut_ptr().cast(),
            len: p.len() as u32,
            next: ptr::null_mut(),
        })
        .collect();
    for l in [&mut sl, &mut dl] {
        for i in 1..l.len() {
            let next: *mut wd_datalist = &mut l[i];
            l[i - 1].next = next;
        }
    }
    let mut r = req(
        sl.as_ptr().cast(),
        input.len(),
        dl.as_mut_ptr().cast(),
        room,
        OpType::Decompress,
    );
    r.data_fmt = 1;
    let rc = comp::wd_do_comp_sync(h, &mut r);
    let flat = dst.concat();
    check(
        alg,
        input,
        "wd_do_comp_sync (SGL)",
        verdict_of(rc, &r, &flat),
        room,
    );
    comp::wd_comp_free_sess(h);
}

fn strm_decompress(d: &mut &[u8]) {
    let alg = DEFLATE_ALGS[take(d) as usize % 3];
    let n = take(d) as usize % 16;
    let cuts = take_n(d, n);
    let outs = take_n(d, n);
    let input = *d;
    let h = alloc(alg as u32, 1, 0, 0);
    let src = pieces(input, cuts);
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    let (mut k, mut taken) = (0usize, 0usize);
    let mut v = None;
    'pieces: for (i, piece) in src.iter().enumerate() {
        let last = i + 1 == src.len();
        let mut at = 0;
        loop {
            let room = outs
                .get(k % outs.len().max(1))
                .map_or(256, |&o| o as usize + 1);
            k += 1;
            let mut r = req(
                piece[at..].as_ptr(),
                piece.len() - at,
                buf.as_mut_ptr(),
                room,
                OpType::Decompress,
            );
            r.last = last as u32;
            let rc = comp::wd_do_comp_strm(h, &mut r);
            if rc != 0 || r.status as i32 == WD_IN_EPARA {
                assert!(rc == 0 || rc == EINVAL, "wd_do_comp_strm returns {rc}");
                v = Some(Verdict::Bad(format!("rc {rc} status {}", r.status)));
                break 'pieces;
            }
            assert!(r.src_len as usize <= piece.len() - at && r.dst_len as usize <= room);
            at += r.src_len as usize;
            taken += r.src_len as usize;
            out.extend_from_slice(&buf[..r.dst_len as usize]);
            if r.status as i32 == WD_STREAM_END {
                v = Some(if out.len() > CAP {
                    Verdict::TooBig
                } else {
                    Verdict::Ok(std::mem::take(&mut out), Some(taken))
                });
                break 'pieces;
            }
            if out.len() > CAP {
                v = Some(Verdict::TooBig);
                break 'pieces;
            }
            if r.src_len == 0 && r.dst_len == 0 {
                v = (at < piece.len() || last).then(|| Verdict::Bad("no progress".into()));
                if v.is_some() {
                    break 'pieces;
                }
                break;
            }
            if at == piece.len() && (r.dst_len as usize) < room && !last {
                break;
            }
        }
    }
    let v = v.unwrap_or_else(|| Verdict::Bad("input ends first".into()));
    check(alg, input, "wd_do_comp_strm", v, CAP);
    comp::wd_comp_free_sess(h);
}

fn compress(d: &mut &[u8], stream: bool) {
    let alg = [Alg::Deflate, Alg::Zlib, Alg::Gzip, Alg::Lz4][take(d) as usize % 4];
    let (lv, win) = (take(d) as u32 % 17, take(d) as u32 % 6);
    let n = take(d) as usize % 8;
    let cuts = take_n(d, n);
    let data = *d;
    let h = alloc(alg as u32, 0, lv, win);
    if lv > 15 || win > 4 {
        assert_eq!(h, 0, "a session with level {lv} window {win}");
        return;
    }
    assert_ne!(h, 0);
    let mut packed = Vec::new();
    let mut buf = vec![0u8; 2 * data.len() + 1024];
    if !stream {
        let mut r = req(
            data.as_ptr(),
            data.len(),
            buf.as_mut_ptr(),
            buf.len(),
            OpType::Compress,
        );
        let rc = comp::wd_do_comp_sync(h, &mut r);
        if data.is_empty() {
            assert_eq!(rc, EINVAL);
            comp::wd_comp_free_sess(h);
            return;
        }
        assert!(
            rc == 0 && r.status == 0,
            "wd_do_comp_sync compress: {rc} {}",
            r.status
        );
        packed.extend_from_slice(&buf[..r.dst_len as usize]);
    } else if alg != Alg::Lz4 {
        // A UADK caller: offer each piece until it is all taken; the last call sets `last`
        // and the stream has ended when all of its input is taken.
        let src = pieces(data, cuts);
        for (i, piece) in src.iter().enumerate() {
            let last = i + 1 == src.len();
            let mut at = 0;
            for round in 0.. {
                assert!(round < 100_000, "wd_do_comp_strm does not finish");
                let room = 64 + (round * 7919 + i) % 512;
                let mut r = req(
                    piece[at..].as_ptr(),
                    piece.len() - at,
                    buf.as_mut_ptr(),
                    room,
                    OpType::Compress,
                );
                r.last = last as u32;
                let rc = comp::wd_do_comp_strm(h, &mut r);
                assert!(
                    rc == 0 && r.status == 0,
                    "wd_do_comp_strm compress: {rc} {}",
                    r.status
                );
                at += r.src_len as usize;
                packed.extend_from_slice(&buf[..r.dst_len as usize]);
                if at == piece.len() && (r.dst_len as usize) < room {
                    break;
                }
            }
        }
    } else {
        comp::wd_comp_free_sess(h);
        return;
    }
    if alg.is_deflate_family() {
        match zlib_inflate(alg, &packed) {
            Verdict::Ok(back, _) => assert!(back == data, "zlib reads other bytes"),
            v => panic!("zlib refuses what the C ABI compressed: {v:?}"),
        }
    } else {
        let dh = alloc(alg as u32, 1, 0, 0);
        let mut back = vec![0u8; data.len() + 1];
        let mut r = req(
            packed.as_ptr(),
            packed.len(),
            back.as_mut_ptr(),
            back.len(),
            OpType::Decompress,
        );
        let rc = comp::wd_do_comp_sync(dh, &mut r);
        assert!(rc == 0 && r.status == 0 && back[..r.dst_len as usize] == *data);
        comp::wd_comp_free_sess(dh);
    }
    comp::wd_comp_free_sess(h);
}

/// A flush value UADK's wrapper refuses (anything but Z_SYNC_FLUSH and Z_FINISH).
fn bad_flush(f: u8) -> i32 {
    match (f & 0x7f) as i32 - 8 {
        Z_SYNC_FLUSH | Z_FINISH => 99,
        v => v,
    }
}

fn zstream() -> z_stream {
    // SAFETY: z_stream is plain data; all-zero is a valid (uninitialised) value.
    unsafe { std::mem::zeroed() }
}

fn wrapper_inflate(d: &mut &[u8]) {
    let wbits = [-15, 15, 31, 8, -8, 24, 0, 16, 47][take(d) as usize % 9];
    let n = take(d) as usize % 16;
    let flushes = take_n(d, n);
    let cuts = take_n(d, n);
    let input = *d;
    let mut z = zstream();
    let rc = zlib::wd_inflate_init(&mut z, wbits);
    let alg = match wbits {
        -15..=-8 => Alg::Deflate,
        8..=15 => Alg::Zlib,
        24..=31 => Alg::Gzip,
        _ => {
            assert_eq!(rc, Z_STREAM_ERROR, "wd_inflate_init({wbits})");
            return;
        }
    };
    assert_eq!(rc, Z_OK);
    let src = pieces(input, cuts);
    let mut out = Vec::new();
    let mut buf = [0u8; 300];
    let mut k = 0;
    let mut v = None;
    'pieces: for (i, piece) in src.iter().enumerate() {
        let mut at = 0;
        loop {
            let last = i + 1 == src.len();
            // The first calls take the fuzzer's flush values (UADK refuses all but two);
            // then Z_SYNC_FLUSH, or Z_FINISH for the last piece.
            let f = match flushes.get(k) {
                Some(&f) if f & 0x80 != 0 => bad_flush(f),
                Some(&f) if last && f & 1 != 0 => Z_FINISH,
                _ => Z_SYNC_FLUSH,
            };
            let room = 1 + (k * 37) % 300;
            k += 1;
            z.next_in = piece[at..].as_ptr();
            z.avail_in = (piece.len() - at) as u32;
            z.next_out = buf.as_mut_ptr();
            z.avail_out = room as u32;
            let rc = zlib::wd_inflate(&mut z, f);
            if f != Z_SYNC_FLUSH && f != Z_FINISH {
                assert!(
                    rc == Z_STREAM_ERROR && z.avail_in as usize == piece.len() - at,
                    "flush {f}: {rc}"
                );
                continue;
            }
            let used = piece.len() - at - z.avail_in as usize;
            let made = room - z.avail_out as usize;
            at += used;
            out.extend_from_slice(&buf[..made]);
            match rc {
                Z_STREAM_END if out.len() > CAP => {
                    v = Some(Verdict::TooBig);
                    break 'pieces;
                }
                Z_STREAM_END => {
                    v = Some(Verdict::Ok(std::mem::take(&mut out), None));
                    break 'pieces;
                }
                Z_OK if out.len() > CAP => {
                    v = Some(Verdict::TooBig);
                    break 'pieces;
                }
                Z_OK => {}
                rc => {
                    // Z_BUF_ERROR: no progress possible with the input given.
                    if rc != -5 || at < piece.len() || last {
                        v = Some(Verdict::Bad(format!("wd_inflate: {rc}")));
                        break 'pieces;
                    }
                    break;
                }
            }
            if at == piece.len() && made < room {
                if last {
                    v = Some(Verdict::Bad("input ends first".into()));
                    break 'pieces;
                }
                break;
            }
        }
    }
    let v = v.unwrap_or_else(|| Verdict::Bad("input ends first".into()));
    check(alg, input, "wd_inflate", v, CAP);
    assert_eq!(zlib::wd_inflate_end(&mut z), Z_OK);
}

fn wrapper_deflate(d: &mut &[u8]) {
    let wbits = [-15, 15, 31, -9, 9, 25][take(d) as usize % 6];
    let level = (take(d) % 11) as i32 - 1;
    let n = take(d) as usize % 16;
    let flushes = take_n(d, n);
    let cuts = take_n(d, n);
    let data = *d;
    let mut z = zstream();
    assert_eq!(zlib::wd_deflate_init(&mut z, level, wbits), Z_OK);
    let alg = match wbits {
        w if w < 0 => Alg::Deflate,
        w if w < 16 => Alg::Zlib,
        _ => Alg::Gzip,
    };
    let src = pieces(data, cuts);
    let mut packed = Vec::new();
    let mut buf = [0u8; 700];
    let mut k = 0;
    for (i, piece) in src.iter().enumerate() {
        let last = i + 1 == src.len();
        let mut at = 0;
        loop {
            assert!(k < 1 << 20, "wd_deflate does not finish");
            let f = if let Some(&f) = flushes.get(k).filter(|&&f| f & 0x80 != 0) {
                bad_flush(f)
            } else if last {
                Z_FINISH
            } else {
                Z_SYNC_FLUSH
            };
            let room = 1 + (k * 131) % 700;
            k += 1;
            z.next_in = piece[at..].as_ptr();
            z.avail_in = (piece.len() - at) as u32;
            z.next_out = buf.as_mut_ptr();
            z.avail_out = room as u32;
            let rc = zlib::wd_deflate(&mut z, f);
            if f != Z_SYNC_FLUSH && f != Z_FINISH {
                assert_eq!(rc, Z_STREAM_ERROR, "flush {f}");
                continue;
            }
            at += piece.len() - at - z.avail_in as usize;
            let made = room - z.avail_out as usize;
            packed.extend_from_slice(&buf[..made]);
            assert!(
                rc == Z_OK || rc == Z_STREAM_END || rc == -5,
                "wd_deflate: {rc}"
            );
            if rc == Z_STREAM_END {
                break;
            }
            if at == piece.len() && made < room && f == Z_SYNC_FLUSH {
                break;
            }
        }
    }
    match zlib_inflate(alg, &packed) {
        Verdict::Ok(back, _) => assert!(back == data, "zlib reads other bytes"),
        v => panic!("zlib refuses what wd_deflate made: {v:?}"),
    }
    assert_eq!(zlib::wd_deflate_end(&mut z), Z_OK);
}

/// Handle values from the input: never issued (or freed just before) must be refused.
fn bogus(d: &mut &[u8]) {
    let mut b = [0u8; 8];
    b.copy_from_slice(&[
        take(d),
        take(d),
        take(d),
        take(d),
        take(d),
        take(d),
        take(d),
        take(d),
    ]);
    let gone = alloc(1, 1, 0, 0);
    comp::wd_comp_free_sess(gone);
    let v = u64::from_le_bytes(b) as usize;
    let live = alloc(1, 0, 0, 0);
    for h in [v, gone, v.wrapping_add(gone), gone + 1 + (v % 64)] {
        if h == live {
            continue;
        }
        let page = [7u8; 64];
        let mut out = [0u8; 256];
        for f in [
            comp::wd_do_comp_sync,
            comp::wd_do_comp_sync2,
            comp::wd_do_comp_strm,
        ] {
            let mut r = req(
                page.as_ptr(),
                page.len(),
                out.as_mut_ptr(),
                out.len(),
                OpType::Compress,
            );
            assert_eq!(f(h, &mut r), EINVAL, "handle {h:#x}");
        }
        assert_eq!(comp::wd_comp_reset_sess(h), EINVAL);
        comp::wd_comp_free_sess(h);
        let mut z = zstream();
        z.next_in = page.as_ptr();
        z.avail_in = 64;
        z.next_out = out.as_mut_ptr();
        z.avail_out = 256;
        z.reserved = h as u64;
        assert_eq!(zlib::wd_deflate(&mut z, Z_FINISH), Z_STREAM_ERROR);
        assert_eq!(zlib::wd_inflate(&mut z, Z_SYNC_FLUSH), Z_STREAM_ERROR);
        zlib::wd_deflate_end(&mut z);
    }
    // The live session still works.
    let page = [7u8; 64];
    let mut out = [0u8; 256];
    let mut r = req(
        page.as_ptr(),
        page.len(),
        out.as_mut_ptr(),
        out.len(),
        OpType::Compress,
    );
    assert_eq!(comp::wd_do_comp_sync(live, &mut r), 0);
    comp::wd_comp_free_sess(live);
}

fuzz_target!(|data: &[u8]| {
    init();
    let mut d = data;
    match take(&mut d) % 9 {
        0 => block(&mut d, false),
        1 => block(&mut d, true),
        2 => sgl(&mut d),
        3 => strm_decompress(&mut d),
        4 => compress(&mut d, false),
        5 => compress(&mut d, true),
        6 => wrapper_inflate(&mut d),
        7 => wrapper_deflate(&mut d),
        _ => bogus(&mut d),
    }
});
