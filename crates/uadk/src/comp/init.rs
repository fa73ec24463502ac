//! Initialisation (UADK's `wd_comp_init2`): the driver chosen for the task type, its
//! contexts, the scheduler, the CPU engine standing by for device faults; the [`Comp`]
//! handle and what it tells about itself.

use super::config::CompConfig;
use super::session::{Session, SessionSetup};
use super::stream::StreamSlot;
use crate::drv::{self, CtxSpec, Driver, DriverCtx, Job, Notify, ReqKind, Request, Src};
use crate::error::{Error, Result};
use crate::req::{Alg, OpType, Output, ReqParams};
use crate::sched::{RrScheduler, SchedKey, Scheduler};
use crate::wd::{CtxMode, CtxStats, CtxStatsSnapshot, TaskType};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;

/// One context as the framework holds it.
pub(super) struct Ctx {
    pub(super) spec: CtxSpec,
    pub(super) driver: Arc<dyn Driver>,
    pub(super) queue: Mutex<Box<dyn DriverCtx>>,
    pub(super) stats: CtxStats,
    /// The driver has retired this context (its device failed): the scheduler's picks
    /// skip it.
    pub(super) down: AtomicBool,
}

impl Ctx {
    pub(super) fn lock(&self) -> MutexGuard<'_, Box<dyn DriverCtx>> {
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

/// The CPU engine beside a hardware driver: it finishes requests a device failed, and
/// serves the sessions the hardware cannot ([`runs_on_cpu`]).
pub(super) struct Fallback {
    pub(super) driver: drv::cpu::CpuDriver,
    pub(super) notify: Arc<Notify>,
    /// Idle CPU contexts per op type, each with its input copy. A request takes one (or
    /// makes one) and puts it back, so callers on several threads do not wait for each other.
    pub(super) idle: [Mutex<Vec<Idle>>; 2],
}

/// A CPU context the fallback keeps, and its private copy of compression input.
pub(super) struct Idle {
    ctx: Box<dyn DriverCtx>,
    copy: Vec<u8>,
}

/// Flat compression input up to this size is copied before the CPU engine compresses it.
const FALLBACK_COPY_MAX: usize = 1 << 20;

impl Fallback {
    pub(super) fn new(notify: Arc<Notify>) -> Fallback {
        Fallback {
            driver: drv::cpu::CpuDriver::new(),
            notify,
            idle: [Mutex::new(Vec::new()), Mutex::new(Vec::new())],
        }
    }

    pub(super) fn process(&self, req: &mut Request<'_, '_>) -> Result<Output> {
        let idle = &self.idle[match req.params.op {
            OpType::Compress => 0,
            OpType::Decompress => 1,
        }];
        let taken = idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut slot = match taken {
            Some(c) => c,
            None => {
                let spec = CtxSpec {
                    node: 0,
                    mode: CtxMode::Sync,
                    op: req.params.op,
                };
                Idle {
                    ctx: self.driver.alloc_ctx(spec, self.notify.clone())?,
                    copy: Vec::new(),
                }
            }
        };
        let res = Self::run(&mut slot, req);
        idle.lock().unwrap_or_else(|e| e.into_inner()).push(slot);
        res
    }

    fn run(slot: &mut Idle, req: &mut Request<'_, '_>) -> Result<Output> {
        // A device reads its input once; the CPU engine's codecs may read it twice (body,
        // then checksum), so input that its caller keeps changing (QEMU compresses live
        // guest RAM) is copied first, as the C ABI does for requests to the CPU engine.
        if let (OpType::Compress, Src::Flat(src), None) = (req.params.op, req.src, &req.stream) {
            if src.len() <= FALLBACK_COPY_MAX {
                slot.copy.clear();
                slot.copy.extend_from_slice(src);
                let mut r = Request {
                    src: Src::Flat(&slot.copy),
                    dst: req.dst.reborrow(),
                    stream: None,
                    ..*req
                };
                return slot.ctx.process(&mut r);
            }
        }
        slot.ctx.process(req)
    }
}

/// Sessions the framework serves on the CPU engine when its driver is hardware that
/// cannot: zstd frames (the engine has only their LZ77 stage, `lz77_zstd`) and lz4
/// decompression (the engine only compresses lz4). The caller sees no difference.
pub(super) fn runs_on_cpu(p: &ReqParams) -> bool {
    p.alg == Alg::Zstd || (p.alg == Alg::Lz4 && p.op == OpType::Decompress)
}

pub(super) struct Inner {
    pub(super) driver: Arc<dyn Driver>,
    pub(super) fallback: Option<Fallback>,
    /// Async requests finished outside any context (by the fallback), awaiting poll.
    pub(super) ready: Mutex<std::collections::VecDeque<(Job, Result<Output>)>>,
    /// Entries in `ready`, so that a poll with none need not take its lock.
    pub(super) ready_n: AtomicUsize,
    pub(super) ctxs: Vec<Ctx>,
    pub(super) async_ctxs: Vec<usize>,
    pub(super) sched: Arc<dyn Scheduler>,
    pub(super) notify: Arc<Notify>,
    pub(super) config: CompConfig,
    pub(super) poll_cursor: AtomicUsize,
    pub(super) shutdown: AtomicBool,
    pub(super) pollers: Mutex<Vec<JoinHandle<()>>>,
}

/// An initialised compression framework: contexts, scheduler, driver (UADK's `wd_comp_setting`).
///
/// Cheap to clone; sessions keep it alive.
#[derive(Clone)]
pub struct Comp {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for Comp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Comp")
            .field("driver", &self.inner.driver.name())
            .field("ctxs", &self.inner.ctxs.len())
            .finish()
    }
}

pub(super) fn warn_fallback_once(alg: Option<Alg>) {
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
pub(super) fn choose_driver(
    cfg: &CompConfig,
    drivers: &[Arc<dyn Driver>],
) -> Result<Arc<dyn Driver>> {
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
        // Modelled devices stand where the kernel's would: in place before drivers probe.
        if let Err(e) = crate::model::install_from_env() {
            eprintln!("uadk: {e}");
        }
        let driver = choose_driver(&config, &drv::registry())?;
        if let Some(t) = config.hw_timeout {
            driver.set_timeout(t);
        }
        if let Some(a) = config.alg {
            driver.set_alg(a);
        }
        let notify = Arc::new(Notify::default());
        let fallback = (driver.task_type() == TaskType::Hw).then(|| Fallback::new(notify.clone()));
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
            ready_n: AtomicUsize::new(0),
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
        if !setup.level.fits(setup.alg) {
            return Err(Error::InvalidParam(format!(
                "level {} is zstd's only; {} takes 1..15",
                setup.level.value(),
                setup.alg
            )));
        }
        let on_cpu = match self.inner.driver.check(&params, ReqKind::Block) {
            Ok(()) => false,
            Err(e @ Error::Unsupported { .. }) => match &self.inner.fallback {
                Some(fb) if runs_on_cpu(&params) => {
                    fb.driver.check(&params, ReqKind::Block)?;
                    true
                }
                _ => return Err(e),
            },
            Err(e) => return Err(e),
        };
        Ok(Session {
            comp: self.inner.clone(),
            params,
            on_cpu,
            key: SchedKey {
                node: setup.node,
                op: setup.op,
                token: setup.sched_token,
            },
            stream: Mutex::new(StreamSlot::default()),
        })
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
