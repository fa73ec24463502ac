//! `libwd` (version node `UADK_2.0`): devices, contexts, version.
//!
//! Devices are UACCE's (`uacce::list()`: the kernel's, or the device model's when
//! `UADK_ZIP_MODEL` is set), reported with the fields UADK reads from sysfs. An algorithm
//! that no device serves is still listed when the CPU engine serves it: the engine presents
//! itself as one pseudo-device per NUMA node (`/dev/uadk-cpu-<node>` in `char_dev_path`,
//! api `cpu`), so a caller that builds its own context configuration from
//! `wd_get_accel_list` works on any machine.
//!
//! A context on a UACCE device is an opened queue: it can be started, mapped, driven by
//! ioctls and waited on. A context on a CPU pseudo-device has no queue: its regions, ioctls
//! and sizes answer errors (or 0), the rest works as for a device.

use crate::abi::*;
use crate::handles::Slab;
use crate::{guard, handle_t, neg, EINVAL};
use libc::{c_char, c_int, c_uint, c_ulong, c_void};
use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;
use uadk::uacce::{self, Qfrt, Queue, Region, UacceDevice};
use uadk::wd::numa::Topology;
use uadk::wd::status::{WD_EINVAL, WD_ENODEV};

const CPU_API: &str = "cpu";
const CPU_ALGS: &str = "deflate\nzlib\ngzip\nlz77_zstd\nlz4\nlz77_only\nzstd";
const CPU_DEV_PREFIX: &str = "/dev/uadk-cpu-";
/// What a CPU pseudo-device reports as free contexts: it has no fixed limit.
const CPU_AVAIL_CTX: c_int = 4096;

fn fill(dst: &mut [c_char], s: &str) {
    for (d, b) in dst.iter_mut().zip(s.bytes().chain(std::iter::once(0))) {
        *d = b as c_char;
    }
    if let Some(last) = dst.last_mut() {
        *last = 0;
    }
}

/// A fixed-size C string field, up to its NUL (or its end).
fn field(src: &[c_char]) -> String {
    let bytes: Vec<u8> = src
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

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

fn cpu_dev(node: u32) -> uacce_dev {
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

fn is_cpu_dev(d: &uacce_dev) -> bool {
    field(&d.api) == CPU_API && field(&d.char_dev_path).starts_with(CPU_DEV_PREFIX)
}

/// The UACCE devices now present (the model is installed first when asked for).
fn uacce_devices() -> Vec<UacceDevice> {
    // A bad UADK_ZIP_MODEL simply gives no modelled devices; the comp layer reports it.
    let _ = uadk::model::install_from_env();
    uacce::list()
}

/// An algorithm name from C: NULL, unterminated within UADK's limit, or not UTF-8 is none.
fn alg_arg(alg_name: *const c_char) -> Option<String> {
    if alg_name.is_null() {
        return None;
    }
    // SAFETY: non-NULL string by contract; strnlen reads at most the limit.
    let len = unsafe { libc::strnlen(alg_name, MAX_ATTR_STR_SIZE) };
    if len >= MAX_ATTR_STR_SIZE {
        return None;
    }
    // SAFETY: `len` bytes before the NUL just found.
    let bytes = unsafe { std::slice::from_raw_parts(alg_name as *const u8, len) };
    std::str::from_utf8(bytes).ok().map(str::to_string)
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

/// UADK's error pointers (`WD_ERR_PTR(-err)`).
fn err_ptr<T>(err: c_int) -> *mut T {
    (err as isize) as usize as *mut T
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

/// Bits in a nodemask as libnuma sizes them: the width of `Mems_allowed` in
/// `/proc/self/status` (else enough for the nodes present, at least 64).
fn nodemask_bits() -> usize {
    let from_status = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Mems_allowed:"))?;
            let digits = line[13..].chars().filter(char::is_ascii_hexdigit).count();
            (digits > 0).then_some(digits * 4)
        });
    let needed = Topology::get()
        .nodes
        .iter()
        .max()
        .map_or(1, |&n| n as usize + 1);
    from_status.unwrap_or(0).max(needed.div_ceil(64) * 64)
}

/// A libnuma nodemask with the bit of each listed device's node set, to free with
/// [`wd_free_device_nodemask`] (or libnuma's `numa_free_nodemask`).
/// `WD_ERR_PTR(-WD_EINVAL)` for a NULL list, `WD_ERR_PTR(-WD_ENOMEM)` when out of memory.
#[no_mangle]
pub extern "C" fn wd_create_device_nodemask(list: *mut uacce_dev_list) -> *mut bitmask {
    guard(err_ptr(-WD_EINVAL), || {
        if list.is_null() {
            return err_ptr(-WD_EINVAL);
        }
        let bits = nodemask_bits();
        let longs = bits.div_ceil(c_ulong::BITS as usize);
        // SAFETY: a malloc'd struct and a calloc'd mask, both checked, as libnuma's
        // numa_bitmask_alloc makes them (so numa_bitmask_free can free them).
        let (bmp, mask) = unsafe {
            (
                libc::malloc(std::mem::size_of::<bitmask>()) as *mut bitmask,
                libc::calloc(longs, std::mem::size_of::<c_ulong>()) as *mut c_ulong,
            )
        };
        if bmp.is_null() || mask.is_null() {
            // SAFETY: free of NULL or of what was just allocated.
            unsafe {
                libc::free(bmp.cast());
                libc::free(mask.cast());
            }
            return err_ptr(-uadk::wd::status::WD_ENOMEM);
        }
        // SAFETY: `mask` holds `longs` zeroed words.
        let words = unsafe { std::slice::from_raw_parts_mut(mask, longs) };
        let mut p = list;
        while !p.is_null() {
            // SAFETY: a list from wd_get_accel_list (or the caller's), not yet freed.
            let node = unsafe { &*p };
            p = node.next;
            if node.dev.is_null() {
                continue;
            }
            // SAFETY: a device of the list is valid while the list is.
            let id = unsafe { (*node.dev).numa_id };
            if let Some(id) = usize::try_from(id).ok().filter(|&i| i < bits) {
                let w = c_ulong::BITS as usize;
                words[id / w] |= 1 << (id % w);
            }
        }
        // SAFETY: `bmp` is valid for one write (above).
        unsafe {
            bmp.write(bitmask {
                size: bits as c_ulong,
                maskp: mask,
            })
        };
        bmp
    })
}

/// Free a nodemask from [`wd_create_device_nodemask`]; NULL and error pointers are ignored.
#[no_mangle]
pub extern "C" fn wd_free_device_nodemask(bmp: *mut bitmask) {
    guard((), || {
        // WD_IS_ERR: the top 1000 addresses are error codes.
        if bmp.is_null() || bmp as usize > usize::MAX - 1000 {
            return;
        }
        // SAFETY: a nodemask from wd_create_device_nodemask, freed once.
        unsafe {
            libc::free((*bmp).maskp.cast());
            libc::free(bmp.cast());
        }
    })
}

/// NUMA distance between two nodes, from sysfs (10 within a node, 20 across when
/// the platform says nothing).
fn numa_distance(from: u32, to: u32) -> i32 {
    std::fs::read_to_string(format!("/sys/devices/system/node/node{from}/distance"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(to as usize)?.parse().ok())
        .unwrap_or(if from == to { 10 } else { 20 })
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

/// A context handle from [`wd_request_ctx`]: a slot of [`CONTEXTS`], never freed; a
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

/// Open a context on a device of [`wd_get_accel_list`] / [`wd_get_accel_dev`] (or a
/// caller-filled `uacce_dev` naming one): on a UACCE device, a queue is opened (not
/// started: see [`wd_ctx_start`]). 0 for NULL, a device without `dev_root`, a device
/// that is not present, or when no queue can be opened.
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

/// UADK's `CRYPTO_MAX_ALG_NAME`: an entry's algorithm string is cut to one less.
const CTX_LIST_ALG_MAX: usize = 128;

/// One entry of libwd's list of hardware contexts (`wd_bmm.h`).
struct ListedCtx {
    alg: String,
    h: handle_t,
    node: u32,
    used: bool,
}

/// The contexts the alg layers' inits list for `wd_find_ctx`, in insertion order.
static CTX_LIST: Mutex<Vec<ListedCtx>> = Mutex::new(Vec::new());

fn ctx_list() -> std::sync::MutexGuard<'static, Vec<ListedCtx>> {
    CTX_LIST.lock().unwrap_or_else(|e| e.into_inner())
}

/// Add a context to the list `wd_find_ctx` searches, under `alg_name` (a space-separated
/// list of algorithms, as an alg layer names its contexts). As UADK, only contexts on a
/// hardware queue are listed: one on a CPU pseudo-device is skipped with 0. `-WD_EINVAL`
/// for a NULL name, a zero or released handle.
#[no_mangle]
pub extern "C" fn wd_insert_ctx_list(h_ctx: handle_t, alg_name: *mut c_char) -> c_int {
    guard(EINVAL, || {
        if alg_name.is_null() {
            return EINVAL;
        }
        let Some(c) = ctx_ref(h_ctx) else {
            return EINVAL;
        };
        if c.on_cpu_engine() {
            return 0;
        }
        // SAFETY: NUL-terminated by contract; strnlen reads at most the limit.
        let len = unsafe { libc::strnlen(alg_name, CTX_LIST_ALG_MAX - 1) };
        // SAFETY: `len` bytes at `alg_name` (above).
        let bytes = unsafe { std::slice::from_raw_parts(alg_name as *const u8, len) };
        ctx_list().push(ListedCtx {
            alg: String::from_utf8_lossy(bytes).into_owned(),
            h: h_ctx,
            node: c.node(),
            used: false,
        });
        0
    })
}

/// Empty the list of [`wd_insert_ctx_list`] (an alg layer's uninit does, as UADK's).
#[no_mangle]
pub extern "C" fn wd_remove_ctx_list() {
    guard((), || ctx_list().clear())
}

/// A listed hardware context serving `alg_name` (a substring of its entry's name) not
/// handed out yet: one on the calling CPU's node, else the nearest by NUMA distance. It
/// is marked used. 0 when none is left (or for NULL).
#[no_mangle]
pub extern "C" fn wd_find_ctx(alg_name: *const c_char) -> handle_t {
    guard(0, || {
        let Some(alg) = alg_arg(alg_name) else {
            return 0;
        };
        let here = Topology::get().current_node();
        let mut list = ctx_list();
        let mut nearest: Option<(usize, i32)> = None;
        for (i, e) in list.iter().enumerate() {
            if e.used || !e.alg.contains(alg.as_str()) {
                continue;
            }
            if e.node == here {
                nearest = Some((i, i32::MIN));
                break;
            }
            let d = numa_distance(here, e.node);
            if nearest.is_none_or(|(_, best)| d < best) {
                nearest = Some((i, d));
            }
        }
        match nearest {
            Some((i, _)) => {
                list[i].used = true;
                list[i].h
            }
            None => 0,
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

/// Compare `n` bytes in time that does not depend on where they differ: 0 when equal,
/// nonzero otherwise (the OR of the bytes' differences; not an ordering). UADK after
/// v2.10 exports it for its drivers' MAC and key checks.
#[no_mangle]
pub extern "C" fn memcmp_consttime(s1: *const c_void, s2: *const c_void, n: usize) -> c_int {
    guard(EINVAL, || {
        if n == 0 {
            return 0;
        }
        if s1.is_null() || s2.is_null() {
            return EINVAL;
        }
        // SAFETY: `n` readable bytes at each pointer, by the function's contract.
        let (a, b) = unsafe {
            (
                std::slice::from_raw_parts(s1 as *const u8, n),
                std::slice::from_raw_parts(s2 as *const u8, n),
            )
        };
        let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
        // The fold reads every byte; black_box keeps the compiler from stopping early.
        c_int::from(std::hint::black_box(diff))
    })
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

#[cfg(test)]
mod tests {
    use super::*;

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
