//! One verdict for one stream, whatever the door (issue 11): every mode (block, SGL, sync2,
//! stream, `Decoder`) on the CPU engine and on the hisi_zip driver over the model says what
//! zlib says of the hostile streams found so far; gzip headers of any legal size decode;
//! a preset dictionary is named; `process_to_vec_limited` stops a zip bomb.

mod common;

use common::*;
use std::io::Read;
use std::sync::OnceLock;
use uadk::model::{self, DeviceGroup};
use uadk::{Alg, TaskType};
use uadk::{Comp, CompConfig, CtxMode, Decoder, Error, OpType, Session, SessionSetup};

fn hw() -> &'static Comp {
    static C: OnceLock<Comp> = OnceLock::new();
    C.get_or_init(|| {
        comp();
        model::install(&[DeviceGroup {
            count: 1,
            node: 0,
            hw_ver: 3,
            queues: 16,
            ..DeviceGroup::default()
        }])
        .expect("model");
        Comp::new(
            CompConfig::new()
                .task_type(TaskType::Hw)
                .ctxs(CtxMode::Sync, OpType::Compress, 1)
                .ctxs(CtxMode::Sync, OpType::Decompress, 1),
        )
        .expect("hisi_zip over the model")
    })
}

fn dsess(c: &Comp, alg: Alg) -> Session {
    c.session(&SessionSetup::new(alg, OpType::Decompress))
        .expect("session")
}

/// Every way to decompress `input` as `alg`, each a result of its own.
fn every_mode(alg: Alg, input: &[u8]) -> Vec<(String, uadk::Result<Vec<u8>>)> {
    let mut v = Vec::new();
    for (drv, c) in [("cpu", comp()), ("hisi", hw())] {
        let s = dsess(c, alg);
        let mut out = vec![0u8; 1 << 20];
        v.push((
            format!("{drv} block"),
            s.process(input, &mut out).map(|n| out[..n].to_vec()),
        ));
        let (a, b) = input.split_at(input.len() / 2);
        let mut o1 = vec![0u8; 100];
        let mut o2 = vec![0u8; 1 << 20];
        let r = s.process_sgl(&[a, b], &mut [&mut o1[..], &mut o2[..]]);
        v.push((
            format!("{drv} sgl"),
            r.map(|n| [o1, o2].concat()[..n].to_vec()),
        ));
        let mut out = vec![0u8; 1 << 20];
        v.push((
            format!("{drv} sync2"),
            s.process_sync2(input, &mut out).map(|n| out[..n].to_vec()),
        ));
        v.push((format!("{drv} stream"), stream_all(&s, input, 7, 13)));
        let mut d = Decoder::with_session(s, input).expect("decoder");
        let mut back = Vec::new();
        v.push((
            format!("{drv} Decoder"),
            d.read_to_end(&mut back)
                .map(|_| back)
                .map_err(|e| Error::CorruptData(e.to_string())),
        ));
    }
    v
}

/// Python's zlib (the C zlib) on the same bytes: Some(output) or None (refused).
fn zlib_says(alg: Alg, input: &[u8]) -> Option<Vec<u8>> {
    let script = format!(
        "import sys,zlib\nd=zlib.decompressobj({})\ntry:\n out=d.decompress(sys.stdin.buffer.read())\n assert d.eof\n sys.stdout.write('ok '+out.hex())\nexcept Exception as e:\n sys.stdout.write('bad '+str(e))",
        wbits(alg)
    );
    let out = String::from_utf8(pipe("python3", &["-c", &script], input)).unwrap();
    let hex = out.strip_prefix("ok ")?;
    Some(
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect(),
    )
}

fn assert_one_verdict(alg: Alg, input: &[u8], want_ok: Option<&[u8]>, what: &str) {
    let z = zlib_says(alg, input);
    assert_eq!(
        z.as_deref(),
        want_ok,
        "{what}: zlib's verdict is not what the test expects"
    );
    for (mode, r) in every_mode(alg, input) {
        match (&r, want_ok) {
            (Ok(b), Some(w)) => assert_eq!(&b[..], w, "{what}: {mode} gives other bytes"),
            (Err(_), None) => {}
            _ => panic!("{what}: {mode} says {r:?}, zlib says {z:?}"),
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn fixed_block_codes_286_and_287_are_refused_everywhere() {
    // The stream: CPU block mode used to return 270 bytes from it.
    let raw = hex("53 18 07 ff 10 00 00 00 07");
    assert_one_verdict(Alg::Deflate, &raw, None, "fixed codes 286/287");
}

#[test]
fn dynamic_blocks_zlib_refuses_are_refused_everywhere() {
    // Hand-built dynamic blocks (litlen 'A'/1, EOB/2, 257/2): a one-codeword distance code
    // used with codeword 0 (valid) and 1 (invalid); 287 litlen and 31 distance codes
    // declared; a litlen code of EOB alone, coded 1 (invalid) and 0 (valid). libdeflate
    // accepted each invalid one.
    let cases: [(&str, &str, Option<&[u8]>); 6] = [
        (
            "one distance codeword, coded 0",
            "0dc0010100000080906dfe9f2a16",
            Some(b"AAAA"),
        ),
        (
            "one distance codeword, coded 1",
            "0dc0010100000080906dfe9f2a1e",
            None,
        ),
        ("287 litlen codes", "f5c1010100000080906dfe9faa2558", None),
        ("31 distance codes", "0dde010100000080906dfe9f2a9658", None),
        ("EOB alone, coded 1", "05c181000000000090ff6b04", None),
        ("EOB alone, coded 0", "05c181000000000090ff6b00", Some(b"")),
    ];
    for (what, h, want) in cases {
        assert_one_verdict(Alg::Deflate, &hex(h), want, what);
    }
}

fn gzip_member(flags: u8, extra: &[u8], name: &[u8], hcrc: Option<u16>, data: &[u8]) -> Vec<u8> {
    let mut h = vec![0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3];
    if flags & 4 != 0 {
        h.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        h.extend_from_slice(extra);
    }
    if flags & 8 != 0 {
        h.extend_from_slice(name);
        h.push(0);
    }
    if flags & 2 != 0 {
        let c = hcrc.unwrap_or((crc32fast::hash(&h) & 0xffff) as u16);
        h.extend_from_slice(&c.to_le_bytes());
    }
    let c = sess(Alg::Deflate, OpType::Compress, 6, uadk::WindowSize::W32K);
    h.extend_from_slice(&c.process_to_vec(data).unwrap());
    h.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    h.extend_from_slice(&(data.len() as u32).to_le_bytes());
    h
}

#[test]
fn gzip_header_crc_is_checked_everywhere() {
    let data = text_bytes(5000, 3);
    let good = gzip_member(0x0a, b"", b"name", None, &data);
    assert_one_verdict(Alg::Gzip, &good, Some(&data), "right FHCRC");
    let n = good.len();
    let right = u16::from_le_bytes([good[15], good[16]]);
    let bad = gzip_member(0x0a, b"", b"name", Some(right ^ 0x0101), &data);
    assert_eq!(bad.len(), n);
    assert_one_verdict(Alg::Gzip, &bad, None, "wrong FHCRC");
    let reserved = gzip_member(0x20, b"", b"", None, &data);
    assert_one_verdict(Alg::Gzip, &reserved, None, "reserved flag");
}

#[test]
fn gzip_headers_of_any_legal_size_decode_everywhere() {
    let data = text_bytes(3000, 4);
    // The largest FEXTRA, a 20,000-byte name and a header CRC: 85 KiB of header.
    let g = gzip_member(0x0e, &vec![0x5a; 65_535], &vec![b'n'; 20_000], None, &data);
    assert_one_verdict(Alg::Gzip, &g, Some(&data), "65,535-byte FEXTRA");
}

#[test]
fn zlib_window_over_32k_is_refused_everywhere() {
    let data = text_bytes(2000, 5);
    let mut z = sess(Alg::Zlib, OpType::Compress, 6, uadk::WindowSize::W32K)
        .process_to_vec(&data)
        .unwrap();
    // CINFO 8 (a 64 KiB window), FCHECK fixed up.
    z[0] = 0x88;
    z[1] = 0;
    z[1] = (31 - ((z[0] as u16) << 8) % 31) as u8 % 31;
    assert_one_verdict(Alg::Zlib, &z, None, "CINFO 8");
}

#[test]
fn a_preset_dictionary_is_named() {
    // zlib.compressobj(zdict=b"hello world") of b"hello hello world".
    let script = "import sys,zlib\nc=zlib.compressobj(6,zlib.DEFLATED,15,8,0,b'hello world')\nsys.stdout.buffer.write(c.compress(b'hello hello world')+c.flush())";
    let z = pipe("python3", &["-c", script], b"");
    assert_eq!(z[1] & 0x20, 0x20, "FDICT set");
    for c in [comp(), hw()] {
        let s = dsess(c, Alg::Zlib);
        let mut out = vec![0u8; 100];
        let e = s.process(&z, &mut out).unwrap_err();
        assert!(e.to_string().contains("preset dictionary"), "block: {e}");
        let e = stream_all(&s, &z, 4, 10).unwrap_err();
        assert!(e.to_string().contains("preset dictionary"), "stream: {e}");
    }
}

#[test]
fn process_to_vec_limited_stops_a_zip_bomb() {
    // 256 MiB of zeros: a quarter of a megabyte of gzip.
    let c = sess(Alg::Gzip, OpType::Compress, 6, uadk::WindowSize::W32K);
    let bomb = c.process_to_vec(&vec![0u8; 256 << 20]).unwrap();
    assert!(bomb.len() < 1 << 20);
    for alg_c in [comp(), hw()] {
        let d = dsess(alg_c, Alg::Gzip);
        let e = d.process_to_vec_limited(&bomb, 1 << 20).unwrap_err();
        assert_eq!(e, Error::OutputLimit { limit: 1 << 20 });
    }
    // At the limit exactly it fits; a byte less does not. Every algorithm, both directions.
    let data = text_bytes(100_000, 6);
    for alg in CPU_ALGS {
        let c = sess(alg, OpType::Compress, 6, uadk::WindowSize::W32K);
        let d = sess(alg, OpType::Decompress, 1, uadk::WindowSize::W32K);
        let z = c.process_to_vec_limited(&data, usize::MAX).unwrap();
        assert_eq!(
            c.process_to_vec_limited(&data, z.len()).unwrap(),
            z,
            "{alg}"
        );
        assert_eq!(
            c.process_to_vec_limited(&data, 10).unwrap_err(),
            Error::OutputLimit { limit: 10 },
            "{alg}"
        );
        assert_eq!(
            d.process_to_vec_limited(&z, data.len()).unwrap(),
            data,
            "{alg}"
        );
        for limit in [0, 1, 4096, data.len() - 1] {
            assert_eq!(
                d.process_to_vec_limited(&z, limit).unwrap_err(),
                Error::OutputLimit { limit },
                "{alg} limit {limit}"
            );
        }
    }
}
