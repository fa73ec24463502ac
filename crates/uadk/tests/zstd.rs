//! zstd (ours, beyond UADK): every level zstd offers, block and stream modes, SGL and
//! async requests, `Encoder`/`Decoder`, frames the `zstd` tool reads and frames it writes,
//! several frames and skippable frames in one input, and typed errors for bad input.
//! `.ci/run` installs `zstd`; a missing one fails the test rather than skipping it.

mod common;

use common::*;
use std::io::{Read, Write};
use std::sync::mpsc;
use uadk::{
    Alg, Completion, Decoder, Encoder, Error, JobBuf, Level, OpType, Session, SessionSetup,
    WindowSize,
};

fn zs(op: OpType, level: i32, window: WindowSize) -> Session {
    comp()
        .session(
            &SessionSetup::new(Alg::Zstd, op)
                .level(Level::zstd(level).unwrap())
                .window(window),
        )
        .expect("zstd session")
}

fn dec() -> Session {
    zs(OpType::Decompress, 3, WindowSize::W32K)
}

/// A skippable frame holding `payload`.
fn skippable(n: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = (0x184D_2A50u32 + n as u32).to_le_bytes().to_vec();
    v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

fn decode_all(d: &Session, packed: &[u8], cap: usize) -> uadk::Result<Vec<u8>> {
    let mut out = vec![0u8; cap.max(1)];
    let n = d.process(packed, &mut out)?;
    out.truncate(n);
    Ok(out)
}

fn reader_all(packed: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    Decoder::with_session(dec(), packed)
        .unwrap()
        .read_to_end(&mut out)?;
    Ok(out)
}

#[test]
fn block_and_stream_round_trip_at_every_kind_of_level() {
    let d = dec();
    for level in [-50, -5, -1, 1, 3, 9, 15, 19] {
        for window in [WindowSize::W4K, WindowSize::W32K] {
            let c = zs(OpType::Compress, level, window);
            for (name, data) in shapes(1 << 20) {
                let what = format!("L{level} {window:?} {name}");
                let packed = c.process_to_vec(&data).unwrap();
                assert_eq!(&packed[..4], &[0x28, 0xB5, 0x2F, 0xFD], "{what}: magic");
                assert_eq!(decode_all(&d, &packed, data.len()).unwrap(), data, "{what}");
                let streamed = stream_all(&c, &data, 10_000, 3000).unwrap();
                assert_eq!(
                    stream_all(&d, &streamed, 777, 555).unwrap(),
                    data,
                    "{what} stream"
                );
                assert_eq!(d.process_to_vec(&packed).unwrap(), data, "{what} to_vec");
            }
        }
    }
    // The strongest levels, on less data (they are slow).
    let data = text_bytes(200_000, 5);
    for level in [20, 22] {
        let packed = zs(OpType::Compress, level, WindowSize::W32K)
            .process_to_vec(&data)
            .unwrap();
        assert_eq!(
            decode_all(&d, &packed, data.len()).unwrap(),
            data,
            "L{level}"
        );
    }
}

#[test]
fn higher_levels_compress_better() {
    let data = text_bytes(1 << 20, 8);
    let size = |l| {
        zs(OpType::Compress, l, WindowSize::W32K)
            .process_to_vec(&data)
            .unwrap()
            .len()
    };
    let (fast, one, nineteen) = (size(-20), size(1), size(19));
    assert!(fast > one && one > nineteen, "{fast} {one} {nineteen}");
}

#[test]
fn levels_are_checked_per_algorithm() {
    let zstd_only = Level::zstd(19).unwrap();
    for alg in CPU_ALGS.into_iter().filter(|&a| a != Alg::Zstd) {
        let e = comp()
            .session(&SessionSetup::new(alg, OpType::Compress).level(zstd_only))
            .unwrap_err();
        assert!(matches!(e, Error::InvalidParam(_)), "{alg}: {e}");
    }
    for l in [Level::ZSTD_MIN, -1, 1, 22] {
        zs(OpType::Compress, l, WindowSize::W32K);
    }
    assert!(Level::zstd(23).is_err() && Level::zstd(Level::ZSTD_MIN - 1).is_err());
}

#[test]
fn stream_flush_emits_everything_consumed() {
    let c = zs(OpType::Compress, 3, WindowSize::W32K);
    let d = dec();
    c.reset();
    d.reset();
    let mut out = vec![0u8; 4096];
    let mut back = vec![0u8; 4096];
    let o = c
        .stream_flush(b"hello, flushed world", &mut out, false, true)
        .unwrap();
    assert!(!o.end && o.consumed == 20 && o.produced > 0);
    // What was flushed decodes on its own, before the frame ends.
    let r = d.stream(&out[..o.produced], &mut back, false).unwrap();
    assert_eq!(&back[..r.produced], b"hello, flushed world");
    assert!(!r.end);
}

#[test]
fn sgl_and_async_requests() {
    let data = text_bytes(300_000, 6);
    let c = zs(OpType::Compress, 1, WindowSize::W32K);
    let d = dec();
    let segs: Vec<&[u8]> = data.chunks(70_000).collect();
    let mut packed = vec![0u8; c.compress_bound(data.len())];
    let n = {
        let (a, b) = packed.split_at_mut(1000);
        let mut dst: Vec<&mut [u8]> = vec![a, b];
        c.process_sgl(&segs, &mut dst).unwrap()
    };
    packed.truncate(n);
    assert_eq!(decode_all(&d, &packed, data.len()).unwrap(), data);

    let (tx, rx) = mpsc::channel::<Completion>();
    let tx2 = tx.clone();
    c.submit(
        JobBuf::Flat(data.clone()),
        JobBuf::Flat(vec![0u8; c.compress_bound(data.len())]),
        Box::new(move |cm| tx2.send(cm).unwrap()),
    )
    .unwrap();
    let cm = loop {
        comp().poll(16).unwrap();
        if let Ok(cm) = rx.try_recv() {
            break cm;
        }
    };
    let JobBuf::Flat(z) = cm.dst else {
        panic!("flat")
    };
    cm.result.unwrap();
    d.submit(
        JobBuf::Flat(z),
        JobBuf::Flat(vec![0u8; data.len()]),
        Box::new(move |cm| tx.send(cm).unwrap()),
    )
    .unwrap();
    let cm = loop {
        comp().poll(16).unwrap();
        if let Ok(cm) = rx.try_recv() {
            break cm;
        }
    };
    let JobBuf::Flat(back) = cm.dst else {
        panic!("flat")
    };
    assert_eq!(back, data);
}

#[test]
fn encoder_and_decoder() {
    let data = text_bytes(3 << 20, 7);
    let mut enc = Encoder::new(Vec::new(), Alg::Zstd, Level::L3).unwrap();
    for part in data.chunks(100_001) {
        enc.write_all(part).unwrap();
    }
    let packed = enc.finish().unwrap();
    assert_eq!(pipe("zstd", &["-d", "-c", "-q"], &packed), data);
    let mut back = Vec::new();
    Decoder::new(&packed[..], Alg::Zstd)
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, data);
    // An empty input still makes one (empty) frame.
    let empty = Encoder::new(Vec::new(), Alg::Zstd, Level::L1)
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(pipe("zstd", &["-d", "-c", "-q"], &empty), b"");
    assert_eq!(reader_all(&empty).unwrap(), b"");
}

#[test]
fn zstd_tool_reads_ours() {
    for (name, data) in shapes(2 << 20) {
        for level in [-3, 1, 3, 12] {
            let c = zs(OpType::Compress, level, WindowSize::W32K);
            let block = c.process_to_vec(&data).unwrap();
            assert_eq!(
                pipe("zstd", &["-d", "-c", "-q"], &block),
                data,
                "L{level} {name} block"
            );
            let streamed = stream_all(&c, &data, 65_536, 10_000).unwrap();
            assert_eq!(
                pipe("zstd", &["-d", "-c", "-q"], &streamed),
                data,
                "L{level} {name} stream"
            );
        }
    }
}

#[test]
fn we_read_the_zstd_tools() {
    let d = dec();
    for (name, data) in shapes(2 << 20) {
        for opts in [
            &["-1"][..],
            &["-3"],
            &["-19"],
            &["--fast=4"],
            &["--no-check", "-5"],
            &["--ultra", "-21"],
            &["--long=24", "-3"],
        ] {
            let mut args = opts.to_vec();
            args.extend(["-c", "-q"]);
            let z = pipe("zstd", &args, &data);
            let what = format!("zstd {opts:?} {name}");
            assert_eq!(d.process_to_vec(&z).unwrap(), data, "{what} to_vec");
            assert_eq!(
                stream_all(&d, &z, 1000, 4096).unwrap(),
                data,
                "{what} stream"
            );
            assert_eq!(reader_all(&z).unwrap(), data, "{what} reader");
        }
    }
}

#[test]
fn several_frames_and_skippable_frames_are_one_stream() {
    let a = text_bytes(200_000, 1);
    let b = random_bytes(30_000, 2);
    let c = text_bytes(5, 3);
    let ours = zs(OpType::Compress, 1, WindowSize::W32K)
        .process_to_vec(&b)
        .unwrap();
    let mut file = pipe("zstd", &["-c", "-q", "-3"], &a);
    file.extend(skippable(0, b"metadata the decoder skips"));
    file.extend_from_slice(&ours);
    file.extend(skippable(15, &[]));
    file.extend(pipe("zstd", &["-c", "-q", "--no-check"], &c));
    let want: Vec<u8> = [&a[..], &b, &c].concat();
    let d = dec();
    assert_eq!(decode_all(&d, &file, want.len()).unwrap(), want, "block");
    let o = {
        let mut out = vec![0u8; want.len()];
        d.process_output(&file, &mut out).unwrap()
    };
    assert_eq!((o.consumed, o.produced), (file.len(), want.len()));
    assert_eq!(stream_all(&d, &file, 333, 1000).unwrap(), want, "stream");
    assert_eq!(reader_all(&file).unwrap(), want, "reader");
    assert_eq!(pipe("zstd", &["-d", "-c", "-q"], &file), want, "zstd -d");
    // Only skippable frames: a valid, empty stream.
    let only = skippable(3, b"nothing else");
    assert_eq!(decode_all(&d, &only, 16).unwrap(), b"");
    assert_eq!(reader_all(&only).unwrap(), b"");
}

/// Decode `bad` every way; each must fail with a data error, never panic or succeed
/// with other content.
fn all_fail(bad: &[u8], good: &[u8], what: &str) -> Vec<Error> {
    let d = dec();
    let mut errs = Vec::new();
    match decode_all(&d, bad, good.len() + 64) {
        Err(e) => errs.push(e),
        Ok(v) => assert_ne!(v, good, "{what}: block decoded to the original"),
    }
    match stream_all(&d, bad, 100, 4096) {
        Err(e) => errs.push(e),
        Ok(v) => assert_ne!(v, good, "{what}: stream decoded to the original"),
    }
    match reader_all(bad) {
        Err(e) => {
            let inner = e
                .get_ref()
                .and_then(|x| x.downcast_ref::<Error>())
                .unwrap_or_else(|| panic!("{what}: untyped reader error {e}"));
            errs.push(inner.clone());
        }
        Ok(v) => assert_ne!(v, good, "{what}: reader decoded to the original"),
    }
    for e in &errs {
        assert!(e.is_data_error(), "{what}: {e:?}");
    }
    errs
}

#[test]
fn corrupt_and_truncated_frames_give_typed_errors() {
    let data = text_bytes(100_000, 9);
    let packed = zs(OpType::Compress, 3, WindowSize::W32K)
        .process_to_vec(&data)
        .unwrap();
    for cut in [
        1,
        3,
        4,
        6,
        packed.len() / 2,
        packed.len() - 4,
        packed.len() - 1,
    ] {
        let errs = all_fail(&packed[..cut], &data, &format!("cut at {cut}"));
        assert_eq!(errs.len(), 3, "cut {cut}");
        assert!(
            errs.iter().all(|e| *e == Error::TruncatedInput),
            "cut {cut}: {errs:?}"
        );
    }
    let mut bad_sum = packed.clone();
    *bad_sum.last_mut().unwrap() ^= 0x55;
    let errs = all_fail(&bad_sum, &data, "checksum");
    assert!(
        errs.iter().all(|e| *e == Error::ChecksumMismatch),
        "{errs:?}"
    );
    let mut bad_magic = packed.clone();
    bad_magic[0] ^= 1;
    for e in all_fail(&bad_magic, &data, "magic") {
        assert!(matches!(e, Error::CorruptData(_)), "{e:?}");
    }
    let mut trailing = packed.clone();
    trailing.extend_from_slice(b"garbage after the frame");
    all_fail(&trailing, &data, "trailing garbage");
    for i in (0..packed.len()).step_by(97) {
        let mut b = packed.clone();
        b[i] ^= 0xA5;
        let d = dec();
        if let Err(e) = decode_all(&d, &b, data.len() + 64) {
            assert!(e.is_data_error(), "flip at {i}: {e:?}");
        }
    }
    assert_eq!(
        decode_all(&dec(), &[], 16).unwrap_err(),
        Error::TruncatedInput
    );
    // Output space too small is the caller's fault, and says so.
    let e = decode_all(&dec(), &packed, 1000).unwrap_err();
    assert!(matches!(e, Error::OutputTooSmall { .. }), "{e:?}");
    let mut small = [0u8; 8];
    let e = zs(OpType::Compress, 1, WindowSize::W32K)
        .process(&data, &mut small)
        .unwrap_err();
    assert!(matches!(e, Error::OutputTooSmall { .. }), "{e:?}");
}
