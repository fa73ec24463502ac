//! `list`: the drivers this build knows, and the engine the environment configures.

use crate::common::{AlgArg, Result};
use std::collections::BTreeMap;
use std::process::ExitCode;
use uadk::{Comp, CompConfig};

/// Options of `list`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show the engine chosen for this algorithm [default: the best driver overall]
    #[arg(short, long, value_enum)]
    pub alg: Option<AlgArg>,
}

/// Run `list`.
pub fn run(args: Args) -> Result<ExitCode> {
    println!("Drivers (highest priority first):");
    println!(
        "  {:<10} {:>8}  {:<6} {:<9}  ALGORITHMS",
        "NAME", "PRIORITY", "TYPE", "AVAILABLE"
    );
    for d in uadk::drv::registry() {
        let algs: Vec<&str> = d.algs().iter().map(|a| a.name()).collect();
        println!(
            "  {:<10} {:>8}  {:<6} {:<9}  {}",
            d.name(),
            d.priority(),
            d.task_type().name(),
            if d.available() { "yes" } else { "no" },
            algs.join(" ")
        );
    }

    let mut cfg = CompConfig::from_env()?;
    if let Some(a) = args.alg {
        cfg = cfg.alg(a.alg());
    }
    let comp = Comp::new(cfg)?;
    let config = comp.config();
    println!();
    println!("Engine from the environment:");
    println!("  driver:       {}", comp.driver_name());
    println!("  policy:       {}", comp.sched_name());
    println!("  task type:    {}", config.task_type.name());
    let polls: Vec<String> = config
        .poll_threads
        .iter()
        .map(|(n, node)| format!("{n} on node {node}"))
        .collect();
    println!(
        "  poll threads: {}",
        if polls.is_empty() {
            "none (the caller polls)".to_string()
        } else {
            polls.join(", ")
        }
    );
    println!(
        "  sync epoll:   {}",
        if config.epoll { "on" } else { "off" }
    );

    // Contexts grouped per node, op type, mode and driver.
    let mut groups: BTreeMap<_, usize> = BTreeMap::new();
    let info = comp.ctx_info();
    for c in &info {
        *groups
            .entry((c.spec.node, c.spec.op, c.spec.mode, c.driver))
            .or_default() += 1;
    }
    println!("  contexts:     {}", info.len());
    println!(
        "    {:>4}  {:<7} {:<6} {:>5}  DRIVER",
        "NODE", "OP", "MODE", "COUNT"
    );
    for ((node, op, mode, driver), n) in groups {
        println!(
            "    {:>4}  {:<7} {:<6} {:>5}  {}",
            node,
            op.name(),
            mode.name(),
            n,
            driver
        );
    }
    Ok(ExitCode::SUCCESS)
}
