//! Tables of the handles this library issued. A handle from C is looked up here before
//! anything reads through it, so a value that was never issued (1, 4096, an unmapped
//! address, a pointer to the caller's own data) is refused with an error instead of being
//! dereferenced.
//!
//! [`Slab`] holds sessions and contexts: their slots live in segments that are never
//! freed, a handle is a slot's address, and a lookup checks that the value lies on a slot
//! boundary inside one of the segments: a few compares, no lock, on every request. A freed
//! slot is marked dead by its owner and reused by the next allocation, so a stale handle
//! reads as a dead slot. (Schedulers and pools keep registries of their own: `sched.rs`,
//! `mempool.rs`.)

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Slots of the first segment; segment `i` has `FIRST << i`.
const FIRST: usize = 64;
/// Segments: room for `FIRST * (2^SEGS - 1)` slots.
const SEGS: usize = 26;

struct SlabState {
    /// Slots handed out so far (reused ones included once).
    next: usize,
    /// Addresses of freed slots, reused first.
    free: Vec<usize>,
}

/// Never-freed slots of `T`, addressed by handle.
pub(crate) struct Slab<T: 'static> {
    segs: [AtomicPtr<T>; SEGS],
    state: Mutex<SlabState>,
    /// A slot in its dead state (what a lookup of a never-issued slot finds).
    dead: fn() -> T,
}

impl<T: Sync + 'static> Slab<T> {
    /// An empty table whose fresh slots are made by `dead`.
    pub(crate) const fn new(dead: fn() -> T) -> Slab<T> {
        Slab {
            segs: [const { AtomicPtr::new(std::ptr::null_mut()) }; SEGS],
            state: Mutex::new(SlabState {
                next: 0,
                free: Vec::new(),
            }),
            dead,
        }
    }

    fn lock(&self) -> MutexGuard<'_, SlabState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The slot at `h`, if `h` is the address of one; whether it is live is the caller's
    /// question (its own marker).
    pub(crate) fn get(&self, h: usize) -> Option<&'static T> {
        let size = std::mem::size_of::<T>();
        for (i, seg) in self.segs.iter().enumerate() {
            let base = seg.load(Ordering::Acquire);
            if base.is_null() {
                return None;
            }
            let start = base as usize;
            let off = h.wrapping_sub(start);
            if h >= start && off < (FIRST << i) * size {
                if !off.is_multiple_of(size) {
                    return None;
                }
                // SAFETY: `h` is the address of a slot of segment `i` (checked just above);
                // segments are initialised before they are published and never freed.
                return Some(unsafe { &*(h as *const T) });
            }
        }
        None
    }

    /// A slot for a new handle: a freed one, or the next fresh one. It is in its dead
    /// state and owned by the caller until the caller marks it live.
    pub(crate) fn take(&self) -> Option<(usize, &'static T)> {
        let mut st = self.lock();
        if let Some(h) = st.free.pop() {
            return self.get(h).map(|t| (h, t));
        }
        let n = st.next;
        let (mut seg, mut first) = (0, 0);
        while n >= first + (FIRST << seg) {
            first += FIRST << seg;
            seg += 1;
            if seg == SEGS {
                return None;
            }
        }
        let mut base = self.segs[seg].load(Ordering::Acquire);
        if base.is_null() {
            let slots: Box<[T]> = (0..FIRST << seg).map(|_| (self.dead)()).collect();
            base = Box::leak(slots).as_mut_ptr();
            self.segs[seg].store(base, Ordering::Release);
        }
        st.next += 1;
        // SAFETY: slot `n - first` of a segment of `FIRST << seg` slots.
        let t: &'static T = unsafe { &*base.add(n - first) };
        Some((t as *const T as usize, t))
    }

    /// Give back a slot its owner marked dead, for reuse.
    pub(crate) fn put(&self, h: usize) {
        if self.get(h).is_some() {
            self.lock().free.push(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    static SLAB: Slab<AtomicU32> = Slab::new(|| AtomicU32::new(0));

    #[test]
    fn only_issued_slots_are_found() {
        let mut hs = Vec::new();
        for i in 0..(FIRST * 3 + 5) {
            let (h, t) = SLAB.take().unwrap();
            t.store(i as u32 + 1, Ordering::Relaxed);
            hs.push(h);
        }
        for (i, &h) in hs.iter().enumerate() {
            let t = SLAB.get(h).unwrap();
            assert_eq!(t.load(Ordering::Relaxed), i as u32 + 1);
            assert!(SLAB.get(h + 1).is_none(), "inside a slot");
        }
        for bad in [
            0,
            1,
            4096,
            0x7f12_3456_7890,
            usize::MAX,
            &hs as *const _ as usize,
        ] {
            assert!(SLAB.get(bad).is_none(), "{bad:#x}");
        }
        SLAB.put(hs[3]);
        SLAB.put(12345); // not ours: ignored
        assert_eq!(SLAB.take().unwrap().0, hs[3]);
    }
}
