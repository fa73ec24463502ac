//! `libwd` (version node `UADK_2.0`): devices, contexts, version.
//!
//! Without an accelerator, the CPU engine presents itself as one device per NUMA node
//! (`/dev/uadk-cpu-<node>` in `char_dev_path`, api `cpu`), so a caller that builds its own
//! context configuration from `wd_get_accel_list` works on any machine.

use crate::abi::*;
use crate::{guard, handle_t};
use libc::{c_char, c_int, c_void};
use std::ffi::CStr;
use std::ptr;
use uadk::wd::numa::Topology;

const CPU_API: &str = "cpu";
const CPU_ALGS: &str = "deflate\nzlib\ngzip\nlz4";

/// A context handle from [`wd_request_ctx`].
pub struct CtxHandle {
    /// NUMA node of the device it was opened on.
    pub node: u32,
    dev_name: [c_char; MAX_DEV_NAME_LEN],
    api: [c_char; WD_NAME_SIZE],
    priv_: *mut c_void,
}

fn fill(dst: &mut [c_char], s: &str) {
    for (d, b) in dst.iter_mut().zip(s.bytes().chain(std::iter::once(0))) {
        *d = b as c_char;
    }
    if let Some(last) = dst.last_mut() {
        *last = 0;
    }
}

fn cpu_dev(node: u32) -> uacce_dev {
    let mut d = uacce_dev {
        flags: UACCE_DEV_SVA,
        numa_id: node as c_int,
        api: [0; WD_NAME_SIZE],
        algs: [0; MAX_ATTR_STR_SIZE],
        dev_root: [0; PATH_STR_SIZE],
        char_dev_path: [0; MAX_DEV_NAME_LEN],
        qfrs_offs: [0; UACCE_QFRT_MAX],
    };
    fill(&mut d.api, CPU_API);
    fill(&mut d.algs, CPU_ALGS);
    fill(
        &mut d.dev_root,
        &format!("/sys/class/uacce/uadk-cpu-{node}"),
    );
    fill(&mut d.char_dev_path, &format!("/dev/uadk-cpu-{node}"));
    d
}

fn serves(alg: &CStr) -> bool {
    alg.to_str()
        .map(|a| CPU_ALGS.split('\n').any(|x| x == a))
        .unwrap_or(false)
}

/// Devices that serve `alg_name`: the CPU engine's, one per node. NULL when none does.
#[no_mangle]
pub extern "C" fn wd_get_accel_list(alg_name: *const c_char) -> *mut uacce_dev_list {
    guard(ptr::null_mut(), || {
        if alg_name.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: non-NULL and, by the API's contract, a NUL-terminated string.
        let alg = unsafe { CStr::from_ptr(alg_name) };
        if !serves(alg) {
            return ptr::null_mut();
        }
        let mut head: *mut uacce_dev_list = ptr::null_mut();
        for &node in Topology::get().nodes.iter().rev() {
            head = Box::into_raw(Box::new(uacce_dev_list {
                dev: Box::into_raw(Box::new(cpu_dev(node))),
                next: head,
            }));
        }
        head
    })
}

/// Free a list from [`wd_get_accel_list`].
#[no_mangle]
pub extern "C" fn wd_free_list_accels(list: *mut uacce_dev_list) {
    guard((), || {
        let mut p = list;
        while !p.is_null() {
            // SAFETY: every node and device of the list came from Box::into_raw above, and
            // the caller hands the list back once.
            let node = unsafe { Box::from_raw(p) };
            if !node.dev.is_null() {
                // SAFETY: as above.
                drop(unsafe { Box::from_raw(node.dev) });
            }
            p = node.next;
        }
    })
}

/// The device of `list` on `numa_id`, or the first one.
#[no_mangle]
pub extern "C" fn wd_find_dev_by_numa(list: *mut uacce_dev_list, numa_id: c_int) -> *mut uacce_dev {
    guard(ptr::null_mut(), || {
        let (mut p, mut first): (_, *mut uacce_dev) = (list, ptr::null_mut());
        while !p.is_null() {
            // SAFETY: a list from wd_get_accel_list, not yet freed.
            let node = unsafe { &*p };
            if first.is_null() {
                first = node.dev;
            }
            // SAFETY: devices of the list are valid while the list is.
            if !node.dev.is_null() && unsafe { (*node.dev).numa_id } == numa_id {
                return node.dev;
            }
            p = node.next;
        }
        first
    })
}

/// The best device for `alg_name` near the caller (free it with `free`).
#[no_mangle]
pub extern "C" fn wd_get_accel_dev(alg_name: *const c_char) -> *mut uacce_dev {
    guard(ptr::null_mut(), || {
        if alg_name.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: non-NULL NUL-terminated string by contract.
        if !serves(unsafe { CStr::from_ptr(alg_name) }) {
            return ptr::null_mut();
        }
        let node = Topology::get().current_node();
        // UADK's callers release this with free(): allocate it with malloc.
        // SAFETY: malloc of the struct's size; checked for NULL; then fully written.
        unsafe {
            let p = libc::malloc(std::mem::size_of::<uacce_dev>()) as *mut uacce_dev;
            if !p.is_null() {
                p.write(cpu_dev(node));
            }
            p
        }
    })
}

/// Contexts still available on a device (the CPU engine has no fixed limit).
#[no_mangle]
pub extern "C" fn wd_get_avail_ctx(dev: *mut uacce_dev) -> c_int {
    if dev.is_null() {
        -libc::EINVAL
    } else {
        4096
    }
}

/// Whether the device is isolated after errors (never, for the CPU engine).
#[no_mangle]
pub extern "C" fn wd_is_isolate(dev: *mut uacce_dev) -> c_int {
    if dev.is_null() {
        -libc::EINVAL
    } else {
        0
    }
}

/// Open a context (queue) on a device.
#[no_mangle]
pub extern "C" fn wd_request_ctx(dev: *mut uacce_dev) -> handle_t {
    guard(0, || {
        if dev.is_null() {
            return 0;
        }
        // SAFETY: a device from this library or a caller-filled uacce_dev, valid for the call.
        let d = unsafe { &*dev };
        let mut h = Box::new(CtxHandle {
            node: d.numa_id.max(0) as u32,
            dev_name: [0; MAX_DEV_NAME_LEN],
            api: [0; WD_NAME_SIZE],
            priv_: ptr::null_mut(),
        });
        h.dev_name = d.char_dev_path;
        h.api = d.api;
        Box::into_raw(h) as handle_t
    })
}

pub(crate) fn ctx_ref<'a>(h: handle_t) -> Option<&'a CtxHandle> {
    // SAFETY: non-zero handles are from wd_request_ctx and live until wd_release_ctx.
    (h != 0).then(|| unsafe { &*(h as *const CtxHandle) })
}

/// Close a context.
#[no_mangle]
pub extern "C" fn wd_release_ctx(h_ctx: handle_t) {
    guard((), || {
        if h_ctx != 0 {
            // SAFETY: from wd_request_ctx, released once.
            drop(unsafe { Box::from_raw(h_ctx as *mut CtxHandle) });
        }
    })
}

/// Start a context (the CPU engine's are always started).
#[no_mangle]
pub extern "C" fn wd_ctx_start(h_ctx: handle_t) -> c_int {
    if h_ctx == 0 {
        -libc::EINVAL
    } else {
        0
    }
}

/// Attach caller data to a context.
#[no_mangle]
pub extern "C" fn wd_ctx_set_priv(h_ctx: handle_t, priv_: *mut c_void) -> c_int {
    if h_ctx == 0 {
        return -libc::EINVAL;
    }
    // SAFETY: from wd_request_ctx and not released (caller's contract).
    unsafe { (*(h_ctx as *mut CtxHandle)).priv_ = priv_ };
    0
}

/// Caller data of a context.
#[no_mangle]
pub extern "C" fn wd_ctx_get_priv(h_ctx: handle_t) -> *mut c_void {
    ctx_ref(h_ctx).map_or(ptr::null_mut(), |c| c.priv_)
}

/// API name of a context's device.
#[no_mangle]
pub extern "C" fn wd_ctx_get_api(h_ctx: handle_t) -> *mut c_char {
    ctx_ref(h_ctx).map_or(ptr::null_mut(), |c| c.api.as_ptr() as *mut c_char)
}

/// Device path of a context.
#[no_mangle]
pub extern "C" fn wd_ctx_get_dev_name(h_ctx: handle_t) -> *mut c_char {
    ctx_ref(h_ctx).map_or(ptr::null_mut(), |c| c.dev_name.as_ptr() as *mut c_char)
}

/// NUMA node of a context.
#[no_mangle]
pub extern "C" fn wd_get_numa_id(h_ctx: handle_t) -> c_int {
    ctx_ref(h_ctx).map_or(-libc::EINVAL, |c| c.node as c_int)
}

/// Whether a context works on shared virtual addresses (the CPU engine does).
#[no_mangle]
pub extern "C" fn wd_is_sva(h_ctx: handle_t) -> c_int {
    if h_ctx == 0 {
        -libc::EINVAL
    } else {
        1
    }
}

/// Wait for a context's completion event. CPU contexts complete inline, so there is
/// always an event (UADK: more than 0 on an event, 0 on timeout).
#[no_mangle]
pub extern "C" fn wd_ctx_wait(h_ctx: handle_t, _ms: u16) -> c_int {
    if h_ctx == 0 {
        -libc::EINVAL
    } else {
        1
    }
}

/// Print the library's version.
#[no_mangle]
pub extern "C" fn wd_get_version() {
    println!(
        "UADK version: {} (uadk-rs {}, Rust)",
        uadk::UADK_API_VERSION,
        uadk::VERSION
    );
}

fn log_level_at_least(level: &str) -> bool {
    // UADK reads its log level from a config file; ours comes from UADK_LOG_LEVEL.
    let want = |l: &str| match l {
        "debug" => 2,
        "info" => 1,
        _ => 0,
    };
    std::env::var("UADK_LOG_LEVEL").is_ok_and(|v| want(&v.to_ascii_lowercase()) >= want(level))
}

/// Whether debug logging is on.
#[no_mangle]
pub extern "C" fn wd_need_debug() -> bool {
    log_level_at_least("debug")
}

/// Whether info logging is on.
#[no_mangle]
pub extern "C" fn wd_need_info() -> bool {
    log_level_at_least("info")
}

/// Accelerator name from a device path (`/dev/hisi_zip-0` → `hisi_zip-0`), in malloc'd memory.
#[no_mangle]
pub extern "C" fn wd_get_accel_name(dev_path: *mut c_char, no_apdx: c_int) -> *mut c_char {
    guard(ptr::null_mut(), || {
        if dev_path.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: NUL-terminated string by contract.
        let Ok(path) = unsafe { CStr::from_ptr(dev_path) }.to_str() else {
            return ptr::null_mut();
        };
        let mut name = path.rsplit('/').next().unwrap_or(path);
        if no_apdx != 0 {
            if let Some((base, tail)) = name.rsplit_once('-') {
                if tail.bytes().all(|b| b.is_ascii_digit()) {
                    name = base;
                }
            }
        }
        if name.is_empty() {
            return ptr::null_mut();
        }
        // SAFETY: malloc'd len+1 bytes, checked, then written in bounds.
        unsafe {
            let p = libc::malloc(name.len() + 1) as *mut u8;
            if !p.is_null() {
                ptr::copy_nonoverlapping(name.as_ptr(), p, name.len());
                *p.add(name.len()) = 0;
            }
            p as *mut c_char
        }
    })
}
