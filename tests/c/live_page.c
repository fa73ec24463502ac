/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uadk-rs: compressing a page that another thread keeps writing (QEMU compresses live guest
 * RAM in place). Every output must still be a valid zlib stream whose checksum matches what
 * it decompresses to.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "uadk/wd_comp.h"
#include "uadk/wd_sched.h"

#define PAGE 4096
#define ROUNDS 3000

static unsigned char page[PAGE];
static atomic_int stop;

static void *scribbler(void *arg)
{
	unsigned int x = 12345;

	(void)arg;
	while (!atomic_load(&stop)) {
		x = x * 1103515245u + 12345u;
		page[(x >> 8) % PAGE] = (unsigned char)(x >> 16);
	}
	return NULL;
}

int main(void)
{
	struct wd_comp_sess_setup ss = {0};
	unsigned char out[2 * PAGE], back[PAGE];
	pthread_t th;
	handle_t h;
	int ret, i, bad = 0;

	ret = wd_comp_init2("zlib", SCHED_POLICY_RR, TASK_HW);
	if (ret && ret != -WD_EEXIST) {
		fprintf(stderr, "live_page: init2 failed: %d\n", ret);
		return 1;
	}
	ss.alg_type = WD_ZLIB;
	ss.op_type = WD_DIR_COMPRESS;
	h = wd_comp_alloc_sess(&ss);
	if (!h) {
		fprintf(stderr, "live_page: alloc_sess failed\n");
		return 1;
	}
	for (i = 0; i < PAGE; i++)
		page[i] = (unsigned char)(i % 7 == 0 ? i : 'a' + i % 13);
	pthread_create(&th, NULL, scribbler, NULL);
	for (i = 0; i < ROUNDS; i++) {
		struct wd_comp_req req = {0};
		uLongf n = PAGE;

		req.src = page;
		req.src_len = PAGE;
		req.dst = out;
		req.dst_len = sizeof(out);
		req.op_type = WD_DIR_COMPRESS;
		req.data_fmt = WD_FLAT_BUF;
		ret = wd_do_comp_sync(h, &req);
		if (ret || req.status) {
			fprintf(stderr, "live_page: round %d: ret %d status %u\n", i, ret, req.status);
			bad++;
			continue;
		}
		/* uncompress verifies the adler32 trailer against what it inflates. */
		if (uncompress(back, &n, out, req.dst_len) != Z_OK || n != PAGE) {
			fprintf(stderr, "live_page: round %d: stream does not verify\n", i);
			bad++;
		}
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	wd_comp_free_sess(h);
	wd_comp_uninit2();
	if (bad) {
		fprintf(stderr, "live_page: %d of %d rounds failed\n", bad, ROUNDS);
		return 1;
	}
	printf("live_page: %d rounds on a page under concurrent writes, all streams verify\n", ROUNDS);
	return 0;
}
