//! The alg layer (UADK's `wd_comp`): initialisation, sessions and the request modes.
//!
//! A [`Comp`] owns the contexts and the scheduler (what `wd_comp_init2` sets up).
//! A [`Session`] fixes algorithm, level, window and op type, and runs requests:
//! sync block ([`Session::process`]), stream ([`Session::stream`]), sync2
//! ([`Session::process_sync2`]) and async ([`Session::submit`], polled by [`Comp::poll`]).

mod block;
mod config;
mod future;
mod init;
pub mod io;
pub mod lz77;
mod poll;
mod session;
mod stream;
mod submit;

pub use crate::drv::CtxSpec;
pub use crate::req::{Alg, Level, OpType, Output, ReqParams, WindowSize};
pub use block::compress_bound;
pub use config::CompConfig;
pub use future::CompFuture;
pub use init::{Comp, CtxInfo};
pub use lz77::Lz77Output;
pub use session::{Session, SessionSetup};
pub use stream::SYNC2_CHUNK;
pub use submit::SubmitError;
