//! Many threads on few contexts, sync and async; every result verified, every async
//! request completed exactly once.

mod common;

use common::*;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use uadk::{
    Alg, Comp, CompConfig, CtxMode, Error, JobBuf, Level, OpType, SessionSetup, WindowSize,
};

fn small_comp(poll_threads: u32) -> Comp {
    Comp::new(
        CompConfig::new()
            .ctxs(CtxMode::Sync, OpType::Compress, 2)
            .ctxs(CtxMode::Sync, OpType::Decompress, 1)
            .ctxs(CtxMode::Async, OpType::Compress, 2)
            .ctxs(CtxMode::Async, OpType::Decompress, 1)
            .poll_threads(poll_threads),
    )
    .unwrap()
}

#[test]
fn sync_many_threads_few_contexts() {
    let comp = small_comp(0);
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let comp = comp.clone();
            s.spawn(move || {
                let alg = CPU_ALGS[t as usize % CPU_ALGS.len()];
                let c = comp
                    .session(
                        &SessionSetup::new(alg, OpType::Compress)
                            .level(Level::new(1 + t as u32).unwrap()),
                    )
                    .unwrap();
                let d = comp
                    .session(&SessionSetup::new(alg, OpType::Decompress))
                    .unwrap();
                let mut out = vec![0u8; 20_000];
                for i in 0..150u64 {
                    let data = text_bytes(1 + (i as usize * 97) % 12_000, t * 1000 + i);
                    let z = c.process_to_vec(&data).unwrap();
                    let n = d.process(&z, &mut out).unwrap();
                    assert_eq!(&out[..n], &data[..], "thread {t} req {i}");
                }
            });
        }
    });
    let sent: u64 = comp.ctx_info().iter().map(|c| c.stats.ok).sum();
    assert_eq!(sent, 8 * 150 * 2);
}

/// Submit `per_thread` requests from each of `threads` threads; return completion counts.
fn async_storm(comp: &Comp, threads: usize, per_thread: usize, self_poll: bool) -> Vec<u32> {
    let total = threads * per_thread;
    let done: Arc<Vec<AtomicU32>> = Arc::new((0..total).map(|_| AtomicU32::new(0)).collect());
    let finished = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        for t in 0..threads {
            let (comp, done, finished) = (comp.clone(), done.clone(), finished.clone());
            s.spawn(move || {
                let c = comp
                    .session(&SessionSetup::new(Alg::Gzip, OpType::Compress))
                    .unwrap();
                for i in 0..per_thread {
                    let id = t * per_thread + i;
                    let data = text_bytes(100 + id % 5000, id as u64);
                    let expect = data.clone();
                    let (done, finished) = (done.clone(), finished.clone());
                    let mut src = JobBuf::Flat(data);
                    let mut dst = JobBuf::Flat(vec![0u8; 8000]);
                    loop {
                        let (done, finished, expect) =
                            (done.clone(), finished.clone(), expect.clone());
                        let cb = Box::new(move |c: uadk::Completion| {
                            c.result.unwrap();
                            let JobBuf::Flat(z) = c.dst else { panic!() };
                            assert_eq!(
                                uadk::decompress(Alg::Gzip, &z).unwrap(),
                                expect,
                                "req {id}"
                            );
                            done[id].fetch_add(1, Ordering::SeqCst);
                            finished.fetch_add(1, Ordering::SeqCst);
                        });
                        match c.submit(src, dst, cb) {
                            Ok(()) => break,
                            Err(e) => {
                                assert_eq!(e.error, Error::Busy);
                                (src, dst) = (e.src, e.dst);
                                if self_poll {
                                    comp.poll(16).unwrap();
                                } else {
                                    std::thread::yield_now();
                                }
                            }
                        }
                    }
                    if self_poll && i % 8 == 0 {
                        comp.poll(4).unwrap();
                    }
                }
            });
        }
        while finished.load(Ordering::SeqCst) < total {
            if self_poll {
                comp.poll(0).unwrap();
            }
            std::thread::yield_now();
        }
    });
    done.iter().map(|d| d.load(Ordering::SeqCst)).collect()
}

#[test]
fn async_with_caller_polling_completes_each_once() {
    let comp = small_comp(0);
    let counts = async_storm(&comp, 4, 400, true);
    assert!(counts.iter().all(|&c| c == 1), "{counts:?}");
    assert_eq!(comp.pending(), 0);
}

#[test]
fn async_with_poll_threads_completes_each_once() {
    let comp = small_comp(2);
    let counts = async_storm(&comp, 4, 400, false);
    assert!(counts.iter().all(|&c| c == 1));
}

#[test]
fn busy_queue_hands_buffers_back_and_drop_completes_everything() {
    let comp = small_comp(0);
    let c = comp
        .session(&SessionSetup::new(Alg::Zlib, OpType::Compress))
        .unwrap();
    let completed = Arc::new(AtomicUsize::new(0));
    let mut accepted = 0;
    let mut busy = 0;
    for i in 0..5000 {
        let k = completed.clone();
        let data = text_bytes(20_000, i);
        match c.submit(
            JobBuf::Flat(data.clone()),
            JobBuf::Flat(vec![0u8; 30_000]),
            Box::new(move |_| {
                k.fetch_add(1, Ordering::SeqCst);
            }),
        ) {
            Ok(()) => accepted += 1,
            Err(e) => {
                assert_eq!(e.error, Error::Busy);
                let JobBuf::Flat(back) = e.src else { panic!() };
                assert_eq!(back, data, "input handed back unchanged");
                busy += 1;
            }
        }
    }
    assert!(busy > 0, "queues never filled");
    drop(c);
    drop(comp);
    assert_eq!(
        completed.load(Ordering::SeqCst),
        accepted,
        "every accepted request completed once"
    );
}

struct ThreadWaker(std::thread::Thread);
impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn block_on<F: Future>(f: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(std::time::Duration::from_millis(5));
    }
}

#[test]
fn futures_resolve_with_and_without_poll_threads() {
    for pollers in [0, 1] {
        let comp = small_comp(pollers);
        let c = comp
            .session(&SessionSetup::new(Alg::Deflate, OpType::Compress).window(WindowSize::W8K))
            .unwrap();
        let results = Mutex::new(Vec::new());
        for i in 0..50 {
            let data = text_bytes(1000 + i * 10, i as u64);
            let f = c.submit_future(data.clone(), vec![0u8; 4000]).unwrap();
            let done = block_on(f);
            done.result.unwrap();
            let JobBuf::Flat(z) = done.dst else { panic!() };
            assert_eq!(uadk::decompress(Alg::Deflate, &z).unwrap(), data);
            results.lock().unwrap().push(i);
        }
        assert_eq!(results.lock().unwrap().len(), 50);
    }
}

#[test]
fn poll_wait_sleeps_until_completions_arrive() {
    let comp = small_comp(0);
    let c = comp
        .session(&SessionSetup::new(Alg::Zlib, OpType::Compress))
        .unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    for i in 0..200 {
        let d = done.clone();
        c.submit(
            JobBuf::Flat(text_bytes(30_000, i)),
            JobBuf::Flat(vec![0u8; 40_000]),
            Box::new(move |c| {
                c.result.unwrap();
                d.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
    }
    let mut reaped = 0;
    while reaped < 200 {
        reaped += comp
            .poll_wait(0, std::time::Duration::from_millis(100))
            .unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), 200);
    assert_eq!(comp.pending(), 0);
}
