//! The request vocabulary every layer speaks (`wd_comp.h`): algorithms, op types, levels,
//! windows, request parameters and what a request did. It sits at the bottom of the crate,
//! beside `error`, so drivers, the scheduler and the framework need nothing from the alg layer.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// Compression algorithm (`enum wd_comp_alg_type`, same numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Alg {
    /// Raw deflate, RFC 1951.
    Deflate = 0,
    /// zlib wrapper, RFC 1950.
    Zlib = 1,
    /// gzip wrapper, RFC 1952.
    Gzip = 2,
    /// Hardware LZ77 intermediate format for zstd.
    Lz77Zstd = 3,
    /// LZ4 block format.
    Lz4 = 4,
    /// Hardware LZ77-only intermediate format.
    Lz77Only = 5,
}

impl Alg {
    /// Every algorithm, in UADK's order.
    pub const ALL: [Alg; 6] = [
        Alg::Deflate,
        Alg::Zlib,
        Alg::Gzip,
        Alg::Lz77Zstd,
        Alg::Lz4,
        Alg::Lz77Only,
    ];

    /// UADK's name for the algorithm, as passed to `wd_comp_init2`.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Deflate => "deflate",
            Alg::Zlib => "zlib",
            Alg::Gzip => "gzip",
            Alg::Lz77Zstd => "lz77_zstd",
            Alg::Lz4 => "lz4",
            Alg::Lz77Only => "lz77_only",
        }
    }

    /// From UADK's enum value.
    pub fn from_u32(v: u32) -> Result<Alg> {
        Alg::ALL
            .get(v as usize)
            .copied()
            .ok_or_else(|| Error::UnknownAlgorithm(format!("alg_type {v}")))
    }

    /// True for the deflate family (deflate, zlib, gzip).
    pub fn is_deflate_family(self) -> bool {
        matches!(self, Alg::Deflate | Alg::Zlib | Alg::Gzip)
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Alg {
    type Err = Error;
    fn from_str(s: &str) -> Result<Alg> {
        Alg::ALL
            .iter()
            .copied()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnknownAlgorithm(s.to_string()))
    }
}

/// Direction of a session (`enum wd_comp_op_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum OpType {
    /// Compression.
    Compress = 0,
    /// Decompression.
    Decompress = 1,
}

impl OpType {
    /// Both op types, in UADK's order.
    pub const ALL: [OpType; 2] = [OpType::Compress, OpType::Decompress];

    /// From UADK's enum value.
    pub fn from_u32(v: u32) -> Result<OpType> {
        match v {
            0 => Ok(OpType::Compress),
            1 => Ok(OpType::Decompress),
            _ => Err(Error::InvalidParam(format!("op_type {v}"))),
        }
    }

    /// Short name used in environment variables and listings.
    pub fn name(self) -> &'static str {
        match self {
            OpType::Compress => "comp",
            OpType::Decompress => "decomp",
        }
    }
}

/// Compression level, UADK's `WD_COMP_L1..WD_COMP_L15`.
///
/// The CPU engine maps it onto each codec: L1 is ISA-L's fastest level; L2..L12 are
/// libdeflate's levels (zlib's 2..9 where a small window needs zlib); L13..L15 are treated as L12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Level(u8);

impl Level {
    /// Fastest level.
    pub const L1: Level = Level(1);
    /// The usual default of zlib tools.
    pub const L6: Level = Level(6);
    /// Highest level UADK defines.
    pub const L15: Level = Level(15);

    /// A level in `1..=15`.
    pub fn new(level: u32) -> Result<Level> {
        if (1..=15).contains(&level) {
            Ok(Level(level as u8))
        } else {
            Err(Error::InvalidParam(format!(
                "compression level {level} (valid: 1..15)"
            )))
        }
    }

    /// The level number.
    pub fn get(self) -> u32 {
        self.0 as u32
    }
}

impl Default for Level {
    fn default() -> Self {
        Level::L1
    }
}

/// History window size (`enum wd_comp_winsz_type`, same numbering).
///
/// A compressed stream never references data further back than the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u32)]
pub enum WindowSize {
    /// 4 KiB.
    W4K = 0,
    /// 8 KiB.
    W8K = 1,
    /// 16 KiB.
    W16K = 2,
    /// 24 KiB (deflate streams use 16 KiB: the largest power of two within it).
    W24K = 3,
    /// 32 KiB, the deflate maximum (the default).
    #[default]
    W32K = 4,
}

impl WindowSize {
    /// From UADK's enum value.
    pub fn from_u32(v: u32) -> Result<WindowSize> {
        Ok(match v {
            0 => WindowSize::W4K,
            1 => WindowSize::W8K,
            2 => WindowSize::W16K,
            3 => WindowSize::W24K,
            4 => WindowSize::W32K,
            _ => return Err(Error::InvalidParam(format!("win_sz {v}"))),
        })
    }

    /// From a size in bytes (4096, 8192, 16384, 24576, 32768) or KiB (4, 8, 16, 24, 32).
    pub fn from_bytes(n: usize) -> Result<WindowSize> {
        Ok(match n {
            4 | 4096 => WindowSize::W4K,
            8 | 8192 => WindowSize::W8K,
            16 | 16384 => WindowSize::W16K,
            24 | 24576 => WindowSize::W24K,
            32 | 32768 => WindowSize::W32K,
            _ => return Err(Error::InvalidParam(format!("window size {n}"))),
        })
    }

    /// Size in bytes as UADK names it.
    pub fn bytes(self) -> usize {
        match self {
            WindowSize::W4K => 4096,
            WindowSize::W8K => 8192,
            WindowSize::W16K => 16384,
            WindowSize::W24K => 24576,
            WindowSize::W32K => 32768,
        }
    }

    /// log2 of the largest power-of-two window within this size: what a deflate stream uses.
    pub fn bits(self) -> u8 {
        match self {
            WindowSize::W4K => 12,
            WindowSize::W8K => 13,
            WindowSize::W16K | WindowSize::W24K => 14,
            WindowSize::W32K => 15,
        }
    }

    /// All sizes.
    pub const ALL: [WindowSize; 5] = [
        WindowSize::W4K,
        WindowSize::W8K,
        WindowSize::W16K,
        WindowSize::W24K,
        WindowSize::W32K,
    ];
}

/// Everything a driver needs to know about a request besides its buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReqParams {
    /// Algorithm.
    pub alg: Alg,
    /// Direction.
    pub op: OpType,
    /// Level (compression only).
    pub level: Level,
    /// Window (compression only; decompression accepts any).
    pub window: WindowSize,
}

/// What a request did: bytes consumed and produced, and whether a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Output {
    /// Input bytes consumed.
    pub consumed: usize,
    /// Output bytes written.
    pub produced: usize,
    /// The stream is complete (UADK's `WD_STREAM_END`).
    pub end: bool,
    /// For `lz77_zstd` and `lz77_only`: where the sequences are and what the engine counted.
    pub lz77: Option<Lz77Meta>,
}

/// What an lz77 request reports besides its bytes: UADK's `struct wd_lz77_zstd_data`
/// without its pointers (docs/hardware.md has the layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lz77Meta {
    /// Offset in the output of the first sequence record: the literal area's size.
    pub seq_offset: usize,
    /// Literals in the literal area (`lit_num`).
    pub lit_num: u32,
    /// Sequence records (`seq_num`).
    pub seq_num: u32,
    /// Literal-length overflow count (`lit_length_overflow_cnt`; `lz77_zstd` only).
    pub overflow_cnt: u32,
    /// Record whose literal length overflowed (`lit_length_overflow_pos`; `lz77_zstd` only).
    pub overflow_pos: u32,
}

/// How the caller emitted the previous block of an `lz77_zstd` stream (UADK's `blk_type`):
/// zstd keeps repeat offsets only through compressed blocks, so the engine resumes from the
/// offsets before that block otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u32)]
pub enum BlockType {
    /// A raw (stored) block.
    Raw = 0,
    /// An RLE block.
    Rle = 1,
    /// A compressed block (the default).
    #[default]
    Compressed = 2,
}

impl BlockType {
    /// From UADK's value. UADK's driver only asks whether it is 2 (`COMP_BLK`); values
    /// other than 0, 1 and 2 are taken as 0 here, which the driver treats alike.
    pub fn from_u32(v: u32) -> BlockType {
        match v {
            0 => BlockType::Raw,
            1 => BlockType::Rle,
            2 => BlockType::Compressed,
            _ => BlockType::Raw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_round_trip() {
        for a in Alg::ALL {
            assert_eq!(a.name().parse::<Alg>().unwrap(), a);
            assert_eq!(Alg::from_u32(a as u32).unwrap(), a);
        }
        assert!("zstd".parse::<Alg>().is_err());
        assert!(Alg::from_u32(6).is_err());
    }

    #[test]
    fn levels_and_windows_validate() {
        assert!(Level::new(0).is_err());
        assert!(Level::new(16).is_err());
        assert_eq!(Level::new(15).unwrap(), Level::L15);
        assert_eq!(WindowSize::from_u32(3).unwrap().bits(), 14);
        assert!(WindowSize::from_u32(5).is_err());
        assert_eq!(WindowSize::from_bytes(4096).unwrap(), WindowSize::W4K);
    }
}
