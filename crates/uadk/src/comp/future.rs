//! A `Future` over an async request, without pulling a runtime into the core.

use super::init::{Comp, Inner};
use crate::drv::{Callback, Completion};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Slot {
    done: Option<Completion>,
    waker: Option<Waker>,
}

/// Resolves to the [`Completion`] of an async request.
///
/// With poll threads running, the future is woken when its request completes. Without
/// them, each poll of the future reaps ready completions itself (running any callback
/// that is due) and asks to be polled again.
pub struct CompFuture {
    slot: Arc<Mutex<Slot>>,
    comp: Arc<Inner>,
}

impl CompFuture {
    pub(super) fn new(comp: Comp) -> (CompFuture, Callback) {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let s2 = slot.clone();
        let cb: Callback = Box::new(move |c: Completion| {
            let waker = {
                let mut s = s2.lock().unwrap_or_else(|e| e.into_inner());
                s.done = Some(c);
                s.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        });
        (
            CompFuture {
                slot,
                comp: comp.inner,
            },
            cb,
        )
    }

    fn take(&self, cx: &Context<'_>) -> Option<Completion> {
        let mut s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match s.done.take() {
            Some(c) => Some(c),
            None => {
                s.waker = Some(cx.waker().clone());
                None
            }
        }
    }
}

impl Future for CompFuture {
    type Output = Completion;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Completion> {
        if let Some(c) = self.take(cx) {
            return Poll::Ready(c);
        }
        if self.comp.config.poll_threads.is_empty() {
            self.comp.poll_some(None, 0);
            if let Some(c) = self.take(cx) {
                return Poll::Ready(c);
            }
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}
