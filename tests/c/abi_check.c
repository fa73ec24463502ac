/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs: the headers' layouts and constants as the C compiler sees them, one
 * `NAME VALUE` line each: `sizeof(STRUCT)`, `offsetof(STRUCT.FIELD)` (an anonymous union
 * under its first member's name) and bare constant names. crates/uadk-capi/tests/abi.rs
 * compares them with the Rust mirrors.
 */
#include <stddef.h>
#include <stdio.h>
#include "uadk/wd_bmm.h"
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"
#include "uadk/wd_zlibwrapper.h"

#define SIZE(n, t) printf("sizeof(%s) %zu\n", n, sizeof(t))
#define OFF(n, t, f) printf("offsetof(%s.%s) %zu\n", n, #f, offsetof(t, f))
#define CONST(c) printf("%s %lld\n", #c, (long long)(c))

int main(void)
{
	SIZE("wd_comp_req", struct wd_comp_req);
	OFF("wd_comp_req", struct wd_comp_req, src);
	OFF("wd_comp_req", struct wd_comp_req, src_len);
	OFF("wd_comp_req", struct wd_comp_req, dst);
	OFF("wd_comp_req", struct wd_comp_req, dst_len);
	OFF("wd_comp_req", struct wd_comp_req, cb);
	OFF("wd_comp_req", struct wd_comp_req, cb_param);
	OFF("wd_comp_req", struct wd_comp_req, op_type);
	OFF("wd_comp_req", struct wd_comp_req, data_fmt);
	OFF("wd_comp_req", struct wd_comp_req, last);
	OFF("wd_comp_req", struct wd_comp_req, status);
	OFF("wd_comp_req", struct wd_comp_req, priv);
	SIZE("wd_comp_sess_setup", struct wd_comp_sess_setup);
	OFF("wd_comp_sess_setup", struct wd_comp_sess_setup, alg_type);
	OFF("wd_comp_sess_setup", struct wd_comp_sess_setup, comp_lv);
	OFF("wd_comp_sess_setup", struct wd_comp_sess_setup, win_sz);
	OFF("wd_comp_sess_setup", struct wd_comp_sess_setup, op_type);
	OFF("wd_comp_sess_setup", struct wd_comp_sess_setup, sched_param);
	OFF("wd_comp_sess_setup", struct wd_comp_sess_setup, mm_ops);
	OFF("wd_comp_sess_setup", struct wd_comp_sess_setup, mm_type);
	SIZE("wd_mm_ops", struct wd_mm_ops);
	OFF("wd_mm_ops", struct wd_mm_ops, alloc);
	OFF("wd_mm_ops", struct wd_mm_ops, free);
	OFF("wd_mm_ops", struct wd_mm_ops, iova_map);
	OFF("wd_mm_ops", struct wd_mm_ops, iova_unmap);
	OFF("wd_mm_ops", struct wd_mm_ops, get_bufsize);
	OFF("wd_mm_ops", struct wd_mm_ops, usr);
	OFF("wd_mm_ops", struct wd_mm_ops, sva_mode);
	SIZE("wd_datalist", struct wd_datalist);
	OFF("wd_datalist", struct wd_datalist, data);
	OFF("wd_datalist", struct wd_datalist, len);
	OFF("wd_datalist", struct wd_datalist, next);
	SIZE("wd_ctx", struct wd_ctx);
	OFF("wd_ctx", struct wd_ctx, ctx);
	OFF("wd_ctx", struct wd_ctx, op_type);
	OFF("wd_ctx", struct wd_ctx, ctx_mode);
	SIZE("wd_ctx_config", struct wd_ctx_config);
	OFF("wd_ctx_config", struct wd_ctx_config, ctx_num);
	OFF("wd_ctx_config", struct wd_ctx_config, ctxs);
	OFF("wd_ctx_config", struct wd_ctx_config, priv);
	OFF("wd_ctx_config", struct wd_ctx_config, cap);
	SIZE("wd_ctx_nums", struct wd_ctx_nums);
	OFF("wd_ctx_nums", struct wd_ctx_nums, sync_ctx_num);
	OFF("wd_ctx_nums", struct wd_ctx_nums, async_ctx_num);
	SIZE("wd_ctx_params", struct wd_ctx_params);
	OFF("wd_ctx_params", struct wd_ctx_params, op_type_num);
	OFF("wd_ctx_params", struct wd_ctx_params, ctx_set_num);
	OFF("wd_ctx_params", struct wd_ctx_params, bmp);
	OFF("wd_ctx_params", struct wd_ctx_params, cap);
	SIZE("wd_cap_config", struct wd_cap_config);
	OFF("wd_cap_config", struct wd_cap_config, ctx_msg_num);
	OFF("wd_cap_config", struct wd_cap_config, resv);
	SIZE("wd_sched", struct wd_sched);
	OFF("wd_sched", struct wd_sched, name);
	OFF("wd_sched", struct wd_sched, sched_policy);
	OFF("wd_sched", struct wd_sched, sched_init);
	OFF("wd_sched", struct wd_sched, pick_next_ctx);
	OFF("wd_sched", struct wd_sched, poll_policy);
	OFF("wd_sched", struct wd_sched, h_sched_ctx);
	SIZE("wd_mempool_stats", struct wd_mempool_stats);
	OFF("wd_mempool_stats", struct wd_mempool_stats, page_type);
	OFF("wd_mempool_stats", struct wd_mempool_stats, page_size);
	OFF("wd_mempool_stats", struct wd_mempool_stats, page_num);
	OFF("wd_mempool_stats", struct wd_mempool_stats, blk_size);
	OFF("wd_mempool_stats", struct wd_mempool_stats, blk_num);
	OFF("wd_mempool_stats", struct wd_mempool_stats, free_blk_num);
	OFF("wd_mempool_stats", struct wd_mempool_stats, blk_usage_rate);
	SIZE("wd_blockpool_stats", struct wd_blockpool_stats);
	OFF("wd_blockpool_stats", struct wd_blockpool_stats, block_size);
	OFF("wd_blockpool_stats", struct wd_blockpool_stats, block_num);
	OFF("wd_blockpool_stats", struct wd_blockpool_stats, free_block_num);
	OFF("wd_blockpool_stats", struct wd_blockpool_stats, block_usage_rate);
	OFF("wd_blockpool_stats", struct wd_blockpool_stats, mem_waste_rate);
	SIZE("wd_mempool_setup", struct wd_mempool_setup);
	OFF("wd_mempool_setup", struct wd_mempool_setup, block_size);
	OFF("wd_mempool_setup", struct wd_mempool_setup, block_num);
	OFF("wd_mempool_setup", struct wd_mempool_setup, align_size);
	OFF("wd_mempool_setup", struct wd_mempool_setup, ops);
	SIZE("sched_params", struct sched_params);
	OFF("sched_params", struct sched_params, numa_id);
	OFF("sched_params", struct sched_params, type);
	OFF("sched_params", struct sched_params, mode);
	OFF("sched_params", struct sched_params, begin);
	OFF("sched_params", struct sched_params, end);
	OFF("sched_params", struct sched_params, dev_id);
	SIZE("uacce_dev", struct uacce_dev);
	OFF("uacce_dev", struct uacce_dev, flags);
	OFF("uacce_dev", struct uacce_dev, numa_id);
	OFF("uacce_dev", struct uacce_dev, api);
	OFF("uacce_dev", struct uacce_dev, algs);
	OFF("uacce_dev", struct uacce_dev, dev_root);
	OFF("uacce_dev", struct uacce_dev, char_dev_path);
	OFF("uacce_dev", struct uacce_dev, qfrs_offs);
	SIZE("uacce_dev_list", struct uacce_dev_list);
	OFF("uacce_dev_list", struct uacce_dev_list, dev);
	OFF("uacce_dev_list", struct uacce_dev_list, next);
	SIZE("z_stream", z_stream);
	OFF("z_stream", z_stream, next_in);
	OFF("z_stream", z_stream, avail_in);
	OFF("z_stream", z_stream, total_in);
	OFF("z_stream", z_stream, next_out);
	OFF("z_stream", z_stream, avail_out);
	OFF("z_stream", z_stream, total_out);
	OFF("z_stream", z_stream, msg);
	OFF("z_stream", z_stream, state);
	OFF("z_stream", z_stream, zalloc);
	OFF("z_stream", z_stream, zfree);
	OFF("z_stream", z_stream, opaque);
	OFF("z_stream", z_stream, data_type);
	OFF("z_stream", z_stream, adler);
	OFF("z_stream", z_stream, reserved);
	CONST(WD_DEFLATE);
	CONST(WD_ZLIB);
	CONST(WD_GZIP);
	CONST(WD_LZ77_ZSTD);
	CONST(WD_LZ4);
	CONST(WD_LZ77_ONLY);
	CONST(WD_COMP_ALG_MAX);
	CONST(WD_DIR_COMPRESS);
	CONST(WD_DIR_DECOMPRESS);
	CONST(WD_DIR_MAX);
	CONST(WD_COMP_L1);
	CONST(WD_COMP_L2);
	CONST(WD_COMP_L3);
	CONST(WD_COMP_L4);
	CONST(WD_COMP_L5);
	CONST(WD_COMP_L6);
	CONST(WD_COMP_L7);
	CONST(WD_COMP_L8);
	CONST(WD_COMP_L9);
	CONST(WD_COMP_L10);
	CONST(WD_COMP_L11);
	CONST(WD_COMP_L12);
	CONST(WD_COMP_L13);
	CONST(WD_COMP_L14);
	CONST(WD_COMP_L15);
	CONST(WD_COMP_WS_4K);
	CONST(WD_COMP_WS_8K);
	CONST(WD_COMP_WS_16K);
	CONST(WD_COMP_WS_24K);
	CONST(WD_COMP_WS_32K);
	CONST(WD_FLAT_BUF);
	CONST(WD_SGL_BUF);
	CONST(WD_CIPHER);
	CONST(WD_DIGEST);
	CONST(WD_AEAD);
	CONST(WD_HUGE_PAGE);
	CONST(WD_NORMAL_PAGE);
	CONST(TASK_MIX);
	CONST(TASK_HW);
	CONST(TASK_INSTR);
	CONST(TASK_MAX_TYPE);
	CONST(CTX_MODE_SYNC);
	CONST(CTX_MODE_ASYNC);
	CONST(CTX_MODE_MAX);
	CONST(WD_TYPE_V1);
	CONST(WD_TYPE_V2);
	CONST(UADK_MEM_AUTO);
	CONST(UADK_MEM_USER);
	CONST(UADK_MEM_PROXY);
	CONST(UADK_MEM_MAX);
	CONST(SCHED_POLICY_RR);
	CONST(SCHED_POLICY_NONE);
	CONST(SCHED_POLICY_SINGLE);
	CONST(SCHED_POLICY_DEV);
	CONST(SCHED_POLICY_BUTT);
	CONST(UACCE_QFRT_MMIO);
	CONST(UACCE_QFRT_DUS);
	CONST(UACCE_QFRT_SS);
	CONST(UACCE_QFRT_MAX);
	CONST(UACCE_DEV_SVA);
	CONST(WD_HUGE_PAGE);
	CONST(WD_NORMAL_PAGE);
	CONST(WD_SUCCESS);
	CONST(WD_STREAM_END);
	CONST(WD_STREAM_START);
	CONST(WD_SOFT_COMPUTING);
	CONST(WD_EIO);
	CONST(WD_EAGAIN);
	CONST(WD_ENOMEM);
	CONST(WD_EACCES);
	CONST(WD_EBUSY);
	CONST(WD_EEXIST);
	CONST(WD_ENODEV);
	CONST(WD_EINVAL);
	CONST(WD_ETIMEDOUT);
	CONST(WD_ADDR_ERR);
	CONST(WD_HW_EACCESS);
	CONST(WD_SGL_ERR);
	CONST(WD_VERIFY_ERR);
	CONST(WD_OUT_EPARA);
	CONST(WD_IN_EPARA);
	CONST(WD_ENOPROC);
	return 0;
}
