//! `benchmark`: throughput, IOPS, latency and CPU use of one request type, with the
//! flags of UADK's `uadk_tool benchmark` for compression.
//!
//! The input is cut into `--pktlen` packets up front (for decompression, each packet is
//! compressed once first). Each thread then sends requests round-robin over the packets
//! for `--seconds`, through its own session on one shared [`Comp`]:
//! - sync: one request at a time, output buffer reused (no allocation per request);
//! - async: up to `--inflight` requests in flight, completions counted by callbacks and
//!   reaped by `Comp::poll` on the submitting thread, or by the library's poll threads
//!   when `WD_COMP_ASYNC_POLL_EN=1`.
//!
//! `--multi N` runs N copies of the benchmark as child processes (this executable,
//! re-run with the same options); they start measuring together and their results are
//! summed.

use crate::common::{parse_size, parse_window, process_cpu_time, AlgArg, Context, Error, Result};
use crate::datagen;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::Barrier;
use std::time::{Duration, Instant};
use uadk::drv::Callback;
use uadk::{
    compress_bound, Comp, CompConfig, Completion, CtxMode, JobBuf, Level, OpType, Output, Session,
    SessionSetup, TaskType, WindowSize,
};

/// Size of the built-in input (more when one packet is larger).
const GENERATED_LEN: usize = 4 << 20;
/// Longest wait for async completions once the measurement has ended.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of the `--multi` protocol between parent and children.
const READY: &str = "@uadk-bench-ready";
const REPORT: &str = "@uadk-bench-report";

/// UADK's `--mode`: how the accelerator's memory is shared. Here it picks the task type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Shared virtual addressing: the best driver of any kind (hardware first)
    Sva,
    /// No SVA: as sva (this implementation has no separate memory path)
    Nosva,
    /// CPU instructions: the CPU engine
    Instr,
}

impl Mode {
    fn task_type(self) -> TaskType {
        match self {
            Mode::Sva | Mode::Nosva => TaskType::Mix,
            Mode::Instr => TaskType::Instr,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Sva => "sva",
            Mode::Nosva => "nosva",
            Mode::Instr => "instr",
        }
    }
}

/// Options of `benchmark`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Algorithm
    #[arg(long, value_enum, default_value_t = AlgArg::Zlib)]
    pub alg: AlgArg,

    /// Mode: sva/nosva take the best driver of any kind, instr the CPU engine
    /// [default: sva with --model or UADK_ZIP_MODEL, else instr]
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,

    /// 0 block compress, 1 block decompress, 2 stream compress, 3 stream decompress
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub opt: u8,

    /// Synchronous requests (the default)
    #[arg(long, conflicts_with = "async_mode")]
    pub sync: bool,

    /// Asynchronous requests: submit, then poll for completions
    #[arg(long = "async")]
    pub async_mode: bool,

    /// Bytes per request; K and M suffixes allowed
    #[arg(long, default_value = "65536", value_parser = parse_pktlen)]
    pub pktlen: usize,

    /// How long to measure, in seconds (fractions allowed)
    #[arg(long, default_value_t = 3.0, value_parser = parse_seconds)]
    pub seconds: f64,

    /// Threads per process
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub thread: u32,

    /// Processes; each runs the whole benchmark and the results are summed
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub multi: u32,

    /// Contexts of the measured mode and op type per NUMA node [default: one per thread]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub ctxnum: Option<u32>,

    /// Use the library's default contexts (wd_comp_init2 style) instead of --ctxnum
    #[arg(long, conflicts_with = "ctxnum")]
    pub init2: bool,

    /// Input file [default: built-in text-like data that compresses about 3:1]
    #[arg(long)]
    pub file: Option<PathBuf>,

    /// Compression level, 1..15
    #[arg(long, visible_alias = "complevel", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=15))]
    pub level: u32,

    /// Window in KiB: 4, 8, 16, 24 or 32
    #[arg(long, default_value = "32", value_parser = parse_window)]
    pub winsize: WindowSize,

    /// Async requests in flight per thread
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub inflight: u32,

    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,

    /// Run as one process of --multi: wait for the parent's go, print a raw report
    #[arg(long, hide = true)]
    pub child_report: bool,
}

fn parse_pktlen(s: &str) -> std::result::Result<usize, String> {
    let n = parse_size(s)?;
    if n == 0 || n > 256 << 20 {
        return Err(format!("packet length {s} (valid: 1 byte to 256M)"));
    }
    Ok(n)
}

fn parse_seconds(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a duration in seconds (0 to 86400)")),
    }
}

impl Args {
    /// The mode in force: modelled devices are there to be used.
    fn mode(&self) -> Mode {
        self.mode.unwrap_or_else(|| {
            if std::env::var_os(uadk::model::MODEL_ENV).is_some_and(|v| !v.is_empty()) {
                Mode::Sva
            } else {
                Mode::Instr
            }
        })
    }

    fn op(&self) -> OpType {
        match self.opt {
            0 | 2 => OpType::Compress,
            _ => OpType::Decompress,
        }
    }

    fn stream(&self) -> bool {
        self.opt >= 2
    }

    fn ctx_mode(&self) -> CtxMode {
        if self.async_mode {
            CtxMode::Async
        } else {
            CtxMode::Sync
        }
    }

    fn opt_name(&self) -> &'static str {
        match self.opt {
            0 => "block compress",
            1 => "block decompress",
            2 => "stream compress",
            _ => "stream decompress",
        }
    }

    /// The command line of one `--multi` child: these options, one process, raw report.
    fn child_argv(&self) -> Vec<OsString> {
        let mut v: Vec<OsString> = vec!["benchmark".into()];
        let mut opt = |k: &str, val: String| {
            v.push(k.into());
            v.push(val.into());
        };
        opt("--alg", self.alg.alg().name().to_string());
        opt("--mode", self.mode().name().to_string());
        opt("--opt", self.opt.to_string());
        opt("--pktlen", self.pktlen.to_string());
        opt("--seconds", self.seconds.to_string());
        opt("--thread", self.thread.to_string());
        opt("--level", self.level.to_string());
        opt("--winsize", self.winsize.bytes().to_string());
        opt("--inflight", self.inflight.to_string());
        if let Some(c) = self.ctxnum {
            opt("--ctxnum", c.to_string());
        }
        if let Some(f) = &self.file {
            v.push("--file".into());
            v.push(f.clone().into_os_string());
        }
        if self.init2 {
            v.push("--init2".into());
        }
        if self.async_mode {
            v.push("--async".into());
        }
        v.push("--child-report".into());
        v
    }
}

/// Run the benchmark and print its result.
pub fn run(args: Args) -> Result<ExitCode> {
    if args.alg == AlgArg::Lz4 && args.stream() {
        return Err(Error::msg(
            "lz4 is served in block mode only: use --opt 0 or --opt 1",
        ));
    }
    let mut faults = None;
    let summary = if args.multi > 1 {
        run_children(&args)?
    } else {
        let bench = Bench::prepare(&args)?;
        if args.child_report {
            wait_for_go()?;
        }
        let m = bench.measure(&args)?;
        if args.child_report {
            println!("{}", m.report_line(bench.comp.driver_name()));
            return Ok(ExitCode::SUCCESS);
        }
        let info = bench.comp.ctx_info();
        let sum = |f: fn(&uadk::wd::CtxStatsSnapshot) -> u64| -> u64 {
            info.iter().map(|c| f(&c.stats)).sum()
        };
        faults = Some([
            sum(|s| s.hw_errors),
            sum(|s| s.timeouts),
            sum(|s| s.retries),
            sum(|s| s.fallbacks),
        ]);
        Summary::from_measurement(&m, bench.comp.driver_name(), &bench.input)
    };
    if args.json {
        println!("{}", summary.json(&args));
    } else {
        summary.print(&args);
        if let Some([e, t, r, f]) = faults.filter(|v| v.iter().any(|&x| x > 0)) {
            println!("device faults: {e} errors, {t} timeouts, {r} retried, {f} finished by the CPU engine");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the input came from, for the report.
#[derive(Debug, Clone)]
struct InputInfo {
    name: String,
    len: usize,
    packets: usize,
}

/// Everything prepared before the clock starts.
struct Bench {
    comp: Comp,
    setup: SessionSetup,
    /// Request inputs: raw packets to compress, or compressed packets to decompress.
    inputs: Vec<Vec<u8>>,
    /// Output space of one request.
    out_cap: usize,
    input: InputInfo,
}

impl Bench {
    fn prepare(args: &Args) -> Result<Bench> {
        let alg = args.alg.alg();
        let level = Level::new(args.level)?;
        let (data, name) = match &args.file {
            Some(p) => {
                let d = std::fs::read(p).context(p.display())?;
                if d.is_empty() {
                    return Err(Error::msg(format!("{}: file is empty", p.display())));
                }
                (d, p.display().to_string())
            }
            None => (
                datagen::text(GENERATED_LEN.max(args.pktlen)),
                "built-in text".to_string(),
            ),
        };
        let raw = split(&data, args.pktlen);
        let input = InputInfo {
            name,
            len: data.len(),
            packets: raw.len(),
        };
        drop(data);

        // A reference engine of its own: packets are prepared and results checked
        // independently of the configuration being measured.
        let mut ref_cfg = CompConfig::new().alg(alg);
        for op in OpType::ALL {
            ref_cfg = ref_cfg
                .ctxs(CtxMode::Async, op, 0)
                .ctxs(CtxMode::Sync, op, 1);
        }
        let reference = Comp::new(ref_cfg).context("setting up the reference engine")?;
        let ref_comp = reference.session(
            &SessionSetup::new(alg, OpType::Compress)
                .level(level)
                .window(args.winsize),
        )?;
        let ref_decomp = reference.session(&SessionSetup::new(alg, OpType::Decompress))?;

        let comp = Comp::new(bench_config(args)?).context("setting up the engine")?;
        let setup = SessionSetup::new(alg, args.op())
            .level(level)
            .window(args.winsize);
        let first_raw = raw[0].clone();
        let (inputs, out_cap) = match args.op() {
            OpType::Compress => (raw, compress_bound(alg, args.pktlen)),
            OpType::Decompress => {
                let packed = raw
                    .iter()
                    .map(|p| ref_comp.process_to_vec(p))
                    .collect::<uadk::Result<Vec<_>>>()
                    .context("compressing the input packets")?;
                (packed, args.pktlen)
            }
        };
        let bench = Bench {
            comp,
            setup,
            inputs,
            out_cap,
            input,
        };
        bench
            .verify(args, &first_raw, &ref_decomp)
            .context("verification of the measured path failed")?;
        Ok(bench)
    }

    /// Run packet 0 through the measured path once and check the round trip.
    fn verify(&self, args: &Args, raw: &[u8], ref_decomp: &Session) -> Result<()> {
        let sess = self.comp.session(&self.setup)?;
        let src = &self.inputs[0];
        let out = if args.async_mode {
            submit_once(&self.comp, &sess, src, self.out_cap)?
        } else {
            let mut out = vec![0u8; self.out_cap];
            let n = request(&sess, args.stream(), src, &mut out)?;
            out.truncate(n);
            out
        };
        let back = match args.op() {
            OpType::Compress => ref_decomp.process_to_vec(&out)?,
            OpType::Decompress => out,
        };
        if back != raw {
            return Err(Error::msg(format!(
                "packet 0 does not round-trip ({} bytes in, {} bytes back)",
                raw.len(),
                back.len()
            )));
        }
        Ok(())
    }

    fn measure(&self, args: &Args) -> Result<Measurement> {
        let threads = args.thread as usize;
        let sessions = (0..threads)
            .map(|_| self.comp.session(&self.setup))
            .collect::<uadk::Result<Vec<_>>>()?;
        let dur = Duration::from_secs_f64(args.seconds);
        let stream = args.stream();
        let window = args.inflight as usize;
        let start = StartLine::new(threads);
        let per_thread = std::thread::scope(|s| {
            let handles: Vec<_> = sessions
                .into_iter()
                .enumerate()
                .map(|(i, sess)| {
                    // Threads start at different packets so they do not move in lockstep.
                    let first = i * self.inputs.len() / threads;
                    let start = &start;
                    s.spawn(move || {
                        if args.async_mode {
                            self.async_thread(sess, first, window, start, dur)
                        } else {
                            self.sync_thread(sess, stream, first, start, dur)
                        }
                    })
                })
                .collect();
            // The clocks start before the threads are released, so none runs unmeasured.
            start.ready.wait();
            let cpu0 = process_cpu_time();
            let t0 = Instant::now();
            start.go.wait();
            let results: Vec<_> = handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::msg("a benchmark thread panicked")))
                })
                .collect();
            (results, t0, process_cpu_time().saturating_sub(cpu0))
        });
        let (results, t0, cpu) = per_thread;
        let mut total = Counts::default();
        let mut last = t0;
        for r in results {
            let (c, end) = r?;
            total.add(&c);
            last = last.max(end);
        }
        let wall = last - t0;
        Ok(Measurement {
            counts: total,
            wall,
            cpu,
            op: args.op(),
        })
    }

    /// Sync requests back to back until the deadline; the output buffer is reused.
    fn sync_thread(
        &self,
        sess: Session,
        stream: bool,
        first: usize,
        start: &StartLine,
        dur: Duration,
    ) -> Result<(Counts, Instant)> {
        let n = self.inputs.len();
        let mut out = vec![0u8; self.out_cap];
        let mut k = first % n;
        let mut c = Counts::default();
        start.wait();
        let deadline = Instant::now() + dur;
        loop {
            let src = &self.inputs[k];
            let t0 = Instant::now();
            let res = request(&sess, stream, src, &mut out);
            let t1 = Instant::now();
            let produced = res.context("request failed")?;
            c.requests += 1;
            c.bytes_in += src.len() as u64;
            c.bytes_out += produced as u64;
            c.lat_ns += (t1 - t0).as_nanos();
            k += 1;
            if k == n {
                k = 0;
            }
            if t1 >= deadline {
                return Ok((c, t1));
            }
        }
    }

    /// Keep up to `window` async requests in flight until the deadline, then drain.
    fn async_thread(
        &self,
        sess: Session,
        first: usize,
        window: usize,
        start: &StartLine,
        dur: Duration,
    ) -> Result<(Counts, Instant)> {
        let n = self.inputs.len();
        let max_in = self.inputs.iter().map(Vec::len).max().unwrap_or(0);
        let mut free: Vec<Slot> = (0..window)
            .map(|j| {
                let pkt = (first + j) % n;
                let mut src = Vec::with_capacity(max_in);
                src.extend_from_slice(&self.inputs[pkt]);
                Slot {
                    pkt,
                    src,
                    dst: vec![0u8; self.out_cap],
                }
            })
            .collect();
        let (tx, rx) = mpsc::channel::<Done>();
        let poll_threads = self.comp.has_poll_threads();
        let mut c = Counts::default();
        let mut in_flight = 0usize;
        let mut failure: Option<uadk::Error> = None;
        let mut end: Option<Instant> = None;
        start.wait();
        let deadline = Instant::now() + dur;
        loop {
            while let Ok(d) = rx.try_recv() {
                in_flight -= 1;
                d.account(&mut c, &mut free, &mut failure);
            }
            let now = Instant::now();
            // At least one request completes, even with --seconds 0.
            let stop = (now >= deadline && c.requests > 0) || failure.is_some();
            if stop {
                if in_flight == 0 {
                    break;
                }
                let t = *end.get_or_insert(now);
                if now - t > DRAIN_TIMEOUT {
                    return Err(Error::msg(format!(
                        "{in_flight} async requests still pending {} s after the end",
                        DRAIN_TIMEOUT.as_secs()
                    )));
                }
            } else if let Some(mut slot) = free.pop() {
                // Each slot walks its own packets, so it copies only when there are
                // more packets than slots.
                let next = if n <= window {
                    slot.pkt
                } else {
                    (slot.pkt + window) % n
                };
                if next != slot.pkt || slot.src.is_empty() {
                    slot.src.clear();
                    slot.src.extend_from_slice(&self.inputs[next]);
                    slot.pkt = next;
                }
                slot.dst.resize(self.out_cap, 0);
                let pkt = slot.pkt;
                let tx = tx.clone();
                let t0 = Instant::now();
                let cb: Callback = Box::new(move |done: Completion| {
                    let lat = t0.elapsed();
                    let _ = tx.send(Done {
                        slot: Slot {
                            pkt,
                            src: flat(done.src),
                            dst: flat(done.dst),
                        },
                        lat,
                        result: done.result,
                    });
                });
                let src = JobBuf::Flat(std::mem::take(&mut slot.src));
                let dst = JobBuf::Flat(std::mem::take(&mut slot.dst));
                match sess.submit(src, dst, cb) {
                    Ok(()) => {
                        in_flight += 1;
                        continue;
                    }
                    Err(e) => {
                        slot.src = flat(e.src);
                        slot.dst = flat(e.dst);
                        free.push(slot);
                        if e.error != uadk::Error::Busy {
                            failure.get_or_insert(e.error);
                            continue;
                        }
                    }
                }
            }
            // The window is full, the queue busy, or we are draining: reap.
            if poll_threads {
                match rx.recv_timeout(Duration::from_millis(1)) {
                    Ok(d) => {
                        in_flight -= 1;
                        d.account(&mut c, &mut free, &mut failure);
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                // Sleep until a completion is announced rather than spin on the poll.
                self.comp.poll_wait(0, Duration::from_millis(1))?;
            }
        }
        let end = Instant::now();
        match failure {
            Some(e) => Err(Error::msg(format!("request failed: {e}"))),
            None => Ok((c, end)),
        }
    }
}

/// Where the measuring threads wait for the clock to start.
struct StartLine {
    /// Every thread is set up.
    ready: Barrier,
    /// The clock runs: go.
    go: Barrier,
}

impl StartLine {
    fn new(threads: usize) -> StartLine {
        StartLine {
            ready: Barrier::new(threads + 1),
            go: Barrier::new(threads + 1),
        }
    }

    /// Called by a measuring thread once it is set up.
    fn wait(&self) {
        self.ready.wait();
        self.go.wait();
    }
}

/// The measured engine's configuration.
fn bench_config(args: &Args) -> Result<CompConfig> {
    // The environment decides poll threads (WD_COMP_ASYNC_POLL_EN) and, with --init2,
    // the contexts (WD_COMP_CTX_NUM).
    let mut cfg = CompConfig::from_env()?
        .alg(args.alg.alg())
        .task_type(args.mode().task_type());
    if !args.init2 {
        for mode in CtxMode::ALL {
            for op in OpType::ALL {
                cfg = cfg.ctxs(mode, op, 0);
            }
        }
        cfg = cfg.ctxs(
            args.ctx_mode(),
            args.op(),
            args.ctxnum.unwrap_or(args.thread),
        );
    }
    Ok(cfg)
}

/// Cut `data` into packets of exactly `pktlen` bytes, wrapping around its end.
fn split(data: &[u8], pktlen: usize) -> Vec<Vec<u8>> {
    let n = data.len().div_ceil(pktlen).max(1);
    (0..n)
        .map(|k| {
            let mut p = Vec::with_capacity(pktlen);
            let mut pos = (k * pktlen) % data.len();
            while p.len() < pktlen {
                let take = (pktlen - p.len()).min(data.len() - pos);
                p.extend_from_slice(&data[pos..pos + take]);
                pos = 0;
            }
            p
        })
        .collect()
}

/// One sync request of the measured kind: a block call, or a whole stream.
fn request(sess: &Session, stream: bool, src: &[u8], out: &mut [u8]) -> uadk::Result<usize> {
    if !stream {
        return sess.process(src, out);
    }
    let (mut i, mut o) = (0, 0);
    loop {
        if o == out.len() {
            return Err(uadk::Error::OutputTooSmall {
                capacity: out.len(),
            });
        }
        let Output {
            consumed,
            produced,
            end,
        } = sess.stream(&src[i..], &mut out[o..], true)?;
        i += consumed;
        o += produced;
        if end {
            return Ok(o);
        }
        if consumed == 0 && produced == 0 {
            return Err(uadk::Error::TruncatedInput);
        }
    }
}

/// One async request, waited for; used by the verification.
fn submit_once(comp: &Comp, sess: &Session, src: &[u8], cap: usize) -> Result<Vec<u8>> {
    let (tx, rx) = mpsc::channel::<Completion>();
    let mut bufs = (src.to_vec(), vec![0u8; cap]);
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        let tx = tx.clone();
        let cb: Callback = Box::new(move |c| {
            let _ = tx.send(c);
        });
        match sess.submit(JobBuf::Flat(bufs.0), JobBuf::Flat(bufs.1), cb) {
            Ok(()) => break,
            Err(e) if e.error == uadk::Error::Busy && Instant::now() < deadline => {
                bufs = (flat(e.src), flat(e.dst));
                comp.poll(0)?;
            }
            Err(e) => return Err(e.error.into()),
        }
    }
    loop {
        match rx.try_recv() {
            Ok(c) => {
                c.result?;
                return Ok(flat(c.dst));
            }
            Err(TryRecvError::Disconnected) => {
                return Err(Error::msg("the request completed without its callback"))
            }
            Err(TryRecvError::Empty) if Instant::now() > deadline => {
                return Err(Error::msg("the async request never completed"))
            }
            Err(TryRecvError::Empty) => {
                if comp.has_poll_threads() {
                    std::thread::sleep(Duration::from_micros(100));
                } else if comp.poll(0)? == 0 {
                    std::thread::yield_now();
                }
            }
        }
    }
}

fn flat(b: JobBuf) -> Vec<u8> {
    match b {
        JobBuf::Flat(v) => v,
        JobBuf::List(l) => l.concat(),
        // The tool only submits owned buffers.
        JobBuf::Raw(_) => Vec::new(),
    }
}

/// Buffers of one async request slot.
struct Slot {
    pkt: usize,
    src: Vec<u8>,
    dst: Vec<u8>,
}

/// A finished async request, sent back by its callback.
struct Done {
    slot: Slot,
    lat: Duration,
    result: uadk::Result<Output>,
}

impl Done {
    /// Count the request and give its slot back.
    fn account(self, c: &mut Counts, free: &mut Vec<Slot>, failure: &mut Option<uadk::Error>) {
        match self.result {
            Ok(o) => {
                c.requests += 1;
                c.bytes_in += o.consumed as u64;
                c.bytes_out += o.produced as u64;
                c.lat_ns += self.lat.as_nanos();
            }
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
        free.push(self.slot);
    }
}

/// What the requests of one thread (or several) did.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    requests: u64,
    bytes_in: u64,
    bytes_out: u64,
    lat_ns: u128,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        self.lat_ns += o.lat_ns;
    }
}

/// One process's measurement.
struct Measurement {
    counts: Counts,
    wall: Duration,
    cpu: Duration,
    op: OpType,
}

impl Measurement {
    fn report_line(&self, driver: &str) -> String {
        let c = &self.counts;
        format!(
            "{REPORT} requests={} bytes_in={} bytes_out={} lat_ns={} wall_ns={} cpu_ns={} driver={driver}",
            c.requests,
            c.bytes_in,
            c.bytes_out,
            c.lat_ns,
            self.wall.as_nanos(),
            self.cpu.as_nanos()
        )
    }
}

/// The result shown to the user: one process, or the sum over `--multi` processes.
#[derive(Debug, Clone)]
struct Summary {
    driver: String,
    input: InputInfo,
    counts: Counts,
    processes: u32,
    /// Longest measuring time of a process, in seconds.
    wall: f64,
    mb_per_s: f64,
    iops: f64,
    cpu_pct: f64,
    op: OpType,
}

impl Summary {
    fn from_measurement(m: &Measurement, driver: &str, input: &InputInfo) -> Summary {
        let mut s = Summary {
            driver: driver.to_string(),
            input: input.clone(),
            counts: Counts::default(),
            processes: 0,
            wall: 0.0,
            mb_per_s: 0.0,
            iops: 0.0,
            cpu_pct: 0.0,
            op: m.op,
        };
        s.add(m);
        s
    }

    fn add(&mut self, m: &Measurement) {
        let secs = m.wall.as_secs_f64().max(1e-9);
        let useful = match m.op {
            OpType::Compress => m.counts.bytes_in,
            OpType::Decompress => m.counts.bytes_out,
        };
        self.counts.add(&m.counts);
        self.processes += 1;
        self.wall = self.wall.max(secs);
        self.mb_per_s += useful as f64 / 1e6 / secs;
        self.iops += m.counts.requests as f64 / secs;
        self.cpu_pct += 100.0 * m.cpu.as_secs_f64() / secs;
    }

    fn latency_us(&self) -> f64 {
        if self.counts.requests == 0 {
            0.0
        } else {
            self.counts.lat_ns as f64 / self.counts.requests as f64 / 1e3
        }
    }

    /// Uncompressed over compressed bytes.
    fn ratio(&self) -> f64 {
        let (raw, packed) = match self.op {
            OpType::Compress => (self.counts.bytes_in, self.counts.bytes_out),
            OpType::Decompress => (self.counts.bytes_out, self.counts.bytes_in),
        };
        if packed == 0 {
            0.0
        } else {
            raw as f64 / packed as f64
        }
    }

    fn print(&self, args: &Args) {
        let alg = args.alg.alg().name();
        println!(
            "uadk_tool benchmark: {alg} {} (opt {}), {}, mode {} (driver {}), level {}, window {}K",
            args.opt_name(),
            args.opt,
            sync_name(args),
            args.mode().name(),
            self.driver,
            args.level,
            args.winsize.bytes() / 1024
        );
        println!(
            "  input {} ({} bytes, {} packets of {} bytes); {} thread(s) x {} process(es); {:.2} s",
            self.input.name,
            self.input.len,
            self.input.packets,
            args.pktlen,
            args.thread,
            self.processes,
            self.wall
        );
        println!(
            "{:<9}{:<14}{:<16}{:<12}{:<13}{:<11}ratio",
            "algname", "length", "perf", "iops", "latency", "CPU_rate"
        );
        println!(
            "{:<9}{:<14}{:<16}{:<12}{:<13}{:<11}{:.2}",
            alg,
            format!("{}Bytes", args.pktlen),
            format!("{:.2}MB/s", self.mb_per_s),
            format!("{:.2}Kops", self.iops / 1e3),
            format!("{:.2}us", self.latency_us()),
            format!("{:.2}%", self.cpu_pct),
            self.ratio()
        );
    }

    fn json(&self, args: &Args) -> String {
        format!(
            concat!(
                "{{\"alg\":\"{}\",\"mode\":\"{}\",\"driver\":{},\"opt\":{},\"op\":\"{}\",",
                "\"stream\":{},\"sync\":{},\"pktlen\":{},\"threads\":{},\"processes\":{},",
                "\"level\":{},\"window\":{},\"input\":{},\"input_bytes\":{},\"packets\":{},",
                "\"seconds\":{:.6},\"requests\":{},\"bytes_in\":{},\"bytes_out\":{},",
                "\"throughput_mb_s\":{:.3},\"iops\":{:.1},\"latency_us\":{:.3},",
                "\"cpu_percent\":{:.2},\"ratio\":{:.4}}}"
            ),
            args.alg.alg().name(),
            args.mode().name(),
            json_str(&self.driver),
            args.opt,
            match args.op() {
                OpType::Compress => "compress",
                OpType::Decompress => "decompress",
            },
            args.stream(),
            !args.async_mode,
            args.pktlen,
            args.thread,
            self.processes,
            args.level,
            args.winsize.bytes(),
            json_str(&self.input.name),
            self.input.len,
            self.input.packets,
            self.wall,
            self.counts.requests,
            self.counts.bytes_in,
            self.counts.bytes_out,
            self.mb_per_s,
            self.iops,
            self.latency_us(),
            self.cpu_pct,
            self.ratio()
        )
    }
}

fn sync_name(args: &Args) -> &'static str {
    if args.async_mode {
        "async"
    } else {
        "sync"
    }
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// In a `--multi` child: say we are ready, then wait for the parent's go.
fn wait_for_go() -> Result<()> {
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
struct Children(Vec<Child>);

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
fn run_children(args: &Args) -> Result<Summary> {
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

fn input_len(args: &Args) -> usize {
    match &args.file {
        Some(p) => std::fs::metadata(p).map_or(0, |m| m.len() as usize),
        None => GENERATED_LEN.max(args.pktlen),
    }
}

/// Read lines until one starts with `tag`; fail if the child ends first.
fn expect_line(r: &mut impl BufRead, tag: &str) -> Result<String> {
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
fn parse_report(line: &str, op: OpType) -> Result<(Measurement, String)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_wraps_around() {
        let data: Vec<u8> = (0..10).collect();
        let p = split(&data, 4);
        assert_eq!(
            p,
            vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9, 0, 1]]
        );
        assert_eq!(
            split(&data, 25),
            vec![[&data[..], &data[..], &data[..5]].concat()]
        );
    }

    #[test]
    fn report_round_trips() {
        let m = Measurement {
            counts: Counts {
                requests: 7,
                bytes_in: 700,
                bytes_out: 300,
                lat_ns: 12345,
            },
            wall: Duration::from_millis(1500),
            cpu: Duration::from_millis(1400),
            op: OpType::Compress,
        };
        let (back, driver) = parse_report(&m.report_line("cpu"), OpType::Compress).unwrap();
        assert_eq!(driver, "cpu");
        assert_eq!(back.counts.requests, 7);
        assert_eq!(back.counts.lat_ns, 12345);
        assert_eq!(back.wall, m.wall);
        assert!(parse_report("@x requests=z", OpType::Compress).is_err());
    }

    #[test]
    fn json_escapes() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}
