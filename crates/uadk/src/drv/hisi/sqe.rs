//! Filling an SQE: buffer descriptors (flat, or chains of hardware SGLs), the zlib/gzip
//! header done in software, lengths, window, stream flags and the tag of a block request.

use super::hw_alg_of;
use crate::drv::hdr::{self, Header};
use crate::drv::{Dst, Src};
use crate::error::{Error, Result};
use crate::hw::lz77;
use crate::hw::zip::{self as fmt, Flush, SqeType, ZipSqe};
use crate::req::{Alg, OpType, Output, ReqParams};

/// Per-request scratch memory, reused: the two SGL chains.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) sgl_in: SglBuf,
    pub(super) sgl_out: SglBuf,
    /// The sequence chain of an lz77 SGL request.
    pub(super) sgl_seq: SglBuf,
}

/// Memory for hardware SGLs, 64-byte aligned, reused between requests.
#[derive(Default)]
pub(super) struct SglBuf {
    pub(super) mem: Vec<u64>,
}

impl SglBuf {
    /// Lay out a chain of hardware SGLs over `segs` (address, length); returns its address.
    pub(super) fn build(
        &mut self,
        segs: &mut dyn Iterator<Item = (u64, usize)>,
        count: usize,
    ) -> Result<u64> {
        let nsgl = count.div_ceil(fmt::SGE_PER_SGL).max(1);
        // Every SGL of the chain starts 64-byte aligned, as the engine requires (UADK
        // aligns each of its pool's SGLs): 64 + 255 * 32 bytes rounded up to 64.
        let sgl_bytes = (fmt::SGL_HDR_SIZE + fmt::SGE_PER_SGL * fmt::SGE_SIZE).next_multiple_of(64);
        let words = (nsgl * sgl_bytes + 64) / 8;
        if self.mem.len() < words {
            self.mem.resize(words, 0);
        }
        let base = self.mem.as_mut_ptr() as usize;
        let aligned = (base + 63) & !63;
        let off0 = aligned - base;
        let bytes: &mut [u8] = {
            let len = self.mem.len() * 8;
            // SAFETY: viewing our own u64 buffer as bytes, for its whole length.
            unsafe { std::slice::from_raw_parts_mut(self.mem.as_mut_ptr().cast::<u8>(), len) }
        };
        let mut segs = segs.peekable();
        for k in 0..nsgl {
            let h = off0 + k * sgl_bytes;
            bytes[h..h + sgl_bytes].fill(0);
            let mut n = 0usize;
            let mut total = 0u64;
            while n < fmt::SGE_PER_SGL {
                let Some((addr, len)) = segs.next() else {
                    break;
                };
                if len > fmt::MAX_SIZE_IN_SGE {
                    return Err(Error::InvalidParam(format!(
                        "SGL segment of {len} bytes (at most {} per segment)",
                        fmt::MAX_SIZE_IN_SGE
                    )));
                }
                let e = h + fmt::SGL_HDR_SIZE + n * fmt::SGE_SIZE;
                bytes[e + fmt::sgl::SGE_BUFF..e + fmt::sgl::SGE_BUFF + 8]
                    .copy_from_slice(&addr.to_le_bytes());
                bytes[e + fmt::sgl::SGE_LEN..e + fmt::sgl::SGE_LEN + 4]
                    .copy_from_slice(&(len as u32).to_le_bytes());
                // The virtual address beside the bus address, as UADK fills it (the
                // engine ignores it).
                bytes[e + fmt::sgl::SGE_VBUFF..e + fmt::sgl::SGE_VBUFF + 8]
                    .copy_from_slice(&addr.to_le_bytes());
                n += 1;
                total += len as u64;
            }
            let next = if k + 1 < nsgl {
                (aligned + (k + 1) * sgl_bytes) as u64
            } else {
                0
            };
            bytes[h..h + 8].copy_from_slice(&next.to_le_bytes());
            bytes[h + fmt::sgl::NEXT_VA..h + fmt::sgl::NEXT_VA + 8]
                .copy_from_slice(&next.to_le_bytes());
            // The chain's capacity in entries, as UADK (hisi_qm_get_hw_sgl) and the
            // kernel's hisi_acc SGLs count it: the head holds that of all its SGLs, the
            // others their own.
            let cap = if k == 0 {
                (nsgl * fmt::SGE_PER_SGL).min(u16::MAX as usize)
            } else {
                fmt::SGE_PER_SGL
            };
            bytes[h + fmt::sgl::ENTRY_SUM_IN_CHAIN..h + fmt::sgl::ENTRY_SUM_IN_CHAIN + 2]
                .copy_from_slice(&(cap as u16).to_le_bytes());
            bytes[h + fmt::sgl::ENTRY_SUM_IN_SGL..h + fmt::sgl::ENTRY_SUM_IN_SGL + 2]
                .copy_from_slice(&(n as u16).to_le_bytes());
            bytes[h + fmt::sgl::ENTRY_LENGTH_IN_SGL..h + fmt::sgl::ENTRY_LENGTH_IN_SGL + 2]
                .copy_from_slice(&(fmt::SGE_PER_SGL as u16).to_le_bytes());
            bytes[h + fmt::sgl::ENTRY_SIZE_IN_SGL..h + fmt::sgl::ENTRY_SIZE_IN_SGL + 8]
                .copy_from_slice(&total.to_le_bytes());
        }
        Ok(aligned as u64)
    }
}

/// Where a request's bytes are, as the SQE gives them.
pub(super) struct BufDesc {
    pub(super) addr: u64,
    pub(super) len: usize,
    pub(super) sgl: bool,
}

/// A chain of hardware SGLs over `segs` (address, length), holding `len` bytes.
pub(super) fn list_desc(
    sgl: &mut SglBuf,
    segs: impl ExactSizeIterator<Item = (u64, usize)>,
    len: usize,
) -> Result<BufDesc> {
    let n = segs.len();
    Ok(BufDesc {
        addr: sgl.build(&mut { segs }, n)?,
        len,
        sgl: true,
    })
}

pub(super) fn src_desc(src: &Src<'_>, sgl: &mut SglBuf) -> Result<BufDesc> {
    let len = src.len();
    let seg = |s: &[u8]| (s.as_ptr() as u64, s.len());
    match src {
        Src::Flat(b) => Ok(BufDesc {
            addr: b.as_ptr() as u64,
            len,
            sgl: false,
        }),
        Src::List(l) => list_desc(sgl, l.iter().map(|s| seg(s)), len),
        Src::Vecs(l) => list_desc(sgl, l.iter().map(|s| seg(s)), len),
    }
}

pub(super) fn dst_desc(dst: &mut Dst<'_, '_>, sgl: &mut SglBuf) -> Result<BufDesc> {
    let len = dst.len();
    let seg = |s: &mut [u8]| (s.as_mut_ptr() as u64, s.len());
    match dst {
        Dst::Flat(b) => Ok(BufDesc {
            addr: b.as_mut_ptr() as u64,
            len,
            sgl: false,
        }),
        Dst::List(l) => list_desc(sgl, l.iter_mut().map(|s| seg(s)), len),
        Dst::Vecs(l) => list_desc(sgl, l.iter_mut().map(|s| seg(s)), len),
    }
}

/// The header at the start of a source, read across its segments (any size).
fn src_header(alg: Alg, src: &Src<'_>) -> Header {
    match src {
        Src::Flat(b) => hdr::parse_header(alg, b),
        Src::List(l) => hdr::parse_header_in(alg, l.iter().copied()),
        Src::Vecs(l) => hdr::parse_header_in(alg, l.iter().map(|v| v.as_slice())),
    }
}

/// A block request prepared for the engine.
pub(super) struct Prepared {
    pub(super) sqe: ZipSqe,
    /// What reading its completion needs.
    pub(super) info: PrepInfo,
}

/// What a block request's completion is read with (kept while it is in flight; the SQE
/// itself is on the ring).
pub(super) struct PrepInfo {
    /// Header bytes written before the engine's output (compression).
    pub(super) hdr_out: usize,
    /// Header bytes skipped before the engine's input (decompression).
    pub(super) hdr_in: usize,
    pub(super) src_len: usize,
    pub(super) dst_len: usize,
    /// lz77 requests: the layout the engine was given.
    pub(super) lz77: Option<Lz77Prep>,
}

/// How an lz77 request's output was laid out.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lz77Prep {
    pub(super) variant: lz77::Variant,
    /// The literal area (DW13): where the sequences start in the output.
    pub(super) lits_size: usize,
    /// Sequence space (DEST_AVAIL_OUT).
    pub(super) seq_space: usize,
}

pub(super) fn window_code(p: &ReqParams) -> u32 {
    p.window as u32
}

/// The whole stream of an empty input, written in software: the engine takes no block
/// request without input (UADK's API refuses them before its driver sees them).
pub(super) fn empty_stream(params: &ReqParams, dst: &mut Dst<'_, '_>) -> Result<Output> {
    let mut h = [0u8; 10];
    let n = hdr::write_header(params.alg, params.window, &mut h);
    let (t, tn) = hdr::trailer(params.alg, 0, 0, true);
    let mut v = Vec::with_capacity(n + 5 + tn);
    v.extend_from_slice(&h[..n]);
    v.extend_from_slice(&hdr::EMPTY_FINAL_BLOCK);
    v.extend_from_slice(&t[..tn]);
    if v.len() > dst.len() {
        return Err(Error::OutputTooSmall {
            capacity: dst.len(),
        });
    }
    dst.scatter(&v);
    Ok(Output {
        consumed: 0,
        produced: v.len(),
        end: true,
        lz77: None,
    })
}

/// True when a block request is done in software, without the engine.
pub(super) fn is_empty_compression(params: &ReqParams, src: &Src<'_>) -> bool {
    params.op == OpType::Compress && params.alg != Alg::Lz4 && src.is_empty()
}

/// Build the SQE of a block request: the header is written (compression) or parsed
/// (decompression) here; the engine sees the rest.
pub(super) fn prepare_block(
    hw_ver: u32,
    params: &ReqParams,
    src: &Src<'_>,
    dst: &mut Dst<'_, '_>,
    bufs: &mut Scratch,
    tag: u32,
) -> Result<Prepared> {
    if lz77_variant(params.alg).is_some() {
        return prepare_lz77(hw_ver, params, src, dst, bufs, tag, None);
    }
    let Scratch {
        sgl_in, sgl_out, ..
    } = bufs;
    let alg = hw_alg_of(params.alg);
    let src_len = src.len();
    let dst_len = dst.len();
    if src_len > fmt::HZ_MAX_SIZE {
        return Err(Error::InvalidParam(format!(
            "input of {src_len} bytes (the engine takes at most {} per request; use sync2 or a stream)",
            fmt::HZ_MAX_SIZE
        )));
    }
    if params.alg == Alg::Lz4 && src_len == 0 {
        return Err(Error::InvalidParam("lz4 input of 0 bytes".into()));
    }
    let (mut hdr_out, mut hdr_in) = (0, 0);
    match params.op {
        OpType::Compress => {
            let mut h = [0u8; 10];
            hdr_out = hdr::write_header(params.alg, params.window, &mut h);
            if hdr_out >= dst_len {
                return Err(Error::OutputTooSmall { capacity: dst_len });
            }
            match dst {
                Dst::Flat(b) => b[..hdr_out].copy_from_slice(&h[..hdr_out]),
                _ => dst.scatter(&h[..hdr_out]),
            }
        }
        OpType::Decompress => {
            hdr_in = match src_header(params.alg, src) {
                Header::Complete(n) => n,
                Header::NeedMore => return Err(Error::TruncatedInput),
                Header::Invalid(m) => return Err(Error::CorruptData(m.into())),
            };
        }
    }
    if src_len == hdr_in {
        // Nothing for the engine after the header (UADK refuses such inputs too).
        return Err(Error::TruncatedInput);
    }
    let s = src_desc(src, sgl_in)?;
    let d = dst_desc(dst, sgl_out)?;
    let mut sqe = ZipSqe::default();
    let (in_len, out_len) = (s.len - hdr_in, (d.len - hdr_out).min(fmt::HZ_MAX_SIZE));
    if s.sgl || d.sgl {
        // One buffer type per SQE: a flat side is described as a one-entry SGL.
        let s_addr = if s.sgl {
            s.addr
        } else {
            sgl_in.build(&mut std::iter::once((s.addr, s.len)), 1)?
        };
        let d_addr = if d.sgl {
            d.addr
        } else {
            // The engine writes at most HZ_MAX_SIZE: one entry covers that much.
            sgl_out.build(
                &mut std::iter::once((d.addr, d.len.min(fmt::MAX_SIZE_IN_SGE))),
                1,
            )?
        };
        sqe.set_sgl(true);
        sqe.set_sgl_skip(hdr_in as u32, hdr_out as u32);
        sqe.set_bufs(s_addr, in_len as u32, d_addr, out_len as u32);
    } else {
        sqe.set_bufs(
            s.addr + hdr_in as u64,
            in_len as u32,
            d.addr + hdr_out as u64,
            out_len as u32,
        );
    }
    let ty = SqeType::for_alg(hw_ver, alg);
    sqe.set_type(ty);
    sqe.set_alg(alg);
    sqe.set_window(window_code(params));
    sqe.set_tag(ty, tag);
    sqe.set_stream(true, false, Flush::Finish);
    Ok(Prepared {
        sqe,
        info: PrepInfo {
            hdr_out,
            hdr_in,
            src_len,
            dst_len,
            lz77: None,
        },
    })
}

pub(super) fn lz77_variant(a: Alg) -> Option<lz77::Variant> {
    match a {
        Alg::Lz77Zstd => Some(lz77::Variant::Zstd),
        Alg::Lz77Only => Some(lz77::Variant::Only),
        _ => None,
    }
}

/// The SQE of an lz77 request, as `fill_buf_lz77_zstd` (flat) and `fill_buf_lz77_zstd_sgl`
/// fill it: literal area size in DW13, its address in DW24-25, the sequence space in
/// DEST_AVAIL_OUT at the destination address; request type by level (8 normal, 9 price).
/// `stateful` is (new stream, finish) for a stream call.
pub(super) fn prepare_lz77(
    hw_ver: u32,
    params: &ReqParams,
    src: &Src<'_>,
    dst: &mut Dst<'_, '_>,
    bufs: &mut Scratch,
    tag: u32,
    stateful: Option<(bool, bool)>,
) -> Result<Prepared> {
    let v = lz77_variant(params.alg)
        .ok_or_else(|| Error::InvalidParam("not an lz77 request".into()))?;
    if hw_ver < 3 {
        // UADK refuses algorithms past gzip on QM v2 hardware (`fill_zip_comp_sqe`).
        return Err(Error::InvalidParam(format!(
            "{} on QM v{hw_ver} hardware",
            params.alg.name()
        )));
    }
    let (src_len, dst_len) = (src.len(), dst.len());
    let level = params.level.get();
    let sgl = !matches!((src, &*dst), (Src::Flat(_), Dst::Flat(_)));
    let mut sqe = ZipSqe::default();
    let (lits_size, seq_space);
    if !sgl {
        lits_size = src_len + lz77::LIT_RESV_SIZE;
        seq_space = lz77::check_sizes(
            v,
            src_len,
            dst_len,
            lits_size,
            stateful.is_some(),
            level == 9,
        )?;
        let s = src_desc(src, &mut bufs.sgl_in)?;
        let d = dst_desc(dst, &mut bufs.sgl_out)?;
        sqe.set_bufs(
            s.addr,
            src_len as u32,
            d.addr + lits_size as u64,
            seq_space as u32,
        );
        sqe.set_literals(d.addr, lits_size as u32);
    } else {
        let lens: Vec<usize> = match &*dst {
            Dst::Flat(b) => vec![b.len()],
            Dst::List(l) => l.iter().map(|s| s.len()).collect(),
            Dst::Vecs(l) => l.iter().map(|s| s.len()).collect(),
        };
        let (first_seq, lits) =
            lz77::sgl_seq_start(lens.iter().copied(), src_len).ok_or_else(|| {
                Error::InvalidParam(format!(
                    "SGL output cannot hold {} bytes of literals and then sequences",
                    src_len + lz77::LIT_RESV_SIZE
                ))
            })?;
        lits_size = lits;
        lz77::check_sizes(
            v,
            src_len,
            dst_len,
            lits_size,
            stateful.is_some(),
            level == 9,
        )?;
        // UADK gives the engine the whole output chain for the literals and the chain from
        // the sequence start for the sequences; the sequence space is not clamped here.
        seq_space = dst_len - lits_size;
        let s = src_desc(src, &mut bufs.sgl_in)?;
        let s_addr = if s.sgl {
            s.addr
        } else {
            bufs.sgl_in
                .build(&mut std::iter::once((s.addr, s.len)), 1)?
        };
        let segs: Vec<(u64, usize)> = match dst {
            Dst::Flat(b) => vec![(b.as_mut_ptr() as u64, b.len())],
            Dst::List(l) => l
                .iter_mut()
                .map(|s| (s.as_mut_ptr() as u64, s.len()))
                .collect(),
            Dst::Vecs(l) => l
                .iter_mut()
                .map(|s| (s.as_mut_ptr() as u64, s.len()))
                .collect(),
        };
        let lit_chain = bufs.sgl_out.build(&mut segs.iter().copied(), segs.len())?;
        let seq_chain = bufs.sgl_seq.build(
            &mut segs[first_seq..].iter().copied(),
            segs.len() - first_seq,
        )?;
        sqe.set_sgl(true);
        sqe.set_bufs(s_addr, src_len as u32, seq_chain, seq_space as u32);
        sqe.set_literals(lit_chain, lits_size as u32);
    }
    let ty = SqeType::V3;
    sqe.set_type(ty);
    let price = lz77::price_mode(level)?;
    sqe.set_alg(v.hw_alg(price));
    sqe.set_window(window_code(params));
    sqe.set_tag(ty, tag);
    match stateful {
        None => sqe.set_stream(true, false, Flush::Finish),
        Some((new, finish)) => {
            sqe.set_stream(new, true, if finish { Flush::Finish } else { Flush::Sync })
        }
    }
    Ok(Prepared {
        sqe,
        info: PrepInfo {
            hdr_out: 0,
            hdr_in: 0,
            src_len,
            dst_len,
            lz77: Some(Lz77Prep {
                variant: v,
                lits_size,
                seq_space,
            }),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::zip::{dw, hw_alg};

    #[test]
    fn block_sqe_for_zlib_on_v2_uses_type_0_and_skips_the_header() {
        let params = ReqParams {
            alg: Alg::Zlib,
            op: OpType::Decompress,
            level: crate::req::Level::L1,
            window: crate::req::WindowSize::W32K,
        };
        let src = [0x78u8, 0x01, 1, 2, 3];
        let mut out = [0u8; 64];
        let mut bufs = Scratch::default();
        let p = prepare_block(
            2,
            &params,
            &Src::Flat(&src),
            &mut Dst::Flat(&mut out),
            &mut bufs,
            9,
        )
        .unwrap();
        assert_eq!(p.info.hdr_in, 2);
        assert_eq!(p.sqe.sqe_type(), SqeType::V1);
        assert_eq!(p.sqe.w[dw::TAG_V1], 9);
        assert_eq!(p.sqe.alg(), hw_alg::ZLIB);
        assert_eq!(p.sqe.src(), src.as_ptr() as u64 + 2);
        assert_eq!(p.sqe.w[dw::INPUT_DATA_LENGTH], 3);
        assert_eq!(
            p.sqe.w[dw::DW7] & 0x0e00_0000,
            0x0a00_0000,
            "new stream, stateless, finish"
        );
    }

    #[test]
    fn sgl_chain_layout() {
        let bufs: Vec<Vec<u8>> = (0..300).map(|i| vec![i as u8; 3]).collect();
        let mut s = SglBuf::default();
        let addr = s
            .build(
                &mut bufs.iter().map(|b| (b.as_ptr() as u64, b.len())),
                bufs.len(),
            )
            .unwrap();
        assert_eq!(addr % 64, 0);
        // SAFETY: reading the SGL we just built inside `s`.
        unsafe {
            let p = addr as *const u8;
            let next = (p as *const u64).read_unaligned();
            assert_ne!(next, 0);
            // Capacity of the chain: two SGLs of 255 entries.
            assert_eq!((p.add(8) as *const u16).read_unaligned(), 510);
            assert_eq!((p.add(10) as *const u16).read_unaligned(), 255);
            assert_eq!((p.add(56) as *const u64).read_unaligned(), 255 * 3);
            let q = next as *const u8;
            assert_eq!(next % 64, 0, "the second SGL is 64-byte aligned too");
            assert_eq!((q.add(10) as *const u16).read_unaligned(), 45);
            assert_eq!((q as *const u64).read_unaligned(), 0);
            let e0 = p.add(64);
            assert_eq!((e0 as *const u64).read_unaligned(), bufs[0].as_ptr() as u64);
            assert_eq!((e0.add(16) as *const u32).read_unaligned(), 3);
            assert_eq!(
                (e0.add(24) as *const u64).read_unaligned(),
                bufs[0].as_ptr() as u64
            );
            assert_eq!((p.add(48) as *const u64).read_unaligned(), next);
            assert_eq!((q.add(8) as *const u16).read_unaligned(), 255);
        }
    }
}
