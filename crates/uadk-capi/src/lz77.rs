//! `lz77_zstd` and `lz77_only` requests of the C ABI: `req->priv` is a
//! `struct wd_lz77_zstd_data`, filled as UADK's driver fills it (`fill_buf_lz77_zstd*`,
//! `get_data_size_lz77_zstd`):
//! - `literals_start` = `dst` (SGL: `list_dst`), `sequences_start` = `dst + src_len + 16`
//!   (SGL: the `wd_datalist` entry where the sequences start);
//! - `lit_num`, `seq_num`; for `lz77_zstd` also `lit_length_overflow_cnt`/`_pos` and `freq`
//!   (the 784-byte table after the sequences and 8 bytes of overflow data);
//! - `blk_type` is read, not written: in stream mode it says how the caller emitted the
//!   previous block (`lz77_zstd` only, as UADK reads it nowhere else);
//! - `dst_len` comes back 0, as UADK reports it (its driver never sets `produced` for these
//!   algorithms), `src_len` the input consumed; a NULL `priv` is `-WD_EINVAL`.
//!
//! One deviation: for SGL output UADK sets `freq` to `sequences_start + 8 * seq_num + 8`
//! computed on the `wd_datalist` pointer, which points into the list node; here it is the
//! table's address inside the entries.

use crate::abi::*;
use crate::{neg, EINVAL};
use libc::{c_int, c_void};
use uadk::hw::lz77 as fmt;
use uadk::wd::status::*;
use uadk::{Alg, BlockType, Completion, Error, JobBuf, Output, RawBuf, Session};

/// True for an lz77 session.
pub(crate) fn is_lz77(s: &Session) -> bool {
    matches!(s.params().alg, Alg::Lz77Zstd | Alg::Lz77Only)
}

/// The caller's datalist as (node, data, len) triples, `total` bytes in all.
fn nodes(
    mut l: *const wd_datalist,
    total: u32,
) -> Option<Vec<(*const wd_datalist, *mut u8, usize)>> {
    let mut out = Vec::new();
    let mut left = total as usize;
    while !l.is_null() && left > 0 {
        // SAFETY: a caller's datalist node.
        let n = unsafe { &*l };
        if n.data.is_null() && n.len > 0 {
            return None;
        }
        let take = (n.len as usize).min(left);
        out.push((l, n.data as *mut u8, take));
        left -= take;
        l = n.next;
        if out.len() > 1 << 20 {
            return None;
        }
    }
    (left == 0).then_some(out)
}

/// Fill `req->priv` from a request's report. `segs` are the output entries of an SGL
/// request (node, data, len), `None` for a flat `dst`.
fn fill_priv(
    req: &mut wd_comp_req,
    alg: Alg,
    o: &Output,
    segs: Option<&[(*const wd_datalist, *mut u8, usize)]>,
) {
    let Some(m) = o.lz77 else { return };
    // SAFETY: non-NULL (checked before the request ran); the caller's struct.
    let d = unsafe { &mut *(req.priv_ as *mut wd_lz77_zstd_data) };
    let freq_at = m.seq_offset + m.seq_num as usize * fmt::SEQ_SIZE + fmt::OVERFLOW_DATA_SIZE;
    match segs {
        None => {
            let base = req.dst as *mut u8;
            d.literals_start = base.cast();
            d.sequences_start = base.wrapping_add(m.seq_offset).cast();
            if alg == Alg::Lz77Zstd {
                d.freq = base.wrapping_add(freq_at).cast();
            }
        }
        Some(segs) => {
            d.literals_start = req.dst;
            let mut at = 0;
            let mut seq_node = std::ptr::null();
            let mut freq = std::ptr::null_mut::<u8>();
            for &(node, data, len) in segs {
                if at == m.seq_offset {
                    seq_node = node;
                }
                if (at..at + len).contains(&freq_at) {
                    freq = data.wrapping_add(freq_at - at);
                }
                at += len;
            }
            d.sequences_start = seq_node as *mut c_void;
            if alg == Alg::Lz77Zstd {
                d.freq = freq.cast();
            }
        }
    }
    d.lit_num = m.lit_num;
    d.seq_num = m.seq_num;
    if alg == Alg::Lz77Zstd {
        d.lit_length_overflow_cnt = m.overflow_cnt;
        d.lit_length_overflow_pos = m.overflow_pos;
    }
}

/// Store a result as UADK does: 0 with `status` 0 and `dst_len` 0, or an engine failure as
/// `WD_IN_EPARA` with a zero return, or a call error as a negative return.
fn finish(
    req: &mut wd_comp_req,
    alg: Alg,
    r: uadk::Result<Output>,
    segs: Option<&[(*const wd_datalist, *mut u8, usize)]>,
) -> c_int {
    match r {
        Ok(o) => {
            fill_priv(req, alg, &o, segs);
            req.src_len = o.consumed as u32;
            req.dst_len = 0;
            req.status = WD_SUCCESS as u32;
            0
        }
        Err(e) => {
            req.dst_len = 0;
            if matches!(e, Error::OutputTooSmall { .. }) || e.is_data_error() {
                req.status = WD_IN_EPARA as u32;
                0
            } else {
                req.status = e.req_status();
                neg(&e)
            }
        }
    }
}

/// `wd_do_comp_sync` on an lz77 session.
pub(crate) fn sync(s: &Session, req: &mut wd_comp_req) -> c_int {
    if req.priv_.is_null() {
        return EINVAL;
    }
    let alg = s.params().alg;
    if req.data_fmt == WD_SGL_BUF {
        let (Some(src), Some(dst)) = (
            nodes(req.src as *const wd_datalist, req.src_len),
            nodes(req.dst as *const wd_datalist, req.dst_len),
        ) else {
            return EINVAL;
        };
        // SAFETY: each entry describes `len` valid caller bytes (UADK's contract).
        let srcs: Vec<&[u8]> = src
            .iter()
            .map(|&(_, p, n)| unsafe { std::slice::from_raw_parts(p as *const u8, n) })
            .collect();
        // SAFETY: as above; the output entries are the caller's and distinct.
        let mut dsts: Vec<&mut [u8]> = dst
            .iter()
            .map(|&(_, p, n)| unsafe { std::slice::from_raw_parts_mut(p, n) })
            .collect();
        let r = s.lz77_sgl(&srcs, &mut dsts);
        return finish(req, alg, r, Some(&dst));
    }
    // SAFETY: src/dst are non-NULL (checked) and describe caller buffers of these lengths.
    let (src, dst) = unsafe {
        (
            std::slice::from_raw_parts(req.src as *const u8, req.src_len as usize),
            std::slice::from_raw_parts_mut(req.dst as *mut u8, req.dst_len as usize),
        )
    };
    let r = s.lz77(src, dst).map(|o| Output {
        consumed: o.consumed(),
        produced: o.produced(),
        end: true,
        lz77: Some(*o.meta()),
    });
    finish(req, alg, r, None)
}

/// `wd_do_comp_strm` on an lz77 session (flat buffers only, as UADK's).
pub(crate) fn strm(s: &Session, req: &mut wd_comp_req) -> c_int {
    if req.priv_.is_null() || req.data_fmt != WD_FLAT_BUF || (req.src.is_null() && req.src_len > 0)
    {
        return EINVAL;
    }
    let alg = s.params().alg;
    let prev = if alg == Alg::Lz77Zstd {
        // SAFETY: non-NULL; the caller's struct.
        BlockType::from_u32(unsafe { (*(req.priv_ as *const wd_lz77_zstd_data)).blk_type })
    } else {
        BlockType::Compressed
    };
    let src: &[u8] = if req.src_len == 0 {
        &[]
    } else {
        // SAFETY: non-NULL, `src_len` bytes by contract.
        unsafe { std::slice::from_raw_parts(req.src as *const u8, req.src_len as usize) }
    };
    // SAFETY: dst non-NULL (checked by the caller of this function), `dst_len` bytes.
    let dst = unsafe { std::slice::from_raw_parts_mut(req.dst as *mut u8, req.dst_len as usize) };
    let r = s
        .lz77_stream(src, dst, req.last != 0, prev)
        .map(|o| Output {
            consumed: o.consumed(),
            produced: o.produced(),
            end: o.end(),
            lz77: Some(*o.meta()),
        });
    finish(req, alg, r, None)
}

/// `wd_do_comp_sync2` on an lz77 session: UADK's loop of stream calls on 128 KiB pieces of
/// input and output, each writing from the start of `dst` again (the driver reports no
/// output length), so `priv` describes the last piece.
pub(crate) fn sync2(s: &Session, req: &mut wd_comp_req) -> c_int {
    if req.priv_.is_null() || req.data_fmt != WD_FLAT_BUF {
        return EINVAL;
    }
    let chunk = uadk::comp::SYNC2_CHUNK as u32;
    let (total_in, total_out) = (req.src_len, req.dst_len);
    let mut piece = wd_comp_req { ..*req };
    let mut done = 0u32;
    s.reset();
    loop {
        piece.src = (req.src as *mut u8).wrapping_add(done as usize).cast();
        piece.src_len = (total_in - done).min(chunk);
        piece.dst_len = total_out.min(chunk);
        piece.last = (total_in - done <= chunk) as u32;
        let rc = strm(s, &mut piece);
        if rc < 0 || piece.status != 0 {
            req.status = piece.status;
            req.dst_len = 0;
            return if rc < 0 { rc } else { EINVAL };
        }
        done += piece.src_len;
        if piece.last != 0 && done == total_in {
            req.src_len = done;
            req.dst_len = 0;
            req.status = 0;
            return 0;
        }
        if piece.src_len == 0 && piece.last == 0 {
            return EINVAL;
        }
    }
}

/// A pointer that travels to the completing thread (UADK's async contract keeps the
/// request and its buffers alive and untouched until the callback).
struct Sent<T>(T);
// SAFETY: see above; only the callback uses it, once.
unsafe impl<T> Send for Sent<T> {}

/// `wd_do_comp_async` on an lz77 session, with the semantics of the other algorithms'
/// (`comp/submit.rs`): the request is copied now and the callback gets the copy; flat buffers are
/// the caller's memory except on the CPU engine (`bounce`), which works on copies written
/// back when the request is reaped; a request finishing after its framework was torn down
/// (`live` false) touches nothing of the caller's. SGL outputs travel as one owned buffer
/// per entry, so the engine sees the caller's entry boundaries.
pub(crate) fn submit(
    s: &Session,
    r: &wd_comp_req,
    bounce: bool,
    live: Box<dyn Fn() -> bool + Send>,
) -> c_int {
    if r.priv_.is_null() {
        return EINVAL;
    }
    let Some(cb) = r.cb else { return EINVAL };
    let alg = s.params().alg;
    let (src, dst, segs) = if r.data_fmt == WD_SGL_BUF {
        let (Some(src), Some(dst)) = (
            nodes(r.src as *const wd_datalist, r.src_len),
            nodes(r.dst as *const wd_datalist, r.dst_len),
        ) else {
            return EINVAL;
        };
        let mut flat = Vec::with_capacity(r.src_len as usize);
        for &(_, p, n) in &src {
            // SAFETY: the entry describes `n` valid caller bytes.
            flat.extend_from_slice(unsafe { std::slice::from_raw_parts(p as *const u8, n) });
        }
        let outs = dst.iter().map(|&(_, _, n)| vec![0u8; n]).collect();
        (JobBuf::Flat(flat), JobBuf::List(outs), Some(dst))
    } else if bounce {
        // SAFETY: src non-NULL (checked) and of this length, valid now by contract.
        let src = unsafe { std::slice::from_raw_parts(r.src as *const u8, r.src_len as usize) };
        (
            JobBuf::Flat(src.to_vec()),
            JobBuf::Flat(vec![0u8; r.dst_len as usize]),
            None,
        )
    } else {
        // SAFETY: UADK's async contract: the buffers stay valid and untouched until the
        // callback runs.
        let (src, dst) = unsafe {
            (
                RawBuf::new(r.src as *mut u8, r.src_len as usize),
                RawBuf::new(r.dst as *mut u8, r.dst_len as usize),
            )
        };
        (JobBuf::Raw(src), JobBuf::Raw(dst), None)
    };
    let sent = Sent((Box::new(*r), segs));
    let callback = Box::new(move |c: Completion| {
        let sent = sent;
        let (mut copy, segs) = sent.0;
        if !live() {
            return;
        }
        let req: &mut wd_comp_req = &mut copy;
        if let Ok(o) = &c.result {
            match (&segs, &c.dst) {
                (Some(segs), JobBuf::List(outs)) => {
                    for (&(_, p, n), v) in segs.iter().zip(outs) {
                        // SAFETY: the caller's entry of `n` bytes; `v` has `n` bytes.
                        unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), p, n) };
                    }
                }
                (None, JobBuf::Flat(v)) => {
                    let n = o.produced.min(v.len()).min(req.dst_len as usize);
                    // SAFETY: the caller's flat output of `dst_len` bytes, valid until the
                    // callback by contract; `n` fits both.
                    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), req.dst as *mut u8, n) };
                }
                _ => {}
            }
        }
        finish(req, alg, c.result, segs.as_deref());
        // SAFETY: calling the caller's callback with the request copy and its parameter.
        unsafe { cb(req, req.cb_param) };
    });
    match s.submit(src, dst, callback) {
        Ok(()) => 0,
        Err(e) => neg(&e.error),
    }
}
