//! `dfx`: versions, build information and per-context counters.

use crate::common::Result;
use std::process::ExitCode;
use uadk::Comp;

/// Options of `dfx`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the versions of the tool and library, and the build [the default]
    #[arg(long)]
    pub version: bool,

    /// Print the counters of every context of an engine made from the environment
    #[arg(long)]
    pub counters: bool,
}

/// Run `dfx`.
pub fn run(args: Args) -> Result<ExitCode> {
    if args.version || !args.counters {
        print_version();
    }
    if args.counters {
        print_counters()?;
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

fn print_counters() -> Result<()> {
    let comp = Comp::from_env()?;
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
