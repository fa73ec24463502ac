//! How a [`Comp`](super::Comp) is set up: the driver's task type, the scheduler, contexts
//! per node, mode and op, poll threads; from code or from UADK's environment variables.

use crate::drv::CtxSpec;
use crate::error::Result;
use crate::req::{Alg, OpType};
use crate::sched::Scheduler;
use crate::wd::env::{CtxNum, EnvConfig};
use crate::wd::numa::Topology;
use crate::wd::{CtxMode, SchedPolicy, TaskType};
use std::sync::Arc;
use std::time::Duration;

/// How to set up a [`Comp`](super::Comp): what `wd_comp_init2_` and the environment decide.
#[derive(Debug, Clone)]
pub struct CompConfig {
    /// Algorithm the driver is chosen for; `None` takes the best driver overall.
    pub alg: Option<Alg>,
    /// Scheduling policy.
    pub policy: SchedPolicy,
    /// Hardware, CPU instructions, or both.
    pub task_type: TaskType,
    /// Contexts per mode, op type and node.
    pub ctx_num: Vec<CtxNum>,
    /// An explicit list of contexts, in index order (what `wd_comp_init`'s caller-built
    /// configuration gives); when set, it replaces `ctx_num`.
    pub ctx_list: Option<Vec<CtxSpec>>,
    /// Poll threads as (count, node); empty runs none (the caller polls).
    pub poll_threads: Vec<(u32, u32)>,
    /// Sync requests wait instead of busy polling (`WD_COMP_EPOLL_EN`).
    pub epoll: bool,
    /// Fail instead of falling back to the CPU engine when `TaskType::Hw` finds no hardware.
    pub hw_strict: bool,
    /// How long a hardware request may take before its queue is declared hung
    /// (`None`: the driver's default, see `UADK_HW_TIMEOUT_MS`).
    pub hw_timeout: Option<Duration>,
    /// A caller-supplied scheduler (what `wd_comp_init`'s `struct wd_sched` gives); when
    /// set, it replaces the built-in one of `policy`. See [`Scheduler`].
    pub scheduler: Option<Arc<dyn Scheduler>>,
}

impl Default for CompConfig {
    fn default() -> Self {
        CompConfig::new()
    }
}

impl CompConfig {
    /// Defaults: on every node, one context of each mode and op type per CPU of the node
    /// (at most 8), round-robin, CPU engine, no poll threads.
    pub fn new() -> CompConfig {
        let topo = Topology::get();
        let mut ctx_num = Vec::new();
        for &node in &topo.nodes {
            let n = topo.cpus_on(node).clamp(1, 8) as u32;
            for mode in CtxMode::ALL {
                for op in OpType::ALL {
                    ctx_num.push(CtxNum {
                        mode,
                        op,
                        num: n,
                        node,
                    });
                }
            }
        }
        CompConfig {
            alg: None,
            policy: SchedPolicy::RoundRobin,
            task_type: TaskType::Instr,
            ctx_num,
            ctx_list: None,
            poll_threads: Vec::new(),
            epoll: false,
            hw_strict: false,
            hw_timeout: None,
            scheduler: None,
        }
    }

    /// Defaults overridden by UADK's environment variables (see [`crate::wd::env`]).
    pub fn from_env() -> Result<CompConfig> {
        Ok(CompConfig::new().with_env(&EnvConfig::from_env()?))
    }

    /// Apply a parsed environment.
    pub fn with_env(mut self, env: &EnvConfig) -> CompConfig {
        if let Some(c) = &env.ctx_num {
            self.ctx_num = c.clone();
        }
        if env.async_poll_en {
            self.poll_threads = match &env.async_poll_num {
                Some(v) if !v.is_empty() => v.clone(),
                _ => vec![(1, Topology::get().nodes[0])],
            };
        }
        self.epoll = env.epoll_en;
        self.hw_strict = env.hw_strict;
        self
    }

    /// Choose the algorithm (as `wd_comp_init2`'s `alg`).
    pub fn alg(mut self, alg: Alg) -> Self {
        self.alg = Some(alg);
        self
    }

    /// Choose the scheduling policy.
    pub fn policy(mut self, p: SchedPolicy) -> Self {
        self.policy = p;
        self
    }

    /// Use a caller-supplied scheduler instead of the built-in one.
    pub fn scheduler(mut self, s: Arc<dyn Scheduler>) -> Self {
        self.scheduler = Some(s);
        self
    }

    /// Choose the task type.
    pub fn task_type(mut self, t: TaskType) -> Self {
        self.task_type = t;
        self
    }

    /// Set `num` contexts of this mode and op type on every node (0 removes them).
    pub fn ctxs(mut self, mode: CtxMode, op: OpType, num: u32) -> Self {
        self.ctx_num.retain(|c| !(c.mode == mode && c.op == op));
        if num > 0 {
            for &node in &Topology::get().nodes {
                self.ctx_num.push(CtxNum {
                    mode,
                    op,
                    num,
                    node,
                });
            }
        }
        self
    }

    /// Give hardware requests this long before their queue is declared hung.
    pub fn hw_timeout(mut self, t: Duration) -> Self {
        self.hw_timeout = Some(t);
        self
    }

    /// Run `n` poll threads on the first node (0 runs none).
    pub fn poll_threads(mut self, n: u32) -> Self {
        self.poll_threads = if n == 0 {
            Vec::new()
        } else {
            vec![(n, Topology::get().nodes[0])]
        };
        self
    }
}
