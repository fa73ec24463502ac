//! End to end through the HiSilicon ZIP driver and the device model: every algorithm the
//! engine serves, every mode, flat and SGL buffers, checked against the CPU engine and
//! the system zlib; ring wrap-around; many threads on few queues.

mod common;

use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use uadk::drv::hisi::DRIVER_NAME;
use uadk::model::{self, DeviceGroup};
use uadk::{Alg, Comp, CompConfig, CtxMode, JobBuf, OpType, SessionSetup, TaskType, WindowSize};

fn hw() -> &'static Comp {
    static C: OnceLock<Comp> = OnceLock::new();
    C.get_or_init(|| {
        model::install(&[
            DeviceGroup {
                count: 2,
                node: 0,
                hw_ver: 3,
                queues: 64,
                engine: uadk::model::EngineKind::Zip,
            },
            DeviceGroup {
                count: 1,
                node: 0,
                hw_ver: 2,
                queues: 16,
                engine: uadk::model::EngineKind::Zip,
            },
        ])
        .expect("model");
        let c = Comp::new(
            CompConfig::new()
                .task_type(TaskType::Hw)
                .ctxs(CtxMode::Sync, OpType::Compress, 3)
                .ctxs(CtxMode::Sync, OpType::Decompress, 3)
                .ctxs(CtxMode::Async, OpType::Compress, 2)
                .ctxs(CtxMode::Async, OpType::Decompress, 2),
        )
        .expect("init over the model");
        assert_eq!(c.driver_name(), DRIVER_NAME);
        c
    })
}

fn hs(alg: Alg, op: OpType, window: WindowSize) -> uadk::Session {
    hw().session(&SessionSetup::new(alg, op).window(window))
        .expect("session")
}

/// The strict model refused nothing any test sent (each test checks at its end; a
/// refusal anywhere fails the tests that see it).
fn no_model_errors() {
    let Some(m) = uadk::model::installed() else {
        return;
    };
    for d in m.devices() {
        let n = d.stats.rejected.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            n,
            0,
            "{}: {n} model errors, the last: {:?}",
            d.name(),
            d.last_error()
        );
    }
}

#[test]
fn devices_appear_with_nodes_and_queues() {
    let c = hw();
    let devs = c.devices();
    assert_eq!(devs.len(), 3, "{devs:?}");
    assert!(
        devs[0].starts_with("hisi_zip-0 node 0 api hisi_qm_v3"),
        "{devs:?}"
    );
    assert!(devs[2].contains("hisi_qm_v2"), "{devs:?}");
    let infos = c.ctx_info();
    assert_eq!(infos.len(), 10);
    assert!(infos.iter().all(|i| i.driver == DRIVER_NAME));
    no_model_errors();
}

#[test]
fn block_round_trips_match_cpu_and_system_zlib() {
    let cpu = common::comp();
    for alg in DEFLATE_ALGS {
        for window in [WindowSize::W4K, WindowSize::W32K] {
            let c = hs(alg, OpType::Compress, window);
            let d = hs(alg, OpType::Decompress, window);
            let cd = cpu
                .session(&SessionSetup::new(alg, OpType::Decompress))
                .unwrap();
            for (name, data) in shapes(1 << 20) {
                // Many requests so that every context (both hardware versions) serves some.
                for _ in 0..3 {
                    let packed = c
                        .process_to_vec(&data)
                        .unwrap_or_else(|e| panic!("{alg:?} {name}: {e}"));
                    let mut out = vec![0u8; data.len() + 1];
                    let n = d
                        .process(&packed, &mut out)
                        .unwrap_or_else(|e| panic!("{alg:?} {name}: {e}"));
                    assert_eq!(&out[..n], &data[..], "{alg:?} {name}");
                    assert_eq!(
                        cd.process_to_vec(&packed).unwrap(),
                        data,
                        "cpu reads hw {alg:?} {name}"
                    );
                }
                let packed = c.process_to_vec(&data).unwrap();
                assert_eq!(
                    py_inflate(alg, &packed),
                    data,
                    "system zlib reads hw {alg:?} {name}"
                );
                // And the hardware path reads what the system zlib writes.
                let z = py_deflate(alg, 6, 15, &data);
                let mut out = vec![0u8; data.len() + 1];
                let n = d.process(&z, &mut out).unwrap();
                assert_eq!(&out[..n], &data[..], "hw reads zlib {alg:?} {name}");
            }
        }
    }
    no_model_errors();
}

#[test]
fn window_is_honoured_and_stated() {
    let data = text_bytes(200_000, 9);
    let c = hs(Alg::Zlib, OpType::Compress, WindowSize::W4K);
    let packed = c.process_to_vec(&data).unwrap();
    assert_eq!(packed[0] >> 4, 4, "CINFO of a 4 KiB window");
    // A 4 KiB-window inflater must accept it.
    let script =
        "import sys,zlib\nsys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(), 12))";
    assert_eq!(pipe("python3", &["-c", script], &packed), data);
    no_model_errors();
}

#[test]
fn lz4_compresses_on_the_engine_and_reads_on_the_cpu() {
    let c = hs(Alg::Lz4, OpType::Compress, WindowSize::W32K);
    let d = common::comp()
        .session(&SessionSetup::new(Alg::Lz4, OpType::Decompress))
        .unwrap();
    for (name, data) in shapes(1 << 20) {
        if data.is_empty() {
            let mut out = [0u8; 16];
            assert!(
                c.process(&data, &mut out).is_err(),
                "lz4 of nothing is refused"
            );
            continue;
        }
        let packed = c.process_to_vec(&data).unwrap();
        assert_eq!(d.process_to_vec(&packed).unwrap(), data, "{name}");
    }
    // The engine has no lz4 decompressor: an lz4 decompression session of the hardware
    // framework runs on the CPU engine, and the caller sees no difference.
    let hd = hs(Alg::Lz4, OpType::Decompress, WindowSize::W32K);
    assert_eq!(hd.driver_name(), "cpu");
    assert_eq!(c.driver_name(), DRIVER_NAME);
    let data = text_bytes(200_000, 12);
    let packed = c.process_to_vec(&data).unwrap();
    assert_eq!(hd.process_to_vec(&packed).unwrap(), data);
    let (tx, rx) = std::sync::mpsc::channel();
    hd.submit(
        JobBuf::Flat(packed),
        JobBuf::Flat(vec![0u8; data.len()]),
        Box::new(move |cm| tx.send(cm).unwrap()),
    )
    .unwrap();
    let cm = loop {
        hw().poll(8).unwrap();
        if let Ok(cm) = rx.try_recv() {
            break cm;
        }
    };
    cm.result.unwrap();
    assert!(matches!(cm.dst, JobBuf::Flat(v) if v == data));
    no_model_errors();
}

#[test]
fn lz4_frames_compress_on_the_engine() {
    use std::io::{Read, Write};
    let data = text_bytes(5 << 20, 13);
    let c = hs(Alg::Lz4, OpType::Compress, WindowSize::W32K);
    let before: u64 = hw().ctx_info().iter().map(|i| i.stats.sent).sum();
    let mut enc = uadk::Encoder::with_session(c, Vec::new()).unwrap();
    enc.write_all(&data).unwrap();
    let packed = enc.finish().unwrap();
    let after: u64 = hw().ctx_info().iter().map(|i| i.stats.sent).sum();
    assert!(after >= before + 2, "two 4 MiB blocks went to the engine");
    assert_eq!(pipe("lz4", &["-d", "-c", "-q"], &packed), data);
    let mut back = Vec::new();
    uadk::Decoder::with_session(
        hs(Alg::Lz4, OpType::Decompress, WindowSize::W32K),
        &packed[..],
    )
    .unwrap()
    .read_to_end(&mut back)
    .unwrap();
    assert_eq!(back, data);
    no_model_errors();
}

#[test]
fn zstd_sessions_run_on_the_cpu_engine() {
    let data = text_bytes(300_000, 14);
    for level in [uadk::Level::L1, uadk::Level::zstd(19).unwrap()] {
        let c = hw()
            .session(&SessionSetup::new(Alg::Zstd, OpType::Compress).level(level))
            .unwrap();
        let d = hs(Alg::Zstd, OpType::Decompress, WindowSize::W32K);
        assert_eq!((c.driver_name(), d.driver_name()), ("cpu", "cpu"));
        let packed = c.process_to_vec(&data).unwrap();
        assert_eq!(pipe("zstd", &["-d", "-c", "-q"], &packed), data);
        assert_eq!(d.process_to_vec(&packed).unwrap(), data);
        let streamed = stream_all(&c, &data, 50_000, 8192).unwrap();
        assert_eq!(stream_all(&d, &streamed, 4096, 50_000).unwrap(), data);
    }
    no_model_errors();
}

#[test]
fn corrupt_and_truncated_input_gives_errors() {
    let data = text_bytes(50_000, 4);
    for alg in DEFLATE_ALGS {
        let c = hs(alg, OpType::Compress, WindowSize::W32K);
        let d = hs(alg, OpType::Decompress, WindowSize::W32K);
        let packed = c.process_to_vec(&data).unwrap();
        let mut out = vec![0u8; data.len() + 10];
        for cut in [0, 1, packed.len() / 2, packed.len() - 1] {
            assert!(
                d.process(&packed[..cut], &mut out).is_err(),
                "{alg:?} cut {cut}"
            );
        }
        let mut bad = packed.clone();
        let n = bad.len();
        bad[n - 2] ^= 0x40; // the trailer (or the last block, for raw deflate)
        assert!(d.process(&bad, &mut out).is_err(), "{alg:?} bad trailer");
        let mut small = vec![0u8; data.len() / 2];
        assert!(matches!(
            d.process(&packed, &mut small),
            Err(uadk::Error::OutputTooSmall { .. })
        ));
        let mut tiny = vec![0u8; 8];
        assert!(
            c.process(&data, &mut tiny).is_err(),
            "{alg:?} compress into 8 bytes"
        );
    }
    no_model_errors();
}

#[test]
fn streams_any_split_and_output_size() {
    let data = text_bytes(120_000, 5);
    for alg in DEFLATE_ALGS {
        let c = hs(alg, OpType::Compress, WindowSize::W32K);
        let d = hs(alg, OpType::Decompress, WindowSize::W32K);
        for (inc, outc) in [(100_000, 1 << 20), (777, 1000), (50_000, 150), (3000, 1)] {
            let data = if inc == 100_000 {
                &data[..]
            } else {
                &data[..60_000]
            };
            let packed = stream_all(&c, data, inc, outc)
                .unwrap_or_else(|e| panic!("{alg:?} {inc}/{outc}: {e}"));
            assert_eq!(py_inflate(alg, &packed), data, "{alg:?} {inc}/{outc}");
            let packed_len = packed.len();
            // Byte-at-a-time input costs one device round trip per byte: once is enough.
            let splits: &[(usize, usize)] = if inc == 100_000 {
                &[(1 << 30, 1 << 20), (1, 4096), (999, 7), (4096, 1)]
            } else {
                &[(1 << 30, 1 << 20), (999, 7)]
            };
            for &(dinc, doutc) in splits {
                let back = stream_all(&d, &packed, dinc.min(packed_len), doutc)
                    .unwrap_or_else(|e| panic!("{alg:?} {dinc}/{doutc}: {e}"));
                assert_eq!(back, data, "{alg:?} d {dinc}/{doutc}");
            }
        }
        // Empty stream.
        let packed = stream_all(&c, &[], 1, 64).unwrap();
        assert_eq!(py_inflate(alg, &packed), b"");
        // A stream zlib wrote, with a gzip name field, fed a byte at a time.
        let z = py_deflate(alg, 9, 15, &data[..20_000]);
        assert_eq!(stream_all(&d, &z, 1, 333).unwrap(), &data[..20_000]);
    }
    no_model_errors();
}

#[test]
fn sync2_carries_large_input_through_a_stream() {
    let data = text_bytes(3 << 20, 6);
    let c = hs(Alg::Gzip, OpType::Compress, WindowSize::W32K);
    let d = hs(Alg::Gzip, OpType::Decompress, WindowSize::W32K);
    let mut packed = vec![0u8; data.len() + 1024];
    let n = c.process_sync2(&data, &mut packed).unwrap();
    packed.truncate(n);
    assert_eq!(py_inflate(Alg::Gzip, &packed), data);
    let mut out = vec![0u8; data.len()];
    assert_eq!(d.process_sync2(&packed, &mut out).unwrap(), data.len());
    assert_eq!(out, data);
    no_model_errors();
}

#[test]
fn sgl_buffers_both_sides() {
    let data = text_bytes(200_000, 7);
    for alg in DEFLATE_ALGS {
        let c = hs(alg, OpType::Compress, WindowSize::W32K);
        let d = hs(alg, OpType::Decompress, WindowSize::W32K);
        let segs: Vec<&[u8]> = data.chunks(1000).collect();
        let mut o: Vec<Vec<u8>> = (0..300).map(|i| vec![0u8; 500 + i]).collect();
        let mut outs: Vec<&mut [u8]> = o.iter_mut().map(|v| &mut v[..]).collect();
        let n = c.process_sgl(&segs, &mut outs).unwrap();
        let packed: Vec<u8> = o.concat()[..n].to_vec();
        assert_eq!(py_inflate(alg, &packed), data, "{alg:?}");
        let psegs: Vec<&[u8]> = packed.chunks(97).collect();
        let mut back: Vec<Vec<u8>> = (0..40).map(|_| vec![0u8; 6000]).collect();
        let mut bouts: Vec<&mut [u8]> = back.iter_mut().map(|v| &mut v[..]).collect();
        let m = d.process_sgl(&psegs, &mut bouts).unwrap();
        assert_eq!(&back.concat()[..m], &data[..], "{alg:?}");
    }
    no_model_errors();
}

#[test]
fn async_bursts_wrap_the_ring_and_complete_once() {
    let c = hw();
    let s = hs(Alg::Zlib, OpType::Compress, WindowSize::W32K);
    let data: Arc<Vec<Vec<u8>>> = Arc::new((0..64).map(|i| text_bytes(4096, 2 * i + 1)).collect());
    let results = Arc::new(Mutex::new(vec![0usize; 5000]));
    let done = Arc::new(AtomicUsize::new(0));
    let total = 5000;
    let mut sent = 0;
    while sent < total {
        let page = data[sent % 64].clone();
        let r = results.clone();
        let dn = done.clone();
        let id = sent;
        match s.submit(
            JobBuf::Flat(page),
            JobBuf::Flat(vec![0u8; 8192]),
            Box::new(move |comp| {
                let out = comp.result.expect("async request");
                assert_eq!(comp.dst.len(), out.produced);
                r.lock().unwrap()[id] += 1;
                let JobBuf::Flat(v) = comp.dst else { panic!() };
                let JobBuf::Flat(sv) = comp.src else { panic!() };
                let sp = (0..64).find(|&i| text_bytes(4096, 2 * i as u64 + 1) == sv);
                assert_eq!(py_free_inflate(&v), id % 64, "id {id} src page {sp:?}");
                dn.fetch_add(1, Ordering::Relaxed);
            }),
        ) {
            Ok(()) => sent += 1,
            Err(e) if e.error == uadk::Error::Busy => {
                c.poll(0).unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    }
    while done.load(Ordering::Relaxed) < total {
        c.poll_wait(0, std::time::Duration::from_millis(50))
            .unwrap();
    }
    assert!(
        results.lock().unwrap().iter().all(|&n| n == 1),
        "each completes exactly once"
    );
    assert_eq!(c.pending(), 0);
    no_model_errors();
}

/// Which of the 64 test pages a zlib stream holds.
fn py_free_inflate(z: &[u8]) -> usize {
    let mut d = flate2::Decompress::new(true);
    let mut out = Vec::with_capacity(8192);
    d.decompress_vec(z, &mut out, flate2::FlushDecompress::Finish)
        .expect("valid zlib");
    (0..64)
        .find(|&i| text_bytes(4096, 2 * i as u64 + 1) == out)
        .expect("a known page")
}

#[test]
fn many_threads_on_few_queues() {
    let data: Vec<Vec<u8>> = (0..8)
        .map(|i| text_bytes(20_000 + i * 1000, i as u64))
        .collect();
    std::thread::scope(|sc| {
        for t in 0..8 {
            let data = &data;
            sc.spawn(move || {
                let c = hs(Alg::Gzip, OpType::Compress, WindowSize::W32K);
                let d = hs(Alg::Gzip, OpType::Decompress, WindowSize::W32K);
                for k in 0..50 {
                    let x = &data[(t + k) % data.len()];
                    let p = c.process_to_vec(x).unwrap();
                    let mut out = vec![0u8; x.len()];
                    assert_eq!(d.process(&p, &mut out).unwrap(), x.len());
                    assert_eq!(&out, x);
                }
            });
        }
    });
    no_model_errors();
}

#[test]
fn contexts_go_to_devices_that_serve_the_algorithm() {
    hw();
    // hisi_zip-2 is a v2 device without lz4: an lz4 framework must not use it.
    let c = Comp::new(
        CompConfig::new()
            .alg(Alg::Lz4)
            .task_type(TaskType::Hw)
            .ctxs(CtxMode::Sync, OpType::Compress, 6)
            .ctxs(CtxMode::Sync, OpType::Decompress, 0)
            .ctxs(CtxMode::Async, OpType::Compress, 0)
            .ctxs(CtxMode::Async, OpType::Decompress, 0),
    )
    .unwrap();
    let s = c
        .session(&SessionSetup::new(Alg::Lz4, OpType::Compress))
        .unwrap();
    for i in 0..30 {
        s.process_to_vec(&text_bytes(10_000, i)).unwrap();
    }
    let errors: u64 = c
        .ctx_info()
        .iter()
        .map(|i| i.stats.hw_errors + i.stats.fallbacks)
        .sum();
    assert_eq!(errors, 0);
    no_model_errors();
}

#[test]
fn block_decompression_reports_where_the_stream_ends() {
    for alg in DEFLATE_ALGS {
        let (c, d) = (
            hs(alg, OpType::Compress, WindowSize::W32K),
            hs(alg, OpType::Decompress, WindowSize::W32K),
        );
        check_block_inflate_stops_at_stream_end(&c, &d, alg);
    }
    no_model_errors();
}

#[test]
fn async_mixed_buffers_sgl_in_flat_out() {
    let c = hw();
    let s = hs(Alg::Gzip, OpType::Compress, WindowSize::W32K);
    let data = text_bytes(100_000, 21);
    let segs: Vec<Vec<u8>> = data.chunks(3000).map(<[u8]>::to_vec).collect();
    let got = Arc::new(Mutex::new(None));
    let g = got.clone();
    s.submit(
        JobBuf::List(segs),
        // Larger than one SGL entry may hold: the driver must still describe it.
        JobBuf::Flat(vec![0u8; 16 << 20]),
        Box::new(move |comp| {
            *g.lock().unwrap() = Some(comp);
        }),
    )
    .unwrap();
    while got.lock().unwrap().is_none() {
        c.poll_wait(0, std::time::Duration::from_millis(20))
            .unwrap();
    }
    let comp = got.lock().unwrap().take().unwrap();
    comp.result.expect("mixed buffers");
    let JobBuf::Flat(v) = comp.dst else { panic!() };
    assert_eq!(py_inflate(Alg::Gzip, &v), data);
    no_model_errors();
}
