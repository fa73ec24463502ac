//! The zlib and gzip header reader (`drv::hdr`, used by the hisi_zip driver and before ISA-L): whole or in
//! fuzzer-chosen pieces it reaches the same answer, and that answer is the C zlib's (a
//! complete header, a valid start, or a refusal); a complete header followed by an empty
//! deflate body and its trailer decodes on the CPU engine and the hisi_zip driver as in zlib.
//!
//! Input: algorithm byte (zlib or gzip), cut count `n` (mod 8), `n` cut lengths, then the
//! header bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uadk_fuzz::uadk::drv::hdr::{parse_header, parse_header_in, Header};
use uadk_fuzz::uadk::Alg;
use uadk_fuzz::*;

const Z_OK: i32 = 0;
const Z_STREAM_END: i32 = 1;
const Z_BUF_ERROR: i32 = -5;

fuzz_target!(|data: &[u8]| {
    let mut d = data;
    let alg = if take(&mut d) & 1 == 0 {
        Alg::Zlib
    } else {
        Alg::Gzip
    };
    let n = take(&mut d) as usize % 8;
    let cuts = take_n(&mut d, n);
    let whole = parse_header(alg, d);
    let split = parse_header_in(alg, pieces(d, cuts));
    assert_eq!(
        whole, split,
        "{alg}: whole and in pieces differ on {d:02x?}"
    );
    // The shortest body, a final fixed block holding only end-of-block (03 00), then the
    // trailer of empty data.
    let trailer: &[u8] = if alg == Alg::Zlib {
        &[0, 0, 0, 1]
    } else {
        &[0; 8]
    };
    match whole {
        Header::Complete(len) => {
            assert!(len <= d.len());
            let mut s = d[..len].to_vec();
            s.extend_from_slice(&[3, 0]);
            s.extend_from_slice(trailer);
            let mut v = vec![("zlib", zlib_inflate(alg, &s))];
            assert_eq!(
                v[0].1,
                Verdict::Ok(vec![], Some(s.len())),
                "{alg}: zlib refuses a header we accept: {d:02x?}"
            );
            for (name, comp) in [("cpu block", cpu()), ("hisi block", hw())] {
                if let Some(sess) = reused(comp, alg) {
                    v.push((name, block(&sess, &s)));
                    keep(comp, alg, sess);
                }
            }
            assert_agree(&s, alg, &v);
        }
        Header::NeedMore => {
            let rc = zlib_rc(alg, d);
            assert!(
                rc == Z_OK || rc == Z_BUF_ERROR,
                "{alg}: a valid start for us, zlib says {rc}: {d:02x?}"
            );
        }
        Header::Invalid(why) => {
            // zlib refuses too, now or (where it decides later than we do) once the
            // shortest body and trailer follow.
            let mut rc = zlib_rc(alg, d);
            if rc == Z_OK || rc == Z_BUF_ERROR {
                let mut s = d.to_vec();
                s.extend_from_slice(&[3, 0]);
                s.extend_from_slice(trailer);
                rc = zlib_rc(alg, &s);
            }
            assert!(
                rc != Z_STREAM_END,
                "{alg}: we refuse ({why}), zlib accepts: {d:02x?}"
            );
        }
    }
});
