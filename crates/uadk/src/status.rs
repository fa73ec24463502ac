//! UADK's status codes (`wd.h`), as positive numbers; functions return them negated.

/// Success.
pub const WD_SUCCESS: i32 = 0;
/// Decompression reached the end of the stream / a stream finished.
pub const WD_STREAM_END: i32 = 1;
/// A stream started.
pub const WD_STREAM_START: i32 = 2;
/// The request was computed in software.
pub const WD_SOFT_COMPUTING: i32 = 3;
/// I/O error.
pub const WD_EIO: i32 = libc::EIO;
/// Try again.
pub const WD_EAGAIN: i32 = libc::EAGAIN;
/// Out of memory.
pub const WD_ENOMEM: i32 = libc::ENOMEM;
/// Permission denied.
pub const WD_EACCES: i32 = libc::EACCES;
/// Queue busy.
pub const WD_EBUSY: i32 = libc::EBUSY;
/// Already exists / already initialised.
pub const WD_EEXIST: i32 = libc::EEXIST;
/// No such device.
pub const WD_ENODEV: i32 = libc::ENODEV;
/// Invalid argument.
pub const WD_EINVAL: i32 = libc::EINVAL;
/// Timed out.
pub const WD_ETIMEDOUT: i32 = libc::ETIMEDOUT;
/// Address error.
pub const WD_ADDR_ERR: i32 = 61;
/// Hardware access denied (e.g. during reset).
pub const WD_HW_EACCESS: i32 = 62;
/// Scatter-gather list parameter error.
pub const WD_SGL_ERR: i32 = 63;
/// Verification error.
pub const WD_VERIFY_ERR: i32 = 64;
/// Output parameter error.
pub const WD_OUT_EPARA: i32 = 66;
/// Input parameter error (corrupt compressed data).
pub const WD_IN_EPARA: i32 = 67;
/// Not processed.
pub const WD_ENOPROC: i32 = 68;
