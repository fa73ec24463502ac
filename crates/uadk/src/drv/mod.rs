//! Drivers: what the framework asks of an engine, and the buffers it hands over.
//!
//! A [`Driver`] registers a name, the algorithms it serves, a priority and a task type.
//! It allocates contexts ([`DriverCtx`]): queues on which requests are sent and completions
//! received. The framework serializes the requests of one context; different contexts run
//! in parallel.

pub mod cpu;
pub mod hdr;
pub mod hisi;

use crate::error::{Error, Result};
use crate::req::{Alg, BlockType, Output, ReqParams};
use crate::wd::{CtxMode, TaskType};
use std::any::Any;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What the framework needs to allocate one context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtxSpec {
    /// NUMA node the context serves.
    pub node: u32,
    /// Sync or async.
    pub mode: CtxMode,
    /// Op type the context serves.
    pub op: crate::req::OpType,
}

/// An engine that serves compression requests.
pub trait Driver: Send + Sync {
    /// Unique name, shown by `uadk_tool list`.
    fn name(&self) -> &'static str;
    /// Higher wins when several drivers serve an algorithm.
    fn priority(&self) -> i32;
    /// Hardware or CPU instructions.
    fn task_type(&self) -> TaskType;
    /// Algorithms this driver implements.
    fn algs(&self) -> &[Alg];
    /// Whether the driver can serve requests on this machine now.
    fn available(&self) -> bool;
    /// Refuse a session or request shape the driver cannot serve (stream mode, SGL, ...).
    fn check(&self, params: &ReqParams, kind: ReqKind) -> Result<()>;
    /// Allocate a context; async completions are announced through `notify`.
    fn alloc_ctx(&self, spec: CtxSpec, notify: Arc<Notify>) -> Result<Box<dyn DriverCtx>>;
    /// Create the per-session state of a stream.
    fn new_stream(&self, params: &ReqParams) -> Result<StreamState>;
    /// Make a stream state ready for a new stream, reusing its memory where it can.
    fn reset_stream(&self, params: &ReqParams, state: &mut StreamState) -> Result<()>;
    /// How long a request may take before the driver gives up on its queue.
    fn set_timeout(&self, _timeout: Duration) {}
    /// The algorithm the framework was set up for (`wd_comp_init2`'s `alg`): a driver
    /// may then place contexts only on devices that serve it.
    fn set_alg(&self, _alg: Alg) {}
    /// One line per device the driver drives, for listings.
    fn describe(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The shape of a request, for [`Driver::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReqKind {
    /// One whole-buffer request.
    Block,
    /// Part of a stream.
    Stream,
    /// A non-final part of a deflate stream split into independent parts (see
    /// [`Request::last`]).
    Part,
}

/// One context (queue) of a driver.
pub trait DriverCtx: Send {
    /// Run one request to completion (sync mode).
    fn process(&mut self, req: &mut Request<'_, '_>) -> Result<Output>;
    /// Queue an owned request (async mode). A full queue gives the job back with [`Error::Busy`].
    fn submit(&mut self, job: Job) -> std::result::Result<(), (Error, Job)>;
    /// Take one finished async request, if any.
    fn reap(&mut self) -> Option<(Job, Result<Output>)>;
    /// Async requests submitted and not yet reaped.
    fn pending(&self) -> usize;
    /// False once the context can serve nothing more (its device failed or went away).
    fn usable(&self) -> bool {
        true
    }
}

/// The per-session state of a stream, owned by the session and lent to a context per call.
pub struct StreamState(pub Box<dyn Any + Send>);

impl std::fmt::Debug for StreamState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamState")
    }
}

/// Input of a request: one flat buffer or a scatter-gather list.
#[derive(Debug, Clone, Copy)]
pub enum Src<'a> {
    /// One contiguous buffer.
    Flat(&'a [u8]),
    /// Segments, in order (UADK's `wd_datalist`).
    List(&'a [&'a [u8]]),
    /// Owned segments (async jobs).
    Vecs(&'a [Vec<u8>]),
}

impl Src<'_> {
    /// Total bytes.
    pub fn len(&self) -> usize {
        match self {
            Src::Flat(b) => b.len(),
            Src::List(l) => l.iter().map(|s| s.len()).sum(),
            Src::Vecs(l) => l.iter().map(|s| s.len()).sum(),
        }
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes as one slice: the flat buffer itself, or the segments gathered into `scratch`.
    pub fn contiguous<'s>(&'s self, scratch: &'s mut Vec<u8>) -> &'s [u8] {
        match self {
            Src::Flat(b) => b,
            Src::List(l) => gather(l.iter().map(|s| &s[..]), scratch),
            Src::Vecs(l) => gather(l.iter().map(|s| &s[..]), scratch),
        }
    }
}

fn gather<'a>(segs: impl Iterator<Item = &'a [u8]>, scratch: &mut Vec<u8>) -> &[u8] {
    scratch.clear();
    for s in segs {
        scratch.extend_from_slice(s);
    }
    scratch
}

/// Output of a request: one flat buffer or a scatter-gather list.
#[derive(Debug)]
pub enum Dst<'a, 'b> {
    /// One contiguous buffer.
    Flat(&'a mut [u8]),
    /// Segments, filled in order.
    List(&'a mut [&'b mut [u8]]),
    /// Owned segments (async jobs).
    Vecs(&'a mut [Vec<u8>]),
}

impl Dst<'_, '_> {
    /// Total capacity in bytes.
    pub fn len(&self) -> usize {
        match self {
            Dst::Flat(b) => b.len(),
            Dst::List(l) => l.iter().map(|s| s.len()).sum(),
            Dst::Vecs(l) => l.iter().map(|s| s.len()).sum(),
        }
    }

    /// True when there is no room at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copy `data` into the segments in order; `data` must fit.
    pub fn scatter(&mut self, data: &[u8]) {
        let mut rest = data;
        let mut put = |seg: &mut [u8]| {
            let n = seg.len().min(rest.len());
            seg[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
        };
        match self {
            Dst::Flat(b) => put(b),
            Dst::List(l) => l.iter_mut().for_each(|s| put(s)),
            Dst::Vecs(l) => l.iter_mut().for_each(|s| put(s)),
        }
    }
}

impl<'b> Dst<'_, 'b> {
    /// A shorter-lived view of the same buffers.
    pub fn reborrow(&mut self) -> Dst<'_, 'b> {
        match self {
            Dst::Flat(b) => Dst::Flat(b),
            Dst::List(l) => Dst::List(l),
            Dst::Vecs(v) => Dst::Vecs(v),
        }
    }
}

/// One request as a driver sees it.
#[derive(Debug)]
pub struct Request<'a, 'b> {
    /// Algorithm, op, level, window.
    pub params: ReqParams,
    /// Input.
    pub src: Src<'a>,
    /// Output.
    pub dst: Dst<'a, 'b>,
    /// Stream state for stream requests; `None` for block requests.
    pub stream: Option<&'a mut StreamState>,
    /// Last piece of a stream (UADK `req->last`). A block request (no stream state) with
    /// `last` unset is a *part*: raw deflate, compressed or decompressed on its own, that
    /// is not the end of the stream it belongs to. A compressed part holds only non-final
    /// blocks, none reaching before its start, and ends byte-aligned after an empty stored
    /// block (a full flush); parts joined in order, the last an ordinary block request,
    /// are one deflate stream. Decompressing one takes all its input, which must end so.
    pub last: bool,
    /// Compression streams: emit all output for the input consumed so far (zlib's
    /// `Z_SYNC_FLUSH`), as hardware does per request.
    pub sync_flush: bool,
    /// `lz77_zstd` streams: how the caller emitted the previous block (UADK's `blk_type`).
    pub prev_block: BlockType,
}

impl<'a, 'b> Request<'a, 'b> {
    /// A whole-buffer request: no stream state, the last (and only) piece.
    pub fn block(params: ReqParams, src: Src<'a>, dst: Dst<'a, 'b>) -> Request<'a, 'b> {
        Request {
            params,
            src,
            dst,
            stream: None,
            last: true,
            sync_flush: false,
            prev_block: BlockType::Compressed,
        }
    }

    /// A block request that is a part of a stream (`last` unset: see [`Request::last`]).
    pub fn part(params: ReqParams, src: Src<'a>, dst: Dst<'a, 'b>, last: bool) -> Request<'a, 'b> {
        Request {
            last,
            ..Request::block(params, src, dst)
        }
    }
}

/// Memory that the caller owns and keeps valid until its async request completes: what
/// the C ABI passes (UADK's shared-virtual-address buffers).
#[derive(Debug)]
pub struct RawBuf {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: by `RawBuf::new`'s contract the memory stays valid and unaliased until the job
// completes, whichever thread runs it.
unsafe impl Send for RawBuf {}

impl RawBuf {
    /// Wrap caller memory.
    ///
    /// # Safety
    /// `ptr` must be valid for reads and writes of `len` bytes, and nothing else may write
    /// it (or read it, for an output buffer), until the job holding it has completed.
    pub unsafe fn new(ptr: *mut u8, len: usize) -> RawBuf {
        RawBuf { ptr, len }
    }

    /// The address.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    fn slice(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: valid for `len` bytes by the constructor's contract.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    fn slice_mut(&mut self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: valid and exclusively ours for `len` bytes by the constructor's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

/// An owned buffer of an async job.
#[derive(Debug)]
pub enum JobBuf {
    /// One contiguous buffer; for output, its length is the space offered.
    Flat(Vec<u8>),
    /// Segments; for output, each segment's length is its space.
    List(Vec<Vec<u8>>),
    /// Caller memory (the C ABI); for output, its length is the space offered.
    Raw(RawBuf),
}

impl JobBuf {
    fn src(&self) -> Src<'_> {
        match self {
            JobBuf::Flat(v) => Src::Flat(v),
            JobBuf::List(l) => Src::Vecs(l),
            JobBuf::Raw(r) => Src::Flat(r.slice()),
        }
    }

    fn dst(&mut self) -> Dst<'_, 'static> {
        match self {
            JobBuf::Flat(v) => Dst::Flat(v),
            JobBuf::List(l) => Dst::Vecs(l),
            JobBuf::Raw(r) => Dst::Flat(r.slice_mut()),
        }
    }

    /// Total bytes.
    pub fn len(&self) -> usize {
        self.src().len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What an async request's callback receives.
#[derive(Debug)]
pub struct Completion {
    /// The input buffer, handed back.
    pub src: JobBuf,
    /// The output buffer; for a flat buffer, truncated to the bytes produced.
    pub dst: JobBuf,
    /// What the request did, or why it failed.
    pub result: Result<Output>,
}

/// Callback run by `poll` when an async request completes.
pub type Callback = Box<dyn FnOnce(Completion) + Send>;

/// The words an [`OnDone::Fn`] callback carries with its request.
pub type CallbackWords = [usize; 6];

/// What runs, exactly once, when an async request completes.
pub enum OnDone {
    /// A closure. Boxing it allocates, unless it captures nothing.
    Closure(Callback),
    /// A plain function and words of the caller's for it, kept in the request itself: no
    /// allocation (UADK's `cb` with its `cb_param`; the C ABI's requests go this way;
    /// `Session::submit_fn`).
    Fn(fn(Completion, CallbackWords), CallbackWords),
}

impl OnDone {
    /// Run it.
    pub fn call(self, c: Completion) {
        match self {
            OnDone::Closure(f) => f(c),
            OnDone::Fn(f, words) => f(c, words),
        }
    }
}

impl std::fmt::Debug for OnDone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OnDone::Closure(_) => "OnDone::Closure",
            OnDone::Fn(..) => "OnDone::Fn",
        })
    }
}

/// An owned async request.
pub struct Job {
    /// Algorithm, op, level, window.
    pub params: ReqParams,
    /// Input.
    pub src: JobBuf,
    /// Output space.
    pub dst: JobBuf,
    /// Run once on completion.
    pub callback: OnDone,
    /// Unset for a part that is not the last of its stream ([`Request::last`]).
    pub last: bool,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("params", &self.params)
            .field("src", &self.src.len())
            .field("dst", &self.dst.len())
            .finish()
    }
}

impl Job {
    /// Run the job's buffers through a block-request function.
    pub fn run_with(
        &mut self,
        f: impl FnOnce(&mut Request<'_, '_>) -> Result<Output>,
    ) -> Result<Output> {
        f(&mut Request::part(
            self.params,
            self.src.src(),
            self.dst.dst(),
            self.last,
        ))
    }

    /// Finish the job: trim the output and run the callback exactly once.
    pub fn complete(self, result: Result<Output>) {
        let Job {
            src,
            mut dst,
            callback,
            ..
        } = self;
        if let (JobBuf::Flat(v), Ok(o)) = (&mut dst, &result) {
            v.truncate(o.produced);
        }
        callback.call(Completion { src, dst, result });
    }
}

/// A wake-up shared by the contexts that finish async work and the threads that wait for it.
///
/// Announcing costs one atomic add while nobody waits (a poller that spins never pays for
/// a wake-up); waiters register before they sleep, so no announcement is lost.
#[derive(Debug, Default)]
pub struct Notify {
    seq: AtomicU64,
    waiters: AtomicU32,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Notify {
    /// Announce that something completed.
    pub fn signal(&self) {
        self.seq.fetch_add(1, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            // Taken so that a waiter between its check and its sleep is not missed.
            let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.cv.notify_all();
        }
    }

    /// Current sequence number, to wait on.
    pub fn seq(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }

    /// Wait until the sequence moves past `seen` or the timeout passes.
    pub fn wait(&self, seen: u64, timeout: Duration) {
        let g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let _unused = self
            .cv
            .wait_timeout_while(g, timeout, |_| self.seq.load(Ordering::SeqCst) == seen)
            .unwrap_or_else(|e| e.into_inner());
        self.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Every driver this build knows, highest priority first.
pub fn registry() -> Vec<Arc<dyn Driver>> {
    let mut v: Vec<Arc<dyn Driver>> = vec![
        Arc::new(cpu::CpuDriver::new()),
        Arc::new(hisi::HisiZipDriver::new()),
    ];
    v.sort_by_key(|d| std::cmp::Reverse(d.priority()));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgl_gather_scatter() {
        let a = [1u8, 2, 3];
        let b = [4u8, 5];
        let segs: [&[u8]; 2] = [&a, &b];
        let src = Src::List(&segs);
        let mut scratch = Vec::new();
        assert_eq!(src.contiguous(&mut scratch), &[1, 2, 3, 4, 5]);
        let mut x = [0u8; 2];
        let mut y = [0u8; 4];
        let mut outs: [&mut [u8]; 2] = [&mut x, &mut y];
        let mut dst = Dst::List(&mut outs);
        assert_eq!(dst.len(), 6);
        dst.scatter(&[9, 8, 7]);
        assert_eq!((x, y), ([9, 8], [7, 0, 0, 0]));
    }
}
