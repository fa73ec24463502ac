/* SPDX-License-Identifier: Apache-2.0 */
/* uadk-rs: internal types UADK v2.10 exposes to algorithm libraries and drivers. */
#ifndef WD_INTERNAL_H
#define WD_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include "wd.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DEVICE_REGION_MAX	16
#define DECIMAL_NUMBER		10
#define MAX_FD_NUM		65535

/* A hardware context as UADK's libwd keeps it (drivers read it). */
struct wd_ctx_h {
	int fd;
	char dev_path[MAX_DEV_NAME_LEN];
	char *dev_name;
	char *drv_name;
	unsigned long qfrs_offs[UACCE_QFRT_MAX];
	void *qfrs_base[UACCE_QFRT_MAX];
	struct uacce_dev *dev;
	void *priv;
};

struct wd_soft_ctx {
	int fd;
	void *priv;
};

struct wd_ce_ctx {
	int fd;
	char *drv_name;
	void *priv;
};

struct wd_ctx_internal {
	handle_t ctx;
	__u8 op_type;
	__u8 ctx_mode;
	__u16 sqn;
	pthread_spinlock_t lock;
};

struct wd_ctx_config_internal {
	__u32 ctx_num;
	int shmid;
	struct wd_ctx_internal *ctxs;
	void *priv;
	bool epoll_en;
	unsigned long *msg_cnt;
	char *alg_name;
};

/* A scatter-gather list: `len` bytes at `data`, then `next`. */
struct wd_datalist {
	void *data;
	__u32 len;
	struct wd_datalist *next;
};

/* Added after v2.10: 0 when the n bytes are equal, nonzero otherwise, in time that does not
 * depend on where they differ. */
int memcmp_consttime(const void *s1, const void *s2, size_t n);

#ifdef __cplusplus
}
#endif

#endif
