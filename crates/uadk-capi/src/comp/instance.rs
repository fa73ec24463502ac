//! The framework instance every caller of the process shares: installed by the inits,
//! reference-counted, torn down by the last uninit; the caller's contexts it lists in
//! libwd's context list meanwhile.

use crate::sched::{ForeignSched, PollPolicy};
use crate::{handle_t, neg};
use libc::{c_char, c_int, c_void};
use std::ffi::CStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use uadk::wd::status::*;
use uadk::Comp;
/// The framework instance shared by every caller of the process, reference-counted:
/// QEMU initialises once per migration channel and tears down once per channel.
pub(super) struct Global {
    pub(super) comp: Option<Comp>,
    /// The caller's scheduler when `wd_comp_init` was given one not ours: its
    /// `sched_init` makes each session's key.
    sched: Option<Arc<ForeignSched>>,
    /// What `wd_comp_poll` calls after `wd_comp_init` (UADK's copy of the scheduler's
    /// `poll_policy`); otherwise the core polls every async context.
    pub(super) poll: Option<PollPolicy>,
    /// `wd_comp_init` listed the caller's contexts for `wd_find_ctx`.
    listed: bool,
    refs: u32,
}

static GLOBAL: Mutex<Global> = Mutex::new(Global {
    comp: None,
    sched: None,
    poll: None,
    listed: false,
    refs: 0,
});

/// The id of the framework instance in place (0: none). Async requests remember the
/// instance they were submitted to: once it is torn down, their callbacks are not called
/// (UADK's uninit drops its message pool), because the caller may already have freed
/// what they point to (UADK's benchmark frees its callback tags before its uninit).
pub(super) static INSTANCE: AtomicU64 = AtomicU64::new(0);
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// What `wd_comp_init` brings besides the framework: its scheduler and its contexts.
#[derive(Default)]
pub(super) struct CallerSetup {
    pub(super) sched: Option<Arc<ForeignSched>>,
    pub(super) poll: Option<PollPolicy>,
    pub(super) ctxs: Vec<handle_t>,
}

pub(super) fn global() -> std::sync::MutexGuard<'static, Global> {
    GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn current() -> Option<Comp> {
    global().comp.clone()
}

pub(super) fn current_with_sched() -> Option<(Comp, Option<Arc<ForeignSched>>)> {
    let g = global();
    g.comp.clone().map(|c| (c, g.sched.clone()))
}

/// Install a framework instance built by `build` unless one exists (then `-WD_EEXIST`).
pub(crate) fn install(build: impl FnOnce() -> uadk::Result<Comp>) -> c_int {
    install_with(CallerSetup::default(), build)
}

/// [`install`], remembering what `wd_comp_init`'s caller brought.
pub(super) fn install_with(
    setup: CallerSetup,
    build: impl FnOnce() -> uadk::Result<Comp>,
) -> c_int {
    let mut g = global();
    if g.comp.is_some() {
        g.refs += 1;
        return -WD_EEXIST;
    }
    match build() {
        Ok(c) => {
            g.comp = Some(c);
            INSTANCE.store(
                NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
                Ordering::Release,
            );
            g.sched = setup.sched;
            g.poll = setup.poll;
            g.refs = 1;
            // As UADK's wd_init_ctx_config: the contexts are listed for wd_find_ctx
            // (hardware ones; libwd skips the rest).
            for &h in &setup.ctxs {
                list_ctx(h);
            }
            g.listed = !setup.ctxs.is_empty();
            0
        }
        Err(e) => {
            if crate::wd::wd_need_info() {
                eprintln!("uadk: init failed: {e}");
            }
            neg(&e)
        }
    }
}

pub(super) fn release() {
    let old = {
        let mut g = global();
        if g.refs == 0 {
            return;
        }
        g.refs -= 1;
        if g.refs > 0 {
            return;
        }
        g.sched = None;
        g.poll = None;
        INSTANCE.store(0, Ordering::Release);
        if std::mem::take(&mut g.listed) {
            // UADK's wd_clear_ctx_config empties the whole list.
            unlist_ctxs();
        }
        g.comp.take()
    };
    // Dropped outside the lock: tearing down reaps in-flight requests and runs callbacks.
    drop(old);
}

/// UADK's name for the contexts of `wd_comp` in libwd's context list (every algorithm).
const COMP_ALGS: &CStr = c"zlib gzip deflate lz77_zstd lz4 lz77_only";

/// libwd's `wd_insert_ctx_list` / `wd_remove_ctx_list`: the loaded library's exports when
/// there is one (see [`crate::libwd_export`]), else this copy's.
fn libwd_list_fns() -> (Option<usize>, Option<usize>) {
    static FNS: OnceLock<(Option<usize>, Option<usize>)> = OnceLock::new();
    *FNS.get_or_init(|| {
        (
            crate::libwd_export(c"wd_insert_ctx_list"),
            crate::libwd_export(c"wd_remove_ctx_list"),
        )
    })
}

fn list_ctx(h: handle_t) {
    type InsertFn = unsafe extern "C" fn(handle_t, *mut c_char) -> c_int;
    let name = COMP_ALGS.as_ptr() as *mut c_char;
    match libwd_list_fns().0 {
        Some(f) => {
            // SAFETY: libwd's export of that name, with wd_bmm.h's signature; it only
            // reads the name.
            let f = unsafe { std::mem::transmute::<*mut c_void, InsertFn>(f as *mut c_void) };
            // SAFETY: as above.
            unsafe { f(h, name) };
        }
        None => {
            crate::wd::wd_insert_ctx_list(h, name);
        }
    }
}

fn unlist_ctxs() {
    type RemoveFn = unsafe extern "C" fn();
    match libwd_list_fns().1 {
        Some(f) => {
            // SAFETY: libwd's export of that name, with wd_bmm.h's signature.
            let f = unsafe { std::mem::transmute::<*mut c_void, RemoveFn>(f as *mut c_void) };
            // SAFETY: as above.
            unsafe { f() };
        }
        None => crate::wd::wd_remove_ctx_list(),
    }
}
