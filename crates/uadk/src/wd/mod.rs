//! The framework (UADK's `wd` / `wd_alg_common`): task and context types, the
//! environment configuration, NUMA topology and per-context accounting.

pub mod env;
pub mod numa;
pub use crate::status;

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where an algorithm may run (`enum alg_task_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum TaskType {
    /// Hardware where present, CPU instructions too.
    Mix = 0,
    /// Hardware accelerators.
    Hw = 1,
    /// CPU instructions (the CPU engine).
    Instr = 2,
}

impl TaskType {
    /// Name as `uadk_tool list` shows it.
    pub fn name(self) -> &'static str {
        match self {
            TaskType::Mix => "mix",
            TaskType::Hw => "hw",
            TaskType::Instr => "instr",
        }
    }

    /// From UADK's enum value.
    pub fn from_u32(v: u32) -> Result<TaskType> {
        match v {
            0 => Ok(TaskType::Mix),
            1 => Ok(TaskType::Hw),
            2 => Ok(TaskType::Instr),
            _ => Err(Error::InvalidParam(format!("task_type {v}"))),
        }
    }
}

/// Whether a context serves blocking or asynchronous requests (`enum wd_ctx_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum CtxMode {
    /// Synchronous: the caller waits for its request.
    Sync = 0,
    /// Asynchronous: submit, then poll for completions.
    Async = 1,
}

impl CtxMode {
    /// Both modes, in UADK's order.
    pub const ALL: [CtxMode; 2] = [CtxMode::Sync, CtxMode::Async];

    /// Name used in environment variables and listings.
    pub fn name(self) -> &'static str {
        match self {
            CtxMode::Sync => "sync",
            CtxMode::Async => "async",
        }
    }
}

/// Scheduling policy (`enum sched_policy_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum SchedPolicy {
    /// Round-robin over the contexts of the session's NUMA node (or all nodes when the
    /// session names none).
    RoundRobin = 0,
    /// Always the first context of the group.
    None = 1,
    /// One context for everything of a mode and op type.
    Single = 2,
    /// NUMA-aware: round-robin over the contexts of the calling thread's current node,
    /// falling back to the other nodes when it has none.
    Numa = 3,
}

impl SchedPolicy {
    /// From UADK's enum value (`SCHED_POLICY_DEV` maps onto the NUMA-aware policy).
    pub fn from_u32(v: u32) -> Result<SchedPolicy> {
        match v {
            0 => Ok(SchedPolicy::RoundRobin),
            1 => Ok(SchedPolicy::None),
            2 => Ok(SchedPolicy::Single),
            3 => Ok(SchedPolicy::Numa),
            _ => Err(Error::InvalidParam(format!("sched_type {v}"))),
        }
    }
}

/// Counters of one context, read by `uadk_tool dfx`.
#[derive(Debug, Default)]
pub struct CtxStats {
    /// Requests sent.
    pub sent: AtomicU64,
    /// Requests completed successfully.
    pub ok: AtomicU64,
    /// Requests completed with an error.
    pub failed: AtomicU64,
    /// Submissions refused because the queue was full.
    pub busy: AtomicU64,
    /// Input bytes.
    pub bytes_in: AtomicU64,
    /// Output bytes.
    pub bytes_out: AtomicU64,
    /// Requests the device failed (error status, bad completion, device gone).
    pub hw_errors: AtomicU64,
    /// Requests the device did not complete in time.
    pub timeouts: AtomicU64,
    /// Failed requests sent again on another context.
    pub retries: AtomicU64,
    /// Failed requests finished by the CPU engine instead.
    pub fallbacks: AtomicU64,
}

impl CtxStats {
    /// Count a request the device failed.
    pub fn record_fault(&self, e: &Error) {
        match e {
            Error::Timeout(_) => self.timeouts.fetch_add(1, Ordering::Relaxed),
            _ => self.hw_errors.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// Count one finished request.
    pub fn record(&self, res: &Result<crate::req::Output>) {
        match res {
            Ok(o) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                self.bytes_in
                    .fetch_add(o.consumed as u64, Ordering::Relaxed);
                self.bytes_out
                    .fetch_add(o.produced as u64, Ordering::Relaxed);
            }
            Err(_) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A plain copy of the counters.
    pub fn snapshot(&self) -> CtxStatsSnapshot {
        CtxStatsSnapshot {
            sent: self.sent.load(Ordering::Relaxed),
            ok: self.ok.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            busy: self.busy.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            hw_errors: self.hw_errors.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }
}

/// Counters of one context at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CtxStatsSnapshot {
    /// Requests sent.
    pub sent: u64,
    /// Requests completed successfully.
    pub ok: u64,
    /// Requests completed with an error.
    pub failed: u64,
    /// Submissions refused because the queue was full.
    pub busy: u64,
    /// Input bytes.
    pub bytes_in: u64,
    /// Output bytes.
    pub bytes_out: u64,
    /// Requests the device failed.
    pub hw_errors: u64,
    /// Requests the device did not complete in time.
    pub timeouts: u64,
    /// Failed requests sent again on another context.
    pub retries: u64,
    /// Failed requests finished by the CPU engine.
    pub fallbacks: u64,
}
