/* SPDX-License-Identifier: Apache-2.0 */
/* uadk-rs: driver registration types, as UADK v2.10 declares them. */
#ifndef __WD_ALG_H
#define __WD_ALG_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef handle_t
#define handle_t uintptr_t
#endif
#define ALG_NAME_SIZE		128
#define DEV_NAME_LEN		128

/* How a driver computes. */
enum alg_dev_type {
	UADK_ALG_SOFT = 0x0,
	UADK_ALG_CE_INSTR = 0x1,
	UADK_ALG_SVE_INSTR = 0x2,
	UADK_ALG_HW = 0x3
};

struct wd_alg_driver {
	const char *drv_name;
	const char *alg_name;
	int priority;
	int calc_type;
	int queue_num;
	int op_type_num;
	void *priv;
	handle_t fallback;
	int (*init)(struct wd_alg_driver *drv, void *conf);
	void (*exit)(struct wd_alg_driver *drv);
	int (*send)(struct wd_alg_driver *drv, handle_t ctx, void *drv_msg);
	int (*recv)(struct wd_alg_driver *drv, handle_t ctx, void *drv_msg);
	int (*get_usage)(void *param);
	int (*get_extend_ops)(void *ops);
};

int wd_alg_driver_register(struct wd_alg_driver *drv);
void wd_alg_driver_unregister(struct wd_alg_driver *drv);

struct wd_alg_list {
	char alg_name[ALG_NAME_SIZE];
	char drv_name[DEV_NAME_LEN];
	bool available;
	int priority;
	int calc_type;
	int refcnt;
	struct wd_alg_driver *drv;
	struct wd_alg_list *next;
};

struct wd_alg_driver *wd_request_drv(const char *alg_name, bool hw_mask);
void wd_release_drv(struct wd_alg_driver *drv);
bool wd_drv_alg_support(const char *alg_name, struct wd_alg_driver *drv);
void wd_enable_drv(struct wd_alg_driver *drv);
void wd_disable_drv(struct wd_alg_driver *drv);
int wd_alg_driver_init(struct wd_alg_driver *drv, void *conf);
void wd_alg_driver_exit(struct wd_alg_driver *drv);
int wd_alg_driver_send(struct wd_alg_driver *drv, handle_t ctx, void *msg);
int wd_alg_driver_recv(struct wd_alg_driver *drv, handle_t ctx, void *msg);
struct wd_alg_list *wd_get_alg_head(void);

#ifdef __cplusplus
}
#endif

#endif
