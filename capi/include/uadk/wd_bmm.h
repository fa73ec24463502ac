/* SPDX-License-Identifier: Apache-2.0 */
/* uadk-rs: UADK v2.10's per-context memory pools, with its names, layouts and signatures. */
#ifndef _WD_SVA_BMM_H
#define _WD_SVA_BMM_H

#include <stdint.h>
#include "wd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A pool of block_num blocks of block_size bytes (ops: the caller's memory, No-SVA only). */
struct wd_mempool_setup {
	__u32 block_size;
	__u32 block_num;
	__u32 align_size;
	struct wd_mm_ops ops;
};

void *wd_mempool_alloc(handle_t h_ctx, struct wd_mempool_setup *setup);
void wd_mempool_free(handle_t h_ctx, void *pool);
void *wd_mem_alloc(void *pool, size_t size);
void wd_mem_free(void *pool, void *buf);

void *wd_mem_map(void *pool, void *buf, size_t sz);
void wd_mem_unmap(void *pool, void *buf_dma, void *buf, size_t sz);
int wd_get_free_num(void *pool, __u32 *free_num);
int wd_get_fail_num(void *pool, __u32 *fail_num);
__u32 wd_get_bufsize(void *pool);

/* The hardware contexts an alg layer's init listed, for pools made on them:
 * wd_find_ctx hands each out once (the caller's node first, else the nearest);
 * wd_get_dev_id gives the id of the device a pool was made for. */
handle_t wd_find_ctx(const char *alg_name);
void wd_remove_ctx_list(void);
int wd_insert_ctx_list(handle_t h_ctx, char *alg_name);
__u32 wd_get_dev_id(void *pool);

#ifdef __cplusplus
}
#endif

#endif /* _WD_SVA_BMM_H */
