//! UADK compression in Rust: one user-space API for compression engines.
//!
//! The stack, top to bottom:
//! - [`comp`]: the alg layer (UADK's `wd_comp`): [`Comp`], [`Session`], the request modes,
//!   and `std::io` adapters ([`Encoder`], [`Decoder`]);
//! - [`sched`]: which context serves a request;
//! - [`wd`]: the framework: task and context types, environment, NUMA, counters;
//! - [`drv`]: drivers; [`drv::cpu`] is the CPU engine, the embedded default, and
//!   [`drv::hisi`] the HiSilicon ZIP driver over [`uacce`] queues;
//! - [`model`]: a software model of ZIP devices for machines without one;
//! - [`hw`]: the wire formats a driver and a device share (SQE, CQE, doorbells, SGLs);
//! - at the bottom, the vocabulary every layer speaks: [`req`] (algorithm, op type, level,
//!   window, request parameters, output), [`error`] and [`status`] (UADK's status codes).
//!
//! Each layer imports only the layers below it (`scripts/check-layers.sh` enforces it).
//!
//! ```
//! use uadk::{Alg, Comp, CompConfig, Level, OpType, SessionSetup};
//! let comp = Comp::new(CompConfig::new()).unwrap();
//! let c = comp.session(&SessionSetup::new(Alg::Zlib, OpType::Compress).level(Level::L6)).unwrap();
//! let d = comp.session(&SessionSetup::new(Alg::Zlib, OpType::Decompress)).unwrap();
//! let packed = c.process_to_vec(b"hello hello hello hello").unwrap();
//! assert_eq!(d.process_to_vec(&packed).unwrap(), b"hello hello hello hello");
//! ```

// A refused async submission hands its buffers back inside the error: boxing it would
// allocate on the very path that must not.
#![allow(clippy::result_large_err)]

pub mod comp;
pub mod drv;
pub mod error;
pub mod hw;
pub mod model;
pub mod req;
pub mod sched;
pub mod status;
pub mod uacce;
pub mod wd;

pub use comp::io::{Decoder, Encoder};
pub use comp::{
    compress_bound, Comp, CompConfig, CompFuture, CtxInfo, CtxSpec, Lz4BlockSize, Lz4FrameOptions,
    Lz77Output, Session, SessionSetup, SubmitError,
};
pub use drv::{Callback, CallbackWords, Completion, JobBuf, OnDone, RawBuf};
pub use req::{Alg, BlockType, Level, Lz77Meta, OpType, Output, ReqParams, WindowSize};

/// Version of this library.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The UADK release whose compression API this library implements.
pub const UADK_API_VERSION: &str = "2.10";
pub use error::{Error, Result};
pub use wd::{CtxMode, SchedPolicy, TaskType};

/// Compress `data` with the process-wide [`Comp`].
pub fn compress(alg: Alg, level: Level, data: &[u8]) -> Result<Vec<u8>> {
    Comp::global()?
        .session(&SessionSetup::new(alg, OpType::Compress).level(level))?
        .process_to_vec(data)
}

/// Decompress one stream with the process-wide [`Comp`].
pub fn decompress(alg: Alg, data: &[u8]) -> Result<Vec<u8>> {
    Comp::global()?
        .session(&SessionSetup::new(alg, OpType::Decompress))?
        .process_to_vec(data)
}
