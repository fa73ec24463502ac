//! libwd's small calls: the version, the log switches, an accelerator's name from its
//! device path, and a constant-time compare.

use crate::{guard, EINVAL};
use libc::{c_char, c_int, c_void};
use std::ffi::CStr;
use std::ptr;
/// Compare `n` bytes in time that does not depend on where they differ: 0 when equal,
/// nonzero otherwise (the OR of the bytes' differences; not an ordering). UADK after
/// v2.10 exports it for its drivers' MAC and key checks.
#[no_mangle]
pub extern "C" fn memcmp_consttime(s1: *const c_void, s2: *const c_void, n: usize) -> c_int {
    guard(EINVAL, || {
        if n == 0 {
            return 0;
        }
        if s1.is_null() || s2.is_null() {
            return EINVAL;
        }
        // SAFETY: `n` readable bytes at each pointer, by the function's contract.
        let (a, b) = unsafe {
            (
                std::slice::from_raw_parts(s1 as *const u8, n),
                std::slice::from_raw_parts(s2 as *const u8, n),
            )
        };
        let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
        // The fold reads every byte; black_box keeps the compiler from stopping early.
        c_int::from(std::hint::black_box(diff))
    })
}

/// Print the library's version.
#[no_mangle]
pub extern "C" fn wd_get_version() {
    println!(
        "UADK version: {} (uadk-rs {}, Rust)",
        uadk::UADK_API_VERSION,
        uadk::VERSION
    );
}

fn log_level_at_least(level: &str) -> bool {
    // UADK reads its log level from a config file; ours comes from UADK_LOG_LEVEL.
    let want = |l: &str| match l {
        "debug" => 2,
        "info" => 1,
        _ => 0,
    };
    std::env::var("UADK_LOG_LEVEL").is_ok_and(|v| want(&v.to_ascii_lowercase()) >= want(level))
}

/// Whether debug logging is on.
#[no_mangle]
pub extern "C" fn wd_need_debug() -> bool {
    log_level_at_least("debug")
}

/// Whether info logging is on.
#[no_mangle]
pub extern "C" fn wd_need_info() -> bool {
    log_level_at_least("info")
}

/// Accelerator name from a device path (`/dev/hisi_zip-0` → `hisi_zip-0`), in malloc'd memory.
#[no_mangle]
pub extern "C" fn wd_get_accel_name(dev_path: *mut c_char, no_apdx: c_int) -> *mut c_char {
    guard(ptr::null_mut(), || {
        if dev_path.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: NUL-terminated string by contract.
        let Ok(path) = unsafe { CStr::from_ptr(dev_path) }.to_str() else {
            return ptr::null_mut();
        };
        let mut name = path.rsplit('/').next().unwrap_or(path);
        if no_apdx != 0 {
            if let Some((base, tail)) = name.rsplit_once('-') {
                if tail.bytes().all(|b| b.is_ascii_digit()) {
                    name = base;
                }
            }
        }
        if name.is_empty() {
            return ptr::null_mut();
        }
        // SAFETY: malloc'd len+1 bytes, checked, then written in bounds.
        unsafe {
            let p = libc::malloc(name.len() + 1) as *mut u8;
            if !p.is_null() {
                ptr::copy_nonoverlapping(name.as_ptr(), p, name.len());
                *p.add(name.len()) = 0;
            }
            p as *mut c_char
        }
    })
}
