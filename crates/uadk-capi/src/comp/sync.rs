//! Sync requests: `wd_do_comp_sync` (a block, flat or SGL), `wd_do_comp_sync2` (any
//! size, through a stream) and `wd_do_comp_strm` (one call of a stream).

use super::req::{check_req, finish, segments, Outcome};
use super::sess::with_sess;
use crate::abi::*;
use crate::{guard, handle_t, EINVAL};
use libc::c_int;
use std::cell::RefCell;
use std::sync::atomic::Ordering;
use uadk::{Error, OpType, Output, Session};
/// Inputs up to this size are copied before compression on the CPU engine, so a caller
/// changing them meanwhile (QEMU compresses live guest RAM) still gets a stream whose
/// checksum matches: its codecs may read the input more than once (the body, then the
/// checksum). A device reads each byte once and makes both from that read, so requests
/// to hardware go uncopied (a request a device fails is copied before the CPU engine
/// finishes it: `Fallback::process`).
const PRIVATE_COPY_MAX: usize = 1 << 20;

thread_local! {
    static PRIVATE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
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
