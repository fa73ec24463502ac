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

pub mod fmt;
mod hdr;
pub mod qm;

use crate::comp::{Alg, OpType, Output, ReqParams};
use crate::drv::{
    CtxSpec, Driver, DriverCtx, Dst, Job, Notify, ReqKind, Request, Src, StreamState,
};
use crate::error::{Error, Result};
use crate::uacce::{self, UacceDevice};
use crate::wd::{CtxMode, TaskType};
use fmt::{ctx_st, dw, hw_alg, status, Flush, SqeType, ZipSqe};
use hdr::Header;
use qm::Qp;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

fn alg_of(name: &str) -> Option<Alg> {
    match name {
        "zlib" => Some(Alg::Zlib),
        "gzip" => Some(Alg::Gzip),
        "deflate" => Some(Alg::Deflate),
        "lz4" => Some(Alg::Lz4),
        _ => None,
    }
}

fn hw_alg_of(a: Alg) -> u32 {
    match a {
        Alg::Deflate => hw_alg::DEFLATE,
        Alg::Zlib => hw_alg::ZLIB,
        Alg::Gzip => hw_alg::GZIP,
        Alg::Lz4 => hw_alg::LZ4,
        Alg::Lz77Zstd => hw_alg::LZ77_ZSTD,
        Alg::Lz77Only => hw_alg::LZ77_ONLY,
    }
}

fn unsupported(what: impl Into<String>) -> Error {
    Error::Unsupported {
        driver: DRIVER_NAME,
        what: what.into(),
    }
}

impl HisiZipDriver {
    /// Find the ZIP devices under the UACCE root (installing the device model first
    /// when `UADK_ZIP_MODEL` asks for it).
    pub fn new() -> HisiZipDriver {
        if let Err(e) = crate::model::install_from_env() {
            eprintln!("uadk: {e}");
        }
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
        match params.alg {
            Alg::Lz77Zstd | Alg::Lz77Only => {
                return Err(unsupported(format!(
                    "{} (its intermediate format is not implemented by this driver yet)",
                    params.alg.name()
                )))
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
        let local: Vec<&UacceDevice> = self
            .devices
            .iter()
            .filter(|d| d.node == spec.node)
            .collect();
        let pool: Vec<&UacceDevice> = if local.is_empty() {
            self.devices.iter().collect()
        } else {
            local
        };
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
        Ok(StreamState(Box::new(HisiStream::new())))
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

/// Per-request scratch memory, reused: the two SGL chains and a header buffer.
#[derive(Default)]
struct Scratch {
    sgl_in: SglBuf,
    sgl_out: SglBuf,
    hdr: Vec<u8>,
}

/// Memory for hardware SGLs, 64-byte aligned, reused between requests.
#[derive(Default)]
struct SglBuf {
    mem: Vec<u64>,
}

impl SglBuf {
    /// Lay out a chain of hardware SGLs over `segs` (address, length); returns its address.
    fn build(&mut self, segs: &mut dyn Iterator<Item = (u64, usize)>, count: usize) -> Result<u64> {
        let nsgl = count.div_ceil(fmt::SGE_PER_SGL).max(1);
        let sgl_bytes = fmt::SGL_HDR_SIZE + fmt::SGE_PER_SGL * fmt::SGE_SIZE;
        let words = (nsgl * sgl_bytes + 64) / 8;
        if self.mem.len() < words {
            self.mem.resize(words, 0);
        }
        let base = self.mem.as_mut_ptr() as usize;
        let aligned = (base + 63) & !63;
        let off0 = aligned - base;
        let bytes: &mut [u8] = {
            let len = self.mem.len() * 8;
            // SAFETY: viewing our own u64 buffer as bytes, for its whole length.
            unsafe { std::slice::from_raw_parts_mut(self.mem.as_mut_ptr().cast::<u8>(), len) }
        };
        let mut segs = segs.peekable();
        for k in 0..nsgl {
            let h = off0 + k * sgl_bytes;
            bytes[h..h + sgl_bytes].fill(0);
            let mut n = 0usize;
            let mut total = 0u64;
            while n < fmt::SGE_PER_SGL {
                let Some((addr, len)) = segs.next() else {
                    break;
                };
                if len > fmt::MAX_SIZE_IN_SGE {
                    return Err(Error::InvalidParam(format!(
                        "SGL segment of {len} bytes (at most {} per segment)",
                        fmt::MAX_SIZE_IN_SGE
                    )));
                }
                let e = h + fmt::SGL_HDR_SIZE + n * fmt::SGE_SIZE;
                bytes[e + fmt::sgl::SGE_BUFF..e + fmt::sgl::SGE_BUFF + 8]
                    .copy_from_slice(&addr.to_le_bytes());
                bytes[e + fmt::sgl::SGE_LEN..e + fmt::sgl::SGE_LEN + 4]
                    .copy_from_slice(&(len as u32).to_le_bytes());
                n += 1;
                total += len as u64;
            }
            let next = if k + 1 < nsgl {
                (aligned + (k + 1) * sgl_bytes) as u64
            } else {
                0
            };
            bytes[h..h + 8].copy_from_slice(&next.to_le_bytes());
            if k == 0 {
                bytes[h + fmt::sgl::ENTRY_SUM_IN_CHAIN..h + fmt::sgl::ENTRY_SUM_IN_CHAIN + 2]
                    .copy_from_slice(&(count.min(u16::MAX as usize) as u16).to_le_bytes());
            }
            bytes[h + fmt::sgl::ENTRY_SUM_IN_SGL..h + fmt::sgl::ENTRY_SUM_IN_SGL + 2]
                .copy_from_slice(&(n as u16).to_le_bytes());
            bytes[h + fmt::sgl::ENTRY_LENGTH_IN_SGL..h + fmt::sgl::ENTRY_LENGTH_IN_SGL + 2]
                .copy_from_slice(&(fmt::SGE_PER_SGL as u16).to_le_bytes());
            bytes[h + fmt::sgl::ENTRY_SIZE_IN_SGL..h + fmt::sgl::ENTRY_SIZE_IN_SGL + 8]
                .copy_from_slice(&total.to_le_bytes());
        }
        Ok(aligned as u64)
    }
}

/// Where a request's bytes are, as the SQE gives them.
struct BufDesc {
    addr: u64,
    len: usize,
    sgl: bool,
}

/// A chain of hardware SGLs over `segs` (address, length), holding `len` bytes.
fn list_desc(
    sgl: &mut SglBuf,
    segs: impl ExactSizeIterator<Item = (u64, usize)>,
    len: usize,
) -> Result<BufDesc> {
    let n = segs.len();
    Ok(BufDesc {
        addr: sgl.build(&mut { segs }, n)?,
        len,
        sgl: true,
    })
}

fn src_desc(src: &Src<'_>, sgl: &mut SglBuf) -> Result<BufDesc> {
    let len = src.len();
    let seg = |s: &[u8]| (s.as_ptr() as u64, s.len());
    match src {
        Src::Flat(b) => Ok(BufDesc {
            addr: b.as_ptr() as u64,
            len,
            sgl: false,
        }),
        Src::List(l) => list_desc(sgl, l.iter().map(|s| seg(s)), len),
        Src::Vecs(l) => list_desc(sgl, l.iter().map(|s| seg(s)), len),
    }
}

fn dst_desc(dst: &mut Dst<'_, '_>, sgl: &mut SglBuf) -> Result<BufDesc> {
    let len = dst.len();
    let seg = |s: &mut [u8]| (s.as_mut_ptr() as u64, s.len());
    match dst {
        Dst::Flat(b) => Ok(BufDesc {
            addr: b.as_mut_ptr() as u64,
            len,
            sgl: false,
        }),
        Dst::List(l) => list_desc(sgl, l.iter_mut().map(|s| seg(s)), len),
        Dst::Vecs(l) => list_desc(sgl, l.iter_mut().map(|s| seg(s)), len),
    }
}

/// Read the first bytes of a source into `out` (at most `max`).
fn src_prefix(src: &Src<'_>, max: usize, out: &mut Vec<u8>) {
    out.clear();
    let mut push = |s: &[u8]| {
        let n = (max - out.len()).min(s.len());
        out.extend_from_slice(&s[..n]);
    };
    match src {
        Src::Flat(b) => push(b),
        Src::List(l) => l.iter().for_each(|s| push(s)),
        Src::Vecs(l) => l.iter().for_each(|s| push(s)),
    }
}

/// A block request prepared for the engine.
struct Prepared {
    sqe: ZipSqe,
    /// Header bytes written before the engine's output (compression).
    hdr_out: usize,
    /// Header bytes skipped before the engine's input (decompression).
    hdr_in: usize,
    src_len: usize,
    dst_len: usize,
}

fn window_code(p: &ReqParams) -> u32 {
    p.window as u32
}

/// Build the SQE of a block request: the header is written (compression) or parsed
/// (decompression) here; the engine sees the rest.
fn prepare_block(
    hw_ver: u32,
    params: &ReqParams,
    src: &Src<'_>,
    dst: &mut Dst<'_, '_>,
    bufs: &mut Scratch,
    tag: u32,
) -> Result<Prepared> {
    let Scratch {
        sgl_in,
        sgl_out,
        hdr: scratch,
    } = bufs;
    let alg = hw_alg_of(params.alg);
    let src_len = src.len();
    let dst_len = dst.len();
    if src_len > fmt::HZ_MAX_SIZE {
        return Err(Error::InvalidParam(format!(
            "input of {src_len} bytes (the engine takes at most {} per request; use sync2 or a stream)",
            fmt::HZ_MAX_SIZE
        )));
    }
    if params.alg == Alg::Lz4 && src_len == 0 {
        return Err(Error::InvalidParam("lz4 input of 0 bytes".into()));
    }
    let (mut hdr_out, mut hdr_in) = (0, 0);
    match params.op {
        OpType::Compress => {
            let mut h = [0u8; 10];
            hdr_out = hdr::write_header(params.alg, params.window, &mut h);
            if hdr_out >= dst_len {
                return Err(Error::OutputTooSmall { capacity: dst_len });
            }
            match dst {
                Dst::Flat(b) => b[..hdr_out].copy_from_slice(&h[..hdr_out]),
                _ => dst.scatter(&h[..hdr_out]),
            }
        }
        OpType::Decompress => {
            src_prefix(src, hdr::MAX_HEADER, scratch);
            hdr_in = match hdr::parse_header(params.alg, scratch) {
                Header::Complete(n) => n,
                Header::NeedMore => return Err(Error::TruncatedInput),
                Header::Invalid(m) => return Err(Error::CorruptData(m.into())),
            };
        }
    }
    let s = src_desc(src, sgl_in)?;
    let d = dst_desc(dst, sgl_out)?;
    let mut sqe = ZipSqe::default();
    let (in_len, out_len) = (s.len - hdr_in, (d.len - hdr_out).min(fmt::HZ_MAX_SIZE));
    if s.sgl || d.sgl {
        // One buffer type per SQE: a flat side is described as a one-entry SGL.
        let s_addr = if s.sgl {
            s.addr
        } else {
            sgl_in.build(&mut std::iter::once((s.addr, s.len)), 1)?
        };
        let d_addr = if d.sgl {
            d.addr
        } else {
            // The engine writes at most HZ_MAX_SIZE: one entry covers that much.
            sgl_out.build(
                &mut std::iter::once((d.addr, d.len.min(fmt::MAX_SIZE_IN_SGE))),
                1,
            )?
        };
        sqe.set_sgl(true);
        sqe.set_sgl_skip(hdr_in as u32, hdr_out as u32);
        sqe.set_bufs(s_addr, in_len as u32, d_addr, out_len as u32);
    } else {
        sqe.set_bufs(
            s.addr + hdr_in as u64,
            in_len as u32,
            d.addr + hdr_out as u64,
            out_len as u32,
        );
    }
    let ty = SqeType::for_alg(hw_ver, alg);
    sqe.set_type(ty);
    sqe.set_alg(alg);
    sqe.set_window(window_code(params));
    sqe.set_tag(ty, tag);
    sqe.set_stream(true, false, Flush::Finish);
    Ok(Prepared {
        sqe,
        hdr_out,
        hdr_in,
        src_len,
        dst_len,
    })
}

/// Turn an engine status into the library's error, if it is one.
fn status_error(sqe: &ZipSqe, dst_len: usize) -> Option<Error> {
    match sqe.status() {
        status::OK | status::NEGACOMPRESS | status::DECOMP_END => None,
        status::BAD_DATA => Some(Error::CorruptData(
            "the engine found invalid deflate data".into(),
        )),
        status::CRC_ERR => Some(Error::ChecksumMismatch),
        status::DSTLEN_OUT => Some(Error::OutputTooSmall { capacity: dst_len }),
        s => Some(Error::Hardware(format!("engine status {s:#x}"))),
    }
}

/// Read a completed block request.
fn finish_block(p: &Prepared, done: &ZipSqe, op: OpType) -> Result<Output> {
    if let Some(e) = status_error(done, p.dst_len) {
        return Err(e);
    }
    let consumed = done.w[dw::CONSUMED] as usize;
    let produced = done.w[dw::PRODUCED] as usize;
    if consumed > p.src_len - p.hdr_in || produced > p.dst_len - p.hdr_out {
        return Err(Error::Hardware(format!(
            "engine reports {consumed} in / {produced} out of {} / {}",
            p.src_len, p.dst_len
        )));
    }
    match op {
        OpType::Compress => Ok(Output {
            consumed: p.src_len,
            produced: produced + p.hdr_out,
            end: true,
        }),
        OpType::Decompress => {
            if done.status() == status::DECOMP_END && done.last_block() {
                Ok(Output {
                    consumed: consumed + p.hdr_in,
                    produced,
                    end: true,
                })
            } else if done.ctx_state() == ctx_st::DECOMPING_NO_SPACE
                || done.ctx_state() == ctx_st::DECOMP_NO_SPACE
                || produced == p.dst_len
            {
                Err(Error::OutputTooSmall {
                    capacity: p.dst_len,
                })
            } else {
                Err(Error::TruncatedInput)
            }
        }
    }
}

/// One async request on the ring.
struct InFlight {
    job: Job,
    prep: Prepared,
    tag: u32,
    sent: Instant,
    bufs: Scratch,
}

/// One queue pair serving requests.
struct HisiCtx {
    qp: Qp,
    spec: CtxSpec,
    timeout: Duration,
    tag: u32,
    bufs: Scratch,
    slots: Vec<Option<InFlight>>,
    in_flight: usize,
    spare: Vec<Scratch>,
    done: VecDeque<(Job, Result<Output>)>,
    broken: Option<Error>,
    notify: Arc<Notify>,
}

impl HisiCtx {
    fn new(qp: Qp, spec: CtxSpec, notify: Arc<Notify>, timeout: Duration) -> HisiCtx {
        if spec.mode == CtxMode::Async {
            let n = notify.clone();
            qp.set_interrupt(Some(Arc::new(move || n.signal())));
        }
        let depth = qp.depth() as usize;
        HisiCtx {
            qp,
            spec,
            timeout,
            tag: 0,
            bufs: Scratch::default(),
            slots: (0..depth).map(|_| None).collect(),
            in_flight: 0,
            spare: Vec::new(),
            done: VecDeque::new(),
            broken: None,
            notify,
        }
    }

    fn next_tag(&mut self) -> u32 {
        self.tag = self.tag.wrapping_add(1);
        self.tag
    }

    /// Stop a queue that can no longer be trusted: the device touches none of our
    /// buffers after this, so requests in flight can be handed back.
    fn break_queue(&mut self, e: Error) {
        if self.broken.is_none() {
            self.qp.stop();
            self.broken = Some(e.clone());
        }
        for s in self.slots.iter_mut() {
            if let Some(f) = s.take() {
                self.done.push_back((f.job, Err(e.clone())));
                self.spare.push(f.bufs);
            }
        }
        self.in_flight = 0;
    }

    /// Send one SQE and wait for its completion (sync mode).
    fn run_one(&mut self, sqe: &ZipSqe) -> Result<ZipSqe> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let slot = match self.qp.send(sqe) {
            Ok(s) => s,
            Err(e @ Error::Hardware(_)) => {
                self.break_queue(e.clone());
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let deadline = Instant::now() + self.timeout;
        let mut spins = 0u32;
        loop {
            match self.qp.recv() {
                Ok(Some((s, done))) => {
                    if s != slot || done.tag() != sqe.tag() {
                        return Err(Error::Hardware(format!(
                            "completion for slot {s} tag {} while waiting for slot {slot} tag {}",
                            done.tag(),
                            sqe.tag()
                        )));
                    }
                    return Ok(done);
                }
                Ok(None) => {}
                Err(e) => {
                    self.break_queue(e.clone());
                    return Err(e);
                }
            }
            let now = Instant::now();
            if now >= deadline {
                let e = Error::Timeout(format!(
                    "{} queue {}: no completion in {} ms",
                    self.qp.device().name,
                    self.spec.node,
                    self.timeout.as_millis()
                ));
                self.break_queue(e.clone());
                return Err(e);
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                let _ = self
                    .qp
                    .wait((deadline - now).min(Duration::from_millis(50)));
            }
        }
    }

    fn block(&mut self, req: &mut Request<'_, '_>) -> Result<Output> {
        let tag = self.next_tag();
        let prep = prepare_block(
            self.qp.hw_ver(),
            &req.params,
            &req.src,
            &mut req.dst,
            &mut self.bufs,
            tag,
        )?;
        let done = self.run_one(&prep.sqe)?;
        finish_block(&prep, &done, req.params.op)
    }

    fn stream(&mut self, req: &mut Request<'_, '_>) -> Result<Output> {
        let Some(state) = req.stream.as_mut() else {
            return Err(Error::InvalidParam("stream request without state".into()));
        };
        let Some(st) = state.0.downcast_mut::<HisiStream>() else {
            return Err(Error::InvalidParam("stream state of another driver".into()));
        };
        let Src::Flat(src) = req.src else {
            return Err(unsupported("stream requests over SGLs"));
        };
        let Dst::Flat(dst) = &mut req.dst else {
            return Err(unsupported("stream requests over SGLs"));
        };
        let p = req.params;
        let mut produced = st.drain(dst);
        if st.pending_len() > 0 {
            return Ok(Output {
                consumed: 0,
                produced,
                end: false,
            });
        }
        if st.ended {
            return Ok(Output {
                consumed: 0,
                produced,
                end: true,
            });
        }
        let mut consumed = 0;
        if !st.hdr_done {
            match p.op {
                OpType::Compress => {
                    let mut h = [0u8; 10];
                    let n = hdr::write_header(p.alg, p.window, &mut h);
                    st.pending.clear();
                    st.pending.extend_from_slice(&h[..n]);
                    st.pending_off = 0;
                    st.hdr_done = true;
                    produced += st.drain(&mut dst[produced..]);
                    if st.pending_len() > 0 {
                        return Ok(Output {
                            consumed: 0,
                            produced,
                            end: false,
                        });
                    }
                }
                OpType::Decompress => {
                    let old = st.hdr_buf.len();
                    let take = src.len().min(hdr::MAX_HEADER - old);
                    st.hdr_buf.extend_from_slice(&src[..take]);
                    match hdr::parse_header(p.alg, &st.hdr_buf) {
                        Header::Complete(n) => {
                            consumed = n - old;
                            st.hdr_done = true;
                            st.hdr_buf.clear();
                        }
                        Header::NeedMore => {
                            if req.last && take == src.len() {
                                return Err(Error::TruncatedInput);
                            }
                            return Ok(Output {
                                consumed: take,
                                produced,
                                end: false,
                            });
                        }
                        Header::Invalid(m) => return Err(Error::CorruptData(m.into())),
                    }
                }
            }
        }
        let src = &src[consumed..];
        let room = dst.len() - produced;
        let use_store = room <= fmt::SW_STOREBUF_TH;
        let (out_addr, out_len) = if use_store {
            (st.store.as_mut_ptr() as u64, fmt::STORE_BUF_SIZE)
        } else {
            (
                dst[produced..].as_mut_ptr() as u64,
                room.min(fmt::HZ_MAX_SIZE),
            )
        };
        let mut in_len = src.len().min(fmt::HZ_MAX_SIZE);
        let mut finish = req.last && in_len == src.len();
        if p.op == OpType::Compress && (out_len as u64) < (in_len as u64 * 9).div_ceil(8) + 64 {
            // Keep the flushed output within the space offered, as UADK shrinks the input.
            in_len = ((out_len.saturating_sub(64)) * 8 / 9) & !3;
            finish = finish && in_len == src.len();
        }
        let alg = hw_alg_of(p.alg);
        let ty = SqeType::for_alg(self.qp.hw_ver(), alg);
        let mut sqe = ZipSqe::default();
        sqe.set_bufs(src.as_ptr() as u64, in_len as u32, out_addr, out_len as u32);
        sqe.set_type(ty);
        sqe.set_alg(alg);
        sqe.set_window(window_code(&p));
        let tag = self.next_tag();
        sqe.set_tag(ty, tag);
        sqe.set_stream(
            st.new,
            true,
            if finish && p.op == OpType::Compress {
                Flush::Finish
            } else {
                Flush::Sync
            },
        );
        sqe.set_ctx_addr(st.ctx_addr());
        sqe.w[dw::ISIZE] = st.isize;
        sqe.w[dw::CHECKSUM] = st.checksum;
        sqe.w[dw::CTX_DW0] = st.ctx_dw[0];
        sqe.w[dw::CTX_DW1] = st.ctx_dw[1];
        sqe.w[dw::CTX_DW2] = st.ctx_dw[2];
        let done = self.run_one(&sqe)?;
        if let Some(e) = status_error(&done, out_len) {
            return Err(e);
        }
        let (c, n) = (done.w[dw::CONSUMED] as usize, done.w[dw::PRODUCED] as usize);
        if c > in_len || n > out_len {
            return Err(Error::Hardware(format!(
                "engine reports {c} in / {n} out of {in_len} / {out_len}"
            )));
        }
        st.new = false;
        st.isize = done.w[dw::ISIZE];
        st.checksum = done.w[dw::CHECKSUM];
        st.ctx_dw = [
            done.w[dw::CTX_DW0],
            done.w[dw::CTX_DW1],
            done.w[dw::CTX_DW2],
        ];
        consumed += c;
        if use_store {
            st.pending.clear();
            st.pending.extend_from_slice(&st.store[..n]);
            st.pending_off = 0;
            produced += st.drain(&mut dst[produced..]);
        } else {
            produced += n;
        }
        st.ended = match p.op {
            OpType::Compress => finish && c == in_len,
            OpType::Decompress => done.status() == status::DECOMP_END && done.last_block(),
        };
        if p.op == OpType::Decompress
            && !st.ended
            && req.last
            && c == src.len()
            && n == 0
            && !use_store
        {
            // Everything offered was read, nothing came out and the caller says no more
            // input follows: the stream is cut short.
            if c == 0 {
                return Err(Error::TruncatedInput);
            }
        }
        Ok(Output {
            consumed,
            produced,
            end: st.ended && st.pending_len() == 0,
        })
    }

    fn reap_ring(&mut self) -> Option<(Job, Result<Output>)> {
        loop {
            match self.qp.recv() {
                Ok(Some((slot, done))) => {
                    let Some(f) = self.slots[slot as usize].take() else {
                        // A completion for a slot with nothing in flight: ignore it.
                        continue;
                    };
                    self.in_flight -= 1;
                    let res = if done.tag() != f.tag {
                        Err(Error::Hardware(format!(
                            "completion of slot {slot} carries tag {} instead of {}",
                            done.tag(),
                            f.tag
                        )))
                    } else {
                        finish_block(&f.prep, &done, f.job.params.op)
                    };
                    self.spare.push(f.bufs);
                    return Some((f.job, res));
                }
                Ok(None) => return None,
                Err(e) => {
                    self.break_queue(e);
                    return self.done.pop_front();
                }
            }
        }
    }
}

impl DriverCtx for HisiCtx {
    fn process(&mut self, req: &mut Request<'_, '_>) -> Result<Output> {
        if req.stream.is_some() {
            self.stream(req)
        } else {
            self.block(req)
        }
    }

    fn submit(&mut self, mut job: Job) -> std::result::Result<(), (Error, Job)> {
        if let Some(e) = &self.broken {
            return Err((e.clone(), job));
        }
        if self.qp.free() == 0 {
            return Err((Error::Busy, job));
        }
        if self.slots[self.qp.next_slot() as usize].is_some() {
            // The ring came round to a slot whose request never completed: the device
            // dropped a completion. Retire the queue rather than reuse the slot.
            let e = Error::Hardware(format!(
                "{}: SQ slot {} still owned by a request that never completed",
                self.qp.device().name,
                self.qp.next_slot()
            ));
            self.break_queue(e.clone());
            self.notify.signal();
            return Err((e, job));
        }
        let tag = self.next_tag();
        let mut bufs = self.spare.pop().unwrap_or_default();
        let hw_ver = self.qp.hw_ver();
        let params = job.params;
        let prep = {
            let src = job.src.src();
            let mut dst = job.dst.dst();
            prepare_block(hw_ver, &params, &src, &mut dst, &mut bufs, tag)
        };
        let prep = match prep {
            Ok(p) => p,
            Err(e) => {
                // A request the engine would refuse completes with its error, like any other.
                self.spare.push(bufs);
                self.done.push_back((job, Err(e)));
                self.notify.signal();
                return Ok(());
            }
        };
        match self.qp.send(&prep.sqe) {
            Ok(slot) => {
                self.slots[slot as usize] = Some(InFlight {
                    job,
                    prep,
                    tag,
                    sent: Instant::now(),
                    bufs,
                });
                self.in_flight += 1;
                Ok(())
            }
            Err(e) => {
                self.spare.push(bufs);
                if matches!(e, Error::Hardware(_)) {
                    self.break_queue(e.clone());
                }
                Err((e, job))
            }
        }
    }

    fn reap(&mut self) -> Option<(Job, Result<Output>)> {
        if let Some(x) = self.done.pop_front() {
            return Some(x);
        }
        if self.in_flight == 0 {
            return None;
        }
        if let Some(x) = self.reap_ring() {
            return Some(x);
        }
        let oldest = self.slots.iter().flatten().map(|f| f.sent).min()?;
        if oldest.elapsed() >= self.timeout {
            let e = Error::Timeout(format!(
                "{}: no completion in {} ms",
                self.qp.device().name,
                self.timeout.as_millis()
            ));
            self.break_queue(e);
            return self.done.pop_front();
        }
        None
    }

    fn pending(&self) -> usize {
        self.in_flight + self.done.len()
    }

    fn usable(&self) -> bool {
        self.broken.is_none()
    }
}

impl Drop for HisiCtx {
    fn drop(&mut self) {
        self.qp.set_interrupt(None);
        // Nothing may be written into buffers after they are handed back.
        self.qp.stop();
    }
}

/// A stream's state: the engine's context buffer and the software side of the stream.
struct HisiStream {
    /// The engine's context buffer (`HW_CTX_SIZE` bytes after a 64-byte reserve).
    ctx_buf: Vec<u64>,
    new: bool,
    isize: u32,
    checksum: u32,
    ctx_dw: [u32; 3],
    hdr_done: bool,
    hdr_buf: Vec<u8>,
    store: Box<[u8; fmt::STORE_BUF_SIZE]>,
    pending: Vec<u8>,
    pending_off: usize,
    ended: bool,
}

impl HisiStream {
    fn new() -> HisiStream {
        HisiStream {
            ctx_buf: vec![0u64; (fmt::HW_CTX_SIZE + fmt::RSV_OFFSET) / 8],
            new: true,
            isize: 0,
            checksum: 0,
            ctx_dw: [0; 3],
            hdr_done: false,
            hdr_buf: Vec::new(),
            store: Box::new([0u8; fmt::STORE_BUF_SIZE]),
            pending: Vec::with_capacity(fmt::STORE_BUF_SIZE),
            pending_off: 0,
            ended: false,
        }
    }

    fn reset(&mut self) {
        self.new = true;
        self.isize = 0;
        self.checksum = 0;
        self.ctx_dw = [0; 3];
        self.hdr_done = false;
        self.hdr_buf.clear();
        self.pending.clear();
        self.pending_off = 0;
        self.ended = false;
    }

    fn ctx_addr(&mut self) -> u64 {
        self.ctx_buf.as_mut_ptr() as u64 + fmt::RSV_OFFSET as u64
    }

    fn pending_len(&self) -> usize {
        self.pending.len() - self.pending_off
    }

    fn drain(&mut self, dst: &mut [u8]) -> usize {
        let n = self.pending_len().min(dst.len());
        dst[..n].copy_from_slice(&self.pending[self.pending_off..self.pending_off + n]);
        self.pending_off += n;
        n
    }
}

impl Drop for HisiStream {
    fn drop(&mut self) {
        let a = self.ctx_addr();
        crate::model::forget_stream(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sqe_for_zlib_on_v2_uses_type_0_and_skips_the_header() {
        let params = ReqParams {
            alg: Alg::Zlib,
            op: OpType::Decompress,
            level: crate::comp::Level::L1,
            window: crate::comp::WindowSize::W32K,
        };
        let src = [0x78u8, 0x01, 1, 2, 3];
        let mut out = [0u8; 64];
        let mut bufs = Scratch::default();
        let p = prepare_block(
            2,
            &params,
            &Src::Flat(&src),
            &mut Dst::Flat(&mut out),
            &mut bufs,
            9,
        )
        .unwrap();
        assert_eq!(p.hdr_in, 2);
        assert_eq!(p.sqe.sqe_type(), SqeType::V1);
        assert_eq!(p.sqe.w[dw::TAG_V1], 9);
        assert_eq!(p.sqe.alg(), hw_alg::ZLIB);
        assert_eq!(p.sqe.src(), src.as_ptr() as u64 + 2);
        assert_eq!(p.sqe.w[dw::INPUT_DATA_LENGTH], 3);
        assert_eq!(
            p.sqe.w[dw::DW7] & 0x0e00_0000,
            0x0a00_0000,
            "new stream, stateless, finish"
        );
    }

    #[test]
    fn sgl_chain_layout() {
        let bufs: Vec<Vec<u8>> = (0..300).map(|i| vec![i as u8; 3]).collect();
        let mut s = SglBuf::default();
        let addr = s
            .build(
                &mut bufs.iter().map(|b| (b.as_ptr() as u64, b.len())),
                bufs.len(),
            )
            .unwrap();
        assert_eq!(addr % 64, 0);
        // SAFETY: reading the SGL we just built inside `s`.
        unsafe {
            let p = addr as *const u8;
            let next = (p as *const u64).read_unaligned();
            assert_ne!(next, 0);
            assert_eq!((p.add(8) as *const u16).read_unaligned(), 300);
            assert_eq!((p.add(10) as *const u16).read_unaligned(), 255);
            assert_eq!((p.add(56) as *const u64).read_unaligned(), 255 * 3);
            let q = next as *const u8;
            assert_eq!((q.add(10) as *const u16).read_unaligned(), 45);
            assert_eq!((q as *const u64).read_unaligned(), 0);
            let e0 = p.add(64);
            assert_eq!((e0 as *const u64).read_unaligned(), bufs[0].as_ptr() as u64);
            assert_eq!((e0.add(16) as *const u32).read_unaligned(), 3);
        }
    }
}
