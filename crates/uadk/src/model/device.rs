//! One modelled accelerator: its sysfs files, its queues' faults, its counters.

use super::engine_thread::Shared;
use super::{EngineKind, Fault};
use crate::uacce;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

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
    pub(super) name: String,
    pub(super) node: u32,
    pub(super) hw_ver: u32,
    pub(super) engine: EngineKind,
    pub(super) sysfs: PathBuf,
    pub(super) dev_path: PathBuf,
    pub(super) available: AtomicI64,
    pub(super) next_sqn: AtomicU16,
    pub(super) removed: AtomicBool,
    pub(super) faults: Mutex<Vec<(Fault, u32)>>,
    /// Faults are waiting in `faults`: the engines look at the lock only then.
    pub(super) faults_armed: AtomicBool,
    pub(super) queues: Mutex<Vec<Weak<Shared>>>,
    pub(super) last_error: Mutex<Option<String>>,
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

    pub(super) fn take_fault(&self) -> Option<Fault> {
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

    pub(super) fn live_queues(&self) -> Vec<Arc<Shared>> {
        self.queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    pub(super) fn remove(&self) {
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
    pub(super) fn write_usage(&self, last: &mut [u64; 2], elapsed: Duration) {
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

    pub(super) fn write_available(&self) {
        let n = self.available.load(Ordering::SeqCst).max(0);
        if !self.removed() {
            let _ = std::fs::write(self.sysfs.join("available_instances"), format!("{n}\n"));
        }
    }
}
