//! The one error type of the library.

use std::fmt;

/// Everything that can go wrong in a compression request or in setting one up.
///
/// Each variant maps onto one of UADK's `WD_*` status codes (see [`Error::wd_code`]),
/// which is what the C ABI reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A parameter is out of range or inconsistent (UADK `-WD_EINVAL`).
    InvalidParam(String),
    /// The algorithm name or number is not one UADK knows.
    UnknownAlgorithm(String),
    /// The chosen driver does not implement this algorithm or mode.
    Unsupported {
        /// Driver that refused.
        driver: &'static str,
        /// What was asked of it.
        what: String,
    },
    /// The destination buffer cannot hold the result.
    OutputTooSmall {
        /// Bytes the caller offered.
        capacity: usize,
    },
    /// The result would pass the output limit the caller set
    /// ([`Session::process_to_vec_limited`](crate::Session::process_to_vec_limited)).
    OutputLimit {
        /// The caller's limit, in bytes.
        limit: usize,
    },
    /// The compressed input is malformed.
    CorruptData(String),
    /// The compressed input ended before the end of its stream.
    TruncatedInput,
    /// The stream's checksum does not match its content.
    ChecksumMismatch,
    /// No context serves this op type and mode (UADK `-WD_EINVAL` in `wd_check_ctx`).
    NoContext(String),
    /// The framework is already initialised (UADK `-WD_EEXIST`).
    AlreadyInitialized,
    /// The framework is not initialised, or has been torn down.
    NotInitialized,
    /// Hardware was required but none is present (UADK `-WD_ENODEV`).
    NoDevice(String),
    /// The context's queue is full; try again after polling (UADK `-WD_EBUSY`).
    Busy,
    /// An operating-system call failed.
    Io(String),
    /// The accelerator reported an error or went away (UADK `-WD_HW_EACCESS`).
    Hardware(String),
    /// The accelerator did not complete a request in time (UADK `-WD_ETIMEDOUT`).
    Timeout(String),
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// UADK's negative status code for this error (`-WD_EINVAL`, `-WD_EBUSY`, ...).
    pub fn wd_code(&self) -> i32 {
        use crate::status::*;
        match self {
            Error::InvalidParam(_)
            | Error::UnknownAlgorithm(_)
            | Error::Unsupported { .. }
            | Error::NoContext(_)
            | Error::NotInitialized => -WD_EINVAL,
            Error::OutputTooSmall { .. } | Error::OutputLimit { .. } => -WD_EINVAL,
            Error::CorruptData(_) | Error::TruncatedInput | Error::ChecksumMismatch => -WD_EINVAL,
            Error::AlreadyInitialized => -WD_EEXIST,
            Error::NoDevice(_) => -WD_ENODEV,
            Error::Busy => -WD_EBUSY,
            Error::Io(_) => -WD_EIO,
            Error::Hardware(_) => -WD_HW_EACCESS,
            Error::Timeout(_) => -WD_ETIMEDOUT,
        }
    }

    /// The request status UADK would put in `req->status` for a failed request.
    pub fn req_status(&self) -> u32 {
        use crate::status::*;
        match self {
            Error::CorruptData(_) | Error::TruncatedInput | Error::ChecksumMismatch => {
                WD_IN_EPARA as u32
            }
            Error::OutputTooSmall { .. } | Error::OutputLimit { .. } => WD_OUT_EPARA as u32,
            other => (-other.wd_code()) as u32,
        }
    }

    /// True when the device failed the request (not the caller or the data): the framework
    /// may run it again elsewhere.
    pub fn is_device_fault(&self) -> bool {
        matches!(self, Error::Hardware(_) | Error::Timeout(_))
    }

    /// True when the error is about the compressed data rather than the call.
    pub fn is_data_error(&self) -> bool {
        matches!(
            self,
            Error::CorruptData(_) | Error::TruncatedInput | Error::ChecksumMismatch
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidParam(m) => write!(f, "invalid parameter: {m}"),
            Error::UnknownAlgorithm(a) => write!(f, "unknown algorithm '{a}'"),
            Error::Unsupported { driver, what } => {
                write!(f, "{what} is not supported by the '{driver}' driver")
            }
            Error::OutputTooSmall { capacity } => {
                write!(f, "output buffer of {capacity} bytes is too small")
            }
            Error::OutputLimit { limit } => {
                write!(f, "the output would pass the limit of {limit} bytes")
            }
            Error::CorruptData(m) => write!(f, "corrupt compressed data: {m}"),
            Error::TruncatedInput => write!(f, "compressed data ends before the end of its stream"),
            Error::ChecksumMismatch => {
                write!(f, "checksum of the decompressed data does not match")
            }
            Error::NoContext(m) => write!(f, "no context available: {m}"),
            Error::AlreadyInitialized => write!(f, "already initialised"),
            Error::NotInitialized => write!(f, "not initialised"),
            Error::NoDevice(m) => write!(f, "no accelerator device: {m}"),
            Error::Busy => write!(f, "queue is full, poll and retry"),
            Error::Io(m) => write!(f, "I/O error: {m}"),
            Error::Hardware(m) => write!(f, "accelerator error: {m}"),
            Error::Timeout(m) => write!(f, "accelerator timed out: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        let kind = match e {
            Error::CorruptData(_) | Error::ChecksumMismatch => std::io::ErrorKind::InvalidData,
            Error::TruncatedInput => std::io::ErrorKind::UnexpectedEof,
            Error::InvalidParam(_) | Error::UnknownAlgorithm(_) => std::io::ErrorKind::InvalidInput,
            Error::Unsupported { .. } => std::io::ErrorKind::Unsupported,
            Error::OutputLimit { .. } => std::io::ErrorKind::FileTooLarge,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}
