/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs C test: wd_comp_init2_ with a nodemask, as UADK's benchmark calls it.
 *
 * UADK keeps only the nodes of the mask that have a device serving the algorithm
 * (wd_util.c: wd_get_usable_list, wd_init_device_nodemask). With every bit set
 * (numa_bitmask_setall) and one sync and one async context per op type, the contexts are
 * 4 per node with a device, in UADK's order: per node, per op type, sync then async. So
 * wd_comp_poll_ctx answers for exactly those indices (sync ones are refused, as UADK's
 * wd_check_ctx does) and refuses index 4 * nodes. A mask with no node that has a device,
 * and an empty mask, fail with -WD_ENODEV. Run on the CPU engine (a pseudo-device per
 * node) and over modelled devices (all on node 0).
 *
 * Links libwd (wd_get_accel_list) and libnuma.
 */
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "uadk/wd.h"
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

#define DIE(...) do { fprintf(stderr, "init2_mask: " __VA_ARGS__); fputc('\n', stderr); \
	exit(1); } while (0)

static int init_with(struct bitmask *bmp)
{
	struct wd_ctx_nums nums[2] = { { 1, 1 }, { 1, 1 } };
	struct wd_ctx_params p = {0};
	char alg[] = "zlib";

	p.op_type_num = 2;
	p.ctx_set_num = nums;
	p.bmp = bmp;
	return wd_comp_init2_(alg, SCHED_POLICY_RR, TASK_HW, &p);
}

int main(void)
{
	struct uacce_dev_list *list, *l;
	struct bitmask *bmp;
	int seen[4096] = {0}, nodes = 0, i, ret;
	__u32 count;

	/* The nodes our device list puts devices on (UADK's wd_get_accel_list). */
	list = wd_get_accel_list("zlib");
	if (!list)
		DIE("no device serves zlib");
	for (l = list; l; l = l->next) {
		int n = l->dev->numa_id < 0 ? 0 : l->dev->numa_id;

		if (n < 4096 && !seen[n]) {
			seen[n] = 1;
			nodes++;
		}
	}
	wd_free_list_accels(list);

	bmp = numa_allocate_nodemask();
	if (!bmp)
		DIE("numa_allocate_nodemask");
	numa_bitmask_setall(bmp);
	ret = init_with(bmp);
	if (ret)
		DIE("init2 with every node of a %lu-bit mask returned %d", bmp->size, ret);
	for (i = 0; i < 4 * nodes; i++) {
		count = 0;
		ret = wd_comp_poll_ctx(i, 1, &count);
		if (i % 2 == 0 && ret != -WD_EINVAL)
			DIE("context %d is sync, yet wd_comp_poll_ctx returned %d", i, ret);
		if (i % 2 == 1 && ret < 0 && ret != -WD_EAGAIN)
			DIE("async context %d: wd_comp_poll_ctx returned %d", i, ret);
	}
	ret = wd_comp_poll_ctx(4 * nodes, 1, &count);
	if (ret != -WD_EINVAL)
		DIE("context %d exists (%d nodes with a device, 4 contexts each): ret %d",
		    4 * nodes, nodes, ret);
	wd_comp_uninit2();

	/* Only the mask's last node, which no device is on: nothing to use. */
	numa_bitmask_clearall(bmp);
	if (bmp->size - 1 < 4096 && !seen[bmp->size - 1]) {
		numa_bitmask_setbit(bmp, bmp->size - 1);
		ret = init_with(bmp);
		if (ret != -WD_ENODEV)
			DIE("init2 on node %lu, without devices, returned %d, want -WD_ENODEV",
			    bmp->size - 1, ret);
		if (!ret)
			wd_comp_uninit2();
		numa_bitmask_clearall(bmp);
	}
	ret = init_with(bmp);
	if (ret != -WD_ENODEV)
		DIE("init2 with an empty mask returned %d, want -WD_ENODEV", ret);
	if (!ret)
		wd_comp_uninit2();
	numa_free_nodemask(bmp);

	printf("init2_mask: every bit set: 4 contexts on each of %d node(s) with a device; "
	       "masks without such a node refused\n", nodes);
	return 0;
}
