//! The targets of docs/performance.md: each row against its peer, with its verdict.

use super::measure::{num, AsyncScaling, Row, Stats, RSS_CTXS};
use super::report::find;
use super::{Family, ASYNC_WINDOW};
/// One verdict of the targets table.
pub(super) struct Target {
    pub(super) what: String,
    pub(super) measured: String,
    pub(super) factor: Option<f64>,
    pub(super) met: Option<bool>,
}

pub(super) fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "not met",
        None => "not measured",
    }
}

/// Ratio of the medians of two figures.
pub(super) fn speedup(ours: &Stats, theirs: &Stats) -> Option<f64> {
    Some(ours.median()? / theirs.median()?)
}

/// One speed target: ours against a peer, each named by row key and shown by name.
pub(super) struct Versus {
    pub(super) what: &'static str,
    pub(super) ours: (&'static str, &'static str),
    pub(super) theirs: (&'static str, &'static str),
    pub(super) decompress: bool,
    /// How far (relative) our ratio may fall short of the peer's; `None`: not judged.
    pub(super) ratio_tol: Option<f64>,
    /// The least speed factor that meets the target.
    pub(super) min: f64,
}

/// Speed against a peer, at a ratio at least the peer's (to the tolerance).
pub(super) fn versus(rows: &[Row], v: &Versus) -> Target {
    let (Some(a), Some(b)) = (find(rows, v.ours.0), find(rows, v.theirs.0)) else {
        return Target {
            what: v.what.into(),
            measured: format!("{} or {} not measured", v.ours.1, v.theirs.1),
            factor: None,
            met: None,
        };
    };
    let (sa, sb) = if v.decompress {
        (&a.decomp, &b.decomp)
    } else {
        (&a.comp, &b.comp)
    };
    let f = speedup(sa, sb);
    let (ra, rb) = (a.ratio.unwrap_or(0.0), b.ratio.unwrap_or(0.0));
    let ratio_ok = v.ratio_tol.is_none_or(|tol| ra >= rb * (1.0 - tol));
    let speed = |s: &Stats| s.median().map_or("–".into(), num);
    let side = |name: &str, s: &Stats, r: f64| match v.ratio_tol {
        Some(_) => format!("{name} {} MB/s, ratio {r:.3}", speed(s)),
        None => format!("{name} {} MB/s", speed(s)),
    };
    Target {
        what: v.what.into(),
        measured: format!("{} vs {}", side(v.ours.1, sa, ra), side(v.theirs.1, sb, rb)),
        factor: f,
        met: f.map(|f| f >= v.min && ratio_ok),
    }
}

pub(super) const VERSUS: [Versus; 13] = [
    Versus {
        what: "level 1 compress ≥ 1.0× `igzip -1`, ratio ≥ igzip's (in-process, whole file)",
        ours: ("uadk-L1-whole", "stack"),
        theirs: ("igzip-1", "`igzip -1`"),
        decompress: false,
        ratio_tol: Some(0.001),
        min: 1.0,
    },
    Versus {
        what: "… the same, CLI against CLI (file I/O and start-up included)",
        ours: ("tool-L1", "`uadk_tool compress -l 1`"),
        theirs: ("igzip-1", "`igzip -1`"),
        decompress: false,
        ratio_tol: Some(0.001),
        min: 1.0,
    },
    Versus {
        what: "decompress ≥ 1.0× `igzip -d` (in-process, whole file, each its own level-1 output)",
        ours: ("uadk-L1-whole", "stack"),
        theirs: ("igzip-1", "`igzip -d`"),
        decompress: true,
        ratio_tol: None,
        min: 1.0,
    },
    Versus {
        what: "… the same, CLI against CLI",
        ours: ("tool-L1", "`uadk_tool decompress`"),
        theirs: ("igzip-1", "`igzip -d`"),
        decompress: true,
        ratio_tol: None,
        min: 1.0,
    },
    Versus {
        what: "level 6 ratio ≥ `libdeflate-gzip -6` at ≥ 1.0× its speed (in-process, whole file)",
        ours: ("uadk-L6-whole", "stack"),
        theirs: ("libdeflate-6", "`libdeflate-gzip -6`"),
        decompress: false,
        ratio_tol: Some(0.0),
        min: 1.0,
    },
    Versus {
        what: "… the same, CLI against CLI (a regular file up to 1 GiB: one libdeflate request, as `libdeflate-gzip`)",
        ours: ("tool-L6", "`uadk_tool compress -l 6`"),
        theirs: ("libdeflate-6", "`libdeflate-gzip -6`"),
        decompress: false,
        ratio_tol: Some(0.0),
        min: 1.0,
    },
    Versus {
        what: "lz4 ≥ 1.0× the `lz4` tool's speed at its ratio (to 1%; in-process, whole file)",
        ours: ("uadk-lz4-whole", "stack"),
        theirs: ("lz4-1", "`lz4 -1`"),
        decompress: false,
        ratio_tol: Some(0.01),
        min: 1.0,
    },
    Versus {
        what: "… the same, CLI against CLI (LZ4 frames both)",
        ours: ("tool-lz4", "`uadk_tool compress -a lz4`"),
        theirs: ("lz4-1", "`lz4 -1`"),
        decompress: false,
        ratio_tol: Some(0.01),
        min: 1.0,
    },
    Versus {
        what: "LZ4 frames in-process (`Encoder`) ≥ 1.0× `lz4 -1` at its ratio (to 1%)",
        ours: ("uadk-lz4-stream", "stack, frames"),
        theirs: ("lz4-1", "`lz4 -1`"),
        decompress: false,
        ratio_tol: Some(0.01),
        min: 1.0,
    },
    Versus {
        what:
            "zstd level 1 compress ≥ 0.95× the zstd library at its ratio (in-process, whole file)",
        ours: ("uadk-zstd1-whole", "stack"),
        theirs: ("bare-zstd1-whole", "libzstd"),
        decompress: false,
        ratio_tol: Some(0.001),
        min: 0.95,
    },
    Versus {
        what: "… decompress ≥ 0.95× the zstd library",
        ours: ("uadk-zstd1-whole", "stack"),
        theirs: ("bare-zstd1-whole", "libzstd"),
        decompress: true,
        ratio_tol: None,
        min: 0.95,
    },
    Versus {
        what:
            "zstd level 3 compress ≥ 0.95× the zstd library at its ratio (in-process, whole file)",
        ours: ("uadk-zstd3-whole", "stack"),
        theirs: ("bare-zstd3-whole", "libzstd"),
        decompress: false,
        ratio_tol: Some(0.001),
        min: 0.95,
    },
    Versus {
        what: "… decompress ≥ 0.95× the zstd library",
        ours: ("uadk-zstd3-whole", "stack"),
        theirs: ("bare-zstd3-whole", "libzstd"),
        decompress: true,
        ratio_tol: None,
        min: 0.95,
    },
];

pub(super) fn targets(rows: &[Row], scaling: Option<&AsyncScaling>) -> Vec<Target> {
    let mut t: Vec<Target> = VERSUS.iter().map(|v| versus(rows, v)).collect();
    for (family, codecs) in [
        (
            Family::L1,
            ["gzip L1 (ISA-L)", "gzip L1 (inflate: zlib-rs)"],
        ),
        (
            Family::L6,
            ["gzip L6 (libdeflate)", "gzip L6 (inflate: zlib-rs)"],
        ),
        (Family::Lz4, ["lz4 (lz4_flex)", "lz4 (lz4_flex)"]),
        (Family::Zstd1, ["zstd L1 (libzstd)", "zstd L1 (libzstd)"]),
        (Family::Zstd3, ["zstd L3 (libzstd)", "zstd L3 (libzstd)"]),
    ] {
        for decompress in [false, true] {
            let codec = codecs[decompress as usize];
            let k = family.key();
            let (Some(stack), Some(bare)) = (
                find(rows, &format!("uadk-{k}-4k")),
                find(rows, &format!("bare-{k}-4k")),
            ) else {
                continue;
            };
            let (a, b) = if decompress {
                (&stack.decomp, &bare.decomp)
            } else {
                (&stack.comp, &bare.comp)
            };
            let f = speedup(a, b);
            let op = if decompress { "decompress" } else { "compress" };
            t.push(Target {
                what: format!("4 KiB pages through the stack ≥ 0.95× the bare codec: {codec} {op}"),
                measured: format!(
                    "stack {} MB/s vs bare {} MB/s",
                    a.median().map_or("–".into(), num),
                    b.median().map_or("–".into(), num)
                ),
                factor: f,
                met: f.map(|f| f >= 0.95),
            });
        }
    }
    let (measured, factor) = match scaling {
        Some(s) => (
            format!(
                "1 context {} MB/s, 2 contexts {} MB/s (gzip L1, 64 KiB, {} in flight, {} CPUs)",
                s.one.median().map_or("–".into(), num),
                s.two.median().map_or("–".into(), num),
                ASYNC_WINDOW,
                s.cpus
            ),
            speedup(&s.two, &s.one),
        ),
        None => ("not measured".into(), None),
    };
    t.push(Target {
        what: "async with 2 contexts ≥ 1.8× one context (`submit` + `poll_wait`)".into(),
        measured,
        factor,
        met: factor.map(|f| f >= 1.8),
    });
    t.extend(super::threads::targets(rows));
    let rss = scaling.and_then(|s| s.ctx_rss_kib);
    t.push(Target {
        what: "bounded RSS per context (warm sync context of the CPU engine)".into(),
        measured: match rss {
            Some(k) => format!(
                "{k:.0} KiB per context ({RSS_CTXS} compress + {RSS_CTXS} decompress contexts, \
                 each warmed with gzip L1, L6 and inflate)"
            ),
            None => "not measured".into(),
        },
        factor: None,
        // Bounded: what a context keeps is its codec state, reused; 2 MiB is the budget.
        met: rss.map(|k| k <= 2048.0),
    });
    t
}
