//! The options of `compress` and `decompress`, and the formats they name.

use crate::common::{parse_window, Error, Result};
use std::path::PathBuf;
use uadk::{Alg, Level, WindowSize};

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
    pub(super) const ALL: [Format; 6] = [
        Format::Gzip,
        Format::Zlib,
        Format::Deflate,
        Format::Lz4,
        Format::Lz4Block,
        Format::Zstd,
    ];

    /// The library's algorithm.
    pub(super) fn alg(self) -> Alg {
        match self {
            Format::Gzip => Alg::Gzip,
            Format::Zlib => Alg::Zlib,
            Format::Deflate => Alg::Deflate,
            Format::Lz4 | Format::Lz4Block => Alg::Lz4,
            Format::Zstd => Alg::Zstd,
        }
    }

    /// The name on the command line.
    pub(super) fn name(self) -> &'static str {
        match self {
            Format::Lz4Block => "lz4-block",
            f => f.alg().name(),
        }
    }

    /// File suffix of compressed files.
    pub(super) fn suffix(self) -> &'static str {
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
    pub(super) fn concatenates(self) -> bool {
        matches!(self, Format::Gzip | Format::Lz4 | Format::Zstd)
    }

    /// Formats whose mapped files go through
    /// [`stream_direct`](super::stream::stream_direct), both ways.
    pub(super) fn direct(self) -> bool {
        matches!(self, Format::Gzip | Format::Zlib | Format::Deflate)
    }

    /// The level when none is given: 1, or zstd's own default, 3.
    pub(super) fn default_level(self) -> i32 {
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
    pub(super) fn level_num(&self) -> Option<i32> {
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
    pub(super) fn level_for(&self, f: Format) -> Result<Level> {
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
