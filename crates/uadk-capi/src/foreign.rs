//! A caller's own scheduler (`struct wd_sched` given to `wd_comp_init`), as the core's
//! `Scheduler`. Apart from `sched.rs` so that `comp` (which keeps it with the framework
//! instance) and `sched` (which builds it) do not import each other.

use crate::abi::wd_sched;
use libc::{c_int, c_void};
use uadk::sched::{SchedKey, Scheduler};
use uadk::CtxMode;

type SchedInitFn = unsafe extern "C" fn(usize, *mut c_void) -> usize;
type PickFn = unsafe extern "C" fn(usize, *mut c_void, c_int) -> u32;
type PollFn = unsafe extern "C" fn(usize, u32, *mut u32) -> c_int;

/// A caller's `struct wd_sched`, copied at `wd_comp_init` as UADK does: `sched_init` runs
/// per session, `pick_next_ctx` per request (the framework checks the index it returns),
/// `poll_policy` in `wd_comp_poll`.
pub(crate) struct ForeignSched {
    h: usize,
    init: SchedInitFn,
    pick: PickFn,
    poll: PollFn,
}

impl ForeignSched {
    pub(crate) fn from_c(s: &wd_sched) -> Option<ForeignSched> {
        if s.name.is_null() {
            return None;
        }
        Some(ForeignSched {
            h: s.h_sched_ctx,
            init: s.sched_init?,
            pick: s.pick_next_ctx?,
            poll: s.poll_policy?,
        })
    }

    /// A session's key: what `sched_init` returns for the session's `sched_param`
    /// (UADK frees it with `free()` with the session). `None` for UADK's error values.
    pub(crate) fn session_key(&self, sched_param: *mut c_void) -> Option<usize> {
        // SAFETY: the caller's function, called with its own handle and parameter.
        let key = unsafe { (self.init)(self.h, sched_param) };
        // UADK's WD_IS_ERR: values above (uintptr_t)-1000 are negative error codes.
        (key <= usize::MAX - 999).then_some(key)
    }

    /// `poll_policy`: reap up to `expect` completions (it calls `wd_comp_poll_ctx`).
    pub(crate) fn poll(&self, expect: u32, count: *mut u32) -> c_int {
        // SAFETY: the caller's function with its own handle; `count` is the caller's
        // non-NULL out-pointer, checked by wd_comp_poll.
        unsafe { (self.poll)(self.h, expect, count) }
    }
}

impl Scheduler for ForeignSched {
    fn name(&self) -> &'static str {
        "caller"
    }

    fn pick(&self, key: &SchedKey, mode: CtxMode) -> Option<usize> {
        // SAFETY: the caller's function with its own handle and a key its sched_init made.
        let idx = unsafe { (self.pick)(self.h, key.token as *mut c_void, mode as c_int) };
        // INVALID_POS and any other index are checked by the framework.
        Some(idx as usize)
    }
}
