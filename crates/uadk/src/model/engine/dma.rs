//! The model's DMA into the process's memory. A real SVA device reaches buffers through
//! the IOMMU: a page that is not mapped (a caller freed its buffer while the request was
//! in flight) is a translation fault that fails the request, not a crash of the process.
//! So the engine copies through `process_vm_readv` / `process_vm_writev` on its own
//! process, which report such a page as `EFAULT`; where those calls are not allowed (a
//! seccomp policy), it falls back to plain copies.
//!
//! It also walks hardware SGL chains, and moves a request's input and output through them.

use crate::hw::zip as fmt;
use std::sync::atomic::{AtomicBool, Ordering};

static PLAIN: AtomicBool = AtomicBool::new(false);

/// Move `n` bytes from `from` to `to`, `to` or `from` being the caller's memory
/// (`write` says which). False when a page of the caller's side is not mapped.
///
/// # Safety
/// The engine's own side must be valid for `n` bytes.
unsafe fn copy(from: *const u8, to: *mut u8, n: usize, write: bool) -> bool {
    let mut done = 0;
    while done < n && !PLAIN.load(Ordering::Relaxed) {
        // SAFETY: moving past what is done, within the n bytes of each side.
        let (src, dst) = unsafe { (from.add(done) as *mut u8, to.add(done)) };
        let (local, remote) = if write { (src, dst) } else { (dst, src) };
        let l = libc::iovec {
            iov_base: local.cast(),
            iov_len: n - done,
        };
        let r = libc::iovec {
            iov_base: remote.cast(),
            iov_len: n - done,
        };
        // SAFETY: the local iovec is valid (the contract); the remote one the kernel
        // checks, failing with EFAULT rather than touching an unmapped page.
        let got = unsafe {
            if write {
                libc::process_vm_writev(libc::getpid(), &l, 1, &r, 1, 0)
            } else {
                libc::process_vm_readv(libc::getpid(), &l, 1, &r, 1, 0)
            }
        };
        if got > 0 {
            done += got as usize;
            continue;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EFAULT) => return false,
            Some(libc::EINTR) => continue,
            _ => PLAIN.store(true, Ordering::Relaxed),
        }
    }
    if done < n {
        // SAFETY: the plain fallback; both sides valid by the SVA contract.
        unsafe { std::ptr::copy_nonoverlapping(from.add(done), to.add(done), n - done) };
    }
    true
}

/// Append `n` bytes read at `addr` to `out`; false for an unmapped page.
///
/// # Safety
/// None beyond the model's: the caller's memory is reached as a device reaches it.
pub unsafe fn read(addr: *const u8, n: usize, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    out.resize(start + n, 0);
    // SAFETY: `out` holds n bytes from `start`.
    let ok = unsafe { copy(addr, out.as_mut_ptr().add(start), n, false) };
    if !ok {
        out.truncate(start);
    }
    ok
}

/// Write `data` at `addr`; false for an unmapped page.
///
/// # Safety
/// As for [`read`].
pub unsafe fn write(addr: *mut u8, data: &[u8]) -> bool {
    // SAFETY: `data` is valid for its length.
    unsafe { copy(data.as_ptr(), addr, data.len(), true) }
}

/// Visit the buffers of a request's `len` bytes at `addr`, in order: the flat buffer
/// itself, or the entries of a hardware SGL chain after skipping `skip` bytes. `f` gets
/// each piece's address and length. Returns false when the chain holds fewer bytes.
///
/// # Safety
/// For an SGL, `addr` must point at a valid chain (the SVA contract).
unsafe fn walk(
    addr: u64,
    len: usize,
    sgl: bool,
    skip: usize,
    mut f: impl FnMut(*mut u8, usize),
) -> bool {
    if len == 0 {
        return true;
    }
    if !sgl {
        f(addr as *mut u8, len);
        return true;
    }
    let (mut skip, mut left) = (skip, len);
    let mut sgl_addr = addr;
    // A chain never needs more links than this; a looping one is cut off.
    let mut links = 0;
    while sgl_addr != 0 && left > 0 && links < 1 << 16 {
        links += 1;
        let p = sgl_addr as *const u8;
        // SAFETY: a hardware SGL header, valid by the caller's contract.
        let (next, n) = unsafe {
            (
                (p.add(fmt::sgl::NEXT_DMA) as *const u64).read_unaligned(),
                (p.add(fmt::sgl::ENTRY_SUM_IN_SGL) as *const u16).read_unaligned() as usize,
            )
        };
        for i in 0..n.min(fmt::SGE_PER_SGL) {
            // SAFETY: entry i of this SGL, inside its 255-entry array.
            let (buf, blen) = unsafe {
                let e = p.add(fmt::SGL_HDR_SIZE + i * fmt::SGE_SIZE);
                (
                    (e.add(fmt::sgl::SGE_BUFF) as *const u64).read_unaligned(),
                    (e.add(fmt::sgl::SGE_LEN) as *const u32).read_unaligned() as usize,
                )
            };
            if skip >= blen {
                skip -= blen;
                continue;
            }
            let take = (blen - skip).min(left);
            f((buf as *mut u8).wrapping_add(skip), take);
            left -= take;
            skip = 0;
            if left == 0 {
                break;
            }
        }
        sgl_addr = next;
    }
    left == 0
}

/// How a transfer between the engine and the caller's buffers ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Moved {
    /// All of it.
    All,
    /// The SGL chain holds fewer bytes: the driver's mistake, a model error.
    Short,
    /// A page is not mapped: a translation fault, the request fails as on a device.
    Fault,
}

fn moved(whole: bool, ok: bool) -> Moved {
    match (ok, whole) {
        (false, _) => Moved::Fault,
        (true, false) => Moved::Short,
        (true, true) => Moved::All,
    }
}

/// Read `len` bytes of a request's input into `out`.
///
/// # Safety
/// An SGL's chain must be valid (the SVA contract); the buffers it names are reached
/// through [`read`] and [`write`].
pub(super) unsafe fn gather(
    addr: u64,
    len: usize,
    sgl: bool,
    skip: usize,
    out: &mut Vec<u8>,
) -> Moved {
    out.clear();
    let mut ok = true;
    // SAFETY: the caller's contract covers the chain; the pieces go through dma.
    let whole = unsafe {
        walk(addr, len, sgl, skip, |p, n| {
            ok = ok && read(p, n, out);
        })
    };
    moved(whole, ok)
}

/// Write `data` into a request's output.
///
/// # Safety
/// As for [`gather`].
pub(super) unsafe fn scatter(addr: u64, data: &[u8], sgl: bool, skip: usize) -> Moved {
    let mut at = 0;
    let mut ok = true;
    // SAFETY: the caller's contract covers the chain; the pieces, which add up to at most
    // `data.len()`, go through dma.
    let whole = unsafe {
        walk(addr, data.len(), sgl, skip, |p, n| {
            ok = ok && write(p, &data[at..at + n]);
            at += n;
        })
    };
    moved(whole, ok)
}
