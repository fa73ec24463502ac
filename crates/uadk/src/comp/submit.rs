//! Async requests (UADK's `wd_do_comp_async`): submitted to an async context, completed
//! by a poll; a device that fails at submit passes the request to another context or the
//! CPU engine.

use super::future::CompFuture;
use super::session::Session;
use crate::drv::{Callback, CallbackWords, Completion, Job, JobBuf, OnDone, ReqKind};
use crate::error::Error;
use crate::wd::CtxMode;
use std::sync::atomic::Ordering;

/// A refused async submission, with the buffers handed back.
#[derive(Debug)]
pub struct SubmitError {
    /// Why.
    pub error: Error,
    /// The input, unchanged.
    pub src: JobBuf,
    /// The output space, unchanged.
    pub dst: JobBuf,
}

impl std::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "submit failed: {}", self.error)
    }
}

impl std::error::Error for SubmitError {}

impl Session {
    /// Async block request: returns at once; `callback` runs exactly once, from
    /// [`Comp::poll`](super::Comp::poll) or a poll thread, with the buffers and the result.
    /// Boxing a closure allocates unless it captures nothing; [`Session::submit_fn`]
    /// never does.
    pub fn submit(
        &self,
        src: JobBuf,
        dst: JobBuf,
        callback: Callback,
    ) -> std::result::Result<(), SubmitError> {
        self.submit_job(src, dst, true, OnDone::Closure(callback))
    }

    /// [`Session::submit`] with a plain function for the callback and words of the
    /// caller's that travel with the request (UADK's `cb` and `cb_param`): nothing is
    /// allocated per request.
    pub fn submit_fn(
        &self,
        src: JobBuf,
        dst: JobBuf,
        f: fn(Completion, CallbackWords),
        words: CallbackWords,
    ) -> std::result::Result<(), SubmitError> {
        self.submit_job(src, dst, true, OnDone::Fn(f, words))
    }

    /// [`Session::submit`] of one part of a raw deflate stream split into independent
    /// parts, for parallel work on one stream: `last` unset, the part is not the end of
    /// its stream ([`Request::last`](crate::drv::Request::last) says what such a part
    /// holds); set, it is an ordinary block request. Engines that cannot make parts (the
    /// hardware ends every request with a final block) leave them to the CPU engine,
    /// which then runs them at submission.
    pub fn submit_part(
        &self,
        src: JobBuf,
        dst: JobBuf,
        last: bool,
        callback: Callback,
    ) -> std::result::Result<(), SubmitError> {
        self.submit_job(src, dst, last, OnDone::Closure(callback))
    }

    fn submit_job(
        &self,
        src: JobBuf,
        dst: JobBuf,
        last: bool,
        callback: OnDone,
    ) -> std::result::Result<(), SubmitError> {
        let fail = |error, src, dst| Err(SubmitError { error, src, dst });
        if dst.is_empty() {
            return fail(
                Error::InvalidParam("output buffer is empty".into()),
                src,
                dst,
            );
        }
        let mut job = Job {
            params: self.params,
            src,
            dst,
            callback,
            last,
        };
        let part_elsewhere = !last && !self.on_cpu && {
            let drv = &*self.comp.driver;
            match drv.check(&self.params, ReqKind::Part) {
                Ok(()) => false,
                Err(e) if self.comp.fallback.is_none() => return fail(e, job.src, job.dst),
                Err(_) => true,
            }
        };
        if let Some(cpu) = self.cpu().or(if part_elsewhere {
            self.comp.fallback.as_ref()
        } else {
            None
        }) {
            // The hardware cannot serve this session: the CPU engine runs it now, and the
            // next poll completes it, as for a request a device failed.
            let r = job.run_with(|req| cpu.process(req));
            self.comp.push_ready(job, r);
            return Ok(());
        }
        let idx = match self.pick(CtxMode::Async) {
            Ok(i) => i,
            Err(e) => return fail(e, job.src, job.dst),
        };
        let mut res = self.submit_on(idx, job);
        if let Err((e, job)) = res {
            if !e.is_device_fault() {
                return fail(e, job.src, job.dst);
            }
            // The context's device failed: try another context, then the CPU engine.
            let other = (0..2)
                .filter_map(|_| self.pick(CtxMode::Async).ok())
                .find(|&j| j != idx);
            res = match other {
                Some(j) => {
                    self.comp.ctxs[j]
                        .stats
                        .retries
                        .fetch_add(1, Ordering::Relaxed);
                    self.submit_on(j, job)
                }
                None => Err((e, job)),
            };
            if let Err((e, mut job)) = res {
                let Some(fb) = &self.comp.fallback else {
                    return fail(e, job.src, job.dst);
                };
                if !e.is_device_fault() {
                    return fail(e, job.src, job.dst);
                }
                self.comp.ctxs[idx]
                    .stats
                    .fallbacks
                    .fetch_add(1, Ordering::Relaxed);
                let r = job.run_with(|req| fb.process(req));
                self.comp.push_ready(job, r);
                return Ok(());
            }
        }
        Ok(())
    }

    pub(super) fn submit_on(&self, idx: usize, job: Job) -> std::result::Result<(), (Error, Job)> {
        let ctx = &self.comp.ctxs[idx];
        let mut q = ctx.lock();
        let r = q.submit(job);
        if r.is_err() && !q.usable() {
            ctx.down.store(true, Ordering::Relaxed);
        }
        drop(q);
        match &r {
            Ok(()) => {
                ctx.stats.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err((Error::Busy, _)) => {
                ctx.stats.busy.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) if e.is_device_fault() => ctx.stats.record_fault(e),
            Err(_) => {}
        }
        r
    }

    /// Async block request as a `Future` of its [`Completion`](crate::drv::Completion). Without poll threads,
    /// polling the future reaps completions itself.
    pub fn submit_future(
        &self,
        src: Vec<u8>,
        dst: Vec<u8>,
    ) -> std::result::Result<CompFuture, SubmitError> {
        let (fut, cb) = CompFuture::new(self.comp());
        self.submit(JobBuf::Flat(src), JobBuf::Flat(dst), cb)?;
        Ok(fut)
    }
}
