//! The inits and uninits: `wd_comp_init2_` (with `ctx_params`), the environment's
//! (`wd_comp_env_init`, `wd_comp_ctx_num_init`, `wd_comp_get_env_param`), and
//! `wd_comp_init` with the caller's contexts and scheduler.

use super::instance::{install, install_with, release, CallerSetup};
use crate::abi::*;
use crate::sched::{self, InitSched};
use crate::wd::ctx_info;
use crate::{guard, handle_t, neg, EINVAL};
use libc::{c_char, c_int};
use std::ffi::CStr;
use uadk::wd::env::{CtxNum, EnvConfig};
use uadk::{Alg, Comp, CompConfig, CtxMode, CtxSpec, Error, OpType, SchedPolicy, TaskType};
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
