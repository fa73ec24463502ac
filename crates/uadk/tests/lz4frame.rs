//! LZ4 frames over lz4 block sessions: what `Encoder` writes the `lz4` tool reads, and
//! what the tool writes (every frame option, the legacy format, several frames and
//! skippable frames in one file) `Decoder` reads; bad input gives typed errors.
//! `.ci/run` installs `lz4`; a missing one fails the test rather than skipping it.

mod common;

use common::*;
use std::io::{Read, Write};
use uadk::{
    Alg, Decoder, Encoder, Error, Level, Lz4BlockSize, Lz4FrameOptions, OpType, SessionSetup,
};

fn encode(data: &[u8], opts: Option<Lz4FrameOptions>) -> Vec<u8> {
    let s = comp()
        .session(&SessionSetup::new(Alg::Lz4, OpType::Compress))
        .unwrap();
    let mut enc = match opts {
        Some(o) => Encoder::lz4_frame(s, Vec::new(), o).unwrap(),
        None => Encoder::with_session(s, Vec::new()).unwrap(),
    };
    // Odd-sized writes, so blocks fill across them.
    for part in data.chunks(777_777) {
        enc.write_all(part).unwrap();
    }
    enc.finish().unwrap()
}

fn decode(packed: &[u8]) -> std::io::Result<Vec<u8>> {
    let s = comp()
        .session(&SessionSetup::new(Alg::Lz4, OpType::Decompress))
        .unwrap();
    let mut out = Vec::new();
    Decoder::with_session(s, packed)
        .unwrap()
        .read_to_end(&mut out)?;
    Ok(out)
}

fn typed(e: &std::io::Error) -> Error {
    e.get_ref()
        .and_then(|x| x.downcast_ref::<Error>())
        .unwrap_or_else(|| panic!("untyped error {e}"))
        .clone()
}

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut v = shapes(9 << 20);
    v.push(("random-big", random_bytes(5 << 20, 4)));
    v
}

#[test]
fn lz4_tool_reads_our_frames() {
    let options = [
        None,
        Some(Lz4FrameOptions {
            block_size: Lz4BlockSize::K64,
            block_checksum: true,
            content_checksum: false,
        }),
        Some(Lz4FrameOptions {
            block_size: Lz4BlockSize::K256,
            ..Default::default()
        }),
        Some(Lz4FrameOptions {
            block_size: Lz4BlockSize::M1,
            block_checksum: true,
            content_checksum: true,
        }),
    ];
    for (name, data) in inputs() {
        for o in options {
            let packed = encode(&data, o);
            assert_eq!(
                &packed[..4],
                &0x184D_2204u32.to_le_bytes(),
                "{name} {o:?}: magic"
            );
            assert_eq!(
                pipe("lz4", &["-d", "-c", "-q"], &packed),
                data,
                "{name} {o:?}"
            );
            assert_eq!(decode(&packed).unwrap(), data, "{name} {o:?} ours");
        }
    }
}

#[test]
fn default_frames_are_what_lz4_writes() {
    // Same header (flags, block size, checksum) as `lz4`'s own default; the blocks may
    // differ as the codecs do.
    let data = text_bytes(100_000, 3);
    let ours = encode(&data, None);
    let theirs = pipe("lz4", &["-c", "-q"], &data);
    assert_eq!(ours[..7], theirs[..7], "frame header");
    assert_eq!(
        ours[ours.len() - 8..],
        theirs[theirs.len() - 8..],
        "end mark and checksum"
    );
}

#[test]
fn we_read_every_frame_the_lz4_tool_writes() {
    for (name, data) in inputs() {
        for opts in [
            &["-1"][..],
            &["-9"],
            &["--fast=3"],
            &["-BD"],
            &["-BD", "-B4"],
            &["-BX"],
            &["--no-frame-crc"],
            &["--content-size"],
            &["-B4", "-BX", "--content-size"],
            &["-B5"],
            &["-B6", "-BD", "-9"],
            &["-l"],
        ] {
            let mut args = opts.to_vec();
            args.extend(["-c", "-q"]);
            let z = pipe("lz4", &args, &data);
            assert_eq!(decode(&z).unwrap(), data, "lz4 {opts:?} {name}");
        }
    }
}

#[test]
fn several_frames_and_skippable_frames() {
    let a = text_bytes(5 << 20, 1);
    let b = random_bytes(70_000, 2);
    let c = text_bytes(10, 3);
    let mut file = pipe("lz4", &["-c", "-q", "-BD"], &a);
    file.extend_from_slice(&0x184D_2A5Au32.to_le_bytes());
    file.extend_from_slice(&5u32.to_le_bytes());
    file.extend_from_slice(b"skip!");
    file.extend(encode(&b, None));
    file.extend(pipe("lz4", &["-c", "-q", "-l"], &c));
    file.extend(encode(&[], None));
    file.extend(pipe("lz4", &["-c", "-q", "--content-size"], &c));
    let want: Vec<u8> = [&a[..], &b, &c, &c].concat();
    assert_eq!(decode(&file).unwrap(), want);
    assert_eq!(pipe("lz4", &["-d", "-c", "-q"], &file), want, "lz4 -d");
    // No frames at all: nothing, as `lz4 -d` reads an empty file.
    assert_eq!(decode(&[]).unwrap(), b"");
}

#[test]
fn corrupt_and_truncated_frames_give_typed_errors() {
    let data = text_bytes(300_000, 5);
    let opts = Lz4FrameOptions {
        block_size: Lz4BlockSize::K64,
        block_checksum: true,
        content_checksum: true,
    };
    let packed = encode(&data, Some(opts));
    for cut in [
        1,
        3,
        5,
        6,
        7,
        9,
        100,
        packed.len() / 2,
        packed.len() - 5,
        packed.len() - 1,
    ] {
        let e = decode(&packed[..cut]).unwrap_err();
        assert_eq!(typed(&e), Error::TruncatedInput, "cut at {cut}");
    }
    // Header checksum, then the first block's checksum, then the content checksum.
    let mut b = packed.clone();
    b[6] ^= 1;
    assert!(matches!(
        typed(&decode(&b).unwrap_err()),
        Error::CorruptData(_)
    ));
    let first = u32::from_le_bytes(packed[7..11].try_into().unwrap()) as usize & 0x7FFF_FFFF;
    let mut b = packed.clone();
    b[11 + first] ^= 1;
    assert_eq!(
        typed(&decode(&b).unwrap_err()),
        Error::ChecksumMismatch,
        "block"
    );
    let mut b = packed.clone();
    *b.last_mut().unwrap() ^= 1;
    assert_eq!(
        typed(&decode(&b).unwrap_err()),
        Error::ChecksumMismatch,
        "content"
    );
    // A block larger than the frame's blocks.
    let mut b = packed.clone();
    b[7..11].copy_from_slice(&(70_000u32).to_le_bytes());
    assert!(matches!(
        typed(&decode(&b).unwrap_err()),
        Error::CorruptData(_)
    ));
    // Reserved bits, version, unknown magic, trailing garbage.
    for (i, x) in [(4usize, 0x02u8), (4, 0x80), (5, 0x01), (0, 0x01)] {
        let mut b = packed.clone();
        b[i] ^= x;
        assert!(
            matches!(typed(&decode(&b).unwrap_err()), Error::CorruptData(_)),
            "byte {i} ^ {x:#x}"
        );
    }
    let mut b = packed.clone();
    b.extend_from_slice(b"trailing garbage");
    assert!(matches!(
        typed(&decode(&b).unwrap_err()),
        Error::CorruptData(_)
    ));
    // Content size that does not match.
    let mut sized = pipe(
        "lz4",
        &["-c", "-q", "--content-size", "--no-frame-crc"],
        &data,
    );
    sized[6] = sized[6].wrapping_add(1);
    // Fix the header checksum so that only the size is wrong.
    let hc = (twox_hash::XxHash32::oneshot(0, &sized[4..14]) >> 8) as u8;
    sized[14] = hc;
    assert!(matches!(
        typed(&decode(&sized).unwrap_err()),
        Error::CorruptData(_)
    ));
    // Flipped bytes anywhere: an error or other content, never a panic.
    for i in (0..packed.len()).step_by(251) {
        let mut b = packed.clone();
        b[i] ^= 0x5A;
        if let Err(e) = decode(&b) {
            assert!(typed(&e).is_data_error(), "flip at {i}: {e}");
        }
    }
}

#[test]
fn level_and_session_checks() {
    let z = comp()
        .session(&SessionSetup::new(Alg::Zstd, OpType::Compress).level(Level::L1))
        .unwrap();
    assert!(Encoder::lz4_frame(z, Vec::new(), Lz4FrameOptions::default()).is_err());
}
