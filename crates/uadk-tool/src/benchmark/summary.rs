//! What the requests did: counts, rates, latency and CPU use, printed as UADK's tool
//! prints them, or as JSON.

use super::prepare::InputInfo;
use super::{Args, REPORT};
use std::time::Duration;
use uadk::OpType;

/// What the requests of one thread (or several) did.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counts {
    pub(super) requests: u64,
    pub(super) bytes_in: u64,
    pub(super) bytes_out: u64,
    pub(super) lat_ns: u128,
}

impl Counts {
    pub(super) fn add(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        self.lat_ns += o.lat_ns;
    }
}

/// One process's measurement.
pub(super) struct Measurement {
    pub(super) counts: Counts,
    pub(super) wall: Duration,
    pub(super) cpu: Duration,
    pub(super) op: OpType,
}

impl Measurement {
    pub(super) fn report_line(&self, driver: &str) -> String {
        let c = &self.counts;
        format!(
            "{REPORT} requests={} bytes_in={} bytes_out={} lat_ns={} wall_ns={} cpu_ns={} driver={driver}",
            c.requests,
            c.bytes_in,
            c.bytes_out,
            c.lat_ns,
            self.wall.as_nanos(),
            self.cpu.as_nanos()
        )
    }
}

/// The result shown to the user: one process, or the sum over `--multi` processes.
#[derive(Debug, Clone)]
pub(super) struct Summary {
    pub(super) driver: String,
    pub(super) input: InputInfo,
    pub(super) counts: Counts,
    pub(super) processes: u32,
    /// Longest measuring time of a process, in seconds.
    pub(super) wall: f64,
    pub(super) mb_per_s: f64,
    pub(super) iops: f64,
    pub(super) cpu_pct: f64,
    pub(super) op: OpType,
}

impl Summary {
    pub(super) fn from_measurement(m: &Measurement, driver: &str, input: &InputInfo) -> Summary {
        let mut s = Summary {
            driver: driver.to_string(),
            input: input.clone(),
            counts: Counts::default(),
            processes: 0,
            wall: 0.0,
            mb_per_s: 0.0,
            iops: 0.0,
            cpu_pct: 0.0,
            op: m.op,
        };
        s.add(m);
        s
    }

    pub(super) fn add(&mut self, m: &Measurement) {
        let secs = m.wall.as_secs_f64().max(1e-9);
        let useful = match m.op {
            OpType::Compress => m.counts.bytes_in,
            OpType::Decompress => m.counts.bytes_out,
        };
        self.counts.add(&m.counts);
        self.processes += 1;
        self.wall = self.wall.max(secs);
        self.mb_per_s += useful as f64 / 1e6 / secs;
        self.iops += m.counts.requests as f64 / secs;
        self.cpu_pct += 100.0 * m.cpu.as_secs_f64() / secs;
    }

    pub(super) fn latency_us(&self) -> f64 {
        if self.counts.requests == 0 {
            0.0
        } else {
            self.counts.lat_ns as f64 / self.counts.requests as f64 / 1e3
        }
    }

    /// Uncompressed over compressed bytes.
    pub(super) fn ratio(&self) -> f64 {
        let (raw, packed) = match self.op {
            OpType::Compress => (self.counts.bytes_in, self.counts.bytes_out),
            OpType::Decompress => (self.counts.bytes_out, self.counts.bytes_in),
        };
        if packed == 0 {
            0.0
        } else {
            raw as f64 / packed as f64
        }
    }

    pub(super) fn print(&self, args: &Args) {
        let alg = args.alg.alg().name();
        println!(
            "uadk_tool benchmark: {alg} {} (opt {}), {}, mode {} (driver {}), level {}, window {}K",
            args.opt_name(),
            args.opt,
            sync_name(args),
            args.mode().name(),
            self.driver,
            args.level(),
            args.winsize.bytes() / 1024
        );
        println!(
            "  input {} ({} bytes, {} packets of {} bytes); {} thread(s) x {} process(es); {:.2} s",
            self.input.name,
            self.input.len,
            self.input.packets,
            args.pktlen,
            args.thread,
            self.processes,
            self.wall
        );
        println!(
            "{:<11}{:<14}{:<16}{:<12}{:<13}{:<11}ratio",
            "algname", "length", "perf", "iops", "latency", "CPU_rate"
        );
        println!(
            "{:<11}{:<14}{:<16}{:<12}{:<13}{:<11}{:.2}",
            alg,
            format!("{}Bytes", args.pktlen),
            format!("{:.2}MB/s", self.mb_per_s),
            format!("{:.2}Kops", self.iops / 1e3),
            format!("{:.2}us", self.latency_us()),
            format!("{:.2}%", self.cpu_pct),
            self.ratio()
        );
    }

    pub(super) fn json(&self, args: &Args) -> String {
        format!(
            concat!(
                "{{\"alg\":\"{}\",\"mode\":\"{}\",\"driver\":{},\"opt\":{},\"op\":\"{}\",",
                "\"stream\":{},\"sync\":{},\"pktlen\":{},\"threads\":{},\"processes\":{},",
                "\"level\":{},\"window\":{},\"input\":{},\"input_bytes\":{},\"packets\":{},",
                "\"seconds\":{:.6},\"requests\":{},\"bytes_in\":{},\"bytes_out\":{},",
                "\"throughput_mb_s\":{:.3},\"iops\":{:.1},\"latency_us\":{:.3},",
                "\"cpu_percent\":{:.2},\"ratio\":{:.4}}}"
            ),
            args.alg.alg().name(),
            args.mode().name(),
            json_str(&self.driver),
            args.opt,
            match args.op() {
                OpType::Compress => "compress",
                OpType::Decompress => "decompress",
            },
            args.stream(),
            !args.async_mode,
            args.pktlen,
            args.thread,
            self.processes,
            args.level(),
            args.winsize.bytes(),
            json_str(&self.input.name),
            self.input.len,
            self.input.packets,
            self.wall,
            self.counts.requests,
            self.counts.bytes_in,
            self.counts.bytes_out,
            self.mb_per_s,
            self.iops,
            self.latency_us(),
            self.cpu_pct,
            self.ratio()
        )
    }
}

pub(super) fn sync_name(args: &Args) -> &'static str {
    if args.async_mode {
        "async"
    } else {
        "sync"
    }
}

/// A JSON string literal.
pub(super) fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
