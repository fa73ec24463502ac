//! `wd_alg.h`'s driver registry (version node `UADK_2.0`): C drivers register themselves
//! per algorithm, callers request the best available one and dispatch to it.
//!
//! The registry is the linked list of `struct wd_alg_list` that `wd_get_alg_head` returns,
//! in registration order, with UADK v2.10's rules: a driver needs all four of `init`, `exit`,
//! `send` and `recv`; registering one equal to a registered one (same algorithm, driver
//! name, priority and calculation type) changes nothing; a driver that is not available is
//! refused with `-WD_ENODEV`. Availability: a hardware driver (`UADK_ALG_HW`) needs a UACCE
//! device whose name begins with the driver's name; instruction drivers need the CPU
//! feature (Arm SM3/SM4 crypto extensions, SVE); `UADK_ALG_SOFT` drivers are never
//! available, as in v2.10. Every function takes the registry's lock; a caller walking the
//! list from `wd_get_alg_head` does so without it, as with UADK.
//!
//! The compression layer (`wd_comp_*`) does not route requests to these drivers: it
//! chooses among the library's own (see `docs/architecture.md`).

use crate::abi::*;
use crate::{guard, handle_t, EINVAL};
use libc::{c_char, c_int, c_void};
use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::ptr;
use std::sync::Mutex;
use uadk::wd::status::{WD_EACCES, WD_ENODEV, WD_ENOMEM};

/// The list's head: a node with no driver whose `next` is the first registered one.
struct Head(UnsafeCell<wd_alg_list>);

// SAFETY: the head is only written while `LOCK` is held.
unsafe impl Sync for Head {}

static HEAD: Head = Head(UnsafeCell::new(wd_alg_list {
    alg_name: [0; ALG_NAME_SIZE],
    drv_name: [0; DEV_NAME_LEN],
    available: false,
    priority: 0,
    calc_type: 0,
    refcnt: 0,
    drv: ptr::null_mut(),
    next: ptr::null_mut(),
}));

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A NUL-terminated C string's bytes, or None for NULL.
fn bytes<'a>(s: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: non-NULL strings of a driver or caller are NUL-terminated (the API's contract).
    (!s.is_null()).then(|| unsafe { CStr::from_ptr(s) }.to_bytes())
}

/// A stored name field, up to its NUL.
fn stored(f: &[c_char]) -> &[u8] {
    let n = f.iter().position(|&c| c == 0).unwrap_or(f.len());
    // SAFETY: the first `n` elements of `f`, reinterpreted as bytes of the same size.
    unsafe { std::slice::from_raw_parts(f.as_ptr() as *const u8, n) }
}

fn copy_name(dst: &mut [c_char], src: &[u8]) {
    // Truncated to leave room for the NUL, as UADK's strncpy of size - 1.
    let room = dst.len() - 1;
    for (d, &b) in dst.iter_mut().zip(src.iter().take(room)) {
        *d = b as c_char;
    }
}

/// The registration fields of a driver, read now (a caller may change them).
struct Key<'a> {
    alg: &'a [u8],
    drv: &'a [u8],
    priority: c_int,
    calc_type: c_int,
}

fn key<'a>(drv: *mut wd_alg_driver) -> Option<Key<'a>> {
    if drv.is_null() {
        return None;
    }
    // SAFETY: non-NULL pointer to the caller's driver, valid while registered.
    let d = unsafe { &*drv };
    Some(Key {
        alg: bytes(d.alg_name)?,
        drv: bytes(d.drv_name)?,
        priority: d.priority,
        calc_type: d.calc_type,
    })
}

fn matches(k: &Key, n: &wd_alg_list) -> bool {
    k.alg == stored(&n.alg_name)
        && k.drv == stored(&n.drv_name)
        && k.priority == n.priority
        && k.calc_type == n.calc_type
}

/// Walk the registered nodes; `f` returns true to stop. Call with the lock held.
fn walk(mut f: impl FnMut(*mut wd_alg_list, &mut wd_alg_list) -> bool) {
    // SAFETY: the lock is held, so no node is unlinked or freed meanwhile.
    let mut prev = HEAD.0.get();
    // SAFETY: as above.
    let mut p = unsafe { (*prev).next };
    while !p.is_null() {
        // SAFETY: a node allocated by register and still linked.
        let n = unsafe { &mut *p };
        let next = n.next;
        if f(prev, n) {
            return;
        }
        prev = p;
        p = next;
    }
}

#[cfg(target_arch = "aarch64")]
fn hwcap() -> u64 {
    // SAFETY: getauxval has no preconditions.
    unsafe { libc::getauxval(libc::AT_HWCAP) }
}

#[cfg(not(target_arch = "aarch64"))]
fn hwcap() -> u64 {
    0
}

// Arm's AT_HWCAP bits for the SM3 and SM4 crypto extensions and for SVE.
const HWCAP_CE_SM3: u64 = 1 << 18;
const HWCAP_CE_SM4: u64 = 1 << 19;
const HWCAP_SVE: u64 = 1 << 22;

/// Whether a driver can serve now (UADK's `wd_alg_check_available`).
fn available(calc_type: c_int, alg: &[u8], drv: &[u8]) -> bool {
    match calc_type {
        UADK_ALG_CE_INSTR => {
            (alg == b"sm3" && hwcap() & HWCAP_CE_SM3 != 0)
                || (alg.len() > 5 && alg.ends_with(b"(sm4)") && hwcap() & HWCAP_CE_SM4 != 0)
        }
        UADK_ALG_SVE_INSTR => hwcap() & HWCAP_SVE != 0,
        UADK_ALG_HW => {
            let _ = uadk::model::install_from_env();
            uadk::uacce::list()
                .iter()
                .any(|d| d.name.as_bytes().starts_with(drv))
        }
        // UADK_ALG_SOFT and unknown types: never, as in v2.10.
        _ => false,
    }
}

/// Register a driver: 0 on success (or when an equal one is registered already),
/// `-WD_EINVAL` for NULL, a missing name or a missing `init`/`exit`/`send`/`recv`,
/// `-WD_ENODEV` when the driver is not available (see the module's documentation).
#[no_mangle]
pub extern "C" fn wd_alg_driver_register(drv: *mut wd_alg_driver) -> c_int {
    guard(EINVAL, || {
        let Some(k) = key(drv) else {
            return EINVAL;
        };
        // SAFETY: non-NULL (key checked it).
        let d = unsafe { &*drv };
        if d.init.is_none() || d.exit.is_none() || d.send.is_none() || d.recv.is_none() {
            return EINVAL;
        }
        let g = lock();
        let mut dup = false;
        walk(|_, n| {
            dup = matches(&k, n);
            dup
        });
        if dup {
            return 0;
        }
        drop(g);
        // Checked without the lock: a device scan may take a while.
        if !available(k.calc_type, k.alg, k.drv) {
            return -WD_ENODEV;
        }
        // SAFETY: calloc of one node, checked for NULL; zeroed, then filled.
        let node =
            unsafe { libc::calloc(1, std::mem::size_of::<wd_alg_list>()) } as *mut wd_alg_list;
        if node.is_null() {
            return -WD_ENOMEM;
        }
        // SAFETY: the node just allocated, owned here until linked.
        let n = unsafe { &mut *node };
        copy_name(&mut n.alg_name, k.alg);
        copy_name(&mut n.drv_name, k.drv);
        n.priority = k.priority;
        n.calc_type = k.calc_type;
        n.available = true;
        n.drv = drv;
        let _g = lock();
        // Appended at the tail, so the list keeps registration order, unless an equal
        // driver was registered meanwhile.
        let (mut tail, mut dup) = (HEAD.0.get(), false);
        walk(|_, n| {
            tail = n;
            dup = matches(&k, n);
            dup
        });
        if dup {
            // SAFETY: the node allocated above, never linked.
            unsafe { libc::free(node.cast()) };
            return 0;
        }
        // SAFETY: the lock is held; `tail` is the head or the last linked node.
        unsafe { (*tail).next = node };
        0
    })
}

/// Remove a registered driver (the first node equal to it); unknown drivers and NULL
/// are ignored. A driver still requested is removed all the same, as UADK does.
#[no_mangle]
pub extern "C" fn wd_alg_driver_unregister(drv: *mut wd_alg_driver) {
    guard((), || {
        let Some(k) = key(drv) else {
            return;
        };
        let _g = lock();
        walk(|prev, n| {
            if !matches(&k, n) {
                return false;
            }
            // SAFETY: the lock is held; `prev` links `n`, which is unlinked then freed
            // (it came from calloc in register).
            unsafe {
                (*prev).next = n.next;
                libc::free((n as *mut wd_alg_list).cast());
            }
            true
        });
    })
}

/// The registry's head node; the registered drivers follow from its `next`.
#[no_mangle]
pub extern "C" fn wd_get_alg_head() -> *mut wd_alg_list {
    HEAD.0.get()
}

/// Whether a driver of `drv`'s name is registered for `alg_name` (available or not).
#[no_mangle]
pub extern "C" fn wd_drv_alg_support(alg_name: *const c_char, drv: *mut wd_alg_driver) -> bool {
    guard(false, || {
        let (Some(alg), false) = (bytes(alg_name), drv.is_null()) else {
            return false;
        };
        // SAFETY: non-NULL pointer to the caller's driver.
        let Some(name) = bytes(unsafe { (*drv).drv_name }) else {
            return false;
        };
        let _g = lock();
        let mut found = false;
        walk(|_, n| {
            found = stored(&n.alg_name) == alg && stored(&n.drv_name) == name;
            found
        });
        found
    })
}

/// Check again whether a registered driver is available, and mark it so.
#[no_mangle]
pub extern "C" fn wd_enable_drv(drv: *mut wd_alg_driver) {
    guard((), || {
        let Some(k) = key(drv) else {
            return;
        };
        let now = available(k.calc_type, k.alg, k.drv);
        let _g = lock();
        walk(|_, n| {
            if matches(&k, n) {
                n.available = now;
                return true;
            }
            false
        });
    })
}

/// Mark a registered driver unavailable: [`wd_request_drv`] passes it over.
#[no_mangle]
pub extern "C" fn wd_disable_drv(drv: *mut wd_alg_driver) {
    guard((), || {
        let Some(k) = key(drv) else {
            return;
        };
        let _g = lock();
        walk(|_, n| {
            if matches(&k, n) && n.available {
                n.available = false;
                return true;
            }
            false
        });
    })
}

/// The available driver of highest priority for `alg_name` (the first registered among
/// equals; priorities below 0 are never chosen), among hardware drivers, or among the
/// others when `hw_mask` is set. Its reference count goes up; NULL when none fits.
#[no_mangle]
pub extern "C" fn wd_request_drv(alg_name: *const c_char, hw_mask: bool) -> *mut wd_alg_driver {
    guard(ptr::null_mut(), || {
        let Some(alg) = bytes(alg_name) else {
            return ptr::null_mut();
        };
        let _g = lock();
        let (mut best, mut prio): (*mut wd_alg_list, c_int) = (ptr::null_mut(), -1);
        walk(|_, n| {
            // SAFETY: a registered driver stays valid until it is unregistered.
            let d = unsafe { &*n.drv };
            if hw_mask == (d.calc_type == UADK_ALG_HW) {
                return false;
            }
            if stored(&n.alg_name) == alg && n.available && d.priority > prio {
                prio = d.priority;
                best = n;
            }
            false
        });
        if best.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: the lock is held; `best` is linked.
        unsafe {
            (*best).refcnt += 1;
            (*best).drv
        }
    })
}

/// Give back a driver from [`wd_request_drv`]: the first node equal to it that is
/// referenced loses a reference.
#[no_mangle]
pub extern "C" fn wd_release_drv(drv: *mut wd_alg_driver) {
    guard((), || {
        let Some(k) = key(drv) else {
            return;
        };
        let _g = lock();
        walk(|_, n| {
            if matches(&k, n) && n.refcnt > 0 {
                n.refcnt -= 1;
                return true;
            }
            false
        });
    })
}

fn driver<'a>(drv: *mut wd_alg_driver) -> Option<&'a wd_alg_driver> {
    // SAFETY: non-NULL pointer to the caller's driver, valid for the call.
    (!drv.is_null()).then(|| unsafe { &*drv })
}

/// Call the driver's `init`; `-WD_EINVAL` when `drv` or `init` is NULL.
#[no_mangle]
pub extern "C" fn wd_alg_driver_init(drv: *mut wd_alg_driver, conf: *mut c_void) -> c_int {
    match driver(drv).and_then(|d| d.init) {
        // SAFETY: the driver's own function, called as its header declares it.
        Some(f) => unsafe { f(drv, conf) },
        None => EINVAL,
    }
}

/// Call the driver's `exit`; nothing when `drv` or `exit` is NULL.
#[no_mangle]
pub extern "C" fn wd_alg_driver_exit(drv: *mut wd_alg_driver) {
    if let Some(f) = driver(drv).and_then(|d| d.exit) {
        // SAFETY: as in wd_alg_driver_init.
        unsafe { f(drv) }
    }
}

/// Call the driver's `send`; `-WD_EINVAL` when `drv` or `send` is NULL.
#[no_mangle]
pub extern "C" fn wd_alg_driver_send(
    drv: *mut wd_alg_driver,
    ctx: handle_t,
    msg: *mut c_void,
) -> c_int {
    match driver(drv).and_then(|d| d.send) {
        // SAFETY: as in wd_alg_driver_init.
        Some(f) => unsafe { f(drv, ctx, msg) },
        None => EINVAL,
    }
}

/// Call the driver's `recv`; `-WD_EINVAL` when `drv` or `recv` is NULL.
#[no_mangle]
pub extern "C" fn wd_alg_driver_recv(
    drv: *mut wd_alg_driver,
    ctx: handle_t,
    msg: *mut c_void,
) -> c_int {
    match driver(drv).and_then(|d| d.recv) {
        // SAFETY: as in wd_alg_driver_init.
        Some(f) => unsafe { f(drv, ctx, msg) },
        None => EINVAL,
    }
}

/// UADK's algorithm classes (after v2.10, `wd_get_alg_type`): compression, analytics and
/// asymmetric algorithms are their own class, symmetric ones their API's.
fn alg_class(name: &[u8]) -> Option<&'static str> {
    const OWN: [&str; 17] = [
        "zlib",
        "gzip",
        "deflate",
        "lz77_zstd",
        "lz4",
        "lz77_only",
        "hashagg",
        "udma",
        "hashjoin",
        "gather",
        "rsa",
        "dh",
        "ecdh",
        "x25519",
        "x448",
        "ecdsa",
        "sm2",
    ];
    const CIPHER_MODES: [&str; 9] = [
        "ecb", "cbc", "xts", "ofb", "cfb", "ctr", "cbc-cs1", "cbc-cs2", "cbc-cs3",
    ];
    const AEAD: [&str; 6] = [
        "ccm(aes)",
        "gcm(aes)",
        "ccm(sm4)",
        "gcm(sm4)",
        "authenc(generic,cbc(aes))",
        "authenc(generic,cbc(sm4))",
    ];
    const DIGEST: [&str; 13] = [
        "sm3",
        "md5",
        "sha1",
        "sha256",
        "sha224",
        "sha384",
        "sha512",
        "sha512-224",
        "sha512-256",
        "cmac(aes)",
        "gmac(aes)",
        "xcbc-mac-96(aes)",
        "xcbc-prf-128(aes)",
    ];
    let name = std::str::from_utf8(name).ok()?;
    if let Some(own) = OWN.iter().find(|&&a| a == name) {
        return Some(own);
    }
    if name == "join-gather" {
        return Some("hashjoin");
    }
    if AEAD.contains(&name) {
        return Some("aead");
    }
    if DIGEST.contains(&name) {
        return Some("digest");
    }
    // Cipher modes of AES and SM4 (all), and ECB/CBC of DES and 3DES.
    let (mode, rest) = name.split_once('(')?;
    let cipher = rest.strip_suffix(')')?;
    let known = match cipher {
        "aes" | "sm4" => CIPHER_MODES.contains(&mode),
        "des" | "des3_ede" => mode == "ecb" || mode == "cbc",
        _ => false,
    };
    known.then_some("cipher")
}

/// The class of an algorithm (`"cbc(aes)"` → `"cipher"`, `"zlib"` → `"zlib"`), written
/// with its NUL into `alg_type` (room for `ALG_NAME_SIZE` bytes is enough). 0, or
/// `-WD_EINVAL` for NULL or an algorithm UADK does not know (the empty name included).
#[no_mangle]
pub extern "C" fn wd_get_alg_type(alg_name: *const c_char, alg_type: *mut c_char) -> c_int {
    guard(EINVAL, || {
        let (Some(name), false) = (bytes(alg_name), alg_type.is_null()) else {
            return EINVAL;
        };
        let Some(class) = alg_class(name) else {
            return EINVAL;
        };
        // SAFETY: the caller's buffer, large enough for any class name by contract.
        unsafe {
            ptr::copy_nonoverlapping(class.as_ptr(), alg_type as *mut u8, class.len());
            *alg_type.add(class.len()) = 0;
        }
        0
    })
}

/// A device's usage through its registered C driver (UADK after v2.10): the first
/// driver whose name, followed by `-`, begins `dev_name`, whose algorithm's class is
/// `alg_type` and which has been initialised (`priv` set) answers through its
/// `get_usage`, given a `struct hisi_dev_usage`. `-WD_EACCES` when none matches,
/// `-WD_EINVAL` for NULL or a driver without `get_usage`. Only C-registered drivers are
/// asked: the library's own (the CPU engine, `hisi_zip`) are not in this registry; a
/// device's `dev_usage` is read by `wd_get_dev_usage`.
#[no_mangle]
pub extern "C" fn wd_alg_get_dev_usage(
    dev_name: *const c_char,
    alg_type: *const c_char,
    alg_op_type: u8,
) -> c_int {
    guard(EINVAL, || {
        let (Some(dev), Some(class)) = (bytes(dev_name), bytes(alg_type)) else {
            return EINVAL;
        };
        let mut found: *mut wd_alg_driver = ptr::null_mut();
        {
            let _g = lock();
            walk(|_, n| {
                let drv = stored(&n.drv_name);
                let hit = !n.drv.is_null()
                    && dev.len() > drv.len()
                    && dev.starts_with(drv)
                    && dev[drv.len()] == b'-'
                    && alg_class(stored(&n.alg_name)).is_some_and(|c| c.as_bytes() == class)
                    // SAFETY: a registered driver stays valid until unregistered.
                    && !unsafe { (*n.drv).priv_ }.is_null();
                if hit {
                    found = n.drv;
                }
                hit
            });
        }
        if found.is_null() {
            return -WD_EACCES;
        }
        // SAFETY: the registered driver found above.
        let Some(get_usage) = (unsafe { (*found).get_usage }) else {
            return EINVAL;
        };
        let mut u = hisi_dev_usage {
            drv: found,
            dev_name,
            alg_op_type,
        };
        // SAFETY: the driver's callback, with the parameter UADK gives it; called without
        // the registry's lock, so that it may use the registry.
        unsafe { get_usage(&mut u as *mut hisi_dev_usage as *mut c_void) }
    })
}
