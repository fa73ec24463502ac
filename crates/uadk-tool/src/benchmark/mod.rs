//! `benchmark`: throughput, IOPS, latency and CPU use of one request type, with the
//! flags of UADK's `uadk_tool benchmark` for compression.
//!
//! The input is cut into `--pktlen` packets up front (for decompression, each packet is
//! compressed once first). Each thread then sends requests round-robin over the packets
//! for `--seconds`, through its own session on one shared [`uadk::Comp`]:
//! - sync: one request at a time, output buffer reused (no allocation per request);
//! - async: up to `--inflight` requests in flight, completions counted by callbacks and
//!   reaped by `Comp::poll` on the submitting thread, or by the library's poll threads
//!   when `WD_COMP_ASYNC_POLL_EN=1`.
//!
//! `--multi N` runs N copies of the benchmark as child processes (this executable,
//! re-run with the same options); they start measuring together and their results are
//! summed.
mod multi;
mod prepare;
mod summary;
mod threads;

use crate::common::{parse_size, parse_window, Error, Result};
use multi::{run_children, wait_for_go};
use prepare::Bench;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use summary::Summary;
use uadk::{Alg, CtxMode, OpType, TaskType, WindowSize};

/// Size of the built-in input (more when one packet is larger).
const GENERATED_LEN: usize = 4 << 20;
/// Longest wait for async completions once the measurement has ended.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of the `--multi` protocol between parent and children.
const READY: &str = "@uadk-bench-ready";
const REPORT: &str = "@uadk-bench-report";

/// UADK's `--mode`: how the accelerator's memory is shared. Here it picks the task type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Shared virtual addressing: the best driver of any kind (hardware first)
    Sva,
    /// No SVA: as sva (this implementation has no separate memory path)
    Nosva,
    /// CPU instructions: the CPU engine
    Instr,
}

impl Mode {
    fn task_type(self) -> TaskType {
        match self {
            Mode::Sva | Mode::Nosva => TaskType::Mix,
            Mode::Instr => TaskType::Instr,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Sva => "sva",
            Mode::Nosva => "nosva",
            Mode::Instr => "instr",
        }
    }
}

/// `--alg`: the compression algorithms of UADK's benchmark, with its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchAlg {
    /// zlib wrapper (RFC 1950)
    Zlib,
    /// gzip wrapper (RFC 1952)
    Gzip,
    /// Raw deflate (RFC 1951)
    Deflate,
    /// LZ4 block format (block mode only)
    Lz4,
    /// The engine's LZ77 sequences for zstd (compression only; levels 8 and 9)
    #[value(name = "lz77_zstd")]
    Lz77Zstd,
    /// The engine's plain LZ77 sequences (compression only; levels 8 and 9)
    #[value(name = "lz77_only")]
    Lz77Only,
}

impl BenchAlg {
    /// The library's algorithm.
    pub fn alg(self) -> Alg {
        match self {
            BenchAlg::Zlib => Alg::Zlib,
            BenchAlg::Gzip => Alg::Gzip,
            BenchAlg::Deflate => Alg::Deflate,
            BenchAlg::Lz4 => Alg::Lz4,
            BenchAlg::Lz77Zstd => Alg::Lz77Zstd,
            BenchAlg::Lz77Only => Alg::Lz77Only,
        }
    }

    /// An lz77 intermediate format.
    pub fn is_lz77(self) -> bool {
        matches!(self, BenchAlg::Lz77Zstd | BenchAlg::Lz77Only)
    }
}

/// Options of `benchmark`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Algorithm
    #[arg(long, value_enum, default_value_t = BenchAlg::Zlib)]
    pub alg: BenchAlg,

    /// Mode: sva/nosva take the best driver of any kind, instr the CPU engine
    /// [default: sva with --model or UADK_ZIP_MODEL, else instr]
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,

    /// 0 block compress, 1 block decompress, 2 stream compress, 3 stream decompress
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub opt: u8,

    /// Synchronous requests (the default)
    #[arg(long, conflicts_with = "async_mode")]
    pub sync: bool,

    /// Asynchronous requests: submit, then poll for completions
    #[arg(long = "async")]
    pub async_mode: bool,

    /// Bytes per request; K and M suffixes allowed
    #[arg(long, default_value = "65536", value_parser = parse_pktlen)]
    pub pktlen: usize,

    /// How long to measure, in seconds (fractions allowed)
    #[arg(long, default_value_t = 3.0, value_parser = parse_seconds)]
    pub seconds: f64,

    /// Threads per process
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub thread: u32,

    /// Processes; each runs the whole benchmark and the results are summed
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub multi: u32,

    /// Contexts of the measured mode and op type per NUMA node [default: one per thread]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub ctxnum: Option<u32>,

    /// Use the library's default contexts (wd_comp_init2 style) instead of --ctxnum
    #[arg(long, conflicts_with = "ctxnum")]
    pub init2: bool,

    /// Input file [default: built-in text-like data that compresses about 3:1]
    #[arg(long)]
    pub file: Option<PathBuf>,

    /// Compression level, 1..15 [default: 8 for lz77_zstd and lz77_only, else 1]
    #[arg(long = "level", visible_alias = "complevel",
          value_parser = clap::value_parser!(u32).range(1..=15))]
    pub level_arg: Option<u32>,

    /// Window in KiB: 4, 8, 16, 24 or 32
    #[arg(long, default_value = "32", value_parser = parse_window)]
    pub winsize: WindowSize,

    /// Async requests in flight per thread
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub inflight: u32,

    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,

    /// Run as one process of --multi: wait for the parent's go, print a raw report
    #[arg(long, hide = true)]
    pub child_report: bool,
}

fn parse_pktlen(s: &str) -> std::result::Result<usize, String> {
    let n = parse_size(s)?;
    if n == 0 || n > 256 << 20 {
        return Err(format!("packet length {s} (valid: 1 byte to 256M)"));
    }
    Ok(n)
}

fn parse_seconds(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a duration in seconds (0 to 86400)")),
    }
}

impl Args {
    /// The mode in force: modelled devices are there to be used.
    fn mode(&self) -> Mode {
        self.mode.unwrap_or_else(|| {
            if std::env::var_os(uadk::model::MODEL_ENV).is_some_and(|v| !v.is_empty()) {
                Mode::Sva
            } else {
                Mode::Instr
            }
        })
    }

    /// The level in force: the engine's lz77 formats have level 8 (and 9, price mode).
    pub fn level(&self) -> u32 {
        self.level_arg
            .unwrap_or(if self.alg.is_lz77() { 8 } else { 1 })
    }

    fn op(&self) -> OpType {
        match self.opt {
            // UADK's benchmark runs lz77 as compression whatever --opt says.
            _ if self.alg.is_lz77() => OpType::Compress,
            0 | 2 => OpType::Compress,
            _ => OpType::Decompress,
        }
    }

    fn stream(&self) -> bool {
        self.opt >= 2
    }

    fn ctx_mode(&self) -> CtxMode {
        if self.async_mode {
            CtxMode::Async
        } else {
            CtxMode::Sync
        }
    }

    fn opt_name(&self) -> &'static str {
        match self.opt {
            1 | 3 if self.alg.is_lz77() => self.opt_name_lz77(),
            0 => "block compress",
            1 => "block decompress",
            2 => "stream compress",
            _ => "stream decompress",
        }
    }

    fn opt_name_lz77(&self) -> &'static str {
        if self.stream() {
            "stream compress"
        } else {
            "block compress"
        }
    }

    /// The command line of one `--multi` child: these options, one process, raw report.
    fn child_argv(&self) -> Vec<OsString> {
        let mut v: Vec<OsString> = vec!["benchmark".into()];
        let mut opt = |k: &str, val: String| {
            v.push(k.into());
            v.push(val.into());
        };
        opt("--alg", self.alg.alg().name().to_string());
        opt("--mode", self.mode().name().to_string());
        opt("--opt", self.opt.to_string());
        opt("--pktlen", self.pktlen.to_string());
        opt("--seconds", self.seconds.to_string());
        opt("--thread", self.thread.to_string());
        opt("--level", self.level().to_string());
        opt("--winsize", self.winsize.bytes().to_string());
        opt("--inflight", self.inflight.to_string());
        if let Some(c) = self.ctxnum {
            opt("--ctxnum", c.to_string());
        }
        if let Some(f) = &self.file {
            v.push("--file".into());
            v.push(f.clone().into_os_string());
        }
        if self.init2 {
            v.push("--init2".into());
        }
        if self.async_mode {
            v.push("--async".into());
        }
        v.push("--child-report".into());
        v
    }
}

/// Run the benchmark and print its result.
pub fn run(args: Args) -> Result<ExitCode> {
    if args.alg == BenchAlg::Lz4 && args.stream() {
        return Err(Error::msg(
            "lz4 is served in block mode only: use --opt 0 or --opt 1",
        ));
    }
    if args.alg.is_lz77() && (args.opt == 1 || args.opt == 3) {
        eprintln!(
            "{} is compression only: measuring {}",
            args.alg.alg().name(),
            if args.stream() {
                "stream compress"
            } else {
                "block compress"
            }
        );
    }
    let mut faults = None;
    let summary = if args.multi > 1 {
        run_children(&args)?
    } else {
        let bench = Bench::prepare(&args)?;
        if args.child_report {
            wait_for_go()?;
        }
        let m = bench.measure(&args)?;
        if args.child_report {
            println!("{}", m.report_line(bench.comp.driver_name()));
            return Ok(ExitCode::SUCCESS);
        }
        let info = bench.comp.ctx_info();
        let sum = |f: fn(&uadk::wd::CtxStatsSnapshot) -> u64| -> u64 {
            info.iter().map(|c| f(&c.stats)).sum()
        };
        faults = Some([
            sum(|s| s.hw_errors),
            sum(|s| s.timeouts),
            sum(|s| s.retries),
            sum(|s| s.fallbacks),
        ]);
        Summary::from_measurement(&m, bench.comp.driver_name(), &bench.input)
    };
    if args.json {
        println!("{}", summary.json(&args));
    } else {
        summary.print(&args);
        if let Some([e, t, r, f]) = faults.filter(|v| v.iter().any(|&x| x > 0)) {
            println!("device faults: {e} errors, {t} timeouts, {r} retried, {f} finished by the CPU engine");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::multi::parse_report;
    use super::prepare::split;
    use super::summary::{json_str, Counts, Measurement};
    use super::*;

    #[test]
    fn split_wraps_around() {
        let data: Vec<u8> = (0..10).collect();
        let p = split(&data, 4);
        assert_eq!(
            p,
            vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9, 0, 1]]
        );
        assert_eq!(
            split(&data, 25),
            vec![[&data[..], &data[..], &data[..5]].concat()]
        );
    }

    #[test]
    fn report_round_trips() {
        let m = Measurement {
            counts: Counts {
                requests: 7,
                bytes_in: 700,
                bytes_out: 300,
                lat_ns: 12345,
            },
            wall: Duration::from_millis(1500),
            cpu: Duration::from_millis(1400),
            op: OpType::Compress,
        };
        let (back, driver) = parse_report(&m.report_line("cpu"), OpType::Compress).unwrap();
        assert_eq!(driver, "cpu");
        assert_eq!(back.counts.requests, 7);
        assert_eq!(back.counts.lat_ns, 12345);
        assert_eq!(back.wall, m.wall);
        assert!(parse_report("@x requests=z", OpType::Compress).is_err());
    }

    #[test]
    fn json_escapes() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}
