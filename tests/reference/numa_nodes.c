/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Preloaded beside UADK's sample/uadk_comp only: that sample asks wd_sched_rr_alloc for
 * two NUMA nodes whatever the machine has, and wd_sched.c refuses more nodes than
 * numa_max_node() + 1. On a one-node machine this reports two; elsewhere the real count.
 */
#define _GNU_SOURCE
#include <dlfcn.h>

int numa_max_node(void)
{
	int (*real)(void) = (int (*)(void))dlsym(RTLD_NEXT, "numa_max_node");
	int n = real ? real() : 0;

	return n < 1 ? 1 : n;
}
