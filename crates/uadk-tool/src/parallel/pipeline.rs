//! The requests in flight: output slots, submission, completions handed back in order.

use super::io::{chunk_bytes, Source};
use crate::common::Result;
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;
use uadk::{Comp, Completion, JobBuf, RawBuf, Session};

/// Output buffers of the requests in flight: each slot is lent to one request at a time.
pub(super) struct Slab {
    bufs: Vec<Box<[u8]>>,
    free: Vec<usize>,
}

impl Slab {
    fn new(n: usize, cap: usize) -> Slab {
        Slab {
            bufs: (0..n).map(|_| vec![0u8; cap].into_boxed_slice()).collect(),
            free: (0..n).rev().collect(),
        }
    }

    /// A free slot and its buffer as an engine buffer.
    fn take(&mut self) -> Option<(usize, JobBuf)> {
        let i = self.free.pop()?;
        let b = &mut self.bufs[i];
        // SAFETY: the slot is not read or written by us until its request has completed
        // (`give` follows the completion), and the slab outlives every request.
        Some((
            i,
            JobBuf::Raw(unsafe { RawBuf::new(b.as_mut_ptr(), b.len()) }),
        ))
    }

    pub(super) fn give(&mut self, i: usize) {
        self.free.push(i);
    }
}

/// A finished chunk: its sequence number, input, output slot, bytes made.
pub(super) struct Done {
    seq: u64,
    pub(super) src: JobBuf,
    pub(super) slot: usize,
    pub(super) len: usize,
    pub(super) result: uadk::Result<uadk::Output>,
}

/// Submits chunks to a session with up to `depth` in flight and hands each result to
/// `sink`, in order, with the slot's bytes. Waits for everything submitted before it
/// returns, errors included, so no request outlives the buffers.
pub(super) struct Pipeline<'s> {
    comp: &'s Comp,
    sess: &'s Session,
    pub(super) slab: Slab,
    tx: mpsc::Sender<Done>,
    rx: mpsc::Receiver<Done>,
    in_flight: usize,
    ready: BTreeMap<u64, Done>,
    pub(super) next_seq: u64,
    next_out: u64,
}

impl<'s> Pipeline<'s> {
    pub(super) fn new(comp: &'s Comp, sess: &'s Session, depth: usize, cap: usize) -> Pipeline<'s> {
        let (tx, rx) = mpsc::channel();
        Pipeline {
            comp,
            sess,
            slab: Slab::new(depth, cap),
            tx,
            rx,
            in_flight: 0,
            ready: BTreeMap::new(),
            next_seq: 0,
            next_out: 0,
        }
    }

    /// Room for another request.
    pub(super) fn has_room(&self) -> bool {
        !self.slab.free.is_empty()
    }

    /// Submit one chunk (the caller checked [`Pipeline::has_room`]).
    pub(super) fn submit(&mut self, src: JobBuf, len: usize, part: Option<bool>) -> Result<()> {
        let (slot, dst) = self.slab.take().expect("room checked");
        let seq = self.next_seq;
        let tx = self.tx.clone();
        let cb: uadk::Callback = Box::new(move |c: Completion| {
            let _ = tx.send(Done {
                seq,
                src: c.src,
                slot,
                len,
                result: c.result,
            });
        });
        let r = match part {
            Some(last) => self.sess.submit_part(src, dst, last, cb),
            None => self.sess.submit(src, dst, cb),
        };
        match r {
            Ok(()) => {
                self.next_seq += 1;
                self.in_flight += 1;
                Ok(())
            }
            Err(e) => {
                self.slab.give(slot);
                Err(e.error.into())
            }
        }
    }

    /// Wait for completions; return the next one in order, if it is in.
    pub(super) fn next_done(&mut self, wait: bool) -> Result<Option<Done>> {
        loop {
            while let Ok(d) = self.rx.try_recv() {
                self.in_flight -= 1;
                self.ready.insert(d.seq, d);
            }
            if let Some(d) = self.ready.remove(&self.next_out) {
                self.next_out += 1;
                return Ok(Some(d));
            }
            if !wait || self.in_flight == 0 {
                return Ok(None);
            }
            self.comp.poll_wait(0, Duration::from_millis(20))?;
        }
    }

    /// Run `src` through the pipeline in chunks of `chunk` bytes (empty ones left out when
    /// `skip_empty`): each goes to the engines (as a part of one stream when `parts`) and
    /// its bytes to `seen`, in order; a mapped chunk's after its submission, so that the
    /// engines start at once. Each completion goes to `done` in order, and its buffers are
    /// reused.
    pub(super) fn pump(
        &mut self,
        src: &mut Source<'_>,
        chunk: usize,
        (parts, skip_empty): (bool, bool),
        mut seen: impl FnMut(&[u8]),
        mut done: impl FnMut(&Self, &Done) -> Result<()>,
    ) -> Result<()> {
        let mut more = true;
        loop {
            while more && self.has_room() {
                match src.next(chunk, self.next_seq == 0)? {
                    Some(c) if !(skip_empty && c.len == 0) => {
                        more = !c.last;
                        if c.mapped.is_none() {
                            seen(chunk_bytes(&c.src));
                        }
                        let after = c.mapped;
                        self.submit(c.src, c.len, parts.then_some(c.last))?;
                        if let Some(b) = after {
                            seen(b);
                        }
                    }
                    _ => more = false,
                }
            }
            let Some(d) = self.next_done(true)? else {
                if !more {
                    return Ok(());
                }
                continue;
            };
            done(self, &d)?;
            self.slab.give(d.slot);
            src.recycle(d.src);
        }
    }

    /// The bytes a finished request wrote.
    pub(super) fn output(&self, d: &Done, n: usize) -> &[u8] {
        &self.slab.bufs[d.slot][..n]
    }

    /// Wait for every request still in flight (after an error).
    fn drain(&mut self) {
        while self.in_flight > 0 {
            if self.comp.poll_wait(0, Duration::from_millis(20)).is_err() {
                std::thread::yield_now();
            }
            while let Ok(d) = self.rx.try_recv() {
                self.in_flight -= 1;
                self.ready.insert(d.seq, d);
            }
        }
    }
}

impl Drop for Pipeline<'_> {
    fn drop(&mut self) {
        self.drain();
    }
}
