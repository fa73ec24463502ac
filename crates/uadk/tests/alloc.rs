//! Heap allocations per request in steady state, counted by a global allocator.
//!
//! The CPU engine promises that once a context has seen a kind of request, serving the
//! next one allocates nothing (docs/cpu-engine.md). This test counts every allocation the
//! measuring thread makes while it sends sync block requests through the whole stack
//! (`Session::process` → scheduler → context → CPU driver) on a `Comp` with one sync
//! context per op type, after one warm-up request; and the same through the HiSilicon
//! driver over a modelled device, sync and async (`Session::submit` with a callback that
//! allocates nothing itself, `Comp::poll`).
//!
//! Counting is per thread (a thread-local switch and counter), so the other tests of this
//! binary, running on other threads, never disturb it. To see where an allocation comes
//! from, run with `UADK_ALLOC_TRACE=1`: each counted allocation prints a backtrace.
//!
//! ```sh
//! UADK_ALLOC_TRACE=1 cargo test -p uadk --test alloc -- --nocapture
//! ```

mod common;

use common::{random_bytes, text_bytes};
use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use uadk::{Alg, Comp, CompConfig, CtxMode, Level, OpType, Session, SessionSetup};

/// `System`, counting the allocations of threads that asked for it.
struct Counting;

thread_local! {
    /// Count this thread's allocations.
    static ENABLED: Cell<bool> = const { Cell::new(false) };
    /// Allocations (alloc, alloc_zeroed, realloc) counted on this thread.
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

/// Print a backtrace for each counted allocation (set from `UADK_ALLOC_TRACE`).
static TRACE: AtomicBool = AtomicBool::new(false);

impl Counting {
    fn note(&self, what: &str, size: usize) {
        // `try_with`: the thread-locals are gone while a thread is being torn down.
        if !ENABLED.try_with(Cell::get).unwrap_or(false) {
            return;
        }
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        if TRACE.load(Ordering::Relaxed) {
            // The backtrace and the printing allocate: stop counting meanwhile.
            ENABLED.with(|e| e.set(false));
            eprintln!(
                "counted {what} of {size} bytes at:\n{}",
                Backtrace::force_capture()
            );
            ENABLED.with(|e| e.set(true));
        }
    }
}

// SAFETY: every call is passed on to `System` unchanged; the counting only touches
// thread-locals that need no allocation (const-initialised `Cell`s).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.note("alloc", layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.note("alloc_zeroed", layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.note("realloc", new_size);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations this thread makes while running `f`.
fn allocations(f: impl FnOnce()) -> u64 {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let on = std::env::var_os("UADK_ALLOC_TRACE").is_some_and(|v| v != "0");
        TRACE.store(on, Ordering::Relaxed);
    });
    COUNT.with(|c| c.set(0));
    ENABLED.with(|e| e.set(true));
    f();
    ENABLED.with(|e| e.set(false));
    COUNT.with(Cell::get)
}

/// A framework with one sync context per op type and no async ones.
fn one_ctx_per_op(alg: Alg) -> Comp {
    Comp::new(
        CompConfig::new()
            .alg(alg)
            .ctxs(CtxMode::Sync, OpType::Compress, 1)
            .ctxs(CtxMode::Sync, OpType::Decompress, 1)
            .ctxs(CtxMode::Async, OpType::Compress, 0)
            .ctxs(CtxMode::Async, OpType::Decompress, 0),
    )
    .expect("init")
}

/// Requests per measured round.
const ROUNDS: usize = 16;

/// Warm up, then count what `ROUNDS` compress and decompress requests allocate.
/// Returns (compress allocations, decompress allocations).
fn per_request(alg: Alg, level: u32, data: &[u8]) -> (u64, u64) {
    let comp = one_ctx_per_op(alg);
    let level = Level::new(level).unwrap();
    let c: Session = comp
        .session(&SessionSetup::new(alg, OpType::Compress).level(level))
        .unwrap();
    let d: Session = comp
        .session(&SessionSetup::new(alg, OpType::Decompress))
        .unwrap();
    let mut packed = vec![0u8; c.compress_bound(data.len())];
    let mut back = vec![0u8; data.len()];

    // Warm-up: the context builds its codec state for this kind of request.
    let n = c.process(data, &mut packed).unwrap();
    let m = d.process(&packed[..n], &mut back).unwrap();
    assert_eq!(&back[..m], data, "{alg} L{level:?} round trip");

    let comp_allocs = allocations(|| {
        for _ in 0..ROUNDS {
            let k = c.process(data, &mut packed).unwrap();
            assert_eq!(k, n);
        }
    });
    let decomp_allocs = allocations(|| {
        for _ in 0..ROUNDS {
            let k = d.process(&packed[..n], &mut back).unwrap();
            assert_eq!(k, data.len());
        }
    });
    (comp_allocs, decomp_allocs)
}

#[test]
fn the_counter_counts() {
    // Without this, a zero below could mean the allocator is not in use.
    let n = allocations(|| {
        let v: Vec<u8> = std::hint::black_box(vec![1u8; 100]);
        drop(v);
    });
    assert_eq!(n, 1);
    // Other threads are not counted.
    let other = allocations(|| {
        std::thread::scope(|s| {
            s.spawn(|| std::hint::black_box(vec![0u8; 64]));
        })
    });
    // Spawning itself allocates on this thread (the thread's handle); the child's Vec
    // is not counted, so the count stays small and finite.
    assert!(other < 16, "{other}");
}

fn check_no_allocations(alg: Alg, levels: &[u32]) {
    let inputs = [
        ("4 KiB text", text_bytes(4096, 1)),
        ("64 KiB text", text_bytes(64 * 1024, 2)),
        ("64 KiB random", random_bytes(64 * 1024, 3)),
    ];
    for &level in levels {
        for (name, data) in &inputs {
            let (c, d) = per_request(alg, level, data);
            assert_eq!(
                (c, d),
                (0, 0),
                "{alg} level {level}, {name}: allocations in {ROUNDS} compress and \
                 {ROUNDS} decompress requests after warm-up (UADK_ALLOC_TRACE=1 shows where)"
            );
        }
    }
}

#[test]
fn deflate_block_requests_do_not_allocate() {
    check_no_allocations(Alg::Deflate, &[1, 6]);
}

#[test]
fn zlib_block_requests_do_not_allocate() {
    check_no_allocations(Alg::Zlib, &[1, 6]);
}

#[test]
fn gzip_block_requests_do_not_allocate() {
    check_no_allocations(Alg::Gzip, &[1, 6]);
}

#[test]
fn lz4_block_requests_do_not_allocate() {
    check_no_allocations(Alg::Lz4, &[1]);
}

#[test]
fn zstd_block_requests_do_not_allocate() {
    check_no_allocations(Alg::Zstd, &[1, 3, 9]);
}

/// The modelled device the hardware tests share (one per process).
fn model() {
    use uadk::model::{self, DeviceGroup};
    model::install(&[DeviceGroup {
        count: 1,
        node: 0,
        hw_ver: 3,
        queues: 16,
        engine: uadk::model::EngineKind::Zip,
    }])
    .unwrap();
}

/// A framework on the modelled device with `sync` sync contexts per op type and `async_`
/// async compression contexts.
fn hw_comp(alg: Alg, sync: u32, async_: u32) -> Comp {
    let comp = Comp::new(
        CompConfig::new()
            .alg(alg)
            .task_type(uadk::TaskType::Hw)
            .ctxs(CtxMode::Sync, OpType::Compress, sync)
            .ctxs(CtxMode::Sync, OpType::Decompress, sync)
            .ctxs(CtxMode::Async, OpType::Compress, async_)
            .ctxs(CtxMode::Async, OpType::Decompress, 0),
    )
    .unwrap();
    assert_eq!(comp.driver_name(), "hisi_zip");
    comp
}

/// The same through the HiSilicon ZIP driver over a modelled device: the caller's thread
/// (driver, QM ring, framework) allocates nothing per request; the model's engine thread
/// is not counted.
#[test]
fn hisi_driver_block_requests_do_not_allocate() {
    model();
    for alg in [Alg::Deflate, Alg::Zlib, Alg::Gzip] {
        let comp = hw_comp(alg, 1, 0);
        let c = comp
            .session(&SessionSetup::new(alg, OpType::Compress))
            .unwrap();
        let d = comp
            .session(&SessionSetup::new(alg, OpType::Decompress))
            .unwrap();
        let data = text_bytes(64 * 1024, 4);
        let mut packed = vec![0u8; c.compress_bound(data.len())];
        let mut back = vec![0u8; data.len()];
        let n = c.process(&data, &mut packed).unwrap();
        d.process(&packed[..n], &mut back).unwrap();
        let a = allocations(|| {
            for _ in 0..ROUNDS {
                let k = c.process(&data, &mut packed).unwrap();
                assert_eq!(d.process(&packed[..k], &mut back).unwrap(), data.len());
            }
        });
        assert_eq!(
            a, 0,
            "{alg}: allocations in hisi_zip requests after warm-up"
        );
    }
}

thread_local! {
    /// Completions handed back by the callbacks of the async test, on the polling thread.
    static DONE: std::cell::RefCell<Vec<uadk::Completion>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn keep(c: uadk::Completion) {
    DONE.with(|d| d.borrow_mut().push(c));
}

fn keep_words(c: uadk::Completion, w: uadk::CallbackWords) {
    assert_eq!(w[0], 42);
    keep(c);
}

/// Async requests through the HiSilicon driver: `Session::submit` and `Comp::poll`
/// allocate nothing per request once warm, with a plain-function callback
/// (`Session::submit_fn`) and with a boxed closure that captures nothing.
#[test]
fn hisi_driver_async_requests_do_not_allocate() {
    use uadk::JobBuf;
    model();
    const WINDOW: usize = 16;
    for alg in [Alg::Deflate, Alg::Zlib, Alg::Gzip] {
        let comp = hw_comp(alg, 0, 1);
        let c = comp
            .session(&SessionSetup::new(alg, OpType::Compress))
            .unwrap();
        let data = text_bytes(8 * 1024, 5);
        let cap = c.compress_bound(data.len());
        let mut free: Vec<(Vec<u8>, Vec<u8>)> = (0..WINDOW)
            .map(|_| (data.clone(), vec![0u8; cap]))
            .collect();
        DONE.with(|d| d.borrow_mut().reserve(WINDOW));
        let mut back = Vec::with_capacity(WINDOW);
        // One round: every slot submitted, every completion reaped and its buffers kept.
        let mut round = |boxed: bool| {
            let mut in_flight = 0;
            while let Some((s, d)) = free.pop() {
                if boxed {
                    c.submit(JobBuf::Flat(s), JobBuf::Flat(d), Box::new(keep))
                } else {
                    c.submit_fn(
                        JobBuf::Flat(s),
                        JobBuf::Flat(d),
                        keep_words,
                        [42, 0, 0, 0, 0, 0],
                    )
                }
                .unwrap();
                in_flight += 1;
            }
            while in_flight > 0 {
                comp.poll(0).unwrap();
                DONE.with(|d| std::mem::swap(&mut *d.borrow_mut(), &mut back));
                for done in back.drain(..) {
                    let o = done.result.unwrap();
                    assert_eq!(o.consumed, data.len());
                    let (JobBuf::Flat(s), JobBuf::Flat(mut d)) = (done.src, done.dst) else {
                        panic!("flat buffers come back flat");
                    };
                    d.resize(cap, 0);
                    free.push((s, d));
                    in_flight -= 1;
                }
            }
        };
        round(false);
        round(true);
        for boxed in [false, true] {
            let a = allocations(|| {
                for _ in 0..4 {
                    round(boxed);
                }
            });
            assert_eq!(
                a,
                0,
                "{alg}: allocations in {} async requests after warm-up (boxed closure: {boxed})",
                4 * WINDOW
            );
        }
    }
}
