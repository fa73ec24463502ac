/* SPDX-License-Identifier: Apache-2.0 */
/* uadk-rs: UACCE user-space interface, as UADK v2.10 declares it. */
#ifndef _UAPIUUACCE_H
#define _UAPIUUACCE_H

#include <linux/ioctl.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UACCE_CMD_START		_IO('W', 0)
#define UACCE_CMD_PUT_Q		_IO('W', 1)
#define UACCE_CMD_GET_SS_DMA	_IOR('W', 3, unsigned long)

/* Static-share DMA memory is handed out in 64 KiB granules. */
#define UACCE_GRAN_SIZE		0x10000ull
#define UACCE_GRAN_SHIFT	16
#define UACCE_GRAN_NUM_MASK	0xfffull

enum {
	UACCE_DEV_SVA = 0x1,
};

#define UACCE_API_VER_NOIOMMU_SUBFIX	"_noiommu"

/* Queue file regions a context can map. */
enum uacce_qfrt {
	UACCE_QFRT_MMIO = 0,
	UACCE_QFRT_DUS = 1,
	UACCE_QFRT_SS,
	UACCE_QFRT_MAX,
};

#ifdef __cplusplus
}
#endif

#endif
