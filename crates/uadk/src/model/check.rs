//! What the modelled engine accepts: every field of an SQE the reference driver (UADK
//! v2.10 `drv/hisi_comp.c`) fills is checked against what that driver writes, per QM
//! version and queue type, and so is every hardware SGL it names. Anything else is a
//! field the engine does not understand: the request completes with
//! [`status::BAD_SQE`](crate::hw::zip::status::BAD_SQE) and the device counts and logs a
//! model error. The list is in `docs/hardware.md`.

use crate::hw::zip::{self as fmt, dw, hw_alg, Flush, SqeType, ZipSqe};

/// Words the engine writes and a driver leaves clear, and reserved words.
const CLEAR_WORDS: [(usize, &str); 12] = [
    (dw::CONSUMED, "consumed (written by the engine)"),
    (dw::PRODUCED, "produced (written by the engine)"),
    (
        dw::COMP_DATA_LENGTH,
        "comp_data_length (written by the engine)",
    ),
    (dw::STATUS, "status (written by the engine)"),
    (5, "reserved"),
    (6, "reserved"),
    (10, "reserved"),
    (11, "reserved"),
    (12, "reserved"),
    (16, "reserved"),
    (17, "reserved"),
    (27, "reserved"),
];

/// Literals address (lz77 formats only).
const LIT_L: usize = 24;
const LIT_H: usize = 25;

/// Check an SQE's own fields for a queue of QM version `hw_ver` bound to `qc_type`
/// (0 compress, 1 decompress). The buffers it names are checked by [`sgl_chain`].
pub fn sqe(sqe: &ZipSqe, hw_ver: u32, qc_type: u16) -> Result<(), String> {
    let w = &sqe.w;
    for (i, what) in CLEAR_WORDS {
        if w[i] != 0 {
            return Err(format!("dw{i} ({what}) is {:#x}, not 0", w[i]));
        }
    }
    if qc_type > 1 {
        return Err(format!("queue type {qc_type} (0 compress, 1 decompress)"));
    }
    let dw9 = w[dw::DW9];
    if dw9 >> 16 != 0 {
        return Err(format!("dw9 reserved bits 16-31 are {:#x}", dw9 >> 16));
    }
    let alg = sqe.alg();
    let lz77 = matches!(
        alg,
        hw_alg::LZ77_ZSTD | hw_alg::LZ77_ZSTD_PRICE | hw_alg::LZ77_ONLY | hw_alg::LZ77_ONLY_PRICE
    );
    let known = match alg {
        hw_alg::DEFLATE | hw_alg::ZLIB | hw_alg::GZIP => true,
        hw_alg::LZ4 => hw_ver >= 3,
        hw_alg::LZ77_ZSTD
        | hw_alg::LZ77_ZSTD_PRICE
        | hw_alg::LZ77_ONLY
        | hw_alg::LZ77_ONLY_PRICE => hw_ver >= 3,
        _ => false,
    };
    if !known {
        return Err(format!("request type {alg:#x} on QM v{hw_ver}"));
    }
    let buf_type = (dw9 >> 8) & 0xf;
    if buf_type > 1 {
        return Err(format!("buffer type {buf_type} (0 flat, 1 SGL)"));
    }
    let window = sqe.window();
    if window > 4 {
        return Err(format!("window size code {window} (0..4: 4K..32K)"));
    }
    let dw7 = w[dw::DW7];
    if dw7 & (1 << 24) != 0 {
        return Err("dw7 reserved bit 24 is set".into());
    }
    let ty = dw7 >> 28;
    let want_ty = match SqeType::for_alg(hw_ver, alg) {
        SqeType::V1 => 0,
        SqeType::V3 => 3,
    };
    if ty != want_ty {
        return Err(format!(
            "SQE type {ty} for request type {alg:#x} on QM v{hw_ver} (the engine takes {want_ty})"
        ));
    }
    if w[dw::DW8] >> 24 != 0 {
        return Err(format!(
            "dw8 reserved bits 24-31 are {:#x}",
            w[dw::DW8] >> 24
        ));
    }
    let (src_skip, dst_skip) = sqe.sgl_skip();
    if buf_type == 0 && (src_skip != 0 || dst_skip != 0) {
        return Err(format!("SGL offsets {src_skip}/{dst_skip} on flat buffers"));
    }
    // The tag lives in one word; the other is clear.
    match want_ty {
        0 if w[dw::TAG_V3] != 0 => {
            return Err(format!(
                "dw26 is {:#x} in a type 0 SQE (tag in dw13)",
                w[dw::TAG_V3]
            ))
        }
        // lz77 requests carry the literal area's size in dw13.
        3 if w[dw::TAG_V1] != 0 && !lz77 => {
            return Err(format!(
                "dw13 is {:#x} in a type 3 SQE (tag in dw26)",
                w[dw::TAG_V1]
            ))
        }
        _ => {}
    }
    if lz77 {
        if qc_type != 0 {
            return Err("lz77 on a decompression queue (the engine only compresses lz77)".into());
        }
        if w[LIT_L] == 0 && w[LIT_H] == 0 {
            return Err("lz77 request without a literals address".into());
        }
        if w[dw::TAG_V1] == 0 {
            return Err("lz77 request with a literal area of 0 bytes (dw13)".into());
        }
    } else if w[LIT_L] != 0 || w[LIT_H] != 0 {
        return Err("literals address set outside lz77".into());
    }
    let in_len = w[dw::INPUT_DATA_LENGTH] as usize;
    let out_len = w[dw::DEST_AVAIL_OUT] as usize;
    if in_len > fmt::HZ_MAX_SIZE {
        return Err(format!(
            "input of {in_len} bytes (at most {})",
            fmt::HZ_MAX_SIZE
        ));
    }
    if out_len == 0 || out_len > fmt::HZ_MAX_SIZE {
        return Err(format!(
            "output space of {out_len} bytes (1..{})",
            fmt::HZ_MAX_SIZE
        ));
    }
    if buf_type == 0 && (sqe.dst() == 0 || (in_len > 0 && sqe.src() == 0)) {
        return Err("null buffer address".into());
    }
    let stateful = sqe.stateful();
    if alg == hw_alg::LZ4 {
        if qc_type != 0 {
            return Err("lz4 on a decompression queue (the engine only compresses lz4)".into());
        }
        if stateful {
            return Err("lz4 in stream mode".into());
        }
    }
    if stateful {
        if sqe.ctx_addr() == 0 {
            return Err("stream request without a context buffer address".into());
        }
        if out_len < fmt::SW_STOREBUF_TH {
            return Err(format!(
                "stream request with {out_len} bytes of output space (at least {})",
                fmt::SW_STOREBUF_TH
            ));
        }
        if qc_type == 0 && in_len == 0 && sqe.flush() == Flush::Finish {
            return Err(
                "stream compression finished with no input (drivers end an empty stream in software)"
                    .into(),
            );
        }
    } else {
        if !sqe.stream_new() || sqe.flush() != Flush::Finish {
            return Err("block request without the new-stream and finish flags".into());
        }
        if sqe.ctx_addr() != 0 {
            return Err("block request with a context buffer address".into());
        }
        if in_len == 0 {
            return Err("block request with no input".into());
        }
    }
    Ok(())
}

/// Bytes an SGL chain can hold, checked entry by entry as the engine walks it: a
/// 64-byte aligned header, at most 255 entries of at most 8 MiB each, the entry counts
/// and byte total consistent, reserved fields clear, the head's chain capacity the sum of
/// its SGLs' capacities, no loop.
///
/// # Safety
/// `addr` must point at a chain of valid hardware SGLs (the SVA contract).
pub unsafe fn sgl_chain(addr: u64) -> Result<u64, String> {
    let rd16 = |p: *const u8, off: usize| {
        // SAFETY: inside an SGL header or entry, by the caller's contract.
        unsafe { (p.add(off) as *const u16).read_unaligned() }
    };
    let rd32 = |p: *const u8, off: usize| {
        // SAFETY: as above.
        unsafe { (p.add(off) as *const u32).read_unaligned() }
    };
    let rd64 = |p: *const u8, off: usize| {
        // SAFETY: as above.
        unsafe { (p.add(off) as *const u64).read_unaligned() }
    };
    let mut at = addr;
    let (mut total, mut capacity, mut links) = (0u64, 0u64, 0usize);
    let mut chain_sum = 0u64;
    while at != 0 {
        if !at.is_multiple_of(64) {
            return Err(format!("SGL at {at:#x} is not 64-byte aligned"));
        }
        links += 1;
        if links > 1 << 16 {
            return Err("SGL chain does not end".into());
        }
        let p = at as *const u8;
        if links == 1 {
            chain_sum = rd16(p, fmt::sgl::ENTRY_SUM_IN_CHAIN) as u64;
        }
        let valid = rd16(p, fmt::sgl::ENTRY_SUM_IN_SGL) as usize;
        let cap = rd16(p, fmt::sgl::ENTRY_LENGTH_IN_SGL) as usize;
        if cap == 0 || cap > fmt::SGE_PER_SGL {
            return Err(format!(
                "SGL {links} holds {cap} entries (1..{})",
                fmt::SGE_PER_SGL
            ));
        }
        if valid > cap {
            return Err(format!("SGL {links}: {valid} entries used of {cap}"));
        }
        if rd16(p, fmt::sgl::PAD0) != 0 || (0..4).any(|k| rd64(p, fmt::sgl::PAD1 + 8 * k) != 0) {
            return Err(format!("SGL {links}: reserved header fields set"));
        }
        let mut bytes = 0u64;
        for i in 0..valid {
            // SAFETY: entry i < cap <= 255 lies inside this SGL.
            let e = unsafe { p.add(fmt::SGL_HDR_SIZE + i * fmt::SGE_SIZE) };
            let len = rd32(e, fmt::sgl::SGE_LEN) as usize;
            if len > fmt::MAX_SIZE_IN_SGE {
                return Err(format!(
                    "SGL {links} entry {i}: {len} bytes (at most 8 MiB)"
                ));
            }
            if len > 0 && rd64(e, fmt::sgl::SGE_BUFF) == 0 {
                return Err(format!("SGL {links} entry {i}: null buffer"));
            }
            if rd64(e, fmt::sgl::SGE_PAGE_CTRL) != 0 || rd32(e, fmt::sgl::SGE_PAD) != 0 {
                return Err(format!("SGL {links} entry {i}: reserved fields set"));
            }
            bytes += len as u64;
        }
        let size = rd64(p, fmt::sgl::ENTRY_SIZE_IN_SGL);
        if size != bytes {
            return Err(format!(
                "SGL {links}: entry_size_in_sgl {size}, entries hold {bytes}"
            ));
        }
        total += bytes;
        capacity += cap as u64;
        at = rd64(p, fmt::sgl::NEXT_DMA);
    }
    if links == 0 {
        return Err("null SGL address".into());
    }
    if chain_sum != capacity {
        return Err(format!(
            "entry_sum_in_chain {chain_sum}, the chain's SGLs hold {capacity} entries"
        ));
    }
    Ok(total)
}

/// Check the SGL chains of an SQE that names them: both valid, the input chain holding
/// the input after its offset.
///
/// # Safety
/// The SQE's addresses must be valid as the SVA contract says.
pub unsafe fn buffers(sqe: &ZipSqe) -> Result<(), String> {
    if !sqe.is_sgl() {
        return Ok(());
    }
    // SAFETY: the caller's contract.
    let src = unsafe { sgl_chain(sqe.src()) }.map_err(|e| format!("source {e}"))?;
    // SAFETY: the caller's contract.
    unsafe { sgl_chain(sqe.dst()) }.map_err(|e| format!("destination {e}"))?;
    let (skip, _) = sqe.sgl_skip();
    let need = skip as u64 + sqe.w[dw::INPUT_DATA_LENGTH] as u64;
    if src < need {
        return Err(format!(
            "source SGL chain holds {src} bytes, the SQE reads {need}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::zip::{status, Flush};

    fn block(alg: u32, hw_ver: u32) -> ZipSqe {
        let mut s = ZipSqe::default();
        let buf = [0u8; 16];
        s.set_bufs(buf.as_ptr() as u64, 16, buf.as_ptr() as u64, 16);
        let ty = SqeType::for_alg(hw_ver, alg);
        s.set_type(ty);
        s.set_alg(alg);
        s.set_window(4);
        s.set_tag(ty, 7);
        s.set_stream(true, false, Flush::Finish);
        s
    }

    #[test]
    fn what_uadk_sends_is_accepted() {
        for (alg, ver) in [
            (hw_alg::ZLIB, 2),
            (hw_alg::GZIP, 2),
            (hw_alg::DEFLATE, 2),
            (hw_alg::ZLIB, 3),
            (hw_alg::LZ4, 3),
        ] {
            assert_eq!(sqe(&block(alg, ver), ver, 0), Ok(()), "{alg:#x} v{ver}");
        }
        let mut s = block(hw_alg::GZIP, 3);
        s.set_stream(false, true, Flush::Sync);
        s.set_ctx_addr(0x1000_0040);
        s.w[dw::DEST_AVAIL_OUT] = 236;
        s.w[dw::ISIZE] = 5;
        s.w[dw::CHECKSUM] = 9;
        s.w[dw::CTX_DW0] = 3;
        assert_eq!(sqe(&s, 3, 1), Ok(()));
    }

    #[test]
    fn each_field_out_of_range_is_refused() {
        type Edit = Box<dyn Fn(&mut ZipSqe)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "output word",
                Box::new(|s| s.w[dw::STATUS] = status::OK | 1),
            ),
            ("reserved dw5", Box::new(|s| s.w[5] = 1)),
            ("dw9 high bits", Box::new(|s| s.w[dw::DW9] |= 1 << 16)),
            ("request type", Box::new(|s| s.set_alg(0x09))),
            ("lz77", Box::new(|s| s.set_alg(hw_alg::LZ77_ONLY))),
            ("buffer type", Box::new(|s| s.w[dw::DW9] |= 2 << 8)),
            ("window", Box::new(|s| s.set_window(5))),
            ("type on v3", Box::new(|s| s.set_type(SqeType::V1))),
            ("dw7 bit 24", Box::new(|s| s.w[dw::DW7] |= 1 << 24)),
            ("dw8 high bits", Box::new(|s| s.w[dw::DW8] |= 1 << 30)),
            ("flat with SGL offset", Box::new(|s| s.set_sgl_skip(2, 0))),
            ("tag in the other word", Box::new(|s| s.w[dw::TAG_V1] = 1)),
            ("literals", Box::new(|s| s.w[LIT_L] = 1)),
            (
                "input too long",
                Box::new(|s| s.w[dw::INPUT_DATA_LENGTH] = 9 << 20),
            ),
            ("no output", Box::new(|s| s.w[dw::DEST_AVAIL_OUT] = 0)),
            ("no input", Box::new(|s| s.w[dw::INPUT_DATA_LENGTH] = 0)),
            (
                "block not finished",
                Box::new(|s| s.set_stream(true, false, Flush::Sync)),
            ),
            ("block with context", Box::new(|s| s.set_ctx_addr(64))),
            (
                "stream without context",
                Box::new(|s| s.set_stream(true, true, Flush::Sync)),
            ),
            (
                "null destination",
                Box::new(|s| s.set_bufs(s.src(), 16, 0, 16)),
            ),
        ];
        for (what, f) in cases {
            let mut s = block(hw_alg::ZLIB, 3);
            f(&mut s);
            assert!(sqe(&s, 3, 0).is_err(), "{what} accepted");
        }
        let mut s = block(hw_alg::ZLIB, 3);
        s.set_stream(false, true, Flush::Sync);
        s.set_ctx_addr(64);
        s.w[dw::DEST_AVAIL_OUT] = 100;
        assert!(sqe(&s, 3, 0).is_err(), "stream with 100 bytes of output");
        s.w[dw::DEST_AVAIL_OUT] = 200;
        s.w[dw::INPUT_DATA_LENGTH] = 0;
        s.set_stream(false, true, Flush::Finish);
        assert!(sqe(&s, 3, 0).is_err(), "empty final stream compression");
        assert_eq!(sqe(&s, 3, 1), Ok(()), "empty final decompression call");
        assert!(sqe(&block(hw_alg::LZ4, 2), 2, 0).is_err(), "lz4 on v2");
        assert!(
            sqe(&block(hw_alg::LZ4, 3), 3, 1).is_err(),
            "lz4 decompression"
        );
        assert!(sqe(&block(hw_alg::ZLIB, 2), 3, 0).is_err(), "type 0 on v3");
    }

    /// One SGL header plus `n` entries, 64-byte aligned inside `mem`.
    fn sgl(mem: &mut Vec<u64>, lens: &[u32], cap: u16, chain: u16) -> u64 {
        mem.clear();
        mem.resize((64 + 255 * 32 + 64) / 8, 0);
        let base = (mem.as_mut_ptr() as usize + 63) & !63;
        // SAFETY: inside `mem`, which holds a header and 255 entries past `base`.
        unsafe {
            let p = base as *mut u8;
            (p.add(fmt::sgl::ENTRY_SUM_IN_CHAIN) as *mut u16).write_unaligned(chain);
            (p.add(fmt::sgl::ENTRY_SUM_IN_SGL) as *mut u16).write_unaligned(lens.len() as u16);
            (p.add(fmt::sgl::ENTRY_LENGTH_IN_SGL) as *mut u16).write_unaligned(cap);
            let total: u64 = lens.iter().map(|&l| l as u64).sum();
            (p.add(fmt::sgl::ENTRY_SIZE_IN_SGL) as *mut u64).write_unaligned(total);
            for (i, &l) in lens.iter().enumerate() {
                let e = p.add(64 + 32 * i);
                (e as *mut u64).write_unaligned(0x1000);
                (e.add(fmt::sgl::SGE_LEN) as *mut u32).write_unaligned(l);
            }
        }
        base as u64
    }

    #[test]
    fn sgl_chains() {
        let mut mem = Vec::new();
        let a = sgl(&mut mem, &[10, 20], 255, 255);
        // SAFETY: our own SGL.
        assert_eq!(unsafe { sgl_chain(a) }, Ok(30));
        // The count of used entries in entry_sum_in_chain (not the capacity) is refused.
        let a = sgl(&mut mem, &[10, 20], 255, 2);
        // SAFETY: our own SGL.
        assert!(unsafe { sgl_chain(a) }.is_err());
        let a = sgl(&mut mem, &[10], 0, 0);
        // SAFETY: our own SGL.
        assert!(unsafe { sgl_chain(a) }.is_err());
        let a = sgl(&mut mem, &[10, 20], 255, 255);
        // SAFETY: our own SGL; a wrong byte total, then a set reserved field.
        unsafe {
            ((a as *mut u8).add(fmt::sgl::ENTRY_SIZE_IN_SGL) as *mut u64).write_unaligned(31);
            assert!(sgl_chain(a).is_err());
            ((a as *mut u8).add(fmt::sgl::ENTRY_SIZE_IN_SGL) as *mut u64).write_unaligned(30);
            ((a as *mut u8).add(fmt::sgl::PAD1) as *mut u64).write_unaligned(1);
            assert!(sgl_chain(a).is_err());
            assert!(sgl_chain(a + 8).is_err(), "misaligned");
        }
    }
}
