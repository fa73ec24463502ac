//! `#[repr(C)]` mirrors of UADK v2.10's public structs and constants.

use libc::{c_char, c_int, c_ulong, c_void};
use std::mem::{offset_of, size_of};

/// `WD_NAME_SIZE`.
pub const WD_NAME_SIZE: usize = 64;
/// `MAX_ATTR_STR_SIZE`.
pub const MAX_ATTR_STR_SIZE: usize = 384;
/// `PATH_STR_SIZE`.
pub const PATH_STR_SIZE: usize = 256;
/// `MAX_DEV_NAME_LEN`.
pub const MAX_DEV_NAME_LEN: usize = 256;
/// `UACCE_QFRT_MAX`.
pub const UACCE_QFRT_MAX: usize = 3;
/// `UACCE_DEV_SVA`.
pub const UACCE_DEV_SVA: c_int = 1;
/// `WD_FLAT_BUF`.
pub const WD_FLAT_BUF: u32 = 0;
/// `WD_SGL_BUF`.
pub const WD_SGL_BUF: u32 = 1;

/// `ALG_NAME_SIZE` of `wd_alg.h`.
pub const ALG_NAME_SIZE: usize = 128;
/// `DEV_NAME_LEN` of `wd_alg.h`.
pub const DEV_NAME_LEN: usize = 128;
/// `UADK_ALG_SOFT`: a driver computing in plain software.
pub const UADK_ALG_SOFT: c_int = 0;
/// `UADK_ALG_CE_INSTR`: a driver using Arm crypto-extension instructions.
pub const UADK_ALG_CE_INSTR: c_int = 1;
/// `UADK_ALG_SVE_INSTR`: a driver using Arm SVE instructions.
pub const UADK_ALG_SVE_INSTR: c_int = 2;
/// `UADK_ALG_HW`: a driver of an accelerator device.
pub const UADK_ALG_HW: c_int = 3;

/// `struct wd_alg_driver` of `wd_alg.h`.
#[repr(C)]
pub struct wd_alg_driver {
    pub drv_name: *const c_char,
    pub alg_name: *const c_char,
    pub priority: c_int,
    pub calc_type: c_int,
    pub queue_num: c_int,
    pub op_type_num: c_int,
    pub priv_: *mut c_void,
    pub fallback: usize,
    pub init: Option<unsafe extern "C" fn(*mut wd_alg_driver, *mut c_void) -> c_int>,
    pub exit: Option<unsafe extern "C" fn(*mut wd_alg_driver)>,
    pub send: Option<unsafe extern "C" fn(*mut wd_alg_driver, usize, *mut c_void) -> c_int>,
    pub recv: Option<unsafe extern "C" fn(*mut wd_alg_driver, usize, *mut c_void) -> c_int>,
    pub get_usage: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    pub get_extend_ops: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
}

/// `struct hisi_dev_usage` of `wd_alg.h` (UADK after v2.10): what a driver's
/// `get_usage` is given.
#[repr(C)]
pub struct hisi_dev_usage {
    pub drv: *mut wd_alg_driver,
    pub dev_name: *const c_char,
    pub alg_op_type: u8,
}

/// `struct wd_alg_list` of `wd_alg.h`: one registered driver.
#[repr(C)]
pub struct wd_alg_list {
    pub alg_name: [c_char; ALG_NAME_SIZE],
    pub drv_name: [c_char; DEV_NAME_LEN],
    pub available: bool,
    pub priority: c_int,
    pub calc_type: c_int,
    pub refcnt: c_int,
    pub drv: *mut wd_alg_driver,
    pub next: *mut wd_alg_list,
}

/// `struct wd_datalist`.
#[repr(C)]
pub struct wd_datalist {
    pub data: *mut c_void,
    pub len: u32,
    pub next: *mut wd_datalist,
}

/// `struct wd_lz77_zstd_data`: where an lz77 request's output lies (`req->priv`).
#[repr(C)]
pub struct wd_lz77_zstd_data {
    pub literals_start: *mut c_void,
    pub sequences_start: *mut c_void,
    pub lit_num: u32,
    pub seq_num: u32,
    pub lit_length_overflow_cnt: u32,
    pub lit_length_overflow_pos: u32,
    pub freq: *mut c_void,
    pub blk_type: u32,
}

/// `wd_alg_comp_cb_t`.
pub type wd_alg_comp_cb_t =
    unsafe extern "C" fn(req: *mut wd_comp_req, cb_param: *mut c_void) -> *mut c_void;

/// `struct wd_comp_req` (`src`/`list_src` and `dst`/`list_dst` are unions of pointers).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wd_comp_req {
    pub src: *mut c_void,
    pub src_len: u32,
    pub dst: *mut c_void,
    pub dst_len: u32,
    pub cb: Option<wd_alg_comp_cb_t>,
    pub cb_param: *mut c_void,
    pub op_type: u32,
    pub data_fmt: u32,
    pub last: u32,
    pub status: u32,
    pub priv_: *mut c_void,
}

/// `struct wd_mm_ops`.
#[repr(C)]
pub struct wd_mm_ops {
    pub alloc: Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>,
    pub free: Option<unsafe extern "C" fn(*mut c_void, *mut c_void)>,
    pub iova_map: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> *mut c_void>,
    pub iova_unmap: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_void, usize)>,
    pub get_bufsize: Option<unsafe extern "C" fn(*mut c_void) -> u32>,
    pub usr: *mut c_void,
    pub sva_mode: bool,
}

impl Default for wd_mm_ops {
    /// No user memory operations: the library works on the caller's virtual addresses.
    fn default() -> Self {
        wd_mm_ops {
            alloc: None,
            free: None,
            iova_map: None,
            iova_unmap: None,
            get_bufsize: None,
            usr: std::ptr::null_mut(),
            sva_mode: false,
        }
    }
}

/// `struct wd_comp_sess_setup`.
#[repr(C)]
pub struct wd_comp_sess_setup {
    pub alg_type: u32,
    pub comp_lv: u32,
    pub win_sz: u32,
    pub op_type: u32,
    pub sched_param: *mut c_void,
    pub mm_ops: wd_mm_ops,
    pub mm_type: u32,
}

/// `struct wd_ctx`.
#[repr(C)]
pub struct wd_ctx {
    pub ctx: usize,
    pub op_type: u8,
    pub ctx_mode: u8,
}

/// `struct wd_cap_config`.
#[repr(C)]
pub struct wd_cap_config {
    pub ctx_msg_num: u32,
    pub resv: u32,
}

/// `struct wd_ctx_config`.
#[repr(C)]
pub struct wd_ctx_config {
    pub ctx_num: u32,
    pub ctxs: *mut wd_ctx,
    pub priv_: *mut c_void,
    pub cap: *mut wd_cap_config,
}

/// `struct wd_ctx_nums`.
#[repr(C)]
pub struct wd_ctx_nums {
    pub sync_ctx_num: u32,
    pub async_ctx_num: u32,
}

/// libnuma's `struct bitmask`.
#[repr(C)]
pub struct bitmask {
    pub size: c_ulong,
    pub maskp: *mut c_ulong,
}

/// `struct wd_ctx_params`.
#[repr(C)]
pub struct wd_ctx_params {
    pub op_type_num: u32,
    pub ctx_set_num: *mut wd_ctx_nums,
    pub bmp: *mut bitmask,
    pub cap: *mut wd_cap_config,
}

/// `struct wd_sched`.
#[repr(C)]
pub struct wd_sched {
    pub name: *const c_char,
    pub sched_policy: c_int,
    pub sched_init: Option<unsafe extern "C" fn(usize, *mut c_void) -> usize>,
    pub pick_next_ctx: Option<unsafe extern "C" fn(usize, *mut c_void, c_int) -> u32>,
    pub poll_policy: Option<unsafe extern "C" fn(usize, u32, *mut u32) -> c_int>,
    pub h_sched_ctx: usize,
}

/// `struct sched_params`.
#[repr(C)]
pub struct sched_params {
    pub numa_id: c_int,
    pub type_: u8,
    pub mode: u8,
    pub begin: u32,
    pub end: u32,
    pub dev_id: u32,
}

/// `struct uacce_dev`.
#[repr(C)]
pub struct uacce_dev {
    pub flags: c_int,
    pub numa_id: c_int,
    pub api: [c_char; WD_NAME_SIZE],
    pub algs: [c_char; MAX_ATTR_STR_SIZE],
    pub dev_root: [c_char; PATH_STR_SIZE],
    pub char_dev_path: [c_char; MAX_DEV_NAME_LEN],
    pub qfrs_offs: [c_ulong; UACCE_QFRT_MAX],
}

/// `struct uacce_dev_list`.
#[repr(C)]
pub struct uacce_dev_list {
    pub dev: *mut uacce_dev,
    pub next: *mut uacce_dev_list,
}

/// `struct wd_mempool_stats` (`page_type` is `enum wd_page_type`).
#[repr(C)]
pub struct wd_mempool_stats {
    pub page_type: c_int,
    pub page_size: c_ulong,
    pub page_num: c_ulong,
    pub blk_size: c_ulong,
    pub blk_num: c_ulong,
    pub free_blk_num: c_ulong,
    pub blk_usage_rate: c_ulong,
}

/// `struct wd_blockpool_stats`.
#[repr(C)]
pub struct wd_blockpool_stats {
    pub block_size: c_ulong,
    pub block_num: c_ulong,
    pub free_block_num: c_ulong,
    pub block_usage_rate: c_ulong,
    pub mem_waste_rate: c_ulong,
}

/// `struct wd_mempool_setup` of `wd_bmm.h`.
#[repr(C)]
pub struct wd_mempool_setup {
    pub block_size: u32,
    pub block_num: u32,
    pub align_size: u32,
    pub ops: wd_mm_ops,
}

/// `z_stream` of `wd_zlibwrapper.h`.
#[repr(C)]
pub struct z_stream {
    pub next_in: *const u8,
    pub avail_in: u32,
    pub total_in: u64,
    pub next_out: *mut u8,
    pub avail_out: u32,
    pub total_out: u64,
    pub msg: *const c_char,
    pub state: *mut c_void,
    pub zalloc: *mut c_void,
    pub zfree: *mut c_void,
    pub opaque: *mut c_void,
    pub data_type: c_int,
    pub adler: u64,
    pub reserved: u64,
}

macro_rules! layout {
    ($out:ident, $t:ident { $($f:ident $(= $cname:literal)?),* }) => {{
        $out.push((format!("sizeof({})", stringify!($t)), size_of::<$t>() as i64));
        $(
            let name = layout!(@name $f $(, $cname)?);
            $out.push((format!("offsetof({}.{})", stringify!($t), name), offset_of!($t, $f) as i64));
        )*
    }};
    (@name $f:ident) => { stringify!($f) };
    (@name $f:ident, $c:literal) => { $c };
}

/// Every layout fact and constant, as `tests/c/abi_check.c` prints them from the headers.
pub fn facts() -> Vec<(String, i64)> {
    let mut v = Vec::new();
    layout!(v, wd_comp_req { src, src_len, dst, dst_len, cb, cb_param, op_type, data_fmt, last, status, priv_ = "priv" });
    layout!(
        v,
        wd_lz77_zstd_data {
            literals_start,
            sequences_start,
            lit_num,
            seq_num,
            lit_length_overflow_cnt,
            lit_length_overflow_pos,
            freq,
            blk_type
        }
    );
    layout!(
        v,
        wd_comp_sess_setup {
            alg_type,
            comp_lv,
            win_sz,
            op_type,
            sched_param,
            mm_ops,
            mm_type
        }
    );
    layout!(
        v,
        wd_mm_ops {
            alloc,
            free,
            iova_map,
            iova_unmap,
            get_bufsize,
            usr,
            sva_mode
        }
    );
    layout!(v, wd_datalist { data, len, next });
    layout!(
        v,
        wd_ctx {
            ctx,
            op_type,
            ctx_mode
        }
    );
    layout!(v, wd_ctx_config { ctx_num, ctxs, priv_ = "priv", cap });
    layout!(
        v,
        wd_ctx_nums {
            sync_ctx_num,
            async_ctx_num
        }
    );
    layout!(
        v,
        wd_ctx_params {
            op_type_num,
            ctx_set_num,
            bmp,
            cap
        }
    );
    layout!(v, wd_cap_config { ctx_msg_num, resv });
    layout!(
        v,
        wd_sched {
            name,
            sched_policy,
            sched_init,
            pick_next_ctx,
            poll_policy,
            h_sched_ctx
        }
    );
    layout!(v, sched_params { numa_id, type_ = "type", mode, begin, end, dev_id });
    layout!(
        v,
        uacce_dev {
            flags,
            numa_id,
            api,
            algs,
            dev_root,
            char_dev_path,
            qfrs_offs
        }
    );
    layout!(v, uacce_dev_list { dev, next });
    layout!(
        v,
        wd_mempool_stats {
            page_type,
            page_size,
            page_num,
            blk_size,
            blk_num,
            free_blk_num,
            blk_usage_rate
        }
    );
    layout!(
        v,
        wd_blockpool_stats {
            block_size,
            block_num,
            free_block_num,
            block_usage_rate,
            mem_waste_rate
        }
    );
    layout!(
        v,
        wd_mempool_setup {
            block_size,
            block_num,
            align_size,
            ops
        }
    );
    layout!(
        v,
        z_stream {
            next_in,
            avail_in,
            total_in,
            next_out,
            avail_out,
            total_out,
            msg,
            state,
            zalloc,
            zfree,
            opaque,
            data_type,
            adler,
            reserved
        }
    );
    layout!(
        v,
        wd_alg_driver {
            drv_name,
            alg_name,
            priority,
            calc_type,
            queue_num,
            op_type_num,
            priv_ = "priv",
            fallback,
            init,
            exit,
            send,
            recv,
            get_usage,
            get_extend_ops
        }
    );
    layout!(
        v,
        hisi_dev_usage {
            drv,
            dev_name,
            alg_op_type
        }
    );
    layout!(
        v,
        wd_alg_list {
            alg_name,
            drv_name,
            available,
            priority,
            calc_type,
            refcnt,
            drv,
            next
        }
    );
    use uadk::wd::status::*;
    let consts: &[(&str, i64)] = &[
        ("WD_DEFLATE", 0),
        ("WD_ZLIB", 1),
        ("WD_GZIP", 2),
        ("WD_LZ77_ZSTD", 3),
        ("WD_LZ4", 4),
        ("WD_LZ77_ONLY", 5),
        ("WD_COMP_ALG_MAX", 6),
        ("WD_DIR_COMPRESS", 0),
        ("WD_DIR_DECOMPRESS", 1),
        ("WD_DIR_MAX", 2),
        ("WD_COMP_L1", 1),
        ("WD_COMP_L15", 15),
        ("WD_COMP_WS_4K", 0),
        ("WD_COMP_WS_8K", 1),
        ("WD_COMP_WS_16K", 2),
        ("WD_COMP_WS_24K", 3),
        ("WD_COMP_WS_32K", 4),
        ("WD_FLAT_BUF", WD_FLAT_BUF as i64),
        ("WD_SGL_BUF", WD_SGL_BUF as i64),
        ("TASK_MIX", 0),
        ("TASK_HW", 1),
        ("TASK_INSTR", 2),
        ("TASK_MAX_TYPE", 3),
        ("CTX_MODE_SYNC", 0),
        ("CTX_MODE_ASYNC", 1),
        ("CTX_MODE_MAX", 2),
        ("SCHED_POLICY_RR", 0),
        ("SCHED_POLICY_NONE", 1),
        ("SCHED_POLICY_SINGLE", 2),
        ("SCHED_POLICY_DEV", 3),
        ("UACCE_QFRT_MMIO", 0),
        ("UACCE_QFRT_DUS", 1),
        ("UACCE_QFRT_MAX", UACCE_QFRT_MAX as i64),
        ("UACCE_DEV_SVA", UACCE_DEV_SVA as i64),
        ("ALG_NAME_SIZE", ALG_NAME_SIZE as i64),
        ("DEV_NAME_LEN", DEV_NAME_LEN as i64),
        ("UADK_ALG_SOFT", UADK_ALG_SOFT as i64),
        ("UADK_ALG_CE_INSTR", UADK_ALG_CE_INSTR as i64),
        ("UADK_ALG_SVE_INSTR", UADK_ALG_SVE_INSTR as i64),
        ("UADK_ALG_HW", UADK_ALG_HW as i64),
        ("WD_HUGE_PAGE", 0),
        ("WD_NORMAL_PAGE", 1),
        ("WD_SUCCESS", WD_SUCCESS as i64),
        ("WD_STREAM_END", WD_STREAM_END as i64),
        ("WD_STREAM_START", WD_STREAM_START as i64),
        ("WD_SOFT_COMPUTING", WD_SOFT_COMPUTING as i64),
        ("WD_EIO", WD_EIO as i64),
        ("WD_EAGAIN", WD_EAGAIN as i64),
        ("WD_ENOMEM", WD_ENOMEM as i64),
        ("WD_EACCES", WD_EACCES as i64),
        ("WD_EBUSY", WD_EBUSY as i64),
        ("WD_EEXIST", WD_EEXIST as i64),
        ("WD_ENODEV", WD_ENODEV as i64),
        ("WD_EINVAL", WD_EINVAL as i64),
        ("WD_ETIMEDOUT", WD_ETIMEDOUT as i64),
        ("WD_ADDR_ERR", WD_ADDR_ERR as i64),
        ("WD_HW_EACCESS", WD_HW_EACCESS as i64),
        ("WD_SGL_ERR", WD_SGL_ERR as i64),
        ("WD_VERIFY_ERR", WD_VERIFY_ERR as i64),
        ("WD_OUT_EPARA", WD_OUT_EPARA as i64),
        ("WD_IN_EPARA", WD_IN_EPARA as i64),
        ("WD_ENOPROC", WD_ENOPROC as i64),
    ];
    v.extend(consts.iter().map(|(n, x)| (n.to_string(), *x)));
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn enums_match_the_rust_api() {
        assert_eq!(uadk::Alg::Lz4 as u32, 4);
        assert_eq!(uadk::WindowSize::W32K as u32, 4);
        assert_eq!(uadk::TaskType::Instr as u32, 2);
        assert_eq!(uadk::CtxMode::Async as u32, 1);
        let f = super::facts();
        assert!(f
            .iter()
            .any(|(n, v)| n == "sizeof(wd_comp_req)" && *v == 72));
    }
}
