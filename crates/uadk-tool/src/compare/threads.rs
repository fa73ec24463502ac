//! All cores: `uadk_tool compress -T N` beside `pigz -p N`, `igzip -T N` and `zstd -T N`,
//! on every CPU the process may use (the other rows run on one), and its targets.
//!
//! These rows are timed by the wall clock whatever `--clock` says: a process on N CPUs
//! spends about as much CPU time as on one, so its CPU-time rate says how efficient it is,
//! not how fast. The speed-up targets divide by `uadk_tool -T 1` timed the same way, on
//! the same CPUs.

use super::measure::{set_affinity, Row};
use super::peers::{argv, Cli, Tools};
use super::targets::{speedup, versus, Target, Versus};
use super::{Contender, Desc, Extras, Family, Sample};
use crate::common::Result;
use std::path::Path;
use std::sync::OnceLock;

/// The CPUs the process started with, and their count.
static ALL: OnceLock<(libc::cpu_set_t, usize)> = OnceLock::new();

/// Note the CPU set to give the all-cores rows (before the process pins itself).
pub(super) fn remember(set: Option<libc::cpu_set_t>, cpus: usize) {
    if let Some(s) = set {
        let _ = ALL.set((s, cpus));
    }
}

/// A command-line contender run on every CPU: the timing helper is spawned with the
/// whole set, then the process pins itself again.
struct AllCores {
    cli: Cli,
}

impl AllCores {
    fn unpinned<T>(&mut self, f: impl FnOnce(&mut Cli) -> T) -> T {
        // SAFETY: an all-zero cpu_set_t is the empty set.
        let mut now: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `now` is valid and writable, of the size passed.
        let got = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&now), &mut now) };
        if let Some((all, _)) = ALL.get() {
            set_affinity(all);
        }
        let r = f(&mut self.cli);
        if got == 0 {
            set_affinity(&now);
        }
        r
    }
}

impl Contender for AllCores {
    fn desc(&self) -> &Desc {
        &self.cli.desc
    }
    fn prepare(&mut self, data: &[u8]) -> Result<()> {
        self.cli.prepare(data)
    }
    fn compress(&mut self, data: &[u8]) -> Result<Sample> {
        self.unpinned(|c| c.compress(data)).map(wall)
    }
    fn decompress(&mut self, data: &[u8]) -> Result<Sample> {
        self.unpinned(|c| c.decompress(data)).map(wall)
    }
    fn extras(&self) -> Extras {
        self.cli.extras()
    }
}

/// A sample timed by the wall clock: its CPU seconds replaced by its wall seconds, which
/// is what `measure` divides by under either clock.
fn wall(mut s: Sample) -> Sample {
    s.cpu_secs = s.secs;
    s
}

/// The all-cores contenders of a family (none where there is one CPU).
pub(super) fn contenders(
    tools: &Tools,
    family: Family,
    input: &Path,
    scratch: &Path,
) -> Vec<Box<dyn Contender>> {
    let Some(&(_, n)) = ALL.get().filter(|a| a.1 > 1) else {
        return Vec::new();
    };
    let t = n.to_string();
    let this = &tools.this;
    let mut v: Vec<Box<dyn Contender>> = Vec::new();
    let mut add = |key: &str, engine: String, comp, decomp| {
        v.push(Box::new(AllCores {
            cli: Cli {
                desc: Desc {
                    key: key.into(),
                    family,
                    engine,
                    unit: format!("whole file, CLI, {n} CPUs"),
                },
                comp,
                decomp,
                this: this.clone(),
                input: input.to_path_buf(),
                packed: scratch.join(format!("out.{key}")),
                report: scratch.join(format!("report.{key}")),
                rss_c: 0,
                rss_d: 0,
            },
        }));
    };
    let ours = |args: &[&str], threads: &str| {
        let mut a = vec!["compress"];
        a.extend_from_slice(args);
        a.extend(["-T", threads, "-c"]);
        argv(this, &a)
    };
    let (fmt, level) = match family {
        Family::L1 => ("gzip", "1"),
        Family::L6 => ("gzip", "6"),
        Family::Lz4 => ("lz4", "1"),
        Family::Zstd1 => ("zstd", "1"),
        Family::Zstd3 => ("zstd", "3"),
    };
    add(
        &format!("tool-{}-T", family.key()),
        format!("uadk_tool compress -a {fmt} -l {level} -T {n}"),
        ours(&["-a", fmt, "-l", level], &t),
        argv(this, &["decompress", "-a", fmt, "-T", &t, "-c"]),
    );
    // The baseline of the speed-up: one thread, by the same clock on the same CPUs.
    add(
        &format!("tool-{}-T1", family.key()),
        format!("uadk_tool compress -a {fmt} -l {level} -T 1"),
        ours(&["-a", fmt, "-l", level], "1"),
        argv(this, &["decompress", "-a", fmt, "-T", "1", "-c"]),
    );
    match family {
        Family::L1 | Family::L6 => {
            if let Some((p, true)) = &tools.zlib {
                add(
                    &format!("pigz-{level}-T"),
                    format!("pigz -p {n} -{level}"),
                    argv(p, &["-p", &t, &format!("-{level}"), "-c"]),
                    argv(p, &["-p", &t, "-d", "-c"]),
                );
            }
            if let Some(p) = &tools.igzip {
                let il = if family == Family::L1 { "1" } else { "3" };
                add(
                    &format!("igzip-{il}-T"),
                    format!("igzip -{il} -T {n}"),
                    argv(p, &[&format!("-{il}"), "-T", &t, "-c"]),
                    argv(p, &["-d", "-c"]),
                );
            }
        }
        Family::Zstd1 | Family::Zstd3 => {
            if let Some(p) = &tools.zstd {
                add(
                    &format!("zstd-{level}-T"),
                    format!("zstd -{level} -T{n}"),
                    argv(p, &[&format!("-{level}"), &format!("-T{n}"), "-q", "-c"]),
                    argv(p, &["-d", "-q", "-c"]),
                );
            }
        }
        Family::Lz4 => {}
    }
    v
}

/// Ours on every CPU against ours on one, and against the peers on every CPU.
pub(super) fn targets(rows: &[Row]) -> Vec<Target> {
    let mut t = Vec::new();
    for (family, what_c, what_d) in [
        (
            Family::L1,
            "`compress -l 1 -T N` ≥ 1.8× `-T 1` (N = every CPU; gzip)",
            "… `decompress -T N` of that file against `-T 1`",
        ),
        (
            Family::L6,
            "`compress -l 6 -T N` ≥ 1.8× `-T 1` (gzip)",
            "… `decompress -T N` of that file against `-T 1`",
        ),
        (
            Family::Zstd1,
            "`compress -a zstd -l 1 -T N` ≥ 1.8× `-T 1`",
            "… `decompress -T N` against `-T 1`",
        ),
        (
            Family::Zstd3,
            "`compress -a zstd -l 3 -T N` ≥ 1.8× `-T 1`",
            "… `decompress -T N` against `-T 1`",
        ),
        (
            Family::Lz4,
            "`compress -a lz4 -T N` ≥ 1.8× `-T 1`",
            "… `decompress -T N` against `-T 1`",
        ),
    ] {
        let k = family.key();
        let (Some(many), Some(one)) = (
            super::report::find(rows, &format!("tool-{k}-T")),
            super::report::find(rows, &format!("tool-{k}-T1")),
        ) else {
            continue;
        };
        for (decompress, what) in [(false, what_c), (true, what_d)] {
            let (a, b) = if decompress {
                (&many.decomp, &one.decomp)
            } else {
                (&many.comp, &one.comp)
            };
            let f = speedup(a, b);
            let ratio = |r: &Row| r.ratio.map_or("–".into(), |x| format!("{x:.3}"));
            let show =
                |s: &super::measure::Stats| s.median().map_or("–".into(), super::measure::num);
            t.push(Target {
                what: what.into(),
                measured: format!(
                    "{} {} MB/s, ratio {} vs one thread {} MB/s, ratio {}",
                    many.desc.engine,
                    show(a),
                    ratio(many),
                    show(b),
                    ratio(one)
                ),
                factor: f,
                // Decompression across cores is shown, not judged.
                met: if decompress {
                    None
                } else {
                    f.map(|f| {
                        let r = many.ratio.unwrap_or(0.0) >= one.ratio.unwrap_or(0.0) * 0.99;
                        f >= 1.8 && r
                    })
                },
            });
        }
    }
    for v in PEERS.iter() {
        if super::report::find(rows, v.ours.0).is_some() {
            t.push(versus(rows, v));
        }
    }
    t
}

const PEERS: [Versus; 5] = [
    Versus {
        what: "`compress -l 1 -T N` ≥ 1.0× `pigz -p N -1` at a better ratio",
        ours: ("tool-L1-T", "`uadk_tool -l 1 -T N`"),
        theirs: ("pigz-1-T", "`pigz -p N -1`"),
        decompress: false,
        ratio_tol: Some(0.0),
        min: 1.0,
    },
    Versus {
        what: "`compress -l 6 -T N` ≥ 1.0× `pigz -p N -6` at a better ratio",
        ours: ("tool-L6-T", "`uadk_tool -l 6 -T N`"),
        theirs: ("pigz-6-T", "`pigz -p N -6`"),
        decompress: false,
        ratio_tol: Some(0.0),
        min: 1.0,
    },
    Versus {
        what: "`compress -l 1 -T N` ≥ 1.0× `igzip -1 -T N` at its ratio (to 1%)",
        ours: ("tool-L1-T", "`uadk_tool -l 1 -T N`"),
        theirs: ("igzip-1-T", "`igzip -1 -T N`"),
        decompress: false,
        ratio_tol: Some(0.01),
        min: 1.0,
    },
    Versus {
        what: "`compress -a zstd -l 1 -T N` ≥ 1.0× `zstd -1 -TN` at its ratio (to 1%)",
        ours: ("tool-zstd1-T", "`uadk_tool -a zstd -l 1 -T N`"),
        theirs: ("zstd-1-T", "`zstd -1 -TN`"),
        decompress: false,
        ratio_tol: Some(0.01),
        min: 1.0,
    },
    Versus {
        what: "`compress -a zstd -l 3 -T N` ≥ 1.0× `zstd -3 -TN` at its ratio (to 1%)",
        ours: ("tool-zstd3-T", "`uadk_tool -a zstd -l 3 -T N`"),
        theirs: ("zstd-3-T", "`zstd -3 -TN`"),
        decompress: false,
        ratio_tol: Some(0.01),
        min: 1.0,
    },
];
