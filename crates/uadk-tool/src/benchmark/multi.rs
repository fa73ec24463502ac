//! `--multi N`: copies of the benchmark as child processes, started together, their
//! reports summed.

use super::prepare::InputInfo;
use super::summary::{Counts, Measurement, Summary};
use super::{Args, GENERATED_LEN, READY, REPORT};
use crate::common::{Context, Error, Result};
use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use uadk::OpType;

/// In a `--multi` child: say we are ready, then wait for the parent's go.
pub(super) fn wait_for_go() -> Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{READY}")?;
    out.flush()?;
    let mut line = String::new();
    if io::stdin().lock().read_line(&mut line)? == 0 {
        return Err(Error::msg("the parent benchmark went away"));
    }
    Ok(())
}

/// Kills the children still running if the parent gives up early.
pub(super) struct Children(pub(super) Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// `--multi N`: run N copies of this benchmark as child processes and sum their results.
pub(super) fn run_children(args: &Args) -> Result<Summary> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let argv = args.child_argv();
    let mut children = Children(Vec::new());
    for _ in 0..args.multi {
        let child = Command::new(&exe)
            .args(&argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting a benchmark process")?;
        children.0.push(child);
    }
    let mut readers = Vec::new();
    for c in &mut children.0 {
        let out = c
            .stdout
            .take()
            .ok_or_else(|| Error::msg("child process has no stdout"))?;
        let mut r = BufReader::new(out);
        expect_line(&mut r, READY)?;
        readers.push(r);
    }
    // Everyone is prepared: start measuring together.
    for c in &mut children.0 {
        if let Some(stdin) = c.stdin.as_mut() {
            stdin
                .write_all(b"go\n")
                .context("starting a benchmark process")?;
        }
    }
    let mut summary: Option<Summary> = None;
    for r in &mut readers {
        let line = expect_line(r, REPORT)?;
        let (m, driver) = parse_report(&line, args.op())?;
        match &mut summary {
            None => {
                let info = InputInfo {
                    name: args
                        .file
                        .as_ref()
                        .map_or("built-in text".into(), |p| p.display().to_string()),
                    len: 0,
                    packets: 0,
                };
                summary = Some(Summary::from_measurement(&m, &driver, &info));
            }
            Some(s) => s.add(&m),
        }
    }
    for c in &mut children.0 {
        let status = c.wait().context("waiting for a benchmark process")?;
        if !status.success() {
            return Err(Error::msg(format!("a benchmark process failed ({status})")));
        }
    }
    let mut s = summary.ok_or_else(|| Error::msg("no benchmark process reported"))?;
    s.input.len = input_len(args);
    s.input.packets = s.input.len.div_ceil(args.pktlen).max(1);
    Ok(s)
}

pub(super) fn input_len(args: &Args) -> usize {
    match &args.file {
        Some(p) => std::fs::metadata(p).map_or(0, |m| m.len() as usize),
        None => GENERATED_LEN.max(args.pktlen),
    }
}

/// Read lines until one starts with `tag`; fail if the child ends first.
pub(super) fn expect_line(r: &mut impl BufRead, tag: &str) -> Result<String> {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(Error::msg(
                "a benchmark process ended without reporting (see its error above)",
            ));
        }
        if line.starts_with(tag) {
            return Ok(line.trim_end().to_string());
        }
    }
}

/// Parse a child's report line (written by [`Measurement::report_line`]).
pub(super) fn parse_report(line: &str, op: OpType) -> Result<(Measurement, String)> {
    let bad = || Error::msg(format!("malformed report from a benchmark process: {line}"));
    let mut c = Counts::default();
    let (mut wall, mut cpu, mut driver) = (0u64, 0u64, String::new());
    for kv in line.split_whitespace().skip(1) {
        let (k, v) = kv.split_once('=').ok_or_else(bad)?;
        let num = || v.parse::<u64>().map_err(|_| bad());
        match k {
            "requests" => c.requests = num()?,
            "bytes_in" => c.bytes_in = num()?,
            "bytes_out" => c.bytes_out = num()?,
            "lat_ns" => c.lat_ns = v.parse::<u128>().map_err(|_| bad())?,
            "wall_ns" => wall = num()?,
            "cpu_ns" => cpu = num()?,
            "driver" => driver = v.to_string(),
            _ => {}
        }
    }
    Ok((
        Measurement {
            counts: c,
            wall: Duration::from_nanos(wall),
            cpu: Duration::from_nanos(cpu),
            op,
        },
        driver,
    ))
}
