//! What the request calls share: checking a `wd_comp_req`, walking its datalists, and
//! storing an outcome in it as UADK does.

use crate::abi::*;
use crate::{neg, EINVAL};
use libc::c_int;
use uadk::wd::status::*;
use uadk::{Error, OpType, Session};
/// Walk a datalist into segments of exactly `total` bytes in all (None if it is shorter).
pub(super) fn segments<'a>(mut l: *const wd_datalist, total: u32) -> Option<Vec<&'a mut [u8]>> {
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

pub(super) enum Outcome {
    /// `stream_end`: a stream call reached the end of a decompression stream.
    Done {
        consumed: usize,
        produced: usize,
        stream_end: bool,
    },
    Failed(Error),
}

pub(super) fn check_req(
    s: &Session,
    req: &wd_comp_req,
    allow_empty_src: bool,
) -> Result<(), c_int> {
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
pub(super) fn finish(req: &mut wd_comp_req, o: Outcome) -> c_int {
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
                // A call error says little by its code alone (most are -WD_EINVAL).
                if uadk::wd::env::log_info() {
                    eprintln!("uadk: request failed: {e}");
                }
                neg(&e)
            }
        }
    }
}
