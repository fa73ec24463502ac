//! LZ4: one frame of independent blocks, each a block request, and such frames' blocks
//! decoded at once; content and block checksums.

use super::decompress::{run_units, Outcome, Unit, UnitKind};
use super::framework;
use super::io::{chunk_bytes, Input, Out};
use super::pipeline::Pipeline;
use crate::common::Result;
use std::hash::Hasher;
use uadk::{Alg, OpType, SessionSetup};

/// LZ4 frame blocks: the frame format's largest, what `lz4` writes.
const LZ4_BLOCK: usize = 4 << 20;

/// `compress -T`: one LZ4 frame of independent blocks, each a block request.
pub fn compress_lz4(threads: usize, input: Input<'_>, out: &mut Out<'_>) -> Result<()> {
    let comp = framework(Alg::Lz4, OpType::Compress, threads)?;
    let sess = comp.session(&SessionSetup::new(Alg::Lz4, OpType::Compress))?;
    let cap = sess.compress_bound(LZ4_BLOCK);
    // Version 01, independent blocks, content checksum; 4 MiB blocks.
    let (flg, bd) = (0b0110_0100u8, 7u8 << 4);
    let mut h = uadk::comp::lz4frame::LZ4F_MAGIC.to_le_bytes().to_vec();
    h.extend_from_slice(&[flg, bd, (xxh32(&[flg, bd]) >> 8) as u8]);
    out.write(&h)?;
    let mut hash = twox_hash::XxHash32::with_seed(0);
    let mut pipe = Pipeline::new(&comp, &sess, threads * 2 + 1, cap);
    let mut src = input.source();
    pipe.pump(
        &mut src,
        LZ4_BLOCK,
        (false, true),
        |b| hash.write(b),
        |pipe, d| {
            let raw_len = d.len;
            match &d.result {
                // Stored raw unless it shrank, as `lz4` does.
                Ok(o) if o.produced < raw_len => {
                    out.write(&(o.produced as u32).to_le_bytes())?;
                    out.write(pipe.output(d, o.produced))?;
                }
                Ok(_) | Err(uadk::Error::OutputTooSmall { .. }) => {
                    out.write(&(raw_len as u32 | 0x8000_0000).to_le_bytes())?;
                    out.write(chunk_bytes(&d.src))?;
                }
                Err(e) => return Err(e.clone().into()),
            }
            Ok(())
        },
    )?;
    drop(pipe);
    out.write(&0u32.to_le_bytes())?;
    out.write(&(hash.finish() as u32).to_le_bytes())?;
    Ok(())
}

pub(super) fn xxh32(b: &[u8]) -> u32 {
    twox_hash::XxHash32::oneshot(0, b)
}

/// Where an LZ4 frame ends (the count of units up to it) and its content checksum.
type FrameEnd = (usize, Option<u32>);

/// LZ4 frames of independent blocks, no dictionary: their blocks, if that is all the
/// file holds (skippable frames aside). Checksums are checked, in order.
fn lz4_units(data: &[u8]) -> Option<(Vec<Unit>, Vec<FrameEnd>)> {
    let rd = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
    };
    let mut units = Vec::new();
    // Per frame: the unit index where it ends and its content checksum.
    let mut frames = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let magic = rd(at)?;
        if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
            at = at.checked_add(8)?.checked_add(rd(at + 4)? as usize)?;
            continue;
        }
        if magic != uadk::comp::lz4frame::LZ4F_MAGIC {
            return None;
        }
        let (flg, bd) = (*data.get(at + 4)?, *data.get(at + 5)?);
        // Version 01, independent blocks, no dictionary, reserved bits clear.
        if flg >> 6 != 1 || flg & 0x20 == 0 || flg & 0x03 != 0 || bd & 0x8f != 0 {
            return None;
        }
        let max = match bd >> 4 {
            4 => 64 << 10,
            5 => 256 << 10,
            6 => 1 << 20,
            7 => 4 << 20,
            _ => return None,
        };
        let hlen = 2 + if flg & 0x08 != 0 { 8 } else { 0 };
        let hd = data.get(at + 4..at + 4 + hlen)?;
        if *data.get(at + 4 + hlen)? != (xxh32(hd) >> 8) as u8 {
            return None;
        }
        at += 4 + hlen + 1;
        let block_sum = flg & 0x10 != 0;
        loop {
            let w = rd(at)?;
            at += 4;
            if w == 0 {
                break;
            }
            let n = (w & 0x7fff_ffff) as usize;
            let end = at.checked_add(n)?;
            if n > max || end > data.len() {
                return None;
            }
            if block_sum {
                let s = rd(end)?;
                if xxh32(&data[at..end]) != s {
                    return None;
                }
            }
            let kind = if w & 0x8000_0000 != 0 {
                UnitKind::Copy
            } else {
                UnitKind::Block
            };
            units.push(Unit {
                start: at,
                end,
                out_len: if kind == UnitKind::Copy { n } else { max },
                kind,
            });
            at = end + if block_sum { 4 } else { 0 };
        }
        let sum = if flg & 0x04 != 0 {
            let s = rd(at)?;
            at += 4;
            Some(s)
        } else {
            None
        };
        frames.push((units.len(), sum));
    }
    (!units.is_empty()).then_some((units, frames))
}

/// `decompress -T` of LZ4 frames of independent blocks: the blocks at once.
pub fn decompress_lz4(data: &[u8], threads: usize, out: &mut Out<'_>) -> Result<Outcome> {
    let Some((units, frames)) = lz4_units(data) else {
        return Ok(Outcome::Declined { written: 0 });
    };
    // Content checksums are checked as the output goes by, frame by frame.
    let mut check = Lz4Check {
        frames,
        next: 0,
        unit: 0,
        hash: twox_hash::XxHash32::with_seed(0),
    };
    run_units(Alg::Lz4, data, &units, threads, out, &mut |b| check.add(b))
}

struct Lz4Check {
    frames: Vec<FrameEnd>,
    next: usize,
    unit: usize,
    hash: twox_hash::XxHash32,
}

impl Lz4Check {
    /// One unit's bytes, in order.
    fn add(&mut self, bytes: &[u8]) -> Result<()> {
        self.hash.write(bytes);
        self.unit += 1;
        while let Some(&(end, sum)) = self.frames.get(self.next) {
            if end != self.unit {
                break;
            }
            if let Some(s) = sum {
                if self.hash.finish() as u32 != s {
                    return Err(uadk::Error::ChecksumMismatch.into());
                }
            }
            self.hash = twox_hash::XxHash32::with_seed(0);
            self.next += 1;
        }
        Ok(())
    }
}
