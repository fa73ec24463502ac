//! One queue pair serving requests: block requests sent and waited for, async requests
//! on the ring, and the queue retired when the device fails it.

use super::completion::finish_block;
use super::qm::Qp;
use super::sqe::{empty_stream, is_empty_compression, prepare_block, PrepInfo, Scratch};
use crate::drv::{CtxSpec, DriverCtx, Job, JobBuf, Notify, Request};
use crate::error::{Error, Result};
use crate::hw::zip::ZipSqe;
use crate::req::{Alg, Output};
use crate::wd::CtxMode;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One async request on the ring.
pub(super) struct InFlight {
    pub(super) job: Job,
    pub(super) prep: PrepInfo,
    pub(super) tag: u32,
    /// When it was sent, on the coarse clock ([`coarse_now`]).
    pub(super) sent: Duration,
    /// The SGL chains an SGL request's SQE names, kept until it completes (flat requests
    /// need none).
    pub(super) bufs: Option<Box<Scratch>>,
}

/// The monotonic clock at its tick's resolution (a few milliseconds): enough for
/// timeouts of seconds, and read without the cost of a precise clock on every request
/// and every empty poll.
pub(super) fn coarse_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// One queue pair serving requests.
pub(super) struct HisiCtx {
    pub(super) qp: Qp,
    pub(super) spec: CtxSpec,
    pub(super) timeout: Duration,
    pub(super) tag: u32,
    pub(super) bufs: Scratch,
    pub(super) slots: Vec<Option<InFlight>>,
    pub(super) in_flight: usize,
    /// Boxed, so that taking one into a ring slot and back moves a pointer.
    #[allow(clippy::vec_box)]
    pub(super) spare: Vec<Box<Scratch>>,
    pub(super) done: VecDeque<(Job, Result<Output>)>,
    pub(super) broken: Option<Error>,
    pub(super) notify: Arc<Notify>,
    /// The algorithms this queue's device lists (`alg_bit`).
    pub(super) algs: u8,
    /// When `reap` next looks for a request past its timeout ([`coarse_now`]).
    pub(super) next_scan: Duration,
    /// How long the next sync request spins before it sleeps (`SYNC_SPIN_MAX`).
    pub(super) spin: Duration,
}

/// How long a sync request spins on the completion queue before it sleeps on the
/// completion interrupt, at most and at least. A fast device's requests finish meanwhile,
/// without the cost of a sleep and a wake-up; the budget halves with each request that
/// needed the sleep anyway (and doubles with each that did not), so a slow device, or a
/// machine with more threads than CPUs, is not kept waiting by a spinning caller.
const SYNC_SPIN_MAX: Duration = Duration::from_micros(50);
const SYNC_SPIN_MIN: Duration = Duration::from_micros(2);

fn alg_bit(a: Alg) -> u8 {
    match a {
        Alg::Deflate => 1,
        Alg::Zlib => 2,
        Alg::Gzip => 4,
        Alg::Lz4 => 8,
        Alg::Lz77Zstd => 16,
        Alg::Lz77Only => 32,
        Alg::Zstd => 64,
    }
}

impl HisiCtx {
    pub(super) fn new(
        mut qp: Qp,
        spec: CtxSpec,
        notify: Arc<Notify>,
        timeout: Duration,
    ) -> HisiCtx {
        if spec.mode == CtxMode::Async {
            let n = notify.clone();
            // The poller sleeps until this interrupt: keep it enabled.
            qp.keep_interrupts(qp.set_interrupt(Some(Arc::new(move || n.signal()))));
        }
        let depth = qp.depth() as usize;
        let algs = Alg::ALL
            .iter()
            .filter(|a| qp.device().supports(a.name()))
            .fold(0, |m, &a| m | alg_bit(a));
        HisiCtx {
            qp,
            spec,
            timeout,
            tag: 0,
            bufs: Scratch::default(),
            slots: (0..depth).map(|_| None).collect(),
            in_flight: 0,
            spare: Vec::new(),
            done: VecDeque::new(),
            broken: None,
            notify,
            algs,
            next_scan: Duration::ZERO,
            spin: SYNC_SPIN_MAX,
        }
    }

    pub(super) fn next_tag(&mut self) -> u32 {
        self.tag = self.tag.wrapping_add(1);
        self.tag
    }

    /// Stop a queue that can no longer be trusted: the device touches none of our
    /// buffers after this, so requests in flight can be handed back.
    pub(super) fn break_queue(&mut self, e: Error) {
        if self.broken.is_none() {
            self.qp.stop();
            self.broken = Some(e.clone());
        }
        for s in self.slots.iter_mut() {
            if let Some(f) = s.take() {
                self.done.push_back((f.job, Err(e.clone())));
                self.spare.extend(f.bufs);
            }
        }
        self.in_flight = 0;
    }

    /// Send one SQE and wait for its completion (sync mode).
    pub(super) fn run_one(&mut self, sqe: &ZipSqe) -> Result<ZipSqe> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let slot = match self.qp.send(sqe) {
            Ok(s) => s,
            Err(e @ Error::Hardware(_)) => {
                self.break_queue(e.clone());
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let start = Instant::now();
        let deadline = start + self.timeout;
        let spin_end = start + self.spin;
        let mut spins = 0u32;
        let mut slept = false;
        loop {
            match self.qp.recv() {
                Ok(Some((s, done))) => {
                    self.spin = if slept {
                        (self.spin / 2).max(SYNC_SPIN_MIN)
                    } else {
                        (self.spin * 2).min(SYNC_SPIN_MAX)
                    };
                    if s != slot || done.tag() != sqe.tag() {
                        return Err(Error::Hardware(format!(
                            "completion for slot {s} tag {} while waiting for slot {slot} tag {}",
                            done.tag(),
                            sqe.tag()
                        )));
                    }
                    return Ok(done);
                }
                Ok(None) => {}
                Err(e) => {
                    self.break_queue(e.clone());
                    return Err(e);
                }
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(64) {
                std::hint::spin_loop();
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                let e = Error::Timeout(format!(
                    "{} queue {}: no completion in {} ms",
                    self.qp.device().name,
                    self.spec.node,
                    self.timeout.as_millis()
                ));
                self.break_queue(e.clone());
                return Err(e);
            }
            if now >= spin_end {
                slept = true;
                let _ = self
                    .qp
                    .arm_and_wait((deadline - now).min(Duration::from_millis(50)));
            }
        }
    }

    /// Refuse, before anything is sent, an algorithm this queue's device does not list
    /// (lz4 on a QM v2 device, in a framework set up without an algorithm): UADK's driver
    /// refuses it too (`fill_zip_comp_sqe`). As a device limit, the framework runs the
    /// request on another context or the CPU engine.
    pub(super) fn serves(&self, alg: Alg) -> Result<()> {
        let dev = self.qp.device();
        if self.algs & alg_bit(alg) != 0 {
            Ok(())
        } else {
            Err(Error::Hardware(format!(
                "{} ({}) does not serve {}",
                dev.name,
                dev.api,
                alg.name()
            )))
        }
    }

    pub(super) fn block(&mut self, req: &mut Request<'_, '_>) -> Result<Output> {
        self.serves(req.params.alg)?;
        if is_empty_compression(&req.params, &req.src) {
            return empty_stream(&req.params, &mut req.dst);
        }
        let tag = self.next_tag();
        let prep = prepare_block(
            self.qp.hw_ver(),
            &req.params,
            &req.src,
            &mut req.dst,
            &mut self.bufs,
            tag,
        )?;
        let done = self.run_one(&prep.sqe)?;
        finish_block(&prep.info, &done, req.params.op)
    }

    pub(super) fn reap_ring(&mut self) -> Option<(Job, Result<Output>)> {
        loop {
            match self.qp.recv() {
                Ok(Some((slot, done))) => {
                    let Some(f) = self.slots[slot as usize].take() else {
                        // A completion for a slot with nothing in flight: ignore it.
                        continue;
                    };
                    self.in_flight -= 1;
                    let res = if done.tag() != f.tag {
                        Err(Error::Hardware(format!(
                            "completion of slot {slot} carries tag {} instead of {}",
                            done.tag(),
                            f.tag
                        )))
                    } else {
                        finish_block(&f.prep, &done, f.job.params.op)
                    };
                    self.spare.extend(f.bufs);
                    return Some((f.job, res));
                }
                Ok(None) => return None,
                Err(e) => {
                    self.break_queue(e);
                    return self.done.pop_front();
                }
            }
        }
    }
}

impl DriverCtx for HisiCtx {
    fn process(&mut self, req: &mut Request<'_, '_>) -> Result<Output> {
        if req.stream.is_some() {
            self.stream(req)
        } else {
            self.block(req)
        }
    }

    fn submit(&mut self, mut job: Job) -> std::result::Result<(), (Error, Job)> {
        if let Some(e) = &self.broken {
            return Err((e.clone(), job));
        }
        if self.qp.free() == 0 {
            return Err((Error::Busy, job));
        }
        if self.slots[self.qp.next_slot() as usize].is_some() {
            // The ring came round to a slot whose request never completed: the device
            // dropped a completion. Retire the queue rather than reuse the slot.
            let e = Error::Hardware(format!(
                "{}: SQ slot {} still owned by a request that never completed",
                self.qp.device().name,
                self.qp.next_slot()
            ));
            self.break_queue(e.clone());
            self.notify.signal();
            return Err((e, job));
        }
        if let Err(e) = self.serves(job.params.alg) {
            return Err((e, job));
        }
        let tag = self.next_tag();
        // SGL chains live as long as the request; flat requests use the context's scratch
        // only while the SQE is built.
        let sgl = matches!(job.src, JobBuf::List(_)) || matches!(job.dst, JobBuf::List(_));
        let mut bufs = sgl.then(|| self.spare.pop().unwrap_or_default());
        let hw_ver = self.qp.hw_ver();
        let params = job.params;
        let prep = {
            let src = job.src.src();
            let mut dst = job.dst.dst();
            if is_empty_compression(&params, &src) {
                let res = empty_stream(&params, &mut dst);
                self.spare.extend(bufs);
                self.done.push_back((job, res));
                self.notify.signal();
                return Ok(());
            }
            let scratch = match bufs.as_deref_mut() {
                Some(b) => b,
                None => &mut self.bufs,
            };
            prepare_block(hw_ver, &params, &src, &mut dst, scratch, tag)
        };
        let prep = match prep {
            Ok(p) => p,
            Err(e) => {
                // A request the engine would refuse completes with its error, like any other.
                self.spare.extend(bufs);
                self.done.push_back((job, Err(e)));
                self.notify.signal();
                return Ok(());
            }
        };
        match self.qp.send(&prep.sqe) {
            Ok(slot) => {
                self.slots[slot as usize] = Some(InFlight {
                    job,
                    prep: prep.info,
                    tag,
                    sent: coarse_now(),
                    bufs,
                });
                self.in_flight += 1;
                Ok(())
            }
            Err(e) => {
                self.spare.extend(bufs);
                if matches!(e, Error::Hardware(_)) {
                    self.break_queue(e.clone());
                }
                Err((e, job))
            }
        }
    }

    fn reap(&mut self) -> Option<(Job, Result<Output>)> {
        if let Some(x) = self.done.pop_front() {
            return Some(x);
        }
        if self.in_flight == 0 {
            return None;
        }
        if let Some(x) = self.reap_ring() {
            return Some(x);
        }
        // Looking through the ring for the oldest request is not for every empty poll:
        // a timeout is found at most a sixteenth of it late (and a clock tick).
        let now = coarse_now();
        if now < self.next_scan {
            return None;
        }
        self.next_scan =
            now + (self.timeout / 16).clamp(Duration::from_millis(1), Duration::from_millis(100));
        let oldest = self.slots.iter().flatten().map(|f| f.sent).min()?;
        if now.saturating_sub(oldest) >= self.timeout {
            let e = Error::Timeout(format!(
                "{}: no completion in {} ms",
                self.qp.device().name,
                self.timeout.as_millis()
            ));
            self.break_queue(e);
            return self.done.pop_front();
        }
        None
    }

    fn pending(&self) -> usize {
        self.in_flight + self.done.len()
    }

    fn usable(&self) -> bool {
        self.broken.is_none()
    }
}

impl Drop for HisiCtx {
    fn drop(&mut self) {
        self.qp.set_interrupt(None);
        // Nothing may be written into buffers after they are handed back.
        self.qp.stop();
    }
}
