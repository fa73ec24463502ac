//! A mapped input that shrinks while we read it (another program truncates the file) makes
//! the next read of a page past its new end raise SIGBUS, which would kill the process with
//! no word and leave its temporary output behind. While a [`Watch`] is alive, a SIGBUS
//! inside the watched mapping instead prints what happened, removes the temporary output
//! and exits with status 1, as a failed read would. Any other SIGBUS goes to the handler
//! that was there before (the default, or the Rust runtime's).

use std::ffi::{c_int, c_void, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

/// The watched range; `LEN` 0: none.
static START: AtomicUsize = AtomicUsize::new(0);
static LEN: AtomicUsize = AtomicUsize::new(0);
/// The message, made before the watch starts (a handler may not allocate).
static MSG: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());
static MSG_LEN: AtomicUsize = AtomicUsize::new(0);
/// The temporary output to remove, NUL-terminated; null: none.
static TEMP: AtomicPtr<libc::c_char> = AtomicPtr::new(ptr::null_mut());
/// The action before ours, restored for a SIGBUS that is not ours.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();
static INSTALL: Once = Once::new();

/// Watches one mapped input until dropped (one at a time: the CLI reads its inputs in turn).
pub(super) struct Watch {
    msg: *mut [u8],
    temp: *mut libc::c_char,
}

impl Watch {
    /// Watch `bytes` (the mapping of the input called `name`); `temp` is the output to
    /// remove if the input shrinks under it.
    pub(super) fn new(bytes: &[u8], name: &str, temp: Option<&Path>) -> Watch {
        install();
        let what = if temp.is_some() {
            "its partial output is removed"
        } else {
            "the output is incomplete"
        };
        let text = format!(
            "uadk_tool: {name}: the file shrank while it was being read (truncated by \
             another program?); {what}\n"
        );
        let msg = Box::into_raw(text.into_bytes().into_boxed_slice());
        let temp = temp
            .and_then(|p| CString::new(p.as_os_str().as_bytes()).ok())
            .map_or(ptr::null_mut(), CString::into_raw);
        MSG.store(msg.cast(), Ordering::SeqCst);
        MSG_LEN.store(msg.len(), Ordering::SeqCst);
        TEMP.store(temp, Ordering::SeqCst);
        START.store(bytes.as_ptr() as usize, Ordering::SeqCst);
        LEN.store(bytes.len(), Ordering::SeqCst);
        Watch { msg, temp }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The range goes first: nothing reads the input any more, so no fault can come
        // after it, and none finds the message freed.
        LEN.store(0, Ordering::SeqCst);
        TEMP.store(ptr::null_mut(), Ordering::SeqCst);
        MSG.store(ptr::null_mut(), Ordering::SeqCst);
        MSG_LEN.store(0, Ordering::SeqCst);
        // SAFETY: both came from `into_raw` in `new` and are freed once, here.
        unsafe {
            drop(Box::from_raw(self.msg));
            if !self.temp.is_null() {
                drop(CString::from_raw(self.temp));
            }
        }
    }
}

fn install() {
    INSTALL.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler
        // has the SA_SIGINFO signature; `old` receives the action in place.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigbus as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut sa.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            // The previous action is kept before ours is in place.
            if libc::sigaction(libc::SIGBUS, ptr::null(), &mut old) == 0 {
                let _ = PREVIOUS.set(old);
                libc::sigaction(libc::SIGBUS, &sa, ptr::null_mut());
            }
        }
    });
}

extern "C" fn on_sigbus(sig: c_int, info: *mut libc::siginfo_t, _ctx: *mut c_void) {
    // SAFETY: the kernel hands an SA_SIGINFO handler a valid siginfo.
    let addr = unsafe { (*info).si_addr() } as usize;
    let (start, len) = (START.load(Ordering::SeqCst), LEN.load(Ordering::SeqCst));
    if len != 0 && addr >= start && addr - start < len {
        let (msg, n) = (MSG.load(Ordering::SeqCst), MSG_LEN.load(Ordering::SeqCst));
        let temp = TEMP.load(Ordering::SeqCst);
        // SAFETY: write, unlink and _exit are async-signal-safe; `msg` holds `n` bytes and
        // `temp` is a NUL-terminated path, both alive while the range is set.
        unsafe {
            if !msg.is_null() {
                libc::write(2, msg.cast(), n);
            }
            if !temp.is_null() {
                libc::unlink(temp);
            }
            libc::_exit(1);
        }
    }
    // Not a fault of the watched input: put the previous action back; returning re-runs
    // the faulting access, which raises SIGBUS again under it.
    let previous = PREVIOUS.get();
    // SAFETY: restoring an action sigaction returned, or the default one.
    unsafe {
        match previous {
            Some(old) => {
                libc::sigaction(sig, old, ptr::null_mut());
            }
            None => {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    }
}
