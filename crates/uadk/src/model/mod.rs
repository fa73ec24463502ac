//! A software model of HiSilicon ZIP accelerators, for machines without one.
//!
//! [`install`] (or the `UADK_ZIP_MODEL` environment variable, see [`MODEL_ENV`]) creates
//! N modelled devices on chosen NUMA nodes. They present the surface the real driver uses:
//! a sysfs tree (`sys/class/uacce/hisi_zip-N/...`) and `/dev` stand-ins under a private
//! root that the UACCE layer is pointed at, queues whose MMIO and DUS regions are plain
//! memory, and one engine thread per started queue that reacts to doorbells, executes
//! SQEs from the SQ ring through the process's own addresses, and posts CQEs with the
//! right phase. So the HiSilicon driver, the scheduler, the C ABI and `uadk_tool` run
//! unchanged over it.
//!
//! Faults can be injected per device ([`ModelDevice::inject`]): an error status, a
//! completion that never comes, a corrupted tag, a stalled engine (the queue fills), and
//! the device going away.
//!
//! The engine is as strict as hardware: an SQE field it does not understand, a malformed
//! SGL chain or a doorbell that makes no sense is a model error ([`check`]), counted in
//! [`DeviceStats::rejected`] and logged, and such a request completes with
//! [`BAD_SQE`](fmt::status::BAD_SQE).

pub mod check;
mod engine;
mod null;

use crate::error::{Error, Result};
use crate::hw::zip::{
    self as fmt, Cqe, ZipSqe, CQE_SIZE, SQE_SIZE, UACCE_CMD_QM_SET_QP_CTX, UACCE_CMD_QM_SET_QP_INFO,
};
use crate::uacce::{self, Qfrt, QueueOps, Region, UACCE_CMD_PUT_Q, UACCE_CMD_START_Q};
use std::alloc::{self, Layout};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// Environment variable that turns the model on: a comma-separated list of
/// `COUNT[@NODE][:vVERSION][:qQUEUES][:null]` groups, e.g. `2@0,1@1:v2`. Defaults: node 0,
/// hardware version 3, 256 queues per device, the regular engine (`null`: the null
/// engine, see [`EngineKind::Null`]).
pub const MODEL_ENV: &str = "UADK_ZIP_MODEL";

/// Environment variable injecting faults into modelled devices at start-up: a
/// comma-separated list of `DEVICE:KIND[:COUNT]`, KIND one of `error`, `lost`, `badtag`
/// (the next COUNT requests, default 1) or `stall` (COUNT milliseconds), e.g.
/// `hisi_zip-0:error:10,hisi_zip-1:lost`.
pub const FAULT_ENV: &str = "UADK_ZIP_MODEL_FAULTS";

/// Parse [`FAULT_ENV`]: (device, fault, count).
pub fn parse_faults(s: &str) -> Result<Vec<(String, Fault, u32)>> {
    let bad = |m: String| Error::InvalidParam(format!("{FAULT_ENV}='{s}': {m}"));
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let f: Vec<&str> = part.split(':').collect();
        if f.len() < 2 || f.len() > 3 {
            return Err(bad(format!("'{part}' is not DEVICE:KIND[:COUNT]")));
        }
        let n: u32 = match f.get(2) {
            Some(c) => c.parse().map_err(|_| bad(format!("count '{c}'")))?,
            None => 1,
        };
        let fault = match f[1] {
            "error" => Fault::ErrorStatus,
            "lost" => Fault::NoCompletion,
            "badtag" => Fault::BadTag,
            "stall" => Fault::Stall(Duration::from_millis(n as u64)),
            k => return Err(bad(format!("unknown fault '{k}'"))),
        };
        v.push((f[0].to_string(), fault, n));
    }
    Ok(v)
}

/// SQ and CQ depth of modelled queues.
pub const MODEL_DEPTH: u16 = 1024;
/// MMIO region of a modelled queue.
pub const MODEL_MMIO_SIZE: usize = 0x2000;

/// Bytes of the DUS region: SQ ring, CQ ring, and a page whose last words hold the
/// queue status (UADK reads `ds_tx` at the last word and `ds_rx` just before it).
pub fn model_dus_size() -> usize {
    let rings = SQE_SIZE * MODEL_DEPTH as usize + CQE_SIZE * MODEL_DEPTH as usize;
    rings.div_ceil(4096) * 4096 + 4096
}

/// What executes the SQEs of a modelled device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// Compression and decompression as a ZIP engine does them (zlib-rs, lz4_flex, the
    /// lz77 writer), through the model's DMA.
    #[default]
    Zip,
    /// Completes flat block compression at once, as stored blocks (deflate, zlib, gzip)
    /// or literals (lz4) that any decoder reads back; the rest as [`EngineKind::Zip`].
    /// For measuring the stack without the device's time (`docs/hardware.md`).
    Null,
}

/// One group of modelled devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceGroup {
    /// Devices in the group.
    pub count: u32,
    /// Their NUMA node.
    pub node: u32,
    /// QM hardware version (`api` = `hisi_qm_v<N>`).
    pub hw_ver: u32,
    /// Queues each device offers.
    pub queues: u32,
    /// The engine behind the queues.
    pub engine: EngineKind,
}

impl Default for DeviceGroup {
    /// One device on node 0, QM v3, 256 queues, the regular engine.
    fn default() -> Self {
        DeviceGroup {
            count: 1,
            node: 0,
            hw_ver: 3,
            queues: 256,
            engine: EngineKind::Zip,
        }
    }
}

/// Parse a model specification (the syntax of [`MODEL_ENV`]).
pub fn parse_spec(s: &str) -> Result<Vec<DeviceGroup>> {
    let bad = |m: String| Error::InvalidParam(format!("{MODEL_ENV}='{s}': {m}"));
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut fields = part.split(':');
        let head = fields.next().unwrap_or("");
        let (count, node) = match head.split_once('@') {
            Some((c, n)) => (c, n),
            None => (head, "0"),
        };
        let mut g = DeviceGroup {
            count: count.parse().map_err(|_| bad(format!("count '{count}'")))?,
            node: node.parse().map_err(|_| bad(format!("node '{node}'")))?,
            ..DeviceGroup::default()
        };
        for f in fields {
            if f == "null" {
                g.engine = EngineKind::Null;
            } else if let Some(x) = f.strip_prefix('v') {
                g.hw_ver = x.parse().map_err(|_| bad(format!("version '{f}'")))?;
            } else if let Some(x) = f.strip_prefix('q') {
                g.queues = x.parse().map_err(|_| bad(format!("queues '{f}'")))?;
            } else {
                return Err(bad(format!("unknown field '{f}'")));
            }
        }
        if !(2..=5).contains(&g.hw_ver) {
            return Err(bad(format!("hardware version {} (2..5)", g.hw_ver)));
        }
        if g.count == 0 || g.count > 64 || g.queues == 0 || g.queues > 4096 || g.node > 1023 {
            return Err(bad("count 1..64, queues 1..4096, node < 1024".into()));
        }
        v.push(g);
    }
    if v.is_empty() {
        return Err(bad("no devices".into()));
    }
    Ok(v)
}

/// A fault to inject into a modelled device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Complete the next requests with an engine error status.
    ErrorStatus,
    /// Execute the next requests but never post their completions.
    NoCompletion,
    /// Post the next completions with a corrupted tag.
    BadTag,
    /// Stop consuming the SQ for a while: the queue fills and senders see it busy.
    Stall(Duration),
    /// The device goes away: its queues report a hardware error and it leaves sysfs.
    Remove,
}

/// Counters of one modelled device.
#[derive(Debug, Default)]
pub struct DeviceStats {
    /// SQEs executed.
    pub executed: AtomicU64,
    /// Errors, lost completions and bad tags injected.
    pub injected: AtomicU64,
    /// Model errors: SQEs, SGLs and doorbells the engine does not understand.
    pub rejected: AtomicU64,
    /// Nanoseconds the device's engines spent executing SQEs, per queue op type
    /// (0 compression, 1 decompression): what `dev_usage` is made from.
    pub busy_ns: [AtomicU64; 2],
}

/// Model errors logged on stderr per device; later ones are only counted.
const LOGGED_ERRORS: u64 = 16;

/// How often the model rewrites each device's `dev_usage`.
pub const USAGE_PERIOD: Duration = Duration::from_millis(200);

/// One modelled accelerator.
pub struct ModelDevice {
    name: String,
    node: u32,
    hw_ver: u32,
    engine: EngineKind,
    sysfs: PathBuf,
    dev_path: PathBuf,
    available: AtomicI64,
    next_sqn: AtomicU16,
    removed: AtomicBool,
    faults: Mutex<Vec<(Fault, u32)>>,
    /// Faults are waiting in `faults`: the engines look at the lock only then.
    faults_armed: AtomicBool,
    queues: Mutex<Vec<Weak<Shared>>>,
    last_error: Mutex<Option<String>>,
    /// Counters.
    pub stats: DeviceStats,
}

impl std::fmt::Debug for ModelDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelDevice")
            .field("name", &self.name)
            .field("node", &self.node)
            .finish()
    }
}

impl ModelDevice {
    /// Device name (`hisi_zip-N`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// NUMA node.
    pub fn node(&self) -> u32 {
        self.node
    }

    /// The engine behind its queues.
    pub fn engine(&self) -> EngineKind {
        self.engine
    }

    /// Inject `fault` into the next `count` requests (`Stall` and `Remove` act at once).
    pub fn inject(&self, fault: Fault, count: u32) {
        match fault {
            Fault::Remove => self.remove(),
            Fault::Stall(d) => {
                for q in self.live_queues() {
                    q.stall(d);
                }
            }
            _ if count == 0 => {}
            _ => {
                let mut f = self.faults.lock().unwrap_or_else(|e| e.into_inner());
                f.push((fault, count));
                self.faults_armed.store(true, Ordering::Release);
            }
        }
    }

    fn take_fault(&self) -> Option<Fault> {
        if !self.faults_armed.load(Ordering::Acquire) {
            return None;
        }
        let mut f = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let (fault, n) = f.first_mut()?;
        let fault = *fault;
        *n -= 1;
        if *n == 0 {
            f.remove(0);
            if f.is_empty() {
                self.faults_armed.store(false, Ordering::Release);
            }
        }
        self.stats.injected.fetch_add(1, Ordering::Relaxed);
        Some(fault)
    }

    fn live_queues(&self) -> Vec<Arc<Shared>> {
        self.queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    fn remove(&self) {
        self.removed.store(true, Ordering::SeqCst);
        let _ = std::fs::write(self.sysfs.join("isolate"), "1\n");
        let _ = std::fs::write(self.sysfs.join("available_instances"), "0\n");
        for q in self.live_queues() {
            q.disable();
        }
    }

    /// Count and log a model error: something a driver did that the hardware would not
    /// understand.
    pub fn model_error(&self, what: &str) {
        let n = self.stats.rejected.fetch_add(1, Ordering::Relaxed);
        if n < LOGGED_ERRORS {
            eprintln!("uadk-model: {}: {what}", self.name);
        } else if n == LOGGED_ERRORS {
            eprintln!("uadk-model: {}: more model errors, counted only", self.name);
        }
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(what.to_string());
    }

    /// The last model error, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// True after [`Fault::Remove`].
    pub fn removed(&self) -> bool {
        self.removed.load(Ordering::SeqCst)
    }

    /// Rewrite `dev_usage` from the busy time since the last call `elapsed` ago: the
    /// share of that time the engines spent on each op type, in percent (one engine's
    /// whole time is 100; capped there).
    fn write_usage(&self, last: &mut [u64; 2], elapsed: Duration) {
        let window = elapsed.as_nanos().max(1) as u64;
        let mut pct = [0u64; 2];
        for (i, p) in pct.iter_mut().enumerate() {
            let now = self.stats.busy_ns[i].load(Ordering::Relaxed);
            *p = (now.saturating_sub(last[i]).saturating_mul(100) / window).min(100);
            last[i] = now;
        }
        if !self.removed() {
            // Replaced whole (written aside, then renamed), so a reader never sees it half
            // written, as a sysfs read never does.
            let text = format!("COMPRESS: {}\nDECOMPRESS: {}\n", pct[0], pct[1]);
            let tmp = self.sysfs.join(".dev_usage.new");
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(&tmp, self.sysfs.join(uacce::DEV_USAGE));
            }
        }
    }

    fn write_available(&self) {
        let n = self.available.load(Ordering::SeqCst).max(0);
        if !self.removed() {
            let _ = std::fs::write(self.sysfs.join("available_instances"), format!("{n}\n"));
        }
    }
}

/// The installed model.
#[derive(Debug)]
pub struct Model {
    root: PathBuf,
    devices: Vec<Arc<ModelDevice>>,
}

static MODEL: OnceLock<Arc<Model>> = OnceLock::new();
static INSTALL: Mutex<()> = Mutex::new(());

impl Model {
    /// The directory standing in for `/`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every modelled device.
    pub fn devices(&self) -> &[Arc<ModelDevice>] {
        &self.devices
    }

    /// A device by name.
    pub fn device(&self, name: &str) -> Option<&Arc<ModelDevice>> {
        self.devices.iter().find(|d| d.name == name)
    }
}

/// The model, if one is installed.
pub fn installed() -> Option<Arc<Model>> {
    MODEL.get().cloned()
}

/// Name of the function the preload library (`crates/uadk-model-preload`) exports: it
/// answers nonzero once it serves modelled devices at the kernel's paths.
pub const PRELOAD_SYMBOL: &str = "uadk_model_preload_active";

/// True when the preload library serves the model in this process: `/sys/class/uacce`
/// and `/dev/hisi_zip-N` are then its devices, reached as kernel devices.
pub fn preload_active() -> bool {
    let Ok(name) = std::ffi::CString::new(PRELOAD_SYMBOL) else {
        return false;
    };
    // SAFETY: dlsym with a NUL-terminated name; RTLD_DEFAULT searches the process.
    let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if f.is_null() {
        return false;
    }
    // SAFETY: the preload library defines this symbol as `extern "C" fn() -> c_int`.
    let f: extern "C" fn() -> libc::c_int = unsafe { std::mem::transmute(f) };
    f() != 0
}

/// Install the model from [`MODEL_ENV`] if it is set and no model is installed yet.
/// Under the preload library nothing is installed: its devices are the kernel's paths.
pub fn install_from_env() -> Result<Option<Arc<Model>>> {
    if let Some(m) = installed() {
        return Ok(Some(m));
    }
    if preload_active() {
        return Ok(None);
    }
    let m = match std::env::var(MODEL_ENV) {
        Ok(s) if !s.trim().is_empty() => install(&parse_spec(&s)?)?,
        _ => return Ok(None),
    };
    if let Ok(f) = std::env::var(FAULT_ENV) {
        for (dev, fault, n) in parse_faults(&f)? {
            let d = m
                .device(&dev)
                .ok_or_else(|| Error::InvalidParam(format!("{FAULT_ENV}: no device '{dev}'")))?;
            d.inject(fault, n);
        }
    }
    Ok(Some(m))
}

/// Install modelled devices for this process and point the UACCE layer at them. A
/// process has at most one model: a second call returns the first unchanged.
pub fn install(groups: &[DeviceGroup]) -> Result<Arc<Model>> {
    let _g = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = installed() {
        return Ok(m);
    }
    let base = std::env::temp_dir();
    clean_stale(&base);
    let root = base.join(format!("uadk-model-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let io = |e: std::io::Error| Error::Io(format!("creating the model's sysfs tree: {e}"));
    std::fs::create_dir_all(root.join("dev")).map_err(io)?;
    let mut devices = Vec::new();
    for g in groups {
        for _ in 0..g.count {
            let name = format!("hisi_zip-{}", devices.len());
            let sysfs = root.join("sys/class/uacce").join(&name);
            std::fs::create_dir_all(sysfs.join("device")).map_err(io)?;
            let algs = if g.hw_ver >= 3 {
                "zlib\ngzip\ndeflate\nlz77_zstd\nlz4\nlz77_only\n"
            } else {
                "zlib\ngzip\ndeflate\n"
            };
            let files = [
                ("api", format!("hisi_qm_v{}\n", g.hw_ver)),
                ("flags", format!("{}\n", uacce::UACCE_DEV_SVA)),
                ("algorithms", algs.to_string()),
                ("available_instances", format!("{}\n", g.queues)),
                ("isolate", "0\n".to_string()),
                ("region_mmio_size", format!("{MODEL_MMIO_SIZE}\n")),
                ("region_dus_size", format!("{}\n", model_dus_size())),
                ("device/numa_node", format!("{}\n", g.node)),
                (uacce::DEV_USAGE, "COMPRESS: 0\nDECOMPRESS: 0\n".to_string()),
            ];
            for (f, v) in files {
                std::fs::write(sysfs.join(f), v).map_err(io)?;
            }
            let dev_path = root.join("dev").join(&name);
            std::fs::write(&dev_path, b"").map_err(io)?;
            devices.push(Arc::new(ModelDevice {
                name,
                node: g.node,
                hw_ver: g.hw_ver,
                engine: g.engine,
                sysfs,
                dev_path,
                available: AtomicI64::new(g.queues as i64),
                next_sqn: AtomicU16::new(0),
                removed: AtomicBool::new(false),
                faults: Mutex::new(Vec::new()),
                faults_armed: AtomicBool::new(false),
                queues: Mutex::new(Vec::new()),
                last_error: Mutex::new(None),
                stats: DeviceStats::default(),
            }));
        }
    }
    let model = Arc::new(Model { root, devices });
    let weak = Arc::downgrade(&model);
    // Keeps dev_usage current while the model lives (the files are plain files, read
    // without the model knowing).
    std::thread::Builder::new()
        .name("uadk-model-usage".into())
        .spawn(move || usage_loop(weak))
        .map_err(|e| Error::Io(format!("spawning the model's usage thread: {e}")))?;
    uacce::set_root(Some(model.root.clone()));
    uacce::set_provider(Some(Arc::new(Provider(model.clone()))));
    let _ = MODEL.set(model.clone());
    Ok(model)
}

fn usage_loop(model: Weak<Model>) {
    let mut last: Vec<[u64; 2]> = Vec::new();
    let mut at = std::time::Instant::now();
    loop {
        std::thread::sleep(USAGE_PERIOD);
        let Some(m) = model.upgrade() else { return };
        last.resize(m.devices.len(), [0; 2]);
        let now = std::time::Instant::now();
        for (d, l) in m.devices.iter().zip(last.iter_mut()) {
            d.write_usage(l, now - at);
        }
        at = now;
    }
}

/// Remove model trees left by processes that no longer run.
fn clean_stale(base: &Path) {
    let Ok(rd) = std::fs::read_dir(base) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("uadk-model-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

struct Provider(Arc<Model>);

impl uacce::Provider for Provider {
    fn open(&self, dev_path: &Path) -> Option<Result<Arc<dyn QueueOps>>> {
        let dev = self.0.devices.iter().find(|d| d.dev_path == dev_path)?;
        Some(ModelQueue::open(dev.clone()).map(|q| Arc::new(q) as Arc<dyn QueueOps>))
    }
}

/// Page-aligned zeroed memory standing in for a mapped region.
struct Mem {
    ptr: *mut u8,
    layout: Layout,
}

// SAFETY: plain memory, accessed with volatile operations by one driver and one engine.
unsafe impl Send for Mem {}
// SAFETY: as above.
unsafe impl Sync for Mem {}

impl Mem {
    fn new(len: usize) -> Result<Mem> {
        let layout = Layout::from_size_align(len, 4096)
            .map_err(|e| Error::InvalidParam(format!("region of {len} bytes: {e}")))?;
        // SAFETY: the layout has a nonzero size.
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            return Err(Error::Io("out of memory for a model region".into()));
        }
        Ok(Mem { ptr, layout })
    }
}

impl Drop for Mem {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { alloc::dealloc(self.ptr, self.layout) };
    }
}

#[derive(Default)]
struct EngineState {
    /// Next SQ slot the engine executes.
    sq_head: u16,
    /// Next CQ slot the engine writes, and its phase.
    cq_tail: u16,
    cq_phase: bool,
    /// CQ head the driver last rang.
    cq_head: u16,
    /// CQEs posted and not yet consumed by the driver.
    cq_pending: u32,
    started: bool,
    stop: bool,
    disabled: bool,
    stall_until: Option<std::time::Instant>,
    /// Completion interrupts masked: the last CQ doorbell had priority 0. The QM starts
    /// a queue with them enabled; a CQ doorbell with priority 1 enables them again (the
    /// kernel's own poll loop rings 0 while it drains and 1 when done).
    irq_masked: bool,
    /// Threads sleeping in `wait` on `done`: a completion must wake them.
    waiters: u32,
}

/// How long the null engine, with nothing to do, watches the doorbell before it sleeps: a
/// driver that keeps it busy never waits for a thread to wake up (a device polls its
/// doorbells; a sleeping thread takes tens of microseconds to wake). The regular engine,
/// whose requests take their time anyway, sleeps at once: a spinning thread on a machine
/// with more threads than CPUs delays the very thread that would ring next.
const ENGINE_SPIN: Duration = Duration::from_micros(50);

/// Completions the null engine posts before it raises an interrupt, at most.
const IRQ_COALESCE: u32 = 16;

/// What the queue's engine thread and its driver share.
struct Shared {
    dev: Arc<ModelDevice>,
    mmio: Mem,
    dus: Mem,
    sqn: u16,
    qc_type: AtomicU16,
    state: Mutex<EngineState>,
    kick: Condvar,
    done: Condvar,
    irq: Mutex<Option<uacce::Interrupt>>,
    /// SQ tail the driver last rang: written by the doorbell without the state lock (a
    /// doorbell is one bus write), watched by a spinning engine.
    sq_tail: AtomicU16,
    /// The engine sleeps (or is about to) on `kick`: an SQ doorbell must wake it.
    engine_asleep: AtomicBool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, EngineState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stall(&self, d: Duration) {
        self.lock().stall_until = Some(std::time::Instant::now() + d);
        self.kick.notify_all();
    }

    fn raise_irq(&self) {
        {
            let st = self.lock();
            if st.irq_masked && !st.disabled {
                return;
            }
        }
        self.call_irq();
    }

    /// The interrupt handler, if one is installed (the caller checked the mask).
    fn call_irq(&self) {
        if let Some(f) = &*self.irq.lock().unwrap_or_else(|e| e.into_inner()) {
            f();
        }
    }

    /// Watch the SQ tail for [`ENGINE_SPIN`] while it stays at `head`; true when it moved.
    fn spin_for_doorbell(&self, head: u16) -> bool {
        let until = std::time::Instant::now() + ENGINE_SPIN;
        loop {
            for _ in 0..64 {
                if self.sq_tail.load(Ordering::Acquire) != head {
                    return true;
                }
                std::hint::spin_loop();
            }
            if std::time::Instant::now() >= until {
                return false;
            }
        }
    }

    fn disable(&self) {
        let len = self.dus.layout.size();
        // SAFETY: the two status words at the end of the DUS region.
        unsafe {
            (self.dus.ptr.add(len - 4) as *mut u32).write_volatile(1);
            (self.dus.ptr.add(len - 8) as *mut u32).write_volatile(1);
        }
        self.lock().disabled = true;
        self.kick.notify_all();
        self.done.notify_all();
        self.raise_irq();
    }

    fn sqe_ptr(&self, slot: u16) -> *mut ZipSqe {
        // SAFETY: slot < depth: inside the SQ ring.
        unsafe { self.dus.ptr.add(slot as usize * SQE_SIZE).cast() }
    }

    fn post_cqe(&self, st: &mut EngineState, slot: u16) {
        // The body first, still carrying the old phase, then the phase word: a driver
        // polling the entry never sees the new phase with an old body, as hardware
        // guarantees by writing the phase last.
        let cqe = Cqe {
            sq_head: slot,
            sq_num: self.sqn,
            w7: !st.cq_phase as u16,
            ..Cqe::default()
        };
        let off = SQE_SIZE * MODEL_DEPTH as usize + st.cq_tail as usize * CQE_SIZE;
        std::sync::atomic::fence(Ordering::Release);
        // SAFETY: the CQ slot lies inside the DUS region.
        unsafe {
            let p = self.dus.ptr.add(off) as *mut Cqe;
            p.write_volatile(cqe);
            std::sync::atomic::fence(Ordering::Release);
            std::ptr::addr_of_mut!((*p).w7).write_volatile(st.cq_phase as u16);
        }
        st.cq_tail += 1;
        if st.cq_tail == MODEL_DEPTH {
            st.cq_tail = 0;
            st.cq_phase = !st.cq_phase;
        }
        st.cq_pending += 1;
    }

    fn run(self: Arc<Self>) {
        let mut eng = engine::Engine::new();
        let null = self.dev.engine == EngineKind::Null;
        // Completions posted since the last interrupt (the null engine coalesces them).
        let mut quiet = 0u32;
        loop {
            let slot = {
                let mut st = self.lock();
                let mut spun = !null;
                loop {
                    if st.stop || st.disabled {
                        return;
                    }
                    if let Some(t) = st.stall_until {
                        let now = std::time::Instant::now();
                        if now < t {
                            st = self
                                .kick
                                .wait_timeout(st, t - now)
                                .unwrap_or_else(|e| e.into_inner())
                                .0;
                            continue;
                        }
                        st.stall_until = None;
                    }
                    if st.sq_head != self.sq_tail.load(Ordering::Acquire) {
                        break;
                    }
                    if !spun {
                        spun = true;
                        let head = st.sq_head;
                        drop(st);
                        self.spin_for_doorbell(head);
                        st = self.lock();
                        continue;
                    }
                    // Asleep first, then the tail once more: a doorbell in between either
                    // is seen here or sees the flag (and wakes us once we wait).
                    self.engine_asleep.store(true, Ordering::SeqCst);
                    if st.sq_head == self.sq_tail.load(Ordering::SeqCst) {
                        st = self.kick.wait(st).unwrap_or_else(|e| e.into_inner());
                    }
                    self.engine_asleep.store(false, Ordering::Relaxed);
                }
                st.sq_head
            };
            let fault = self.dev.take_fault();
            let p = self.sqe_ptr(slot);
            // SAFETY: the driver wrote this SQE before ringing the doorbell that moved
            // the tail past it, and does not touch it until its CQE arrives.
            let mut sqe = unsafe { p.read_volatile() };
            let qc_type = self.qc_type.load(Ordering::Relaxed);
            // SAFETY: the SVA contract: the SGLs an SQE names are valid until its CQE.
            let verdict = check::sqe(&sqe, self.dev.hw_ver, qc_type)
                .and_then(|()| unsafe { check::buffers(&sqe) });
            let fail = |sqe: &mut ZipSqe, st: u32| {
                sqe.w[fmt::dw::STATUS] = st;
                sqe.w[fmt::dw::CONSUMED] = 0;
                sqe.w[fmt::dw::PRODUCED] = 0;
            };
            match (verdict, fault) {
                (Err(why), _) => {
                    self.dev
                        .model_error(&format!("queue {}: SQE rejected: {why}", self.sqn));
                    fail(&mut sqe, fmt::status::BAD_SQE);
                }
                (Ok(()), Some(Fault::ErrorStatus)) => fail(&mut sqe, fmt::status::ENGINE_FAULT),
                (Ok(()), _) if null => {
                    // SAFETY: the SVA contract, as below. Not timed: it takes no time.
                    let why = unsafe {
                        if null::execute(&mut sqe, qc_type) {
                            None
                        } else {
                            eng.execute(&mut sqe, qc_type)
                        }
                    };
                    if let Some(why) = why {
                        self.dev
                            .model_error(&format!("queue {}: SQE failed: {why}", self.sqn));
                    }
                }
                (Ok(()), _) => {
                    let t0 = std::time::Instant::now();
                    // SAFETY: the SVA contract: the driver keeps the SQE's buffers valid
                    // until the completion.
                    if let Some(why) = unsafe { eng.execute(&mut sqe, qc_type) } {
                        self.dev
                            .model_error(&format!("queue {}: SQE failed: {why}", self.sqn));
                    }
                    let busy = t0.elapsed().as_nanos() as u64;
                    self.dev.stats.busy_ns[usize::from(qc_type & 1)]
                        .fetch_add(busy, Ordering::Relaxed);
                }
            }
            if fault == Some(Fault::BadTag) {
                let t = sqe.tag() ^ 0x5a5a;
                sqe.set_tag(sqe.sqe_type(), t);
            }
            self.dev.stats.executed.fetch_add(1, Ordering::Relaxed);
            // SAFETY: as above; the driver reads it back after the CQE.
            unsafe { p.write_volatile(sqe) };
            let mut st = self.lock();
            st.sq_head = (st.sq_head + 1) % MODEL_DEPTH;
            if fault != Some(Fault::NoCompletion) {
                self.post_cqe(&mut st, slot);
            }
            // Only a sleeper costs a wake-up; the handler runs while interrupts are on. The
            // null engine, whose requests take no time, raises one for a burst: when the
            // ring is empty, or every IRQ_COALESCE completions.
            quiet += 1;
            if null && st.sq_head != self.sq_tail.load(Ordering::Relaxed) && quiet < IRQ_COALESCE {
                continue;
            }
            quiet = 0;
            let (wake, irq) = (st.waiters > 0, !st.irq_masked || st.disabled);
            drop(st);
            if wake {
                self.done.notify_all();
            }
            if irq {
                self.call_irq();
            }
        }
    }
}

/// One opened queue of a modelled device.
struct ModelQueue {
    shared: Arc<Shared>,
    engine: Mutex<Option<JoinHandle<()>>>,
}

impl ModelQueue {
    fn open(dev: Arc<ModelDevice>) -> Result<ModelQueue> {
        if dev.removed() {
            return Err(Error::NoDevice(format!("{} has been removed", dev.name)));
        }
        if dev.available.fetch_sub(1, Ordering::SeqCst) <= 0 {
            dev.available.fetch_add(1, Ordering::SeqCst);
            return Err(Error::NoDevice(format!("{}: no free queues", dev.name)));
        }
        dev.write_available();
        let sqn = dev.next_sqn.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(Shared {
            mmio: Mem::new(MODEL_MMIO_SIZE)?,
            dus: Mem::new(model_dus_size())?,
            sqn,
            qc_type: AtomicU16::new(0),
            state: Mutex::new(EngineState {
                cq_phase: true,
                ..EngineState::default()
            }),
            kick: Condvar::new(),
            done: Condvar::new(),
            irq: Mutex::new(None),
            sq_tail: AtomicU16::new(0),
            engine_asleep: AtomicBool::new(false),
            dev: dev.clone(),
        });
        dev.queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&shared));
        Ok(ModelQueue {
            shared,
            engine: Mutex::new(None),
        })
    }

    fn stop(&self) {
        {
            let mut st = self.shared.lock();
            if !st.started {
                return;
            }
            st.started = false;
            st.stop = true;
        }
        self.shared.kick.notify_all();
        if let Some(h) = self.engine.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl QueueOps for ModelQueue {
    fn ioctl(&self, cmd: u64, arg: &mut [u8]) -> Result<()> {
        let sh = &self.shared;
        if sh.dev.removed() {
            return Err(Error::Hardware(format!("{} has been removed", sh.dev.name)));
        }
        match cmd {
            UACCE_CMD_START_Q => {
                let mut st = sh.lock();
                if st.started {
                    return Err(Error::InvalidParam("queue already started".into()));
                }
                st.started = true;
                st.stop = false;
                drop(st);
                let s = sh.clone();
                let h = std::thread::Builder::new()
                    .name(format!("{}-q{}", sh.dev.name, sh.sqn))
                    .spawn(move || s.run())
                    .map_err(|e| Error::Io(format!("starting the model engine: {e}")))?;
                *self.engine.lock().unwrap_or_else(|e| e.into_inner()) = Some(h);
                Ok(())
            }
            UACCE_CMD_PUT_Q => {
                self.stop();
                Ok(())
            }
            UACCE_CMD_QM_SET_QP_CTX if arg.len() >= 4 => {
                sh.qc_type
                    .store(u16::from_le_bytes([arg[2], arg[3]]), Ordering::Relaxed);
                arg[0..2].copy_from_slice(&sh.sqn.to_le_bytes());
                Ok(())
            }
            UACCE_CMD_QM_SET_QP_INFO if arg.len() >= 8 => {
                arg[0..4].copy_from_slice(&(SQE_SIZE as u32).to_le_bytes());
                arg[4..6].copy_from_slice(&MODEL_DEPTH.to_le_bytes());
                arg[6..8].copy_from_slice(&MODEL_DEPTH.to_le_bytes());
                Ok(())
            }
            _ => Err(Error::Io(format!("ioctl {cmd:#x}: not supported (ENOTTY)"))),
        }
    }

    fn mmap(&self, qfrt: Qfrt, len: usize) -> Result<Region> {
        let m = match qfrt {
            Qfrt::Mmio => &self.shared.mmio,
            Qfrt::Dus => &self.shared.dus,
        };
        if len > m.layout.size() {
            return Err(Error::Io(format!(
                "mmap of {len} bytes exceeds the {qfrt:?} region"
            )));
        }
        Ok(Region { ptr: m.ptr, len })
    }

    fn munmap(&self, _region: Region) {}

    fn wait(&self, timeout: Duration) -> Result<bool> {
        let mut st = self.shared.lock();
        if st.cq_pending > 0 || st.disabled {
            return Ok(true);
        }
        // Woken by a completion only while interrupts are enabled, as poll() on a real
        // queue; at the deadline the queue is looked at once more.
        st.waiters += 1;
        let (mut st, _) = self
            .shared
            .done
            .wait_timeout_while(st, timeout, |s| {
                !s.disabled && (s.irq_masked || s.cq_pending == 0)
            })
            .unwrap_or_else(|e| e.into_inner());
        st.waiters -= 1;
        Ok(st.cq_pending > 0 || st.disabled)
    }

    fn set_interrupt(&self, f: Option<uacce::Interrupt>) -> bool {
        *self.shared.irq.lock().unwrap_or_else(|e| e.into_inner()) = f;
        true
    }

    fn doorbell_rung(&self) {
        let off = fmt::doorbell_offset(self.shared.dev.hw_ver);
        // SAFETY: the doorbell word inside the MMIO region, just written by the driver
        // on this thread; the bus latches it here, as hardware latches each write.
        let word = unsafe { (self.shared.mmio.ptr.add(off) as *const u64).read_volatile() };
        self.doorbell(word);
    }

    fn mmio_store(&self, offset: usize, value: u64, size: u8) -> bool {
        let sh = &self.shared;
        let len = sh.mmio.layout.size();
        if offset + size as usize > len || ![1, 2, 4, 8].contains(&size) {
            sh.dev.model_error(&format!(
                "queue {}: MMIO store of {size} bytes at {offset:#x}",
                sh.sqn
            ));
            return true;
        }
        // SAFETY: inside the MMIO region (checked above).
        unsafe {
            let p = sh.mmio.ptr.add(offset);
            match size {
                1 => p.write_volatile(value as u8),
                2 => (p as *mut u16).write_unaligned(value as u16),
                4 => (p as *mut u32).write_unaligned(value as u32),
                _ => (p as *mut u64).write_unaligned(value),
            }
        }
        if offset == fmt::doorbell_offset(sh.dev.hw_ver) && size == 8 {
            self.doorbell(value);
        } else {
            sh.dev.model_error(&format!(
                "queue {}: MMIO store of {size} bytes at {offset:#x} (only the doorbell is written)",
                sh.sqn
            ));
        }
        true
    }
}

impl ModelQueue {
    /// One doorbell write, as the bus delivers it.
    fn doorbell(&self, word: u64) {
        let sh = &self.shared;
        let (sqn, cmd, index, prio) = fmt::decode_doorbell(sh.dev.hw_ver, word);
        let want_sqn = if sh.dev.hw_ver == 1 {
            sh.sqn
        } else {
            sh.sqn & 0x3ff
        };
        let bad = |what: String| {
            sh.dev
                .model_error(&format!("queue {}: doorbell {word:#018x}: {what}", sh.sqn))
        };
        if sqn != want_sqn {
            return bad(format!("names queue {sqn}"));
        }
        if index >= MODEL_DEPTH {
            return bad(format!("index {index} past the ring of {MODEL_DEPTH}"));
        }
        if (cmd, prio) == (0, 0) {
            sh.sq_tail.store(index, Ordering::SeqCst);
            if sh.engine_asleep.load(Ordering::SeqCst) {
                // The engine holds the lock until it waits: the wake-up cannot be missed.
                let _g = sh.lock();
                sh.kick.notify_all();
            }
            return;
        }
        let mut st = sh.lock();
        match (cmd, prio) {
            (1, 0 | 1) => {
                let moved = (index + MODEL_DEPTH - st.cq_head) % MODEL_DEPTH;
                if moved as u32 > st.cq_pending {
                    drop(st);
                    return bad(format!(
                        "acknowledges {moved} completions, {} posted",
                        sh.lock().cq_pending
                    ));
                }
                st.cq_head = index;
                st.cq_pending -= moved as u32;
                st.irq_masked = prio == 0;
                let raise = prio == 1 && st.cq_pending > 0;
                let wake = raise && st.waiters > 0;
                drop(st);
                if wake {
                    sh.done.notify_all();
                }
                if raise {
                    // Enabling the interrupt with completions waiting raises it.
                    sh.call_irq();
                }
            }
            _ => {
                drop(st);
                bad(format!("command {cmd} with priority {prio}"))
            }
        }
    }
}

impl Drop for ModelQueue {
    fn drop(&mut self) {
        self.stop();
        let dev = &self.shared.dev;
        dev.available.fetch_add(1, Ordering::SeqCst);
        dev.write_available();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_syntax() {
        let g = parse_spec("2@0,1@1:v2:q16").unwrap();
        assert_eq!(
            g,
            vec![
                DeviceGroup {
                    count: 2,
                    ..DeviceGroup::default()
                },
                DeviceGroup {
                    count: 1,
                    node: 1,
                    hw_ver: 2,
                    queues: 16,
                    engine: EngineKind::Zip,
                }
            ]
        );
        assert_eq!(parse_spec("3").unwrap()[0].count, 3);
        let n = parse_spec("2@0:null,1:q8").unwrap();
        assert_eq!((n[0].engine, n[0].count), (EngineKind::Null, 2));
        assert_eq!((n[1].engine, n[1].queues), (EngineKind::Zip, 8));
        for bad in ["", "x", "1@y", "1:v9", "1:z", "0", "1:q0", "1:nul"] {
            assert!(parse_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fault_syntax() {
        let f = parse_faults("hisi_zip-0:error:10, hisi_zip-1:lost,hisi_zip-0:stall:50").unwrap();
        assert_eq!(f[0], ("hisi_zip-0".into(), Fault::ErrorStatus, 10));
        assert_eq!(f[1], ("hisi_zip-1".into(), Fault::NoCompletion, 1));
        assert_eq!(f[2].1, Fault::Stall(Duration::from_millis(50)));
        for bad in ["x", "a:b", "a:error:z", "a:error:1:2"] {
            assert!(parse_faults(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dus_holds_rings_and_status_page() {
        let n = model_dus_size();
        assert!(n >= SQE_SIZE * 1024 + CQE_SIZE * 1024 + 8);
        assert_eq!(n % 4096, 0);
    }
}
