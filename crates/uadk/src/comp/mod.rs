//! The alg layer (UADK's `wd_comp`): initialisation, sessions and the request modes.
//!
//! A [`Comp`] owns the contexts and the scheduler (what `wd_comp_init2` sets up).
//! A [`Session`] fixes algorithm, level, window and op type, and runs requests:
//! sync block ([`Session::process`]), stream ([`Session::stream`]), sync2
//! ([`Session::process_sync2`]) and async ([`Session::submit`], polled by [`Comp::poll`]).

mod future;
pub mod io;
mod types;

pub use future::CompFuture;
pub use types::{Alg, Level, OpType, Output, ReqParams, WindowSize};

pub use crate::drv::CtxSpec;
use crate::drv::{
    self, Callback, Driver, DriverCtx, Dst, Job, JobBuf, Notify, ReqKind, Request, Src, StreamState,
};
use crate::error::{Error, Result};
use crate::sched::{RrScheduler, SchedKey, Scheduler};
use crate::wd::env::{CtxNum, EnvConfig};
use crate::wd::numa::Topology;
use crate::wd::{CtxMode, CtxStats, CtxStatsSnapshot, SchedPolicy, TaskType};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// Input chunk of [`Session::process_sync2`], as UADK's `STREAM_CHUNK`.
pub const SYNC2_CHUNK: usize = 128 * 1024;

/// How to set up a [`Comp`]: what `wd_comp_init2_` and the environment decide.
#[derive(Debug, Clone)]
pub struct CompConfig {
    /// Algorithm the driver is chosen for; `None` takes the best driver overall.
    pub alg: Option<Alg>,
    /// Scheduling policy.
    pub policy: SchedPolicy,
    /// Hardware, CPU instructions, or both.
    pub task_type: TaskType,
    /// Contexts per mode, op type and node.
    pub ctx_num: Vec<CtxNum>,
    /// An explicit list of contexts, in index order (what `wd_comp_init`'s caller-built
    /// configuration gives); when set, it replaces `ctx_num`.
    pub ctx_list: Option<Vec<CtxSpec>>,
    /// Poll threads as (count, node); empty runs none (the caller polls).
    pub poll_threads: Vec<(u32, u32)>,
    /// Sync requests wait instead of busy polling (`WD_COMP_EPOLL_EN`).
    pub epoll: bool,
    /// Fail instead of falling back to the CPU engine when `TaskType::Hw` finds no hardware.
    pub hw_strict: bool,
    /// How long a hardware request may take before its queue is declared hung
    /// (`None`: the driver's default, see `UADK_HW_TIMEOUT_MS`).
    pub hw_timeout: Option<Duration>,
    /// A caller-supplied scheduler (what `wd_comp_init`'s `struct wd_sched` gives); when
    /// set, it replaces the built-in one of `policy`. See [`Scheduler`].
    pub scheduler: Option<Arc<dyn Scheduler>>,
}

impl Default for CompConfig {
    fn default() -> Self {
        CompConfig::new()
    }
}

impl CompConfig {
    /// Defaults: on every node, one context of each mode and op type per CPU of the node
    /// (at most 8), round-robin, CPU engine, no poll threads.
    pub fn new() -> CompConfig {
        let topo = Topology::get();
        let mut ctx_num = Vec::new();
        for &node in &topo.nodes {
            let n = topo.cpus_on(node).clamp(1, 8) as u32;
            for mode in CtxMode::ALL {
                for op in OpType::ALL {
                    ctx_num.push(CtxNum {
                        mode,
                        op,
                        num: n,
                        node,
                    });
                }
            }
        }
        CompConfig {
            alg: None,
            policy: SchedPolicy::RoundRobin,
            task_type: TaskType::Instr,
            ctx_num,
            ctx_list: None,
            poll_threads: Vec::new(),
            epoll: false,
            hw_strict: false,
            hw_timeout: None,
            scheduler: None,
        }
    }

    /// Defaults overridden by UADK's environment variables (see [`crate::wd::env`]).
    pub fn from_env() -> Result<CompConfig> {
        Ok(CompConfig::new().with_env(&EnvConfig::from_env()?))
    }

    /// Apply a parsed environment.
    pub fn with_env(mut self, env: &EnvConfig) -> CompConfig {
        if let Some(c) = &env.ctx_num {
            self.ctx_num = c.clone();
        }
        if env.async_poll_en {
            self.poll_threads = match &env.async_poll_num {
                Some(v) if !v.is_empty() => v.clone(),
                _ => vec![(1, Topology::get().nodes[0])],
            };
        }
        self.epoll = env.epoll_en;
        self.hw_strict = env.hw_strict;
        self
    }

    /// Choose the algorithm (as `wd_comp_init2`'s `alg`).
    pub fn alg(mut self, alg: Alg) -> Self {
        self.alg = Some(alg);
        self
    }

    /// Choose the scheduling policy.
    pub fn policy(mut self, p: SchedPolicy) -> Self {
        self.policy = p;
        self
    }

    /// Use a caller-supplied scheduler instead of the built-in one.
    pub fn scheduler(mut self, s: Arc<dyn Scheduler>) -> Self {
        self.scheduler = Some(s);
        self
    }

    /// Choose the task type.
    pub fn task_type(mut self, t: TaskType) -> Self {
        self.task_type = t;
        self
    }

    /// Set `num` contexts of this mode and op type on every node (0 removes them).
    pub fn ctxs(mut self, mode: CtxMode, op: OpType, num: u32) -> Self {
        self.ctx_num.retain(|c| !(c.mode == mode && c.op == op));
        if num > 0 {
            for &node in &Topology::get().nodes {
                self.ctx_num.push(CtxNum {
                    mode,
                    op,
                    num,
                    node,
                });
            }
        }
        self
    }

    /// Give hardware requests this long before their queue is declared hung.
    pub fn hw_timeout(mut self, t: Duration) -> Self {
        self.hw_timeout = Some(t);
        self
    }

    /// Run `n` poll threads on the first node (0 runs none).
    pub fn poll_threads(mut self, n: u32) -> Self {
        self.poll_threads = if n == 0 {
            Vec::new()
        } else {
            vec![(n, Topology::get().nodes[0])]
        };
        self
    }
}

/// One context as the framework holds it.
struct Ctx {
    spec: CtxSpec,
    driver: Arc<dyn Driver>,
    queue: Mutex<Box<dyn DriverCtx>>,
    stats: CtxStats,
    /// The driver has retired this context (its device failed): the scheduler's picks
    /// skip it.
    down: AtomicBool,
}

impl Ctx {
    fn lock(&self) -> MutexGuard<'_, Box<dyn DriverCtx>> {
        // A panic in a callback must not wedge the context for everyone else.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What `uadk_tool list` shows of a context.
#[derive(Debug, Clone)]
pub struct CtxInfo {
    /// Index, as `wd_comp_poll_ctx` takes it.
    pub idx: usize,
    /// Node, mode and op type.
    pub spec: CtxSpec,
    /// Driver serving it.
    pub driver: &'static str,
    /// Counters.
    pub stats: CtxStatsSnapshot,
    /// Async requests in flight.
    pub pending: usize,
}

/// The CPU engine standing by to finish requests a device failed.
struct Fallback {
    driver: drv::cpu::CpuDriver,
    notify: Arc<Notify>,
    ctxs: Mutex<[Option<Box<dyn DriverCtx>>; 2]>,
}

impl Fallback {
    fn process(&self, req: &mut Request<'_, '_>) -> Result<Output> {
        let i = match req.params.op {
            OpType::Compress => 0,
            OpType::Decompress => 1,
        };
        let mut ctxs = self.ctxs.lock().unwrap_or_else(|e| e.into_inner());
        if ctxs[i].is_none() {
            let spec = CtxSpec {
                node: 0,
                mode: CtxMode::Sync,
                op: req.params.op,
            };
            ctxs[i] = Some(self.driver.alloc_ctx(spec, self.notify.clone())?);
        }
        match ctxs[i].as_mut() {
            Some(c) => c.process(req),
            None => Err(Error::NoContext("CPU fallback".into())),
        }
    }
}

struct Inner {
    driver: Arc<dyn Driver>,
    fallback: Option<Fallback>,
    /// Async requests finished outside any context (by the fallback), awaiting poll.
    ready: Mutex<std::collections::VecDeque<(Job, Result<Output>)>>,
    ctxs: Vec<Ctx>,
    async_ctxs: Vec<usize>,
    sched: Arc<dyn Scheduler>,
    notify: Arc<Notify>,
    config: CompConfig,
    poll_cursor: AtomicUsize,
    shutdown: AtomicBool,
    pollers: Mutex<Vec<JoinHandle<()>>>,
}

/// An initialised compression framework: contexts, scheduler, driver (UADK's `wd_comp_setting`).
///
/// Cheap to clone; sessions keep it alive.
#[derive(Clone)]
pub struct Comp {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Comp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Comp")
            .field("driver", &self.inner.driver.name())
            .field("ctxs", &self.inner.ctxs.len())
            .finish()
    }
}

fn warn_fallback_once(alg: Option<Alg>) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!(
            "uadk: no hardware accelerator serves {}; using the CPU engine \
             (set UADK_HW_STRICT=1 to fail instead)",
            alg.map_or("compression", Alg::name)
        );
    }
}

/// Pick the driver for a configuration from a list (highest priority first).
fn choose_driver(cfg: &CompConfig, drivers: &[Arc<dyn Driver>]) -> Result<Arc<dyn Driver>> {
    let serves =
        |d: &&Arc<dyn Driver>| d.available() && cfg.alg.is_none_or(|a| d.algs().contains(&a));
    let of_type = |t: TaskType| drivers.iter().filter(serves).find(|d| d.task_type() == t);
    let found = match cfg.task_type {
        TaskType::Instr => of_type(TaskType::Instr),
        TaskType::Mix => drivers.iter().find(serves),
        TaskType::Hw => match of_type(TaskType::Hw) {
            Some(d) => Some(d),
            None if cfg.hw_strict => {
                return Err(Error::NoDevice(format!(
                    "no hardware accelerator serves {} (UADK_HW_STRICT=1)",
                    cfg.alg.map_or("compression", Alg::name)
                )))
            }
            None => {
                warn_fallback_once(cfg.alg);
                of_type(TaskType::Instr)
            }
        },
    };
    found.cloned().ok_or_else(|| match cfg.alg {
        Some(a) if a == Alg::Lz77Zstd || a == Alg::Lz77Only => Error::Unsupported {
            driver: drv::cpu::DRIVER_NAME,
            what: format!("{} (a hardware intermediate format)", a.name()),
        },
        Some(a) => Error::UnknownAlgorithm(a.name().into()),
        None => Error::NoDevice("no driver available".into()),
    })
}

impl Comp {
    /// Initialise with the defaults and UADK's environment variables.
    pub fn from_env() -> Result<Comp> {
        Comp::new(CompConfig::from_env()?)
    }

    /// A process-wide instance made from the environment on first use.
    pub fn global() -> Result<&'static Comp> {
        static GLOBAL: OnceLock<Result<Comp>> = OnceLock::new();
        GLOBAL
            .get_or_init(Comp::from_env)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Initialise: choose the driver, allocate contexts, build the scheduler, start pollers.
    pub fn new(config: CompConfig) -> Result<Comp> {
        let driver = choose_driver(&config, &drv::registry())?;
        if let Some(t) = config.hw_timeout {
            driver.set_timeout(t);
        }
        if let Some(a) = config.alg {
            driver.set_alg(a);
        }
        let notify = Arc::new(Notify::default());
        let fallback = (driver.task_type() == TaskType::Hw).then(|| Fallback {
            driver: drv::cpu::CpuDriver::new(),
            notify: notify.clone(),
            ctxs: Mutex::new([None, None]),
        });
        let mut ctxs = Vec::new();
        let mut specs: Vec<CtxSpec> = config.ctx_list.clone().unwrap_or_default();
        if config.ctx_list.is_none() {
            for c in &config.ctx_num {
                for _ in 0..c.num {
                    specs.push(CtxSpec {
                        node: c.node,
                        mode: c.mode,
                        op: c.op,
                    });
                }
            }
        }
        if specs.is_empty() {
            return Err(Error::InvalidParam("no contexts configured".into()));
        }
        if specs.len() > 4096 {
            return Err(Error::InvalidParam(format!(
                "{} contexts requested (at most 4096)",
                specs.len()
            )));
        }
        for spec in &specs {
            ctxs.push(Ctx {
                spec: *spec,
                driver: driver.clone(),
                queue: Mutex::new(driver.alloc_ctx(*spec, notify.clone())?),
                stats: CtxStats::default(),
                down: AtomicBool::new(false),
            });
        }
        let layout: Vec<_> = specs.iter().map(|s| (s.node, s.mode, s.op)).collect();
        let async_ctxs = (0..ctxs.len())
            .filter(|&i| specs[i].mode == CtxMode::Async)
            .collect();
        let inner = Arc::new(Inner {
            driver,
            fallback,
            ready: Mutex::new(Default::default()),
            ctxs,
            async_ctxs,
            sched: match &config.scheduler {
                Some(s) => s.clone(),
                None => Arc::new(RrScheduler::new(config.policy, &layout)),
            },
            notify,
            config,
            poll_cursor: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            pollers: Mutex::new(Vec::new()),
        });
        Inner::start_pollers(&inner)?;
        if crate::wd::env::log_info() {
            eprintln!(
                "uadk: wd_comp ready: driver {}, {} contexts, policy {}",
                inner.driver.name(),
                inner.ctxs.len(),
                inner.sched.name()
            );
        }
        Ok(Comp { inner })
    }

    /// Open a session.
    pub fn session(&self, setup: &SessionSetup) -> Result<Session> {
        let params = ReqParams {
            alg: setup.alg,
            op: setup.op,
            level: setup.level,
            window: setup.window,
        };
        self.inner.driver.check(&params, ReqKind::Block)?;
        Ok(Session {
            comp: self.inner.clone(),
            params,
            key: SchedKey {
                node: setup.node,
                op: setup.op,
                token: setup.sched_token,
            },
            stream: Mutex::new(StreamSlot::default()),
        })
    }

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

    /// What the driver drives, one line per device (empty for the CPU engine).
    pub fn devices(&self) -> Vec<String> {
        self.inner.driver.describe()
    }

    /// Name of the driver serving this instance.
    pub fn driver_name(&self) -> &'static str {
        self.inner.driver.name()
    }

    /// Scheduler policy name.
    pub fn sched_name(&self) -> &'static str {
        self.inner.sched.name()
    }

    /// The configuration in force.
    pub fn config(&self) -> &CompConfig {
        &self.inner.config
    }

    /// Every context with its counters.
    pub fn ctx_info(&self) -> Vec<CtxInfo> {
        self.inner
            .ctxs
            .iter()
            .enumerate()
            .map(|(idx, c)| CtxInfo {
                idx,
                spec: c.spec,
                driver: c.driver.name(),
                stats: c.stats.snapshot(),
                pending: c.lock().pending(),
            })
            .collect()
    }

    /// True when poll threads reap completions without the caller's help.
    pub fn has_poll_threads(&self) -> bool {
        !self.inner.config.poll_threads.is_empty()
    }
}

fn limit(expected: u32) -> u32 {
    if expected == 0 {
        u32::MAX
    } else {
        expected
    }
}

impl Inner {
    fn start_pollers(this: &Arc<Inner>) -> Result<()> {
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

    fn ready_len(&self) -> usize {
        self.ready.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Run the callbacks of requests the fallback finished.
    fn reap_ready(&self, max: u32) -> u32 {
        let mut n = 0;
        while n < max {
            let item = self
                .ready
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            let Some((job, res)) = item else { break };
            job.complete(res);
            n += 1;
        }
        n
    }

    /// Reap from async contexts (of one node, or all), starting at a rotating cursor.
    fn poll_some(&self, node: Option<u32>, expected: u32) -> u32 {
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

    fn reap_ctx(&self, idx: usize, max: u32) -> u32 {
        let ctx = &self.ctxs[idx];
        let mut n = 0;
        while n < max {
            // The queue lock is released before the callback runs: it may submit again.
            let Some((mut job, res)) = ctx.lock().reap() else {
                break;
            };
            let res = match (res, &self.fallback) {
                (Err(e), Some(fb)) if e.is_device_fault() => {
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

fn poll_loop(weak: Weak<Inner>, notify: Arc<Notify>, node: u32) {
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

/// Parameters of a session (UADK's `wd_comp_sess_setup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSetup {
    /// Algorithm.
    pub alg: Alg,
    /// Direction.
    pub op: OpType,
    /// Level (compression).
    pub level: Level,
    /// Window (compression).
    pub window: WindowSize,
    /// Preferred NUMA node (UADK's `sched_param`); `None` lets the policy decide.
    pub node: Option<u32>,
    /// Opaque per-session value handed to the scheduler in [`SchedKey::token`].
    pub sched_token: usize,
}

impl SessionSetup {
    /// A setup with level 1 and the 32 KiB window.
    pub fn new(alg: Alg, op: OpType) -> SessionSetup {
        SessionSetup {
            alg,
            op,
            level: Level::default(),
            window: WindowSize::default(),
            node: None,
            sched_token: 0,
        }
    }

    /// Set the level.
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Set the window.
    pub fn window(mut self, window: WindowSize) -> Self {
        self.window = window;
        self
    }

    /// Prefer a NUMA node.
    pub fn node(mut self, node: u32) -> Self {
        self.node = Some(node);
        self
    }

    /// Set the per-session value a caller-supplied scheduler receives.
    pub fn sched_token(mut self, token: usize) -> Self {
        self.sched_token = token;
        self
    }
}

#[derive(Default)]
struct StreamSlot {
    state: Option<StreamState>,
    /// The previous call ended (or broke) a stream: the next call starts a new one.
    fresh_needed: bool,
}

/// A compression or decompression session (UADK's `handle_t` session).
///
/// Block, sync2 and async requests may be issued from several threads at once; a stream
/// is one sequence of calls, serialized by the session.
pub struct Session {
    comp: Arc<Inner>,
    params: ReqParams,
    key: SchedKey,
    stream: Mutex<StreamSlot>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("params", &self.params)
            .finish()
    }
}

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
    /// Algorithm, op, level and window.
    pub fn params(&self) -> &ReqParams {
        &self.params
    }

    /// The framework instance this session runs on.
    pub fn comp(&self) -> Comp {
        Comp {
            inner: self.comp.clone(),
        }
    }

    fn run_sync(&self, src: Src<'_>, mut dst: Dst<'_, '_>) -> Result<Output> {
        if dst.is_empty() {
            return Err(Error::InvalidParam("output buffer is empty".into()));
        }
        let idx = self.pick(CtxMode::Sync)?;
        match self.send_sync(idx, src, dst.reborrow()) {
            Err(e) if e.is_device_fault() => self.recover(idx, src, dst, e),
            r => r,
        }
    }

    fn send_sync(&self, idx: usize, src: Src<'_>, dst: Dst<'_, '_>) -> Result<Output> {
        let ctx = &self.comp.ctxs[idx];
        ctx.stats.sent.fetch_add(1, Ordering::Relaxed);
        let mut req = Request::block(self.params, src, dst);
        let mut q = ctx.lock();
        let res = q.process(&mut req);
        match &res {
            Err(e) if e.is_device_fault() => {
                ctx.stats.record_fault(e);
                if !q.usable() {
                    ctx.down.store(true, Ordering::Relaxed);
                }
            }
            _ => ctx.stats.record(&res),
        }
        res
    }

    /// The scheduler's pick, checked (a caller-supplied scheduler may return any index,
    /// UADK's `wd_check_ctx`), skipping contexts whose device has failed while others
    /// are still up.
    fn pick(&self, mode: CtxMode) -> Result<usize> {
        let checked = |idx: usize| match self.comp.ctxs.get(idx) {
            Some(c) if c.spec.mode == mode => Ok(idx),
            Some(_) => Err(Error::InvalidParam(format!(
                "scheduler picked ctx {idx}, not a {} context",
                mode.name()
            ))),
            None => Err(Error::InvalidParam(format!(
                "scheduler picked ctx {idx} of {}",
                self.comp.ctxs.len()
            ))),
        };
        let next = || {
            self.comp
                .sched
                .pick(&self.key, mode)
                .ok_or_else(|| no_ctx(mode, self.params.op))
                .and_then(checked)
        };
        let first = next()?;
        if !self.comp.ctxs[first].down.load(Ordering::Relaxed) {
            return Ok(first);
        }
        for _ in 0..self.comp.ctxs.len().min(64) {
            match next() {
                Ok(i) if !self.comp.ctxs[i].down.load(Ordering::Relaxed) => return Ok(i),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(first)
    }

    /// A device failed a block request: send it once more on another context, then
    /// hand it to the CPU engine. The caller sees one result either way.
    fn recover(
        &self,
        failed: usize,
        src: Src<'_>,
        mut dst: Dst<'_, '_>,
        e: Error,
    ) -> Result<Output> {
        let other = (0..2)
            .filter_map(|_| self.pick(CtxMode::Sync).ok())
            .find(|&j| j != failed);
        if let Some(j) = other {
            self.comp.ctxs[j]
                .stats
                .retries
                .fetch_add(1, Ordering::Relaxed);
            match self.send_sync(j, src, dst.reborrow()) {
                Err(e2) if e2.is_device_fault() => {}
                r => return r,
            }
        }
        let Some(fb) = &self.comp.fallback else {
            return Err(e);
        };
        let ctx = &self.comp.ctxs[failed];
        ctx.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
        let mut req = Request::block(self.params, src, dst);
        fb.process(&mut req)
    }

    /// Sync block request: all of `src` into `dst` as one complete stream (compress) or
    /// from one complete stream (decompress). Returns the bytes written. Decompression
    /// reads one stream: bytes after its end are left unread (see [`Session::process_output`]).
    pub fn process(&self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
        self.run_sync(Src::Flat(src), Dst::Flat(dst))
            .map(|o| o.produced)
    }

    /// [`Session::process`], reporting the input consumed too: for decompression, where
    /// the stream ended (UADK's `src_len` on return), e.g. the next member of a gzip file.
    pub fn process_output(&self, src: &[u8], dst: &mut [u8]) -> Result<Output> {
        self.run_sync(Src::Flat(src), Dst::Flat(dst))
    }

    /// Sync block request over scatter-gather lists (UADK's `WD_SGL_BUF`).
    pub fn process_sgl(&self, src: &[&[u8]], dst: &mut [&mut [u8]]) -> Result<usize> {
        self.run_sync(Src::List(src), Dst::List(dst))
            .map(|o| o.produced)
    }

    /// Output space that always holds this session's compressed form of `n` bytes.
    pub fn compress_bound(&self, n: usize) -> usize {
        compress_bound_for(&self.params, n)
    }

    /// Sync block request into a new `Vec`, sized for the result.
    pub fn process_to_vec(&self, src: &[u8]) -> Result<Vec<u8>> {
        match self.params.op {
            OpType::Compress => {
                let mut out = vec![0u8; self.compress_bound(src.len())];
                let n = self.process(src, &mut out)?;
                out.truncate(n);
                Ok(out)
            }
            OpType::Decompress if self.params.alg == Alg::Lz4 => {
                // lz4 blocks carry no size: grow until it fits (lz4 expands at most 255x).
                let mut cap = (src.len() * 4).max(4096);
                loop {
                    let mut out = vec![0u8; cap];
                    match self.process(src, &mut out) {
                        Ok(n) => {
                            out.truncate(n);
                            return Ok(out);
                        }
                        Err(Error::OutputTooSmall { .. }) if cap < src.len() * 256 + 64 => {
                            cap *= 4;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            OpType::Decompress => {
                let mut out = Vec::new();
                self.stream_all(src, &mut out)?;
                Ok(out)
            }
        }
    }

    /// One call of a stream (UADK's `wd_do_comp_strm`): consumes some of `src`, produces
    /// some output, and ends the stream when `last` is set and everything is flushed.
    ///
    /// After a stream ends (or fails), the next call starts a new one.
    pub fn stream(&self, src: &[u8], dst: &mut [u8], last: bool) -> Result<Output> {
        self.stream_flush(src, dst, last, false)
    }

    /// [`Session::stream`] with a choice of flush: with `sync_flush`, a compression call
    /// emits everything for the input it consumed (zlib's `Z_SYNC_FLUSH`), costing a few
    /// bytes of ratio per call; UADK's hardware behaves this way on every request.
    pub fn stream_flush(
        &self,
        src: &[u8],
        dst: &mut [u8],
        last: bool,
        sync_flush: bool,
    ) -> Result<Output> {
        if dst.is_empty() {
            return Err(Error::InvalidParam("output buffer is empty".into()));
        }
        let drv = &self.comp.driver;
        let mut slot = self.stream.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut *slot;
        match &mut slot.state {
            None => slot.state = Some(drv.new_stream(&self.params)?),
            Some(st) if slot.fresh_needed => drv.reset_stream(&self.params, st)?,
            Some(_) => {}
        }
        slot.fresh_needed = false;
        let ctx = &self.comp.ctxs[self.pick(CtxMode::Sync)?];
        ctx.stats.sent.fetch_add(1, Ordering::Relaxed);
        let mut req = Request {
            params: self.params,
            src: Src::Flat(src),
            dst: Dst::Flat(dst),
            stream: slot.state.as_mut(),
            last,
            sync_flush,
        };
        let res = ctx.lock().process(&mut req);
        ctx.stats.record(&res);
        slot.fresh_needed = !matches!(res, Ok(o) if !o.end);
        res
    }

    /// Decompress one whole stream from `src` into `out` (cleared first), growing it as needed.
    fn stream_all(&self, src: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.reset();
        out.clear();
        out.resize(src.len().saturating_mul(3).max(4096), 0);
        let (mut i, mut len) = (0, 0);
        loop {
            if len == out.len() {
                out.resize(out.len() * 2, 0);
            }
            let r = self.stream(&src[i..], &mut out[len..], true)?;
            i += r.consumed;
            len += r.produced;
            if r.end {
                out.truncate(len);
                return Ok(());
            }
            if r.consumed == 0 && r.produced == 0 {
                return Err(Error::TruncatedInput);
            }
        }
    }

    /// Abandon the current stream; the next stream call starts a new one
    /// (UADK's `wd_comp_reset_sess`).
    pub fn reset(&self) {
        self.stream
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fresh_needed = true;
    }

    /// Whole-buffer request of any size, carried through a stream in
    /// [`SYNC2_CHUNK`]-sized pieces (UADK's `wd_do_comp_sync2`). Returns bytes written.
    pub fn process_sync2(&self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
        if self.params.alg == Alg::Lz4 {
            return self.process(src, dst);
        }
        self.reset();
        let (mut i, mut o) = (0, 0);
        loop {
            if o == dst.len() {
                return Err(Error::OutputTooSmall {
                    capacity: dst.len(),
                });
            }
            let end = (i + SYNC2_CHUNK).min(src.len());
            let last = end == src.len();
            let r = self.stream(&src[i..end], &mut dst[o..], last)?;
            i += r.consumed;
            o += r.produced;
            if r.end {
                return Ok(o);
            }
            if r.consumed == 0 && r.produced == 0 {
                return Err(if last {
                    Error::TruncatedInput
                } else {
                    Error::CorruptData("stream made no progress".into())
                });
            }
        }
    }

    /// Async block request: returns at once; `callback` runs exactly once, from
    /// [`Comp::poll`] or a poll thread, with the buffers and the result.
    pub fn submit(
        &self,
        src: JobBuf,
        dst: JobBuf,
        callback: Callback,
    ) -> std::result::Result<(), SubmitError> {
        let fail = |error, src, dst| Err(SubmitError { error, src, dst });
        if dst.is_empty() {
            return fail(
                Error::InvalidParam("output buffer is empty".into()),
                src,
                dst,
            );
        }
        let idx = match self.pick(CtxMode::Async) {
            Ok(i) => i,
            Err(e) => return fail(e, src, dst),
        };
        let job = Job {
            params: self.params,
            src,
            dst,
            callback,
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
                self.comp
                    .ready
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_back((job, r));
                self.comp.notify.signal();
                return Ok(());
            }
        }
        Ok(())
    }

    fn submit_on(&self, idx: usize, job: Job) -> std::result::Result<(), (Error, Job)> {
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

    /// Async block request as a `Future` of its [`drv::Completion`]. Without poll threads,
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

fn no_ctx(mode: CtxMode, op: OpType) -> Error {
    Error::NoContext(format!(
        "no {}-{} context is configured",
        mode.name(),
        op.name()
    ))
}

/// Output space that always holds the compressed form of `n` bytes, whatever the level
/// and window (see [`Session::compress_bound`] for a tighter figure).
pub fn compress_bound(alg: Alg, n: usize) -> usize {
    match alg {
        Alg::Lz4 => lz4_flex::block::get_maximum_output_size(n),
        // zlib's bound for windows under 32 KiB: stored blocks cannot span more than the
        // window, so incompressible data is Huffman-coded at up to 9 bits a byte.
        _ => n + (n >> 3) + (n >> 8) + (n >> 9) + 4 + 18 + 64,
    }
}

fn compress_bound_for(p: &ReqParams, n: usize) -> usize {
    match p.alg {
        // With the full window (or ISA-L, at level 1), incompressible data goes into stored
        // blocks: libdeflate's bound (5 bytes per 5000-byte block plus output padding) is
        // the loosest of the codecs, plus the gzip wrapper and a margin.
        a if a.is_deflate_family() && (p.window == WindowSize::W32K || p.level == Level::L1) => {
            n + 5 * (n / 5000 + 1) + 9 + 18 + 64
        }
        a => compress_bound(a, n),
    }
}
