//! Pieces shared by the subcommands: the error type, argument parsers, CPU time.

use std::fmt;
use std::time::Duration;
use uadk::{Alg, WindowSize};

/// A failure to report on stderr; the process then exits non-zero.
#[derive(Debug)]
pub struct Error(String);

/// Result of the tool's functions.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with this message.
    pub fn msg(m: impl Into<String>) -> Error {
        Error(m.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<uadk::Error> for Error {
    fn from(e: uadk::Error) -> Error {
        Error(e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error(e.to_string())
    }
}

/// Prefix an error with what was being done (a file name, a step).
pub trait Context<T> {
    /// Add `what: ` in front of the error message.
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error(format!("{what}: {e}")))
    }
}

/// The algorithms the CPU engine serves, as the command line names them (the library's
/// algorithms: `lz4` is UADK's raw LZ4 block).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AlgArg {
    /// zlib wrapper (RFC 1950).
    Zlib,
    /// gzip wrapper (RFC 1952).
    Gzip,
    /// Raw deflate (RFC 1951).
    Deflate,
    /// LZ4 block format (whole buffers only).
    Lz4,
    /// zstd frames (ours: UADK has no zstd).
    Zstd,
}

impl AlgArg {
    /// The library's algorithm.
    pub fn alg(self) -> Alg {
        match self {
            AlgArg::Zlib => Alg::Zlib,
            AlgArg::Gzip => Alg::Gzip,
            AlgArg::Deflate => Alg::Deflate,
            AlgArg::Lz4 => Alg::Lz4,
            AlgArg::Zstd => Alg::Zstd,
        }
    }
}

/// Parse a window size: 4, 8, 16, 24 or 32 KiB, optionally written with a `K` suffix,
/// or the same sizes in bytes.
pub fn parse_window(s: &str) -> std::result::Result<WindowSize, String> {
    let t = s.trim();
    let digits = t.strip_suffix(['k', 'K']).unwrap_or(t);
    let n: usize = digits
        .parse()
        .map_err(|_| format!("'{s}' is not a window size (4, 8, 16, 24 or 32 KiB)"))?;
    WindowSize::from_bytes(n).map_err(|_| format!("window size {s} (valid: 4, 8, 16, 24, 32 KiB)"))
}

/// Parse a byte count with an optional K, M or G suffix (powers of 1024).
pub fn parse_size(s: &str) -> std::result::Result<usize, String> {
    let t = s.trim();
    let (digits, mul) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1usize << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 4096, 64K, 1M)"))?;
    n.checked_mul(mul)
        .ok_or_else(|| format!("size '{s}' is too large"))
}

/// User plus system CPU time of the whole process (all threads) so far.
pub fn process_cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage for the duration of the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert!(parse_size("x").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }

    #[test]
    fn windows() {
        assert_eq!(parse_window("32"), Ok(WindowSize::W32K));
        assert_eq!(parse_window("4K"), Ok(WindowSize::W4K));
        assert_eq!(parse_window("16384"), Ok(WindowSize::W16K));
        assert!(parse_window("12").is_err());
    }

    #[test]
    fn cpu_time_moves() {
        let a = process_cpu_time();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu_time() >= a);
    }
}
