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
//! [`BAD_SQE`](crate::hw::zip::status::BAD_SQE).

pub mod check;
mod device;
mod engine;
mod engine_thread;
mod null;
mod queue;
mod spec;

pub use device::{DeviceStats, ModelDevice, USAGE_PERIOD};
pub use queue::{model_dus_size, MODEL_DEPTH, MODEL_MMIO_SIZE};
pub use spec::{parse_faults, parse_spec, DeviceGroup, EngineKind, Fault, FAULT_ENV, MODEL_ENV};

use crate::error::{Error, Result};
use crate::uacce::{self, QueueOps};
use queue::ModelQueue;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU16};
use std::sync::{Arc, Mutex, OnceLock, Weak};

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
