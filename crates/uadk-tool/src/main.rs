//! `uadk_tool`: compress and decompress files, benchmark the engine, and show what the
//! UADK compression library sees (drivers, contexts, counters, versions).

mod benchmark;
mod common;
mod compare;
mod compress;
mod datagen;
mod dfx;
mod list;
mod parallel;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "uadk_tool",
    version,
    about = "UADK compression tool: compress, decompress, benchmark, compare, dfx, list"
)]
struct Cli {
    /// Model HiSilicon ZIP devices in software and run through the hardware driver:
    /// `COUNT[@NODE][:vVERSION][:qQUEUES][:null],...` (as the `UADK_ZIP_MODEL` variable)
    #[arg(long, global = true, value_name = "SPEC")]
    model: Option<String>,

    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Compress files (gzip-like; stdin to stdout when no file is given).
    Compress(compress::Args),
    /// Decompress files (gzip-like; stdin to stdout when no file is given).
    Decompress(compress::Args),
    /// Measure throughput, IOPS, latency and CPU use, as UADK's `uadk_tool benchmark`.
    Benchmark(benchmark::Args),
    /// Our engine beside igzip, libdeflate, zlib, lz4 and zstd on the same inputs, one core.
    Compare(compare::Args),
    /// Versions and counters.
    Dfx(dfx::Args),
    /// Drivers, and the contexts the environment configures.
    List(list::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(spec) = &cli.model {
        if let Err(e) = uadk::model::parse_spec(spec) {
            eprintln!("uadk_tool: {e}");
            return ExitCode::FAILURE;
        }
        // Through the environment, so that benchmark's child processes see the same
        // devices; no other thread runs yet.
        std::env::set_var(uadk::model::MODEL_ENV, spec);
    }
    // Modelled devices (from --model or the environment) are in place before any driver
    // looks for devices, as the kernel's would be.
    if let Err(e) = uadk::model::install_from_env() {
        eprintln!("uadk_tool: {e}");
        return ExitCode::FAILURE;
    }
    let res = match cli.cmd {
        // `compress -d` decompresses, as `gzip -d` does.
        Cmd::Compress(a) => {
            let compressing = !a.decompress;
            compress::run(a, compressing)
        }
        Cmd::Decompress(a) => compress::run(a, false),
        Cmd::Benchmark(a) => benchmark::run(a),
        Cmd::Compare(a) => compare::run(a),
        Cmd::Dfx(a) => dfx::run(a),
        Cmd::List(a) => list::run(a),
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            eprintln!("uadk_tool: {e}");
            ExitCode::FAILURE
        }
    }
}
