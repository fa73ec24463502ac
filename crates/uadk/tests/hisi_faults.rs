//! Injected device faults through the model: every request completes exactly once, with
//! the right data, and the counters say what happened.

mod common;

use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uadk::model::{self, DeviceGroup, Fault};
use uadk::wd::CtxStatsSnapshot;
use uadk::{Alg, Comp, CompConfig, CtxMode, JobBuf, OpType, SessionSetup, TaskType};

fn comp() -> Comp {
    Comp::new(
        CompConfig::new()
            .task_type(TaskType::Hw)
            .hw_timeout(Duration::from_millis(1000))
            .ctxs(CtxMode::Sync, OpType::Compress, 4)
            .ctxs(CtxMode::Sync, OpType::Decompress, 2)
            .ctxs(CtxMode::Async, OpType::Compress, 2)
            .ctxs(CtxMode::Async, OpType::Decompress, 0),
    )
    .expect("init over the model")
}

fn totals(c: &Comp) -> CtxStatsSnapshot {
    let mut t = CtxStatsSnapshot::default();
    for i in c.ctx_info() {
        let s = i.stats;
        t.sent += s.sent;
        t.ok += s.ok;
        t.failed += s.failed;
        t.busy += s.busy;
        t.hw_errors += s.hw_errors;
        t.timeouts += s.timeouts;
        t.retries += s.retries;
        t.fallbacks += s.fallbacks;
    }
    t
}

/// Compress and check `n` pages synchronously; every one must succeed.
fn sync_pages(c: &Comp, n: usize) {
    let s = c
        .session(&SessionSetup::new(Alg::Zlib, OpType::Compress))
        .unwrap();
    for i in 0..n {
        let page = text_bytes(4096, i as u64 * 2 + 1);
        let z = s
            .process_to_vec(&page)
            .expect("a failed device must not fail the request");
        assert_eq!(inflate(&z), page, "page {i}");
    }
}

fn inflate(z: &[u8]) -> Vec<u8> {
    let mut d = flate2::Decompress::new(true);
    let mut out = Vec::with_capacity(1 << 16);
    let st = d
        .decompress_vec(z, &mut out, flate2::FlushDecompress::Finish)
        .expect("valid zlib");
    assert_eq!(st, flate2::Status::StreamEnd);
    out
}

/// Submit `n` async pages, poll until all are back; each callback must run exactly once
/// with the right data. Returns how many submissions were refused as busy.
fn async_pages(c: &Comp, n: usize) -> usize {
    let s = c
        .session(&SessionSetup::new(Alg::Zlib, OpType::Compress))
        .unwrap();
    let seen = Arc::new(Mutex::new(vec![0u8; n]));
    let done = Arc::new(AtomicUsize::new(0));
    let mut busy = 0;
    let mut i = 0;
    // Made ahead, so that submitting is fast enough to fill a stalled queue.
    let pages: Vec<Vec<u8>> = (0..n)
        .map(|id| text_bytes(4096, id as u64 * 2 + 1))
        .collect();
    let pages = Arc::new(pages);
    while i < n {
        let seen2 = seen.clone();
        let done2 = done.clone();
        let pages2 = pages.clone();
        let id = i;
        let page = pages[id].clone();
        let r = s.submit(
            JobBuf::Flat(page),
            JobBuf::Flat(vec![0u8; 8192]),
            Box::new(move |comp| {
                let out = comp.result.expect("async request must succeed");
                let JobBuf::Flat(v) = comp.dst else { panic!() };
                assert_eq!(v.len(), out.produced);
                assert_eq!(inflate(&v), pages2[id], "job {id}");
                seen2.lock().unwrap()[id] += 1;
                done2.fetch_add(1, Ordering::SeqCst);
            }),
        );
        match r {
            Ok(()) => i += 1,
            Err(e) if e.error == uadk::Error::Busy => {
                busy += 1;
                c.poll_wait(0, Duration::from_millis(5)).unwrap();
            }
            Err(e) => panic!("submit: {e}"),
        }
    }
    let t0 = std::time::Instant::now();
    while done.load(Ordering::SeqCst) < n {
        c.poll_wait(0, Duration::from_millis(20)).unwrap();
        assert!(t0.elapsed() < Duration::from_secs(60), "requests lost");
    }
    assert!(
        seen.lock().unwrap().iter().all(|&k| k == 1),
        "each exactly once"
    );
    assert_eq!(c.pending(), 0);
    busy
}

/// The strict model refused nothing any test sent (each test checks at its end; a
/// refusal anywhere fails the tests that see it).
fn no_model_errors() {
    let Some(m) = uadk::model::installed() else {
        return;
    };
    for d in m.devices() {
        let n = d.stats.rejected.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            n,
            0,
            "{}: {n} model errors, the last: {:?}",
            d.name(),
            d.last_error()
        );
    }
}

#[test]
fn every_fault_loses_nothing() {
    let m = model::install(&[DeviceGroup {
        count: 2,
        node: 0,
        hw_ver: 3,
        queues: 64,
        engine: uadk::model::EngineKind::Zip,
    }])
    .unwrap();
    let dev0 = m.device("hisi_zip-0").unwrap().clone();

    // An error status: retried on another context.
    let c = comp();
    dev0.inject(Fault::ErrorStatus, 3);
    sync_pages(&c, 40);
    let t = totals(&c);
    assert!(t.hw_errors >= 3 && t.retries >= 3, "{t:?}");
    assert_eq!(t.failed, 0, "{t:?}");
    drop(c);

    // A corrupted tag: the sync waiter sees a completion that is not its own.
    let c = comp();
    dev0.inject(Fault::BadTag, 2);
    sync_pages(&c, 40);
    let t = totals(&c);
    assert!(t.hw_errors >= 2, "{t:?}");
    drop(c);

    // A completion that never comes: the queue times out and is retired; the request
    // is retried elsewhere.
    let c = comp();
    dev0.inject(Fault::NoCompletion, 1);
    sync_pages(&c, 40);
    let t = totals(&c);
    assert!(t.timeouts >= 1 && t.retries >= 1, "{t:?}");
    drop(c);

    // Async: errors, bad tags and lost completions all end in the CPU fallback.
    let c = comp();
    dev0.inject(Fault::ErrorStatus, 5);
    dev0.inject(Fault::BadTag, 5);
    dev0.inject(Fault::NoCompletion, 2);
    async_pages(&c, 3000);
    let t = totals(&c);
    assert!(t.fallbacks >= 10, "{t:?}");
    assert!(t.hw_errors >= 10, "{t:?}");
    drop(c);

    // A stalled engine: the ring fills, submitters see busy, then everything drains.
    let c = comp();
    for d in m.devices() {
        d.inject(Fault::Stall(Duration::from_millis(400)), 1);
    }
    let busy = async_pages(&c, 2 * 1023 + 500);
    assert!(busy > 0, "the queues filled");
    drop(c);

    // The device goes away under load: requests in flight and after finish elsewhere.
    let c = comp();
    let c2 = c.clone();
    let worker = std::thread::spawn(move || async_pages(&c2, 4000));
    std::thread::sleep(Duration::from_millis(20));
    dev0.inject(Fault::Remove, 1);
    worker.join().unwrap();
    sync_pages(&c, 50);
    let t = totals(&c);
    assert!(t.hw_errors >= 1, "{t:?}");
    assert_eq!(t.failed, 0, "{t:?}");
    drop(c);

    // A new instance no longer sees the removed device.
    let c = comp();
    let devs = c.devices();
    assert_eq!(devs.len(), 1, "{devs:?}");
    assert!(devs[0].starts_with("hisi_zip-1"), "{devs:?}");
    sync_pages(&c, 10);

    // When every device is gone, requests still succeed through the CPU engine.
    m.device("hisi_zip-1").unwrap().inject(Fault::Remove, 1);
    sync_pages(&c, 10);
    async_pages(&c, 100);
    let t = totals(&c);
    assert!(t.fallbacks >= 10, "{t:?}");
    no_model_errors();
}
