//! `compare`: our engine beside the reference tools, in one run, on the same inputs and one
//! core.
//!
//! Contenders, on each input:
//! - our engine in-process through the whole stack (`Comp` → `Session` → scheduler →
//!   context → CPU driver), sync block requests reusing their buffers: whole files, 64 KiB
//!   blocks and 4 KiB pages; and whole files in stream mode through `Encoder`/`Decoder`;
//! - the bare codecs the CPU driver calls (ISA-L through `IsalDeflate`, libdeflate,
//!   lz4_flex) on the same blocks and pages: the stack's overhead is the difference;
//! - command-line tools on whole files: `uadk_tool` itself, `igzip`, `libdeflate-gzip`,
//!   `pigz -p 1` (zlib; `gzip` when pigz is missing), `lz4`, `zstd`. Each reads its input
//!   from a file in a tmpfs scratch folder and writes to a file there (compression, to
//!   measure the size) or to /dev/null (decompression); a run is timed by the wall clock
//!   from spawn to exit, and its peak RSS is the child's `ru_maxrss` from `wait4`, taken
//!   by a small helper process (see [`run_timed`]).
//!
//! The process pins itself to one CPU first (children inherit it), so every figure is per
//! core. Each measurement runs `--runs` times (3), interleaved with the others (every
//! contender's run 1, then every contender's run 2 in the reverse order, ...); tables give
//! the median and the range. Async scaling (1 vs 2 async contexts) is measured last, on every CPU allowed.
//!
//! Output: a markdown report on stdout and in `OUT/compare.md`, and a bar chart of the
//! main input in `OUT/compare.png`.

use crate::common::{Context, Error, Result};
use crate::datagen;
use crate::datagen::XorShift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use uadk::drv::cpu::isal::{IsalDeflate, Wrapper};
use uadk::drv::Callback;
use uadk::{
    Alg, Comp, CompConfig, Completion, CtxMode, Decoder, Encoder, JobBuf, Level, OpType, Session,
    SessionSetup,
};

/// A memory page.
const PAGE: usize = 4096;
/// A block, as the benchmark's and UADK's usual packet.
const BLOCK: usize = 64 * 1024;
/// Bytes of each corpus file in the `--quick` sample.
const QUICK_SLICE: usize = 2 << 20;
/// Largest VM image in `--quick` mode, in MiB.
const QUICK_VM_MB: usize = 8;
/// Chunks whose first calls the RSS probe of a blockwise contender covers.
const RSS_PROBE_CHUNKS: usize = 64;
/// Size of the generated text used when no corpus is found.
const FALLBACK_LEN: usize = 32 << 20;
/// Async requests in flight in the scaling measurement.
const ASYNC_WINDOW: usize = 64;

/// Options of `compare`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Folder of corpus files, compared each and all concatenated
    /// [default: scratch/corpus, where scripts/compare.sh unzips the Silesia files]
    #[arg(long)]
    pub corpus: Option<PathBuf>,

    /// Size of the synthetic VM memory image in MiB (0 leaves it out)
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(0..=4096))]
    pub vm_image_mb: u64,

    /// Folder for compare.md and compare.png
    #[arg(long, default_value = "results")]
    pub out: PathBuf,

    /// A fast run (about 20 s): a 2 MiB slice of each corpus file, a VM image of at most
    /// 8 MiB, no per-file tables
    #[arg(long)]
    pub quick: bool,

    /// Runs of each measurement, interleaved
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub runs: u32,

    /// CPU to pin the measurements to [default: the last one this process may use]
    #[arg(long)]
    pub cpu: Option<usize>,

    /// Scratch folder for the inputs and the tools' outputs, removed at the end
    /// [default: a new folder in /dev/shm (tmpfs), else under the system temp folder]
    #[arg(long)]
    pub scratch: Option<PathBuf>,

    /// Internal: run the program after `--`, timed, and write its wall time, peak RSS and
    /// wait status to this file (see `run_timed`)
    #[arg(long, hide = true, requires = "spawn")]
    pub spawn_report: Option<PathBuf>,

    /// Internal: measure the RSS of warm contexts in this fresh process and print it
    #[arg(long, hide = true)]
    pub ctx_rss_child: bool,

    /// Internal: the program to run for --spawn-report, and its arguments
    #[arg(last = true, hide = true)]
    pub spawn: Vec<OsString>,
}

/// What a row compares: the figures the targets are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    L1,
    L6,
    Lz4,
    Zstd,
}

impl Family {
    fn title(self) -> &'static str {
        match self {
            Family::L1 => "deflate L1",
            Family::L6 => "deflate L6",
            Family::Lz4 => "lz4",
            Family::Zstd => "zstd (ref.)",
        }
    }

    /// The library's algorithm and level for this family (gzip framing, as the CLIs).
    fn alg_level(self) -> (Alg, u32) {
        match self {
            Family::L1 => (Alg::Gzip, 1),
            Family::L6 => (Alg::Gzip, 6),
            Family::Lz4 | Family::Zstd => (Alg::Lz4, 1),
        }
    }

    fn key(self) -> &'static str {
        match self {
            Family::L1 => "L1",
            Family::L6 => "L6",
            Family::Lz4 => "lz4",
            Family::Zstd => "zstd",
        }
    }
}

/// Who a contender is.
#[derive(Debug, Clone)]
struct Desc {
    /// Stable name the targets look rows up by.
    key: String,
    family: Family,
    engine: String,
    unit: String,
}

/// One timed run.
struct Sample {
    secs: f64,
    /// Compressed bytes (compression) or bytes produced (decompression).
    out_len: u64,
}

/// What a contender measured beside its timed runs.
#[derive(Debug, Default, Clone)]
struct Extras {
    /// p50 and p99 of one call, in microseconds (blockwise contenders).
    lat_c: Option<(f64, f64)>,
    lat_d: Option<(f64, f64)>,
    /// Peak RSS in KiB: the whole process for CLIs, the growth of ours for in-process runs.
    rss_c: Option<u64>,
    rss_d: Option<u64>,
}

trait Contender {
    fn desc(&self) -> &Desc;
    /// Untimed: set up, check the round trip, note the memory used.
    fn prepare(&mut self, data: &[u8]) -> Result<()>;
    fn compress(&mut self, data: &[u8]) -> Result<Sample>;
    fn decompress(&mut self, data: &[u8]) -> Result<Sample>;
    fn extras(&self) -> Extras;
}

// ---------------------------------------------------------------------------------------
// Measuring our memory.

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let s = fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Growth of this process's peak RSS over a stretch of code.
struct RssProbe {
    base: Option<u64>,
    /// The kernel's peak was reset at the start, so VmHWM is the stretch's own peak.
    peak_reset: bool,
}

impl RssProbe {
    fn start() -> RssProbe {
        // Writing 5 to clear_refs resets the peak RSS (Linux 4.0 and later).
        let peak_reset = fs::write("/proc/self/clear_refs", "5").is_ok();
        RssProbe {
            base: status_kib("VmRSS:"),
            peak_reset,
        }
    }

    fn delta_kib(&self) -> Option<u64> {
        let now = if self.peak_reset {
            status_kib("VmHWM:")?
        } else {
            status_kib("VmRSS:")?
        };
        Some(now.saturating_sub(self.base?))
    }
}

// ---------------------------------------------------------------------------------------
// In-process contenders: the stack, and the bare codecs.

/// The bare codecs the CPU driver calls, called directly.
enum Bare {
    /// ISA-L level 1 (the driver's level-1 block codec); libdeflate inflates.
    Isal(Box<IsalDeflate>, libdeflater::Decompressor),
    /// libdeflate at a level, and its inflate.
    Libdeflate(libdeflater::Compressor, libdeflater::Decompressor),
    /// lz4_flex's block format.
    Lz4,
}

/// What serves the calls of a blockwise contender.
enum Path_ {
    /// Sync block requests through the whole stack.
    Stack {
        _comp: Comp,
        c: Session,
        d: Session,
    },
    Bare(Bare),
}

impl Path_ {
    fn compress(&mut self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
        Ok(match self {
            Path_::Stack { c, .. } => c.process(src, dst)?,
            Path_::Bare(Bare::Isal(e, _)) => e
                .compress(src, dst, Wrapper::Gzip, 15)
                .map_err(|e| Error::msg(format!("ISA-L: {e:?}")))?,
            Path_::Bare(Bare::Libdeflate(c, _)) => c
                .gzip_compress(src, dst)
                .map_err(|e| Error::msg(format!("libdeflate: {e:?}")))?,
            Path_::Bare(Bare::Lz4) => lz4_flex::block::compress_into(src, dst)
                .map_err(|e| Error::msg(format!("lz4_flex: {e}")))?,
        })
    }

    fn decompress(&mut self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
        Ok(match self {
            Path_::Stack { d, .. } => d.process(src, dst)?,
            Path_::Bare(Bare::Isal(_, d) | Bare::Libdeflate(_, d)) => {
                d.gzip_decompress(src, dst)
                    .map_err(|e| Error::msg(format!("libdeflate: {e:?}")))?
            }
            Path_::Bare(Bare::Lz4) => lz4_flex::block::decompress_into(src, dst)
                .map_err(|e| Error::msg(format!("lz4_flex: {e}")))?,
        })
    }
}

/// Whole files, 64 KiB blocks or 4 KiB pages, one sync call each, buffers reused.
struct Blocks {
    desc: Desc,
    path: Path_,
    alg: Alg,
    /// Bytes per call; `None`: the whole input in one call.
    chunk: Option<usize>,
    /// Compressed chunks, back to back, and where each is.
    packed: Vec<u8>,
    ranges: Vec<(usize, usize)>,
    out: Vec<u8>,
    back: Vec<u8>,
    /// Nanoseconds per call over the timed runs (capacity reserved in `prepare`).
    lat_c: Vec<u64>,
    lat_d: Vec<u64>,
    runs: usize,
    extras: Extras,
}

impl Blocks {
    fn stack(family: Family, chunk: Option<usize>, runs: u32) -> Result<Blocks> {
        let (alg, level) = family.alg_level();
        let comp = Comp::new(one_ctx_per_op(alg))?;
        let c =
            comp.session(&SessionSetup::new(alg, OpType::Compress).level(Level::new(level)?))?;
        let d = comp.session(&SessionSetup::new(alg, OpType::Decompress))?;
        let engine = "uadk stack, block";
        Ok(Blocks::new(
            format!("uadk-{}-{}", family.key(), unit_key(chunk)),
            family,
            engine.into(),
            Path_::Stack { _comp: comp, c, d },
            alg,
            chunk,
            runs,
        ))
    }

    fn bare(family: Family, chunk: usize, runs: u32) -> Result<Blocks> {
        let (alg, level) = family.alg_level();
        let (bare, engine) = match family {
            Family::L1 => (
                Bare::Isal(
                    Box::new(IsalDeflate::new(1)),
                    libdeflater::Decompressor::new(),
                ),
                "bare ISA-L (inflate: libdeflate)",
            ),
            Family::L6 => {
                let lvl = libdeflater::CompressionLvl::new(level as i32)
                    .map_err(|e| Error::msg(format!("libdeflate level: {e:?}")))?;
                (
                    Bare::Libdeflate(
                        libdeflater::Compressor::new(lvl),
                        libdeflater::Decompressor::new(),
                    ),
                    "bare libdeflate",
                )
            }
            _ => (Bare::Lz4, "bare lz4_flex"),
        };
        Ok(Blocks::new(
            format!("bare-{}-{}", family.key(), unit_key(Some(chunk))),
            family,
            engine.into(),
            Path_::Bare(bare),
            alg,
            Some(chunk),
            runs,
        ))
    }

    fn new(
        key: String,
        family: Family,
        engine: String,
        path: Path_,
        alg: Alg,
        chunk: Option<usize>,
        runs: u32,
    ) -> Blocks {
        Blocks {
            desc: Desc {
                key,
                family,
                engine,
                unit: unit_name(chunk).into(),
            },
            path,
            alg,
            chunk,
            packed: Vec::new(),
            ranges: Vec::new(),
            out: Vec::new(),
            back: Vec::new(),
            lat_c: Vec::new(),
            lat_d: Vec::new(),
            runs: runs as usize,
            extras: Extras::default(),
        }
    }
}

fn unit_key(chunk: Option<usize>) -> String {
    match chunk {
        None => "whole".into(),
        Some(n) => format!("{}k", n / 1024),
    }
}

fn unit_name(chunk: Option<usize>) -> &'static str {
    match chunk {
        None => "whole file",
        Some(PAGE) => "4 KiB pages",
        Some(BLOCK) => "64 KiB blocks",
        Some(_) => "blocks",
    }
}

/// One sync context per op type, nothing async: what a single-threaded user sets up.
fn one_ctx_per_op(alg: Alg) -> CompConfig {
    CompConfig::new()
        .alg(alg)
        .ctxs(CtxMode::Sync, OpType::Compress, 1)
        .ctxs(CtxMode::Sync, OpType::Decompress, 1)
        .ctxs(CtxMode::Async, OpType::Compress, 0)
        .ctxs(CtxMode::Async, OpType::Decompress, 0)
}

impl Contender for Blocks {
    fn desc(&self) -> &Desc {
        &self.desc
    }

    fn prepare(&mut self, data: &[u8]) -> Result<()> {
        let name = self.desc.key.clone();
        let Some(chunk) = self.chunk else {
            // Whole file: the output buffer is the compressed file.
            let probe = RssProbe::start();
            self.packed = vec![0u8; uadk::compress_bound(self.alg, data.len())];
            let n = self.path.compress(data, &mut self.packed)?;
            self.extras.rss_c = probe.delta_kib();
            self.ranges = vec![(0, n)];
            let probe = RssProbe::start();
            self.back = vec![0u8; data.len()];
            let m = self.path.decompress(&self.packed[..n], &mut self.back)?;
            self.extras.rss_d = probe.delta_kib();
            if self.back[..m] != *data {
                return Err(Error::msg(format!("{name}: the round trip differs")));
            }
            return Ok(());
        };
        // The probe covers the first calls: codec state and the reused buffers.
        let probe = RssProbe::start();
        self.out = vec![0u8; uadk::compress_bound(self.alg, chunk)];
        for c in data.chunks(chunk).take(RSS_PROBE_CHUNKS) {
            self.path.compress(c, &mut self.out)?;
        }
        self.extras.rss_c = probe.delta_kib();
        let chunks = data.len().div_ceil(chunk);
        self.packed = Vec::with_capacity(data.len() / 2);
        self.ranges = Vec::with_capacity(chunks);
        for c in data.chunks(chunk) {
            let n = self.path.compress(c, &mut self.out)?;
            self.ranges.push((self.packed.len(), n));
            self.packed.extend_from_slice(&self.out[..n]);
        }
        let probe = RssProbe::start();
        self.back = vec![0u8; chunk];
        for &(s, l) in self.ranges.iter().take(RSS_PROBE_CHUNKS) {
            self.path
                .decompress(&self.packed[s..s + l], &mut self.back)?;
        }
        self.extras.rss_d = probe.delta_kib();
        for (c, &(s, l)) in data.chunks(chunk).zip(&self.ranges) {
            let m = self
                .path
                .decompress(&self.packed[s..s + l], &mut self.back[..c.len()])?;
            if self.back[..m] != *c {
                return Err(Error::msg(format!("{name}: the round trip differs")));
            }
        }
        self.lat_c = Vec::with_capacity(chunks * self.runs);
        self.lat_d = Vec::with_capacity(chunks * self.runs);
        Ok(())
    }

    fn compress(&mut self, data: &[u8]) -> Result<Sample> {
        let Some(chunk) = self.chunk else {
            let t0 = Instant::now();
            let n = self.path.compress(data, &mut self.packed)?;
            return Ok(Sample {
                secs: t0.elapsed().as_secs_f64(),
                out_len: n as u64,
            });
        };
        let mut total = 0usize;
        let t0 = Instant::now();
        for c in data.chunks(chunk) {
            let t = Instant::now();
            total += self.path.compress(c, &mut self.out)?;
            // Capacity was reserved for every run: no allocation in the loop.
            self.lat_c.push(t.elapsed().as_nanos() as u64);
        }
        Ok(Sample {
            secs: t0.elapsed().as_secs_f64(),
            out_len: total as u64,
        })
    }

    fn decompress(&mut self, data: &[u8]) -> Result<Sample> {
        let Some(chunk) = self.chunk else {
            let (s, l) = self.ranges[0];
            let t0 = Instant::now();
            let m = self
                .path
                .decompress(&self.packed[s..s + l], &mut self.back)?;
            return Ok(Sample {
                secs: t0.elapsed().as_secs_f64(),
                out_len: m as u64,
            });
        };
        let mut total = 0usize;
        let t0 = Instant::now();
        for (c, &(s, l)) in data.chunks(chunk).zip(&self.ranges) {
            let t = Instant::now();
            total += self
                .path
                .decompress(&self.packed[s..s + l], &mut self.back[..c.len()])?;
            self.lat_d.push(t.elapsed().as_nanos() as u64);
        }
        Ok(Sample {
            secs: t0.elapsed().as_secs_f64(),
            out_len: total as u64,
        })
    }

    fn extras(&self) -> Extras {
        let mut e = self.extras.clone();
        e.lat_c = percentiles(&self.lat_c);
        e.lat_d = percentiles(&self.lat_d);
        e
    }
}

/// p50 and p99 (nearest rank) of nanosecond samples, in microseconds.
fn percentiles(ns: &[u64]) -> Option<(f64, f64)> {
    if ns.is_empty() {
        return None;
    }
    let mut v = ns.to_vec();
    v.sort_unstable();
    let at = |p: f64| {
        let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1] as f64 / 1e3
    };
    Some((at(0.50), at(0.99)))
}

/// Whole files in stream mode: `Encoder` and `Decoder` over a session of our own.
struct Stream {
    desc: Desc,
    comp: Comp,
    alg: Alg,
    level: Level,
    /// The compressed file; compression runs write into `sink`.
    packed: Vec<u8>,
    sink: Vec<u8>,
    buf: Vec<u8>,
    extras: Extras,
}

impl Stream {
    fn new(family: Family) -> Result<Stream> {
        let (alg, level) = family.alg_level();
        Ok(Stream {
            desc: Desc {
                key: format!("uadk-{}-stream", family.key()),
                family,
                engine: "uadk stack, stream (Encoder/Decoder)".into(),
                unit: "whole file".into(),
            },
            comp: Comp::new(one_ctx_per_op(alg))?,
            alg,
            level: Level::new(level)?,
            packed: Vec::new(),
            sink: Vec::new(),
            buf: vec![0u8; 256 * 1024],
            extras: Extras::default(),
        })
    }

    fn encode(&self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        let sess = self
            .comp
            .session(&SessionSetup::new(self.alg, OpType::Compress).level(self.level))?;
        let mut enc = Encoder::with_session(sess, out)?;
        enc.write_all(data)?;
        enc.finish()?;
        Ok(())
    }

    /// Decode the packed file; with `check`, compare it with `data` as it comes.
    fn decode(&mut self, check: Option<&[u8]>) -> Result<u64> {
        let sess = self
            .comp
            .session(&SessionSetup::new(self.alg, OpType::Decompress))?;
        let mut dec = Decoder::with_session(sess, &self.packed[..])?;
        let mut total = 0usize;
        loop {
            let n = dec.read(&mut self.buf)?;
            if n == 0 {
                break;
            }
            if let Some(orig) = check {
                if orig.get(total..total + n) != Some(&self.buf[..n]) {
                    return Err(Error::msg(format!(
                        "{}: the round trip differs",
                        self.desc.key
                    )));
                }
            }
            total += n;
        }
        Ok(total as u64)
    }
}

impl Contender for Stream {
    fn desc(&self) -> &Desc {
        &self.desc
    }

    fn prepare(&mut self, data: &[u8]) -> Result<()> {
        let probe = RssProbe::start();
        let mut packed = Vec::with_capacity(data.len() / 2);
        self.encode(data, &mut packed)?;
        self.extras.rss_c = probe.delta_kib();
        self.packed = packed;
        self.sink = Vec::with_capacity(self.packed.len() + 1024);
        let probe = RssProbe::start();
        let n = self.decode(Some(data))?;
        self.extras.rss_d = probe.delta_kib();
        if n != data.len() as u64 {
            return Err(Error::msg(format!(
                "{}: {n} bytes back of {}",
                self.desc.key,
                data.len()
            )));
        }
        Ok(())
    }

    fn compress(&mut self, data: &[u8]) -> Result<Sample> {
        let mut sink = std::mem::take(&mut self.sink);
        let t0 = Instant::now();
        self.encode(data, &mut sink)?;
        let secs = t0.elapsed().as_secs_f64();
        let out_len = sink.len() as u64;
        self.sink = sink;
        Ok(Sample { secs, out_len })
    }

    fn decompress(&mut self, _data: &[u8]) -> Result<Sample> {
        let t0 = Instant::now();
        let out_len = self.decode(None)?;
        Ok(Sample {
            secs: t0.elapsed().as_secs_f64(),
            out_len,
        })
    }

    fn extras(&self) -> Extras {
        self.extras.clone()
    }
}

// ---------------------------------------------------------------------------------------
// Command-line contenders.

/// A tool run on whole files.
struct Cli {
    desc: Desc,
    /// Program and options; the file name follows.
    comp: Vec<OsString>,
    decomp: Vec<OsString>,
    this: PathBuf,
    input: PathBuf,
    packed: PathBuf,
    report: PathBuf,
    rss_c: u64,
    rss_d: u64,
}

/// How a child ended, and what it used.
struct ChildEnd {
    secs: f64,
    ok: bool,
    status: i32,
    maxrss_kib: u64,
}

/// Spawn `argv` with inherited stdio and wait for it with `wait4`: its wall time from
/// spawn to exit, wait status and own peak RSS.
fn spawn_and_wait(argv: &[OsString]) -> Result<ChildEnd> {
    let prog = argv.first().ok_or_else(|| Error::msg("nothing to run"))?;
    let t0 = Instant::now();
    let child = Command::new(prog)
        .args(&argv[1..])
        .spawn()
        .context(prog.to_string_lossy())?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (std's Child only reaps in
        // wait/try_wait, never called here); status and ru are valid and writable.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::msg(format!(
                "waiting for {}: {err}",
                prog.to_string_lossy()
            )));
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    drop(child);
    Ok(ChildEnd {
        secs,
        ok: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        status,
        maxrss_kib: ru.ru_maxrss.max(0) as u64,
    })
}

/// `--spawn-report`: run the program, write "seconds maxrss_kib status" to `report`.
fn spawn_helper(report: &Path, argv: &[OsString]) -> Result<ExitCode> {
    let end = spawn_and_wait(argv)?;
    fs::write(
        report,
        format!("{} {} {}\n", end.secs, end.maxrss_kib, end.status),
    )
    .context(report.display())?;
    Ok(if end.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Run `argv` on `file` with stdout going to `stdout`, timed from spawn to exit.
///
/// Linux starts a child's `ru_maxrss` at the peak RSS of the process it was spawned from
/// (exec records the old address space's peak), which here holds the inputs in memory.
/// So the tool is spawned by a small helper (this executable with `--spawn-report`),
/// which times it, takes its rusage from `wait4`, and reports both through a file; the
/// helper's own RSS is then the floor of the figure (measured with `true`, shown in the
/// report).
fn run_timed(
    this: &Path,
    argv: &[OsString],
    file: &Path,
    stdout: File,
    report: &Path,
) -> Result<ChildEnd> {
    let status = Command::new(this)
        .arg("compare")
        .arg("--spawn-report")
        .arg(report)
        .arg("--")
        .args(argv)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .status()
        .context("starting the timing helper")?;
    let text = fs::read_to_string(report).context(report.display())?;
    let _ = fs::remove_file(report);
    let mut it = text.split_whitespace();
    let bad = || Error::msg(format!("malformed helper report: {text:?}"));
    let secs: f64 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let maxrss_kib: u64 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let st: i32 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    Ok(ChildEnd {
        secs,
        ok: status.success(),
        status: st,
        maxrss_kib,
    })
}

/// The helper's own RSS: the floor of every CLI's peak RSS figure.
fn rss_floor(this: &Path, scratch: &Path) -> Option<u64> {
    let t = which("true")?;
    let null = File::create("/dev/null").ok()?;
    let end = run_timed(
        this,
        &[t.into_os_string()],
        Path::new("/dev/null"),
        null,
        &scratch.join("floor.report"),
    )
    .ok()?;
    Some(end.maxrss_kib)
}

impl Cli {
    fn check(&self, end: &ChildEnd, what: &str) -> Result<()> {
        if end.ok {
            Ok(())
        } else {
            Err(Error::msg(format!(
                "{} ({what}) failed: wait status {:#x}",
                self.desc.engine, end.status
            )))
        }
    }
}

impl Contender for Cli {
    fn desc(&self) -> &Desc {
        &self.desc
    }

    fn prepare(&mut self, _data: &[u8]) -> Result<()> {
        Ok(())
    }

    fn compress(&mut self, _data: &[u8]) -> Result<Sample> {
        let out = File::create(&self.packed).context(self.packed.display())?;
        let end = run_timed(&self.this, &self.comp, &self.input, out, &self.report)?;
        self.check(&end, "compress")?;
        self.rss_c = self.rss_c.max(end.maxrss_kib);
        let out_len = fs::metadata(&self.packed)
            .context(self.packed.display())?
            .len();
        Ok(Sample {
            secs: end.secs,
            out_len,
        })
    }

    fn decompress(&mut self, data: &[u8]) -> Result<Sample> {
        let null = File::create("/dev/null").context("/dev/null")?;
        let end = run_timed(&self.this, &self.decomp, &self.packed, null, &self.report)?;
        self.check(&end, "decompress")?;
        self.rss_d = self.rss_d.max(end.maxrss_kib);
        Ok(Sample {
            secs: end.secs,
            out_len: data.len() as u64,
        })
    }

    fn extras(&self) -> Extras {
        Extras {
            rss_c: Some(self.rss_c),
            rss_d: Some(self.rss_d),
            ..Extras::default()
        }
    }
}

/// The reference tools found on this machine.
struct Tools {
    this: PathBuf,
    igzip: Option<PathBuf>,
    libdeflate: Option<PathBuf>,
    /// pigz, or gzip: (path, is pigz).
    zlib: Option<(PathBuf, bool)>,
    lz4: Option<PathBuf>,
    zstd: Option<PathBuf>,
}

/// A program on PATH.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Tools {
    fn find() -> Result<Tools> {
        Ok(Tools {
            this: std::env::current_exe().context("finding this executable")?,
            igzip: which("igzip"),
            libdeflate: which("libdeflate-gzip"),
            zlib: which("pigz")
                .map(|p| (p, true))
                .or_else(|| which("gzip").map(|p| (p, false))),
            lz4: which("lz4"),
            zstd: which("zstd"),
        })
    }

    fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        for (name, found) in [
            ("igzip (Debian package isal)", self.igzip.is_some()),
            (
                "libdeflate-gzip (Debian package libdeflate-tools)",
                self.libdeflate.is_some(),
            ),
            ("pigz or gzip", self.zlib.is_some()),
            ("lz4", self.lz4.is_some()),
            ("zstd", self.zstd.is_some()),
        ] {
            if !found {
                m.push(name);
            }
        }
        m
    }
}

fn argv(prog: &Path, args: &[&str]) -> Vec<OsString> {
    let mut v = vec![prog.as_os_str().to_os_string()];
    v.extend(args.iter().map(OsString::from));
    v
}

/// The CLI contenders of a family, on one input file.
fn clis(tools: &Tools, family: Family, input: &Path, scratch: &Path) -> Vec<Cli> {
    let mut v = Vec::new();
    let mut add = |key: &str, engine: String, comp: Vec<OsString>, decomp: Vec<OsString>| {
        v.push(Cli {
            desc: Desc {
                key: key.into(),
                family,
                engine,
                unit: "whole file, CLI".into(),
            },
            comp,
            decomp,
            this: tools.this.clone(),
            input: input.to_path_buf(),
            packed: scratch.join(format!("out.{key}")),
            report: scratch.join(format!("report.{key}")),
            rss_c: 0,
            rss_d: 0,
        });
    };
    let this = &tools.this;
    match family {
        Family::L1 | Family::L6 => {
            let l = if family == Family::L1 { "1" } else { "6" };
            add(
                &format!("tool-{}", family.key()),
                format!("uadk_tool compress -l {l}"),
                argv(this, &["compress", "-a", "gzip", "-l", l, "-c"]),
                argv(this, &["decompress", "-a", "gzip", "-c"]),
            );
            if let Some(p) = &tools.igzip {
                // igzip's levels are 0..3: 3 is its strongest, the peer of level 6.
                let il = if family == Family::L1 { "1" } else { "3" };
                add(
                    &format!("igzip-{il}"),
                    format!("igzip -{il}"),
                    argv(p, &[&format!("-{il}"), "-c"]),
                    argv(p, &["-d", "-c"]),
                );
            }
            if let Some(p) = &tools.libdeflate {
                add(
                    &format!("libdeflate-{l}"),
                    format!("libdeflate-gzip -{l}"),
                    argv(p, &[&format!("-{l}"), "-c"]),
                    argv(p, &["-d", "-c"]),
                );
            }
            if let Some((p, pigz)) = &tools.zlib {
                let (engine, comp, decomp) = if *pigz {
                    (
                        format!("pigz -p 1 -{l} (zlib)"),
                        argv(p, &["-p", "1", &format!("-{l}"), "-c"]),
                        argv(p, &["-p", "1", "-d", "-c"]),
                    )
                } else {
                    (
                        format!("gzip -{l} (zlib)"),
                        argv(p, &[&format!("-{l}"), "-c"]),
                        argv(p, &["-d", "-c"]),
                    )
                };
                add(&format!("zlib-{l}"), engine, comp, decomp);
            }
        }
        Family::Lz4 => {
            add(
                "tool-lz4",
                "uadk_tool compress -a lz4".into(),
                argv(this, &["compress", "-a", "lz4", "-c"]),
                argv(this, &["decompress", "-a", "lz4", "-c"]),
            );
            if let Some(p) = &tools.lz4 {
                add(
                    "lz4-1",
                    "lz4 -1".into(),
                    argv(p, &["-1", "-c", "-q"]),
                    argv(p, &["-d", "-c", "-q"]),
                );
            }
        }
        Family::Zstd => {
            if let Some(p) = &tools.zstd {
                for l in ["1", "3"] {
                    add(
                        &format!("zstd-{l}"),
                        format!("zstd -{l}"),
                        argv(
                            p,
                            &[
                                &format!("-{l}"),
                                "--single-thread",
                                "--no-asyncio",
                                "-q",
                                "-c",
                            ],
                        ),
                        argv(p, &["-d", "--no-asyncio", "-q", "-c"]),
                    );
                }
            }
        }
    }
    v
}

// ---------------------------------------------------------------------------------------
// Inputs.

/// One input, as a file in the scratch folder.
struct Input {
    name: String,
    what: String,
    path: PathBuf,
    /// Every contender (the main input and the VM image), or whole files only.
    detailed: bool,
    main: bool,
}

/// Regular, non-empty files of the corpus folder, by name.
fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0))
        .filter(|p| p.extension().is_none_or(|e| e != "zip"))
        .collect();
    v.sort();
    v
}

/// Uniform in `0..n`, as an index.
fn below(rng: &mut XorShift, n: usize) -> usize {
    rng.below(n as u64) as usize
}

/// Shares of the VM image's pages, in percent: zero, near-duplicate, corpus, random.
const VM_MIX: [(usize, &str); 4] = [
    (40, "zero pages"),
    (
        30,
        "near-duplicates of 64 corpus pages, 1 to 8 bytes changed",
    ),
    (25, "pages of the corpus"),
    (
        5,
        "random bytes (data the guest already compressed or encrypted)",
    ),
];

/// A synthetic VM memory image of `pages` pages drawn from `source` (see [`VM_MIX`]).
fn vm_image(pages: usize, source: &[u8]) -> Vec<u8> {
    let mut rng = XorShift(0x517c_c1b7_2722_0a95);
    let src_pages = (source.len() / PAGE).max(1);
    let page_of = |k: usize| -> &[u8] {
        let s = (k % src_pages) * PAGE;
        &source[s.min(source.len())..(s + PAGE).min(source.len())]
    };
    let templates: Vec<usize> = (0..64).map(|_| below(&mut rng, src_pages)).collect();
    let mut img = vec![0u8; pages * PAGE];
    for p in img.chunks_mut(PAGE) {
        let r = below(&mut rng, 100);
        if r < VM_MIX[0].0 {
            continue;
        }
        if r < VM_MIX[0].0 + VM_MIX[1].0 {
            let t = page_of(templates[below(&mut rng, templates.len())]);
            p[..t.len()].copy_from_slice(t);
            for _ in 0..1 + below(&mut rng, 8) {
                let at = below(&mut rng, PAGE);
                p[at] = rng.next() as u8;
            }
        } else if r < VM_MIX[0].0 + VM_MIX[1].0 + VM_MIX[2].0 {
            let t = page_of(below(&mut rng, src_pages));
            p[..t.len()].copy_from_slice(t);
        } else {
            for b in p.chunks_mut(8) {
                let x = rng.next().to_le_bytes();
                b.copy_from_slice(&x[..b.len()]);
            }
        }
    }
    img
}

/// Copy the corpus (or a slice of each file) into the scratch folder, with the files
/// concatenated and the VM image. Returns the inputs, main one first.
fn build_inputs(args: &Args, scratch: &Path) -> Result<Vec<Input>> {
    let dir = args
        .corpus
        .clone()
        .unwrap_or_else(|| PathBuf::from("scratch/corpus"));
    let files = corpus_files(&dir);
    let mut inputs = Vec::new();
    let mut all: Vec<u8> = Vec::new();
    let mut per_file = Vec::new();
    let mut names = Vec::new();
    for f in &files {
        let mut d = fs::read(f).context(f.display())?;
        if args.quick {
            d.truncate(QUICK_SLICE);
        }
        let name = f
            .file_name()
            .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
        all.extend_from_slice(&d);
        names.push(name.clone());
        if !args.quick {
            let path = scratch.join(&name);
            fs::write(&path, &d).context(path.display())?;
            per_file.push(Input {
                what: format!("{} bytes", d.len()),
                name,
                path,
                detailed: false,
                main: false,
            });
        }
    }
    let (main_name, what) = if files.is_empty() {
        eprintln!(
            "compare: no corpus files in {} (scripts/compare.sh unzips Silesia there); \
             using generated text",
            dir.display()
        );
        all = datagen::text(if args.quick { 8 << 20 } else { FALLBACK_LEN });
        (
            "generated text".to_string(),
            "built-in text-like data".into(),
        )
    } else if args.quick {
        (
            format!("corpus sample ({} files)", files.len()),
            format!(
                "the first {} MiB of each of {} from {}, concatenated",
                QUICK_SLICE >> 20,
                names.join(", "),
                dir.display()
            ),
        )
    } else {
        (
            format!("corpus, all {} files", files.len()),
            format!("{} from {}, concatenated", names.join(", "), dir.display()),
        )
    };
    let path = scratch.join("corpus.all");
    fs::write(&path, &all).context(path.display())?;
    inputs.push(Input {
        what: format!("{what}; {} bytes", all.len()),
        name: main_name,
        path,
        detailed: true,
        main: true,
    });
    let vm_mb = if args.quick {
        (args.vm_image_mb as usize).min(QUICK_VM_MB)
    } else {
        args.vm_image_mb as usize
    };
    if vm_mb > 0 {
        let img = vm_image(vm_mb << 8, &all);
        let path = scratch.join("vm.img");
        fs::write(&path, &img).context(path.display())?;
        let mix: Vec<String> = VM_MIX
            .iter()
            .map(|(pct, what)| format!("{pct}% {what}"))
            .collect();
        inputs.push(Input {
            name: format!("VM memory image ({vm_mb} MiB)"),
            what: format!(
                "{} pages of 4 KiB: {}; {} bytes",
                img.len() / PAGE,
                mix.join(", "),
                img.len()
            ),
            path,
            detailed: true,
            main: false,
        });
    }
    inputs.extend(per_file);
    Ok(inputs)
}

/// The scratch folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn create(choice: Option<&Path>) -> Result<Scratch> {
        let name = format!("uadk-compare-{}", std::process::id());
        let base = match choice {
            Some(p) => p.to_path_buf(),
            None if Path::new("/dev/shm").is_dir() => PathBuf::from("/dev/shm"),
            None => std::env::temp_dir(),
        };
        let dir = base.join(name);
        fs::create_dir_all(&dir).context(dir.display())?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------
// CPU affinity.

fn get_affinity() -> Option<libc::cpu_set_t> {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid and writable, of the size passed.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    (rc == 0).then_some(set)
}

fn set_affinity(set: &libc::cpu_set_t) -> bool {
    // SAFETY: `set` is a valid cpu_set_t of the size passed; 0 is the calling thread.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(set), set) == 0 }
}

fn cpus_in(set: &libc::cpu_set_t) -> Vec<usize> {
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, inside the set.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, set) })
        .collect()
}

fn only_cpu(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: the caller checked that `cpu` is one of ours, so below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set
}

// ---------------------------------------------------------------------------------------
// Running the measurements.

/// MB/s samples of one figure.
#[derive(Debug, Default, Clone)]
struct Stats(Vec<f64>);

impl Stats {
    fn median(&self) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        Some(if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        })
    }

    fn range(&self) -> Option<(f64, f64)> {
        let min = self.0.iter().copied().reduce(f64::min)?;
        let max = self.0.iter().copied().reduce(f64::max)?;
        Some((min, max))
    }

    /// `605 (598–612)`.
    fn show(&self) -> String {
        match (self.median(), self.range()) {
            (Some(m), Some((lo, hi))) if self.0.len() > 1 => {
                format!("{} ({}–{})", num(m), num(lo), num(hi))
            }
            (Some(m), _) => num(m),
            _ => "–".into(),
        }
    }
}

fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The measured figures of one contender on one input.
#[derive(Debug, Clone)]
struct Row {
    desc: Desc,
    ratio: Option<f64>,
    comp: Stats,
    decomp: Stats,
    extras: Extras,
    error: Option<String>,
}

fn mb_per_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs.max(1e-9)
}

/// Prepare every contender, then run them `runs` times, interleaved.
fn measure(list: &mut [Box<dyn Contender>], input: &Input, runs: u32) -> Result<Vec<Row>> {
    let data = fs::read(&input.path).context(input.path.display())?;
    let mut rows: Vec<Row> = list
        .iter()
        .map(|c| Row {
            desc: c.desc().clone(),
            ratio: None,
            comp: Stats::default(),
            decomp: Stats::default(),
            extras: Extras::default(),
            error: None,
        })
        .collect();
    eprintln!(
        "compare: {} ({} bytes), {} contenders",
        input.name,
        data.len(),
        list.len()
    );
    let fail = |row: &mut Row, e: Error| {
        eprintln!("compare: {}: {e}", row.desc.key);
        row.error = Some(e.to_string());
    };
    for (c, row) in list.iter_mut().zip(rows.iter_mut()) {
        if let Err(e) = c.prepare(&data) {
            fail(row, e);
        }
    }
    let n = list.len();
    for run in 0..runs {
        eprintln!("compare:   run {}/{runs}", run + 1);
        // Every other run goes backwards, so no contender always follows the same one.
        let order: Vec<usize> = if run % 2 == 0 {
            (0..n).collect()
        } else {
            (0..n).rev().collect()
        };
        for &i in &order {
            let (c, row) = (&mut list[i], &mut rows[i]);
            if row.error.is_some() {
                continue;
            }
            match c.compress(&data) {
                Ok(s) => {
                    row.comp.0.push(mb_per_s(data.len(), s.secs));
                    row.ratio = Some(data.len() as f64 / s.out_len.max(1) as f64);
                }
                Err(e) => fail(row, e),
            }
        }
        for &i in &order {
            let (c, row) = (&mut list[i], &mut rows[i]);
            if row.error.is_some() {
                continue;
            }
            match c.decompress(&data) {
                Ok(s) if s.out_len == data.len() as u64 => {
                    row.decomp.0.push(mb_per_s(data.len(), s.secs))
                }
                Ok(s) => fail(
                    row,
                    Error::msg(format!(
                        "decompressed {} bytes of {}",
                        s.out_len,
                        data.len()
                    )),
                ),
                Err(e) => fail(row, e),
            }
        }
    }
    for (c, row) in list.iter().zip(rows.iter_mut()) {
        row.extras = c.extras();
    }
    Ok(rows)
}

/// The contenders for an input: every one for detailed inputs, whole files otherwise.
fn contenders(
    input: &Input,
    tools: &Tools,
    scratch: &Path,
    runs: u32,
) -> Result<Vec<Box<dyn Contender>>> {
    let mut v: Vec<Box<dyn Contender>> = Vec::new();
    for family in [Family::L1, Family::L6, Family::Lz4, Family::Zstd] {
        if family != Family::Zstd {
            v.push(Box::new(Blocks::stack(family, None, runs)?));
            if input.detailed {
                if family != Family::Lz4 {
                    v.push(Box::new(Stream::new(family)?));
                }
                for chunk in [BLOCK, PAGE] {
                    v.push(Box::new(Blocks::stack(family, Some(chunk), runs)?));
                    v.push(Box::new(Blocks::bare(family, chunk, runs)?));
                }
            }
        }
        for c in clis(tools, family, &input.path, scratch) {
            // Per file: the tools that the targets name, ours aside.
            if input.detailed || !c.desc.key.starts_with("tool-") {
                v.push(Box::new(c));
            }
        }
    }
    Ok(v)
}

/// Async block requests (gzip level 1, 64 KiB) with `ctxs` async compress contexts, for
/// `dur`: MB/s of input.
fn async_rate(data: &[u8], ctxs: u32, dur: Duration) -> Result<f64> {
    let cfg = CompConfig::new()
        .alg(Alg::Gzip)
        .ctxs(CtxMode::Sync, OpType::Compress, 0)
        .ctxs(CtxMode::Sync, OpType::Decompress, 0)
        .ctxs(CtxMode::Async, OpType::Decompress, 0)
        .ctxs(CtxMode::Async, OpType::Compress, ctxs);
    let comp = Comp::new(cfg)?;
    let sess = comp.session(&SessionSetup::new(Alg::Gzip, OpType::Compress).level(Level::L1))?;
    let blocks: Vec<&[u8]> = data.chunks_exact(BLOCK).collect();
    if blocks.is_empty() {
        return Err(Error::msg("the input is shorter than one 64 KiB block"));
    }
    let bound = uadk::compress_bound(Alg::Gzip, BLOCK);
    // Each slot keeps its block: nothing is copied per request.
    let mut free: Vec<(Vec<u8>, Vec<u8>)> = (0..ASYNC_WINDOW)
        .map(|k| (blocks[k % blocks.len()].to_vec(), vec![0u8; bound]))
        .collect();
    type Done = (JobBuf, JobBuf, uadk::Result<uadk::Output>);
    let (tx, rx) = mpsc::channel::<Done>();
    let flat = |b: JobBuf| match b {
        JobBuf::Flat(v) => v,
        _ => Vec::new(),
    };
    let mut in_flight = 0usize;
    let mut bytes = 0u64;
    let t0 = Instant::now();
    let deadline = t0 + dur;
    loop {
        while let Ok((s, d, r)) = rx.try_recv() {
            in_flight -= 1;
            bytes += r?.consumed as u64;
            free.push((flat(s), flat(d)));
        }
        if Instant::now() >= deadline {
            if in_flight == 0 {
                break;
            }
        } else {
            while let Some((s, d)) = free.pop() {
                let tx = tx.clone();
                let cb: Callback = Box::new(move |c: Completion| {
                    let _ = tx.send((c.src, c.dst, c.result));
                });
                match sess.submit(JobBuf::Flat(s), JobBuf::Flat(d), cb) {
                    Ok(()) => in_flight += 1,
                    Err(e) => {
                        free.push((flat(e.src), flat(e.dst)));
                        if e.error != uadk::Error::Busy {
                            return Err(e.error.into());
                        }
                        break;
                    }
                }
            }
        }
        comp.poll_wait(0, Duration::from_millis(1))?;
    }
    Ok(mb_per_s(bytes as usize, t0.elapsed().as_secs_f64()))
}

/// The async scaling figures: MB/s with 1 and with 2 async contexts.
struct AsyncScaling {
    one: Stats,
    two: Stats,
    cpus: usize,
    /// Resident memory per warm sync context, KiB (see [`ctx_rss_kib`]).
    ctx_rss_kib: Option<f64>,
}

/// [`ctx_rss_kib`] in a fresh process of this program: memory this one has freed would
/// otherwise be reused and hide the contexts' own.
fn ctx_rss_in_child() -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new(exe)
        .args(["compare", "--ctx-rss-child"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("ctx_rss_kib=")?.trim().parse().ok())
}

/// Contexts per op type in the RSS-per-context measurement.
const RSS_CTXS: u32 = 32;

/// Resident memory a warm sync context costs (64 KiB requests): RSS growth over setting up `RSS_CTXS`
/// compress and as many decompress contexts and sending each the requests that build all
/// its codec state (gzip level 1 and level 6 compression, inflation), divided by the
/// contexts. Buffers of the measurement itself are allocated before the probe starts.
fn ctx_rss_kib(data: &[u8]) -> Result<f64> {
    let page = &data[..data.len().min(BLOCK)];
    let mut out = vec![0u8; uadk::compress_bound(Alg::Gzip, page.len())];
    let mut back = vec![0u8; page.len()];
    let probe = RssProbe::start();
    let cfg = CompConfig::new()
        .alg(Alg::Gzip)
        .ctxs(CtxMode::Async, OpType::Compress, 0)
        .ctxs(CtxMode::Async, OpType::Decompress, 0)
        .ctxs(CtxMode::Sync, OpType::Compress, RSS_CTXS)
        .ctxs(CtxMode::Sync, OpType::Decompress, RSS_CTXS);
    let comp = Comp::new(cfg)?;
    let nctx = comp.ctx_info().len() as f64;
    let l1 = comp.session(&SessionSetup::new(Alg::Gzip, OpType::Compress).level(Level::L1))?;
    let l6 = comp.session(&SessionSetup::new(Alg::Gzip, OpType::Compress).level(Level::L6))?;
    let d = comp.session(&SessionSetup::new(Alg::Gzip, OpType::Decompress))?;
    // Round-robin: one request per context of the group, per kind.
    for _ in 0..comp.ctx_info().len() {
        let n = l1.process(page, &mut out)?;
        d.process(&out[..n], &mut back)?;
        l6.process(page, &mut out)?;
    }
    let kib = probe
        .delta_kib()
        .ok_or_else(|| Error::msg("no /proc/self/status"))?;
    drop(comp);
    Ok(kib as f64 / nctx)
}

// ---------------------------------------------------------------------------------------
// The report.

/// The machine, for the report's header.
struct Machine {
    model: String,
    cpus: usize,
    pinned: Option<usize>,
    date: String,
    versions: Vec<String>,
    /// Peak RSS of `true` spawned as the tools are: the floor of the CLIs' figures.
    rss_floor_kib: Option<u64>,
}

fn cpu_model() -> String {
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
fn today() -> String {
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
fn versions() -> Vec<String> {
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
    v
}

fn find<'a>(rows: &'a [Row], key: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.desc.key == key && r.error.is_none())
}

fn lat(l: Option<(f64, f64)>) -> String {
    l.map_or("".into(), |(a, b)| format!("{} / {}", num(a), num(b)))
}

fn rss(c: Option<u64>, d: Option<u64>) -> String {
    let mib = |k: Option<u64>| k.map_or("–".into(), |k| format!("{:.1}", k as f64 / 1024.0));
    format!("{} / {}", mib(c), mib(d))
}

/// The detailed table of one input.
fn table(rows: &[Row]) -> String {
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

/// One verdict of the targets table.
struct Target {
    what: String,
    measured: String,
    factor: Option<f64>,
    met: Option<bool>,
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "not met",
        None => "not measured",
    }
}

/// Ratio of the medians of two figures.
fn speedup(ours: &Stats, theirs: &Stats) -> Option<f64> {
    Some(ours.median()? / theirs.median()?)
}

/// One speed target: ours against a peer, each named by row key and shown by name.
struct Versus {
    what: &'static str,
    ours: (&'static str, &'static str),
    theirs: (&'static str, &'static str),
    decompress: bool,
    /// How far (relative) our ratio may fall short of the peer's; `None`: not judged.
    ratio_tol: Option<f64>,
}

/// Speed against a peer, at a ratio at least the peer's (to the tolerance).
fn versus(rows: &[Row], v: &Versus) -> Target {
    let (Some(a), Some(b)) = (find(rows, v.ours.0), find(rows, v.theirs.0)) else {
        return Target {
            what: v.what.into(),
            measured: format!("{} or {} not measured", v.ours.1, v.theirs.1),
            factor: None,
            met: None,
        };
    };
    let (sa, sb) = if v.decompress {
        (&a.decomp, &b.decomp)
    } else {
        (&a.comp, &b.comp)
    };
    let f = speedup(sa, sb);
    let (ra, rb) = (a.ratio.unwrap_or(0.0), b.ratio.unwrap_or(0.0));
    let ratio_ok = v.ratio_tol.is_none_or(|tol| ra >= rb * (1.0 - tol));
    let speed = |s: &Stats| s.median().map_or("–".into(), num);
    let side = |name: &str, s: &Stats, r: f64| match v.ratio_tol {
        Some(_) => format!("{name} {} MB/s, ratio {r:.3}", speed(s)),
        None => format!("{name} {} MB/s", speed(s)),
    };
    Target {
        what: v.what.into(),
        measured: format!("{} vs {}", side(v.ours.1, sa, ra), side(v.theirs.1, sb, rb)),
        factor: f,
        met: f.map(|f| f >= 1.0 && ratio_ok),
    }
}

const VERSUS: [Versus; 8] = [
    Versus {
        what: "level 1 compress ≥ 1.0× `igzip -1`, ratio ≥ igzip's (in-process, whole file)",
        ours: ("uadk-L1-whole", "stack"),
        theirs: ("igzip-1", "`igzip -1`"),
        decompress: false,
        ratio_tol: Some(0.001),
    },
    Versus {
        what: "… the same, CLI against CLI (file I/O and start-up included)",
        ours: ("tool-L1", "`uadk_tool compress -l 1`"),
        theirs: ("igzip-1", "`igzip -1`"),
        decompress: false,
        ratio_tol: Some(0.001),
    },
    Versus {
        what: "decompress ≥ 1.0× `igzip -d` (in-process, whole file, each its own level-1 output)",
        ours: ("uadk-L1-whole", "stack"),
        theirs: ("igzip-1", "`igzip -d`"),
        decompress: true,
        ratio_tol: None,
    },
    Versus {
        what: "… the same, CLI against CLI",
        ours: ("tool-L1", "`uadk_tool decompress`"),
        theirs: ("igzip-1", "`igzip -d`"),
        decompress: true,
        ratio_tol: None,
    },
    Versus {
        what: "level 6 ratio ≥ `libdeflate-gzip -6` at ≥ 1.0× its speed (in-process, whole file)",
        ours: ("uadk-L6-whole", "stack"),
        theirs: ("libdeflate-6", "`libdeflate-gzip -6`"),
        decompress: false,
        ratio_tol: Some(0.0),
    },
    Versus {
        what: "… the same, CLI against CLI (`uadk_tool` streams: zlib-rs at level 6)",
        ours: ("tool-L6", "`uadk_tool compress -l 6`"),
        theirs: ("libdeflate-6", "`libdeflate-gzip -6`"),
        decompress: false,
        ratio_tol: Some(0.0),
    },
    Versus {
        what: "lz4 ≥ 1.0× the `lz4` tool's speed at its ratio (to 1%; in-process, whole file)",
        ours: ("uadk-lz4-whole", "stack"),
        theirs: ("lz4-1", "`lz4 -1`"),
        decompress: false,
        ratio_tol: Some(0.01),
    },
    Versus {
        what: "… the same, CLI against CLI",
        ours: ("tool-lz4", "`uadk_tool compress -a lz4`"),
        theirs: ("lz4-1", "`lz4 -1`"),
        decompress: false,
        ratio_tol: Some(0.01),
    },
];

fn targets(rows: &[Row], scaling: Option<&AsyncScaling>) -> Vec<Target> {
    let mut t: Vec<Target> = VERSUS.iter().map(|v| versus(rows, v)).collect();
    for (family, codec) in [
        (Family::L1, "gzip L1 (ISA-L)"),
        (Family::L6, "gzip L6 (libdeflate)"),
        (Family::Lz4, "lz4 (lz4_flex)"),
    ] {
        for decompress in [false, true] {
            let k = family.key();
            let (Some(stack), Some(bare)) = (
                find(rows, &format!("uadk-{k}-4k")),
                find(rows, &format!("bare-{k}-4k")),
            ) else {
                continue;
            };
            let (a, b) = if decompress {
                (&stack.decomp, &bare.decomp)
            } else {
                (&stack.comp, &bare.comp)
            };
            let f = speedup(a, b);
            let op = if decompress { "decompress" } else { "compress" };
            t.push(Target {
                what: format!("4 KiB pages through the stack ≥ 0.95× the bare codec: {codec} {op}"),
                measured: format!(
                    "stack {} MB/s vs bare {} MB/s",
                    a.median().map_or("–".into(), num),
                    b.median().map_or("–".into(), num)
                ),
                factor: f,
                met: f.map(|f| f >= 0.95),
            });
        }
    }
    let (measured, factor) = match scaling {
        Some(s) => (
            format!(
                "1 context {} MB/s, 2 contexts {} MB/s (gzip L1, 64 KiB, {} in flight, {} CPUs)",
                s.one.median().map_or("–".into(), num),
                s.two.median().map_or("–".into(), num),
                ASYNC_WINDOW,
                s.cpus
            ),
            speedup(&s.two, &s.one),
        ),
        None => ("not measured".into(), None),
    };
    t.push(Target {
        what: "async with 2 contexts ≥ 1.8× one context (`submit` + `poll_wait`)".into(),
        measured,
        factor,
        met: factor.map(|f| f >= 1.8),
    });
    let rss = scaling.and_then(|s| s.ctx_rss_kib);
    t.push(Target {
        what: "bounded RSS per context (warm sync context of the CPU engine)".into(),
        measured: match rss {
            Some(k) => format!(
                "{k:.0} KiB per context ({RSS_CTXS} compress + {RSS_CTXS} decompress contexts, \
                 each warmed with gzip L1, L6 and inflate)"
            ),
            None => "not measured".into(),
        },
        factor: None,
        // Bounded: what a context keeps is its codec state, reused; 2 MiB is the budget.
        met: rss.map(|k| k <= 2048.0),
    });
    t
}

/// Per-file matrix: one row per input, one column per key contender.
fn per_file_table(results: &[(&Input, Vec<Row>)], decompress: bool) -> String {
    let cols = [
        ("uadk-L1-whole", "uadk L1"),
        ("igzip-1", "igzip -1"),
        ("libdeflate-1", "libdeflate -1"),
        ("uadk-L6-whole", "uadk L6"),
        ("libdeflate-6", "libdeflate -6"),
        ("zlib-6", "zlib -6"),
        ("uadk-lz4-whole", "uadk lz4"),
        ("lz4-1", "lz4 -1"),
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

fn report(
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
         ({} runs of each, interleaved; MB/s is 10^6 bytes of uncompressed data per second \
         on one core, median (min–max)).\n",
        machine.model,
        machine.cpus,
        machine.date,
        if args.quick { " --quick" } else { "" },
        args.runs
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
         tmpfs file (compress) or /dev/null (decompress), timed from spawn to exit. \
         Decompression rows undo their own row's output (`bare ISA-L` output is inflated \
         by libdeflate, as the driver does). Peak RSS: `ru_maxrss` of the child for CLIs; \
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

// ---------------------------------------------------------------------------------------
// The chart.

struct ChartInfo {
    /// File name relative to the report, when drawn.
    file: Option<String>,
    labelled: bool,
    error: String,
}

fn bar_label(r: &Row) -> String {
    format!(
        "{}: {}, {}",
        r.desc.family.title(),
        r.desc.engine,
        r.desc.unit
    )
}

/// Find a TrueType font and give it to plotters as "sans-serif". `UADK_COMPARE_FONT`
/// names a font file, or `none` to draw without text.
fn register_font() -> bool {
    let mut candidates: Vec<PathBuf> = Vec::new();
    match std::env::var_os("UADK_COMPARE_FONT") {
        Some(v) if v == "none" => return false,
        Some(v) => candidates.push(PathBuf::from(v)),
        None => {}
    }
    for p in [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    ] {
        candidates.push(PathBuf::from(p));
    }
    // Any other TrueType font of a Debian package.
    if let Ok(rd) = fs::read_dir("/usr/share/fonts/truetype") {
        for d in rd.filter_map(|e| e.ok()) {
            if let Ok(inner) = fs::read_dir(d.path()) {
                let mut fonts: Vec<PathBuf> = inner
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "ttf"))
                    .collect();
                fonts.sort();
                candidates.extend(fonts);
            }
        }
    }
    for p in candidates {
        let Ok(bytes) = fs::read(&p) else { continue };
        // plotters keeps fonts for the life of the process.
        let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        if plotters::style::register_font("sans-serif", FontStyle::Normal, leaked).is_ok() {
            return true;
        }
    }
    false
}

const COMPRESS_COLOR: RGBColor = RGBColor(31, 119, 180);
const DECOMPRESS_COLOR: RGBColor = RGBColor(255, 127, 14);
const RATIO_COLOR: RGBColor = RGBColor(44, 160, 44);

type DrawResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Horizontal bars, one row per contender: compress and decompress MB/s on the left,
/// ratio on the right. Without a font, the same bars without any text.
fn draw_chart(path: &Path, title: &str, rows: &[Row], font: bool) -> DrawResult<()> {
    let rows: Vec<&Row> = rows.iter().filter(|r| r.error.is_none()).collect();
    let n = rows.len().max(1);
    let row_px = 28u32;
    let (top, bottom) = if font { (50u32, 45u32) } else { (12, 12) };
    let height = top + bottom + row_px * n as u32;
    let root = BitMapBackend::new(path, (1700, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(1330);
    let max_speed = rows
        .iter()
        .flat_map(|r| [r.comp.median(), r.decomp.median()])
        .flatten()
        .fold(1.0f64, f64::max)
        * 1.12;
    let max_ratio = rows.iter().filter_map(|r| r.ratio).fold(1.0f64, f64::max) * 1.15;
    let build = |area, x_max: f64, caption: &str, label_w: u32| -> DrawResult<_> {
        let mut b = ChartBuilder::on(area);
        b.margin(8).margin_top(if font { 8 } else { 4 });
        if font {
            b.caption(caption, ("sans-serif", 20))
                .y_label_area_size(label_w)
                .x_label_area_size(30);
        }
        Ok(b.build_cartesian_2d(0f64..x_max, 0f64..n as f64)?)
    };
    let mut speed = build(&left, max_speed, title, 420)?;
    let mut ratio = build(&right, max_ratio, "compression ratio", 10)?;
    if font {
        speed
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(0)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("MB/s (10^6 uncompressed bytes per second, one core)")
            .draw()?;
        ratio
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(0)
            .x_labels(6)
            .draw()?;
    }
    // Anchored at the top and moved up by hand. Sizes 12 and 14: plotters' ab_glyph
    // rounding puts full stops above the baseline at some sizes (11, 13).
    let text = |size: u32, h: HPos| {
        TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(h, VPos::Top))
    };
    let up = |size: u32| (size as i32 * 6) / 10;
    for (i, r) in rows.iter().enumerate() {
        let y = (n - 1 - i) as f64;
        let c = r.comp.median().unwrap_or(0.0);
        let d = r.decomp.median().unwrap_or(0.0);
        speed.draw_series([
            Rectangle::new([(0.0, y + 0.52), (c, y + 0.92)], COMPRESS_COLOR.filled()),
            Rectangle::new([(0.0, y + 0.08), (d, y + 0.48)], DECOMPRESS_COLOR.filled()),
        ])?;
        let q = r.ratio.unwrap_or(0.0);
        ratio.draw_series([Rectangle::new(
            [(0.0, y + 0.2), (q, y + 0.8)],
            RATIO_COLOR.filled(),
        )])?;
        if font {
            let (px, py) = speed.backend_coord(&(0.0, y + 0.5));
            root.draw(&Text::new(
                bar_label(r),
                (px - 6, py - up(14)),
                text(14, HPos::Right),
            ))?;
            for (v, yy) in [(c, y + 0.72), (d, y + 0.28)] {
                let (vx, vy) = speed.backend_coord(&(v, yy));
                root.draw(&Text::new(
                    num(v),
                    (vx + 4, vy - up(12)),
                    text(12, HPos::Left),
                ))?;
            }
            let (qx, qy) = ratio.backend_coord(&(q, y + 0.5));
            root.draw(&Text::new(
                format!("{q:.2}"),
                (qx + 4, qy - up(12)),
                text(12, HPos::Left),
            ))?;
        }
    }
    if font {
        for (label, color) in [
            ("compress MB/s", COMPRESS_COLOR),
            ("decompress MB/s", DECOMPRESS_COLOR),
        ] {
            speed
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                .label(label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        speed
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------

/// Run the comparison and write the report.
pub fn run(args: Args) -> Result<ExitCode> {
    if let Some(report) = &args.spawn_report {
        return spawn_helper(report, &args.spawn);
    }
    if args.ctx_rss_child {
        let data = crate::datagen::text(BLOCK);
        println!("ctx_rss_kib={:.1}", ctx_rss_kib(&data)?);
        return Ok(ExitCode::SUCCESS);
    }
    let started = Instant::now();
    fs::create_dir_all(&args.out).context(args.out.display())?;
    let original = get_affinity();
    let cpus_total = original.as_ref().map_or(1, |s| cpus_in(s).len());
    let pinned = match &original {
        Some(set) => {
            let mine = cpus_in(set);
            let cpu = match args.cpu {
                Some(c) if mine.contains(&c) => c,
                Some(c) => {
                    return Err(Error::msg(format!(
                        "--cpu {c}: this process may use CPUs {mine:?}"
                    )))
                }
                None => *mine.last().unwrap_or(&0),
            };
            set_affinity(&only_cpu(cpu)).then_some(cpu)
        }
        None => None,
    };
    if pinned.is_none() {
        eprintln!("compare: could not pin to one CPU; figures may use several");
    }
    let tools = Tools::find()?;
    let scratch = Scratch::create(args.scratch.as_deref())?;
    let machine = Machine {
        model: cpu_model(),
        cpus: cpus_total,
        pinned,
        date: today(),
        versions: versions(),
        rss_floor_kib: rss_floor(&tools.this, &scratch.0),
    };
    let missing = tools.missing();
    for m in &missing {
        eprintln!("compare: {m} not found; its rows are left out (scripts/compare.sh installs it)");
    }
    let inputs = build_inputs(&args, &scratch.0)?;
    let mut results: Vec<(&Input, Vec<Row>)> = Vec::new();
    for input in &inputs {
        let mut list = contenders(input, &tools, &scratch.0, args.runs)?;
        let rows = measure(&mut list, input, args.runs)?;
        results.push((input, rows));
    }

    // Async scaling, on every CPU we may use (the contexts' workers are started by the
    // first submission, so they inherit this thread's affinity).
    let scaling = {
        if let Some(set) = &original {
            set_affinity(set);
        }
        let data = fs::read(&inputs[0].path).context(inputs[0].path.display())?;
        let dur = Duration::from_millis(if args.quick { 500 } else { 1500 });
        let mut s = AsyncScaling {
            one: Stats::default(),
            two: Stats::default(),
            cpus: cpus_total,
            ctx_rss_kib: ctx_rss_in_child(),
        };
        eprintln!("compare: async scaling, 1 and 2 contexts");
        for _ in 0..args.runs {
            s.one.0.push(async_rate(&data, 1, dur)?);
            s.two.0.push(async_rate(&data, 2, dur)?);
        }
        if let Some(cpu) = pinned {
            set_affinity(&only_cpu(cpu));
        }
        s
    };

    let png = args.out.join("compare.png");
    let font = register_font();
    let title = format!("{}: compress / decompress MB/s, one core", inputs[0].name);
    let chart = match draw_chart(&png, &title, &results[0].1, font) {
        Ok(()) => ChartInfo {
            file: Some("compare.png".into()),
            labelled: font,
            error: String::new(),
        },
        Err(e) => ChartInfo {
            file: None,
            labelled: false,
            error: e.to_string(),
        },
    };
    let md = report(&machine, &args, &results, Some(&scaling), &chart, &missing);
    let md_path = args.out.join("compare.md");
    fs::write(&md_path, &md).context(md_path.display())?;
    print!("{md}");
    eprintln!(
        "compare: wrote {} and {} in {:.0} s",
        md_path.display(),
        png.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentiles(&v), Some((50.0, 99.0)));
        assert_eq!(percentiles(&[]), None);
        assert_eq!(percentiles(&[7000]), Some((7.0, 7.0)));
    }

    #[test]
    fn stats_median_and_range() {
        let s = Stats(vec![3.0, 1.0, 2.0]);
        assert_eq!(s.median(), Some(2.0));
        assert_eq!(s.range(), Some((1.0, 3.0)));
        assert_eq!(Stats(vec![1.0, 2.0]).median(), Some(1.5));
        assert_eq!(s.show(), "2.00 (1.00–3.00)");
    }

    #[test]
    fn civil_date() {
        let d = today();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"));
    }

    #[test]
    fn vm_image_mix() {
        let src: Vec<u8> = (0..64 * PAGE).map(|i| (i % 251) as u8).collect();
        let img = vm_image(1000, &src);
        assert_eq!(img.len(), 1000 * PAGE);
        let zero = img
            .chunks(PAGE)
            .filter(|p| p.iter().all(|&b| b == 0))
            .count();
        // 40% zero pages, give or take the draw.
        assert!((300..500).contains(&zero), "{zero}");
        assert_eq!(img, vm_image(1000, &src));
    }
}
