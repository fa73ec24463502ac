//! `libuadk_model_preload.so`: modelled HiSilicon ZIP devices, seen by any process where
//! the kernel's would be.
//!
//! ```sh
//! UADK_ZIP_MODEL=2@0 LD_PRELOAD=libuadk_model_preload.so ./uadk_comp --alg gzip < in > out
//! ```
//!
//! With `UADK_ZIP_MODEL` set (the syntax of [`uadk::model::MODEL_ENV`], faults from
//! [`uadk::model::FAULT_ENV`]), the library installs the project's device model when the
//! process starts and serves, from it, what a UADK user-space driver reaches through the
//! kernel:
//!
//! - paths under `/sys/class/uacce` (the model's sysfs tree: `opendir`/`readdir`,
//!   `open`/`read`, `access`, `realpath`, `stat`, `fopen`);
//! - `/dev/hisi_zip-N`: `open` gives a descriptor of one modelled queue; `ioctl` serves
//!   `UACCE_CMD_START_Q`, `UACCE_CMD_PUT_Q`, `UACCE_CMD_QM_SET_QP_CTX` and
//!   `UACCE_CMD_QM_SET_QP_INFO`; `mmap` at offset `0` (MMIO) and one page (DUS) maps the
//!   queue's regions; `poll` reports `POLLIN` while completions wait; `close` gives the
//!   queue back;
//! - stores into the MMIO region (doorbells): the region is mapped read-only, each store
//!   traps and is handed to the model ([`trap`]).
//!
//! Every other path, descriptor and mapping passes through to the C library untouched.
//! A library of this project in the same process (which would install its own model from
//! the same variables) sees [`uadk_model_preload_active`] and uses these devices as
//! kernel devices instead, through its own kernel path.
//!
//! `UADK_ZIP_MODEL_REPORT=FILE` appends one line per device at exit:
//! `hisi_zip-0 executed=N rejected=N injected=N` (requests run, model errors, faults
//! injected), and `preload polls=N stores=N` (`poll` calls on
//! queues, MMIO stores trapped); `-` for stderr.

pub mod trap;
pub mod x86;

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};
use uadk::model::{self, Model};
use uadk::uacce::{self, Qfrt, Queue, UacceDevice};

/// Where UADK looks for devices.
pub const CLASS_DIR: &str = "/sys/class/uacce";
/// Environment variable naming the report file.
pub const REPORT_ENV: &str = "UADK_ZIP_MODEL_REPORT";

/// The installed model, when this process asked for one.
struct State {
    model: Arc<Model>,
    root: String,
    report: Option<String>,
}

static STATE: OnceLock<Option<State>> = OnceLock::new();
/// `poll` calls that waited on a queue.
static POLLS: AtomicU64 = AtomicU64::new(0);
/// Stores into MMIO regions, trapped and handed to the model.
static STORES: AtomicU64 = AtomicU64::new(0);

fn state() -> Option<&'static State> {
    STATE.get_or_init(init_state).as_ref()
}

fn init_state() -> Option<State> {
    let spec = std::env::var(model::MODEL_ENV).ok()?;
    if spec.trim().is_empty() {
        return None;
    }
    let report = std::env::var(REPORT_ENV).ok().filter(|s| !s.is_empty());
    INSTALLING.with(|f| f.set(true));
    let installed = model::install_from_env();
    INSTALLING.with(|f| f.set(false));
    let m = match installed {
        Ok(Some(m)) => m,
        Ok(None) => return None,
        Err(e) => {
            eprintln!("uadk-model-preload: {e}");
            return None;
        }
    };
    if !trap::SUPPORTED {
        eprintln!("uadk-model-preload: doorbell stores can be trapped on x86-64 only");
        return None;
    }
    // SAFETY: registering a plain function to run at exit.
    unsafe { libc::atexit(at_exit) };
    let root = m.root().to_string_lossy().into_owned();
    Some(State {
        model: m,
        root,
        report,
    })
}

extern "C" fn at_exit() {
    let Some(s) = STATE.get().and_then(|s| s.as_ref()) else {
        return;
    };
    if let Some(dest) = &s.report {
        let mut text = String::new();
        for d in s.model.devices() {
            text.push_str(&format!(
                "{} executed={} rejected={} injected={}\n",
                d.name(),
                d.stats.executed.load(Ordering::Relaxed),
                d.stats.rejected.load(Ordering::Relaxed),
                d.stats.injected.load(Ordering::Relaxed),
            ));
        }
        text.push_str(&format!(
            "preload polls={} stores={}\n",
            POLLS.load(Ordering::Relaxed),
            STORES.load(Ordering::Relaxed)
        ));
        if dest == "-" {
            eprint!("{text}");
        } else {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dest)
            {
                let _ = f.write_all(text.as_bytes());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&s.root);
}

/// Nonzero once this library serves modelled devices: libraries of this project in the
/// same process then reach them as kernel devices instead of installing a model of their
/// own ([`uadk::model::preload_active`]).
///
/// It may be asked before this library's constructor ran (libraries' constructors run
/// before a preloaded one's): it sets the model up then. While this library installs its
/// own model (whose code asks the same question), it answers 0 on that thread.
#[no_mangle]
pub extern "C" fn uadk_model_preload_active() -> c_int {
    if INSTALLING.with(|f| f.get()) {
        return 0;
    }
    state().is_some() as c_int
}

thread_local! {
    /// This thread is installing the model.
    static INSTALLING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

extern "C" fn init() {
    let _ = state();
}

// ---------------------------------------------------------------------------------------
// The C library's own functions.

macro_rules! real {
    ($name:ident : $ty:ty) => {{
        static P: AtomicUsize = AtomicUsize::new(0);
        let mut p = P.load(Ordering::Relaxed);
        if p == 0 {
            // SAFETY: dlsym with a NUL-terminated name; RTLD_NEXT finds the C library's.
            p = unsafe {
                libc::dlsym(
                    libc::RTLD_NEXT,
                    concat!(stringify!($name), "\0").as_ptr().cast(),
                )
            } as usize;
            if p == 0 {
                trap_missing(stringify!($name));
            }
            P.store(p, Ordering::Relaxed);
        }
        // SAFETY: the symbol of that name has this C signature.
        unsafe { std::mem::transmute::<usize, $ty>(p) }
    }};
}

fn trap_missing(name: &str) -> ! {
    eprintln!("uadk-model-preload: the C library has no {name}");
    std::process::abort()
}

fn set_errno(e: c_int) {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() = e };
}

// ---------------------------------------------------------------------------------------
// Paths.

/// What a path names, for this library.
enum Virt {
    /// Not ours.
    No,
    /// The model's file standing in for it.
    File(CString),
    /// A modelled device's character node.
    Dev(String),
}

/// Sort a path: `/sys/class/uacce[/...]` is redirected into the model's tree,
/// `/dev/hisi_zip-N` of a modelled device is a queue.
///
/// # Safety
/// `path` is null or a NUL-terminated string.
unsafe fn classify(path: *const c_char) -> Virt {
    if path.is_null() {
        return Virt::No;
    }
    // SAFETY: the caller's contract.
    let p = unsafe { CStr::from_ptr(path) }.to_bytes();
    // Fast path: nothing of ours starts otherwise.
    if !(p.starts_with(b"/sys/class/uacce") || p.starts_with(b"/dev/hisi_zip-")) {
        return Virt::No;
    }
    let Some(s) = state() else {
        return Virt::No;
    };
    if let Some(rest) = p.strip_prefix(CLASS_DIR.as_bytes()) {
        if rest.is_empty() || rest[0] == b'/' {
            let mut v = s.root.as_bytes().to_vec();
            v.extend_from_slice(p);
            return CString::new(v).map_or(Virt::No, Virt::File);
        }
        return Virt::No;
    }
    let name = String::from_utf8_lossy(&p[5..]).into_owned();
    if s.model.device(&name).is_some() {
        Virt::Dev(name)
    } else {
        Virt::No
    }
}

/// The model's stand-in file of a device node (for `access`, `stat`).
fn dev_file(name: &str) -> Option<CString> {
    let s = state()?;
    CString::new(format!("{}/dev/{name}", s.root)).ok()
}

type OpenFn = unsafe extern "C" fn(*const c_char, c_int, libc::mode_t) -> c_int;
type OpenatFn = unsafe extern "C" fn(c_int, *const c_char, c_int, libc::mode_t) -> c_int;

/// # Safety
/// `path` is a NUL-terminated string.
unsafe fn do_open(
    path: *const c_char,
    flags: c_int,
    mode: libc::mode_t,
    real: impl Fn(*const c_char) -> c_int,
) -> c_int {
    // SAFETY: the caller's contract.
    match unsafe { classify(path) } {
        Virt::No => real(path),
        Virt::File(f) => real(f.as_ptr()),
        Virt::Dev(name) => open_queue(&name, flags, mode),
    }
}

/// `open(2)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn open(path: *const c_char, flags: c_int, mode: libc::mode_t) -> c_int {
    let f = real!(open: OpenFn);
    // SAFETY: the C contract of open.
    unsafe { do_open(path, flags, mode, |p| f(p, flags, mode)) }
}

/// `open64(2)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn open64(path: *const c_char, flags: c_int, mode: libc::mode_t) -> c_int {
    let f = real!(open64: OpenFn);
    // SAFETY: the C contract of open64.
    unsafe { do_open(path, flags, mode, |p| f(p, flags, mode)) }
}

/// glibc's fortified `open` (no mode).
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn __open_2(path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: as open.
    unsafe { open(path, flags, 0) }
}

/// glibc's fortified `open64` (no mode).
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn __open64_2(path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: as open64.
    unsafe { open64(path, flags, 0) }
}

/// `openat(2)`: absolute paths of ours are served; the rest passes through.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn openat(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: libc::mode_t,
) -> c_int {
    let f = real!(openat: OpenatFn);
    // SAFETY: the C contract of openat.
    unsafe { do_open(path, flags, mode, |p| f(dirfd, p, flags, mode)) }
}

/// `openat64(2)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn openat64(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: libc::mode_t,
) -> c_int {
    let f = real!(openat64: OpenatFn);
    // SAFETY: the C contract of openat64.
    unsafe { do_open(path, flags, mode, |p| f(dirfd, p, flags, mode)) }
}

/// glibc's fortified `openat`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: as openat.
    unsafe { openat(dirfd, path, flags, 0) }
}

/// glibc's fortified `openat64`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn __openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: as openat64.
    unsafe { openat64(dirfd, path, flags, 0) }
}

/// # Safety
/// `path` is null or NUL-terminated.
unsafe fn redirect(path: *const c_char) -> Result<Option<CString>, ()> {
    // SAFETY: the caller's contract.
    match unsafe { classify(path) } {
        Virt::No => Ok(None),
        Virt::File(f) => Ok(Some(f)),
        Virt::Dev(n) => dev_file(&n).map(Some).ok_or(()),
    }
}

macro_rules! path_call {
    ($path:expr, $real:expr) => {{
        // SAFETY: the C contract: `path` is NUL-terminated.
        match unsafe { redirect($path) } {
            Ok(Some(p)) => $real(p.as_ptr()),
            Ok(None) => $real($path),
            Err(()) => {
                set_errno(libc::ENOENT);
                -1
            }
        }
    }};
}

/// `access(2)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn access(path: *const c_char, mode: c_int) -> c_int {
    let f = real!(access: unsafe extern "C" fn(*const c_char, c_int) -> c_int);
    // SAFETY: the C contract of access.
    path_call!(path, |p| unsafe { f(p, mode) })
}

/// `stat(2)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn stat(path: *const c_char, buf: *mut libc::stat) -> c_int {
    let f = real!(stat: unsafe extern "C" fn(*const c_char, *mut libc::stat) -> c_int);
    // SAFETY: the C contract of stat.
    path_call!(path, |p| unsafe { f(p, buf) })
}

/// `stat64(2)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn stat64(path: *const c_char, buf: *mut libc::stat64) -> c_int {
    let f = real!(stat64: unsafe extern "C" fn(*const c_char, *mut libc::stat64) -> c_int);
    // SAFETY: the C contract of stat64.
    path_call!(path, |p| unsafe { f(p, buf) })
}

/// `lstat(2)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn lstat(path: *const c_char, buf: *mut libc::stat) -> c_int {
    let f = real!(lstat: unsafe extern "C" fn(*const c_char, *mut libc::stat) -> c_int);
    // SAFETY: the C contract of lstat.
    path_call!(path, |p| unsafe { f(p, buf) })
}

/// `lstat64(2)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn lstat64(path: *const c_char, buf: *mut libc::stat64) -> c_int {
    let f = real!(lstat64: unsafe extern "C" fn(*const c_char, *mut libc::stat64) -> c_int);
    // SAFETY: the C contract of lstat64.
    path_call!(path, |p| unsafe { f(p, buf) })
}

/// `statx(2)`: absolute paths of ours are served.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn statx(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mask: libc::c_uint,
    buf: *mut libc::statx,
) -> c_int {
    let f = real!(statx: unsafe extern "C" fn(c_int, *const c_char, c_int, libc::c_uint, *mut libc::statx) -> c_int);
    // SAFETY: the C contract of statx.
    path_call!(path, |p| unsafe { f(dirfd, p, flags, mask, buf) })
}

/// `opendir(3)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn opendir(path: *const c_char) -> *mut libc::DIR {
    let f = real!(opendir: unsafe extern "C" fn(*const c_char) -> *mut libc::DIR);
    // SAFETY: the C contract of opendir.
    match unsafe { redirect(path) } {
        Ok(Some(p)) => unsafe { f(p.as_ptr()) },
        Ok(None) => unsafe { f(path) },
        Err(()) => {
            set_errno(libc::ENOENT);
            std::ptr::null_mut()
        }
    }
}

type FopenFn = unsafe extern "C" fn(*const c_char, *const c_char) -> *mut libc::FILE;

/// `fopen(3)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn fopen(path: *const c_char, mode: *const c_char) -> *mut libc::FILE {
    let f = real!(fopen: FopenFn);
    // SAFETY: the C contract of fopen; a device node is not a stdio stream.
    match unsafe { redirect(path) } {
        Ok(Some(p)) => unsafe { f(p.as_ptr(), mode) },
        Ok(None) => unsafe { f(path, mode) },
        Err(()) => {
            set_errno(libc::ENOENT);
            std::ptr::null_mut()
        }
    }
}

/// `fopen64(3)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn fopen64(path: *const c_char, mode: *const c_char) -> *mut libc::FILE {
    let f = real!(fopen64: FopenFn);
    // SAFETY: as fopen.
    match unsafe { redirect(path) } {
        Ok(Some(p)) => unsafe { f(p.as_ptr(), mode) },
        Ok(None) => unsafe { f(path, mode) },
        Err(()) => {
            set_errno(libc::ENOENT);
            std::ptr::null_mut()
        }
    }
}

/// Resolve a path of ours to itself: the kernel's sysfs links lead elsewhere, but every
/// caller only opens what `realpath` returns.
///
/// # Safety
/// As `realpath(3)`.
unsafe fn virt_realpath(path: *const c_char, resolved: *mut c_char) -> Option<*mut c_char> {
    // SAFETY: the caller's contract.
    let backing = match unsafe { redirect(path) } {
        Ok(Some(p)) => p,
        Ok(None) => return None,
        Err(()) => {
            set_errno(libc::ENOENT);
            return Some(std::ptr::null_mut());
        }
    };
    let acc = real!(access: unsafe extern "C" fn(*const c_char, c_int) -> c_int);
    // SAFETY: a NUL-terminated path.
    if unsafe { acc(backing.as_ptr(), libc::F_OK) } != 0 {
        return Some(std::ptr::null_mut());
    }
    // SAFETY: the caller's contract: NUL-terminated.
    let src = unsafe { CStr::from_ptr(path) }.to_bytes_with_nul();
    if src.len() > libc::PATH_MAX as usize {
        set_errno(libc::ENAMETOOLONG);
        return Some(std::ptr::null_mut());
    }
    let out = if resolved.is_null() {
        // SAFETY: realpath's contract: a NULL buffer means a malloc'd result.
        let p = unsafe { libc::malloc(src.len()) } as *mut c_char;
        if p.is_null() {
            set_errno(libc::ENOMEM);
            return Some(p);
        }
        p
    } else {
        resolved
    };
    // SAFETY: `out` holds PATH_MAX bytes (the caller's buffer) or exactly `src.len()`.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr().cast(), out, src.len()) };
    Some(out)
}

/// `realpath(3)`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn realpath(path: *const c_char, resolved: *mut c_char) -> *mut c_char {
    // SAFETY: the C contract.
    if let Some(r) = unsafe { virt_realpath(path, resolved) } {
        return r;
    }
    let f = real!(realpath: unsafe extern "C" fn(*const c_char, *mut c_char) -> *mut c_char);
    // SAFETY: the C contract.
    unsafe { f(path, resolved) }
}

/// glibc's fortified `realpath`.
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn __realpath_chk(
    path: *const c_char,
    resolved: *mut c_char,
    resolvedlen: libc::size_t,
) -> *mut c_char {
    if !resolved.is_null() && resolvedlen < libc::PATH_MAX as usize {
        // SAFETY: as glibc does for a buffer smaller than PATH_MAX.
        unsafe { libc::abort() };
    }
    // SAFETY: as realpath.
    unsafe { realpath(path, resolved) }
}

// ---------------------------------------------------------------------------------------
// Queues.

/// One opened modelled queue.
struct QueueFd {
    queue: Queue,
    dev: UacceDevice,
}

static QUEUES: Mutex<Option<HashMap<c_int, Arc<QueueFd>>>> = Mutex::new(None);
/// One bit per descriptor below 65536 that is a queue: the fast test of the hot paths.
static QUEUE_BITS: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];

fn is_queue_fd(fd: c_int) -> bool {
    (0..65536).contains(&fd)
        && QUEUE_BITS[fd as usize / 64].load(Ordering::Acquire) & (1 << (fd % 64)) != 0
}

fn queue_of(fd: c_int) -> Option<Arc<QueueFd>> {
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

fn open_queue(name: &str, flags: c_int, _mode: libc::mode_t) -> c_int {
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
    if let Some(q) = queue_of(fd) {
        return map_queue(q, len, flags, off);
    }
    let f = real!(mmap: MmapFn);
    // SAFETY: the C contract.
    unsafe { f(addr, len, prot, flags, fd, off) }
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
    if let Some(q) = queue_of(fd) {
        return map_queue(q, len, flags, off);
    }
    let f = real!(mmap64: MmapFn);
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
