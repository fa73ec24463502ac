//! `compare`: our engine beside the reference tools, in one run, on the same inputs and one
//! core.
//!
//! Contenders, on each input:
//! - our engine in-process through the whole stack (`Comp` → `Session` → scheduler →
//!   context → CPU driver), sync block requests reusing their buffers: whole files, 64 KiB
//!   blocks and 4 KiB pages; and whole files in stream mode through `Encoder`/`Decoder`;
//! - the bare codecs the CPU driver calls (ISA-L through `IsalDeflate`, libdeflate,
//!   lz4_flex, libzstd) on the same blocks and pages (and whole files, for zstd): the
//!   stack's overhead is the difference;
//! - command-line tools on whole files: `uadk_tool` itself, `igzip`, `libdeflate-gzip`,
//!   `pigz -p 1` (zlib; `gzip` when pigz is missing), `lz4`, `zstd`. Each reads its input
//!   from a file in a tmpfs scratch folder and writes to a file there (compression, to
//!   measure the size) or to /dev/null (decompression); a run is timed by the wall clock
//!   from spawn to exit, and its peak RSS is the child's `ru_maxrss` from `wait4`, taken
//!   by a small helper process (see [`peers::run_timed`]).
//!
//! The process pins itself to one CPU first (children inherit it), so every figure is per
//! core. Each measurement runs `--runs` times (3), interleaved with the others (every
//! contender's run 1, then every contender's run 2 in the reverse order, ...); tables give
//! the median and the range. Async scaling (1 vs 2 async contexts) is measured last, on every CPU allowed.
//!
//! Output: a markdown report on stdout and in `OUT/compare.md`, and a bar chart of the
//! main input in `OUT/compare.png`.

mod chart;
mod clock;
mod frontier;
mod inproc;
mod inputs;
mod measure;
mod memory;
mod nullengine;
mod peers;
mod report;
mod targets;
mod threads;

use crate::common::{Context, Error, Result};
use chart::{draw_chart, register_font, ChartInfo};
pub use clock::Clock;
use inputs::{build_inputs, Input, Scratch};
use measure::{
    async_rate, contenders, cpus_in, ctx_rss_in_child, ctx_rss_kib, get_affinity, measure,
    only_cpu, set_affinity, AsyncScaling, Row, Stats,
};
use peers::{rss_floor, spawn_helper, Tools};
use report::{cpu_model, report, today, versions, Machine};
use std::ffi::OsString;
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use uadk::Alg;

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

    /// The clock of the single-threaded rows (all but async scaling)
    #[arg(long, value_enum, default_value_t = Clock::Cpu)]
    pub clock: Clock,

    /// Runs of each measurement, interleaved
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub runs: u32,

    /// CPU to pin the measurements to [default: the last one this process may use]
    #[arg(long)]
    pub cpu: Option<usize>,

    /// Only these families of rows, comma-separated [default: all]
    #[arg(long, value_enum, value_delimiter = ',')]
    pub family: Vec<Family>,

    /// Only the 4 KiB page frontier (every codec and level on pages of the corpus and the VM
    /// image, and our stack's levels): `frontier.md` and `frontier.png`
    #[arg(long, conflicts_with = "no_frontier")]
    pub frontier: bool,

    /// Leave the page frontier out of a full run
    #[arg(long)]
    pub no_frontier: bool,

    /// MiB of pages of each input the frontier measures, evenly spread over it [default: 16;
    /// 2 with --quick]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub frontier_mb: Option<u64>,

    /// Only these frontier points, by their short names (`isal1`, `ld6`, `z6`, `zs3`, `lz4`,
    /// `L1` for our level 1, `Llz4` for our lz4, ...), comma-separated [default: all]
    #[arg(long, value_delimiter = ',')]
    pub frontier_points: Vec<String>,

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

    /// Only the null-engine rows: requests per second and CPU per request through the
    /// whole stack on a modelled device that completes each request at once (Rust API
    /// and C ABI, sync and async, 4 KiB and 8 KiB); written to OUT/null-engine.md
    #[arg(long)]
    pub null_engine: bool,

    /// Seconds of each timed null-engine run [default: 1, 0.3 with --quick]
    #[arg(long)]
    pub null_engine_secs: Option<f64>,

    /// Internal: run the null-engine measurement in this fresh process and print it
    #[arg(long, hide = true)]
    pub null_engine_child: bool,

    /// Internal, with --null-engine-child (for profiling): only these rows, a comma-separated
    /// list of rust-sync, rust-async, c-sync, c-async
    #[arg(long, hide = true)]
    pub null_engine_only: Option<String>,

    /// Internal: the program to run for --spawn-report, and its arguments
    #[arg(last = true, hide = true)]
    pub spawn: Vec<OsString>,
}

/// What a row compares: the figures the targets are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Family {
    /// gzip level 1.
    L1,
    /// gzip level 6.
    L6,
    /// lz4: raw blocks in-process, LZ4 frames in streams and on the command line.
    Lz4,
    /// zstd level 1.
    Zstd1,
    /// zstd level 3 (the `zstd` tool's default).
    Zstd3,
}

impl Family {
    const ALL: [Family; 5] = [
        Family::L1,
        Family::L6,
        Family::Lz4,
        Family::Zstd1,
        Family::Zstd3,
    ];

    fn title(self) -> &'static str {
        match self {
            Family::L1 => "deflate L1",
            Family::L6 => "deflate L6",
            Family::Lz4 => "lz4",
            Family::Zstd1 => "zstd L1",
            Family::Zstd3 => "zstd L3",
        }
    }

    /// The library's algorithm and level for this family (gzip framing, as the CLIs).
    fn alg_level(self) -> (Alg, u32) {
        match self {
            Family::L1 => (Alg::Gzip, 1),
            Family::L6 => (Alg::Gzip, 6),
            Family::Lz4 => (Alg::Lz4, 1),
            Family::Zstd1 => (Alg::Zstd, 1),
            Family::Zstd3 => (Alg::Zstd, 3),
        }
    }

    fn key(self) -> &'static str {
        match self {
            Family::L1 => "L1",
            Family::L6 => "L6",
            Family::Lz4 => "lz4",
            Family::Zstd1 => "zstd1",
            Family::Zstd3 => "zstd3",
        }
    }

    fn is_zstd(self) -> bool {
        matches!(self, Family::Zstd1 | Family::Zstd3)
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
    /// Wall-clock seconds.
    secs: f64,
    /// CPU seconds: of this thread (in-process) or of the child (CLIs).
    cpu_secs: f64,
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
    let null_secs = args
        .null_engine_secs
        .unwrap_or(if args.quick { 0.3 } else { 1.0 })
        .clamp(0.05, 60.0);
    if args.null_engine_child {
        nullengine::child(
            args.cpu,
            args.runs,
            null_secs,
            args.null_engine_only.as_deref(),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.null_engine {
        fs::create_dir_all(&args.out).context(args.out.display())?;
        eprintln!("compare: null engine");
        let rep = nullengine::measure_in_child(args.cpu, args.runs, null_secs);
        let md = nullengine::section(&rep);
        let path = args.out.join("null-engine.md");
        fs::write(&path, &md).context(path.display())?;
        print!("{md}");
        return Ok(if rep.error.is_none() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let started = Instant::now();
    fs::create_dir_all(&args.out).context(args.out.display())?;
    let original = get_affinity();
    let cpus_total = original.as_ref().map_or(1, |s| cpus_in(s).len());
    threads::remember(original, cpus_total);
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
    let font = register_font();
    if args.frontier {
        let md = frontier::run(&args, &inputs, font)?;
        print!("{md}");
        return Ok(ExitCode::SUCCESS);
    }
    let families: Vec<Family> = if args.family.is_empty() {
        Family::ALL.to_vec()
    } else {
        args.family.clone()
    };
    let mut results: Vec<(&Input, Vec<Row>)> = Vec::new();
    for input in &inputs {
        let mut list = contenders(input, &tools, &scratch.0, args.runs, &families)?;
        let rows = measure(&mut list, input, args.runs, args.clock)?;
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
        // The null engine's child measures on our CPU and runs the device on the others.
        eprintln!("compare: null engine");
        let null = nullengine::measure_in_child(pinned, args.runs, null_secs);
        if let Some(cpu) = pinned {
            set_affinity(&only_cpu(cpu));
        }
        (s, null)
    };
    let (scaling, null) = scaling;

    let frontier_md = if args.no_frontier {
        String::new()
    } else {
        frontier::run(&args, &inputs, font)?
    };

    let png = args.out.join("compare.png");
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
    let mut md = report(&machine, &args, &results, Some(&scaling), &chart, &missing);
    md.push_str(&frontier_md);
    md.push('\n');
    md.push_str(&nullengine::section(&null));
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
    use crate::compare::inproc::percentiles;
    use crate::compare::inputs::vm_image;

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
