//! `wd_sched.h`: the round-robin scheduler objects of `wd_sched_rr_alloc`, and what
//! `wd_comp_init` makes of the `struct wd_sched` it is given (`for_init`).
//!
//! A scheduler is ours because `wd_sched_rr_alloc` allocated it: its address is in a
//! registry until `wd_sched_rr_release`. Its fields are the caller's to change (UADK's own
//! programs overwrite `name`), so none of them decides whose it is. This module does not
//! depend on `comp`: `comp` asks it what a scheduler is and calls it.

use crate::abi::*;
use crate::{guard, EINVAL};
use libc::{c_char, c_int, c_void};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use uadk::sched::{SchedKey, Scheduler};
use uadk::{CtxMode, SchedPolicy};

type SchedInitFn = unsafe extern "C" fn(usize, *mut c_void) -> usize;
type PickFn = unsafe extern "C" fn(usize, *mut c_void, c_int) -> u32;
type PollFn = unsafe extern "C" fn(usize, u32, *mut u32) -> c_int;

/// `INVALID_POS`: no context.
const INVALID_POS: u32 = 0xffff_ffff;
/// UADK's `MAX_POLL_TIMES`: passes over the regions one `wd_comp_poll` makes at most.
const MAX_POLL_TIMES: u32 = 1000;

/// A scheduler's `poll_policy` with its handle, as `wd_comp_init` copied them: what
/// `wd_comp_poll` calls.
#[derive(Clone, Copy)]
pub(crate) struct PollPolicy {
    h: usize,
    f: PollFn,
}

impl PollPolicy {
    /// Reap up to `expect` completions (the policy calls `wd_comp_poll_ctx`).
    pub(crate) fn poll(&self, expect: u32, count: *mut u32) -> c_int {
        // SAFETY: the scheduler's own function with its own handle; `count` is the
        // caller's non-NULL out-pointer, checked by wd_comp_poll.
        unsafe { (self.f)(self.h, expect, count) }
    }
}

/// A caller's `struct wd_sched`, copied at `wd_comp_init` as UADK does: `sched_init` runs
/// per session, `pick_next_ctx` per request (the framework checks the index it returns),
/// `poll_policy` in `wd_comp_poll`.
pub(crate) struct ForeignSched {
    h: usize,
    init: SchedInitFn,
    pick: PickFn,
    poll: PollPolicy,
}

impl ForeignSched {
    /// A session's key: what `sched_init` returns for the session's `sched_param`
    /// (UADK frees it with `free()` with the session). `None` for UADK's error values.
    pub(crate) fn session_key(&self, sched_param: *mut c_void) -> Option<usize> {
        // SAFETY: the caller's function, called with its own handle and parameter.
        let key = unsafe { (self.init)(self.h, sched_param) };
        // UADK's WD_IS_ERR: values above (uintptr_t)-1000 are negative error codes.
        (key <= usize::MAX - 999).then_some(key)
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

/// What `wd_comp_init` does with a `struct wd_sched`.
pub(crate) enum InitSched {
    /// One of `wd_sched_rr_alloc`'s, its functions still ours: the core's round-robin
    /// groups of `policy` pick the contexts; `wd_comp_poll` runs its poll policy.
    Builtin {
        policy: SchedPolicy,
        poll: PollPolicy,
    },
    /// Any other, or ours with functions the caller replaced: its functions are called.
    Caller(Arc<ForeignSched>),
}

impl InitSched {
    /// What `wd_comp_poll` calls.
    pub(crate) fn poll_policy(&self) -> PollPolicy {
        match self {
            InitSched::Builtin { poll, .. } => *poll,
            InitSched::Caller(f) => f.poll,
        }
    }
}

/// Classify the scheduler given to `wd_comp_init`; `None` when a member UADK requires
/// (name, `sched_init`, `pick_next_ctx`, `poll_policy`) is NULL.
pub(crate) fn for_init(s: *const wd_sched) -> Option<InitSched> {
    if s.is_null() {
        return None;
    }
    // SAFETY: non-NULL pointer to the caller's struct, valid for the call.
    let sch = unsafe { &*s };
    if sch.name.is_null() {
        return None;
    }
    let (init, pick, poll) = (sch.sched_init?, sch.pick_next_ctx?, sch.poll_policy?);
    let own_fns = std::ptr::fn_addr_eq(init, rr_sched_init as SchedInitFn)
        && std::ptr::fn_addr_eq(pick, rr_pick_next_ctx as PickFn)
        && std::ptr::fn_addr_eq(poll, rr_poll_policy as PollFn);
    let state = state_of(s);
    if let (true, Some(st)) = (own_fns, state) {
        if st == sch.h_sched_ctx {
            let rs = rr(st)?;
            let policy = SchedPolicy::from_u32(rs.policy as u32).ok()?;
            let poll = PollPolicy {
                h: st,
                f: rr_poll_policy,
            };
            return Some(InitSched::Builtin { policy, poll });
        }
    }
    Some(InitSched::Caller(Arc::new(ForeignSched {
        h: sch.h_sched_ctx,
        init,
        pick,
        poll: PollPolicy {
            h: sch.h_sched_ctx,
            f: poll,
        },
    })))
}

/// `user_poll_func`.
pub type user_poll_func = Option<unsafe extern "C" fn(u32, u32, *mut u32) -> c_int>;

struct Region {
    numa: c_int,
    op: u8,
    mode: u8,
    begin: u32,
    end: u32,
    next: AtomicU32,
}

/// What `h_sched_ctx` of our `struct wd_sched` points to.
struct RrSched {
    policy: u8,
    type_num: u8,
    numa_num: u16,
    poll: user_poll_func,
    regions: Mutex<Vec<Region>>,
}

/// Our schedulers: the address of each `struct wd_sched` from `wd_sched_rr_alloc`, with
/// the address of its state, until `wd_sched_rr_release`.
static OURS: Mutex<BTreeMap<usize, usize>> = Mutex::new(BTreeMap::new());

fn ours() -> std::sync::MutexGuard<'static, BTreeMap<usize, usize>> {
    OURS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The state of a scheduler we allocated (None for any other `struct wd_sched`).
fn state_of(s: *const wd_sched) -> Option<usize> {
    ours().get(&(s as usize)).copied()
}

/// Our state behind a handle, when it is one (a handle the caller made up is not).
fn rr<'a>(h: usize) -> Option<&'a RrSched> {
    if h == 0 || !ours().values().any(|&v| v == h) {
        return None;
    }
    // SAFETY: a live state from wd_sched_rr_alloc (in the registry), alive until its
    // release; releasing it while in use is the caller's error, as in UADK.
    Some(unsafe { &*(h as *const RrSched) })
}

static RR_NAME: &[u8] = b"RR\0";

unsafe extern "C" fn rr_sched_init(h: usize, param: *mut c_void) -> usize {
    if rr(h).is_none() {
        return 0;
    }
    let (numa, op) = if param.is_null() {
        (-1, 0)
    } else {
        // SAFETY: UADK's sched_param is a struct sched_params.
        let p = unsafe { &*(param as *const sched_params) };
        (p.numa_id, p.type_)
    };
    Box::into_raw(Box::new(Key { numa, op })) as usize
}

/// A session's scheduling key (what `sched_init` returns).
#[repr(C)]
struct Key {
    numa: c_int,
    op: u8,
}

unsafe extern "C" fn rr_pick_next_ctx(h: usize, key: *mut c_void, mode: c_int) -> u32 {
    let (Some(s), false) = (rr(h), key.is_null()) else {
        return INVALID_POS;
    };
    // SAFETY: a key from rr_sched_init.
    let k = unsafe { &*(key as *const Key) };
    let regions = s.regions.lock().unwrap_or_else(|e| e.into_inner());
    let matches = |r: &&Region| r.op == k.op && r.mode as c_int == mode;
    let r = regions
        .iter()
        .filter(matches)
        .find(|r| k.numa < 0 || r.numa == k.numa)
        .or_else(|| regions.iter().find(matches));
    match r {
        Some(r) => {
            let n = r.end - r.begin + 1;
            r.begin + r.next.fetch_add(1, Ordering::Relaxed) % n
        }
        None => INVALID_POS,
    }
}

/// UADK's round-robin poll policy: pass over the async regions, one completion per
/// context at a time, until `expect` are reaped or `MAX_POLL_TIMES` passes are made.
unsafe extern "C" fn rr_poll_policy(h: usize, expect: u32, count: *mut u32) -> c_int {
    let Some(s) = rr(h) else { return EINVAL };
    let Some(poll) = s.poll else { return EINVAL };
    if count.is_null() {
        return EINVAL;
    }
    let regions: Vec<(u32, u32)> = s
        .regions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|r| r.mode == CtxMode::Async as u8)
        .map(|r| (r.begin, r.end))
        .collect();
    // UADK adds to the caller's count; wd_comp_poll starts it at 0.
    // SAFETY: non-NULL out-pointer.
    let mut total = unsafe { *count };
    let mut passes = 0;
    'outer: while !regions.is_empty() && passes < MAX_POLL_TIMES {
        passes += 1;
        for &(b, e) in &regions {
            for idx in b..=e {
                let mut got = 0u32;
                // SAFETY: the caller's poll function, called as UADK's contract says.
                let rc = unsafe { poll(idx, 1, &mut got) };
                if rc == -libc::EAGAIN {
                    continue;
                }
                if rc < 0 {
                    // SAFETY: as above.
                    unsafe { *count = total };
                    return rc;
                }
                total += got;
                if total >= expect {
                    break 'outer;
                }
            }
        }
    }
    // SAFETY: as above.
    unsafe { *count = total };
    0
}

/// Allocate a round-robin scheduler for `type_num` op types on `numa_num` nodes.
#[no_mangle]
pub extern "C" fn wd_sched_rr_alloc(
    sched_type: u8,
    type_num: u8,
    numa_num: u16,
    func: user_poll_func,
) -> *mut wd_sched {
    guard(std::ptr::null_mut(), || {
        if type_num == 0 || numa_num == 0 || SchedPolicy::from_u32(sched_type as u32).is_err() {
            return std::ptr::null_mut();
        }
        let state = Box::into_raw(Box::new(RrSched {
            policy: sched_type,
            type_num,
            numa_num,
            poll: func,
            regions: Mutex::new(Vec::new()),
        }));
        let sched = Box::into_raw(Box::new(wd_sched {
            name: RR_NAME.as_ptr() as *const c_char,
            sched_policy: sched_type as c_int,
            sched_init: Some(rr_sched_init),
            pick_next_ctx: Some(rr_pick_next_ctx),
            poll_policy: Some(rr_poll_policy),
            h_sched_ctx: state as usize,
        }));
        ours().insert(sched as usize, state as usize);
        sched
    })
}

/// Give a range of context indices `[begin, end]` to (numa, op type, mode) of a
/// scheduler from [`wd_sched_rr_alloc`] (any other is refused with `-WD_EINVAL`).
#[no_mangle]
pub extern "C" fn wd_sched_rr_instance(sched: *const wd_sched, param: *mut sched_params) -> c_int {
    guard(EINVAL, || {
        if sched.is_null() || param.is_null() {
            return EINVAL;
        }
        let Some(s) = state_of(sched).and_then(rr) else {
            return EINVAL;
        };
        // SAFETY: non-NULL pointer from the caller.
        let p = unsafe { &*param };
        if p.numa_id < 0
            || p.numa_id as u32 >= s.numa_num as u32
            || p.type_ >= s.type_num
            || p.mode > 1
            || p.begin > p.end
        {
            return EINVAL;
        }
        s.regions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Region {
                numa: p.numa_id,
                op: p.type_,
                mode: p.mode,
                begin: p.begin,
                end: p.end,
                next: AtomicU32::new(0),
            });
        0
    })
}

/// Free a scheduler from [`wd_sched_rr_alloc`]; NULL, and anything this library did not
/// allocate, are ignored.
#[no_mangle]
pub extern "C" fn wd_sched_rr_release(sched: *mut wd_sched) {
    guard((), || {
        let Some(state) = ours().remove(&(sched as usize)) else {
            return;
        };
        // SAFETY: both allocated by wd_sched_rr_alloc and just taken out of the registry,
        // so freed once.
        unsafe {
            drop(Box::from_raw(sched));
            drop(Box::from_raw(state as *mut RrSched));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn count_one(_pos: u32, _expect: u32, count: *mut u32) -> c_int {
        // SAFETY: the policy passes a valid out-pointer.
        unsafe { *count = 1 };
        0
    }

    #[test]
    fn ours_by_allocation_whatever_the_name() {
        let s = wd_sched_rr_alloc(0, 2, 1, Some(count_one));
        assert!(!s.is_null());
        // UADK's programs rename the scheduler after allocating it.
        static OTHER: &[u8] = b"sched_single\0";
        // SAFETY: a scheduler just allocated.
        unsafe { (*s).name = OTHER.as_ptr() as *const c_char };
        let mut p = sched_params {
            numa_id: 0,
            type_: 1,
            mode: 1,
            begin: 0,
            end: 3,
            dev_id: 0,
        };
        assert_eq!(wd_sched_rr_instance(s, &mut p), 0);
        assert!(matches!(for_init(s), Some(InitSched::Builtin { .. })));
        // Its poll policy runs the caller's function over the async region.
        let mut n = 0;
        assert_eq!(for_init(s).unwrap().poll_policy().poll(3, &mut n), 0);
        assert_eq!(n, 3);

        // A struct copied from ours is not ours: its functions are called as given.
        // SAFETY: reading the scheduler just allocated.
        let copy = Box::new(unsafe { std::ptr::read(s) });
        assert!(matches!(for_init(&*copy), Some(InitSched::Caller(_))));
        assert_eq!(wd_sched_rr_instance(&*copy, &mut p), EINVAL);
        // Released ones are forgotten; releasing what is not ours does nothing.
        wd_sched_rr_release(Box::into_raw(copy));
        wd_sched_rr_release(s);
        assert!(state_of(s).is_none());
    }
}
