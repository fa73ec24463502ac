//! libwd's memory pools: `wd_mempool_*` / `wd_blockpool_*` / `wd_block_*` (`wd.h`) and the
//! per-context pools of `wd_bmm.h` (`wd_mempool_alloc`, `wd_mem_alloc`, ...).
//!
//! A mempool is one anonymous `mmap` of the size asked (rounded up to 4 KiB), bound to its
//! NUMA node with `mbind(MPOL_BIND)` before any page is touched; where the kernel refuses
//! `mbind` (no NUMA support, or a sandbox that filters it) the pages are placed by first
//! touch. UADK takes hugepages; these pools report `WD_NORMAL_PAGE`. The pool is cut into
//! 4 KiB units; a blockpool takes units from it (several small blocks to a unit, or
//! several contiguous units to a large block) and hands blocks out from a stack.
//!
//! Handles are never-reused serial numbers looked up in a registry, so a stale, foreign or
//! twice-destroyed handle is refused instead of dereferenced. Frees are checked: an address
//! that is not a block of the pool, or a block already free, is ignored. Destroying a
//! blockpool with blocks still out, or a mempool with blockpools still on it, is refused
//! and leaves the pool as it was (UADK would wait for them forever).

use crate::abi::*;
use crate::wd::ctx_ref;
use crate::{guard, handle_t};
use libc::{c_int, c_ulong, c_void};
use std::collections::{BTreeMap, HashMap};
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use uadk::wd::numa::Topology;
use uadk::wd::status::{WD_EINVAL, WD_ENOMEM};

/// UADK's `WD_MEMPOOL_BLOCK_SIZE`: the unit a mempool is divided into.
const UNIT: usize = 4096;
/// `WD_NORMAL_PAGE` of `enum wd_page_type`.
const WD_NORMAL_PAGE: c_int = 1;
/// `MPOL_BIND` of `<linux/mempolicy.h>`.
const MPOL_BIND: c_int = 2;

fn err_handle(code: i32) -> handle_t {
    // UADK returns errors as handles: (handle_t)(-code), which WD_IS_ERR recognises.
    (-(code as isize)) as handle_t
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An anonymous private mapping, unmapped on drop.
struct Mapping {
    addr: usize,
    len: usize,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: a mapping this struct made and owns; nothing refers to it any more (the
        // registry refuses to destroy pools with blocks out).
        unsafe { libc::munmap(self.addr as *mut c_void, self.len) };
    }
}

impl Mapping {
    fn new(len: usize, node: u32) -> Option<Mapping> {
        // SAFETY: a fresh anonymous mapping; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        let m = Mapping {
            addr: p as usize,
            len,
        };
        let mut mask = vec![0 as c_ulong; node as usize / 64 + 1];
        mask[node as usize / 64] |= 1 << (node % 64);
        // The kernel reads maxnode - 1 bits.
        let maxnode = (mask.len() * 64 + 1) as c_ulong;
        // SAFETY: mbind on our own untouched mapping with a mask of `maxnode - 1` bits. A
        // failure leaves the default policy (first touch).
        unsafe {
            libc::syscall(
                libc::SYS_mbind,
                m.addr,
                m.len,
                MPOL_BIND,
                mask.as_ptr(),
                maxnode,
                0 as c_ulong,
            )
        };
        Some(m)
    }
}

struct MemPool {
    map: Mapping,
    units: usize,
    page_size: usize,
    st: Mutex<MemState>,
}

struct MemState {
    used: Vec<bool>,
    free: usize,
    blockpools: usize,
}

struct BlockPool {
    mp: Arc<MemPool>,
    block_size: usize,
    depth: usize,
    zones: Zones,
    addrs: Vec<usize>,
    index: HashMap<usize, u32>,
    st: Mutex<BlockState>,
}

struct BlockState {
    /// Free block indices; the next allocation pops the last.
    stack: Vec<u32>,
    is_free: Vec<bool>,
}

impl BlockPool {
    fn alloc(&self) -> Option<usize> {
        let mut st = lock(&self.st);
        let i = st.stack.pop()?;
        st.is_free[i as usize] = false;
        Some(self.addrs[i as usize])
    }

    /// Return a block; false when `addr` is not one of ours or is already free.
    fn free(&self, addr: usize) -> bool {
        let Some(&i) = self.index.get(&addr) else {
            return false;
        };
        let mut st = lock(&self.st);
        if st.is_free[i as usize] {
            return false;
        }
        st.is_free[i as usize] = true;
        st.stack.push(i);
        true
    }

    fn free_count(&self) -> usize {
        lock(&self.st).stack.len()
    }
}

/// A `wd_bmm.h` pool: a mempool and a blockpool made for a context.
struct CtxPool {
    mp: handle_t,
    bp: Arc<BlockPool>,
    bp_handle: handle_t,
    failures: AtomicU32,
    /// The id of the context's device (`hisi_zip-3` → 3), for `wd_get_dev_id`.
    dev_id: u32,
}

enum Pool {
    Mem(Arc<MemPool>),
    Block(Arc<BlockPool>),
    Ctx(Arc<CtxPool>),
}

static POOLS: RwLock<BTreeMap<handle_t, Pool>> = RwLock::new(BTreeMap::new());
static NEXT: AtomicUsize = AtomicUsize::new(1);

fn register(p: Pool) -> handle_t {
    // Serial numbers spaced like aligned addresses, far from NULL and from WD_IS_ERR's range.
    let h = 0x10_0000 + NEXT.fetch_add(1, Ordering::Relaxed) * 64;
    POOLS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(h, p);
    h
}

fn with_pool<T>(h: handle_t, f: impl FnOnce(&Pool) -> Option<T>) -> Option<T> {
    let reg = POOLS.read().unwrap_or_else(|e| e.into_inner());
    reg.get(&h).and_then(f)
}

fn block_pool(h: handle_t) -> Option<Arc<BlockPool>> {
    with_pool(h, |p| match p {
        Pool::Block(b) => Some(b.clone()),
        _ => None,
    })
}

fn mem_pool(h: handle_t) -> Option<Arc<MemPool>> {
    with_pool(h, |p| match p {
        Pool::Mem(m) => Some(m.clone()),
        _ => None,
    })
}

fn ctx_pool(h: handle_t) -> Option<Arc<CtxPool>> {
    with_pool(h, |p| match p {
        Pool::Ctx(c) => Some(c.clone()),
        _ => None,
    })
}

fn percent(part: usize, whole: usize) -> c_ulong {
    if whole == 0 {
        0
    } else {
        (part as u128 * 100 / whole as u128) as c_ulong
    }
}

fn create_mempool(size: usize, node: c_int) -> Result<handle_t, i32> {
    let max_node = Topology::get().nodes.iter().copied().max().unwrap_or(0);
    if size == 0 || node < 0 || node as u32 > max_node {
        return Err(WD_EINVAL);
    }
    let size = size.checked_next_multiple_of(UNIT).ok_or(WD_EINVAL)?;
    let map = Mapping::new(size, node as u32).ok_or(WD_ENOMEM)?;
    // SAFETY: sysconf has no memory-safety preconditions.
    let page_size = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => UNIT,
    };
    let units = size / UNIT;
    Ok(register(Pool::Mem(Arc::new(MemPool {
        map,
        units,
        page_size,
        st: Mutex::new(MemState {
            used: vec![false; units],
            free: units,
            blockpools: 0,
        }),
    }))))
}

/// Create a memory pool of `size` bytes (rounded up to 4 KiB) on NUMA node `node`.
/// Errors come back as handles: `-WD_EINVAL` for a zero size or a node that does not
/// exist, `-WD_ENOMEM` when the memory cannot be mapped.
#[no_mangle]
pub extern "C" fn wd_mempool_create(size: usize, node: c_int) -> handle_t {
    guard(err_handle(WD_EINVAL), || {
        create_mempool(size, node).unwrap_or_else(err_handle)
    })
}

/// Destroy a memory pool. Refused (the pool stays) while blockpools are still on it.
#[no_mangle]
pub extern "C" fn wd_mempool_destroy(mempool: handle_t) {
    guard((), || {
        let mut reg = POOLS.write().unwrap_or_else(|e| e.into_inner());
        let Some(Pool::Mem(mp)) = reg.get(&mempool) else {
            return;
        };
        if lock(&mp.st).blockpools > 0 {
            if crate::wd::wd_need_info() {
                eprintln!("uadk: wd_mempool_destroy: blockpools still use the mempool");
            }
            return;
        }
        // The mapping goes with the last reference, outside the registry lock.
        let old = reg.remove(&mempool);
        drop(reg);
        drop(old);
    })
}

/// Statistics of a memory pool (left untouched for a bad handle or NULL `stats`).
#[no_mangle]
pub extern "C" fn wd_mempool_stats(mempool: handle_t, stats: *mut wd_mempool_stats) {
    guard((), || {
        let Some(mp) = mem_pool(mempool) else { return };
        if stats.is_null() {
            return;
        }
        let free = lock(&mp.st).free;
        let s = wd_mempool_stats {
            page_type: WD_NORMAL_PAGE,
            page_size: mp.page_size as c_ulong,
            page_num: (mp.map.len / mp.page_size) as c_ulong,
            blk_size: UNIT as c_ulong,
            blk_num: mp.units as c_ulong,
            free_blk_num: free as c_ulong,
            blk_usage_rate: percent(mp.units - free, mp.units),
        };
        // SAFETY: non-NULL pointer to the caller's struct.
        unsafe { stats.write(s) };
    })
}

/// Units of a mempool that a blockpool holds: (first unit, count).
type Zones = Vec<(usize, usize)>;

/// Take units for `num` blocks of `bs` bytes: the zones and the block addresses.
fn reserve(st: &mut MemState, base: usize, bs: usize, num: usize) -> Option<(Zones, Vec<usize>)> {
    let mut zones = Vec::new();
    let mut addrs = Vec::with_capacity(num);
    if bs <= UNIT {
        let per = UNIT / bs;
        let mut left = num;
        let mut u = 0;
        while left > 0 {
            while u < st.used.len() && st.used[u] {
                u += 1;
            }
            if u == st.used.len() {
                return None;
            }
            zones.push((u, 1));
            for j in 0..left.min(per) {
                addrs.push(base + u * UNIT + j * bs);
            }
            left -= left.min(per);
            st.used[u] = true;
            u += 1;
        }
    } else {
        let need = bs.div_ceil(UNIT);
        let mut u = 0;
        for _ in 0..num {
            let first = loop {
                if u + need > st.used.len() {
                    return None;
                }
                match (u..u + need).find(|&k| st.used[k]) {
                    Some(k) => u = k + 1,
                    None => break u,
                }
            };
            st.used[first..first + need].fill(true);
            zones.push((first, need));
            addrs.push(base + first * UNIT);
            u = first + need;
        }
    }
    Some((zones, addrs))
}

fn create_blockpool(mempool: handle_t, bs: usize, num: usize) -> Result<handle_t, i32> {
    let mp = mem_pool(mempool).ok_or(WD_EINVAL)?;
    if bs == 0 || num == 0 || num > u32::MAX as usize {
        return Err(WD_EINVAL);
    }
    let mut st = lock(&mp.st);
    if bs.checked_mul(num).is_none_or(|n| n > st.free * UNIT) {
        return Err(WD_ENOMEM);
    }
    let mut trial = MemState {
        used: st.used.clone(),
        free: st.free,
        blockpools: st.blockpools,
    };
    let (zones, addrs) = reserve(&mut trial, mp.map.addr, bs, num).ok_or(WD_ENOMEM)?;
    let taken: usize = zones.iter().map(|z| z.1).sum();
    st.used = trial.used;
    st.free -= taken;
    st.blockpools += 1;
    drop(st);
    let index = addrs
        .iter()
        .enumerate()
        .map(|(i, &a)| (a, i as u32))
        .collect();
    let bp = BlockPool {
        mp,
        block_size: bs,
        depth: num,
        zones,
        addrs,
        index,
        st: Mutex::new(BlockState {
            stack: (0..num as u32).rev().collect(),
            is_free: vec![true; num],
        }),
    };
    Ok(register(Pool::Block(Arc::new(bp))))
}

/// Create a pool of `block_num` blocks of `block_size` bytes from a mempool. Errors as
/// handles: `-WD_EINVAL` (bad mempool or a zero argument), `-WD_ENOMEM` (not enough room).
#[no_mangle]
pub extern "C" fn wd_blockpool_create(
    mempool: handle_t,
    block_size: usize,
    block_num: usize,
) -> handle_t {
    guard(err_handle(WD_EINVAL), || {
        create_blockpool(mempool, block_size, block_num).unwrap_or_else(err_handle)
    })
}

/// Give a blockpool's units back to its mempool; false (nothing done) while blocks are out.
fn destroy_blockpool(blkpool: handle_t) -> bool {
    let mut reg = POOLS.write().unwrap_or_else(|e| e.into_inner());
    let Some(Pool::Block(bp)) = reg.get(&blkpool) else {
        return false;
    };
    if bp.free_count() != bp.depth {
        if crate::wd::wd_need_info() {
            eprintln!("uadk: wd_blockpool_destroy: blocks are still allocated");
        }
        return false;
    }
    let bp = bp.clone();
    reg.remove(&blkpool);
    drop(reg);
    let mut st = lock(&bp.mp.st);
    for &(first, n) in &bp.zones {
        st.used[first..first + n].fill(false);
        st.free += n;
    }
    st.blockpools -= 1;
    true
}

/// Destroy a blockpool. Refused (the pool stays) while blocks are still allocated.
#[no_mangle]
pub extern "C" fn wd_blockpool_destroy(blkpool: handle_t) {
    guard((), || {
        destroy_blockpool(blkpool);
    })
}

/// Statistics of a blockpool (left untouched for a bad handle or NULL `stats`).
#[no_mangle]
pub extern "C" fn wd_blockpool_stats(blkpool: handle_t, stats: *mut wd_blockpool_stats) {
    guard((), || {
        let Some(bp) = block_pool(blkpool) else {
            return;
        };
        if stats.is_null() {
            return;
        }
        let free = bp.free_count();
        let held: usize = bp.zones.iter().map(|z| z.1 * UNIT).sum();
        let s = wd_blockpool_stats {
            block_size: bp.block_size as c_ulong,
            block_num: bp.depth as c_ulong,
            free_block_num: free as c_ulong,
            block_usage_rate: percent(bp.depth - free, bp.depth),
            mem_waste_rate: percent(held - bp.block_size * bp.depth, held),
        };
        // SAFETY: non-NULL pointer to the caller's struct.
        unsafe { stats.write(s) };
    })
}

/// One block from a blockpool; NULL when none is free or the handle is bad.
#[no_mangle]
pub extern "C" fn wd_block_alloc(blkpool: handle_t) -> *mut c_void {
    guard(ptr::null_mut(), || {
        let reg = POOLS.read().unwrap_or_else(|e| e.into_inner());
        match reg.get(&blkpool) {
            Some(Pool::Block(bp)) => bp.alloc().map_or(ptr::null_mut(), |a| a as *mut c_void),
            _ => ptr::null_mut(),
        }
    })
}

/// Return a block. Addresses that are not a block of this pool, and blocks already free,
/// are ignored.
#[no_mangle]
pub extern "C" fn wd_block_free(blkpool: handle_t, addr: *mut c_void) {
    guard((), || {
        let reg = POOLS.read().unwrap_or_else(|e| e.into_inner());
        if let Some(Pool::Block(bp)) = reg.get(&blkpool) {
            bp.free(addr as usize);
        }
    })
}

/// A pool of `setup->block_num` blocks of `setup->block_size` bytes for a context, on the
/// context's node. The CPU engine's contexts work on shared virtual addresses, so this is
/// UADK's SVA case: a mempool and a blockpool (`ops` and `align_size` are not used; blocks
/// start at multiples of their size within 4 KiB units). NULL on failure.
#[no_mangle]
pub extern "C" fn wd_mempool_alloc(h_ctx: handle_t, setup: *mut wd_mempool_setup) -> *mut c_void {
    guard(ptr::null_mut(), || {
        let Some(ctx) = ctx_ref(h_ctx) else {
            return ptr::null_mut();
        };
        if setup.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: non-NULL pointer to the caller's setup.
        let s = unsafe { &*setup };
        // As UADK: a device whose name ends in no `-<id>` gets no pool.
        let Some(dev_id) = crate::wd::dev_id_of(&ctx.dev_name()) else {
            return ptr::null_mut();
        };
        let (bs, num) = (s.block_size as usize, s.block_num as usize);
        let Some(total) = bs.checked_mul(num).filter(|&t| t > 0) else {
            return ptr::null_mut();
        };
        let Ok(mp) = create_mempool(total, ctx.node() as c_int) else {
            return ptr::null_mut();
        };
        let bp_handle = match create_blockpool(mp, bs, num) {
            Ok(h) => h,
            Err(_) => {
                wd_mempool_destroy(mp);
                return ptr::null_mut();
            }
        };
        let Some(bp) = block_pool(bp_handle) else {
            return ptr::null_mut();
        };
        register(Pool::Ctx(Arc::new(CtxPool {
            mp,
            bp,
            bp_handle,
            failures: AtomicU32::new(0),
            dev_id,
        }))) as *mut c_void
    })
}

/// Free a pool from `wd_mempool_alloc`. Refused (the pool stays) while blocks are out.
#[no_mangle]
pub extern "C" fn wd_mempool_free(h_ctx: handle_t, pool: *mut c_void) {
    guard((), || {
        if h_ctx == 0 {
            return;
        }
        let Some(cp) = ctx_pool(pool as handle_t) else {
            return;
        };
        if !destroy_blockpool(cp.bp_handle) {
            return;
        }
        wd_mempool_destroy(cp.mp);
        POOLS
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(pool as handle_t));
    })
}

/// A buffer of up to one block (`wd_get_bufsize`) from a context pool; NULL when `size`
/// is 0 or larger than a block, or when no block is free (counted by `wd_get_fail_num`).
#[no_mangle]
pub extern "C" fn wd_mem_alloc(pool: *mut c_void, size: usize) -> *mut c_void {
    guard(ptr::null_mut(), || {
        let Some(cp) = ctx_pool(pool as handle_t) else {
            return ptr::null_mut();
        };
        if size == 0 || size > cp.bp.block_size {
            return ptr::null_mut();
        }
        match cp.bp.alloc() {
            Some(a) => a as *mut c_void,
            None => {
                cp.failures.fetch_add(1, Ordering::Relaxed);
                ptr::null_mut()
            }
        }
    })
}

/// Return a buffer from `wd_mem_alloc` (anything else is ignored).
#[no_mangle]
pub extern "C" fn wd_mem_free(pool: *mut c_void, buf: *mut c_void) {
    guard((), || {
        if let Some(cp) = ctx_pool(pool as handle_t) {
            cp.bp.free(buf as usize);
        }
    })
}

/// The device address of a buffer: its virtual address (shared virtual addressing).
#[no_mangle]
pub extern "C" fn wd_mem_map(pool: *mut c_void, buf: *mut c_void, _sz: usize) -> *mut c_void {
    guard(ptr::null_mut(), || {
        if buf.is_null() || ctx_pool(pool as handle_t).is_none() {
            return ptr::null_mut();
        }
        buf
    })
}

/// Undo `wd_mem_map`: nothing to do with shared virtual addressing.
#[no_mangle]
pub extern "C" fn wd_mem_unmap(
    _pool: *mut c_void,
    _buf_dma: *mut c_void,
    _buf: *mut c_void,
    _sz: usize,
) {
}

/// Free blocks of a context pool.
#[no_mangle]
pub extern "C" fn wd_get_free_num(pool: *mut c_void, free_num: *mut u32) -> c_int {
    guard(-WD_EINVAL, || {
        let Some(cp) = ctx_pool(pool as handle_t) else {
            return -WD_EINVAL;
        };
        if free_num.is_null() {
            return -WD_EINVAL;
        }
        // SAFETY: non-NULL out-pointer from the caller.
        unsafe { *free_num = cp.bp.free_count() as u32 };
        0
    })
}

/// Failed `wd_mem_alloc` calls of a context pool (no block free).
#[no_mangle]
pub extern "C" fn wd_get_fail_num(pool: *mut c_void, fail_num: *mut u32) -> c_int {
    guard(-WD_EINVAL, || {
        let Some(cp) = ctx_pool(pool as handle_t) else {
            return -WD_EINVAL;
        };
        if fail_num.is_null() {
            return -WD_EINVAL;
        }
        // SAFETY: non-NULL out-pointer from the caller.
        unsafe { *fail_num = cp.failures.load(Ordering::Relaxed) };
        0
    })
}

/// Block size of a context pool; 0 for a bad pool.
#[no_mangle]
pub extern "C" fn wd_get_bufsize(pool: *mut c_void) -> u32 {
    guard(0, || {
        ctx_pool(pool as handle_t).map_or(0, |cp| cp.bp.block_size as u32)
    })
}

/// The id of the device a context pool was made for (the number ending its name:
/// `hisi_zip-3` → 3), which `SCHED_POLICY_DEV` schedulers take as `sched_params.dev_id`;
/// 0 for a bad pool.
#[no_mangle]
pub extern "C" fn wd_get_dev_id(pool: *mut c_void) -> u32 {
    guard(0, || ctx_pool(pool as handle_t).map_or(0, |cp| cp.dev_id))
}
