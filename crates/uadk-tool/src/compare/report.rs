//! The markdown report: the machine, versions, the tables per input and per file.

use super::chart::{bar_label, ChartInfo};
use super::inputs::Input;
use super::measure::{num, AsyncScaling, Row};
use super::targets::{targets, verdict};
use super::Args;
use std::fmt::Write as _;
use std::fs;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// The machine, for the report's header.
pub(super) struct Machine {
    pub(super) model: String,
    pub(super) cpus: usize,
    pub(super) pinned: Option<usize>,
    pub(super) date: String,
    pub(super) versions: Vec<String>,
    /// Peak RSS of `true` spawned as the tools are: the floor of the CLIs' figures.
    pub(super) rss_floor_kib: Option<u64>,
}

pub(super) fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// Today's date (UTC), as YYYY-MM-DD.
pub(super) fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Versions of the reference tools' Debian packages.
pub(super) fn versions() -> Vec<String> {
    let mut v = Vec::new();
    for (pkg, what) in [
        ("isal", "igzip"),
        ("libdeflate-tools", "libdeflate-gzip"),
        ("pigz", "pigz"),
        ("gzip", "gzip"),
        ("lz4", "lz4"),
        ("zstd", "zstd"),
    ] {
        let out = Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", pkg])
            .stderr(Stdio::null())
            .output();
        if let Ok(o) = out {
            let ver = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if o.status.success() && !ver.is_empty() {
                v.push(format!("{what} {ver}"));
            }
        }
    }
    v.push(format!(
        "libzstd {} (bundled with the `zstd` crate: our engine and the bare rows)",
        zstd::zstd_safe::version_string()
    ));
    v
}

pub(super) fn find<'a>(rows: &'a [Row], key: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.desc.key == key && r.error.is_none())
}

pub(super) fn lat(l: Option<(f64, f64)>) -> String {
    l.map_or("".into(), |(a, b)| format!("{} / {}", num(a), num(b)))
}

pub(super) fn rss(c: Option<u64>, d: Option<u64>) -> String {
    let mib = |k: Option<u64>| k.map_or("–".into(), |k| format!("{:.1}", k as f64 / 1024.0));
    format!("{} / {}", mib(c), mib(d))
}

/// The detailed table of one input.
pub(super) fn table(rows: &[Row]) -> String {
    let mut s = String::new();
    s.push_str(
        "| family | engine | unit | ratio | compress MB/s | decompress MB/s | \
         µs per call p50 / p99, compress | µs per call p50 / p99, decompress | \
         peak RSS MiB, c / d |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        if let Some(e) = &r.error {
            let _ = writeln!(
                s,
                "| {} | {} | {} | failed: {} | | | | | |",
                r.desc.family.title(),
                r.desc.engine,
                r.desc.unit,
                e.replace('|', "/")
            );
            continue;
        }
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.desc.family.title(),
            r.desc.engine,
            r.desc.unit,
            r.ratio.map_or("–".into(), |x| format!("{x:.3}")),
            r.comp.show(),
            r.decomp.show(),
            lat(r.extras.lat_c),
            lat(r.extras.lat_d),
            rss(r.extras.rss_c, r.extras.rss_d),
        );
    }
    s
}

/// Per-file matrix: one row per input, one column per key contender.
pub(super) fn per_file_table(results: &[(&Input, Vec<Row>)], decompress: bool) -> String {
    let cols = [
        ("uadk-L1-whole", "uadk L1"),
        ("igzip-1", "igzip -1"),
        ("libdeflate-1", "libdeflate -1"),
        ("uadk-L6-whole", "uadk L6"),
        ("libdeflate-6", "libdeflate -6"),
        ("zlib-6", "zlib -6"),
        ("uadk-lz4-whole", "uadk lz4"),
        ("lz4-1", "lz4 -1"),
        ("uadk-zstd1-whole", "uadk zstd 1"),
        ("bare-zstd1-whole", "libzstd 1"),
        ("zstd-1", "zstd -1"),
    ];
    let mut s = String::from("| input |");
    for (_, name) in cols {
        let _ = write!(s, " {name} |");
    }
    s.push_str("\n|---|");
    for _ in cols {
        s.push_str("---:|");
    }
    s.push('\n');
    for (input, rows) in results {
        let _ = write!(s, "| {} |", input.name);
        for (key, _) in cols {
            let cell = match find(rows, key) {
                Some(r) if decompress => r.decomp.median().map_or("–".into(), num),
                Some(r) => format!(
                    "{} · {}",
                    r.comp.median().map_or("–".into(), num),
                    r.ratio.map_or("–".into(), |x| format!("{x:.2}"))
                ),
                None => "–".into(),
            };
            let _ = write!(s, " {cell} |");
        }
        s.push('\n');
    }
    s
}

pub(super) fn report(
    machine: &Machine,
    args: &Args,
    results: &[(&Input, Vec<Row>)],
    scaling: Option<&AsyncScaling>,
    chart: &ChartInfo,
    missing: &[&str],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Measurements\n");
    let pinned = machine
        .pinned
        .map_or("not pinned (setting the affinity failed)".into(), |c| {
            format!("pinned to CPU {c}")
        });
    let _ = writeln!(
        s,
        "Machine: {}, {} CPUs; measurements {pinned}; {}. `uadk_tool compare{}` \
         ({} runs of each, interleaved; MB/s is 10^6 bytes of uncompressed data per {}, \
         median (min–max)).\n",
        machine.model,
        machine.cpus,
        machine.date,
        if args.quick { " --quick" } else { "" },
        args.runs,
        match args.clock {
            super::Clock::Cpu => {
                "second of CPU time on one core (the measuring thread's in-process, the \
                 child's user + system time for CLIs; async scaling and the all-cores rows by \
                 the wall clock)"
            }
            super::Clock::Wall => "wall-clock second on one core",
        }
    );
    if !machine.versions.is_empty() {
        let _ = writeln!(s, "Reference tools: {}.\n", machine.versions.join(", "));
    }
    if !missing.is_empty() {
        let _ = writeln!(
            s,
            "Not installed, so not measured: {}.\n",
            missing.join(", ")
        );
    }
    if let Some((main, rows)) = results.first() {
        let _ = writeln!(s, "### Targets, on {}\n", main.name);
        s.push_str("| target | measured | factor | verdict |\n|---|---|---:|---|\n");
        for t in targets(rows, scaling) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                t.what,
                t.measured,
                t.factor.map_or("–".into(), |f| format!("{f:.3}×")),
                verdict(t.met)
            );
        }
        s.push('\n');
    }
    for (input, rows) in results.iter().filter(|(i, _)| i.detailed) {
        let _ = writeln!(s, "### {}\n\n{}.\n", input.name, input.what);
        s.push_str(&table(rows));
        s.push('\n');
        if input.main {
            match &chart.file {
                Some(f) => {
                    let _ = writeln!(s, "![compress and decompress MB/s, and ratio]({f})\n");
                    if !chart.labelled {
                        let names: Vec<String> = rows
                            .iter()
                            .enumerate()
                            .map(|(i, r)| format!("{}. {}", i + 1, bar_label(r)))
                            .collect();
                        let _ = writeln!(
                            s,
                            "The chart has no text (no font was found): bars top to \
                             bottom are {}; blue compress, orange decompress MB/s, green \
                             ratio.\n",
                            names.join("; ")
                        );
                    }
                }
                None => {
                    let _ = writeln!(s, "(No chart: {}.)\n", chart.error);
                }
            }
        }
    }
    let files: Vec<(&Input, Vec<Row>)> = results.iter().map(|(i, r)| (*i, r.clone())).collect();
    if files.iter().any(|(i, _)| !i.detailed) {
        let _ = writeln!(
            s,
            "### Per input: compress MB/s · ratio (whole files)\n\n{}\n\
             ### Per input: decompress MB/s (whole files)\n\n{}",
            per_file_table(&files, false),
            per_file_table(&files, true)
        );
    }
    let _ = writeln!(
        s,
        "How to read this: `uadk stack` rows are sync block requests through `Comp` → \
         `Session` → scheduler → context → CPU driver, one call per unit, buffers reused, \
         in-process with the input in memory; `bare` rows call the codec the driver uses \
         on the same units; CLI rows are whole processes on a file in tmpfs, output to a \
         tmpfs file (compress) or /dev/null (decompress), timed from spawn to exit (CPU \
         time: the child's, from `wait4`). \
         Decompression rows undo their own row's output (`bare` rows inflate with zlib-rs, \
         as the driver does: the decoder that gives zlib's verdict). Peak RSS: `ru_maxrss` of the child for CLIs; \
         for in-process rows, the growth of this process's peak RSS over the first calls \
         (codec state and reused buffers; a whole-file row's output buffer is its output). \
         µs per call: p50 / p99 over every call of every run.{}",
        machine.rss_floor_kib.map_or(String::new(), |k| format!(
            " A CLI's peak RSS is at least {:.1} MiB: what `true` shows when spawned the same \
             way (the spawning helper's own RSS, which Linux carries into the child's peak).",
            k as f64 / 1024.0
        ))
    );
    s
}
