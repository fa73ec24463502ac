//! zstd: one frame per chunk, and frames that state their sizes decoded at once.

use super::decompress::{run_units, Outcome, Unit, UnitKind};
use super::framework;
use super::io::{Input, Out};
use super::pipeline::Pipeline;
use crate::common::{Error, Result};
use uadk::{Alg, Level, OpType, SessionSetup, WindowSize};

/// Chunk of a zstd frame.
const ZSTD_CHUNK: usize = 2 << 20;

/// `compress -T`: zstd, one frame per chunk.
pub fn compress_zstd(
    level: Level,
    window: WindowSize,
    threads: usize,
    input: Input<'_>,
    out: &mut Out<'_>,
) -> Result<()> {
    let comp = framework(Alg::Zstd, OpType::Compress, threads)?;
    let sess = comp.session(
        &SessionSetup::new(Alg::Zstd, OpType::Compress)
            .level(level)
            .window(window),
    )?;
    let cap = sess.compress_bound(ZSTD_CHUNK);
    let mut pipe = Pipeline::new(&comp, &sess, threads * 2 + 1, cap);
    let mut src = input.source();
    pipe.pump(
        &mut src,
        ZSTD_CHUNK,
        (false, false),
        |_| {},
        |pipe, d| {
            let o = d.result.as_ref().map_err(|e| Error::from(e.clone()))?;
            out.write(pipe.output(d, o.produced))?;
            Ok(())
        },
    )?;
    Ok(())
}

/// zstd frames of a file, if each is a frame stating its content size (or skippable).
fn zstd_units(data: &[u8]) -> Option<Vec<Unit>> {
    use zstd::zstd_safe;
    let mut units = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let rest = &data[at..];
        let n = zstd_safe::find_frame_compressed_size(rest).ok()?;
        if n == 0 || n > rest.len() {
            return None;
        }
        if rest.len() >= 4
            && u32::from_le_bytes(rest[..4].try_into().ok()?) & 0xFFFF_FFF0 == 0x184D_2A50
        {
            at += n;
            continue;
        }
        let size = zstd_safe::get_frame_content_size(rest).ok()??;
        units.push(Unit {
            start: at,
            end: at + n,
            out_len: usize::try_from(size).ok()?,
            kind: UnitKind::Block,
        });
        at += n;
    }
    (units.len() > 1).then_some(units)
}

/// `decompress -T` of zstd frames that state their sizes: the frames at once.
pub fn decompress_zstd(data: &[u8], threads: usize, out: &mut Out<'_>) -> Result<Outcome> {
    let Some(units) = zstd_units(data) else {
        return Ok(Outcome::Declined { written: 0 });
    };
    run_units(Alg::Zstd, data, &units, threads, out, &mut |_| Ok(()))
}
