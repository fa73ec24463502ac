//! UADK's zlib-style wrapper (`wd_zlibwrapper.h`): `wd_deflate*` / `wd_inflate*` over
//! sessions of the shared framework instance.

use crate::abi::*;
use crate::comp::{install, with_sess};
use crate::{guard, handle_t};
use libc::c_int;
use std::sync::Mutex;
use uadk::{Alg, Comp, CompConfig, CtxMode, OpType, WindowSize};

const Z_OK: c_int = 0;
const Z_STREAM_END: c_int = 1;
const Z_STREAM_ERROR: c_int = -2;
const Z_DATA_ERROR: c_int = -3;
const Z_BUF_ERROR: c_int = -5;
const Z_SYNC_FLUSH: c_int = 2;
const Z_FINISH: c_int = 4;
const Z_DEFAULT_COMPRESSION: c_int = -1;

/// Whether this wrapper holds its reference on the framework instance (taken on first use
/// and kept for the life of the process, as UADK's wrapper does).
static WRAPPER_INIT: Mutex<bool> = Mutex::new(false);

fn ensure_init() -> bool {
    let mut done = WRAPPER_INIT.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return true;
    }
    let rc = install(|| {
        let cfg = CompConfig::from_env()?
            .alg(Alg::Zlib)
            .ctxs(CtxMode::Sync, OpType::Compress, 2)
            .ctxs(CtxMode::Sync, OpType::Decompress, 2);
        Comp::new(cfg)
    });
    *done = rc == 0 || rc == -libc::EEXIST;
    *done
}

/// zlib's window bits → algorithm and window (UADK's mapping: 24K is widened to 32K).
fn analyse(wbits: c_int) -> Option<(Alg, WindowSize)> {
    let (alg, bits) = match wbits {
        -15..=-8 => (Alg::Deflate, -wbits),
        8..=15 => (Alg::Zlib, wbits),
        24..=31 => (Alg::Gzip, wbits - 16),
        _ => return None,
    };
    let ws = match bits {
        ..=12 => WindowSize::W4K,
        13 => WindowSize::W8K,
        14 => WindowSize::W16K,
        _ => WindowSize::W32K,
    };
    Some((alg, ws))
}

fn init(strm: *mut z_stream, level: c_int, wbits: c_int, op: OpType) -> c_int {
    guard(Z_STREAM_ERROR, || {
        if strm.is_null() || !ensure_init() {
            return Z_STREAM_ERROR;
        }
        let Some((alg, window)) = analyse(wbits) else {
            return Z_STREAM_ERROR;
        };
        let level = if level == Z_DEFAULT_COMPRESSION {
            6
        } else {
            level
        };
        let Ok(level) = uadk::Level::new(level.max(1) as u32) else {
            return Z_STREAM_ERROR;
        };
        let setup = wd_comp_sess_setup {
            alg_type: alg as u32,
            comp_lv: level.get(),
            win_sz: window as u32,
            op_type: op as u32,
            sched_param: std::ptr::null_mut(),
            mm_ops: wd_mm_ops::default(),
            mm_type: 0,
        };
        let h = crate::comp::wd_comp_alloc_sess(&setup as *const _ as *mut _);
        if h == 0 {
            return Z_STREAM_ERROR;
        }
        // SAFETY: non-NULL z_stream of the caller.
        let s = unsafe { &mut *strm };
        s.total_in = 0;
        s.total_out = 0;
        s.reserved = h as u64;
        Z_OK
    })
}

fn run(strm: *mut z_stream, flush: c_int) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // UADK's wrapper takes only these two (wd_zlibwrapper.c, wd_zlib_do_request).
        if strm.is_null() || (flush != Z_SYNC_FLUSH && flush != Z_FINISH) {
            return Z_STREAM_ERROR;
        }
        // SAFETY: non-NULL z_stream of the caller.
        let z = unsafe { &mut *strm };
        if (z.next_in.is_null() && z.avail_in > 0) || z.next_out.is_null() || z.avail_out == 0 {
            return Z_BUF_ERROR;
        }
        with_sess(z.reserved as handle_t, |s, _| {
            let src: &[u8] = if z.avail_in == 0 {
                &[]
            } else {
                // SAFETY: avail_in bytes at next_in, by zlib's contract.
                unsafe { std::slice::from_raw_parts(z.next_in, z.avail_in as usize) }
            };
            // SAFETY: avail_out bytes at next_out, by zlib's contract.
            let dst = unsafe { std::slice::from_raw_parts_mut(z.next_out, z.avail_out as usize) };
            match s.stream(src, dst, flush == Z_FINISH) {
                Ok(o) => {
                    // SAFETY: advancing within the buffers just described.
                    unsafe {
                        z.next_in = z.next_in.add(o.consumed);
                        z.next_out = z.next_out.add(o.produced);
                    }
                    z.avail_in -= o.consumed as u32;
                    z.avail_out -= o.produced as u32;
                    z.total_in += o.consumed as u64;
                    z.total_out += o.produced as u64;
                    if o.end {
                        Z_STREAM_END
                    } else if o.consumed == 0 && o.produced == 0 {
                        Z_BUF_ERROR
                    } else {
                        Z_OK
                    }
                }
                Err(e) if e.is_data_error() => Z_DATA_ERROR,
                Err(_) => Z_STREAM_ERROR,
            }
        })
        .unwrap_or(Z_STREAM_ERROR)
    })
}

fn reset(strm: *mut z_stream) -> c_int {
    guard(Z_STREAM_ERROR, || {
        if strm.is_null() {
            return Z_STREAM_ERROR;
        }
        // SAFETY: non-NULL z_stream of the caller.
        let z = unsafe { &mut *strm };
        z.total_in = 0;
        z.total_out = 0;
        if crate::comp::wd_comp_reset_sess(z.reserved as handle_t) == 0 {
            Z_OK
        } else {
            Z_STREAM_ERROR
        }
    })
}

fn end(strm: *mut z_stream) -> c_int {
    guard(Z_STREAM_ERROR, || {
        if strm.is_null() {
            return Z_STREAM_ERROR;
        }
        // SAFETY: non-NULL z_stream of the caller.
        let z = unsafe { &mut *strm };
        crate::comp::wd_comp_free_sess(z.reserved as handle_t);
        z.reserved = 0;
        Z_OK
    })
}

/// Start compressing (`windowbits` as zlib: -15..-8 raw, 8..15 zlib, 24..31 gzip).
#[no_mangle]
pub extern "C" fn wd_deflate_init(strm: *mut z_stream, level: c_int, windowbits: c_int) -> c_int {
    init(strm, level, windowbits, OpType::Compress)
}

/// Compress; `Z_FINISH` ends the stream, `Z_SYNC_FLUSH` does not; any other `flush` is
/// `Z_STREAM_ERROR`, as in UADK.
#[no_mangle]
pub extern "C" fn wd_deflate(strm: *mut z_stream, flush: c_int) -> c_int {
    run(strm, flush)
}

/// Start a new compression stream on the same state.
#[no_mangle]
pub extern "C" fn wd_deflate_reset(strm: *mut z_stream) -> c_int {
    reset(strm)
}

/// Free the compression state.
#[no_mangle]
pub extern "C" fn wd_deflate_end(strm: *mut z_stream) -> c_int {
    end(strm)
}

/// Start decompressing.
#[no_mangle]
pub extern "C" fn wd_inflate_init(strm: *mut z_stream, windowbits: c_int) -> c_int {
    init(strm, 1, windowbits, OpType::Decompress)
}

/// Decompress; returns `Z_STREAM_END` at the end of the stream. `flush` must be
/// `Z_SYNC_FLUSH` or `Z_FINISH` (else `Z_STREAM_ERROR`, as in UADK).
#[no_mangle]
pub extern "C" fn wd_inflate(strm: *mut z_stream, flush: c_int) -> c_int {
    run(strm, flush)
}

/// Start a new decompression stream on the same state.
#[no_mangle]
pub extern "C" fn wd_inflate_reset(strm: *mut z_stream) -> c_int {
    reset(strm)
}

/// Free the decompression state.
#[no_mangle]
pub extern "C" fn wd_inflate_end(strm: *mut z_stream) -> c_int {
    end(strm)
}
