//! `wd_sched.h`: the round-robin scheduler object, and `wd_comp_init` with a caller-built
//! context configuration.

use crate::abi::*;
use crate::comp::{install_with, release};
use crate::foreign::ForeignSched;
use crate::handles::Registry;
use crate::wd::ctx_node;
use crate::{guard, handle_t, EINVAL};
use libc::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use uadk::{Comp, CompConfig, CtxMode, CtxSpec, OpType, SchedPolicy};

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

/// A session's scheduling key (what `sched_init` returns).
#[repr(C)]
struct Key {
    numa: c_int,
    op: u8,
}

static RR_NAME: &[u8] = b"RR\0";

/// Whether a `struct wd_sched` is one of ours: its name points at our static string.
fn is_ours(s: &wd_sched) -> bool {
    std::ptr::eq(s.name, RR_NAME.as_ptr() as *const c_char) && s.h_sched_ctx != 0
}

/// Our schedulers' states by `h_sched_ctx`, and by the address of their `struct wd_sched`.
static RR_STATES: Registry<RrSched> = Registry::new();
static RR_SCHEDS: Registry<RrSched> = Registry::new();

fn rr(h: usize) -> Option<Arc<RrSched>> {
    RR_STATES.get(h)
}

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

unsafe extern "C" fn rr_pick_next_ctx(h: usize, key: *mut c_void, mode: c_int) -> u32 {
    const INVALID_POS: u32 = 0xffff_ffff;
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
    let mut total = 0u32;
    for (b, e) in regions {
        for idx in b..=e {
            let mut got = 0u32;
            // SAFETY: the caller's poll function, called as UADK's contract says.
            let rc = unsafe { poll(idx, expect.saturating_sub(total).max(1), &mut got) };
            if rc < 0 && rc != -libc::EAGAIN {
                return rc;
            }
            total += got;
            if total >= expect {
                break;
            }
        }
    }
    // SAFETY: non-NULL out-pointer.
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
        let state = Arc::new(RrSched {
            policy: sched_type,
            type_num,
            numa_num,
            poll: func,
            regions: Mutex::new(Vec::new()),
        });
        let h = Arc::as_ptr(&state) as usize;
        let sched = Box::into_raw(Box::new(wd_sched {
            name: RR_NAME.as_ptr() as *const c_char,
            sched_policy: sched_type as c_int,
            sched_init: Some(rr_sched_init),
            pick_next_ctx: Some(rr_pick_next_ctx),
            poll_policy: Some(rr_poll_policy),
            h_sched_ctx: h,
        }));
        RR_STATES.insert(h, state.clone());
        RR_SCHEDS.insert(sched as usize, state);
        sched
    })
}

/// Give a range of context indices `[begin, end]` to (numa, op type, mode).
#[no_mangle]
pub extern "C" fn wd_sched_rr_instance(sched: *const wd_sched, param: *mut sched_params) -> c_int {
    guard(EINVAL, || {
        let Some(s) = RR_SCHEDS.get(sched as usize) else {
            return EINVAL;
        };
        if param.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL pointer to the caller's parameters.
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

/// Free a scheduler from `wd_sched_rr_alloc`.
#[no_mangle]
pub extern "C" fn wd_sched_rr_release(sched: *mut wd_sched) {
    guard((), || {
        // Only a scheduler this library allocated and has not released yet.
        let Some(state) = RR_SCHEDS.remove(sched as usize) else {
            return;
        };
        RR_STATES.remove(Arc::as_ptr(&state) as usize);
        // SAFETY: a wd_sched from wd_sched_rr_alloc (it was in RR_SCHEDS), freed once.
        drop(unsafe { Box::from_raw(sched) });
    })
}

/// Initialise with a caller-built context configuration (contexts from `wd_request_ctx`)
/// and a scheduler: one from `wd_sched_rr_alloc`, or the caller's own `struct wd_sched`
/// (its four members must be set, as UADK checks). Context indices are the caller's, so
/// `wd_comp_poll_ctx(i)` polls `config->ctxs[i]`.
#[no_mangle]
pub extern "C" fn wd_comp_init(config: *mut wd_ctx_config, sched: *mut wd_sched) -> c_int {
    guard(EINVAL, || {
        if config.is_null() || sched.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL pointers from the caller.
        let (cfg, sch) = unsafe { (&*config, &*sched) };
        if cfg.ctx_num == 0 || cfg.ctxs.is_null() {
            return EINVAL;
        }
        let foreign = if is_ours(sch) {
            None
        } else {
            match ForeignSched::from_c(sch) {
                Some(f) => Some(Arc::new(f)),
                None => return EINVAL,
            }
        };
        // SAFETY: ctx_num entries, by the API's contract.
        let ctxs = unsafe { std::slice::from_raw_parts(cfg.ctxs, cfg.ctx_num as usize) };
        let mut list = Vec::with_capacity(ctxs.len());
        for c in ctxs {
            let Some(node) = ctx_node(c.ctx as handle_t) else {
                return EINVAL;
            };
            let Ok(op) = OpType::from_u32(c.op_type as u32) else {
                return EINVAL;
            };
            let mode = match c.ctx_mode {
                0 => CtxMode::Sync,
                1 => CtxMode::Async,
                _ => return EINVAL,
            };
            list.push(CtxSpec { node, mode, op });
        }
        let mut c = match CompConfig::from_env() {
            Ok(c) => c,
            Err(e) => return crate::neg(&e),
        };
        match &foreign {
            Some(f) => c = c.scheduler(f.clone()),
            None => match rr(sch.h_sched_ctx).map(|rs| SchedPolicy::from_u32(rs.policy as u32)) {
                Some(Ok(policy)) => c = c.policy(policy),
                _ => return EINVAL,
            },
        }
        c.ctx_list = Some(list);
        install_with(foreign, || Comp::new(c))
    })
}

/// Tear down what `wd_comp_init` set up.
#[no_mangle]
pub extern "C" fn wd_comp_uninit() {
    guard((), release)
}
