//! The measuring threads: sync requests back to back, or a window of async requests in
//! flight, all started together.

use super::prepare::Bench;
use super::summary::{Counts, Measurement};
use super::{Args, DRAIN_TIMEOUT};
use crate::common::{process_cpu_time, Context, Error, Result};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Barrier;
use std::time::{Duration, Instant};
use uadk::drv::Callback;
use uadk::{Completion, JobBuf, Output, Session};

impl Bench {
    pub(super) fn measure(&self, args: &Args) -> Result<Measurement> {
        let threads = args.thread as usize;
        let sessions = (0..threads)
            .map(|_| self.comp.session(&self.setup))
            .collect::<uadk::Result<Vec<_>>>()?;
        let dur = Duration::from_secs_f64(args.seconds);
        let stream = args.stream();
        let window = args.inflight as usize;
        let start = StartLine::new(threads);
        let per_thread = std::thread::scope(|s| {
            let handles: Vec<_> = sessions
                .into_iter()
                .enumerate()
                .map(|(i, sess)| {
                    // Threads start at different packets so they do not move in lockstep.
                    let first = i * self.inputs.len() / threads;
                    let start = &start;
                    s.spawn(move || {
                        if args.async_mode {
                            self.async_thread(sess, first, window, start, dur)
                        } else {
                            self.sync_thread(sess, stream, first, start, dur)
                        }
                    })
                })
                .collect();
            // The clocks start before the threads are released, so none runs unmeasured.
            start.ready.wait();
            let cpu0 = process_cpu_time();
            let t0 = Instant::now();
            start.go.wait();
            let results: Vec<_> = handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::msg("a benchmark thread panicked")))
                })
                .collect();
            (results, t0, process_cpu_time().saturating_sub(cpu0))
        });
        let (results, t0, cpu) = per_thread;
        let mut total = Counts::default();
        let mut last = t0;
        for r in results {
            let (c, end) = r?;
            total.add(&c);
            last = last.max(end);
        }
        let wall = last - t0;
        Ok(Measurement {
            counts: total,
            wall,
            cpu,
            op: args.op(),
        })
    }

    /// Sync requests back to back until the deadline; the output buffer is reused.
    pub(super) fn sync_thread(
        &self,
        sess: Session,
        stream: bool,
        first: usize,
        start: &StartLine,
        dur: Duration,
    ) -> Result<(Counts, Instant)> {
        let n = self.inputs.len();
        let mut out = vec![0u8; self.out_cap];
        let mut k = first % n;
        let mut c = Counts::default();
        start.wait();
        let deadline = Instant::now() + dur;
        loop {
            let src = &self.inputs[k];
            let t0 = Instant::now();
            let res = request(&sess, stream, src, &mut out);
            let t1 = Instant::now();
            let produced = res.context("request failed")?;
            c.requests += 1;
            c.bytes_in += src.len() as u64;
            c.bytes_out += produced as u64;
            c.lat_ns += (t1 - t0).as_nanos();
            k += 1;
            if k == n {
                k = 0;
            }
            if t1 >= deadline {
                return Ok((c, t1));
            }
        }
    }

    /// Keep up to `window` async requests in flight until the deadline, then drain.
    pub(super) fn async_thread(
        &self,
        sess: Session,
        first: usize,
        window: usize,
        start: &StartLine,
        dur: Duration,
    ) -> Result<(Counts, Instant)> {
        let n = self.inputs.len();
        let max_in = self.inputs.iter().map(Vec::len).max().unwrap_or(0);
        let mut free: Vec<Slot> = (0..window)
            .map(|j| {
                let pkt = (first + j) % n;
                let mut src = Vec::with_capacity(max_in);
                src.extend_from_slice(&self.inputs[pkt]);
                Slot {
                    pkt,
                    src,
                    dst: vec![0u8; self.out_cap],
                }
            })
            .collect();
        let (tx, rx) = mpsc::channel::<Done>();
        let poll_threads = self.comp.has_poll_threads();
        let mut c = Counts::default();
        let mut in_flight = 0usize;
        let mut failure: Option<uadk::Error> = None;
        let mut end: Option<Instant> = None;
        start.wait();
        let deadline = Instant::now() + dur;
        loop {
            while let Ok(d) = rx.try_recv() {
                in_flight -= 1;
                d.account(&mut c, &mut free, &mut failure);
            }
            let now = Instant::now();
            // At least one request completes, even with --seconds 0.
            let stop = (now >= deadline && c.requests > 0) || failure.is_some();
            if stop {
                if in_flight == 0 {
                    break;
                }
                let t = *end.get_or_insert(now);
                if now - t > DRAIN_TIMEOUT {
                    return Err(Error::msg(format!(
                        "{in_flight} async requests still pending {} s after the end",
                        DRAIN_TIMEOUT.as_secs()
                    )));
                }
            } else if let Some(mut slot) = free.pop() {
                // Each slot walks its own packets, so it copies only when there are
                // more packets than slots.
                let next = if n <= window {
                    slot.pkt
                } else {
                    (slot.pkt + window) % n
                };
                if next != slot.pkt || slot.src.is_empty() {
                    slot.src.clear();
                    slot.src.extend_from_slice(&self.inputs[next]);
                    slot.pkt = next;
                }
                slot.dst.resize(self.out_cap, 0);
                let pkt = slot.pkt;
                let tx = tx.clone();
                let t0 = Instant::now();
                let cb: Callback = Box::new(move |done: Completion| {
                    let lat = t0.elapsed();
                    let _ = tx.send(Done {
                        slot: Slot {
                            pkt,
                            src: flat(done.src),
                            dst: flat(done.dst),
                        },
                        lat,
                        result: done.result,
                    });
                });
                let src = JobBuf::Flat(std::mem::take(&mut slot.src));
                let dst = JobBuf::Flat(std::mem::take(&mut slot.dst));
                match sess.submit(src, dst, cb) {
                    Ok(()) => {
                        in_flight += 1;
                        continue;
                    }
                    Err(e) => {
                        slot.src = flat(e.src);
                        slot.dst = flat(e.dst);
                        free.push(slot);
                        if e.error != uadk::Error::Busy {
                            failure.get_or_insert(e.error);
                            continue;
                        }
                    }
                }
            }
            // The window is full, the queue busy, or we are draining: reap.
            if poll_threads {
                match rx.recv_timeout(Duration::from_millis(1)) {
                    Ok(d) => {
                        in_flight -= 1;
                        d.account(&mut c, &mut free, &mut failure);
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                // Sleep until a completion is announced rather than spin on the poll.
                self.comp.poll_wait(0, Duration::from_millis(1))?;
            }
        }
        let end = Instant::now();
        match failure {
            Some(e) => Err(Error::msg(format!("request failed: {e}"))),
            None => Ok((c, end)),
        }
    }
}

/// Where the measuring threads wait for the clock to start.
pub(super) struct StartLine {
    /// Every thread is set up.
    pub(super) ready: Barrier,
    /// The clock runs: go.
    pub(super) go: Barrier,
}

impl StartLine {
    pub(super) fn new(threads: usize) -> StartLine {
        StartLine {
            ready: Barrier::new(threads + 1),
            go: Barrier::new(threads + 1),
        }
    }

    /// Called by a measuring thread once it is set up.
    pub(super) fn wait(&self) {
        self.ready.wait();
        self.go.wait();
    }
}

/// Input of one lz77 stream call, as UADK's benchmark sends it (`CHUNK_SIZE`).
pub(super) const LZ77_CHUNK: usize = 128 * 1024;

/// One sync request of the measured kind: a block call, or a whole stream.
pub(super) fn request(
    sess: &Session,
    stream: bool,
    src: &[u8],
    out: &mut [u8],
) -> uadk::Result<usize> {
    if !stream {
        return sess.process(src, out);
    }
    if matches!(sess.params().alg, uadk::Alg::Lz77Zstd | uadk::Alg::Lz77Only) {
        // 128 KiB calls, each written from the start of `out` (the caller takes each
        // call's sequences before the next, as the entropy stage would).
        let (mut i, mut produced) = (0, 0);
        sess.reset();
        while i < src.len() {
            let end = (i + LZ77_CHUNK).min(src.len());
            let o = sess.lz77_stream(
                &src[i..end],
                out,
                end == src.len(),
                uadk::BlockType::Compressed,
            )?;
            if o.consumed() == 0 && end > i {
                return Err(uadk::Error::OutputTooSmall {
                    capacity: out.len(),
                });
            }
            i += o.consumed();
            produced += o.produced();
        }
        return Ok(produced);
    }
    let (mut i, mut o) = (0, 0);
    loop {
        if o == out.len() {
            return Err(uadk::Error::OutputTooSmall {
                capacity: out.len(),
            });
        }
        let Output {
            consumed,
            produced,
            end,
            ..
        } = sess.stream(&src[i..], &mut out[o..], true)?;
        i += consumed;
        o += produced;
        if end {
            return Ok(o);
        }
        if consumed == 0 && produced == 0 {
            return Err(uadk::Error::TruncatedInput);
        }
    }
}

pub(super) fn flat(b: JobBuf) -> Vec<u8> {
    match b {
        JobBuf::Flat(v) => v,
        JobBuf::List(l) => l.concat(),
        // The tool only submits owned buffers.
        JobBuf::Raw(_) => Vec::new(),
    }
}

/// Buffers of one async request slot.
pub(super) struct Slot {
    pub(super) pkt: usize,
    pub(super) src: Vec<u8>,
    pub(super) dst: Vec<u8>,
}

/// A finished async request, sent back by its callback.
pub(super) struct Done {
    pub(super) slot: Slot,
    pub(super) lat: Duration,
    pub(super) result: uadk::Result<Output>,
}

impl Done {
    /// Count the request and give its slot back.
    pub(super) fn account(
        self,
        c: &mut Counts,
        free: &mut Vec<Slot>,
        failure: &mut Option<uadk::Error>,
    ) {
        match self.result {
            Ok(o) => {
                c.requests += 1;
                c.bytes_in += o.consumed as u64;
                c.bytes_out += o.produced as u64;
                c.lat_ns += self.lat.as_nanos();
            }
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
        free.push(self.slot);
    }
}
