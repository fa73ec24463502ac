//! NUMA topology from sysfs, and the calling thread's current node.

use std::sync::OnceLock;

/// Nodes and the node of each CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Online NUMA nodes, ascending. Never empty: a machine without NUMA is node 0.
    pub nodes: Vec<u32>,
    /// `cpu_node[cpu]` is the node of that CPU.
    pub cpu_node: Vec<u32>,
}

impl Topology {
    /// Read `/sys/devices/system/node` once per process.
    pub fn get() -> &'static Topology {
        static TOPO: OnceLock<Topology> = OnceLock::new();
        TOPO.get_or_init(|| Topology::read("/sys/devices/system/node"))
    }

    /// Read a sysfs node directory (tests point it elsewhere).
    pub fn read(root: &str) -> Topology {
        let mut nodes = Vec::new();
        let mut cpu_node = Vec::new();
        if let Ok(dir) = std::fs::read_dir(root) {
            for e in dir.flatten() {
                let name = e.file_name();
                let Some(n) = name
                    .to_str()
                    .and_then(|s| s.strip_prefix("node"))
                    .and_then(|s| s.parse::<u32>().ok())
                else {
                    continue;
                };
                nodes.push(n);
                let list = std::fs::read_to_string(e.path().join("cpulist")).unwrap_or_default();
                for cpu in parse_cpulist(&list) {
                    if cpu_node.len() <= cpu {
                        cpu_node.resize(cpu + 1, n);
                    }
                    cpu_node[cpu] = n;
                }
            }
        }
        nodes.sort_unstable();
        if nodes.is_empty() {
            nodes.push(0);
        }
        Topology { nodes, cpu_node }
    }

    /// CPUs on a node.
    pub fn cpus_on(&self, node: u32) -> usize {
        let n = self.cpu_node.iter().filter(|&&x| x == node).count();
        if n == 0 && self.cpu_node.is_empty() {
            std::thread::available_parallelism().map_or(1, |p| p.get())
        } else {
            n
        }
    }

    /// The node the calling thread runs on now.
    pub fn current_node(&self) -> u32 {
        // SAFETY: sched_getcpu has no preconditions; it returns -1 on failure.
        let cpu = unsafe { libc::sched_getcpu() };
        if cpu < 0 {
            return self.nodes[0];
        }
        self.cpu_node
            .get(cpu as usize)
            .copied()
            .unwrap_or(self.nodes[0])
    }
}

/// Parse a kernel CPU list such as `0-3,8,10-11`.
pub fn parse_cpulist(s: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    if b >= a && b - a < 65536 {
                        out.extend(a..=b);
                    }
                }
            }
            None => {
                if let Ok(a) = part.parse() {
                    out.push(a);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpulist() {
        assert_eq!(parse_cpulist("0-3,8,10-11\n"), vec![0, 1, 2, 3, 8, 10, 11]);
        assert_eq!(parse_cpulist(""), Vec::<usize>::new());
        assert_eq!(parse_cpulist("5-2,x"), Vec::<usize>::new());
    }

    #[test]
    fn fake_sysfs() {
        let d = std::env::temp_dir().join(format!("uadk-numa-{}", std::process::id()));
        for (n, l) in [(0, "0-1"), (1, "2-3")] {
            std::fs::create_dir_all(d.join(format!("node{n}"))).unwrap();
            std::fs::write(d.join(format!("node{n}/cpulist")), l).unwrap();
        }
        let t = Topology::read(d.to_str().unwrap());
        assert_eq!(t.nodes, vec![0, 1]);
        assert_eq!(t.cpu_node, vec![0, 0, 1, 1]);
        assert_eq!(t.cpus_on(1), 2);
        std::fs::remove_dir_all(d).ok();
        let none = Topology::read("/nonexistent");
        assert_eq!(none.nodes, vec![0]);
    }
}
