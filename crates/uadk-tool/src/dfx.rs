//! `dfx`: versions, build information and per-context counters.

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
}

/// Run `dfx`.
pub fn run(args: Args) -> Result<ExitCode> {
    if args.version || !args.counters {
        print_version();
    }
    if args.counters {
        print_counters(&args)?;
    }
    Ok(ExitCode::SUCCESS)
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
