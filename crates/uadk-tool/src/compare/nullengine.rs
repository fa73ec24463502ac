//! The null-engine rows: requests per second and our CPU per request through the whole
//! stack, on a modelled ZIP device whose engine completes each request at once
//! (`UADK_ZIP_MODEL=1@0:null`, `docs/hardware.md`), so that the device's time is not in
//! the way: can the stack keep a device fed?
//!
//! Measured in a child process (the model is process-wide and must not serve the other
//! rows): the Rust API (`Session::process`; `Session::submit` + `Comp::poll` with
//! [`WINDOW`] in flight) and the C ABI (`wd_do_comp_sync`; `wd_do_comp_async` +
//! `wd_comp_poll`, the `uadk_capi` entry points that `libwd_comp.so.2` exports, called
//! directly), deflate compression of 4 KiB and 8 KiB requests, each slot with its own
//! buffers. "Our CPU" is the CPU time of the one thread that submits and polls
//! (`CLOCK_THREAD_CPUTIME_ID`), pinned to one CPU; the model's engine threads stand for
//! the device and run on the other CPUs. With nothing to wait for, a busy-polling thread
//! is busy all the time, so its CPU per request is close to its wall time per request;
//! polls that find nothing ready (counted) are time spent waiting for the device.
//!
//! For counting instructions per request (`valgrind --tool=callgrind`, which runs one
//! thread at a time), `UADK_NULL_SETTLE=1` makes the async loops wait, outside the stack,
//! until the device has executed everything submitted before they poll.

use super::measure::{cpus_in, get_affinity, num, only_cpu, set_affinity, Stats};
use super::targets::{verdict, Target};
use crate::common::{Context, Error, Result};
use libc::c_void;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};
use uadk::{Alg, Comp, CompConfig, Completion, CtxMode, JobBuf, OpType, SessionSetup, TaskType};
use uadk_capi::abi::{wd_comp_req, wd_comp_sess_setup, wd_ctx_nums, wd_ctx_params};
use uadk_capi::comp as capi;

/// Async requests in flight.
pub(super) const WINDOW: usize = 64;
/// Request sizes.
const SIZES: [usize; 2] = [4096, 8192];
/// The algorithm: raw deflate, whose stored blocks cost the null engine one copy (zlib's
/// Adler-32 would cost it more than the stack does; `docs/performance.md`).
const ALG: Alg = Alg::Deflate;
/// The targets: async requests per second and our CPU per async request, sync requests
/// per second.
const ASYNC_RATE: f64 = 1.0e6;
const ASYNC_CPU_US: f64 = 1.0;
const SYNC_RATE: f64 = 0.5e6;

/// Which entry points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    Rust,
    C,
}

/// Blocking or with requests in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Sync,
    Async,
}

impl Api {
    fn key(self) -> &'static str {
        match self {
            Api::Rust => "rust",
            Api::C => "c",
        }
    }

    fn title(self, mode: Mode) -> &'static str {
        match (self, mode) {
            (Api::Rust, Mode::Sync) => "Rust `Session::process`",
            (Api::Rust, Mode::Async) => "Rust `Session::submit` + `Comp::poll`",
            (Api::C, Mode::Sync) => "C `wd_do_comp_sync`",
            (Api::C, Mode::Async) => "C `wd_do_comp_async` + `wd_comp_poll`",
        }
    }
}

impl Mode {
    fn key(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Async => "async",
        }
    }
}

/// The contenders, in the order of the first run.
const CONTENDERS: [(Api, Mode); 4] = [
    (Api::Rust, Mode::Sync),
    (Api::Rust, Mode::Async),
    (Api::C, Mode::Sync),
    (Api::C, Mode::Async),
];

/// One timed run.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    reqs: u64,
    wall_ns: u64,
    cpu_ns: u64,
    empty_polls: u64,
    /// CPU time the model's engine threads (the device) ran meanwhile.
    device_ns: u64,
}

/// The figures of one row over its runs.
#[derive(Debug, Clone)]
pub(super) struct NullRow {
    pub(super) api: Api,
    pub(super) mode: Mode,
    pub(super) size: usize,
    /// Requests per second.
    pub(super) rate: Stats,
    /// Microseconds of our thread's CPU per request.
    pub(super) cpu_us: Stats,
    /// Polls that found nothing ready, per request (async).
    pub(super) empty: Stats,
    /// Of `cpu_us`, the microseconds those polls took (their count times the measured
    /// cost of one; async).
    pub(super) wait_us: Stats,
    /// Our thread's CPU time over the wall time: the share of its CPU it was given.
    pub(super) share: Stats,
    /// Microseconds of the device threads' CPU per request.
    pub(super) device_us: Stats,
}

/// What the child measured.
#[derive(Debug, Default)]
pub(super) struct NullReport {
    pub(super) rows: Vec<NullRow>,
    /// CPU of the measuring thread; CPUs of the engine threads.
    pub(super) caller_cpu: Option<usize>,
    pub(super) engine_cpus: Vec<usize>,
    /// SQEs the model executed and rejected.
    pub(super) executed: u64,
    pub(super) rejected: u64,
    /// Nanoseconds of our CPU per poll that finds nothing, by API (Rust, C).
    pub(super) empty_poll_ns: [Option<f64>; 2],
    /// Seconds per timed run.
    pub(super) secs: f64,
    pub(super) runs: u32,
    pub(super) error: Option<String>,
}

/// Run the measurement in a child process (`compare --null-engine-child`) and collect it.
pub(super) fn measure_in_child(cpu: Option<usize>, runs: u32, secs: f64) -> NullReport {
    let mut rep = NullReport {
        secs,
        runs,
        ..NullReport::default()
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            rep.error = Some(format!("finding this executable: {e}"));
            return rep;
        }
    };
    let mut cmd = Command::new(exe);
    cmd.args([
        "compare",
        "--null-engine-child",
        "--runs",
        &runs.to_string(),
    ]);
    cmd.args(["--null-engine-secs", &secs.to_string()]);
    if let Some(c) = cpu {
        cmd.args(["--cpu", &c.to_string()]);
    }
    // The model comes from the child's own install, not from the caller's environment.
    cmd.env_remove(uadk::model::MODEL_ENV);
    cmd.env_remove(uadk::model::FAULT_ENV);
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            rep.error = Some(format!("starting the child: {e}"));
            return rep;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text, &mut rep);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        rep.error = Some(format!(
            "the child failed ({}): {}",
            out.status,
            err.lines().last().unwrap_or("")
        ));
    }
    rep
}

/// Read the child's lines into rows.
fn parse(text: &str, rep: &mut NullReport) {
    for line in text.lines() {
        let mut f = std::collections::HashMap::new();
        let Some(rest) = line.strip_prefix("null ") else {
            continue;
        };
        for kv in rest.split_whitespace() {
            if let Some((k, v)) = kv.split_once('=') {
                f.insert(k, v);
            }
        }
        let n = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok());
        if let (Some(e), Some(r)) = (n("executed"), n("rejected")) {
            rep.executed = e;
            rep.rejected = r;
            continue;
        }
        if let (Some(&a), Some(ns)) = (f.get("calib"), f.get("empty_poll_ns")) {
            let i = usize::from(a == "c");
            rep.empty_poll_ns[i] = ns.parse().ok();
            continue;
        }
        if let Some(c) = n("caller_cpu") {
            rep.caller_cpu = Some(c as usize);
            rep.engine_cpus = f
                .get("engine_cpus")
                .map(|v| v.split(',').filter_map(|c| c.parse().ok()).collect())
                .unwrap_or_default();
            continue;
        }
        let api = match f.get("api") {
            Some(&"rust") => Api::Rust,
            Some(&"c") => Api::C,
            _ => continue,
        };
        let mode = match f.get("mode") {
            Some(&"sync") => Mode::Sync,
            Some(&"async") => Mode::Async,
            _ => continue,
        };
        let (Some(size), Some(reqs), Some(wall), Some(cpu), Some(empty)) =
            (n("size"), n("reqs"), n("wall_ns"), n("cpu_ns"), n("empty"))
        else {
            continue;
        };
        let size = size as usize;
        let i = match rep
            .rows
            .iter()
            .position(|r| r.api == api && r.mode == mode && r.size == size)
        {
            Some(i) => i,
            None => {
                rep.rows.push(NullRow {
                    api,
                    mode,
                    size,
                    rate: Stats::default(),
                    cpu_us: Stats::default(),
                    empty: Stats::default(),
                    wait_us: Stats::default(),
                    share: Stats::default(),
                    device_us: Stats::default(),
                });
                rep.rows.len() - 1
            }
        };
        let poll_ns = rep.empty_poll_ns[usize::from(api == Api::C)];
        let r = &mut rep.rows[i];
        let reqs_f = reqs.max(1) as f64;
        r.rate.0.push(reqs as f64 / (wall.max(1) as f64 / 1e9));
        r.cpu_us.0.push(cpu as f64 / 1e3 / reqs_f);
        r.empty.0.push(empty as f64 / reqs_f);
        r.share.0.push(cpu as f64 / wall.max(1) as f64);
        if let Some(d) = n("device_ns") {
            r.device_us.0.push(d as f64 / 1e3 / reqs_f);
        }
        if let (Mode::Async, Some(p)) = (mode, poll_ns) {
            r.wait_us.0.push(empty as f64 * p / 1e3 / reqs_f);
        }
    }
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
struct Window {
    t0: Instant,
    cpu0: u64,
    dev0: u64,
    until: Instant,
}

impl Window {
    fn start(d: Duration) -> Window {
        let dev0 = device_ns();
        let t0 = Instant::now();
        Window {
            t0,
            cpu0: thread_cpu_ns(),
            dev0,
            until: t0 + d,
        }
    }

    fn over(&self) -> bool {
        Instant::now() >= self.until
    }

    /// [`Window::over`], reading the clock only every 16th call (a busy loop calls it
    /// once per poll); once over, the sample taken then.
    fn check(&self, calls: &mut u32, over: &mut Option<Sample>, reqs: u64, empty: u64) {
        *calls += 1;
        if over.is_none() && calls.is_multiple_of(16) && self.over() {
            *over = Some(self.sample(reqs, empty));
        }
    }

    fn sample(&self, reqs: u64, empty_polls: u64) -> Sample {
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
fn input(size: usize) -> Vec<u8> {
    crate::datagen::text(size)
}

/// Output space for one request.
fn bound(size: usize) -> usize {
    uadk::compress_bound(ALG, size)
}

/// The child: install the null model, set up both APIs, measure, print one line per run.
pub(super) fn child(cpu: Option<usize>, runs: u32, secs: f64, only: Option<&str>) -> Result<()> {
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
    /// Slots whose C requests completed, and whether any failed.
    static C_DONE: RefCell<(Vec<usize>, u64)> = const { RefCell::new((Vec::new(), 0)) };
}

/// `UADK_NULL_SETTLE=1`: wait for the device before each poll (for instruction counts).
fn settle_mode() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("UADK_NULL_SETTLE").is_some_and(|v| v == "1"))
}

/// Requests the modelled devices have executed.
fn executed() -> u64 {
    uadk::model::installed().map_or(0, |m| {
        m.devices()
            .iter()
            .map(|d| d.stats.executed.load(std::sync::atomic::Ordering::Relaxed))
            .sum()
    })
}

/// In settle mode, wait until the device has executed `sent` requests since `base`.
fn settle(base: u64, sent: u64) {
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

/// A C session on the C ABI's framework (`wd_comp_init2_` with one sync and one async
/// compress context, as a `wd_ctx_params` asks).
struct CSession {
    h: usize,
}

impl CSession {
    fn open() -> Result<CSession> {
        let mut nums = [wd_ctx_nums {
            sync_ctx_num: 1,
            async_ctx_num: 1,
        }];
        let mut params = wd_ctx_params {
            op_type_num: 1,
            ctx_set_num: nums.as_mut_ptr(),
            bmp: std::ptr::null_mut(),
            cap: std::ptr::null_mut(),
        };
        let name = std::ffi::CString::new(ALG.name()).context("algorithm name")?;
        // 0: SCHED_POLICY_RR; 1: TASK_HW.
        let rc = capi::wd_comp_init2_(name.as_ptr() as *mut _, 0, 1, &mut params);
        if rc != 0 {
            return Err(Error::msg(format!("wd_comp_init2: {rc}")));
        }
        let alg_type = Alg::ALL.iter().position(|&a| a == ALG).unwrap_or(0) as u32;
        // SAFETY: an all-zero setup is valid (NULL pointers, no mm_ops).
        let mut setup: wd_comp_sess_setup = unsafe { std::mem::zeroed() };
        setup.alg_type = alg_type;
        setup.op_type = 0;
        setup.comp_lv = 1;
        setup.win_sz = 4;
        let h = capi::wd_comp_alloc_sess(&mut setup);
        if h == 0 {
            capi::wd_comp_uninit2();
            return Err(Error::msg("wd_comp_alloc_sess failed"));
        }
        Ok(CSession { h })
    }

    fn req(src: &[u8], dst: &mut [u8]) -> wd_comp_req {
        wd_comp_req {
            src: src.as_ptr() as *mut c_void,
            src_len: src.len() as u32,
            dst: dst.as_mut_ptr() as *mut c_void,
            dst_len: dst.len() as u32,
            cb: None,
            cb_param: std::ptr::null_mut(),
            op_type: 0,
            data_fmt: 0,
            last: 1,
            status: 0,
            priv_: std::ptr::null_mut(),
        }
    }

    fn sync(&self, size: usize, d: Duration) -> Result<Sample> {
        let src = input(size);
        let mut dst = vec![0u8; bound(size)];
        let mut req = CSession::req(&src, &mut dst);
        let w = Window::start(d);
        let mut n = 0u64;
        while !w.over() {
            for _ in 0..64 {
                req.src_len = size as u32;
                req.dst_len = dst.len() as u32;
                let rc = capi::wd_do_comp_sync(self.h, &mut req);
                if rc != 0 || req.status != 0 {
                    return Err(Error::msg(format!(
                        "wd_do_comp_sync: {rc}, status {}",
                        req.status
                    )));
                }
            }
            n += 64;
        }
        Ok(w.sample(n, 0))
    }

    fn run_async(&self, size: usize, d: Duration) -> Result<Sample> {
        let mut src: Vec<Vec<u8>> = (0..WINDOW).map(|_| input(size)).collect();
        let mut dst: Vec<Vec<u8>> = (0..WINDOW).map(|_| vec![0u8; bound(size)]).collect();
        let mut ready: Vec<usize> = (0..WINDOW).collect();
        C_DONE.with(|d| {
            let mut d = d.borrow_mut();
            d.0.clear();
            d.0.reserve(WINDOW);
            d.1 = 0;
        });
        let mut back = Vec::with_capacity(WINDOW);
        let mut in_flight = 0usize;
        let (mut n, mut empty) = (0u64, 0u64);
        let (mut over, mut calls) = (None, 0u32);
        let (base, mut sent) = (executed(), 0u64);
        let w = Window::start(d);
        let sample = loop {
            w.check(&mut calls, &mut over, n, empty);
            if over.is_none() {
                while let Some(i) = ready.pop() {
                    let mut req = CSession::req(&src[i], &mut dst[i]);
                    req.cb = Some(c_done);
                    req.cb_param = i as *mut c_void;
                    let rc = capi::wd_do_comp_async(self.h, &mut req);
                    if rc == 0 {
                        in_flight += 1;
                        sent += 1;
                    } else {
                        ready.push(i);
                        if rc != -libc::EBUSY {
                            return Err(Error::msg(format!("wd_do_comp_async: {rc}")));
                        }
                        break;
                    }
                }
            }
            if in_flight == 0 {
                break over.unwrap_or_else(|| w.sample(n, empty));
            }
            settle(base, sent);
            let mut count = 0u32;
            let rc = capi::wd_comp_poll(WINDOW as u32, &mut count);
            if rc != 0 && rc != -libc::EAGAIN {
                return Err(Error::msg(format!("wd_comp_poll: {rc}")));
            }
            if count == 0 {
                empty += 1;
            }
            let failed = C_DONE.with(|d| {
                let mut d = d.borrow_mut();
                std::mem::swap(&mut d.0, &mut back);
                std::mem::take(&mut d.1)
            });
            if failed > 0 {
                return Err(Error::msg(format!("{failed} async requests failed")));
            }
            in_flight -= back.len();
            if over.is_none() {
                n += back.len() as u64;
            }
            ready.append(&mut back);
        };
        // The buffers stayed in place until every callback ran.
        src.clear();
        dst.clear();
        Ok(sample)
    }
}

/// The C callback: the slot back to the loop, a failure counted.
unsafe extern "C" fn c_done(req: *mut wd_comp_req, param: *mut c_void) -> *mut c_void {
    // SAFETY: the library calls back with its copy of the request, valid for the call.
    let status = unsafe { (*req).status };
    C_DONE.with(|d| {
        let mut d = d.borrow_mut();
        d.0.push(param as usize);
        if status != 0 {
            d.1 += 1;
        }
    });
    std::ptr::null_mut()
}

impl Drop for CSession {
    fn drop(&mut self) {
        capi::wd_comp_free_sess(self.h);
        capi::wd_comp_uninit2();
    }
}

/// The section of the report: the table, and its targets.
pub(super) fn section(rep: &NullReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "### Null engine: requests through the whole stack\n");
    let cpus = |v: &[usize]| {
        v.iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        s,
        "A modelled ZIP device whose engine completes each request at once \
         (`UADK_ZIP_MODEL=1@0:null`: stored blocks, read back by any inflater), behind \
         the `hisi_zip` driver: {} compression, one context per mode, {} requests in \
         flight for async, each slot its own buffers; {} runs of {} s each, interleaved, \
         median (min–max). Our CPU is the CPU time of the one thread that submits and \
         polls (`CLOCK_THREAD_CPUTIME_ID`){}; the model's engine threads play the \
         device{}. A thread that busy-polls is never idle: polls that find nothing ready \
         are time spent waiting for the device, shown apart (their count times the cost \
         of one, {}, measured on a stalled device). \"Share\" is our thread's CPU time \
         over the wall time: what the machine gave it; the device threads' CPU per \
         request is their run time over the requests.\n",
        ALG.name(),
        WINDOW,
        rep.runs,
        rep.secs,
        rep.caller_cpu
            .map_or(String::new(), |c| format!(", pinned to CPU {c}")),
        if rep.engine_cpus.is_empty() {
            String::new()
        } else {
            format!(" on CPU {}", cpus(&rep.engine_cpus))
        },
        match rep.empty_poll_ns {
            [Some(r), Some(c)] => format!("{r:.0} ns from Rust, {c:.0} ns from C"),
            _ => "not measured".into(),
        }
    );
    if let Some(e) = &rep.error {
        let _ = writeln!(s, "The measurement failed: {e}.\n");
    }
    s.push_str(
        "| API | mode | request | requests/s | µs of our CPU per request | … of it waiting \
         (empty polls) | our thread's share of its CPU | µs of device CPU per request |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let med = |x: &Stats, f: fn(f64) -> String| x.median().map_or("–".into(), f);
    for r in &rep.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} KiB | {} | {} | {} | {} | {} |",
            r.api.title(r.mode),
            r.mode.key(),
            r.size / 1024,
            show_m(&r.rate),
            r.cpu_us.show(),
            med(&r.wait_us, |w| format!("{w:.2}")),
            med(&r.share, |x| format!("{:.0}%", x * 100.0)),
            med(&r.device_us, |d| format!("{d:.2}")),
        );
    }
    let _ = writeln!(
        s,
        "\nThe model executed {} requests and rejected {} (every SQE is checked as \
         strictly as on the regular engine).\n",
        rep.executed, rep.rejected
    );
    s.push_str("| target | measured | factor | verdict |\n|---|---|---:|---|\n");
    for t in targets(rep) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            t.what,
            t.measured,
            t.factor.map_or("–".into(), |f| format!("{f:.3}×")),
            verdict(t.met)
        );
    }
    s.push_str(
        "\nThe targets are per core of our CPU: a rate of R requests per second on one \
         core is 1/R seconds of our CPU per request, which is what is judged (the factor: \
         the target's CPU per request over ours). The wall-clock rate is that only when \
         the machine gives our thread its whole CPU and the device keeps up; the share \
         and the waiting columns say how far it did.\n",
    );
    s
}

/// Requests per second in millions (thousands below one million), with the range.
fn show_m(s: &Stats) -> String {
    let rate = |x: f64| {
        if x >= 1e6 {
            format!("{:.2} M", x / 1e6)
        } else {
            format!("{} k", num(x / 1e3))
        }
    };
    match (s.median(), s.range()) {
        (Some(m), Some((lo, hi))) => format!("{} ({}–{})", rate(m), rate(lo), rate(hi)),
        _ => "–".into(),
    }
}

/// One target per row, on our CPU per request: async ≥ 1 M requests/s per core (≤ 1 µs
/// each), sync ≥ 0.5 M (≤ 2 µs each).
pub(super) fn targets(rep: &NullReport) -> Vec<Target> {
    let mut t = Vec::new();
    for r in &rep.rows {
        let cpu = r.cpu_us.median();
        let (goal_us, what) = match r.mode {
            Mode::Async => (
                1e6 / ASYNC_RATE,
                format!(
                    "null engine, {}, {} KiB, {WINDOW} in flight: ≥ 1 M requests/s on one \
                     core (≤ {ASYNC_CPU_US} µs of our CPU per request)",
                    r.api.title(r.mode),
                    r.size / 1024
                ),
            ),
            Mode::Sync => (
                1e6 / SYNC_RATE,
                format!(
                    "null engine, {}, {} KiB: ≥ 0.5 M requests/s on one core (≤ 2 µs of \
                     our CPU per request)",
                    r.api.title(r.mode),
                    r.size / 1024
                ),
            ),
        };
        let factor = cpu.map(|c| goal_us / c.max(1e-9));
        t.push(Target {
            what,
            measured: format!(
                "{} µs of our CPU per request{}; {} requests/s wall{}",
                cpu.map_or("–".into(), num),
                r.wait_us
                    .median()
                    .map_or(String::new(), |w| format!(" ({w:.2} of it waiting)")),
                show_m(&r.rate),
                r.share
                    .median()
                    .map_or(String::new(), |x| format!(" at {:.0}% of a CPU", x * 100.0)),
            ),
            factor,
            met: factor.map(|f| f >= 1.0),
        });
    }
    if rep.rows.is_empty() {
        t.push(Target {
            what: "null engine rows".into(),
            measured: rep.error.clone().unwrap_or_else(|| "not measured".into()),
            factor: None,
            met: None,
        });
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_lines_become_rows() {
        let mut rep = NullReport::default();
        parse(
            "null caller_cpu=1 engine_cpus=0\n\
             null calib=rust empty_poll_ns=25\n\
             null api=rust mode=async size=8192 reqs=2000000 wall_ns=1000000000 cpu_ns=900000000 empty=20\n\
             null api=rust mode=async size=8192 reqs=1000000 wall_ns=1000000000 cpu_ns=1000000000 empty=0\n\
             noise\n\
             null api=c mode=sync size=4096 reqs=500 wall_ns=1000 cpu_ns=1000000 empty=0\n\
             null executed=7 rejected=0\n",
            &mut rep,
        );
        assert_eq!(rep.caller_cpu, Some(1));
        assert_eq!(rep.engine_cpus, vec![0]);
        assert_eq!((rep.executed, rep.rejected), (7, 0));
        assert_eq!(rep.rows.len(), 2);
        let a = &rep.rows[0];
        assert_eq!((a.api, a.mode, a.size), (Api::Rust, Mode::Async, 8192));
        assert_eq!(a.rate.0, vec![2e6, 1e6]);
        assert_eq!(a.cpu_us.0, vec![0.45, 1.0]);
        assert_eq!(rep.empty_poll_ns, [Some(25.0), None]);
        // 20 empty polls of 25 ns over 2 M requests.
        assert_eq!(a.wait_us.0, vec![20.0 * 25.0 / 1e3 / 2e6, 0.0]);
        assert_eq!(a.share.0, vec![0.9, 1.0]);
        let t = targets(&rep);
        // Median 1.5 M/s but 0.725 µs: met; the sync row at 500 M/s is met too.
        assert_eq!(t[0].met, Some(true));
        assert_eq!(t[1].met, Some(true));
        rep.rows[0].cpu_us = Stats(vec![1.2]);
        assert_eq!(
            targets(&rep)[0].met,
            Some(false),
            "too much CPU per request"
        );
    }
}
