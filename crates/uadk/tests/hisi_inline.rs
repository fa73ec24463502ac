//! The hisi_zip driver over an in-line modelled engine (`EngineKind::ZipInline`, what the
//! fuzz targets use): each SQE executes in the thread that rings its doorbell, and every
//! mode still works through the same driver: block, stream with tiny outputs, SGL,
//! async with poll, and errors for corrupt input. A process has one model, so this file
//! is its own test binary.

mod common;

use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use uadk::drv::hisi::DRIVER_NAME;
use uadk::model::{self, DeviceGroup, EngineKind};
use uadk::{Alg, Comp, CompConfig, CtxMode, JobBuf, OpType, SessionSetup, TaskType, WindowSize};

fn hw() -> &'static Comp {
    static C: OnceLock<Comp> = OnceLock::new();
    C.get_or_init(|| {
        model::install(&[DeviceGroup {
            queues: 16,
            engine: EngineKind::ZipInline,
            ..DeviceGroup::default()
        }])
        .expect("model");
        let c = Comp::new(
            CompConfig::new()
                .task_type(TaskType::Hw)
                .ctxs(CtxMode::Sync, OpType::Compress, 1)
                .ctxs(CtxMode::Sync, OpType::Decompress, 1)
                .ctxs(CtxMode::Async, OpType::Compress, 1)
                .ctxs(CtxMode::Async, OpType::Decompress, 1),
        )
        .expect("init over the model");
        assert_eq!(c.driver_name(), DRIVER_NAME);
        c
    })
}

fn hs(alg: Alg, op: OpType) -> uadk::Session {
    hw().session(&SessionSetup::new(alg, op).window(WindowSize::W32K))
        .expect("session")
}

fn executed_and_rejected() -> (u64, u64) {
    let m = model::installed().expect("installed");
    let d = &m.devices()[0];
    (
        d.stats.executed.load(Ordering::Relaxed),
        d.stats.rejected.load(Ordering::Relaxed),
    )
}

/// Names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn every_mode_runs_in_line() {
    let data = text_bytes(200_000, 3);
    hw();
    let before = executed_and_rejected().0;
    for alg in [Alg::Deflate, Alg::Zlib, Alg::Gzip] {
        let c = hs(alg, OpType::Compress);
        let d = hs(alg, OpType::Decompress);
        // Block.
        let packed = c.process_to_vec(&data).unwrap();
        assert_eq!(py_inflate(alg, &packed), data, "{alg:?} block");
        let mut back = vec![0u8; data.len()];
        let n = d.process(&packed, &mut back).unwrap();
        assert_eq!(&back[..n], &data[..], "{alg:?} block inflate");
        // Streams, down to one byte of output per call.
        for (inc, outc) in [(777, 1000), (4096, 1), (1 << 20, 1 << 20)] {
            let s = stream_all(&c, &data[..30_000], inc, outc).unwrap();
            assert_eq!(py_inflate(alg, &s), &data[..30_000], "{alg:?} {inc}/{outc}");
            assert_eq!(
                stream_all(&d, &s, inc, outc).unwrap(),
                &data[..30_000],
                "{alg:?} inflate {inc}/{outc}"
            );
        }
        // SGL both sides.
        let src: Vec<&[u8]> = data.chunks(7000).collect();
        let mut segs = vec![vec![0u8; 50_000]; 8];
        let mut dst: Vec<&mut [u8]> = segs.iter_mut().map(|v| v.as_mut_slice()).collect();
        let n = c.process_sgl(&src, &mut dst).unwrap();
        let flat: Vec<u8> = segs.concat();
        assert_eq!(py_inflate(alg, &flat[..n]), data, "{alg:?} sgl");
        // Corrupt input is an error, not a hang.
        let mut bad = packed.clone();
        let k = bad.len() / 2;
        bad[k] ^= 0xff;
        bad.truncate(k + 8);
        assert!(d.process(&bad, &mut back).is_err(), "{alg:?} corrupt");
    }
    let (after, rejected) = executed_and_rejected();
    assert!(after > before, "the device executed the requests");
    assert_eq!(rejected, 0, "model errors");
    assert!(
        !thread_names().iter().any(|n| n.starts_with("hisi_zip-0-q")),
        "no engine thread: {:?}",
        thread_names()
    );
}

#[test]
fn async_requests_complete_through_poll() {
    let c = hw();
    let s = hs(Alg::Gzip, OpType::Compress);
    let done = Arc::new(AtomicUsize::new(0));
    let total = 3000;
    let mut sent = 0;

    while sent < total {
        let page = text_bytes(4096, sent as u64 % 17);
        let dn = done.clone();
        let r = s.submit(
            JobBuf::Flat(page.clone()),
            JobBuf::Flat(vec![0u8; 8192]),
            Box::new(move |comp| {
                comp.result.expect("async request");
                let JobBuf::Flat(v) = comp.dst else {
                    panic!("flat out")
                };
                let mut back = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&v[..]), &mut back)
                    .expect("gzip");
                assert_eq!(back, page);
                dn.fetch_add(1, Ordering::Relaxed);
            }),
        );
        match r {
            Ok(()) => sent += 1,
            Err(e) if e.error == uadk::Error::Busy => {
                c.poll(0).unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    }
    while done.load(Ordering::Relaxed) < total {
        c.poll_wait(0, Duration::from_millis(50)).unwrap();
    }
    assert_eq!(c.pending(), 0);
}
