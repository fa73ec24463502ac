//! Running the measurements: CPU affinity, interleaved timed runs, statistics, async
//! scaling and resident memory per context.

use super::clock::Clock;
use super::inproc::{Blocks, Stream};
use super::inputs::Input;
use super::memory::RssProbe;
use super::peers::{clis, Tools};
use super::{Contender, Desc, Extras, Family, Sample, ASYNC_WINDOW, BLOCK, PAGE};
use crate::common::{Context, Error, Result};
use std::fs;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use uadk::drv::Callback;
use uadk::{Alg, Comp, CompConfig, Completion, CtxMode, JobBuf, Level, OpType, SessionSetup};

pub(super) fn get_affinity() -> Option<libc::cpu_set_t> {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid and writable, of the size passed.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    (rc == 0).then_some(set)
}

pub(super) fn set_affinity(set: &libc::cpu_set_t) -> bool {
    // SAFETY: `set` is a valid cpu_set_t of the size passed; 0 is the calling thread.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(set), set) == 0 }
}

pub(super) fn cpus_in(set: &libc::cpu_set_t) -> Vec<usize> {
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, inside the set.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, set) })
        .collect()
}

pub(super) fn only_cpu(cpu: usize) -> libc::cpu_set_t {
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
pub(super) struct Stats(pub(super) Vec<f64>);

impl Stats {
    pub(super) fn median(&self) -> Option<f64> {
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

    pub(super) fn range(&self) -> Option<(f64, f64)> {
        let min = self.0.iter().copied().reduce(f64::min)?;
        let max = self.0.iter().copied().reduce(f64::max)?;
        Some((min, max))
    }

    /// `605 (598–612)`.
    pub(super) fn show(&self) -> String {
        match (self.median(), self.range()) {
            (Some(m), Some((lo, hi))) if self.0.len() > 1 => {
                format!("{} ({}–{})", num(m), num(lo), num(hi))
            }
            (Some(m), _) => num(m),
            _ => "–".into(),
        }
    }
}

pub(super) fn num(v: f64) -> String {
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
pub(super) struct Row {
    pub(super) desc: Desc,
    pub(super) ratio: Option<f64>,
    pub(super) comp: Stats,
    pub(super) decomp: Stats,
    pub(super) extras: Extras,
    pub(super) error: Option<String>,
}

pub(super) fn mb_per_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs.max(1e-9)
}

/// Prepare every contender, then run them `runs` times, interleaved.
pub(super) fn measure(
    list: &mut [Box<dyn Contender>],
    input: &Input,
    runs: u32,
    clock: Clock,
) -> Result<Vec<Row>> {
    let secs = |s: &Sample| match clock {
        Clock::Cpu => s.cpu_secs,
        Clock::Wall => s.secs,
    };
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
                    row.comp.0.push(mb_per_s(data.len(), secs(&s)));
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
                    row.decomp.0.push(mb_per_s(data.len(), secs(&s)))
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
pub(super) fn contenders(
    input: &Input,
    tools: &Tools,
    scratch: &Path,
    runs: u32,
    families: &[Family],
) -> Result<Vec<Box<dyn Contender>>> {
    let mut v: Vec<Box<dyn Contender>> = Vec::new();
    for &family in families {
        v.push(Box::new(Blocks::stack(family, None, runs)?));
        if family.is_zstd() {
            // The done-when of zstd: the stack against libzstd on the whole input.
            v.push(Box::new(Blocks::bare(family, None, runs)?));
        }
        if input.detailed {
            // lz4 streams are LZ4 frames of block requests.
            v.push(Box::new(Stream::new(family)?));
            for chunk in [BLOCK, PAGE] {
                v.push(Box::new(Blocks::stack(family, Some(chunk), runs)?));
                v.push(Box::new(Blocks::bare(family, Some(chunk), runs)?));
            }
        }
        for c in clis(tools, family, &input.path, scratch) {
            // Per file: the tools that the targets name, ours aside.
            if input.detailed || !c.desc.key.starts_with("tool-") {
                v.push(Box::new(c));
            }
        }
        if input.detailed {
            v.extend(super::threads::contenders(
                tools,
                family,
                &input.path,
                scratch,
            ));
        }
    }
    Ok(v)
}

/// Async block requests (gzip level 1, 64 KiB) with `ctxs` async compress contexts, for
/// `dur`: MB/s of input.
pub(super) fn async_rate(data: &[u8], ctxs: u32, dur: Duration) -> Result<f64> {
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
pub(super) struct AsyncScaling {
    pub(super) one: Stats,
    pub(super) two: Stats,
    pub(super) cpus: usize,
    /// Resident memory per warm sync context, KiB (see [`ctx_rss_kib`]).
    pub(super) ctx_rss_kib: Option<f64>,
}

/// [`ctx_rss_kib`] in a fresh process of this program: memory this one has freed would
/// otherwise be reused and hide the contexts' own.
pub(super) fn ctx_rss_in_child() -> Option<f64> {
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
pub(super) const RSS_CTXS: u32 = 32;

/// Resident memory a warm sync context costs (64 KiB requests): RSS growth over setting up `RSS_CTXS`
/// compress and as many decompress contexts and sending each the requests that build all
/// its codec state (gzip level 1 and level 6 compression, inflation), divided by the
/// contexts. Buffers of the measurement itself are allocated before the probe starts.
pub(super) fn ctx_rss_kib(data: &[u8]) -> Result<f64> {
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
