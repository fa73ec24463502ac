//! Sessions (UADK's `wd_comp_alloc_sess`): their setup, and how a request finds its
//! context through the scheduler.

use super::init::{Comp, Inner};
use super::stream::StreamSlot;
use crate::error::{Error, Result};
use crate::req::{Alg, Level, OpType, ReqParams, WindowSize};
use crate::sched::SchedKey;
use crate::wd::CtxMode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// Parameters of a session (UADK's `wd_comp_sess_setup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSetup {
    /// Algorithm.
    pub alg: Alg,
    /// Direction.
    pub op: OpType,
    /// Level (compression).
    pub level: Level,
    /// Window (compression).
    pub window: WindowSize,
    /// Preferred NUMA node (UADK's `sched_param`); `None` lets the policy decide.
    pub node: Option<u32>,
    /// Opaque per-session value handed to the scheduler in [`SchedKey::token`].
    pub sched_token: usize,
}

impl SessionSetup {
    /// A setup with level 1 and the 32 KiB window.
    pub fn new(alg: Alg, op: OpType) -> SessionSetup {
        SessionSetup {
            alg,
            op,
            level: Level::default(),
            window: WindowSize::default(),
            node: None,
            sched_token: 0,
        }
    }

    /// Set the level.
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Set the window.
    pub fn window(mut self, window: WindowSize) -> Self {
        self.window = window;
        self
    }

    /// Prefer a NUMA node.
    pub fn node(mut self, node: u32) -> Self {
        self.node = Some(node);
        self
    }

    /// Set the per-session value a caller-supplied scheduler receives.
    pub fn sched_token(mut self, token: usize) -> Self {
        self.sched_token = token;
        self
    }
}

/// A compression or decompression session (UADK's `handle_t` session).
///
/// Block, sync2 and async requests may be issued from several threads at once; a stream
/// is one sequence of calls, serialized by the session.
pub struct Session {
    pub(super) comp: Arc<Inner>,
    pub(super) params: ReqParams,
    pub(super) key: SchedKey,
    pub(super) stream: Mutex<StreamSlot>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("params", &self.params)
            .finish()
    }
}

impl Session {
    /// Algorithm, op, level and window.
    pub fn params(&self) -> &ReqParams {
        &self.params
    }

    /// The framework instance this session runs on.
    pub fn comp(&self) -> Comp {
        Comp {
            inner: self.comp.clone(),
        }
    }

    /// The scheduler's pick, checked (a caller-supplied scheduler may return any index,
    /// UADK's `wd_check_ctx`), skipping contexts whose device has failed while others
    /// are still up.
    pub(super) fn pick(&self, mode: CtxMode) -> Result<usize> {
        let checked = |idx: usize| match self.comp.ctxs.get(idx) {
            Some(c) if c.spec.mode == mode => Ok(idx),
            Some(_) => Err(Error::InvalidParam(format!(
                "scheduler picked ctx {idx}, not a {} context",
                mode.name()
            ))),
            None => Err(Error::InvalidParam(format!(
                "scheduler picked ctx {idx} of {}",
                self.comp.ctxs.len()
            ))),
        };
        let next = || {
            self.comp
                .sched
                .pick(&self.key, mode)
                .ok_or_else(|| no_ctx(mode, self.params.op))
                .and_then(checked)
        };
        let first = next()?;
        if !self.comp.ctxs[first].down.load(Ordering::Relaxed) {
            return Ok(first);
        }
        for _ in 0..self.comp.ctxs.len().min(64) {
            match next() {
                Ok(i) if !self.comp.ctxs[i].down.load(Ordering::Relaxed) => return Ok(i),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(first)
    }
}

pub(super) fn no_ctx(mode: CtxMode, op: OpType) -> Error {
    Error::NoContext(format!(
        "no {}-{} context is configured",
        mode.name(),
        op.name()
    ))
}
