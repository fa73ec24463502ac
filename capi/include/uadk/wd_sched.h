/* SPDX-License-Identifier: Apache-2.0 */
/* uadk-rs: UADK v2.10's sample schedulers (round-robin and friends). */
#ifndef SCHED_SAMPLE_h
#define SCHED_SAMPLE_h

#include <asm/types.h>
#include "wd_alg_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define INVALID_POS	0xFFFFFFFF

enum sched_policy_type {
	SCHED_POLICY_RR = 0,
	SCHED_POLICY_NONE,
	SCHED_POLICY_SINGLE,
	SCHED_POLICY_DEV,
	SCHED_POLICY_BUTT,
};

/* Contexts [begin, end] serve (numa_id, type, mode). */
struct sched_params {
	int numa_id;
	__u8 type;
	__u8 mode;
	__u32 begin;
	__u32 end;
	__u32 dev_id;
};

typedef int (*user_poll_func)(__u32 pos, __u32 expect, __u32 *count);

int wd_sched_rr_instance(const struct wd_sched *sched, struct sched_params *param);
struct wd_sched *wd_sched_rr_alloc(__u8 sched_type, __u8 type_num, __u16 numa_num,
				   user_poll_func func);
void wd_sched_rr_release(struct wd_sched *sched);

#ifdef __cplusplus
}
#endif

#endif
