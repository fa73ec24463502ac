//! Reaping async completions: `wd_comp_poll` (the scheduler's poll policy after
//! `wd_comp_init`), `wd_comp_poll_ctx`; and `wd_comp_get_msg`, UADK's message pool.

use super::instance::{current, global};
use crate::{guard, neg, EINVAL};
use libc::{c_int, c_void};
use uadk::Comp;
fn poll_with(count: *mut u32, f: impl FnOnce(&Comp) -> uadk::Result<u32>) -> c_int {
    guard(EINVAL, || {
        if count.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL pointer to the caller's counter.
        unsafe { *count = 0 };
        let Some(comp) = current() else { return EINVAL };
        match f(&comp) {
            Ok(n) => {
                // SAFETY: as above.
                unsafe { *count = n };
                0
            }
            Err(e) => neg(&e),
        }
    })
}

/// Reap up to `expt` async completions. After `wd_comp_init`, the scheduler's
/// `poll_policy` does it, as in UADK (ours calls the `user_poll_func` given to
/// `wd_sched_rr_alloc` for each async context); otherwise every async context is polled.
#[no_mangle]
pub extern "C" fn wd_comp_poll(expt: u32, count: *mut u32) -> c_int {
    // One look at the framework for both (a poll that finds nothing is the hot case).
    let (policy, comp) = guard((None, None), || {
        let g = global();
        (
            g.poll,
            if g.poll.is_none() {
                g.comp.clone()
            } else {
                None
            },
        )
    });
    if let Some(p) = policy {
        if count.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL pointer to the caller's counter; the policy adds to it.
        unsafe { *count = 0 };
        return guard(EINVAL, || p.poll(expt, count));
    }
    guard(EINVAL, || {
        if count.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL pointer to the caller's counter.
        unsafe { *count = 0 };
        let Some(comp) = comp else { return EINVAL };
        match comp.poll(expt) {
            Ok(n) => {
                // SAFETY: as above.
                unsafe { *count = n };
                0
            }
            Err(e) => neg(&e),
        }
    })
}

/// Reap up to `expt` async completions of one context; `expt` 0 is refused with
/// `-WD_EINVAL`, as UADK does (it means "all" only for `wd_comp_poll` here).
#[no_mangle]
pub extern "C" fn wd_comp_poll_ctx(idx: u32, expt: u32, count: *mut u32) -> c_int {
    if expt == 0 {
        return EINVAL;
    }
    poll_with(count, |c| c.poll_ctx(idx as usize, expt))
}

/// A hardware driver's async message for context `idx` and `tag` (UADK's message pool,
/// which its drivers read back on completion). `wd_comp` here hands no request to a C
/// driver: the core owns every async request, so the pool holds no message and every
/// `(idx, tag)` answers NULL, as UADK answers for a tag outside its pool.
#[no_mangle]
pub extern "C" fn wd_comp_get_msg(_idx: u32, _tag: u32) -> *mut c_void {
    std::ptr::null_mut()
}
