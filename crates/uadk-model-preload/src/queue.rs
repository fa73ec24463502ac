//! Queue descriptors: the modelled queue behind each descriptor `open` gave, given back
//! by `close`; `ioctl` on it, and `poll`.

use crate::real::set_errno;
use crate::{state, POLLS};
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uadk::uacce::{self, Queue, UacceDevice};

/// One opened modelled queue.
pub(crate) struct QueueFd {
    pub(crate) queue: Queue,
    pub(crate) dev: UacceDevice,
}

static QUEUES: Mutex<Option<HashMap<c_int, Arc<QueueFd>>>> = Mutex::new(None);
/// One bit per descriptor below 65536 that is a queue: the fast test of the hot paths.
static QUEUE_BITS: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];

fn is_queue_fd(fd: c_int) -> bool {
    (0..65536).contains(&fd)
        && QUEUE_BITS[fd as usize / 64].load(Ordering::Acquire) & (1 << (fd % 64)) != 0
}

pub(crate) fn queue_of(fd: c_int) -> Option<Arc<QueueFd>> {
    if !is_queue_fd(fd) {
        return None;
    }
    QUEUES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()?
        .get(&fd)
        .cloned()
}

pub(crate) fn open_queue(name: &str, flags: c_int, _mode: libc::mode_t) -> c_int {
    let Some(s) = state() else {
        set_errno(libc::ENOENT);
        return -1;
    };
    if flags & libc::O_ACCMODE != libc::O_RDWR {
        set_errno(libc::EACCES);
        return -1;
    }
    let dev = match uacce::read_device(s.model.root(), name) {
        Ok(d) => d,
        Err(_) => {
            set_errno(libc::ENODEV);
            return -1;
        }
    };
    let queue = match Queue::open(&dev) {
        Ok(q) => q,
        Err(uadk::Error::NoDevice(_)) => {
            // UACCE answers EBUSY when a device has no free queue, ENODEV once removed.
            let removed = s.model.device(name).is_some_and(|d| d.removed());
            set_errno(if removed { libc::ENODEV } else { libc::EBUSY });
            return -1;
        }
        Err(_) => {
            set_errno(libc::EIO);
            return -1;
        }
    };
    let mut efd_flags = libc::EFD_NONBLOCK;
    if flags & libc::O_CLOEXEC != 0 {
        efd_flags |= libc::EFD_CLOEXEC;
    }
    // The descriptor the program holds: a real one, so that its number stays ours until
    // closed; nothing is ever written to it.
    // SAFETY: eventfd has no preconditions.
    let fd = unsafe { libc::eventfd(0, efd_flags) };
    if fd < 0 {
        return -1;
    }
    if fd >= 65536 {
        let c = real!(close: unsafe extern "C" fn(c_int) -> c_int);
        // SAFETY: our own descriptor.
        unsafe { c(fd) };
        set_errno(libc::EMFILE);
        return -1;
    }
    let q = Arc::new(QueueFd { queue, dev });
    QUEUES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(fd, q);
    QUEUE_BITS[fd as usize / 64].fetch_or(1 << (fd % 64), Ordering::Release);
    fd
}

/// `close(2)`: a queue is given back to its device.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    let f = real!(close: unsafe extern "C" fn(c_int) -> c_int);
    if is_queue_fd(fd) {
        let q = QUEUES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .and_then(|m| m.remove(&fd));
        QUEUE_BITS[fd as usize / 64].fetch_and(!(1 << (fd % 64)), Ordering::Release);
        // Mappings still alive keep the queue; otherwise it goes back here.
        drop(q);
    }
    // SAFETY: the C contract.
    unsafe { f(fd) }
}

/// Linux `_IOC_SIZE`.
fn ioc_size(cmd: u64) -> usize {
    ((cmd >> 16) & 0x3fff) as usize
}

fn errno_of(e: &uadk::Error) -> c_int {
    match e {
        uadk::Error::InvalidParam(_) => libc::EINVAL,
        uadk::Error::Hardware(_) | uadk::Error::NoDevice(_) => libc::EIO,
        uadk::Error::Busy => libc::EBUSY,
        _ => libc::ENOTTY,
    }
}

/// `ioctl(2)`: the UACCE and QM commands of a queue (`request` is an `unsigned long`, 64
/// bits on the LP64 targets this library runs on).
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn ioctl(fd: c_int, cmd: u64, arg: *mut c_void) -> c_int {
    let Some(q) = queue_of(fd) else {
        let f = real!(ioctl: unsafe extern "C" fn(c_int, u64, *mut c_void) -> c_int);
        // SAFETY: the C contract.
        return unsafe { f(fd, cmd, arg) };
    };
    let known = [
        uacce::UACCE_CMD_START_Q,
        uacce::UACCE_CMD_PUT_Q,
        uadk::hw::zip::UACCE_CMD_QM_SET_QP_CTX,
        uadk::hw::zip::UACCE_CMD_QM_SET_QP_INFO,
    ];
    if !known.contains(&cmd) {
        set_errno(libc::ENOTTY);
        return -1;
    }
    let size = ioc_size(cmd);
    if size > 0 && arg.is_null() {
        set_errno(libc::EFAULT);
        return -1;
    }
    let mut buf = vec![0u8; size];
    if size > 0 {
        // SAFETY: the command's argument struct is `size` bytes at `arg` (its _IOC_SIZE).
        unsafe { std::ptr::copy_nonoverlapping(arg.cast::<u8>(), buf.as_mut_ptr(), size) };
    }
    match q.queue.ioctl(cmd, &mut buf) {
        Ok(()) => {
            if size > 0 {
                // SAFETY: as above: the struct is read and written in place.
                unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), arg.cast::<u8>(), size) };
            }
            0
        }
        Err(e) => {
            set_errno(errno_of(&e));
            -1
        }
    }
}

/// `poll(2)`: a queue is readable while completions wait in its CQ.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn poll(fds: *mut libc::pollfd, nfds: libc::nfds_t, timeout: c_int) -> c_int {
    let f = real!(poll: unsafe extern "C" fn(*mut libc::pollfd, libc::nfds_t, c_int) -> c_int);
    if fds.is_null() || nfds == 0 {
        // SAFETY: the C contract.
        return unsafe { f(fds, nfds, timeout) };
    }
    // SAFETY: the C contract: `nfds` entries at `fds`.
    let set = unsafe { std::slice::from_raw_parts_mut(fds, nfds as usize) };
    let queues: Vec<(usize, Arc<QueueFd>)> = set
        .iter()
        .enumerate()
        .filter_map(|(i, p)| queue_of(p.fd).map(|q| (i, q)))
        .collect();
    if queues.is_empty() {
        // SAFETY: the C contract.
        return unsafe { f(fds, nfds, timeout) };
    }
    POLLS.fetch_add(1, Ordering::Relaxed);
    let deadline = (timeout >= 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
    let only_one = nfds == 1;
    loop {
        // The other descriptors, without waiting (our eventfds never become readable).
        // SAFETY: the C contract.
        let mut n = unsafe { f(fds, nfds, 0) };
        if n < 0 {
            return n;
        }
        for (i, q) in &queues {
            let p = &mut set[*i];
            let ready = q.queue.wait(Duration::ZERO).unwrap_or(true);
            if ready && p.events & (libc::POLLIN | libc::POLLRDNORM) != 0 {
                if p.revents == 0 {
                    n += 1;
                }
                p.revents |= p.events & (libc::POLLIN | libc::POLLRDNORM);
            }
        }
        if n > 0 {
            return n;
        }
        let left = match deadline {
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return 0;
                }
                d - now
            }
            None => Duration::from_secs(3600),
        };
        if only_one {
            let _ = queues[0].1.queue.wait(left);
        } else {
            std::thread::sleep(left.min(Duration::from_millis(1)));
        }
    }
}
