//! Contexts: the table of every context handle issued, opening one on a device (a queue
//! on a UACCE device, none on a CPU pseudo-device), and the calls on it: start and stop,
//! regions, ioctls, waiting, caller data.

use super::dev::{is_cpu_dev, uacce_devices, CPU_API};
use super::ffi::{field, fill};
use crate::abi::*;
use crate::handles::Slab;
use crate::{guard, handle_t, neg, EINVAL};
use libc::{c_char, c_int, c_uint, c_ulong, c_void};
use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;
use uadk::uacce::{self, Qfrt, Queue, Region};
const LIVE: u32 = 0xc7_10fe;
const DEAD: u32 = 0xdead_c7c7;

/// An opened queue and the regions mapped from it.
struct HwCtx {
    queue: Queue,
    regions: Mutex<[Option<Region>; UACCE_QFRT_MAX]>,
}

impl HwCtx {
    fn unmap_all(&self) {
        let mut r = self.regions.lock().unwrap_or_else(|e| e.into_inner());
        for m in r.iter_mut().filter_map(Option::take) {
            self.queue.munmap(m);
        }
    }
}

/// A context handle from [`wd_request_ctx`]: a slot of `CONTEXTS`, never freed; a
/// released one is marked dead and reused, so a stale handle reads as an error.
pub struct CtxHandle {
    magic: AtomicU32,
    node: AtomicU32,
    /// Written only while the handle is dead and off the free list (owned by one thread).
    dev_name: UnsafeCell<[c_char; MAX_DEV_NAME_LEN]>,
    api: UnsafeCell<[c_char; WD_NAME_SIZE]>,
    priv_: AtomicPtr<c_void>,
    /// The queue, for a context on a UACCE device.
    hw: RwLock<Option<HwCtx>>,
}

// SAFETY: the UnsafeCell fields are written only by the thread that owns a dead handle
// (see `dev_name`); everything else is atomics and locks.
unsafe impl Sync for CtxHandle {}

impl CtxHandle {
    /// NUMA node of the device the context was opened on.
    pub fn node(&self) -> u32 {
        self.node.load(Ordering::Relaxed)
    }

    /// Whether the context is on a CPU pseudo-device (no queue), not a UACCE device.
    pub fn on_cpu_engine(&self) -> bool {
        // SAFETY: `api` is written only while the handle is dead; this one is live.
        field(unsafe { &*self.api.get() }) == CPU_API
    }

    /// The device's name (`hisi_zip-0`, `uadk-cpu-0`).
    pub fn dev_name(&self) -> String {
        // SAFETY: as in `on_cpu_engine`.
        field(unsafe { &*self.dev_name.get() })
    }
}

/// The number after the last `-` of a device name (`hisi_zip-3` → 3), as UADK parses
/// device ids; None when there is none.
pub(crate) fn dev_id_of(name: &str) -> Option<u32> {
    let (_, tail) = name.rsplit_once('-')?;
    if tail.is_empty() || !tail.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    tail.parse().ok()
}

impl CtxHandle {
    fn dead() -> CtxHandle {
        CtxHandle {
            magic: AtomicU32::new(DEAD),
            node: AtomicU32::new(0),
            dev_name: UnsafeCell::new([0; MAX_DEV_NAME_LEN]),
            api: UnsafeCell::new([0; WD_NAME_SIZE]),
            priv_: AtomicPtr::new(ptr::null_mut()),
            hw: RwLock::new(None),
        }
    }
}

/// Every context slot ever issued: a handle is looked up here, never trusted as an address.
static CONTEXTS: Slab<CtxHandle> = Slab::new(CtxHandle::dead);

/// A live context of this library, or None for any other value (0, never issued, released).
pub(crate) fn ctx_ref(h: handle_t) -> Option<&'static CtxHandle> {
    let c = CONTEXTS.get(h)?;
    (c.magic.load(Ordering::Acquire) == LIVE).then_some(c)
}

/// The NUMA node of a context that `libwd` issued, and whether it is a CPU pseudo-device's,
/// asked of `libwd` itself through its exported calls: each of the two libraries links its
/// own copy of this crate, and only `libwd`'s table knows `libwd`'s contexts. Where no
/// separate `libwd.so.2` is loaded (a single binary), the local table. None for a value
/// that is not a live context.
pub(crate) fn ctx_info(h: handle_t) -> Option<(u32, bool)> {
    type NumaFn = extern "C" fn(handle_t) -> c_int;
    type ApiFn = extern "C" fn(handle_t) -> *mut c_char;
    static LIBWD: std::sync::OnceLock<Option<(NumaFn, ApiFn)>> = std::sync::OnceLock::new();
    let f = LIBWD.get_or_init(|| {
        // SAFETY: dlopen with RTLD_NOLOAD only finds a library already loaded (our own
        // dependency), and dlvsym looks up libwd's exported UADK_2.0 functions, whose
        // signatures are `int wd_get_numa_id(handle_t)` and `char *wd_ctx_get_api(handle_t)`.
        unsafe {
            let lib = libc::dlopen(c"libwd.so.2".as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
            if lib.is_null() {
                return None;
            }
            let numa = libc::dlvsym(lib, c"wd_get_numa_id".as_ptr(), c"UADK_2.0".as_ptr());
            let api = libc::dlvsym(lib, c"wd_ctx_get_api".as_ptr(), c"UADK_2.0".as_ptr());
            (!numa.is_null() && !api.is_null()).then(|| {
                (
                    std::mem::transmute::<*mut c_void, NumaFn>(numa),
                    std::mem::transmute::<*mut c_void, ApiFn>(api),
                )
            })
        }
    });
    let (node, api) = match f {
        Some((numa, api)) => (numa(h), api(h)),
        None => (wd_get_numa_id(h), wd_ctx_get_api(h)),
    };
    let node = u32::try_from(node).ok()?;
    if api.is_null() {
        return None;
    }
    // SAFETY: a live context's api string, NUL-terminated, kept while the context lives.
    let on_cpu = unsafe { CStr::from_ptr(api) }.to_bytes() == CPU_API.as_bytes();
    Some((node, on_cpu))
}

/// Run `f` on a context's queue: `None` for a bad handle, `Some(None)` for a context
/// without one (a CPU pseudo-device).
fn with_hw<T>(h: handle_t, f: impl FnOnce(&HwCtx) -> T) -> Option<Option<T>> {
    let c = ctx_ref(h)?;
    let g = c.hw.read().unwrap_or_else(|e| e.into_inner());
    Some(g.as_ref().map(f))
}

fn new_ctx(node: u32, dev_name: &str, api: &str, hw: Option<HwCtx>) -> handle_t {
    // A dead slot: this thread owns it until it is marked live.
    let Some((h, c)) = CONTEXTS.take() else {
        return 0;
    };
    c.node.store(node, Ordering::Relaxed);
    // SAFETY: as above; no reader looks past the dead magic.
    unsafe {
        fill(&mut *c.dev_name.get(), dev_name);
        fill(&mut *c.api.get(), api);
    }
    c.priv_.store(ptr::null_mut(), Ordering::Relaxed);
    *c.hw.write().unwrap_or_else(|e| e.into_inner()) = hw;
    c.magic.store(LIVE, Ordering::Release);
    h
}

/// Open a context on a device of [`wd_get_accel_list`](super::wd_get_accel_list) /
/// [`wd_get_accel_dev`](super::wd_get_accel_dev) (or a caller-filled `uacce_dev` naming
/// one): on a UACCE device, a queue is opened (not started: see [`wd_ctx_start`]). 0 for
/// NULL, a device without `dev_root`, a device that is not present, or when no queue can
/// be opened.
#[no_mangle]
pub extern "C" fn wd_request_ctx(dev: *mut uacce_dev) -> handle_t {
    guard(0, || {
        if dev.is_null() {
            return 0;
        }
        // SAFETY: a device from this library or a caller-filled uacce_dev, valid for the call.
        let d = unsafe { &*dev };
        if d.dev_root[0] == 0 {
            return 0;
        }
        let path = field(&d.char_dev_path);
        let name = path.rsplit('/').next().unwrap_or("").to_string();
        if is_cpu_dev(d) {
            return new_ctx(d.numa_id.max(0) as u32, &name, CPU_API, None);
        }
        let Some(u) = uacce_devices()
            .into_iter()
            .find(|u| u.dev_path.as_os_str().as_encoded_bytes() == path.as_bytes())
        else {
            return 0;
        };
        let Ok(queue) = Queue::open(&u) else {
            return 0;
        };
        let hw = HwCtx {
            queue,
            regions: Mutex::new([None; UACCE_QFRT_MAX]),
        };
        new_ctx(u.node, &u.name, &u.api, Some(hw))
    })
}

/// Close a context: its mapped regions are unmapped, its queue stopped and closed. NULL,
/// released and repeated releases are ignored.
#[no_mangle]
pub extern "C" fn wd_release_ctx(h_ctx: handle_t) {
    guard((), || {
        let Some(c) = ctx_ref(h_ctx) else {
            return;
        };
        if c.magic
            .compare_exchange(LIVE, DEAD, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        let hw = c.hw.write().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut hw) = hw {
            hw.unmap_all();
            let _ = hw.queue.put();
        }
        CONTEXTS.put(h_ctx);
    })
}

/// Stop a context's queue (`UACCE_CMD_PUT_Q`) without closing it, as UADK's drivers do
/// before the framework releases the context; 0 for a CPU pseudo-device's context.
#[no_mangle]
pub extern "C" fn wd_release_ctx_force(h_ctx: handle_t) -> c_int {
    guard(EINVAL, || {
        let Some(c) = ctx_ref(h_ctx) else {
            return EINVAL;
        };
        let mut g = c.hw.write().unwrap_or_else(|e| e.into_inner());
        match g.as_mut().map(|hw| hw.queue.put()) {
            Some(Err(e)) => neg(&e),
            _ => 0,
        }
    })
}

/// Start a context's queue (`UACCE_CMD_START_Q`); a CPU pseudo-device's context is
/// always started.
#[no_mangle]
pub extern "C" fn wd_ctx_start(h_ctx: handle_t) -> c_int {
    guard(EINVAL, || {
        let Some(c) = ctx_ref(h_ctx) else {
            return EINVAL;
        };
        let mut g = c.hw.write().unwrap_or_else(|e| e.into_inner());
        match g.as_mut().map(|hw| hw.queue.start()) {
            Some(Err(e)) => neg(&e),
            _ => 0,
        }
    })
}

fn qfrt_of(qfrt: c_uint) -> Option<Qfrt> {
    match qfrt {
        0 => Some(Qfrt::Mmio),
        1 => Some(Qfrt::Dus),
        _ => None,
    }
}

/// Map a region of a context's queue (`UACCE_QFRT_MMIO` or `UACCE_QFRT_DUS`), of the
/// size sysfs gives it; the mapping is kept until [`wd_ctx_unmap_qfr`] or the release,
/// and mapping it again returns it. NULL for a bad handle, a CPU pseudo-device's
/// context, a region of size 0, or a failed `mmap`.
#[no_mangle]
pub extern "C" fn wd_ctx_mmap_qfr(h_ctx: handle_t, qfrt: c_uint) -> *mut c_void {
    guard(ptr::null_mut(), || {
        let Some(t) = qfrt_of(qfrt) else {
            return ptr::null_mut();
        };
        let r = with_hw(h_ctx, |hw| {
            let mut regions = hw.regions.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(m) = regions[t as usize] {
                return m.ptr.cast();
            }
            match hw.queue.mmap(t) {
                Ok(m) => {
                    regions[t as usize] = Some(m);
                    m.ptr.cast()
                }
                Err(_) => ptr::null_mut(),
            }
        });
        r.flatten().unwrap_or(ptr::null_mut())
    })
}

/// Unmap a region mapped by [`wd_ctx_mmap_qfr`]; anything else is ignored.
#[no_mangle]
pub extern "C" fn wd_ctx_unmap_qfr(h_ctx: handle_t, qfrt: c_uint) {
    guard((), || {
        let Some(t) = qfrt_of(qfrt) else {
            return;
        };
        with_hw(h_ctx, |hw| {
            let m = hw.regions.lock().unwrap_or_else(|e| e.into_inner())[t as usize].take();
            if let Some(m) = m {
                hw.queue.munmap(m);
            }
        });
    })
}

/// Bytes of a region of a context's queue (sysfs's `region_*_size`); 0 for a bad
/// handle or region, or a CPU pseudo-device's context.
#[no_mangle]
pub extern "C" fn wd_ctx_get_region_size(h_ctx: handle_t, qfrt: c_uint) -> c_ulong {
    guard(0, || {
        let Some(t) = qfrt_of(qfrt) else {
            return 0;
        };
        let size = with_hw(h_ctx, |hw| {
            let d = hw.queue.device();
            match t {
                Qfrt::Mmio => d.region_mmio_size,
                Qfrt::Dus => d.region_dus_size,
            }
        });
        size.flatten().unwrap_or(0) as c_ulong
    })
}

/// `_IOC_SIZE`: the argument size a Linux ioctl command encodes.
fn ioc_size(cmd: u64) -> usize {
    ((cmd >> 16) & 0x3fff) as usize
}

/// Issue an ioctl on a context's queue: `UACCE_CMD_START_Q` and `UACCE_CMD_PUT_Q` start
/// and stop it, any other command (the driver's) goes to the device with `arg` as its
/// argument, of the size the command encodes (`_IOC_SIZE`). 0 on success, a negative
/// status on failure; `-WD_EINVAL` for a bad handle or a CPU pseudo-device's context.
#[no_mangle]
pub extern "C" fn wd_ctx_set_io_cmd(h_ctx: handle_t, cmd: c_ulong, arg: *mut c_void) -> c_int {
    guard(EINVAL, || {
        let Some(c) = ctx_ref(h_ctx) else {
            return EINVAL;
        };
        // `unsigned long` is narrower than u64 on 32-bit targets.
        #[allow(clippy::useless_conversion)]
        let cmd = u64::from(cmd);
        let r = if cmd == uacce::UACCE_CMD_START_Q || cmd == uacce::UACCE_CMD_PUT_Q {
            let mut g = c.hw.write().unwrap_or_else(|e| e.into_inner());
            let Some(hw) = g.as_mut() else {
                return EINVAL;
            };
            if cmd == uacce::UACCE_CMD_START_Q {
                hw.queue.start()
            } else {
                hw.queue.put()
            }
        } else {
            let g = c.hw.read().unwrap_or_else(|e| e.into_inner());
            let Some(hw) = g.as_ref() else {
                return EINVAL;
            };
            let size = ioc_size(cmd);
            let buf: &mut [u8] = if arg.is_null() || size == 0 {
                &mut []
            } else {
                // SAFETY: the caller's argument struct, which the command's size field
                // describes (the ioctl contract).
                unsafe { std::slice::from_raw_parts_mut(arg as *mut u8, size) }
            };
            hw.queue.ioctl(cmd, buf)
        };
        match r {
            Ok(()) => 0,
            Err(e) => neg(&e),
        }
    })
}

/// Attach caller data to a context.
#[no_mangle]
pub extern "C" fn wd_ctx_set_priv(h_ctx: handle_t, priv_: *mut c_void) -> c_int {
    guard(EINVAL, || match ctx_ref(h_ctx) {
        Some(c) => {
            c.priv_.store(priv_, Ordering::Release);
            0
        }
        None => EINVAL,
    })
}

/// Caller data of a context.
#[no_mangle]
pub extern "C" fn wd_ctx_get_priv(h_ctx: handle_t) -> *mut c_void {
    guard(ptr::null_mut(), || {
        ctx_ref(h_ctx).map_or(ptr::null_mut(), |c| c.priv_.load(Ordering::Acquire))
    })
}

/// API name of a context's device (`hisi_qm_v3`, `cpu`).
#[no_mangle]
pub extern "C" fn wd_ctx_get_api(h_ctx: handle_t) -> *mut c_char {
    guard(ptr::null_mut(), || {
        ctx_ref(h_ctx).map_or(ptr::null_mut(), |c| c.api.get() as *mut c_char)
    })
}

/// Name of a context's device (`hisi_zip-0`, `uadk-cpu-0`), as UADK's `dev_name`.
#[no_mangle]
pub extern "C" fn wd_ctx_get_dev_name(h_ctx: handle_t) -> *mut c_char {
    guard(ptr::null_mut(), || {
        ctx_ref(h_ctx).map_or(ptr::null_mut(), |c| c.dev_name.get() as *mut c_char)
    })
}

/// NUMA node of a context.
#[no_mangle]
pub extern "C" fn wd_get_numa_id(h_ctx: handle_t) -> c_int {
    guard(EINVAL, || {
        ctx_ref(h_ctx).map_or(EINVAL, |c| c.node() as c_int)
    })
}

/// Whether a context works on shared virtual addresses: its device's `UACCE_DEV_SVA`
/// flag (the CPU engine's contexts do).
#[no_mangle]
pub extern "C" fn wd_is_sva(h_ctx: handle_t) -> c_int {
    guard(EINVAL, || {
        match with_hw(h_ctx, |hw| hw.queue.device().is_sva()) {
            None => EINVAL,
            Some(None) => 1,
            Some(Some(sva)) => c_int::from(sva),
        }
    })
}

/// Wait up to `ms` milliseconds for a completion event of a context's queue: 1 on an
/// event, 0 on timeout, a negative status on error (UADK's `poll()` result). CPU
/// contexts complete inline, so there is always an event.
#[no_mangle]
pub extern "C" fn wd_ctx_wait(h_ctx: handle_t, ms: u16) -> c_int {
    guard(EINVAL, || {
        match with_hw(h_ctx, |hw| hw.queue.wait(Duration::from_millis(ms.into()))) {
            None => EINVAL,
            Some(None) | Some(Some(Ok(true))) => 1,
            Some(Some(Ok(false))) => 0,
            Some(Some(Err(e))) => neg(&e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wd::dev::{cpu_dev, wd_get_avail_ctx, CPU_AVAIL_CTX};
    use crate::wd::ffi::err_ptr;
    use uadk::wd::status::WD_ENODEV;

    #[test]
    fn ioctl_sizes_and_error_pointers() {
        // The hisi QM ioctls: _IOWR('H', 10, 4 bytes) and _IOWR('H', 11, 16 bytes).
        assert_eq!(ioc_size(uacce::iowr_cmd(b'H', 10, 4)), 4);
        assert_eq!(ioc_size(uacce::iowr_cmd(b'H', 11, 16)), 16);
        assert_eq!(ioc_size(uacce::UACCE_CMD_START_Q), 0);
        assert_eq!(
            err_ptr::<uacce_dev>(-WD_ENODEV) as isize,
            -(WD_ENODEV as isize)
        );
    }

    #[test]
    fn bad_handles_and_devices_are_refused() {
        assert!(ctx_ref(0).is_none() && ctx_ref(3).is_none());
        assert_eq!(wd_ctx_start(0), EINVAL);
        assert!(wd_ctx_mmap_qfr(0, 1).is_null());
        assert_eq!(wd_request_ctx(ptr::null_mut()), 0);
        let mut d = cpu_dev(0);
        assert_eq!(wd_get_avail_ctx(&mut d), CPU_AVAIL_CTX);
        let h = wd_request_ctx(&mut d);
        assert_ne!(h, 0);
        assert!(wd_ctx_mmap_qfr(h, 1).is_null());
        assert_eq!(wd_ctx_set_io_cmd(h, 0, ptr::null_mut()), EINVAL);
        wd_release_ctx(h);
        assert_eq!(wd_ctx_start(h), EINVAL);
        assert!(wd_ctx_get_api(h).is_null());
    }
}
