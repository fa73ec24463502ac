//! The C ABI of UADK v2.10's `libwd` and `libwd_comp`, over the `uadk` crate.
//!
//! Struct layouts mirror UADK's headers (`capi/include/uadk/*.h`); `tests/abi.rs` compares
//! them with what the C compiler sees. Every entry point catches panics and validates its
//! pointers, so a bad call returns an error code instead of crashing.

// The C names are the ABI.
#![allow(non_camel_case_types)]
// Entry points take raw pointers from C: each dereference is checked for NULL and guarded
// by a SAFETY comment; marking them `unsafe fn` would only move that burden to C callers.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod abi;
pub mod alg;
pub mod comp;
mod handles;
mod lz77;
pub mod mempool;
pub mod sched;
pub mod wd;
pub mod zlib;

use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// UADK's `handle_t`.
pub type handle_t = usize;

/// Run an entry point's body; a panic becomes `on_panic` (a Rust bug must not unwind into C).
pub(crate) fn guard<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// Negative UADK status for an error.
pub(crate) fn neg(e: &uadk::Error) -> i32 {
    e.wd_code()
}

/// `-WD_EINVAL`.
pub(crate) const EINVAL: i32 = -libc::EINVAL;

/// The address of `libwd.so.2`'s export `name`, when that library is loaded; `None`
/// otherwise (a program linking this crate directly has one copy of everything).
///
/// The Rust core is linked into both libraries; state that UADK keeps in libwd (the
/// context list of `wd_bmm.h`) must be libwd's own even when libwd_comp's init fills it,
/// so libwd_comp calls libwd's entry points through their exported addresses.
pub(crate) fn libwd_export(name: &CStr) -> Option<usize> {
    // SAFETY: RTLD_NOLOAD only looks the library up (it is loaded as libwd_comp's
    // dependency, or not at all); the handle is closed after the lookup, which leaves it
    // loaded (the lookup took a reference, the close gives it back).
    unsafe {
        let lib = libc::dlopen(c"libwd.so.2".as_ptr(), libc::RTLD_NOLOAD | libc::RTLD_LAZY);
        if lib.is_null() {
            return None;
        }
        let f = libc::dlsym(lib, name.as_ptr());
        libc::dlclose(lib);
        (!f.is_null()).then_some(f as usize)
    }
}
