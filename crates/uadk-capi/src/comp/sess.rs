//! Session handles: the table of every session slot issued, and `wd_comp_alloc_sess`,
//! `wd_comp_free_sess`, `wd_comp_reset_sess`.

use super::instance::current_with_sched;
use crate::abi::*;
use crate::handles::Slab;
use crate::{guard, handle_t, EINVAL};
use libc::c_int;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::RwLock;
use uadk::{Alg, Level, OpType, Session, SessionSetup, WindowSize};
const LIVE: u32 = 0x5e55_10fe;
const DEAD: u32 = 0xdead_5e55;

/// A session handle: a slot of [`SESSIONS`], never freed; a freed session is marked dead
/// and its slot reused, so a stale handle reads as an error instead of freed memory.
pub(crate) struct CSess {
    magic: AtomicU32,
    sess: RwLock<Option<Session>>,
    /// Compression stream input reported as unconsumed though the codec took it (see
    /// `wd_do_comp_strm`).
    pub(super) held: AtomicU32,
    /// The key a caller's scheduler made for this session (freed with it, as UADK does).
    sched_key: AtomicUsize,
    /// The CPU engine serves the session (see `async_bufs`).
    pub(super) cpu_engine: AtomicBool,
}

impl CSess {
    fn dead() -> CSess {
        CSess {
            magic: AtomicU32::new(DEAD),
            sess: RwLock::new(None),
            held: AtomicU32::new(0),
            sched_key: AtomicUsize::new(0),
            cpu_engine: AtomicBool::new(false),
        }
    }
}

/// Every session slot ever issued: a handle is looked up here, never trusted as an address.
static SESSIONS: Slab<CSess> = Slab::new(CSess::dead);

pub(crate) fn with_sess<T>(h: handle_t, f: impl FnOnce(&Session, &CSess) -> T) -> Option<T> {
    let cs = SESSIONS.get(h)?;
    if cs.magic.load(Ordering::Acquire) != LIVE {
        return None;
    }
    let g = cs.sess.read().unwrap_or_else(|e| e.into_inner());
    g.as_ref().map(|s| f(s, cs))
}

/// A session setup; `sched_param` is read as UADK's `struct sched_params` unless the
/// caller brought its own scheduler (which alone knows what it points to).
fn setup_from(s: &wd_comp_sess_setup, foreign: bool) -> uadk::Result<SessionSetup> {
    let alg = Alg::from_u32(s.alg_type)?;
    let op = OpType::from_u32(s.op_type)?;
    let level = if alg == Alg::Zstd {
        // uadk/wd_comp_ext.h: zstd's own level, negative ones included; 0 = its default.
        Level::zstd(s.comp_lv as i32)?
    } else {
        // A zero-filled setup means level 1, as UADK.
        Level::new(s.comp_lv.max(1))?
    };
    let window = WindowSize::from_u32(s.win_sz)?;
    let mut setup = SessionSetup::new(alg, op).level(level).window(window);
    if !s.sched_param.is_null() && !foreign {
        // SAFETY: UADK's sched_param is a struct sched_params for its schedulers.
        let sp = unsafe { &*(s.sched_param as *const sched_params) };
        if sp.numa_id >= 0 {
            setup = setup.node(sp.numa_id as u32);
        }
    }
    Ok(setup)
}

/// Open a session; 0 on failure.
#[no_mangle]
pub extern "C" fn wd_comp_alloc_sess(setup: *mut wd_comp_sess_setup) -> handle_t {
    guard(0, || {
        if setup.is_null() {
            return 0;
        }
        let Some((comp, sched)) = current_with_sched() else {
            return 0;
        };
        // SAFETY: non-NULL pointer to the caller's setup.
        let raw = unsafe { &*setup };
        let Ok(mut setup) = setup_from(raw, sched.is_some()) else {
            return 0;
        };
        let mut key = 0;
        if let Some(f) = &sched {
            match f.session_key(raw.sched_param) {
                Some(k) => key = k,
                None => return 0,
            }
            setup = setup.sched_token(key);
        }
        let Ok(sess) = comp.session(&setup) else {
            free_key(key);
            return 0;
        };
        // The session's own engine: zstd and lz4 decompression run on the CPU engine
        // beside a hardware driver.
        let on_cpu = sess.driver_name() == uadk::drv::cpu::DRIVER_NAME;
        // A dead slot, ours until it is marked live.
        let Some((h, cs)) = SESSIONS.take() else {
            free_key(key);
            return 0;
        };
        *cs.sess.write().unwrap_or_else(|e| e.into_inner()) = Some(sess);
        cs.held.store(0, Ordering::Relaxed);
        cs.sched_key.store(key, Ordering::Relaxed);
        cs.cpu_engine.store(on_cpu, Ordering::Relaxed);
        cs.magic.store(LIVE, Ordering::Release);
        h
    })
}

/// Free a key from a caller's `sched_init` as UADK does (with `free()`).
fn free_key(key: usize) {
    if key != 0 {
        // SAFETY: UADK's contract: sched_init returns malloc'd memory (or NULL), owned by
        // the session from then on; freed once, here.
        unsafe { libc::free(key as *mut libc::c_void) };
    }
}

/// Close a session. NULL, stale and repeated frees are ignored.
#[no_mangle]
pub extern "C" fn wd_comp_free_sess(h_sess: handle_t) {
    guard((), || {
        let Some(cs) = SESSIONS.get(h_sess) else {
            return;
        };
        if cs
            .magic
            .compare_exchange(LIVE, DEAD, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        let old = cs.sess.write().unwrap_or_else(|e| e.into_inner()).take();
        drop(old);
        free_key(cs.sched_key.swap(0, Ordering::Relaxed));
        SESSIONS.put(h_sess);
    })
}

/// Start a new stream on a session.
#[no_mangle]
pub extern "C" fn wd_comp_reset_sess(h_sess: handle_t) -> c_int {
    guard(EINVAL, || {
        with_sess(h_sess, |s, cs| {
            s.reset();
            cs.held.store(0, Ordering::Relaxed);
            0
        })
        .unwrap_or(EINVAL)
    })
}
