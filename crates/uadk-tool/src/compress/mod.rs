//! `compress` and `decompress`: gzip-style file (de)compression through the library.
//!
//! Files are in the formats their tools use: gzip, zlib, raw deflate, zstd (what `zstd`
//! writes and reads: several frames and skippable frames included) and lz4 (LZ4 frames,
//! what `lz4` writes and reads). They go through the library's stream adapters
//! ([`Encoder`](uadk::Encoder), [`Decoder`](uadk::Decoder)), so files of any size run
//! in bounded memory; LZ4 frames are made of lz4 block requests. `lz4-block` is UADK's
//! raw LZ4 block (`WD_LZ4`), block-only: the whole input is read and handled by one
//! block request, and as the format carries no size, decompression grows its output
//! buffer until the block fits.
//!
//! Outputs are written to a temporary file next to the destination and renamed into
//! place once complete: a failed run never leaves a truncated output behind, nor
//! clobbers an existing one. Inputs are kept unless `--rm` is given.

mod args;
mod files;
mod job;
mod sigbus;
mod stream;

pub use args::{Args, Format};

use crate::common::{Error, Result};
use job::Job;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use uadk::{Alg, Comp, CompConfig, CtxMode, OpType};

/// Where one input comes from.
enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Stdin => "stdin".into(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// Where one output goes.
enum Dest {
    Stdout,
    File(PathBuf),
}

impl Dest {
    fn name(&self) -> String {
        match self {
            Dest::Stdout => "stdout".into(),
            Dest::File(p) => p.display().to_string(),
        }
    }
}

/// Run `compress` (`compressing`) or `decompress` over every input.
pub fn run(args: Args, compressing: bool) -> Result<ExitCode> {
    // A closed pipe on stdout (`| head`) ends us quietly, as it does gzip and cat,
    // instead of an EPIPE error message. Nothing here writes to a pipe it must survive.
    // SAFETY: restoring a signal's default disposition has no memory-safety impact.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let sources: Vec<Source> = if args.files.is_empty() {
        vec![Source::Stdin]
    } else {
        args.files
            .iter()
            .map(|p| {
                if p.as_os_str() == "-" {
                    Source::Stdin
                } else {
                    Source::File(p.clone())
                }
            })
            .collect()
    };
    if sources
        .iter()
        .filter(|s| matches!(s, Source::Stdin))
        .count()
        > 1
    {
        return Err(Error::msg("standard input can be named only once"));
    }
    if args.output.is_some() && sources.len() > 1 {
        return Err(Error::msg("-o/--output takes a single input"));
    }
    let to_stdout = args.to_stdout || args.output.as_deref() == Some(Path::new("-"));
    if compressing && to_stdout && sources.len() > 1 {
        let f = args.alg.unwrap_or(Format::Gzip);
        if !f.concatenates() {
            // Concatenated gzip members, zstd frames and LZ4 frames form a valid file of
            // their format; the other formats do not.
            return Err(Error::msg(format!(
                "several inputs to one output work only for gzip, zstd and lz4, not {}",
                f.name()
            )));
        }
    }

    let mut comps = CompCache::default();
    let mut failed = false;
    for src in &sources {
        let job = Job {
            args: &args,
            compressing,
            to_stdout,
        };
        if let Err(e) = job.run(src, &mut comps) {
            eprintln!("uadk_tool: {}: {e}", src.name());
            failed = true;
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One [`Comp`] per algorithm, made on first use.
#[derive(Default)]
struct CompCache(Vec<(Alg, Comp)>);

impl CompCache {
    fn get(&mut self, alg: Alg) -> Result<&Comp> {
        if let Some(i) = self.0.iter().position(|(a, _)| *a == alg) {
            return Ok(&self.0[i].1);
        }
        let mut cfg = CompConfig::from_env()?.alg(alg);
        if std::env::var_os("WD_COMP_CTX_NUM").is_none() {
            // Files run one request at a time: one sync context per direction is enough,
            // and the default would start a worker thread per async context for nothing.
            for op in OpType::ALL {
                cfg = cfg.ctxs(CtxMode::Sync, op, 1).ctxs(CtxMode::Async, op, 0);
            }
        }
        self.0.push((alg, Comp::new(cfg)?));
        Ok(&self.0[self.0.len() - 1].1)
    }
}
