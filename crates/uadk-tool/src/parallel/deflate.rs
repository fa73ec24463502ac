//! gzip, zlib and raw deflate in parts of one deflate stream; our gzip header with its
//! index of the parts, written when compressing and read back to inflate the parts at once.

use super::decompress::{run_units, Outcome, Unit, UnitKind};
use super::framework;
use super::io::{Input, Out};
use super::pipeline::Pipeline;
use crate::common::{Error, Result};
use std::io::Write;
use std::os::unix::fs::FileExt;
use uadk::{Alg, Level, OpType, SessionSetup, WindowSize};

/// Chunk of a deflate part at level 1 (ISA-L): small enough to keep both cores busy to
/// the end, large enough that the parts' lost history costs little ratio.
const PART_L1: usize = 1 << 20;
/// Chunk of a deflate part at the other levels.
const PART_LN: usize = 2 << 20;

/// The most parts an index holds (the extra field is at most 65535 bytes).
const MAX_PARTS: usize = 16_000;
/// Index subfield id in the gzip extra field, and its version.
const INDEX_ID: [u8; 2] = *b"UP";
const INDEX_VERSION: u8 = 1;
/// Bytes of the index subfield before its sizes: version, 3 reserved, part size, count.
const INDEX_FIXED: usize = 1 + 3 + 4 + 4;
/// Bytes before the first compressed size in our gzip header (fixed header, XLEN, the
/// subfield's id and length, then [`INDEX_FIXED`]).
const INDEX_SIZES_AT: usize = 10 + 2 + 4 + INDEX_FIXED;

/// The deflate family's container around the parts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wrap {
    Raw,
    Zlib,
    Gzip,
}

/// Running checksum of the content, in order.
enum Check {
    None,
    Adler(u32),
    Crc(crc32fast::Hasher),
}

impl Check {
    fn new(w: Wrap) -> Check {
        match w {
            Wrap::Raw => Check::None,
            Wrap::Zlib => Check::Adler(1),
            Wrap::Gzip => Check::Crc(crc32fast::Hasher::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Check::None => {}
            Check::Adler(a) => {
                for piece in data.chunks(1 << 30) {
                    // SAFETY: the pointer and length describe `piece`, which adler32 reads.
                    *a = unsafe {
                        libz_rs_sys::adler32(*a as _, piece.as_ptr(), piece.len() as u32)
                    } as u32;
                }
            }
            Check::Crc(h) => h.update(data),
        }
    }
}

/// gzip header: ours, with room for the index of `parts` parts when there are any.
fn gzip_header(parts: usize, part_size: usize, level: u32) -> Vec<u8> {
    let xfl = match level {
        1 => 4,
        l if l >= 9 => 2,
        _ => 0,
    };
    let mut h = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3];
    if parts > 0 {
        h[3] = 4; // FEXTRA
        let sub = INDEX_FIXED + 4 * parts;
        h.extend_from_slice(&((4 + sub) as u16).to_le_bytes());
        h.extend_from_slice(&INDEX_ID);
        h.extend_from_slice(&(sub as u16).to_le_bytes());
        h.push(INDEX_VERSION);
        h.extend_from_slice(&[0, 0, 0]);
        h.extend_from_slice(&(part_size as u32).to_le_bytes());
        h.extend_from_slice(&(parts as u32).to_le_bytes());
        debug_assert_eq!(h.len(), INDEX_SIZES_AT);
        h.resize(h.len() + 4 * parts, 0);
    }
    h
}

/// `compress -T`: deflate, zlib or gzip in parts.
pub fn compress_deflate(
    wrap: Wrap,
    level: Level,
    window: WindowSize,
    threads: usize,
    input: Input<'_>,
    out: &mut Out<'_>,
) -> Result<()> {
    let comp = framework(Alg::Deflate, OpType::Compress, threads)?;
    let sess = comp.session(
        &SessionSetup::new(Alg::Deflate, OpType::Compress)
            .level(level)
            .window(window),
    )?;
    let mut size = if level.get() == 1 { PART_L1 } else { PART_LN };
    let known = input.len();
    // An index when the size is known and the header can be rewritten.
    let index = match known {
        Some(n) if wrap == Wrap::Gzip && out.seekable => {
            size = size.max(n.div_ceil(MAX_PARTS));
            n.div_ceil(size).max(1)
        }
        _ => 0,
    };
    let start = out.count;
    match wrap {
        Wrap::Gzip => out.write(&gzip_header(index, size, level.get()))?,
        Wrap::Zlib => {
            let mut h = [0x78u8, 0x9c];
            let cinfo = window.bits() - 8;
            let flevel: u8 = match level.get() {
                1 => 0,
                2..=5 => 1,
                6 => 2,
                _ => 3,
            };
            h[0] = (cinfo << 4) | 8;
            h[1] = flevel << 6;
            h[1] += (31 - ((h[0] as u16 * 256 + h[1] as u16) % 31) as u8) % 31;
            out.write(&h)?
        }
        Wrap::Raw => {}
    }
    let mut check = Check::new(wrap);
    let mut sizes: Vec<u32> = Vec::new();
    let cap = sess.compress_bound(size) + 64;
    let mut pipe = Pipeline::new(&comp, &sess, threads * 2 + 1, cap);
    let mut src = input.source();
    let mut total = 0u64;
    pipe.pump(
        &mut src,
        size,
        (true, false),
        |b| {
            // The checksum, in order, while the engines work.
            check.update(b);
            total += b.len() as u64;
        },
        |pipe, d| {
            let o = d.result.as_ref().map_err(|e| Error::from(e.clone()))?;
            let bytes = pipe.output(d, o.produced);
            out.file.write_all(bytes)?;
            out.count += bytes.len() as u64;
            sizes.push(o.produced as u32);
            Ok(())
        },
    )?;
    drop(pipe);
    match check {
        Check::Crc(h) => {
            let mut t = h.finalize().to_le_bytes().to_vec();
            t.extend_from_slice(&(total as u32).to_le_bytes());
            out.write(&t)?;
        }
        Check::Adler(a) => out.write(&a.to_be_bytes())?,
        Check::None => {}
    }
    if index > 0 {
        if sizes.len() != index {
            return Err(Error::msg(format!(
                "the input changed size while it was read ({} parts, {index} expected)",
                sizes.len()
            )));
        }
        let table: Vec<u8> = sizes.iter().flat_map(|s| s.to_le_bytes()).collect();
        out.file
            .write_all_at(&table, start + INDEX_SIZES_AT as u64)?;
    }
    Ok(())
}

/// Index of one of our gzip files: (header length, parts as units), if it is one.
fn gzip_units(data: &[u8]) -> Option<(usize, Vec<Unit>)> {
    if data.len() < INDEX_SIZES_AT + 8 || data[..4] != [0x1f, 0x8b, 8, 4] {
        return None;
    }
    let xlen = u16::from_le_bytes([data[10], data[11]]) as usize;
    let rd = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
    if data[12..14] != INDEX_ID || data[16] != INDEX_VERSION {
        return None;
    }
    let sub = u16::from_le_bytes([data[14], data[15]]) as usize;
    let (part, count) = (rd(20), rd(24));
    let hdr = 12 + xlen;
    if Some(sub)
        != count
            .checked_mul(4)
            .and_then(|n| n.checked_add(INDEX_FIXED))
        || xlen != 4 + sub
        || count == 0
        || part == 0
        || data.len() < hdr + 8
    {
        return None;
    }
    let isize = rd(data.len() - 4);
    let mut units = Vec::with_capacity(count);
    let mut at = hdr;
    for k in 0..count {
        let c = rd(INDEX_SIZES_AT + 4 * k);
        let last = k + 1 == count;
        units.push(Unit {
            start: at,
            end: at.checked_add(c)?,
            out_len: part,
            kind: UnitKind::Part { last },
        });
        at = at.checked_add(c)?;
    }
    // The parts fill the member exactly, the trailer after them; the content's size
    // is the parts' (mod 2^32, as gzip states it).
    let total = part.checked_mul(count)?;
    let last_len = isize.wrapping_sub(part.wrapping_mul(count - 1)) & 0xffff_ffff;
    if at + 8 != data.len() || last_len > part || (total as u64) < last_len as u64 {
        return None;
    }
    units.last_mut().expect("count > 0").out_len = last_len;
    Some((hdr, units))
}

/// `decompress -T` of a gzip file of ours: its parts at once. Any other file, or a part
/// that does not inflate alone, is declined: the sequential reader then gives zlib's
/// verdict.
pub fn decompress_gzip(data: &[u8], threads: usize, out: &mut Out<'_>) -> Result<Outcome> {
    let Some((_hdr, units)) = gzip_units(data) else {
        return Ok(Outcome::Declined { written: 0 });
    };
    let trailer = &data[data.len() - 8..];
    let crc = u32::from_le_bytes(trailer[..4].try_into().expect("4 bytes"));
    let mut h = crc32fast::Hasher::new();
    let r = run_units(Alg::Deflate, data, &units, threads, out, &mut |b| {
        h.update(b);
        Ok(())
    })?;
    if r == Outcome::Done && h.finalize() != crc {
        return Err(uadk::Error::ChecksumMismatch.into());
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::Mapped;
    use std::fs::File;

    fn scratch(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("uadk-par-{}-{name}", std::process::id()))
    }

    /// Some compressible bytes: words of a small vocabulary, a counter between them.
    fn sample(n: usize) -> Vec<u8> {
        let words = ["alpha ", "beta ", "gamma ", "delta\n", "epsilon "];
        let mut v = Vec::with_capacity(n + 16);
        let mut i = 0u64;
        while v.len() < n {
            v.extend_from_slice(words[(i * 7 % 5) as usize].as_bytes());
            v.extend_from_slice(i.to_string().as_bytes());
            i += 1;
        }
        v.truncate(n);
        v
    }

    #[test]
    fn the_index_reads_back_as_written() {
        let mut h = gzip_header(3, 1 << 20, 6);
        for (k, c) in [100u32, 200, 50].iter().enumerate() {
            h[INDEX_SIZES_AT + 4 * k..][..4].copy_from_slice(&c.to_le_bytes());
        }
        let hdr = h.len();
        h.resize(hdr + 350, 0);
        // Trailer: a CRC, then 2 MiB + 7 bytes of content.
        h.extend_from_slice(&[0; 4]);
        h.extend_from_slice(&((2 << 20) + 7u32).to_le_bytes());
        let (at, units) = gzip_units(&h).expect("our own index");
        assert_eq!(at, hdr);
        let got: Vec<_> = units
            .iter()
            .map(|u| (u.start - hdr, u.end - hdr, u.out_len))
            .collect();
        assert_eq!(got, [(0, 100, 1 << 20), (100, 300, 1 << 20), (300, 350, 7)]);
        // A subfield length other than the layout's is not our index.
        let mut bad = h.clone();
        bad[14] += 4;
        bad[10] += 4;
        assert!(gzip_units(&bad).is_none());
    }

    /// A `-T` gzip file written to a regular file inflates by its index, all parts at
    /// once, rather than being declined to the sequential reader.
    #[test]
    fn our_parts_decompress_in_parallel() {
        let data = sample(5 << 20);
        let (src_path, gz_path, out_path) = (scratch("in"), scratch("gz"), scratch("out"));
        std::fs::write(&src_path, &data).unwrap();
        let src = File::open(&src_path).unwrap();
        let mapped = Mapped::new(&src, data.len() as u64).expect("mapped");
        let mut gz = File::create(&gz_path).unwrap();
        let mut out = Out {
            file: &mut gz,
            seekable: true,
            count: 0,
        };
        compress_deflate(
            Wrap::Gzip,
            Level::L6,
            WindowSize::W32K,
            2,
            Input::Mapped(&mapped),
            &mut out,
        )
        .unwrap();
        drop(gz);
        let packed = std::fs::read(&gz_path).unwrap();
        let (_, units) = gzip_units(&packed).expect("an index");
        assert_eq!(units.len(), data.len().div_ceil(PART_LN));
        let mut sink = File::create(&out_path).unwrap();
        let mut out = Out {
            file: &mut sink,
            seekable: true,
            count: 0,
        };
        assert_eq!(
            decompress_gzip(&packed, 2, &mut out).unwrap(),
            Outcome::Done
        );
        drop(sink);
        assert!(std::fs::read(&out_path).unwrap() == data);
        for p in [src_path, gz_path, out_path] {
            let _ = std::fs::remove_file(p);
        }
    }
}
