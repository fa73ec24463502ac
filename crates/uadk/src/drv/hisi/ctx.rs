//! One queue pair serving requests: block requests sent and waited for, async requests
//! on the ring, and the queue retired when the device fails it.

use super::completion::finish_block;
use super::qm::Qp;
use super::sqe::{prepare_block, Prepared, Scratch};
use crate::drv::{CtxSpec, DriverCtx, Job, Notify, Request};
use crate::error::{Error, Result};
use crate::hw::zip::ZipSqe;
use crate::req::Output;
use crate::wd::CtxMode;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One async request on the ring.
pub(super) struct InFlight {
    pub(super) job: Job,
    pub(super) prep: Prepared,
    pub(super) tag: u32,
    pub(super) sent: Instant,
    pub(super) bufs: Scratch,
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
    pub(super) spare: Vec<Scratch>,
    pub(super) done: VecDeque<(Job, Result<Output>)>,
    pub(super) broken: Option<Error>,
    pub(super) notify: Arc<Notify>,
}

impl HisiCtx {
    pub(super) fn new(qp: Qp, spec: CtxSpec, notify: Arc<Notify>, timeout: Duration) -> HisiCtx {
        if spec.mode == CtxMode::Async {
            let n = notify.clone();
            qp.set_interrupt(Some(Arc::new(move || n.signal())));
        }
        let depth = qp.depth() as usize;
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
                self.spare.push(f.bufs);
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
        let deadline = Instant::now() + self.timeout;
        let mut spins = 0u32;
        loop {
            match self.qp.recv() {
                Ok(Some((s, done))) => {
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
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                let _ = self
                    .qp
                    .wait((deadline - now).min(Duration::from_millis(50)));
            }
        }
    }

    pub(super) fn block(&mut self, req: &mut Request<'_, '_>) -> Result<Output> {
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
        finish_block(&prep, &done, req.params.op)
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
                    self.spare.push(f.bufs);
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
        let tag = self.next_tag();
        let mut bufs = self.spare.pop().unwrap_or_default();
        let hw_ver = self.qp.hw_ver();
        let params = job.params;
        let prep = {
            let src = job.src.src();
            let mut dst = job.dst.dst();
            prepare_block(hw_ver, &params, &src, &mut dst, &mut bufs, tag)
        };
        let prep = match prep {
            Ok(p) => p,
            Err(e) => {
                // A request the engine would refuse completes with its error, like any other.
                self.spare.push(bufs);
                self.done.push_back((job, Err(e)));
                self.notify.signal();
                return Ok(());
            }
        };
        match self.qp.send(&prep.sqe) {
            Ok(slot) => {
                self.slots[slot as usize] = Some(InFlight {
                    job,
                    prep,
                    tag,
                    sent: Instant::now(),
                    bufs,
                });
                self.in_flight += 1;
                Ok(())
            }
            Err(e) => {
                self.spare.push(bufs);
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
        let oldest = self.slots.iter().flatten().map(|f| f.sent).min()?;
        if oldest.elapsed() >= self.timeout {
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
