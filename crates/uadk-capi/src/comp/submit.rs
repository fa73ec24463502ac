//! Async requests: `wd_do_comp_async`, the library's copy of each request (in its job's
//! words, or boxed with the SGL output segments), and the callback it completes with.

use super::instance::INSTANCE;
use super::req::{check_req, finish, segments, Outcome};
use super::sess::with_sess;
use crate::abi::*;
use crate::{guard, handle_t, neg, EINVAL};
use libc::{c_int, c_void};
use std::sync::atomic::Ordering;
use uadk::{JobBuf, RawBuf};
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
