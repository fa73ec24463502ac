//! The child process: the null model installed, the caller pinned apart from the
//! model's engine threads, the timed windows and the Rust API's loops.

use super::capi::CSession;
use super::{Api, Mode, ALG, CONTENDERS, SIZES, WINDOW};
use crate::common::{Error, Result};
use crate::compare::measure::{cpus_in, get_affinity, only_cpu, set_affinity};
use std::cell::RefCell;
use std::time::{Duration, Instant};
use uadk::{Comp, CompConfig, Completion, CtxMode, JobBuf, OpType, SessionSetup, TaskType};

/// One timed run.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sample {
    reqs: u64,
    wall_ns: u64,
    cpu_ns: u64,
    empty_polls: u64,
    /// CPU time the model's engine threads (the device) ran meanwhile.
    device_ns: u64,
}

/// CPU time of the calling thread.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CPU time the threads of this process whose names start with `hisi_zip-` (the model's
/// engines) have run, from `/proc/self/task/*/schedstat`.
fn device_ns() -> u64 {
    let Ok(rd) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    rd.flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with("hisi_zip-"))
        })
        .filter_map(|t| {
            let s = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
            s.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// A timed window: wall and thread CPU time from its start.
pub(super) struct Window {
    t0: Instant,
    cpu0: u64,
    dev0: u64,
    until: Instant,
}

impl Window {
    pub(super) fn start(d: Duration) -> Window {
        let dev0 = device_ns();
        let t0 = Instant::now();
        Window {
            t0,
            cpu0: thread_cpu_ns(),
            dev0,
            until: t0 + d,
        }
    }

    pub(super) fn over(&self) -> bool {
        Instant::now() >= self.until
    }

    /// [`Window::over`], reading the clock only every 16th call (a busy loop calls it
    /// once per poll); once over, the sample taken then.
    pub(super) fn check(&self, calls: &mut u32, over: &mut Option<Sample>, reqs: u64, empty: u64) {
        *calls += 1;
        if over.is_none() && calls.is_multiple_of(16) && self.over() {
            *over = Some(self.sample(reqs, empty));
        }
    }

    pub(super) fn sample(&self, reqs: u64, empty_polls: u64) -> Sample {
        let (wall_ns, cpu_ns) = (
            self.t0.elapsed().as_nanos() as u64,
            thread_cpu_ns() - self.cpu0,
        );
        Sample {
            reqs,
            wall_ns,
            cpu_ns,
            empty_polls,
            device_ns: device_ns().saturating_sub(self.dev0),
        }
    }
}

/// The input of every request: text, so that a real engine would compress it.
pub(super) fn input(size: usize) -> Vec<u8> {
    crate::datagen::text(size)
}

/// Output space for one request.
pub(super) fn bound(size: usize) -> usize {
    uadk::compress_bound(ALG, size)
}

/// The child: install the null model, set up both APIs, measure, print one line per run.
pub(in crate::compare) fn child(
    cpu: Option<usize>,
    runs: u32,
    secs: f64,
    only: Option<&str>,
) -> Result<()> {
    let all = get_affinity().map(|s| cpus_in(&s)).unwrap_or_default();
    let caller = match cpu {
        Some(c) if all.contains(&c) => c,
        Some(c) => return Err(Error::msg(format!("--cpu {c}: not one of {all:?}"))),
        None => *all.last().unwrap_or(&0),
    };
    let engines: Vec<usize> = all.iter().copied().filter(|&c| c != caller).collect();
    // The model's threads (its engines start with each queue) inherit this affinity:
    // every CPU but the caller's, when there is another.
    if !engines.is_empty() {
        // SAFETY: an all-zero cpu_set_t is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for &c in &engines {
            // SAFETY: `c` came from our own affinity set, so below CPU_SETSIZE.
            unsafe { libc::CPU_SET(c, &mut set) };
        }
        set_affinity(&set);
    }
    let list: Vec<String> = engines.iter().map(|c| c.to_string()).collect();
    println!(
        "null caller_cpu={caller} engine_cpus={}",
        if list.is_empty() {
            caller.to_string()
        } else {
            list.join(",")
        }
    );
    let model = uadk::model::install(&[uadk::model::DeviceGroup {
        engine: uadk::model::EngineKind::Null,
        queues: 16,
        ..uadk::model::DeviceGroup::default()
    }])?;
    let comp = Comp::new(
        CompConfig::new()
            .alg(ALG)
            .task_type(TaskType::Hw)
            .ctxs(CtxMode::Sync, OpType::Compress, 1)
            .ctxs(CtxMode::Async, OpType::Compress, 1)
            .ctxs(CtxMode::Sync, OpType::Decompress, 0)
            .ctxs(CtxMode::Async, OpType::Decompress, 0),
    )?;
    if comp.driver_name() != uadk::drv::hisi::DRIVER_NAME {
        return Err(Error::msg(format!(
            "the framework chose {}, not the hisi_zip driver",
            comp.driver_name()
        )));
    }
    let sess = comp.session(&SessionSetup::new(ALG, OpType::Compress))?;
    let c = CSession::open()?;
    if !set_affinity(&only_cpu(caller)) {
        return Err(Error::msg(format!("could not pin to CPU {caller}")));
    }
    let dur = Duration::from_secs_f64(secs);
    let warm = Duration::from_millis(50);
    // What one poll that finds nothing costs, with requests in flight on a device that
    // does not run them (stalled): the unit of time spent waiting for the device.
    let dev = &model.devices()[0];
    for api in [Api::Rust, Api::C] {
        let ns = empty_poll_ns(dev, || match api {
            Api::Rust => rust_async(&comp, &sess, SIZES[0], Duration::from_millis(100)),
            Api::C => c.run_async(SIZES[0], Duration::from_millis(100)),
        })?;
        println!("null calib={} empty_poll_ns={ns:.1}", api.key());
    }
    for run in 0..runs {
        let mut order: Vec<(Api, Mode)> = CONTENDERS.to_vec();
        if run % 2 == 1 {
            order.reverse();
        }
        for (api, mode) in order {
            let key = format!("{}-{}", api.key(), mode.key());
            if only.is_some_and(|o| !o.split(',').any(|x| x == key)) {
                continue;
            }
            for size in SIZES {
                let go = |d| match (api, mode) {
                    (Api::Rust, Mode::Sync) => rust_sync(&sess, size, d),
                    (Api::Rust, Mode::Async) => rust_async(&comp, &sess, size, d),
                    (Api::C, Mode::Sync) => c.sync(size, d),
                    (Api::C, Mode::Async) => c.run_async(size, d),
                };
                go(warm)?;
                let s = go(dur)?;
                println!(
                    "null api={} mode={} size={size} reqs={} wall_ns={} cpu_ns={} empty={} \
                     device_ns={}",
                    api.key(),
                    mode.key(),
                    s.reqs,
                    s.wall_ns,
                    s.cpu_ns,
                    s.empty_polls,
                    s.device_ns
                );
            }
        }
    }
    drop(c);
    let d = &model.devices()[0];
    println!(
        "null executed={} rejected={}",
        d.stats.executed.load(std::sync::atomic::Ordering::Relaxed),
        d.stats.rejected.load(std::sync::atomic::Ordering::Relaxed)
    );
    Ok(())
}

/// Run an async measurement on a stalled device: every poll finds nothing; our CPU per
/// poll.
fn empty_poll_ns(
    dev: &uadk::model::ModelDevice,
    run: impl FnOnce() -> Result<Sample>,
) -> Result<f64> {
    dev.inject(uadk::model::Fault::Stall(Duration::from_millis(400)), 1);
    let s = run()?;
    if s.reqs > 0 || s.empty_polls == 0 {
        return Err(Error::msg(
            "calibrating an empty poll: the stalled device completed requests",
        ));
    }
    Ok(s.cpu_ns as f64 / s.empty_polls as f64)
}

fn rust_sync(sess: &uadk::Session, size: usize, d: Duration) -> Result<Sample> {
    let src = input(size);
    let mut dst = vec![0u8; bound(size)];
    let w = Window::start(d);
    let mut n = 0u64;
    while !w.over() {
        for _ in 0..64 {
            sess.process(&src, &mut dst)?;
        }
        n += 64;
    }
    Ok(w.sample(n, 0))
}

thread_local! {
    /// Completions the Rust callbacks handed back, on this (the polling) thread.
    static DONE: RefCell<Vec<Completion>> = const { RefCell::new(Vec::new()) };
}

/// `UADK_NULL_SETTLE=1`: wait for the device before each poll (for instruction counts).
fn settle_mode() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("UADK_NULL_SETTLE").is_some_and(|v| v == "1"))
}

/// Requests the modelled devices have executed.
pub(super) fn executed() -> u64 {
    uadk::model::installed().map_or(0, |m| {
        m.devices()
            .iter()
            .map(|d| d.stats.executed.load(std::sync::atomic::Ordering::Relaxed))
            .sum()
    })
}

/// In settle mode, wait until the device has executed `sent` requests since `base`.
pub(super) fn settle(base: u64, sent: u64) {
    if settle_mode() {
        while executed() - base < sent {
            std::thread::yield_now();
        }
    }
}

/// The Rust callback: a function, so its box holds nothing and allocates nothing; the
/// buffers go back to the polling loop.
fn on_done(c: Completion) {
    DONE.with(|d| d.borrow_mut().push(c));
}

fn flat(b: JobBuf) -> Vec<u8> {
    match b {
        JobBuf::Flat(v) => v,
        _ => Vec::new(),
    }
}

fn rust_async(comp: &Comp, sess: &uadk::Session, size: usize, d: Duration) -> Result<Sample> {
    let cap = bound(size);
    let mut free: Vec<(Vec<u8>, Vec<u8>)> =
        (0..WINDOW).map(|_| (input(size), vec![0u8; cap])).collect();
    DONE.with(|d| d.borrow_mut().reserve(WINDOW));
    let mut in_flight = 0usize;
    let (mut n, mut empty) = (0u64, 0u64);
    let (mut over, mut calls) = (None, 0u32);
    let mut back = Vec::with_capacity(WINDOW);
    let (base, mut sent) = (executed(), 0u64);
    let w = Window::start(d);
    let sample = loop {
        w.check(&mut calls, &mut over, n, empty);
        if over.is_none() {
            while let Some((s, dd)) = free.pop() {
                match sess.submit(JobBuf::Flat(s), JobBuf::Flat(dd), Box::new(on_done)) {
                    Ok(()) => {
                        in_flight += 1;
                        sent += 1;
                    }
                    Err(e) => {
                        free.push((flat(e.src), flat(e.dst)));
                        if e.error != uadk::Error::Busy {
                            return Err(e.error.into());
                        }
                        break;
                    }
                }
            }
        }
        if in_flight == 0 {
            break over.unwrap_or_else(|| w.sample(n, empty));
        }
        settle(base, sent);
        if comp.poll(0)? == 0 {
            empty += 1;
        }
        DONE.with(|d| std::mem::swap(&mut *d.borrow_mut(), &mut back));
        for c in back.drain(..) {
            if let Err(e) = c.result {
                return Err(e.into());
            }
            in_flight -= 1;
            if over.is_none() {
                n += 1;
            }
            let mut dst = flat(c.dst);
            dst.resize(cap, 0);
            free.push((flat(c.src), dst));
        }
    };
    Ok(sample)
}
