//! Heap allocations per request of the C ABI on hardware (a modelled ZIP device), counted
//! by a global allocator on the calling thread: `wd_do_comp_sync`, and `wd_do_comp_async`
//! with `wd_comp_poll`, allocate nothing once warm (the model's engine thread is not
//! counted). `UADK_ALLOC_TRACE=1` prints a backtrace for each allocation counted.

use libc::c_void;
use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::ffi::CString;
use std::ptr;
use uadk_capi::abi::*;
use uadk_capi::comp::*;

struct Counting;

thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
    /// Slots whose async requests completed, from the callback.
    static DONE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

impl Counting {
    fn note(&self, size: usize) {
        if !ENABLED.try_with(Cell::get).unwrap_or(false) {
            return;
        }
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        if std::env::var_os("UADK_ALLOC_TRACE").is_some() {
            ENABLED.with(|e| e.set(false));
            eprintln!(
                "allocation of {size} bytes at:\n{}",
                Backtrace::force_capture()
            );
            ENABLED.with(|e| e.set(true));
        }
    }
}

// SAFETY: every call goes to `System` unchanged; the counting touches only thread-locals
// that need no allocation (const-initialised `Cell`s).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.note(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.note(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.note(new_size);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    ENABLED.with(|e| e.set(true));
    f();
    ENABLED.with(|e| e.set(false));
    COUNT.with(Cell::get)
}

unsafe extern "C" fn done(req: *mut wd_comp_req, param: *mut c_void) -> *mut c_void {
    // SAFETY: the library's copy of the request, valid during the call.
    let r = unsafe { &*req };
    assert_eq!(r.status, 0);
    assert!(r.dst_len > 0);
    DONE.with(|d| d.borrow_mut().push(param as usize));
    ptr::null_mut()
}

fn req(src: &[u8], dst: &mut [u8]) -> wd_comp_req {
    wd_comp_req {
        src: src.as_ptr() as *mut c_void,
        src_len: src.len() as u32,
        dst: dst.as_mut_ptr() as *mut c_void,
        dst_len: dst.len() as u32,
        cb: None,
        cb_param: ptr::null_mut(),
        op_type: 0,
        data_fmt: WD_FLAT_BUF,
        last: 1,
        status: 0,
        priv_: ptr::null_mut(),
    }
}

// One test: the framework instance is process-global.
#[test]
fn c_requests_on_hardware_do_not_allocate() {
    uadk::model::install(&[uadk::model::DeviceGroup {
        queues: 8,
        ..uadk::model::DeviceGroup::default()
    }])
    .unwrap();
    let mut nums = [wd_ctx_nums {
        sync_ctx_num: 1,
        async_ctx_num: 1,
    }];
    let mut params = wd_ctx_params {
        op_type_num: 1,
        ctx_set_num: nums.as_mut_ptr(),
        bmp: ptr::null_mut(),
        cap: ptr::null_mut(),
    };
    let zlib = CString::new("zlib").unwrap();
    // TASK_HW: the hisi_zip driver on the modelled device.
    assert_eq!(
        wd_comp_init2_(zlib.as_ptr() as *mut _, 0, 1, &mut params),
        0
    );
    let mut setup = wd_comp_sess_setup {
        alg_type: 1,
        comp_lv: 1,
        win_sz: 4,
        op_type: 0,
        sched_param: ptr::null_mut(),
        mm_ops: wd_mm_ops::default(),
        mm_type: 0,
    };
    let h = wd_comp_alloc_sess(&mut setup);
    assert_ne!(h, 0);
    let data: Vec<u8> = (0..8192).map(|i| b"lorem ipsum "[i % 12]).collect();
    const WINDOW: usize = 16;
    let src: Vec<Vec<u8>> = (0..WINDOW).map(|_| data.clone()).collect();
    let mut dst: Vec<Vec<u8>> = (0..WINDOW).map(|_| vec![0u8; 16384]).collect();

    let mut sync = |n: usize| {
        for _ in 0..n {
            let mut r = req(&src[0], &mut dst[0]);
            assert_eq!(wd_do_comp_sync(h, &mut r), 0);
            assert_eq!(r.status, 0);
        }
    };
    sync(2);
    assert_eq!(allocations(|| sync(32)), 0, "wd_do_comp_sync");

    DONE.with(|d| d.borrow_mut().reserve(WINDOW));
    let mut back = Vec::with_capacity(WINDOW);
    let mut round = || {
        for i in 0..WINDOW {
            let mut r = req(&src[i], &mut dst[i]);
            r.cb = Some(done);
            r.cb_param = i as *mut c_void;
            assert_eq!(wd_do_comp_async(h, &mut r), 0);
        }
        let mut got = 0;
        while got < WINDOW {
            let mut count = 0u32;
            assert_eq!(wd_comp_poll(WINDOW as u32, &mut count), 0);
            DONE.with(|d| std::mem::swap(&mut *d.borrow_mut(), &mut back));
            assert_eq!(back.len(), count as usize);
            got += back.len();
            back.clear();
        }
    };
    round();
    assert_eq!(
        allocations(|| {
            for _ in 0..4 {
                round();
            }
        }),
        0,
        "wd_do_comp_async + wd_comp_poll"
    );
    // The output is a zlib stream of the input.
    let mut out = vec![0u8; data.len()];
    let mut r = req(&src[0], &mut dst[0]);
    assert_eq!(wd_do_comp_sync(h, &mut r), 0);
    let n = r.dst_len as usize;
    let mut d = flate_zlib(&dst[0][..n], &mut out);
    assert_eq!(std::mem::take(&mut d), data.len());
    assert_eq!(out, data);
    wd_comp_free_sess(h);
    wd_comp_uninit2();
}

/// Inflate a zlib stream with the library's own CPU engine path.
fn flate_zlib(z: &[u8], out: &mut [u8]) -> usize {
    let comp = uadk::Comp::new(
        uadk::CompConfig::new()
            .alg(uadk::Alg::Zlib)
            .task_type(uadk::TaskType::Instr),
    )
    .unwrap();
    let s = comp
        .session(&uadk::SessionSetup::new(
            uadk::Alg::Zlib,
            uadk::OpType::Decompress,
        ))
        .unwrap();
    s.process(z, out).unwrap()
}
