/* SPDX-License-Identifier: Apache-2.0 */
/* uadk-rs: libwd's public interface, with UADK v2.10's names, values and layouts. */
#ifndef __WD_H
#define __WD_H

#include <errno.h>
#include <numa.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <asm/types.h>
#include "uacce.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PATH_STR_SIZE		256
#define MAX_ATTR_STR_SIZE	384
#define WD_NAME_SIZE		64
#define MAX_DEV_NAME_LEN	256
#define LINUX_CRTDIR_SIZE	1
#define LINUX_PRTDIR_SIZE	2
#define WD_CTX_CNT_NUM		1024
#define WD_IPC_KEY		0x500011
#define CRYPTO_MAX_ALG_NAME	128

typedef unsigned char __u8;
typedef unsigned int __u32;
typedef unsigned long long __u64;

/*
 * Branch hints and element count. A program that already has its own (QEMU has all
 * three) keeps them; otherwise these are UADK's definitions.
 */
#ifndef likely
#define likely(x)       __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x)     __builtin_expect(!!(x), 0)
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))
#endif

/* Handles (contexts, sessions, pools) are addresses carried as integers. */
#define handle_t uintptr_t
typedef struct wd_dev_mask wd_dev_mask_t;

typedef void (*wd_log)(const char *format, ...);

/*
 * Logging helpers for callers and drivers: to syslog (facility LOCAL5) by default, to
 * stderr when WD_NO_LOG is defined before this header.
 */
#ifndef WD_NO_LOG
#define WD_DEBUG(fmt, args...) \
	do { \
		openlog("uadk-debug", LOG_CONS | LOG_PID, LOG_LOCAL5); \
		syslog(LOG_DEBUG, fmt, ##args); \
	} while (0)
#define WD_INFO(fmt, args...) \
	do { \
		openlog("uadk-info", LOG_CONS | LOG_PID, LOG_LOCAL5); \
		syslog(LOG_INFO, fmt, ##args); \
	} while (0)
#define WD_ERR(fmt, args...) \
	do { \
		openlog("uadk-err", LOG_CONS | LOG_PID, LOG_LOCAL5); \
		syslog(LOG_ERR, fmt, ##args); \
	} while (0)
#else
#define OPEN_LOG(s)
#define WD_DEBUG(fmt, args...)	fprintf(stderr, fmt, ##args)
#define WD_INFO(fmt, args...)	fprintf(stderr, fmt, ##args)
#define WD_ERR(fmt, args...)	fprintf(stderr, fmt, ##args)
#endif

/* An error line prefixed with the name of the device behind context h_ctx (spaced so
 * that C++ does not read a literal suffix). */
#define WD_DEV_ERR(h_ctx, format, args...) \
	do { \
		char *dev_name = wd_ctx_get_dev_name(h_ctx); \
		WD_ERR("%s: " format "\n", dev_name, ##args); \
	} while (0)

#define WD_CONSOLE printf

/* Status codes: functions return them negated, requests carry them in `status`. */
#define WD_SUCCESS		0
#define WD_STREAM_END		1
#define WD_STREAM_START		2
#define WD_SOFT_COMPUTING	3
#define WD_EIO			EIO
#define WD_EAGAIN		EAGAIN
#define WD_ENOMEM		ENOMEM
#define WD_EACCES		EACCES
#define WD_EBUSY		EBUSY
#define WD_EEXIST		EEXIST
#define WD_ENODEV		ENODEV
#define WD_EINVAL		EINVAL
#define WD_ETIMEDOUT		ETIMEDOUT
#define WD_ADDR_ERR		61
#define WD_HW_EACCESS		62
#define WD_SGL_ERR		63
#define WD_VERIFY_ERR		64
#define WD_OUT_EPARA		66
#define WD_IN_EPARA		67
#define WD_ENOPROC		68

#define WD_HANDLE_ERR(h)	((long long)(h))
#define WD_IS_ERR(h)		((uintptr_t)(h) > (uintptr_t)(-1000))

enum wd_buff_type {
	WD_FLAT_BUF,
	WD_SGL_BUF,
};

enum wd_alg_type {
	WD_CIPHER,
	WD_DIGEST,
	WD_AEAD,
};

/* Caller-supplied memory operations (no-SVA and user memory). */
typedef void *(*wd_alloc)(void *usr, size_t size);
typedef void (*wd_free)(void *usr, void *va);
typedef void *(*wd_map)(void *usr, void *va, size_t sz);
typedef void (*wd_unmap)(void *usr, void *va, void *dma, size_t sz);
typedef __u32 (*wd_bufsize)(void *usr);

struct wd_mm_ops {
	wd_alloc alloc;
	wd_free free;
	wd_map iova_map;
	wd_unmap iova_unmap;
	wd_bufsize get_bufsize;
	void *usr;
	bool sva_mode;
};

/* A data buffer: `dsize` bytes used of `bsize`. */
struct wd_dtb {
	char *data;
	__u32 dsize;
	__u32 bsize;
};

/* One accelerator device as sysfs describes it. */
struct uacce_dev {
	int flags;
	int numa_id;
	char api[WD_NAME_SIZE];
	char algs[MAX_ATTR_STR_SIZE];
	char dev_root[PATH_STR_SIZE];
	char char_dev_path[MAX_DEV_NAME_LEN];
	unsigned long qfrs_offs[UACCE_QFRT_MAX];
};

struct uacce_dev_list {
	struct uacce_dev *dev;
	struct uacce_dev_list *next;
};

struct wd_dev_mask {
	unsigned char *mask;
	int len;
	unsigned int magic;
};

/* Memory barriers for rings shared with a device. */
#if defined(__AARCH64_CMODEL_SMALL__) && __AARCH64_CMODEL_SMALL__
#define dsb(opt)	{ asm volatile("dsb " #opt : : : "memory"); }
#define rmb()		dsb(ld)
#define wmb()		dsb(st)
#define mb()		dsb(sy)
#else
#define rmb()		__sync_synchronize()
#define wmb()		__sync_synchronize()
#define mb()		__sync_synchronize()
#endif

/* MMIO accessors: one volatile access each. */
static inline uint32_t wd_ioread32(void *addr)
{
	return *(volatile uint32_t *)addr;
}

static inline uint64_t wd_ioread64(void *addr)
{
	return *(volatile uint64_t *)addr;
}

static inline void wd_iowrite32(void *addr, uint32_t value)
{
	*(volatile uint32_t *)addr = value;
}

static inline void wd_iowrite64(void *addr, uint64_t value)
{
	*(volatile uint64_t *)addr = value;
}

static inline void *WD_ERR_PTR(uintptr_t error)
{
	return (void *)error;
}

static inline long WD_PTR_ERR(const void *ptr)
{
	return (intptr_t)ptr;
}

/* Contexts (queues). */
handle_t wd_request_ctx(struct uacce_dev *dev);
void wd_release_ctx(handle_t h_ctx);
int wd_ctx_start(handle_t h_ctx);
int wd_release_ctx_force(handle_t h_ctx);
int wd_ctx_set_priv(handle_t h_ctx, void *priv);
void *wd_ctx_get_priv(handle_t h_ctx);
char *wd_ctx_get_api(handle_t h_ctx);
void *wd_ctx_mmap_qfr(handle_t h_ctx, enum uacce_qfrt qfrt);
void wd_ctx_unmap_qfr(handle_t h_ctx, enum uacce_qfrt qfrt);
int wd_ctx_wait(handle_t h_ctx, __u16 ms);
int wd_is_sva(handle_t h_ctx);
int wd_is_isolate(struct uacce_dev *dev);
char *wd_get_accel_name(char *dev_path, int no_apdx);
int wd_get_numa_id(handle_t h_ctx);
int wd_get_avail_ctx(struct uacce_dev *dev);

/* Devices. */
struct uacce_dev_list *wd_get_accel_list(const char *alg_name);
struct uacce_dev *wd_find_dev_by_numa(struct uacce_dev_list *list, int numa_id);
struct uacce_dev *wd_get_accel_dev(const char *alg_name);
void wd_free_list_accels(struct uacce_dev_list *list);
int wd_ctx_set_io_cmd(handle_t h_ctx, unsigned long cmd, void *arg);
unsigned long wd_ctx_get_region_size(handle_t h_ctx, enum uacce_qfrt qfrt);

/* Memory pools. */
enum wd_page_type {
	WD_HUGE_PAGE = 0,
	WD_NORMAL_PAGE,
};

struct wd_mempool_stats {
	enum wd_page_type page_type;
	unsigned long page_size;
	unsigned long page_num;
	unsigned long blk_size;
	unsigned long blk_num;
	unsigned long free_blk_num;
	unsigned long blk_usage_rate;
};

struct wd_blockpool_stats {
	unsigned long block_size;
	unsigned long block_num;
	unsigned long free_block_num;
	unsigned long block_usage_rate;
	unsigned long mem_waste_rate;
};

void *wd_block_alloc(handle_t blkpool);
void wd_block_free(handle_t blkpool, void *addr);
handle_t wd_blockpool_create(handle_t mempool, size_t block_size, size_t block_num);
void wd_blockpool_destroy(handle_t blkpool);
handle_t wd_mempool_create(size_t size, int node);
void wd_mempool_destroy(handle_t mempool);
void wd_mempool_stats(handle_t mempool, struct wd_mempool_stats *stats);
void wd_blockpool_stats(handle_t blkpool, struct wd_blockpool_stats *stats);

struct uacce_dev *wd_clone_dev(struct uacce_dev *dev);
void wd_add_dev_to_list(struct uacce_dev_list *head, struct uacce_dev_list *node);
struct bitmask *wd_create_device_nodemask(struct uacce_dev_list *list);
void wd_free_device_nodemask(struct bitmask *bmp);
char *wd_ctx_get_dev_name(handle_t h_ctx);
void wd_get_version(void);
bool wd_need_debug(void);
bool wd_need_info(void);

struct wd_capability {
	char alg_name[CRYPTO_MAX_ALG_NAME];
	char drv_name[CRYPTO_MAX_ALG_NAME];
	bool available;
	int priority;
	int calc_type;
	struct wd_capability *next;
};

struct wd_capability *wd_get_alg_cap(void);
void wd_release_alg_cap(struct wd_capability *head);

/* Added after v2.10: a device's bandwidth usage (percent) for an algorithm and op type,
 * from its sysfs dev_usage attribute. */
int wd_get_dev_usage(struct uacce_dev *dev, const char *alg_name, __u8 alg_op_type);

#ifdef __cplusplus
}
#endif

#endif
