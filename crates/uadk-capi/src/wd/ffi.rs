//! The C values libwd's calls share: fixed-size string fields, algorithm names from C,
//! UADK's error pointers.

use crate::abi::MAX_ATTR_STR_SIZE;
use libc::{c_char, c_int};
pub(super) fn fill(dst: &mut [c_char], s: &str) {
    for (d, b) in dst.iter_mut().zip(s.bytes().chain(std::iter::once(0))) {
        *d = b as c_char;
    }
    if let Some(last) = dst.last_mut() {
        *last = 0;
    }
}

/// A fixed-size C string field, up to its NUL (or its end).
pub(super) fn field(src: &[c_char]) -> String {
    let bytes: Vec<u8> = src
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// An algorithm name from C: NULL, unterminated within UADK's limit, or not UTF-8 is none.
pub(super) fn alg_arg(alg_name: *const c_char) -> Option<String> {
    if alg_name.is_null() {
        return None;
    }
    // SAFETY: non-NULL string by contract; strnlen reads at most the limit.
    let len = unsafe { libc::strnlen(alg_name, MAX_ATTR_STR_SIZE) };
    if len >= MAX_ATTR_STR_SIZE {
        return None;
    }
    // SAFETY: `len` bytes before the NUL just found.
    let bytes = unsafe { std::slice::from_raw_parts(alg_name as *const u8, len) };
    std::str::from_utf8(bytes).ok().map(str::to_string)
}

/// UADK's error pointers (`WD_ERR_PTR(-err)`).
pub(super) fn err_ptr<T>(err: c_int) -> *mut T {
    (err as isize) as usize as *mut T
}
