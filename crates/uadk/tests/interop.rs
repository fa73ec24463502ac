//! Interoperability with independent implementations: the system zlib (through Python's
//! `zlib` module), `gzip`/`pigz`, and the reference LZ4 library (Python's `lz4.block`).
//! `.ci/run` installs all of them; a missing one fails the test rather than skipping it.

mod common;

use common::*;
use uadk::{Alg, OpType, WindowSize};

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    shapes(2 << 20)
}

#[test]
fn our_streams_inflate_with_system_zlib() {
    for alg in DEFLATE_ALGS {
        for level in [1, 2, 6, 9, 12] {
            for window in [WindowSize::W4K, WindowSize::W24K, WindowSize::W32K] {
                let c = sess(alg, OpType::Compress, level, window);
                for (name, data) in inputs() {
                    let block = c.process_to_vec(&data).unwrap();
                    assert_eq!(
                        py_inflate(alg, &block),
                        data,
                        "{alg} L{level} {window:?} {name} block"
                    );
                    let streamed = stream_all(&c, &data, 10_000, 3000).unwrap();
                    assert_eq!(
                        py_inflate(alg, &streamed),
                        data,
                        "{alg} L{level} {window:?} {name} stream"
                    );
                }
            }
        }
    }
}

#[test]
fn system_zlib_streams_inflate_with_ours() {
    for alg in DEFLATE_ALGS {
        let d = sess(alg, OpType::Decompress, 1, WindowSize::W32K);
        for level in [0, 1, 6, 9] {
            for bits in [9, 12, 15] {
                for (name, data) in inputs() {
                    let z = py_deflate(alg, level, bits, &data);
                    let mut out = vec![0u8; data.len().max(1)];
                    let n = d
                        .process(&z, &mut out)
                        .unwrap_or_else(|e| panic!("{alg} L{level} w{bits} {name}: {e}"));
                    assert_eq!(&out[..n], &data[..], "{alg} L{level} w{bits} {name} block");
                    assert_eq!(
                        stream_all(&d, &z, 777, 555).unwrap(),
                        data,
                        "{alg} L{level} w{bits} {name} stream"
                    );
                }
            }
        }
    }
}

#[test]
fn gzip_and_pigz_tools_agree() {
    let data = text_bytes(3 << 20, 5);
    let c = sess(Alg::Gzip, OpType::Compress, 1, WindowSize::W32K);
    let ours = c.process_to_vec(&data).unwrap();
    assert_eq!(pipe("gzip", &["-dc"], &ours), data);
    assert_eq!(pipe("pigz", &["-dc"], &ours), data);
    let d = sess(Alg::Gzip, OpType::Decompress, 1, WindowSize::W32K);
    for tool in [("gzip", "-6c"), ("pigz", "-9c"), ("pigz", "-1c")] {
        let theirs = pipe(tool.0, &[tool.1], &data);
        assert_eq!(d.process_to_vec(&theirs).unwrap(), data, "{tool:?}");
    }
    // zlib framing from pigz -z.
    let z = pipe("pigz", &["-zc"], &data);
    let dz = sess(Alg::Zlib, OpType::Decompress, 1, WindowSize::W32K);
    assert_eq!(dz.process_to_vec(&z).unwrap(), data);
}

#[test]
fn lz4_blocks_match_the_reference_library() {
    let c = sess(Alg::Lz4, OpType::Compress, 1, WindowSize::W32K);
    let d = sess(Alg::Lz4, OpType::Decompress, 1, WindowSize::W32K);
    for (name, data) in inputs() {
        if data.is_empty() {
            continue;
        }
        let ours = c.process_to_vec(&data).unwrap();
        let script = format!(
            "import sys,lz4.block\nsys.stdout.buffer.write(lz4.block.decompress(sys.stdin.buffer.read(),uncompressed_size={}))",
            data.len()
        );
        assert_eq!(
            pipe("python3", &["-c", &script], &ours),
            data,
            "ours->ref {name}"
        );
        let theirs = pipe(
            "python3",
            &["-c", "import sys,lz4.block\nsys.stdout.buffer.write(lz4.block.compress(sys.stdin.buffer.read(),store_size=False))"],
            &data,
        );
        let mut out = vec![0u8; data.len()];
        let n = d.process(&theirs, &mut out).unwrap();
        assert_eq!(&out[..n], &data[..], "ref->ours {name}");
    }
}
