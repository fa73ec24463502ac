//! The null-engine section of the report: its table and its targets.

use super::{Mode, NullReport, ALG, ASYNC_CPU_US, ASYNC_RATE, SYNC_RATE, WINDOW};
use crate::compare::measure::{num, Stats};
use crate::compare::targets::{verdict, Target};
use std::fmt::Write as _;

/// The section of the report: the table, and its targets.
pub(in crate::compare) fn section(rep: &NullReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "### Null engine: requests through the whole stack\n");
    let cpus = |v: &[usize]| {
        v.iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        s,
        "A modelled ZIP device whose engine completes each request at once \
         (`UADK_ZIP_MODEL=1@0:null`: stored blocks, read back by any inflater), behind \
         the `hisi_zip` driver: {} compression, one context per mode, {} requests in \
         flight for async, each slot its own buffers; {} runs of {} s each, interleaved, \
         median (min–max). Our CPU is the CPU time of the one thread that submits and \
         polls (`CLOCK_THREAD_CPUTIME_ID`){}; the model's engine threads play the \
         device{}. A thread that busy-polls is never idle: polls that find nothing ready \
         are time spent waiting for the device, shown apart (their count times the cost \
         of one, {}, measured on a stalled device). \"Share\" is our thread's CPU time \
         over the wall time: what the machine gave it; the device threads' CPU per \
         request is their run time over the requests.\n",
        ALG.name(),
        WINDOW,
        rep.runs,
        rep.secs,
        rep.caller_cpu
            .map_or(String::new(), |c| format!(", pinned to CPU {c}")),
        if rep.engine_cpus.is_empty() {
            String::new()
        } else {
            format!(" on CPU {}", cpus(&rep.engine_cpus))
        },
        match rep.empty_poll_ns {
            [Some(r), Some(c)] => format!("{r:.0} ns from Rust, {c:.0} ns from C"),
            _ => "not measured".into(),
        }
    );
    if let Some(e) = &rep.error {
        let _ = writeln!(s, "The measurement failed: {e}.\n");
    }
    s.push_str(
        "| API | mode | request | requests/s | µs of our CPU per request | … of it waiting \
         (empty polls) | our thread's share of its CPU | µs of device CPU per request |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let med = |x: &Stats, f: fn(f64) -> String| x.median().map_or("–".into(), f);
    for r in &rep.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} KiB | {} | {} | {} | {} | {} |",
            r.api.title(r.mode),
            r.mode.key(),
            r.size / 1024,
            show_m(&r.rate),
            r.cpu_us.show(),
            med(&r.wait_us, |w| format!("{w:.2}")),
            med(&r.share, |x| format!("{:.0}%", x * 100.0)),
            med(&r.device_us, |d| format!("{d:.2}")),
        );
    }
    let _ = writeln!(
        s,
        "\nThe model executed {} requests and rejected {} (every SQE is checked as \
         strictly as on the regular engine).\n",
        rep.executed, rep.rejected
    );
    s.push_str("| target | measured | factor | verdict |\n|---|---|---:|---|\n");
    for t in targets(rep) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            t.what,
            t.measured,
            t.factor.map_or("–".into(), |f| format!("{f:.3}×")),
            verdict(t.met)
        );
    }
    s.push_str(
        "\nThe targets are per core of our CPU: a rate of R requests per second on one \
         core is 1/R seconds of our CPU per request, which is what is judged (the factor: \
         the target's CPU per request over ours). The wall-clock rate is that only when \
         the machine gives our thread its whole CPU and the device keeps up; the share \
         and the waiting columns say how far it did.\n",
    );
    s
}

/// Requests per second in millions (thousands below one million), with the range.
fn show_m(s: &Stats) -> String {
    let rate = |x: f64| {
        if x >= 1e6 {
            format!("{:.2} M", x / 1e6)
        } else {
            format!("{} k", num(x / 1e3))
        }
    };
    match (s.median(), s.range()) {
        (Some(m), Some((lo, hi))) => format!("{} ({}–{})", rate(m), rate(lo), rate(hi)),
        _ => "–".into(),
    }
}

/// One target per row, on our CPU per request: async ≥ 1 M requests/s per core (≤ 1 µs
/// each), sync ≥ 0.5 M (≤ 2 µs each).
pub(in crate::compare) fn targets(rep: &NullReport) -> Vec<Target> {
    let mut t = Vec::new();
    for r in &rep.rows {
        let cpu = r.cpu_us.median();
        let (goal_us, what) = match r.mode {
            Mode::Async => (
                1e6 / ASYNC_RATE,
                format!(
                    "null engine, {}, {} KiB, {WINDOW} in flight: ≥ 1 M requests/s on one \
                     core (≤ {ASYNC_CPU_US} µs of our CPU per request)",
                    r.api.title(r.mode),
                    r.size / 1024
                ),
            ),
            Mode::Sync => (
                1e6 / SYNC_RATE,
                format!(
                    "null engine, {}, {} KiB: ≥ 0.5 M requests/s on one core (≤ 2 µs of \
                     our CPU per request)",
                    r.api.title(r.mode),
                    r.size / 1024
                ),
            ),
        };
        let factor = cpu.map(|c| goal_us / c.max(1e-9));
        t.push(Target {
            what,
            measured: format!(
                "{} µs of our CPU per request{}; {} requests/s wall{}",
                cpu.map_or("–".into(), num),
                r.wait_us
                    .median()
                    .map_or(String::new(), |w| format!(" ({w:.2} of it waiting)")),
                show_m(&r.rate),
                r.share
                    .median()
                    .map_or(String::new(), |x| format!(" at {:.0}% of a CPU", x * 100.0)),
            ),
            factor,
            met: factor.map(|f| f >= 1.0),
        });
    }
    if rep.rows.is_empty() {
        t.push(Target {
            what: "null engine rows".into(),
            measured: rep.error.clone().unwrap_or_else(|| "not measured".into()),
            factor: None,
            met: None,
        });
    }
    t
}
