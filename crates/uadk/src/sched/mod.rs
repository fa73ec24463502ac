//! Schedulers: which context serves the next request.
//!
//! Contexts are grouped by (NUMA node, mode, op type), as UADK's `sched_rr` regions.
//! Round-robin rotates within a group; the NUMA-aware policy picks the group of the
//! calling thread's current node and falls back to the other nodes.

use crate::req::OpType;
use crate::wd::numa::Topology;
use crate::wd::{CtxMode, SchedPolicy};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a session tells the scheduler about itself (UADK's `sched_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedKey {
    /// Preferred node; `None` means any.
    pub node: Option<u32>,
    /// Op type of the session.
    pub op: OpType,
    /// Opaque per-session value for a caller-supplied scheduler (the C ABI puts the key
    /// that a `struct wd_sched`'s `sched_init` returned here); 0 when unused.
    pub token: usize,
}

/// Picks a context index for a request.
///
/// Besides [`RrScheduler`], a caller may supply its own through
/// [`CompConfig::scheduler`](crate::CompConfig::scheduler). The framework checks every
/// index it returns: one out of range, or of a context of the other mode, fails the
/// request with [`Error::InvalidParam`](crate::Error::InvalidParam).
pub trait Scheduler: Send + Sync {
    /// Policy name.
    fn name(&self) -> &'static str;
    /// A context for this key and mode, or `None` if no context serves them.
    fn pick(&self, key: &SchedKey, mode: CtxMode) -> Option<usize>;
}

impl std::fmt::Debug for dyn Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scheduler({})", self.name())
    }
}

#[derive(Debug, Default)]
struct Group {
    ctxs: Vec<usize>,
    next: AtomicUsize,
}

impl Group {
    fn rotate(&self) -> Option<usize> {
        let n = self.ctxs.len();
        match n {
            0 => None,
            1 => Some(self.ctxs[0]),
            _ => {
                let i = self.next.fetch_add(1, Ordering::Relaxed);
                // A mask where it can: a division per request is not free.
                let i = if n.is_power_of_two() {
                    i & (n - 1)
                } else {
                    i % n
                };
                Some(self.ctxs[i])
            }
        }
    }
}

/// UADK's scheduling policies over a fixed set of contexts.
#[derive(Debug)]
pub struct RrScheduler {
    policy: SchedPolicy,
    by_node: BTreeMap<(u32, CtxMode, OpType), Group>,
    /// Every node's contexts, by [`slot`] of mode and op type.
    any_node: [Group; 4],
}

/// Index of a (mode, op type) pair.
fn slot(mode: CtxMode, op: OpType) -> usize {
    let m = match mode {
        CtxMode::Sync => 0,
        CtxMode::Async => 1,
    };
    let o = match op {
        OpType::Compress => 0,
        OpType::Decompress => 1,
    };
    m * 2 + o
}

impl RrScheduler {
    /// Build the groups from each context's (node, mode, op), in index order.
    pub fn new(policy: SchedPolicy, ctxs: &[(u32, CtxMode, OpType)]) -> RrScheduler {
        let mut by_node: BTreeMap<_, Group> = BTreeMap::new();
        let mut any_node: [Group; 4] = Default::default();
        for (i, &(node, mode, op)) in ctxs.iter().enumerate() {
            by_node.entry((node, mode, op)).or_default().ctxs.push(i);
            any_node[slot(mode, op)].ctxs.push(i);
        }
        RrScheduler {
            policy,
            by_node,
            any_node,
        }
    }

    fn group(&self, node: u32, mode: CtxMode, op: OpType) -> Option<&Group> {
        self.by_node.get(&(node, mode, op))
    }
}

impl Scheduler for RrScheduler {
    fn name(&self) -> &'static str {
        match self.policy {
            SchedPolicy::RoundRobin => "rr",
            SchedPolicy::None => "none",
            SchedPolicy::Single => "single",
            SchedPolicy::Numa => "numa",
        }
    }

    fn pick(&self, key: &SchedKey, mode: CtxMode) -> Option<usize> {
        let any = &self.any_node[slot(mode, key.op)];
        if any.ctxs.is_empty() {
            return None;
        }
        match self.policy {
            SchedPolicy::None | SchedPolicy::Single => {
                let g = key.node.and_then(|n| self.group(n, mode, key.op));
                g.unwrap_or(any).ctxs.first().copied()
            }
            SchedPolicy::RoundRobin => match key.node.and_then(|n| self.group(n, mode, key.op)) {
                Some(g) => g.rotate(),
                None => any.rotate(),
            },
            SchedPolicy::Numa => {
                let node = key.node.unwrap_or_else(|| Topology::get().current_node());
                self.group(node, mode, key.op)
                    .and_then(Group::rotate)
                    .or_else(|| any.rotate())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CtxMode::*;
    use OpType::*;

    fn layout() -> Vec<(u32, CtxMode, OpType)> {
        vec![
            (0, Sync, Compress),
            (0, Sync, Compress),
            (1, Sync, Compress),
            (0, Sync, Decompress),
            (1, Async, Compress),
        ]
    }

    #[test]
    fn rr_rotates_within_node_group() {
        let s = RrScheduler::new(SchedPolicy::RoundRobin, &layout());
        let k = SchedKey {
            node: Some(0),
            op: Compress,
            token: 0,
        };
        let picks: Vec<_> = (0..4).map(|_| s.pick(&k, Sync).unwrap()).collect();
        assert_eq!(picks, vec![0, 1, 0, 1]);
        let k1 = SchedKey {
            node: Some(1),
            op: Compress,
            token: 0,
        };
        assert_eq!(s.pick(&k1, Sync), Some(2));
    }

    #[test]
    fn rr_without_node_covers_all_and_falls_back() {
        let s = RrScheduler::new(SchedPolicy::RoundRobin, &layout());
        let any = SchedKey {
            node: None,
            op: Compress,
            token: 0,
        };
        let mut seen: Vec<_> = (0..3).map(|_| s.pick(&any, Sync).unwrap()).collect();
        seen.sort();
        assert_eq!(seen, vec![0, 1, 2]);
        // Node 1 has no async ctx for decompress, and no node has one: None.
        let k = SchedKey {
            node: Some(1),
            op: Decompress,
            token: 0,
        };
        assert_eq!(s.pick(&k, Async), None);
        // Node 0 has no async compress ctx: falls back to node 1's.
        let k = SchedKey {
            node: Some(0),
            op: Compress,
            token: 0,
        };
        assert_eq!(s.pick(&k, Async), Some(4));
    }

    #[test]
    fn single_and_numa() {
        let s = RrScheduler::new(SchedPolicy::Single, &layout());
        let k = SchedKey {
            node: Some(0),
            op: Compress,
            token: 0,
        };
        assert_eq!(s.pick(&k, Sync), Some(0));
        assert_eq!(s.pick(&k, Sync), Some(0));
        let n = RrScheduler::new(SchedPolicy::Numa, &layout());
        let k = SchedKey {
            node: Some(1),
            op: Compress,
            token: 0,
        };
        assert_eq!(n.pick(&k, Sync), Some(2));
        let any = SchedKey {
            node: None,
            op: Decompress,
            token: 0,
        };
        assert_eq!(n.pick(&any, Sync), Some(3));
    }
}
