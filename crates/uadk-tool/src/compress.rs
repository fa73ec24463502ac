//! `compress` and `decompress`: gzip-style file (de)compression through the library.
//!
//! Files are in the formats their tools use: gzip, zlib, raw deflate, zstd (what `zstd`
//! writes and reads: several frames and skippable frames included) and lz4 (LZ4 frames,
//! what `lz4` writes and reads). They go through the library's stream adapters
//! ([`Encoder`], [`Decoder`]), so files of any size run in bounded memory; LZ4 frames are
//! made of lz4 block requests. `lz4-block` is UADK's raw LZ4 block (`WD_LZ4`), block-only:
//! the whole input is read and handled by one block request, and as the format carries no
//! size, decompression grows its output buffer until the block fits.
//!
//! Outputs are written to a temporary file next to the destination and renamed into
//! place once complete: a failed run never leaves a truncated output behind, nor
//! clobbers an existing one. Inputs are kept unless `--rm` is given.

use crate::common::{parse_window, Context, Error, Result};
use crate::parallel::{self, Mapped};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use uadk::{Alg, Comp, CompConfig, CtxMode, Decoder, Encoder, Level, OpType, SessionSetup};
use uadk::{Lz4BlockSize, Session, WindowSize};

/// Buffer size of the readers and writers around the stream adapters.
const IO_BUF: usize = 256 * 1024;
/// Inputs larger than this get a progress bar (when stderr is a terminal).
const PROGRESS_MIN: u64 = 8 << 20;
/// gzip's magic bytes, which start every member of a gzip file.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// File formats, as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// gzip (RFC 1952), `.gz`.
    Gzip,
    /// zlib (RFC 1950), `.zz`.
    Zlib,
    /// Raw deflate (RFC 1951), `.deflate`.
    Deflate,
    /// LZ4 frames, as the `lz4` tool reads and writes them, `.lz4`.
    Lz4,
    /// UADK's raw LZ4 block (`WD_LZ4`, whole files only), `.lz4b`.
    #[value(name = "lz4-block")]
    Lz4Block,
    /// zstd frames, as the `zstd` tool reads and writes them, `.zst`.
    Zstd,
}

impl Format {
    /// Every format, for suffix lookups.
    const ALL: [Format; 6] = [
        Format::Gzip,
        Format::Zlib,
        Format::Deflate,
        Format::Lz4,
        Format::Lz4Block,
        Format::Zstd,
    ];

    /// The library's algorithm.
    fn alg(self) -> Alg {
        match self {
            Format::Gzip => Alg::Gzip,
            Format::Zlib => Alg::Zlib,
            Format::Deflate => Alg::Deflate,
            Format::Lz4 | Format::Lz4Block => Alg::Lz4,
            Format::Zstd => Alg::Zstd,
        }
    }

    /// The name on the command line.
    fn name(self) -> &'static str {
        match self {
            Format::Lz4Block => "lz4-block",
            f => f.alg().name(),
        }
    }

    /// File suffix of compressed files.
    fn suffix(self) -> &'static str {
        match self {
            Format::Zlib => ".zz",
            Format::Gzip => ".gz",
            Format::Deflate => ".deflate",
            Format::Lz4 => ".lz4",
            Format::Lz4Block => ".lz4b",
            Format::Zstd => ".zst",
        }
    }

    /// True when files of this format may be concatenated into one (members, frames).
    fn concatenates(self) -> bool {
        matches!(self, Format::Gzip | Format::Lz4 | Format::Zstd)
    }

    /// Formats whose mapped files go through [`stream_direct`], both ways.
    fn direct(self) -> bool {
        matches!(self, Format::Gzip | Format::Zlib | Format::Deflate)
    }

    /// The level when none is given: 1, or zstd's own default, 3.
    fn default_level(self) -> i32 {
        match self {
            Format::Zstd => 3,
            _ => 1,
        }
    }
}

/// Options of `compress` and `decompress`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input files; none, or `-`, reads standard input and writes standard output
    pub files: Vec<PathBuf>,

    /// Format [default: gzip; decompress guesses it from the file suffix]
    #[arg(short, long, value_enum)]
    pub alg: Option<Format>,

    /// Compression level, 1 (fastest) to 15; zstd takes its own, -131072..22 (negative:
    /// its fast levels); -1 .. -9 are shorthands [default: 1; zstd 3]
    #[arg(short, long, allow_negative_numbers = true, group = "lvl")]
    pub level: Option<i32>,

    /// zstd's fast levels: --fast=N is level -N (--fast alone: -1)
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1",
          value_parser = clap::value_parser!(u32).range(1..=131072), group = "lvl")]
    pub fast: Option<u32>,
    #[arg(short = '1', hide = true, group = "lvl")]
    l1: bool,
    #[arg(short = '2', hide = true, group = "lvl")]
    l2: bool,
    #[arg(short = '3', hide = true, group = "lvl")]
    l3: bool,
    #[arg(short = '4', hide = true, group = "lvl")]
    l4: bool,
    #[arg(short = '5', hide = true, group = "lvl")]
    l5: bool,
    #[arg(short = '6', hide = true, group = "lvl")]
    l6: bool,
    #[arg(short = '7', hide = true, group = "lvl")]
    l7: bool,
    #[arg(short = '8', hide = true, group = "lvl")]
    l8: bool,
    #[arg(short = '9', hide = true, group = "lvl")]
    l9: bool,

    /// History window in KiB: 4, 8, 16, 24 or 32
    #[arg(short, long, default_value = "32", value_parser = parse_window)]
    pub window: WindowSize,

    /// Write to standard output (inputs are kept)
    #[arg(short = 'c', long = "stdout")]
    pub to_stdout: bool,

    /// Write to this file (one input only; `-` is standard output)
    #[arg(short, long, conflicts_with = "to_stdout")]
    pub output: Option<PathBuf>,

    /// Keep input files (the default: inputs are only removed with --rm)
    #[arg(short, long)]
    pub keep: bool,

    /// Remove each input file once its output is complete and synced
    #[arg(long, conflicts_with_all = ["keep", "to_stdout"])]
    pub rm: bool,

    /// Overwrite existing outputs; allow compressed data on a terminal
    #[arg(short, long)]
    pub force: bool,

    /// Print sizes and ratio of each file on stderr
    #[arg(short, long)]
    pub verbose: bool,

    /// Decompress (`compress -d` is `decompress`, as `gzip -d`)
    #[arg(short, long)]
    pub decompress: bool,

    /// Largest result of an lz4 decompression, in bytes: lz4 blocks carry no size, so the
    /// whole result is held in memory (deflate, zlib and gzip are streamed) [default: 1 GiB]
    #[arg(long, default_value_t = 1 << 30, value_name = "BYTES")]
    pub max_output: usize,
    /// Threads: split each input across this many async contexts of the engine (0: one
    /// per CPU). Compression writes one stream of the format; decompression uses them on
    /// files made so (gzip parts with their index, zstd frames, LZ4 blocks)
    #[arg(short = 'T', long = "threads", default_value_t = 1)]
    pub threads: usize,
}

impl Args {
    /// The level asked for, if any.
    fn level_num(&self) -> Option<i32> {
        if let Some(l) = self.level {
            return Some(l);
        }
        if let Some(f) = self.fast {
            return Some(-(f as i32));
        }
        let short = [
            self.l1, self.l2, self.l3, self.l4, self.l5, self.l6, self.l7, self.l8, self.l9,
        ];
        short.iter().position(|&b| b).map(|i| i as i32 + 1)
    }

    /// The level for a format, checked against what it takes.
    fn level_for(&self, f: Format) -> Result<Level> {
        let n = self.level_num().unwrap_or(f.default_level());
        if f == Format::Zstd {
            return Ok(Level::zstd(n)?);
        }
        if self.fast.is_some() {
            return Err(Error::msg(format!("--fast is for zstd, not {}", f.name())));
        }
        u32::try_from(n)
            .ok()
            .and_then(|n| Level::new(n).ok())
            .ok_or_else(|| {
                Error::msg(format!(
                    "level {n} is out of range for {} (1..15; zstd takes -131072..22)",
                    f.name()
                ))
            })
    }
}

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

/// The settings one input is processed with.
struct Job<'a> {
    args: &'a Args,
    compressing: bool,
    to_stdout: bool,
}

impl Job<'_> {
    fn alg_for(&self, src: &Source) -> Format {
        if let Some(a) = self.args.alg {
            return a;
        }
        if let (false, Source::File(p)) = (self.compressing, src) {
            let name = p.as_os_str().as_bytes();
            let found = Format::ALL
                .into_iter()
                .find(|a| name.ends_with(a.suffix().as_bytes()));
            if let Some(a) = found {
                return a;
            }
        }
        Format::Gzip
    }

    fn dest_for(&self, src: &Source, alg: Format) -> Result<Dest> {
        if self.to_stdout {
            return Ok(Dest::Stdout);
        }
        if let Some(o) = &self.args.output {
            return Ok(Dest::File(o.clone()));
        }
        let Source::File(path) = src else {
            return Ok(Dest::Stdout);
        };
        let suffix = alg.suffix();
        let name = path.as_os_str().as_bytes();
        let has_suffix = name.len() > suffix.len() && name.ends_with(suffix.as_bytes());
        if self.compressing {
            if has_suffix && !self.args.force {
                return Err(Error::msg(format!(
                    "already has the {suffix} suffix, left unchanged (use -f to compress it again)"
                )));
            }
            let mut out = path.as_os_str().to_os_string();
            out.push(suffix);
            Ok(Dest::File(out.into()))
        } else {
            if !has_suffix {
                return Err(Error::msg(format!(
                    "name lacks the {suffix} suffix of {} data (use -o or -c to name the output)",
                    alg.name()
                )));
            }
            let stem = OsStr::from_bytes(&name[..name.len() - suffix.len()]);
            Ok(Dest::File(stem.into()))
        }
    }

    fn run(&self, src: &Source, comps: &mut CompCache) -> Result<()> {
        let alg = self.alg_for(src);
        let level = if self.compressing {
            self.args.level_for(alg)?
        } else {
            Level::default()
        };
        let dest = self.dest_for(src, alg)?;
        let force = self.args.force;
        if self.compressing && matches!(dest, Dest::Stdout) && io::stdout().is_terminal() && !force
        {
            return Err(Error::msg(
                "refusing to write compressed data to a terminal (use -f to force)",
            ));
        }
        if !self.compressing && matches!(src, Source::Stdin) && io::stdin().is_terminal() && !force
        {
            return Err(Error::msg(
                "refusing to read compressed data from a terminal (use -f to force)",
            ));
        }

        let (in_file, size) = match src {
            Source::Stdin => (None, None),
            Source::File(p) => {
                let meta = fs::metadata(p)?;
                if meta.is_dir() {
                    return Err(Error::msg("is a directory"));
                }
                let f = File::open(p)?;
                (Some(f), meta.is_file().then_some(meta.len()))
            }
        };

        let mut temp = None;
        let out_file: File = match &dest {
            // A handle of our own on standard output: written straight, no line buffer.
            Dest::Stdout => File::from(io::stdout().as_fd().try_clone_to_owned()?),
            Dest::File(out) => {
                if let Source::File(inp) = src {
                    if same_file(inp, out) {
                        return Err(Error::msg("input and output are the same file"));
                    }
                }
                if out.exists() && !force {
                    return Err(Error::msg(format!(
                        "{} already exists; use -f to overwrite",
                        out.display()
                    )));
                }
                let t = TempFile::create(out)?;
                let f = t.file.try_clone()?;
                temp = Some(t);
                f
            }
        };
        // Regular files are mapped: no copy on the way in, and `-T` hands their chunks to
        // the engine where they lie.
        let mapped = match (&in_file, size) {
            (Some(f), Some(n)) => Mapped::new(f, n),
            _ => None,
        };
        let threads = match self.args.threads {
            0 => parallel::cpus(),
            n => n,
        };
        let (n_in, n_out) = self.process(
            alg,
            level,
            threads,
            (src, in_file, size, mapped.as_ref()),
            out_file,
            &dest,
            comps,
        )?;

        if let (Some(t), Source::File(inp)) = (&temp, src) {
            copy_metadata(inp, &t.file);
        }
        if let Some(t) = temp {
            if self.args.rm {
                t.file.sync_all().context("syncing the output")?;
            }
            t.commit(force)?;
        }
        if self.args.verbose {
            let (raw, packed) = if self.compressing {
                (n_in, n_out)
            } else {
                (n_out, n_in)
            };
            let saved = if raw == 0 {
                0.0
            } else {
                100.0 * (1.0 - packed as f64 / raw as f64)
            };
            eprintln!(
                "{}: {n_in} -> {n_out} bytes, {saved:.1}% saved, {} ({})",
                src.name(),
                alg.name(),
                dest.name()
            );
        }
        if let (true, Source::File(inp)) = (self.args.rm, src) {
            fs::remove_file(inp).context(format!("removing {}", inp.display()))?;
        }
        Ok(())
    }
}

impl Job<'_> {
    /// (De)compress one input into `out_file`; returns (bytes in, bytes out).
    #[allow(clippy::too_many_arguments)]
    fn process(
        &self,
        alg: Format,
        level: Level,
        threads: usize,
        (src, in_file, size, mapped): (&Source, Option<File>, Option<u64>, Option<&Mapped>),
        mut out_file: File,
        dest: &Dest,
        comps: &mut CompCache,
    ) -> Result<(u64, u64)> {
        let window = self.args.window;
        let wrap = match alg {
            Format::Gzip => Some(parallel::Wrap::Gzip),
            Format::Zlib => Some(parallel::Wrap::Zlib),
            Format::Deflate => Some(parallel::Wrap::Raw),
            _ => None,
        };
        let start = out_file.stream_position().unwrap_or(0);
        let seekable = out_file.metadata().is_ok_and(|m| m.is_file()) && !appending(&out_file);
        let mut out = parallel::Out {
            file: &mut out_file,
            seekable,
            count: 0,
        };
        let name = || format!("writing {}", dest.name());
        let mut stdin_lock;
        let mut file_reader;
        let reader: &mut dyn Read = match in_file {
            Some(f) => {
                file_reader = f;
                &mut file_reader
            }
            None => {
                stdin_lock = io::stdin().lock();
                &mut stdin_lock
            }
        };
        let input = |reader| match mapped {
            Some(m) => parallel::Input::Mapped(m),
            None => parallel::Input::Reader(reader),
        };
        let in_len = |out: &parallel::Out| (size.unwrap_or(0), out.count);
        if self.compressing && threads > 1 && alg != Format::Lz4Block {
            let r = match (alg, wrap) {
                (_, Some(w)) => {
                    parallel::compress_deflate(w, level, window, threads, input(reader), &mut out)
                }
                (Format::Zstd, _) => {
                    parallel::compress_zstd(level, window, threads, input(reader), &mut out)
                }
                _ => parallel::compress_lz4(threads, input(reader), &mut out),
            };
            r.context(name())?;
            let _ = start;
            return Ok(in_len(&out));
        }
        let comp = comps.get(alg.alg())?;
        if let (true, Some(w), true) = (
            self.compressing,
            wrap,
            level.get() > 1 && window == WindowSize::W32K,
        ) {
            if let Some(m) = mapped.filter(|m| m.bytes().len() <= WHOLE_MAX) {
                // libdeflate takes no stream: a whole file is one block request, as
                // `libdeflate-gzip` does it; larger ones and pipes go in parts.
                let sess = comp.session(
                    &SessionSetup::new(alg.alg(), OpType::Compress)
                        .level(level)
                        .window(window),
                )?;
                let mut buf = vec![0u8; sess.compress_bound(m.bytes().len())];
                let n = sess.process(m.bytes(), &mut buf)?;
                out.write(&buf[..n]).context(name())?;
                return Ok(in_len(&out));
            }
            parallel::compress_deflate(w, level, window, 1, input(reader), &mut out)
                .context(name())?;
            return Ok(in_len(&out));
        }
        let mut skip = 0;
        if !self.compressing && threads > 1 {
            if let Some(m) = mapped {
                let r = match alg {
                    Format::Gzip => parallel::decompress_gzip(m.bytes(), threads, &mut out),
                    Format::Zstd => parallel::decompress_zstd(m.bytes(), threads, &mut out),
                    Format::Lz4 => parallel::decompress_lz4(m.bytes(), threads, &mut out),
                    _ => Ok(parallel::Outcome::Declined { written: 0 }),
                };
                match r? {
                    parallel::Outcome::Done => return Ok((m.bytes().len() as u64, out.count)),
                    // Read it all again, as one stream: zlib's verdict, the same bytes.
                    parallel::Outcome::Declined { written } => skip = written,
                }
            }
        }

        if let (Some(m), true) = (mapped, alg.direct()) {
            // A mapped input goes to the session whole, and its output straight out: no
            // copy on either side.
            let op = if self.compressing {
                OpType::Compress
            } else {
                OpType::Decompress
            };
            let sess =
                comp.session(&SessionSetup::new(alg.alg(), op).level(level).window(window))?;
            let mut skipper = Skip {
                inner: &mut *out.file,
                left: skip,
            };
            let n = stream_direct(&sess, m.bytes(), &mut skipper).context(name())?;
            return Ok((m.bytes().len() as u64, n));
        }
        let raw: Box<dyn Read + '_> = match mapped {
            Some(m) => Box::new(m.bytes()),
            None => Box::new(reader),
        };
        let progress = match mapped {
            None => progress_bar(size, &src.name()),
            Some(_) => None,
        };
        let raw: Box<dyn Read + '_> = match &progress {
            Some(pb) => Box::new(pb.wrap_read(raw)),
            None => raw,
        };
        let mut input = Counted::new(raw, "reading".to_string());
        let mut output = Counted::new(
            Skip {
                inner: &mut *out.file,
                left: skip,
            },
            name(),
        );
        let res = if self.compressing {
            let setup = SessionSetup::new(alg.alg(), OpType::Compress)
                .level(level)
                .window(window);
            let sess = comp.session(&setup)?;
            if alg == Format::Lz4Block {
                block_all(&sess, &mut input, &mut output, usize::MAX)
            } else {
                encode_stream(sess, &mut input, &mut output)
            }
        } else {
            let setup = SessionSetup::new(alg.alg(), OpType::Decompress);
            if alg == Format::Lz4Block {
                let sess = comp.session(&setup)?;
                block_all(&sess, &mut input, &mut output, self.args.max_output)
            } else {
                decode_stream(comp, &setup, &mut input, &mut output)
            }
        };
        if let Some(pb) = &progress {
            pb.finish_and_clear();
        }
        res?;
        output.flush()?;
        Ok((input.count, output.count))
    }
}

/// Output buffer of [`stream_direct`].
const DIRECT_BUF: usize = 1 << 20;

/// One whole input through stream calls, each output written at once; a gzip input may
/// hold several members. Returns the bytes written.
fn stream_direct(sess: &Session, data: &[u8], out: &mut impl Write) -> Result<u64> {
    let mut buf = vec![0u8; DIRECT_BUF];
    let (mut i, mut total) = (0usize, 0u64);
    let gzip = sess.params().alg == Alg::Gzip;
    let decompress = sess.params().op == OpType::Decompress;
    sess.reset();
    loop {
        let r = sess.stream(&data[i..], &mut buf, true)?;
        i += r.consumed;
        out.write_all(&buf[..r.produced])?;
        total += r.produced as u64;
        if r.end {
            if !decompress || i == data.len() {
                return Ok(total);
            }
            if !gzip {
                return Err(Error::msg(format!(
                    "trailing data after the end of the {} stream",
                    sess.params().alg
                )));
            }
            if !data[i..].starts_with(&GZIP_MAGIC) {
                return Err(Error::msg("trailing garbage after the gzip data"));
            }
            // The next member: the session starts a new stream after an end.
            continue;
        }
        if r.consumed == 0 && r.produced == 0 {
            return Err(uadk::Error::TruncatedInput.into());
        }
    }
}

/// Whole files up to this size compress at levels 2..15 as one block request.
const WHOLE_MAX: usize = 1 << 30;

/// True when writes to `f` go to its end whatever its offset (`O_APPEND`).
fn appending(f: &File) -> bool {
    // SAFETY: F_GETFL reads the flags of an open descriptor.
    let fl = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
    fl < 0 || fl & libc::O_APPEND != 0
}

/// Drops the first `left` bytes written to it: what a parallel reader already wrote.
struct Skip<W> {
    inner: W,
    left: u64,
}

impl<W: Write> Write for Skip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.left > 0 {
            let n = buf.len().min(self.left as usize);
            self.left -= n as u64;
            return Ok(n);
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Compress a stream through an [`Encoder`].
fn encode_stream(sess: Session, input: &mut impl Read, output: &mut impl Write) -> Result<()> {
    // LZ4 frames: reads of a whole 4 MiB block are compressed where they land, uncopied.
    let cap = if sess.params().alg == Alg::Lz4 {
        Lz4BlockSize::M4.bytes()
    } else {
        IO_BUF
    };
    let mut reader = BufReader::with_capacity(cap, input);
    let writer = BufWriter::with_capacity(IO_BUF, output);
    let mut enc = Encoder::with_session(sess, writer)?;
    io::copy(&mut reader, &mut enc)?;
    let writer = enc.finish()?;
    writer.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}

/// Decompress a stream through [`Decoder`]s. A gzip file may hold several members
/// (as `cat a.gz b.gz` makes); each is decoded in turn. zstd and LZ4 decoders read every
/// frame of the file themselves. Anything else after the end of the stream is an error.
fn decode_stream(
    comp: &Comp,
    setup: &SessionSetup,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<()> {
    let mut reader = BufReader::with_capacity(IO_BUF, input);
    let mut writer = BufWriter::with_capacity(IO_BUF, output);
    // Bytes read past the end of the previous member.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let sess = comp.session(setup)?;
        let mut chained = io::Cursor::new(std::mem::take(&mut carry)).chain(&mut reader);
        {
            let mut dec = Decoder::with_session(sess, &mut chained)?;
            io::copy(&mut dec, &mut writer)?;
            carry = dec.remaining().to_vec();
        }
        let (cursor, _) = chained.into_inner();
        let unread = &cursor.get_ref()[(cursor.position() as usize).min(cursor.get_ref().len())..];
        carry.extend_from_slice(unread);
        while carry.len() < GZIP_MAGIC.len() {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let n = (GZIP_MAGIC.len() - carry.len()).min(buf.len());
            carry.extend_from_slice(&buf[..n]);
            reader.consume(n);
        }
        if carry.is_empty() {
            break;
        }
        if setup.alg != Alg::Gzip {
            return Err(Error::msg(format!(
                "trailing data after the end of the {} stream",
                setup.alg
            )));
        }
        if !carry.starts_with(&GZIP_MAGIC) {
            return Err(Error::msg("trailing garbage after the gzip data"));
        }
    }
    writer.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}

/// One block request over the whole input (the raw LZ4 block, which UADK serves in block
/// mode only), its result at most `limit` bytes.
fn block_all(
    sess: &Session,
    input: &mut impl Read,
    output: &mut impl Write,
    limit: usize,
) -> Result<()> {
    let mut data = Vec::new();
    input.read_to_end(&mut data)?;
    let out = sess.process_to_vec_limited(&data, limit)?;
    output.write_all(&out)?;
    Ok(())
}

/// A progress bar on stderr, for inputs large enough to be worth one.
fn progress_bar(size: Option<u64>, name: &str) -> Option<ProgressBar> {
    let size = size.filter(|&s| s > PROGRESS_MIN)?;
    if !io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(name.to_string());
    Some(pb)
}

/// Counts bytes passing through, and names the file in I/O errors.
struct Counted<T> {
    inner: T,
    count: u64,
    name: String,
}

impl<T> Counted<T> {
    fn new(inner: T, name: String) -> Self {
        Counted {
            inner,
            count: 0,
            name,
        }
    }

    fn wrap(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: {e}", self.name))
    }
}

impl<T: Read> Read for Counted<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).map_err(|e| self.wrap(e))?;
        self.count += n as u64;
        Ok(n)
    }
}

impl<T: Write> Write for Counted<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf).map_err(|e| self.wrap(e))?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.wrap(e))
    }
}

/// An output being written under a temporary name; removed unless committed.
struct TempFile {
    path: PathBuf,
    dest: PathBuf,
    file: File,
    committed: bool,
}

impl TempFile {
    fn create(dest: &Path) -> Result<TempFile> {
        let name = dest
            .file_name()
            .ok_or_else(|| Error::msg(format!("{} is not a file name", dest.display())))?;
        let mut tmp = OsString::from(".");
        tmp.push(name);
        tmp.push(format!(".uadk-tmp{}", std::process::id()));
        let path = dest.with_file_name(tmp);
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .context(format!("creating {}", path.display()))?;
        Ok(TempFile {
            path,
            dest: dest.to_path_buf(),
            file,
            committed: false,
        })
    }

    /// Move the finished output to its name.
    fn commit(mut self, force: bool) -> Result<()> {
        // Checked again: the destination may have appeared while we were working.
        if !force && self.dest.exists() {
            return Err(Error::msg(format!(
                "{} already exists; use -f to overwrite",
                self.dest.display()
            )));
        }
        fs::rename(&self.path, &self.dest)
            .context(format!("renaming to {}", self.dest.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Give the output the input's permissions and modification time, as gzip does.
/// Best effort: failing to do so does not fail the command.
fn copy_metadata(input: &Path, out: &File) {
    if let Ok(meta) = fs::metadata(input) {
        if meta.is_file() {
            let _ = out.set_permissions(meta.permissions());
            if let Ok(t) = meta.modified() {
                let _ = out.set_modified(t);
            }
        }
    }
}

/// True when both paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
