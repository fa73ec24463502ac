//! Reading a completed SQE back: the engine's status as the library's error, and the
//! lengths of a block request.

use super::sqe::Prepared;
use crate::error::{Error, Result};
use crate::hw::zip::{ctx_st, dw, status, ZipSqe};
use crate::req::{OpType, Output};

/// Turn an engine status into the library's error, if it is one.
pub(super) fn status_error(sqe: &ZipSqe, dst_len: usize) -> Option<Error> {
    match sqe.status() {
        status::OK | status::NEGACOMPRESS | status::DECOMP_END => None,
        status::BAD_DATA => Some(Error::CorruptData(
            "the engine found invalid deflate data".into(),
        )),
        status::CRC_ERR => Some(Error::ChecksumMismatch),
        status::DSTLEN_OUT => Some(Error::OutputTooSmall { capacity: dst_len }),
        s => Some(Error::Hardware(format!("engine status {s:#x}"))),
    }
}

/// Read a completed block request.
pub(super) fn finish_block(p: &Prepared, done: &ZipSqe, op: OpType) -> Result<Output> {
    if let Some(e) = status_error(done, p.dst_len) {
        return Err(e);
    }
    let consumed = done.w[dw::CONSUMED] as usize;
    let produced = done.w[dw::PRODUCED] as usize;
    if consumed > p.src_len - p.hdr_in || produced > p.dst_len - p.hdr_out {
        return Err(Error::Hardware(format!(
            "engine reports {consumed} in / {produced} out of {} / {}",
            p.src_len, p.dst_len
        )));
    }
    match op {
        OpType::Compress => Ok(Output {
            consumed: p.src_len,
            produced: produced + p.hdr_out,
            end: true,
        }),
        OpType::Decompress => {
            if done.status() == status::DECOMP_END && done.last_block() {
                Ok(Output {
                    consumed: consumed + p.hdr_in,
                    produced,
                    end: true,
                })
            } else if done.ctx_state() == ctx_st::DECOMPING_NO_SPACE
                || done.ctx_state() == ctx_st::DECOMP_NO_SPACE
                || produced == p.dst_len
            {
                Err(Error::OutputTooSmall {
                    capacity: p.dst_len,
                })
            } else {
                Err(Error::TruncatedInput)
            }
        }
    }
}
