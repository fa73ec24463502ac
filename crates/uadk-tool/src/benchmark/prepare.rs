//! What is ready before the clock starts: the packets, their compressed forms, the
//! engine's configuration, and the check that its output round-trips.

use super::threads::{flat, request};
use super::{Args, DRAIN_TIMEOUT, GENERATED_LEN};
use crate::common::{Context, Error, Result};
use crate::datagen;
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};
use uadk::drv::Callback;
use uadk::{
    compress_bound, Comp, CompConfig, Completion, CtxMode, JobBuf, Level, OpType, Session,
    SessionSetup,
};

/// Where the input came from, for the report.
#[derive(Debug, Clone)]
pub(super) struct InputInfo {
    pub(super) name: String,
    pub(super) len: usize,
    pub(super) packets: usize,
}

/// Everything prepared before the clock starts.
pub(super) struct Bench {
    pub(super) comp: Comp,
    pub(super) setup: SessionSetup,
    /// Request inputs: raw packets to compress, or compressed packets to decompress.
    pub(super) inputs: Vec<Vec<u8>>,
    /// Output space of one request.
    pub(super) out_cap: usize,
    pub(super) input: InputInfo,
}

impl Bench {
    pub(super) fn prepare(args: &Args) -> Result<Bench> {
        let alg = args.alg.alg();
        let level = Level::new(args.level())?;
        if alg == uadk::Alg::Lz77Zstd
            && !args.stream()
            && args.pktlen > uadk::hw::lz77::ZSTD_MAX_SIZE
        {
            return Err(Error::msg(format!(
                "lz77_zstd takes at most {} bytes per block request: lower --pktlen or use --opt 2",
                uadk::hw::lz77::ZSTD_MAX_SIZE
            )));
        }
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

        if args.alg.is_lz77() {
            return Bench::prepare_lz77(args, raw, input, level);
        }
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

    /// lz77: packets are compressed only; the check rebuilds packet 0 from the sequences.
    fn prepare_lz77(
        args: &Args,
        raw: Vec<Vec<u8>>,
        input: InputInfo,
        level: Level,
    ) -> Result<Bench> {
        let alg = args.alg.alg();
        let comp = Comp::new(bench_config(args)?).context("setting up the engine")?;
        let setup = SessionSetup::new(alg, OpType::Compress)
            .level(level)
            .window(args.winsize);
        let per_call = if args.stream() {
            args.pktlen.min(super::threads::LZ77_CHUNK)
        } else {
            args.pktlen
        };
        let bench = Bench {
            comp,
            setup,
            inputs: raw,
            out_cap: compress_bound(alg, per_call),
            input,
        };
        bench
            .verify_lz77(args)
            .context("verification of the measured path failed")?;
        Ok(bench)
    }

    /// Rebuild packet 0 from what the measured path returns for it.
    fn verify_lz77(&self, args: &Args) -> Result<()> {
        use uadk::hw::lz77::{Reps, StreamReps};
        let alg = args.alg.alg();
        let sess = self.comp.session(&self.setup)?;
        let raw = &self.inputs[0];
        let mut back = Vec::new();
        if args.async_mode {
            let (out, o) = submit_once_with(&self.comp, &sess, raw, self.out_cap)?;
            let v = uadk::Lz77Output::from_parts(alg, &out, &o)?;
            back = v.rebuild(&v.sequences(&mut Reps::default())?, &[])?;
        } else if !args.stream() {
            let mut out = vec![0u8; self.out_cap];
            let v = sess.lz77(raw, &mut out)?;
            back = v.rebuild(&v.sequences(&mut Reps::default())?, &[])?;
        } else {
            let mut reps = StreamReps::default();
            let mut out = vec![0u8; self.out_cap];
            let mut at = 0;
            sess.reset();
            while at < raw.len() {
                let end = (at + super::threads::LZ77_CHUNK).min(raw.len());
                let v = sess.lz77_stream(
                    &raw[at..end],
                    &mut out,
                    end == raw.len(),
                    uadk::BlockType::Compressed,
                )?;
                let mut r = reps.start(uadk::BlockType::Compressed);
                let part = v.rebuild(&v.sequences(&mut r)?, &back)?;
                reps.end(r);
                back.extend_from_slice(&part);
                at += v.consumed();
            }
        }
        if &back != raw {
            return Err(Error::msg(format!(
                "packet 0 does not rebuild from its sequences ({} bytes in, {} bytes back)",
                raw.len(),
                back.len()
            )));
        }
        Ok(())
    }

    /// Run packet 0 through the measured path once and check the round trip.
    pub(super) fn verify(&self, args: &Args, raw: &[u8], ref_decomp: &Session) -> Result<()> {
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
}

/// The measured engine's configuration.
pub(super) fn bench_config(args: &Args) -> Result<CompConfig> {
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
pub(super) fn split(data: &[u8], pktlen: usize) -> Vec<Vec<u8>> {
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

/// One async request, waited for; used by the verification.
pub(super) fn submit_once(comp: &Comp, sess: &Session, src: &[u8], cap: usize) -> Result<Vec<u8>> {
    submit_once_with(comp, sess, src, cap).map(|(v, _)| v)
}

/// [`submit_once`], with what the request reported.
pub(super) fn submit_once_with(
    comp: &Comp,
    sess: &Session,
    src: &[u8],
    cap: usize,
) -> Result<(Vec<u8>, uadk::Output)> {
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
                let o = c.result?;
                return Ok((flat(c.dst), o));
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
