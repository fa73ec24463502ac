//! One input: its format, its output's name, the checks before writing, and the way its
//! bytes go (parallel parts, one block request, stream calls, or the stream adapters).

use super::args::Format;
use super::files::{appending, copy_metadata, same_file, TempFile};
use super::sigbus::Watch;
use super::stream::{
    block_all, decode_stream, encode_slice, encode_stream, progress_bar, stream_direct, Counted,
    Skip,
};
use super::{Args, CompCache, Dest, Source};
use crate::common::{Context, Error, Result};
use crate::parallel::{self, Mapped};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, IsTerminal, Read, Seek, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use uadk::{Level, OpType, SessionSetup, WindowSize};

/// The settings one input is processed with.
pub(super) struct Job<'a> {
    pub(super) args: &'a Args,
    pub(super) compressing: bool,
    pub(super) to_stdout: bool,
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

    pub(super) fn run(&self, src: &Source, comps: &mut CompCache) -> Result<()> {
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
        // A file that shrinks under its mapping ends the run with an error, not a signal.
        let watch = mapped
            .as_ref()
            .map(|m| Watch::new(m.bytes(), &src.name(), temp.as_ref().map(TempFile::path)));
        let done = self.process(
            alg,
            level,
            threads,
            (src, in_file, size, mapped.as_ref()),
            out_file,
            &dest,
            comps,
        );
        drop(watch);
        let (n_in, n_out) = done?;

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
        // LZ4 frames read the file with read(2) into their 4 MiB block buffer, not from the
        // mapping: lz4_flex and the content xxHash-32 on a block the kernel has just copied
        // (in cache) beat both on the mapping's cold pages: 154 against 174 ms of CPU for
        // the Silesia files (medians of 15), and the peak RSS stays a few blocks.
        let mapped_in = mapped.filter(|_| !(self.compressing && alg == Format::Lz4));
        if let (Some(m), true) = (mapped_in, self.compressing && alg != Format::Lz4Block) {
            // The mapping is the encoder's input: no copy into a read buffer.
            let sess = comp.session(
                &SessionSetup::new(alg.alg(), OpType::Compress)
                    .level(level)
                    .window(window),
            )?;
            let mut output = Counted::new(
                Skip {
                    inner: &mut *out.file,
                    left: skip,
                },
                name(),
            );
            encode_slice(sess, m.bytes(), &mut output)?;
            output.flush()?;
            return Ok((m.bytes().len() as u64, output.count));
        }
        let raw: Box<dyn Read + '_> = match mapped_in {
            Some(m) => Box::new(m.bytes()),
            None => Box::new(reader),
        };
        let progress = match mapped_in {
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

/// Whole files up to this size compress at levels 2..15 as one block request.
const WHOLE_MAX: usize = 1 << 30;
