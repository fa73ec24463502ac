//! Corrupt, truncated and hostile streams: always an error or the right data, never a
//! panic, never more output than the buffer holds.

mod common;

use common::*;
use uadk::{Alg, Error, OpType, WindowSize};

fn small_stream(alg: Alg) -> (Vec<u8>, Vec<u8>) {
    let data = text_bytes(3000, 11);
    let c = sess(alg, OpType::Compress, 6, WindowSize::W32K);
    (c.process_to_vec(&data).unwrap(), data)
}

#[test]
fn truncation_at_every_position_is_an_error() {
    for alg in CPU_ALGS {
        let (z, data) = small_stream(alg);
        let d = sess(alg, OpType::Decompress, 1, WindowSize::W32K);
        for cut in 0..z.len() {
            let mut out = vec![0u8; data.len() + 100];
            let r = d.process(&z[..cut], &mut out);
            match (alg, r) {
                (_, Err(e)) => assert!(
                    e.is_data_error() || matches!(e, Error::OutputTooSmall { .. }),
                    "{alg} cut {cut}: {e}"
                ),
                // An LZ4 block has no end marker or checksum: a cut at a sequence boundary is
                // a shorter valid block. It must still decode to a prefix of the data.
                (Alg::Lz4, Ok(n)) => {
                    assert!(n < data.len() && out[..n] == data[..n], "lz4 cut {cut}")
                }
                (_, Ok(n)) => panic!("{alg} cut {cut}: accepted a truncated stream ({n} bytes)"),
            }
            if alg != Alg::Lz4 {
                let r = stream_all(&d, &z[..cut], 100, 100);
                assert!(r.is_err(), "{alg} stream cut {cut}");
            }
        }
    }
}

#[test]
fn bit_flips_never_yield_wrong_data_for_checksummed_formats() {
    for alg in CPU_ALGS {
        let (z, data) = small_stream(alg);
        let d = sess(alg, OpType::Decompress, 1, WindowSize::W32K);
        let mut out = vec![0u8; data.len() + 100];
        for pos in 0..z.len() {
            for bit in [0, 3, 7] {
                let mut bad = z.clone();
                bad[pos] ^= 1 << bit;
                for stream in [false, true] {
                    if stream && alg == Alg::Lz4 {
                        continue;
                    }
                    let got = if stream {
                        stream_all(&d, &bad, 64, 4096)
                    } else {
                        d.process(&bad, &mut out).map(|n| out[..n].to_vec())
                    };
                    if let Ok(got) = got {
                        assert!(got.len() <= data.len() + 100);
                        if matches!(alg, Alg::Zlib | Alg::Gzip) {
                            assert_eq!(
                                got, data,
                                "{alg} flip {pos}:{bit} stream={stream} gave wrong data"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn wrong_checksums_are_reported() {
    for alg in [Alg::Zlib, Alg::Gzip] {
        let (z, data) = small_stream(alg);
        let d = sess(alg, OpType::Decompress, 1, WindowSize::W32K);
        // zlib: adler32 is the last 4 bytes; gzip: crc32 then isize.
        let pos = if alg == Alg::Zlib {
            z.len() - 1
        } else {
            z.len() - 8
        };
        let mut bad = z.clone();
        bad[pos] ^= 0x55;
        let mut out = vec![0u8; data.len()];
        let e = d.process(&bad, &mut out).unwrap_err();
        assert!(e.is_data_error(), "{alg}: {e}");
        let e = stream_all(&d, &bad, 1000, 1000).unwrap_err();
        assert_eq!(e, Error::ChecksumMismatch, "{alg} stream");
    }
}

#[test]
fn garbage_and_bombs_stay_bounded() {
    for alg in CPU_ALGS {
        let d = sess(alg, OpType::Decompress, 1, WindowSize::W32K);
        for seed in 0..50 {
            let junk = random_bytes(1 + seed as usize * 37, seed);
            let mut out = vec![0u8; 4096];
            let _ = d.process(&junk, &mut out);
            if alg != Alg::Lz4 {
                let _ = stream_all(&d, &junk, 33, 4096);
            }
        }
        // 64 MiB of zeros expands far beyond a 1 MiB buffer: a clear error, not an overrun.
        let c = sess(alg, OpType::Compress, 6, WindowSize::W32K);
        let bomb = c.process_to_vec(&vec![0u8; 64 << 20]).unwrap();
        let mut out = vec![0u8; 1 << 20];
        let e = d.process(&bomb, &mut out).unwrap_err();
        assert!(matches!(e, Error::OutputTooSmall { .. }), "{alg}: {e}");
        if alg != Alg::Lz4 {
            let e = d.process_sync2(&bomb, &mut out).unwrap_err();
            assert!(
                matches!(e, Error::OutputTooSmall { .. }),
                "{alg} sync2: {e}"
            );
        }
    }
}

#[test]
fn bad_calls_are_errors() {
    let c = sess(Alg::Zlib, OpType::Compress, 1, WindowSize::W32K);
    let d = sess(Alg::Zlib, OpType::Decompress, 1, WindowSize::W32K);
    assert!(matches!(
        c.process(b"abc", &mut []),
        Err(Error::InvalidParam(_))
    ));
    assert!(matches!(
        d.process(&[], &mut [0u8; 10]),
        Err(Error::TruncatedInput)
    ));
    assert!(matches!(
        c.stream(b"abc", &mut [], true),
        Err(Error::InvalidParam(_))
    ));
    assert!(matches!(
        c.process(&[7u8; 1000], &mut [0u8; 4]),
        Err(Error::OutputTooSmall { .. })
    ));
    // lz77 is an intermediate format: compression only.
    let setup = uadk::SessionSetup::new(Alg::Lz77Zstd, OpType::Decompress);
    assert!(matches!(
        comp().session(&setup),
        Err(Error::Unsupported { .. })
    ));
    let lz4 = sess(Alg::Lz4, OpType::Compress, 1, WindowSize::W32K);
    assert!(matches!(
        lz4.stream(b"abc", &mut [0u8; 64], true),
        Err(Error::Unsupported { .. })
    ));
    assert!("brotli".parse::<Alg>().is_err());
    assert!(uadk::Level::new(16).is_err());
}

#[test]
fn block_decompression_reports_where_the_stream_ends() {
    for alg in DEFLATE_ALGS {
        let (c, d) = (
            sess(alg, OpType::Compress, 1, WindowSize::W32K),
            sess(alg, OpType::Decompress, 1, WindowSize::W32K),
        );
        check_block_inflate_stops_at_stream_end(&c, &d, alg);
    }
}
