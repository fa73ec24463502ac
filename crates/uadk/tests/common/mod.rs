//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use uadk::{Alg, Comp, CompConfig, CtxMode, Level, OpType, Session, SessionSetup, WindowSize};

/// One framework instance per test binary, with sync and async contexts.
pub fn comp() -> &'static Comp {
    static C: OnceLock<Comp> = OnceLock::new();
    C.get_or_init(|| {
        Comp::new(
            CompConfig::new()
                .ctxs(CtxMode::Sync, OpType::Compress, 2)
                .ctxs(CtxMode::Sync, OpType::Decompress, 2)
                .ctxs(CtxMode::Async, OpType::Compress, 2)
                .ctxs(CtxMode::Async, OpType::Decompress, 2),
        )
        .expect("init")
    })
}

pub fn sess(alg: Alg, op: OpType, level: u32, window: WindowSize) -> Session {
    comp()
        .session(
            &SessionSetup::new(alg, op)
                .level(Level::new(level).unwrap())
                .window(window),
        )
        .expect("session")
}

/// Deterministic xorshift bytes.
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Text-like data with repeats near and far.
pub fn text_bytes(n: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "lazy",
        "dog",
        "compression",
        "accelerator",
        "queue",
        "context",
        "session",
        "stream",
        "window",
        "level",
        "\n",
    ];
    let r = random_bytes(n / 2 + 16, seed);
    let mut out = Vec::with_capacity(n + 16);
    let mut i = 0;
    while out.len() < n {
        out.extend_from_slice(WORDS[r[i % r.len()] as usize % WORDS.len()].as_bytes());
        out.push(b' ');
        i += 1;
    }
    out.truncate(n);
    out
}

/// Data shapes every test runs over.
pub fn shapes(big: usize) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty", Vec::new()),
        ("one", vec![42]),
        ("zeros", vec![0; 70_000]),
        ("text", text_bytes(100_000, 1)),
        ("random", random_bytes(50_000, 2)),
        ("big-text", text_bytes(big, 3)),
    ]
}

/// Compress through stream mode with the given input and output chunk sizes.
pub fn stream_all(
    s: &Session,
    data: &[u8],
    in_chunk: usize,
    out_chunk: usize,
) -> uadk::Result<Vec<u8>> {
    s.reset();
    let mut out = Vec::new();
    let mut buf = vec![0u8; out_chunk];
    let mut i = 0;
    loop {
        let end = (i + in_chunk).min(data.len());
        let last = end == data.len();
        let r = s.stream(&data[i..end], &mut buf, last)?;
        out.extend_from_slice(&buf[..r.produced]);
        i += r.consumed;
        if r.end {
            return Ok(out);
        }
        if r.consumed == 0 && r.produced == 0 && last {
            return Err(uadk::Error::TruncatedInput);
        }
    }
}

pub const DEFLATE_ALGS: [Alg; 3] = [Alg::Deflate, Alg::Zlib, Alg::Gzip];
pub const CPU_ALGS: [Alg; 4] = [Alg::Deflate, Alg::Zlib, Alg::Gzip, Alg::Lz4];

/// Run a command with `input` on stdin; return stdout, panicking with stderr on failure.
pub fn pipe(cmd: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd} (.ci/run installs it): {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn wbits(alg: Alg) -> i32 {
    match alg {
        Alg::Deflate => -15,
        Alg::Zlib => 15,
        _ => 31,
    }
}

pub fn py_inflate(alg: Alg, data: &[u8]) -> Vec<u8> {
    let script = format!(
        "import sys,zlib\nd=zlib.decompressobj({})\nout=d.decompress(sys.stdin.buffer.read())\nassert d.eof, 'stream not finished'\nsys.stdout.buffer.write(out)",
        wbits(alg)
    );
    pipe("python3", &["-c", &script], data)
}

pub fn py_deflate(alg: Alg, level: i32, window_bits: i32, data: &[u8]) -> Vec<u8> {
    let w = match alg {
        Alg::Deflate => -window_bits,
        Alg::Zlib => window_bits,
        _ => window_bits + 16,
    };
    let script = format!(
        "import sys,zlib\nc=zlib.compressobj({level},zlib.DEFLATED,{w})\ndata=sys.stdin.buffer.read()\nout=b''.join(c.compress(data[i:i+1000]) for i in range(0,len(data),1000))+c.flush()\nsys.stdout.buffer.write(out)"
    );
    pipe("python3", &["-c", &script], data)
}

/// Two streams back to back: block decompression reads the first one only, and says where
/// it ended (`consumed`) so a caller can go on with the next one (gzip members, say).
pub fn check_block_inflate_stops_at_stream_end(c: &Session, d: &Session, alg: Alg) {
    let data = text_bytes(30_000, 11);
    let one = c.process_to_vec(&data).unwrap();
    let mut two = one.clone();
    two.extend_from_slice(&one);
    let mut out = vec![0u8; data.len() * 2];
    let o = d.process_output(&two, &mut out).unwrap();
    assert_eq!(
        (o.consumed, o.produced, o.end),
        (one.len(), data.len(), true),
        "{alg:?}"
    );
    assert_eq!(&out[..o.produced], &data[..], "{alg:?}");
}
