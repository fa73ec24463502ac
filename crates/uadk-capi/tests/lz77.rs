//! `lz77_zstd` and `lz77_only` through the C entry points, as UADK's programs call them:
//! `req->priv` is a `struct wd_lz77_zstd_data` filled with pointers into the output, the
//! counts and (for `lz77_zstd`) the overflow and frequency table; `dst_len` comes back 0.

use libc::c_void;
use std::ffi::CString;
use std::ptr;
use uadk::hw::lz77::{self as fmt, Freq, Reps, StreamReps, Variant};
use uadk_capi::abi::*;
use uadk_capi::comp::*;

const EINVAL: i32 = -libc::EINVAL;

fn setup(alg: u32, level: u32) -> wd_comp_sess_setup {
    wd_comp_sess_setup {
        alg_type: alg,
        comp_lv: level,
        win_sz: 4,
        op_type: 0,
        sched_param: ptr::null_mut(),
        mm_ops: wd_mm_ops::default(),
        mm_type: 0,
    }
}

fn empty_priv() -> wd_lz77_zstd_data {
    wd_lz77_zstd_data {
        literals_start: ptr::null_mut(),
        sequences_start: ptr::null_mut(),
        lit_num: 0,
        seq_num: 0,
        lit_length_overflow_cnt: 0,
        lit_length_overflow_pos: 0,
        freq: ptr::null_mut(),
        blk_type: 2,
    }
}

fn req(
    src: &mut [u8],
    dst: *mut c_void,
    dst_len: usize,
    data: &mut wd_lz77_zstd_data,
) -> wd_comp_req {
    wd_comp_req {
        src: src.as_mut_ptr() as *mut c_void,
        src_len: src.len() as u32,
        dst,
        dst_len: dst_len as u32,
        cb: None,
        cb_param: ptr::null_mut(),
        op_type: 0,
        data_fmt: WD_FLAT_BUF,
        last: 1,
        status: 0,
        priv_: data as *mut _ as *mut c_void,
    }
}

fn text(n: usize, seed: usize) -> Vec<u8> {
    (0..n)
        .map(|i| {
            b"lorem ipsum dolor sit amet, consectetur "[(i * 7 / 5 + seed) % 40]
                ^ ((i / 3000) as u8 & 7)
        })
        .collect()
}

/// Rebuild the input from what `priv` points at (records read from `seqs`).
fn replay(
    v: Variant,
    d: &wd_lz77_zstd_data,
    seqs: &[u8],
    reps: &mut Reps,
    history: &[u8],
) -> Vec<u8> {
    // SAFETY: the library pointed literals_start at `lit_num` bytes of our output.
    let lits =
        unsafe { std::slice::from_raw_parts(d.literals_start as *const u8, d.lit_num as usize) };
    let recs = fmt::records(seqs, d.seq_num as usize);
    let s = fmt::decode(
        v,
        recs,
        (d.lit_length_overflow_cnt, d.lit_length_overflow_pos),
        reps,
    )
    .unwrap();
    let mut out = Vec::new();
    fmt::replay(&s, lits, history, &mut out).unwrap();
    out
}

fn check_freq(d: &wd_lz77_zstd_data) {
    // SAFETY: pointers into our own output, as the library reported them.
    let (lits, seqs, table) = unsafe {
        (
            std::slice::from_raw_parts(d.literals_start as *const u8, d.lit_num as usize),
            std::slice::from_raw_parts(d.sequences_start as *const u8, d.seq_num as usize * 8),
            std::slice::from_raw_parts(d.freq as *const u8, fmt::FREQ_DATA_SIZE),
        )
    };
    assert_eq!(
        d.freq as usize,
        d.sequences_start as usize + d.seq_num as usize * 8 + 8
    );
    let mut f = Freq::default();
    f.add_literals(lits);
    for (i, r) in fmt::records(seqs, d.seq_num as usize).enumerate() {
        let mut ll = r.lit_len as u32;
        if d.lit_length_overflow_cnt > 0 && i as u32 == d.lit_length_overflow_pos {
            ll += d.lit_length_overflow_cnt << 16;
        }
        f.add_record(ll, r.match_len as u32 + 3, r.offset);
    }
    assert_eq!(Freq::read(table), f);
}

extern "C" fn on_done(req: *mut wd_comp_req, param: *mut c_void) -> *mut c_void {
    // SAFETY: the counter we passed as cb_param.
    let n = unsafe { &*(param as *const std::sync::atomic::AtomicU32) };
    // SAFETY: the request the library passes.
    let r = unsafe { &*req };
    assert_eq!((r.status, r.dst_len, r.src_len), (0, 0, 100_000));
    n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    ptr::null_mut()
}

// One test: the framework instance is process-global.
#[test]
fn lz77_through_the_c_abi() {
    let alg = CString::new("lz77_zstd").unwrap();
    assert_eq!(
        wd_comp_init2_(alg.as_ptr() as *mut _, 0, 0, ptr::null_mut()),
        0
    );
    let h = wd_comp_alloc_sess(&mut setup(3, 8));
    assert_ne!(h, 0);
    let mut data = text(100_000, 1);
    let cap = data.len() * 3;

    // Block, flat.
    let mut out = vec![0u8; cap];
    let mut d = empty_priv();
    let mut r = req(&mut data, out.as_mut_ptr().cast(), cap, &mut d);
    assert_eq!(wd_do_comp_sync(h, &mut r), 0);
    assert_eq!(
        (r.status, r.dst_len, r.src_len),
        (0, 0, 100_000),
        "dst_len 0 as UADK"
    );
    assert_eq!(d.literals_start as usize, out.as_ptr() as usize);
    assert_eq!(d.sequences_start as usize, out.as_ptr() as usize + 100_016);
    assert!(
        d.seq_num > 10 && d.lit_num < 100_000,
        "{} {}",
        d.seq_num,
        d.lit_num
    );
    check_freq(&d);
    let seqs = out[100_016..].to_vec();
    assert_eq!(
        replay(Variant::Zstd, &d, &seqs, &mut Reps::default(), &[]),
        data
    );

    // Block, SGL: 4000-byte entries; the sequences start at the entry after 100016 bytes.
    let mut bufs: Vec<Vec<u8>> = (0..cap / 4000).map(|_| vec![0u8; 4000]).collect();
    let mut nodes: Vec<wd_datalist> = bufs
        .iter_mut()
        .map(|b| wd_datalist {
            data: b.as_mut_ptr().cast(),
            len: 4000,
            next: ptr::null_mut(),
        })
        .collect();
    for i in 0..nodes.len() - 1 {
        nodes[i].next = &mut nodes[i + 1] as *mut wd_datalist;
    }
    let mut src_nodes: Vec<wd_datalist> = data
        .chunks_mut(30_000)
        .map(|c| wd_datalist {
            data: c.as_mut_ptr().cast(),
            len: c.len() as u32,
            next: ptr::null_mut(),
        })
        .collect();
    for i in 0..src_nodes.len() - 1 {
        src_nodes[i].next = &mut src_nodes[i + 1] as *mut wd_datalist;
    }
    let mut d = empty_priv();
    let mut r = req(
        &mut [],
        nodes.as_mut_ptr().cast(),
        cap / 4000 * 4000,
        &mut d,
    );
    r.src = src_nodes.as_mut_ptr().cast();
    r.src_len = 100_000;
    r.data_fmt = WD_SGL_BUF;
    assert_eq!(wd_do_comp_sync(h, &mut r), 0);
    assert_eq!(r.status, 0);
    assert_eq!(d.literals_start as usize, nodes.as_ptr() as usize);
    assert_eq!(
        d.sequences_start as usize, &nodes[26] as *const _ as usize,
        "entry at 104000"
    );
    let gathered: Vec<u8> = bufs.concat();
    let mut flat_d = empty_priv();
    flat_d.literals_start = gathered.as_ptr() as *mut c_void;
    flat_d.lit_num = d.lit_num;
    flat_d.seq_num = d.seq_num;
    flat_d.lit_length_overflow_cnt = d.lit_length_overflow_cnt;
    flat_d.lit_length_overflow_pos = d.lit_length_overflow_pos;
    assert_eq!(
        replay(
            Variant::Zstd,
            &flat_d,
            &gathered[104_000..],
            &mut Reps::default(),
            &[]
        ),
        data
    );
    let freq_at = 104_000 + d.seq_num as usize * 8 + 8;
    assert_eq!(
        d.freq as usize,
        bufs[freq_at / 4000].as_ptr() as usize + freq_at % 4000
    );

    // Stream: calls of 40000 bytes, the caller saying each block went out compressed,
    // then one it sent raw.
    let hs = wd_comp_alloc_sess(&mut setup(3, 9));
    let mut history = Vec::new();
    let mut reps = StreamReps::default();
    for (k, piece) in data.chunks_mut(40_000).enumerate() {
        let prev = if k == 2 { 0 } else { 2 };
        let mut out = vec![0u8; 200_000];
        let mut d = empty_priv();
        d.blk_type = prev;
        let last = (k == 2) as u32;
        let mut r = req(piece, out.as_mut_ptr().cast(), out.len(), &mut d);
        r.last = last;
        assert_eq!(wd_do_comp_strm(hs, &mut r), 0);
        assert_eq!(
            (r.status, r.dst_len, r.src_len as usize),
            (0, 0, piece.len())
        );
        let mut start = reps.start(uadk::BlockType::from_u32(prev));
        let seqs = out[piece.len() + 16..].to_vec();
        let got = replay(Variant::Zstd, &d, &seqs, &mut start, &history);
        reps.end(start);
        assert_eq!(got, piece, "stream call {k}");
        history.extend_from_slice(&got);
    }
    wd_comp_free_sess(hs);

    // Async, flat.
    let done = std::sync::atomic::AtomicU32::new(0);
    let mut out = vec![0u8; cap];
    let mut d = empty_priv();
    let mut r = req(&mut data, out.as_mut_ptr().cast(), cap, &mut d);
    r.cb = Some(on_done);
    r.cb_param = &done as *const _ as *mut c_void;
    assert_eq!(wd_do_comp_async(h, &mut r), 0);
    let mut n = 0u32;
    for _ in 0..2000 {
        if done.load(std::sync::atomic::Ordering::SeqCst) == 1 {
            break;
        }
        wd_comp_poll(1, &mut n);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The callback got a copy of the request (as UADK's); ours is untouched, priv filled.
    assert_eq!(r.dst_len as usize, cap);
    check_freq(&d);
    let seqs = out[100_016..].to_vec();
    assert_eq!(
        replay(Variant::Zstd, &d, &seqs, &mut Reps::default(), &[]),
        data
    );

    // lz77_only on the same framework.
    let ho = wd_comp_alloc_sess(&mut setup(5, 8));
    let mut out = vec![0u8; cap];
    let mut d = empty_priv();
    let mut r = req(&mut data, out.as_mut_ptr().cast(), cap, &mut d);
    assert_eq!(wd_do_comp_sync(ho, &mut r), 0);
    assert!(d.freq.is_null(), "lz77_only has no table");
    let seqs = out[100_016..].to_vec();
    assert_eq!(
        replay(Variant::Only, &d, &seqs, &mut Reps::default(), &[]),
        data
    );
    wd_comp_free_sess(ho);

    // Bad calls: no priv, a level the engine lacks, an output without room for the table.
    let mut r = req(&mut data, out.as_mut_ptr().cast(), cap, &mut d);
    r.priv_ = ptr::null_mut();
    assert_eq!(wd_do_comp_sync(h, &mut r), EINVAL);
    let h1 = wd_comp_alloc_sess(&mut setup(3, 0));
    assert_ne!(h1, 0, "level 0 opens, as UADK's sessions do");
    let mut r = req(&mut data, out.as_mut_ptr().cast(), cap, &mut d);
    assert_eq!(
        wd_do_comp_sync(h1, &mut r),
        EINVAL,
        "and fails at request time"
    );
    wd_comp_free_sess(h1);
    let mut r = req(&mut data, out.as_mut_ptr().cast(), 100_016 + 783, &mut d);
    assert_eq!(wd_do_comp_sync(h, &mut r), EINVAL);
    // Room for the table, not for the sequences: the engine's error status.
    let mut r = req(&mut data, out.as_mut_ptr().cast(), 100_016 + 2000, &mut d);
    assert_eq!(wd_do_comp_sync(h, &mut r), 0);
    assert_eq!(r.status, uadk::wd::status::WD_IN_EPARA as u32);

    wd_comp_free_sess(h);
    wd_comp_uninit2();
}
