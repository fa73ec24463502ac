//! The frontier's markdown section: a table per page set, our levels beside the codecs the
//! engine calls, the zlib decoders.

use super::points::{Family, Format};
use super::runs::Decoder;
use super::{frontier_of, speed, Dir, Measured, PAGE, RATIO_MARGIN, SPEED_MARGIN};
use crate::compare::measure::num;
use std::fmt::Write as _;
use uadk::{Alg, Level, OpType, WindowSize};

/// The engine's codec for a zlib request of one page at a UADK level, as the engine says.
pub(super) fn engine_choice(level: u32) -> String {
    let params = uadk::ReqParams {
        alg: Alg::Zlib,
        op: OpType::Compress,
        level: Level::new(level).unwrap_or(Level::L1),
        window: WindowSize::W4K,
    };
    uadk::drv::cpu::deflate_codec(&params, PAGE).to_string()
}

/// The markdown section.
pub(super) fn report(res: &[Measured], runs: u32, chart: Option<&str>) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "### The 4 KiB page frontier\n");
    let _ = writeln!(
        md,
        "One independent stream per 4 KiB page, one call per page, buffers reused, on one \
         core: QEMU's multifd `uadk` pattern (zlib, `comp_lv` 0 = level 1, `win_sz` 0 = a \
         4 KiB window). zlib points use 12 window bits where the codec takes them (ISA-L's \
         `hist_bits`, zlib-rs) — libdeflate has no window setting, and needs none on a \
         page; zstd gets `windowLog` 12; lz4 is the raw block. Each point decompresses with \
         its own library; `uadk` points are `Session::process` on a zlib session with \
         `WindowSize::W4K` (or lz4, or zstd with the same window), CPU engine. {runs} runs, interleaved; MB/s of pages \
         (median, range). A point is **on the frontier** when no other is at least as good \
         in both ratio and MB/s and better by {:.0}% in MB/s or {:.1}% in ratio; `all` \
         judges among every point, `zlib` among the zlib points only (what a zlib session \
         may return).\n",
        (SPEED_MARGIN - 1.0) * 100.0,
        (RATIO_MARGIN - 1.0) * 100.0,
    );
    if let Some(f) = chart {
        let _ = writeln!(md, "![4 KiB page frontier]({f})\n");
    }
    for m in res {
        let _ = writeln!(md, "#### {}\n\n{}.\n", m.set.name, m.set.what);
        let pts = &m.points;
        let all: Vec<usize> = (0..pts.len()).collect();
        let zlib: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| pts[i].format == Format::Zlib)
            .collect();
        // Which points of `keep` no other point of `keep` beats, by index into `pts`.
        let on = |keep: &[usize], d: Dir| {
            let mut on = vec![false; pts.len()];
            for (k, dom) in keep.iter().zip(frontier_of(pts, keep, d)) {
                on[*k] = dom.is_none();
            }
            on
        };
        let (on_c_all, on_d_all) = (on(&all, Dir::Compress), on(&all, Dir::Decompress));
        let (on_c_z, on_d_z) = (on(&zlib, Dir::Compress), on(&zlib, Dir::Decompress));
        let mut order = all.clone();
        order.sort_by(|&a, &b| pts[a].ratio.total_cmp(&pts[b].ratio));
        let _ = writeln!(
            md,
            "| point | format | ratio | compress MB/s | decompress MB/s | frontier, compress | frontier, decompress |\n|---|---|---:|---:|---:|---|---|"
        );
        let mark = |all: bool, z: bool, is_zlib: bool| match (all, z, is_zlib) {
            (true, _, _) => "all",
            (false, true, true) => "zlib",
            _ => "",
        };
        for &i in &order {
            let p = &pts[i];
            let name = if p.family == Family::Ours {
                format!("**{}**", p.name)
            } else {
                p.name.clone()
            };
            let z = p.format == Format::Zlib;
            let _ = writeln!(
                md,
                "| {name} | {} | {:.3} | {} | {} | {} | {} |",
                p.format.name(),
                p.ratio,
                p.comp.show(),
                p.decomp.show(),
                mark(on_c_all[i], on_c_z[i], z),
                mark(on_d_all[i], on_d_z[i], z),
            );
        }
        // The engine's choices are judged among the bare zlib codecs: our stack can only
        // match the codec it calls (its own cost is the stack/codec column).
        let bare_zlib: Vec<usize> = zlib
            .iter()
            .copied()
            .filter(|&i| pts[i].family != Family::Ours)
            .collect();
        let bare_dom = frontier_of(pts, &bare_zlib, Dir::Compress);
        let _ = writeln!(
            md,
            "\nOur levels: each UADK level's zlib session (4 KiB window) beside the codec the \
             engine calls for it, and whether that codec is on the compress frontier of the \
             bare zlib codecs:\n\n| UADK level | engine's codec | ratio | stack MB/s | codec MB/s | stack / codec | codec on the zlib frontier | beaten by |\n|---|---|---:|---:|---:|---:|---|---|"
        );
        for &i in &zlib {
            let p = &pts[i];
            let Some(l) = p.level else { continue };
            let choice = engine_choice(l);
            let at = bare_zlib.iter().position(|&j| pts[j].name == choice);
            let (codec_speed, verdict, by) = match at {
                Some(k) => {
                    let b = &pts[bare_zlib[k]];
                    let by = match bare_dom[k] {
                        Some(j) => format!(
                            "{} ({:.3}, {} MB/s)",
                            pts[j].name,
                            pts[j].ratio,
                            num(speed(&pts[j], Dir::Compress))
                        ),
                        None => "–".into(),
                    };
                    let v = if bare_dom[k].is_none() { "yes" } else { "no" };
                    (speed(b, Dir::Compress), v, by)
                }
                None => (0.0, "not measured", "–".into()),
            };
            let ours = speed(p, Dir::Compress);
            let _ = writeln!(
                md,
                "| {l} | {choice} | {:.3} | {} | {} | {} | {verdict} | {by} |",
                p.ratio,
                num(ours),
                num(codec_speed),
                if codec_speed > 0.0 {
                    format!("{:.3}", ours / codec_speed)
                } else {
                    "–".into()
                },
            );
        }
        if !m.decoders.is_empty() {
            let _ = writeln!(
                md,
                "\nThe zlib decoders on the same pages (MB/s of pages, median and range):\n\n\
                 | pages of | {} |\n|---|{}",
                Decoder::NAMES.join(" | "),
                "---:|".repeat(Decoder::NAMES.len())
            );
            for chunk in m.decoders.chunks(Decoder::NAMES.len()) {
                let cells: Vec<String> = chunk.iter().map(|(_, _, s)| s.show()).collect();
                let _ = writeln!(md, "| {} | {} |", chunk[0].0, cells.join(" | "));
            }
        }
        for e in &m.errors {
            let _ = writeln!(md, "\nLeft out: {e}.");
        }
        let _ = writeln!(md);
    }
    md
}
