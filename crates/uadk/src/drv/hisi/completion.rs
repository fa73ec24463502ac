//! Reading a completed SQE back: the engine's status as the library's error, and the
//! lengths of a block request.

use super::sqe::{Lz77Prep, PrepInfo};
use crate::error::{Error, Result};
use crate::hw::lz77;
use crate::hw::zip::{ctx_st, dw, status, ZipSqe};
use crate::req::{Lz77Meta, OpType, Output};

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
pub(super) fn finish_block(p: &PrepInfo, done: &ZipSqe, op: OpType) -> Result<Output> {
    if let Some(e) = status_error(done, p.dst_len) {
        return Err(e);
    }
    if let Some(l) = &p.lz77 {
        return finish_lz77(l, p.src_len, done);
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
            lz77: None,
        }),
        OpType::Decompress => {
            // A block request that reached the end reports success with the last-block
            // flag: status 0, as the kernel's hisi_zip driver expects of stateless
            // requests; 0x13 (a stream's end) is taken too.
            if done.last_block() && matches!(done.status(), status::OK | status::DECOMP_END) {
                Ok(Output {
                    consumed: consumed + p.hdr_in,
                    produced,
                    end: true,
                    lz77: None,
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

/// Read a completed lz77 request (`get_data_size_lz77_zstd`): input consumed in DW0, the
/// sequence count in DW1, the literal count in DW2 and, for `lz77_zstd`, the literal-length
/// overflow in DW31. Counts that do not fit the areas given are an engine fault.
pub(super) fn finish_lz77(l: &Lz77Prep, src_len: usize, done: &ZipSqe) -> Result<Output> {
    let consumed = done.w[dw::CONSUMED] as usize;
    let seq_num = done.w[dw::PRODUCED];
    let lit_num = done.w[dw::COMP_DATA_LENGTH];
    let seq_bytes = seq_num as usize * lz77::SEQ_SIZE + l.variant.tail_size();
    if consumed > src_len || lit_num as usize > consumed || seq_bytes > l.seq_space {
        return Err(Error::Hardware(format!(
            "engine reports {consumed} in, {lit_num} literals, {seq_num} sequences for {src_len} in \
             and {} bytes of sequence space",
            l.seq_space
        )));
    }
    let (overflow_cnt, overflow_pos) = match l.variant {
        lz77::Variant::Zstd => {
            let w = done.w[dw::CHECKSUM];
            (
                w >> lz77::LITLEN_OVERFLOW_CNT_SHIFT,
                w & lz77::LITLEN_OVERFLOW_POS_MASK,
            )
        }
        lz77::Variant::Only => (0, 0),
    };
    Ok(Output {
        consumed,
        produced: l.lits_size + seq_bytes,
        end: true,
        lz77: Some(Lz77Meta {
            seq_offset: l.lits_size,
            lit_num,
            seq_num,
            overflow_cnt,
            overflow_pos,
        }),
    })
}
