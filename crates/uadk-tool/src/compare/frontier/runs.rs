//! The timed runs: every point on every page set, interleaved, and the zlib decoders on
//! the pages of a few encodings.

use super::points::{points, stack, Codec, Point};
use super::{Measured, PageSet, PAGE, ROOM, TRAIN_EVERY};
use crate::common::{Error, Result};
use crate::compare::clock::thread_cpu_secs;
use crate::compare::measure::{mb_per_s, Stats};
use uadk::drv::cpu::isal::{IsalInflate, Wrapper};
use uadk::Alg;

/// The zlib decoders a CPU engine could use, each on the pages of a few encodings.
pub(super) enum Decoder {
    Isal(IsalInflate),
    Libdeflate(libdeflater::Decompressor),
    ZlibRs(flate2::Decompress),
    Stack(Codec),
}

impl Decoder {
    pub(super) const NAMES: [&'static str; 4] = [
        "ISA-L (isal_inflate_stateless)",
        "libdeflate",
        "zlib-rs (flate2)",
        "uadk stack (engine's block inflate)",
    ];

    fn all() -> Result<Vec<Decoder>> {
        Ok(vec![
            Decoder::Isal(IsalInflate::new()),
            Decoder::Libdeflate(libdeflater::Decompressor::new()),
            // 15 window bits: libdeflate's streams declare 32 KiB.
            Decoder::ZlibRs(flate2::Decompress::new_with_window_bits(true, 15)),
            Decoder::Stack(stack(Alg::Zlib, 1)?),
        ])
    }

    fn run(&mut self, src: &[u8], dst: &mut [u8]) -> Result<usize> {
        let e = || Error::msg("a decoder refused a page");
        Ok(match self {
            Decoder::Isal(d) => d.decompress(src, dst, Wrapper::Zlib).map_err(|_| e())?.1,
            Decoder::Libdeflate(d) => d.zlib_decompress(src, dst).map_err(|_| e())?,
            Decoder::ZlibRs(d) => {
                d.reset(true);
                match d.decompress(src, dst, flate2::FlushDecompress::Finish) {
                    Ok(flate2::Status::StreamEnd) => d.total_out() as usize,
                    _ => return Err(e()),
                }
            }
            Decoder::Stack(c) => c.decompress(src, dst)?,
        })
    }
}

/// Encodings whose pages every decoder inflates: ISA-L 1 (our level 1), the trained code,
/// libdeflate 6 (our level 6), zlib-rs 6.
const DECODED: [&str; 4] = ["isal1", "isal0t", "ld6", "z6"];

/// Every decoder on the pages of each [`DECODED`] point, `runs` times, interleaved.
fn measure_decoders(
    points: &[Point],
    pages: &[u8],
    runs: u32,
) -> Result<Vec<(String, &'static str, Stats)>> {
    let mut decs = Decoder::all()?;
    let mut back = vec![0u8; PAGE];
    let enc: Vec<&Point> = DECODED
        .iter()
        .filter_map(|k| points.iter().find(|p| p.short == *k))
        .collect();
    let mut stats = vec![Stats::default(); enc.len() * decs.len()];
    for run in 0..runs {
        for (e, p) in enc.iter().enumerate() {
            for k in 0..decs.len() {
                let d = if run % 2 == 0 { k } else { decs.len() - 1 - k };
                let mut total = 0usize;
                let t0 = thread_cpu_secs();
                for &(s, l) in &p.ranges {
                    total += decs[d].run(&p.packed[s..s + l], &mut back).map_err(|e| {
                        Error::msg(format!("{} on {}: {e}", Decoder::NAMES[d], p.name))
                    })?;
                }
                let secs = thread_cpu_secs() - t0;
                if total != pages.len() {
                    return Err(Error::msg(format!("{}: {total} bytes back", p.name)));
                }
                stats[e * decs.len() + d]
                    .0
                    .push(mb_per_s(pages.len(), secs));
            }
        }
    }
    let mut out = Vec::new();
    for (e, p) in enc.iter().enumerate() {
        for (d, name) in Decoder::NAMES.iter().enumerate() {
            out.push((p.name.clone(), *name, stats[e * decs.len() + d].clone()));
        }
    }
    Ok(out)
}

/// Measure every point on every page set, `runs` times, interleaved.
pub(super) fn measure(sets: Vec<PageSet>, runs: u32, only: &[String]) -> Result<Vec<Measured>> {
    let mut out = vec![0u8; ROOM];
    let mut back = vec![0u8; PAGE];
    let mut res = Vec::new();
    for set in sets {
        // The trained code learns from 1 page in TRAIN_EVERY of the set itself: what an
        // engine could learn from the first pages of a migration.
        let train: Vec<u8> = set
            .pages
            .chunks(PAGE)
            .step_by(TRAIN_EVERY)
            .flatten()
            .copied()
            .collect();
        let mut points = points(&train)?;
        if !only.is_empty() {
            points.retain(|p| only.contains(&p.short));
        }
        let mut errors = Vec::new();
        let mut ok = vec![true; points.len()];
        eprintln!(
            "compare: page frontier on {} ({} pages), {} points",
            set.name,
            set.pages.len() / PAGE,
            points.len()
        );
        for (p, ok) in points.iter_mut().zip(ok.iter_mut()) {
            if let Err(e) = p.prepare(&set.pages, &mut out, &mut back) {
                errors.push(format!("{}: {e}", p.name));
                *ok = false;
            }
        }
        let n = points.len();
        for run in 0..runs {
            eprintln!("compare:   frontier run {}/{runs}", run + 1);
            let order: Vec<usize> = if run % 2 == 0 {
                (0..n).collect()
            } else {
                (0..n).rev().collect()
            };
            for &i in &order {
                if !ok[i] {
                    continue;
                }
                let p = &mut points[i];
                let r = p.time_compress(&set.pages, &mut out).and_then(|c| {
                    p.comp.0.push(c);
                    p.time_decompress(&set.pages, &mut back)
                });
                match r {
                    Ok(d) => p.decomp.0.push(d),
                    Err(e) => {
                        errors.push(format!("{}: {e}", p.name));
                        ok[i] = false;
                    }
                }
            }
        }
        points = points
            .into_iter()
            .zip(ok)
            .filter_map(|(p, ok)| ok.then_some(p))
            .collect();
        let decoders = match measure_decoders(&points, &set.pages, runs) {
            Ok(d) => d,
            Err(e) => {
                errors.push(format!("decoders: {e}"));
                Vec::new()
            }
        };
        res.push(Measured {
            set,
            points,
            errors,
            decoders,
        });
    }
    Ok(res)
}
