//! Devices: the UACCE devices serving an algorithm (else the CPU engine's pseudo-devices),
//! the lists of them, and their sysfs attributes (free queues, isolation, usage).

use super::ffi::{alg_arg, err_ptr, field, fill};
use super::numa::numa_distance;
use crate::abi::*;
use crate::{guard, neg, EINVAL};
use libc::{c_char, c_int, c_ulong};
use std::path::Path;
use std::ptr;
use uadk::uacce::{self, Qfrt, UacceDevice};
use uadk::wd::numa::Topology;
use uadk::wd::status::{WD_EINVAL, WD_ENODEV};
pub(super) const CPU_API: &str = "cpu";
const CPU_ALGS: &str = "deflate\nzlib\ngzip\nlz77_zstd\nlz4\nlz77_only\nzstd";
const CPU_DEV_PREFIX: &str = "/dev/uadk-cpu-";
/// What a CPU pseudo-device reports as free contexts: it has no fixed limit.
pub(super) const CPU_AVAIL_CTX: c_int = 4096;

fn empty_dev() -> uacce_dev {
    uacce_dev {
        flags: 0,
        numa_id: 0,
        api: [0; WD_NAME_SIZE],
        algs: [0; MAX_ATTR_STR_SIZE],
        dev_root: [0; PATH_STR_SIZE],
        char_dev_path: [0; MAX_DEV_NAME_LEN],
        qfrs_offs: [0; UACCE_QFRT_MAX],
    }
}

pub(super) fn cpu_dev(node: u32) -> uacce_dev {
    let mut d = empty_dev();
    d.flags = UACCE_DEV_SVA;
    d.numa_id = node as c_int;
    fill(&mut d.api, CPU_API);
    fill(&mut d.algs, CPU_ALGS);
    fill(
        &mut d.dev_root,
        &format!("/sys/class/uacce/uadk-cpu-{node}"),
    );
    fill(&mut d.char_dev_path, &format!("{CPU_DEV_PREFIX}{node}"));
    d
}

/// A UACCE device as UADK's `read_uacce_sysfs` fills it.
fn hw_dev(u: &UacceDevice) -> uacce_dev {
    let mut d = empty_dev();
    d.flags = u.flags as c_int;
    d.numa_id = u.node as c_int;
    fill(&mut d.api, &u.api);
    fill(&mut d.algs, &u.algorithms.join("\n"));
    fill(&mut d.dev_root, &u.sysfs.to_string_lossy());
    fill(&mut d.char_dev_path, &u.dev_path.to_string_lossy());
    d.qfrs_offs[Qfrt::Mmio as usize] = u.region_mmio_size as c_ulong;
    d.qfrs_offs[Qfrt::Dus as usize] = u.region_dus_size as c_ulong;
    d
}

pub(super) fn is_cpu_dev(d: &uacce_dev) -> bool {
    field(&d.api) == CPU_API && field(&d.char_dev_path).starts_with(CPU_DEV_PREFIX)
}

/// The UACCE devices now present (the model is installed first when asked for).
pub(super) fn uacce_devices() -> Vec<UacceDevice> {
    // A bad UADK_ZIP_MODEL simply gives no modelled devices; the comp layer reports it.
    let _ = uadk::model::install_from_env();
    uacce::list()
}

/// Devices serving `alg`: the UACCE devices that list it, else the CPU pseudo-devices
/// when the CPU engine serves it.
fn devices_for(alg: &str) -> Vec<uacce_dev> {
    let hw: Vec<uacce_dev> = uacce_devices()
        .iter()
        .filter(|d| d.supports(alg))
        .map(hw_dev)
        .collect();
    if !hw.is_empty() || !CPU_ALGS.split('\n').any(|x| x == alg) {
        return hw;
    }
    Topology::get().nodes.iter().map(|&n| cpu_dev(n)).collect()
}

/// The NUMA nodes that have a device serving `alg`, in ascending order: those of the
/// UACCE devices [`wd_get_accel_list`] lists (the CPU engine's pseudo-devices, on every
/// node, when none does); every node when the CPU engine is asked for.
pub(crate) fn device_nodes(alg: &str, cpu_engine: bool) -> Vec<u32> {
    let mut nodes: Vec<u32> = if cpu_engine {
        Topology::get().nodes.clone()
    } else {
        devices_for(alg)
            .iter()
            .map(|d| d.numa_id.max(0) as u32)
            .collect()
    };
    nodes.sort_unstable();
    nodes.dedup();
    nodes
}

/// `d` in memory from `malloc`, as UADK's callers free it.
fn malloc_dev(d: uacce_dev) -> *mut uacce_dev {
    // SAFETY: malloc of the struct's size; checked for NULL, then fully written.
    unsafe {
        let p = libc::malloc(std::mem::size_of::<uacce_dev>()) as *mut uacce_dev;
        if !p.is_null() {
            p.write(d);
        }
        p
    }
}

/// Devices that serve `alg_name` (see the module's documentation), in a list to free
/// with [`wd_free_list_accels`]. NULL when none does, or for a NULL or overlong name.
#[no_mangle]
pub extern "C" fn wd_get_accel_list(alg_name: *const c_char) -> *mut uacce_dev_list {
    guard(ptr::null_mut(), || {
        let Some(alg) = alg_arg(alg_name) else {
            return ptr::null_mut();
        };
        let mut head: *mut uacce_dev_list = ptr::null_mut();
        for d in devices_for(&alg).into_iter().rev() {
            let dev = malloc_dev(d);
            // SAFETY: malloc of one list node; checked, then fully written.
            let node = unsafe {
                libc::malloc(std::mem::size_of::<uacce_dev_list>()) as *mut uacce_dev_list
            };
            if dev.is_null() || node.is_null() {
                // SAFETY: free of NULL or of what malloc just returned.
                unsafe {
                    libc::free(dev.cast());
                    libc::free(node.cast());
                }
                wd_free_list_accels(head);
                return ptr::null_mut();
            }
            // SAFETY: `node` is valid for one write (above).
            unsafe { node.write(uacce_dev_list { dev, next: head }) };
            head = node;
        }
        head
    })
}

/// Free a list from [`wd_get_accel_list`] (nodes and devices are `malloc`'d, as UADK's).
#[no_mangle]
pub extern "C" fn wd_free_list_accels(list: *mut uacce_dev_list) {
    guard((), || {
        let mut p = list;
        while !p.is_null() {
            // SAFETY: a list node from wd_get_accel_list (or the caller's malloc'd node),
            // handed back once; its device likewise.
            unsafe {
                let next = (*p).next;
                libc::free((*p).dev.cast());
                libc::free(p.cast());
                p = next;
            }
        }
    })
}

/// An integer attribute of a device's sysfs directory, read as `strtol` would.
fn dev_attr(d: &uacce_dev, attr: &str) -> Result<i64, c_int> {
    let root = field(&d.dev_root);
    if root.is_empty() {
        return Err(-WD_ENODEV);
    }
    let s = std::fs::read_to_string(Path::new(&root).join(attr)).map_err(|_| -WD_ENODEV)?;
    let t = s.trim_start();
    let (neg_sign, digits) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let n: String = digits.chars().take_while(char::is_ascii_digit).collect();
    let v: i64 = n.parse().unwrap_or(0);
    Ok(if neg_sign { -v } else { v })
}

/// Queues that can still be opened on a device (`available_instances`); a CPU
/// pseudo-device reports 4096. `-WD_EINVAL` for NULL, `-WD_ENODEV` when unreadable.
#[no_mangle]
pub extern "C" fn wd_get_avail_ctx(dev: *mut uacce_dev) -> c_int {
    guard(EINVAL, || {
        if dev.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL device from this library or the caller, valid for the call.
        let d = unsafe { &*dev };
        if is_cpu_dev(d) {
            return CPU_AVAIL_CTX;
        }
        match dev_attr(d, "available_instances") {
            Ok(v) => v.clamp(i32::MIN as i64, i32::MAX as i64) as c_int,
            Err(e) => e,
        }
    })
}

/// 1 when a device has been isolated after hardware errors, else 0 (a device without
/// the attribute is not isolated); `-WD_EINVAL` for NULL or a device without `dev_root`.
#[no_mangle]
pub extern "C" fn wd_is_isolate(dev: *mut uacce_dev) -> c_int {
    guard(EINVAL, || {
        if dev.is_null() {
            return EINVAL;
        }
        // SAFETY: as in wd_get_avail_ctx.
        let d = unsafe { &*dev };
        let root = field(&d.dev_root);
        if root.is_empty() {
            return EINVAL;
        }
        if is_cpu_dev(d) || !Path::new(&root).join("isolate").exists() {
            return 0;
        }
        match dev_attr(d, "isolate") {
            Ok(v) => c_int::from(v == 1),
            Err(e) => e,
        }
    })
}

/// The device of `list` on `numa_id` with the most free queues. As UADK:
/// `WD_ERR_PTR(-WD_EINVAL)` for a NULL list, `WD_ERR_PTR(-WD_ENODEV)` when no device on
/// that node has a free queue (test with `WD_IS_ERR`).
#[no_mangle]
pub extern "C" fn wd_find_dev_by_numa(list: *mut uacce_dev_list, numa_id: c_int) -> *mut uacce_dev {
    guard(err_ptr(-WD_EINVAL), || {
        if list.is_null() {
            return err_ptr(-WD_EINVAL);
        }
        let (mut best, mut most) = (err_ptr(-WD_ENODEV), 0);
        let mut p = list;
        while !p.is_null() {
            // SAFETY: a list from wd_get_accel_list (or built by the caller), not yet freed.
            let node = unsafe { &*p };
            p = node.next;
            // SAFETY: a device of the list is valid while the list is.
            if node.dev.is_null() || unsafe { (*node.dev).numa_id } != numa_id {
                continue;
            }
            let n = wd_get_avail_ctx(node.dev);
            if n > most {
                (best, most) = (node.dev, n);
            }
        }
        best
    })
}

/// A copy of a device in `calloc`'d memory (free it with `free`); NULL for NULL.
#[no_mangle]
pub extern "C" fn wd_clone_dev(dev: *mut uacce_dev) -> *mut uacce_dev {
    guard(ptr::null_mut(), || {
        if dev.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: calloc of one device, checked; the caller's device is valid for the call.
        unsafe {
            let p = libc::calloc(1, std::mem::size_of::<uacce_dev>()) as *mut uacce_dev;
            if !p.is_null() {
                ptr::copy_nonoverlapping(dev, p, 1);
            }
            p
        }
    })
}

/// Append `node` at the end of the list starting at `head`. NULL arguments, and a node
/// already in the list (which would make it a loop), are ignored.
#[no_mangle]
pub extern "C" fn wd_add_dev_to_list(head: *mut uacce_dev_list, node: *mut uacce_dev_list) {
    guard((), || {
        if head.is_null() || node.is_null() {
            return;
        }
        let mut p = head;
        loop {
            if p == node {
                return;
            }
            // SAFETY: nodes of the caller's list, valid and NULL-terminated.
            let next = unsafe { (*p).next };
            if next.is_null() {
                // SAFETY: as above; `p` is the last node.
                unsafe { (*p).next = node };
                return;
            }
            p = next;
        }
    })
}

/// The device for `alg_name` nearest the calling CPU's node that has free queues (the
/// most free among equally near ones), in `malloc`'d memory the caller frees with `free`.
#[no_mangle]
pub extern "C" fn wd_get_accel_dev(alg_name: *const c_char) -> *mut uacce_dev {
    guard(ptr::null_mut(), || {
        let Some(alg) = alg_arg(alg_name) else {
            return ptr::null_mut();
        };
        let here = Topology::get().current_node();
        let (mut best, mut dis, mut most) = (None, 1024, 0);
        let mut devs = devices_for(&alg);
        for (i, d) in devs.iter_mut().enumerate() {
            let tmp = numa_distance(here, d.numa_id.max(0) as u32);
            let n = wd_get_avail_ctx(d);
            if (dis > tmp && n > 0) || (dis == tmp && n > most) {
                (best, dis, most) = (Some(i), tmp, n);
            }
        }
        match best {
            Some(i) => malloc_dev(devs.swap_remove(i)),
            None => ptr::null_mut(),
        }
    })
}

/// The bandwidth usage of a device for `alg_name` and op type `alg_op_type`, in percent,
/// from its sysfs `dev_usage` attribute (UADK after v2.10): a ZIP device's `COMPRESS`
/// (op 0) or `DECOMPRESS` (op 1) line, a SEC device's `SEC` line, an HPRE device's `ECC`
/// or `RSA` line. `-WD_EINVAL` for NULL, an algorithm the device does not list, an op type
/// or device kind with no such line (the CPU engine's pseudo-devices have none);
/// `-WD_ENODEV` when the device has no `dev_usage` (UADK returns `access()`'s -1).
#[no_mangle]
pub extern "C" fn wd_get_dev_usage(
    dev: *mut uacce_dev,
    alg_name: *const c_char,
    alg_op_type: u8,
) -> c_int {
    guard(EINVAL, || {
        let Some(alg) = alg_arg(alg_name) else {
            return EINVAL;
        };
        if dev.is_null() {
            return EINVAL;
        }
        // SAFETY: a device from this library or the caller, valid for the call.
        let d = unsafe { &*dev };
        if !field(&d.algs).split('\n').any(|a| a == alg) || is_cpu_dev(d) {
            return EINVAL;
        }
        let root = field(&d.dev_root);
        let name = root.rsplit('/').next().unwrap_or("");
        let Ok(label) = uacce::usage_label(name, &alg, alg_op_type) else {
            return EINVAL;
        };
        let Some(u) = uacce_devices().into_iter().find(|u| u.name == name) else {
            return -WD_ENODEV;
        };
        match u.usage(label) {
            Ok(v) => v.min(i32::MAX as u32) as c_int,
            Err(e) => neg(&e),
        }
    })
}
