//! Paths: `/sys/class/uacce` redirected into the model's tree, `/dev/hisi_zip-N` of a
//! modelled device opened as a queue (`open`, `stat` and their variants, `access`,
//! `opendir`, `fopen`, `realpath`).

use crate::queue::open_queue;
use crate::real::set_errno;
use crate::{state, CLASS_DIR};
use std::ffi::{c_char, c_int, CStr, CString};

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
