//! `lz77_zstd` and `lz77_only` as the engine returns them, from the CPU engine and from the
//! hisi driver over the device model: every `lz77_zstd` output becomes a real zstd frame
//! (libzstd's `ZSTD_compressSequences` and `ZSTD_compressSequencesAndLiterals`) that the
//! `zstd` command line decodes to the input; every `lz77_only` output is replayed. Block and
//! stream, flat and SGL, levels 8 and 9, UADK's size rules and error codes.

mod common;

use common::{random_bytes, text_bytes};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use uadk::hw::lz77::{Freq, Reps, Seq, StreamReps};
use uadk::model::{self, DeviceGroup};
use uadk::{
    Alg, BlockType, Comp, CompConfig, CtxMode, Error, JobBuf, Level, Lz77Output, OpType, Output,
    Session, SessionSetup, TaskType, WindowSize,
};
use zstd_sys as z;

fn cpu() -> &'static Comp {
    static C: OnceLock<Comp> = OnceLock::new();
    C.get_or_init(|| {
        Comp::new(
            CompConfig::new()
                .task_type(TaskType::Instr)
                .ctxs(CtxMode::Sync, OpType::Compress, 1)
                .ctxs(CtxMode::Async, OpType::Compress, 1),
        )
        .expect("cpu")
    })
}

fn hw() -> &'static Comp {
    static C: OnceLock<Comp> = OnceLock::new();
    C.get_or_init(|| {
        model::install(&[DeviceGroup {
            count: 1,
            node: 0,
            hw_ver: 3,
            queues: 16,
            engine: uadk::model::EngineKind::Zip,
        }])
        .expect("model");
        let c = Comp::new(
            CompConfig::new()
                .task_type(TaskType::Hw)
                .ctxs(CtxMode::Sync, OpType::Compress, 2)
                .ctxs(CtxMode::Async, OpType::Compress, 1),
        )
        .expect("hisi over the model");
        assert_eq!(c.driver_name(), uadk::drv::hisi::DRIVER_NAME);
        c
    })
}

fn engines() -> [(&'static str, &'static Comp); 2] {
    [("cpu", cpu()), ("hisi", hw())]
}

fn sess(c: &Comp, alg: Alg, level: u32, w: WindowSize) -> Session {
    c.session(
        &SessionSetup::new(alg, OpType::Compress)
            .level(Level::new(level).unwrap())
            .window(w),
    )
    .expect("session")
}

/// A zstd frame from per-block sequences (explicit block delimiters), through
/// `ZSTD_compressSequences`, with a content checksum the CLI verifies.
fn frame(input: &[u8], blocks: &[(Vec<Seq>, usize)]) -> Vec<u8> {
    let mut zs = Vec::new();
    for (seqs, tail) in blocks {
        for s in seqs {
            assert!(s.match_len > 0, "lz77_zstd has no literal-only records");
            zs.push(z::ZSTD_Sequence {
                offset: s.offset,
                litLength: s.lit_len,
                matchLength: s.match_len,
                rep: 0,
            });
        }
        zs.push(z::ZSTD_Sequence {
            offset: 0,
            litLength: *tail as u32,
            matchLength: 0,
            rep: 0,
        });
    }
    // SAFETY: plain libzstd calls on buffers we own, with their sizes.
    unsafe {
        let cctx = z::ZSTD_createCCtx();
        let set = |p, v| assert_eq!(z::ZSTD_isError(z::ZSTD_CCtx_setParameter(cctx, p, v)), 0);
        set(z::ZSTD_cParameter::ZSTD_c_compressionLevel, 3);
        set(z::ZSTD_cParameter::ZSTD_c_windowLog, 17);
        set(z::ZSTD_cParameter::ZSTD_c_minMatch, 3);
        set(z::ZSTD_cParameter::ZSTD_c_checksumFlag, 1);
        set(z::ZSTD_cParameter::ZSTD_c_experimentalParam11, 1); // blockDelimiters: explicit
        set(z::ZSTD_cParameter::ZSTD_c_experimentalParam12, 1); // validateSequences
        let mut out = vec![0u8; z::ZSTD_compressBound(input.len()) + 64];
        let n = z::ZSTD_compressSequences(
            cctx,
            out.as_mut_ptr().cast(),
            out.len(),
            zs.as_ptr(),
            zs.len(),
            input.as_ptr().cast(),
            input.len(),
        );
        z::ZSTD_freeCCtx(cctx);
        assert_eq!(
            z::ZSTD_isError(n),
            0,
            "ZSTD_compressSequences: {}",
            err_name(n)
        );
        out.truncate(n);
        out
    }
}

/// A zstd frame from the engine's literal area itself (`ZSTD_compressSequencesAndLiterals`).
fn frame_with_literals(
    input_len: usize,
    blocks: &[(Vec<Seq>, usize)],
    literals: &[u8],
) -> Option<Vec<u8>> {
    let mut zs = Vec::new();
    for (seqs, tail) in blocks {
        zs.extend(seqs.iter().map(|s| z::ZSTD_Sequence {
            offset: s.offset,
            litLength: s.lit_len,
            matchLength: s.match_len,
            rep: 0,
        }));
        zs.push(z::ZSTD_Sequence {
            offset: 0,
            litLength: *tail as u32,
            matchLength: 0,
            rep: 0,
        });
    }
    let mut lits = literals.to_vec();
    let lit_size = lits.len();
    lits.resize(lit_size + 8, 0);
    // SAFETY: plain libzstd calls on buffers we own, with their sizes.
    unsafe {
        let cctx = z::ZSTD_createCCtx();
        let set = |p, v| assert_eq!(z::ZSTD_isError(z::ZSTD_CCtx_setParameter(cctx, p, v)), 0);
        set(z::ZSTD_cParameter::ZSTD_c_compressionLevel, 3);
        set(z::ZSTD_cParameter::ZSTD_c_windowLog, 17);
        set(z::ZSTD_cParameter::ZSTD_c_minMatch, 3);
        set(z::ZSTD_cParameter::ZSTD_c_experimentalParam11, 1);
        let mut out = vec![0u8; z::ZSTD_compressBound(input_len) + 64];
        let n = z::ZSTD_compressSequencesAndLiterals(
            cctx,
            out.as_mut_ptr().cast(),
            out.len(),
            zs.as_ptr(),
            zs.len(),
            lits.as_ptr().cast(),
            lit_size,
            lits.len(),
            input_len,
        );
        z::ZSTD_freeCCtx(cctx);
        // It refuses incompressible blocks by design.
        (z::ZSTD_isError(n) == 0).then(|| {
            out.truncate(n);
            out
        })
    }
}

fn err_name(n: usize) -> String {
    // SAFETY: libzstd returns a static C string.
    unsafe { std::ffi::CStr::from_ptr(z::ZSTD_getErrorName(n)) }
        .to_string_lossy()
        .into_owned()
}

/// The `zstd` command line's decoding of `frame` (setup.sh installs it).
fn zstd_cli_decode(frame: &[u8]) -> Vec<u8> {
    let mut child = Command::new("zstd")
        .args(["-d", "-c", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the zstd command line (Debian package zstd; scripts/setup.sh installs it)");
    let mut stdin = child.stdin.take().unwrap();
    let f = frame.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&f));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "zstd -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn zstd_lib_decode(frame: &[u8], cap: usize) -> Vec<u8> {
    let mut out = vec![0u8; cap];
    // SAFETY: plain libzstd call on our buffers.
    let n = unsafe {
        z::ZSTD_decompress(
            out.as_mut_ptr().cast(),
            out.len(),
            frame.as_ptr().cast(),
            frame.len(),
        )
    };
    // SAFETY: pure function.
    assert_eq!(unsafe { z::ZSTD_isError(n) }, 0, "{}", err_name(n));
    out.truncate(n);
    out
}

/// Literals after the last record of an output.
fn tail_of(o: &Lz77Output<'_>, seqs: &[Seq]) -> usize {
    o.meta().lit_num as usize - seqs.iter().map(|s| s.lit_len as usize).sum::<usize>()
}

/// The frequency table recomputed from the records and literals.
fn freq_of(o: &Lz77Output<'_>) -> Freq {
    let mut f = Freq::default();
    f.add_literals(o.literals());
    for (i, r) in o.records().enumerate() {
        let mut ll = r.lit_len as u32;
        if o.overflow().0 > 0 && i as u32 == o.overflow().1 {
            ll += o.overflow().0 << 16;
        }
        f.add_record(ll, r.match_len as u32 + 3, r.offset);
    }
    f
}

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut overflow = random_bytes(70_000, 9);
    overflow.extend_from_slice(&text_bytes(131_072 - 70_000, 3));
    vec![
        ("text 128K", text_bytes(131_072, 1)),
        ("text 5000", text_bytes(5000, 2)),
        ("random 100K", random_bytes(100_000, 4)),
        ("literal overflow", overflow),
        ("zeros 128K", vec![0u8; 131_072]),
        ("one byte", vec![42]),
        ("six bytes", b"abcabc".to_vec()),
    ]
}

#[test]
fn lz77_zstd_blocks_become_zstd_frames_on_every_engine() {
    let mut saw_overflow = 0;
    for (level, w) in [
        (8, WindowSize::W32K),
        (8, WindowSize::W4K),
        (9, WindowSize::W32K),
    ] {
        for (name, data) in inputs() {
            let mut outs = Vec::new();
            for (engine, c) in engines() {
                let s = sess(c, Alg::Lz77Zstd, level, w);
                let mut buf = vec![0u8; s.compress_bound(data.len())];
                let o = s
                    .lz77(&data, &mut buf)
                    .unwrap_or_else(|e| panic!("{engine} {name}: {e}"));
                let what = format!("{engine} L{level} {w:?} {name}");
                assert_eq!(o.consumed(), data.len(), "{what}");
                assert_eq!(o.meta().seq_offset, data.len() + 16, "{what}");
                let seqs = o.sequences(&mut Reps::default()).unwrap();
                assert!(
                    seqs.iter().all(|s| s.offset as usize <= w.bytes()),
                    "{what}"
                );
                assert_eq!(o.rebuild(&seqs, &[]).unwrap(), data, "{what}: replay");
                assert_eq!(o.freq().unwrap(), freq_of(&o), "{what}: frequency table");
                if o.overflow().0 > 0 {
                    saw_overflow += 1;
                    assert_eq!(o.overflow(), (1, 0), "{what}");
                }
                let blocks = [(seqs.clone(), tail_of(&o, &seqs))];
                let f = frame(&data, &blocks);
                assert_eq!(zstd_cli_decode(&f), data, "{what}: zstd -d");
                if let Some(f2) = frame_with_literals(data.len(), &blocks, o.literals()) {
                    assert_eq!(
                        zstd_lib_decode(&f2, data.len()),
                        data,
                        "{what}: with literals"
                    );
                    assert_eq!(zstd_cli_decode(&f2), data, "{what}: with literals, zstd -d");
                }
                outs.push(o.bytes().to_vec());
            }
            assert_eq!(
                outs[0], outs[1],
                "L{level} {name}: CPU engine and model agree byte for byte"
            );
        }
    }
    assert!(
        saw_overflow >= 2,
        "the literal-length overflow case was exercised"
    );
}

#[test]
fn lz77_sgl_outputs_split_at_an_entry() {
    let data = text_bytes(100_000, 7);
    for alg in [Alg::Lz77Zstd, Alg::Lz77Only] {
        for (engine, c) in engines() {
            let s = sess(c, alg, 8, WindowSize::W32K);
            let mut flat = vec![0u8; s.compress_bound(data.len())];
            let fo = s.lz77(&data, &mut flat).unwrap();
            let fseqs = fo.sequences(&mut Reps::default()).unwrap();
            // Entries of 3000 bytes: the literal area ends at the first boundary past 100016.
            let total = s.compress_bound(data.len());
            let mut segs: Vec<Vec<u8>> =
                (0..total.div_ceil(3000)).map(|_| vec![0u8; 3000]).collect();
            let srcs: Vec<&[u8]> = data.chunks(7777).collect();
            let o = {
                let mut d: Vec<&mut [u8]> = segs.iter_mut().map(|v| &mut v[..]).collect();
                s.lz77_sgl(&srcs, &mut d).unwrap()
            };
            let gathered: Vec<u8> = segs.concat();
            let v = Lz77Output::from_parts(alg, &gathered, &o).unwrap();
            assert_eq!(v.meta().seq_offset, 102_000, "{engine} {alg}");
            let seqs = v.sequences(&mut Reps::default()).unwrap();
            assert_eq!(seqs, fseqs, "{engine} {alg}: same sequences as flat");
            assert_eq!(v.rebuild(&seqs, &[]).unwrap(), data);
            if alg == Alg::Lz77Zstd {
                assert_eq!(v.freq().unwrap(), freq_of(&v));
                let f = frame(&data, &[(seqs.clone(), tail_of(&v, &seqs))]);
                assert_eq!(zstd_cli_decode(&f), data, "{engine}: SGL frame");
            }
            // Entries too short to hold the literals and then the sequences.
            let mut short: Vec<Vec<u8>> = vec![vec![0u8; 50_000]; 2];
            let mut d: Vec<&mut [u8]> = short.iter_mut().map(|v| &mut v[..]).collect();
            assert!(
                matches!(s.lz77_sgl(&srcs, &mut d), Err(Error::InvalidParam(_))),
                "{engine}"
            );
        }
    }
}

/// Run a whole input through an lz77 stream in `chunk`-byte calls with `room` bytes of
/// output each; returns the per-call sequences (decoded as a consumer does) and the input.
fn stream_through(
    s: &Session,
    alg: Alg,
    data: &[u8],
    chunk: usize,
    room: usize,
    prev_of: impl Fn(usize) -> BlockType,
) -> Vec<(Vec<Seq>, usize, Vec<u8>)> {
    let mut calls = Vec::new();
    let mut reps = StreamReps::default();
    let mut history = Vec::new();
    let mut at = 0;
    let mut k = 0;
    s.reset();
    loop {
        let end = (at + chunk).min(data.len());
        let last = end == data.len();
        let mut buf = vec![0u8; room];
        let prev = prev_of(k);
        let o = s.lz77_stream(&data[at..end], &mut buf, last, prev).unwrap();
        let mut r = reps.start(prev);
        let seqs = o.sequences(&mut r).unwrap();
        reps.end(r);
        let part = o.rebuild(&seqs, &history).unwrap();
        assert_eq!(part, &data[at..at + o.consumed()], "{alg} call {k}");
        history.extend_from_slice(&part);
        let tail = tail_of(&o, &seqs);
        calls.push((seqs, tail, o.literals().to_vec()));
        at += o.consumed();
        k += 1;
        if o.end() {
            assert_eq!(at, data.len());
            return calls;
        }
        assert!(k < 10_000, "stream makes progress");
    }
}

#[test]
fn lz77_streams_carry_history_and_repeat_offsets() {
    let data = text_bytes(1 << 20, 11);
    for (engine, c) in engines() {
        for level in [8, 9] {
            let s = sess(c, Alg::Lz77Zstd, level, WindowSize::W32K);
            let calls = stream_through(&s, Alg::Lz77Zstd, &data, 128 * 1024, 300 * 1024, |_| {
                BlockType::Compressed
            });
            assert_eq!(calls.len(), 8);
            // Matches reach into earlier calls: the first sequence of a later call can.
            let blocks: Vec<(Vec<Seq>, usize)> =
                calls.iter().map(|(s, t, _)| (s.clone(), *t)).collect();
            let f = frame(&data, &blocks);
            assert_eq!(zstd_cli_decode(&f), data, "{engine} L{level}: stream frame");
            let lits: Vec<u8> = calls.iter().flat_map(|c| c.2.iter().copied()).collect();
            let f2 = frame_with_literals(data.len(), &blocks, &lits).expect("text compresses");
            assert_eq!(
                zstd_cli_decode(&f2),
                data,
                "{engine} L{level}: with literals"
            );
            // A caller that sent some blocks raw: the engine resumes from the offsets before
            // them, and a consumer tracking the same rule replays every call.
            stream_through(&s, Alg::Lz77Zstd, &data, 64 * 1024, 200 * 1024, |k| {
                if k % 3 == 1 {
                    BlockType::Raw
                } else {
                    BlockType::Compressed
                }
            });
            // Little sequence space: calls consume less and the stream still completes.
            let calls = stream_through(
                &s,
                Alg::Lz77Zstd,
                &data[..200_000],
                128 * 1024,
                128 * 1024 + 16 + 6000,
                |_| BlockType::Compressed,
            );
            assert!(calls.len() > 2, "{engine}: short calls");
        }
        let s = sess(c, Alg::Lz77Only, 8, WindowSize::W16K);
        let mut mixed = random_bytes(300_000, 5);
        mixed.extend_from_slice(&data[..300_000]);
        stream_through(&s, Alg::Lz77Only, &mixed, 256 * 1024, 600 * 1024, |_| {
            BlockType::Raw
        });
    }
}

#[test]
fn lz77_only_replays_blocks_up_to_8_mib() {
    let mut big = random_bytes(200_000, 21);
    big.extend_from_slice(&text_bytes(1 << 20, 22));
    big.extend_from_slice(&vec![7u8; 300_000]);
    for (engine, c) in engines() {
        for level in [8, 9] {
            let s = sess(c, Alg::Lz77Only, level, WindowSize::W32K);
            for data in [&big[..], &big[..5], &big[..100_000]] {
                let mut buf = vec![0u8; s.compress_bound(data.len())];
                let o = s.lz77(data, &mut buf).unwrap();
                assert_eq!(o.overflow(), (0, 0));
                assert!(o.freq().is_none());
                let seqs = o.sequences(&mut Reps::default()).unwrap();
                assert!(
                    seqs.iter().all(|s| s.lit_len <= 0xffff),
                    "{engine}: records stand alone"
                );
                if data.len() == big.len() && level == 8 {
                    // (Price mode finds 3-byte matches even in random data.)
                    let runs: Vec<u32> = seqs.iter().take(8).map(|s| s.lit_len).collect();
                    assert!(
                        seqs.iter().any(|s| s.match_len == 0),
                        "{engine} L{level}: literal-only records {runs:?} {}",
                        seqs.len()
                    );
                    let longest = seqs.iter().map(|s| s.match_len).max().unwrap_or(0);
                    // zstd's blocks are at most the window long, and so are its matches.
                    assert!(
                        longest > 30_000,
                        "{engine} L{level}: long run of 7s, not {longest}"
                    );
                }
                assert_eq!(
                    o.rebuild(&seqs, &[]).unwrap(),
                    data,
                    "{engine} L{level} {}",
                    data.len()
                );
                // The 16-byte tail: literal count, sequence count, input consumed.
                let t = &o.bytes()[o.meta().seq_offset + o.meta().seq_num as usize * 8..][..16];
                assert_eq!(
                    u32::from_le_bytes(t[..4].try_into().unwrap()),
                    o.meta().lit_num
                );
                assert_eq!(
                    u32::from_le_bytes(t[8..12].try_into().unwrap()) as usize,
                    data.len()
                );
            }
        }
    }
}

#[test]
fn sizes_levels_and_directions_are_checked_as_uadk_does() {
    let data = text_bytes(131_072, 30);
    for (engine, c) in engines() {
        let s = sess(c, Alg::Lz77Zstd, 8, WindowSize::W32K);
        let big = vec![1u8; 131_073];
        let mut buf = vec![0u8; 1 << 20];
        let inval = |r: uadk::Result<Lz77Output<'_>>| matches!(r, Err(Error::InvalidParam(_)));
        assert!(inval(s.lz77(&big, &mut buf)), "{engine}: more than 128 KiB");
        let mut small = vec![0u8; data.len() + 16 + 783];
        assert!(
            inval(s.lz77(&data, &mut small)),
            "{engine}: no room for the frequency table"
        );
        // Room for the table but not for the sequences: the engine's ERR_DSTLEN_OUT.
        let mut small = vec![0u8; data.len() + 16 + 2000];
        assert!(
            matches!(s.lz77(&data, &mut small), Err(Error::OutputTooSmall { .. })),
            "{engine}"
        );
        let mut out = vec![0u8; data.len() + 16 + 1000];
        assert!(
            inval(s.lz77_stream(&data, &mut out, true, BlockType::Compressed)),
            "{engine}: stream minimum"
        );
        s.reset();
        let p = sess(c, Alg::Lz77Zstd, 9, WindowSize::W32K);
        let mut out = vec![0u8; data.len() + 16 + 4096];
        assert!(
            inval(p.lz77_stream(&data, &mut out, true, BlockType::Compressed)),
            "{engine}: price minimum"
        );
        p.reset();
        for level in [1, 6, 10] {
            let s = sess(c, Alg::Lz77Zstd, level, WindowSize::W32K);
            assert!(inval(s.lz77(&data, &mut buf)), "{engine}: level {level}");
        }
        let o = sess(c, Alg::Lz77Only, 8, WindowSize::W32K);
        let mut out = vec![0u8; 1000 + 16 + 15];
        assert!(
            inval(o.lz77(&data[..1000], &mut out)),
            "{engine}: lz77_only tail"
        );
        assert!(
            c.session(&SessionSetup::new(Alg::Lz77Zstd, OpType::Decompress))
                .is_err(),
            "{engine}: no lz77 decompression"
        );
    }
}

/// Finished async requests: output and report.
type Done = Vec<(Vec<u8>, Output)>;

#[test]
fn lz77_async_requests_report_their_layout() {
    let data = text_bytes(100_000, 40);
    for (engine, c) in engines() {
        let s = sess(c, Alg::Lz77Zstd, 8, WindowSize::W32K);
        let got: Arc<Mutex<Done>> = Arc::default();
        for _ in 0..4 {
            let g = got.clone();
            s.submit(
                JobBuf::Flat(data.clone()),
                JobBuf::Flat(vec![0u8; s.compress_bound(data.len())]),
                Box::new(move |cpl| {
                    let out = cpl.result.expect("async lz77");
                    let JobBuf::Flat(v) = cpl.dst else { panic!() };
                    g.lock().unwrap().push((v, out));
                }),
            )
            .map_err(|e| e.error)
            .unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while got.lock().unwrap().len() < 4 {
            c.poll(16).unwrap();
            assert!(
                std::time::Instant::now() < deadline,
                "{engine}: completions"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        for (buf, out) in got.lock().unwrap().iter() {
            let o = Lz77Output::from_parts(Alg::Lz77Zstd, buf, out).unwrap();
            let seqs = o.sequences(&mut Reps::default()).unwrap();
            let f = frame(&data, &[(seqs.clone(), tail_of(&o, &seqs))]);
            assert_eq!(zstd_lib_decode(&f, data.len()), data, "{engine}: async");
        }
    }
}
