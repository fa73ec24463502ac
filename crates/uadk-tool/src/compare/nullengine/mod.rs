//! The null-engine rows: requests per second and our CPU per request through the whole
//! stack, on a modelled ZIP device whose engine completes each request at once
//! (`UADK_ZIP_MODEL=1@0:null`, `docs/hardware.md`), so that the device's time is not in
//! the way: can the stack keep a device fed?
//!
//! Measured in a child process (the model is process-wide and must not serve the other
//! rows): the Rust API (`Session::process`; `Session::submit` + `Comp::poll` with
//! [`WINDOW`] in flight) and the C ABI (`wd_do_comp_sync`; `wd_do_comp_async` +
//! `wd_comp_poll`, the `uadk_capi` entry points that `libwd_comp.so.2` exports, called
//! directly), deflate compression of 4 KiB and 8 KiB requests, each slot with its own
//! buffers. "Our CPU" is the CPU time of the one thread that submits and polls
//! (`CLOCK_THREAD_CPUTIME_ID`), pinned to one CPU; the model's engine threads stand for
//! the device and run on the other CPUs. With nothing to wait for, a busy-polling thread
//! is busy all the time, so its CPU per request is close to its wall time per request;
//! polls that find nothing ready (counted) are time spent waiting for the device.
//!
//! For counting instructions per request (`valgrind --tool=callgrind`, which runs one
//! thread at a time), `UADK_NULL_SETTLE=1` makes the async loops wait, outside the stack,
//! until the device has executed everything submitted before they poll.

mod capi;
mod child;
mod report;

pub(super) use child::child;
pub(super) use report::section;

use super::measure::Stats;
use std::process::Command;
use uadk::Alg;

/// Async requests in flight.
pub(super) const WINDOW: usize = 64;
/// Request sizes.
const SIZES: [usize; 2] = [4096, 8192];
/// The algorithm: raw deflate, whose stored blocks cost the null engine one copy (zlib's
/// Adler-32 would cost it more than the stack does; `docs/performance.md`).
const ALG: Alg = Alg::Deflate;
/// The targets: async requests per second and our CPU per async request, sync requests
/// per second.
const ASYNC_RATE: f64 = 1.0e6;
const ASYNC_CPU_US: f64 = 1.0;
const SYNC_RATE: f64 = 0.5e6;

/// Which entry points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    Rust,
    C,
}

/// Blocking or with requests in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Sync,
    Async,
}

impl Api {
    fn key(self) -> &'static str {
        match self {
            Api::Rust => "rust",
            Api::C => "c",
        }
    }

    fn title(self, mode: Mode) -> &'static str {
        match (self, mode) {
            (Api::Rust, Mode::Sync) => "Rust `Session::process`",
            (Api::Rust, Mode::Async) => "Rust `Session::submit` + `Comp::poll`",
            (Api::C, Mode::Sync) => "C `wd_do_comp_sync`",
            (Api::C, Mode::Async) => "C `wd_do_comp_async` + `wd_comp_poll`",
        }
    }
}

impl Mode {
    fn key(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Async => "async",
        }
    }
}

/// The contenders, in the order of the first run.
const CONTENDERS: [(Api, Mode); 4] = [
    (Api::Rust, Mode::Sync),
    (Api::Rust, Mode::Async),
    (Api::C, Mode::Sync),
    (Api::C, Mode::Async),
];

/// The figures of one row over its runs.
#[derive(Debug, Clone)]
pub(super) struct NullRow {
    pub(super) api: Api,
    pub(super) mode: Mode,
    pub(super) size: usize,
    /// Requests per second.
    pub(super) rate: Stats,
    /// Microseconds of our thread's CPU per request.
    pub(super) cpu_us: Stats,
    /// Polls that found nothing ready, per request (async).
    pub(super) empty: Stats,
    /// Of `cpu_us`, the microseconds those polls took (their count times the measured
    /// cost of one; async).
    pub(super) wait_us: Stats,
    /// Our thread's CPU time over the wall time: the share of its CPU it was given.
    pub(super) share: Stats,
    /// Microseconds of the device threads' CPU per request.
    pub(super) device_us: Stats,
}

/// What the child measured.
#[derive(Debug, Default)]
pub(super) struct NullReport {
    pub(super) rows: Vec<NullRow>,
    /// CPU of the measuring thread; CPUs of the engine threads.
    pub(super) caller_cpu: Option<usize>,
    pub(super) engine_cpus: Vec<usize>,
    /// SQEs the model executed and rejected.
    pub(super) executed: u64,
    pub(super) rejected: u64,
    /// Nanoseconds of our CPU per poll that finds nothing, by API (Rust, C).
    pub(super) empty_poll_ns: [Option<f64>; 2],
    /// Seconds per timed run.
    pub(super) secs: f64,
    pub(super) runs: u32,
    pub(super) error: Option<String>,
}

/// Run the measurement in a child process (`compare --null-engine-child`) and collect it.
pub(super) fn measure_in_child(cpu: Option<usize>, runs: u32, secs: f64) -> NullReport {
    let mut rep = NullReport {
        secs,
        runs,
        ..NullReport::default()
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            rep.error = Some(format!("finding this executable: {e}"));
            return rep;
        }
    };
    let mut cmd = Command::new(exe);
    cmd.args([
        "compare",
        "--null-engine-child",
        "--runs",
        &runs.to_string(),
    ]);
    cmd.args(["--null-engine-secs", &secs.to_string()]);
    if let Some(c) = cpu {
        cmd.args(["--cpu", &c.to_string()]);
    }
    // The model comes from the child's own install, not from the caller's environment.
    cmd.env_remove(uadk::model::MODEL_ENV);
    cmd.env_remove(uadk::model::FAULT_ENV);
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            rep.error = Some(format!("starting the child: {e}"));
            return rep;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text, &mut rep);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        rep.error = Some(format!(
            "the child failed ({}): {}",
            out.status,
            err.lines().last().unwrap_or("")
        ));
    }
    rep
}

/// Read the child's lines into rows.
fn parse(text: &str, rep: &mut NullReport) {
    for line in text.lines() {
        let mut f = std::collections::HashMap::new();
        let Some(rest) = line.strip_prefix("null ") else {
            continue;
        };
        for kv in rest.split_whitespace() {
            if let Some((k, v)) = kv.split_once('=') {
                f.insert(k, v);
            }
        }
        let n = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok());
        if let (Some(e), Some(r)) = (n("executed"), n("rejected")) {
            rep.executed = e;
            rep.rejected = r;
            continue;
        }
        if let (Some(&a), Some(ns)) = (f.get("calib"), f.get("empty_poll_ns")) {
            let i = usize::from(a == "c");
            rep.empty_poll_ns[i] = ns.parse().ok();
            continue;
        }
        if let Some(c) = n("caller_cpu") {
            rep.caller_cpu = Some(c as usize);
            rep.engine_cpus = f
                .get("engine_cpus")
                .map(|v| v.split(',').filter_map(|c| c.parse().ok()).collect())
                .unwrap_or_default();
            continue;
        }
        let api = match f.get("api") {
            Some(&"rust") => Api::Rust,
            Some(&"c") => Api::C,
            _ => continue,
        };
        let mode = match f.get("mode") {
            Some(&"sync") => Mode::Sync,
            Some(&"async") => Mode::Async,
            _ => continue,
        };
        let (Some(size), Some(reqs), Some(wall), Some(cpu), Some(empty)) =
            (n("size"), n("reqs"), n("wall_ns"), n("cpu_ns"), n("empty"))
        else {
            continue;
        };
        let size = size as usize;
        let i = match rep
            .rows
            .iter()
            .position(|r| r.api == api && r.mode == mode && r.size == size)
        {
            Some(i) => i,
            None => {
                rep.rows.push(NullRow {
                    api,
                    mode,
                    size,
                    rate: Stats::default(),
                    cpu_us: Stats::default(),
                    empty: Stats::default(),
                    wait_us: Stats::default(),
                    share: Stats::default(),
                    device_us: Stats::default(),
                });
                rep.rows.len() - 1
            }
        };
        let poll_ns = rep.empty_poll_ns[usize::from(api == Api::C)];
        let r = &mut rep.rows[i];
        let reqs_f = reqs.max(1) as f64;
        r.rate.0.push(reqs as f64 / (wall.max(1) as f64 / 1e9));
        r.cpu_us.0.push(cpu as f64 / 1e3 / reqs_f);
        r.empty.0.push(empty as f64 / reqs_f);
        r.share.0.push(cpu as f64 / wall.max(1) as f64);
        if let Some(d) = n("device_ns") {
            r.device_us.0.push(d as f64 / 1e3 / reqs_f);
        }
        if let (Mode::Async, Some(p)) = (mode, poll_ns) {
            r.wait_us.0.push(empty as f64 * p / 1e3 / reqs_f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::report::targets;
    use super::*;

    #[test]
    fn child_lines_become_rows() {
        let mut rep = NullReport::default();
        parse(
            "null caller_cpu=1 engine_cpus=0\n\
             null calib=rust empty_poll_ns=25\n\
             null api=rust mode=async size=8192 reqs=2000000 wall_ns=1000000000 cpu_ns=900000000 empty=20\n\
             null api=rust mode=async size=8192 reqs=1000000 wall_ns=1000000000 cpu_ns=1000000000 empty=0\n\
             noise\n\
             null api=c mode=sync size=4096 reqs=500 wall_ns=1000 cpu_ns=1000000 empty=0\n\
             null executed=7 rejected=0\n",
            &mut rep,
        );
        assert_eq!(rep.caller_cpu, Some(1));
        assert_eq!(rep.engine_cpus, vec![0]);
        assert_eq!((rep.executed, rep.rejected), (7, 0));
        assert_eq!(rep.rows.len(), 2);
        let a = &rep.rows[0];
        assert_eq!((a.api, a.mode, a.size), (Api::Rust, Mode::Async, 8192));
        assert_eq!(a.rate.0, vec![2e6, 1e6]);
        assert_eq!(a.cpu_us.0, vec![0.45, 1.0]);
        assert_eq!(rep.empty_poll_ns, [Some(25.0), None]);
        // 20 empty polls of 25 ns over 2 M requests.
        assert_eq!(a.wait_us.0, vec![20.0 * 25.0 / 1e3 / 2e6, 0.0]);
        assert_eq!(a.share.0, vec![0.9, 1.0]);
        let t = targets(&rep);
        // Median 1.5 M/s but 0.725 µs: met; the sync row at 500 M/s is met too.
        assert_eq!(t[0].met, Some(true));
        assert_eq!(t[1].met, Some(true));
        rep.rows[0].cpu_us = Stats(vec![1.2]);
        assert_eq!(
            targets(&rep)[0].met,
            Some(false),
            "too much CPU per request"
        );
    }
}
