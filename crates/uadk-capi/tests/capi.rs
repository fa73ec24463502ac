//! The C entry points called in-process: UADK's status and length semantics, reference
//! counting, and bad calls answered with error codes.

use libc::c_void;
use std::ffi::CString;
use std::ptr;
use uadk_capi::abi::*;
use uadk_capi::comp::*;

const EINVAL: i32 = -libc::EINVAL;

fn setup(alg: u32, op: u32) -> wd_comp_sess_setup {
    wd_comp_sess_setup {
        alg_type: alg,
        comp_lv: 0,
        win_sz: 0,
        op_type: op,
        sched_param: ptr::null_mut(),
        mm_ops: wd_mm_ops::default(),
        mm_type: 0,
    }
}

fn req(src: &mut [u8], dst: &mut [u8], op: u32) -> wd_comp_req {
    wd_comp_req {
        src: src.as_mut_ptr() as *mut c_void,
        src_len: src.len() as u32,
        dst: dst.as_mut_ptr() as *mut c_void,
        dst_len: dst.len() as u32,
        cb: None,
        cb_param: ptr::null_mut(),
        op_type: op,
        data_fmt: WD_FLAT_BUF,
        last: 1,
        status: 0,
        priv_: ptr::null_mut(),
    }
}

fn text(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| b"lorem ipsum dolor sit amet "[i % 27] ^ (i / 1000) as u8)
        .collect()
}

// One test: the framework instance is process-global.
#[test]
fn c_entry_points() {
    let zlib = CString::new("zlib").unwrap();
    // Not initialised yet: sessions cannot open.
    assert_eq!(wd_comp_alloc_sess(&mut setup(1, 0)), 0);
    assert_eq!(
        wd_comp_init2_(zlib.as_ptr() as *mut _, 0, 1, ptr::null_mut()),
        0
    );
    // A second channel's init reports EEXIST and takes a reference.
    assert_eq!(
        wd_comp_init2_(zlib.as_ptr() as *mut _, 0, 1, ptr::null_mut()),
        -libc::EEXIST
    );
    let bad = CString::new("brotli").unwrap();
    assert_eq!(
        wd_comp_init2_(bad.as_ptr() as *mut _, 0, 1, ptr::null_mut()),
        EINVAL
    );
    assert_eq!(
        wd_comp_init2_(ptr::null_mut(), 0, 1, ptr::null_mut()),
        EINVAL
    );

    let c = wd_comp_alloc_sess(&mut setup(1, 0));
    let d = wd_comp_alloc_sess(&mut setup(1, 1));
    assert!(c != 0 && d != 0);
    let mut bad_setup = setup(1, 0);
    bad_setup.comp_lv = 16;
    assert_eq!(wd_comp_alloc_sess(&mut bad_setup), 0);
    assert_eq!(wd_comp_alloc_sess(&mut setup(9, 0)), 0);

    // Sync round trip of a page; zero-filled setup means level 1 and a 4K window.
    let mut page = text(4096);
    let mut z = vec![0u8; 8192];
    let mut r = req(&mut page, &mut z, 0);
    assert_eq!(wd_do_comp_sync(c, &mut r), 0);
    assert_eq!(r.status, 0);
    assert_eq!(z[0] >> 4, 4, "CINFO of a 4K window");
    let n = r.dst_len as usize;
    let mut back = vec![0u8; 4096];
    let mut r2 = req(&mut z[..n], &mut back, 1);
    assert_eq!(wd_do_comp_sync(d, &mut r2), 0);
    assert_eq!((r2.status, r2.dst_len), (0, 4096));
    assert_eq!(back, page);

    // Bad calls.
    assert_eq!(wd_do_comp_sync(c, ptr::null_mut()), EINVAL);
    assert_eq!(wd_do_comp_sync(0, &mut r), EINVAL);
    let mut wrong_op = req(&mut page, &mut z, 1);
    assert_eq!(wd_do_comp_sync(c, &mut wrong_op), EINVAL);
    let mut empty = req(&mut page, &mut z, 0);
    empty.src_len = 0;
    assert_eq!(wd_do_comp_sync(c, &mut empty), EINVAL);
    empty.src_len = 10;
    empty.dst_len = 0;
    assert_eq!(wd_do_comp_sync(c, &mut empty), EINVAL);
    // Corrupt input: a request status, as UADK reports data errors.
    let mut junk = vec![0xffu8; 100];
    let mut rj = req(&mut junk, &mut back, 1);
    assert_eq!(wd_do_comp_sync(d, &mut rj), 0);
    assert_eq!(rj.status, 67, "WD_IN_EPARA");

    // Stream with tiny output buffers: UADK's end rule (last, all input consumed, status 0).
    let s = wd_comp_alloc_sess(&mut setup(1, 0));
    let data = text(50_000);
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let mut piece = data[pos..(pos + 1000).min(data.len())].to_vec();
        let last = pos + piece.len() == data.len();
        let mut buf = [0u8; 7];
        let mut rq = req(&mut piece, &mut buf, 0);
        rq.last = last as u32;
        assert_eq!(wd_do_comp_strm(s, &mut rq), 0);
        assert_eq!(rq.status, 0);
        out.extend_from_slice(&buf[..rq.dst_len as usize]);
        pos += rq.src_len as usize;
        if last && rq.src_len as usize == piece.len() {
            break;
        }
    }
    let mut plain = vec![0u8; data.len()];
    let mut rd = req(&mut out, &mut plain, 1);
    assert_eq!(wd_do_comp_sync(d, &mut rd), 0);
    assert_eq!((rd.status, &plain[..]), (0, &data[..]));

    // Freed handles are errors, twice-freed ones are ignored.
    wd_comp_free_sess(s);
    wd_comp_free_sess(s);
    assert_eq!(wd_do_comp_sync(s, &mut r), EINVAL);

    // One channel's uninit leaves the engine to the other; sessions survive teardown.
    wd_comp_uninit2();
    let mut r3 = req(&mut page, &mut z, 0);
    assert_eq!(wd_do_comp_sync(c, &mut r3), 0);
    wd_comp_uninit2();
    wd_comp_uninit2(); // after a failed init, QEMU still calls it
    assert_eq!(wd_do_comp_sync(c, &mut r3), 0);
    wd_comp_free_sess(c);
    wd_comp_free_sess(d);
    let mut count = 0u32;
    assert_eq!(wd_comp_poll(1, &mut count), EINVAL, "not initialised");
}
