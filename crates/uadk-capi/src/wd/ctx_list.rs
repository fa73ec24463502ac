//! libwd's list of hardware contexts (`wd_bmm.h`): the contexts the alg layers' inits
//! list, and `wd_find_ctx`, which hands them out.

use super::ctx::ctx_ref;
use super::ffi::alg_arg;
use super::numa::numa_distance;
use crate::{guard, handle_t, EINVAL};
use libc::{c_char, c_int};
use std::sync::Mutex;
use uadk::wd::numa::Topology;
/// UADK's `CRYPTO_MAX_ALG_NAME`: an entry's algorithm string is cut to one less.
const CTX_LIST_ALG_MAX: usize = 128;

/// One entry of libwd's list of hardware contexts (`wd_bmm.h`).
struct ListedCtx {
    alg: String,
    h: handle_t,
    node: u32,
    used: bool,
}

/// The contexts the alg layers' inits list for `wd_find_ctx`, in insertion order.
static CTX_LIST: Mutex<Vec<ListedCtx>> = Mutex::new(Vec::new());

fn ctx_list() -> std::sync::MutexGuard<'static, Vec<ListedCtx>> {
    CTX_LIST.lock().unwrap_or_else(|e| e.into_inner())
}

/// Add a context to the list `wd_find_ctx` searches, under `alg_name` (a space-separated
/// list of algorithms, as an alg layer names its contexts). As UADK, only contexts on a
/// hardware queue are listed: one on a CPU pseudo-device is skipped with 0. `-WD_EINVAL`
/// for a NULL name, a zero or released handle.
#[no_mangle]
pub extern "C" fn wd_insert_ctx_list(h_ctx: handle_t, alg_name: *mut c_char) -> c_int {
    guard(EINVAL, || {
        if alg_name.is_null() {
            return EINVAL;
        }
        let Some(c) = ctx_ref(h_ctx) else {
            return EINVAL;
        };
        if c.on_cpu_engine() {
            return 0;
        }
        // SAFETY: NUL-terminated by contract; strnlen reads at most the limit.
        let len = unsafe { libc::strnlen(alg_name, CTX_LIST_ALG_MAX - 1) };
        // SAFETY: `len` bytes at `alg_name` (above).
        let bytes = unsafe { std::slice::from_raw_parts(alg_name as *const u8, len) };
        ctx_list().push(ListedCtx {
            alg: String::from_utf8_lossy(bytes).into_owned(),
            h: h_ctx,
            node: c.node(),
            used: false,
        });
        0
    })
}

/// Empty the list of [`wd_insert_ctx_list`] (an alg layer's uninit does, as UADK's).
#[no_mangle]
pub extern "C" fn wd_remove_ctx_list() {
    guard((), || ctx_list().clear())
}

/// A listed hardware context serving `alg_name` (a substring of its entry's name) not
/// handed out yet: one on the calling CPU's node, else the nearest by NUMA distance. It
/// is marked used. 0 when none is left (or for NULL).
#[no_mangle]
pub extern "C" fn wd_find_ctx(alg_name: *const c_char) -> handle_t {
    guard(0, || {
        let Some(alg) = alg_arg(alg_name) else {
            return 0;
        };
        let here = Topology::get().current_node();
        let mut list = ctx_list();
        let mut nearest: Option<(usize, i32)> = None;
        for (i, e) in list.iter().enumerate() {
            if e.used || !e.alg.contains(alg.as_str()) {
                continue;
            }
            if e.node == here {
                nearest = Some((i, i32::MIN));
                break;
            }
            let d = numa_distance(here, e.node);
            if nearest.is_none_or(|(_, best)| d < best) {
                nearest = Some((i, d));
            }
        }
        match nearest {
            Some((i, _)) => {
                list[i].used = true;
                list[i].h
            }
            None => 0,
        }
    })
}
