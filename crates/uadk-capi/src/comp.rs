//! `libwd_comp` (version node `UADK_COMP_2.0`): init, sessions and requests.

use crate::abi::*;
use crate::handles::Slab;
use crate::sched::{self, ForeignSched, InitSched, PollPolicy};
use crate::wd::ctx_info;
use crate::{guard, handle_t, neg, EINVAL};
use libc::{c_char, c_int, c_void};
use std::cell::RefCell;
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use uadk::wd::env::{CtxNum, EnvConfig};
use uadk::wd::status::*;
use uadk::{
    Alg, Comp, CompConfig, CtxMode, CtxSpec, Error, JobBuf, Level, OpType, Output, RawBuf,
    SchedPolicy, Session, SessionSetup, TaskType, WindowSize,
};

/// The framework instance shared by every caller of the process, reference-counted:
/// QEMU initialises once per migration channel and tears down once per channel.
struct Global {
    comp: Option<Comp>,
    /// The caller's scheduler when `wd_comp_init` was given one not ours: its
    /// `sched_init` makes each session's key.
    sched: Option<Arc<ForeignSched>>,
    /// What `wd_comp_poll` calls after `wd_comp_init` (UADK's copy of the scheduler's
    /// `poll_policy`); otherwise the core polls every async context.
    poll: Option<PollPolicy>,
    /// `wd_comp_init` listed the caller's contexts for `wd_find_ctx`.
    listed: bool,
    refs: u32,
}

static GLOBAL: Mutex<Global> = Mutex::new(Global {
    comp: None,
    sched: None,
    poll: None,
    listed: false,
    refs: 0,
});

/// The id of the framework instance in place (0: none). Async requests remember the
/// instance they were submitted to: once it is torn down, their callbacks are not called
/// (UADK's uninit drops its message pool), because the caller may already have freed
/// what they point to (UADK's benchmark frees its callback tags before its uninit).
static INSTANCE: AtomicU64 = AtomicU64::new(0);
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// What `wd_comp_init` brings besides the framework: its scheduler and its contexts.
#[derive(Default)]
struct CallerSetup {
    sched: Option<Arc<ForeignSched>>,
    poll: Option<PollPolicy>,
    ctxs: Vec<handle_t>,
}

fn global() -> std::sync::MutexGuard<'static, Global> {
    GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn current() -> Option<Comp> {
    global().comp.clone()
}

fn current_with_sched() -> Option<(Comp, Option<Arc<ForeignSched>>)> {
    let g = global();
    g.comp.clone().map(|c| (c, g.sched.clone()))
}

/// Install a framework instance built by `build` unless one exists (then `-WD_EEXIST`).
pub(crate) fn install(build: impl FnOnce() -> uadk::Result<Comp>) -> c_int {
    install_with(CallerSetup::default(), build)
}

/// [`install`], remembering what `wd_comp_init`'s caller brought.
fn install_with(setup: CallerSetup, build: impl FnOnce() -> uadk::Result<Comp>) -> c_int {
    let mut g = global();
    if g.comp.is_some() {
        g.refs += 1;
        return -WD_EEXIST;
    }
    match build() {
        Ok(c) => {
            g.comp = Some(c);
            INSTANCE.store(
                NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
                Ordering::Release,
            );
            g.sched = setup.sched;
            g.poll = setup.poll;
            g.refs = 1;
            // As UADK's wd_init_ctx_config: the contexts are listed for wd_find_ctx
            // (hardware ones; libwd skips the rest).
            for &h in &setup.ctxs {
                list_ctx(h);
            }
            g.listed = !setup.ctxs.is_empty();
            0
        }
        Err(e) => {
            if crate::wd::wd_need_info() {
                eprintln!("uadk: init failed: {e}");
            }
            neg(&e)
        }
    }
}

fn release() {
    let old = {
        let mut g = global();
        if g.refs == 0 {
            return;
        }
        g.refs -= 1;
        if g.refs > 0 {
            return;
        }
        g.sched = None;
        g.poll = None;
        INSTANCE.store(0, Ordering::Release);
        if std::mem::take(&mut g.listed) {
            // UADK's wd_clear_ctx_config empties the whole list.
            unlist_ctxs();
        }
        g.comp.take()
    };
    // Dropped outside the lock: tearing down reaps in-flight requests and runs callbacks.
    drop(old);
}

/// The nodes set in a libnuma bitmask; `None` for no mask (NULL, or no bits behind it).
fn nodes_of(bmp: *const bitmask) -> Option<Vec<u32>> {
    if bmp.is_null() {
        return None;
    }
    // SAFETY: a libnuma bitmask from the caller: `size` bits in `maskp`.
    let b = unsafe { &*bmp };
    if b.maskp.is_null() {
        return None;
    }
    let size = (b.size as usize).min(64 * 64);
    let words = size.div_ceil(64);
    // SAFETY: libnuma allocates maskp with at least ceil(size/64) longs.
    let mask = unsafe { std::slice::from_raw_parts(b.maskp, words) };
    Some(
        (0..size)
            .filter(|&i| mask[i / 64] >> (i % 64) & 1 == 1)
            .map(|i| i as u32)
            .collect(),
    )
}

fn config_for(
    alg: Alg,
    sched_type: u32,
    task_type: c_int,
    params: *const wd_ctx_params,
) -> uadk::Result<CompConfig> {
    let policy = SchedPolicy::from_u32(sched_type)?;
    let task = TaskType::from_u32(
        u32::try_from(task_type)
            .map_err(|_| Error::InvalidParam(format!("task_type {task_type}")))?,
    )?;
    let env = EnvConfig::from_env()?;
    let mut cfg = CompConfig::new()
        .with_env(&env)
        .alg(alg)
        .policy(policy)
        .task_type(task);
    // Poll threads are wd_comp_env_init's alone: UADK reads WD_COMP_ASYNC_POLL_EN there.
    cfg.poll_threads.clear();
    // WD_COMP_CTX_NUM, when set, comes before the caller's ctx_params (UADK's
    // wd_ctx_param_init): its nodes are the ones it names.
    if env.ctx_num.is_some() {
        return Ok(cfg);
    }
    // As UADK's wd_alg_ctx_init: contexts go only to nodes that have a device serving
    // the algorithm (for the CPU engine, every node).
    let usable = crate::wd::device_nodes(alg.name(), task == TaskType::Instr);
    if params.is_null() {
        cfg.ctx_num.retain(|c| usable.contains(&c.node));
    } else {
        // SAFETY: non-NULL pointer to the caller's wd_ctx_params.
        let p = unsafe { &*params };
        if p.op_type_num == 0 || p.op_type_num > 2 || p.ctx_set_num.is_null() {
            return Err(Error::InvalidParam(
                "ctx_params: op_type_num or ctx_set_num".into(),
            ));
        }
        // SAFETY: op_type_num entries, as UADK's API defines.
        let sets = unsafe { std::slice::from_raw_parts(p.ctx_set_num, p.op_type_num as usize) };
        // No mask is every node (UADK sets all bits).
        let mut nodes = nodes_of(p.bmp).unwrap_or_else(|| usable.clone());
        nodes.retain(|n| usable.contains(n));
        if nodes.is_empty() {
            return Err(Error::NoDevice(format!(
                "no device serving {} on the nodes of ctx_params.bmp",
                alg.name()
            )));
        }
        cfg.ctx_num.clear();
        for node in nodes {
            for (op, set) in OpType::ALL.iter().zip(sets) {
                for (mode, num) in [
                    (CtxMode::Sync, set.sync_ctx_num),
                    (CtxMode::Async, set.async_ctx_num),
                ] {
                    if num > 0 {
                        cfg.ctx_num.push(CtxNum {
                            mode,
                            op: *op,
                            num,
                            node,
                        });
                    }
                }
            }
        }
    }
    Ok(cfg)
}

/// Initialise for `alg` (`wd_comp_init2` is a macro calling this with NULL params).
#[no_mangle]
pub extern "C" fn wd_comp_init2_(
    alg: *mut c_char,
    sched_type: u32,
    task_type: c_int,
    ctx_params: *mut wd_ctx_params,
) -> c_int {
    guard(EINVAL, || {
        if alg.is_null() {
            return EINVAL;
        }
        // SAFETY: NUL-terminated string by contract.
        let Ok(name) = unsafe { CStr::from_ptr(alg) }.to_str() else {
            return EINVAL;
        };
        let alg = match name.parse::<Alg>() {
            Ok(a) => a,
            Err(e) => return neg(&e),
        };
        install(|| Comp::new(config_for(alg, sched_type, task_type, ctx_params)?))
    })
}

/// Tear down one `wd_comp_init2_`: the last one stops the engine (sessions still open keep
/// working until freed). Async requests still in flight are finished and discarded, their
/// callbacks not called, as in UADK; the same holds for the other uninits.
#[no_mangle]
pub extern "C" fn wd_comp_uninit2() {
    guard((), release)
}

const LIVE: u32 = 0x5e55_10fe;
const DEAD: u32 = 0xdead_5e55;

/// Inputs up to this size are copied before compression on the CPU engine, so a caller
/// changing them meanwhile (QEMU compresses live guest RAM) still gets a stream whose
/// checksum matches: its codecs may read the input more than once (the body, then the
/// checksum). A device reads each byte once and makes both from that read, so requests
/// to hardware go uncopied (a request a device fails is copied before the CPU engine
/// finishes it: `Fallback::process`).
const PRIVATE_COPY_MAX: usize = 1 << 20;

/// A session handle: a slot of [`SESSIONS`], never freed; a freed session is marked dead
/// and its slot reused, so a stale handle reads as an error instead of freed memory.
pub(crate) struct CSess {
    magic: AtomicU32,
    sess: RwLock<Option<Session>>,
    /// Compression stream input reported as unconsumed though the codec took it (see
    /// `wd_do_comp_strm`).
    held: AtomicU32,
    /// The key a caller's scheduler made for this session (freed with it, as UADK does).
    sched_key: AtomicUsize,
    /// The CPU engine serves the session (see `async_bufs`).
    cpu_engine: AtomicBool,
}

impl CSess {
    fn dead() -> CSess {
        CSess {
            magic: AtomicU32::new(DEAD),
            sess: RwLock::new(None),
            held: AtomicU32::new(0),
            sched_key: AtomicUsize::new(0),
            cpu_engine: AtomicBool::new(false),
        }
    }
}

/// Every session slot ever issued: a handle is looked up here, never trusted as an address.
static SESSIONS: Slab<CSess> = Slab::new(CSess::dead);

pub(crate) fn with_sess<T>(h: handle_t, f: impl FnOnce(&Session, &CSess) -> T) -> Option<T> {
    let cs = SESSIONS.get(h)?;
    if cs.magic.load(Ordering::Acquire) != LIVE {
        return None;
    }
    let g = cs.sess.read().unwrap_or_else(|e| e.into_inner());
    g.as_ref().map(|s| f(s, cs))
}

/// A session setup; `sched_param` is read as UADK's `struct sched_params` unless the
/// caller brought its own scheduler (which alone knows what it points to).
fn setup_from(s: &wd_comp_sess_setup, foreign: bool) -> uadk::Result<SessionSetup> {
    let alg = Alg::from_u32(s.alg_type)?;
    let op = OpType::from_u32(s.op_type)?;
    let level = if alg == Alg::Zstd {
        // uadk/wd_comp_ext.h: zstd's own level, negative ones included; 0 = its default.
        Level::zstd(s.comp_lv as i32)?
    } else {
        // A zero-filled setup means level 1, as UADK.
        Level::new(s.comp_lv.max(1))?
    };
    let window = WindowSize::from_u32(s.win_sz)?;
    let mut setup = SessionSetup::new(alg, op).level(level).window(window);
    if !s.sched_param.is_null() && !foreign {
        // SAFETY: UADK's sched_param is a struct sched_params for its schedulers.
        let sp = unsafe { &*(s.sched_param as *const sched_params) };
        if sp.numa_id >= 0 {
            setup = setup.node(sp.numa_id as u32);
        }
    }
    Ok(setup)
}

/// Open a session; 0 on failure.
#[no_mangle]
pub extern "C" fn wd_comp_alloc_sess(setup: *mut wd_comp_sess_setup) -> handle_t {
    guard(0, || {
        if setup.is_null() {
            return 0;
        }
        let Some((comp, sched)) = current_with_sched() else {
            return 0;
        };
        // SAFETY: non-NULL pointer to the caller's setup.
        let raw = unsafe { &*setup };
        let Ok(mut setup) = setup_from(raw, sched.is_some()) else {
            return 0;
        };
        let mut key = 0;
        if let Some(f) = &sched {
            match f.session_key(raw.sched_param) {
                Some(k) => key = k,
                None => return 0,
            }
            setup = setup.sched_token(key);
        }
        let Ok(sess) = comp.session(&setup) else {
            free_key(key);
            return 0;
        };
        // The session's own engine: zstd and lz4 decompression run on the CPU engine
        // beside a hardware driver.
        let on_cpu = sess.driver_name() == uadk::drv::cpu::DRIVER_NAME;
        // A dead slot, ours until it is marked live.
        let Some((h, cs)) = SESSIONS.take() else {
            free_key(key);
            return 0;
        };
        *cs.sess.write().unwrap_or_else(|e| e.into_inner()) = Some(sess);
        cs.held.store(0, Ordering::Relaxed);
        cs.sched_key.store(key, Ordering::Relaxed);
        cs.cpu_engine.store(on_cpu, Ordering::Relaxed);
        cs.magic.store(LIVE, Ordering::Release);
        h
    })
}

/// Free a key from a caller's `sched_init` as UADK does (with `free()`).
fn free_key(key: usize) {
    if key != 0 {
        // SAFETY: UADK's contract: sched_init returns malloc'd memory (or NULL), owned by
        // the session from then on; freed once, here.
        unsafe { libc::free(key as *mut libc::c_void) };
    }
}

/// Close a session. NULL, stale and repeated frees are ignored.
#[no_mangle]
pub extern "C" fn wd_comp_free_sess(h_sess: handle_t) {
    guard((), || {
        let Some(cs) = SESSIONS.get(h_sess) else {
            return;
        };
        if cs
            .magic
            .compare_exchange(LIVE, DEAD, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        let old = cs.sess.write().unwrap_or_else(|e| e.into_inner()).take();
        drop(old);
        free_key(cs.sched_key.swap(0, Ordering::Relaxed));
        SESSIONS.put(h_sess);
    })
}

/// Start a new stream on a session.
#[no_mangle]
pub extern "C" fn wd_comp_reset_sess(h_sess: handle_t) -> c_int {
    guard(EINVAL, || {
        with_sess(h_sess, |s, cs| {
            s.reset();
            cs.held.store(0, Ordering::Relaxed);
            0
        })
        .unwrap_or(EINVAL)
    })
}

thread_local! {
    static PRIVATE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Walk a datalist into segments of exactly `total` bytes in all (None if it is shorter).
fn segments<'a>(mut l: *const wd_datalist, total: u32) -> Option<Vec<&'a mut [u8]>> {
    let mut out = Vec::new();
    let mut left = total as usize;
    let mut guard_len = 0;
    while !l.is_null() && left > 0 {
        // SAFETY: a caller's datalist node.
        let n = unsafe { &*l };
        if n.data.is_null() && n.len > 0 {
            return None;
        }
        let take = (n.len as usize).min(left);
        if take > 0 {
            // SAFETY: the node describes `len` valid bytes at `data`.
            out.push(unsafe { std::slice::from_raw_parts_mut(n.data as *mut u8, take) });
        }
        left -= take;
        l = n.next;
        guard_len += 1;
        if guard_len > 1 << 20 {
            return None; // a cycle
        }
    }
    // A list shorter than the length the request claims is a bad request, not a short one.
    (left == 0).then_some(out)
}

enum Outcome {
    /// `stream_end`: a stream call reached the end of a decompression stream.
    Done {
        consumed: usize,
        produced: usize,
        stream_end: bool,
    },
    Failed(Error),
}

fn check_req(s: &Session, req: &wd_comp_req, allow_empty_src: bool) -> Result<(), c_int> {
    if req.op_type != s.params().op as u32 {
        return Err(EINVAL);
    }
    if req.data_fmt > WD_SGL_BUF || req.dst.is_null() || req.dst_len == 0 {
        return Err(EINVAL);
    }
    if (req.src.is_null() || req.src_len == 0) && !allow_empty_src {
        return Err(EINVAL);
    }
    Ok(())
}

/// Store an outcome in the request as UADK does: data errors are a request status with a
/// zero return; call errors are a negative return.
fn finish(req: &mut wd_comp_req, o: Outcome) -> c_int {
    match o {
        Outcome::Done {
            consumed,
            produced,
            stream_end,
        } => {
            req.src_len = consumed as u32;
            req.dst_len = produced as u32;
            // Block requests report 0 (QEMU treats any status as a failure); streams report
            // WD_STREAM_END when decompression reaches the end.
            req.status = if stream_end && req.op_type == OpType::Decompress as u32 {
                WD_STREAM_END as u32
            } else {
                WD_SUCCESS as u32
            };
            0
        }
        Outcome::Failed(e) => {
            req.dst_len = 0;
            req.status = e.req_status();
            if e.is_data_error() || matches!(e, Error::OutputTooSmall { .. }) {
                0
            } else {
                neg(&e)
            }
        }
    }
}

/// A result that took all of its input.
fn whole(consumed: usize, produced: usize) -> Output {
    Output {
        consumed,
        produced,
        end: true,
        lz77: None,
    }
}

fn run_block(s: &Session, req: &wd_comp_req, sync2: bool, cpu_engine: bool) -> Outcome {
    let src_len = req.src_len as usize;
    let res = if req.data_fmt == WD_SGL_BUF {
        let (Some(src), Some(mut dst)) = (
            segments(req.src as *const wd_datalist, req.src_len),
            segments(req.dst as *const wd_datalist, req.dst_len),
        ) else {
            return Outcome::Failed(Error::InvalidParam("bad wd_datalist".into()));
        };
        let src: Vec<&[u8]> = src.into_iter().map(|x| &*x).collect();
        s.process_sgl_output(&src, &mut dst)
    } else {
        // SAFETY: src/dst are non-NULL (checked) and describe caller buffers of these lengths.
        let (src, dst) = unsafe {
            (
                std::slice::from_raw_parts(req.src as *const u8, src_len),
                std::slice::from_raw_parts_mut(req.dst as *mut u8, req.dst_len as usize),
            )
        };
        let copy = cpu_engine && s.params().op == OpType::Compress && src_len <= PRIVATE_COPY_MAX;
        if copy {
            PRIVATE.with(|p| {
                let mut p = p.borrow_mut();
                p.clear();
                p.extend_from_slice(src);
                if sync2 {
                    s.process_sync2(&p, dst).map(|n| whole(src_len, n))
                } else {
                    s.process_output(&p, dst)
                }
            })
        } else if sync2 {
            s.process_sync2(src, dst).map(|n| whole(src_len, n))
        } else {
            s.process_output(src, dst)
        }
    };
    // `src_len` on return is the input the stream took (UADK: `msg.in_cons`).
    match res {
        Ok(o) => Outcome::Done {
            consumed: o.consumed,
            produced: o.produced,
            stream_end: false,
        },
        Err(e) => Outcome::Failed(e),
    }
}

fn block_entry(h_sess: handle_t, req: *mut wd_comp_req, sync2: bool) -> c_int {
    guard(EINVAL, || {
        if req.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL pointer to the caller's request, exclusively ours for the call.
        let req = unsafe { &mut *req };
        with_sess(h_sess, |s, cs| {
            if let Err(rc) = check_req(s, req, false) {
                return rc;
            }
            if crate::lz77::is_lz77(s) {
                return match sync2 {
                    true => crate::lz77::sync2(s, req),
                    false => crate::lz77::sync(s, req),
                };
            }
            if sync2 && req.data_fmt != WD_FLAT_BUF {
                return EINVAL;
            }
            let o = run_block(s, req, sync2, cs.cpu_engine.load(Ordering::Relaxed));
            finish(req, o)
        })
        .unwrap_or(EINVAL)
    })
}

/// Sync block request.
#[no_mangle]
pub extern "C" fn wd_do_comp_sync(h_sess: handle_t, req: *mut wd_comp_req) -> c_int {
    block_entry(h_sess, req, false)
}

/// Sync request of any size, carried through a stream.
#[no_mangle]
pub extern "C" fn wd_do_comp_sync2(h_sess: handle_t, req: *mut wd_comp_req) -> c_int {
    block_entry(h_sess, req, true)
}

/// One call of a stream.
///
/// UADK's callers decide that a compression stream ended when `last` is set and all
/// input was consumed. So calls before the last sync-flush (nothing stays in the codec),
/// and when the output buffer fills up with all input taken, one byte is reported
/// unconsumed (and skipped when the caller offers it again) until the output is out.
#[no_mangle]
pub extern "C" fn wd_do_comp_strm(h_sess: handle_t, req: *mut wd_comp_req) -> c_int {
    guard(EINVAL, || {
        if req.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL pointer to the caller's request.
        let req = unsafe { &mut *req };
        with_sess(h_sess, |s, cs| {
            if let Err(rc) = check_req(s, req, true) {
                return rc;
            }
            if crate::lz77::is_lz77(s) {
                return crate::lz77::strm(s, req);
            }
            if req.data_fmt != WD_FLAT_BUF || (req.src.is_null() && req.src_len > 0) {
                return EINVAL;
            }
            let held = cs.held.swap(0, Ordering::Relaxed) as usize;
            let len = req.src_len as usize;
            if held > len {
                return EINVAL;
            }
            let src: &[u8] = if len == 0 {
                &[]
            } else {
                // SAFETY: non-NULL, `src_len` bytes by contract.
                unsafe { std::slice::from_raw_parts(req.src as *const u8, len) }
            };
            // SAFETY: dst non-NULL (checked), `dst_len` bytes by contract.
            let dst =
                unsafe { std::slice::from_raw_parts_mut(req.dst as *mut u8, req.dst_len as usize) };
            let comp = s.params().op == OpType::Compress;
            // Compression calls before the last one sync-flush, as the hardware emits each
            // request's output: nothing stays inside the codec for a final empty call.
            let sync = comp && req.last == 0;
            let o = match s.stream_flush(&src[held..], dst, req.last != 0, sync) {
                Ok(o) => {
                    let mut consumed = held + o.consumed;
                    // Output left inside (the buffer filled up) with all input taken: keep
                    // one byte back so the caller comes again, instead of concluding.
                    let full = o.produced == req.dst_len as usize;
                    if comp && !o.end && consumed == len && len > 0 && (req.last != 0 || full) {
                        consumed -= 1;
                        cs.held.store(1, Ordering::Relaxed);
                    }
                    Outcome::Done {
                        consumed,
                        produced: o.produced,
                        stream_end: o.end,
                    }
                }
                Err(e) => Outcome::Failed(e),
            };
            finish(req, o)
        })
        .unwrap_or(EINVAL)
    })
}

/// The library's copy of a flat async request, as words of its job (`OnDone::Fn`): the
/// callback, its parameter, `priv`, the framework instance, `op_type` and `data_fmt`,
/// `last`. The buffers and their lengths come back in the completion.
fn async_words(r: &wd_comp_req, cb: wd_alg_comp_cb_t, instance: u64) -> uadk::CallbackWords {
    [
        cb as usize,
        r.cb_param as usize,
        r.priv_ as usize,
        instance as usize,
        r.op_type as usize | (r.data_fmt as usize) << 32,
        r.last as usize,
    ]
}

/// Complete a flat async request from its words (see [`async_words`]): the library's copy
/// of the request, with the results, goes to the caller's callback.
fn async_done(c: uadk::Completion, w: uadk::CallbackWords) {
    if INSTANCE.load(Ordering::Acquire) as usize != w[3] {
        // Finished while (or after) its framework was torn down: discarded, nothing of
        // the caller's is touched.
        return;
    }
    let raw = |b: &JobBuf| match b {
        JobBuf::Raw(r) => (r.as_ptr() as *mut c_void, b.len() as u32),
        _ => (std::ptr::null_mut(), 0),
    };
    let ((src, src_len), (dst, dst_len)) = (raw(&c.src), raw(&c.dst));
    // SAFETY: the word was made from this very function pointer by `async_words`.
    let cb = unsafe { std::mem::transmute::<usize, wd_alg_comp_cb_t>(w[0]) };
    let mut req = wd_comp_req {
        src,
        src_len,
        dst,
        dst_len,
        cb: Some(cb),
        cb_param: w[1] as *mut c_void,
        op_type: w[4] as u32,
        data_fmt: (w[4] >> 32) as u32,
        last: w[5] as u32,
        status: 0,
        priv_: w[2] as *mut c_void,
    };
    let o = match c.result {
        Ok(o) => Outcome::Done {
            consumed: src_len as usize,
            produced: o.produced,
            stream_end: false,
        },
        Err(e) => Outcome::Failed(e),
    };
    finish(&mut req, o);
    // SAFETY: calling the caller's callback with the library's copy of its request.
    unsafe { cb(&mut req, req.cb_param) };
}

/// The library's copy of an async request, made at submit (UADK's `fill_comp_msg`): the
/// callback gets it with the results; the caller's own struct is not written after submit.
struct ReqCopy(Box<wd_comp_req>);
// SAFETY: plain data and the caller's pointers, which the async contract keeps valid
// until the callback has run; only the completing thread uses the copy, once.
unsafe impl Send for ReqCopy {}

/// The caller's output segments of an async SGL request, filled when it completes.
struct OutSegs(Vec<(*mut u8, usize)>);
// SAFETY: UADK's async contract: the caller keeps the list's memory valid and untouched
// until the callback runs; only the completing thread writes it, once.
unsafe impl Send for OutSegs {}

impl OutSegs {
    /// Copy `data` into the segments in order (it fits: the job's output space was their sum).
    fn scatter(&self, mut data: &[u8]) {
        for &(p, len) in &self.0 {
            if data.is_empty() {
                break;
            }
            let n = len.min(data.len());
            // SAFETY: `p` is valid for `len` bytes (see the type), and `n <= len`.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, n) };
            data = &data[n..];
        }
    }
}

/// The buffers of an async request. For SGL, the input gathered now and the output
/// produced into a flat buffer, then scattered into the caller's list when the request
/// completes. Flat buffers are the caller's memory, which the device reaches directly
/// (SVA), except on the CPU engine (`bounce`): its workers are the library's own code, so
/// they work on copies, and the output reaches the caller's buffer when the request is
/// reaped, just before the callback; after a teardown, never. A device that touches a
/// buffer the caller freed early faults the request (the model checks each page); the
/// CPU engine then touches none.
fn async_bufs(r: &wd_comp_req, bounce: bool) -> Option<(JobBuf, JobBuf, Option<OutSegs>)> {
    if r.data_fmt == WD_SGL_BUF {
        let src = segments(r.src as *const wd_datalist, r.src_len)?;
        let dst = segments(r.dst as *const wd_datalist, r.dst_len)?;
        let mut flat = Vec::with_capacity(r.src_len as usize);
        for seg in &src {
            flat.extend_from_slice(seg);
        }
        let out = OutSegs(dst.into_iter().map(|d| (d.as_mut_ptr(), d.len())).collect());
        let space = JobBuf::Flat(vec![0u8; r.dst_len as usize]);
        return Some((JobBuf::Flat(flat), space, Some(out)));
    }
    if bounce {
        // SAFETY: src/dst non-NULL (checked) and of these lengths, valid now by contract.
        let src = unsafe { std::slice::from_raw_parts(r.src as *const u8, r.src_len as usize) };
        let out = OutSegs(vec![(r.dst as *mut u8, r.dst_len as usize)]);
        let space = JobBuf::Flat(vec![0u8; r.dst_len as usize]);
        return Some((JobBuf::Flat(src.to_vec()), space, Some(out)));
    }
    // SAFETY: UADK's async contract: the buffers stay valid and untouched until the
    // callback runs.
    let (src, dst) = unsafe {
        (
            RawBuf::new(r.src as *mut u8, r.src_len as usize),
            RawBuf::new(r.dst as *mut u8, r.dst_len as usize),
        )
    };
    Some((JobBuf::Raw(src), JobBuf::Raw(dst), None))
}

/// Async block request: returns at once. As UADK, the request is copied now and the
/// callback runs from `wd_comp_poll` (or a poll thread) with the library's copy, holding
/// the results (`src_len`, `dst_len`, `status`); the caller's struct is not written, and
/// may be reused or go out of scope once this returns. The buffers must stay valid until
/// the callback. SGL requests (`WD_SGL_BUF`) have their output scattered into the caller's
/// `list_dst` before the callback runs.
#[no_mangle]
pub extern "C" fn wd_do_comp_async(h_sess: handle_t, req: *mut wd_comp_req) -> c_int {
    guard(EINVAL, || {
        if req.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL pointer to the caller's request, read only.
        let r = unsafe { &*req };
        with_sess(h_sess, |s, cs| {
            if let Err(rc) = check_req(s, r, false) {
                return rc;
            }
            let bounce = cs.cpu_engine.load(Ordering::Relaxed);
            if crate::lz77::is_lz77(s) {
                let instance = INSTANCE.load(Ordering::Acquire);
                let live = Box::new(move || INSTANCE.load(Ordering::Acquire) == instance);
                return crate::lz77::submit(s, r, bounce, live);
            }
            let Some(cb) = r.cb else { return EINVAL };
            let Some((src, dst, out_segs)) = async_bufs(r, bounce) else {
                return EINVAL; // a datalist shorter than the lengths claimed
            };
            let instance = INSTANCE.load(Ordering::Acquire);
            if out_segs.is_none() {
                // Flat buffers the device reaches itself: the copy of the request travels
                // in the job's words, so the request allocates nothing.
                let words = async_words(r, cb, instance);
                return match s.submit_fn(src, dst, async_done, words) {
                    Ok(()) => 0,
                    Err(e) => neg(&e.error),
                };
            }
            let copy = ReqCopy(Box::new(*r));
            let callback = Box::new(move |c: uadk::Completion| {
                let mut copy = copy;
                if INSTANCE.load(Ordering::Acquire) != instance {
                    // Finished while (or after) its framework was torn down: discarded,
                    // nothing of the caller's is touched.
                    return;
                }
                let req: &mut wd_comp_req = &mut copy.0;
                let src_len = req.src_len as usize;
                let o = match c.result {
                    Ok(o) => {
                        if let (Some(segs), JobBuf::Flat(v)) = (&out_segs, &c.dst) {
                            segs.scatter(&v[..o.produced.min(v.len())]);
                        }
                        Outcome::Done {
                            consumed: src_len,
                            produced: o.produced,
                            stream_end: false,
                        }
                    }
                    Err(e) => Outcome::Failed(e),
                };
                finish(req, o);
                // SAFETY: calling the caller's callback with its own request and parameter.
                unsafe { cb(req, req.cb_param) };
            });
            match s.submit(src, dst, callback) {
                Ok(()) => 0,
                Err(e) => neg(&e.error),
            }
        })
        .unwrap_or(EINVAL)
    })
}

fn poll_with(count: *mut u32, f: impl FnOnce(&Comp) -> uadk::Result<u32>) -> c_int {
    guard(EINVAL, || {
        if count.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL pointer to the caller's counter.
        unsafe { *count = 0 };
        let Some(comp) = current() else { return EINVAL };
        match f(&comp) {
            Ok(n) => {
                // SAFETY: as above.
                unsafe { *count = n };
                0
            }
            Err(e) => neg(&e),
        }
    })
}

/// Reap up to `expt` async completions. After `wd_comp_init`, the scheduler's
/// `poll_policy` does it, as in UADK (ours calls the `user_poll_func` given to
/// `wd_sched_rr_alloc` for each async context); otherwise every async context is polled.
#[no_mangle]
pub extern "C" fn wd_comp_poll(expt: u32, count: *mut u32) -> c_int {
    // One look at the framework for both (a poll that finds nothing is the hot case).
    let (policy, comp) = guard((None, None), || {
        let g = global();
        (
            g.poll,
            if g.poll.is_none() {
                g.comp.clone()
            } else {
                None
            },
        )
    });
    if let Some(p) = policy {
        if count.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL pointer to the caller's counter; the policy adds to it.
        unsafe { *count = 0 };
        return guard(EINVAL, || p.poll(expt, count));
    }
    guard(EINVAL, || {
        if count.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL pointer to the caller's counter.
        unsafe { *count = 0 };
        let Some(comp) = comp else { return EINVAL };
        match comp.poll(expt) {
            Ok(n) => {
                // SAFETY: as above.
                unsafe { *count = n };
                0
            }
            Err(e) => neg(&e),
        }
    })
}

/// Reap up to `expt` async completions of one context; `expt` 0 is refused with
/// `-WD_EINVAL`, as UADK does (it means "all" only for `wd_comp_poll` here).
#[no_mangle]
pub extern "C" fn wd_comp_poll_ctx(idx: u32, expt: u32, count: *mut u32) -> c_int {
    if expt == 0 {
        return EINVAL;
    }
    poll_with(count, |c| c.poll_ctx(idx as usize, expt))
}

/// The configuration of UADK's environment inits: the variables decide contexts and poll
/// threads (`WD_COMP_ASYNC_POLL_EN` is read here and only here, as in UADK); the
/// highest-priority driver present serves (the accelerator when there is one, as UADK's
/// env init, which opens device queues; else the CPU engine).
fn env_config() -> uadk::Result<CompConfig> {
    Ok(CompConfig::from_env()?.task_type(TaskType::Mix))
}

/// Initialise from UADK's environment variables (`WD_COMP_CTX_NUM`,
/// `WD_COMP_ASYNC_POLL_EN`, `WD_COMP_ASYNC_POLL_NUM`, `WD_COMP_EPOLL_EN`). The scheduler
/// argument is not used: the core's round-robin groups schedule.
#[no_mangle]
pub extern "C" fn wd_comp_env_init(_sched: *mut wd_sched) -> c_int {
    guard(EINVAL, || install(|| Comp::new(env_config()?)))
}

/// Tear down what `wd_comp_env_init` set up.
#[no_mangle]
pub extern "C" fn wd_comp_env_uninit() {
    guard((), release)
}

/// Initialise with `ctx_num` contexts of each mode and op type on every node.
#[no_mangle]
pub extern "C" fn wd_comp_ctx_num_init(node: u32, type_: u32, num: u32, mode: u8) -> c_int {
    guard(EINVAL, || {
        let Ok(op) = OpType::from_u32(type_) else {
            return EINVAL;
        };
        let mode = if mode == 0 {
            CtxMode::Sync
        } else {
            CtxMode::Async
        };
        if num == 0 {
            return EINVAL;
        }
        install(|| {
            let mut cfg = env_config()?;
            cfg.ctx_num = vec![CtxNum {
                mode,
                op,
                num,
                node,
            }];
            Comp::new(cfg)
        })
    })
}

/// Tear down what `wd_comp_ctx_num_init` set up.
#[no_mangle]
pub extern "C" fn wd_comp_ctx_num_uninit() {
    guard((), release)
}

/// Read `WD_COMP_*` environment settings into a context config (UADK's helper for
/// callers that build their own config); here it only validates the environment.
#[no_mangle]
pub extern "C" fn wd_comp_get_env_param(
    _node: u32,
    type_: u32,
    mode: u32,
    num: *mut u32,
    is_enable: *mut u8,
) -> c_int {
    guard(EINVAL, || {
        if num.is_null() || is_enable.is_null() || type_ > 1 || mode > 1 {
            return EINVAL;
        }
        let Ok(env) = EnvConfig::from_env() else {
            return EINVAL;
        };
        let want_mode = if mode == 0 {
            CtxMode::Sync
        } else {
            CtxMode::Async
        };
        let n: u32 = env
            .ctx_num
            .iter()
            .flatten()
            .filter(|c| c.mode == want_mode && c.op as u32 == type_)
            .map(|c| c.num)
            .sum();
        // SAFETY: non-NULL out-pointers from the caller.
        unsafe {
            *num = n;
            *is_enable = env.async_poll_en as u8;
        }
        0
    })
}

/// UADK's name for the contexts of `wd_comp` in libwd's context list (every algorithm).
const COMP_ALGS: &CStr = c"zlib gzip deflate lz77_zstd lz4 lz77_only";

/// libwd's `wd_insert_ctx_list` / `wd_remove_ctx_list`: the loaded library's exports when
/// there is one (see [`crate::libwd_export`]), else this copy's.
fn libwd_list_fns() -> (Option<usize>, Option<usize>) {
    static FNS: OnceLock<(Option<usize>, Option<usize>)> = OnceLock::new();
    *FNS.get_or_init(|| {
        (
            crate::libwd_export(c"wd_insert_ctx_list"),
            crate::libwd_export(c"wd_remove_ctx_list"),
        )
    })
}

fn list_ctx(h: handle_t) {
    type InsertFn = unsafe extern "C" fn(handle_t, *mut c_char) -> c_int;
    let name = COMP_ALGS.as_ptr() as *mut c_char;
    match libwd_list_fns().0 {
        Some(f) => {
            // SAFETY: libwd's export of that name, with wd_bmm.h's signature; it only
            // reads the name.
            let f = unsafe { std::mem::transmute::<*mut c_void, InsertFn>(f as *mut c_void) };
            // SAFETY: as above.
            unsafe { f(h, name) };
        }
        None => {
            crate::wd::wd_insert_ctx_list(h, name);
        }
    }
}

fn unlist_ctxs() {
    type RemoveFn = unsafe extern "C" fn();
    match libwd_list_fns().1 {
        Some(f) => {
            // SAFETY: libwd's export of that name, with wd_bmm.h's signature.
            let f = unsafe { std::mem::transmute::<*mut c_void, RemoveFn>(f as *mut c_void) };
            // SAFETY: as above.
            unsafe { f() };
        }
        None => crate::wd::wd_remove_ctx_list(),
    }
}

/// Initialise with a caller-built context configuration (contexts from `wd_request_ctx`)
/// and a scheduler: one from `wd_sched_rr_alloc` (whatever its fields say now), or the
/// caller's own `struct wd_sched` (its four members must be set, as UADK checks). Context
/// indices are the caller's, so `wd_comp_poll_ctx(i)` polls `config->ctxs[i]`.
///
/// Requests go to the driver of the contexts' devices: contexts on accelerator queues
/// (`hisi_zip-N`, real or modelled) are served by the hardware driver, contexts on the CPU
/// engine's pseudo-devices by the CPU engine (both kinds: the higher-priority driver).
/// `WD_COMP_ASYNC_POLL_EN` is not read here (UADK reads it in `wd_comp_env_init` only):
/// the caller polls. Hardware contexts are listed for `wd_find_ctx` until uninit.
#[no_mangle]
pub extern "C" fn wd_comp_init(config: *mut wd_ctx_config, sched: *mut wd_sched) -> c_int {
    guard(EINVAL, || {
        if config.is_null() || sched.is_null() {
            return EINVAL;
        }
        // SAFETY: non-NULL pointer from the caller.
        let cfg = unsafe { &*config };
        if cfg.ctx_num == 0 || cfg.ctxs.is_null() {
            return EINVAL;
        }
        let Some(how) = sched::for_init(sched) else {
            return EINVAL;
        };
        // SAFETY: ctx_num entries, by the API's contract.
        let ctxs = unsafe { std::slice::from_raw_parts(cfg.ctxs, cfg.ctx_num as usize) };
        let mut list = Vec::with_capacity(ctxs.len());
        let (mut on_cpu, mut on_hw) = (0, 0);
        for c in ctxs {
            let Some((node, on_cpu_engine)) = ctx_info(c.ctx as handle_t) else {
                return EINVAL;
            };
            let Ok(op) = OpType::from_u32(c.op_type as u32) else {
                return EINVAL;
            };
            let mode = match c.ctx_mode {
                0 => CtxMode::Sync,
                1 => CtxMode::Async,
                _ => return EINVAL,
            };
            if on_cpu_engine {
                on_cpu += 1;
            } else {
                on_hw += 1;
            }
            list.push(CtxSpec { node, mode, op });
        }
        let task = match (on_cpu, on_hw) {
            (_, 0) => TaskType::Instr,
            (0, _) => TaskType::Hw,
            _ => TaskType::Mix,
        };
        let mut c = match CompConfig::from_env() {
            Ok(c) => c.task_type(task),
            Err(e) => return crate::neg(&e),
        };
        c.poll_threads.clear();
        let poll = Some(how.poll_policy());
        let foreign = match how {
            InitSched::Builtin { policy, .. } => {
                c = c.policy(policy);
                None
            }
            InitSched::Caller(f) => {
                c = c.scheduler(f.clone());
                Some(f)
            }
        };
        c.ctx_list = Some(list);
        let setup = CallerSetup {
            sched: foreign,
            poll,
            ctxs: ctxs.iter().map(|c| c.ctx as handle_t).collect(),
        };
        install_with(setup, || Comp::new(c))
    })
}

/// Tear down what `wd_comp_init` set up.
#[no_mangle]
pub extern "C" fn wd_comp_uninit() {
    guard((), release)
}

/// A hardware driver's async message for context `idx` and `tag` (UADK's message pool,
/// which its drivers read back on completion). `wd_comp` here hands no request to a C
/// driver: the core owns every async request, so the pool holds no message and every
/// `(idx, tag)` answers NULL, as UADK answers for a tag outside its pool.
#[no_mangle]
pub extern "C" fn wd_comp_get_msg(_idx: u32, _tag: u32) -> *mut c_void {
    std::ptr::null_mut()
}
