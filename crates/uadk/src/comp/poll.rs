//! Async completions: reaping contexts (UADK's `wd_comp_poll`, `wd_comp_poll_ctx`), the
//! optional poll threads, and the final reap when the framework is torn down.

use super::init::{Comp, Inner};
use crate::drv::{Job, Notify};
use crate::error::{Error, Result};
use crate::req::Output;
use crate::wd::CtxMode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

impl Comp {
    /// Reap up to `expected` async completions (0: all that are ready), running their
    /// callbacks on this thread. Returns how many were reaped (UADK's `wd_comp_poll`).
    pub fn poll(&self, expected: u32) -> Result<u32> {
        Ok(self.inner.poll_some(None, expected))
    }

    /// Like [`Comp::poll`], but when nothing is ready, sleep until a completion is announced
    /// or `timeout` passes, instead of spinning.
    pub fn poll_wait(&self, expected: u32, timeout: Duration) -> Result<u32> {
        let seen = self.inner.notify.seq();
        let n = self.inner.poll_some(None, expected);
        if n > 0 || self.inner.async_ctxs.is_empty() {
            return Ok(n);
        }
        self.inner.notify.wait(seen, timeout);
        Ok(self.inner.poll_some(None, expected))
    }

    /// Reap completions of one context (UADK's `wd_comp_poll_ctx`).
    pub fn poll_ctx(&self, idx: usize, expected: u32) -> Result<u32> {
        let ctx = self
            .inner
            .ctxs
            .get(idx)
            .ok_or_else(|| Error::InvalidParam(format!("ctx index {idx}")))?;
        if ctx.spec.mode != CtxMode::Async {
            return Err(Error::InvalidParam(format!("ctx {idx} is not async")));
        }
        Ok(self.inner.reap_ctx(idx, limit(expected)))
    }

    /// Async requests submitted and not yet reaped, over all contexts.
    pub fn pending(&self) -> usize {
        self.inner.ready_len()
            + self
                .inner
                .async_ctxs
                .iter()
                .map(|&i| self.inner.ctxs[i].lock().pending())
                .sum::<usize>()
    }
}

pub(super) fn limit(expected: u32) -> u32 {
    if expected == 0 {
        u32::MAX
    } else {
        expected
    }
}

impl Inner {
    pub(super) fn start_pollers(this: &Arc<Inner>) -> Result<()> {
        let mut handles = Vec::new();
        for &(count, node) in &this.config.poll_threads {
            for i in 0..count {
                let weak: Weak<Inner> = Arc::downgrade(this);
                let notify = this.notify.clone();
                let h = std::thread::Builder::new()
                    .name(format!("uadk-poll-{node}-{i}"))
                    .spawn(move || poll_loop(weak, notify, node))
                    .map_err(|e| Error::Io(format!("spawning a poll thread: {e}")))?;
                handles.push(h);
            }
        }
        *this.pollers.lock().unwrap_or_else(|e| e.into_inner()) = handles;
        Ok(())
    }

    pub(super) fn ready_len(&self) -> usize {
        self.ready.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Queue a request finished outside any context (by the fallback) for the next poll.
    pub(super) fn push_ready(&self, job: Job, r: Result<Output>) {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back((job, r));
        // Counted after the push: a poller that sees the count finds the request.
        self.ready_n.fetch_add(1, Ordering::Release);
        self.notify.signal();
    }

    /// Run the callbacks of requests the fallback finished.
    pub(super) fn reap_ready(&self, max: u32) -> u32 {
        let mut n = 0;
        while n < max && self.ready_n.load(Ordering::Acquire) > 0 {
            let item = self
                .ready
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            let Some((job, res)) = item else { break };
            self.ready_n.fetch_sub(1, Ordering::AcqRel);
            job.complete(res);
            n += 1;
        }
        n
    }

    /// Reap from async contexts (of one node, or all), starting at a rotating cursor.
    pub(super) fn poll_some(&self, node: Option<u32>, expected: u32) -> u32 {
        let want = limit(expected);
        let mut got = if self.fallback.is_some() {
            self.reap_ready(want)
        } else {
            0
        };
        let n = self.async_ctxs.len();
        if n == 0 || got >= want {
            return got;
        }
        let start = self.poll_cursor.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            let idx = self.async_ctxs[(start + k) % n];
            if node.is_some_and(|nd| self.ctxs[idx].spec.node != nd) {
                continue;
            }
            got += self.reap_ctx(idx, want - got);
            if got >= want {
                break;
            }
        }
        got
    }

    pub(super) fn reap_ctx(&self, idx: usize, max: u32) -> u32 {
        let ctx = &self.ctxs[idx];
        let mut n = 0;
        while n < max {
            // The queue lock is released before the callback runs: it may submit again.
            let Some((mut job, res)) = ctx.lock().reap() else {
                break;
            };
            // While the framework is torn down, a request its device failed completes with
            // the fault instead of running again on the CPU engine: teardown does no new
            // work on the caller's buffers (a C caller may have freed them already).
            let res = match (res, &self.fallback) {
                (Err(e), Some(fb))
                    if e.is_device_fault() && !self.shutdown.load(Ordering::Acquire) =>
                {
                    ctx.stats.record_fault(&e);
                    ctx.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
                    job.run_with(|req| fb.process(req))
                }
                (r, _) => r,
            };
            ctx.stats.record(&res);
            job.complete(res);
            n += 1;
        }
        n
    }
}

pub(super) fn poll_loop(weak: Weak<Inner>, notify: Arc<Notify>, node: u32) {
    loop {
        let seen = notify.seq();
        let reaped = {
            let Some(inner) = weak.upgrade() else { return };
            if inner.shutdown.load(Ordering::Acquire) {
                return;
            }
            let has_node = inner
                .async_ctxs
                .iter()
                .any(|&i| inner.ctxs[i].spec.node == node);
            inner.poll_some(has_node.then_some(node), 0)
        };
        if reaped == 0 {
            notify.wait(seen, Duration::from_millis(20));
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::Release);
        self.notify.signal();
        let me = std::thread::current().id();
        let handles = std::mem::take(&mut *self.pollers.lock().unwrap_or_else(|e| e.into_inner()));
        for h in handles {
            if h.thread().id() != me {
                let _ = h.join();
            }
        }
        // Reap everything still in flight so each callback runs exactly once.
        self.reap_ready(u32::MAX);
        for &idx in &self.async_ctxs {
            while self.ctxs[idx].lock().pending() > 0 {
                if self.reap_ctx(idx, u32::MAX) == 0 {
                    std::thread::yield_now();
                }
            }
        }
    }
}
