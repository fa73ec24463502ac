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

    /// Task type of the engine shown: hw (what QEMU asks for), instr (CPU engine) or mix
    /// (the best driver present)
    #[arg(long, value_enum, default_value_t = Task::Mix)]
    pub task: Task,
}

/// UADK's `alg_task_type`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Task {
    /// TASK_HW
    Hw,
    /// TASK_INSTR
    Instr,
    /// TASK_MIX
    Mix,
}

impl Task {
    /// The library's task type.
    pub fn task_type(self) -> uadk::TaskType {
        match self {
            Task::Hw => uadk::TaskType::Hw,
            Task::Instr => uadk::TaskType::Instr,
            Task::Mix => uadk::TaskType::Mix,
        }
    }
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

    for d in uadk::drv::registry() {
        let devs = d.describe();
        if !devs.is_empty() {
            println!();
            println!("Devices of {}:", d.name());
            for line in devs {
                println!("  {line}");
            }
        }
    }
    if let Some(m) = uadk::model::installed() {
        println!();
        println!("Modelled devices (root {}):", m.root().display());
        for d in m.devices() {
            println!(
                "  {} node {}: {} requests executed, {} faults injected{}",
                d.name(),
                d.node(),
                d.stats.executed.load(std::sync::atomic::Ordering::Relaxed),
                d.stats.injected.load(std::sync::atomic::Ordering::Relaxed),
                if d.removed() { ", removed" } else { "" }
            );
        }
    }

    let mut cfg = CompConfig::from_env()?.task_type(args.task.task_type());
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
    let sum = |f: fn(&uadk::wd::CtxStatsSnapshot) -> u64| -> u64 {
        info.iter().map(|c| f(&c.stats)).sum()
    };
    println!(
        "  faults:       {} device errors, {} timeouts, {} retries, {} CPU fallbacks",
        sum(|s| s.hw_errors),
        sum(|s| s.timeouts),
        sum(|s| s.retries),
        sum(|s| s.fallbacks)
    );
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
