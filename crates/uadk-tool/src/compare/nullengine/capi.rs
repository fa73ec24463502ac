//! The C ABI's side: a session through the `uadk_capi` entry points that
//! `libwd_comp.so.2` exports, its sync and async loops, and the C callback.

use super::child::{bound, executed, input, settle, Sample, Window};
use super::{ALG, WINDOW};
use crate::common::{Context, Error, Result};
use libc::c_void;
use std::cell::RefCell;
use std::time::Duration;
use uadk::Alg;
use uadk_capi::abi::{wd_comp_req, wd_comp_sess_setup, wd_ctx_nums, wd_ctx_params};
use uadk_capi::comp as capi;

thread_local! {
    /// Slots whose C requests completed, and whether any failed.
    static C_DONE: RefCell<(Vec<usize>, u64)> = const { RefCell::new((Vec::new(), 0)) };
}

/// A C session on the C ABI's framework (`wd_comp_init2_` with one sync and one async
/// compress context, as a `wd_ctx_params` asks).
pub(super) struct CSession {
    h: usize,
}

impl CSession {
    pub(super) fn open() -> Result<CSession> {
        let mut nums = [wd_ctx_nums {
            sync_ctx_num: 1,
            async_ctx_num: 1,
        }];
        let mut params = wd_ctx_params {
            op_type_num: 1,
            ctx_set_num: nums.as_mut_ptr(),
            bmp: std::ptr::null_mut(),
            cap: std::ptr::null_mut(),
        };
        let name = std::ffi::CString::new(ALG.name()).context("algorithm name")?;
        // 0: SCHED_POLICY_RR; 1: TASK_HW.
        let rc = capi::wd_comp_init2_(name.as_ptr() as *mut _, 0, 1, &mut params);
        if rc != 0 {
            return Err(Error::msg(format!("wd_comp_init2: {rc}")));
        }
        let alg_type = Alg::ALL.iter().position(|&a| a == ALG).unwrap_or(0) as u32;
        // SAFETY: an all-zero setup is valid (NULL pointers, no mm_ops).
        let mut setup: wd_comp_sess_setup = unsafe { std::mem::zeroed() };
        setup.alg_type = alg_type;
        setup.op_type = 0;
        setup.comp_lv = 1;
        setup.win_sz = 4;
        let h = capi::wd_comp_alloc_sess(&mut setup);
        if h == 0 {
            capi::wd_comp_uninit2();
            return Err(Error::msg("wd_comp_alloc_sess failed"));
        }
        Ok(CSession { h })
    }

    fn req(src: &[u8], dst: &mut [u8]) -> wd_comp_req {
        wd_comp_req {
            src: src.as_ptr() as *mut c_void,
            src_len: src.len() as u32,
            dst: dst.as_mut_ptr() as *mut c_void,
            dst_len: dst.len() as u32,
            cb: None,
            cb_param: std::ptr::null_mut(),
            op_type: 0,
            data_fmt: 0,
            last: 1,
            status: 0,
            priv_: std::ptr::null_mut(),
        }
    }

    pub(super) fn sync(&self, size: usize, d: Duration) -> Result<Sample> {
        let src = input(size);
        let mut dst = vec![0u8; bound(size)];
        let mut req = CSession::req(&src, &mut dst);
        let w = Window::start(d);
        let mut n = 0u64;
        while !w.over() {
            for _ in 0..64 {
                req.src_len = size as u32;
                req.dst_len = dst.len() as u32;
                let rc = capi::wd_do_comp_sync(self.h, &mut req);
                if rc != 0 || req.status != 0 {
                    return Err(Error::msg(format!(
                        "wd_do_comp_sync: {rc}, status {}",
                        req.status
                    )));
                }
            }
            n += 64;
        }
        Ok(w.sample(n, 0))
    }

    pub(super) fn run_async(&self, size: usize, d: Duration) -> Result<Sample> {
        let mut src: Vec<Vec<u8>> = (0..WINDOW).map(|_| input(size)).collect();
        let mut dst: Vec<Vec<u8>> = (0..WINDOW).map(|_| vec![0u8; bound(size)]).collect();
        let mut ready: Vec<usize> = (0..WINDOW).collect();
        C_DONE.with(|d| {
            let mut d = d.borrow_mut();
            d.0.clear();
            d.0.reserve(WINDOW);
            d.1 = 0;
        });
        let mut back = Vec::with_capacity(WINDOW);
        let mut in_flight = 0usize;
        let (mut n, mut empty) = (0u64, 0u64);
        let (mut over, mut calls) = (None, 0u32);
        let (base, mut sent) = (executed(), 0u64);
        let w = Window::start(d);
        let sample = loop {
            w.check(&mut calls, &mut over, n, empty);
            if over.is_none() {
                while let Some(i) = ready.pop() {
                    let mut req = CSession::req(&src[i], &mut dst[i]);
                    req.cb = Some(c_done);
                    req.cb_param = i as *mut c_void;
                    let rc = capi::wd_do_comp_async(self.h, &mut req);
                    if rc == 0 {
                        in_flight += 1;
                        sent += 1;
                    } else {
                        ready.push(i);
                        if rc != -libc::EBUSY {
                            return Err(Error::msg(format!("wd_do_comp_async: {rc}")));
                        }
                        break;
                    }
                }
            }
            if in_flight == 0 {
                break over.unwrap_or_else(|| w.sample(n, empty));
            }
            settle(base, sent);
            let mut count = 0u32;
            let rc = capi::wd_comp_poll(WINDOW as u32, &mut count);
            if rc != 0 && rc != -libc::EAGAIN {
                return Err(Error::msg(format!("wd_comp_poll: {rc}")));
            }
            if count == 0 {
                empty += 1;
            }
            let failed = C_DONE.with(|d| {
                let mut d = d.borrow_mut();
                std::mem::swap(&mut d.0, &mut back);
                std::mem::take(&mut d.1)
            });
            if failed > 0 {
                return Err(Error::msg(format!("{failed} async requests failed")));
            }
            in_flight -= back.len();
            if over.is_none() {
                n += back.len() as u64;
            }
            ready.append(&mut back);
        };
        // The buffers stayed in place until every callback ran.
        src.clear();
        dst.clear();
        Ok(sample)
    }
}

/// The C callback: the slot back to the loop, a failure counted.
unsafe extern "C" fn c_done(req: *mut wd_comp_req, param: *mut c_void) -> *mut c_void {
    // SAFETY: the library calls back with its copy of the request, valid for the call.
    let status = unsafe { (*req).status };
    C_DONE.with(|d| {
        let mut d = d.borrow_mut();
        d.0.push(param as usize);
        if status != 0 {
            d.1 += 1;
        }
    });
    std::ptr::null_mut()
}

impl Drop for CSession {
    fn drop(&mut self) {
        capi::wd_comp_free_sess(self.h);
        capi::wd_comp_uninit2();
    }
}
