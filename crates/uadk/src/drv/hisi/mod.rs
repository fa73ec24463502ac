//! The HiSilicon ZIP driver (UADK's `drv/hisi_comp.c` over `drv/hisi_qm_udrv.c`).
//!
//! Each context is one QM queue pair of a ZIP device found through UACCE. A request
//! becomes one 128-byte SQE: buffer addresses (flat, or hardware SGLs), lengths, request
//! type, window, stream flags and a tag; the completion comes back as a CQE naming the SQ
//! slot, whose SQE the engine has updated with lengths, status, checksum and stream
//! context words. zlib and gzip headers are written and parsed here in software; the
//! engine produces and checks the deflate body and the trailer.
//!
//! Streams keep their state in a context buffer owned by the session (the engine's
//! 64 KiB area), plus a 236-byte store buffer for calls whose output space is under
//! 200 bytes, as UADK does.

mod completion;
mod ctx;
pub mod qm;
mod sqe;
mod stream;

use crate::drv::{CtxSpec, Driver, DriverCtx, Notify, ReqKind, StreamState};
use crate::error::{Error, Result};
use crate::hw::zip::hw_alg;
use crate::req::{Alg, OpType, ReqParams};
use crate::uacce::{self, UacceDevice};
use crate::wd::TaskType;
use ctx::HisiCtx;
use qm::Qp;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use stream::HisiStream;

/// Name of this driver, as UADK's.
pub const DRIVER_NAME: &str = "hisi_zip";

/// Environment variable: milliseconds a request may take before the driver declares
/// the queue hung (default 3000).
pub const TIMEOUT_ENV: &str = "UADK_HW_TIMEOUT_MS";

/// The HiSilicon ZIP driver.
#[derive(Debug)]
pub struct HisiZipDriver {
    devices: Vec<UacceDevice>,
    algs: Vec<Alg>,
    next: AtomicUsize,
    timeout_ms: AtomicU64,
    /// The algorithm contexts are for, if the framework named one.
    alg: std::sync::Mutex<Option<Alg>>,
}

impl Default for HisiZipDriver {
    fn default() -> Self {
        HisiZipDriver::new()
    }
}

pub(super) fn alg_of(name: &str) -> Option<Alg> {
    match name {
        "zlib" => Some(Alg::Zlib),
        "gzip" => Some(Alg::Gzip),
        "deflate" => Some(Alg::Deflate),
        "lz4" => Some(Alg::Lz4),
        "lz77_zstd" => Some(Alg::Lz77Zstd),
        "lz77_only" => Some(Alg::Lz77Only),
        _ => None,
    }
}

pub(super) fn hw_alg_of(a: Alg) -> u32 {
    match a {
        Alg::Deflate => hw_alg::DEFLATE,
        Alg::Zlib => hw_alg::ZLIB,
        Alg::Gzip => hw_alg::GZIP,
        Alg::Lz4 => hw_alg::LZ4,
        Alg::Lz77Zstd => hw_alg::LZ77_ZSTD,
        Alg::Lz77Only => hw_alg::LZ77_ONLY,
        // The engine's share of zstd is its LZ77 stage; `check` refuses whole frames.
        Alg::Zstd => hw_alg::LZ77_ZSTD,
    }
}

pub(super) fn unsupported(what: impl Into<String>) -> Error {
    Error::Unsupported {
        driver: DRIVER_NAME,
        what: what.into(),
    }
}

impl HisiZipDriver {
    /// Find the ZIP devices under the UACCE root: the kernel's, or the device model's when
    /// one is installed (the framework installs it from `UADK_ZIP_MODEL` before probing).
    pub fn new() -> HisiZipDriver {
        let devices: Vec<UacceDevice> = uacce::list()
            .into_iter()
            .filter(|d| {
                d.hisi_qm_version().is_some() && d.algorithms.iter().any(|a| alg_of(a).is_some())
            })
            .collect();
        let mut algs = Vec::new();
        for d in &devices {
            for a in d.algorithms.iter().filter_map(|a| alg_of(a)) {
                if !algs.contains(&a) {
                    algs.push(a);
                }
            }
        }
        let timeout_ms = std::env::var(TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&v| v > 0)
            .unwrap_or(3000);
        HisiZipDriver {
            devices,
            algs,
            next: AtomicUsize::new(0),
            timeout_ms: AtomicU64::new(timeout_ms),
            alg: std::sync::Mutex::new(None),
        }
    }

    /// The devices this driver found.
    pub fn devices(&self) -> &[UacceDevice] {
        &self.devices
    }
}

impl Driver for HisiZipDriver {
    fn name(&self) -> &'static str {
        DRIVER_NAME
    }

    fn priority(&self) -> i32 {
        100
    }

    fn task_type(&self) -> TaskType {
        TaskType::Hw
    }

    fn algs(&self) -> &[Alg] {
        &self.algs
    }

    fn available(&self) -> bool {
        !self.devices.is_empty()
    }

    fn set_timeout(&self, t: Duration) {
        self.timeout_ms
            .store(t.as_millis().max(1) as u64, Ordering::Relaxed);
    }

    fn set_alg(&self, alg: Alg) {
        *self.alg.lock().unwrap_or_else(|e| e.into_inner()) = Some(alg);
    }

    fn check(&self, params: &ReqParams, kind: ReqKind) -> Result<()> {
        if kind == ReqKind::Part {
            // The engine ends every block request with a final block.
            return Err(unsupported(
                "parts of a deflate stream split for parallel work",
            ));
        }
        match params.alg {
            Alg::Lz77Zstd | Alg::Lz77Only if params.op == OpType::Decompress => {
                return Err(unsupported(format!(
                    "{} decompression (the engine only compresses to it)",
                    params.alg.name()
                )))
            }
            Alg::Zstd => {
                return Err(unsupported(
                    "zstd frames (the framework runs zstd sessions on the CPU engine)",
                ))
            }
            Alg::Lz4 if params.op == OpType::Decompress => {
                return Err(unsupported(
                    "lz4 decompression (the engine only compresses lz4)",
                ))
            }
            Alg::Lz4 if kind == ReqKind::Stream => return Err(unsupported("lz4 in stream mode")),
            a if !self.algs.contains(&a) => {
                return Err(unsupported(format!("{} on these devices", a.name())))
            }
            _ => {}
        }
        Ok(())
    }

    fn alloc_ctx(&self, spec: CtxSpec, notify: Arc<Notify>) -> Result<Box<dyn DriverCtx>> {
        // Only devices that list the framework's algorithm, as UADK's
        // wd_get_accel_list(alg): an lz4 context on a device without lz4 (QM v2) would
        // send requests its engine refuses.
        let alg = *self.alg.lock().unwrap_or_else(|e| e.into_inner());
        let serving: Vec<&UacceDevice> = self
            .devices
            .iter()
            .filter(|d| alg.is_none_or(|a| d.supports(a.name())))
            .collect();
        let local: Vec<&UacceDevice> = serving
            .iter()
            .copied()
            .filter(|d| d.node == spec.node)
            .collect();
        let pool: Vec<&UacceDevice> = if local.is_empty() { serving } else { local };
        if pool.is_empty() {
            return Err(Error::NoDevice("no ZIP device".into()));
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let op = match spec.op {
            OpType::Compress => 0,
            OpType::Decompress => 1,
        };
        let mut last = None;
        for k in 0..pool.len() {
            let dev = pool[(start + k) % pool.len()];
            match Qp::new(dev, op) {
                Ok(qp) => {
                    return Ok(Box::new(HisiCtx::new(
                        qp,
                        spec,
                        notify,
                        Duration::from_millis(self.timeout_ms.load(Ordering::Relaxed)),
                    )))
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::NoDevice("no ZIP queue".into())))
    }

    fn new_stream(&self, params: &ReqParams) -> Result<StreamState> {
        self.check(params, ReqKind::Stream)?;
        Ok(StreamState(Box::new(HisiStream::new(params.alg))))
    }

    fn reset_stream(&self, params: &ReqParams, state: &mut StreamState) -> Result<()> {
        match state.0.downcast_mut::<HisiStream>() {
            Some(s) => {
                s.reset();
                Ok(())
            }
            None => {
                *state = self.new_stream(params)?;
                Ok(())
            }
        }
    }

    fn describe(&self) -> Vec<String> {
        self.devices
            .iter()
            .map(|d| {
                format!(
                    "{} node {} api {} queues free {} algs {}",
                    d.name,
                    d.node,
                    d.api,
                    d.available_instances().unwrap_or(-1),
                    d.algorithms.join(",")
                )
            })
            .collect()
    }
}
