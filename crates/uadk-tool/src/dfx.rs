//! `dfx`: versions, build information, per-context counters and device usage.

use crate::common::Result;
use std::process::ExitCode;
use uadk::{Alg, Comp, CompConfig, OpType, SessionSetup};

/// Options of `dfx`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the versions of the tool and library, and the build [the default]
    #[arg(long)]
    pub version: bool,

    /// Print the counters of every context of an engine made from the environment
    #[arg(long)]
    pub counters: bool,

    /// Before printing the counters, send this many 4 KiB pages through the engine
    /// (compress, then decompress and check), so that they count something: with
    /// `--model` and `UADK_ZIP_MODEL_FAULTS`, the fault counters show the recovery
    #[arg(long, value_name = "PAGES", default_value_t = 0, requires = "counters")]
    pub probe: u32,

    /// Task type of the engine: hw, instr or mix [default: mix, the best driver present]
    #[arg(long, value_enum, default_value_t = crate::list::Task::Mix)]
    pub task: crate::list::Task,

    /// Print a device's bandwidth usage for an algorithm and op type, from its sysfs
    /// `dev_usage` (UADK's `dfx --usage`, added after v2.10)
    #[arg(long)]
    pub usage: bool,

    /// The device of `--usage`
    #[arg(
        long,
        value_name = "NAME",
        default_value = "hisi_zip-0",
        requires = "usage"
    )]
    pub device: String,

    /// The algorithm of `--usage`
    #[arg(
        long = "alg_name",
        value_name = "ALG",
        default_value = "zlib",
        requires = "usage"
    )]
    pub alg_name: String,

    /// The op type of `--usage` (ZIP devices: 0 compression, 1 decompression)
    #[arg(
        long = "op_type",
        value_name = "N",
        default_value_t = 0,
        requires = "usage"
    )]
    pub op_type: u8,
}

/// Run `dfx`.
pub fn run(args: Args) -> Result<ExitCode> {
    if args.version || !(args.counters || args.usage) {
        print_version();
    }
    if args.counters {
        print_counters(&args)?;
    }
    if args.usage {
        print_usage(&args)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--usage`: the device's `dev_usage` line for the algorithm and op type.
fn print_usage(args: &Args) -> Result<()> {
    let err = crate::common::Error::msg;
    let dev = uadk::uacce::list()
        .into_iter()
        .find(|d| d.name == args.device)
        .ok_or_else(|| err(format!("no device named {}", args.device)))?;
    if !dev.supports(&args.alg_name) {
        return Err(err(format!(
            "{} does not serve {}",
            dev.name, args.alg_name
        )));
    }
    let label = uadk::uacce::usage_label(&dev.name, &args.alg_name, args.op_type)?;
    let v = dev.usage(label)?;
    println!(
        "{} {} op type {} usage is {v}",
        dev.name, args.alg_name, args.op_type
    );
    Ok(())
}

fn print_version() {
    println!("uadk_tool {}", env!("CARGO_PKG_VERSION"));
    println!(
        "uadk library {} (Rust), UADK {} compatible (wd_comp API)",
        uadk::VERSION,
        uadk::UADK_API_VERSION
    );
    println!(
        "build: {}, {} profile (opt-level {}), {}",
        env!("UADK_TOOL_TARGET"),
        env!("UADK_TOOL_PROFILE"),
        env!("UADK_TOOL_OPT_LEVEL"),
        env!("UADK_TOOL_RUSTC")
    );
    let drivers: Vec<String> = uadk::drv::registry()
        .iter()
        .map(|d| format!("{} ({})", d.name(), d.task_type().name()))
        .collect();
    println!("drivers: {}", drivers.join(", "));
}

/// Compress `pages` 4 KiB pages of the built-in text, decompress and compare them.
fn probe(comp: &Comp, pages: u32) -> Result<()> {
    let data = crate::datagen::text(4096 * 64);
    let c = comp.session(&SessionSetup::new(Alg::Zlib, OpType::Compress))?;
    let d = comp.session(&SessionSetup::new(Alg::Zlib, OpType::Decompress))?;
    let mut packed = vec![0u8; c.compress_bound(4096)];
    let mut back = vec![0u8; 4096];
    for i in 0..pages as usize {
        let page = &data[(i % 64) * 4096..][..4096];
        let n = c.process(page, &mut packed)?;
        let m = d.process(&packed[..n], &mut back)?;
        if back[..m] != *page {
            return Err(crate::common::Error::msg(format!(
                "page {i} did not round-trip"
            )));
        }
    }
    println!("probe: {pages} pages compressed, decompressed and checked");
    Ok(())
}

fn print_counters(args: &Args) -> Result<()> {
    let comp = Comp::new(CompConfig::from_env()?.task_type(args.task.task_type()))?;
    if args.probe > 0 {
        probe(&comp, args.probe)?;
    }
    let info = comp.ctx_info();
    println!(
        "engine: driver {}, policy {}, {} contexts",
        comp.driver_name(),
        comp.sched_name(),
        info.len()
    );
    println!(
        "{:>4} {:>4} {:<6} {:<7} {:<8} {:>10} {:>10} {:>7} {:>7} {:>14} {:>14} {:>7} {:>6} {:>7} {:>5} {:>8}",
        "CTX",
        "NODE",
        "MODE",
        "OP",
        "DRIVER",
        "SENT",
        "OK",
        "FAILED",
        "BUSY",
        "BYTES_IN",
        "BYTES_OUT",
        "PENDING",
        "HW_ERR",
        "TIMEOUT",
        "RETRY",
        "FALLBACK"
    );
    for c in &info {
        let s = &c.stats;
        println!(
            "{:>4} {:>4} {:<6} {:<7} {:<8} {:>10} {:>10} {:>7} {:>7} {:>14} {:>14} {:>7} {:>6} {:>7} {:>5} {:>8}",
            c.idx,
            c.spec.node,
            c.spec.mode.name(),
            c.spec.op.name(),
            c.driver,
            s.sent,
            s.ok,
            s.failed,
            s.busy,
            s.bytes_in,
            s.bytes_out,
            c.pending,
            s.hw_errors,
            s.timeouts,
            s.retries,
            s.fallbacks
        );
    }
    Ok(())
}
