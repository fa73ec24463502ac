/* SPDX-License-Identifier: Apache-2.0 */
/* uadk-rs: driver registration types, as UADK v2.10 declares them. */
#ifndef __WD_ALG_H
#define __WD_ALG_H

#include <asm/types.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#define handle_t uintptr_t
#define ALG_NAME_SIZE		128
#define DEV_NAME_LEN		128

/* Auxiliary-vector keys and CPU feature bits that instruction-set drivers probe. */
#ifndef AT_HWCAP
# define AT_HWCAP		16
#endif

#ifndef AT_HWCAP2
# define AT_HWCAP2		26
#endif

#if defined(__arm__) || defined(__arm)
# define HWCAP			AT_HWCAP
# define HWCAP_NEON		(1 << 12)

# define HWCAP_CE		AT_HWCAP2
# define HWCAP_CE_AES		(1 << 0)
# define HWCAP_CE_PMULL		(1 << 1)
# define HWCAP_CE_SHA1		(1 << 2)
# define HWCAP_CE_SHA256	(1 << 3)
#elif defined(__aarch64__)
# define HWCAP			AT_HWCAP
# define HWCAP_NEON		(1 << 1)

# define HWCAP_CE		HWCAP
# define HWCAP_CE_AES		(1 << 3)
# define HWCAP_CE_PMULL		(1 << 4)
# define HWCAP_CE_SHA1		(1 << 5)
# define HWCAP_CE_SHA256	(1 << 6)
# define HWCAP_CPUID		(1 << 11)
# define HWCAP_SHA3		(1 << 17)
# define HWCAP_CE_SM3		(1 << 18)
# define HWCAP_CE_SM4		(1 << 19)
# define HWCAP_CE_SHA512	(1 << 21)
# define HWCAP_SVE		(1 << 22)
/* Bits of AT_HWCAP2 */
# define HWCAP2			26
# define HWCAP2_SVE2		(1 << 1)
# define HWCAP2_RNG		(1 << 16)
#endif

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

/* What a driver's get_usage is given (UADK after v2.10). */
struct hisi_dev_usage {
	struct wd_alg_driver *drv;
	const char *dev_name;
	__u8 alg_op_type;
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

/* Added after v2.10: a device's usage through its registered driver's get_usage, and the
 * class of an algorithm ("cbc(aes)" -> "cipher", "zlib" -> "zlib"). */
int wd_alg_get_dev_usage(const char *dev_name, const char *alg_type, __u8 op_type);
int wd_get_alg_type(const char *alg_name, char *alg_type);

#ifdef WD_STATIC_DRV
/* With drivers linked in statically, their registration is called explicitly. */
void hisi_sec2_probe(void);
void hisi_hpre_probe(void);
void hisi_zip_probe(void);
void hisi_dae_probe(void);
void hisi_udma_probe(void);
void hisi_dae_join_gather_probe(void);

void hisi_sec2_remove(void);
void hisi_hpre_remove(void);
void hisi_zip_remove(void);
void hisi_dae_remove(void);
void hisi_udma_remove(void);
void hisi_dae_join_gather_remove(void);
#endif

#ifdef __cplusplus
}
#endif

#endif
