//! A queue's regions mapped for the program: DUS is the model's memory, MMIO a read-only
//! mapping of ours whose stores trap and reach the model (`trap.rs`); `munmap` lets
//! them go.

use crate::queue::{queue_of, QueueFd};
use crate::real::set_errno;
use crate::{trap, STORES};
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use uadk::uacce::Qfrt;
/// A region handed to the program.
struct Mapping {
    base: usize,
    len: usize,
    /// The program's MMIO view is our own read-only mapping; DUS is the model's memory.
    own: bool,
    _q: Arc<QueueFd>,
}

static MAPPINGS: RwLock<Vec<Mapping>> = RwLock::new(Vec::new());
static MAPPING_COUNT: AtomicUsize = AtomicUsize::new(0);

type MmapFn = unsafe extern "C" fn(
    *mut c_void,
    libc::size_t,
    c_int,
    c_int,
    c_int,
    libc::off_t,
) -> *mut c_void;

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).max(4096) as usize
}

fn map_queue(q: Arc<QueueFd>, len: usize, flags: c_int, off: libc::off_t) -> *mut c_void {
    let page = page_size() as libc::off_t;
    let qfrt = match off / page {
        0 if off % page == 0 => Qfrt::Mmio,
        1 if off % page == 0 => Qfrt::Dus,
        _ => {
            set_errno(libc::EINVAL);
            return libc::MAP_FAILED;
        }
    };
    let size = match qfrt {
        Qfrt::Mmio => q.dev.region_mmio_size,
        Qfrt::Dus => q.dev.region_dus_size,
    };
    if flags & libc::MAP_SHARED == 0 || flags & libc::MAP_FIXED != 0 || len == 0 || len > size {
        set_errno(libc::EINVAL);
        return libc::MAP_FAILED;
    }
    let (base, own) = match qfrt {
        Qfrt::Dus => match q.queue.mmap(Qfrt::Dus) {
            Ok(r) => (r.ptr as usize, false),
            Err(_) => {
                set_errno(libc::ENOMEM);
                return libc::MAP_FAILED;
            }
        },
        Qfrt::Mmio => {
            let m = real!(mmap: MmapFn);
            // SAFETY: a fresh private anonymous mapping; read-only so that every store
            // into it traps and reaches the model.
            let p = unsafe {
                m(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return p;
            }
            let qq = q.clone();
            trap::add(
                p as usize,
                len,
                Arc::new(move |off, v, n| mmio_store(&qq, off, v, n)),
            );
            (p as usize, true)
        }
    };
    MAPPINGS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .push(Mapping {
            base,
            len,
            own,
            _q: q,
        });
    MAPPING_COUNT.fetch_add(1, Ordering::Release);
    base as *mut c_void
}

/// A trapped store into a queue's MMIO: handed to the model with its value, as the bus
/// delivers each write (two threads' doorbells into the same word stay two).
fn mmio_store(q: &QueueFd, off: usize, v: u64, n: u8) {
    STORES.fetch_add(1, Ordering::Relaxed);
    std::sync::atomic::fence(Ordering::SeqCst);
    if !q.queue.mmio_store(off, v, n) {
        eprintln!("uadk-model-preload: the queue takes no MMIO stores");
    }
}

/// `mmap(2)`: the regions of a queue.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn mmap(
    addr: *mut c_void,
    len: libc::size_t,
    prot: c_int,
    flags: c_int,
    fd: c_int,
    off: libc::off_t,
) -> *mut c_void {
    let f = real!(mmap: MmapFn);
    // SAFETY: the C contract, passed on.
    unsafe { map_or_pass(f, addr, len, prot, flags, fd, off) }
}

/// `mmap64(2)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn mmap64(
    addr: *mut c_void,
    len: libc::size_t,
    prot: c_int,
    flags: c_int,
    fd: c_int,
    off: libc::off_t,
) -> *mut c_void {
    let f = real!(mmap64: MmapFn);
    // SAFETY: the C contract, passed on.
    unsafe { map_or_pass(f, addr, len, prot, flags, fd, off) }
}

/// A queue's region from the model, or the C library's `f` for any other descriptor.
///
/// # Safety
/// As `mmap(2)`.
unsafe fn map_or_pass(
    f: MmapFn,
    addr: *mut c_void,
    len: libc::size_t,
    prot: c_int,
    flags: c_int,
    fd: c_int,
    off: libc::off_t,
) -> *mut c_void {
    if let Some(q) = queue_of(fd) {
        return map_queue(q, len, flags, off);
    }
    // SAFETY: the C contract.
    unsafe { f(addr, len, prot, flags, fd, off) }
}

/// `munmap(2)`: a queue's region is let go (DUS stays the model's memory).
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn munmap(addr: *mut c_void, len: libc::size_t) -> c_int {
    let f = real!(munmap: unsafe extern "C" fn(*mut c_void, libc::size_t) -> c_int);
    if MAPPING_COUNT.load(Ordering::Acquire) > 0 {
        let found = {
            let mut m = MAPPINGS.write().unwrap_or_else(|e| e.into_inner());
            m.iter()
                .position(|x| x.base == addr as usize)
                .map(|i| m.remove(i))
        };
        if let Some(m) = found {
            MAPPING_COUNT.fetch_sub(1, Ordering::Release);
            if m.own {
                trap::remove(m.base);
                // SAFETY: our own anonymous mapping.
                unsafe { f(m.base as *mut c_void, m.len) };
            }
            let _ = len;
            return 0;
        }
    }
    // SAFETY: the C contract.
    unsafe { f(addr, len) }
}
