//! A queue's engine thread: the state it shares with the driver, its loop over the SQ ring
//! (faults, checks, execution), CQEs and interrupts.

use super::device::ModelDevice;
use super::queue::Mem;
use super::{check, engine, null, EngineKind, Fault, MODEL_DEPTH};
use crate::hw::zip::{self as fmt, Cqe, ZipSqe, CQE_SIZE, SQE_SIZE};
use crate::uacce;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
pub(super) struct EngineState {
    /// Next SQ slot the engine executes.
    pub(super) sq_head: u16,
    /// Next CQ slot the engine writes, and its phase.
    pub(super) cq_tail: u16,
    pub(super) cq_phase: bool,
    /// CQ head the driver last rang.
    pub(super) cq_head: u16,
    /// CQEs posted and not yet consumed by the driver.
    pub(super) cq_pending: u32,
    pub(super) started: bool,
    pub(super) stop: bool,
    pub(super) disabled: bool,
    pub(super) stall_until: Option<std::time::Instant>,
    /// Completion interrupts masked: the last CQ doorbell had priority 0. The QM starts
    /// a queue with them enabled; a CQ doorbell with priority 1 enables them again (the
    /// kernel's own poll loop rings 0 while it drains and 1 when done).
    pub(super) irq_masked: bool,
    /// Threads sleeping in `wait` on `done`: a completion must wake them.
    pub(super) waiters: u32,
}

/// How long the null engine, with nothing to do, watches the doorbell before it sleeps: a
/// driver that keeps it busy never waits for a thread to wake up (a device polls its
/// doorbells; a sleeping thread takes tens of microseconds to wake). The regular engine,
/// whose requests take their time anyway, sleeps at once: a spinning thread on a machine
/// with more threads than CPUs delays the very thread that would ring next.
const ENGINE_SPIN: Duration = Duration::from_micros(50);

/// Completions the null engine posts before it raises an interrupt, at most.
const IRQ_COALESCE: u32 = 16;

/// What the queue's engine thread and its driver share.
pub(super) struct Shared {
    pub(super) dev: Arc<ModelDevice>,
    pub(super) mmio: Mem,
    pub(super) dus: Mem,
    pub(super) sqn: u16,
    pub(super) qc_type: AtomicU16,
    pub(super) state: Mutex<EngineState>,
    pub(super) kick: Condvar,
    pub(super) done: Condvar,
    pub(super) irq: Mutex<Option<uacce::Interrupt>>,
    /// SQ tail the driver last rang: written by the doorbell without the state lock (a
    /// doorbell is one bus write), watched by a spinning engine.
    pub(super) sq_tail: AtomicU16,
    /// The engine sleeps (or is about to) on `kick`: an SQ doorbell must wake it.
    pub(super) engine_asleep: AtomicBool,
    /// The engine of an [`EngineKind::ZipInline`] queue, run by the doorbell.
    pub(super) inline: Option<Mutex<engine::Engine>>,
}

impl Shared {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, EngineState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn stall(&self, d: Duration) {
        self.lock().stall_until = Some(std::time::Instant::now() + d);
        self.kick.notify_all();
    }

    fn raise_irq(&self) {
        {
            let st = self.lock();
            if st.irq_masked && !st.disabled {
                return;
            }
        }
        self.call_irq();
    }

    /// The interrupt handler, if one is installed (the caller checked the mask).
    pub(super) fn call_irq(&self) {
        if let Some(f) = &*self.irq.lock().unwrap_or_else(|e| e.into_inner()) {
            f();
        }
    }

    /// Watch the SQ tail for [`ENGINE_SPIN`] while it stays at `head`; true when it moved.
    fn spin_for_doorbell(&self, head: u16) -> bool {
        let until = std::time::Instant::now() + ENGINE_SPIN;
        loop {
            for _ in 0..64 {
                if self.sq_tail.load(Ordering::Acquire) != head {
                    return true;
                }
                std::hint::spin_loop();
            }
            if std::time::Instant::now() >= until {
                return false;
            }
        }
    }

    pub(super) fn disable(&self) {
        let len = self.dus.layout.size();
        // SAFETY: the two status words at the end of the DUS region.
        unsafe {
            (self.dus.ptr.add(len - 4) as *mut u32).write_volatile(1);
            (self.dus.ptr.add(len - 8) as *mut u32).write_volatile(1);
        }
        self.lock().disabled = true;
        self.kick.notify_all();
        self.done.notify_all();
        self.raise_irq();
    }

    fn sqe_ptr(&self, slot: u16) -> *mut ZipSqe {
        // SAFETY: slot < depth: inside the SQ ring.
        unsafe { self.dus.ptr.add(slot as usize * SQE_SIZE).cast() }
    }

    fn post_cqe(&self, st: &mut EngineState, slot: u16) {
        // The body first, still carrying the old phase, then the phase word: a driver
        // polling the entry never sees the new phase with an old body, as hardware
        // guarantees by writing the phase last.
        let cqe = Cqe {
            sq_head: slot,
            sq_num: self.sqn,
            w7: !st.cq_phase as u16,
            ..Cqe::default()
        };
        let off = SQE_SIZE * MODEL_DEPTH as usize + st.cq_tail as usize * CQE_SIZE;
        std::sync::atomic::fence(Ordering::Release);
        // SAFETY: the CQ slot lies inside the DUS region.
        unsafe {
            let p = self.dus.ptr.add(off) as *mut Cqe;
            p.write_volatile(cqe);
            std::sync::atomic::fence(Ordering::Release);
            std::ptr::addr_of_mut!((*p).w7).write_volatile(st.cq_phase as u16);
        }
        st.cq_tail += 1;
        if st.cq_tail == MODEL_DEPTH {
            st.cq_tail = 0;
            st.cq_phase = !st.cq_phase;
        }
        st.cq_pending += 1;
    }

    /// Execute the SQE in `slot` (faults, checks, the engine), write it back, and post its
    /// completion; the state lock, still held, goes to the caller.
    fn execute(
        &self,
        eng: &mut engine::Engine,
        slot: u16,
        null: bool,
    ) -> std::sync::MutexGuard<'_, EngineState> {
        let fault = self.dev.take_fault();
        let p = self.sqe_ptr(slot);
        // SAFETY: the driver wrote this SQE before ringing the doorbell that moved
        // the tail past it, and does not touch it until its CQE arrives.
        let mut sqe = unsafe { p.read_volatile() };
        let qc_type = self.qc_type.load(Ordering::Relaxed);
        // SAFETY: the SVA contract: the SGLs an SQE names are valid until its CQE.
        let verdict = check::sqe(&sqe, self.dev.hw_ver, qc_type)
            .and_then(|()| unsafe { check::buffers(&sqe) });
        let fail = |sqe: &mut ZipSqe, st: u32| {
            sqe.w[fmt::dw::STATUS] = st;
            sqe.w[fmt::dw::CONSUMED] = 0;
            sqe.w[fmt::dw::PRODUCED] = 0;
        };
        match (verdict, fault) {
            (Err(why), _) => {
                self.dev
                    .model_error(&format!("queue {}: SQE rejected: {why}", self.sqn));
                fail(&mut sqe, fmt::status::BAD_SQE);
            }
            (Ok(()), Some(Fault::ErrorStatus)) => fail(&mut sqe, fmt::status::ENGINE_FAULT),
            (Ok(()), _) if null => {
                // SAFETY: the SVA contract, as below. Not timed: it takes no time.
                let why = unsafe {
                    if null::execute(&mut sqe, qc_type) {
                        None
                    } else {
                        eng.execute(&mut sqe, qc_type)
                    }
                };
                if let Some(why) = why {
                    self.dev
                        .model_error(&format!("queue {}: SQE failed: {why}", self.sqn));
                }
            }
            (Ok(()), _) => {
                let t0 = std::time::Instant::now();
                // SAFETY: the SVA contract: the driver keeps the SQE's buffers valid
                // until the completion.
                if let Some(why) = unsafe { eng.execute(&mut sqe, qc_type) } {
                    self.dev
                        .model_error(&format!("queue {}: SQE failed: {why}", self.sqn));
                }
                let busy = t0.elapsed().as_nanos() as u64;
                self.dev.stats.busy_ns[usize::from(qc_type & 1)].fetch_add(busy, Ordering::Relaxed);
            }
        }
        if fault == Some(Fault::BadTag) {
            let t = sqe.tag() ^ 0x5a5a;
            sqe.set_tag(sqe.sqe_type(), t);
        }
        self.dev.stats.executed.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above; the driver reads it back after the CQE.
        unsafe { p.write_volatile(sqe) };
        let mut st = self.lock();
        st.sq_head = (st.sq_head + 1) % MODEL_DEPTH;
        if fault != Some(Fault::NoCompletion) {
            self.post_cqe(&mut st, slot);
        }
        st
    }

    /// An in-line queue's doorbell: every SQE up to the tail, executed in the ringing
    /// thread, each followed by the wake-up and interrupt its completion brings.
    pub(super) fn serve_inline(&self) {
        let Some(eng) = &self.inline else {
            return;
        };
        let mut eng = eng.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let st = self.lock();
            if !st.started || st.disabled || st.sq_head == self.sq_tail.load(Ordering::Acquire) {
                return;
            }
            let slot = st.sq_head;
            drop(st);
            self.signal(self.execute(&mut eng, slot, false));
        }
    }

    /// After completions: wake the driver's sleepers and raise the interrupt (when on),
    /// with the state lock released first.
    fn signal(&self, st: std::sync::MutexGuard<'_, EngineState>) {
        // Only a sleeper costs a wake-up; the handler runs while interrupts are on.
        let (wake, irq) = (st.waiters > 0, !st.irq_masked || st.disabled);
        drop(st);
        if wake {
            self.done.notify_all();
        }
        if irq {
            self.call_irq();
        }
    }

    pub(super) fn run(self: Arc<Self>) {
        let mut eng = engine::Engine::new();
        let null = self.dev.engine == EngineKind::Null;
        // Completions posted since the last interrupt (the null engine coalesces them).
        let mut quiet = 0u32;
        loop {
            let slot = {
                let mut st = self.lock();
                let mut spun = !null;
                loop {
                    if st.stop || st.disabled {
                        return;
                    }
                    if let Some(t) = st.stall_until {
                        let now = std::time::Instant::now();
                        if now < t {
                            st = self
                                .kick
                                .wait_timeout(st, t - now)
                                .unwrap_or_else(|e| e.into_inner())
                                .0;
                            continue;
                        }
                        st.stall_until = None;
                    }
                    if st.sq_head != self.sq_tail.load(Ordering::Acquire) {
                        break;
                    }
                    if !spun {
                        spun = true;
                        let head = st.sq_head;
                        drop(st);
                        self.spin_for_doorbell(head);
                        st = self.lock();
                        continue;
                    }
                    // Asleep first, then the tail once more: a doorbell in between either
                    // is seen here or sees the flag (and wakes us once we wait).
                    self.engine_asleep.store(true, Ordering::SeqCst);
                    if st.sq_head == self.sq_tail.load(Ordering::SeqCst) {
                        st = self.kick.wait(st).unwrap_or_else(|e| e.into_inner());
                    }
                    self.engine_asleep.store(false, Ordering::Relaxed);
                }
                st.sq_head
            };
            let st = self.execute(&mut eng, slot, null);
            // The null engine, whose requests take no time, signals once for a burst: when
            // the ring is empty, or every IRQ_COALESCE completions.
            quiet += 1;
            if null && st.sq_head != self.sq_tail.load(Ordering::Relaxed) && quiet < IRQ_COALESCE {
                continue;
            }
            quiet = 0;
            self.signal(st);
        }
    }
}
