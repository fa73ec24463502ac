//! Wire formats of the HiSilicon QM and ZIP engine: the 128-byte ZIP SQE, the 16-byte QM
//! CQE, doorbell words, hardware SGLs and the QM queue ioctls. Facts from UADK v2.10 `drv/hisi_comp.c` and
//! `drv/hisi_qm_udrv.c`; all fields are little-endian 32-bit words.

use crate::uacce::iowr_cmd;

/// `_IOWR('H', 10, struct hisi_qp_ctx)`: bind the queue to an op type, returns its number.
pub const UACCE_CMD_QM_SET_QP_CTX: u64 = iowr_cmd(b'H', 10, 4);
/// `_IOWR('H', 11, struct hisi_qp_info)`: read the SQE size and ring depths.
pub const UACCE_CMD_QM_SET_QP_INFO: u64 = iowr_cmd(b'H', 11, 16);

/// Bytes of one ZIP SQE.
pub const SQE_SIZE: usize = 128;
/// Bytes of one QM CQE.
pub const CQE_SIZE: usize = 16;
/// Queue depth the QM uses when the kernel cannot report one.
pub const QM_Q_DEPTH: u16 = 1024;
/// Largest input and output of one request (`HZ_MAX_SIZE`).
pub const HZ_MAX_SIZE: usize = 8 * 1024 * 1024;
/// Bytes of the stream context buffer the engine keeps between requests (`HW_CTX_SIZE`).
pub const HW_CTX_SIZE: usize = 0x10000;
/// Offset of the engine's part of the stream context buffer (`RSV_OFFSET`).
pub const RSV_OFFSET: usize = 64;
/// Below this much output space a stream request goes through the store buffer.
pub const SW_STOREBUF_TH: usize = 200;
/// Size of the store buffer (`200 * 1.125 + gzip header`, 4-byte aligned).
pub const STORE_BUF_SIZE: usize = 236;

/// Word indexes of `struct hisi_zip_sqe`.
pub mod dw {
    /// Input bytes consumed (written by the engine).
    pub const CONSUMED: usize = 0;
    /// Output bytes produced (written by the engine).
    pub const PRODUCED: usize = 1;
    /// Literal count (lz77 formats).
    pub const COMP_DATA_LENGTH: usize = 2;
    /// Status (bits 0-7) and last-block flag (bit 8).
    pub const STATUS: usize = 3;
    /// Input bytes offered.
    pub const INPUT_DATA_LENGTH: usize = 4;
    /// SGL input offset (0-23), flush (25), stream mode (26), new stream (27), SQE type (28-31).
    pub const DW7: usize = 7;
    /// SGL output offset (0-23).
    pub const DW8: usize = 8;
    /// Request type (0-7), buffer type (8-11), window size (12-15).
    pub const DW9: usize = 9;
    /// Tag of SQE type 0 (hardware v2); the literal area size of the lz77 formats.
    pub const TAG_V1: usize = 13;
    /// Output space offered.
    pub const DEST_AVAIL_OUT: usize = 14;
    /// Stream context word 0 (state, BFINAL, bit count).
    pub const CTX_DW0: usize = 15;
    /// Source address, low and high words.
    pub const SRC_L: usize = 18;
    /// Source address, high word.
    pub const SRC_H: usize = 19;
    /// Destination address, low word.
    pub const DST_L: usize = 20;
    /// Destination address, high word.
    pub const DST_H: usize = 21;
    /// Stream context address, low word.
    pub const CTX_L: usize = 22;
    /// Stream context address, high word.
    pub const CTX_H: usize = 23;
    /// Literal area address of the lz77 formats, low word (high word in 25).
    pub const LIT_L: usize = 24;
    /// Literal area address, high word.
    pub const LIT_H: usize = 25;
    /// Tag of SQE type 3 (hardware v3 and later).
    pub const TAG_V3: usize = 26;
    /// Stream context word 1.
    pub const CTX_DW1: usize = 28;
    /// Stream context word 2.
    pub const CTX_DW2: usize = 29;
    /// Uncompressed size so far (gzip ISIZE).
    pub const ISIZE: usize = 30;
    /// Checksum so far (Adler-32 or CRC-32); lz77_zstd: literal-length overflow.
    pub const CHECKSUM: usize = 31;
}

/// Request types of DW9 (`enum alg_type`).
pub mod hw_alg {
    /// Raw deflate.
    pub const DEFLATE: u32 = 0x1;
    /// zlib body and trailer (the driver writes the header).
    pub const ZLIB: u32 = 0x2;
    /// gzip body and trailer (the driver writes the header).
    pub const GZIP: u32 = 0x3;
    /// LZ4 block.
    pub const LZ4: u32 = 0x4;
    /// LZ77 for zstd, price mode.
    pub const LZ77_ZSTD_PRICE: u32 = 0x42;
    /// LZ77 for zstd.
    pub const LZ77_ZSTD: u32 = 0x43;
    /// LZ77 only.
    pub const LZ77_ONLY: u32 = 0x40;
    /// LZ77 only, price mode.
    pub const LZ77_ONLY_PRICE: u32 = 0x41;
}

/// Engine status codes of DW3 bits 0-7.
pub mod status {
    /// Success.
    pub const OK: u32 = 0x00;
    /// Compressed data is not valid deflate (the model's code for bad input).
    pub const BAD_DATA: u32 = 0x04;
    /// Compression expanded the data (not an error).
    pub const NEGACOMPRESS: u32 = 0x0d;
    /// Output space too small (`ERR_DSTLEN_OUT`).
    pub const DSTLEN_OUT: u32 = 0x0e;
    /// Checksum of a zlib/gzip trailer does not match.
    pub const CRC_ERR: u32 = 0x10;
    /// Decompression reached the end of the stream.
    pub const DECOMP_END: u32 = 0x13;
    /// An internal engine fault (the model's injected error).
    pub const ENGINE_FAULT: u32 = 0x7f;
    /// Mask of the status field.
    pub const MASK: u32 = 0xff;
    /// DW3 flag: the last block was processed.
    pub const LSTBLK: u32 = 0x100;
}

/// Stream context state of CTX_DW0 bits 0-3.
pub mod ctx_st {
    /// Decompression stopped for lack of output space at a block end.
    pub const DECOMP_NO_SPACE: u32 = 0x01;
    /// Decompression stopped for lack of output space inside a block.
    pub const DECOMPING_NO_SPACE: u32 = 0x02;
    /// Decompression stopped between blocks.
    pub const DECOMP_BLK_NOSTART: u32 = 0x03;
    /// Mask of the state field.
    pub const MASK: u32 = 0x000f;
}

const STREAM_FLUSH_SHIFT: u32 = 25;
const BUF_TYPE_SHIFT: u32 = 8;
const WINDOW_SIZE_SHIFT: u32 = 12;
const SGL_OFFSET_MASK: u32 = 0x00ff_ffff;
const SQE_TYPE_V3: u32 = 0x3000_0000;

/// Which SQE layout a hardware generation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqeType {
    /// Type 0: zlib and gzip on QM v2 (tag in DW13).
    V1,
    /// Type 3: everything on v3 and later, deflate/lz4 everywhere (tag in DW26).
    V3,
}

impl SqeType {
    /// The layout UADK chooses for a request type on a hardware version.
    pub fn for_alg(hw_ver: u32, alg: u32) -> SqeType {
        if hw_ver <= 2 && (alg == hw_alg::ZLIB || alg == hw_alg::GZIP) {
            SqeType::V1
        } else {
            SqeType::V3
        }
    }
}

/// Flush of a request (DW7 bit 25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Emit all output so far; the stream goes on.
    Sync,
    /// End the stream.
    Finish,
}

/// One ZIP SQE as 32 words.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct ZipSqe {
    /// The words, in order.
    pub w: [u32; 32],
}

const _: () = assert!(std::mem::size_of::<ZipSqe>() == SQE_SIZE);

/// Split an address into (low, high) words.
pub fn split_addr(a: u64) -> (u32, u32) {
    (a as u32, (a >> 32) as u32)
}

impl ZipSqe {
    /// Request type.
    pub fn set_alg(&mut self, alg: u32) {
        self.w[dw::DW9] = (self.w[dw::DW9] & !0xff) | (alg & 0xff);
    }

    /// Request type as the engine reads it.
    pub fn alg(&self) -> u32 {
        self.w[dw::DW9] & 0xff
    }

    /// Buffer type: flat (false) or hardware SGL (true).
    pub fn set_sgl(&mut self, sgl: bool) {
        self.w[dw::DW9] = (self.w[dw::DW9] & !0xf00) | ((sgl as u32) << BUF_TYPE_SHIFT);
    }

    /// True when the buffers are hardware SGLs.
    pub fn is_sgl(&self) -> bool {
        (self.w[dw::DW9] >> BUF_TYPE_SHIFT) & 0xf == 1
    }

    /// Window size code (`enum wd_comp_winsz_type`: 0 = 4K .. 4 = 32K).
    pub fn set_window(&mut self, code: u32) {
        self.w[dw::DW9] = (self.w[dw::DW9] & !0xf000) | ((code & 0xf) << WINDOW_SIZE_SHIFT);
    }

    /// Window size code.
    pub fn window(&self) -> u32 {
        (self.w[dw::DW9] >> WINDOW_SIZE_SHIFT) & 0xf
    }

    /// SQE layout type (DW7 bits 28-31).
    pub fn set_type(&mut self, t: SqeType) {
        let v = match t {
            SqeType::V1 => 0,
            SqeType::V3 => SQE_TYPE_V3,
        };
        self.w[dw::DW7] = (self.w[dw::DW7] & 0x0fff_ffff) | v;
    }

    /// SQE layout type.
    pub fn sqe_type(&self) -> SqeType {
        if self.w[dw::DW7] & 0xf000_0000 == SQE_TYPE_V3 {
            SqeType::V3
        } else {
            SqeType::V1
        }
    }

    /// Stream flags: new stream, stateful, flush (DW7 bits 27, 26, 25).
    pub fn set_stream(&mut self, new: bool, stateful: bool, flush: Flush) {
        let bits = ((new as u32) << 2) | ((stateful as u32) << 1) | (flush == Flush::Finish) as u32;
        self.w[dw::DW7] =
            (self.w[dw::DW7] & !(0x7 << STREAM_FLUSH_SHIFT)) | (bits << STREAM_FLUSH_SHIFT);
    }

    /// The request starts a stream.
    pub fn stream_new(&self) -> bool {
        self.w[dw::DW7] & (1 << 27) != 0
    }

    /// The request belongs to a stream whose state lives in the context buffer.
    pub fn stateful(&self) -> bool {
        self.w[dw::DW7] & (1 << 26) != 0
    }

    /// Flush requested.
    pub fn flush(&self) -> Flush {
        if self.w[dw::DW7] & (1 << 25) != 0 {
            Flush::Finish
        } else {
            Flush::Sync
        }
    }

    /// Bytes to skip at the start of the input and output SGLs.
    pub fn set_sgl_skip(&mut self, src: u32, dst: u32) {
        self.w[dw::DW7] = (self.w[dw::DW7] & !SGL_OFFSET_MASK) | (src & SGL_OFFSET_MASK);
        self.w[dw::DW8] = (self.w[dw::DW8] & !SGL_OFFSET_MASK) | (dst & SGL_OFFSET_MASK);
    }

    /// Input and output SGL skips.
    pub fn sgl_skip(&self) -> (u32, u32) {
        (
            self.w[dw::DW7] & SGL_OFFSET_MASK,
            self.w[dw::DW8] & SGL_OFFSET_MASK,
        )
    }

    /// Tag, in the word the SQE type keeps it.
    pub fn set_tag(&mut self, t: SqeType, tag: u32) {
        match t {
            SqeType::V1 => self.w[dw::TAG_V1] = tag,
            SqeType::V3 => self.w[dw::TAG_V3] = tag,
        }
    }

    /// Tag.
    pub fn tag(&self) -> u32 {
        match self.sqe_type() {
            SqeType::V1 => self.w[dw::TAG_V1],
            SqeType::V3 => self.w[dw::TAG_V3],
        }
    }

    fn set_addr(&mut self, lo: usize, a: u64) {
        let (l, h) = split_addr(a);
        self.w[lo] = l;
        self.w[lo + 1] = h;
    }

    fn addr(&self, lo: usize) -> u64 {
        (self.w[lo + 1] as u64) << 32 | self.w[lo] as u64
    }

    /// Source and destination addresses and lengths.
    pub fn set_bufs(&mut self, src: u64, src_len: u32, dst: u64, dst_len: u32) {
        self.set_addr(dw::SRC_L, src);
        self.set_addr(dw::DST_L, dst);
        self.w[dw::INPUT_DATA_LENGTH] = src_len;
        self.w[dw::DEST_AVAIL_OUT] = dst_len;
    }

    /// Source address.
    pub fn src(&self) -> u64 {
        self.addr(dw::SRC_L)
    }

    /// Destination address.
    pub fn dst(&self) -> u64 {
        self.addr(dw::DST_L)
    }

    /// lz77 formats: the literal area's address (DW24-25) and size (DW13).
    pub fn set_literals(&mut self, addr: u64, len: u32) {
        self.set_addr(dw::LIT_L, addr);
        self.w[dw::TAG_V1] = len;
    }

    /// lz77 formats: the literal area's address and size.
    pub fn literals(&self) -> (u64, u32) {
        (self.addr(dw::LIT_L), self.w[dw::TAG_V1])
    }

    /// Stream context address.
    pub fn set_ctx_addr(&mut self, a: u64) {
        self.set_addr(dw::CTX_L, a);
    }

    /// Stream context address.
    pub fn ctx_addr(&self) -> u64 {
        self.addr(dw::CTX_L)
    }

    /// Status (bits 0-7 of DW3).
    pub fn status(&self) -> u32 {
        self.w[dw::STATUS] & status::MASK
    }

    /// The engine processed the last block of the stream.
    pub fn last_block(&self) -> bool {
        self.w[dw::STATUS] & status::LSTBLK != 0
    }

    /// Stream context state (bits 0-3 of CTX_DW0).
    pub fn ctx_state(&self) -> u32 {
        self.w[dw::CTX_DW0] & ctx_st::MASK
    }
}

/// One QM completion queue entry (`struct cqe`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Cqe {
    /// Reserved.
    pub rsvd0: u32,
    /// Command id.
    pub cmd_id: u16,
    /// Reserved.
    pub rsvd1: u16,
    /// SQ slot whose SQE completed.
    pub sq_head: u16,
    /// Queue number.
    pub sq_num: u16,
    /// Reserved.
    pub rsvd2: u16,
    /// Bit 0: phase.
    pub w7: u16,
}

const _: () = assert!(std::mem::size_of::<Cqe>() == CQE_SIZE);

impl Cqe {
    /// Phase bit.
    pub fn phase(&self) -> bool {
        self.w7 & 1 != 0
    }
}

/// Doorbell commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbCmd {
    /// New SQ tail.
    Sq = 0,
    /// New CQ head.
    Cq = 1,
}

/// MMIO offset of the doorbell for a QM version.
pub fn doorbell_offset(hw_ver: u32) -> usize {
    if hw_ver == 1 {
        0x340
    } else {
        0x1000
    }
}

/// The 64-bit doorbell word of a QM version.
pub fn doorbell(hw_ver: u32, sqn: u16, cmd: DbCmd, index: u16, priority: u8) -> u64 {
    let hi = (index as u64 | (priority as u64) << 16) << 32;
    if hw_ver == 1 {
        sqn as u64 | (cmd as u64) << 16 | hi
    } else {
        (sqn as u64 & 0x3ff) | ((cmd as u64) & 0xf) << 12 | hi
    }
}

/// Decode a doorbell word: (sqn, cmd, index, priority).
pub fn decode_doorbell(hw_ver: u32, word: u64) -> (u16, u8, u16, u8) {
    let index = (word >> 32) as u16;
    let prio = (word >> 48) as u8;
    if hw_ver == 1 {
        (word as u16, (word >> 16) as u8, index, prio)
    } else {
        (
            (word & 0x3ff) as u16,
            ((word >> 12) & 0xf) as u8,
            index,
            prio,
        )
    }
}

/// Bytes of a hardware SGL header (`struct hisi_sgl` without entries).
pub const SGL_HDR_SIZE: usize = 64;
/// Bytes of one hardware SGL entry (`struct hisi_sge`).
pub const SGE_SIZE: usize = 32;
/// Entries per hardware SGL (`HISI_SGE_NUM_IN_SGL`).
pub const SGE_PER_SGL: usize = 255;
/// Largest buffer of one entry (`HISI_MAX_SIZE_IN_SGE`).
pub const MAX_SIZE_IN_SGE: usize = 8 * 1024 * 1024;

/// Byte offsets inside a hardware SGL header.
pub mod sgl {
    /// Address of the next SGL of the chain (0 ends it).
    pub const NEXT_DMA: usize = 0;
    /// Entries in the whole chain (first SGL only).
    pub const ENTRY_SUM_IN_CHAIN: usize = 8;
    /// Entries with a buffer in this SGL.
    pub const ENTRY_SUM_IN_SGL: usize = 10;
    /// Entries this SGL can hold.
    pub const ENTRY_LENGTH_IN_SGL: usize = 12;
    /// Bytes of all buffers of this SGL.
    pub const ENTRY_SIZE_IN_SGL: usize = 56;
    /// Entry fields: buffer address.
    pub const SGE_BUFF: usize = 0;
    /// Entry fields: buffer length.
    pub const SGE_LEN: usize = 16;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqe_fields_land_in_documented_bits() {
        let mut s = ZipSqe::default();
        s.set_alg(hw_alg::GZIP);
        s.set_sgl(true);
        s.set_window(4);
        assert_eq!(s.w[9], 0x4103);
        s.set_type(SqeType::V3);
        s.set_stream(true, true, Flush::Finish);
        s.set_sgl_skip(10, 2);
        // new(27) | stateful(26) | finish(25) | type 3 | src skip 10
        assert_eq!(s.w[7], 0x3000_0000 | 0x0e00_0000 | 10);
        assert_eq!(s.w[8], 2);
        s.set_stream(false, true, Flush::Sync);
        assert_eq!(s.w[7], 0x3000_0000 | 0x0400_0000 | 10);
        assert!(s.stateful() && !s.stream_new() && s.flush() == Flush::Sync);
        s.set_tag(SqeType::V3, 77);
        assert_eq!((s.w[26], s.tag()), (77, 77));
        s.set_bufs(0x1234_5678_9abc_def0, 100, 0xffff_0000_1111_2222, 200);
        assert_eq!(
            &s.w[18..22],
            &[0x9abc_def0, 0x1234_5678, 0x1111_2222, 0xffff_0000]
        );
        assert_eq!((s.w[4], s.w[14]), (100, 200));
        assert_eq!(
            (s.src(), s.dst()),
            (0x1234_5678_9abc_def0, 0xffff_0000_1111_2222)
        );
        s.w[3] = 0x113;
        assert!(s.last_block() && s.status() == status::DECOMP_END);
    }

    #[test]
    fn sqe_type_and_tag_word_follow_hardware_version() {
        assert_eq!(SqeType::for_alg(2, hw_alg::ZLIB), SqeType::V1);
        assert_eq!(SqeType::for_alg(2, hw_alg::GZIP), SqeType::V1);
        assert_eq!(SqeType::for_alg(2, hw_alg::DEFLATE), SqeType::V3);
        assert_eq!(SqeType::for_alg(3, hw_alg::ZLIB), SqeType::V3);
        let mut s = ZipSqe::default();
        s.set_type(SqeType::V1);
        s.set_tag(SqeType::V1, 5);
        assert_eq!((s.w[13], s.w[26], s.tag()), (5, 0, 5));
    }

    #[test]
    fn doorbell_words_per_version() {
        // v1: sqn | cmd << 16 | (index | prio << 16) << 32, at 0x340.
        assert_eq!(doorbell(1, 3, DbCmd::Cq, 9, 1), 0x0001_0009_0001_0003);
        assert_eq!(doorbell_offset(1), 0x340);
        // v2+: sqn & 0x3ff | cmd << 12 | (index | prio << 16) << 32, at 0x1000.
        assert_eq!(
            doorbell(2, 0x401, DbCmd::Cq, 1023, 0),
            0x0000_03ff_0000_1001
        );
        assert_eq!(doorbell(3, 7, DbCmd::Sq, 5, 0), 0x0000_0005_0000_0007);
        assert_eq!(doorbell_offset(3), 0x1000);
        for ver in [1, 2, 3] {
            let w = doorbell(ver, 12, DbCmd::Cq, 700, 1);
            assert_eq!(decode_doorbell(ver, w), (12, 1, 700, 1));
        }
    }

    #[test]
    fn cqe_layout() {
        assert_eq!(std::mem::offset_of!(Cqe, sq_head), 8);
        assert_eq!(std::mem::offset_of!(Cqe, w7), 14);
        let c = Cqe {
            w7: 1,
            ..Cqe::default()
        };
        assert!(c.phase());
    }
}
