//! NUMA: libnuma nodemasks of the listed devices' nodes, and the distance between nodes.

use super::ffi::err_ptr;
use crate::abi::*;
use crate::guard;
use libc::c_ulong;
use uadk::wd::numa::Topology;
use uadk::wd::status::WD_EINVAL;
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
pub(super) fn numa_distance(from: u32, to: u32) -> i32 {
    std::fs::read_to_string(format!("/sys/devices/system/node/node{from}/distance"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(to as usize)?.parse().ok())
        .unwrap_or(if from == to { 10 } else { 20 })
}
