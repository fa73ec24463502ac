//! Async CPU contexts: each is a bounded queue with a worker thread that plays the device.
//!
//! The async contexts of one framework, op type and node are siblings: a worker whose own
//! queue is empty takes the next job of a sibling's, as a device's engines serve all of its
//! queues. Work spread unevenly over the queues (round-robin over jobs of unequal cost)
//! then keeps every worker busy to the end. A job completes on the queue it was submitted
//! to, whichever worker ran it.

use super::Engine;
use crate::drv::{CtxSpec, DriverCtx, Job, Notify, Request};
use crate::error::{Error, Result};
use crate::req::{OpType, Output};
use crossbeam_channel::{Receiver, RecvTimeoutError, Select, Sender, TryRecvError, TrySendError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// Queue depth of an async CPU context, as a hardware queue's.
pub const ASYNC_DEPTH: usize = 1024;

/// How long an idle worker waits before it looks again for siblings that joined.
const IDLE_LOOK: Duration = Duration::from_millis(50);

/// A finished job and its result, on its own context's completion queue.
type Done = (Job, Result<Output>);

/// One context's queues, as the workers of its siblings see them.
#[derive(Clone)]
struct Queue {
    id: u64,
    jobs: Receiver<Job>,
    done: Sender<Done>,
}

/// The async contexts of one framework, op type and node.
#[derive(Default)]
pub(super) struct Siblings {
    /// The queues and a count of changes to them, so that workers refresh their view.
    queues: Mutex<(u64, Vec<Queue>)>,
}

impl Siblings {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<Queue>)> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn join(&self, q: Queue) {
        let mut g = self.lock();
        g.1.push(q);
        g.0 += 1;
    }

    fn leave(&self, id: u64) {
        let mut g = self.lock();
        g.1.retain(|q| q.id != id);
        g.0 += 1;
    }

    /// The current queues into `view`, unless `view` already holds change `seen`.
    fn refresh(&self, seen: &mut u64, view: &mut Vec<Queue>) {
        let g = self.lock();
        if g.0 != *seen {
            view.clear();
            view.extend(g.1.iter().cloned());
            *seen = g.0;
        }
    }
}

/// Which sibling group a context belongs to: its framework (by its completion signal),
/// op type and node.
#[derive(Debug)]
pub(super) struct GroupKey {
    notify: Weak<Notify>,
    op: OpType,
    node: u32,
    siblings: Weak<Siblings>,
}

/// The sibling group for a new context: an existing one of the same framework, op type
/// and node, or a new one. Groups whose contexts are all gone are dropped.
pub(super) fn siblings_for(
    groups: &Mutex<Vec<GroupKey>>,
    spec: &CtxSpec,
    notify: &Arc<Notify>,
) -> Arc<Siblings> {
    let mut groups = groups.lock().unwrap_or_else(|e| e.into_inner());
    groups.retain(|g| g.siblings.strong_count() > 0 && g.notify.strong_count() > 0);
    let found = groups.iter().find_map(|g| {
        let same = std::ptr::eq(g.notify.as_ptr(), Arc::as_ptr(notify))
            && g.op == spec.op
            && g.node == spec.node;
        same.then(|| g.siblings.upgrade()).flatten()
    });
    found.unwrap_or_else(|| {
        let s = Arc::new(Siblings::default());
        groups.push(GroupKey {
            notify: Arc::downgrade(notify),
            op: spec.op,
            node: spec.node,
            siblings: Arc::downgrade(&s),
        });
        s
    })
}

/// Source of queue ids, unique in the process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// An async context. Its worker starts with the first submission, so unused async
/// contexts cost nothing.
pub(super) struct CpuAsyncCtx {
    spec: CtxSpec,
    notify: Arc<Notify>,
    siblings: Arc<Siblings>,
    id: u64,
    jobs: Option<Sender<Job>>,
    done: Option<Receiver<Done>>,
    worker: Option<JoinHandle<()>>,
    pending: usize,
    /// Codec state for sync requests on this async queue, made at the first one and kept.
    sync_engine: Option<Box<Engine>>,
}

impl CpuAsyncCtx {
    pub(super) fn new(spec: CtxSpec, notify: Arc<Notify>, siblings: Arc<Siblings>) -> Self {
        CpuAsyncCtx {
            spec,
            notify,
            siblings,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            jobs: None,
            done: None,
            worker: None,
            pending: 0,
            sync_engine: None,
        }
    }

    fn start(&mut self) -> Result<&Sender<Job>> {
        if self.jobs.is_none() {
            let (jobs_tx, jobs_rx) = crossbeam_channel::bounded::<Job>(ASYNC_DEPTH);
            let (done_tx, done_rx) = crossbeam_channel::bounded(ASYNC_DEPTH);
            let own = Queue {
                id: self.id,
                jobs: jobs_rx,
                done: done_tx,
            };
            let mut w = Worker {
                own: own.clone(),
                siblings: self.siblings.clone(),
                notify: self.notify.clone(),
                engine: Engine::default(),
                seen: u64::MAX,
                view: Vec::new(),
            };
            let worker = std::thread::Builder::new()
                .name(format!(
                    "uadk-cpu-{}-{}",
                    self.spec.op.name(),
                    self.spec.node
                ))
                .spawn(move || w.run())
                .map_err(|e| Error::Io(format!("spawning a CPU worker: {e}")))?;
            self.siblings.join(own);
            self.jobs = Some(jobs_tx);
            self.done = Some(done_rx);
            self.worker = Some(worker);
        }
        Ok(self.jobs.as_ref().expect("started above"))
    }
}

impl DriverCtx for CpuAsyncCtx {
    fn process(&mut self, req: &mut Request<'_, '_>) -> Result<Output> {
        // A sync request on an async queue still gets an answer: run it here, on codec
        // state kept for such requests (the worker's is its own thread's).
        self.sync_engine.get_or_insert_with(Box::default).run(req)
    }

    fn submit(&mut self, job: Job) -> std::result::Result<(), (Error, Job)> {
        // The depth counts every request not yet reaped, as a hardware queue's: so a
        // completion queue never fills and no worker ever waits to hand a result back.
        if self.pending >= ASYNC_DEPTH {
            return Err((Error::Busy, job));
        }
        let tx = match self.start() {
            Ok(tx) => tx,
            Err(e) => return Err((e, job)),
        };
        match tx.try_send(job) {
            Ok(()) => {
                self.pending += 1;
                Ok(())
            }
            Err(TrySendError::Full(job)) => Err((Error::Busy, job)),
            Err(TrySendError::Disconnected(job)) => {
                Err((Error::Io("CPU worker has stopped".into()), job))
            }
        }
    }

    fn reap(&mut self) -> Option<(Job, Result<Output>)> {
        let r = self.done.as_ref()?.try_recv().ok()?;
        self.pending -= 1;
        Some(r)
    }

    fn pending(&self) -> usize {
        self.pending
    }
}

impl Drop for CpuAsyncCtx {
    fn drop(&mut self) {
        if self.jobs.is_none() {
            return;
        }
        // No sibling takes new jobs from here; closing the queue lets the worker finish
        // what it holds, then exit.
        self.siblings.leave(self.id);
        self.jobs = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
        // Jobs a sibling's worker took may still run: each comes back here. Whatever the
        // framework did not reap completes now, so no callback is lost.
        let Some(done) = self.done.take() else { return };
        while self.pending > 0 {
            match done.recv() {
                Ok((job, res)) => {
                    self.pending -= 1;
                    job.complete(res);
                }
                // Nobody left who could send: nothing is still running.
                Err(_) => break,
            }
        }
    }
}

/// A worker thread: its own context's jobs first, then its siblings'.
struct Worker {
    own: Queue,
    siblings: Arc<Siblings>,
    notify: Arc<Notify>,
    engine: Engine,
    /// The siblings' queues as of change `seen`.
    seen: u64,
    view: Vec<Queue>,
}

impl Worker {
    fn run(&mut self) {
        while let Some((job, queue)) = self.next() {
            self.execute(job, queue);
        }
    }

    /// The next job and the index in `view` of its queue (`usize::MAX`: our own); `None`
    /// once our own queue is closed and empty.
    fn next(&mut self) -> Option<(Job, usize)> {
        loop {
            match self.own.jobs.try_recv() {
                Ok(job) => return Some((job, usize::MAX)),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {}
            }
            self.siblings.refresh(&mut self.seen, &mut self.view);
            for (i, q) in self.view.iter().enumerate() {
                if q.id != self.own.id {
                    if let Ok(job) = q.jobs.try_recv() {
                        return Some((job, i));
                    }
                }
            }
            if self.view.iter().all(|q| q.id == self.own.id) {
                // No sibling: wait on our own queue alone, which allocates nothing.
                match self.own.jobs.recv_timeout(IDLE_LOOK) {
                    Ok(job) => return Some((job, usize::MAX)),
                    Err(RecvTimeoutError::Disconnected) => return None,
                    Err(RecvTimeoutError::Timeout) => continue,
                }
            }
            self.wait();
        }
    }

    /// Sleep until our queue or a sibling's has a job (or closes), or a while passes.
    fn wait(&mut self) {
        let mut sel = Select::new();
        sel.recv(&self.own.jobs);
        for q in self.view.iter().filter(|q| q.id != self.own.id) {
            sel.recv(&q.jobs);
        }
        // Ready only says where to look; the loop takes the job, if it is still there.
        if sel.ready_timeout(IDLE_LOOK).is_ok_and(|i| i > 0) {
            // A closed sibling queue is ready forever: look at the siblings again.
            self.seen = self.seen.wrapping_add(1);
        }
    }

    fn execute(&mut self, mut job: Job, queue: usize) {
        // A codec bug must fail its request, not the worker: a dead worker would strand
        // every request queued behind it.
        let engine = &mut self.engine;
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            job.run_with(|req| engine.run(req))
        }))
        .unwrap_or_else(|_| {
            *engine = Engine::default();
            Err(Error::Io("the CPU engine failed on this request".into()))
        });
        let done = match queue {
            usize::MAX => &self.own.done,
            i => &self.view[i].done,
        };
        // The context waits for every job it submitted before it goes, so its
        // completion queue is still open, and it has room (see `submit`).
        let _ = done.send((job, res));
        self.notify.signal();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drv::cpu::CpuDriver;
    use crate::drv::{Driver, JobBuf, OnDone};
    use crate::req::{Alg, Level, ReqParams, WindowSize};
    use crate::wd::CtxMode;
    use std::sync::atomic::AtomicUsize;

    const SPEC: CtxSpec = CtxSpec {
        node: 0,
        mode: CtxMode::Async,
        op: OpType::Compress,
    };

    /// A gzip compression job whose callback counts itself.
    fn job(data: Vec<u8>, level: u32, ran: &Arc<AtomicUsize>) -> Job {
        let ran = ran.clone();
        Job {
            params: ReqParams {
                alg: Alg::Gzip,
                op: OpType::Compress,
                level: Level::new(level).unwrap(),
                window: WindowSize::W32K,
            },
            dst: JobBuf::Flat(vec![0; data.len() + 1024]),
            src: JobBuf::Flat(data),
            callback: OnDone::Closure(Box::new(move |c| {
                assert!(c.result.is_ok());
                ran.fetch_add(1, Ordering::SeqCst);
            })),
            last: true,
        }
    }

    /// Text that level 12 works hard on: words in a pseudo-random order.
    fn text(len: usize) -> Vec<u8> {
        let words = [
            "alpha ", "beta ", "gamma ", "delta ", "epsilon ", "zeta ", "eta ",
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.extend_from_slice(words[(x % 7) as usize].as_bytes());
        }
        v.truncate(len);
        v
    }

    fn reap_one(ctx: &mut Box<dyn DriverCtx>) -> (Job, Result<Output>) {
        loop {
            if let Some(r) = ctx.reap() {
                return r;
            }
            std::thread::yield_now();
        }
    }

    #[test]
    fn an_idle_sibling_runs_a_job_queued_behind_a_long_one() {
        let d = CpuDriver::new();
        let notify = Arc::new(Notify::default());
        let mut a = d.alloc_ctx(SPEC, notify.clone()).unwrap();
        let mut b = d.alloc_ctx(SPEC, notify.clone()).unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        // b's worker starts with b's first job, then idles.
        b.submit(job(vec![1; 100], 1, &ran)).unwrap();
        let (j, r) = reap_one(&mut b);
        j.complete(r);
        let big = text(4 << 20);
        a.submit(job(big, 12, &ran)).unwrap();
        a.submit(job(vec![2; 1000], 1, &ran)).unwrap();
        // The short job comes back first: b's worker ran it while a's ran the long one.
        let (first, r1) = reap_one(&mut a);
        assert_eq!(
            first.src.len(),
            1000,
            "the short job waited behind the long one"
        );
        let (second, r2) = reap_one(&mut a);
        assert_eq!(second.src.len(), 4 << 20);
        first.complete(r1);
        second.complete(r2);
        assert_eq!(ran.load(Ordering::SeqCst), 3);
        assert_eq!(a.pending(), 0);
    }

    #[test]
    fn a_context_dropped_with_jobs_in_a_siblings_hands_completes_them_all() {
        let d = CpuDriver::new();
        let notify = Arc::new(Notify::default());
        let ran = Arc::new(AtomicUsize::new(0));
        let mut b = d.alloc_ctx(SPEC, notify.clone()).unwrap();
        b.submit(job(vec![1; 100], 1, &ran)).unwrap();
        for _ in 0..3 {
            let mut a = d.alloc_ctx(SPEC, notify.clone()).unwrap();
            a.submit(job(text(1 << 20), 12, &ran)).unwrap();
            for _ in 0..20 {
                a.submit(job(text(64 << 10), 6, &ran)).unwrap();
            }
            drop(a);
        }
        drop(b);
        assert_eq!(ran.load(Ordering::SeqCst), 1 + 3 * 21);
    }

    #[test]
    fn sync_requests_on_an_async_context_keep_their_codec_state() {
        let d = CpuDriver::new();
        let notify = Arc::new(Notify::default());
        let siblings = siblings_for(&d.groups, &SPEC, &notify);
        let mut ctx = CpuAsyncCtx::new(SPEC, notify, siblings);
        let data = text(100_000);
        let mut out = vec![0u8; data.len() + 1024];
        let mut sizes = Vec::new();
        let mut engines = Vec::new();
        for _ in 0..2 {
            let mut req = Request {
                params: ReqParams {
                    alg: Alg::Gzip,
                    op: OpType::Compress,
                    level: Level::new(6).unwrap(),
                    window: WindowSize::W32K,
                },
                src: crate::drv::Src::Flat(&data),
                dst: crate::drv::Dst::Flat(&mut out),
                stream: None,
                last: true,
                sync_flush: false,
                prev_block: crate::req::BlockType::Compressed,
            };
            sizes.push(ctx.process(&mut req).unwrap().produced);
            let e = ctx
                .sync_engine
                .as_deref()
                .expect("kept after a sync request");
            engines.push(e as *const Engine);
        }
        assert_eq!(sizes[0], sizes[1]);
        assert!(sizes[0] > 0 && sizes[0] < data.len() / 2);
        assert_eq!(
            engines[0], engines[1],
            "the second request made a new engine"
        );
        // No worker thread was started for sync requests.
        assert!(ctx.worker.is_none());
    }

    #[test]
    fn contexts_of_other_frameworks_or_op_types_are_not_siblings() {
        let d = CpuDriver::new();
        let (n1, n2) = (Arc::new(Notify::default()), Arc::new(Notify::default()));
        let s1 = siblings_for(&d.groups, &SPEC, &n1);
        let s1b = siblings_for(&d.groups, &SPEC, &n1);
        let s2 = siblings_for(&d.groups, &SPEC, &n2);
        let dec = CtxSpec {
            op: OpType::Decompress,
            ..SPEC
        };
        let s3 = siblings_for(&d.groups, &dec, &n1);
        assert!(Arc::ptr_eq(&s1, &s1b));
        assert!(!Arc::ptr_eq(&s1, &s2));
        assert!(!Arc::ptr_eq(&s1, &s3));
        drop((s1, s1b, s2, s3));
        // Groups with no context left are forgotten.
        let _s = siblings_for(&d.groups, &SPEC, &n1);
        assert_eq!(d.groups.lock().unwrap().len(), 1);
    }
}
